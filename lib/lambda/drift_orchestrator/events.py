"""Invocation events: what started the run, its id, and what it checks.

Two shapes are accepted:

- an EventBridge event (the every-6-hours rule): ``trigger`` is ``schedule``,
  the run id is the event's ``id`` (so a retried delivery of the same event
  reuses the same keys) and the event's ``time`` dates them;
- a manual event (``aws lambda invoke``), every key optional::

      {"environments": ["prod"], "workspaces": ["network"],
       "accounts": ["111111111111"], "dry_run": true,
       "run_id": "hotfix-check-1", "mode": "refresh-only"}

  ``trigger`` is ``manual``; the run id is ``run_id`` or a new uuid4.

A third kind, ``event``, is never parsed here: the trigger function
(``trigger.handler``) builds it for one workspace a change touched, with the
changes that caused it (:class:`TriggerEvent`), and starts it through the same
:func:`~.run.execute_run`.

Filters narrow the inventory: a workspace is selected when it matches every
filter given, and any value within a filter. A filter value that matches no
inventory entry at all is an error (a typo must not quietly check nothing).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, TypedDict

from aws_lambda_powertools.utilities.data_classes import EventBridgeEvent

from . import contract
from .errors import EventError
from .inventory import MODES, Workspace

Trigger = Literal["schedule", "manual", "event"]

#: At most this many events ride along with one check (newest last).
MAX_TRIGGER_EVENTS = 20


class TriggerEvent(TypedDict):
    """One change that caused an event check, as the worker event carries it."""

    id: str
    source: str
    name: str
    principal: str
    time: str
    account_id: str
    region: str
    resources: list[str]


class TriggerInfo(TypedDict, total=False):
    """The worker event's ``trigger``: why this check ran."""

    kind: Trigger
    events: list[TriggerEvent]


_MANUAL_KEYS = ("environments", "workspaces", "accounts", "dry_run", "run_id", "mode")


@dataclass(frozen=True)
class RunRequest:
    """A parsed invocation event."""

    run_id: str
    trigger: Trigger
    #: Dates the run summary's key and the workers' report keys.
    reference_time: datetime
    dry_run: bool = False
    environments: tuple[str, ...] | None = None
    workspaces: tuple[str, ...] | None = None
    accounts: tuple[str, ...] | None = None
    #: Overrides every workspace's ``mode`` when given.
    mode: str | None = None
    #: The changes that caused an ``event`` run, oldest first (at most
    #: :data:`MAX_TRIGGER_EVENTS`); empty for the other kinds.
    trigger_events: tuple[TriggerEvent, ...] = ()

    def trigger_info(self) -> TriggerInfo:
        """The worker event's ``trigger`` for this run."""
        info = TriggerInfo(kind=self.trigger)
        if self.trigger == "event":
            info["events"] = list(self.trigger_events[-MAX_TRIGGER_EVENTS:])
        return info

    def filters(self) -> dict[str, list[str] | None]:
        """The filters as given, for the run summary."""
        return {
            "environments": list(self.environments) if self.environments is not None else None,
            "workspaces": list(self.workspaces) if self.workspaces is not None else None,
            "accounts": list(self.accounts) if self.accounts is not None else None,
        }


def is_eventbridge_event(event: Mapping[str, Any]) -> bool:
    """Whether ``event`` has EventBridge's envelope."""
    return "detail-type" in event and "source" in event


def new_run_id() -> str:
    """A fresh run id for a manual run."""
    return str(uuid.uuid4())


def provisional_run_id(event: object, new_id: Callable[[], str] = new_run_id) -> str:
    """The run id to log with before the event is validated.

    It equals the id :func:`parse_event` will choose whenever the event is
    valid; for an invalid event it is a fresh id, so even the error line has one.
    """
    if isinstance(event, Mapping):
        candidate = event.get("id") if is_eventbridge_event(event) else event.get("run_id")
        if isinstance(candidate, str) and contract.is_run_id(candidate):
            return candidate
    return new_id()


def _parse_time(text: object) -> datetime | None:
    if not isinstance(text, str):
        return None
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return None
    return parsed.astimezone(UTC)


def _string_list(event: Mapping[str, Any], key: str) -> tuple[str, ...] | None:
    value = event.get(key)
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise EventError(f"`{key}` must be a list of non-empty strings, or left out")
    if not value:
        raise EventError(f"`{key}` is an empty list: name at least one, or leave it out")
    return tuple(dict.fromkeys(value))


def parse_event(
    event: object,
    now: datetime,
    run_id: str | None = None,
) -> RunRequest:
    """Parses the invocation event; raises :class:`EventError` naming the fault.

    ``now`` dates manual runs; ``run_id``, when given, is the id to use for a
    manual run without its own (the provisional id the logs already carry).
    """
    if event is None:
        event = {}
    if not isinstance(event, Mapping):
        raise EventError(
            f"the event must be a JSON object, not {type(event).__name__}: an EventBridge "
            'scheduled event or a manual event such as {"dry_run": true}'
        )
    if is_eventbridge_event(event):
        scheduled = EventBridgeEvent(dict(event))
        event_id: object = scheduled.get_id if "id" in scheduled else None
        if not isinstance(event_id, str) or not contract.is_run_id(event_id):
            raise EventError(
                f"the EventBridge event's `id` {event_id!r} must be 1-128 letters, digits, '-', '_' or '.'"
            )
        event_time = _parse_time(scheduled.time) if "time" in scheduled else None
        return RunRequest(run_id=event_id, trigger="schedule", reference_time=event_time or now)

    unknown = sorted(set(event) - set(_MANUAL_KEYS))
    if unknown:
        raise EventError(
            f"unknown key{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))} in "
            f"the manual event; allowed: {', '.join(_MANUAL_KEYS)}"
        )
    dry_run = event.get("dry_run", False)
    if not isinstance(dry_run, bool):
        raise EventError(f"`dry_run` must be true or false, not {dry_run!r}")
    given_id = event.get("run_id")
    if given_id is not None and (not isinstance(given_id, str) or not contract.is_run_id(given_id)):
        raise EventError(f"`run_id` {given_id!r} must be 1-128 letters, digits, '-', '_' or '.'")
    mode = event.get("mode")
    if mode is not None and mode not in MODES:
        raise EventError(f"`mode` {mode!r} must be one of {', '.join(MODES)}")
    return RunRequest(
        run_id=given_id or run_id or new_run_id(),
        trigger="manual",
        reference_time=now,
        dry_run=dry_run,
        environments=_string_list(event, "environments"),
        workspaces=_string_list(event, "workspaces"),
        accounts=_string_list(event, "accounts"),
        mode=mode,
    )


def _check_known(label: str, wanted: Sequence[str] | None, known: set[str]) -> None:
    if wanted is None:
        return
    missing = [value for value in wanted if value not in known]
    if missing:
        listed = ", ".join(sorted(known)) or "none"
        raise EventError(f"unknown {label} {', '.join(map(repr, missing))}: the inventory has {listed}")


def select(workspaces: Sequence[Workspace], request: RunRequest) -> list[Workspace]:
    """The inventory entries the request's filters select, in inventory order."""
    _check_known("environment", request.environments, {w.environment for w in workspaces})
    _check_known("workspace", request.workspaces, {w.name for w in workspaces})
    _check_known("account", request.accounts, {w.account_id for w in workspaces})
    return [
        w
        for w in workspaces
        if (request.environments is None or w.environment in request.environments)
        and (request.workspaces is None or w.name in request.workspaces)
        and (request.accounts is None or w.account_id in request.accounts)
    ]
