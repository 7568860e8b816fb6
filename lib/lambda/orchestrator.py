"""Lambda entrypoint of the drift-detection orchestrator (``orchestrator.handler``).

Invoked by the every-6-hours EventBridge rule, or by hand::

    aws lambda invoke --function-name drift-detection-orchestrator \\
        --cli-binary-format raw-in-base64-out \\
        --payload '{"environments": ["prod"], "dry_run": true}' out.json

It fans out to the Rust worker (one synchronous invocation per workspace),
writes one run summary to the report bucket, publishes at most one
critical-drift and one error message, and emits five metrics. The work is in
:mod:`drift_orchestrator`; this module holds the module-scope Powertools
objects and boto3 clients, and the decorated handler that wires them in.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config as BotoConfig

from drift_orchestrator.config import LAMBDA_MAX_TIMEOUT_SECONDS, MAX_CONCURRENCY_LIMIT, load_config
from drift_orchestrator.events import parse_event, provisional_run_id
from drift_orchestrator.fanout import Budget
from drift_orchestrator.observability import logger, metrics
from drift_orchestrator.run import Clients, execute_run, utc_now
from drift_orchestrator.summary import RunSummary

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext
    from mypy_boto3_lambda import LambdaClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sns import SNSClient

#: The worker is invoked synchronously and may run up to Lambda's 900 s limit:
#: the read timeout outlasts it, botocore's own retries are off (the fan-out
#: retries within its deadline budget, and a blind retry would run a check
#: twice), keep-alive holds the long idle connection open, and the pool holds
#: as many connections as the concurrency bound allows.
LAMBDA_CLIENT_CONFIG = BotoConfig(
    read_timeout=LAMBDA_MAX_TIMEOUT_SECONDS + 60,
    connect_timeout=10,
    retries={"total_max_attempts": 1},
    tcp_keepalive=True,
    max_pool_connections=MAX_CONCURRENCY_LIMIT,
)

# Built once per container; AWS_ENDPOINT_URL (a local moto server) is honoured.
s3_client: S3Client = boto3.client("s3")
sns_client: SNSClient = boto3.client("sns")
lambda_client: LambdaClient = boto3.client("lambda", config=LAMBDA_CLIENT_CONFIG)


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> RunSummary:
    """Runs one drift-detection run and returns its summary."""
    deadline = time.monotonic() + context.get_remaining_time_in_millis() / 1000
    started_at = utc_now()
    run_id = provisional_run_id(event)
    logger.append_keys(run_id=run_id)
    try:
        request = parse_event(event, started_at, run_id=run_id)
        config = load_config()
        return execute_run(
            request,
            config,
            Clients(s3=s3_client, sns=sns_client, lambda_=lambda_client),
            Budget(deadline=deadline, worker_timeout_seconds=config.worker_timeout_seconds),
            metrics,
            started_at=started_at,
            # The start and the end of the run from the same clock, which
            # tests replace here.
            now=utc_now,
        )
    except Exception:
        logger.exception("run failed")
        raise
