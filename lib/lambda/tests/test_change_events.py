"""Change events normalised: the documented samples, what is ignored, what is dropped.

The samples are under ``tests/events/`` (see its PROVENANCE.md).
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from drift_orchestrator.change_events import (
    MAX_EVENT_BYTES,
    MAX_IDENTIFIER_CHARS,
    MAX_IDENTIFIERS,
    ChangeEvent,
    Dropped,
    Ignored,
    IgnorePrincipals,
    normalise,
    parse_body,
    resolved_principal,
)

EVENTS = Path(__file__).parent / "events"
NOBODY = IgnorePrincipals(())
ALICE = "arn:aws:sts::123456789012:assumed-role/RoleToBeAssumed/MySessionName"
ALICE_ROLE = "arn:aws:iam::123456789012:role/RoleToBeAssumed"


def sample(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((EVENTS / f"{name}.json").read_text())
    return loaded


def changed_from(document: dict[str, Any]) -> ChangeEvent:
    event = normalise(document, NOBODY)
    assert isinstance(event, ChangeEvent), event
    return event


def changed(name: str, ignore: IgnorePrincipals = NOBODY) -> ChangeEvent:
    event = normalise(sample(name), ignore)
    assert isinstance(event, ChangeEvent), event
    return event


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        (
            "authorize-security-group-ingress",
            {
                "source": "aws.ec2",
                "name": "AuthorizeSecurityGroupIngress",
                "region": "us-east-1",
                "identifiers": ("sg-0app",),
            },
        ),
        (
            "modify-db-instance",
            {
                "source": "aws.rds",
                "name": "ModifyDBInstance",
                "region": "eu-west-1",
                "identifiers": ("reports", "arn:aws:rds:eu-west-1:123456789012:db:reports", "db-REPLICA"),
            },
        ),
        (
            "put-bucket-tagging",
            {
                "source": "aws.s3",
                "name": "PutBucketTagging",
                "region": "us-east-1",
                "identifiers": ("prod-acme-reports", "arn:aws:s3:::prod-acme-reports"),
            },
        ),
        (
            "attach-role-policy",
            {
                "source": "aws.iam",
                "name": "AttachRolePolicy",
                "region": "us-east-1",
                "identifiers": ("app", "arn:aws:iam::aws:policy/AdministratorAccess"),
            },
        ),
        (
            "create-security-group",
            {
                "source": "aws.ec2",
                "name": "CreateSecurityGroup",
                "region": "us-east-1",
                # Only in the response: the request names no group yet (nor the VPC, on purpose).
                "identifiers": ("sg-0handmade",),
            },
        ),
    ],
)
def test_each_cloudtrail_sample_is_normalised(name: str, expected: dict[str, Any]) -> None:
    event = changed(name)
    document = sample(name)
    assert event.id == document["id"]
    assert event.account_id == "123456789012"
    assert event.time == document["detail"]["eventTime"]
    assert event.principal_arn == ALICE
    assert event.issuer_arn == ALICE_ROLE
    assert event.read_only is False
    assert event.resource_type is None
    for key, value in expected.items():
        assert getattr(event, key) == value, key


def test_the_config_sample_is_normalised() -> None:
    event = changed("config-security-group-change")
    assert event.source == "aws.config"
    assert event.name == "UPDATE AWS::EC2::SecurityGroup"
    assert event.resource_type == "AWS::EC2::SecurityGroup"
    assert event.region == "us-east-1"
    assert event.time == "2026-11-27T06:12:02Z"
    assert event.principal_arn is None
    assert event.identifiers == ("sg-0app", "app", "arn:aws:ec2:us-east-1:123456789012:security-group/sg-0app")
    assert event.summary()["principal"] == "unknown"


def test_an_oversized_config_notification_is_read_from_its_summary() -> None:
    document = sample("config-security-group-change")
    item = document["detail"].pop("configurationItem")
    document["detail"]["messageType"] = "OversizedConfigurationItemChangeNotification"
    document["detail"]["configurationItemSummary"] = {
        key: item[key] for key in ("resourceType", "resourceId", "resourceName", "awsRegion", "awsAccountId")
    } | {"changeType": "UPDATE"}
    del document["detail"]["configurationItemDiff"]
    event = normalise(document, NOBODY)
    assert isinstance(event, ChangeEvent)
    assert event.name == "UPDATE AWS::EC2::SecurityGroup"
    assert event.identifiers[:2] == ("sg-0app", "app")


def test_the_summary_is_the_contracts_trigger_event() -> None:
    contract = json.loads((Path(__file__).parents[3] / "tests/contract/resource-index.json").read_text())
    example = contract["worker_event_trigger"]["example"]["events"][0]
    summary = changed("authorize-security-group-ingress").summary()
    assert set(summary) == set(example)
    assert summary == {
        "id": "6f6b3c1e-0000-4000-8000-000000000001",
        "source": "aws.ec2",
        "name": "AuthorizeSecurityGroupIngress",
        "principal": ALICE,
        "time": "2026-11-27T06:05:00Z",
        "account_id": "123456789012",
        "region": "us-east-1",
        "resources": ["sg-0app"],
    }


def test_run_instances_and_create_tags_name_their_resources() -> None:
    document = sample("create-security-group")
    detail = document["detail"]
    detail["eventName"] = "RunInstances"
    detail["requestParameters"] = {
        "instancesSet": {"items": [{"imageId": "ami-0abcdef1234567890", "minCount": 1, "maxCount": 1}]},
        "groupSet": {"items": [{"groupId": "sg-0app"}]},
        "instanceType": "t3.micro",
    }
    detail["responseElements"] = {
        "reservationId": "r-0123456789abcdef0",
        "instancesSet": {"items": [{"instanceId": "i-0aaa"}, {"instanceId": "i-0bbb"}]},
    }
    assert changed_from(document).identifiers == ("sg-0app", "i-0aaa", "i-0bbb")
    detail["eventName"] = "CreateTags"
    detail["requestParameters"] = {
        "resourcesSet": {"items": [{"resourceId": "vol-0ccc"}, {"resourceId": "i-0aaa"}]},
        "tagSet": {"items": [{"key": "owner", "value": "alice"}]},
    }
    detail["responseElements"] = {"requestId": "x", "_return": True}
    assert changed_from(document).identifiers == ("vol-0ccc", "i-0aaa")


def test_the_newer_request_wrapper_is_read() -> None:
    event = changed("terraform-role-modify-security-group-rules")
    assert event.identifiers == ("sg-0app",)


def test_read_only_calls_are_ignored() -> None:
    assert isinstance(normalise(sample("describe-security-groups"), NOBODY), Ignored)
    # By name alone, even when readOnly says otherwise.
    for name in ("DescribeInstances", "GetBucketPolicy", "ListRoles", "HeadBucket"):
        document = sample("authorize-security-group-ingress")
        document["detail"]["eventName"] = name
        result = normalise(document, NOBODY)
        assert isinstance(result, Ignored), name
        assert result.reason == f"{name} is read-only"


def test_failed_calls_are_ignored() -> None:
    document = sample("authorize-security-group-ingress")
    document["detail"]["errorCode"] = "Client.UnauthorizedOperation"
    document["detail"]["errorMessage"] = "You are not authorized to perform this operation."
    result = normalise(document, NOBODY)
    assert isinstance(result, Ignored)
    assert result.reason == "AuthorizeSecurityGroupIngress failed: it changed nothing"


def test_events_that_are_not_api_calls_are_ignored() -> None:
    document = sample("authorize-security-group-ingress")
    document["detail"]["eventType"] = "AwsServiceEvent"
    result = normalise(document, NOBODY)
    assert isinstance(result, Ignored)
    assert "AwsServiceEvent" in result.reason


@pytest.mark.parametrize(
    "pattern",
    [
        "arn:aws:iam::*:role/terraform-*",
        "arn:aws:sts::123456789012:assumed-role/terraform-apply/*",
        "arn:aws:iam::123456789012:role/terraform-apply",
        "terraform-apply-????",
    ],
)
def test_the_stacks_own_roles_are_ignored(pattern: str) -> None:
    ignore = IgnorePrincipals.parse(f" , {pattern},arn:aws:iam::123456789012:role/other")
    assert isinstance(normalise(sample("terraform-role-modify-security-group-rules"), ignore), Ignored)
    # ...and a person's change is not.
    assert isinstance(normalise(sample("authorize-security-group-ingress"), ignore), ChangeEvent)


def test_a_role_arn_ignores_its_sessions_without_an_issuer_as_the_rust_attribution_does() -> None:
    ignore = IgnorePrincipals(["arn:aws:iam::123456789012:role/ops/terraform-apply"])
    assert ignore.ignores("arn:aws:sts::123456789012:assumed-role/terraform-apply/run-7")
    assert not ignore.ignores("arn:aws:sts::123456789012:assumed-role/terraform-apply-2/run-7")
    assert not ignore.ignores("arn:aws:sts::999999999999:assumed-role/terraform-apply/run-7")
    # Globs are `*` and `?` only, whole-string, case-sensitive.
    assert not IgnorePrincipals(["[a-z]*"]).ignores("alice")
    assert IgnorePrincipals(["a*"]).ignores("alice")
    assert not IgnorePrincipals(["A*"]).ignores("alice")
    assert not IgnorePrincipals(["lic"]).ignores("alice")
    assert not IgnorePrincipals([]).ignores("alice")


def test_principals_resolve_as_the_rust_attribution_resolves_them() -> None:
    identity = sample("authorize-security-group-ingress")["detail"]["userIdentity"]
    assert resolved_principal(identity) == "MySessionName"
    assert resolved_principal({"type": "IAMUser", "userName": "Alice"}) == "Alice"
    assert resolved_principal({"type": "Root", "arn": "arn:aws:iam::123456789012:root"}) == "root"
    assert resolved_principal({"type": "AWSService", "invokedBy": "ec2.amazonaws.com"}) == "ec2.amazonaws.com"


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (None, "an empty message"),
        ("not json", "not JSON"),
        ("[1, 2]", "not a JSON object but list"),
        ('{"id": "x"}', "not an EventBridge event: no `source`"),
        ("[" * 100_000 + "]" * 100_000, "not JSON"),
    ],
)
def test_unreadable_bodies_are_dropped_not_raised(body: str | None, reason: str) -> None:
    result = parse_body(body, NOBODY)
    assert isinstance(result, Dropped)
    assert result.reason.startswith(reason.split(":")[0])


def test_oversized_events_are_dropped() -> None:
    document = sample("authorize-security-group-ingress")
    document["detail"]["requestParameters"]["padding"] = "x" * MAX_EVENT_BYTES
    result = parse_body(json.dumps(document), NOBODY)
    assert isinstance(result, Dropped)
    assert result.reason == f"larger than {MAX_EVENT_BYTES} bytes"


def test_unknown_detail_types_and_broken_envelopes_are_dropped() -> None:
    document = sample("authorize-security-group-ingress")
    document["detail-type"] = "EC2 Instance State-change Notification"
    assert isinstance(normalise(document, NOBODY), Dropped)
    for key, value in (("account", "12"), ("region", "moon"), ("time", "yesterday"), ("detail", "x")):
        broken = copy.deepcopy(sample("authorize-security-group-ingress"))
        del broken["detail"]["recipientAccountId"]
        broken[key] = value
        result = normalise(broken, NOBODY)
        assert isinstance(result, Dropped), key
        assert result.id == broken["id"]


def test_the_account_comes_from_the_detail_when_the_envelope_lacks_it() -> None:
    # moto's EventBridge delivers events without `account`; AWS's always has it.
    for name in ("authorize-security-group-ingress", "config-security-group-change"):
        document = sample(name)
        del document["account"]
        event = normalise(document, NOBODY)
        assert isinstance(event, ChangeEvent), name
        assert event.account_id == "123456789012"


def test_hostile_values_never_raise_and_stay_bounded() -> None:
    document = sample("create-security-group")
    detail = document["detail"]
    detail["requestParameters"] = {"groupIds": [f"sg-{i:08d}" for i in range(500)] + [{"x": 1}, 7, None]}
    detail["responseElements"] = {"groupId": "sg-" + "a" * (MAX_IDENTIFIER_CHARS + 1)}
    detail["resources"] = [{"ARN": ["not", "a", "string"]}, "nonsense", {"ARN": "arn:aws:ec2:x"}]
    detail["userIdentity"] = "not an object"
    event = normalise(document, IgnorePrincipals(["*nobody*"]))
    assert isinstance(event, ChangeEvent)
    assert len(event.identifiers) == MAX_IDENTIFIERS
    assert all(len(i) <= MAX_IDENTIFIER_CHARS for i in event.identifiers)
    assert event.principal_arn is None
    weird_values: list[object] = [42, "text", {"detail": []}, {"id": 7, "source": []}]
    for weird in weird_values:
        assert isinstance(normalise(weird, NOBODY), Dropped)
