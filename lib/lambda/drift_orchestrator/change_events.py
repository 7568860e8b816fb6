"""Change events: an EventBridge event in, a bounded :class:`ChangeEvent` out (pure).

The trigger function receives two kinds of EventBridge events (through the
stack's rules and an SQS queue):

- ``AWS API Call via CloudTrail`` (sources ``aws.ec2``, ``aws.rds``,
  ``aws.s3``, ``aws.iam``): the CloudTrail record is the ``detail``; the
  resources it touched are read from ``requestParameters`` by service
  (:data:`_REQUEST_FIELDS`), from ``responseElements`` where the request does
  not name them (``CreateSecurityGroup``'s ``groupId``, ``RunInstances``'
  instances), and from the record's ``resources[].ARN``;
- ``Config Configuration Item Change`` (source ``aws.config``): the
  configuration item's (or, for an oversized one, its summary's)
  ``resourceId``, ``resourceName`` and ``ARN``.

:func:`normalise` answers a :class:`ChangeEvent`, an :class:`Ignored` (a
read-only call, a non-API event, or a caller in :class:`IgnorePrincipals`:
the Terraform and drift roles themselves, or a call that failed) or a :class:`Dropped` (not an
event this function understands, or larger than it reads). It never raises
on any input. Everything kept is bounded: at most :data:`MAX_IDENTIFIERS`
identifiers of at most :data:`MAX_IDENTIFIER_CHARS` characters; request and
response bodies are read, never kept.

Example::

    >>> event = {"id": "e1", "detail-type": "AWS API Call via CloudTrail", "source": "aws.ec2",
    ...          "account": "123456789012", "time": "2026-11-27T06:05:00Z", "region": "us-east-1",
    ...          "resources": [], "detail": {"eventName": "AuthorizeSecurityGroupIngress",
    ...          "eventType": "AwsApiCall", "readOnly": False, "requestParameters": {"groupId": "sg-1"},
    ...          "userIdentity": {"arn": "arn:aws:sts::123456789012:assumed-role/Admin/alice"}}}
    >>> normalise(event, IgnorePrincipals(())).identifiers
    ('sg-1',)
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from .events import MAX_TRIGGER_EVENTS, TriggerEvent

CLOUDTRAIL_DETAIL_TYPE = "AWS API Call via CloudTrail"
CONFIG_DETAIL_TYPE = "Config Configuration Item Change"
#: Largest event read, in bytes of JSON (EventBridge's own limit is 256 KB).
MAX_EVENT_BYTES = 256 * 1024
#: Identifiers kept per event (each is looked up twice in the index).
MAX_IDENTIFIERS = 32
#: Longest identifier kept (an ARN is at most 2048 characters).
MAX_IDENTIFIER_CHARS = 2048
#: Longest name, source, region or id kept.
MAX_NAME_CHARS = 256
#: The principal recorded when the event names none (Config's events).
UNKNOWN_PRINCIPAL = "unknown"
#: Calls that change nothing, by prefix of their name.
READ_ONLY_PREFIXES = ("Describe", "Get", "List", "Head")

#: requestParameters (and responseElements) fields naming resources, by
#: event source. A value is a string, a list of strings, or a list/``items``
#: of objects holding the field (``groupSet.items[].groupId``).
_REQUEST_FIELDS: dict[str, tuple[str, ...]] = {
    "ec2.amazonaws.com": (
        "groupId",
        "groupIds",
        "groupSet",
        "instanceId",
        "instancesSet",
        "volumeId",
        "resourcesSet",
        # Newer calls wrap the request in ``<Action>Request`` with PascalCase members.
        "GroupId",
        "InstanceId",
        "VolumeId",
    ),
    "rds.amazonaws.com": ("dBInstanceIdentifier", "dBClusterIdentifier"),
    "s3.amazonaws.com": ("bucketName",),
    "iam.amazonaws.com": ("roleName", "userName", "groupName", "instanceProfileName", "policyArn"),
}
#: responseElements fields naming the resource a call created or changed.
_RESPONSE_FIELDS: dict[str, tuple[str, ...]] = {
    "ec2.amazonaws.com": ("groupId", "instancesSet", "volumeId"),
    "rds.amazonaws.com": ("dBInstanceArn", "dbiResourceId", "dBClusterArn", "dbClusterResourceId"),
    "s3.amazonaws.com": (),
    "iam.amazonaws.com": (),
}
#: The member holding the identifier inside a list item, by field.
_ITEM_KEYS: dict[str, tuple[str, ...]] = {
    "groupSet": ("groupId",),
    "groupIds": ("groupId",),
    "instancesSet": ("instanceId",),
    "resourcesSet": ("resourceId",),
}
#: Response members that are whole objects of the created resource.
_RESPONSE_OBJECTS = ("role", "policy", "dBInstance", "dBCluster")


@dataclass(frozen=True)
class ChangeEvent:
    """A change some workspace may manage, normalised and bounded."""

    #: The EventBridge event id (stable across redeliveries).
    id: str
    #: ``aws.ec2``, ``aws.config``, ...
    source: str
    #: The API call (``AuthorizeSecurityGroupIngress``), or for Config
    #: ``CHANGE_TYPE RESOURCE_TYPE`` (``UPDATE AWS::EC2::SecurityGroup``).
    name: str
    #: RFC 3339, UTC, seconds.
    time: str
    account_id: str
    region: str
    #: The caller's ARN, when the event names one.
    principal_arn: str | None
    #: The assumed role's (session issuer's) ARN, when the event names one.
    issuer_arn: str | None
    read_only: bool
    #: Resource ids, names and ARNs the event names, in order of appearance, unique.
    identifiers: tuple[str, ...]
    #: Config's resource type (``AWS::EC2::SecurityGroup``), when known.
    resource_type: str | None = None

    def summary(self) -> TriggerEvent:
        """The event as a worker event's ``trigger.events`` entry."""
        return TriggerEvent(
            id=self.id,
            source=self.source,
            name=self.name,
            principal=self.principal_arn or self.issuer_arn or UNKNOWN_PRINCIPAL,
            time=self.time,
            account_id=self.account_id,
            region=self.region,
            resources=list(self.identifiers[:MAX_TRIGGER_EVENTS]),
        )

    def as_dict(self) -> dict[str, Any]:
        """The whole normalised event (the unmanaged-resource view's record)."""
        return {
            "id": self.id,
            "source": self.source,
            "name": self.name,
            "time": self.time,
            "account_id": self.account_id,
            "region": self.region,
            "principal_arn": self.principal_arn,
            "issuer_arn": self.issuer_arn,
            "read_only": self.read_only,
            "resource_type": self.resource_type,
            "identifiers": list(self.identifiers),
        }


@dataclass(frozen=True)
class Ignored:
    """A valid event that cannot be drift: read-only, not an API call, or by an ignored principal."""

    id: str
    reason: str


@dataclass(frozen=True)
class Dropped:
    """An event this function cannot read; ``reason`` never quotes its content."""

    reason: str
    id: str | None = None


# Principals -----------------------------------------------------------------


@functools.cache
def _glob(pattern: str) -> re.Pattern[str]:
    """``*`` any run of characters (``/`` included), ``?`` one; nothing else is special."""
    parts = ("." if c == "?" else ".*" if c == "*" else re.escape(c) for c in pattern)
    return re.compile("".join(parts), re.DOTALL)


def _role_sessions(pattern: str) -> str | None:
    """``arn:P:sts::A:assumed-role/NAME/*`` for a role ARN pattern ``arn:P:iam::A:role/[PATH/]NAME``."""
    head, found, role = pattern.partition(":role/")
    if not found:
        return None
    prefix, found, account = head.rpartition("::")
    if not found or not prefix.endswith(":iam"):
        return None
    partition = prefix[: -len(":iam")]
    name = role.rsplit("/", 1)[-1]
    return f"{partition}:sts::{account}:assumed-role/{name}/*"


class IgnorePrincipals:
    """Callers whose events are not drift: the Terraform and drift roles themselves.

    The semantics of ``drift_core::attribution::IgnorePrincipals``: each
    pattern is a glob (``*``, ``?``) matched, whole and case-sensitively,
    against the caller's ARN, the session issuer's ARN and the resolved
    principal (a session name, user name, ``root``...); a pattern that is an
    IAM role ARN also matches that role's sessions
    (``arn:aws:sts::ACCOUNT:assumed-role/NAME/*``).
    """

    def __init__(self, patterns: Iterable[str]) -> None:
        self.patterns = tuple(p.strip() for p in patterns if p.strip())

    @classmethod
    def parse(cls, text: str | None) -> IgnorePrincipals:
        """From ``EVENT_IGNORE_PRINCIPALS``: comma-separated globs."""
        return cls((text or "").split(","))

    def ignores(self, *candidates: str | None) -> bool:
        """Whether any candidate (ARN, issuer ARN, principal) is ignored."""
        present = [c for c in candidates if c]
        for pattern in self.patterns:
            globs = [_glob(pattern)]
            sessions = _role_sessions(pattern)
            if sessions is not None:
                globs.append(_glob(sessions))
            if any(g.fullmatch(c) for g in globs for c in present):
                return True
        return False


def resolved_principal(identity: Mapping[str, Any]) -> str | None:
    """The person or service behind a ``userIdentity`` (as the Rust attribution resolves it)."""
    kind = _text(identity.get("type"))
    arn = _text(identity.get("arn"))
    principal_id = _text(identity.get("principalId"))
    if kind == "AssumedRole":
        rest = arn.split(":assumed-role/", 1)[1] if arn and ":assumed-role/" in arn else None
        session = rest.split("/", 1)[1] if rest and "/" in rest else None
        if session is None and principal_id and ":" in principal_id:
            session = principal_id.split(":", 1)[1]
        return session or (rest.split("/", 1)[0] if rest else None) or arn
    if kind == "IAMUser":
        return _text(identity.get("userName")) or (arn.split(":user/", 1)[1] if arn and ":user/" in arn else None)
    if kind == "Root":
        return "root"
    if kind == "AWSService":
        return _text(identity.get("invokedBy")) or "AWS"
    return _text(identity.get("userName")) or arn or principal_id


# Reading ----------------------------------------------------------------------


def _text(value: object, limit: int = MAX_NAME_CHARS) -> str | None:
    if isinstance(value, str) and value and len(value) <= limit:
        return value
    return None


def _rfc3339(value: object) -> str | None:
    if not isinstance(value, str) or len(value) > 64:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return None
    return parsed.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _strings(value: object, item_keys: tuple[str, ...]) -> Iterator[object]:
    """Identifier candidates in a field's value: a string, a list, or ``{"items": [...]}``."""
    if isinstance(value, Mapping):
        value = value.get("items")
    if isinstance(value, str):
        yield value
    elif isinstance(value, list):
        for item in value[: MAX_IDENTIFIERS * 2]:
            if isinstance(item, str):
                yield item
            elif isinstance(item, Mapping):
                for key in item_keys:
                    yield item.get(key)


def _fields(document: object, names: tuple[str, ...]) -> Iterator[object]:
    if not isinstance(document, Mapping):
        return
    for name in names:
        if name in document:
            yield from _strings(document[name], _ITEM_KEYS.get(name, ()))
    for key, wrapped in list(document.items())[:8]:
        # ``{"ModifySecurityGroupRulesRequest": {"GroupId": ...}}``: one level down.
        if isinstance(key, str) and key.endswith(("Request", "Response")) and isinstance(wrapped, Mapping):
            for name in names:
                if name in wrapped:
                    yield from _strings(wrapped[name], _ITEM_KEYS.get(name, ()))


def _response_objects(response: object) -> Iterator[object]:
    """ARNs and ids of an object the response returns whole (``CreateRole``'s ``role``)."""
    if not isinstance(response, Mapping):
        return
    for name in _RESPONSE_OBJECTS:
        created = response.get(name)
        if isinstance(created, Mapping):
            for key in ("arn", "dBInstanceArn", "dBClusterArn"):
                yield created.get(key)


def _cloudtrail_resources(detail: Mapping[str, Any]) -> Iterator[object]:
    resources = detail.get("resources")
    if isinstance(resources, list):
        for resource in resources[: MAX_IDENTIFIERS * 2]:
            if isinstance(resource, Mapping):
                yield resource.get("ARN")


def _envelope_resources(envelope: Mapping[str, Any]) -> list[object]:
    resources = envelope.get("resources")
    return list(resources[: MAX_IDENTIFIERS * 2]) if isinstance(resources, list) else []


def _bounded_unique(candidates: Iterable[object]) -> tuple[str, ...]:
    kept: dict[str, None] = {}
    for candidate in candidates:
        text = _text(candidate, MAX_IDENTIFIER_CHARS)
        if text is None or text in kept or any(c.isspace() for c in text):
            continue
        kept[text] = None
        if len(kept) == MAX_IDENTIFIERS:
            break
    return tuple(kept)


def _cloudtrail(
    envelope: Mapping[str, Any], detail: Mapping[str, Any], ignore: IgnorePrincipals
) -> ChangeEvent | Ignored:
    event_id = str(envelope["id"])
    name = _text(detail.get("eventName")) or "unknown"
    event_type = detail.get("eventType")
    if event_type != "AwsApiCall":
        return Ignored(event_id, f"eventType {_text(event_type, 64)!r} is not AwsApiCall")
    if detail.get("errorCode") is not None:
        return Ignored(event_id, f"{name} failed: it changed nothing")
    read_only = detail.get("readOnly") is True or name.startswith(READ_ONLY_PREFIXES)
    if read_only:
        return Ignored(event_id, f"{name} is read-only")
    identity = detail.get("userIdentity")
    identity = identity if isinstance(identity, Mapping) else {}
    principal_arn = _text(identity.get("arn"), MAX_IDENTIFIER_CHARS)
    context = identity.get("sessionContext")
    issuer = context.get("sessionIssuer") if isinstance(context, Mapping) else None
    issuer_arn = _text(issuer.get("arn"), MAX_IDENTIFIER_CHARS) if isinstance(issuer, Mapping) else None
    if ignore.ignores(principal_arn, issuer_arn, resolved_principal(identity)):
        return Ignored(event_id, "caused by an ignored principal")
    service = _text(detail.get("eventSource")) or ""
    identifiers = _bounded_unique(
        [
            *_fields(detail.get("requestParameters"), _REQUEST_FIELDS.get(service, ())),
            *_fields(detail.get("responseElements"), _RESPONSE_FIELDS.get(service, ())),
            *_response_objects(detail.get("responseElements")),
            *_cloudtrail_resources(detail),
            *_envelope_resources(envelope),
        ]
    )
    return ChangeEvent(
        id=event_id,
        source=str(envelope["source"]),
        name=name,
        time=_rfc3339(detail.get("eventTime")) or str(envelope["time"]),
        account_id=str(envelope["account"]),
        region=_text(detail.get("awsRegion")) or str(envelope["region"]),
        principal_arn=principal_arn,
        issuer_arn=issuer_arn,
        read_only=False,
        identifiers=identifiers,
    )


def _config(envelope: Mapping[str, Any], detail: Mapping[str, Any]) -> ChangeEvent | Dropped:
    event_id = str(envelope["id"])
    item = detail.get("configurationItem")
    if not isinstance(item, Mapping):
        # OversizedConfigurationItemChangeNotification carries a summary.
        item = detail.get("configurationItemSummary")
    if not isinstance(item, Mapping):
        return Dropped("a Config notification without a configuration item", event_id)
    diff = detail.get("configurationItemDiff")
    change_type = _text(diff.get("changeType"), 32) if isinstance(diff, Mapping) else None
    change_type = change_type or _text(item.get("changeType"), 32) or "CHANGE"
    resource_type = _text(item.get("resourceType"))
    region = _text(item.get("awsRegion")) or str(envelope["region"])
    return ChangeEvent(
        id=event_id,
        source=str(envelope["source"]),
        name=f"{change_type} {resource_type or 'resource'}",
        time=_rfc3339(detail.get("notificationCreationTime")) or str(envelope["time"]),
        account_id=_text(item.get("awsAccountId"), 12) or str(envelope["account"]),
        region=str(envelope["region"]) if region == "global" else region,
        principal_arn=None,
        issuer_arn=None,
        read_only=False,
        identifiers=_bounded_unique(
            [
                item.get("resourceId"),
                item.get("resourceName"),
                item.get("ARN"),
                *_envelope_resources(envelope),
            ]
        ),
        resource_type=resource_type,
    )


_ACCOUNT = re.compile(r"^[0-9]{12}$")
_REGION = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-[0-9]{1,2}$")


def _account(event: Mapping[str, Any]) -> str | None:
    """The envelope's ``account``, else the one the detail names (moto's EventBridge leaves it out)."""
    detail = event.get("detail")
    candidates: list[object] = [event.get("account")]
    if isinstance(detail, Mapping):
        candidates.append(detail.get("recipientAccountId"))
        for name in ("configurationItem", "configurationItemSummary"):
            item = detail.get(name)
            if isinstance(item, Mapping):
                candidates.append(item.get("awsAccountId"))
    return next((c for c in candidates if isinstance(c, str) and _ACCOUNT.match(c)), None)


def _envelope_fault(event: Mapping[str, Any]) -> str | None:
    if not _text(event.get("id")):
        return "no `id`"
    if not _text(event.get("source")):
        return "no `source`"
    if _account(event) is None:
        return "`account` is not an account id"
    if not isinstance(event.get("region"), str) or not _REGION.match(event["region"]):
        return "`region` is not a region"
    time = _rfc3339(event.get("time"))
    if time is None:
        return "`time` is not an RFC 3339 time"
    if not isinstance(event.get("detail"), Mapping):
        return "no `detail` object"
    return None


def normalise(event: object, ignore: IgnorePrincipals) -> ChangeEvent | Ignored | Dropped:
    """The event, normalised; never raises."""
    try:
        return _normalise(event, ignore)
    except Exception as e:  # noqa: BLE001 - hostile input must cost one event, never the batch
        return Dropped(f"unreadable event ({type(e).__name__})")


def _normalise(event: object, ignore: IgnorePrincipals) -> ChangeEvent | Ignored | Dropped:
    if not isinstance(event, Mapping):
        return Dropped(f"not a JSON object but {type(event).__name__}")
    fault = _envelope_fault(event)
    event_id = _text(event.get("id"))
    if fault is not None:
        return Dropped(f"not an EventBridge event: {fault}", event_id)
    envelope = {**event, "time": _rfc3339(event["time"]), "account": _account(event)}
    detail = event["detail"]
    kind = event.get("detail-type")
    if kind == CLOUDTRAIL_DETAIL_TYPE:
        return _cloudtrail(envelope, detail, ignore)
    if kind == CONFIG_DETAIL_TYPE:
        return _config(envelope, detail)
    return Dropped(f"detail-type {_text(kind, 64)!r} is neither CloudTrail's nor Config's", event_id)


def parse_body(body: str | None, ignore: IgnorePrincipals) -> ChangeEvent | Ignored | Dropped:
    """An SQS message body (the EventBridge event as JSON), bounded, normalised; never raises."""
    if body is None:
        return Dropped("an empty message")
    if len(body) > MAX_EVENT_BYTES or len(body.encode("utf-8", "replace")) > MAX_EVENT_BYTES:
        return Dropped(f"larger than {MAX_EVENT_BYTES} bytes")
    try:
        event = json.loads(body)
    except (ValueError, RecursionError):
        return Dropped("not JSON")
    return normalise(event, ignore)
