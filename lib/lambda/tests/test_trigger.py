"""The trigger handler on moto: index lookups, debouncing, checks started, unmanaged events.

moto provides S3, Step Functions (executions recorded, not run: the full run
is ``test_an_event_check_runs_through_the_state_machine``), DynamoDB (the
index table) and SQS (the trailing messages, recorded as they are sent: moto
would hold a delayed message for real seconds, and the clock here is fake).
The SQS batches are built as Lambda's event source mapping delivers them.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError
from botocore.exceptions import ClientError
from moto import mock_aws

import orchestrator
import trigger
from drift_orchestrator import contract
from drift_orchestrator.change_events import ChangeEvent, IgnorePrincipals, normalise
from drift_orchestrator.checks import worker_event
from drift_orchestrator.debounce import MAX_ATTEMPTS, TRAILING_KIND, Contended, Debouncer, run_id_for
from drift_orchestrator.errors import ConfigError
from drift_orchestrator.event_checks import parse_settings
from drift_orchestrator.inventory import parse_inventory
from drift_orchestrator.resource_index import find_workspaces, lookup_keys
from tests.conftest import Logs
from tests.local_states import SCHEDULED_EVENT, States, wait_for
from tests.support import ACCOUNT, REGION, REPORT_BUCKET, SECRET, STATE_MACHINE_ARN, FakeContext, workspace_entry

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_stepfunctions import SFNClient

REPO = Path(__file__).resolve().parents[3]
EVENTS = Path(__file__).parent / "events"
CONTRACT: dict[str, Any] = json.loads((REPO / "tests/contract/resource-index.json").read_text())
TABLE = "drift-detection-resource-index-test"
QUEUE = "drift-detection-events-test"
START = datetime(2026, 11, 27, 6, 5, 30, tzinfo=UTC)
SG_EVENT = "authorize-security-group-ingress"


def sample(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((EVENTS / f"{name}.json").read_text())
    return loaded


def numbered(index: int) -> dict[str, Any]:
    """The SSH-opening sample with its own id and time: one change of a burst."""
    event = sample(SG_EVENT)
    event["id"] = f"6f6b3c1e-0000-4000-8000-{index:012d}"
    event["time"] = event["detail"]["eventTime"] = f"2026-11-27T06:06:{index % 60:02d}Z"
    return event


@dataclass
class Clock:
    now: datetime = START

    def __call__(self) -> datetime:
        return self.now


class Serialized:
    """A DynamoDB client whose calls are atomic, as DynamoDB's single-item writes are.

    ``barrier`` (when set) holds each thread's first read until every party
    has read: the race of two deliveries deciding on the same state.
    """

    def __init__(self, client: Any) -> None:
        self.client = client
        self.lock = threading.Lock()
        self.barrier: threading.Barrier | None = None
        self.read_once = threading.local()

    def query(self, **kwargs: Any) -> Any:
        with self.lock:
            return self.client.query(**kwargs)

    def get_item(self, **kwargs: Any) -> Any:
        with self.lock:
            answer = self.client.get_item(**kwargs)
        if self.barrier is not None and not getattr(self.read_once, "done", False):
            self.read_once.done = True
            self.barrier.wait(timeout=30)
        return answer

    def update_item(self, **kwargs: Any) -> Any:
        with self.lock:
            return self.client.update_item(**kwargs)


@dataclass
class RecordingSqs:
    """Forwards to moto's SQS and records what was sent."""

    client: Any
    sent: list[dict[str, Any]] = field(default_factory=list)

    def send_message(self, **kwargs: Any) -> Any:
        self.sent.append(kwargs)
        return self.client.send_message(**kwargs)


@dataclass
class Rig:
    s3: S3Client
    sfn: SFNClient
    dynamodb: Serialized
    sqs: RecordingSqs
    queue_url: str
    clock: Clock
    deliveries: int = 0

    def deliver(self, *bodies: dict[str, Any] | str) -> dict[str, Any]:
        """One SQS batch to the handler; answers its batch item failures."""
        records = []
        for body in bodies:
            self.deliveries += 1
            records.append(
                {
                    "messageId": f"00000000-0000-4000-8000-{self.deliveries:012d}",
                    "receiptHandle": f"handle-{self.deliveries}",
                    "body": body if isinstance(body, str) else json.dumps(body),
                    "attributes": {
                        "ApproximateReceiveCount": "1",
                        "SentTimestamp": "1795759530000",
                        "SenderId": "AIDAIENQZJOLO23YVJ4VO",
                        "ApproximateFirstReceiveTimestamp": "1795759530001",
                    },
                    "messageAttributes": {},
                    "md5OfBody": "",
                    "eventSource": "aws:sqs",
                    "eventSourceARN": f"arn:aws:sqs:{REGION}:{ACCOUNT}:{QUEUE}",
                    "awsRegion": REGION,
                }
            )
        answer: dict[str, Any] = trigger.handler({"Records": records}, FakeContext())
        return answer

    def executions(self) -> list[str]:
        listed = self.sfn.list_executions(stateMachineArn=STATE_MACHINE_ARN)["executions"]
        return sorted(e["name"] for e in listed)

    def object(self, key: str) -> Any:
        return json.loads(self.s3.get_object(Bucket=REPORT_BUCKET, Key=key)["Body"].read())

    def worker_events(self, run_id: str) -> list[dict[str, Any]]:
        """The worker events of a run's items (its execution's input names them)."""
        arn = f"{STATE_MACHINE_ARN.replace(':stateMachine:', ':execution:')}:{run_id}"
        execution_input = json.loads(self.sfn.describe_execution(executionArn=arn)["input"])
        items = self.object(execution_input["items_key"])
        return [check["event"] for lane in items for check in lane["workspaces"]]

    def index(self, workspace: str, *identifiers: str, region: str = REGION) -> None:
        for identifier in identifiers:
            self.dynamodb.client.put_item(
                TableName=TABLE,
                Item={
                    "pk": {"S": f"res#{ACCOUNT}#{region}#{identifier}"},
                    "sk": {"S": f"ws#{workspace}"},
                    "address": {"S": "aws_security_group.app"},
                    "type": {"S": "aws_security_group"},
                    "run_id": {"S": "r1"},
                    "seen_at": {"S": "2026-11-27T06:00:00Z"},
                    "expires_at": {"N": "1800000000"},
                },
            )


def create_table(client: Any) -> None:
    client.create_table(
        TableName=TABLE,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )


def trigger_environment(monkeypatch: pytest.MonkeyPatch, queue_url: str) -> None:
    monkeypatch.setenv("INDEX_TABLE", TABLE)
    monkeypatch.setenv("TRIGGER_QUEUE_URL", queue_url)
    monkeypatch.setenv("EVENT_CHECK_MIN_INTERVAL_MINUTES", "10")
    monkeypatch.setenv(
        "EVENT_IGNORE_PRINCIPALS",
        "arn:aws:iam::*:role/terraform-*, arn:aws:iam::123456789012:role/drift-detection-read",
    )


INVENTORY = [
    workspace_entry("network", "prod", account_id=ACCOUNT),
    workspace_entry("shared", "staging", account_id=ACCOUNT),
    workspace_entry("data", "prod", account_id="222222222222"),
]


@pytest.fixture
def rig(monkeypatch: pytest.MonkeyPatch, inventory: Any) -> Iterator[Rig]:
    inventory(INVENTORY)
    with mock_aws():
        s3 = boto3.client("s3")
        sfn = boto3.client("stepfunctions")
        sqs = boto3.client("sqs")
        dynamodb = boto3.client("dynamodb")
        s3.create_bucket(Bucket=REPORT_BUCKET)
        sfn.create_state_machine(
            name=STATE_MACHINE_ARN.rsplit(":", 1)[1],
            definition=json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}}),
            roleArn=f"arn:aws:iam::{ACCOUNT}:role/drift-detection-states-test",
        )
        create_table(dynamodb)
        queue_url = sqs.create_queue(QueueName=QUEUE)["QueueUrl"]
        trigger_environment(monkeypatch, queue_url)
        built = Rig(
            s3=s3,
            sfn=sfn,
            dynamodb=Serialized(dynamodb),
            sqs=RecordingSqs(sqs),
            queue_url=queue_url,
            clock=Clock(),
        )
        monkeypatch.setattr(trigger, "s3_client", s3)
        monkeypatch.setattr(trigger, "sns_client", boto3.client("sns"))
        monkeypatch.setattr(trigger, "sfn_client", sfn)
        monkeypatch.setattr(trigger, "sqs_client", built.sqs)
        monkeypatch.setattr(trigger, "dynamodb_client", built.dynamodb)
        monkeypatch.setattr(trigger, "clock", built.clock)
        built.index("prod/network", "sg-0app", "arn:aws:ec2:us-east-1:123456789012:security-group/sg-0app")
        yield built


def emitted(output: str) -> dict[str, float]:
    """Every EMF metric printed, summed by name; checks the service dimension."""
    totals: dict[str, float] = {}
    for line in output.splitlines():
        if not line.startswith("{") or '"_aws"' not in line:
            continue
        document = json.loads(line)
        assert document["service"] == "drift-detection-trigger"
        for metric in document["_aws"]["CloudWatchMetrics"][0]["Metrics"]:
            value = document[metric["Name"]]
            totals[metric["Name"]] = totals.get(metric["Name"], 0) + (sum(value) if isinstance(value, list) else value)
    return totals


def test_the_contracts_index_items_are_found_by_the_events_lookup_keys(rig: Rig) -> None:
    [case] = CONTRACT["index_items"]
    for line in case["expect"]:
        pk, sk = line.split(" ")
        rig.dynamodb.client.put_item(TableName=TABLE, Item={"pk": {"S": pk}, "sk": {"S": sk}})
    for line in case["expect"]:
        _, account, region, identifier = line.split(" ")[0].split("#", 3)
        # An account-wide resource is found from an event in any region.
        event_region = "ap-south-1" if region == "*" else region
        event = ChangeEvent(
            id="e1",
            source="aws.ec2",
            name="Change",
            time="2026-11-27T06:05:00Z",
            account_id=account,
            region=event_region,
            principal_arn=None,
            issuer_arn=None,
            read_only=False,
            identifiers=(identifier,),
        )
        assert lookup_keys(event) == [
            f"res#{account}#{event_region}#{identifier}",
            f"res#{account}#*#{identifier}",
        ]
        assert find_workspaces(rig.dynamodb, TABLE, event) == ["prod/network"], line
        if region != "*":
            elsewhere = ChangeEvent(**{**event.__dict__, "region": "ap-south-1"})
            assert find_workspaces(rig.dynamodb, TABLE, elsewhere) == [], line


def test_the_contracts_trigger_is_what_the_worker_event_schema_takes() -> None:
    # The packaged schema's `trigger` is a hand-written stand-in until
    # crates/drift-core regenerates it: this is where the two must agree.
    [workspace] = parse_inventory(json.dumps([workspace_entry("network", "prod")]), "test")
    example: Any = CONTRACT["worker_event_trigger"]["example"]
    for info in (example, {"kind": "schedule"}, {"kind": "manual"}, {"kind": "cron"}):
        event: dict[str, Any] = dict(
            worker_event(workspace, run_id="r1", run_started_at="2026-11-27T06:05:00Z", mode=None)
        )
        event["trigger"] = info
        faults = contract.faults(contract.worker_event(), event, contract.EVENT_SCHEMA)
        assert (faults != []) is (info["kind"] == "cron"), info


def test_a_change_to_a_managed_resource_starts_one_check_of_that_workspace_with_the_event(
    rig: Rig, logs: Logs, capsys: pytest.CaptureFixture[str]
) -> None:
    answer = rig.deliver(sample(SG_EVENT))

    assert answer == {"batchItemFailures": []}
    run_id = run_id_for("prod/network", sample(SG_EVENT)["id"])
    assert rig.executions() == [run_id]
    [event] = rig.worker_events(run_id)
    assert (event["environment"], event["workspace"], event["run_id"]) == ("prod", "network", run_id)
    assert event["trigger"] == {
        "kind": "event",
        "events": [
            {
                "id": "6f6b3c1e-0000-4000-8000-000000000001",
                "source": "aws.ec2",
                "name": "AuthorizeSecurityGroupIngress",
                "principal": "arn:aws:sts::123456789012:assumed-role/RoleToBeAssumed/MySessionName",
                "time": "2026-11-27T06:05:00Z",
                "account_id": "123456789012",
                "region": "us-east-1",
                "resources": ["sg-0app"],
            }
        ],
    }
    # The run is dated by the change, and its manifest says why it ran.
    manifest = rig.object(f"executions/2026/11/27/{run_id}/run.json")
    assert manifest["trigger"] == "event"
    assert manifest["filters"] == {"environments": ["prod"], "workspaces": ["network"], "accounts": None}
    assert [w["key"] for w in manifest["workspaces"]] == ["prod/network"]
    assert rig.sqs.sent == []
    assert emitted(capsys.readouterr().out) == {"EventsReceived": 1, "EventsMatched": 1, "ChecksStarted": 1}
    assert any(line.get("event_id") == sample(SG_EVENT)["id"] for line in logs.lines())
    assert SECRET not in logs.text()


def test_a_burst_of_50_changes_starts_one_check_now_and_one_trailing_check_with_the_rest(
    rig: Rig, capsys: pytest.CaptureFixture[str]
) -> None:
    burst = [numbered(i) for i in range(1, 51)]
    for offset in range(0, 50, 10):
        rig.clock.now = START + timedelta(seconds=offset)
        assert rig.deliver(*burst[offset : offset + 10]) == {"batchItemFailures": []}

    first = run_id_for("prod/network", burst[0]["id"])
    assert rig.executions() == [first]
    [trailing] = rig.sqs.sent
    assert trailing["QueueUrl"] == rig.queue_url
    # Sent with the second event, at START: the interval ends 600 s after the first check.
    assert trailing["DelaySeconds"] == 600
    due = int((START + timedelta(minutes=10)).timestamp())
    assert json.loads(trailing["MessageBody"]) == {
        "kind": TRAILING_KIND,
        "workspace": "prod/network",
        "not_before": due,
    }
    assert emitted(capsys.readouterr().out) == {
        "EventsReceived": 50,
        "EventsMatched": 50,
        "EventsDebounced": 49,
        "ChecksStarted": 1,
    }

    # SQS delivers the trailing message when its delay is over.
    rig.clock.now = START + timedelta(minutes=10, seconds=1)
    assert rig.deliver(trailing["MessageBody"]) == {"batchItemFailures": []}
    second = run_id_for("prod/network", burst[-1]["id"])
    assert rig.executions() == sorted([first, second])
    [event] = rig.worker_events(second)
    ids = [e["id"] for e in event["trigger"]["events"]]
    # The 20 newest pending changes, newest last.
    assert ids == [e["id"] for e in burst[30:]]
    assert emitted(capsys.readouterr().out) == {"ChecksStarted": 1}

    # A duplicate delivery of the trailing message starts nothing.
    assert rig.deliver(trailing["MessageBody"]) == {"batchItemFailures": []}
    assert rig.executions() == sorted([first, second])
    assert len(rig.sqs.sent) == 1
    assert emitted(capsys.readouterr().out) == {}


def test_a_trailing_message_delivered_early_waits_for_the_interval(rig: Rig) -> None:
    rig.deliver(numbered(1))
    rig.deliver(numbered(2))
    [trailing] = rig.sqs.sent
    rig.clock.now = START + timedelta(minutes=4)
    assert rig.deliver(trailing["MessageBody"]) == {"batchItemFailures": []}
    assert len(rig.executions()) == 1
    assert rig.sqs.sent[-1]["DelaySeconds"] == 360


def test_a_change_after_the_interval_checks_at_once_with_the_pending_ones(rig: Rig) -> None:
    rig.deliver(numbered(1))
    rig.deliver(numbered(2))
    # The trailing message is late; the next change is past the interval.
    rig.clock.now = START + timedelta(minutes=11)
    rig.deliver(numbered(3))
    third = run_id_for("prod/network", numbered(3)["id"])
    assert third in rig.executions()
    [event] = rig.worker_events(third)
    assert [e["id"] for e in event["trigger"]["events"]] == [numbered(2)["id"], numbered(3)["id"]]
    # ...so the trailing message, when it comes, has nothing left to check.
    rig.deliver(rig.sqs.sent[0]["MessageBody"])
    assert len(rig.executions()) == 2


def test_a_redelivered_change_starts_nothing(rig: Rig) -> None:
    rig.deliver(sample(SG_EVENT))
    rig.clock.now = START + timedelta(seconds=30)
    rig.deliver(sample(SG_EVENT))
    assert len(rig.executions()) == 1
    assert rig.sqs.sent == []


def test_read_only_calls_and_the_stacks_own_roles_start_nothing(rig: Rig, capsys: pytest.CaptureFixture[str]) -> None:
    answer = rig.deliver(sample("describe-security-groups"), sample("terraform-role-modify-security-group-rules"))
    assert answer == {"batchItemFailures": []}
    assert rig.executions() == []
    assert "Contents" not in rig.s3.list_objects_v2(Bucket=REPORT_BUCKET, Prefix="unmanaged/")
    assert emitted(capsys.readouterr().out) == {"EventsReceived": 2, "EventsIgnored": 2}


def test_unreadable_messages_are_dropped_without_failing_the_batch(
    rig: Rig, logs: Logs, capsys: pytest.CaptureFixture[str]
) -> None:
    answer = rig.deliver("not json", {"kind": TRAILING_KIND, "workspace": "../etc"}, sample(SG_EVENT))
    assert answer == {"batchItemFailures": []}
    assert len(rig.executions()) == 1
    assert emitted(capsys.readouterr().out) == {
        # The malformed trailing message is not a change event, but is counted dropped.
        "EventsReceived": 2,
        "EventsDropped": 2,
        "EventsMatched": 1,
        "ChecksStarted": 1,
    }
    assert "event dropped" in logs.text()


def test_a_change_no_workspace_manages_is_stored_for_the_unmanaged_view(
    rig: Rig, capsys: pytest.CaptureFixture[str]
) -> None:
    created = sample("create-security-group")
    assert rig.deliver(created) == {"batchItemFailures": []}
    assert rig.executions() == []
    stored = rig.object(f"unmanaged/events/2026/11/27/{created['id']}.json")
    assert stored == {
        "schema_version": "1.0",
        "kind": "unmanaged-event",
        "id": created["id"],
        "source": "aws.ec2",
        "name": "CreateSecurityGroup",
        "time": "2026-11-27T06:09:00Z",
        "account_id": ACCOUNT,
        "region": REGION,
        "principal_arn": "arn:aws:sts::123456789012:assumed-role/RoleToBeAssumed/MySessionName",
        "issuer_arn": "arn:aws:iam::123456789012:role/RoleToBeAssumed",
        "read_only": False,
        "resource_type": None,
        "identifiers": ["sg-0handmade"],
    }
    assert emitted(capsys.readouterr().out) == {"EventsReceived": 1, "EventsUnmatched": 1}


def test_two_workspaces_claiming_one_resource_get_a_check_each(rig: Rig) -> None:
    rig.index("staging/shared", "sg-0app")
    rig.deliver(sample("config-security-group-change"))
    event_id = sample("config-security-group-change")["id"]
    assert rig.executions() == sorted(run_id_for(w, event_id) for w in ("prod/network", "staging/shared"))
    [shared] = rig.worker_events(run_id_for("staging/shared", event_id))
    assert (shared["environment"], shared["workspace"]) == ("staging", "shared")
    assert shared["trigger"]["events"][0]["name"] == "UPDATE AWS::EC2::SecurityGroup"


def test_two_concurrent_deliveries_start_one_check(rig: Rig) -> None:
    debouncer = Debouncer(rig.dynamodb, TABLE, 600, rig.clock)
    rig.dynamodb.barrier = threading.Barrier(2)
    decisions: list[str] = []
    errors: list[BaseException] = []

    def deliver(index: int) -> None:
        event = normalise(numbered(index), IgnorePrincipals(()))
        assert isinstance(event, ChangeEvent)
        try:
            decisions.append(debouncer.on_event("prod/network", event.summary()).action)
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=deliver, args=(i,)) for i in (1, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors
    # Both read an empty item; one claim landed, the other re-read and waited.
    assert sorted(decisions) == ["debounced", "start"]


def test_a_check_claimed_but_not_started_is_started_by_the_next_delivery(
    rig: Rig, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = rig.sfn

    class Failing:
        def __getattr__(self, name: str) -> Any:
            return getattr(real, name)

        def start_execution(self, **kwargs: Any) -> Any:
            raise ClientError({"Error": {"Code": "ServiceUnavailable", "Message": "try again"}}, "StartExecution")

    monkeypatch.setattr(trigger, "sfn_client", Failing())
    answer = rig.deliver(sample("describe-security-groups"), sample(SG_EVENT))
    # Only the failed message is delivered again.
    assert [f["itemIdentifier"] for f in answer["batchItemFailures"]] == ["00000000-0000-4000-8000-000000000002"]
    assert rig.executions() == []
    # A batch whose every message failed fails as a whole (Powertools' rule).
    with pytest.raises(BatchProcessingError):
        rig.deliver(sample(SG_EVENT))

    monkeypatch.setattr(trigger, "sfn_client", real)
    assert rig.deliver(sample(SG_EVENT)) == {"batchItemFailures": []}
    assert rig.executions() == [run_id_for("prod/network", sample(SG_EVENT)["id"])]


def test_a_workspace_the_inventory_lost_is_logged_not_retried(rig: Rig, logs: Logs) -> None:
    rig.index("gone/old", "sg-0app")
    assert rig.deliver(sample(SG_EVENT)) == {"batchItemFailures": []}
    assert rig.executions() == [run_id_for("prod/network", sample(SG_EVENT)["id"])]
    assert "the index names a workspace the inventory lacks" in logs.text()


def test_scheduled_and_manual_runs_carry_their_trigger_kind(rig: Rig, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(orchestrator, "s3_client", rig.s3)
    monkeypatch.setattr(orchestrator, "sfn_client", rig.sfn)
    orchestrator.handler(SCHEDULED_EVENT, FakeContext())
    orchestrator.handler({"run_id": "by-hand", "environments": ["staging"]}, FakeContext())
    assert {e["trigger"]["kind"] for e in rig.worker_events(str(SCHEDULED_EVENT["id"]))} == {"schedule"}
    assert [e["trigger"] for e in rig.worker_events("by-hand")] == [{"kind": "manual"}]


@pytest.mark.parametrize(
    ("values", "fault"),
    [
        ((None, "https://sqs.us-east-1.amazonaws.com/123456789012/q", None, None), "INDEX_TABLE is not set"),
        ((TABLE, "not a url", None, None), "TRIGGER_QUEUE_URL 'not a url' is not a queue URL"),
        ((TABLE, "https://sqs.us-east-1.amazonaws.com/123456789012/q", "16", None), "from 1 to 15"),
        ((TABLE, "https://sqs.us-east-1.amazonaws.com/123456789012/q", "0", None), "from 1 to 15"),
        ((TABLE, "https://sqs.us-east-1.amazonaws.com/123456789012/q", "5", "role/[ab]"), "`*` and `?` only"),
    ],
)
def test_the_trigger_settings_are_validated(values: tuple[str | None, ...], fault: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_settings(*values)
    assert fault in str(caught.value)


def test_the_trigger_settings_default_to_ten_minutes() -> None:
    settings = parse_settings(TABLE, "https://sqs.us-east-1.amazonaws.com/123456789012/q", "", "a*, ,b")
    assert settings.interval_seconds == 600
    assert settings.ignore.patterns == ("a*", "b")


def test_an_event_check_runs_through_the_state_machine(states: States, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WORKSPACES_JSON", json.dumps(INVENTORY))
    dynamodb = boto3.client("dynamodb")
    create_table(dynamodb)
    queue_url = states.sqs.create_queue(QueueName=QUEUE)["QueueUrl"]
    trigger_environment(monkeypatch, queue_url)
    monkeypatch.setattr(trigger, "s3_client", states.s3)
    monkeypatch.setattr(trigger, "sns_client", boto3.client("sns"))
    monkeypatch.setattr(trigger, "sfn_client", states.sfn)
    monkeypatch.setattr(trigger, "sqs_client", states.sqs)
    monkeypatch.setattr(trigger, "dynamodb_client", dynamodb)
    monkeypatch.setattr(trigger, "clock", Clock())
    rig = Rig(
        s3=states.s3,
        sfn=states.sfn,
        dynamodb=Serialized(dynamodb),
        sqs=RecordingSqs(states.sqs),
        queue_url=queue_url,
        clock=Clock(),
    )
    rig.index("prod/network", "sg-0app")

    assert rig.deliver(sample(SG_EVENT)) == {"batchItemFailures": []}

    run_id = run_id_for("prod/network", sample(SG_EVENT)["id"])
    arn = f"{states.state_machine_arn.replace(':stateMachine:', ':execution:')}:{run_id}"
    assert wait_for(states.sfn, arn)["status"] == "SUCCEEDED"
    [(_, event)] = [(name, e) for name, e in states.lambdas.invocations if name.startswith("drift-detection-worker")]
    assert event["trigger"]["kind"] == "event"
    assert [e["id"] for e in event["trigger"]["events"]] == [sample(SG_EVENT)["id"]]
    summary = json.loads(
        states.s3.get_object(Bucket=REPORT_BUCKET, Key=f"runs/2026/11/27/{run_id}.json")["Body"].read()
    )
    assert [w["name"] for w in summary["workspaces"]] == ["network"]


PATTERNS = REPO / "modules" / "event-checks" / "patterns"
#: The samples the stack's rules must deliver (the rest must not reach the queue).
ROUTED = {
    "attach-role-policy",
    "authorize-security-group-ingress",
    "config-security-group-change",
    "create-security-group",
    "modify-db-instance",
    "put-bucket-tagging",
    "terraform-role-modify-security-group-rules",
}


def test_the_stacks_rules_route_the_samples_to_the_trigger(rig: Rig, capsys: pytest.CaptureFixture[str]) -> None:
    events = boto3.client("events")
    sqs = rig.sqs.client
    queue_arn = sqs.get_queue_attributes(QueueUrl=rig.queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    for pattern in sorted(PATTERNS.glob("*.json")):
        # The files as the rules read them, not copies.
        events.put_rule(Name=f"drift-detection-{pattern.stem}", EventPattern=pattern.read_text())
        events.put_targets(Rule=f"drift-detection-{pattern.stem}", Targets=[{"Id": "trigger", "Arn": queue_arn}])
    delivered: dict[str, str] = {}
    for path in sorted(EVENTS.glob("*.json")):
        document = json.loads(path.read_text())
        events.put_events(
            Entries=[
                {
                    "Source": document["source"],
                    "DetailType": document["detail-type"],
                    "Detail": json.dumps(document["detail"]),
                    "Resources": document["resources"],
                    "Time": datetime.fromisoformat(document["time"]),
                }
            ]
        )
        messages = sqs.receive_message(QueueUrl=rig.queue_url, MaxNumberOfMessages=10).get("Messages", [])
        assert len(messages) <= 1, path.stem
        for message in messages:
            delivered[path.stem] = message["Body"]
            sqs.delete_message(QueueUrl=rig.queue_url, ReceiptHandle=message["ReceiptHandle"])
    assert set(delivered) == ROUTED

    # What the rules delivered, handed to the trigger as the event source mapping would.
    capsys.readouterr()
    assert rig.deliver(*delivered.values()) == {"batchItemFailures": []}
    assert emitted(capsys.readouterr().out) == {
        "EventsReceived": 7,
        # The stack's own role.
        "EventsIgnored": 1,
        # The security group (CloudTrail, then Config: debounced).
        "EventsMatched": 2,
        "EventsDebounced": 1,
        "ChecksStarted": 1,
        # The RDS instance, bucket and role are not in this index; the new group is no one's.
        "EventsUnmatched": 4,
    }
    sg = json.loads(delivered["authorize-security-group-ingress"])
    assert rig.executions() == [run_id_for("prod/network", sg["id"])]


def test_a_delivery_that_keeps_losing_the_race_is_left_to_sqs() -> None:
    class AlwaysTaken:
        writes = 0

        def get_item(self, **kwargs: Any) -> Any:
            return {}

        def update_item(self, **kwargs: Any) -> Any:
            self.writes += 1
            raise ClientError({"Error": {"Code": "ConditionalCheckFailedException", "Message": ""}}, "UpdateItem")

    table = AlwaysTaken()
    event = normalise(sample(SG_EVENT), IgnorePrincipals(()))
    assert isinstance(event, ChangeEvent)
    with pytest.raises(Contended):
        Debouncer(table, TABLE, 600, Clock()).on_event("prod/network", event.summary())
    assert table.writes == MAX_ATTEMPTS
