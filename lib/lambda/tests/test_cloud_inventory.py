"""The cloud inventory (drift_orchestrator.cloud_inventory) on moto.

moto 5.2.5's Config lists S3 buckets and IAM roles (and SNS topics, IAM
policies): those kinds go through a recorder recording exactly them, and
through an aggregator; EC2 instances, security groups and volumes and RDS
instances and clusters go through the service-API fallback. STS failures are
botocore's Stubber on a real client (moto assumes any role).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from drift_orchestrator.cloud_inventory import (
    MAX_ITEMS_PER_LISTING,
    Deadline,
    Listing,
    Recorder,
    Target,
    assume_session,
    inventory,
    probe_recorder,
)
from drift_orchestrator.unmanaged import Coverage, InventoryItem, kinds
from tests.conftest import Logs
from tests.support import ACCOUNT, SECRET

REGION = "us-east-1"
OTHER_REGION = "eu-west-1"
ROLE_ACCOUNT = "111111111111"
ROLE = f"arn:aws:iam::{ROLE_ACCOUNT}:role/drift-detection-read"
ALL_TYPES = {k.config_type for k in kinds()}


@pytest.fixture
def moto_aws() -> Iterator[None]:
    with mock_aws():
        yield


class FrozenClock:
    """A monotonic clock that moves only when told."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def budget(seconds: float = 300) -> Deadline:
    return Deadline(seconds, FrozenClock())


def by_type(listing: Listing) -> dict[str, list[InventoryItem]]:
    found: dict[str, list[InventoryItem]] = {}
    for item in listing.items:
        found.setdefault(item["resource_type"], []).append(item)
    return found


def coverage_of(listing: Listing) -> dict[tuple[str, str, str], Coverage]:
    return {(c["account_id"], c["region"], c["resource_type"]): c for c in listing.coverage}


def record_only(config: Any, types: list[str], global_types: bool = False) -> None:
    """A recording recorder of exactly ``types`` (moto needs a delivery channel to start it)."""
    boto3.client("s3", region_name=REGION).create_bucket(Bucket="config-delivery")
    config.put_configuration_recorder(
        ConfigurationRecorder={
            "name": "default",
            "roleARN": f"arn:aws:iam::{ACCOUNT}:role/config",
            "recordingGroup": {
                "allSupported": False,
                "includeGlobalResourceTypes": global_types,
                "resourceTypes": types,
            },
        }
    )
    config.put_delivery_channel(DeliveryChannel={"name": "default", "s3BucketName": "config-delivery"})
    config.start_configuration_recorder(ConfigurationRecorderName="default")


def make_ec2_and_rds(region: str) -> dict[str, str]:
    ec2 = boto3.client("ec2", region_name=region)
    rds = boto3.client("rds", region_name=region)
    image = ec2.describe_images()["Images"][0]["ImageId"]
    kept = ec2.run_instances(
        ImageId=image,
        MinCount=1,
        MaxCount=1,
        TagSpecifications=[{"ResourceType": "instance", "Tags": [{"Key": "Name", "Value": "debug box"}]}],
    )["Instances"][0]["InstanceId"]
    ended = ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]
    ec2.terminate_instances(InstanceIds=[ended])
    group = ec2.create_security_group(GroupName="launch-wizard-1", Description="by hand")["GroupId"]
    volume = ec2.create_volume(
        AvailabilityZone=f"{region}a",
        Size=8,
        TagSpecifications=[
            {"ResourceType": "volume", "Tags": [{"Key": "aws:cloudformation:stack-name", "Value": "legacy"}]}
        ],
    )["VolumeId"]
    db = rds.create_db_instance(
        DBInstanceIdentifier="adhoc-copy",
        DBInstanceClass="db.t3.micro",
        Engine="postgres",
        MasterUsername="admin",
        MasterUserPassword="password123",
        AllocatedStorage=20,
        Tags=[{"Key": "team", "Value": "data"}],
    )["DBInstance"]
    cluster = rds.create_db_cluster(
        DBClusterIdentifier="events",
        Engine="aurora-postgresql",
        MasterUsername="admin",
        MasterUserPassword="password123",
    )["DBCluster"]
    return {
        "instance": kept,
        "terminated": ended,
        "group": group,
        "volume": volume,
        "db": db["DbiResourceId"],
        "db_arn": db["DBInstanceArn"],
        "cluster": cluster["DbClusterResourceId"],
    }


@pytest.mark.usefixtures("moto_aws")
def test_without_config_every_kind_comes_from_the_service_apis() -> None:
    made = make_ec2_and_rds(REGION)
    boto3.client("s3", region_name=REGION).create_bucket(Bucket="hand-made-logs")
    boto3.client("iam").create_role(RoleName="app", AssumeRolePolicyDocument="{}")

    listing = inventory([Target(ACCOUNT, REGION)], deadline=budget())

    found = by_type(listing)
    instances = {i["resource_id"]: i for i in found["AWS::EC2::Instance"]}
    assert made["instance"] in instances
    assert made["terminated"] not in instances
    assert instances[made["instance"]]["tags"] == {"Name": "debug box"}
    assert instances[made["instance"]]["arn"] == f"arn:aws:ec2:{REGION}:{ACCOUNT}:instance/{made['instance']}"
    groups = {i["resource_id"]: i for i in found["AWS::EC2::SecurityGroup"]}
    assert groups[made["group"]]["resource_name"] == "launch-wizard-1"
    assert any(g.get("resource_name") == "default" for g in groups.values())
    volumes = {i["resource_id"]: i for i in found["AWS::EC2::Volume"]}
    assert volumes[made["volume"]]["tags"] == {"aws:cloudformation:stack-name": "legacy"}
    (db,) = found["AWS::RDS::DBInstance"]
    assert (db["resource_id"], db["resource_name"], db["arn"]) == (made["db"], "adhoc-copy", made["db_arn"])
    assert db["tags"] == {"team": "data"}
    (cluster,) = found["AWS::RDS::DBCluster"]
    assert (cluster["resource_id"], cluster["resource_name"]) == (made["cluster"], "events")
    assert [b["resource_id"] for b in found["AWS::S3::Bucket"]] == ["hand-made-logs"]
    assert found["AWS::S3::Bucket"][0]["arn"] == "arn:aws:s3:::hand-made-logs"
    roles = {r["resource_name"]: r for r in found["AWS::IAM::Role"]}
    assert roles["app"]["arn"] == f"arn:aws:iam::{ACCOUNT}:role/app"
    assert roles["app"]["resource_id"].startswith("AROA")
    assert {i["source"] for i in listing.items} == {"service_api"}
    assert {k[2]: c for k, c in coverage_of(listing).items()} == {
        t: {"account_id": ACCOUNT, "region": REGION, "resource_type": t, "source": "service_api"} for t in ALL_TYPES
    }


@pytest.mark.usefixtures("moto_aws")
def test_a_recorder_of_buckets_and_roles_lists_roles_through_config_and_the_rest_by_api() -> None:
    config = boto3.client("config", region_name=REGION)
    record_only(config, ["AWS::S3::Bucket", "AWS::IAM::Role"])
    assert probe_recorder(config) == Recorder(
        types=frozenset({"AWS::S3::Bucket", "AWS::IAM::Role"}), all_supported=False, global_types=False
    )
    boto3.client("s3", region_name=REGION).create_bucket(Bucket="hand-made-logs")
    boto3.client("iam").create_role(RoleName="app", AssumeRolePolicyDocument="{}")

    listing = inventory([Target(ACCOUNT, REGION)], deadline=budget())

    coverage = {k[2]: c["source"] for k, c in coverage_of(listing).items()}
    assert coverage["AWS::IAM::Role"] == "config"
    # A per-region recorder cannot prove a bucket listing complete: ListBuckets.
    assert coverage["AWS::S3::Bucket"] == "service_api"
    assert coverage["AWS::EC2::Instance"] == "service_api"
    found = by_type(listing)
    roles = {r["resource_name"]: r for r in found["AWS::IAM::Role"]}
    assert roles["app"]["source"] == "config"
    assert roles["app"]["resource_id"].startswith("AROA")
    assert {b["resource_id"] for b in found["AWS::S3::Bucket"]} == {"hand-made-logs", "config-delivery"}
    assert not [c for c in listing.coverage if "error" in c]


@pytest.mark.usefixtures("moto_aws")
def test_a_recorder_that_is_not_recording_is_no_config() -> None:
    config = boto3.client("config", region_name=REGION)
    record_only(config, ["AWS::IAM::Role"])
    config.stop_configuration_recorder(ConfigurationRecorderName="default")
    assert probe_recorder(config) is None
    listing = inventory([Target(ACCOUNT, REGION)], deadline=budget())
    assert {c["source"] for c in listing.coverage} == {"service_api"}


def test_what_a_recorder_records() -> None:
    by_kind = {k.config_type: k for k in kinds()}
    everything = Recorder(types=frozenset(), all_supported=True, global_types=False)
    assert everything.records(by_kind["AWS::EC2::Volume"])
    assert not everything.records(by_kind["AWS::IAM::Role"])
    with_global = Recorder(types=frozenset(), all_supported=True, global_types=True)
    assert with_global.records(by_kind["AWS::IAM::Role"])
    excluding = Recorder(
        types=frozenset(), all_supported=True, global_types=True, excluded=frozenset({"AWS::EC2::Volume"})
    )
    assert not excluding.records(by_kind["AWS::EC2::Volume"])
    assert excluding.records(by_kind["AWS::EC2::Instance"])


@pytest.mark.usefixtures("moto_aws")
def test_the_aggregator_answers_for_the_accounts_and_regions_it_aggregates() -> None:
    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket="us-bucket")
    s3.put_bucket_tagging(Bucket="us-bucket", Tagging={"TagSet": [{"Key": "team", "Value": "data"}]})
    s3.create_bucket(Bucket="eu-bucket", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    boto3.client("iam").create_role(RoleName="app", AssumeRolePolicyDocument="{}")
    config = boto3.client("config", region_name=REGION)
    config.put_configuration_aggregator(
        ConfigurationAggregatorName="org",
        AccountAggregationSources=[{"AccountIds": [ACCOUNT], "AllAwsRegions": True}],
    )

    listing = inventory(
        [Target(ACCOUNT, REGION), Target(ACCOUNT, OTHER_REGION), Target(ROLE_ACCOUNT, REGION, ROLE)],
        deadline=budget(),
        aggregator_name="org",
    )

    coverage = coverage_of(listing)
    # Account-wide kinds once per account (recorded under its first region).
    assert coverage[(ACCOUNT, OTHER_REGION, "AWS::S3::Bucket")]["source"] == "config_aggregator"
    assert coverage[(ACCOUNT, OTHER_REGION, "AWS::IAM::Role")]["source"] == "config_aggregator"
    assert (ACCOUNT, REGION, "AWS::S3::Bucket") not in coverage
    assert coverage[(ACCOUNT, OTHER_REGION, "AWS::EC2::Volume")]["source"] == "config_aggregator"
    # Not in the aggregator: listed on its own.
    assert coverage[(ROLE_ACCOUNT, REGION, "AWS::S3::Bucket")]["source"] == "service_api"
    assert coverage[(ROLE_ACCOUNT, REGION, "AWS::EC2::Instance")]["source"] == "service_api"
    buckets = {b["resource_id"]: b for b in by_type(listing)["AWS::S3::Bucket"] if b["account_id"] == ACCOUNT}
    assert {name: (b["region"], b["source"]) for name, b in buckets.items()} == {
        "us-bucket": (REGION, "config_aggregator"),
        "eu-bucket": (OTHER_REGION, "config_aggregator"),
    }
    assert buckets["us-bucket"]["arn"] == "arn:aws:s3:::us-bucket"
    assert buckets["us-bucket"]["tags"] == {"team": "data"}
    roles = {r["resource_name"]: r for r in by_type(listing)["AWS::IAM::Role"] if r["account_id"] == ACCOUNT}
    assert roles["app"]["source"] == "config_aggregator"
    assert not [c for c in listing.coverage if "error" in c]


@pytest.mark.usefixtures("moto_aws")
def test_an_aggregator_of_some_regions_leaves_account_wide_kinds_to_the_apis() -> None:
    config = boto3.client("config", region_name=REGION)
    config.put_configuration_aggregator(
        ConfigurationAggregatorName="some",
        AccountAggregationSources=[{"AccountIds": [ACCOUNT], "AwsRegions": [REGION]}],
    )
    listing = inventory(
        [Target(ACCOUNT, REGION), Target(ACCOUNT, OTHER_REGION)], deadline=budget(), aggregator_name="some"
    )
    coverage = coverage_of(listing)
    assert coverage[(ACCOUNT, REGION, "AWS::EC2::Instance")]["source"] == "config_aggregator"
    assert coverage[(ACCOUNT, OTHER_REGION, "AWS::EC2::Instance")]["source"] == "service_api"
    assert coverage[(ACCOUNT, OTHER_REGION, "AWS::S3::Bucket")]["source"] == "service_api"


@pytest.mark.usefixtures("moto_aws")
def test_a_missing_aggregator_falls_back_to_each_scope() -> None:
    listing = inventory([Target(ACCOUNT, REGION)], deadline=budget(), aggregator_name="nope")
    assert {c["source"] for c in listing.coverage} == {"service_api"}
    assert not [c for c in listing.coverage if "error" in c]


@pytest.mark.usefixtures("moto_aws")
def test_a_workspace_role_lists_its_own_account() -> None:
    role = f"arn:aws:iam::{ROLE_ACCOUNT}:role/drift-detection-read"
    session = assume_session(Target(ROLE_ACCOUNT, REGION, role, SECRET))
    session.client("s3").create_bucket(Bucket="in-the-role-account")
    boto3.client("s3", region_name=REGION).create_bucket(Bucket="in-the-function-account")

    listing = inventory([Target(ROLE_ACCOUNT, REGION, role, SECRET)], deadline=budget())

    assert [b["resource_id"] for b in by_type(listing)["AWS::S3::Bucket"]] == ["in-the-role-account"]
    assert {i["account_id"] for i in listing.items} == {ROLE_ACCOUNT}


def test_a_role_that_cannot_be_assumed_is_a_coverage_error_without_the_secret() -> None:
    sts = boto3.client("sts", region_name=REGION)
    stubber = Stubber(sts)
    for _ in range(2):  # the scope, then the account-wide kinds
        stubber.add_client_error(
            "assume_role",
            service_error_code="AccessDenied",
            service_message=f"not authorized (external id {SECRET})",
            http_status_code=403,
        )
    role = f"arn:aws:iam::{ROLE_ACCOUNT}:role/drift-detection-read"

    def sessions(target: Target) -> boto3.session.Session:
        return assume_session(target, sts)

    with stubber:
        listing = inventory(
            [Target(ROLE_ACCOUNT, REGION, role, SECRET)], deadline=budget(), sessions=sessions, max_workers=1
        )
    stubber.assert_no_pending_responses()

    assert listing.items == []
    assert {c["resource_type"] for c in listing.coverage} == ALL_TYPES
    for entry in listing.coverage:
        assert entry["error"].startswith(f"cannot assume {role}: AccessDenied: not authorized")
        assert SECRET not in entry["error"]


def test_a_spent_budget_inventories_nothing_and_says_so() -> None:
    clock = FrozenClock()
    deadline = Deadline(10, clock)
    clock.now += 11
    called: list[Target] = []

    def sessions(target: Target) -> boto3.session.Session:
        called.append(target)
        raise AssertionError("no session past the budget")

    listing = inventory([Target(ACCOUNT, REGION), Target(ACCOUNT, OTHER_REGION)], deadline=deadline, sessions=sessions)

    assert called == []
    assert listing.items == []
    assert len(listing.coverage) == 2 * (len(ALL_TYPES) - 2) + 2
    assert {c["error"] for c in listing.coverage} == {"not inventoried: the time budget was spent"}


@pytest.mark.usefixtures("moto_aws")
def test_a_listing_stops_at_its_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    import drift_orchestrator.cloud_inventory as module

    monkeypatch.setattr(module, "MAX_ITEMS_PER_LISTING", 2)
    iam = boto3.client("iam")
    for n in range(3):
        iam.create_role(RoleName=f"role-{n}", AssumeRolePolicyDocument="{}")
    listing = inventory([Target(ACCOUNT, REGION)], deadline=budget())
    assert len(by_type(listing)["AWS::IAM::Role"]) == 2
    assert coverage_of(listing)[(ACCOUNT, REGION, "AWS::IAM::Role")]["error"] == (
        "more than 2 items: the listing stopped there"
    )
    assert MAX_ITEMS_PER_LISTING == 10_000


@pytest.mark.usefixtures("moto_aws")
def test_access_denied_on_one_kind_is_that_kind_s_coverage_error() -> None:
    def sessions(target: Target) -> boto3.session.Session:
        session = boto3.session.Session(region_name=target.region)

        def deny(**_: Any) -> None:
            raise session.client("rds").exceptions.ClientError(
                {"Error": {"Code": "AccessDenied", "Message": "rds:DescribeDBInstances denied"}}, "DescribeDBInstances"
            )

        session.events.register("before-call.rds.DescribeDBInstances", deny)
        return session

    listing = inventory([Target(ACCOUNT, REGION)], deadline=budget(), sessions=sessions)
    coverage = coverage_of(listing)
    assert coverage[(ACCOUNT, REGION, "AWS::RDS::DBInstance")]["error"] == (
        "AccessDenied: rds:DescribeDBInstances denied"
    )
    assert "error" not in coverage[(ACCOUNT, REGION, "AWS::RDS::DBCluster")]


@pytest.mark.usefixtures("moto_aws")
def test_an_aggregator_listing_refused_is_listed_on_its_own() -> None:
    boto3.client("config", region_name=REGION).put_configuration_aggregator(
        ConfigurationAggregatorName="org",
        AccountAggregationSources=[{"AccountIds": [ACCOUNT], "AllAwsRegions": True}],
    )

    def own_session() -> boto3.session.Session:
        session = boto3.session.Session(region_name=REGION)

        def deny(params: dict[str, Any], **_: Any) -> None:
            if params.get("ResourceType") == "AWS::EC2::Instance":
                raise session.client("config").exceptions.ClientError(
                    {"Error": {"Code": "AccessDenied", "Message": "denied"}}, "ListAggregateDiscoveredResources"
                )

        session.events.register("before-parameter-build.config.ListAggregateDiscoveredResources", deny)
        return session

    listing = inventory([Target(ACCOUNT, REGION)], deadline=budget(), aggregator_name="org", own_session=own_session)

    coverage = coverage_of(listing)
    assert coverage[(ACCOUNT, REGION, "AWS::EC2::Instance")] == {
        "account_id": ACCOUNT,
        "region": REGION,
        "resource_type": "AWS::EC2::Instance",
        "source": "service_api",
    }
    assert coverage[(ACCOUNT, REGION, "AWS::EC2::Volume")]["source"] == "config_aggregator"


def test_an_unexpected_failure_is_a_coverage_error_and_logs_no_secret(logs: Logs) -> None:
    def sessions(target: Target) -> boto3.session.Session:
        raise RuntimeError(f"odd answer for {target.external_id}")

    role = f"arn:aws:iam::{ROLE_ACCOUNT}:role/drift-detection-read"
    listing = inventory([Target(ROLE_ACCOUNT, REGION, role, SECRET)], deadline=budget(), sessions=sessions)

    assert listing.items == []
    assert {c["resource_type"] for c in listing.coverage} == ALL_TYPES
    assert {c["error"] for c in listing.coverage} == {"not inventoried: RuntimeError: odd answer for [redacted]"}
    assert "not inventoried" in logs.text()
    assert SECRET not in logs.text()


@pytest.mark.usefixtures("moto_aws")
def test_without_a_role_only_the_function_s_own_account_is_listed() -> None:
    listing = inventory([Target(ACCOUNT, REGION), Target(ROLE_ACCOUNT, REGION)], deadline=budget())

    mine = [c for c in listing.coverage if c["account_id"] == ACCOUNT]
    assert mine
    assert not [c for c in mine if "error" in c]
    other = [c for c in listing.coverage if c["account_id"] == ROLE_ACCOUNT]
    assert {c["resource_type"] for c in other} == ALL_TYPES
    expected = (
        f"no role_arn, and the function's own credentials are of account {ACCOUNT}, not {ROLE_ACCOUNT}: "
        "set the workspace's role_arn"
    )
    assert {c["error"] for c in other} == {expected}
    assert {i["account_id"] for i in listing.items} == {ACCOUNT}
