"""Fan-out: one worker invocation per workspace, inside the run's deadline.

Each selected workspace gets one synchronous (``RequestResponse``) invocation
of the worker, with at most ``MAX_CONCURRENCY`` in flight.

Deadline budget
    The orchestrator never starts an invocation it could not wait out: an
    attempt starts only while the time left before the orchestrator's own
    deadline is at least ``WORKER_TIMEOUT_SECONDS`` (the worker cannot run
    longer) plus :data:`INVOKE_MARGIN_SECONDS` (worker cold start, network)
    plus :data:`FINALIZE_RESERVE_SECONDS` (writing the summary, alerts,
    metrics). A workspace whose first attempt cannot start is recorded as
    ``skipped``, with the reason; nothing is silently dropped, and no result
    is lost to the orchestrator timing out mid-invocation.

Retries
    Throttling and other transient Lambda errors (``TooManyRequestsException``,
    ``ServiceException``, ``ResourceConflictException``, 5xx, connection
    errors) and worker function errors other than the worker's own final
    verdicts are retried, up to :attr:`RetryPolicy.max_attempts` attempts,
    after a full-jitter exponential backoff (a uniform draw from
    ``[0, min(cap, base * 2**(attempt - 1))]``). A backoff never sleeps past
    the budget: it is cut to the slack left, and when no slack is left the
    workspace is recorded as ``error`` with the last error. The worker's
    ``DriftCheckFailed`` / ``DriftCheckTimedOut`` / ``InvalidEvent`` errors
    are final (``error`` / ``timeout`` / ``error``), and so is a worker killed
    at its Lambda timeout (``Sandbox.Timedout``): retrying it would need the
    whole worker timeout again, for the same result.

Each worker event is checked against ``schemas/worker-event.v1.json`` before
it is sent; one that breaks it is an ``error`` result with the faults, and no
invocation.

Request errors that cannot succeed on retry (``ResourceNotFoundException``,
``AccessDeniedException``, invalid payload...) and a malformed worker response
are final ``error`` results at once.
"""

from __future__ import annotations

import json
import random
import re
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, NotRequired, TypedDict

from botocore.exceptions import BotoCoreError, ClientError, HTTPClientError
from botocore.exceptions import ConnectionError as BotoConnectionError

from . import contract
from .inventory import Workspace
from .observability import logger

if TYPE_CHECKING:
    from mypy_boto3_lambda import LambdaClient

Status = Literal["clean", "drift", "pending_changes", "error", "timeout", "skipped"]
#: Statuses of a check that finished (the worker answered normally).
COMPLETED_STATUSES: tuple[Status, ...] = ("clean", "drift", "pending_changes")
#: Every status, in the order reports list them.
STATUSES: tuple[Status, ...] = (*COMPLETED_STATUSES, "error", "timeout", "skipped")
SEVERITIES = ("critical", "high", "medium", "low")

#: Seconds on top of the worker's timeout an invocation may take end to end.
INVOKE_MARGIN_SECONDS = 15.0
#: Seconds kept back after the last invocation for summary, alerts, metrics.
FINALIZE_RESERVE_SECONDS = 20.0
#: Recorded error messages are cut to this many characters.
MAX_ERROR_CHARS = 2000

#: Worker error types that are the worker's final verdict on a workspace
#: (``InvalidEvent``: the worker refused the event; the same event would be
#: refused again).
FINAL_WORKER_ERRORS: dict[str, Status] = {
    "DriftCheckFailed": "error",
    "DriftCheckTimedOut": "timeout",
    "InvalidEvent": "error",
}
#: Lambda API error codes worth another attempt.
RETRYABLE_API_ERRORS = frozenset(
    {
        "TooManyRequestsException",
        "ServiceException",
        "ResourceConflictException",
        "ResourceNotReadyException",
        "EC2ThrottledException",
        "EC2UnexpectedException",
        "ThrottlingException",
        "Throttling",
        "RequestLimitExceeded",
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "InternalFailure",
        "InternalServerError",
        "SnapStartNotReadyException",
        "SnapStartTimeoutException",
    }
)
_REPORT_KEY = re.compile(r"drift-reports/[A-Za-z0-9._/-]+?\.json")


@dataclass(frozen=True)
class SeverityCounts:
    """Findings per severity."""

    critical: int = 0
    high: int = 0
    medium: int = 0
    low: int = 0

    def as_dict(self) -> dict[str, int]:
        """``{"critical": n, "high": n, "medium": n, "low": n}``."""
        return {"critical": self.critical, "high": self.high, "medium": self.medium, "low": self.low}

    def __add__(self, other: SeverityCounts) -> SeverityCounts:
        return SeverityCounts(
            self.critical + other.critical,
            self.high + other.high,
            self.medium + other.medium,
            self.low + other.low,
        )


@dataclass(frozen=True)
class WorkspaceResult:
    """The outcome for one workspace."""

    workspace: Workspace
    status: Status
    #: The worker's dated report, when one was written.
    report_key: str | None = None
    #: ``s3://bucket/key`` of that report, when the worker said.
    report_uri: str | None = None
    by_severity: SeverityCounts = SeverityCounts()
    #: Invocations made (0 when skipped).
    attempts: int = 0
    error: str | None = None
    #: Time spent on the workspace, retries and backoff included.
    duration_seconds: float = 0.0


class WorkerEvent(TypedDict):
    """The worker's invocation event (the lead's contract)."""

    run_id: str
    run_started_at: str
    workspace: str
    environment: str
    account_id: str
    region: str
    role_arn: str | None
    external_id: str | None
    source: str
    backend_config: dict[str, str]
    mode: str
    #: Always false: the run sends one aggregated alert, not one per workspace.
    notify: bool
    terraform_workspace: NotRequired[str]
    lock: NotRequired[bool]
    lock_timeout: NotRequired[str]
    parallelism: NotRequired[int]


@dataclass(frozen=True)
class Budget:
    """The run's deadline and what one worker invocation needs of it."""

    #: The orchestrator's deadline on ``clock``'s scale.
    deadline: float
    #: The worker function's timeout.
    worker_timeout_seconds: float
    clock: Callable[[], float] = time.monotonic

    @property
    def needed_to_start(self) -> float:
        """Seconds that must be left for an attempt to start."""
        return self.worker_timeout_seconds + INVOKE_MARGIN_SECONDS + FINALIZE_RESERVE_SECONDS

    def remaining(self) -> float:
        """Seconds left before the deadline."""
        return self.deadline - self.clock()

    def slack(self) -> float:
        """Seconds an attempt could still wait and start; negative when it cannot."""
        return self.remaining() - self.needed_to_start


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded attempts with exponential backoff and full jitter."""

    max_attempts: int = 4
    base_delay_seconds: float = 1.0
    max_delay_seconds: float = 20.0

    def backoff(self, attempt: int, rng: random.Random) -> float:
        """The sleep after failed attempt number ``attempt`` (1-based)."""
        ceiling = min(self.max_delay_seconds, self.base_delay_seconds * 2 ** (attempt - 1))
        return rng.uniform(0.0, ceiling)


@dataclass(frozen=True)
class _Completed:
    status: Status
    report_key: str
    report_uri: str
    by_severity: SeverityCounts


@dataclass(frozen=True)
class _Final:
    status: Status
    message: str
    report_key: str | None = None


@dataclass(frozen=True)
class _Retry:
    message: str


_Outcome = _Completed | _Final | _Retry


def _clip(message: str, workspace: Workspace) -> str:
    """Bounds a message and strips the workspace's secret from it, if echoed."""
    if workspace.external_id:
        message = message.replace(workspace.external_id, "[redacted]")
    message = " ".join(message.split())
    if len(message) > MAX_ERROR_CHARS:
        message = message[: MAX_ERROR_CHARS - 1] + "…"
    return message


def _count(value: object) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    return None


def parse_worker_response(payload: object, workspace: Workspace, run_id: str) -> _Completed | _Final:
    """Checks a completed check's payload against the contract."""

    def bad(reason: str) -> _Final:
        return _Final("error", f"the worker's response breaks the contract: {reason}")

    if not isinstance(payload, dict):
        return bad("not a JSON object")
    for key, expected in (
        ("run_id", run_id),
        ("workspace", workspace.name),
        ("environment", workspace.environment),
    ):
        if payload.get(key) != expected:
            return bad(f"`{key}` is {payload.get(key)!r}, expected {expected!r}")
    status = payload.get("status")
    if status not in COMPLETED_STATUSES:
        return bad(f"`status` {status!r} is not one of {', '.join(COMPLETED_STATUSES)}")
    report_key = payload.get("report_key")
    if not isinstance(report_key, str) or not report_key:
        return bad("`report_key` is missing")
    report_uri = payload.get("report_uri")
    if not isinstance(report_uri, str):
        report_uri = ""
    summary = payload.get("summary")
    by_severity = summary.get("by_severity") if isinstance(summary, dict) else None
    if not isinstance(by_severity, dict):
        return bad("`summary.by_severity` is missing")
    counts = {name: _count(by_severity.get(name)) for name in SEVERITIES}
    wrong = [name for name, value in counts.items() if value is None]
    if wrong:
        return bad(f"`summary.by_severity.{wrong[0]}` is not a count")
    return _Completed(
        status=status,
        report_key=report_key,
        report_uri=report_uri,
        by_severity=SeverityCounts(**{k: v or 0 for k, v in counts.items()}),
    )


def classify_function_error(payload: object) -> _Final | _Retry:
    """Sorts a worker function error into a final verdict or a retryable failure."""
    error_type = ""
    message = ""
    if isinstance(payload, dict):
        error_type = str(payload.get("errorType") or "")
        message = str(payload.get("errorMessage") or "")
    described = f"{error_type or 'function error'}: {message or 'no message'}"
    if error_type in FINAL_WORKER_ERRORS:
        match = _REPORT_KEY.search(message)
        return _Final(
            FINAL_WORKER_ERRORS[error_type],
            message or described,
            match.group(0) if match else None,
        )
    if error_type == "Sandbox.Timedout" or "Task timed out" in message:
        return _Final("timeout", f"the worker was stopped at its Lambda timeout: {described}")
    return _Retry(f"worker failed: {described}")


def invoke_once(
    lambda_client: LambdaClient, function_name: str, payload: bytes, workspace: Workspace, run_id: str
) -> _Outcome:
    """One synchronous invocation, its outcome sorted."""
    try:
        response = lambda_client.invoke(FunctionName=function_name, InvocationType="RequestResponse", Payload=payload)
    except ClientError as e:
        error = e.response.get("Error", {})
        code = error.get("Code", "Unknown")
        message = f"Lambda {code}: {error.get('Message', str(e))}"
        status = e.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        if code in RETRYABLE_API_ERRORS or status >= 500:
            return _Retry(message)
        return _Final("error", message)
    except (BotoConnectionError, HTTPClientError) as e:
        return _Retry(f"Lambda connection failed: {e}")
    except BotoCoreError as e:
        return _Final("error", f"Lambda request failed: {e}")

    raw = response["Payload"].read()
    try:
        body: Any = json.loads(raw) if raw else None
    except (json.JSONDecodeError, UnicodeDecodeError):
        body = None
    if response.get("FunctionError"):
        return classify_function_error(body)
    if response.get("StatusCode") != 200:
        return _Retry(f"Lambda answered with status {response.get('StatusCode')}")
    if body is None:
        return _Final("error", "the worker's response breaks the contract: not JSON")
    return parse_worker_response(body, workspace, run_id)


@dataclass(frozen=True)
class Fanout:
    """Everything the fan-out needs; :meth:`run` checks a list of workspaces."""

    lambda_client: LambdaClient
    function_name: str
    run_id: str
    #: RFC 3339 UTC; the worker dates its report key with it.
    run_started_at: str
    budget: Budget
    #: Overrides each workspace's mode when set.
    mode: str | None = None
    policy: RetryPolicy = RetryPolicy()
    sleep: Callable[[float], None] = time.sleep
    rng: random.Random = field(default_factory=random.Random)

    def worker_event(self, workspace: Workspace) -> WorkerEvent:
        """The worker's event for ``workspace``."""
        event = WorkerEvent(
            run_id=self.run_id,
            run_started_at=self.run_started_at,
            workspace=workspace.name,
            environment=workspace.environment,
            account_id=workspace.account_id,
            region=workspace.region,
            role_arn=workspace.role_arn,
            external_id=workspace.external_id,
            source=workspace.source,
            backend_config=dict(workspace.backend_config),
            # One normal plan reads each resource once and gives the
            # verdicts; the worker takes the same default.
            mode=self.mode or workspace.mode or "plan",
            notify=False,
        )
        if workspace.terraform_workspace is not None:
            event["terraform_workspace"] = workspace.terraform_workspace
        if workspace.lock is not None:
            event["lock"] = workspace.lock
        if workspace.lock_timeout is not None:
            event["lock_timeout"] = workspace.lock_timeout
        if workspace.parallelism is not None:
            event["parallelism"] = workspace.parallelism
        return event

    def skipped(self, workspace: Workspace) -> WorkspaceResult:
        """The record of a workspace whose check could not start in time."""
        budget = self.budget
        return WorkspaceResult(
            workspace=workspace,
            status="skipped",
            error=(
                f"not started: {max(budget.remaining(), 0.0):.0f}s were left before the "
                f"orchestrator's deadline and a check needs {budget.needed_to_start:.0f}s "
                f"(WORKER_TIMEOUT_SECONDS {budget.worker_timeout_seconds:.0f}s + "
                f"{INVOKE_MARGIN_SECONDS + FINALIZE_RESERVE_SECONDS:.0f}s margin)"
            ),
        )

    def check(self, workspace: Workspace) -> WorkspaceResult:
        """Checks one workspace: attempts, backoff, budget."""
        if self.budget.slack() < 0:
            result = self.skipped(workspace)
            logger.warning(
                "workspace skipped",
                extra={"workspace": workspace.name, "environment": workspace.environment, "reason": result.error},
            )
            return result
        started = self.budget.clock()
        event = self.worker_event(workspace)
        faults = contract.faults(contract.worker_event(), event, contract.EVENT_SCHEMA)
        if faults:
            # The worker would refuse it: an orchestrator bug (or a run
            # override the contract forbids) costs this workspace, not the run.
            return self._finish(
                workspace,
                started,
                WorkspaceResult(
                    workspace=workspace,
                    status="error",
                    error=_clip(
                        f"orchestrator failure: the worker event breaks schemas/{contract.EVENT_SCHEMA}: "
                        + "; ".join(faults),
                        workspace,
                    ),
                ),
            )
        payload = json.dumps(event, separators=(",", ":")).encode()
        attempt = 0
        last_error = ""
        while True:
            attempt += 1
            outcome = invoke_once(self.lambda_client, self.function_name, payload, workspace, self.run_id)
            if isinstance(outcome, _Completed):
                return self._finish(
                    workspace,
                    started,
                    WorkspaceResult(
                        workspace=workspace,
                        status=outcome.status,
                        report_key=outcome.report_key,
                        report_uri=outcome.report_uri or None,
                        by_severity=outcome.by_severity,
                        attempts=attempt,
                    ),
                )
            if isinstance(outcome, _Final):
                return self._finish(
                    workspace,
                    started,
                    WorkspaceResult(
                        workspace=workspace,
                        status=outcome.status,
                        report_key=outcome.report_key,
                        attempts=attempt,
                        error=_clip(outcome.message, workspace),
                    ),
                )
            last_error = _clip(outcome.message, workspace)
            if attempt >= self.policy.max_attempts:
                reason = f"gave up after {attempt} attempts; last error: {last_error}"
                break
            delay = self.policy.backoff(attempt, self.rng)
            slack = self.budget.slack()
            if slack <= 0:
                reason = (
                    f"stopped after {attempt} attempt{'s' if attempt > 1 else ''}: no time "
                    f"left in the deadline budget to retry; last error: {last_error}"
                )
                break
            logger.warning(
                "worker attempt failed; retrying",
                extra={
                    "workspace": workspace.name,
                    "environment": workspace.environment,
                    "attempt": attempt,
                    "backoff_seconds": round(min(delay, slack), 3),
                    "error": last_error,
                },
            )
            self.sleep(min(delay, slack))
        return self._finish(
            workspace,
            started,
            WorkspaceResult(workspace=workspace, status="error", attempts=attempt, error=reason),
        )

    def _finish(self, workspace: Workspace, started: float, result: WorkspaceResult) -> WorkspaceResult:
        duration = max(self.budget.clock() - started, 0.0)
        result = WorkspaceResult(
            workspace=result.workspace,
            status=result.status,
            report_key=result.report_key,
            report_uri=result.report_uri,
            by_severity=result.by_severity,
            attempts=result.attempts,
            error=result.error,
            duration_seconds=round(duration, 3),
        )
        log = logger.error if result.status in ("error", "timeout") else logger.info
        log(
            "workspace finished",
            extra={
                "workspace": workspace.name,
                "environment": workspace.environment,
                "status": result.status,
                "attempts": result.attempts,
                "duration_seconds": result.duration_seconds,
                "by_severity": result.by_severity.as_dict(),
                "report_key": result.report_key,
                "error": result.error,
            },
        )
        return result

    def _check_safely(self, workspace: Workspace) -> WorkspaceResult:
        try:
            return self.check(workspace)
        except Exception as e:  # noqa: BLE001 - a bug must cost one workspace, not the run
            logger.exception(
                "unexpected failure checking workspace",
                extra={"workspace": workspace.name, "environment": workspace.environment},
            )
            return WorkspaceResult(
                workspace=workspace,
                status="error",
                error=_clip(f"orchestrator failure: {type(e).__name__}: {e}", workspace),
            )

    def run(self, workspaces: Sequence[Workspace], max_concurrency: int) -> list[WorkspaceResult]:
        """Checks every workspace, at most ``max_concurrency`` at once.

        Results come back in the order given. Workspaces are started in that
        order too, so when the budget runs out it is the tail that is skipped.
        """
        if not workspaces:
            return []
        workers = max(1, min(max_concurrency, len(workspaces)))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="drift-worker") as pool:
            return list(pool.map(self._check_safely, workspaces))
