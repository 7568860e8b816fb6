"""Fixtures: moto S3/SNS/SQS, a scripted worker, captured logs, clean metrics.

The environment is fixed before the orchestrator is imported (its boto3
clients and Powertools objects are built at import, as in Lambda).
"""

from __future__ import annotations

import io
import json
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

for _name in (
    "AWS_PROFILE",
    "AWS_ENDPOINT_URL",
    "AWS_LAMBDA_LOG_LEVEL",
    "POWERTOOLS_METRICS_DISABLED",
    "INVENTORY_S3_URI",
    "WORKSPACES_JSON",
    "UNMANAGED_ALERT",
    "UNMANAGED_IGNORE_JSON",
    "CONFIG_AGGREGATOR_NAME",
    "UNMANAGED_TIME_BUDGET_SECONDS",
):
    os.environ.pop(_name, None)
os.environ.update(
    {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "POWERTOOLS_SERVICE_NAME": "drift-detection-orchestrator",
        "POWERTOOLS_METRICS_NAMESPACE": "DriftDetection",
        "LOG_LEVEL": "INFO",
        # The unmanaged-resource view (on by default in the stack) lists the
        # moto account's resources; the tests of it turn it on.
        "UNMANAGED": "off",
    }
)

import boto3  # noqa: E402 - after the environment is set
import pytest  # noqa: E402
from moto import mock_aws  # noqa: E402

import orchestrator  # noqa: E402
from drift_orchestrator.observability import logger, metrics  # noqa: E402
from tests.local_states import States, states_on_moto  # noqa: E402
from tests.support import REPORT_BUCKET, STATE_MACHINE_ARN, summary_validator  # noqa: E402

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sns import SNSClient
    from mypy_boto3_sqs import SQSClient


@dataclass
class Aws:
    """The moto account a test runs against."""

    s3: S3Client
    sns: SNSClient
    sqs: SQSClient
    topic_arn: str
    queue_url: str

    def messages(self) -> list[dict[str, Any]]:
        """Every SNS message published so far (as SQS received the envelopes)."""
        received: list[dict[str, Any]] = []
        while True:
            batch = self.sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10)
            if not batch.get("Messages"):
                return received
            for message in batch["Messages"]:
                received.append(json.loads(message["Body"]))
                self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])

    def summaries(self) -> dict[str, dict[str, Any]]:
        """Every object under ``runs/`` in the report bucket, parsed."""
        listing = self.s3.list_objects_v2(Bucket=REPORT_BUCKET, Prefix="runs/")
        return {
            item["Key"]: json.loads(self.s3.get_object(Bucket=REPORT_BUCKET, Key=item["Key"])["Body"].read())
            for item in listing.get("Contents", [])
        }

    def all_objects(self) -> list[str]:
        """Every key in the report bucket."""
        listing = self.s3.list_objects_v2(Bucket=REPORT_BUCKET)
        return [item["Key"] for item in listing.get("Contents", [])]


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[Aws]:
    """moto S3, SNS and SQS; the report bucket, the topic, a queue on the topic.

    The orchestrator's module-scope S3 and SNS clients are replaced by ones
    made inside the mock. On the way out, every run summary the test wrote is
    validated against ``schemas/run-summary.v1.json``.
    """
    with mock_aws():
        s3 = boto3.client("s3")
        sns = boto3.client("sns")
        sqs = boto3.client("sqs")
        s3.create_bucket(Bucket=REPORT_BUCKET)
        topic_arn = sns.create_topic(Name="drift-detection-alerts")["TopicArn"]
        queue_url = sqs.create_queue(QueueName="alerts")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn)
        monkeypatch.setattr(orchestrator, "s3_client", s3)
        monkeypatch.setattr(orchestrator, "sns_client", sns)
        monkeypatch.setenv("REPORT_BUCKET", REPORT_BUCKET)
        monkeypatch.setenv("SNS_TOPIC_ARN", topic_arn)
        account = Aws(s3=s3, sns=sns, sqs=sqs, topic_arn=topic_arn, queue_url=queue_url)
        yield account
        validator = summary_validator()
        for key, summary in account.summaries().items():
            errors = [e.message for e in validator.iter_errors(summary)]
            assert not errors, f"{key} breaks the schema: {errors}"


@pytest.fixture
def states(monkeypatch: pytest.MonkeyPatch) -> Iterator[States]:
    """moto with the stack's state machine, the real handlers, a scripted worker."""
    with states_on_moto(monkeypatch) as running:
        yield running


@pytest.fixture
def config_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """The required configuration, minus the inventory (tests set it)."""
    monkeypatch.setenv("STATE_MACHINE_ARN", STATE_MACHINE_ARN)
    monkeypatch.setenv("REPORT_BUCKET", REPORT_BUCKET)
    monkeypatch.setenv("SNS_TOPIC_ARN", "arn:aws:sns:us-east-1:123456789012:drift-detection-alerts")
    return monkeypatch


@pytest.fixture
def inventory(config_env: pytest.MonkeyPatch) -> Any:
    """Sets ``WORKSPACES_JSON`` to the entries given."""

    def set_inventory(entries: list[dict[str, Any]]) -> None:
        config_env.setenv("WORKSPACES_JSON", json.dumps(entries))

    return set_inventory


class Logs:
    """The orchestrator's log output during a test."""

    def __init__(self) -> None:
        self.stream = io.StringIO()

    def lines(self) -> list[dict[str, Any]]:
        """Every line, parsed (each must be JSON)."""
        return [json.loads(line) for line in self.stream.getvalue().splitlines() if line]

    def text(self) -> str:
        """The raw output."""
        return self.stream.getvalue()


@pytest.fixture
def logs() -> Iterator[Logs]:
    """Captures the module-scope Logger's output."""
    captured = Logs()
    handler = logger.registered_handler
    assert isinstance(handler, logging.StreamHandler)
    previous = handler.setStream(captured.stream)
    try:
        yield captured
    finally:
        handler.setStream(previous)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every warning in these tests is an error, bar the one production silences too.

    Set here rather than in a root pytest configuration, which would reach
    the repository's other Python test suites.
    """
    here = Path(__file__).parent
    for item in items:
        if here in item.path.parents:
            item.add_marker(pytest.mark.filterwarnings("error"))
            # Runs that measure nothing on purpose (observability.py).
            item.add_marker(pytest.mark.filterwarnings("ignore:No application metrics to publish:UserWarning"))


@pytest.fixture(autouse=True)
def clean_metrics() -> Iterator[None]:
    """No metric leaks from one test into the next."""
    metrics.clear_metrics()
    yield
    metrics.clear_metrics()
