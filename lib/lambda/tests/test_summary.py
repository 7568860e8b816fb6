"""The run summary: its key, its shape, and the schema that can say no."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from drift_orchestrator.checks import SeverityCounts, WorkspaceResult
from drift_orchestrator.events import RunRequest
from drift_orchestrator.inventory import parse_inventory
from drift_orchestrator.summary import build_summary, rfc3339, summary_key
from tests.support import SECRET, summary_validator, workspace_entry

STARTED = datetime(2026, 11, 27, 6, 0, 1, 250000, tzinfo=UTC)
[NETWORK, APP] = parse_inventory(
    json.dumps([workspace_entry("network", "prod"), workspace_entry("app", "staging")]), "test"
)


def sample() -> dict[str, Any]:
    request = RunRequest(run_id="r-1", trigger="schedule", reference_time=STARTED)
    results = [
        WorkspaceResult(
            workspace=NETWORK,
            status="drift",
            report_key="drift-reports/prod/network/2026/11/27/r-1.json",
            by_severity=SeverityCounts(critical=1, low=2),
            attempts=2,
            duration_seconds=12.5,
        ),
        WorkspaceResult(workspace=APP, status="skipped", error="not started: no time"),
    ]
    summary = build_summary(
        request=request,
        inventory_origin="WORKSPACES_JSON",
        results=results,
        started_at=STARTED,
        finished_at=STARTED + timedelta(seconds=90),
        key=summary_key("r-1", STARTED),
    )
    return dict(summary)


def test_the_key_is_dated_by_the_reference_time_in_utc() -> None:
    late_evening = datetime(2026, 11, 27, 23, 30, tzinfo=UTC).astimezone(datetime.now().astimezone().tzinfo)
    assert summary_key("abc", late_evening) == "runs/2026/11/27/abc.json"
    assert rfc3339(STARTED) == "2026-11-27T06:00:01.250Z"


def test_a_summary_has_totals_errors_and_no_secret() -> None:
    summary = sample()
    assert summary["duration_seconds"] == 90.0
    assert summary["totals"] == {
        "workspaces": 2,
        "by_status": {
            "clean": 0,
            "drift": 1,
            "pending_changes": 0,
            "error": 0,
            "timeout": 0,
            "skipped": 1,
        },
        "by_severity": {"critical": 1, "high": 0, "medium": 0, "low": 2},
    }
    assert summary["errors"] == [
        {
            "scope": "workspace",
            "workspace": "app",
            "environment": "staging",
            "message": "skipped: not started: no time",
        }
    ]
    assert SECRET not in json.dumps(summary)
    assert "role_arn" not in json.dumps(summary)
    assert not list(summary_validator().iter_errors(summary))


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("workspaces", 0, "status"), "unknown"),
        (("workspaces", 0, "external_id"), SECRET),
        (("started_at",), "2026-11-27 06:00:01"),
        (("totals", "by_severity", "critical"), -1),
        (("schema_version",), "2"),
        (("summary_key",), "reports/r-1.json"),
        (("alerts",), [{"kind": "per_workspace", "message_id": None, "error": None}]),
    ],
)
def test_the_schema_refuses_what_breaks_the_contract(path: tuple[Any, ...], value: Any) -> None:
    summary = copy.deepcopy(sample())
    target: Any = summary
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    assert list(summary_validator().iter_errors(summary))
