"""Who touched what nobody manages: the trigger's kept events, joined to the report.

An event-driven check starts only for resources some workspace manages
(:mod:`.event_checks`); a change to any other resource is kept at
``unmanaged/events/YYYY/MM/DD/<event-id>.json`` instead of being dropped.
The summarize step reads the last :data:`DAYS` days of them and adds, to the
run's ``unmanaged-report``, each change that names a resource the report
lists as unmanaged (same account, and region unless the kind is
account-wide; any of the event's identifiers equal to the item's id, name or
ARN) as ``changes``: who, what call, when. The listing and the reads are
bounded; an unreadable event is skipped.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from .observability import logger
from .s3json import TooLarge, read_json
from .unmanaged import InventoryItem, UnmanagedChange, kind_of_config_type

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

#: Where the trigger keeps changes to resources no workspace manages.
EVENTS_PREFIX = "unmanaged/events"
#: How many days of kept changes a run looks at (today and yesterday: the
#: six-hourly schedule's window, across midnight).
DAYS = 2
#: Kept events read per run at most.
MAX_EVENTS = 1000
#: Changes added to one report at most.
MAX_CHANGES = 200
#: A kept event is a few hundred bytes.
MAX_EVENT_BYTES = 64 * 1024
UNKNOWN_PRINCIPAL = "unknown"


def day_prefixes(now: datetime, days: int = DAYS) -> list[str]:
    """The kept events' folders of the last ``days`` days, newest first."""
    return [f"{EVENTS_PREFIX}/{now - timedelta(days=n):%Y/%m/%d}/" for n in range(days)]


def _keys(s3: S3Client, bucket: str, prefixes: Sequence[str], limit: int) -> list[str]:
    keys: list[str] = []
    paginator = s3.get_paginator("list_objects_v2")
    for prefix in prefixes:
        for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
            for entry in page.get("Contents", []):
                keys.append(entry["Key"])
                if len(keys) >= limit:
                    logger.warning("more kept change events than read", extra={"limit": limit})
                    return keys
    return keys


def _event(document: object) -> Mapping[str, Any] | None:
    """A kept event's fields, or None when it is not one."""
    if not isinstance(document, dict) or document.get("kind") != "unmanaged-event":
        return None
    text_fields = ("id", "name", "time", "account_id", "region")
    if not all(isinstance(document.get(f), str) for f in text_fields):
        return None
    identifiers = document.get("identifiers")
    if not isinstance(identifiers, list) or not all(isinstance(i, str) for i in identifiers):
        return None
    return document


def match(items: Sequence[InventoryItem], events: Sequence[Mapping[str, Any]]) -> list[UnmanagedChange]:
    """The changes among ``events`` that name one of ``items`` (pure)."""
    changes: list[UnmanagedChange] = []
    for event in events:
        named = set(event["identifiers"])
        for item in items:
            kind = kind_of_config_type().get(item["resource_type"])
            if item["account_id"] != event["account_id"]:
                continue
            if not (kind is not None and kind.account_wide) and item["region"] != event["region"]:
                continue
            ids = {item["resource_id"], item.get("resource_name"), item.get("arn")} - {None, ""}
            if ids & named:
                principal = event.get("principal_arn") or event.get("issuer_arn") or UNKNOWN_PRINCIPAL
                changes.append(
                    UnmanagedChange(
                        resource_type=item["resource_type"],
                        account_id=item["account_id"],
                        resource_id=item["resource_id"],
                        time=event["time"],
                        name=event["name"],
                        principal=str(principal),
                        event_id=event["id"],
                    )
                )
    unique = {(c["resource_type"], c["account_id"], c["resource_id"], c["event_id"]): c for c in changes}
    ordered = sorted(
        unique.values(), key=lambda c: (c["resource_type"], c["account_id"], c["resource_id"], c["time"], c["event_id"])
    )
    return ordered[:MAX_CHANGES]


def recent_changes(
    s3: S3Client, bucket: str, items: Sequence[InventoryItem], *, now: datetime
) -> list[UnmanagedChange]:
    """The kept changes of the last :data:`DAYS` days that name one of ``items``."""
    if not items:
        return []
    events: list[Mapping[str, Any]] = []
    for key in _keys(s3, bucket, day_prefixes(now), MAX_EVENTS):
        try:
            event = _event(read_json(s3, bucket, key, MAX_EVENT_BYTES))
        except (ClientError, BotoCoreError, TooLarge, ValueError) as e:
            logger.warning("a kept change event is unreadable", extra={"key": key, "error": str(e)})
            continue
        if event is not None:
            events.append(event)
    return match(items, events)
