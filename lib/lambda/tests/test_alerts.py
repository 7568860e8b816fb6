"""What the run's alerts say of an event check: the change that caused it."""

from __future__ import annotations

import json

from drift_orchestrator.alerts import RunContext, cause_line, critical_drift_alert
from drift_orchestrator.checks import SeverityCounts, WorkspaceResult
from drift_orchestrator.inventory import parse_inventory
from tests.support import workspace_entry

[NETWORK] = parse_inventory(json.dumps([workspace_entry("network", "prod")]), "test")
ALICE = "arn:aws:sts::123456789012:assumed-role/Admin/alice"


def event_trigger(*names: str) -> dict[str, object]:
    return {
        "kind": "event",
        "events": [
            {
                "id": f"e-{name}",
                "source": "aws.ec2",
                "name": name,
                "principal": ALICE,
                "time": "2026-11-27T06:05:00Z",
                "account_id": "123456789012",
                "region": "us-east-1",
                "resources": ["sg-0app"],
            }
            for name in names
        ],
    }


def test_the_cause_is_the_newest_event_on_one_bounded_line() -> None:
    line = cause_line(event_trigger("CreateTags", "AuthorizeSecurityGroupIngress"))
    assert line == f"checked because AuthorizeSecurityGroupIngress by {ALICE} at 2026-11-27T06:05:00Z"
    hostile = event_trigger("Evil\nSubject: x" + "y" * 500)
    text = cause_line(hostile) or ""
    assert "\n" not in text
    assert len(text) < 700
    assert cause_line({"kind": "schedule"}) is None
    assert cause_line({"kind": "event", "events": []}) is None
    assert cause_line(None) is None


def test_an_event_runs_critical_alert_says_why_the_workspace_was_checked() -> None:
    result = WorkspaceResult(
        workspace=NETWORK,
        status="drift",
        report_key="drift-reports/prod/network/2026/11/27/event-1.json",
        by_severity=SeverityCounts(critical=1),
    )
    context = RunContext(
        run_id="event-1",
        trigger="event",
        started_at="2026-11-27T06:05:30Z",
        summary_uri=None,
        report_bucket="reports",
        causes={NETWORK.label: cause_line(event_trigger("AuthorizeSecurityGroupIngress")) or ""},
    )
    alert = critical_drift_alert([result], context)
    assert alert is not None
    assert f"  checked because AuthorizeSecurityGroupIngress by {ALICE} at 2026-11-27T06:05:00Z\n" in alert.message
    plain = critical_drift_alert([result], RunContext("r", "schedule", "t", None, "reports"))
    assert plain is not None
    assert "checked because" not in plain.message
