"""The map's result files, as AWS documents them, read back into one result per workspace.

These cover what moto cannot produce: CodeBuild checks (moto 5.2.5 cannot
run ``codebuild:startBuild.sync``), child executions that failed with their
lane, retries used up, result files that cannot be read.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from drift_orchestrator.checks import WorkspaceResult
from drift_orchestrator.execution import ManifestWorkspace, RunManifest
from drift_orchestrator.finish import merge_durations
from drift_orchestrator.inventory import Workspace
from drift_orchestrator.results import collect, external_ids
from tests.conftest import Aws
from tests.support import REPORT_BUCKET, SECRET

RUN_ID = "run-1"
PREFIX = f"executions/2026/11/27/{RUN_ID}"
MAP_RUN = "arn:aws:states:us-east-1:123456789012:mapRun:drift-detection-runs-test/run-1:4f1c"


def manifest(*names: str, runner: str = "lambda") -> RunManifest:
    return RunManifest(
        run_id=RUN_ID,
        trigger="manual",
        started_at="2026-11-27T06:00:00.000Z",
        run_started_at="2026-11-27T06:00:00.000Z",
        mode=None,
        filters={"environments": None, "workspaces": None, "accounts": None},
        inventory="test",
        summary_key=f"runs/2026/11/27/{RUN_ID}.json",
        items_key=f"{PREFIX}/items.json",
        limits={"max_concurrency": 4, "per_account": 2, "per_region": 2},
        workspaces=[
            ManifestWorkspace(
                key=f"prod/{name}",
                name=name,
                environment="prod",
                account_id="111111111111",
                region="us-east-1",
                runner="codebuild" if runner == "codebuild" else "lambda",
                lane=0,
            )
            for name in names
        ],
        rejected=[],
        errors=[],
    )


def response(name: str, status: str = "clean", critical: int = 0) -> dict[str, Any]:
    key = f"drift-reports/prod/{name}/2026/11/27/{RUN_ID}.json"
    return {
        "run_id": RUN_ID,
        "workspace": name,
        "environment": "prod",
        "status": status,
        "report_key": key,
        "report_uri": f"s3://{REPORT_BUCKET}/{key}",
        "summary": {"by_severity": {"critical": critical, "high": 0, "medium": 0, "low": 0}},
        "duration_seconds": 700.0,
    }


def write_results(
    aws: Aws, succeeded: list[list[dict[str, Any]]], failed: tuple[list[str], ...] | list[list[str]] = ()
) -> dict[str, Any]:
    """ResultWriter's files for lanes that succeeded (their outputs) or failed (their keys)."""
    files: dict[str, list[dict[str, Any]]] = {"FAILED": [], "PENDING": [], "SUCCEEDED": []}
    base = {"StartDate": "2026-11-27T06:00:01.000Z", "StopDate": "2026-11-27T06:12:00.000Z", "RedriveCount": 0}
    records = {
        "SUCCEEDED": [
            {**base, "ExecutionArn": f"{MAP_RUN}:{i}", "Status": "SUCCEEDED", "Output": json.dumps(output)}
            for i, output in enumerate(succeeded)
        ],
        "FAILED": [
            {
                **base,
                "ExecutionArn": f"{MAP_RUN}:f{i}",
                "Status": "FAILED",
                "Input": json.dumps({"lane": i, "workspaces": [{"key": key} for key in keys]}),
                "Error": "States.Runtime",
                "Cause": "the child execution failed",
            }
            for i, keys in enumerate(failed)
        ],
    }
    for status, entries in records.items():
        if entries:
            key = f"executions/results/4f1c/{status}_0.json"
            aws.s3.put_object(Bucket=REPORT_BUCKET, Key=key, Body=json.dumps(entries))
            files[status].append({"Key": key, "Size": 1})
    aws.s3.put_object(
        Bucket=REPORT_BUCKET,
        Key="executions/results/4f1c/manifest.json",
        Body=json.dumps({"DestinationBucket": REPORT_BUCKET, "MapRunArn": MAP_RUN, "ResultFiles": files}),
    )
    return {
        "MapRunArn": MAP_RUN,
        "ResultWriterDetails": {"Bucket": REPORT_BUCKET, "Key": "executions/results/4f1c/manifest.json"},
    }


def codebuild_entry(name: str, failure: dict[str, str] | None = None) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "key": f"prod/{name}",
        "runner": "codebuild",
        "response_key": f"{PREFIX}/responses/{name}.json",
        "finished_at": "2026-11-27T06:11:40.000Z",
    }
    if failure is None:
        entry["outcome"] = {
            "build_id": f"drift-detection-large-checks-test:{name}",
            "build_status": "SUCCEEDED",
            "retries": 0,
            "started_at": "2026-11-27T06:00:00.000Z",
        }
    else:
        entry["failure"] = failure
        entry["retry_max_attempts"] = 6
    return entry


def test_a_codebuild_check_is_read_from_the_response_its_build_uploaded(aws: Aws) -> None:
    aws.s3.put_object(
        Bucket=REPORT_BUCKET, Key=f"{PREFIX}/responses/monolith.json", Body=json.dumps(response("monolith", "drift", 2))
    )
    details = write_results(aws, [[codebuild_entry("monolith")]])
    [result] = collect(aws.s3, REPORT_BUCKET, manifest("monolith", runner="codebuild"), details, None, {}).results
    assert (result.status, result.runner, result.by_severity.critical) == ("drift", "codebuild", 2)
    assert result.duration_seconds == 700.0


def test_a_failed_build_reports_the_workers_own_error_when_it_left_one(aws: Aws) -> None:
    aws.s3.put_object(
        Bucket=REPORT_BUCKET,
        Key=f"{PREFIX}/responses/monolith.json",
        Body=json.dumps({"errorType": "DriftCheckTimedOut", "errorMessage": "terraform plan passed its budget"}),
    )
    failure = {"Error": "States.TaskFailed", "Cause": '{"Build": {"BuildStatus": "FAILED"}}'}
    details = write_results(aws, [[codebuild_entry("monolith", failure)]])
    [result] = collect(aws.s3, REPORT_BUCKET, manifest("monolith", runner="codebuild"), details, None, {}).results
    assert (result.status, result.error) == ("timeout", "terraform plan passed its budget")


def test_a_failed_build_without_a_response_reports_the_step_functions_error(aws: Aws) -> None:
    failure = {"Error": "States.TaskFailed", "Cause": "CodeBuild build failed: image pull"}
    details = write_results(aws, [[codebuild_entry("monolith", failure)]])
    [result] = collect(aws.s3, REPORT_BUCKET, manifest("monolith", runner="codebuild"), details, None, {}).results
    assert result.status == "error"
    assert result.error == "States.TaskFailed: CodeBuild build failed: image pull"


def test_retries_used_up_on_throttling_are_counted(aws: Aws) -> None:
    entry = {
        "key": "prod/network",
        "runner": "lambda",
        "response_key": f"{PREFIX}/responses/network.json",
        "failure": {"Error": "Lambda.TooManyRequestsException", "Cause": "Rate exceeded"},
        "retry_max_attempts": 6,
        "finished_at": "2026-11-27T06:03:00.000Z",
    }
    collected = collect(aws.s3, REPORT_BUCKET, manifest("network"), write_results(aws, [[entry]]), None, {})
    [result] = collected.results
    assert (result.status, result.attempts) == ("error", 6)
    assert result.error == "gave up after 6 attempts; last error: Lambda.TooManyRequestsException: Rate exceeded"
    assert collected.throttle_retries == 5


def test_a_worker_error_caught_by_the_state_machine_keeps_the_workers_verdict_without_the_secret(aws: Aws) -> None:
    cause = json.dumps({"errorType": "DriftCheckFailed", "errorMessage": f"AssumeRole refused for {SECRET}"})
    entry = {
        "key": "prod/network",
        "runner": "lambda",
        "response_key": f"{PREFIX}/responses/network.json",
        "failure": {"Error": "DriftCheckFailed", "Cause": cause},
        "retry_max_attempts": 6,
        "finished_at": "2026-11-27T06:03:00.000Z",
    }
    items = [
        {
            "workspaces": [
                {"key": "prod/network", "event": {"external_id": SECRET}},
                {"key": "prod/monolith", "event_key": f"{PREFIX}/events/m.json"},
            ]
        }
    ]
    secrets = external_ids(items, {f"{PREFIX}/events/m.json": {"external_id": "other-secret"}}.get)
    assert secrets == {"prod/network": SECRET, "prod/monolith": "other-secret"}
    [result] = collect(aws.s3, REPORT_BUCKET, manifest("network"), write_results(aws, [[entry]]), None, secrets).results
    assert (result.status, result.error) == ("error", "AssumeRole refused for [redacted]")


def test_the_workspaces_of_a_failed_lane_are_reported_with_its_error(aws: Aws) -> None:
    ok = {
        "key": "prod/network",
        "runner": "lambda",
        "response_key": "x",
        "outcome": {"response": response("network"), "retries": 0, "started_at": "2026-11-27T06:00:00.000Z"},
        "finished_at": "2026-11-27T06:01:30.000Z",
    }
    details = write_results(aws, [[ok]], failed=[["prod/data", "prod/iam"]])
    collected = collect(aws.s3, REPORT_BUCKET, manifest("network", "data", "iam", "queue"), details, None, {})
    assert [(r.workspace.name, r.status) for r in collected.results] == [
        ("network", "clean"),
        ("data", "error"),
        ("iam", "error"),
        ("queue", "error"),
    ]
    assert collected.results[0].duration_seconds == 90.0
    assert collected.results[1].error == (
        "its lane failed: its execution ended FAILED: States.Runtime the child execution failed"
    )
    assert collected.results[3].error == "the state machine recorded no result"


def test_an_unreadable_result_file_is_a_run_error_not_a_crash(aws: Aws) -> None:
    aws.s3.put_object(
        Bucket=REPORT_BUCKET,
        Key="executions/results/4f1c/manifest.json",
        Body=json.dumps({"ResultFiles": {"SUCCEEDED": [{"Key": "executions/results/4f1c/SUCCEEDED_0.json"}]}}),
    )
    details = {"ResultWriterDetails": {"Bucket": REPORT_BUCKET, "Key": "executions/results/4f1c/manifest.json"}}
    collected = collect(aws.s3, REPORT_BUCKET, manifest("network"), details, None, {})
    [result] = collected.results
    assert result.status == "error"
    [problem] = collected.errors
    assert problem.startswith(f"the result file s3://{REPORT_BUCKET}/executions/results/4f1c/SUCCEEDED_0.json")


def test_durations_are_merged_and_those_not_measured_for_30_days_forgotten() -> None:
    stored = {
        "durations": {"prod/old": 50.0, "prod/recent": 60.0, "prod/network": 10.0, "prod/bad": "x"},
        "measured_on": {"prod/old": "2026-10-27", "prod/recent": "2026-10-28", "prod/network": "2026-11-20"},
    }
    network = Workspace(name="network", environment="prod", account_id="1", region="us-east-1", source="")
    data = Workspace(name="data", environment="prod", account_id="1", region="us-east-1", source="")
    results = [
        WorkspaceResult(workspace=network, status="clean", duration_seconds=95.5),
        WorkspaceResult(workspace=data, status="skipped"),
    ]
    merged = merge_durations(stored, results, date(2026, 11, 27))
    assert merged == {
        "durations": {"prod/recent": 60.0, "prod/network": 95.5},
        "measured_on": {"prod/recent": "2026-10-28", "prod/network": "2026-11-27"},
    }
    assert merge_durations(None, [], date(2026, 11, 27)) == {"durations": {}, "measured_on": {}}


def test_a_worker_crash_retried_once_counts_its_two_attempts(aws: Aws) -> None:
    cause = json.dumps({"errorType": "ReportNotStored", "errorMessage": "S3 answered 503 twice"})
    entry = {
        "key": "prod/network",
        "runner": "lambda",
        "response_key": f"{PREFIX}/responses/network.json",
        "failure": {"Error": "ReportNotStored", "Cause": cause},
        "retry_max_attempts": 6,
        "finished_at": "2026-11-27T06:03:00.000Z",
    }
    [result] = collect(aws.s3, REPORT_BUCKET, manifest("network"), write_results(aws, [[entry]]), None, {}).results
    assert (result.status, result.attempts) == ("error", 2)
    assert result.error == "worker failed: ReportNotStored: S3 answered 503 twice"
