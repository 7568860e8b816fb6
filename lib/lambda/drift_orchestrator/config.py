"""The orchestrator's and the summarize step's configuration, from their environment.

Every variable is read here, with the literal ``os.environ.get("NAME")``
pattern that the stack's consistency test looks for, and validated as a
whole: one :class:`~.errors.ConfigError` names every missing or bad variable.
``POWERTOOLS_SERVICE_NAME`` and ``POWERTOOLS_METRICS_NAMESPACE`` are read in
``orchestrator.py``, where the module-scope Logger and Metrics are built.

Orchestrator defaults: ``MAX_CONCURRENCY`` 40 (lanes in flight: the map's
``MaxConcurrency``), ``MAX_CONCURRENCY_PER_ACCOUNT`` 5 and
``MAX_CONCURRENCY_PER_REGION`` 5 (checks in flight in one account, and in
one region of it), ``LOG_LEVEL`` INFO. ``STATE_MACHINE_ARN``,
``REPORT_BUCKET``, ``SNS_TOPIC_ARN`` and exactly one of ``INVENTORY_S3_URI``
and ``WORKSPACES_JSON`` are required. The summarize step needs
``REPORT_BUCKET`` and ``SNS_TOPIC_ARN``.

The summarize step's unmanaged-resource view (:mod:`.unmanaged`,
:mod:`.cloud_inventory`): ``UNMANAGED`` ``on`` (default) or ``off``;
``UNMANAGED_ALERT`` ``on`` or ``off`` (default); ``UNMANAGED_IGNORE_JSON``, a
JSON list of ignore rules added to the embedded ones; ``CONFIG_AGGREGATOR_NAME``,
an AWS Config aggregator to read the inventory from (optional);
``UNMANAGED_TIME_BUDGET_SECONDS``, 1 to 900 (default 300), the inventory's
time budget. Only the summarize function has them, so ``summarize.py`` reads
them (the stack's consistency test counts this package's reads as the
orchestrator function's) and :func:`load_summarize_config` validates them. A
fault in these does not stop the summary: the view is skipped and the
summary says why (:attr:`SummarizeConfig.unmanaged_error`).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

from .errors import ConfigError
from .lanes import DISTRIBUTED_MAP_MAX_CONCURRENCY
from .unmanaged import IgnoreRule, parse_ignore_rules

#: Lanes in flight at once when ``MAX_CONCURRENCY`` is unset.
DEFAULT_MAX_CONCURRENCY = 40
#: Checks in flight in one account when ``MAX_CONCURRENCY_PER_ACCOUNT`` is unset.
DEFAULT_MAX_CONCURRENCY_PER_ACCOUNT = 5
#: Checks in flight in one region of an account when ``MAX_CONCURRENCY_PER_REGION`` is unset.
DEFAULT_MAX_CONCURRENCY_PER_REGION = 5
#: Upper bound of the per-account and per-region settings.
PER_SCOPE_CONCURRENCY_LIMIT = 1000
#: The inventory's time budget when ``UNMANAGED_TIME_BUDGET_SECONDS`` is unset.
DEFAULT_UNMANAGED_TIME_BUDGET_SECONDS = 300
#: A Lambda function runs 900 seconds at most.
MAX_UNMANAGED_TIME_BUDGET_SECONDS = 900
_AGGREGATOR_NAME = re.compile(r"^[\w\-]{1,256}$")

_STATE_MACHINE_ARN = re.compile(
    r"^arn:aws[a-z-]*:states:[a-z]{2}(-[a-z]+)+-\d+:\d{12}:stateMachine:[A-Za-z0-9_-]{1,80}$"
)
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
    """The orchestrator's validated environment."""

    #: The run state machine (its ARN names the executions too).
    state_machine_arn: str
    #: Bucket of the run's items, manifest and summary.
    report_bucket: str
    #: Topic for the alert of a run that could not start.
    sns_topic_arn: str
    #: Where the workspace inventory is read from.
    inventory: S3Location | InlineInventory
    #: Lanes in flight at once (the map's ``MaxConcurrency``).
    max_concurrency: int
    #: Checks in flight at once in one account.
    max_concurrency_per_account: int
    #: Checks in flight at once in one region of one account.
    max_concurrency_per_region: int
    #: The log level (already applied to the module-scope Logger).
    log_level: str


@dataclass(frozen=True)
class SummarizeConfig:
    """The summarize step's validated environment."""

    report_bucket: str
    sns_topic_arn: str
    log_level: str
    #: Whether the unmanaged-resource view runs (``UNMANAGED``).
    unmanaged: bool = True
    #: Whether it may send its alert (``UNMANAGED_ALERT``).
    unmanaged_alert: bool = False
    #: The user's ignore rules (``UNMANAGED_IGNORE_JSON``), after the embedded ones.
    unmanaged_ignore: tuple[IgnoreRule, ...] = ()
    #: The Config aggregator to read the inventory from (``CONFIG_AGGREGATOR_NAME``).
    config_aggregator_name: str | None = None
    #: The inventory's time budget (``UNMANAGED_TIME_BUDGET_SECONDS``).
    unmanaged_time_budget_seconds: int = DEFAULT_UNMANAGED_TIME_BUDGET_SECONDS
    #: Why the view's configuration is unusable; it is then skipped with this error.
    unmanaged_error: str | None = None


def _positive_int(name: str, text: str, low: int, high: int, faults: list[str]) -> int:
    try:
        value = int(text.strip())
    except ValueError:
        value = low - 1
    if not low <= value <= high:
        faults.append(f"{name} {text!r} must be a whole number from {low} to {high}")
        return low
    return value


def _bucket_topic_level(faults: list[str]) -> tuple[str, str, str]:
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

    log_level = os.environ.get("LOG_LEVEL", "INFO").strip().upper() or "INFO"
    if log_level not in _LOG_LEVELS:
        faults.append(f"LOG_LEVEL {log_level!r} must be one of {', '.join(_LOG_LEVELS)}")
    return bucket, topic, log_level


def load_config() -> Config:
    """Reads and validates the orchestrator's environment; raises :class:`ConfigError`."""
    faults: list[str] = []

    state_machine = os.environ.get("STATE_MACHINE_ARN", "").strip()
    if not state_machine:
        faults.append("STATE_MACHINE_ARN is not set")
    elif not _STATE_MACHINE_ARN.match(state_machine):
        faults.append(f"STATE_MACHINE_ARN {state_machine!r} is not a Step Functions state machine ARN")

    bucket, topic, log_level = _bucket_topic_level(faults)

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
        DISTRIBUTED_MAP_MAX_CONCURRENCY,
        faults,
    )
    per_account = _positive_int(
        "MAX_CONCURRENCY_PER_ACCOUNT",
        os.environ.get("MAX_CONCURRENCY_PER_ACCOUNT", str(DEFAULT_MAX_CONCURRENCY_PER_ACCOUNT)),
        1,
        PER_SCOPE_CONCURRENCY_LIMIT,
        faults,
    )
    per_region = _positive_int(
        "MAX_CONCURRENCY_PER_REGION",
        os.environ.get("MAX_CONCURRENCY_PER_REGION", str(DEFAULT_MAX_CONCURRENCY_PER_REGION)),
        1,
        PER_SCOPE_CONCURRENCY_LIMIT,
        faults,
    )

    if faults:
        raise ConfigError("invalid configuration: " + "; ".join(faults))
    return Config(
        state_machine_arn=state_machine,
        report_bucket=bucket,
        sns_topic_arn=topic,
        inventory=inventory,
        max_concurrency=max_concurrency,
        max_concurrency_per_account=per_account,
        max_concurrency_per_region=per_region,
        log_level=log_level,
    )


def _switch(name: str, text: str | None, default: bool, faults: list[str]) -> bool:
    value = (text or "").strip().lower()
    if not value:
        return default
    if value not in ("on", "off"):
        faults.append(f"{name} {text!r} must be on or off")
        return default
    return value == "on"


@dataclass(frozen=True)
class UnmanagedVariables:
    """The unmanaged-resource view's variables as set (``None``: unset), read by ``summarize.py``."""

    unmanaged: str | None = None
    alert: str | None = None
    ignore_json: str | None = None
    aggregator_name: str | None = None
    time_budget_seconds: str | None = None


def load_summarize_config(variables: UnmanagedVariables | None = None) -> SummarizeConfig:
    """Reads and validates the summarize step's environment; raises :class:`ConfigError`.

    Faults of the unmanaged-resource ``variables`` do not raise: they land in
    ``unmanaged_error``, so the run summary is still written.
    """
    variables = variables or UnmanagedVariables()
    faults: list[str] = []
    bucket, topic, log_level = _bucket_topic_level(faults)
    if faults:
        raise ConfigError("invalid configuration: " + "; ".join(faults))

    unmanaged_faults: list[str] = []
    unmanaged = _switch("UNMANAGED", variables.unmanaged, True, unmanaged_faults)
    alert = _switch("UNMANAGED_ALERT", variables.alert, False, unmanaged_faults)
    aggregator = (variables.aggregator_name or "").strip() or None
    if aggregator is not None and not _AGGREGATOR_NAME.match(aggregator):
        unmanaged_faults.append(f"CONFIG_AGGREGATOR_NAME {aggregator!r} is not a Config aggregator name")
    budget = _positive_int(
        "UNMANAGED_TIME_BUDGET_SECONDS",
        variables.time_budget_seconds or str(DEFAULT_UNMANAGED_TIME_BUDGET_SECONDS),
        1,
        MAX_UNMANAGED_TIME_BUDGET_SECONDS,
        unmanaged_faults,
    )
    ignore: tuple[IgnoreRule, ...] = ()
    try:
        ignore = parse_ignore_rules(variables.ignore_json or "")
    except ConfigError as e:
        unmanaged_faults.append(str(e).removeprefix("invalid configuration: "))
    return SummarizeConfig(
        report_bucket=bucket,
        sns_topic_arn=topic,
        log_level=log_level,
        unmanaged=unmanaged,
        unmanaged_alert=alert,
        unmanaged_ignore=ignore,
        config_aggregator_name=aggregator,
        unmanaged_time_budget_seconds=budget,
        unmanaged_error="invalid configuration: " + "; ".join(unmanaged_faults) if unmanaged_faults else None,
    )


def log_level_or_default(text: str | None) -> str:
    """The level for the module-scope Logger: ``text`` when valid, else INFO.

    A bad ``LOG_LEVEL`` must not stop logging; :func:`load_config` reports it.
    """
    level = (text or "INFO").strip().upper()
    return level if level in _LOG_LEVELS else "INFO"
