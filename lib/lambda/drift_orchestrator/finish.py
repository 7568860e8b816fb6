"""The summarize step: the end of every run's execution.

The state machine's last state invokes ``summarize.handler`` with the
execution's input, the map's ``ResultWriterDetails`` (or, when the map failed
as a whole, its error), the execution ARN and start time. :func:`finish_run`:

1. returns the stored summary when one exists (Step Functions retried the
   step after it finished): no second alert;
2. reads ``run.json`` and the map's result files into one result per
   selected workspace (:mod:`.results`);
3. unless ``UNMANAGED=off``, compares what the checked workspaces' states
   claim (each worker's ``managed-resources`` document, at the ``managed_key``
   of its answer) with the inventory of their accounts and regions
   (:mod:`.cloud_inventory`, within ``UNMANAGED_TIME_BUDGET_SECONDS`` and the
   Lambda's remaining time less :data:`UNMANAGED_RESERVE_SECONDS`), writes
   the ``unmanaged-report`` to ``unmanaged/<run_id>.json`` and its counts to
   the summary's ``unmanaged``; a failure there is recorded, never raised;
4. publishes at most one critical-drift and one error message, and with
   ``UNMANAGED_ALERT=on`` at most one unmanaged-resources message;
5. adds the run metrics (zeros included) and writes the summary
   (``schemas/run-summary.v1.json``), then the measured durations the next
   run's lanes are planned with.
"""

from __future__ import annotations

import json
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any, TypedDict, cast

from aws_lambda_powertools import Metrics
from aws_lambda_powertools.metrics import MetricUnit
from botocore.exceptions import BotoCoreError, ClientError

from .alerts import Alert, RunContext, cause_line, critical_drift_alert, publish, run_errors_alert, unmanaged_alert
from .checks import COMPLETED_STATUSES, MAX_ERROR_CHARS, WorkspaceResult, clip
from .cloud_inventory import Deadline, Listing, Target, inventory
from .errors import OrchestratorError
from .events import RunRequest, Trigger
from .execution import MAX_DURATIONS_BYTES, RunManifest
from .observability import logger
from .results import collect, secrets_of, worker_events
from .s3json import read_json
from .summary import (
    AlertEntry,
    Execution,
    RunSummary,
    UnmanagedCounts,
    UnmanagedFailed,
    build_summary,
    find_stored_summary,
    rfc3339,
    write_summary,
)
from .unmanaged import (
    Claims,
    IgnoreRule,
    Report,
    SidecarError,
    Unclaimed,
    WorkspaceRef,
    compare,
    parse_sidecar,
    report_key,
)
from .unmanaged_changes import recent_changes

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sns import SNSClient

#: The last measured duration of each workspace's check, for lane planning.
DURATIONS_KEY = "runs/durations.json"
#: A workspace's duration not measured for this many days is forgotten.
DURATIONS_KEPT_DAYS = 30
#: Largest ``run.json`` read (a manifest line is ~200 bytes).
MAX_MANIFEST_BYTES = 64 * 1024 * 1024
#: Largest ``managed-resources`` document read (a resource is ~300 bytes).
MAX_SIDECAR_BYTES = 64 * 1024 * 1024
#: Seconds of the Lambda's remaining time the inventory leaves to the rest of the step.
UNMANAGED_RESERVE_SECONDS = 60

#: Lists the inventory of some accounts and regions (:func:`.cloud_inventory.inventory`).
InventoryFunction = Callable[..., Listing]


class SummarizeError(OrchestratorError):
    """The summarize step's input or the run's manifest is unusable."""


class Finished(TypedDict):
    """What the summarize step answers (the execution's output)."""

    run_id: str
    summary_key: str
    totals: dict[str, Any]
    throttle_retries: int


@dataclass(frozen=True)
class SummarizeClients:
    """The AWS clients the summarize step uses."""

    s3: S3Client
    sns: SNSClient


@dataclass(frozen=True)
class UnmanagedSettings:
    """The unmanaged-resource view's configuration (see :mod:`.config`)."""

    alert: bool = False
    ignore: tuple[IgnoreRule, ...] = ()
    aggregator_name: str | None = None
    time_budget_seconds: float = 300
    #: A configuration fault: the view is skipped with this error.
    error: str | None = None
    #: The inventory (tests may list a fixed one).
    list_inventory: InventoryFunction = inventory


@dataclass(frozen=True)
class UnmanagedOutcome:
    """The view's result: the summary's entry, and the report when one was written."""

    entry: UnmanagedCounts | UnmanagedFailed
    report: Report | None = None
    report_uri: str | None = None


def publish_all(sns: SNSClient, topic_arn: str, alerts: list[Alert]) -> tuple[list[AlertEntry], list[str]]:
    """Publishes each alert; a failed one is recorded, not raised."""
    entries: list[AlertEntry] = []
    errors: list[str] = []
    for alert in alerts:
        try:
            message_id = publish(sns, topic_arn, alert)
        except (ClientError, BotoCoreError) as e:
            logger.exception("alert not published", extra={"kind": alert.kind})
            errors.append(f"the {alert.kind} alert could not be published: {e}")
            entries.append(AlertEntry(kind=alert.kind, message_id=None, error=str(e)))
            continue
        logger.info("alert published", extra={"kind": alert.kind, "message_id": message_id})
        entries.append(AlertEntry(kind=alert.kind, message_id=message_id, error=None))
    return entries, errors


def record_metrics(metrics: Metrics, summary: RunSummary) -> None:
    """Adds the run's metrics, zeros included."""
    by_status = summary["totals"]["by_status"]
    checked = by_status["clean"] + by_status["drift"] + by_status["pending_changes"]
    failed = by_status["error"] + by_status["timeout"] + by_status["skipped"]
    metrics.add_metric(name="WorkspacesChecked", unit=MetricUnit.Count, value=checked)
    metrics.add_metric(name="WorkspacesDrifted", unit=MetricUnit.Count, value=by_status["drift"])
    metrics.add_metric(
        name="CriticalDrift",
        unit=MetricUnit.Count,
        value=summary["totals"]["by_severity"]["critical"],
    )
    metrics.add_metric(name="DetectionErrors", unit=MetricUnit.Count, value=failed)
    metrics.add_metric(name="WorkspacesSkipped", unit=MetricUnit.Count, value=by_status["skipped"])
    metrics.add_metric(name="WorkspacesTimedOut", unit=MetricUnit.Count, value=by_status["timeout"])
    metrics.add_metric(name="ThrottleRetries", unit=MetricUnit.Count, value=summary.get("throttle_retries", 0))
    metrics.add_metric(name="RunDurationSeconds", unit=MetricUnit.Seconds, value=summary["duration_seconds"])
    unmanaged = summary.get("unmanaged")
    if unmanaged is not None:
        counts: dict[str, Any] = dict(unmanaged)
        failed = "error" in counts
        metrics.add_metric(name="UnmanagedResources", unit=MetricUnit.Count, value=counts.get("unmanaged", 0))
        metrics.add_metric(name="ManagedTwice", unit=MetricUnit.Count, value=counts.get("managed_twice", 0))
        metrics.add_metric(name="GoneFromInventory", unit=MetricUnit.Count, value=counts.get("gone", 0))
        # A view that failed as a whole counts as one inventory error.
        errors = 1 if failed else counts.get("inventory_errors", 0)
        metrics.add_metric(name="InventoryErrors", unit=MetricUnit.Count, value=errors)


def _string(payload: Mapping[str, Any], key: str) -> str:
    value = payload.get(key)
    if not isinstance(value, str) or not value:
        raise SummarizeError(f"the summarize step's input has no `{key}`: is it invoked by the run state machine?")
    return value


def _trigger(text: object) -> Trigger:
    """The run's trigger as its manifest says; an unknown word is ``manual``."""
    if text == "schedule" or text == "event":
        return text
    return "manual"


def _time(text: str) -> datetime:
    try:
        return datetime.fromisoformat(text).astimezone(UTC)
    except ValueError as e:
        raise SummarizeError(f"`{text}` is not an RFC 3339 time") from e


def read_manifest(s3: S3Client, bucket: str, key: str) -> RunManifest:
    """``run.json``, as the orchestrator wrote it."""
    try:
        document: Any = read_json(s3, bucket, key, MAX_MANIFEST_BYTES)
    except (ClientError, BotoCoreError, ValueError) as e:
        raise SummarizeError(f"the run's manifest s3://{bucket}/{key} cannot be read: {e}") from e
    required = (
        "run_id",
        "trigger",
        "started_at",
        "summary_key",
        "items_key",
        "workspaces",
        "rejected",
        "errors",
        "filters",
    )
    if not isinstance(document, dict) or any(k not in document for k in required):
        raise SummarizeError(f"s3://{bucket}/{key} is not a run manifest")
    return cast(RunManifest, document)


def read_events(s3: S3Client, bucket: str, items_key: str) -> dict[str, Mapping[str, Any]]:
    """Each workspace's worker event (role, external id) from the run's items; empty when unreadable."""
    try:
        items: Any = read_json(s3, bucket, items_key, MAX_MANIFEST_BYTES)
    except (ClientError, BotoCoreError, ValueError) as e:
        logger.warning("the run's items cannot be read", extra={"items_key": items_key, "error": str(e)})
        return {}

    def read_event(key: str) -> object:
        try:
            event: object = read_json(s3, bucket, key, MAX_MANIFEST_BYTES)
        except (ClientError, BotoCoreError, ValueError):
            return None
        return event

    return worker_events(items, read_event)


def _reference(result: WorkspaceResult) -> WorkspaceRef:
    workspace = result.workspace
    return WorkspaceRef(
        name=workspace.name, environment=workspace.environment, account_id=workspace.account_id, region=workspace.region
    )


def read_claims(
    s3: S3Client, bucket: str, run_id: str, results: Sequence[WorkspaceResult]
) -> tuple[list[Claims], list[Unclaimed]]:
    """What each checked workspace's state claims; the rest are unclaimed, with the reason."""
    claims: list[Claims] = []
    unclaimed: list[Unclaimed] = []
    for result in results:
        workspace = _reference(result)
        reason: str
        if result.status not in COMPLETED_STATUSES:
            reason = f"its check ended {result.status}"
        elif result.managed_key is None:
            reason = "its check left no managed-resources document"
        else:
            try:
                document = read_json(s3, bucket, result.managed_key, MAX_SIDECAR_BYTES)
                claims.append(parse_sidecar(document, workspace, run_id))
                continue
            except (ClientError, BotoCoreError, ValueError) as e:
                # SidecarError is a ValueError: a document that breaks the contract.
                problem = f"breaks the contract: {e}" if isinstance(e, SidecarError) else f"cannot be read: {e}"
                where = f"s3://{bucket}/{result.managed_key}"
                reason = clip(f"its managed-resources document {where} {problem}", result.workspace)
        unclaimed.append(Unclaimed(**workspace, reason=reason))
    return claims, unclaimed


def _targets(
    manifest: RunManifest, results: Sequence[WorkspaceResult], events: Mapping[str, Mapping[str, Any]]
) -> list[Target]:
    """One target per workspace that was sent to a check, with its role (the first one's lists a scope).

    A workspace refused before the start has no event, so no known role: it
    lists nothing (its scope is withheld anyway).
    """
    targets: list[Target] = []
    for entry, result in zip(manifest["workspaces"], results, strict=True):
        event = events.get(entry["key"])
        if event is None:
            continue
        role = event.get("role_arn")
        secret = event.get("external_id")
        targets.append(
            Target(
                account_id=result.workspace.account_id,
                region=result.workspace.region,
                role_arn=role if isinstance(role, str) and role else None,
                external_id=secret if isinstance(secret, str) and secret else None,
            )
        )
    return targets


def run_unmanaged(
    s3: S3Client,
    bucket: str,
    manifest: RunManifest,
    results: Sequence[WorkspaceResult],
    events: Mapping[str, Mapping[str, Any]],
    settings: UnmanagedSettings,
    *,
    now: Callable[[], datetime],
    remaining_seconds: Callable[[], float] | None,
) -> UnmanagedOutcome:
    """The unmanaged-resource view of the run; raises only for bugs (the caller records them)."""
    if settings.error:
        return UnmanagedOutcome(UnmanagedFailed(error=settings.error))
    run_id = manifest["run_id"]
    claims, unclaimed = read_claims(s3, bucket, run_id, results)
    budget = settings.time_budget_seconds
    if remaining_seconds is not None:
        budget = min(budget, remaining_seconds() - UNMANAGED_RESERVE_SECONDS)
    listing = settings.list_inventory(
        _targets(manifest, results, events), deadline=Deadline(budget), aggregator_name=settings.aggregator_name
    )
    report = compare(
        claims,
        unclaimed,
        listing.items,
        listing.coverage,
        settings.ignore,
        run_id=run_id,
        generated_at=rfc3339(now()),
    )
    try:
        changes = recent_changes(s3, bucket, report["unmanaged"], now=now())
    except (ClientError, BotoCoreError) as e:
        logger.warning("the kept change events were not read", extra={"error": str(e)})
        changes = []
    if changes:
        report["changes"] = changes
    key = report_key(run_id)
    try:
        s3.put_object(
            Bucket=bucket,
            Key=key,
            Body=json.dumps(report, indent=2).encode() + b"\n",
            ContentType="application/json",
        )
    except (ClientError, BotoCoreError) as e:
        return UnmanagedOutcome(
            UnmanagedFailed(error=f"the unmanaged-resource report s3://{bucket}/{key} was not written: {e}")
        )
    counts = report["summary"]
    entry = UnmanagedCounts(
        report_key=key,
        unmanaged=counts["unmanaged"],
        managed_twice=counts["managed_twice"],
        gone=counts["gone"],
        ignored=counts["ignored"],
        withheld_scopes=counts["withheld_scopes"],
        inventory_errors=sum(1 for c in report["coverage"] if c.get("error")),
    )
    logger.info("unmanaged resources compared", extra={"unmanaged": dict(entry)})
    return UnmanagedOutcome(entry, report, f"s3://{bucket}/{key}")


def merge_durations(stored: object, results: list[WorkspaceResult], day: date) -> dict[str, Any]:
    """``runs/durations.json`` with this run's measured durations merged in.

    Each duration is dated by the run that measured it; one not measured for
    :data:`DURATIONS_KEPT_DAYS` (a workspace gone from the inventory) is
    dropped, so the document stays the size of the inventory.
    """
    durations: dict[str, float] = {}
    measured_on: dict[str, str] = {}
    if isinstance(stored, dict):
        old_durations = stored.get("durations")
        old_days = stored.get("measured_on")
        oldest = (day - timedelta(days=DURATIONS_KEPT_DAYS)).isoformat()
        for key, seconds in (old_durations if isinstance(old_durations, dict) else {}).items():
            measured = old_days.get(key) if isinstance(old_days, dict) else None
            if isinstance(seconds, (int, float)) and isinstance(measured, str) and measured >= oldest:
                durations[str(key)] = float(seconds)
                measured_on[str(key)] = measured
    for result in results:
        if result.duration_seconds > 0 and result.status != "skipped":
            durations[result.workspace.label] = result.duration_seconds
            measured_on[result.workspace.label] = day.isoformat()
    return {"durations": durations, "measured_on": measured_on}


def _write_durations(s3: S3Client, bucket: str, results: list[WorkspaceResult], day: date) -> None:
    """Merges this run's measured durations into ``runs/durations.json``."""
    try:
        stored: Any = read_json(s3, bucket, DURATIONS_KEY, MAX_DURATIONS_BYTES)
    except (ClientError, BotoCoreError, ValueError):
        stored = None
    try:
        s3.put_object(
            Bucket=bucket,
            Key=DURATIONS_KEY,
            Body=json.dumps(merge_durations(stored, results, day), sort_keys=True).encode(),
            ContentType="application/json",
        )
    except (ClientError, BotoCoreError) as e:
        # Lanes are planned from defaults without it: worth a warning, not a failed run.
        logger.warning("check durations not saved", extra={"error": str(e)})


def finish_run(
    payload: Mapping[str, Any],
    *,
    bucket: str,
    topic_arn: str,
    clients: SummarizeClients,
    metrics: Metrics,
    now: Callable[[], datetime],
    unmanaged: UnmanagedSettings | None = None,
    remaining_seconds: Callable[[], float] | None = None,
) -> RunSummary:
    """Summarizes the execution ``payload`` describes.

    ``unmanaged`` ``None`` turns the unmanaged-resource view off;
    ``remaining_seconds`` is the Lambda's time left, which bounds its inventory.
    """
    run = payload.get("run")
    if not isinstance(run, dict):
        raise SummarizeError("the summarize step's input has no `run`: is it invoked by the run state machine?")
    execution_arn = _string(payload, "execution_arn")
    run_key = _string(run, "run_key")
    key = _string(run, "summary_key")

    stored = find_stored_summary(clients.s3, bucket, key)
    if stored is not None:
        logger.info("this run is already summarized (a retried step)", extra={"summary_key": key})
        return stored

    manifest = read_manifest(clients.s3, bucket, run_key)
    map_result = run.get("map_result") if isinstance(run.get("map_result"), dict) else None
    map_failure = run.get("map_failure") if isinstance(run.get("map_failure"), dict) else None
    events = read_events(clients.s3, bucket, manifest["items_key"])
    collected = collect(clients.s3, bucket, manifest, map_result, map_failure, secrets_of(events))

    started_at = _time(manifest["started_at"])
    request = RunRequest(
        run_id=manifest["run_id"],
        trigger=_trigger(manifest["trigger"]),
        reference_time=_time(manifest["run_started_at"]),
        environments=_filter(manifest, "environments"),
        workspaces=_filter(manifest, "workspaces"),
        accounts=_filter(manifest, "accounts"),
        mode=manifest.get("mode"),
        dry_run=False,
    )
    context = RunContext(
        run_id=request.run_id,
        trigger=request.trigger,
        started_at=manifest["started_at"],
        summary_uri=f"s3://{bucket}/{key}",
        report_bucket=bucket,
        causes={ws: line for ws, event in events.items() if (line := cause_line(event.get("trigger")))},
    )
    outcome: UnmanagedOutcome | None = None
    unmanaged_errors: list[str] = []
    if unmanaged is not None:
        try:
            outcome = run_unmanaged(
                clients.s3,
                bucket,
                manifest,
                collected.results,
                events,
                unmanaged,
                now=now,
                remaining_seconds=remaining_seconds,
            )
        except Exception as e:  # noqa: BLE001 - the view must never cost the run its summary
            message = f"the unmanaged-resource view failed: {e}"
            trace = traceback.format_exc()
            for secret in secrets_of(events).values():
                message = message.replace(secret, "[redacted]")
                trace = trace.replace(secret, "[redacted]")
            logger.error("the unmanaged-resource view failed", extra={"error": message, "traceback": trace})
            outcome = UnmanagedOutcome(UnmanagedFailed(error=message[:MAX_ERROR_CHARS]))
        failure = outcome.entry.get("error")
        if isinstance(failure, str):
            unmanaged_errors.append(failure)
    alerts = [
        alert
        for alert in (
            critical_drift_alert(collected.results, context),
            run_errors_alert(collected.results, context),
            unmanaged_alert(outcome.report, outcome.report_uri, collected.results, context)
            if unmanaged is not None and unmanaged.alert and outcome and outcome.report and outcome.report_uri
            else None,
        )
        if alert is not None
    ]
    alert_entries, alert_errors = publish_all(clients.sns, topic_arn, alerts)
    execution_started = payload.get("execution_started_at")
    summary = build_summary(
        request=request,
        inventory_origin=str(manifest.get("inventory", "")),
        results=collected.results,
        started_at=started_at,
        finished_at=now(),
        key=key,
        run_errors=[*manifest["errors"], *collected.errors, *unmanaged_errors, *alert_errors],
        alerts=alert_entries,
        execution=Execution(
            arn=execution_arn,
            started_at=execution_started if isinstance(execution_started, str) else None,
        ),
        limits=manifest.get("limits"),
        throttle_retries=collected.throttle_retries,
        unmanaged=outcome.entry if outcome is not None else None,
    )
    record_metrics(metrics, summary)
    write_summary(clients.s3, bucket, key, summary)
    _write_durations(clients.s3, bucket, collected.results, request.reference_time.date())
    logger.info(
        "run finished",
        extra={
            "summary_key": key,
            "totals": summary["totals"],
            "throttle_retries": collected.throttle_retries,
            "alerts": [a["kind"] for a in alert_entries if a["message_id"]],
        },
    )
    return summary


def _filter(manifest: RunManifest, name: str) -> tuple[str, ...] | None:
    values = manifest["filters"].get(name)
    return tuple(values) if values is not None else None
