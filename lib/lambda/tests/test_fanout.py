"""The fan-out: the worker contract, retries, backoff, the deadline budget."""

from __future__ import annotations

import dataclasses
import io
import json
import random
import threading
import time
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from botocore.compat import HTTPHeaders
from botocore.response import StreamingBody

from drift_orchestrator.fanout import (
    FINALIZE_RESERVE_SECONDS,
    INVOKE_MARGIN_SECONDS,
    Budget,
    Fanout,
    RetryPolicy,
    SeverityCounts,
)
from drift_orchestrator.inventory import Workspace, parse_inventory
from tests.support import SECRET, WORKER_ARN, FakeClock, ScriptedWorker, UpperBoundRng
from tests.support import workspace_entry as entry

if TYPE_CHECKING:
    from mypy_boto3_lambda import LambdaClient

RUN_ID = "run-2026-11-27T06"
STARTED = "2026-11-27T06:00:00.000Z"
WORKER_TIMEOUT = 100.0
NEEDED = WORKER_TIMEOUT + INVOKE_MARGIN_SECONDS + FINALIZE_RESERVE_SECONDS


def workspaces(*entries: dict[str, Any]) -> list[Workspace]:
    return parse_inventory(json.dumps(list(entries)), "test")


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def client() -> LambdaClient:
    return boto3.client("lambda", region_name="us-east-1")


def fanout(
    client: LambdaClient,
    clock: FakeClock,
    seconds_left: float = 3600.0,
    rng: Any = None,
    **kwargs: Any,
) -> Fanout:
    return Fanout(
        lambda_client=client,
        function_name=WORKER_ARN,
        run_id=RUN_ID,
        run_started_at=STARTED,
        budget=Budget(
            deadline=clock.now + seconds_left,
            worker_timeout_seconds=WORKER_TIMEOUT,
            clock=clock,
        ),
        sleep=clock.sleep,
        rng=rng or random.Random(7),
        **kwargs,
    )


def test_the_worker_event_follows_the_contract(client: LambdaClient, clock: FakeClock) -> None:
    worker = ScriptedWorker(client)
    [network, sandbox] = workspaces(
        entry("network", "prod", terraform_workspace="blue", lock_timeout="5m", parallelism=4, runner="codebuild"),
        {
            "name": "sandbox",
            "environment": "dev",
            "account_id": "333333333333",
            "region": "eu-west-1",
            "source": "s3://tf-bundles/dev/sandbox.zip",
            "mode": "plan",
        },
    )
    worker.completes(RUN_ID, "network", "prod")
    worker.completes(RUN_ID, "sandbox", "dev")
    fanout(client, clock).run([network, sandbox], max_concurrency=1)
    worker.assert_done()
    assert worker.sent == [
        {
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
        },
        {
            "run_id": RUN_ID,
            "run_started_at": STARTED,
            "workspace": "sandbox",
            "environment": "dev",
            "account_id": "333333333333",
            "region": "eu-west-1",
            "role_arn": None,
            "external_id": None,
            "source": "s3://tf-bundles/dev/sandbox.zip",
            "backend_config": {},
            "mode": "plan",
            "notify": False,
        },
    ]


def test_an_event_that_breaks_the_contract_is_an_error_not_an_invocation(
    client: LambdaClient, clock: FakeClock
) -> None:
    worker = ScriptedWorker(client)
    [network] = workspaces(entry("network", "prod"))
    # A workspace that never went through the loader (an orchestrator bug):
    # Python's `$` would have let its region through.
    broken = dataclasses.replace(network, name="app", region="us-east-1\n")
    worker.completes(RUN_ID, "network", "prod")
    [bad, good] = fanout(client, clock).run([broken, network], max_concurrency=1)
    worker.assert_done()
    assert [event["workspace"] for event in worker.sent] == ["network"]
    assert (bad.status, bad.attempts) == ("error", 0)
    assert bad.error == (
        "orchestrator failure: the worker event breaks schemas/worker-event.v1.json: "
        "`region` must match ^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-[0-9]{1,2}$"
    )
    assert good.status == "clean"


def test_a_run_mode_the_contract_forbids_fails_each_workspace_without_a_secret(
    client: LambdaClient, clock: FakeClock
) -> None:
    worker = ScriptedWorker(client)
    results = dataclasses.replace(fanout(client, clock, mode="apply"), run_id="run/1").run(
        workspaces(entry("network", "prod"), entry("app", "prod")), max_concurrency=2
    )
    worker.assert_done()
    assert worker.sent == []
    for result in results:
        assert result.status == "error"
        assert result.error is not None
        assert "`run_id` must match" in result.error
        assert "`mode` must be one of plan, refresh-only, both" in result.error
        assert SECRET not in result.error


def test_the_run_mode_overrides_the_workspace_mode(client: LambdaClient, clock: FakeClock) -> None:
    worker = ScriptedWorker(client)
    worker.completes(RUN_ID, "network", "prod")
    fanout(client, clock, mode="refresh-only").run(workspaces(entry("network", "prod", mode="plan")), 1)
    assert worker.sent[0]["mode"] == "refresh-only"


def test_each_kind_of_answer_is_sorted(client: LambdaClient, clock: FakeClock) -> None:
    worker = ScriptedWorker(client)
    worker.completes(RUN_ID, "a", "prod", "clean")
    worker.completes(RUN_ID, "b", "prod", "drift", critical=2, high=1)
    worker.completes(RUN_ID, "c", "prod", "pending_changes", low=3)
    worker.fails(
        "DriftCheckFailed",
        f"terraform init failed: backend bucket missing; report drift-reports/prod/d/2026/11/27/{RUN_ID}.json",
    )
    worker.fails("DriftCheckTimedOut", "terraform plan passed its 240 s budget")
    worker.fails("Sandbox.Timedout", "Task timed out after 100.00 seconds")
    worker.fails("InvalidEvent", "invalid worker event: `region` 'mars' is not an AWS region")
    inventory = workspaces(*(entry(name, "prod") for name in "abcdefg"))
    results = fanout(client, clock).run(inventory, 1)
    worker.assert_done()
    assert [(r.workspace.name, r.status, r.attempts) for r in results] == [
        ("a", "clean", 1),
        ("b", "drift", 1),
        ("c", "pending_changes", 1),
        ("d", "error", 1),
        ("e", "timeout", 1),
        ("f", "timeout", 1),
        ("g", "error", 1),
    ]
    assert results[1].by_severity == SeverityCounts(critical=2, high=1)
    assert results[1].report_key == f"drift-reports/prod/b/2026/11/27/{RUN_ID}.json"
    assert results[1].report_uri == f"s3://drift-reports-test/{results[1].report_key}"
    assert results[3].report_key == f"drift-reports/prod/d/2026/11/27/{RUN_ID}.json"
    assert results[3].error is not None
    assert results[3].error.startswith("terraform init failed")
    assert results[4].error == "terraform plan passed its 240 s budget"
    assert results[4].report_key is None
    assert results[5].error is not None
    assert "stopped at its Lambda timeout" in results[5].error
    assert clock.sleeps == []


def test_throttling_and_crashes_are_retried(client: LambdaClient, clock: FakeClock) -> None:
    worker = ScriptedWorker(client)
    worker.api_error("TooManyRequestsException")
    worker.completes(RUN_ID, "network", "prod", "drift", high=1)
    worker.fails("Runtime.ExitError", "exit status 101")
    worker.api_error("ServiceException", status=500)
    worker.api_error("ResourceConflictException", status=409)
    worker.completes(RUN_ID, "app", "prod")
    results = fanout(client, clock).run(workspaces(entry("network", "prod"), entry("app", "prod")), 1)
    worker.assert_done()
    assert [(r.status, r.attempts, r.error) for r in results] == [
        ("drift", 2, None),
        ("clean", 4, None),
    ]
    assert len(clock.sleeps) == 4
    ceilings = [1.0, 1.0, 2.0, 4.0]  # first retry of each workspace, then doubling
    assert all(0 <= s <= c for s, c in zip(clock.sleeps, ceilings, strict=True))


def test_backoff_is_exponential_with_full_jitter_and_bounded_attempts(client: LambdaClient, clock: FakeClock) -> None:
    worker = ScriptedWorker(client)
    for _ in range(4):
        worker.api_error("TooManyRequestsException")
    rng = UpperBoundRng()
    [result] = fanout(client, clock, rng=rng).run(workspaces(entry("network", "prod")), 1)
    worker.assert_done()
    assert rng.ranges == [(0.0, 1.0), (0.0, 2.0), (0.0, 4.0)]
    assert clock.sleeps == [1.0, 2.0, 4.0]
    assert result.status == "error"
    assert result.attempts == 4
    assert result.error == (
        "gave up after 4 attempts; last error: Lambda TooManyRequestsException: TooManyRequestsException (scripted)"
    )
    assert result.duration_seconds == 7.0


def test_the_backoff_is_capped(client: LambdaClient, clock: FakeClock) -> None:
    worker = ScriptedWorker(client)
    for _ in range(5):
        worker.api_error("TooManyRequestsException")
    policy = RetryPolicy(max_attempts=5, base_delay_seconds=1.0, max_delay_seconds=3.0)
    fanout(client, clock, rng=UpperBoundRng(), policy=policy).run(workspaces(entry("network", "prod")), 1)
    assert clock.sleeps == [1.0, 2.0, 3.0, 3.0]


@pytest.mark.parametrize(
    ("code", "status"),
    [("ResourceNotFoundException", 404), ("AccessDeniedException", 403)],
)
def test_requests_that_cannot_succeed_are_not_retried(
    client: LambdaClient, clock: FakeClock, code: str, status: int
) -> None:
    worker = ScriptedWorker(client)
    worker.api_error(code, status)
    [result] = fanout(client, clock).run(workspaces(entry("network", "prod")), 1)
    worker.assert_done()
    assert (result.status, result.attempts) == ("error", 1)
    assert result.error == f"Lambda {code}: {code} (scripted)"


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (b"<html>", "breaks the contract: not JSON"),
        (b"[]", "breaks the contract: not a JSON object"),
        (
            json.dumps({"run_id": "other", "workspace": "network", "environment": "prod"}).encode(),
            "`run_id` is 'other', expected 'run-2026-11-27T06'",
        ),
        (
            json.dumps({"run_id": RUN_ID, "workspace": "app", "environment": "prod"}).encode(),
            "`workspace` is 'app', expected 'network'",
        ),
    ],
)
def test_a_malformed_answer_is_an_error_not_a_retry(
    client: LambdaClient, clock: FakeClock, answer: bytes, expected: str
) -> None:
    worker = ScriptedWorker(client)
    worker.raw(answer)
    [result] = fanout(client, clock).run(workspaces(entry("network", "prod")), 1)
    worker.assert_done()
    assert (result.status, result.attempts) == ("error", 1)
    assert result.error is not None
    assert expected in result.error


@pytest.mark.parametrize(
    ("replace", "expected"),
    [
        ({"status": "error"}, "`status` 'error' is not one of clean, drift, pending_changes"),
        ({"report_key": None}, "`report_key` is missing"),
        ({"summary": {}}, "`summary.by_severity` is missing"),
        (
            {"summary": {"by_severity": {"critical": -1, "high": 0, "medium": 0, "low": 0}}},
            "`summary.by_severity.critical` is not a count",
        ),
    ],
)
def test_a_response_off_contract_is_named(
    client: LambdaClient, clock: FakeClock, replace: dict[str, Any], expected: str
) -> None:
    worker = ScriptedWorker(client)
    worker.completes(RUN_ID, "network", "prod", **replace)
    [result] = fanout(client, clock).run(workspaces(entry("network", "prod")), 1)
    assert result.status == "error"
    assert result.error is not None
    assert expected in result.error


def test_a_secret_echoed_by_the_worker_is_redacted(client: LambdaClient, clock: FakeClock) -> None:
    worker = ScriptedWorker(client)
    worker.fails("DriftCheckFailed", f"AssumeRole refused for external id {SECRET}")
    [result] = fanout(client, clock).run(workspaces(entry("network", "prod")), 1)
    assert result.error == "AssumeRole refused for external id [redacted]"


def test_workspaces_that_cannot_start_in_time_are_skipped(client: LambdaClient, clock: FakeClock) -> None:
    # Each check takes the worker's whole timeout; 3 fit in 400 s with the margins.
    worker = ScriptedWorker(client, on_call=lambda: setattr(clock, "now", clock.now + 100.0))
    for name in ("a", "b", "c"):
        worker.completes(RUN_ID, name, "prod")
    inventory = workspaces(*(entry(name, "prod") for name in "abcde"))
    results = fanout(client, clock, seconds_left=400.0).run(inventory, 1)
    worker.assert_done()
    assert [r.status for r in results] == ["clean", "clean", "clean", "skipped", "skipped"]
    assert [r.attempts for r in results] == [1, 1, 1, 0, 0]
    assert results[3].error == (
        "not started: 100s were left before the orchestrator's deadline and a check needs "
        f"{NEEDED:.0f}s (WORKER_TIMEOUT_SECONDS 100s + "
        f"{INVOKE_MARGIN_SECONDS + FINALIZE_RESERVE_SECONDS:.0f}s margin)"
    )
    assert [w["workspace"] for w in worker.sent] == ["a", "b", "c"]


def test_a_retry_never_sleeps_past_the_budget(client: LambdaClient, clock: FakeClock) -> None:
    worker = ScriptedWorker(client)
    worker.api_error("TooManyRequestsException")
    worker.completes(RUN_ID, "network", "prod")
    [result] = fanout(client, clock, seconds_left=NEEDED + 0.25, rng=UpperBoundRng()).run(
        workspaces(entry("network", "prod")), 1
    )
    worker.assert_done()
    assert clock.sleeps == [0.25]  # the drawn 1.0 s cut to the slack left
    assert (result.status, result.attempts) == ("clean", 2)


def test_no_retry_without_time_for_it(client: LambdaClient, clock: FakeClock) -> None:
    worker = ScriptedWorker(client, on_call=lambda: setattr(clock, "now", clock.now + 30.0))
    worker.fails("Runtime.ExitError", "signal: killed")
    [result] = fanout(client, clock, seconds_left=NEEDED + 10.0).run(workspaces(entry("network", "prod")), 1)
    worker.assert_done()
    assert clock.sleeps == []
    assert (result.status, result.attempts) == ("error", 1)
    assert result.error == (
        "stopped after 1 attempt: no time left in the deadline budget to retry; last error: "
        "worker failed: Runtime.ExitError: signal: killed"
    )


def test_nothing_starts_when_the_deadline_is_too_close(client: LambdaClient, clock: FakeClock) -> None:
    worker = ScriptedWorker(client)
    results = fanout(client, clock, seconds_left=NEEDED - 1).run(workspaces(entry("a", "prod"), entry("b", "prod")), 4)
    assert [r.status for r in results] == ["skipped", "skipped"]
    assert worker.sent == []


class ThreadedWorker:
    """Answers Invoke from worker threads, by payload, counting calls in flight.

    With ``together``, each call waits until that many are in flight (up to a
    minute), so the count does not hang on how the threads happen to be
    scheduled: a fan-out running fewer at once breaks the barrier.
    """

    def __init__(self, client: LambdaClient, fail: str | None = None, together: int | None = None) -> None:
        self.lock = threading.Lock()
        self.in_flight = 0
        self.peak = 0
        self.fail = fail
        self.barrier = threading.Barrier(together, timeout=60) if together else None
        # botocore's stubs type handlers as returning None; before-call ones
        # may return a response, which is how this one answers.
        client.meta.events.register("before-call.lambda.Invoke", self.answer)  # type: ignore[arg-type]

    def answer(self, params: dict[str, Any], **_: Any) -> tuple[AWSResponse, dict[str, Any]]:
        event = json.loads(params["body"])
        if event["workspace"] == self.fail:
            raise RuntimeError("bug in the orchestrator")
        with self.lock:
            self.in_flight += 1
            self.peak = max(self.peak, self.in_flight)
        if self.barrier is not None:
            self.barrier.wait()
        # Time for calls beyond the bound, if any, to arrive and be counted.
        time.sleep(0.05)
        with self.lock:
            self.in_flight -= 1
        key = f"drift-reports/{event['environment']}/{event['workspace']}/x.json"
        body = json.dumps(
            {
                "run_id": event["run_id"],
                "workspace": event["workspace"],
                "environment": event["environment"],
                "status": "clean",
                "report_key": key,
                "report_uri": f"s3://b/{key}",
                "summary": {"by_severity": {"critical": 0, "high": 0, "medium": 0, "low": 0}},
                "duration_seconds": 0.05,
            }
        ).encode()
        http = AWSResponse("https://lambda", 200, HTTPHeaders(), None)
        return http, {"StatusCode": 200, "Payload": StreamingBody(io.BytesIO(body), len(body))}


@pytest.fixture
def real_time_fanout(client: LambdaClient) -> Fanout:
    return Fanout(
        lambda_client=client,
        function_name=WORKER_ARN,
        run_id=RUN_ID,
        run_started_at=STARTED,
        budget=Budget(deadline=time.monotonic() + 3600, worker_timeout_seconds=WORKER_TIMEOUT),
    )


def test_concurrency_is_bounded(client: LambdaClient, real_time_fanout: Fanout) -> None:
    worker = ThreadedWorker(client, together=3)
    inventory = workspaces(*(entry(f"ws{i}", "prod") for i in range(9)))
    results = real_time_fanout.run(inventory, max_concurrency=3)
    assert [r.workspace.name for r in results] == [f"ws{i}" for i in range(9)]
    assert all(r.status == "clean" for r in results)
    assert worker.peak == 3


def test_an_unexpected_failure_costs_one_workspace(client: LambdaClient, real_time_fanout: Fanout) -> None:
    ThreadedWorker(client, fail="ws1")
    results = real_time_fanout.run(workspaces(*(entry(f"ws{i}", "prod") for i in range(3))), 2)
    assert [r.status for r in results] == ["clean", "error", "clean"]
    assert results[1].error == "orchestrator failure: RuntimeError: bug in the orchestrator"
