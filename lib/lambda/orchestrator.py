"""Lambda entrypoint of the drift-detection orchestrator (``orchestrator.handler``).

Invoked by the every-6-hours EventBridge rule, or by hand::

    aws lambda invoke --function-name drift-detection-orchestrator-<suffix> \\
        --cli-binary-format raw-in-base64-out \\
        --payload '{"environments": ["prod"]}' out.json

It reads the inventory, places the selected workspaces in lanes, writes the
run's items and manifest to the report bucket and starts the run state
machine (once per run id: a retried delivery starts nothing). It answers at
once with the run id, the execution ARN and where the summary will be
written; ``"dry_run": true`` answers with the selection instead. The checks,
the summary, the alerts and the run metrics are the state machine's and its
summarize step's (``summarize.handler``). The work is in
:mod:`drift_orchestrator`; this module holds the module-scope Powertools
objects and boto3 clients, and the decorated handler that wires them in.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import boto3

from drift_orchestrator.config import load_config
from drift_orchestrator.events import parse_event, provisional_run_id
from drift_orchestrator.execution import StartedRun
from drift_orchestrator.observability import logger, metrics
from drift_orchestrator.run import Clients, execute_run, utc_now
from drift_orchestrator.summary import RunSummary

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sns import SNSClient
    from mypy_boto3_stepfunctions import SFNClient

# Built once per container; AWS_ENDPOINT_URL (a local moto server) is honoured.
s3_client: S3Client = boto3.client("s3")
sns_client: SNSClient = boto3.client("sns")
sfn_client: SFNClient = boto3.client("stepfunctions")


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> RunSummary | StartedRun:
    """Starts one drift-detection run; answers where to follow it."""
    started_at = utc_now()
    run_id = provisional_run_id(event)
    logger.append_keys(run_id=run_id)
    try:
        request = parse_event(event, started_at, run_id=run_id)
        config = load_config()
        return execute_run(
            request,
            config,
            Clients(s3=s3_client, sns=sns_client, sfn=sfn_client),
            started_at=started_at,
            # The start and the end of a dry run from the same clock, which
            # tests replace here.
            now=utc_now,
        )
    except Exception:
        logger.exception("run failed to start")
        raise
