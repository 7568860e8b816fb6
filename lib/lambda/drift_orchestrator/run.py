"""One run, from a parsed request to a started execution.

:func:`execute_run` is what the orchestrator's handler calls, with the
module-scope clients passed in (tests pass moto's or stubbed ones):

1. the inventory is read and validated, and the request's filters applied
   (a scheduled run whose inventory cannot be read sends the one
   run-failed alert);
2. a dry run stops there and returns the selection as a summary: nothing is
   written, started, published or measured;
3. the selection is placed in lanes (:mod:`.lanes`), the run's items and
   manifest are written, and the state machine's execution is started, once
   per run id (:mod:`.execution`); the answer says where to follow it.

The checks, the summary, the alerts and the run metrics are the state
machine's and the summarize step's (:mod:`.finish`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from .alerts import run_failed_alert
from .checks import WorkspaceResult
from .config import Config, S3Location
from .errors import OrchestratorError
from .events import RunRequest, select
from .execution import StartedRun, plan_run, read_estimates, start_run
from .finish import DURATIONS_KEY, publish_all
from .inventory import Workspace, load_inventory
from .lanes import Limits
from .observability import logger
from .summary import RunSummary, build_summary, rfc3339, summary_key

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sns import SNSClient
    from mypy_boto3_stepfunctions import SFNClient


@dataclass(frozen=True)
class Clients:
    """The AWS clients a run uses."""

    s3: S3Client
    sns: SNSClient
    sfn: SFNClient


def utc_now() -> datetime:
    """The current time, in UTC."""
    return datetime.now(UTC)


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


def limits(config: Config) -> Limits:
    """The run's concurrency bounds."""
    return Limits(
        max_concurrency=config.max_concurrency,
        per_account=config.max_concurrency_per_account,
        per_region=config.max_concurrency_per_region,
    )


def execute_run(
    request: RunRequest,
    config: Config,
    clients: Clients,
    *,
    started_at: datetime,
    now: Callable[[], datetime] = utc_now,
) -> RunSummary | StartedRun:
    """Starts the request's run; a dry run returns the selection instead."""
    try:
        selection = _load_selection(request, config, clients)
    except OrchestratorError as e:
        if request.trigger == "schedule":
            alert = run_failed_alert(request.run_id, rfc3339(started_at), str(e))
            publish_all(clients.sns, config.sns_topic_arn, [alert])
        raise

    if request.dry_run:
        return _dry_run(request, config, selection, started_at, now)

    run_limits = limits(config)
    plan = plan_run(
        selection=selection,
        limits=run_limits,
        estimates=read_estimates(clients.s3, config.report_bucket, DURATIONS_KEY),
        run_id=request.run_id,
        trigger=request.trigger,
        started_at=rfc3339(started_at),
        run_started_at=rfc3339(request.reference_time),
        reference_time=request.reference_time,
        mode=request.mode,
        filters=request.filters(),
        inventory=_origin(config),
        summary_key=summary_key(request.run_id, request.reference_time),
        trigger_info=request.trigger_info(),
    )
    started = start_run(
        plan,
        s3=clients.s3,
        sfn=clients.sfn,
        bucket=config.report_bucket,
        state_machine_arn=config.state_machine_arn,
    )
    logger.info(
        "run started" if started["status"] == "started" else "run already started",
        extra={
            "trigger": request.trigger,
            "trigger_events": [e["id"] for e in request.trigger_events],
            "workspaces": started["workspaces"],
            "lanes": started["lanes"],
            "refused": len(plan.manifest["rejected"]),
            "max_concurrency": run_limits.max_concurrency,
            "max_concurrency_per_account": run_limits.per_account,
            "max_concurrency_per_region": run_limits.per_region,
            "execution_arn": started["execution_arn"],
            "summary_uri": started["summary_uri"],
        },
    )
    return started
