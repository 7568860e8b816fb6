"""The orchestrator's side of one check: the worker's event, and its answers sorted."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime
from typing import Any

import pytest

from drift_orchestrator.checks import (
    Completed,
    Final,
    SeverityCounts,
    classify_function_error,
    clip,
    parse_worker_response,
    worker_event,
)
from drift_orchestrator.execution import plan_run
from drift_orchestrator.inventory import Workspace, parse_inventory
from drift_orchestrator.lanes import Limits
from tests.support import SECRET, workspace_entry

RUN_ID = "run-2026-11-27T06"
STARTED = "2026-11-27T06:00:00.000Z"


def workspaces(*entries: dict[str, Any]) -> list[Workspace]:
    return parse_inventory(json.dumps(list(entries)), "test")


def network() -> Workspace:
    [workspace] = workspaces(workspace_entry("network", "prod"))
    return workspace


def plan(selection: list[Workspace], mode: str | None = None, run_id: str = RUN_ID) -> Any:
    return plan_run(
        selection=selection,
        limits=Limits(max_concurrency=4, per_account=2, per_region=2),
        estimates={},
        run_id=run_id,
        trigger="manual",
        started_at=STARTED,
        run_started_at=STARTED,
        reference_time=datetime(2026, 11, 27, 6, tzinfo=UTC),
        mode=mode,
        filters={"environments": None, "workspaces": None, "accounts": None},
        inventory="test",
        summary_key=f"runs/2026/11/27/{RUN_ID}.json",
    )


def test_the_worker_event_follows_the_contract() -> None:
    [blue, sandbox] = workspaces(
        workspace_entry(
            "network", "prod", terraform_workspace="blue", lock_timeout="5m", parallelism=4, runner="codebuild"
        ),
        {
            "name": "sandbox",
            "environment": "dev",
            "account_id": "333333333333",
            "region": "eu-west-1",
            "source": "s3://tf-bundles/dev/sandbox.zip",
            "mode": "plan",
        },
    )
    assert worker_event(blue, run_id=RUN_ID, run_started_at=STARTED, mode=None) == {
        "run_id": RUN_ID,
        "run_started_at": STARTED,
        "workspace": "network",
        "environment": "prod",
        "account_id": "111111111111",
        "region": "us-east-1",
        "role_arn": "arn:aws:iam::111111111111:role/drift-detection-read",
        "external_id": SECRET,
        "source": "s3://tf-bundles/prod/network.zip",
        "backend_config": {"bucket": "tf-state", "key": "prod/network.tfstate"},
        "mode": "plan",
        "notify": False,
        "terraform_workspace": "blue",
        "lock_timeout": "5m",
        # `runner` picks the lane; the event is the same on both.
        "parallelism": 4,
    }
    assert worker_event(sandbox, run_id=RUN_ID, run_started_at=STARTED, mode="refresh-only")["mode"] == "refresh-only"


def test_an_event_that_breaks_the_contract_is_refused_before_the_start() -> None:
    good = network()
    # A workspace that never went through the loader (an orchestrator bug):
    # Python's `$` would have let its region through.
    broken = dataclasses.replace(good, name="app", region="us-east-1\n")
    planned = plan([broken, good])
    assert [c["event"]["workspace"] for lane in planned.items for c in lane["workspaces"]] == ["network"]
    assert planned.manifest["rejected"] == [
        {
            "key": "prod/app",
            "error": "orchestrator failure: the worker event breaks schemas/worker-event.v1.json: "
            "`region` must match ^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-[0-9]{1,2}$",
        }
    ]
    assert [w["lane"] for w in planned.manifest["workspaces"]] == [None, 0]


def test_a_run_mode_the_contract_forbids_refuses_every_workspace_without_a_secret() -> None:
    planned = plan(workspaces(workspace_entry("network", "prod"), workspace_entry("app", "prod")), mode="apply")
    assert planned.items == []
    assert len(planned.manifest["rejected"]) == 2
    for rejected in planned.manifest["rejected"]:
        assert "`mode` must be one of plan, refresh-only, both" in rejected["error"]
        assert SECRET not in rejected["error"]
    assert SECRET not in json.dumps(planned.manifest)


def completed(**replace: Any) -> dict[str, Any]:
    key = f"drift-reports/prod/network/2026/11/27/{RUN_ID}.json"
    answer: dict[str, Any] = {
        "run_id": RUN_ID,
        "workspace": "network",
        "environment": "prod",
        "status": "drift",
        "report_key": key,
        "report_uri": f"s3://drift-reports-test/{key}",
        "summary": {"by_severity": {"critical": 2, "high": 1, "medium": 0, "low": 0}},
        "duration_seconds": 12.5,
    }
    answer.update(replace)
    return answer


def test_a_completed_check_is_read() -> None:
    verdict = parse_worker_response(completed(), network(), RUN_ID)
    assert verdict == Completed(
        status="drift",
        report_key=f"drift-reports/prod/network/2026/11/27/{RUN_ID}.json",
        report_uri=f"s3://drift-reports-test/drift-reports/prod/network/2026/11/27/{RUN_ID}.json",
        by_severity=SeverityCounts(critical=2, high=1),
    )


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ([], "breaks the contract: not a JSON object"),
        (completed(run_id="other"), f"`run_id` is 'other', expected '{RUN_ID}'"),
        (completed(workspace="app"), "`workspace` is 'app', expected 'network'"),
        (completed(status="error"), "`status` 'error' is not one of clean, drift, pending_changes"),
        (completed(report_key=None), "`report_key` is missing"),
        (completed(summary={}), "`summary.by_severity` is missing"),
        (
            completed(summary={"by_severity": {"critical": -1, "high": 0, "medium": 0, "low": 0}}),
            "`summary.by_severity.critical` is not a count",
        ),
    ],
)
def test_an_answer_off_contract_is_an_error_that_names_the_fault(answer: object, expected: str) -> None:
    verdict = parse_worker_response(answer, network(), RUN_ID)
    assert isinstance(verdict, Final)
    assert verdict.status == "error"
    assert expected in verdict.message


@pytest.mark.parametrize(
    ("error_type", "message", "status", "report_key"),
    [
        (
            "DriftCheckFailed",
            f"terraform init failed; report drift-reports/prod/d/2026/11/27/{RUN_ID}.json",
            "error",
            f"drift-reports/prod/d/2026/11/27/{RUN_ID}.json",
        ),
        ("DriftCheckTimedOut", "terraform plan passed its 240 s budget", "timeout", None),
        ("Sandbox.Timedout", "Task timed out after 100.00 seconds", "timeout", None),
        ("InvalidEvent", "invalid worker event: `region` 'mars' is not an AWS region", "error", None),
        ("Runtime.ExitError", "signal: killed", "error", None),
    ],
)
def test_each_worker_error_gets_its_final_status(
    error_type: str, message: str, status: str, report_key: str | None
) -> None:
    verdict = classify_function_error({"errorType": error_type, "errorMessage": message})
    assert (verdict.status, verdict.report_key) == (status, report_key)
    assert message in verdict.message


def test_a_secret_echoed_by_the_worker_is_redacted() -> None:
    assert clip(f"AssumeRole refused for external id {SECRET}", network()) == (
        "AssumeRole refused for external id [redacted]"
    )


def test_a_lane_too_large_for_a_map_item_is_split_and_said() -> None:
    entries = [
        workspace_entry(f"ws-{i:04d}", "prod", backend_config={"bucket": "tf-state", "key": "k" * 900})
        for i in range(400)
    ]
    planned = plan_run(
        selection=workspaces(*entries),
        limits=Limits(max_concurrency=4, per_account=1, per_region=1),
        estimates={},
        run_id=RUN_ID,
        trigger="manual",
        started_at=STARTED,
        run_started_at=STARTED,
        reference_time=datetime(2026, 11, 27, 6, tzinfo=UTC),
        mode=None,
        filters={"environments": None, "workspaces": None, "accounts": None},
        inventory="test",
        summary_key=f"runs/2026/11/27/{RUN_ID}.json",
    )
    assert len(planned.items) > 1
    assert all(len(json.dumps(item)) < 256 * 1024 for item in planned.items)
    assert sorted(c["key"] for item in planned.items for c in item["workspaces"]) == sorted(
        f"prod/ws-{i:04d}" for i in range(400)
    )
    [error] = planned.manifest["errors"]
    assert error.startswith("account 111111111111: a lane of 400 workspaces is larger than a map item may be")
    assert {w["lane"] for w in planned.manifest["workspaces"]} == set(range(len(planned.items)))
