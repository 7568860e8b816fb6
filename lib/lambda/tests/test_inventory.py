"""The inventory: shapes, every bad entry named, duplicates, S3 and env sources."""

from __future__ import annotations

import json
from typing import Any

import pytest

from drift_orchestrator.config import InlineInventory, S3Location
from drift_orchestrator.errors import InventoryError
from drift_orchestrator.inventory import RUNNERS, Workspace, load_inventory, parse_inventory
from tests.conftest import Aws
from tests.support import REPORT_BUCKET, SECRET, workspace_entry

#: The schema's pattern for names (key components), quoted by faults.
KEY_COMPONENT = "^[A-Za-z0-9._-]*[A-Za-z0-9_-][A-Za-z0-9._-]*$"


def parse(entries: Any) -> list[Workspace]:
    return parse_inventory(json.dumps(entries), "WORKSPACES_JSON")


def test_a_list_of_workspaces_parses() -> None:
    [network] = parse([workspace_entry("network", "prod", mode="refresh-only", lock=False)])
    assert network == Workspace(
        name="network",
        environment="prod",
        account_id="111111111111",
        region="us-east-1",
        source="s3://tf-bundles/prod/network.zip",
        role_arn="arn:aws:iam::111111111111:role/drift-detection-read",
        external_id=SECRET,
        backend_config={"bucket": "tf-state", "key": "prod/network.tfstate"},
        mode="refresh-only",
        lock=False,
    )
    assert network.label == "prod/network"


def test_the_object_form_and_cli_only_fields_are_accepted() -> None:
    entry = workspace_entry("app", "staging", dir="terraform/app", terraform_workspace="blue")
    [app] = parse({"workspaces": [entry]})
    assert app.terraform_workspace == "blue"


def test_optional_fields_default() -> None:
    entry = workspace_entry("sandbox", "dev", source="/opt/examples/sandbox.zip")
    for key in ("role_arn", "external_id", "backend_config"):
        del entry[key]
    [sandbox] = parse([entry])
    assert (sandbox.role_arn, sandbox.external_id, dict(sandbox.backend_config)) == (None, None, {})
    assert sandbox.source == "/opt/examples/sandbox.zip"
    assert (sandbox.runner, sandbox.parallelism) == ("lambda", None)


def test_runner_and_parallelism_are_read() -> None:
    entries = [
        workspace_entry("big", "prod", runner="codebuild", parallelism=4),
        workspace_entry("small", "prod", runner=None, parallelism=None),
        # JSON Schema's integer includes 4.0; the workspace holds the int.
        workspace_entry("float", "prod", parallelism=4.0),
    ]
    [big, small, as_float] = parse(entries)
    assert (big.runner, big.parallelism) == ("codebuild", 4)
    assert (small.runner, small.parallelism) == ("lambda", None)
    assert as_float.parallelism == 4
    assert isinstance(as_float.parallelism, int)
    assert RUNNERS == ("lambda", "codebuild")


def test_the_external_id_stays_out_of_repr() -> None:
    [network] = parse([workspace_entry("network", "prod")])
    assert SECRET not in repr(network)


def test_an_empty_inventory_is_valid() -> None:
    assert parse([]) == []
    assert parse({"workspaces": []}) == []


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ({"name": ""}, "`name` must be at least 1 character long, and must match " + KEY_COMPONENT),
        ({"name": "../etc"}, "`name` must match " + KEY_COMPONENT),
        ({"environment": "prod env"}, "`environment` must match " + KEY_COMPONENT),
        ({"account_id": "1234"}, "`account_id` must match ^[0-9]{12}$"),
        ({"account_id": 111111111111}, "`account_id` must be a string or null (quote it"),
        ({"region": "mars-1"}, "`region` must match ^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-[0-9]{1,2}$"),
        ({"region": "us-east-1\n"}, "`region` must match ^[a-z]{2}"),
        ({"role_arn": "arn:aws:iam::1:user/x"}, "`role_arn` must match ^arn:aws[a-z-]*:iam::[0-9]{12}:role/"),
        ({"external_id": "x"}, "`external_id` must be at least 2 characters long"),
        ({"external_id": "tab\there"}, "`external_id` must match ^[^\\x00-\\x1f\\x7f-\\x9f]*$"),
        ({"role_arn": None}, "`role_arn` is missing (`external_id` needs it)"),
        ({"source": "https://example.com/x.zip"}, "`source` has none of the allowed forms: AWS: `s3://BUCKET/KEY`"),
        ({"source": "s3://bundles"}, "`source` has none of the allowed forms"),
        ({"backend_config": {"bucket": 1}}, "`backend_config.bucket` must be a string (quote it"),
        ({"backend_config": {"dynamo-table": "x"}}, "`backend_config` has a key that does not match ^[A-Za-z0-9_]+$"),
        ({"backend_config": ["bucket=x"]}, "`backend_config` must be an object or null"),
        ({"mode": "apply"}, "`mode` must be one of plan, refresh-only, both"),
        ({"lock": "no"}, "`lock` must be a boolean (true or false) or null"),
        ({"lock_timeout": "soon"}, "`lock_timeout` must match ^[0-9]+[smh]$"),
        ({"lock_timeout": "60sm"}, "`lock_timeout` must match ^[0-9]+[smh]$"),
        ({"terraform_workspace": "a b"}, "`terraform_workspace` must match " + KEY_COMPONENT),
        ({"parallelism": 0}, "`parallelism` must be at least 1"),
        ({"parallelism": 257}, "`parallelism` must be at most 256"),
        ({"parallelism": "4"}, "`parallelism` must be a whole number or null"),
        ({"parallelism": 4.5}, "`parallelism` must be a whole number or null"),
        ({"runner": "ec2"}, "`runner` must be one of lambda, codebuild"),
        ({"regoin": "us-east-1"}, "`regoin` is an unknown field"),
        ({"dir": "terraform/network", "plan": "network.json"}, "has `dir` and `plan`, which exclude each other"),
    ],
)
def test_a_bad_entry_is_named_with_its_fault(override: dict[str, Any], expected: str) -> None:
    entries = [workspace_entry("ok", "prod"), {**workspace_entry("network", "prod"), **override}]
    with pytest.raises(InventoryError) as caught:
        parse(entries)
    message = str(caught.value)
    assert message.startswith("inventory WORKSPACES_JSON has 1 problem: workspace #2 (")
    assert expected in message
    assert SECRET not in message
    # No fault quotes a value (any may be a secret), only the entry's name.
    for key, value in override.items():
        if isinstance(value, str) and key != "name":
            assert repr(value) not in message
            assert json.dumps(value) not in message


@pytest.mark.parametrize("missing", ["name", "environment", "account_id", "region", "source"])
def test_a_missing_required_field_is_named(missing: str) -> None:
    entry = workspace_entry("network", "prod")
    del entry[missing]
    with pytest.raises(InventoryError, match=f"workspace #1.*`{missing}` is missing"):
        parse([entry])


def test_every_fault_is_reported_at_once() -> None:
    entries = [
        workspace_entry("a", "prod", region="moon"),
        "not an object",
        workspace_entry("c", "prod", account_id="12"),
    ]
    with pytest.raises(InventoryError) as caught:
        parse(entries)
    message = str(caught.value)
    assert "has 3 problems" in message
    assert "workspace #1 ('a'): `region` must match" in message
    assert "workspace #2: must be an object" in message
    assert "workspace #3 ('c'): `account_id` must match" in message


def test_duplicates_within_an_environment_are_refused() -> None:
    entries = [
        workspace_entry("network", "prod"),
        workspace_entry("network", "staging"),
        workspace_entry("network", "prod", region="eu-west-1"),
    ]
    with pytest.raises(InventoryError) as caught:
        parse(entries)
    assert (
        "workspace #3 ('network'): repeats workspace 'network' in environment 'prod' "
        "(first at #1); their reports would overwrite each other"
    ) in str(caught.value)


def test_the_same_name_in_two_environments_is_fine() -> None:
    entries = [workspace_entry("network", "prod"), workspace_entry("network", "staging")]
    assert [w.label for w in parse(entries)] == ["prod/network", "staging/network"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[{", "inventory WORKSPACES_JSON is not valid JSON"),
        ('"network"', "must be a JSON list of workspaces"),
        ('{"workspace": []}', "found keys: workspace"),
        ('{"workspaces": [], "version": 2}', "or an object with only a `workspaces` list"),
    ],
)
def test_a_document_of_the_wrong_shape_is_refused(text: str, expected: str) -> None:
    with pytest.raises(InventoryError, match="inventory WORKSPACES_JSON") as caught:
        parse_inventory(text, "WORKSPACES_JSON")
    assert expected in str(caught.value)


def test_the_inline_inventory_is_read_without_s3(aws: Aws) -> None:
    text = json.dumps([workspace_entry("network", "prod")])
    assert [w.name for w in load_inventory(InlineInventory(text), aws.s3)] == ["network"]


def test_the_inventory_is_read_from_s3(aws: Aws) -> None:
    entries = [workspace_entry("network", "prod"), workspace_entry("app", "staging")]
    aws.s3.put_object(Bucket=REPORT_BUCKET, Key="config/workspaces.json", Body=json.dumps(entries))
    location = S3Location(REPORT_BUCKET, "config/workspaces.json")
    assert [w.label for w in load_inventory(location, aws.s3)] == ["prod/network", "staging/app"]


def test_s3_faults_name_the_object(aws: Aws) -> None:
    with pytest.raises(InventoryError, match=r"inventory s3://drift-reports-test/nope.json does"):
        load_inventory(S3Location(REPORT_BUCKET, "nope.json"), aws.s3)
    with pytest.raises(InventoryError, match="inventory bucket 'no-such-bucket' does not exist"):
        load_inventory(S3Location("no-such-bucket", "workspaces.json"), aws.s3)
    aws.s3.put_object(Bucket=REPORT_BUCKET, Key="bad.json", Body=b"[1]")
    with pytest.raises(InventoryError, match=r"inventory s3://drift-reports-test/bad.json has 1 problem"):
        load_inventory(S3Location(REPORT_BUCKET, "bad.json"), aws.s3)
