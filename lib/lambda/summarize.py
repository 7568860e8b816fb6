"""Lambda entrypoint of the run's summarize step (``summarize.handler``).

The run state machine's last state invokes it with the execution's input and
the map's results (see ``modules/state-machine/definition.asl.json``). It
writes the run summary, sends at most one critical-drift and one error
message, unless ``UNMANAGED=off`` compares the checked states with the
inventory of their accounts (``unmanaged/<run_id>.json``; with
``UNMANAGED_ALERT=on`` one more message), emits the run metrics, and answers
with the summary's key and totals, which become the execution's output. The
work is in :mod:`drift_orchestrator.finish`; the variables are in
:mod:`drift_orchestrator.config`.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

import boto3

from drift_orchestrator.config import UnmanagedVariables, load_summarize_config
from drift_orchestrator.finish import Finished, SummarizeClients, UnmanagedSettings, finish_run
from drift_orchestrator.observability import logger, metrics
from drift_orchestrator.run import utc_now

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sns import SNSClient

# Built once per container; AWS_ENDPOINT_URL (a local moto server) is honoured.
s3_client: S3Client = boto3.client("s3")
sns_client: SNSClient = boto3.client("sns")


def unmanaged_variables() -> UnmanagedVariables:
    """The unmanaged-resource view's variables (validated by ``load_summarize_config``).

    Read here, not in the shared package: only the summarize function has them.
    """
    return UnmanagedVariables(
        unmanaged=os.environ.get("UNMANAGED"),
        alert=os.environ.get("UNMANAGED_ALERT"),
        ignore_json=os.environ.get("UNMANAGED_IGNORE_JSON"),
        aggregator_name=os.environ.get("CONFIG_AGGREGATOR_NAME"),
        time_budget_seconds=os.environ.get("UNMANAGED_TIME_BUDGET_SECONDS"),
    )


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> Finished:
    """Summarizes one run's execution."""
    run = event.get("run") if isinstance(event, dict) else None
    if isinstance(run, dict) and isinstance(run.get("run_id"), str):
        logger.append_keys(run_id=run["run_id"])
    try:
        config = load_summarize_config(unmanaged_variables())
        summary = finish_run(
            event,
            bucket=config.report_bucket,
            topic_arn=config.sns_topic_arn,
            clients=SummarizeClients(s3=s3_client, sns=sns_client),
            metrics=metrics,
            now=utc_now,
            unmanaged=UnmanagedSettings(
                alert=config.unmanaged_alert,
                ignore=config.unmanaged_ignore,
                aggregator_name=config.config_aggregator_name,
                time_budget_seconds=config.unmanaged_time_budget_seconds,
                error=config.unmanaged_error,
            )
            if config.unmanaged
            else None,
            remaining_seconds=lambda: context.get_remaining_time_in_millis() / 1000,
        )
    except Exception:
        logger.exception("run summary failed")
        raise
    return Finished(
        run_id=summary["run_id"],
        summary_key=summary["summary_key"] or "",
        totals=dict(summary["totals"]),
        throttle_retries=summary.get("throttle_retries", 0),
    )
