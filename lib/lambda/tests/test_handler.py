"""The two handlers end to end on moto: the orchestrator starts, the summarize step ends.

The state machine is the stack's own definition, run by moto; the worker is
scripted (see :mod:`tests.local_states`).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

import orchestrator
import summarize
from drift_orchestrator.errors import ConfigError, EventError, InventoryError
from drift_orchestrator.finish import SummarizeError
from tests.conftest import Logs
from tests.local_states import SCHEDULED_EVENT, SUMMARIZE, WORKER, States, wait_for
from tests.support import REPORT_BUCKET, SECRET, FakeContext, workspace_entry

RUN_ID = "manual-run-1"
#: The handlers' wall clock here, years from the scheduled event's own time;
#: it dates manual runs.
INVOKED_AT = datetime(2031, 2, 3, 4, 5, 6, tzinfo=UTC)
INVOKED_DAY = "2031/02/03"

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
    """The handlers read a fixed time, not the machine's clock."""
    monkeypatch.setattr(orchestrator, "utc_now", lambda: INVOKED_AT)
    monkeypatch.setattr(summarize, "utc_now", lambda: INVOKED_AT)


def inventory(monkeypatch: pytest.MonkeyPatch, entries: list[dict[str, Any]]) -> None:
    monkeypatch.setenv("WORKSPACES_JSON", json.dumps(entries))


def emf_documents(output: str) -> list[dict[str, Any]]:
    documents = []
    for line in output.splitlines():
        if line.startswith("{") and '"_aws"' in line:
            documents.append(json.loads(line))
    return documents


def metric_values(output: str) -> dict[str, float]:
    [document] = emf_documents(output)
    names = [m["Name"] for m in document["_aws"]["CloudWatchMetrics"][0]["Metrics"]]
    return {name: document[name][0] if isinstance(document[name], list) else document[name] for name in names}


def kinds(states: States) -> list[str]:
    return sorted(a["MessageAttributes"]["kind"]["Value"] for a in states.alerts())


def test_a_manual_run_answers_at_once_with_where_to_follow_it(
    states: States, monkeypatch: pytest.MonkeyPatch, logs: Logs
) -> None:
    inventory(monkeypatch, MIXED)
    answer = states.start({"run_id": RUN_ID})
    assert answer["status"] == "started"
    assert answer["run_id"] == RUN_ID
    assert answer["execution_name"] == RUN_ID
    assert answer["summary_uri"] == f"s3://{REPORT_BUCKET}/runs/{INVOKED_DAY}/{RUN_ID}.json"
    assert answer["workspaces"] == 8
    assert answer["follow"][0] == f"aws stepfunctions describe-execution --execution-arn {answer['execution_arn']}"
    assert answer["follow"][-1] == f"aws s3 cp {answer['summary_uri']} -"
    [started] = [line for line in logs.lines() if line["message"] == "run started"]
    assert started["execution_arn"] == answer["execution_arn"]
    states.finish(answer)
    assert SECRET not in logs.text()


def test_a_dry_run_lists_and_touches_nothing(
    states: States, monkeypatch: pytest.MonkeyPatch, logs: Logs, capsys: pytest.CaptureFixture[str]
) -> None:
    inventory(monkeypatch, MIXED)
    summary = states.start({"dry_run": True, "environments": ["prod", "dev"], "run_id": "look"})
    assert states.lambdas.invocations == []
    assert states.s3.list_objects_v2(Bucket=REPORT_BUCKET).get("KeyCount") == 0
    assert states.sfn.list_executions(stateMachineArn=states.state_machine_arn)["executions"] == []
    assert states.alerts() == []
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
    assert SECRET not in logs.text()


def test_filters_narrow_the_run(states: States, monkeypatch: pytest.MonkeyPatch) -> None:
    inventory(monkeypatch, MIXED)
    answer = states.start({"run_id": RUN_ID, "environments": ["staging"], "workspaces": ["app", "queue", "data"]})
    summary = states.finish(answer)
    invoked = [event["workspace"] for name, event in states.lambdas.invocations if name == WORKER]
    assert sorted(invoked) == ["app", "queue"]
    assert [w["name"] for w in summary["workspaces"]] == ["app", "queue"]
    assert summary["filters"] == {"environments": ["staging"], "workspaces": ["app", "queue", "data"], "accounts": None}


def test_the_inventory_can_be_read_from_s3(states: States, monkeypatch: pytest.MonkeyPatch) -> None:
    states.s3.put_object(
        Bucket=REPORT_BUCKET,
        Key="inventory/workspaces.json",
        Body=json.dumps({"workspaces": [workspace_entry("network", "prod")]}),
    )
    monkeypatch.delenv("WORKSPACES_JSON", raising=False)
    monkeypatch.setenv("INVENTORY_S3_URI", f"s3://{REPORT_BUCKET}/inventory/workspaces.json")
    summary = states.finish(states.start({"run_id": RUN_ID}))
    assert summary["inventory"] == f"s3://{REPORT_BUCKET}/inventory/workspaces.json"
    assert summary["totals"]["by_status"]["clean"] == 1


def test_a_clean_run_sends_nothing_and_measures_zeros(
    states: States, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    inventory(monkeypatch, MIXED[:3])
    capsys.readouterr()
    summary = states.finish(states.start({"run_id": RUN_ID}))
    assert states.alerts() == []
    assert summary["alerts"] == []
    assert metric_values(capsys.readouterr().out) == {
        "WorkspacesChecked": 3,
        "WorkspacesDrifted": 0,
        "CriticalDrift": 0,
        "DetectionErrors": 0,
        "WorkspacesSkipped": 0,
        "WorkspacesTimedOut": 0,
        "ThrottleRetries": 0,
        "RunDurationSeconds": summary["duration_seconds"],
    }


def test_one_critical_alert_per_run_however_many_workspaces(states: States, monkeypatch: pytest.MonkeyPatch) -> None:
    inventory(monkeypatch, [workspace_entry(f"critical-{i}", "prod") for i in range(12)])
    summary = states.finish(states.start({"run_id": RUN_ID}))
    assert summary["totals"]["by_severity"]["critical"] == 12
    assert kinds(states) == ["critical_drift"]


def test_a_retried_summarize_step_sends_no_second_alert(states: States, monkeypatch: pytest.MonkeyPatch) -> None:
    inventory(monkeypatch, [workspace_entry("critical-iam", "prod")])
    answer = states.start({"run_id": RUN_ID})
    first = states.finish(answer)
    assert kinds(states) == ["critical_drift"]
    [payload] = [event for name, event in states.lambdas.invocations if name == SUMMARIZE]

    again = summarize.handler(payload, FakeContext())

    assert again["summary_key"] == first["summary_key"]
    assert states.alerts() == []


def test_an_alert_that_cannot_be_sent_is_recorded(states: States, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SNS_TOPIC_ARN", "arn:aws:sns:us-east-1:123456789012:deleted-topic")
    inventory(monkeypatch, [workspace_entry("critical-data", "prod")])
    summary = states.finish(states.start({"run_id": RUN_ID}))
    [alert] = summary["alerts"]
    assert alert["kind"] == "critical_drift"
    assert alert["message_id"] is None
    assert alert["error"]
    [run_error] = summary["errors"]
    assert run_error["scope"] == "run"
    assert run_error["message"].startswith("the critical_drift alert could not be published")


def test_a_bad_inventory_fails_a_scheduled_run_loudly(
    states: States, monkeypatch: pytest.MonkeyPatch, logs: Logs
) -> None:
    inventory(monkeypatch, [workspace_entry("network", "prod"), workspace_entry("network", "prod")])
    with pytest.raises(InventoryError, match=r"workspace #2 \('network'\): repeats"):
        orchestrator.handler(SCHEDULED_EVENT, FakeContext())
    assert states.sfn.list_executions(stateMachineArn=states.state_machine_arn)["executions"] == []
    [message] = states.alerts()
    assert message["MessageAttributes"]["kind"]["Value"] == "run_errors"
    assert message["Subject"] == f"[drift-detection] Run {SCHEDULED_EVENT['id']} failed before checking any workspace"
    [failure] = [line for line in logs.lines() if line["message"] == "run failed to start"]
    assert failure["run_id"] == SCHEDULED_EVENT["id"]


def test_a_bad_manual_request_fails_without_alerting(states: States, monkeypatch: pytest.MonkeyPatch) -> None:
    inventory(monkeypatch, MIXED)
    with pytest.raises(EventError, match="unknown workspace 'netwrok'"):
        orchestrator.handler({"workspaces": ["netwrok"]}, FakeContext())
    with pytest.raises(EventError, match="unknown key 'workspace'"):
        orchestrator.handler({"workspace": ["network"]}, FakeContext())
    assert states.alerts() == []
    assert states.sfn.list_executions(stateMachineArn=states.state_machine_arn)["executions"] == []


def test_a_misconfigured_function_names_the_variables(
    states: States, monkeypatch: pytest.MonkeyPatch, logs: Logs
) -> None:
    monkeypatch.delenv("STATE_MACHINE_ARN")
    monkeypatch.setenv("MAX_CONCURRENCY_PER_ACCOUNT", "0")
    inventory(monkeypatch, [])
    with pytest.raises(ConfigError) as caught:
        orchestrator.handler({"run_id": RUN_ID}, FakeContext())
    assert "STATE_MACHINE_ARN is not set" in str(caught.value)
    assert "MAX_CONCURRENCY_PER_ACCOUNT '0'" in str(caught.value)
    assert all(line["run_id"] == RUN_ID for line in logs.lines())


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        ({}, "has no `run`"),
        ({"run": {}, "execution_arn": "arn"}, "has no `run_key`"),
        ({"run": {"run_key": "executions/x/run.json", "summary_key": "runs/x.json"}}, "has no `execution_arn`"),
        (
            {"run": {"run_key": "executions/missing/run.json", "summary_key": "runs/x.json"}, "execution_arn": "arn"},
            "the run's manifest s3://",
        ),
    ],
)
def test_the_summarize_step_refuses_input_that_is_not_a_run(
    states: States, payload: dict[str, Any], expected: str
) -> None:
    with pytest.raises(SummarizeError, match=expected):
        summarize.handler(payload, FakeContext())


def test_a_map_that_failed_as_a_whole_still_reports_every_workspace(
    states: States, monkeypatch: pytest.MonkeyPatch
) -> None:
    inventory(monkeypatch, MIXED[:2])
    answer = states.start({"run_id": RUN_ID})
    wait_for(states.sfn, answer["execution_arn"])
    [payload] = [event for name, event in states.lambdas.invocations if name == SUMMARIZE]
    states.s3.delete_object(Bucket=REPORT_BUCKET, Key=f"runs/{INVOKED_DAY}/{RUN_ID}.json")
    states.alerts()
    run = dict(payload["run"])
    run.pop("map_result")
    run["map_failure"] = {"Error": "States.ItemReaderFailed", "Cause": "access denied"}

    summary = summarize.handler({**payload, "run": run}, FakeContext())

    assert summary["totals"]["by_status"]["error"] == 2
    stored = json.loads(
        states.s3.get_object(Bucket=REPORT_BUCKET, Key=f"runs/{INVOKED_DAY}/{RUN_ID}.json")["Body"].read()
    )
    assert [w["error"] for w in stored["workspaces"]] == ["the run's map failed before checking it"] * 2
    assert any("States.ItemReaderFailed" in e["message"] for e in stored["errors"] if e["scope"] == "run")
    assert kinds(states) == ["run_errors"]
