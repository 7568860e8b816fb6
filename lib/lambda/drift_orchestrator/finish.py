"""The summarize step: the end of every run's execution.

The state machine's last state invokes ``summarize.handler`` with the
execution's input, the map's ``ResultWriterDetails`` (or, when the map failed
as a whole, its error), the execution ARN and start time. :func:`finish_run`:

1. returns the stored summary when one exists (Step Functions retried the
   step after it finished): no second alert;
2. reads ``run.json`` and the map's result files into one result per
   selected workspace (:mod:`.results`);
3. publishes at most one critical-drift and one error message;
4. adds the run metrics (zeros included) and writes the summary
   (``schemas/run-summary.v1.json``), then the measured durations the next
   run's lanes are planned with.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any, TypedDict, cast

from aws_lambda_powertools import Metrics
from aws_lambda_powertools.metrics import MetricUnit
from botocore.exceptions import BotoCoreError, ClientError

from .alerts import Alert, RunContext, critical_drift_alert, publish, run_errors_alert
from .checks import WorkspaceResult
from .errors import OrchestratorError
from .events import RunRequest
from .execution import MAX_DURATIONS_BYTES, RunManifest
from .observability import logger
from .results import collect, external_ids
from .s3json import read_json
from .summary import (
    AlertEntry,
    Execution,
    RunSummary,
    build_summary,
    find_stored_summary,
    write_summary,
)

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sns import SNSClient

#: The last measured duration of each workspace's check, for lane planning.
DURATIONS_KEY = "runs/durations.json"
#: A workspace's duration not measured for this many days is forgotten.
DURATIONS_KEPT_DAYS = 30
#: Largest ``run.json`` read (a manifest line is ~200 bytes).
MAX_MANIFEST_BYTES = 64 * 1024 * 1024


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


def _string(payload: Mapping[str, Any], key: str) -> str:
    value = payload.get(key)
    if not isinstance(value, str) or not value:
        raise SummarizeError(f"the summarize step's input has no `{key}`: is it invoked by the run state machine?")
    return value


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


def read_secrets(s3: S3Client, bucket: str, items_key: str) -> dict[str, str]:
    """The external ids in the run's items, to redact; empty when unreadable."""
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

    return external_ids(items, read_event)


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
) -> RunSummary:
    """Summarizes the execution ``payload`` describes."""
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
    collected = collect(
        clients.s3, bucket, manifest, map_result, map_failure, read_secrets(clients.s3, bucket, manifest["items_key"])
    )

    started_at = _time(manifest["started_at"])
    request = RunRequest(
        run_id=manifest["run_id"],
        trigger="schedule" if manifest["trigger"] == "schedule" else "manual",
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
    )
    alerts = [
        alert
        for alert in (
            critical_drift_alert(collected.results, context),
            run_errors_alert(collected.results, context),
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
        run_errors=[*manifest["errors"], *collected.errors, *alert_errors],
        alerts=alert_entries,
        execution=Execution(
            arn=execution_arn,
            started_at=execution_started if isinstance(execution_started, str) else None,
        ),
        limits=manifest.get("limits"),
        throttle_retries=collected.throttle_retries,
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
