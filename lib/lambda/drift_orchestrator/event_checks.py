"""Event-driven checks: one SQS message in, at most one check started per workspace.

What ``trigger.handler`` does with each message of its SQS batch (the queue
the stack's EventBridge rules deliver to, and its own trailing messages):

1. a change event (:mod:`.change_events`) is normalised; an unreadable one
   is dropped and logged, a read-only one or one by an ignored principal is
   ignored;
2. the workspaces managing what it names are looked up in the resource
   index (:mod:`.resource_index`); none: the event is stored under
   ``unmanaged/events/YYYY/MM/DD/<event-id>.json`` in the report bucket for
   the unmanaged-resource view;
3. per workspace, the debounce item (:mod:`.debounce`) decides: start a
   check now, or append the event to the pending ones and, for the first,
   send ONE delayed trailing message;
4. a check starts through the scheduled runs' path (:func:`~.run.execute_run`):
   a run selecting exactly that workspace, ``trigger`` ``event`` with the
   changes, its run id derived from the workspace and the newest event (so
   a redelivery starts nothing: the start is idempotent by run id).

A message whose handling fails (DynamoDB, S3, SQS, Step Functions errors,
or writes that kept losing to concurrent ones) raises, so the batch reports
it failed and SQS delivers it again; everything else returns.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal, Protocol

from aws_lambda_powertools.metrics import MetricUnit

from .change_events import ChangeEvent, Dropped, Ignored, IgnorePrincipals, parse_body
from .config import Config
from .debounce import TRAILING_KIND, Claim, Debouncer, Decision, trailing_message
from .errors import ConfigError, EventError
from .events import RunRequest
from .observability import logger
from .resource_index import find_workspaces
from .run import Clients, execute_run
from .unmanaged_changes import EVENTS_PREFIX

if TYPE_CHECKING:
    from aws_lambda_powertools import Metrics
    from mypy_boto3_sqs import SQSClient

    from .debounce import DebounceTable
    from .resource_index import IndexTable

#: Default of ``EVENT_CHECK_MIN_INTERVAL_MINUTES``.
DEFAULT_INTERVAL_MINUTES = 10
UNMANAGED_EVENTS_PREFIX = EVENTS_PREFIX
METRIC_NAMES = (
    "EventsReceived",
    "EventsIgnored",
    "EventsDropped",
    "EventsMatched",
    "EventsUnmatched",
    "EventsDebounced",
    "ChecksStarted",
)
_QUEUE_URL = re.compile(r"^https?://\S+/[0-9]{12}/[A-Za-z0-9_-]{1,80}(\.fifo)?$")
_TABLE = re.compile(r"^[A-Za-z0-9_.-]{3,255}$")
_WORKSPACE = re.compile(r"^[A-Za-z0-9._-]{1,64}/[A-Za-z0-9._-]{1,128}$")
_SAFE_KEY = re.compile(r"[^A-Za-z0-9_.-]")


class Table(Protocol):
    """The DynamoDB calls of the index and the debounce items."""

    def query(self, **kwargs: Any) -> Mapping[str, Any]:
        """DynamoDB Query."""

    def get_item(self, **kwargs: Any) -> Mapping[str, Any]:
        """DynamoDB GetItem."""

    def update_item(self, **kwargs: Any) -> Mapping[str, Any]:
        """DynamoDB UpdateItem."""


@dataclass(frozen=True)
class TriggerSettings:
    """The trigger's own environment, validated."""

    index_table: str
    queue_url: str
    interval_seconds: int
    ignore: IgnorePrincipals


def parse_settings(
    index_table: str | None, queue_url: str | None, interval_minutes: str | None, ignore: str | None
) -> TriggerSettings:
    """From ``INDEX_TABLE``, ``TRIGGER_QUEUE_URL``, ``EVENT_CHECK_MIN_INTERVAL_MINUTES``,
    ``EVENT_IGNORE_PRINCIPALS``; one :class:`ConfigError` names every fault."""
    faults: list[str] = []
    table = (index_table or "").strip()
    if not _TABLE.match(table):
        faults.append("INDEX_TABLE is not set" if not table else f"INDEX_TABLE {table!r} is not a table name")
    queue = (queue_url or "").strip()
    if not _QUEUE_URL.match(queue):
        faults.append(
            "TRIGGER_QUEUE_URL is not set" if not queue else f"TRIGGER_QUEUE_URL {queue!r} is not a queue URL"
        )
    text = (interval_minutes or "").strip() or str(DEFAULT_INTERVAL_MINUTES)
    minutes = int(text) if text.isdigit() else 0
    if not 1 <= minutes <= 15:
        faults.append(f"EVENT_CHECK_MIN_INTERVAL_MINUTES {text!r} must be a whole number from 1 to 15")
    patterns = IgnorePrincipals.parse(ignore)
    if any(c in p for p in patterns.patterns for c in "[]{}"):
        faults.append("EVENT_IGNORE_PRINCIPALS: globs take `*` and `?` only")
    if faults:
        raise ConfigError("invalid configuration: " + "; ".join(faults))
    return TriggerSettings(table, queue, minutes * 60, patterns)


@dataclass(frozen=True)
class TriggerClients(Clients):
    """The run's clients, the index table and the trigger's queue."""

    dynamodb: Table = field(kw_only=True)
    sqs: SQSClient = field(kw_only=True)


@dataclass
class Trigger:
    """Everything one invocation needs; :meth:`handle` takes one message body."""

    config: Config
    settings: TriggerSettings
    clients: TriggerClients
    metrics: Metrics
    clock: Callable[[], datetime]

    def __post_init__(self) -> None:
        table: DebounceTable = self.clients.dynamodb
        self.debouncer = Debouncer(table, self.settings.index_table, self.settings.interval_seconds, self.clock)

    def count(self, name: str, value: int = 1) -> None:
        self.metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)

    def handle(self, body: str | None) -> None:
        """One SQS message: a change event or a trailing-check message."""
        message = _trailing(body)
        if message == "invalid":
            self.count("EventsDropped")
            logger.warning("event dropped", extra={"reason": "a trailing-check message without a valid workspace"})
            return
        if message is not None:
            self.handle_trailing(message)
            return
        self.count("EventsReceived")
        parsed = parse_body(body, self.settings.ignore)
        if isinstance(parsed, Dropped):
            self.count("EventsDropped")
            logger.warning("event dropped", extra={"event_id": parsed.id, "reason": parsed.reason})
            return
        if isinstance(parsed, Ignored):
            self.count("EventsIgnored")
            logger.info("event ignored", extra={"event_id": parsed.id, "reason": parsed.reason})
            return
        self.handle_change(parsed)

    def handle_change(self, event: ChangeEvent) -> None:
        index: IndexTable = self.clients.dynamodb
        workspaces = find_workspaces(index, self.settings.index_table, event)
        fields = {"event_id": event.id, "event_name": event.name, "event_source": event.source}
        if not workspaces:
            self.count("EventsUnmatched")
            key = self.store_unmanaged(event)
            logger.info("event names no managed resource: stored for the unmanaged view", extra={**fields, "key": key})
            return
        self.count("EventsMatched")
        logger.info("event matched", extra={**fields, "workspaces": workspaces})
        for workspace in workspaces:
            self.resume(workspace)
            decision = self.debouncer.on_event(workspace, event.summary())
            self.act(workspace, decision, fields)

    def handle_trailing(self, message: Mapping[str, Any]) -> None:
        workspace = str(message["workspace"])
        self.resume(workspace)
        decision = self.debouncer.on_trailing(workspace)
        self.act(workspace, decision, {"trailing": True})

    def act(self, workspace: str, decision: Decision, fields: Mapping[str, Any]) -> None:
        logged = {**fields, "workspace": workspace, "decision": decision.action}
        if decision.action == "debounced":
            self.count("EventsDebounced")
        if decision.claim is not None:
            self.start(decision.claim)
        elif decision.trailing_delay is not None and decision.due_at is not None:
            self.clients.sqs.send_message(
                QueueUrl=self.settings.queue_url,
                MessageBody=json.dumps(trailing_message(workspace, decision.due_at)),
                DelaySeconds=decision.trailing_delay,
            )
            logged["trailing_delay_seconds"] = decision.trailing_delay
        logger.info("debounce decision", extra=logged)

    def resume(self, workspace: str) -> None:
        """Starts the workspace's last claimed check if it is not known to have started."""
        claim = self.debouncer.unstarted(workspace)
        if claim is not None:
            logger.info("resuming a claimed check", extra={"workspace": workspace, "run_id": claim.run_id})
            self.start(claim)

    def start(self, claim: Claim) -> None:
        """Starts ``claim``'s check through the scheduled runs' path, then records it started."""
        environment, _, name = claim.workspace.partition("/")
        now = self.clock()
        newest = _time(claim.events[-1]["time"]) if claim.events else None
        request = RunRequest(
            run_id=claim.run_id,
            trigger="event",
            # The newest change dates the run's keys: a redelivery on another
            # day still finds the same ones.
            reference_time=newest or now,
            environments=(environment,),
            workspaces=(name,),
            trigger_events=claim.events,
        )
        fields = {"workspace": claim.workspace, "run_id": claim.run_id, "event_ids": [e["id"] for e in claim.events]}
        try:
            started = execute_run(request, self.config, self.clients, started_at=now, now=self.clock)
        except EventError as e:
            # The index names a workspace the inventory no longer has: the
            # same message would fail the same way, so it is not retried.
            logger.warning("the index names a workspace the inventory lacks", extra={**fields, "error": str(e)})
            self.debouncer.confirm(claim)
            return
        self.debouncer.confirm(claim)
        status = started.get("status") if isinstance(started, dict) else None
        if status == "started":
            self.count("ChecksStarted")
        logger.info("event check " + str(status), extra={**fields, "execution_arn": started.get("execution_arn")})

    def store_unmanaged(self, event: ChangeEvent) -> str:
        """Writes the normalised event for the unmanaged-resource view; answers its key."""
        when = _time(event.time) or self.clock()
        key = f"{UNMANAGED_EVENTS_PREFIX}/{when:%Y/%m/%d}/{_SAFE_KEY.sub('_', event.id)[:128]}.json"
        document = {"schema_version": "1.0", "kind": "unmanaged-event", **event.as_dict()}
        self.clients.s3.put_object(
            Bucket=self.config.report_bucket,
            Key=key,
            Body=json.dumps(document, separators=(",", ":")).encode(),
            ContentType="application/json",
        )
        return key


def _time(text: str) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed.astimezone(UTC) if parsed.tzinfo is not None else None


def _trailing(body: str | None) -> Mapping[str, Any] | Literal["invalid"] | None:
    """The trailing-check message in ``body``, ``None`` when it is not one."""
    if body is None or len(body) > 4096 or TRAILING_KIND not in body:
        return None
    try:
        message = json.loads(body)
    except ValueError:
        return None
    if not isinstance(message, dict) or message.get("kind") != TRAILING_KIND:
        return None
    workspace = message.get("workspace")
    if not isinstance(workspace, str) or not _WORKSPACE.match(workspace):
        return "invalid"
    if any(part.strip(".") == "" for part in workspace.split("/")):
        return "invalid"
    return message
