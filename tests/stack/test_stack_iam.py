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
# permissions, and always with a condition.
STAR_RESOURCE_ACTIONS = {"xray:PutTraceSegments", "xray:PutTelemetryRecords"}

# In a key policy Resource "*" means the key the policy is attached to.
KEY_POLICIES = {"kms"}

# Deny statements may name a whole service: the wider a deny, the safer.
WILDCARD_DENIES = {("module.storage.bucket", "DenyInsecureTransport"): {"s3:*"}}

WORKER_ROLE = "${module.worker.aws_iam_role.this.arn}"
ORCHESTRATOR_ROLE = "${module.orchestrator.aws_iam_role.this.arn}"
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
                assert re.fullmatch(r"\$\{(module\.\w+\.)?data\.aws_iam_policy_document\.\w+\.json\}", body[attr]), (
                    f"{rtype}.{name}.{attr}"
                )
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
    for doc, st in stack.statements():
        resources = st.get("resources", [])
        assert "not_resources" not in st, f"{doc}: NotResource"
        if "*" not in resources:
            continue
        if doc in KEY_POLICIES:
            continue
        assert set(st["actions"]) <= STAR_RESOURCE_ACTIONS, f"{doc}/{st.get('sid')}: {st['actions']} on *"
        assert st.get("condition"), f"{doc}/{st.get('sid')}: Resource * needs a condition"


def test_no_allow_to_everyone(stack: Stack) -> None:
    for doc, st in stack.statements():
        if st.get("effect", "Allow") != "Allow":
            continue
        for principal in st.get("principals", []):
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
    # sts:AssumeRole appears nowhere else, and every workspace role is listed.
    assumers = {d for d, s in stack.statements() if "sts:AssumeRole" in s["actions"] and not d.endswith("assume_role")}
    assert assumers == {"worker", "cross_account_trust"}
    assert stack.data_source("aws_iam_policy_document", "module.worker.this")["source_policy_documents"] == [
        "${data.aws_iam_policy_document.worker.json}"
    ]
    function = stack.resource("aws_lambda_function", "module.worker.this")
    precondition = function["lifecycle"][0]["precondition"][0]["condition"]
    assert "var.cross_account_role_arns" in precondition
    assert "w.role_arn" in precondition


def test_orchestrator_policy(stack: Stack) -> None:
    st = statements_by_sid(stack, "module.orchestrator.this")
    assert st["WriteOwnLogs"]["resources"] == ["${module.orchestrator.aws_cloudwatch_log_group.this.arn}:*"]
    assert st["InvokeWorker"]["actions"] == ["lambda:InvokeFunction"]
    assert st["InvokeWorker"]["resources"] == ["${module.worker.aws_lambda_function.this.arn}"]
    assert st["ReadInventory"]["actions"] == ["s3:GetObject"]
    assert sorted(st["ReadWriteRunSummaries"]["actions"]) == ["s3:GetObject", "s3:PutObject"]
    assert st["ReadWriteRunSummaries"]["resources"] == [BUCKET_ARN + "/${local.run_prefix}/*"]
    assert st["ListRunSummaries"]["condition"][0]["values"] == ["${local.run_prefix}/*"]
    # Nothing else in the bucket: not the reports, not the bundles.
    for sid, s in st.items():
        for resource in s.get("resources", []):
            if isinstance(resource, str) and resource.startswith(BUCKET_ARN + "/"):
                assert resource == BUCKET_ARN + "/${local.run_prefix}/*", sid
    assert stack.locals["run_prefix"] == "runs"
    assert st["PublishAlerts"]["resources"] == [TOPIC_ARN]


@pytest.mark.parametrize("function", ["worker", "orchestrator"])
def test_functions_write_only_their_own_logs(stack: Stack, function: str) -> None:
    for st in stack.document_statements(f"module.{function}.this"):
        if any(a.startswith("logs:") for a in st["actions"]):
            assert "logs:CreateLogGroup" not in st["actions"], "log groups are created by Terraform"
            assert st["resources"] == [f"${{module.{function}.aws_cloudwatch_log_group.this.arn}}:*"]


def test_topic_policy_admits_only_the_two_roles_and_alarms(stack: Stack) -> None:
    st = statements_by_sid(stack, "module.alerting.topic")
    roles = [WORKER_ROLE, ORCHESTRATOR_ROLE]
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
    for function in ("worker", "orchestrator"):
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
    assert st["principals"][0] == {"type": "AWS", "identifiers": [WORKER_ROLE]}
    assert st["condition"][0]["variable"] == "sts:ExternalId"
    assert "length(each.value) > 0" in trust["lifecycle"][0]["precondition"][0]["condition"]
    state = statements_by_sid(stack, "state_bucket_access")
    assert state["DriftDetectionReadState"]["actions"] == ["s3:GetObject"]
    assert is_expr(state["DriftDetectionReadState"]["resources"], "each.value")
    # Terraform runs as the drift role for a workspace that names one,
    # backend included, and as the worker role otherwise.
    for s in state.values():
        assert is_expr(
            s["principals"][0]["identifiers"],
            "concat([module.worker.aws_iam_role.this.arn], var.cross_account_role_arns)",
        )
    remote = stack.data_source("terraform_remote_state", "this")
    assert is_expr(remote["for_each"], "var.remote_states")
