"""The stack's state machine, run by moto: orchestrator → Distributed Map → worker → summarize.

The definition is the stack's own (``modules/state-machine/definition.asl.json``
rendered like ``templatefile()``); the orchestrator and summarize handlers are
the real ones; the worker is scripted per workspace (the real worker runs in
the end-to-end suite). See :mod:`tests.local_states` for what stands in for
the parts moto lacks.
"""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

import pytest

from tests.local_states import SCHEDULED_EVENT, SUFFIX, SUMMARIZE, WORKER, States, wait_for
from tests.support import REPORT_BUCKET, SECRET, workspace_entry


def inventory(monkeypatch: pytest.MonkeyPatch, entries: list[dict[str, Any]]) -> None:
    monkeypatch.setenv("WORKSPACES_JSON", json.dumps(entries))


def by_name(summary: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {w["name"]: w for w in summary["workspaces"]}


def test_a_scheduled_run_checks_every_workspace_through_the_map_and_summarizes_once(
    states: States, monkeypatch: pytest.MonkeyPatch
) -> None:
    entries = [
        workspace_entry("network", "prod"),
        workspace_entry("critical-iam", "prod"),
        workspace_entry("throttled", "prod", region="eu-west-1"),
        workspace_entry("fails-init", "staging", account_id="222222222222"),
        workspace_entry("slow-data", "staging", account_id="222222222222"),
        workspace_entry("billing", "dev", account_id="222222222222", region="eu-west-1"),
        workspace_entry("flaky-report", "dev", account_id="222222222222", region="eu-west-1"),
    ]
    inventory(monkeypatch, entries)
    states.worker.throttles_left["throttled"] = 2
    states.worker.throttles_left["crash:flaky-report"] = 1

    answer = states.start(SCHEDULED_EVENT)

    assert answer["status"] == "started"
    assert answer["run_id"] == SCHEDULED_EVENT["id"]
    assert answer["execution_arn"].endswith(f":execution:drift-detection-runs-{SUFFIX}:{SCHEDULED_EVENT['id']}")
    assert answer["summary_uri"] == f"s3://{REPORT_BUCKET}/runs/2026/11/27/{SCHEDULED_EVENT['id']}.json"
    assert answer["workspaces"] == 7
    summary = states.finish(answer)

    workspaces = by_name(summary)
    assert [w["name"] for w in summary["workspaces"]] == [e["name"] for e in entries]
    assert {name: w["status"] for name, w in workspaces.items()} == {
        "network": "clean",
        "critical-iam": "drift",
        "throttled": "clean",
        "fails-init": "error",
        "slow-data": "timeout",
        "billing": "clean",
        "flaky-report": "clean",
    }
    # Two throttles, retried by the state machine's Retry, then a clean check.
    assert workspaces["throttled"]["attempts"] == 3
    # A worker that could not store its report is retried once.
    assert workspaces["flaky-report"]["attempts"] == 2
    assert summary["throttle_retries"] == 3
    assert workspaces["network"]["duration_seconds"] >= 0
    assert workspaces["critical-iam"]["by_severity"]["critical"] == 1
    assert "[redacted]" in workspaces["fails-init"]["error"]
    assert SECRET not in json.dumps(summary)
    assert summary["execution"]["arn"] == answer["execution_arn"]
    assert summary["limits"] == {"max_concurrency": 40, "per_account": 2, "per_region": 1}
    assert summary["suggestions"] == [
        {
            "workspace": "slow-data",
            "environment": "staging",
            "runner": "codebuild",
            "reason": summary["suggestions"][0]["reason"],
        }
    ]
    assert summary["totals"]["by_status"]["skipped"] == 0

    # Every workspace was invoked; the summarize step once.
    invoked = [str(event.get("workspace")) for name, event in states.lambdas.invocations if name == WORKER]
    assert sorted(set(invoked)) == sorted(e["name"] for e in entries)
    assert invoked.count("throttled") == 3
    assert [name for name, _ in states.lambdas.invocations].count(SUMMARIZE) == 1

    # One critical-drift and one error alert, for the whole run.
    kinds = sorted(a["MessageAttributes"]["kind"]["Value"] for a in states.alerts())
    assert kinds == ["critical_drift", "run_errors"]

    # The lanes respect the caps: at most 2 lanes per account, and one
    # region's workspaces in at most 1 lane.
    run_prefix = f"executions/2026/11/27/{SCHEDULED_EVENT['id']}"
    items = json.loads(states.s3.get_object(Bucket=REPORT_BUCKET, Key=f"{run_prefix}/items.json")["Body"].read())
    lanes_per_account: dict[str, int] = defaultdict(int)
    lanes_per_region: dict[tuple[str, str], set[int]] = defaultdict(set)
    for lane in items:
        lanes_per_account[lane["account_id"]] += 1
        for check in lane["workspaces"]:
            lanes_per_region[(check["event"]["account_id"], check["event"]["region"])].add(lane["lane"])
    assert max(lanes_per_account.values()) <= 2
    assert all(len(lanes) == 1 for lanes in lanes_per_region.values())
    assert all(count <= 2 for count in states.worker.most_in_flight.values())
    # The manifest the summarize step read holds no secret.
    manifest = states.s3.get_object(Bucket=REPORT_BUCKET, Key=f"{run_prefix}/run.json")["Body"].read().decode()
    assert SECRET not in manifest


def test_a_retried_delivery_starts_nothing(states: States, monkeypatch: pytest.MonkeyPatch) -> None:
    inventory(monkeypatch, [workspace_entry("network", "prod")])
    first = states.start(SCHEDULED_EVENT)
    states.finish(first)

    again = states.start(SCHEDULED_EVENT)

    assert again["status"] == "already_started"
    assert again["execution_arn"] == first["execution_arn"]
    executions = states.sfn.list_executions(stateMachineArn=states.state_machine_arn)["executions"]
    assert len(executions) == 1
    assert [name for name, _ in states.lambdas.invocations].count(WORKER) == 1


def test_an_empty_selection_takes_the_same_path(states: States, monkeypatch: pytest.MonkeyPatch) -> None:
    inventory(monkeypatch, [])
    summary = states.finish(states.start({"run_id": "empty-run"}))
    assert summary["workspaces"] == []
    assert summary["totals"]["workspaces"] == 0
    assert states.alerts() == []


def test_a_workspace_routed_to_codebuild_never_goes_to_the_lambda_worker(
    states: States, monkeypatch: pytest.MonkeyPatch
) -> None:
    inventory(
        monkeypatch,
        [
            workspace_entry("network", "prod"),
            workspace_entry("monolith", "prod", account_id="333333333333", runner="codebuild"),
        ],
    )
    summary = states.finish(states.start({"run_id": "codebuild-run"}))

    invoked = {event.get("workspace") for name, event in states.lambdas.invocations if name == WORKER}
    assert invoked == {"network"}
    monolith = by_name(summary)["monolith"]
    assert monolith["runner"] == "codebuild"
    # moto 5.2.5 cannot run `codebuild:startBuild.sync` (its parser refuses
    # .sync for CodeBuild), so the lane fails there; the run still reports it.
    assert monolith["status"] == "error"
    assert by_name(summary)["network"]["status"] == "clean"
    # The build reads its event from S3 by key: the external id is in no
    # build environment, and in the items only for the Lambda checks.
    items = [
        check
        for key in (o["Key"] for o in states.s3.list_objects_v2(Bucket=REPORT_BUCKET)["Contents"])
        if key.endswith("/items.json")
        for lane in json.loads(states.s3.get_object(Bucket=REPORT_BUCKET, Key=key)["Body"].read())
        for check in lane["workspaces"]
    ]
    [codebuild] = [check for check in items if check["runner"] == "codebuild"]
    assert "event" not in codebuild
    assert codebuild["event_key"].endswith(".json")
    event = json.loads(states.s3.get_object(Bucket=REPORT_BUCKET, Key=codebuild["event_key"])["Body"].read())
    assert (event["workspace"], event["external_id"]) == ("monolith", SECRET)


def test_the_map_reads_its_concurrency_from_the_execution_input(
    states: States, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MAX_CONCURRENCY", "3")
    inventory(monkeypatch, [workspace_entry(f"ws-{i}", "prod", account_id=f"{i:012d}") for i in range(1, 6)])
    answer = states.start({"run_id": "concurrency-run"})
    described = wait_for(states.sfn, answer["execution_arn"])
    assert json.loads(described["input"])["max_concurrency"] == 3
    definition = json.loads(states.sfn.describe_state_machine(stateMachineArn=states.state_machine_arn)["definition"])
    check_lanes = definition["States"]["CheckLanes"]
    assert check_lanes["MaxConcurrencyPath"] == "$.max_concurrency"
    assert check_lanes["ToleratedFailurePercentage"] == 100
    assert check_lanes["ItemProcessor"]["ProcessorConfig"] == {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"}
