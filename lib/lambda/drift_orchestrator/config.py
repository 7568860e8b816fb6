"""The orchestrator's configuration, read from its environment.

Every variable is read here, with the literal ``os.environ.get("NAME")``
pattern that the stack's consistency test looks for, and validated as a
whole: one :class:`~.errors.ConfigError` names every missing or bad variable.
``POWERTOOLS_SERVICE_NAME`` and ``POWERTOOLS_METRICS_NAMESPACE`` are read in
``orchestrator.py``, where the module-scope Logger and Metrics are built.

Defaults: ``MAX_CONCURRENCY`` 8, ``LOG_LEVEL`` INFO. Everything else is
required, and exactly one of ``INVENTORY_S3_URI`` and ``WORKSPACES_JSON``.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

from .errors import ConfigError

#: Worker invocations in flight at once when ``MAX_CONCURRENCY`` is unset.
DEFAULT_MAX_CONCURRENCY = 8
#: The Lambda client's connection pool holds this many connections, so the
#: concurrency bound cannot exceed it.
MAX_CONCURRENCY_LIMIT = 64
#: Lambda's own ceiling on a function timeout.
LAMBDA_MAX_TIMEOUT_SECONDS = 900

_LAMBDA_ARN = re.compile(
    r"^arn:aws[a-z-]*:lambda:[a-z]{2}(-[a-z]+)+-\d+:\d{12}:function:[A-Za-z0-9_-]{1,64}"
    r"(:[A-Za-z0-9_$-]{1,128})?$"
)
_LAMBDA_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}(:[A-Za-z0-9_$-]{1,128})?$")
_SNS_ARN = re.compile(r"^arn:aws[a-z-]*:sns:[a-z]{2}(-[a-z]+)+-\d+:\d{12}:[A-Za-z0-9_-]{1,256}$")
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


@dataclass(frozen=True)
class S3Location:
    """An object in S3."""

    bucket: str
    key: str

    @property
    def uri(self) -> str:
        """``s3://bucket/key``."""
        return f"s3://{self.bucket}/{self.key}"

    @classmethod
    def parse(cls, uri: str) -> S3Location | None:
        """Parses ``s3://bucket/key``; ``None`` when either part is missing."""
        if not uri.startswith("s3://"):
            return None
        bucket, _, key = uri[len("s3://") :].partition("/")
        if not bucket or not key:
            return None
        return cls(bucket=bucket, key=key)


@dataclass(frozen=True)
class InlineInventory:
    """The inventory document itself, from ``WORKSPACES_JSON``."""

    text: str

    @property
    def origin(self) -> str:
        """Where the inventory came from, for messages."""
        return "WORKSPACES_JSON"


@dataclass(frozen=True)
class Config:
    """The validated environment."""

    #: ARN (or name, for local tests) of the Rust worker function.
    worker_function_arn: str
    #: Bucket the run summaries go to (``runs/YYYY/MM/DD/<run_id>.json``).
    report_bucket: str
    #: Topic for the aggregated alerts.
    sns_topic_arn: str
    #: Where the workspace inventory is read from.
    inventory: S3Location | InlineInventory
    #: Worker invocations in flight at once.
    max_concurrency: int
    #: The worker function's configured timeout; budgets the deadline.
    worker_timeout_seconds: float
    #: The log level (already applied to the module-scope Logger).
    log_level: str


def _positive_int(name: str, text: str, low: int, high: int, faults: list[str]) -> int:
    try:
        value = int(text.strip())
    except ValueError:
        value = low - 1
    if not low <= value <= high:
        faults.append(f"{name} {text!r} must be a whole number from {low} to {high}")
        return low
    return value


def load_config() -> Config:
    """Reads and validates the environment; raises :class:`ConfigError`."""
    faults: list[str] = []

    worker = os.environ.get("WORKER_FUNCTION_ARN", "").strip()
    if not worker:
        faults.append("WORKER_FUNCTION_ARN is not set")
    elif not (_LAMBDA_ARN.match(worker) or _LAMBDA_NAME.match(worker)):
        faults.append(f"WORKER_FUNCTION_ARN {worker!r} is not a Lambda function ARN or name")

    bucket = os.environ.get("REPORT_BUCKET", "").strip()
    if not bucket:
        faults.append("REPORT_BUCKET is not set")
    elif not _BUCKET.match(bucket):
        faults.append(f"REPORT_BUCKET {bucket!r} is not an S3 bucket name")

    topic = os.environ.get("SNS_TOPIC_ARN", "").strip()
    if not topic:
        faults.append("SNS_TOPIC_ARN is not set")
    elif not _SNS_ARN.match(topic):
        faults.append(f"SNS_TOPIC_ARN {topic!r} is not a standard SNS topic ARN")

    inventory_uri = os.environ.get("INVENTORY_S3_URI", "").strip()
    inventory_json = os.environ.get("WORKSPACES_JSON", "")
    inventory: S3Location | InlineInventory = InlineInventory("[]")
    if inventory_uri and inventory_json.strip():
        faults.append("both INVENTORY_S3_URI and WORKSPACES_JSON are set; set exactly one")
    elif inventory_uri:
        location = S3Location.parse(inventory_uri)
        if location is None:
            faults.append(f"INVENTORY_S3_URI {inventory_uri!r} must be s3://BUCKET/KEY")
        else:
            inventory = location
    elif inventory_json.strip():
        inventory = InlineInventory(inventory_json)
    else:
        faults.append("neither INVENTORY_S3_URI nor WORKSPACES_JSON is set; set exactly one")

    max_concurrency = _positive_int(
        "MAX_CONCURRENCY",
        os.environ.get("MAX_CONCURRENCY", str(DEFAULT_MAX_CONCURRENCY)),
        1,
        MAX_CONCURRENCY_LIMIT,
        faults,
    )

    timeout_text = os.environ.get("WORKER_TIMEOUT_SECONDS", "").strip()
    worker_timeout = float(LAMBDA_MAX_TIMEOUT_SECONDS)
    if not timeout_text:
        faults.append("WORKER_TIMEOUT_SECONDS is not set (the worker function's timeout)")
    else:
        worker_timeout = _positive_int("WORKER_TIMEOUT_SECONDS", timeout_text, 1, LAMBDA_MAX_TIMEOUT_SECONDS, faults)

    log_level = os.environ.get("LOG_LEVEL", "INFO").strip().upper() or "INFO"
    if log_level not in _LOG_LEVELS:
        faults.append(f"LOG_LEVEL {log_level!r} must be one of {', '.join(_LOG_LEVELS)}")

    if faults:
        raise ConfigError("invalid configuration: " + "; ".join(faults))
    return Config(
        worker_function_arn=worker,
        report_bucket=bucket,
        sns_topic_arn=topic,
        inventory=inventory,
        max_concurrency=max_concurrency,
        worker_timeout_seconds=float(worker_timeout),
        log_level=log_level,
    )


def log_level_or_default(text: str | None) -> str:
    """The level for the module-scope Logger: ``text`` when valid, else INFO.

    A bad ``LOG_LEVEL`` must not stop logging; :func:`load_config` reports it.
    """
    level = (text or "INFO").strip().upper()
    return level if level in _LOG_LEVELS else "INFO"
