"""Debounce: at most one event check per workspace per interval, and a trailing one.

One DynamoDB item per workspace (pk ``ws#ENVIRONMENT/NAME``, sk
``debounce``, written only by the trigger) holds:

``version``
    bumped by every write; every write is an UpdateItem conditional on the
    version it read (or on the item's absence), so of two concurrent
    deliveries exactly one write lands and the other re-reads and decides again;
``last_check_at``
    epoch seconds of the last check started (its claim);
``pending``, ``events``
    changes seen inside the interval, waiting for the trailing check
    (JSON, at most :data:`~.events.MAX_TRIGGER_EVENTS`, newest last);
``claim_run_id``, ``claim_events``, ``claim_started``
    the last check claimed, until its execution is known to have started:
    a delivery that finds ``claim_started`` false starts it again (the
    start is idempotent by run id), so a crash between claim and start
    loses nothing;
``expires_at``
    the table's TTL.

An event (:meth:`Debouncer.on_event`) outside the interval claims a check
now, with the pending events and itself. Inside it, the event is appended to
``events``; the first one (``pending`` false -> true) also asks for ONE
trailing message, due when the interval ends. The trailing message
(:meth:`Debouncer.on_trailing`) claims a check with the pending events and
clears them; a duplicate delivery finds nothing pending and starts nothing.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
import re
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, Protocol, cast

from botocore.exceptions import ClientError

from .events import MAX_TRIGGER_EVENTS, TriggerEvent
from .resource_index import WORKSPACE_PREFIX

DEBOUNCE_SORT_KEY = "debounce"
#: SQS's longest message delay, and so the longest interval.
MAX_DELAY_SECONDS = 900
#: Conditional writes tried before the delivery is left to SQS to retry.
MAX_ATTEMPTS = 8
#: Largest ``events`` / ``claim_events`` JSON kept (oldest dropped first).
MAX_EVENTS_BYTES = 96 * 1024
#: The debounce item outlives its last write by this much (the table's TTL).
TTL_SECONDS = 7 * 24 * 3600
TRAILING_KIND = "drift-detection.trailing-check"
_JITTER = random.SystemRandom()


class DebounceTable(Protocol):
    """The DynamoDB client calls debouncing needs."""

    def get_item(self, **kwargs: Any) -> Mapping[str, Any]:
        """DynamoDB GetItem."""

    def update_item(self, **kwargs: Any) -> Mapping[str, Any]:
        """DynamoDB UpdateItem."""


class Contended(Exception):
    """Every attempt lost to a concurrent write; the delivery should be retried."""


@dataclass(frozen=True)
class Claim:
    """A check to start: its run id and the changes that caused it (oldest first)."""

    workspace: str
    run_id: str
    events: tuple[TriggerEvent, ...]


@dataclass(frozen=True)
class Decision:
    """What to do with one delivery."""

    action: Literal["start", "debounced", "duplicate", "nothing", "not_yet"]
    claim: Claim | None = None
    #: Send one trailing message with this delay (seconds, 0-900), due at ``due_at``.
    trailing_delay: int | None = None
    due_at: int | None = None


def run_id_for(workspace: str, newest_event_id: str) -> str:
    """The event check's run id: one per workspace and newest event (a redelivery reuses it)."""
    digest = hashlib.sha256(f"{workspace}\n{newest_event_id}".encode()).hexdigest()[:20]
    readable = re.sub(r"[^A-Za-z0-9_-]+", "-", workspace).strip("-")[:40]
    return f"event-{readable}-{digest}"


def trailing_message(workspace: str, not_before: int) -> dict[str, Any]:
    """The trailing check's SQS message body."""
    return {"kind": TRAILING_KIND, "workspace": workspace, "not_before": not_before}


def bounded(events: Sequence[TriggerEvent]) -> list[TriggerEvent]:
    """The newest :data:`MAX_TRIGGER_EVENTS` events within :data:`MAX_EVENTS_BYTES`, newest last."""
    kept = list(events)[-MAX_TRIGGER_EVENTS:]
    while len(kept) > 1 and len(json.dumps(kept)) > MAX_EVENTS_BYTES:
        kept.pop(0)
    return kept


def _events(attribute: object) -> list[TriggerEvent]:
    text = attribute.get("S") if isinstance(attribute, Mapping) else None
    if not isinstance(text, str):
        return []
    try:
        loaded = json.loads(text)
    except ValueError:
        return []
    if not isinstance(loaded, list):
        return []
    return [cast("TriggerEvent", e) for e in loaded if isinstance(e, dict) and isinstance(e.get("id"), str)]


def _number(attribute: object) -> int | None:
    text = attribute.get("N") if isinstance(attribute, Mapping) else None
    try:
        return int(text) if isinstance(text, str) else None
    except ValueError:
        return None


def _flag(attribute: object) -> bool:
    return isinstance(attribute, Mapping) and attribute.get("BOOL") is True


@dataclass(frozen=True)
class _State:
    version: int | None
    last_check_at: int | None
    pending: bool
    events: list[TriggerEvent]
    claim: Claim | None
    claim_started: bool


class Debouncer:
    """Debounces one workspace's event checks in the index table."""

    def __init__(
        self,
        table: DebounceTable,
        table_name: str,
        interval_seconds: int,
        clock: Callable[[], datetime],
    ) -> None:
        if not 60 <= interval_seconds <= MAX_DELAY_SECONDS:
            raise ValueError(f"the interval must be 60-{MAX_DELAY_SECONDS} seconds")
        self.table = table
        self.table_name = table_name
        self.interval = interval_seconds
        self.clock = clock

    def _now(self) -> int:
        return math.floor(self.clock().timestamp())

    def _key(self, workspace: str) -> dict[str, Any]:
        return {"pk": {"S": f"{WORKSPACE_PREFIX}{workspace}"}, "sk": {"S": DEBOUNCE_SORT_KEY}}

    def _read(self, workspace: str) -> _State:
        item = self.table.get_item(TableName=self.table_name, Key=self._key(workspace), ConsistentRead=True).get(
            "Item", {}
        )
        run_id = item.get("claim_run_id", {}).get("S")
        claim = Claim(workspace, run_id, tuple(_events(item.get("claim_events")))) if isinstance(run_id, str) else None
        return _State(
            version=_number(item.get("version")),
            last_check_at=_number(item.get("last_check_at")),
            pending=_flag(item.get("pending")),
            events=_events(item.get("events")),
            claim=claim,
            claim_started=_flag(item.get("claim_started")),
        )

    def _write(self, workspace: str, state: _State, values: Mapping[str, Any]) -> bool:
        """Sets ``values`` (and the next version, the TTL) if nobody wrote since ``state``."""
        now = self._now()
        attributes = {
            **values,
            "version": {"N": str((state.version or 0) + 1)},
            "expires_at": {"N": str(now + TTL_SECONDS)},
        }
        names = {f"#a{i}": name for i, name in enumerate(attributes)}
        placeholders = {name: f":a{i}" for i, name in enumerate(attributes)}
        condition = "attribute_not_exists(pk)" if state.version is None else "#version = :expected"
        expression_values = {placeholders[name]: value for name, value in attributes.items()}
        if state.version is not None:
            expression_values[":expected"] = {"N": str(state.version)}
        try:
            self.table.update_item(
                TableName=self.table_name,
                Key=self._key(workspace),
                UpdateExpression="SET " + ", ".join(f"#a{i} = :a{i}" for i in range(len(attributes))),
                ConditionExpression=condition,
                ExpressionAttributeNames={**names, **({"#version": "version"} if state.version is not None else {})},
                ExpressionAttributeValues=expression_values,
            )
        except ClientError as e:
            if e.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def _claim_values(self, claim: Claim, now: int) -> dict[str, Any]:
        return {
            "last_check_at": {"N": str(now)},
            "pending": {"BOOL": False},
            "events": {"S": "[]"},
            "claim_run_id": {"S": claim.run_id},
            "claim_events": {"S": json.dumps(list(claim.events))},
            "claim_started": {"BOOL": False},
        }

    def unstarted(self, workspace: str) -> Claim | None:
        """The last claimed check when it is not known to have started."""
        state = self._read(workspace)
        return state.claim if state.claim is not None and not state.claim_started else None

    def confirm(self, claim: Claim) -> None:
        """Records that ``claim``'s execution started (no-op when a newer claim replaced it)."""
        try:
            self.table.update_item(
                TableName=self.table_name,
                Key=self._key(claim.workspace),
                UpdateExpression="SET claim_started = :true",
                ConditionExpression="claim_run_id = :run_id",
                ExpressionAttributeValues={":true": {"BOOL": True}, ":run_id": {"S": claim.run_id}},
            )
        except ClientError as e:
            if e.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise

    def on_event(self, workspace: str, event: TriggerEvent) -> Decision:
        """A change to ``workspace``: check now, or wait for the trailing check."""
        for attempt in range(1, MAX_ATTEMPTS + 1):
            state = self._read(workspace)
            now = self._now()
            due_at = (state.last_check_at or 0) + self.interval
            if any(e["id"] == event["id"] for e in state.events):
                # A redelivery of a debounced event: its trailing message may
                # not have been sent (a crash after the write); another is harmless.
                return Decision("duplicate", trailing_delay=_delay(due_at, now), due_at=due_at)
            if state.claim is not None and any(e["id"] == event["id"] for e in state.claim.events):
                return Decision("duplicate")
            if state.last_check_at is None or now >= due_at:
                events = tuple(bounded([*state.events, event]))
                claim = Claim(workspace, run_id_for(workspace, event["id"]), events)
                if self._write(workspace, state, self._claim_values(claim, now)):
                    return Decision("start", claim=claim)
                _pause(attempt)
                continue
            values = {"pending": {"BOOL": True}, "events": {"S": json.dumps(bounded([*state.events, event]))}}
            if self._write(workspace, state, values):
                first = not state.pending
                return Decision(
                    "debounced",
                    trailing_delay=_delay(due_at, now) if first else None,
                    due_at=due_at if first else None,
                )
            _pause(attempt)
        raise Contended(f"{workspace}: {MAX_ATTEMPTS} concurrent writes won over this delivery")

    def on_trailing(self, workspace: str) -> Decision:
        """The trailing message: check the pending changes, once."""
        for attempt in range(1, MAX_ATTEMPTS + 1):
            state = self._read(workspace)
            now = self._now()
            if not state.pending or not state.events:
                return Decision("nothing")
            due_at = (state.last_check_at or 0) + self.interval
            if now < due_at:
                # Delivered early (a check claimed since): wait for its interval.
                return Decision("not_yet", trailing_delay=_delay(due_at, now), due_at=due_at)
            claim = Claim(workspace, run_id_for(workspace, state.events[-1]["id"]), tuple(state.events))
            if self._write(workspace, state, self._claim_values(claim, now)):
                return Decision("start", claim=claim)
            _pause(attempt)
        raise Contended(f"{workspace}: {MAX_ATTEMPTS} concurrent writes won over this delivery")


def _pause(attempt: int) -> None:
    """A short jittered wait after a lost write, so a burst of deliveries spreads out.

    ``threading.Event().wait``, not ``time.sleep``: the tests may run under
    libfaketime, where ``time.sleep`` fails.
    """
    threading.Event().wait(_JITTER.uniform(0, 0.02 * attempt))


def _delay(due_at: int, now: int) -> int:
    return max(0, min(MAX_DELAY_SECONDS, due_at - now))


__all__: Sequence[str] = [
    "Claim",
    "Contended",
    "DebounceTable",
    "Debouncer",
    "Decision",
    "run_id_for",
    "trailing_message",
]
