"""The unmanaged-resource comparison (drift_orchestrator.unmanaged), pure.

Every case of ``tests/contract/unmanaged-cases.json`` (shared with the Rust
core), the embedded ignore rules, the glob matcher, ``UNMANAGED_IGNORE_JSON``
validation and the sidecar reader.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from drift_orchestrator.errors import ConfigError
from drift_orchestrator.unmanaged import (
    DEFAULT_IGNORES,
    IgnoreRule,
    InventoryItem,
    SidecarError,
    compare,
    glob_match,
    kinds,
    parse_ignore_rules,
    parse_sidecar,
)

REPO = Path(__file__).resolve().parents[3]
CASES = json.loads((REPO / "tests" / "contract" / "unmanaged-cases.json").read_text())["cases"]
SCHEMAS = REPO / "lib" / "lambda" / "drift_orchestrator" / "schemas"


def _resource(type_name: str, account: str, identifier: str) -> str:
    return f"{type_name} {account} {identifier}"


def _outcome(report: Any) -> dict[str, Any]:
    """The report in the cases file's notation."""
    return {
        "unmanaged": [_resource(i["resource_type"], i["account_id"], i["resource_id"]) for i in report["unmanaged"]],
        "managed_twice": [
            {
                "resource": _resource(m["resource_type"], m["account_id"], m["identifier"]),
                "claims": [f"{c['workspace']}/{c['environment']} {c['address']}" for c in m["claims"]],
            }
            for m in report["managed_twice"]
        ],
        "gone": [f"{g['workspace']}/{g['environment']} {g['address']}" for g in report["gone"]],
        "ignored": [
            _resource(i["item"]["resource_type"], i["item"]["account_id"], i["item"]["resource_id"])
            for i in report["ignored"]
        ],
        "withheld": [f"{w['account_id']} {w['region']}" for w in report["withheld"]],
    }


@pytest.mark.parametrize("case", CASES, ids=[c["case"][:60] for c in CASES])
def test_contract_case(case: dict[str, Any]) -> None:
    rules = parse_ignore_rules(json.dumps(case["ignore"]))
    report = compare(case["claims"], case["unclaimed"], case["inventory"], case["coverage"], rules)
    assert _outcome(report) == case["expect"]
    # The lists come out sorted, so the same inputs give the same bytes.
    again = compare(
        list(reversed(case["claims"])),
        list(reversed(case["unclaimed"])),
        list(reversed(case["inventory"])),
        list(reversed(case["coverage"])),
        rules,
    )
    assert json.dumps(again, sort_keys=True) == json.dumps(report, sort_keys=True)
    summary = report["summary"]
    assert summary["unmanaged"] == len(case["expect"]["unmanaged"])
    assert summary["withheld_scopes"] == len(case["expect"]["withheld"])
    assert summary["claims"] == sum(len(c["resources"]) for c in case["claims"])


def test_the_kinds_table_covers_what_the_issue_asks_for() -> None:
    assert {k.config_type for k in kinds()} == {
        "AWS::EC2::Instance",
        "AWS::EC2::SecurityGroup",
        "AWS::EC2::Volume",
        "AWS::RDS::DBInstance",
        "AWS::RDS::DBCluster",
        "AWS::S3::Bucket",
        "AWS::IAM::Role",
    }


def _item(resource_type: str, resource_id: str, **extra: Any) -> InventoryItem:
    item: dict[str, Any] = {
        "resource_type": resource_type,
        "account_id": "111111111111",
        "region": "us-east-1",
        "resource_id": resource_id,
    }
    item.update(extra)
    return item  # type: ignore[return-value]


def _ignored_by_default(item: InventoryItem) -> str | None:
    return next((r.reason for r in DEFAULT_IGNORES if r.matches(item)), None)


def test_default_ignores() -> None:
    assert [(r.resource_type, r.id, r.tag) for r in DEFAULT_IGNORES] == [
        ("AWS::EC2::SecurityGroup", "default", None),
        ("AWS::IAM::Role", "AWSServiceRoleFor*", None),
        ("AWS::IAM::Role", "AWSReservedSSO_*", None),
        (None, None, "aws:cloudformation:stack-name"),
    ]
    assert all(r.reason for r in DEFAULT_IGNORES)
    assert _ignored_by_default(_item("AWS::EC2::SecurityGroup", "sg-1", resource_name="default"))
    assert _ignored_by_default(_item("AWS::EC2::SecurityGroup", "sg-1", resource_name="default-web")) is None
    assert _ignored_by_default(_item("AWS::EC2::Instance", "i-1", resource_name="default")) is None
    assert (
        _ignored_by_default(
            _item("AWS::IAM::Role", "AROA1", arn="arn:aws:iam::111111111111:role/aws-service-role/x/AWSServiceRoleForX")
        )
        is None
    )  # the id glob is the whole value: an ARN must match as a whole
    assert _ignored_by_default(_item("AWS::IAM::Role", "AROA1", resource_name="AWSServiceRoleForECS"))
    assert _ignored_by_default(_item("AWS::IAM::Role", "AROA1", resource_name="AWSReservedSSO_Admin_1"))
    assert _ignored_by_default(_item("AWS::S3::Bucket", "b", tags={"aws:cloudformation:stack-name": "x"}))
    assert _ignored_by_default(_item("AWS::S3::Bucket", "b", tags={"team": "x"})) is None
    assert _ignored_by_default(_item("AWS::S3::Bucket", "b")) is None


@pytest.mark.parametrize(
    ("pattern", "text", "matches"),
    [
        ("tf-state*", "tf-state-prod", True),
        ("tf-state*", "my-tf-state", False),
        ("i-????", "i-0abc", True),
        ("i-????", "i-0abcd", False),
        ("*", "", True),
        ("[abc]", "a", False),
        ("[abc]", "[abc]", True),
        ("a.b", "axb", False),
        ("a+b", "a+b", True),
        ("Name", "name", False),
        ("line*", "line\nbreak", True),
    ],
)
def test_glob(pattern: str, text: str, matches: bool) -> None:
    assert glob_match(pattern, text) is matches


def test_tag_rules_glob_key_and_value() -> None:
    rule = IgnoreRule(tag="team=data*", reason="r")
    assert rule.matches(_item("AWS::EC2::Volume", "v", tags={"team": "data-eng"}))
    assert not rule.matches(_item("AWS::EC2::Volume", "v", tags={"team": "web"}))
    assert not rule.matches(_item("AWS::EC2::Volume", "v", tags={"owner": "data"}))
    assert not rule.matches(_item("AWS::EC2::Volume", "v"))
    assert IgnoreRule(tag="env*", reason="r").matches(_item("AWS::EC2::Volume", "v", tags={"environment": ""}))
    # Only the first `=` splits: the value may hold more.
    assert IgnoreRule(tag="q=a=b", reason="r").matches(_item("AWS::EC2::Volume", "v", tags={"q": "a=b"}))


def test_user_rules_from_json() -> None:
    rules = parse_ignore_rules(
        json.dumps(
            [
                {"resource_type": "AWS::S3::Bucket", "id": "cdk-*", "reason": "CDK bootstrap"},
                {"region": "ap-*", "reason": "r"},
            ]
        )
    )
    assert rules == (
        IgnoreRule(resource_type="AWS::S3::Bucket", id="cdk-*", reason="CDK bootstrap"),
        IgnoreRule(region="ap-*", reason="r"),
    )
    assert parse_ignore_rules("") == ()
    assert parse_ignore_rules("  ") == ()
    assert parse_ignore_rules("[]") == ()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{", "UNMANAGED_IGNORE_JSON is not JSON"),
        ('{"id": "x"}', "must be a JSON list"),
        ('[{"id": "x", "reason": "r"}, {"id": "y"}]', "UNMANAGED_IGNORE_JSON rule 1 has no reason"),
        ('[{"reason": "everything"}]', "UNMANAGED_IGNORE_JSON rule 0 matches everything"),
        ('[{"id": "x", "reason": "r", "ids": "y"}]', "UNMANAGED_IGNORE_JSON rule 0 has unknown field(s) ids"),
        ('[{"id": 7, "reason": "r"}]', "UNMANAGED_IGNORE_JSON rule 0: id must be strings"),
        ('[{"id": null, "tag": "t", "reason": "r"}]', "UNMANAGED_IGNORE_JSON rule 0: id must be strings"),
        ('[{"id": "x", "reason": " "}]', "UNMANAGED_IGNORE_JSON rule 0: reason must be strings (a reason not blank)"),
        ('["x"]', "UNMANAGED_IGNORE_JSON rule 0 is not an object"),
    ],
)
def test_bad_rules_are_a_configuration_error_naming_the_rule(text: str, message: str) -> None:
    with pytest.raises(ConfigError) as raised:
        parse_ignore_rules(text)
    assert str(raised.value).startswith("invalid configuration: ")
    assert message in str(raised.value)


def test_every_bad_rule_is_named_at_once() -> None:
    with pytest.raises(ConfigError) as raised:
        parse_ignore_rules('[{"id": "x"}, {"id": "y", "reason": "ok"}, {"reason": "r"}]')
    assert "rule 0 has no reason" in str(raised.value)
    assert "rule 2 matches everything" in str(raised.value)
    assert "rule 1" not in str(raised.value)


WORKSPACE = {"name": "network", "environment": "prod", "account_id": "111111111111", "region": "us-east-1"}


def sidecar(**overrides: Any) -> dict[str, Any]:
    document: dict[str, Any] = {
        "schema_version": "1.0",
        "kind": "managed-resources",
        "run_id": "run-1",
        "generated_at": "2026-11-27T06:01:00Z",
        "workspace": dict(WORKSPACE),
        "resources": [{"address": "aws_s3_bucket.logs", "type": "aws_s3_bucket", "identifiers": {"id": "logs"}}],
    }
    document.update(overrides)
    return document


def test_a_sidecar_becomes_the_workspace_claims() -> None:
    document = sidecar()
    document["resources"][0]["identifiers"]["arn"] = None  # tolerated, dropped
    claims = parse_sidecar(document, WORKSPACE, "run-1")  # type: ignore[arg-type]
    assert claims == {
        "workspace": WORKSPACE,
        "resources": [{"address": "aws_s3_bucket.logs", "type": "aws_s3_bucket", "identifiers": {"id": "logs"}}],
    }


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ([], "not a JSON object"),
        (sidecar(kind="drift-report"), "`kind`"),
        (sidecar(schema_version="2.0"), "`schema_version`"),
        (sidecar(run_id="run-0"), "`run_id`"),
        (sidecar(workspace=dict(WORKSPACE, name="other")), "`workspace`"),
        (sidecar(resources={}), "`resources`"),
        (sidecar(resources=[{"address": "a", "type": "t"}]), "`resources[0]`"),
    ],
)
def test_a_sidecar_that_breaks_the_contract_is_refused(document: object, message: str) -> None:
    with pytest.raises(SidecarError, match=message.replace("[", r"\[").replace("]", r"\]")):
        parse_sidecar(document, WORKSPACE, "run-1")  # type: ignore[arg-type]


# The lead makes this mandatory at merge, when the Rust side's generated
# schema files land in drift_orchestrator/schemas.
REPORT_SCHEMA = SCHEMAS / "unmanaged-report.v1.json"
SIDECAR_SCHEMA = SCHEMAS / "managed-resources.v1.json"


def test_reports_validate_against_the_generated_schema() -> None:
    validator = jsonschema.Draft202012Validator(json.loads(REPORT_SCHEMA.read_text()))
    for case in CASES:
        report = compare(
            case["claims"],
            case["unclaimed"],
            case["inventory"],
            case["coverage"],
            parse_ignore_rules(json.dumps(case["ignore"])),
            run_id="run-1",
            generated_at="2026-11-27T06:10:00.000Z",
        )
        errors = [e.message for e in validator.iter_errors(report)]
        assert not errors, (case["case"], errors)


IGNORE_RULES = [
    {"id": "x", "reason": "r"},
    {"tag": "team=data*", "account_id": "1*", "reason": "r"},
    {"resource_type": "", "reason": "r"},
    {"id": "x"},
    {"reason": "r"},
    {"id": "x", "reason": ""},
    {"id": "x", "reason": "   "},
    {"id": None, "tag": "t", "reason": "r"},
    {"id": 7, "reason": "r"},
    {"id": "x", "reason": "r", "ids": "y"},
]


@pytest.mark.parametrize("rule", IGNORE_RULES, ids=[json.dumps(r) for r in IGNORE_RULES])
def test_ignore_rules_get_the_schema_s_verdict(rule: dict[str, Any]) -> None:
    schema = json.loads(REPORT_SCHEMA.read_text())
    validator = jsonschema.Draft202012Validator({"$defs": schema["$defs"], "$ref": "#/$defs/UnmanagedIgnore"})
    valid = validator.is_valid(rule)
    try:
        parse_ignore_rules(json.dumps([rule]))
    except ConfigError:
        assert not valid, rule
    else:
        assert valid, rule


def test_the_sidecar_fixture_validates_against_the_generated_schema() -> None:
    validator = jsonschema.Draft202012Validator(json.loads(SIDECAR_SCHEMA.read_text()))
    errors = [e.message for e in validator.iter_errors(sidecar())]
    assert not errors
