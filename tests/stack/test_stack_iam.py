"""IAM and resource policies: least privilege, exact actions, specific ARNs.

Every policy in the stack is an `aws_iam_policy_document` (checked below), so
reading those documents covers them all, the modules' as instantiated (see
stack_hcl.py): a function's policy is the module's own statements merged
with the document its call passes in `policy_documents`.
"""

from __future__ import annotations

import re

import pytest
from stack_hcl import Body, Stack, blocks, is_expr

# Resource "*" is allowed only for actions that have no resource-level
# permissions, and always with a condition: by statement ID, the actions
# each such statement may hold. X-Ray (the functions and the state
# machine's traces) and CloudWatch Logs' log delivery (a state machine's
# logging_configuration), both "*" by AWS's design.
XRAY_ACTIONS = {"xray:PutTraceSegments", "xray:PutTelemetryRecords", "xray:GetSamplingRules", "xray:GetSamplingTargets"}
LOG_DELIVERY_ACTIONS = {
    "logs:CreateLogDelivery",
    "logs:GetLogDelivery",
    "logs:UpdateLogDelivery",
    "logs:DeleteLogDelivery",
    "logs:ListLogDeliveries",
    "logs:PutResourcePolicy",
    "logs:DescribeResourcePolicies",
    "logs:DescribeLogGroups",
}
# CloudTrail's LookupEvents (who made a drift) has no resource-level
# permissions and no condition key that narrows it: AWS requires "*". Read
# only, the account's own event history: allowed without a condition.
LOOKUP_EVENTS = {"cloudtrail:LookupEvents"}
# The unmanaged-resource inventory (issue 15): list/describe reads that AWS
# authorizes only on "*" (Config's recorders and discovered resources, EC2's
# Describe*, S3's ListAllMyBuckets), in the summarize step's own account and
# through the drift role in each target account. Read only, no condition key
# narrows them: allowed without a condition.
CONFIG_INVENTORY = {
    "config:BatchGetResourceConfig",
    "config:DescribeConfigurationRecorderStatus",
    "config:DescribeConfigurationRecorders",
    "config:ListDiscoveredResources",
}
EC2_INVENTORY = {"ec2:DescribeInstances", "ec2:DescribeSecurityGroups", "ec2:DescribeVolumes"}
BUCKET_INVENTORY = {"s3:ListAllMyBuckets"}
INVENTORY_STAR = {
    "ReadConfigInventory": CONFIG_INVENTORY,
    "DescribeEc2Inventory": EC2_INVENTORY,
    "ListBucketsInventory": BUCKET_INVENTORY,
}
STAR_WITHOUT_CONDITION = {
    ("drift_check", "LookupCloudTrailEvents"),
    ("cross_account_attribution", "LookupCloudTrailEvents"),
    *((doc, sid) for doc in ("summarize", "cross_account_inventory") for sid in INVENTORY_STAR),
}
STAR_RESOURCE_STATEMENTS = {
    ("drift_check", "LookupCloudTrailEvents"): LOOKUP_EVENTS,
    ("cross_account_attribution", "LookupCloudTrailEvents"): LOOKUP_EVENTS,
    **{
        (doc, sid): actions
        for doc in ("summarize", "cross_account_inventory")
        for sid, actions in INVENTORY_STAR.items()
    },
    ("module.worker.this", "WriteTraces"): {"xray:PutTraceSegments", "xray:PutTelemetryRecords"},
    ("module.orchestrator.this", "WriteTraces"): {"xray:PutTraceSegments", "xray:PutTelemetryRecords"},
    ("module.summarize.this", "WriteTraces"): {"xray:PutTraceSegments", "xray:PutTelemetryRecords"},
    ("module.trigger.this", "WriteTraces"): {"xray:PutTraceSegments", "xray:PutTelemetryRecords"},
    ("module.state_machine.this", "WriteTraces"): XRAY_ACTIONS,
    ("module.state_machine.this", "DeliverExecutionLogs"): LOG_DELIVERY_ACTIONS,
}

# In a key policy Resource "*" means the key the policy is attached to.
KEY_POLICIES = {"kms"}

# Deny statements may name a whole service: the wider a deny, the safer.
WILDCARD_DENIES = {("module.storage.bucket", "DenyInsecureTransport"): {"s3:*"}}

WORKER_ROLE = "${module.worker.aws_iam_role.this.arn}"
CODEBUILD_ROLE = "${module.codebuild_lane.aws_iam_role.this.arn}"
ORCHESTRATOR_ROLE = "${module.orchestrator.aws_iam_role.this.arn}"
SUMMARIZE_ROLE = "${module.summarize.aws_iam_role.this.arn}"
KEY_ARN = "${aws_kms_key.this.arn}"
STATE_MACHINE_ARN = (
    "arn:${module.state_machine.data.aws_partition.current.partition}:states:"
    "${module.state_machine.data.aws_region.current.name}:"
    "${module.state_machine.data.aws_caller_identity.current.account_id}"
)
BUCKET_ARN = "${module.storage.aws_s3_bucket.this.arn}"
TOPIC_ARN = "${module.alerting.aws_sns_topic.this.arn}"


def statements_by_sid(stack: Stack, document: str) -> dict[str, Body]:
    """The document's statements with those of its source documents, by
    sid; a sid twice would make AWS keep only one of them."""
    statements = stack.document_statements(document)
    sids = [s.get("sid") for s in statements]
    assert len(sids) == len(set(sids)), f"{document}: duplicate sids {sids}"
    return {s["sid"]: s for s in statements}


def test_every_policy_is_a_policy_document(stack: Stack) -> None:
    for (rtype, name), body in stack.resources.items():
        for attr in ("policy", "assume_role_policy"):
            if attr in body:
                assert re.fullmatch(
                    r"\$\{(module\.\w+\.)?data\.aws_iam_policy_document\.\w+(\[0\])?\.json\}", body[attr]
                ), f"{rtype}.{name}.{attr}"
    for path, text in stack.text.items():
        assert not re.search(r"\bStatement\b", text), f"{path}: no hand-written JSON policies"


def test_no_wildcard_actions(stack: Stack) -> None:
    for doc, st in stack.statements():
        assert "not_actions" not in st, f"{doc}: NotAction"
        actions = st["actions"]
        assert isinstance(actions, list), f"{doc}: actions must be an exact list"
        assert actions, f"{doc}: statement without actions"
        for action in actions:
            assert re.fullmatch(r"[a-z0-9-]+:[A-Za-z0-9*]+", action), f"{doc}: {action}"
            if "*" not in action:
                continue
            allowed = WILDCARD_DENIES.get((doc, str(st.get("sid"))), set())
            assert st.get("effect") == "Deny", f"{doc}/{st.get('sid')}: wildcard action {action} in an Allow"
            assert action in allowed, f"{doc}/{st.get('sid')}: wildcard action {action}"


def test_resource_star_only_where_aws_has_no_resource_level_permission(stack: Stack) -> None:
    found = set()
    for doc, st in stack.statements():
        resources = st.get("resources", [])
        assert "not_resources" not in st, f"{doc}: NotResource"
        if "*" not in resources:
            continue
        if doc in KEY_POLICIES:
            continue
        key = (doc, str(st.get("sid")))
        assert key in STAR_RESOURCE_STATEMENTS, f"{doc}/{st.get('sid')}: Resource * outside the allow-list"
        assert resources == ["*"], f"{doc}/{st.get('sid')}: * together with other resources"
        assert set(st["actions"]) <= STAR_RESOURCE_STATEMENTS[key], f"{doc}/{st.get('sid')}: {st['actions']} on *"
        if key not in STAR_WITHOUT_CONDITION:
            assert st.get("condition"), f"{doc}/{st.get('sid')}: Resource * needs a condition"
        found.add(key)
    # The allow-list holds nothing stale.
    assert found == set(STAR_RESOURCE_STATEMENTS)


def test_no_allow_to_everyone(stack: Stack) -> None:
    for doc, st in stack.statements():
        if st.get("effect", "Allow") != "Allow":
            continue
        for principal in st.get("principals", []):
            if (doc, st.get("sid")) == ("event_bus", "OrganizationForwardsEvents"):
                # AWS's documented form for an organization: any principal,
                # held to the organization's ID.
                assert principal["identifiers"] == ["*"]
                assert st["condition"] == [
                    {"test": "StringEquals", "variable": "aws:PrincipalOrgID", "values": ["${statement.value}"]}
                ]
                assert st["actions"] == ["events:PutEvents"]
                continue
            assert "*" not in principal["identifiers"], f"{doc}/{st.get('sid')}: Allow to *"


def test_key_policy(stack: Stack) -> None:
    statements = statements_by_sid(stack, "kms")
    root = "arn:${local.partition}:iam::${local.account_id}:root"
    for sid in ("KeyAdministration", "KeyUsageThroughIam", "GrantsForAwsServicesOnly"):
        assert statements[sid]["principals"][0]["identifiers"] == [root], sid
    grant = statements["GrantsForAwsServicesOnly"]
    assert grant["actions"] == ["kms:CreateGrant"]
    assert grant["condition"][0]["variable"] == "kms:GrantIsForAWSResource"
    assert "kms:CreateGrant" not in statements["KeyUsageThroughIam"]["actions"]
    # Service principals are each held to this account's own resources.
    for sid, st in statements.items():
        if st["principals"][0]["type"] == "Service":
            assert st.get("condition"), f"{sid}: service principal without a condition"
            assert not {"kms:PutKeyPolicy", "kms:ScheduleKeyDeletion"} & set(st["actions"]), sid


@pytest.mark.parametrize("runner", ["module.worker.this", "module.codebuild_lane.this"])
def test_what_a_check_needs_is_one_document_for_both_runners(stack: Stack, runner: str) -> None:
    # The worker Lambda and the CodeBuild lane run the same check: both get
    # the one shared document, which neither copies.
    doc = stack.data_source("aws_iam_policy_document", runner)
    assert doc["source_policy_documents"] == ["${data.aws_iam_policy_document.drift_check.json}"]
    shared = {s["sid"] for s in blocks(stack.data_source("aws_iam_policy_document", "drift_check"), "statement")}
    assert {"ReadWriteDriftReports", "LockTerraformState", "AssumeCrossAccountDriftRoles", "PublishAlerts"} <= shared
    own = {s["sid"] for s in blocks(doc, "statement")}
    assert not shared & own


def test_worker_policy(stack: Stack) -> None:
    st = statements_by_sid(stack, "module.worker.this")
    assert st["WriteOwnLogs"]["resources"] == ["${module.worker.aws_cloudwatch_log_group.this.arn}:*"]
    assert st["ReadWriteDriftReports"]["resources"] == [BUCKET_ARN + "/${local.report_prefix}/*"]
    assert stack.locals["report_prefix"] == "drift-reports"
    assert sorted(st["ReadWriteDriftReports"]["actions"]) == ["s3:GetObject", "s3:PutObject"]
    assert st["ReadWorkspaceBundles"]["actions"] == ["s3:GetObject"]
    assert is_expr(st["ReadWorkspaceBundles"]["resources"], "local.workspace_bundle_arns")
    assert is_expr(st["ReadTerraformState"]["resources"], "var.state_object_arns")
    assert sorted(st["LockTerraformState"]["actions"]) == [
        "dynamodb:DeleteItem",
        "dynamodb:GetItem",
        "dynamodb:PutItem",
    ]
    assert is_expr(st["LockTerraformState"]["resources"], "local.lock_table_arns")
    assert st["AssumeCrossAccountDriftRoles"]["actions"] == ["sts:AssumeRole"]
    assert is_expr(st["AssumeCrossAccountDriftRoles"]["resources"], "var.cross_account_role_arns")
    assert st["PublishAlerts"]["resources"] == [TOPIC_ARN]
    assert st["UseStackKey"]["resources"] == ["${aws_kms_key.this.arn}"]
    assert sorted(st["UseStackKey"]["actions"]) == ["kms:Decrypt", "kms:GenerateDataKey"]
    assert st["LookupCloudTrailEvents"] == {
        "sid": "LookupCloudTrailEvents",
        "actions": ["cloudtrail:LookupEvents"],
        "resources": ["*"],
    }
    # Each check writes its managed-resources sidecar, and nothing else there.
    assert st["WriteManagedResources"] == {
        "sid": "WriteManagedResources",
        "actions": ["s3:PutObject"],
        "resources": [BUCKET_ARN + "/${local.managed_prefix}/*"],
    }
    assert stack.locals["managed_prefix"] == "managed"
    # sts:AssumeRole appears nowhere else (the summary assumes the same roles
    # for the inventory), and every workspace role is listed.
    assumers = {
        d
        for d, s in stack.statements()
        if "sts:AssumeRole" in s["actions"] and not d.endswith("assume_role") and d != "config_aggregator_assume_role"
    }
    # (event_forwarding_trust: EventBridge's, in the member accounts.)
    assert assumers == {"drift_check", "summarize", "cross_account_trust", "event_forwarding_trust"}
    function = stack.resource("aws_lambda_function", "module.worker.this")
    precondition = function["lifecycle"][0]["precondition"][0]["condition"]
    assert "var.cross_account_role_arns" in precondition
    assert "w.role_arn" in precondition


def test_orchestrator_policy(stack: Stack) -> None:
    st = statements_by_sid(stack, "module.orchestrator.this")
    assert st["WriteOwnLogs"]["resources"] == ["${module.orchestrator.aws_cloudwatch_log_group.this.arn}:*"]
    # It no longer invokes the worker: the state machine does.
    assert not any("lambda:InvokeFunction" in s["actions"] for s in st.values())
    assert st["ReadInventory"]["actions"] == ["s3:GetObject"]
    assert st["ReadRunSummaries"]["actions"] == ["s3:GetObject"]
    assert st["ReadRunSummaries"]["resources"] == [BUCKET_ARN + "/${local.run_prefix}/*"]
    assert st["ListRunSummaries"]["condition"][0]["values"] == ["${local.run_prefix}/*"]
    assert st["WriteRunExecutionData"]["actions"] == ["s3:PutObject"]
    assert st["WriteRunExecutionData"]["resources"] == [BUCKET_ARN + "/${local.execution_prefix}/*"]
    assert st["StartRun"]["actions"] == ["states:StartExecution"]
    assert st["StartRun"]["resources"] == ["${module.state_machine.aws_sfn_state_machine.this.arn}"]
    assert st["DescribeRun"]["actions"] == ["states:DescribeExecution"]
    assert st["DescribeRun"]["resources"] == [
        STATE_MACHINE_ARN + ":execution:drift-detection-runs-${var.environment_suffix}:*"
    ]
    # Nothing else in the bucket: not the reports, not the bundles.
    for sid, s in st.items():
        for resource in s.get("resources", []):
            if isinstance(resource, str) and resource.startswith(BUCKET_ARN + "/"):
                assert resource in (
                    BUCKET_ARN + "/${local.run_prefix}/*",
                    BUCKET_ARN + "/${local.execution_prefix}/*",
                ), sid
    assert stack.locals["run_prefix"] == "runs"
    assert st["PublishAlerts"]["resources"] == [TOPIC_ARN]


def test_summarize_policy(stack: Stack) -> None:
    st = statements_by_sid(stack, "module.summarize.this")
    assert set(st) == {
        "ReadRunExecutionData",
        "ReadWriteRunSummaries",
        "ListRunData",
        "PublishAlerts",
        "WriteOwnLogs",
        "UseStackKey",
        "SendFailedInvocations",
        "WriteTraces",
        *UNMANAGED_STATEMENTS,
    }
    assert st["ReadRunExecutionData"]["actions"] == ["s3:GetObject"]
    assert st["ReadRunExecutionData"]["resources"] == [BUCKET_ARN + "/${local.execution_prefix}/*"]
    assert sorted(st["ReadWriteRunSummaries"]["actions"]) == ["s3:GetObject", "s3:PutObject"]
    assert st["ReadWriteRunSummaries"]["resources"] == [BUCKET_ARN + "/${local.run_prefix}/*"]
    listing = st["ListRunData"]
    assert listing["actions"] == ["s3:ListBucket"]
    assert listing["resources"] == [BUCKET_ARN]
    assert listing["condition"] == [
        {
            "test": "StringLike",
            "variable": "s3:prefix",
            "values": ["${local.run_prefix}/*", "${local.execution_prefix}/*"],
        }
    ]
    assert st["PublishAlerts"]["resources"] == [TOPIC_ARN]
    assert st["UseStackKey"]["resources"] == [KEY_ARN]


def test_state_machine_policy_is_exactly_what_the_run_needs(stack: Stack) -> None:
    st = statements_by_sid(stack, "module.state_machine.this")
    worker = "${module.worker.aws_lambda_function.this.arn}"
    summarize = "${module.summarize.aws_lambda_function.this.arn}"
    name = "drift-detection-runs-${var.environment_suffix}"
    expected = {
        "InvokeWorkerAndSummarize": (["lambda:InvokeFunction"], [worker, worker + ":*", summarize, summarize + ":*"]),
        "ReadRunItems": (["s3:GetObject"], [BUCKET_ARN + "/${local.execution_prefix}/*"]),
        "WriteMapResults": (
            ["s3:AbortMultipartUpload", "s3:ListMultipartUploadParts", "s3:PutObject"],
            [BUCKET_ARN + "/${local.results_prefix}/*"],
        ),
        "UseStackKey": (["kms:Decrypt", "kms:GenerateDataKey"], [KEY_ARN]),
        "StartChildExecutions": (["states:StartExecution"], [STATE_MACHINE_ARN + ":stateMachine:" + name]),
        "ManageChildExecutions": (
            ["states:DescribeExecution", "states:StopExecution"],
            [STATE_MACHINE_ARN + ":execution:" + name + "/*", STATE_MACHINE_ARN + ":execution:" + name + ":*"],
        ),
        "RunCodeBuildLane": (
            ["codebuild:BatchGetBuilds", "codebuild:StartBuild", "codebuild:StopBuild"],
            ["${module.codebuild_lane.aws_codebuild_project.this.arn}"],
        ),
        "CodeBuildSyncRule": (
            ["events:DescribeRule", "events:PutRule", "events:PutTargets"],
            [
                (
                    "arn:${module.state_machine.data.aws_partition.current.partition}:events:"
                    "${module.state_machine.data.aws_region.current.name}:"
                    "${module.state_machine.data.aws_caller_identity.current.account_id}:"
                    "rule/StepFunctionsGetEventForCodeBuildStartBuildRule"
                )
            ],
        ),
        "DeliverExecutionLogs": (sorted(LOG_DELIVERY_ACTIONS), ["*"]),
        "WriteTraces": (sorted(XRAY_ACTIONS), ["*"]),
    }
    assert set(st) == set(expected)
    for sid, (actions, resources) in expected.items():
        assert sorted(st[sid]["actions"]) == actions, sid
        assert st[sid]["resources"] == resources, sid
    assert stack.resolve(stack.resolve("${local.results_prefix}")) == "executions/results"
    # Traces only when tracing is on.
    doc = stack.data_source("aws_iam_policy_document", "module.state_machine.this")
    (traces,) = doc["dynamic"]
    assert is_expr(traces["statement"]["for_each"], '(var.tracing_mode == "Active") ? [true] : []')
    trust = stack.data_source("aws_iam_policy_document", "module.state_machine.assume_role")
    (statement,) = blocks(trust, "statement")
    assert statement["principals"][0]["identifiers"] == ["states.amazonaws.com"]
    assert statement["condition"][0]["variable"] == "aws:SourceAccount"


def test_codebuild_policy(stack: Stack) -> None:
    st = statements_by_sid(stack, "module.codebuild_lane.this")
    assert st["WriteOwnLogs"]["resources"] == ["${module.codebuild_lane.aws_cloudwatch_log_group.this.arn}:*"]
    assert sorted(st["WriteOwnLogs"]["actions"]) == ["logs:CreateLogStream", "logs:PutLogEvents"]
    assert st["ReadArtifacts"]["actions"] == ["s3:GetObject"]
    assert st["ReadArtifacts"]["resources"] == [
        BUCKET_ARN + "/${module.codebuild_lane.aws_s3_object.worker.key}",
        BUCKET_ARN + "/${module.codebuild_lane.aws_s3_object.terraform.key}",
    ]
    assert sorted(st["ReadEventsWriteResponses"]["actions"]) == ["s3:GetObject", "s3:PutObject"]
    assert st["ReadEventsWriteResponses"]["resources"] == [BUCKET_ARN + "/${local.execution_prefix}/*"]
    assert st["UseStackKey"]["resources"] == [KEY_ARN]
    # What the worker may do, and nothing more than the check needs.
    worker = statements_by_sid(stack, "module.worker.this")
    shared = {s["sid"] for s in blocks(stack.data_source("aws_iam_policy_document", "drift_check"), "statement")}
    for sid in shared:
        assert st[sid] == worker[sid], sid
    assert set(st) == shared | {"WriteOwnLogs", "ReadArtifacts", "ReadEventsWriteResponses", "UseStackKey"}
    trust = stack.data_source("aws_iam_policy_document", "module.codebuild_lane.assume_role")
    (statement,) = blocks(trust, "statement")
    assert statement["principals"][0]["identifiers"] == ["codebuild.amazonaws.com"]
    assert statement["condition"][0]["variable"] == "aws:SourceAccount"


@pytest.mark.parametrize("function", ["worker", "orchestrator", "summarize", "trigger", "codebuild_lane"])
def test_functions_write_only_their_own_logs(stack: Stack, function: str) -> None:
    for st in stack.document_statements(f"module.{function}.this"):
        if any(a.startswith("logs:") for a in st["actions"]):
            assert "logs:CreateLogGroup" not in st["actions"], "log groups are created by Terraform"
            assert st["resources"] == [f"${{module.{function}.aws_cloudwatch_log_group.this.arn}}:*"]


def test_topic_policy_admits_only_the_publishing_roles_and_alarms(stack: Stack) -> None:
    st = statements_by_sid(stack, "module.alerting.topic")
    roles = [WORKER_ROLE, CODEBUILD_ROLE, ORCHESTRATOR_ROLE, SUMMARIZE_ROLE]
    assert st["FunctionsPublish"]["principals"][0]["identifiers"] == roles
    alarms = st["CloudWatchAlarmsPublish"]
    assert alarms["principals"][0]["identifiers"] == ["cloudwatch.amazonaws.com"]
    assert {c["variable"] for c in alarms["condition"]} == {"aws:SourceAccount", "aws:SourceArn"}
    deny = st["DenyPublishFromOtherPrincipals"]
    assert deny["effect"] == "Deny"
    assert deny["actions"] == ["sns:Publish"]
    assert {"test": "StringNotEquals", "variable": "aws:PrincipalArn", "values": roles} in deny["condition"]
    for sid, s in st.items():
        assert s["actions"] == ["sns:Publish"], sid


def test_queue_policy_admits_only_the_schedule_rule(stack: Stack) -> None:
    (st,) = blocks(stack.data_source("aws_iam_policy_document", "queue"), "statement")
    assert st["actions"] == ["sqs:SendMessage"]
    assert st["principals"][0]["identifiers"] == ["events.amazonaws.com"]
    assert st["condition"] == [
        {"test": "ArnEquals", "variable": "aws:SourceArn", "values": ["${aws_cloudwatch_event_rule.this.arn}"]}
    ]


def test_lambda_and_config_trust(stack: Stack) -> None:
    for function in ("worker", "orchestrator", "summarize"):
        trust = stack.data_source("aws_iam_policy_document", f"module.{function}.assume_role")
        (lambda_trust,) = blocks(trust, "statement")
        assert lambda_trust["principals"][0]["identifiers"] == ["lambda.amazonaws.com"]
        role = stack.resource("aws_iam_role", f"module.{function}.this")
        assert role["assume_role_policy"] == f"${{module.{function}.data.aws_iam_policy_document.assume_role.json}}"
    (config_trust,) = blocks(stack.data_source("aws_iam_policy_document", "module.config.assume_role"), "statement")
    assert config_trust["principals"][0]["identifiers"] == ["config.amazonaws.com"]
    assert config_trust["condition"][0]["variable"] == "aws:SourceAccount"


def test_cross_account_documents(stack: Stack) -> None:
    trust = stack.data_source("aws_iam_policy_document", "cross_account_trust")
    (st,) = blocks(trust, "statement")
    assert st["actions"] == ["sts:AssumeRole"]
    # The roles that run terraform, the worker's and the CodeBuild lane's,
    # and the summary's for the inventory (see below).
    assert st["principals"][0]["type"] == "AWS"
    assert st["condition"][0]["variable"] == "sts:ExternalId"
    assert "length(each.value) > 0" in trust["lifecycle"][0]["precondition"][0]["condition"]
    state = statements_by_sid(stack, "state_bucket_access")
    assert state["DriftDetectionReadState"]["actions"] == ["s3:GetObject"]
    assert is_expr(state["DriftDetectionReadState"]["resources"], "each.value")
    # Terraform runs as the drift role for a workspace that names one,
    # backend included, and as the check's own role otherwise.
    for s in state.values():
        assert is_expr(
            s["principals"][0]["identifiers"],
            "concat([module.worker.aws_iam_role.this.arn, module.codebuild_lane.aws_iam_role.this.arn],"
            " var.cross_account_role_arns)",
        )
    (lookup,) = blocks(stack.data_source("aws_iam_policy_document", "cross_account_attribution"), "statement")
    assert lookup == {
        "sid": "LookupCloudTrailEvents",
        "actions": ["cloudtrail:LookupEvents"],
        "resources": ["*"],
    }
    remote = stack.data_source("terraform_remote_state", "this")
    assert is_expr(remote["for_each"], "var.remote_states")


# What nobody manages (issue 15, part 2) -----------------------------------

ACCOUNT = "${local.account_id}"
PARTITION = "${local.partition}"

# The summarize step's statements for the unmanaged-resource view, exactly:
# sid -> (actions, resources), and the dynamic block's for_each that gates it.
UNMANAGED_STATEMENTS: dict[str, tuple[list[str], list[str] | str]] = {
    "ReadManagedResources": (["s3:GetObject"], [BUCKET_ARN + "/${local.managed_prefix}/*"]),
    "ListManagedResources": (["s3:ListBucket"], [BUCKET_ARN]),
    "WriteUnmanagedReports": (["s3:PutObject"], [BUCKET_ARN + "/${local.unmanaged_prefix}/*"]),
    "AssumeCrossAccountDriftRoles": (["sts:AssumeRole"], "${var.cross_account_role_arns}"),
    "ReadConfigInventory": (sorted(CONFIG_INVENTORY), ["*"]),
    "DescribeEc2Inventory": (sorted(EC2_INVENTORY), ["*"]),
    "DescribeRdsInventory": (
        ["rds:DescribeDBClusters", "rds:DescribeDBInstances"],
        [f"arn:{PARTITION}:rds:*:{ACCOUNT}:db:*", f"arn:{PARTITION}:rds:*:{ACCOUNT}:cluster:*"],
    ),
    "ListBucketsInventory": (["s3:ListAllMyBuckets"], ["*"]),
    "LocateBucketsInventory": (["s3:GetBucketLocation"], [f"arn:{PARTITION}:s3:::*"]),
    "ListRolesInventory": (["iam:ListRoles"], [f"arn:{PARTITION}:iam::{ACCOUNT}:role/*"]),
    "ReadConfigAggregator": (
        [
            "config:BatchGetAggregateResourceConfig",
            "config:DescribeConfigurationAggregators",
            "config:ListAggregateDiscoveredResources",
        ],
        "${local.config_aggregator_arns}",
    ),
}
UNMANAGED_GATES = {
    "AssumeCrossAccountDriftRoles": "var.unmanaged_resources && length(var.cross_account_role_arns) > 0 ? [true] : []",
    "ReadConfigAggregator": "var.unmanaged_resources && length(local.config_aggregator_arns) > 0 ? [true] : []",
}


def test_summarize_unmanaged_statements_are_exact_and_only_with_the_feature(stack: Stack) -> None:
    st = statements_by_sid(stack, "module.summarize.this")
    for sid, (actions, resources) in UNMANAGED_STATEMENTS.items():
        assert sorted(st[sid]["actions"]) == actions, sid
        assert st[sid]["actions"] == sorted(st[sid]["actions"]), f"{sid}: actions in order"
        assert st[sid]["resources"] == resources, sid
    listing = st["ListManagedResources"]["condition"]
    assert listing == [{"test": "StringLike", "variable": "s3:prefix", "values": ["${local.managed_prefix}/*"]}]
    assert stack.locals["unmanaged_prefix"] == "unmanaged"
    # Every one of them is a dynamic block that exists only with the feature.
    doc = stack.data_source("aws_iam_policy_document", "summarize")
    gates = {}
    for dyn in doc["dynamic"]:
        (content,) = dyn["statement"]["content"]
        gates[content["sid"]] = dyn["statement"]["for_each"]
    assert set(gates) == set(UNMANAGED_STATEMENTS)
    for sid, gate in gates.items():
        assert is_expr(gate, UNMANAGED_GATES.get(sid, "var.unmanaged_resources ? [true] : []")), sid
    # The static statements are what they were before the feature.
    assert {s["sid"] for s in doc["statement"]} == {
        "ReadRunExecutionData",
        "ReadWriteRunSummaries",
        "ListRunData",
        "PublishAlerts",
    }


def test_the_aggregator_arns_follow_the_mode(stack: Stack) -> None:
    # Created: the resource's own ARN. Existing (named only): its ARN ends in
    # an ID AWS generates, so this account's and region's aggregators.
    # Neither: none, and no ReadConfigAggregator statement.
    arns = stack.locals["config_aggregator_arns"]
    assert is_expr(
        arns,
        "(local.create_config_aggregator ? [aws_config_configuration_aggregator.this[0].arn] :"
        ' var.config_aggregator_name != null ? ["arn:${local.partition}:config:${local.region}:${local.account_id}'
        ':config-aggregator/*"] : [])',
    )


def test_the_drift_role_trusts_the_summary_only_with_the_feature(stack: Stack) -> None:
    (st,) = blocks(stack.data_source("aws_iam_policy_document", "cross_account_trust"), "statement")
    assert is_expr(
        st["principals"][0]["identifiers"],
        "concat([module.worker.aws_iam_role.this.arn, module.codebuild_lane.aws_iam_role.this.arn],"
        " var.unmanaged_resources ? [module.summarize.aws_iam_role.this.arn] : [])",
    )


def test_cross_account_inventory_policy(stack: Stack) -> None:
    doc = stack.data_source("aws_iam_policy_document", "cross_account_inventory")
    assert is_expr(doc["for_each"], "toset(local.cross_account_ids)")
    st = statements_by_sid(stack, "cross_account_inventory")
    target = "${each.key}"
    expected = {
        "LookupCloudTrailEvents": (["cloudtrail:LookupEvents"], ["*"]),
        "ReadConfigInventory": (sorted(CONFIG_INVENTORY), ["*"]),
        "DescribeEc2Inventory": (sorted(EC2_INVENTORY), ["*"]),
        "DescribeRdsInventory": (
            ["rds:DescribeDBClusters", "rds:DescribeDBInstances"],
            [f"arn:{PARTITION}:rds:*:{target}:db:*", f"arn:{PARTITION}:rds:*:{target}:cluster:*"],
        ),
        "ListBucketsInventory": (["s3:ListAllMyBuckets"], ["*"]),
        "LocateBucketsInventory": (["s3:GetBucketLocation"], [f"arn:{PARTITION}:s3:::*"]),
        "ListRolesInventory": (["iam:ListRoles"], [f"arn:{PARTITION}:iam::{target}:role/*"]),
    }
    assert set(st) == set(expected)
    for sid, (actions, resources) in expected.items():
        assert sorted(st[sid]["actions"]) == actions, sid
        assert st[sid]["resources"] == resources, sid
    # The same reads as the summary's own account, in the target account.
    summary = statements_by_sid(stack, "module.summarize.this")
    for sid in (
        "ReadConfigInventory",
        "DescribeEc2Inventory",
        "ListBucketsInventory",
        "LocateBucketsInventory",
        "ListRolesInventory",
    ):
        assert summary[sid]["actions"] == st[sid]["actions"], sid
    output = stack.outputs["cross_account_drift_role_inventory_policies"]["value"]
    assert "data.aws_iam_policy_document.cross_account_inventory" in output


def test_organization_aggregator_role(stack: Stack) -> None:
    role = stack.resource("aws_iam_role", "config_aggregator")
    assert is_expr(role["count"], "var.config_aggregator_organization ? 1 : 0")
    assert role["name"] == "drift-detection-aggregator-${var.environment_suffix}"
    (trust,) = blocks(stack.data_source("aws_iam_policy_document", "config_aggregator_assume_role"), "statement")
    assert trust["actions"] == ["sts:AssumeRole"]
    assert trust["principals"] == [{"type": "Service", "identifiers": ["config.amazonaws.com"]}]
    attachment = stack.resource("aws_iam_role_policy_attachment", "config_aggregator")
    assert is_expr(attachment["count"], "var.config_aggregator_organization ? 1 : 0")
    assert attachment["policy_arn"] == (
        "arn:${local.partition}:iam::aws:policy/service-role/AWSConfigRoleForOrganizations"
    )
