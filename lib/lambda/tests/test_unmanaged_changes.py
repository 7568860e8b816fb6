"""Changes the trigger kept for resources no workspace manages, joined to the run's unmanaged report."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jsonschema

from drift_orchestrator.unmanaged import InventoryItem
from drift_orchestrator.unmanaged_changes import day_prefixes, match, recent_changes
from tests.conftest import Aws
from tests.support import REPORT_BUCKET

SCHEMA = Path(__file__).resolve().parents[1] / "drift_orchestrator" / "schemas" / "unmanaged-report.v1.json"
A = "123456789012"
ALICE = f"arn:aws:sts::{A}:assumed-role/Admin/alice"
NOW = datetime(2026, 11, 27, 6, 0, tzinfo=UTC)


def kept(event_id: str, identifiers: list[str], *, region: str = "us-east-1", account: str = A) -> dict[str, Any]:
    """A kept event as the trigger writes it (event_checks.Trigger.store_unmanaged)."""
    return {
        "schema_version": "1.0",
        "kind": "unmanaged-event",
        "id": event_id,
        "source": "aws.ec2",
        "name": "AuthorizeSecurityGroupIngress",
        "time": "2026-11-27T05:10:00Z",
        "account_id": account,
        "region": region,
        "principal_arn": ALICE,
        "issuer_arn": f"arn:aws:iam::{A}:role/Admin",
        "read_only": False,
        "resource_type": None,
        "identifiers": identifiers,
    }


SG: InventoryItem = {
    "resource_type": "AWS::EC2::SecurityGroup",
    "account_id": A,
    "region": "us-east-1",
    "resource_id": "sg-0hand",
    "resource_name": "hand-made-debug",
}
ROLE: InventoryItem = {
    "resource_type": "AWS::IAM::Role",
    "account_id": A,
    "region": "us-east-1",
    "resource_id": "AROAHAND",
    "resource_name": "hand-made-role",
}


def test_a_change_names_an_unmanaged_item_by_id_or_name_in_its_scope() -> None:
    events = [
        kept("e1", ["sg-0hand"]),
        kept("e2", ["sg-0hand"], region="eu-west-1"),  # another region: another group
        kept("e3", ["sg-0hand"], account="222222222222"),
        kept("e4", ["hand-made-role"], region="eu-west-1"),  # IAM: account-wide
        kept("e5", ["sg-0other"]),
    ]
    changes = match([SG, ROLE], events)
    assert [(c["resource_id"], c["event_id"]) for c in changes] == [("sg-0hand", "e1"), ("AROAHAND", "e4")]
    assert changes[1]["principal"] == ALICE
    assert changes[1]["name"] == "AuthorizeSecurityGroupIngress"


def test_the_last_two_days_are_read_and_joined_into_a_report_that_keeps_its_schema(aws: Aws) -> None:
    assert day_prefixes(NOW) == ["unmanaged/events/2026/11/27/", "unmanaged/events/2026/11/26/"]
    for key, document in {
        "unmanaged/events/2026/11/27/e1.json": kept("e1", ["sg-0hand"]),
        "unmanaged/events/2026/11/26/e0.json": kept("e0", ["hand-made-debug"]),
        "unmanaged/events/2026/11/20/old.json": kept("old", ["sg-0hand"]),  # older than the window
        "unmanaged/events/2026/11/27/junk.json": {"kind": "something else"},
    }.items():
        aws.s3.put_object(Bucket=REPORT_BUCKET, Key=key, Body=json.dumps(document).encode())
    aws.s3.put_object(Bucket=REPORT_BUCKET, Key="unmanaged/events/2026/11/27/bad.json", Body=b"not json")
    changes = recent_changes(aws.s3, REPORT_BUCKET, [SG], now=NOW)
    assert [c["event_id"] for c in changes] == ["e0", "e1"]
    report = {
        "schema_version": "1.0",
        "kind": "unmanaged-report",
        "run_id": "r1",
        "generated_at": "2026-11-27T06:00:00Z",
        "summary": {
            "unmanaged": 1,
            "managed_twice": 0,
            "gone": 0,
            "ignored": 0,
            "withheld_scopes": 0,
            "workspaces": 1,
            "claims": 0,
            "inventoried": 1,
        },
        "unmanaged": [SG],
        "managed_twice": [],
        "gone": [],
        "ignored": [],
        "withheld": [],
        "coverage": [],
        "changes": changes,
    }
    validator = jsonschema.Draft202012Validator(json.loads(SCHEMA.read_text()))
    assert [e.message for e in validator.iter_errors(report)] == []


def test_nothing_unmanaged_reads_nothing(aws: Aws) -> None:
    aws.s3.put_object(
        Bucket=REPORT_BUCKET, Key="unmanaged/events/2026/11/27/e1.json", Body=json.dumps(kept("e1", ["x"])).encode()
    )
    assert recent_changes(aws.s3, REPORT_BUCKET, [], now=NOW) == []
