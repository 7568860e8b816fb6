"""The summarize step's unmanaged-resource view, end to end on moto.

Through the stack's state machine (:mod:`tests.local_states`): the scripted
worker writes each workspace's ``managed-resources`` document and answers
with its ``managed_key``; the real summarize handler lists the moto account
the workspaces' role leads to, writes ``unmanaged/<run_id>.json``, counts it
in the summary and the metrics, and alerts once. Then the failure paths
through ``finish_run`` with a fixed inventory.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import boto3
import jsonschema
import pytest

import orchestrator
import summarize
from drift_orchestrator.cloud_inventory import Deadline, Listing, Target, assume_session
from drift_orchestrator.config import load_summarize_config
from drift_orchestrator.finish import SummarizeClients, UnmanagedSettings, finish_run, read_claims
from drift_orchestrator.observability import metrics
from drift_orchestrator.unmanaged import Coverage, InventoryItem
from tests.conftest import Logs
from tests.local_states import SUMMARIZE, States
from tests.support import REPORT_BUCKET, SECRET, FakeContext, workspace_entry
from tests.test_unmanaged import REPORT_SCHEMA

RUN_ID = "unmanaged-run-1"
INVOKED_AT = datetime(2031, 2, 3, 4, 5, 6, tzinfo=UTC)
ACCOUNT = "111111111111"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/drift-detection-read"

REPORTS_BUCKET = {
    "address": "aws_s3_bucket.reports",
    "type": "aws_s3_bucket",
    "identifiers": {"id": "prod-acme-reports", "arn": "arn:aws:s3:::prod-acme-reports", "bucket": "prod-acme-reports"},
}


@pytest.fixture(autouse=True)
def wall_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(orchestrator, "utc_now", lambda: INVOKED_AT)
    monkeypatch.setattr(summarize, "utc_now", lambda: INVOKED_AT)


def metric_values(output: str) -> dict[str, float]:
    values: dict[str, float] = {}
    for line in output.splitlines():
        if line.startswith("{") and '"_aws"' in line:
            document = json.loads(line)
            for definition in document["_aws"]["CloudWatchMetrics"]:
                for metric in definition["Metrics"]:
                    value = document[metric["Name"]]
                    values[metric["Name"]] = value[0] if isinstance(value, list) else value
    return values


def the_role_account() -> boto3.session.Session:
    """The moto account the workspaces' role leads to."""
    return assume_session(Target(ACCOUNT, "us-east-1", ROLE, SECRET))


def test_a_run_reports_what_nobody_manages_and_alerts_once(
    states: States, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("UNMANAGED", "on")
    monkeypatch.setenv("UNMANAGED_ALERT", "on")
    monkeypatch.setenv("UNMANAGED_IGNORE_JSON", json.dumps([{"id": "tf-state*", "reason": "Terraform's state"}]))
    cloud = the_role_account()
    s3 = cloud.client("s3")
    for bucket in ("prod-acme-reports", "hand-made-logs", "tf-state-prod"):
        s3.create_bucket(Bucket=bucket)
    by_hand = cloud.client("ec2").create_security_group(GroupName="launch-wizard-1", Description="by hand")["GroupId"]
    monkeypatch.setenv(
        "WORKSPACES_JSON",
        json.dumps(
            [
                workspace_entry("network", "prod"),
                workspace_entry("legacy", "prod"),
                workspace_entry("fails-init", "prod", region="eu-west-1"),
            ]
        ),
    )
    gone_instance = {"address": "aws_instance.worker", "type": "aws_instance", "identifiers": {"id": "i-0gone"}}
    states.worker.claims["network"] = [REPORTS_BUCKET, gone_instance]
    states.worker.claims["legacy"] = [REPORTS_BUCKET]
    capsys.readouterr()

    summary = states.finish(states.start({"run_id": RUN_ID}))

    assert summary["unmanaged"] == {
        "report_key": f"unmanaged/{RUN_ID}.json",
        "unmanaged": 2,
        "managed_twice": 1,
        "gone": 1,
        # tf-state-prod by the user's rule, us-east-1's default security group
        # (eu-west-1's is withheld, not ignored).
        "ignored": 2,
        "withheld_scopes": 1,
        "inventory_errors": 0,
    }
    report = json.loads(states.s3.get_object(Bucket=REPORT_BUCKET, Key=f"unmanaged/{RUN_ID}.json")["Body"].read())
    assert (report["schema_version"], report["kind"], report["run_id"]) == ("1.0", "unmanaged-report", RUN_ID)
    if REPORT_SCHEMA.exists():  # generated on the Rust branch; mandatory from the merge on
        validator = jsonschema.Draft202012Validator(json.loads(REPORT_SCHEMA.read_text()))
        assert [e.message for e in validator.iter_errors(report)] == []
    assert [(i["resource_type"], i["resource_id"]) for i in report["unmanaged"]] == [
        ("AWS::EC2::SecurityGroup", by_hand),
        ("AWS::S3::Bucket", "hand-made-logs"),
    ]
    assert {i["item"]["resource_id"]: i["reason"] for i in report["ignored"]}["tf-state-prod"] == "Terraform's state"
    assert [i["item"].get("resource_name") for i in report["ignored"]].count("default") == 1
    [twice] = report["managed_twice"]
    assert twice["identifier"] == "prod-acme-reports"
    assert [c["workspace"] for c in twice["claims"]] == ["legacy", "network"]
    [gone] = report["gone"]
    assert (gone["workspace"], gone["address"]) == ("network", "aws_instance.worker")
    [withheld] = report["withheld"]
    assert (withheld["account_id"], withheld["region"]) == (ACCOUNT, "eu-west-1")
    assert "fails-init/prod: its check ended error" in withheld["reason"]
    assert {(c["region"], c["source"]) for c in report["coverage"]} == {
        ("us-east-1", "service_api"),
        ("eu-west-1", "service_api"),
    }
    assert SECRET not in json.dumps(report)
    assert SECRET not in json.dumps(summary)

    alerts = states.alerts()
    assert sorted(a["MessageAttributes"]["kind"]["Value"] for a in alerts) == ["run_errors", "unmanaged_resources"]
    [alert] = [a for a in alerts if a["MessageAttributes"]["kind"]["Value"] == "unmanaged_resources"]
    assert alert["Subject"] == f"[drift-detection] Resources 2 unmanaged, 1 managed twice, 1 gone in run {RUN_ID}"
    assert alert["Message"].startswith(
        f"Run {RUN_ID} (manual, started 2031-02-03T04:05:06.000Z) found 2 unmanaged resources, 1 managed twice, "
        "1 gone from the inventory (2 ignored by rule, 1 scope withheld).\n\n"
    )
    assert alert["MessageAttributes"]["severity"]["Value"] == "warning"
    assert alert["MessageAttributes"]["environment"]["Value"] == "prod"
    assert f"- unmanaged: AWS::S3::Bucket hand-made-logs (account {ACCOUNT}, us-east-1)" in alert["Message"]
    assert "- managed twice: AWS::S3::Bucket prod-acme-reports" in alert["Message"]
    assert "- gone: network/prod aws_instance.worker (AWS::EC2::Instance i-0gone;" in alert["Message"]
    assert f"Report: s3://{REPORT_BUCKET}/unmanaged/{RUN_ID}.json" in alert["Message"]
    assert [a["kind"] for a in summary["alerts"]] == ["run_errors", "unmanaged_resources"]

    values = metric_values(capsys.readouterr().out)
    assert {k: values[k] for k in ("UnmanagedResources", "ManagedTwice", "GoneFromInventory", "InventoryErrors")} == {
        "UnmanagedResources": 2,
        "ManagedTwice": 1,
        "GoneFromInventory": 1,
        "InventoryErrors": 0,
    }

    # Step Functions retries the step after it finished: the stored summary
    # answers, no second alert, the report stays.
    [payload] = [event for name, event in states.lambdas.invocations if name == SUMMARIZE]
    again = summarize.handler(payload, FakeContext())
    assert again["summary_key"] == summary["summary_key"]
    assert states.alerts() == []


def test_no_alert_unless_asked_and_zeros_are_metrics(
    states: States, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("UNMANAGED", "on")
    monkeypatch.setenv("WORKSPACES_JSON", json.dumps([workspace_entry("network", "prod")]))
    states.worker.claims["network"] = []
    capsys.readouterr()

    summary = states.finish(states.start({"run_id": RUN_ID}))

    assert summary["unmanaged"]["unmanaged"] == 0  # the account's default security group is ignored
    assert summary["unmanaged"]["ignored"] == 1
    assert states.alerts() == []
    values = metric_values(capsys.readouterr().out)
    assert values["UnmanagedResources"] == 0
    assert values["InventoryErrors"] == 0


def test_off_means_no_inventory_no_report_no_field(states: States, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("UNMANAGED", "off")
    monkeypatch.setenv("WORKSPACES_JSON", json.dumps([workspace_entry("network", "prod")]))
    states.worker.claims["network"] = []
    summary = states.finish(states.start({"run_id": RUN_ID}))
    assert "unmanaged" not in summary
    assert not states.s3.list_objects_v2(Bucket=REPORT_BUCKET, Prefix="unmanaged/").get("KeyCount")


def test_a_bad_ignore_rule_is_recorded_and_the_summary_still_written(
    states: States, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("UNMANAGED", "on")
    monkeypatch.setenv("UNMANAGED_IGNORE_JSON", '[{"id": "x"}]')
    monkeypatch.setenv("WORKSPACES_JSON", json.dumps([workspace_entry("network", "prod")]))
    summary = states.finish(states.start({"run_id": RUN_ID}))
    message = "invalid configuration: UNMANAGED_IGNORE_JSON rule 0 has no reason"
    assert summary["unmanaged"] == {"error": message}
    assert any(e["message"] == message for e in summary["errors"] if e["scope"] == "run")


@pytest.mark.parametrize(
    ("variables", "expected"),
    [
        ({}, (True, False, None, 300, None)),
        (
            {
                "UNMANAGED": "OFF",
                "UNMANAGED_ALERT": "on",
                "CONFIG_AGGREGATOR_NAME": "org",
                "UNMANAGED_TIME_BUDGET_SECONDS": "120",
            },
            (False, True, "org", 120, None),
        ),
        ({"UNMANAGED": "yes"}, (True, False, None, 300, "invalid configuration: UNMANAGED 'yes' must be on or off")),
        (
            {"UNMANAGED_TIME_BUDGET_SECONDS": "901"},
            (
                True,
                False,
                None,
                1,
                "invalid configuration: UNMANAGED_TIME_BUDGET_SECONDS '901' must be a whole number from 1 to 900",
            ),
        ),
        (
            {"CONFIG_AGGREGATOR_NAME": "no spaces"},
            (
                True,
                False,
                "no spaces",
                300,
                "invalid configuration: CONFIG_AGGREGATOR_NAME 'no spaces' is not a Config aggregator name",
            ),
        ),
    ],
)
def test_the_view_s_variables(
    monkeypatch: pytest.MonkeyPatch, variables: dict[str, str], expected: tuple[Any, ...]
) -> None:
    monkeypatch.setenv("REPORT_BUCKET", REPORT_BUCKET)
    monkeypatch.setenv("SNS_TOPIC_ARN", "arn:aws:sns:us-east-1:123456789012:drift-detection-alerts")
    monkeypatch.delenv("UNMANAGED", raising=False)
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    config = load_summarize_config(summarize.unmanaged_variables())
    assert (
        config.unmanaged,
        config.unmanaged_alert,
        config.config_aggregator_name,
        config.unmanaged_time_budget_seconds,
        config.unmanaged_error,
    ) == expected


# --- finish_run with a fixed inventory -----------------------------------------


def fixed_inventory(
    items: list[InventoryItem], coverage: list[Coverage], seen: list[dict[str, Any]] | None = None
) -> Any:
    def list_inventory(targets: list[Target], *, deadline: Deadline, aggregator_name: str | None) -> Listing:
        if seen is not None:
            seen.append({"targets": targets, "left": deadline.left(), "aggregator": aggregator_name})
        return Listing(items=list(items), coverage=list(coverage))

    return list_inventory


def run_payload(states: States, monkeypatch: pytest.MonkeyPatch, entries: list[dict[str, Any]]) -> dict[str, Any]:
    """A finished run's summarize payload, its stored summary removed."""
    monkeypatch.setenv("WORKSPACES_JSON", json.dumps(entries))
    summary = states.finish(states.start({"run_id": RUN_ID}))
    states.s3.delete_object(Bucket=REPORT_BUCKET, Key=summary["summary_key"])
    states.alerts()
    [payload] = [event for name, event in states.lambdas.invocations if name == SUMMARIZE]
    return payload


def finish(states: States, payload: dict[str, Any], settings: UnmanagedSettings, remaining: float = 900) -> Any:
    """``finish_run`` as the handler calls it, with ``remaining`` seconds left."""
    sns = boto3.client("sns")
    return finish_run(
        payload,
        bucket=REPORT_BUCKET,
        topic_arn=sns.list_topics()["Topics"][0]["TopicArn"],
        clients=SummarizeClients(s3=states.s3, sns=sns),
        metrics=metrics,
        now=lambda: INVOKED_AT,
        unmanaged=settings,
        remaining_seconds=lambda: remaining,
    )


def test_the_inventory_gets_each_scope_with_its_role_and_a_budget_within_the_lambda_s_time(
    states: States, monkeypatch: pytest.MonkeyPatch
) -> None:
    payload = run_payload(
        states,
        monkeypatch,
        [workspace_entry("network", "prod"), workspace_entry("data", "prod", region="eu-west-1", external_id=None)],
    )
    seen: list[dict[str, Any]] = []
    settings = UnmanagedSettings(
        time_budget_seconds=300, aggregator_name="org", list_inventory=fixed_inventory([], [], seen)
    )

    finish(states, payload, settings, remaining=100)

    [call] = seen
    assert call["targets"] == [
        Target(ACCOUNT, "us-east-1", ROLE, SECRET),
        Target(ACCOUNT, "eu-west-1", ROLE, None),
    ]
    assert SECRET not in repr(call["targets"])
    # 100 s left, 60 kept for the summary itself: 40 s, not 300.
    assert 30 < call["left"] <= 40
    assert call["aggregator"] == "org"


def test_unreadable_or_foreign_sidecars_make_the_workspace_unclaimed(
    states: States, monkeypatch: pytest.MonkeyPatch
) -> None:
    states.worker.claims["network"] = [REPORTS_BUCKET]
    states.worker.claims["data"] = [REPORTS_BUCKET]
    payload = run_payload(
        states,
        monkeypatch,
        [
            workspace_entry("network", "prod"),
            workspace_entry("data", "prod", region="eu-west-1"),
            workspace_entry("app", "prod", region="us-west-2"),
        ],
    )
    states.s3.delete_object(Bucket=REPORT_BUCKET, Key=f"managed/prod/network/{RUN_ID}.json")
    states.s3.put_object(
        Bucket=REPORT_BUCKET,
        Key=f"managed/prod/data/{RUN_ID}.json",
        Body=json.dumps({"schema_version": "1.0", "kind": "managed-resources", "run_id": "another-run"}).encode(),
    )
    item = InventoryItem(resource_type="AWS::S3::Bucket", account_id=ACCOUNT, region="us-east-1", resource_id="x")
    settings = UnmanagedSettings(list_inventory=fixed_inventory([item], []))

    summary = finish(states, payload, settings)

    assert summary["unmanaged"]["withheld_scopes"] == 3
    report = json.loads(states.s3.get_object(Bucket=REPORT_BUCKET, Key=f"unmanaged/{RUN_ID}.json")["Body"].read())
    reasons = {w["region"]: w["reason"] for w in report["withheld"]}
    assert "network/prod: its managed-resources document s3://" in reasons["us-east-1"]
    assert "cannot be read: " in reasons["us-east-1"]
    assert "breaks the contract: `run_id` is 'another-run'" in reasons["eu-west-1"]
    assert "app/prod: its check left no managed-resources document" in reasons["us-west-2"]
    assert report["unmanaged"] == []


def test_a_failing_inventory_never_costs_the_summary(
    states: States, monkeypatch: pytest.MonkeyPatch, logs: Logs
) -> None:
    payload = run_payload(states, monkeypatch, [workspace_entry("network", "prod")])

    def broken(targets: list[Target], *, deadline: Deadline, aggregator_name: str | None) -> Listing:
        raise RuntimeError(f"boom near {targets[0].external_id}")

    summary = finish(states, payload, UnmanagedSettings(list_inventory=broken))

    assert summary["unmanaged"] == {"error": "the unmanaged-resource view failed: boom near [redacted]"}
    assert "the unmanaged-resource view failed" in logs.text()
    assert SECRET not in logs.text()
    stored = json.loads(states.s3.get_object(Bucket=REPORT_BUCKET, Key=summary["summary_key"])["Body"].read())
    assert stored["unmanaged"] == summary["unmanaged"]


def test_inventory_errors_are_counted(states: States, monkeypatch: pytest.MonkeyPatch) -> None:
    payload = run_payload(states, monkeypatch, [workspace_entry("network", "prod")])
    coverage = [
        Coverage(
            account_id=ACCOUNT,
            region="us-east-1",
            resource_type="AWS::EC2::Volume",
            source="service_api",
            error="AccessDenied: no",
        ),
        Coverage(account_id=ACCOUNT, region="us-east-1", resource_type="AWS::EC2::Instance", source="service_api"),
    ]
    summary = finish(states, payload, UnmanagedSettings(list_inventory=fixed_inventory([], coverage)))
    assert summary["unmanaged"]["inventory_errors"] == 1


def test_a_check_without_sidecar_support_is_unclaimed_not_an_error() -> None:
    from drift_orchestrator.checks import WorkspaceResult
    from drift_orchestrator.inventory import Workspace

    workspace = Workspace(
        name="n", environment="e", account_id=ACCOUNT, region="us-east-1", source="", runner="lambda", external_id=None
    )
    claims, unclaimed = read_claims(None, REPORT_BUCKET, RUN_ID, [WorkspaceResult(workspace=workspace, status="clean")])  # type: ignore[arg-type]
    assert claims == []
    assert unclaimed == [
        {
            "name": "n",
            "environment": "e",
            "account_id": ACCOUNT,
            "region": "us-east-1",
            "reason": "its check left no managed-resources document",
        }
    ]
