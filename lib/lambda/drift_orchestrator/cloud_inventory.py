"""What exists: the inventory of the run's accounts and regions (the edge, boto3).

:func:`inventory` lists every kind of ``schemas/resource-kinds.json`` in
every account and region of the run's workspaces, and says for each
account, region and kind how it was listed (``Coverage``: ``config``,
``config_aggregator`` or ``service_api``) or why it was not (``error``). It
never raises for AWS trouble: access denied, throttling that outlasted
botocore's standard retries, a role that cannot be assumed, a listing cut at
its bound or the time budget all become coverage errors, and the comparison
(:mod:`.unmanaged`) reports nothing ``gone`` where the listing is incomplete.

Sources, in order:

1. ``CONFIG_AGGREGATOR_NAME`` set: the aggregator, read with the summarize
   function's own credentials (it lives in the account that runs the stack).
   ``describe_configuration_aggregators`` says which accounts and regions it
   answers for (an organization source: every account). Regional kinds are
   listed per account and region (``list_aggregate_discovered_resources``
   filtered by ``AccountId`` and ``Region``); account-wide kinds per account
   (filtered by ``AccountId``), only where the aggregator covers all
   regions of the account (buckets are recorded in their own region), and
   their coverage is recorded under the account's first region of the run.
   A listing the aggregator refuses is left to step 2.
2. Per account and region not answered by the aggregator, with the
   workspace's role (``role_arn`` and ``external_id`` from the run's items;
   the external id is never logged or stored), else the function's own
   credentials: a recording Config recorder
   (``describe_configuration_recorders`` and ``..._status``) whose
   recording group records the kind (``allSupported``, the type listed, or
   the exclusion strategy not excluding it) → ``list_discovered_resources``.
   IAM roles are account-wide: Config lists them once per account, from a
   region whose recorder records global types (``includeGlobalResourceTypes``
   or ``AWS::IAM::Role`` listed). S3 buckets are account-wide but Config
   records each in its own region, so a per-region recorder cannot prove a
   bucket listing complete: without an aggregator over all regions, buckets
   come from ``s3:ListBuckets``.
3. The service APIs otherwise (a kind not recorded, no Config, or Config
   failing): ``ec2:DescribeInstances`` (terminated instances skipped),
   ``ec2:DescribeSecurityGroups``, ``ec2:DescribeVolumes``,
   ``rds:DescribeDBInstances`` and ``rds:DescribeDBClusters`` (Neptune and
   DocumentDB, which share the RDS API, skipped) per region;
   ``s3:ListBuckets`` and ``iam:ListRoles`` once per account. Items carry
   the tags EC2 and RDS return; buckets and roles carry none (a call per
   resource), so tag ignore rules do not apply to them. A bucket's region is
   the ``BucketRegion`` that ``ListBuckets`` returns when asked with
   ``MaxBuckets`` (it is); only a bucket listed without it costs a
   ``GetBucketLocation`` call (and, if that fails, takes the region it was
   listed from).

Config items are completed with ``batch_get_resource_config`` /
``batch_get_aggregate_resource_config`` (100 per call): the ARN, and the tags
where the recorded configuration holds them (best effort: a failure leaves
the item without them).

Bounds: every listing is paginated and stops after
:data:`MAX_ITEMS_PER_LISTING` items of one kind in one scope (then a
coverage error says so); scopes are listed by a pool of
:data:`MAX_WORKERS` threads (one boto3 session per task: sessions are not
thread-safe); each client retries in botocore's ``standard`` mode
(:data:`CLIENT_CONFIG`). The time budget is a deadline on the monotonic
clock: no page is requested after it, and scopes not finished by then are
recorded as not inventoried.

Calls, per account and region without the aggregator: ``sts:AssumeRole``
(with a ``role_arn``), ``DescribeConfigurationRecorders`` and
``DescribeConfigurationRecorderStatus``, then per regional kind one
paginated listing (Config: ``ListDiscoveredResources`` and
``BatchGetResourceConfig``, one page per 100 items each; else the service
call, EC2 pages of up to 1000, RDS of 100): 8 calls for a small region.
Per account, once: ``sts:AssumeRole``, ``ListBuckets`` (1000 per page) and
``ListRoles`` (100 per page, or Config's pair). With the aggregator: one
``DescribeConfigurationAggregators`` per run, then per answered account,
region and kind ``ListAggregateDiscoveredResources`` and
``BatchGetAggregateResourceConfig`` (100 per page each); answered scopes
cost no role and no recorder probe.

Environment (read by ``summarize.py``, checked in :mod:`.config`):
``CONFIG_AGGREGATOR_NAME`` (optional),
``UNMANAGED_TIME_BUDGET_SECONDS`` (default 300; the summarize step also
keeps a reserve of its Lambda's remaining time).
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import json
import threading
import time
import traceback
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import boto3
from botocore.config import Config as BotoConfig
from botocore.exceptions import BotoCoreError, ClientError

from .observability import logger
from .unmanaged import Coverage, InventoryItem, Kind, Source, kinds

#: Items of one kind listed in one scope before the listing stops.
MAX_ITEMS_PER_LISTING = 10_000
#: ``MaxBuckets`` of each ``ListBuckets`` page (it also makes S3 return ``BucketRegion``).
LIST_BUCKETS_PAGE_SIZE = 1000
#: Threads listing scopes at once.
MAX_WORKERS = 8
#: Identifiers per ``batch_get_*resource_config`` call (the API's limit).
BATCH_GET_SIZE = 100
#: Every client: standard retry mode (throttling backs off), short timeouts.
CLIENT_CONFIG = BotoConfig(
    retries={"mode": "standard", "max_attempts": 5},
    connect_timeout=5,
    read_timeout=30,
    user_agent_extra="drift-detection-unmanaged",
)
ROLE_SESSION_NAME = "drift-detection-unmanaged"
_NOT_LISTED_ENGINES = ("neptune", "docdb")

S3_BUCKET = "AWS::S3::Bucket"
IAM_ROLE = "AWS::IAM::Role"


@dataclass(frozen=True)
class Target:
    """One account and region of the run, and the credentials to list it with."""

    account_id: str
    region: str
    role_arn: str | None = None
    external_id: str | None = field(default=None, repr=False)


@dataclass
class Listing:
    """What the inventory found, and how completely."""

    items: list[InventoryItem] = field(default_factory=list)
    coverage: list[Coverage] = field(default_factory=list)

    def extend(self, other: Listing) -> None:
        """Adds ``other``'s items and coverage."""
        self.items.extend(other.items)
        self.coverage.extend(other.coverage)


#: Makes the boto3 session a target is listed with (assumes its role).
SessionFactory = Callable[[Target], boto3.session.Session]


class Deadline:
    """The time budget, on a clock the tests can set."""

    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._end = clock() + seconds

    def left(self) -> float:
        """Seconds left (negative when spent)."""
        return self._end - self._clock()

    def spent(self) -> bool:
        """Whether the budget is spent."""
        return self.left() <= 0


class WrongAccount(Exception):
    """A target without a role in another account than the function's own."""


#: What making a target's session may raise: its coverage then says why.
SESSION_ERRORS = (ClientError, BotoCoreError, WrongAccount)


def session_failure(target: Target, error: Exception) -> str:
    """Why ``target`` could not be listed, without its secret."""
    if isinstance(error, WrongAccount):
        return str(error)
    if target.role_arn:
        return f"cannot assume {target.role_arn}: {describe_error(error, target.external_id)}"
    return f"cannot use the function's own credentials: {describe_error(error)}"


def assume_session(target: Target, sts: Any = None) -> boto3.session.Session:
    """A session with the target's role, or the function's own credentials.

    ``sts`` is the STS client to assume the role with (a new one when not given).
    """
    base = boto3.session.Session(region_name=target.region)
    if not target.role_arn:
        return base
    sts = sts or base.client("sts", config=CLIENT_CONFIG)
    request: dict[str, Any] = {"RoleArn": target.role_arn, "RoleSessionName": ROLE_SESSION_NAME}
    if target.external_id:
        request["ExternalId"] = target.external_id
    credentials = sts.assume_role(**request)["Credentials"]
    return boto3.session.Session(
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
        region_name=target.region,
    )


def describe_error(error: Exception, secret: str | None = None) -> str:
    """``Code: message`` of an AWS error, without the secret."""
    if isinstance(error, ClientError):
        details = error.response.get("Error", {})
        text = f"{details.get('Code', 'Unknown')}: {details.get('Message', '')}".rstrip(": ")
    else:
        text = f"{type(error).__name__}: {error}"
    if secret:
        text = text.replace(secret, "[redacted]")
    return " ".join(text.split())[:500]


def partition_of(region: str) -> str:
    """The ARN partition of a region."""
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


def _tags(entries: object) -> dict[str, str]:
    """Tags from ``[{"Key", "Value"}]``, ``[{"key", "value"}]`` or a mapping."""
    if isinstance(entries, Mapping):
        return {str(k): str(v) for k, v in entries.items() if isinstance(k, str) and isinstance(v, (str, int, float))}
    tags: dict[str, str] = {}
    for entry in entries if isinstance(entries, list) else []:
        if isinstance(entry, Mapping):
            key = entry.get("Key", entry.get("key"))
            value = entry.get("Value", entry.get("value", ""))
            if isinstance(key, str):
                tags[key] = str(value)
    return tags


def _item(
    resource_type: str,
    account_id: str,
    region: str,
    resource_id: str,
    source: Source,
    *,
    name: str | None = None,
    arn: str | None = None,
    tags: Mapping[str, str] | None = None,
) -> InventoryItem:
    item = InventoryItem(resource_type=resource_type, account_id=account_id, region=region, resource_id=resource_id)
    if name:
        item["resource_name"] = name
    if arn:
        item["arn"] = arn
    if tags:
        item["tags"] = dict(tags)
    item["source"] = source
    return item


def _coverage(account_id: str, region: str, resource_type: str, source: Source, error: str | None) -> Coverage:
    entry = Coverage(account_id=account_id, region=region, resource_type=resource_type, source=source)
    if error:
        entry["error"] = error
    return entry


def _bounded(
    pages: Iterable[Any], convert: Callable[[Any], Iterable[InventoryItem]], deadline: Deadline
) -> tuple[list[InventoryItem], str | None]:
    """Items of every page, cut at the bound or the deadline; the error says which."""
    items: list[InventoryItem] = []
    iterator = iter(pages)
    while True:
        if deadline.spent():
            return items, "the time budget was spent before the listing finished"
        try:
            page = next(iterator)
        except StopIteration:
            return items, None
        items.extend(convert(page))
        if len(items) > MAX_ITEMS_PER_LISTING:
            return items[:MAX_ITEMS_PER_LISTING], f"more than {MAX_ITEMS_PER_LISTING} items: the listing stopped there"


# --- Service APIs --------------------------------------------------------------


def _service_listing(
    session: boto3.session.Session, resource_type: str, account_id: str, region: str
) -> tuple[Iterable[Any], Callable[[Any], Iterable[InventoryItem]]]:
    """The pages of the service API that lists ``resource_type``, and their conversion."""
    partition = partition_of(region)

    def item(resource_id: str, **extra: Any) -> InventoryItem:
        return _item(resource_type, account_id, region, resource_id, "service_api", **extra)

    if resource_type == "AWS::EC2::Instance":
        ec2: Any = session.client("ec2", region_name=region, config=CLIENT_CONFIG)

        def instances(page: Any) -> Iterator[InventoryItem]:
            for reservation in page.get("Reservations", []):
                for instance in reservation.get("Instances", []):
                    if instance.get("State", {}).get("Name") == "terminated":
                        continue
                    instance_id = instance["InstanceId"]
                    arn = f"arn:{partition}:ec2:{region}:{account_id}:instance/{instance_id}"
                    yield item(instance_id, arn=arn, tags=_tags(instance.get("Tags")))

        return ec2.get_paginator("describe_instances").paginate(), instances
    if resource_type == "AWS::EC2::SecurityGroup":
        ec2 = session.client("ec2", region_name=region, config=CLIENT_CONFIG)

        def groups(page: Any) -> Iterator[InventoryItem]:
            for group in page.get("SecurityGroups", []):
                group_id = group["GroupId"]
                arn = f"arn:{partition}:ec2:{region}:{account_id}:security-group/{group_id}"
                yield item(group_id, name=group.get("GroupName"), arn=arn, tags=_tags(group.get("Tags")))

        return ec2.get_paginator("describe_security_groups").paginate(), groups
    if resource_type == "AWS::EC2::Volume":
        ec2 = session.client("ec2", region_name=region, config=CLIENT_CONFIG)

        def volumes(page: Any) -> Iterator[InventoryItem]:
            for volume in page.get("Volumes", []):
                volume_id = volume["VolumeId"]
                arn = f"arn:{partition}:ec2:{region}:{account_id}:volume/{volume_id}"
                yield item(volume_id, arn=arn, tags=_tags(volume.get("Tags")))

        return ec2.get_paginator("describe_volumes").paginate(), volumes
    if resource_type == "AWS::RDS::DBInstance":
        rds: Any = session.client("rds", region_name=region, config=CLIENT_CONFIG)

        def databases(page: Any) -> Iterator[InventoryItem]:
            for db in page.get("DBInstances", []):
                if db.get("Engine") in _NOT_LISTED_ENGINES:
                    continue
                yield item(
                    db["DbiResourceId"],
                    name=db.get("DBInstanceIdentifier"),
                    arn=db.get("DBInstanceArn"),
                    tags=_tags(db.get("TagList")),
                )

        return rds.get_paginator("describe_db_instances").paginate(), databases
    if resource_type == "AWS::RDS::DBCluster":
        rds = session.client("rds", region_name=region, config=CLIENT_CONFIG)

        def clusters(page: Any) -> Iterator[InventoryItem]:
            for cluster in page.get("DBClusters", []):
                if cluster.get("Engine") in _NOT_LISTED_ENGINES:
                    continue
                yield item(
                    cluster["DbClusterResourceId"],
                    name=cluster.get("DBClusterIdentifier"),
                    arn=cluster.get("DBClusterArn"),
                    tags=_tags(cluster.get("TagList")),
                )

        return rds.get_paginator("describe_db_clusters").paginate(), clusters
    if resource_type == S3_BUCKET:
        s3: Any = session.client("s3", region_name=region, config=CLIENT_CONFIG)

        def bucket_region(bucket: Mapping[str, Any]) -> str:
            # ListBuckets names each bucket's region when the request has a
            # parameter (MaxBuckets here); GetBucketLocation only without it.
            if bucket.get("BucketRegion"):
                return str(bucket["BucketRegion"])
            try:
                location = s3.get_bucket_location(Bucket=bucket["Name"]).get("LocationConstraint")
            except (ClientError, BotoCoreError):
                return region
            if not location:
                return "us-east-1"
            return "eu-west-1" if location == "EU" else str(location)

        def buckets(page: Any) -> Iterator[InventoryItem]:
            for bucket in page.get("Buckets", []):
                name = bucket["Name"]
                yield _item(
                    S3_BUCKET,
                    account_id,
                    bucket_region(bucket),
                    name,
                    "service_api",
                    name=name,
                    arn=f"arn:{partition}:s3:::{name}",
                )

        pages = s3.get_paginator("list_buckets").paginate(PaginationConfig={"PageSize": LIST_BUCKETS_PAGE_SIZE})
        return pages, buckets
    if resource_type == IAM_ROLE:
        iam: Any = session.client("iam", region_name=region, config=CLIENT_CONFIG)

        def roles(page: Any) -> Iterator[InventoryItem]:
            for role in page.get("Roles", []):
                yield item(role["RoleId"], name=role.get("RoleName"), arn=role.get("Arn"))

        return iam.get_paginator("list_roles").paginate(), roles
    raise ValueError(f"no service API lists {resource_type}")


def _list_service(
    session: boto3.session.Session, resource_type: str, target: Target, deadline: Deadline
) -> tuple[list[InventoryItem], Coverage]:
    try:
        pages, convert = _service_listing(session, resource_type, target.account_id, target.region)
        items, error = _bounded(pages, convert, deadline)
    except (ClientError, BotoCoreError) as e:
        items, error = [], describe_error(e, target.external_id)
    return items, _coverage(target.account_id, target.region, resource_type, "service_api", error)


# --- Config ------------------------------------------------------------------


@dataclass(frozen=True)
class Recorder:
    """What a region's recording Config recorders record."""

    types: frozenset[str]
    all_supported: bool
    global_types: bool
    excluded: frozenset[str] = frozenset()

    def records(self, kind: Kind) -> bool:
        """Whether the recorder lists ``kind`` in this region (IAM roles: with global types)."""
        if kind.config_type in self.excluded:
            return False
        if kind.config_type in self.types:
            return True
        if kind.config_type == IAM_ROLE:
            return self.all_supported and self.global_types
        return self.all_supported


def probe_recorder(config: Any) -> Recorder | None:
    """The region's recording recorders, merged; ``None`` when nothing records."""
    recorders = config.describe_configuration_recorders().get("ConfigurationRecorders", [])
    statuses = config.describe_configuration_recorder_status().get("ConfigurationRecordersStatus", [])
    recording = {s.get("name") for s in statuses if s.get("recording")}
    types: set[str] = set()
    excluded: set[str] = set()
    all_supported = global_types = False
    found = False
    for recorder in recorders:
        if recorder.get("name") not in recording:
            continue
        found = True
        group = recorder.get("recordingGroup") or {}
        strategy = (group.get("recordingStrategy") or {}).get("useOnly")
        if strategy == "EXCLUSION_BY_RESOURCE_TYPES":
            all_supported = global_types = True
            excluded.update((group.get("exclusionByResourceTypes") or {}).get("resourceTypes", []))
        elif group.get("allSupported"):
            all_supported = True
            global_types = global_types or bool(group.get("includeGlobalResourceTypes"))
        types.update(group.get("resourceTypes") or [])
    if not found:
        return None
    return Recorder(
        types=frozenset(types),
        all_supported=all_supported,
        global_types=global_types,
        excluded=frozenset(excluded - types),
    )


def _config_tags(item: Mapping[str, Any]) -> dict[str, str]:
    """Tags from a recorded configuration, where it holds them (best effort)."""
    try:
        configuration = json.loads(item.get("configuration") or "{}")
    except ValueError:
        configuration = {}
    tags: dict[str, str] = {}
    if isinstance(configuration, Mapping):
        tags.update(_tags(configuration.get("tags", configuration.get("Tags"))))
    supplementary = item.get("supplementaryConfiguration") or {}
    for key in ("Tags", "tags"):
        if key in supplementary:
            with contextlib.suppress(ValueError, TypeError):
                tags.update(_tags(json.loads(supplementary[key])))
    bucket = supplementary.get("BucketTaggingConfiguration")
    if bucket:
        try:
            for tag_set in json.loads(bucket).get("tagSets", []):
                tags.update(_tags(tag_set.get("tags")))
        except (ValueError, TypeError, AttributeError):
            pass
    return tags


def _complete(items: list[InventoryItem], fetch: Callable[[list[InventoryItem]], list[Mapping[str, Any]]]) -> None:
    """Adds ARNs and tags to Config items in place; a failure leaves them as they are."""
    by_key = {(i["account_id"], i["resource_type"], i["resource_id"]): i for i in items}
    for start in range(0, len(items), BATCH_GET_SIZE):
        chunk = items[start : start + BATCH_GET_SIZE]
        try:
            found = fetch(chunk)
        except (ClientError, BotoCoreError) as e:
            logger.warning("Config details not read: items keep no ARN or tags", extra={"error": describe_error(e)})
            return
        for detail in found:
            item = by_key.get(
                (detail.get("accountId", ""), detail.get("resourceType", ""), detail.get("resourceId", ""))
            )
            if item is None:
                continue
            if detail.get("arn"):
                item["arn"] = detail["arn"]
            tags = _config_tags(detail)
            if tags:
                item["tags"] = tags


def _list_config(
    config: Any, resource_type: str, target: Target, deadline: Deadline
) -> tuple[list[InventoryItem], Coverage]:
    def convert(page: Any) -> Iterator[InventoryItem]:
        for found in page.get("resourceIdentifiers", []):
            yield _item(
                resource_type,
                target.account_id,
                target.region,
                found["resourceId"],
                "config",
                name=found.get("resourceName"),
            )

    def fetch(chunk: list[InventoryItem]) -> list[Mapping[str, Any]]:
        keys = [{"resourceType": i["resource_type"], "resourceId": i["resource_id"]} for i in chunk]
        found: list[Mapping[str, Any]] = config.batch_get_resource_config(resourceKeys=keys).get(
            "baseConfigurationItems", []
        )
        return found

    try:
        pages = config.get_paginator("list_discovered_resources").paginate(resourceType=resource_type)
        items, error = _bounded(pages, convert, deadline)
        _complete(items, fetch)
    except (ClientError, BotoCoreError) as e:
        items, error = [], describe_error(e, target.external_id)
    return items, _coverage(target.account_id, target.region, resource_type, "config", error)


# --- The aggregator ------------------------------------------------------------


@dataclass(frozen=True)
class Aggregated:
    """Which accounts and regions an aggregator answers for."""

    name: str
    #: ``None``: every account (an organization source).
    accounts: Mapping[str, tuple[bool, frozenset[str]]] | None
    organization: tuple[bool, frozenset[str]] | None

    def _regions(self, account_id: str) -> tuple[bool, frozenset[str]] | None:
        if self.organization is not None:
            return self.organization
        return (self.accounts or {}).get(account_id)

    def covers(self, account_id: str, region: str) -> bool:
        """Whether it aggregates ``region`` of ``account_id``."""
        regions = self._regions(account_id)
        return regions is not None and (regions[0] or region in regions[1])

    def covers_all_regions(self, account_id: str) -> bool:
        """Whether it aggregates every region of ``account_id``."""
        regions = self._regions(account_id)
        return regions is not None and regions[0]


def describe_aggregator(config: Any, name: str) -> Aggregated:
    """The aggregator's sources; errors propagate."""
    found = config.describe_configuration_aggregators(ConfigurationAggregatorNames=[name])["ConfigurationAggregators"]
    if not found:
        raise LookupError(f"no configuration aggregator named {name}")
    aggregator = found[0]
    accounts: dict[str, tuple[bool, frozenset[str]]] = {}
    for source in aggregator.get("AccountAggregationSources") or []:
        regions = (bool(source.get("AllAwsRegions")), frozenset(source.get("AwsRegions") or []))
        for account in source.get("AccountIds") or []:
            old = accounts.get(account, (False, frozenset()))
            accounts[account] = (old[0] or regions[0], old[1] | regions[1])
    organization_source = aggregator.get("OrganizationAggregationSource")
    organization = (
        (bool(organization_source.get("AllAwsRegions")), frozenset(organization_source.get("AwsRegions") or []))
        if organization_source
        else None
    )
    return Aggregated(name=name, accounts=accounts, organization=organization)


def _list_aggregated(
    config: Any, aggregated: Aggregated, resource_type: str, account_id: str, region: str | None, deadline: Deadline
) -> tuple[list[InventoryItem], str | None]:
    filters = {"AccountId": account_id}
    if region is not None:
        filters["Region"] = region

    def convert(page: Any) -> Iterator[InventoryItem]:
        for found in page.get("ResourceIdentifiers", []):
            yield _item(
                resource_type,
                found.get("SourceAccountId") or account_id,
                found.get("SourceRegion") or region or "",
                found["ResourceId"],
                "config_aggregator",
                name=found.get("ResourceName"),
            )

    def fetch(chunk: list[InventoryItem]) -> list[Mapping[str, Any]]:
        identifiers = []
        for i in chunk:
            identifier = {
                "SourceAccountId": i["account_id"],
                "SourceRegion": i["region"],
                "ResourceId": i["resource_id"],
                "ResourceType": i["resource_type"],
            }
            if i.get("resource_name"):
                identifier["ResourceName"] = i["resource_name"]
            identifiers.append(identifier)
        found: list[Mapping[str, Any]] = config.batch_get_aggregate_resource_config(
            ConfigurationAggregatorName=aggregated.name, ResourceIdentifiers=identifiers
        ).get("BaseConfigurationItems", [])
        return found

    pages = config.get_paginator("list_aggregate_discovered_resources").paginate(
        ConfigurationAggregatorName=aggregated.name, ResourceType=resource_type, Filters=filters
    )
    items, error = _bounded(pages, convert, deadline)
    _complete(items, fetch)
    return items, error


# --- The run's inventory -----------------------------------------------------


def _over_budget(target: Target, resource_types: Iterable[str], source: Source = "service_api") -> Listing:
    return Listing(
        coverage=[
            _coverage(target.account_id, target.region, t, source, "not inventoried: the time budget was spent")
            for t in resource_types
        ]
    )


def _failed(target: Target, wanted: Sequence[Kind], error: Exception) -> Listing:
    reason = f"not inventoried: {describe_error(error, target.external_id)}"
    return Listing(
        coverage=[_coverage(target.account_id, target.region, k.config_type, "service_api", reason) for k in wanted]
    )


@dataclass
class _ScopeResult:
    listing: Listing
    recorder: Recorder | None


def _list_scope(target: Target, wanted: Sequence[Kind], sessions: SessionFactory, deadline: Deadline) -> _ScopeResult:
    """The regional kinds of one account and region not answered by the aggregator."""
    if deadline.spent():
        return _ScopeResult(_over_budget(target, [k.config_type for k in wanted]), None)
    try:
        session = sessions(target)
    except SESSION_ERRORS as e:
        reason = session_failure(target, e)
        logger.warning("scope not inventoried", extra={"account_id": target.account_id, "region": target.region})
        coverage = [_coverage(target.account_id, target.region, k.config_type, "service_api", reason) for k in wanted]
        return _ScopeResult(Listing(coverage=coverage), None)
    config: Any = session.client("config", region_name=target.region, config=CLIENT_CONFIG)
    try:
        recorder = probe_recorder(config)
    except (ClientError, BotoCoreError) as e:
        logger.info(
            "Config not readable here: service APIs instead",
            extra={"account_id": target.account_id, "region": target.region, "error": describe_error(e)},
        )
        recorder = None
    listing = Listing()
    for kind in wanted:
        if kind.account_wide:
            continue
        items: list[InventoryItem] = []
        entry: Coverage | None = None
        if recorder is not None and recorder.records(kind):
            items, entry = _list_config(config, kind.config_type, target, deadline)
            if "error" in entry and not deadline.spent():
                logger.info("Config listing failed: service API instead", extra={"resource_type": kind.config_type})
                items, entry = [], None
        if entry is None:
            items, entry = _list_service(session, kind.config_type, target, deadline)
        listing.items.extend(items)
        listing.coverage.append(entry)
    return _ScopeResult(listing, recorder)


def _list_account(
    targets: Sequence[Target],
    wanted: Sequence[Kind],
    recorders: Mapping[Target, Recorder | None],
    sessions: SessionFactory,
    deadline: Deadline,
) -> Listing:
    """The account-wide kinds of one account, once (from its first region, or Config's)."""
    first = targets[0]
    if deadline.spent():
        return _over_budget(first, [k.config_type for k in wanted])
    listing = Listing()
    # One assume-role per target, failed or not.
    sessions_by_target: dict[Target, boto3.session.Session | Exception] = {}

    def session_of(target: Target) -> boto3.session.Session:
        if target not in sessions_by_target:
            try:
                sessions_by_target[target] = sessions(target)
            except SESSION_ERRORS as e:
                sessions_by_target[target] = e
        found = sessions_by_target[target]
        if isinstance(found, Exception):
            raise found
        return found

    for kind in wanted:
        recorded = next((t for t in targets if (r := recorders.get(t)) is not None and r.records(kind)), None)
        target = recorded or first
        try:
            session = session_of(target)
        except SESSION_ERRORS as e:
            reason = session_failure(target, e)
            listing.coverage.append(
                _coverage(target.account_id, target.region, kind.config_type, "service_api", reason)
            )
            continue
        entry: Coverage | None = None
        if recorded is not None and kind.config_type != S3_BUCKET:
            config: Any = session.client("config", region_name=target.region, config=CLIENT_CONFIG)
            items, entry = _list_config(config, kind.config_type, target, deadline)
            if "error" in entry and not deadline.spent():
                items, entry = [], None
        if entry is None:
            items, entry = _list_service(session, kind.config_type, target, deadline)
        listing.items.extend(items)
        listing.coverage.append(entry)
    return listing


def _aggregate(
    aggregator_name: str,
    targets: Sequence[Target],
    own_session: Callable[[], boto3.session.Session],
    deadline: Deadline,
) -> tuple[Listing, set[tuple[str, str | None, str]]]:
    """What the aggregator answers, and the (account, region or None, type) it answered."""
    listing = Listing()
    answered: set[tuple[str, str | None, str]] = set()
    try:
        config: Any = own_session().client("config", config=CLIENT_CONFIG)
        aggregated = describe_aggregator(config, aggregator_name)
    except (ClientError, BotoCoreError, LookupError) as e:
        logger.warning(
            "the Config aggregator cannot be read: every scope is listed on its own",
            extra={"aggregator": aggregator_name, "error": describe_error(e)},
        )
        return listing, answered
    accounts: dict[str, list[Target]] = defaultdict(list)
    for target in targets:
        accounts[target.account_id].append(target)

    def answer(account_id: str, region: str | None, kind: Kind, recorded_under: Target) -> None:
        if deadline.spent():
            listing.extend(_over_budget(recorded_under, [kind.config_type], "config_aggregator"))
        else:
            try:
                items, error = _list_aggregated(config, aggregated, kind.config_type, account_id, region, deadline)
            except (ClientError, BotoCoreError) as e:
                # Left to the scope's own listing.
                logger.warning(
                    "the Config aggregator's listing failed: listed on its own",
                    extra={"account_id": account_id, "region": region, "error": describe_error(e)},
                )
                return
            listing.items.extend(items)
            listing.coverage.append(
                _coverage(account_id, recorded_under.region, kind.config_type, "config_aggregator", error)
            )
        answered.add((account_id, region, kind.config_type))

    for account_id, scopes in sorted(accounts.items()):
        for kind in kinds():
            if kind.account_wide:
                # Once per account, recorded under its first region of the run.
                if aggregated.covers_all_regions(account_id):
                    answer(account_id, None, kind, scopes[0])
                continue
            for scope in scopes:
                if aggregated.covers(account_id, scope.region):
                    answer(account_id, scope.region, kind, scope)
    return listing, answered


def _wait(tasks: Sequence[concurrent.futures.Future[Any]], deadline: Deadline) -> set[concurrent.futures.Future[Any]]:
    done, _ = concurrent.futures.wait(tasks, timeout=max(deadline.left(), 0))
    return done


def _outcome(
    task: concurrent.futures.Future[Any], done: set[concurrent.futures.Future[Any]], target: Target, wanted: list[Kind]
) -> Any:
    """The task's result, or coverage errors when it failed or outlasted the budget."""
    if task not in done:
        task.cancel()
        return _over_budget(target, [k.config_type for k in wanted])
    try:
        return task.result()
    except Exception as e:  # noqa: BLE001 - an unexpected answer must not cost the run its summary
        trace = "".join(traceback.format_exception(e))
        if target.external_id:
            trace = trace.replace(target.external_id, "[redacted]")
        logger.error(
            "not inventoried",
            extra={"account_id": target.account_id, "region": target.region, "traceback": trace},
        )
        return _failed(target, wanted, e)


def _own_account_checked(sessions: SessionFactory, own_session: Callable[[], boto3.session.Session]) -> SessionFactory:
    """``sessions``, refusing a target without a role outside the function's own account."""
    lock = threading.Lock()
    own: list[str | Exception] = []

    def own_account() -> str:
        with lock:
            if not own:
                try:
                    own.append(own_session().client("sts", config=CLIENT_CONFIG).get_caller_identity()["Account"])
                except (ClientError, BotoCoreError) as e:
                    own.append(e)
        found = own[0]
        if isinstance(found, Exception):
            raise found
        return found

    def checked(target: Target) -> boto3.session.Session:
        if not target.role_arn:
            account = own_account()
            if account != target.account_id:
                raise WrongAccount(
                    f"no role_arn, and the function's own credentials are of account {account}, "
                    f"not {target.account_id}: set the workspace's role_arn"
                )
        return sessions(target)

    return checked


def _own_session() -> boto3.session.Session:
    return boto3.session.Session()


def inventory(
    targets: Iterable[Target],
    *,
    deadline: Deadline,
    aggregator_name: str | None = None,
    sessions: SessionFactory = assume_session,
    own_session: Callable[[], boto3.session.Session] = _own_session,
    max_workers: int = MAX_WORKERS,
) -> Listing:
    """Every kind in every target's account and region; never raises for AWS errors.

    ``targets`` may repeat an account and region (several workspaces): the
    first one's credentials list it. A target without a role is listed with
    the function's own credentials only when they are of its account
    (``sts:GetCallerIdentity``, once): another account would be mislabelled.
    """
    unique: dict[tuple[str, str], Target] = {}
    for target in targets:
        unique.setdefault((target.account_id, target.region), target)
    scopes = [unique[k] for k in sorted(unique)]
    listing = Listing()
    sessions = _own_account_checked(sessions, own_session)
    answered: set[tuple[str, str | None, str]] = set()
    regional = [k for k in kinds() if not k.account_wide]
    account_wide = [k for k in kinds() if k.account_wide]
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="inventory")
    try:
        if aggregator_name and scopes:
            # In the pool too, so that a slow aggregator cannot hold the step past its budget.
            aggregating = pool.submit(_aggregate, aggregator_name, scopes, own_session, deadline)
            if aggregating in _wait([aggregating], deadline):
                try:
                    aggregated, answered = aggregating.result()
                    listing.extend(aggregated)
                except Exception as e:  # noqa: BLE001 - every scope is then listed on its own
                    # The function's own credentials: no external id to redact.
                    logger.error(
                        "the Config aggregator's listing failed",
                        extra={"aggregator": aggregator_name, "error": describe_error(e)},
                    )
        scope_tasks: list[tuple[concurrent.futures.Future[_ScopeResult], Target, list[Kind]]] = []
        for target in scopes:
            wanted = [k for k in regional if (target.account_id, target.region, k.config_type) not in answered]
            if wanted:
                scope_tasks.append((pool.submit(_list_scope, target, wanted, sessions, deadline), target, wanted))
        recorders: dict[Target, Recorder | None] = {}
        done = _wait([task for task, _, _ in scope_tasks], deadline)
        for task, target, wanted in scope_tasks:
            result = _outcome(task, done, target, wanted)
            if isinstance(result, _ScopeResult):
                listing.extend(result.listing)
                recorders[target] = result.recorder
            else:
                listing.extend(result)

        by_account: dict[str, list[Target]] = defaultdict(list)
        for target in scopes:
            by_account[target.account_id].append(target)
        account_tasks: list[tuple[concurrent.futures.Future[Listing], Target, list[Kind]]] = []
        for account_id, account_scopes in sorted(by_account.items()):
            wanted = [k for k in account_wide if (account_id, None, k.config_type) not in answered]
            if wanted:
                future = pool.submit(_list_account, account_scopes, wanted, recorders, sessions, deadline)
                account_tasks.append((future, account_scopes[0], wanted))
        done_accounts = _wait([future for future, _, _ in account_tasks], deadline)
        for account_task, first, wanted in account_tasks:
            account_result = _outcome(account_task, done_accounts, first, wanted)
            listing.extend(account_result.listing if isinstance(account_result, _ScopeResult) else account_result)
    finally:
        # Listings still running past the budget are abandoned, not awaited.
        pool.shutdown(wait=False, cancel_futures=True)
    return listing


__all__ = ["Deadline", "Listing", "Target", "assume_session", "describe_error", "inventory"]
