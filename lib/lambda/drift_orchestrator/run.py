"""One run, from a parsed request to a written summary.

:func:`execute_run` is what the handler calls, with the module-scope clients
and Metrics passed in (tests pass stubbed ones):

1. a scheduled run whose summary already exists (a retried delivery of the
   same EventBridge event) returns that summary and does nothing else;
2. the inventory is read and validated, and the request's filters applied;
3. a dry run stops there and returns the selection: nothing is invoked,
   written, published or measured;
4. the fan-out checks every selected workspace within the deadline budget;
5. the five metrics are added (zeros included), at most one critical-drift
   and one error message are published, and the summary is written last,
   recording which messages went out.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from aws_lambda_powertools import Metrics
from aws_lambda_powertools.metrics import MetricUnit
from botocore.exceptions import BotoCoreError, ClientError

from .alerts import (
    Alert,
    RunContext,
    critical_drift_alert,
    publish,
    run_errors_alert,
    run_failed_alert,
)
from .config import Config, S3Location
from .errors import OrchestratorError
from .events import RunRequest, select
from .fanout import Budget, Fanout, RetryPolicy, WorkspaceResult
from .inventory import Workspace, load_inventory
from .observability import logger
from .summary import (
    AlertEntry,
    RunSummary,
    build_summary,
    find_stored_summary,
    rfc3339,
    summary_key,
    write_summary,
)

if TYPE_CHECKING:
    from mypy_boto3_lambda import LambdaClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sns import SNSClient


@dataclass(frozen=True)
class Clients:
    """The AWS clients a run uses."""

    s3: S3Client
    sns: SNSClient
    lambda_: LambdaClient


def utc_now() -> datetime:
    """The current time, in UTC."""
    return datetime.now(UTC)


def record_metrics(metrics: Metrics, summary: RunSummary) -> None:
    """Adds the run's five metrics, zeros included."""
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
    metrics.add_metric(name="RunDurationSeconds", unit=MetricUnit.Seconds, value=summary["duration_seconds"])


def _publish_all(sns: SNSClient, topic_arn: str, alerts: list[Alert]) -> tuple[list[AlertEntry], list[str]]:
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


def _load_selection(request: RunRequest, config: Config, clients: Clients) -> list[Workspace]:
    inventory = load_inventory(config.inventory, clients.s3)
    if not inventory:
        logger.warning("the inventory lists no workspaces", extra={"inventory": _origin(config)})
    return select(inventory, request)


def _origin(config: Config) -> str:
    inventory = config.inventory
    return inventory.uri if isinstance(inventory, S3Location) else inventory.origin


def _dry_run(
    request: RunRequest,
    config: Config,
    selection: list[Workspace],
    started_at: datetime,
    now: Callable[[], datetime],
) -> RunSummary:
    results = [WorkspaceResult(workspace=w, status="skipped") for w in selection]
    logger.info(
        "dry run: would check these workspaces",
        extra={
            "count": len(selection),
            "workspaces": [
                {
                    "name": w.name,
                    "environment": w.environment,
                    "account_id": w.account_id,
                    "region": w.region,
                }
                for w in selection
            ],
        },
    )
    return build_summary(
        request=request,
        inventory_origin=_origin(config),
        results=results,
        started_at=started_at,
        finished_at=now(),
        key=None,
    )


def execute_run(
    request: RunRequest,
    config: Config,
    clients: Clients,
    budget: Budget,
    metrics: Metrics,
    *,
    started_at: datetime,
    now: Callable[[], datetime] = utc_now,
    sleep: Callable[[float], None] = time.sleep,
    rng: random.Random | None = None,
    policy: RetryPolicy | None = None,
) -> RunSummary:
    """Runs the request; returns the summary (stored, for a replayed event)."""
    key = summary_key(request.run_id, request.reference_time)
    if request.trigger == "schedule" and not request.dry_run:
        stored = find_stored_summary(clients.s3, config.report_bucket, key)
        if stored is not None:
            logger.info(
                "this run already finished (a retried delivery); returning its summary",
                extra={"summary_key": key},
            )
            return stored

    try:
        selection = _load_selection(request, config, clients)
    except OrchestratorError as e:
        if request.trigger == "schedule":
            alert = run_failed_alert(request.run_id, rfc3339(started_at), str(e))
            _publish_all(clients.sns, config.sns_topic_arn, [alert])
        raise

    if request.dry_run:
        return _dry_run(request, config, selection, started_at, now)

    logger.info(
        "run started",
        extra={
            "trigger": request.trigger,
            "workspaces": len(selection),
            "max_concurrency": config.max_concurrency,
            "seconds_left": round(budget.remaining(), 1),
            "seconds_needed_per_check": budget.needed_to_start,
        },
    )
    run_errors: list[str] = []
    if selection and budget.slack() < 0:
        run_errors.append(
            f"the orchestrator had {max(budget.remaining(), 0):.0f}s left at the start, less "
            f"than the {budget.needed_to_start:.0f}s one check needs: raise the orchestrator's "
            "timeout or lower the worker's (WORKER_TIMEOUT_SECONDS)"
        )
    fanout = Fanout(
        lambda_client=clients.lambda_,
        function_name=config.worker_function_arn,
        run_id=request.run_id,
        run_started_at=rfc3339(request.reference_time),
        budget=budget,
        mode=request.mode,
        policy=policy or RetryPolicy(),
        sleep=sleep,
        rng=rng or random.Random(),
    )
    results = fanout.run(selection, config.max_concurrency)

    context = RunContext(
        run_id=request.run_id,
        trigger=request.trigger,
        started_at=rfc3339(started_at),
        summary_uri=f"s3://{config.report_bucket}/{key}",
        report_bucket=config.report_bucket,
    )
    alerts = [
        alert
        for alert in (critical_drift_alert(results, context), run_errors_alert(results, context))
        if alert is not None
    ]
    alert_entries, alert_errors = _publish_all(clients.sns, config.sns_topic_arn, alerts)
    summary = build_summary(
        request=request,
        inventory_origin=_origin(config),
        results=results,
        started_at=started_at,
        finished_at=now(),
        key=key,
        run_errors=run_errors + alert_errors,
        alerts=alert_entries,
    )
    record_metrics(metrics, summary)
    write_summary(clients.s3, config.report_bucket, key, summary)
    logger.info(
        "run finished",
        extra={
            "summary_key": key,
            "totals": summary["totals"],
            "alerts": [a["kind"] for a in alert_entries if a["message_id"]],
        },
    )
    return summary
