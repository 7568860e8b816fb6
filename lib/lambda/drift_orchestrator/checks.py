"""One workspace's check: the worker's event, and what its answer means.

The state machine (``modules/state-machine/definition.asl.json``) invokes the
worker once per workspace; this module is the orchestrator's side of that
contract, shared by the orchestrator (which builds the events) and the
summarize step (which reads the answers):

* :func:`worker_event` builds the event, checked against
  ``schemas/worker-event.v1.json`` before the run starts;
* :func:`parse_worker_response` checks a completed check's answer;
* :func:`classify_function_error` sorts a worker error (the ``Error`` and
  ``Cause`` a Step Functions Catch records) into a final status: the
  worker's ``DriftCheckFailed`` / ``DriftCheckTimedOut`` / ``InvalidEvent``
  are ``error`` / ``timeout`` / ``error``, a worker killed at its Lambda
  timeout (``Sandbox.Timedout``) is ``timeout``, anything else ``error``.

No message is longer than :data:`MAX_ERROR_CHARS`, and none repeats a
workspace's external id.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, NotRequired, TypedDict

from .inventory import Workspace

if TYPE_CHECKING:
    from .events import TriggerInfo

Status = Literal["clean", "drift", "pending_changes", "error", "timeout", "skipped"]
#: Statuses of a check that finished (the worker answered normally).
COMPLETED_STATUSES: tuple[Status, ...] = ("clean", "drift", "pending_changes")
#: Every status, in the order reports list them.
STATUSES: tuple[Status, ...] = (*COMPLETED_STATUSES, "error", "timeout", "skipped")
SEVERITIES = ("critical", "high", "medium", "low")

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
#: Step Functions errors its Retry of the worker task retries (the lambda
#: integration's names for throttling and transient Lambda faults): a Catch
#: that ends with one of these used every attempt.
RETRIED_TASK_ERRORS = frozenset(
    {
        "Lambda.TooManyRequestsException",
        "Lambda.ServiceException",
        "Lambda.AWSLambdaException",
        "Lambda.SdkClientException",
        "Lambda.ResourceConflictException",
        "Lambda.ResourceNotReadyException",
        "Lambda.EC2ThrottledException",
        "CodeBuild.AccountLimitExceededException",
        "CodeBuild.ThrottlingException",
    }
)
#: Worker errors the worker task retries once (a crash, a report not stored):
#: a Catch that ends with one of these made two attempts.
RETRIED_ONCE_WORKER_ERRORS = frozenset({"ReportNotStored", "Runtime.ExitError", "Lambda.Unknown"})
Runner = Literal["lambda", "codebuild"]
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
    #: Where the check ran.
    runner: Runner = "lambda"
    #: The worker's ``managed-resources`` document (what the state claims), when it wrote one.
    managed_key: str | None = None


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
    #: Why the check ran (``{"kind": "schedule"}``, or an event check's changes).
    trigger: NotRequired[TriggerInfo]


def worker_event(
    workspace: Workspace,
    *,
    run_id: str,
    run_started_at: str,
    mode: str | None,
    trigger: TriggerInfo | None = None,
) -> WorkerEvent:
    """The worker's event for ``workspace``; ``mode`` overrides the workspace's."""
    event = WorkerEvent(
        run_id=run_id,
        run_started_at=run_started_at,
        workspace=workspace.name,
        environment=workspace.environment,
        account_id=workspace.account_id,
        region=workspace.region,
        role_arn=workspace.role_arn,
        external_id=workspace.external_id,
        source=workspace.source,
        backend_config=dict(workspace.backend_config),
        # One normal plan reads each resource once and gives the verdicts;
        # the worker takes the same default.
        mode=mode or workspace.mode or "plan",
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
    if trigger is not None:
        event["trigger"] = trigger
    return event


@dataclass(frozen=True)
class Completed:
    """A check the worker finished."""

    status: Status
    report_key: str
    report_uri: str
    by_severity: SeverityCounts
    #: Optional: the key of the ``managed-resources`` document (unmanaged resources).
    managed_key: str | None = None


@dataclass(frozen=True)
class Final:
    """A check that ended without a report of drift: error or timeout."""

    status: Status
    message: str
    report_key: str | None = None


def clip(message: str, workspace: Workspace) -> str:
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


def parse_worker_response(payload: object, workspace: Workspace, run_id: str) -> Completed | Final:
    """Checks a completed check's payload against the contract."""

    def bad(reason: str) -> Final:
        return Final("error", f"the worker's response breaks the contract: {reason}")

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
    managed_key = payload.get("managed_key")
    return Completed(
        status=status,
        report_key=report_key,
        report_uri=report_uri,
        by_severity=SeverityCounts(**{k: v or 0 for k, v in counts.items()}),
        # A missing or malformed key costs the unmanaged view this workspace's
        # claims, not the check its verdict.
        managed_key=managed_key if isinstance(managed_key, str) and managed_key else None,
    )


def classify_function_error(payload: object) -> Final:
    """Sorts a worker error payload (``errorType``, ``errorMessage``) into a final status."""
    error_type = ""
    message = ""
    if isinstance(payload, dict):
        error_type = str(payload.get("errorType") or "")
        message = str(payload.get("errorMessage") or "")
    described = f"{error_type or 'function error'}: {message or 'no message'}"
    if error_type in FINAL_WORKER_ERRORS:
        match = _REPORT_KEY.search(message)
        return Final(
            FINAL_WORKER_ERRORS[error_type],
            message or described,
            match.group(0) if match else None,
        )
    if error_type == "Sandbox.Timedout" or "Task timed out" in message:
        return Final("timeout", f"the worker was stopped at its Lambda timeout: {described}")
    return Final("error", f"worker failed: {described}")
