"""What nobody manages: the run's claims against the cloud's inventory (pure).

The summarize step compares what every checked workspace's state claims (the
worker's ``managed-resources`` sidecars) with what exists (the inventory
:mod:`.cloud_inventory` lists), and writes the ``unmanaged-report`` v1
document. Nothing here touches AWS; ``tests/contract/unmanaged-cases.json``
(shared with the Rust core's ``drift_core::unmanaged``) pins every rule:

* **claimed**: an inventory item of Config type ``K`` is claimed when a claim
  of a Terraform type of kind ``K`` (``schemas/resource-kinds.json``) in the
  same scope has a state identifier equal to the item's resource id, name or
  ARN. The scope is the account for ``account_wide`` kinds, else the account
  and region; a claim's region is the one in its ARN when it has one, else
  its workspace's; its account is its workspace's.
* **withheld**: a workspace of the run whose check produced no claims (error,
  timeout, not checked, unreadable sidecar) may manage anything in its
  account and region: unclaimed items there are not reported (neither
  unmanaged nor ignored), and the scope is listed with the reason. The
  item's own region decides, account-wide kinds included (the cases file: a
  bucket in another region of the account is still reported).
* **ignored**: any other unclaimed item that matches an ignore rule (the
  embedded :data:`DEFAULT_IGNORES`, then the user's); the first matching
  rule's reason is kept.
* **unmanaged**: every other unclaimed item.
* **managed twice**: claims grouped by kind (or Terraform type outside the
  kinds table), account, region (unless account-wide) and primary
  identifier (``id``, else the first state identifier present), when the
  group holds claims of two or more workspaces.
* **gone**: a claim of kind ``K`` whose scope the inventory listed completely
  for ``K`` (a coverage entry without ``error``) while no item of ``K`` there
  shares an identifier with it.

Ignore rules (``UNMANAGED_IGNORE_JSON``, a JSON list, parsed by
:func:`parse_ignore_rules`): ``{"resource_type"?, "id"?, "tag"?,
"account_id"?, "region"?, "reason"}``; every field given must match; values
are globs where ``*`` is any run of characters and ``?`` one character
(nothing else is special); ``id`` matches the resource id, name or ARN;
``tag`` is ``KEY`` or ``KEY=VALUE`` and matches when some tag of the item
does (an item without tags never matches a tag rule).

Example::

    report = compare(claims, unclaimed, inventory, coverage, parse_ignore_rules(text))
    report["summary"]["unmanaged"]
"""

from __future__ import annotations

import functools
import json
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, NotRequired, TypedDict

from .errors import ConfigError

SCHEMA_VERSION = "1.0"
REPORT_KIND = "unmanaged-report"
SIDECAR_KIND = "managed-resources"
#: Where the report is written in the report bucket.
REPORT_PREFIX = "unmanaged"
KINDS_FILE = Path(__file__).resolve().parent / "schemas" / "resource-kinds.json"

Source = Literal["config", "config_aggregator", "service_api"]
SOURCES: tuple[Source, ...] = ("config", "config_aggregator", "service_api")


# --- The kinds table ---------------------------------------------------------


@dataclass(frozen=True)
class Kind:
    """One resource kind of ``schemas/resource-kinds.json``."""

    config_type: str
    terraform_types: tuple[str, ...]
    state_ids: tuple[str, ...]
    account_wide: bool


@functools.cache
def kinds() -> tuple[Kind, ...]:
    """The kinds the view inventories, in the table's order."""
    document = json.loads(KINDS_FILE.read_text(encoding="utf-8"))
    return tuple(
        Kind(
            config_type=k["config_type"],
            terraform_types=tuple(k["terraform_types"]),
            state_ids=tuple(k["state_ids"]),
            account_wide=bool(k["account_wide"]),
        )
        for k in document["kinds"]
    )


@functools.cache
def kind_of_config_type() -> dict[str, Kind]:
    """Kinds by Config type."""
    return {k.config_type: k for k in kinds()}


@functools.cache
def kind_of_terraform_type() -> dict[str, Kind]:
    """Kinds by Terraform resource type."""
    return {t: k for k in kinds() for t in k.terraform_types}


# --- Documents ---------------------------------------------------------------


class InventoryItem(TypedDict):
    """One resource that exists (``$defs/InventoryItem``)."""

    resource_type: str
    account_id: str
    region: str
    resource_id: str
    resource_name: NotRequired[str]
    arn: NotRequired[str]
    tags: NotRequired[dict[str, str]]
    source: NotRequired[Source]


class Coverage(TypedDict):
    """One account, region and type the inventory listed (``$defs/Coverage``).

    With ``error``, the listing failed or is incomplete: nothing is ``gone``
    there.
    """

    account_id: str
    region: str
    resource_type: str
    source: Source
    error: NotRequired[str]


class WorkspaceRef(TypedDict):
    """A workspace of the run."""

    name: str
    environment: str
    account_id: str
    region: str


class ManagedResource(TypedDict):
    """One resource a state holds, with its identifying attributes."""

    address: str
    type: str
    identifiers: dict[str, str | None]


class Claims(TypedDict):
    """What one checked workspace's state manages (the sidecar's core)."""

    workspace: WorkspaceRef
    resources: list[ManagedResource]


class Unclaimed(TypedDict):
    """A workspace of the run without claims, and why."""

    name: str
    environment: str
    account_id: str
    region: str
    reason: NotRequired[str]


class ClaimRef(TypedDict):
    """One claim of a resource managed twice."""

    workspace: str
    environment: str
    address: str


class ManagedTwice(TypedDict):
    """One resource in two or more workspaces' states."""

    resource_type: str
    account_id: str
    #: ``None`` for account-wide kinds.
    region: str | None
    identifier: str
    claims: list[ClaimRef]


class Gone(TypedDict):
    """A claim whose resource the inventory does not list."""

    workspace: str
    environment: str
    address: str
    resource_type: str
    account_id: str
    #: The claim's region; ``None`` for account-wide kinds.
    region: str | None
    identifiers: list[str]


class Ignored(TypedDict):
    """An unclaimed item an ignore rule covers."""

    item: InventoryItem
    reason: str


class Withheld(TypedDict):
    """A scope whose unclaimed items are not reported, and why."""

    account_id: str
    region: str
    reason: str


class ReportSummary(TypedDict):
    """The report's counts."""

    unmanaged: int
    managed_twice: int
    gone: int
    ignored: int
    withheld_scopes: int
    workspaces: int
    claims: int
    inventoried: int


class UnmanagedChange(TypedDict):
    """A change to an unmanaged resource the trigger kept (:mod:`.unmanaged_changes`)."""

    resource_type: str
    account_id: str
    resource_id: str
    time: str
    name: str
    principal: str
    event_id: str


class Report(TypedDict):
    """The ``unmanaged-report`` v1 document."""

    schema_version: str
    kind: str
    run_id: str
    generated_at: str
    summary: ReportSummary
    unmanaged: list[InventoryItem]
    managed_twice: list[ManagedTwice]
    gone: list[Gone]
    ignored: list[Ignored]
    withheld: list[Withheld]
    coverage: list[Coverage]
    changes: NotRequired[list[UnmanagedChange]]


def report_key(run_id: str) -> str:
    """``unmanaged/<run_id>.json``."""
    return f"{REPORT_PREFIX}/{run_id}.json"


# --- Globs and ignore rules --------------------------------------------------


@functools.lru_cache(maxsize=1024)
def _glob_regex(pattern: str) -> re.Pattern[str]:
    parts = [".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern]
    return re.compile("".join(parts), re.DOTALL)


def glob_match(pattern: str, text: str) -> bool:
    """Whether ``text`` matches ``pattern`` (``*`` any run, ``?`` one character; case-sensitive)."""
    return _glob_regex(pattern).fullmatch(text) is not None


@dataclass(frozen=True)
class IgnoreRule:
    """One ``unmanaged.ignore`` rule; every field given must match."""

    reason: str
    resource_type: str | None = None
    id: str | None = None
    tag: str | None = None
    account_id: str | None = None
    region: str | None = None

    def matches(self, item: InventoryItem) -> bool:
        """Whether the rule covers ``item``."""
        if self.resource_type is not None and not glob_match(self.resource_type, item["resource_type"]):
            return False
        if self.account_id is not None and not glob_match(self.account_id, item["account_id"]):
            return False
        if self.region is not None and not glob_match(self.region, item["region"]):
            return False
        if self.id is not None and not any(glob_match(self.id, value) for value in _item_ids(item)):
            return False
        return self.tag is None or _tag_matches(self.tag, item.get("tags") or {})


def _tag_matches(rule: str, tags: Mapping[str, str]) -> bool:
    key, has_value, value = rule.partition("=")
    return any(glob_match(key, k) and (not has_value or glob_match(value, v)) for k, v in tags.items())


#: The embedded rules, always on: the same rules and reasons as the
#: ``[[unmanaged.ignore]]`` of ``crates/drift-core/src/drift/default_rules.toml``.
DEFAULT_IGNORES: tuple[IgnoreRule, ...] = (
    IgnoreRule(
        resource_type="AWS::EC2::SecurityGroup",
        id="default",
        reason="every VPC's default security group exists without Terraform",
    ),
    IgnoreRule(
        resource_type="AWS::IAM::Role",
        id="AWSServiceRoleFor*",
        reason="service-linked roles are made by the AWS services themselves",
    ),
    IgnoreRule(
        resource_type="AWS::IAM::Role",
        id="AWSReservedSSO_*",
        reason="IAM Identity Center manages its permission-set roles",
    ),
    IgnoreRule(
        tag="aws:cloudformation:stack-name",
        reason="managed by a CloudFormation stack",
    ),
)

_RULE_MATCHERS = ("resource_type", "id", "tag", "account_id", "region")
_RULE_FIELDS = (*_RULE_MATCHERS, "reason")


def parse_ignore_rules(text: str, origin: str = "UNMANAGED_IGNORE_JSON") -> tuple[IgnoreRule, ...]:
    """The user's ignore rules from a JSON list; raises :class:`ConfigError` naming each bad rule."""
    if not text.strip():
        return ()
    try:
        document: Any = json.loads(text)
    except ValueError as e:
        raise ConfigError(f"invalid configuration: {origin} is not JSON: {e}") from e
    if not isinstance(document, list):
        raise ConfigError(f"invalid configuration: {origin} must be a JSON list of ignore rules")
    faults: list[str] = []
    rules: list[IgnoreRule] = []
    for index, rule in enumerate(document):
        label = f"{origin} rule {index}"
        if not isinstance(rule, dict):
            faults.append(f"{label} is not an object")
            continue
        unknown = sorted(set(rule) - set(_RULE_FIELDS))
        if unknown:
            faults.append(f"{label} has unknown field(s) {', '.join(unknown)} (known: {', '.join(_RULE_FIELDS)})")
        wrong = [k for k in _RULE_FIELDS if k in rule and not isinstance(rule[k], str)]
        if isinstance(rule.get("reason"), str) and not rule["reason"].strip():
            wrong.append("reason")
        if wrong:
            faults.append(f"{label}: {', '.join(wrong)} must be strings (a reason not blank)")
        if "reason" not in rule:
            faults.append(f"{label} has no reason")
        if not any(k in rule for k in _RULE_MATCHERS):
            faults.append(f"{label} matches everything: give at least one of {', '.join(_RULE_MATCHERS)}")
        if unknown or wrong or "reason" not in rule or not any(k in rule for k in _RULE_MATCHERS):
            continue
        rules.append(IgnoreRule(**{k: rule[k] for k in _RULE_FIELDS if k in rule}))
    if faults:
        raise ConfigError("invalid configuration: " + "; ".join(faults))
    return tuple(rules)


# --- The comparison ----------------------------------------------------------


def _item_ids(item: InventoryItem) -> list[str]:
    return [v for v in (item["resource_id"], item.get("resource_name"), item.get("arn")) if v]


def arn_region(arn: str) -> str | None:
    """The region of ``arn:PARTITION:SERVICE:REGION:ACCOUNT:...``, or ``None`` (global, or not an ARN)."""
    parts = arn.split(":", 5)
    if len(parts) < 6 or parts[0] != "arn" or not parts[3]:
        return None
    return parts[3]


@dataclass(frozen=True)
class _Claim:
    workspace: WorkspaceRef
    address: str
    terraform_type: str
    kind: Kind | None
    #: The identifying values, in the kind's state_ids order (all, for other types).
    identifiers: tuple[str, ...]
    primary: str | None
    region: str

    @property
    def account_id(self) -> str:
        return self.workspace["account_id"]

    @property
    def type_name(self) -> str:
        return self.kind.config_type if self.kind else self.terraform_type

    @property
    def account_wide(self) -> bool:
        return self.kind is not None and self.kind.account_wide


def _claim(workspace: WorkspaceRef, resource: ManagedResource) -> _Claim:
    kind = kind_of_terraform_type().get(resource["type"])
    raw = resource.get("identifiers") or {}
    attributes = kind.state_ids if kind else tuple(raw)
    values = {a: raw[a] for a in attributes if isinstance(raw.get(a), str) and raw[a]}
    identifiers = tuple(v for v in values.values() if v is not None)
    primary = values.get("id") or next(iter(identifiers), None)
    region = workspace["region"]
    for value in [values.get("arn"), *identifiers]:
        found = arn_region(value) if value else None
        if found:
            region = found
            break
    return _Claim(
        workspace=workspace,
        address=resource["address"],
        terraform_type=resource["type"],
        kind=kind,
        identifiers=identifiers,
        primary=primary,
        region=region,
    )


Scope = tuple[str, str, str | None]


def _scope(type_name: str, account_id: str, region: str, account_wide: bool) -> Scope:
    return (type_name, account_id, None if account_wide else region)


def _item_scope(item: InventoryItem) -> Scope:
    kind = kind_of_config_type().get(item["resource_type"])
    return _scope(item["resource_type"], item["account_id"], item["region"], kind is not None and kind.account_wide)


def _item_order(item: InventoryItem) -> tuple[str, str, str, str]:
    return (item["resource_type"], item["account_id"], item["resource_id"], item["region"])


def _dedupe(inventory: Iterable[InventoryItem]) -> list[InventoryItem]:
    """One item per resource (an account-wide kind may be listed in several regions)."""
    seen: set[tuple[Scope, str]] = set()
    unique: list[InventoryItem] = []
    for item in sorted(inventory, key=_item_order):
        identity = (_item_scope(item), item["resource_id"])
        if identity not in seen:
            seen.add(identity)
            unique.append(item)
    return unique


def _label(workspace: Mapping[str, Any]) -> str:
    return f"{workspace['name']}/{workspace['environment']}"


def _withheld(unclaimed: Sequence[Unclaimed]) -> list[Withheld]:
    reasons: dict[tuple[str, str], list[str]] = defaultdict(list)
    for workspace in unclaimed:
        why = workspace.get("reason") or "its check produced no claims"
        reasons[(workspace["account_id"], workspace["region"])].append(f"{_label(workspace)}: {why}")
    return [
        Withheld(
            account_id=account,
            region=region,
            reason="workspaces of this scope claimed nothing known, so what they manage is unknown: "
            + "; ".join(sorted(reasons[(account, region)])),
        )
        for account, region in sorted(reasons)
    ]


def compare(
    claims: Sequence[Claims],
    unclaimed: Sequence[Unclaimed],
    inventory: Sequence[InventoryItem],
    coverage: Sequence[Coverage],
    ignore: Sequence[IgnoreRule] = (),
    *,
    run_id: str = "",
    generated_at: str = "",
) -> Report:
    """The ``unmanaged-report`` v1 document; ``ignore`` is added to :data:`DEFAULT_IGNORES`."""
    parsed = [_claim(c["workspace"], r) for c in claims for r in c["resources"]]
    items = _dedupe(inventory)

    claimed_ids: dict[Scope, set[str]] = defaultdict(set)
    for claim in parsed:
        if claim.kind is not None:
            scope = _scope(claim.type_name, claim.account_id, claim.region, claim.account_wide)
            claimed_ids[scope].update(claim.identifiers)

    withheld = _withheld(unclaimed)
    # An unclaimed workspace withholds its account and region, by the item's
    # own region for account-wide kinds too (tests/contract/unmanaged-cases.json:
    # a bucket of another region of the account is still reported).
    withheld_scopes = {(w["account_id"], w["region"]) for w in withheld}
    rules = (*DEFAULT_IGNORES, *ignore)
    unmanaged: list[InventoryItem] = []
    ignored: list[Ignored] = []
    for item in items:
        if claimed_ids.get(_item_scope(item), set()).intersection(_item_ids(item)):
            continue
        if (item["account_id"], item["region"]) in withheld_scopes:
            continue
        rule = next((r for r in rules if r.matches(item)), None)
        if rule is not None:
            ignored.append(Ignored(item=item, reason=rule.reason))
        else:
            unmanaged.append(item)

    groups: dict[tuple[str, str, str | None, str], list[_Claim]] = defaultdict(list)
    for claim in parsed:
        if claim.primary is not None:
            type_name, account, region = _scope(claim.type_name, claim.account_id, claim.region, claim.account_wide)
            groups[(type_name, account, region, claim.primary)].append(claim)
    managed_twice = [
        ManagedTwice(
            resource_type=type_name,
            account_id=account,
            region=region,
            identifier=identifier,
            claims=sorted(
                (
                    ClaimRef(workspace=c.workspace["name"], environment=c.workspace["environment"], address=c.address)
                    for c in group
                ),
                key=lambda r: (r["workspace"], r["environment"], r["address"]),
            ),
        )
        for (type_name, account, region, identifier), group in sorted(groups.items(), key=lambda g: _group_order(g[0]))
        if len({(c.workspace["name"], c.workspace["environment"]) for c in group}) > 1
    ]

    covered = {
        _scope(c["resource_type"], c["account_id"], c["region"], _account_wide(c["resource_type"]))
        for c in coverage
        if not c.get("error")
    }
    present: dict[Scope, set[str]] = defaultdict(set)
    for item in inventory:
        present[_item_scope(item)].update(_item_ids(item))
    gone = sorted(
        (
            Gone(
                workspace=c.workspace["name"],
                environment=c.workspace["environment"],
                address=c.address,
                resource_type=c.type_name,
                account_id=c.account_id,
                region=scope[2],
                identifiers=sorted(set(c.identifiers)),
            )
            for c in parsed
            if c.kind is not None
            and c.identifiers
            and (scope := _scope(c.type_name, c.account_id, c.region, c.account_wide)) in covered
            and not present[scope].intersection(c.identifiers)
        ),
        key=lambda g: (g["workspace"], g["environment"], g["address"], g["identifiers"]),
    )

    ordered_coverage = sorted(
        coverage, key=lambda c: (c["account_id"], c["region"], c["resource_type"], c["source"], c.get("error", ""))
    )
    return Report(
        schema_version=SCHEMA_VERSION,
        kind=REPORT_KIND,
        run_id=run_id,
        generated_at=generated_at,
        summary=ReportSummary(
            unmanaged=len(unmanaged),
            managed_twice=len(managed_twice),
            gone=len(gone),
            ignored=len(ignored),
            withheld_scopes=len(withheld),
            workspaces=len(claims) + len(unclaimed),
            claims=len(parsed),
            inventoried=len(items),
        ),
        unmanaged=unmanaged,
        managed_twice=managed_twice,
        gone=gone,
        ignored=ignored,
        withheld=withheld,
        coverage=list(ordered_coverage),
    )


def _account_wide(resource_type: str) -> bool:
    kind = kind_of_config_type().get(resource_type)
    return kind is not None and kind.account_wide


def _group_order(key: tuple[str, str, str | None, str]) -> tuple[str, str, str, str]:
    type_name, account, region, identifier = key
    return (type_name, account, identifier, region or "")


# --- Sidecars ------------------------------------------------------------------


class SidecarError(ValueError):
    """A ``managed-resources`` document that breaks the contract."""


def parse_sidecar(document: object, workspace: WorkspaceRef, run_id: str) -> Claims:
    """Checks a worker's ``managed-resources`` document and returns its claims.

    The workspace is the run's own (name, environment, account, region), not
    the document's: a sidecar of another workspace or run is refused.
    """
    if not isinstance(document, dict):
        raise SidecarError("not a JSON object")
    if document.get("kind") != SIDECAR_KIND:
        raise SidecarError(f"`kind` is {document.get('kind')!r}, expected {SIDECAR_KIND!r}")
    version = document.get("schema_version")
    if not isinstance(version, str) or not version.startswith("1."):
        raise SidecarError(f"`schema_version` {version!r} is not 1.x")
    if document.get("run_id") != run_id:
        raise SidecarError(f"`run_id` is {document.get('run_id')!r}, expected {run_id!r}")
    named = document.get("workspace")
    if not isinstance(named, dict) or any(named.get(k) != workspace[k] for k in ("name", "environment")):
        raise SidecarError(f"`workspace` does not name {_label(workspace)}")
    resources = document.get("resources")
    if not isinstance(resources, list):
        raise SidecarError("`resources` is not a list")
    parsed: list[ManagedResource] = []
    for index, resource in enumerate(resources):
        if not isinstance(resource, dict):
            raise SidecarError(f"`resources[{index}]` is not an object")
        address, type_name, identifiers = resource.get("address"), resource.get("type"), resource.get("identifiers")
        if not isinstance(address, str) or not isinstance(type_name, str) or not isinstance(identifiers, dict):
            raise SidecarError(f"`resources[{index}]` needs `address`, `type` and an `identifiers` object")
        parsed.append(
            ManagedResource(
                address=address,
                type=type_name,
                identifiers={str(k): v for k, v in identifiers.items() if isinstance(v, str)},
            )
        )
    return Claims(workspace=workspace, resources=parsed)


__all__ = [
    "DEFAULT_IGNORES",
    "Claims",
    "Coverage",
    "IgnoreRule",
    "InventoryItem",
    "Report",
    "Unclaimed",
    "compare",
    "glob_match",
    "kinds",
    "parse_ignore_rules",
    "parse_sidecar",
    "report_key",
]
