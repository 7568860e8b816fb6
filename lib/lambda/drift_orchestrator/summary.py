"""The run summary: one JSON document per run, in the report bucket.

Its contract is ``schemas/run-summary.v1.json``; it is written to
``runs/YYYY/MM/DD/<run_id>.json``, dated by the run's reference time (the
scheduled event's ``time``), so a retried delivery of the same event writes
the same key. It never contains a role's external id.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal, NotRequired, TypedDict, cast

from botocore.exceptions import BotoCoreError, ClientError

from .checks import SEVERITIES, STATUSES, SeverityCounts, Status, WorkspaceResult
from .events import RunRequest, Trigger
from .observability import logger

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

SCHEMA_VERSION = "1"
SUMMARY_PREFIX = "runs"

AlertKind = Literal["critical_drift", "run_errors", "unmanaged_resources"]


class WorkspaceEntry(TypedDict):
    """One workspace's line in the summary."""

    name: str
    environment: str
    account_id: str
    region: str
    status: Status
    report_key: str | None
    by_severity: dict[str, int]
    attempts: int
    error: str | None
    duration_seconds: float
    #: Where it ran: ``lambda`` or ``codebuild`` (since the Step Functions runs).
    runner: NotRequired[str]


class Totals(TypedDict):
    """Counts over the run."""

    workspaces: int
    by_status: dict[str, int]
    by_severity: dict[str, int]


class ErrorEntry(TypedDict):
    """A failed or skipped workspace, or a problem of the run itself."""

    scope: Literal["workspace", "run"]
    workspace: str | None
    environment: str | None
    message: str


class Suggestion(TypedDict):
    """A change to the inventory the run recommends."""

    workspace: str
    environment: str
    runner: Literal["codebuild"]
    reason: str


class Execution(TypedDict):
    """The Step Functions execution that ran the checks."""

    arn: str
    started_at: str | None


class AlertEntry(TypedDict):
    """An SNS message the run sent, or failed to send."""

    kind: AlertKind
    message_id: str | None
    error: str | None


class UnmanagedCounts(TypedDict):
    """The unmanaged-resource view of the run: its report and counts."""

    #: ``unmanaged/<run_id>.json`` in the report bucket.
    report_key: str
    unmanaged: int
    managed_twice: int
    gone: int
    ignored: int
    withheld_scopes: int
    #: Accounts, regions and types the inventory could not list completely.
    inventory_errors: int


class UnmanagedFailed(TypedDict):
    """The unmanaged-resource view could not run; the summary is written anyway."""

    error: str


class RunSummary(TypedDict):
    """The run summary document (``schemas/run-summary.v1.json``)."""

    schema_version: str
    run_id: str
    trigger: Trigger
    started_at: str
    finished_at: str
    duration_seconds: float
    dry_run: bool
    summary_key: str | None
    inventory: str
    filters: dict[str, list[str] | None]
    mode: str | None
    workspaces: list[WorkspaceEntry]
    totals: Totals
    errors: list[ErrorEntry]
    alerts: list[AlertEntry]
    execution: NotRequired[Execution | None]
    limits: NotRequired[dict[str, int] | None]
    throttle_retries: NotRequired[int]
    suggestions: NotRequired[list[Suggestion]]
    #: Absent when the view is off (``UNMANAGED=off``) and in dry runs.
    unmanaged: NotRequired[UnmanagedCounts | UnmanagedFailed]


def rfc3339(moment: datetime) -> str:
    """``2026-11-27T06:00:00.123Z``: RFC 3339 in UTC, milliseconds."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def summary_key(run_id: str, reference_time: datetime) -> str:
    """``runs/YYYY/MM/DD/<run_id>.json``."""
    day = reference_time.astimezone(UTC)
    return f"{SUMMARY_PREFIX}/{day:%Y/%m/%d}/{run_id}.json"


def workspace_entry(result: WorkspaceResult) -> WorkspaceEntry:
    """A result as the summary lists it (no role, no external id)."""
    workspace = result.workspace
    return WorkspaceEntry(
        name=workspace.name,
        environment=workspace.environment,
        account_id=workspace.account_id,
        region=workspace.region,
        status=result.status,
        report_key=result.report_key,
        by_severity=result.by_severity.as_dict(),
        attempts=result.attempts,
        error=result.error,
        duration_seconds=result.duration_seconds,
        runner=result.runner,
    )


def totals(results: Sequence[WorkspaceResult]) -> Totals:
    """Counts per status and per severity."""
    by_status: dict[str, int] = dict.fromkeys(STATUSES, 0)
    severity = SeverityCounts()
    for result in results:
        by_status[result.status] += 1
        severity = severity + result.by_severity
    return Totals(
        workspaces=len(results),
        by_status=by_status,
        by_severity=severity.as_dict(),
    )


def error_entries(results: Sequence[WorkspaceResult], dry_run: bool) -> list[ErrorEntry]:
    """One entry per failed, timed-out or (outside a dry run) skipped workspace."""
    entries: list[ErrorEntry] = []
    for result in results:
        if result.status in ("error", "timeout") or (result.status == "skipped" and not dry_run):
            entries.append(
                ErrorEntry(
                    scope="workspace",
                    workspace=result.workspace.name,
                    environment=result.workspace.environment,
                    message=f"{result.status}: {result.error or 'no detail'}",
                )
            )
    return entries


def build_summary(
    *,
    request: RunRequest,
    inventory_origin: str,
    results: Sequence[WorkspaceResult],
    started_at: datetime,
    finished_at: datetime,
    key: str | None,
    run_errors: Sequence[str] = (),
    alerts: Sequence[AlertEntry] = (),
    execution: Execution | None = None,
    limits: dict[str, int] | None = None,
    throttle_retries: int = 0,
    unmanaged: UnmanagedCounts | UnmanagedFailed | None = None,
) -> RunSummary:
    """The summary document for a run."""
    errors = error_entries(results, request.dry_run)
    errors.extend(ErrorEntry(scope="run", workspace=None, environment=None, message=message) for message in run_errors)
    summary = RunSummary(
        schema_version=SCHEMA_VERSION,
        run_id=request.run_id,
        trigger=request.trigger,
        started_at=rfc3339(started_at),
        finished_at=rfc3339(finished_at),
        duration_seconds=round(max((finished_at - started_at).total_seconds(), 0.0), 3),
        dry_run=request.dry_run,
        summary_key=key,
        inventory=inventory_origin,
        filters=request.filters(),
        mode=request.mode,
        workspaces=[workspace_entry(result) for result in results],
        totals=totals(results),
        errors=errors,
        alerts=list(alerts),
        execution=execution,
        limits=limits,
        throttle_retries=throttle_retries,
        suggestions=suggestions(results),
    )
    if unmanaged is not None:
        summary["unmanaged"] = unmanaged
    return summary


def suggestions(results: Sequence[WorkspaceResult]) -> list[Suggestion]:
    """The CodeBuild lane for each Lambda check that ran out of time."""
    return [
        Suggestion(
            workspace=result.workspace.name,
            environment=result.workspace.environment,
            runner="codebuild",
            reason=(
                'its check timed out on Lambda (15 minutes at most): set "runner": "codebuild" on '
                "its inventory entry to check it in CodeBuild"
            ),
        )
        for result in results
        if result.status == "timeout" and result.runner == "lambda"
    ]


def write_summary(s3: S3Client, bucket: str, key: str, summary: RunSummary) -> None:
    """Writes the summary as JSON; S3 errors propagate (the run must fail loudly)."""
    body = json.dumps(summary, indent=2, sort_keys=False).encode("utf-8") + b"\n"
    s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType="application/json")


def find_stored_summary(s3: S3Client, bucket: str, key: str) -> RunSummary | None:
    """The summary a previous delivery of the same run already wrote, if any.

    Anything but a readable, well-formed summary (no object, no permission,
    S3 trouble) means "run it": a check skipped for a wrong "already done"
    would be worse than one run twice.
    """
    try:
        response = s3.get_object(Bucket=bucket, Key=key)
        document: Any = json.loads(response["Body"].read())
    except ClientError as e:
        code = e.response.get("Error", {}).get("Code", "Unknown")
        if code not in ("NoSuchKey", "404", "NotFound"):
            logger.warning(
                "cannot tell whether this run already finished; running it",
                extra={"summary_key": key, "error": f"{code}: {e}"},
            )
        return None
    except (BotoCoreError, ValueError) as e:
        logger.warning(
            "cannot read the stored summary of this run; running it",
            extra={"summary_key": key, "error": str(e)},
        )
        return None
    if not isinstance(document, dict) or document.get("schema_version") != SCHEMA_VERSION:
        return None
    return cast(RunSummary, document)


__all__ = [
    "SEVERITIES",
    "AlertEntry",
    "RunSummary",
    "UnmanagedCounts",
    "UnmanagedFailed",
    "build_summary",
    "find_stored_summary",
    "rfc3339",
    "summary_key",
    "write_summary",
]
