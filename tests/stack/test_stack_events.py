"""The stack's side of event-driven checks (issue 16): the event patterns
(valid JSON, read as they are by the rules, and routing AWS-shaped sample
events through moto's EventBridge as intended), the resource index table,
the change-events queue and its dead-letter queue, their policies, the event
source mapping, the trigger function's environment and IAM, the worker's
index writes, the default bus policy and the member accounts' forwarding
documents, the alarms and outputs; and the new validations and the
trigger's preconditions, evaluated by the pinned terraform (as in
test_stack_unmanaged.py).

The dashboard row is tested in test_stack_dashboard_body.py, the function
environments' coverage of what the code reads in test_stack_consistency.py.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws
from stack_hcl import REPO, Body, Stack, blocks, is_expr
from test_stack_unmanaged import _evaluate, _local_expression, _variable_conditions

SUFFIX = "${var.environment_suffix}"
PATTERNS = REPO / "modules" / "event-checks" / "patterns"
SAMPLES = Path(__file__).with_name("fixtures") / "change-events.json"
KINDS = REPO / "crates" / "drift-core" / "src" / "unmanaged" / "kinds.json"
TABLE_ARN = "${one(module.event_checks.aws_dynamodb_table.this[*].arn)}"
QUEUE_ARN = "${one(module.event_checks.aws_sqs_queue.this[*].arn)}"
GATE = "${var.event_checks_enabled ? 1 : 0}"
RULE_ARNS = "${[for r in module.event_checks.aws_cloudwatch_event_rule.this : r.arn]}"


def statements(stack: Stack, document: str) -> dict[str, Body]:
    return {s["sid"]: s for s in stack.document_statements(document)}


# Patterns -------------------------------------------------------------------


def pattern_files() -> dict[str, Path]:
    return {p.stem: p for p in sorted(PATTERNS.glob("*.json"))}


def test_pattern_files_are_json_and_the_rules_read_exactly_them(stack: Stack) -> None:
    files = pattern_files()
    assert set(files) == {"cloudtrail-writes", "config-changes"}
    for path in files.values():
        assert isinstance(json.loads(path.read_text()), dict), path
    module_locals = stack.modules["event_checks"].config.locals
    expected = (
        "${local.create ? {"
        + ", ".join(f'{key} = file("${{path.module}}/patterns/{key}.json")' for key in files)
        + "} : {}}"
    )
    assert module_locals["patterns"] == expected
    assert module_locals["create"] == "${var.enabled}"
    rule = stack.resource("aws_cloudwatch_event_rule", "module.event_checks.this")
    assert rule["event_pattern"] == "${each.value}"
    assert rule["name"] == "drift-detection-${each.key}-" + SUFFIX
    assert rule["state"] == "ENABLED"
    assert "event_bus_name" not in rule, "the default bus"
    target = stack.resource("aws_cloudwatch_event_target", "module.event_checks.this")
    assert target["for_each"] == rule["for_each"]
    assert target["arn"] == "${module.event_checks.aws_sqs_queue.this[0].arn}"
    assert target["dead_letter_config"] == [{"arn": "${module.event_checks.aws_sqs_queue.dead_letter[0].arn}"}]
    # The forwarding rules of the member accounts use the same patterns.
    assert "module.event_checks.event_patterns" in (REPO / "outputs.tf").read_text()
    assert stack.modules["event_checks"].config.outputs["event_patterns"]["value"] == (
        "${{for k, p in local.patterns : k => jsondecode(p)}}"
    )


def test_cloudtrail_pattern() -> None:
    pattern = json.loads((PATTERNS / "cloudtrail-writes.json").read_text())
    assert pattern["detail-type"] == ["AWS API Call via CloudTrail"]
    assert sorted(pattern["source"]) == ["aws.ec2", "aws.iam", "aws.rds", "aws.s3"]
    assert pattern["detail"]["readOnly"] == [False]
    assert pattern["detail"]["errorCode"] == [{"exists": False}]


def test_config_pattern_covers_exactly_the_tracked_kinds() -> None:
    pattern = json.loads((PATTERNS / "config-changes.json").read_text())
    assert pattern["source"] == ["aws.config"]
    assert pattern["detail-type"] == ["Config Configuration Item Change"]
    assert pattern["detail"]["messageType"] == ["ConfigurationItemChangeNotification"]
    kinds = [k["config_type"] for k in json.loads(KINDS.read_text())["kinds"]]
    assert sorted(pattern["detail"]["configurationItem"]["resourceType"]) == sorted(kinds)


def test_samples_reach_exactly_their_rule_through_moto() -> None:
    # Each rule delivers to its own queue, so a sample's arrivals name the
    # rules it matched.
    cases = json.loads(SAMPLES.read_text())["cases"]
    assert {c["rule"] for c in cases} == {None, *pattern_files()}
    with mock_aws():
        events = boto3.client("events", region_name="us-east-1")
        sqs = boto3.client("sqs", region_name="us-east-1")
        queues = {}
        for name, path in pattern_files().items():
            url = sqs.create_queue(QueueName=name)["QueueUrl"]
            arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
            events.put_rule(Name=name, EventPattern=path.read_text(), State="ENABLED")
            events.put_targets(Rule=name, Targets=[{"Id": "q", "Arn": arn}])
            queues[name] = url
        wrong = []
        for case in cases:
            event = case["event"]
            answer = events.put_events(
                Entries=[
                    {
                        "Source": event["source"],
                        "DetailType": event["detail-type"],
                        "Detail": json.dumps(event["detail"]),
                    }
                ]
            )
            assert answer["FailedEntryCount"] == 0, case["case"]
            reached = set()
            for name, url in queues.items():
                messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
                for m in messages:
                    assert json.loads(m["Body"])["detail"] == event["detail"]
                    sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
                if messages:
                    reached.add(name)
            expected = {case["rule"]} if case["rule"] else set()
            if reached != expected:
                wrong.append(f"{case['case']}: reached {sorted(reached)}, expected {sorted(expected)}")
        assert not wrong, "\n".join(wrong)


# Table, queues, mapping -------------------------------------------------------


def test_resource_index_table(stack: Stack) -> None:
    table = stack.resource("aws_dynamodb_table", "module.event_checks.this")
    assert table["count"] == GATE
    assert table["name"] == "drift-detection-resource-index-" + SUFFIX
    assert table["billing_mode"] == "PAY_PER_REQUEST"
    assert (table["hash_key"], table["range_key"]) == ("pk", "sk")
    assert table["attribute"] == [{"name": "pk", "type": "S"}, {"name": "sk", "type": "S"}]
    assert table["ttl"] == [{"attribute_name": "expires_at", "enabled": True}]
    assert table["point_in_time_recovery"] == [{"enabled": True}]
    assert table["server_side_encryption"] == [{"enabled": True, "kms_key_arn": "${aws_kms_key.this.arn}"}]
    assert table["deletion_protection_enabled"] is False
    # The contract's keys.
    contract = json.loads((REPO / "tests" / "contract" / "resource-index.json").read_text())
    assert "`drift-detection-resource-index-<suffix>`" in contract["description"]
    for word in ("`pk`", "`sk`", "`expires_at`"):
        assert word in contract["description"], word


def test_change_events_queue_and_dead_letter_queue(stack: Stack) -> None:
    queue = stack.resource("aws_sqs_queue", "module.event_checks.this")
    dlq = stack.resource("aws_sqs_queue", "module.event_checks.dead_letter")
    assert queue["count"] == dlq["count"] == GATE
    assert queue["name"] == "drift-detection-change-events-" + SUFFIX
    assert dlq["name"] == "drift-detection-change-events-dlq-" + SUFFIX
    for q in (queue, dlq):
        assert q["kms_master_key_id"] == "${aws_kms_key.this.arn}"
    assert is_expr(
        queue["redrive_policy"],
        "jsonencode({deadLetterTargetArn = module.event_checks.aws_sqs_queue.dead_letter[0].arn, maxReceiveCount = 5})",
    )
    assert dlq["message_retention_seconds"] == 14 * 24 * 3600
    # Lambda refuses a mapping whose queue's visibility timeout is shorter
    # than the function's timeout; AWS advises six times.
    assert is_expr(queue["visibility_timeout_seconds"], "6 * var.trigger_timeout_seconds")
    assert stack.modules["event_checks"].args["trigger_timeout_seconds"] == "${var.trigger_timeout_seconds}"
    assert stack.resource("aws_lambda_function", "module.trigger.this")["timeout"] == "${var.trigger_timeout_seconds}"
    allow = stack.resource("aws_sqs_queue_redrive_allow_policy", "module.event_checks.this")
    assert is_expr(
        allow["redrive_allow_policy"],
        'jsonencode({redrivePermission = "byQueue", sourceQueueArns = [module.event_checks.aws_sqs_queue.this[0].arn]})',
    )
    # The names the key policy spells out are the queues' names.
    arns = stack.locals["change_events_queue_arns"]
    for name in (queue["name"], dlq["name"]):
        assert name in arns


@pytest.mark.parametrize(("document", "queue"), [("queue", "this"), ("dead_letter", "dead_letter")])
def test_queue_policies_admit_only_the_rules(stack: Stack, document: str, queue: str) -> None:
    # The policy resource is named like its queue.
    doc = stack.data_source("aws_iam_policy_document", f"module.event_checks.{document}")
    (st,) = blocks(doc, "statement")
    assert st["actions"] == ["sqs:SendMessage"]
    assert st["resources"] == [f"${{module.event_checks.aws_sqs_queue.{queue}[0].arn}}"]
    assert st["principals"] == [{"type": "Service", "identifiers": ["events.amazonaws.com"]}]
    assert st["condition"] == [{"test": "ArnEquals", "variable": "aws:SourceArn", "values": RULE_ARNS}]
    policy = stack.resource("aws_sqs_queue_policy", f"module.event_checks.{queue}")
    assert policy["queue_url"] == f"${{module.event_checks.aws_sqs_queue.{queue}[0].id}}"
    assert policy["policy"] == f"${{module.event_checks.data.aws_iam_policy_document.{document}[0].json}}"


def test_event_source_mapping(stack: Stack) -> None:
    mapping = stack.resource("aws_lambda_event_source_mapping", "module.event_checks.this")
    assert mapping["count"] == GATE
    assert mapping["event_source_arn"] == "${module.event_checks.aws_sqs_queue.this[0].arn}"
    assert mapping["function_name"] == "${one(module.trigger[*].function_arn)}"
    assert mapping["batch_size"] == 10
    assert mapping["function_response_types"] == ["ReportBatchItemFailures"]
    assert mapping["maximum_batching_window_in_seconds"] == 5


# The trigger ---------------------------------------------------------------


def test_trigger_function(stack: Stack) -> None:
    trigger = stack.modules["trigger"]
    assert trigger.source == "./modules/function"
    assert trigger.count == GATE
    orchestrator = stack.modules["orchestrator"].args
    args = trigger.args
    assert args["component"] == "trigger"
    assert args["runtime"] == "python3.11"
    assert args["handler"] == "trigger.handler"
    for same in ("filename", "source_code_hash", "layers", "kms_key_arn", "on_failure_destination_arn"):
        assert args[same] == orchestrator[same], same
    assert args["policy_documents"] == ["${data.aws_iam_policy_document.trigger.json}"]
    function = stack.resource("aws_lambda_function", "module.trigger.this")
    assert function["function_name"] == "drift-detection-trigger-" + SUFFIX


def test_trigger_environment_is_wired(stack: Stack) -> None:
    env = stack.resource("aws_lambda_function", "module.trigger.this")["environment"][0]["variables"]
    orchestrator = stack.resource("aws_lambda_function", "module.orchestrator.this")["environment"][0]["variables"]
    # What the orchestrator gets for starting runs, the same values.
    for name, value in orchestrator.items():
        if name != "POWERTOOLS_SERVICE_NAME":
            assert env[name] == value, name
    assert stack.resolve(env["POWERTOOLS_SERVICE_NAME"]) == "drift-detection-trigger"
    own = {
        "INDEX_TABLE": "one(module.event_checks.aws_dynamodb_table.this[*].name)",
        "TRIGGER_QUEUE_URL": "one(module.event_checks.aws_sqs_queue.this[*].url)",
        "EVENT_CHECK_MIN_INTERVAL_MINUTES": "tostring(var.event_check_min_interval)",
        "EVENT_IGNORE_PRINCIPALS": (
            'join(",", concat(var.cross_account_role_arns, [module.worker.aws_iam_role.this.arn,'
            " module.codebuild_lane.aws_iam_role.this.arn, module.orchestrator.aws_iam_role.this.arn,"
            " module.summarize.aws_iam_role.this.arn], var.event_ignore_principals))"
        ),
    }
    for name, expression in own.items():
        assert is_expr(env[name], expression), name
    assert set(env) == set(orchestrator) | set(own)


@pytest.mark.parametrize("runner", ["worker", "codebuild_lane"])
def test_worker_index_environment(stack: Stack, runner: str) -> None:
    if runner == "worker":
        env = stack.resource("aws_lambda_function", "module.worker.this")["environment"][0]["variables"]
    else:
        env = stack.modules["codebuild_lane"].args["environment_variables"]
    assert is_expr(
        env["INDEX_TABLE"],
        'var.event_checks_enabled ? (one(module.event_checks.aws_dynamodb_table.this[*].name)) : ""',
    )
    assert is_expr(env["INDEX_TTL_HOURS"], "tostring(var.resource_index_ttl_hours)")


def test_variable_defaults(stack: Stack) -> None:
    defaults = {
        "event_checks_enabled": True,
        "event_check_min_interval": 10,
        "event_ignore_principals": [],
        "event_source_organization_id": None,
        "resource_index_ttl_hours": 24,
        "detection_latency_alarm_seconds": 900,
        "trigger_timeout_seconds": 60,
        "trigger_memory_size": 256,
    }
    for name, default in defaults.items():
        assert stack.variables[name].get("default") == default, name


# IAM --------------------------------------------------------------------------


RUN_STARTING = {
    "ReadInventory",
    "ReadRunSummaries",
    "ListRunSummaries",
    "WriteRunExecutionData",
    "StartRun",
    "DescribeRun",
}


def test_trigger_policy_is_exact(stack: Stack) -> None:
    st = statements(stack, "module.trigger.this")
    # The orchestrator's run-starting statements, the very same (one shared
    # document), and no alerts.
    shared = {s["sid"] for s in blocks(stack.data_source("aws_iam_policy_document", "start_run"), "statement")}
    assert shared == RUN_STARTING
    for doc in ("orchestrator", "trigger"):
        assert stack.data_source("aws_iam_policy_document", doc)["source_policy_documents"] == [
            "${data.aws_iam_policy_document.start_run.json}"
        ]
    orchestrator = statements(stack, "module.orchestrator.this")
    for sid in RUN_STARTING:
        assert st[sid] == orchestrator[sid], sid
    assert "PublishAlerts" not in st
    own = {
        "ReadResourceIndexAndDebounce": (
            ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query", "dynamodb:UpdateItem"],
            [TABLE_ARN],
        ),
        "ReceiveChangeEvents": (["sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ReceiveMessage"], [QUEUE_ARN]),
        "SendTrailingChecks": (["sqs:SendMessage"], [QUEUE_ARN]),
        "StoreUnmanagedChangeEvents": (
            ["s3:PutObject"],
            ["${module.storage.aws_s3_bucket.this.arn}/${local.unmanaged_prefix}/events/*"],
        ),
    }
    for sid, (actions, resources) in own.items():
        assert st[sid] == {"sid": sid, "actions": actions, "resources": resources}, sid
    module = {"WriteOwnLogs", "UseStackKey", "SendFailedInvocations", "WriteTraces"}
    assert set(st) == RUN_STARTING | set(own) | module
    assert st["UseStackKey"]["resources"] == ["${aws_kms_key.this.arn}"]


def test_worker_writes_the_index_only_with_the_feature(stack: Stack) -> None:
    doc = stack.data_source("aws_iam_policy_document", "drift_check")
    (dynamic,) = [d["statement"] for d in doc["dynamic"] if d["statement"]["content"][0]["sid"] == "WriteResourceIndex"]
    assert is_expr(dynamic["for_each"], "var.event_checks_enabled ? [true] : []")
    assert dynamic["content"] == [
        {
            "sid": "WriteResourceIndex",
            "actions": ["dynamodb:BatchWriteItem", "dynamodb:GetItem", "dynamodb:PutItem"],
            "resources": [TABLE_ARN],
        }
    ]
    # The CodeBuild lane gets it through the same document.
    assert "WriteResourceIndex" in statements(stack, "module.codebuild_lane.this")


def test_key_policy_lets_eventbridge_use_the_queues(stack: Stack) -> None:
    doc = stack.data_source("aws_iam_policy_document", "kms")
    (dynamic,) = [
        d["statement"]
        for d in doc["dynamic"]
        if d["statement"]["content"][0]["sid"] == "EventBridgeToChangeEventsQueues"
    ]
    assert is_expr(dynamic["for_each"], "var.event_checks_enabled ? [true] : []")
    (st,) = dynamic["content"]
    assert st["actions"] == ["kms:Decrypt", "kms:GenerateDataKey"]
    assert st["principals"] == [{"type": "Service", "identifiers": ["events.amazonaws.com"]}]
    assert st["condition"] == [
        {
            "test": "StringEquals",
            "variable": "kms:EncryptionContext:aws:sqs:arn",
            "values": "${local.change_events_queue_arns}",
        }
    ]
    arns = stack.locals["change_events_queue_arns"]
    assert "arn:${local.partition}:sqs:${local.region}:${local.account_id}:${name}" in arns


def test_event_bus_policy(stack: Stack) -> None:
    policy = stack.resource("aws_cloudwatch_event_bus_policy", "this")
    assert is_expr(policy["count"], "local.create_event_bus_policy ? 1 : 0")
    assert policy["event_bus_name"] == "default"
    assert is_expr(
        stack.locals["create_event_bus_policy"],
        "var.event_checks_enabled && (length(local.event_member_account_ids) > 0 || var.event_source_organization_id != null)",
    )
    # The member accounts: the drift roles' and the workspaces' accounts but
    # this one.
    assert is_expr(
        stack.locals["event_member_account_ids"],
        "var.event_checks_enabled ? [for id in local.cross_account_ids : id if id != local.account_id] : []",
    )
    doc = stack.data_source("aws_iam_policy_document", "event_bus")
    by_sid = {d["statement"]["content"][0]["sid"]: d["statement"] for d in doc["dynamic"]}
    bus = ["${local.default_event_bus_arn}"]
    members = by_sid["MemberAccountsForwardEvents"]["content"][0]
    assert members["actions"] == ["events:PutEvents"] and members["resources"] == bus
    assert members["principals"] == [
        {
            "type": "AWS",
            "identifiers": '${[for id in local.event_member_account_ids : "arn:${local.partition}:iam::${id}:root"]}',
        }
    ]
    organization = by_sid["OrganizationForwardsEvents"]
    assert is_expr(
        organization["for_each"], "var.event_source_organization_id == null ? [] : [var.event_source_organization_id]"
    )
    assert organization["content"][0]["actions"] == ["events:PutEvents"]
    assert organization["content"][0]["resources"] == bus
    assert stack.locals["default_event_bus_arn"] == (
        "arn:${local.partition}:events:${local.region}:${local.account_id}:event-bus/default"
    )


def test_member_forwarding_documents(stack: Stack) -> None:
    trust = stack.data_source("aws_iam_policy_document", "event_forwarding_trust")
    assert is_expr(trust["for_each"], "toset(local.event_forwarding_account_ids)")
    # The members, and this account for its other regions (not admitted by
    # the bus policy: its own account needs no permission there).
    assert is_expr(
        stack.locals["event_forwarding_account_ids"],
        "var.event_checks_enabled ? concat(local.event_member_account_ids, [local.account_id]) : []",
    )
    (st,) = blocks(trust, "statement")
    assert st["actions"] == ["sts:AssumeRole"]
    assert st["principals"] == [{"type": "Service", "identifiers": ["events.amazonaws.com"]}]
    assert st["condition"] == [{"test": "StringEquals", "variable": "aws:SourceAccount", "values": ["${each.key}"]}]
    (put,) = blocks(stack.data_source("aws_iam_policy_document", "event_forwarding"), "statement")
    assert put == {
        "sid": "PutEventsOnCentralBus",
        "actions": ["events:PutEvents"],
        "resources": ["${local.default_event_bus_arn}"],
    }


# Alarms and outputs -------------------------------------------------------------


def test_alarms(stack: Stack) -> None:
    latency = stack.resource("aws_cloudwatch_metric_alarm", "detection_latency")
    assert is_expr(latency["count"], "var.event_checks_enabled ? 1 : 0")
    assert latency["alarm_name"] == "drift-detection-detection-latency-" + SUFFIX
    assert is_expr(latency["namespace"], "var.metrics_namespace")
    assert latency["metric_name"] == "DetectionLatencySeconds"
    # The worker's dimensionless aggregate (it emits Environment, Workspace
    # and the empty dimension set).
    assert "dimensions" not in latency
    assert latency["statistic"] == "Maximum"
    assert is_expr(latency["threshold"], "var.detection_latency_alarm_seconds")
    assert latency["comparison_operator"] == "GreaterThanThreshold"
    dlq = stack.resource("aws_cloudwatch_metric_alarm", "change_events_dead_letters")
    assert is_expr(dlq["count"], "var.event_checks_enabled ? 1 : 0")
    assert dlq["namespace"] == "AWS/SQS"
    assert dlq["metric_name"] == "ApproximateNumberOfMessagesVisible"
    assert dlq["dimensions"] == {"QueueName": "${one(module.event_checks.aws_sqs_queue.dead_letter[*].name)}"}
    for alarm in (latency, dlq):
        assert alarm["treat_missing_data"] == "notBreaching"
        assert alarm["alarm_actions"] == ["${module.alerting.aws_sns_topic.this.arn}"]
        assert alarm["ok_actions"] == alarm["alarm_actions"]
    # The trigger's errors: the function module's alarm.
    errors = stack.resource("aws_cloudwatch_metric_alarm", "module.trigger.errors")
    assert errors["metric_name"] == "Errors"
    outputs = (REPO / "outputs.tf").read_text()
    for line in (
        r"trigger_errors\s+=\s+one\(module\.trigger\[\*\]\.errors_alarm_arn\)",
        r"detection_latency\s+=\s+one\(aws_cloudwatch_metric_alarm\.detection_latency\[\*\]\.arn\)",
        r"change_events_dlq\s+=\s+one\(aws_cloudwatch_metric_alarm\.change_events_dead_letters\[\*\]\.arn\)",
    ):
        assert re.search(line, outputs), line


def test_outputs(stack: Stack) -> None:
    for name in (
        "resource_index_table_name",
        "resource_index_table_arn",
        "change_events_queue_url",
        "change_events_dead_letter_queue_arn",
        "event_rule_arns",
        "trigger_function_name",
        "trigger_function_arn",
        "trigger_role_arn",
        "event_forwarding",
    ):
        assert stack.outputs[name]["description"].strip(), name
    forwarding = stack.outputs["event_forwarding"]["value"]
    assert is_expr(forwarding["central_event_bus_arn"], "var.event_checks_enabled ? local.default_event_bus_arn : null")
    assert is_expr(forwarding["event_bus_policy"], "one(data.aws_iam_policy_document.event_bus[*].json)")
    accounts = forwarding["accounts"]
    for fragment in (
        "for id, trust in data.aws_iam_policy_document.event_forwarding_trust",
        "role_trust_policy = trust.json",
        "role_policy = data.aws_iam_policy_document.event_forwarding.json",
        "event_pattern = jsonencode(pattern)",
        'name = "drift-detection-forward-${key}-${var.environment_suffix}"',
        "arn = local.default_event_bus_arn",
        'role_arn = "arn:${local.partition}:iam::${id}:role/${local.event_forwarding_role}"',
    ):
        assert fragment in accounts, fragment
    assert stack.locals["event_forwarding_role"] == "drift-detection-forward-events-" + SUFFIX


def test_member_account_names_fit_at_the_longest_suffix(stack: Stack) -> None:
    condition = stack.variables["environment_suffix"]["validation"][0]["condition"]
    (longest,) = [int(n) for n in re.findall(r"length\(var\.environment_suffix\)\s*<=\s*(\d+)", condition)]
    key = max(len(k) for k in pattern_files())
    rule = "drift-detection-forward-" + "k" * key + "-" + "s" * longest
    role = stack.locals["event_forwarding_role"].replace(SUFFIX, "s" * longest)
    assert len(rule) <= 64  # EventBridge rule names
    assert len(role) <= 64  # IAM role names


# Validations and preconditions, evaluated -------------------------------------------

# (variable, value, accepted)
VALIDATION_CASES: list[tuple[str, Any, bool]] = [
    ("event_check_min_interval", 10, True),
    ("event_check_min_interval", 1, True),
    ("event_check_min_interval", 15, True),
    ("event_check_min_interval", 0, False),
    ("event_check_min_interval", 16, False),
    ("event_check_min_interval", 2.5, False),
    ("event_ignore_principals", [], True),
    ("event_ignore_principals", ["arn:aws:iam::*:role/terraform-*"], True),
    ("event_ignore_principals", [""], False),
    ("event_ignore_principals", ["  "], False),
    ("event_ignore_principals", ["arn:aws:iam::*:role/a,arn:aws:iam::*:role/b"], False),
    ("event_source_organization_id", None, True),
    ("event_source_organization_id", "o-a1b2c3d4e5", True),
    ("event_source_organization_id", "o-a1b2", False),
    ("event_source_organization_id", "r-a1b2c3d4e5", False),
    ("event_source_organization_id", "o-A1B2C3D4E5", False),
    ("resource_index_ttl_hours", 24, True),
    ("resource_index_ttl_hours", 12, True),
    ("resource_index_ttl_hours", 8760, True),
    ("resource_index_ttl_hours", 11, False),
    ("resource_index_ttl_hours", 24.5, False),
    ("resource_index_ttl_hours", 8761, False),
    ("detection_latency_alarm_seconds", 900, True),
    ("detection_latency_alarm_seconds", 60, True),
    ("detection_latency_alarm_seconds", 59, False),
    ("detection_latency_alarm_seconds", 86401, False),
    ("trigger_timeout_seconds", 60, True),
    ("trigger_timeout_seconds", 10, True),
    ("trigger_timeout_seconds", 300, True),
    ("trigger_timeout_seconds", 9, False),
    ("trigger_timeout_seconds", 301, False),
    ("trigger_memory_size", 256, True),
    ("trigger_memory_size", 127, False),
    ("trigger_memory_size", 10241, False),
]

DEFAULTS: dict[str, Any] = {
    "schedule_expression": "rate(6 hours)",
    "resource_index_ttl_hours": 24,
    "inventory_s3_uri": None,
    "workspaces": [],
}

# (overrides of DEFAULTS, accepted)
PRECONDITION_CASES: list[tuple[dict[str, Any], bool]] = [
    ({}, True),
    # The index outlives two schedule intervals (strictly).
    ({"resource_index_ttl_hours": 13}, True),
    ({"resource_index_ttl_hours": 12}, False),
    ({"schedule_expression": "rate(12 hours)", "resource_index_ttl_hours": 24}, False),
    ({"schedule_expression": "rate(12 hours)", "resource_index_ttl_hours": 25}, True),
    ({"schedule_expression": "rate(1 day)", "resource_index_ttl_hours": 48}, False),
    ({"schedule_expression": "rate(1 day)", "resource_index_ttl_hours": 49}, True),
    ({"schedule_expression": "rate(2 days)", "resource_index_ttl_hours": 97}, True),
    ({"schedule_expression": "rate(1 hour)", "resource_index_ttl_hours": 12}, True),
    ({"schedule_expression": "rate(30 minutes)", "resource_index_ttl_hours": 12}, True),
    ({"schedule_expression": "rate(400 minutes)", "resource_index_ttl_hours": 13}, False),
    # A cron schedule is not measured.
    ({"schedule_expression": "cron(0 */12 * * ? *)", "resource_index_ttl_hours": 12}, True),
    # One inventory, as for the orchestrator.
    ({"inventory_s3_uri": "s3://b/inventory.json", "workspaces": [{"name": "network"}]}, False),
    ({"inventory_s3_uri": "s3://b/inventory.json"}, True),
]


def _trigger_preconditions(text: str) -> list[str]:
    m = re.search(r'^module "trigger" \{\n(.*?)^\}\n', text, re.MULTILINE | re.DOTALL)
    assert m, "no module trigger"
    return re.findall(r"^      condition\s*=\s*(.+)$", m.group(1), re.MULTILINE)


def test_validations_and_preconditions_judge_as_expected(tmp_path: Path) -> None:
    variables_tf = (REPO / "variables.tf").read_text()
    main_tf = (REPO / "main.tf").read_text()
    cases: list[tuple[str, dict[str, Any]]] = []
    groups = []
    for name, value, ok in VALIDATION_CASES:
        conditions = _variable_conditions(variables_tf, name)
        assert conditions, name
        groups.append((len(cases), len(conditions), ok, f"{name} = {value!r}"))
        cases.extend((c, {name: value}) for c in conditions)
    preconditions = _trigger_preconditions(main_tf)
    assert len(preconditions) == 2
    interval = _local_expression(main_tf, "schedule_interval_minutes")
    written_out = [re.sub(r"\blocal\.schedule_interval_minutes\b", lambda _: f"({interval})", c) for c in preconditions]
    for condition in written_out:
        assert "local." not in condition, condition
    for overrides, ok in PRECONDITION_CASES:
        groups.append((len(cases), len(written_out), ok, f"trigger preconditions with {overrides}"))
        cases.extend((c, {**DEFAULTS, **overrides}) for c in written_out)
    results = _evaluate(tmp_path, cases)
    wrong = []
    for start, count, ok, label in groups:
        accepted = all(results[start : start + count])
        if accepted is not ok:
            wrong.append(
                f"{label}: {'accepted' if accepted else 'rejected'}, expected {'accepted' if ok else 'rejected'}"
            )
    assert not wrong, "\n".join(wrong)


def test_schedule_interval_is_measured_in_minutes(tmp_path: Path) -> None:
    # The local itself, evaluated: what the precondition compares.
    interval = _local_expression((REPO / "main.tf").read_text(), "schedule_interval_minutes")
    expressions = {
        "rate(6 hours)": 360,
        "rate(1 minute)": 1,
        "rate(45 minutes)": 45,
        "rate(1 day)": 1440,
        "rate(3 days)": 4320,
    }
    cases = [(f"({interval}) == {minutes}", {"schedule_expression": e}) for e, minutes in expressions.items()]
    cases.append((f"({interval}) == null", {"schedule_expression": "cron(0 6 * * ? *)"}))
    assert _evaluate(tmp_path, cases) == [True] * len(cases)
