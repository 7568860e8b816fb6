"""Lambda entrypoint of event-driven checks (``trigger.handler``).

Invoked by an SQS event source mapping (``ReportBatchItemFailures``) on the
queue the stack's EventBridge rules deliver to: CloudTrail write calls
("AWS API Call via CloudTrail") for EC2, RDS, S3 and IAM, and AWS Config
"Configuration Item Change" notifications; and the trigger's own delayed
trailing-check messages. Each message is handled by
:class:`drift_orchestrator.event_checks.Trigger`: a change to a workspace's
resource starts a check of that workspace through the orchestrator's path,
at most one per ``EVENT_CHECK_MIN_INTERVAL_MINUTES``, with a trailing check
for the rest of a burst. A message that cannot be handled now is reported
failed, so SQS delivers it again (then to the queue's DLQ).

Besides the orchestrator's variables it reads ``INDEX_TABLE``,
``TRIGGER_QUEUE_URL``, ``EVENT_CHECK_MIN_INTERVAL_MINUTES`` (1-15, default
10) and ``EVENT_IGNORE_PRINCIPALS`` (comma-separated globs).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any, cast

import boto3
from aws_lambda_powertools import Metrics
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse

from drift_orchestrator.config import load_config
from drift_orchestrator.event_checks import Table, Trigger, TriggerClients, parse_settings
from drift_orchestrator.observability import METRICS_NAMESPACE, logger
from drift_orchestrator.run import utc_now

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
    from aws_lambda_powertools.utilities.typing import LambdaContext
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sns import SNSClient
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_stepfunctions import SFNClient

SERVICE_NAME = "drift-detection-trigger"

# Built once per container; AWS_ENDPOINT_URL (a local moto server) is honoured.
s3_client: S3Client = boto3.client("s3")
sns_client: SNSClient = boto3.client("sns")
sfn_client: SFNClient = boto3.client("stepfunctions")
sqs_client: SQSClient = boto3.client("sqs")
dynamodb_client: Table = cast("Table", boto3.client("dynamodb"))
metrics = Metrics(namespace=METRICS_NAMESPACE, service=SERVICE_NAME)
processor = BatchProcessor(event_type=EventType.SQS)
#: The trigger's clock (tests replace it).
clock: Callable[[], datetime] = utc_now


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    """Handles one SQS batch; answers the messages to deliver again."""
    settings = parse_settings(
        os.environ.get("INDEX_TABLE"),
        os.environ.get("TRIGGER_QUEUE_URL"),
        os.environ.get("EVENT_CHECK_MIN_INTERVAL_MINUTES"),
        os.environ.get("EVENT_IGNORE_PRINCIPALS"),
    )
    trigger = Trigger(
        config=load_config(),
        settings=settings,
        clients=TriggerClients(s3=s3_client, sns=sns_client, sfn=sfn_client, dynamodb=dynamodb_client, sqs=sqs_client),
        metrics=metrics,
        clock=clock,
    )

    def record_handler(record: SQSRecord) -> None:
        logger.append_keys(message_id=record.message_id)
        try:
            trigger.handle(record.body)
        except Exception:
            logger.exception("message not handled: SQS delivers it again")
            raise
        finally:
            logger.remove_keys(["message_id"])

    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
