"""The handler end to end: moto S3/SNS, a scripted worker, a fake context."""

from __future__ import annotations

import functools
import json
from datetime import UTC, datetime
from typing import Any

import pytest

import orchestrator
from drift_orchestrator import run
from drift_orchestrator.errors import ConfigError, EventError, InventoryError
from tests.conftest import Aws, Logs
from tests.support import (
    REPORT_BUCKET,
    SECRET,
    FakeContext,
    ScriptedWorker,
    workspace_entry,
)

RUN_ID = "manual-run-1"
#: The handler's wall clock here, years from the scheduled event's own time;
#: it dates manual runs.
INVOKED_AT = datetime(2031, 2, 3, 4, 5, 6, tzinfo=UTC)
INVOKED_DAY = "2031/02/03"
SCHEDULED: dict[str, Any] = {
    "version": "0",
    "id": "7bf73129-1428-4cd3-a780-95db273d1602",
    "detail-type": "Scheduled Event",
    "source": "aws.events",
    "account": "123456789012",
    "time": "2026-11-27T06:00:00Z",
    "region": "us-east-1",
    "resources": ["arn:aws:events:us-east-1:123456789012:rule/drift-detection"],
    "detail": {},
}

MIXED = [
    workspace_entry("network", "prod"),
    workspace_entry("data", "prod"),
    workspace_entry("app", "staging"),
    workspace_entry("web", "staging"),
    workspace_entry("sandbox", "dev"),
    workspace_entry("batch", "dev"),
    workspace_entry("iam", "prod"),
    workspace_entry("queue", "staging"),
]


@pytest.fixture(autouse=True)
def wall_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """The handler reads a fixed time, not the machine's clock."""
    monkeypatch.setattr(orchestrator, "utc_now", lambda: INVOKED_AT)


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Retries record their backoff instead of sleeping."""
    recorded: list[float] = []
    monkeypatch.setattr(orchestrator, "execute_run", functools.partial(run.execute_run, sleep=recorded.append))
    return recorded


def script_mixed_run(worker: ScriptedWorker, run_id: str) -> None:
    worker.completes(run_id, "network", "prod", "clean")
    worker.completes(run_id, "data", "prod", "drift", critical=2, high=1)
    worker.completes(run_id, "app", "staging", "drift", high=1, medium=2)
    worker.completes(run_id, "web", "staging", "pending_changes", low=1)
    worker.fails(
        "DriftCheckFailed",
        f"terraform init failed: AccessDenied on state; report drift-reports/dev/sandbox/2026/11/27/{run_id}.json",
    )
    worker.api_error("TooManyRequestsException")
    worker.completes(run_id, "batch", "dev", "clean")
    worker.fails("Runtime.ExitError", "exit status 101")
    worker.completes(run_id, "iam", "prod", "drift", critical=1)
    worker.fails("DriftCheckTimedOut", "terraform plan passed its budget")


def emf_documents(stdout: str) -> list[dict[str, Any]]:
    documents = []
    for line in stdout.splitlines():
        if line.startswith("{") and '"_aws"' in line:
            documents.append(json.loads(line))
    return documents


def metric_values(stdout: str) -> dict[str, float]:
    [document] = emf_documents(stdout)
    [directive] = document["_aws"]["CloudWatchMetrics"]
    assert directive["Namespace"] == "DriftDetection"
    assert directive["Dimensions"] == [["service"]]
    assert document["service"] == "drift-detection-orchestrator"
    units = {m["Name"]: m["Unit"] for m in directive["Metrics"]}
    assert units == {
        "WorkspacesChecked": "Count",
        "WorkspacesDrifted": "Count",
        "CriticalDrift": "Count",
        "DetectionErrors": "Count",
        "RunDurationSeconds": "Seconds",
    }
    values = {}
    for name in units:
        value = document[name]
        if isinstance(value, list):  # Powertools writes each value as a list
            [value] = value
        values[name] = value
    return values


def attributes(message: dict[str, Any]) -> dict[str, str]:
    return {k: v["Value"] for k, v in message["MessageAttributes"].items()}


def test_a_mixed_run(
    aws: Aws,
    worker: ScriptedWorker,
    inventory: Any,
    sleeps: list[float],
    logs: Logs,
    capsys: pytest.CaptureFixture[str],
) -> None:
    inventory(MIXED)
    script_mixed_run(worker, RUN_ID)

    returned = orchestrator.handler({"run_id": RUN_ID}, FakeContext())

    worker.assert_done()
    key = f"runs/{INVOKED_DAY}/{RUN_ID}.json"
    stored = aws.summaries()
    assert list(stored) == [key]
    assert stored[key] == returned
    summary = stored[key]
    assert summary["trigger"] == "manual"
    assert summary["summary_key"] == key
    assert (summary["started_at"], summary["finished_at"]) == ("2031-02-03T04:05:06.000Z",) * 2
    assert {sent["run_started_at"] for sent in worker.sent} == {"2031-02-03T04:05:06.000Z"}
    assert summary["inventory"] == "WORKSPACES_JSON"
    by_name = {w["name"]: w for w in summary["workspaces"]}
    assert {name: (w["status"], w["attempts"]) for name, w in by_name.items()} == {
        "network": ("clean", 1),
        "data": ("drift", 1),
        "app": ("drift", 1),
        "web": ("pending_changes", 1),
        "sandbox": ("error", 1),
        "batch": ("clean", 2),
        "iam": ("drift", 2),
        "queue": ("timeout", 1),
    }
    assert by_name["data"]["by_severity"] == {"critical": 2, "high": 1, "medium": 0, "low": 0}
    assert by_name["data"]["report_key"] == f"drift-reports/prod/data/2026/11/27/{RUN_ID}.json"
    assert by_name["sandbox"]["report_key"] == (f"drift-reports/dev/sandbox/2026/11/27/{RUN_ID}.json")
    assert by_name["sandbox"]["error"].startswith("terraform init failed: AccessDenied")
    assert by_name["queue"]["report_key"] is None
    assert summary["totals"] == {
        "workspaces": 8,
        "by_status": {
            "clean": 2,
            "drift": 3,
            "pending_changes": 1,
            "error": 1,
            "timeout": 1,
            "skipped": 0,
        },
        "by_severity": {"critical": 3, "high": 2, "medium": 2, "low": 1},
    }
    assert [(e["workspace"], e["message"][:8]) for e in summary["errors"]] == [
        ("sandbox", "error: t"),
        ("queue", "timeout:"),
    ]
    assert len(sleeps) == 2
    assert all(0 <= s <= 1.0 for s in sleeps)

    messages = aws.messages()
    assert [attributes(m) for m in messages] == [
        {"severity": "critical", "environment": "prod", "kind": "critical_drift"},
        {"severity": "error", "environment": "dev,staging", "kind": "run_errors"},
    ]
    critical, errors = messages
    assert critical["Subject"] == ("[drift-detection] Critical drift in 2 workspaces: prod/data, prod/iam")
    assert "3 critical findings in 2 workspaces of 6 checked by run manual-run-1" in (critical["Message"])
    assert f"report: s3://{REPORT_BUCKET}/drift-reports/prod/data/2026/11/27/{RUN_ID}.json" in critical["Message"]
    assert f"Run summary: s3://{REPORT_BUCKET}/{key}" in critical["Message"]
    assert "prod/network" not in critical["Message"]
    assert errors["Subject"] == "[drift-detection] 2 workspaces failed in run manual-run-1"
    assert "- dev/sandbox (account 111111111111, us-east-1) [error after 1 attempt]" in (errors["Message"])
    assert "- staging/queue" in errors["Message"]
    assert [(a["kind"], a["error"]) for a in summary["alerts"]] == [
        ("critical_drift", None),
        ("run_errors", None),
    ]
    assert [a["message_id"] for a in summary["alerts"]] == [m["MessageId"] for m in messages]

    assert metric_values(capsys.readouterr().out) == {
        "WorkspacesChecked": 6,
        "WorkspacesDrifted": 3,
        "CriticalDrift": 3,
        "DetectionErrors": 2,
        "RunDurationSeconds": summary["duration_seconds"],
    }

    lines = logs.lines()
    assert lines
    assert all(line["run_id"] == RUN_ID for line in lines)
    assert {"run started", "workspace finished", "run finished"} <= {line["message"] for line in lines}
    # The shared secret is sent to the worker and nowhere else.
    assert all(sent["external_id"] == SECRET for sent in worker.sent)
    for text in (
        logs.text(),
        json.dumps(stored),
        json.dumps(messages),
        json.dumps(returned),
    ):
        assert SECRET not in text


def test_one_critical_alert_per_run_however_many_workspaces(aws: Aws, worker: ScriptedWorker, inventory: Any) -> None:
    inventory([workspace_entry(f"ws{i}", f"env{i % 3}") for i in range(6)])
    for i in range(6):
        worker.completes(RUN_ID, f"ws{i}", f"env{i % 3}", "drift", critical=1)
    orchestrator.handler({"run_id": RUN_ID}, FakeContext())
    messages = aws.messages()
    assert len(messages) == 1
    assert attributes(messages[0]) == {
        "severity": "critical",
        "environment": "env0,env1,env2",
        "kind": "critical_drift",
    }
    assert len(messages[0]["Subject"]) < 100
    assert messages[0]["Message"].count("\n- ") == 6


def test_a_clean_run_sends_nothing(
    aws: Aws, worker: ScriptedWorker, inventory: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    inventory([workspace_entry("network", "prod"), workspace_entry("app", "staging")])
    worker.completes(RUN_ID, "network", "prod", "clean")
    worker.completes(RUN_ID, "app", "staging", "drift", high=4)
    summary = orchestrator.handler({"run_id": RUN_ID}, FakeContext())
    assert aws.messages() == []
    assert summary["alerts"] == []
    assert summary["errors"] == []
    values = metric_values(capsys.readouterr().out)
    assert (values["WorkspacesChecked"], values["WorkspacesDrifted"]) == (2, 1)
    assert (values["CriticalDrift"], values["DetectionErrors"]) == (0, 0)


def test_a_scheduled_run_and_its_retried_delivery(
    aws: Aws,
    worker: ScriptedWorker,
    inventory: Any,
    capsys: pytest.CaptureFixture[str],
    logs: Logs,
) -> None:
    run_id = SCHEDULED["id"]
    inventory([workspace_entry("network", "prod"), workspace_entry("data", "prod")])
    worker.completes(run_id, "network", "prod", "clean")
    worker.completes(run_id, "data", "prod", "drift", critical=1)

    first = orchestrator.handler(SCHEDULED, FakeContext())

    worker.assert_done()
    assert first["run_id"] == run_id
    assert first["trigger"] == "schedule"
    assert first["summary_key"] == f"runs/2026/11/27/{run_id}.json"
    assert first["filters"] == {"environments": None, "workspaces": None, "accounts": None}
    assert {sent["run_started_at"] for sent in worker.sent} == {"2026-11-27T06:00:00.000Z"}
    assert len(aws.messages()) == 1
    assert len(emf_documents(capsys.readouterr().out)) == 1

    # EventBridge delivers the same event again: nothing is re-run or re-sent.
    again = orchestrator.handler(SCHEDULED, FakeContext())
    assert again == first
    assert len(worker.sent) == 2
    assert aws.messages() == []
    assert emf_documents(capsys.readouterr().out) == []
    assert "this run already finished (a retried delivery); returning its summary" in [
        line["message"] for line in logs.lines()
    ]


def test_a_dry_run_lists_and_touches_nothing(
    aws: Aws,
    worker: ScriptedWorker,
    inventory: Any,
    logs: Logs,
    capsys: pytest.CaptureFixture[str],
) -> None:
    inventory(MIXED)
    summary = orchestrator.handler({"dry_run": True, "environments": ["prod", "dev"], "run_id": "look"}, FakeContext())
    assert worker.sent == []
    assert aws.all_objects() == []
    assert aws.messages() == []
    assert emf_documents(capsys.readouterr().out) == []
    assert summary["dry_run"] is True
    assert summary["summary_key"] is None
    assert [(w["environment"], w["name"], w["status"]) for w in summary["workspaces"]] == [
        ("prod", "network", "skipped"),
        ("prod", "data", "skipped"),
        ("dev", "sandbox", "skipped"),
        ("dev", "batch", "skipped"),
        ("prod", "iam", "skipped"),
    ]
    assert summary["errors"] == []
    [listing] = [line for line in logs.lines() if line["message"].startswith("dry run")]
    assert listing["count"] == 5
    assert listing["workspaces"][0] == {
        "name": "network",
        "environment": "prod",
        "account_id": "111111111111",
        "region": "us-east-1",
    }
    assert SECRET not in logs.text()


def test_an_empty_inventory_still_reports_and_measures(
    aws: Aws, worker: ScriptedWorker, inventory: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    inventory([])
    summary = orchestrator.handler({"run_id": RUN_ID}, FakeContext())
    assert summary["workspaces"] == []
    assert summary["totals"]["workspaces"] == 0
    assert list(aws.summaries()) == [f"runs/{INVOKED_DAY}/{RUN_ID}.json"]
    assert aws.messages() == []
    assert metric_values(capsys.readouterr().out) == {
        "WorkspacesChecked": 0,
        "WorkspacesDrifted": 0,
        "CriticalDrift": 0,
        "DetectionErrors": 0,
        "RunDurationSeconds": summary["duration_seconds"],
    }


def test_filters_narrow_the_run(aws: Aws, worker: ScriptedWorker, inventory: Any) -> None:
    inventory(MIXED)
    worker.completes(RUN_ID, "app", "staging")
    worker.completes(RUN_ID, "queue", "staging")
    summary = orchestrator.handler(
        {"run_id": RUN_ID, "environments": ["staging"], "workspaces": ["app", "queue", "data"]},
        FakeContext(),
    )
    worker.assert_done()
    assert [w["workspace"] for w in worker.sent] == ["app", "queue"]
    assert [w["name"] for w in summary["workspaces"]] == ["app", "queue"]
    assert summary["filters"] == {
        "environments": ["staging"],
        "workspaces": ["app", "queue", "data"],
        "accounts": None,
    }


def test_the_deadline_budget_skips_and_reports(
    aws: Aws, worker: ScriptedWorker, inventory: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    inventory([workspace_entry("network", "prod"), workspace_entry("app", "staging")])
    # 300 s worker timeout + 35 s margins do not fit in 200 s.
    summary = orchestrator.handler({"run_id": RUN_ID}, FakeContext(remaining_ms=200_000))
    assert worker.sent == []
    assert [w["status"] for w in summary["workspaces"]] == ["skipped", "skipped"]
    assert summary["workspaces"][0]["error"].startswith("not started: ")
    [run_error] = [e for e in summary["errors"] if e["scope"] == "run"]
    assert "raise the orchestrator's timeout or lower the worker's" in run_error["message"]
    [message] = aws.messages()
    assert attributes(message) == {
        "severity": "error",
        "environment": "prod,staging",
        "kind": "run_errors",
    }
    assert message["Subject"] == "[drift-detection] 2 workspaces skipped in run manual-run-1"
    values = metric_values(capsys.readouterr().out)
    assert (values["WorkspacesChecked"], values["DetectionErrors"]) == (0, 2)


def test_the_inventory_can_be_read_from_s3(aws: Aws, worker: ScriptedWorker, config_env: pytest.MonkeyPatch) -> None:
    aws.s3.put_object(
        Bucket=REPORT_BUCKET,
        Key="inventory/workspaces.json",
        Body=json.dumps({"workspaces": [workspace_entry("network", "prod")]}),
    )
    config_env.setenv("INVENTORY_S3_URI", f"s3://{REPORT_BUCKET}/inventory/workspaces.json")
    worker.completes(RUN_ID, "network", "prod")
    summary = orchestrator.handler({"run_id": RUN_ID}, FakeContext())
    assert summary["inventory"] == f"s3://{REPORT_BUCKET}/inventory/workspaces.json"
    assert summary["totals"]["by_status"]["clean"] == 1


def test_a_bad_inventory_fails_a_scheduled_run_loudly(
    aws: Aws,
    worker: ScriptedWorker,
    inventory: Any,
    logs: Logs,
    capsys: pytest.CaptureFixture[str],
) -> None:
    inventory([workspace_entry("network", "prod"), workspace_entry("network", "prod")])
    with pytest.raises(InventoryError, match=r"workspace #2 \('network'\): repeats"):
        orchestrator.handler(SCHEDULED, FakeContext())
    assert worker.sent == []
    assert aws.summaries() == {}
    [message] = aws.messages()
    assert attributes(message) == {
        "severity": "error",
        "environment": "multiple",
        "kind": "run_errors",
    }
    assert message["Subject"] == (f"[drift-detection] Run {SCHEDULED['id']} failed before checking any workspace")
    assert "workspace #2 ('network'): repeats" in message["Message"]
    assert emf_documents(capsys.readouterr().out) == []
    [failure] = [line for line in logs.lines() if line["message"] == "run failed"]
    assert failure["run_id"] == SCHEDULED["id"]
    assert "InventoryError" in failure["exception"]


def test_a_bad_manual_request_fails_without_alerting(aws: Aws, worker: ScriptedWorker, inventory: Any) -> None:
    inventory(MIXED)
    with pytest.raises(EventError, match="unknown workspace 'netwrok'"):
        orchestrator.handler({"workspaces": ["netwrok"]}, FakeContext())
    with pytest.raises(EventError, match="unknown key 'workspace'"):
        orchestrator.handler({"workspace": ["network"]}, FakeContext())
    assert worker.sent == []
    assert aws.messages() == []
    assert aws.summaries() == {}


def test_a_misconfigured_function_names_the_variables(
    aws: Aws, worker: ScriptedWorker, monkeypatch: pytest.MonkeyPatch, logs: Logs
) -> None:
    monkeypatch.delenv("WORKER_FUNCTION_ARN", raising=False)
    monkeypatch.delenv("WORKER_TIMEOUT_SECONDS", raising=False)
    monkeypatch.setenv("WORKSPACES_JSON", "[]")
    with pytest.raises(ConfigError) as caught:
        orchestrator.handler({"run_id": RUN_ID}, FakeContext())
    assert "WORKER_FUNCTION_ARN is not set" in str(caught.value)
    assert "WORKER_TIMEOUT_SECONDS is not set" in str(caught.value)
    assert all(line["run_id"] == RUN_ID for line in logs.lines())


def test_an_alert_that_cannot_be_sent_is_recorded(
    aws: Aws, worker: ScriptedWorker, inventory: Any, config_env: pytest.MonkeyPatch
) -> None:
    config_env.setenv("SNS_TOPIC_ARN", "arn:aws:sns:us-east-1:123456789012:deleted-topic")
    inventory([workspace_entry("data", "prod")])
    worker.completes(RUN_ID, "data", "prod", "drift", critical=1)
    summary = orchestrator.handler({"run_id": RUN_ID}, FakeContext())
    [alert] = summary["alerts"]
    assert alert["kind"] == "critical_drift"
    assert alert["message_id"] is None
    assert alert["error"]
    [run_error] = summary["errors"]
    assert run_error["scope"] == "run"
    assert run_error["message"].startswith("the critical_drift alert could not be published")
    assert list(aws.summaries()) == [f"runs/{INVOKED_DAY}/{RUN_ID}.json"]
