"""Lambda entrypoint of the run's summarize step (``summarize.handler``).

The run state machine's last state invokes it with the execution's input and
the map's results (see ``modules/state-machine/definition.asl.json``). It
writes the run summary, sends at most one critical-drift and one error
message, emits the run metrics, and answers with the summary's key and
totals, which become the execution's output. The work is in
:mod:`drift_orchestrator.finish`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import boto3

from drift_orchestrator.config import load_summarize_config
from drift_orchestrator.finish import Finished, SummarizeClients, finish_run
from drift_orchestrator.observability import logger, metrics
from drift_orchestrator.run import utc_now

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sns import SNSClient

# Built once per container; AWS_ENDPOINT_URL (a local moto server) is honoured.
s3_client: S3Client = boto3.client("s3")
sns_client: SNSClient = boto3.client("sns")


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> Finished:
    """Summarizes one run's execution."""
    run = event.get("run") if isinstance(event, dict) else None
    if isinstance(run, dict) and isinstance(run.get("run_id"), str):
        logger.append_keys(run_id=run["run_id"])
    try:
        config = load_summarize_config()
        summary = finish_run(
            event,
            bucket=config.report_bucket,
            topic_arn=config.sns_topic_arn,
            clients=SummarizeClients(s3=s3_client, sns=sns_client),
            metrics=metrics,
            now=utc_now,
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
