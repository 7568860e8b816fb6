"""Structure of the root Terraform stack: resources, names, settings.

Everything is read from the HCL with python-hcl2; nothing needs a provider,
credentials or a network. See stack_hcl.py for the parsed shape.
"""

from __future__ import annotations

import copy
import json
import re

import pytest
from stack_hcl import REPO, Body, Stack, blocks, hcl_unescape, is_expr

# Every resource type the stack must contain (issue 5).
REQUIRED_TYPES = {
    "aws_kms_key",
    "aws_kms_alias",
    "aws_s3_bucket",
    "aws_s3_bucket_versioning",
    "aws_s3_bucket_server_side_encryption_configuration",
    "aws_s3_bucket_public_access_block",
    "aws_s3_bucket_ownership_controls",
    "aws_s3_bucket_policy",
    "aws_s3_bucket_lifecycle_configuration",
    "aws_dynamodb_table",
    "aws_config_configuration_recorder",
    "aws_config_delivery_channel",
    "aws_config_configuration_recorder_status",
    "aws_config_config_rule",
    "aws_iam_role",
    "aws_iam_role_policy",
    "aws_iam_role_policy_attachment",
    "aws_lambda_function",
    "aws_lambda_layer_version",
    "aws_lambda_function_event_invoke_config",
    "aws_lambda_permission",
    "aws_cloudwatch_log_group",
    "aws_cloudwatch_event_rule",
    "aws_cloudwatch_event_target",
    "aws_sqs_queue",
    "aws_sqs_queue_policy",
    "aws_sns_topic",
    "aws_sns_topic_policy",
    "aws_sns_topic_subscription",
    "aws_cloudwatch_dashboard",
    "aws_cloudwatch_metric_alarm",
    # The run (issue 14): state machine, CodeBuild lane and its artefacts.
    "aws_sfn_state_machine",
    "aws_codebuild_project",
    "aws_s3_object",
}

# Types that carry a name: (attribute, service limit, fixed prefixes before
# the drift-detection-<component>-<suffix> part; a name has one of them).
NAMED_TYPES: dict[str, tuple[str, int, tuple[str, ...]]] = {
    "aws_s3_bucket": ("bucket", 63, ("",)),
    "aws_dynamodb_table": ("name", 255, ("",)),
    "aws_iam_role": ("name", 64, ("",)),
    "aws_iam_role_policy": ("name", 128, ("",)),
    "aws_lambda_function": ("function_name", 64, ("",)),
    "aws_lambda_layer_version": ("layer_name", 140, ("",)),
    "aws_cloudwatch_log_group": ("name", 512, ("/aws/lambda/", "/aws/vendedlogs/states/", "/aws/codebuild/")),
    "aws_cloudwatch_event_rule": ("name", 64, ("",)),
    "aws_sqs_queue": ("name", 80, ("",)),
    "aws_sns_topic": ("name", 256, ("",)),
    "aws_kms_alias": ("name", 256, ("alias/",)),
    "aws_config_configuration_recorder": ("name", 256, ("",)),
    "aws_config_delivery_channel": ("name", 256, ("",)),
    "aws_config_config_rule": ("name", 128, ("",)),
    "aws_cloudwatch_dashboard": ("dashboard_name", 255, ("",)),
    "aws_cloudwatch_metric_alarm": ("alarm_name", 255, ("",)),
    "aws_sfn_state_machine": ("name", 80, ("",)),
    "aws_codebuild_project": ("name", 255, ("",)),
    "aws_config_configuration_aggregator": ("name", 256, ("",)),
}

# Types with no name of their own (they attach to a named resource).
UNNAMED_TYPES = {
    "aws_kms_key",
    "aws_s3_bucket_versioning",
    "aws_s3_bucket_server_side_encryption_configuration",
    "aws_s3_bucket_public_access_block",
    "aws_s3_bucket_ownership_controls",
    "aws_s3_bucket_policy",
    "aws_s3_bucket_lifecycle_configuration",
    "aws_config_configuration_recorder_status",
    "aws_iam_role_policy_attachment",
    "aws_lambda_function_event_invoke_config",
    "aws_lambda_permission",
    "aws_cloudwatch_event_target",
    "aws_sqs_queue_policy",
    "aws_sns_topic_policy",
    "aws_sns_topic_subscription",
    "aws_s3_object",
    "aws_lambda_event_source_mapping",
    "aws_sqs_queue_redrive_allow_policy",
    "aws_cloudwatch_event_bus_policy",  # of the account's bus named "default"
}

SUFFIX = "${var.environment_suffix}"
CONFIG_COUNT = "${var.create_aws_config ? 1 : 0}"


def name_candidates(stack: Stack, value: str, prefixes: tuple[str, ...]) -> list[str]:
    """The name templates an attribute can take: the literal itself, or every
    name literal inside a conditional expression."""
    value = stack.resolve(value)
    if not value.startswith("${"):
        return [value]
    alternatives = "|".join(re.escape(p) for p in prefixes)
    return re.findall(r'"((?:' + alternatives + r')drift-detection-[^"]*)"', value)


def name_prefix(candidate: str, prefixes: tuple[str, ...]) -> str:
    """The prefix of `prefixes` that a name starts with (the longest)."""
    found = [p for p in prefixes if candidate.startswith(p + "drift-detection-")]
    assert found, f"{candidate}: not one of {[p + 'drift-detection-' for p in prefixes]}"
    return max(found, key=len)


def max_suffix_length(stack: Stack) -> int:
    condition = stack.variables["environment_suffix"]["validation"][0]["condition"]
    m = re.search(r"length\(var\.environment_suffix\)\s*<=\s*(\d+)", condition)
    assert m, "environment_suffix validation must bound its length"
    return int(m.group(1))


def suffix_regex(stack: Stack) -> str:
    condition = stack.variables["environment_suffix"]["validation"][0]["condition"]
    m = re.search(r'regex\("((?:[^"\\]|\\.)*)",\s*var\.environment_suffix\)', condition)
    assert m, "environment_suffix validation must check a regex"
    return hcl_unescape(m.group(1))


# Terraform, provider, naming -----------------------------------------------


def test_provider_pinned_to_a_major_version(stack: Stack) -> None:
    (terraform,) = stack.terraform
    assert terraform["required_version"].startswith(">=")
    aws = terraform["required_providers"][0]["aws"]
    assert aws["source"] == "hashicorp/aws"
    assert re.fullmatch(r"~>\s*5\.\d+", aws["version"]), aws["version"]
    archive = terraform["required_providers"][0]["archive"]
    assert archive["source"] == "hashicorp/archive"
    assert re.fullmatch(r"~>\s*\d+\.\d+", archive["version"])


def test_provider_region_and_default_tags(stack: Stack) -> None:
    aws = stack.providers["aws"]
    assert is_expr(aws["region"], "var.region")
    assert stack.variables["region"]["default"] == "us-east-1"
    tags = aws["default_tags"][0]["tags"]
    for fragment in (
        'Project = "drift-detection"',
        "Environment = var.environment",
        "EnvironmentSuffix = var.environment_suffix",
    ):
        assert fragment in tags, fragment


def test_every_resource_type_is_known(stack: Stack) -> None:
    types = {t for t, _ in stack.resources}
    unknown = types - set(NAMED_TYPES) - UNNAMED_TYPES
    assert not unknown, f"add these types to NAMED_TYPES or UNNAMED_TYPES: {unknown}"


def test_required_resource_types_exist(stack: Stack) -> None:
    missing = REQUIRED_TYPES - {t for t, _ in stack.resources}
    assert not missing


@pytest.mark.parametrize("rtype", sorted(NAMED_TYPES))
def test_every_name_uses_the_pattern_and_suffix(stack: Stack, rtype: str) -> None:
    attr, _, prefixes = NAMED_TYPES[rtype]
    for name, body in stack.resources_of(rtype).items():
        assert attr in body, f"{rtype}.{name} must set {attr} (no generated names)"
        candidates = name_candidates(stack, body[attr], prefixes)
        assert candidates, f"{rtype}.{name}: no name literal in {body[attr]!r}"
        for candidate in candidates:
            prefix = name_prefix(candidate, prefixes)
            assert candidate.endswith("-" + SUFFIX), candidate
            component = candidate[len(prefix + "drift-detection-") : -len("-" + SUFFIX)]
            assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*(-\$\{each\.key\}(-[a-z0-9]+)*)?|\$\{each\.key\}", component), (
                f"{rtype}.{name}: component {component!r}"
            )


def test_names_fit_service_limits_at_the_longest_suffix(stack: Stack) -> None:
    longest_key = {
        "${var.state_lock_tables}": 32,  # key validation: 1-32 characters
        "${local.config_rules}": max(len(k) for k in stack.locals["config_rules"]),
        # The event rules, one per pattern file (as instantiated, the
        # module's local is written out).
        stack.resource("aws_cloudwatch_event_rule", "module.event_checks.this")["for_each"]: max(
            len(p.stem) for p in (REPO / "modules/event-checks/patterns").glob("*.json")
        ),
    }
    suffix = "s" * max_suffix_length(stack)
    for (rtype, name), body in stack.resources.items():
        if rtype not in NAMED_TYPES:
            continue
        attr, limit, prefixes = NAMED_TYPES[rtype]
        for candidate in name_candidates(stack, body[attr], prefixes):
            worst = candidate.replace(SUFFIX, suffix)
            if "${each.key}" in worst:
                worst = worst.replace("${each.key}", "k" * longest_key[body["for_each"]])
            assert "${" not in worst, worst
            assert len(worst) <= limit, f"{rtype}.{name}: {worst} ({len(worst)} > {limit})"


@pytest.mark.parametrize(
    ("suffix", "ok"),
    [
        ("dev", True),
        ("pr-123", True),
        ("a", True),
        ("x" * 20, True),
        ("x" * 21, False),
        ("Dev", False),
        ("dev_1", False),
        ("-dev", False),
        ("dev-", False),
        ("", False),
    ],
)
def test_suffix_validation(stack: Stack, suffix: str, ok: bool) -> None:
    valid = bool(re.fullmatch(suffix_regex(stack), suffix)) and len(suffix) <= max_suffix_length(stack)
    assert valid is ok


def test_nothing_survives_destroy(stack: Stack) -> None:
    text = "\n".join(stack.text.values())
    assert not re.search(r"prevent_destroy\s*=\s*true", text)
    assert "Retain" not in text
    assert not re.search(r"deletion_protection(_enabled)?\s*=\s*true", text)
    assert not re.search(r"skip_destroy\s*=\s*true", text)
    for (rtype, name), body in stack.resources.items():
        for lc in body.get("lifecycle", []):
            assert not lc.get("prevent_destroy"), f"{rtype}.{name}"
    assert stack.resource("aws_s3_bucket", "module.storage.this")["force_destroy"] is True
    key = stack.resource("aws_kms_key", "this")
    assert key["deletion_window_in_days"] == 7, "minimum deletion window"


def test_every_depends_on_is_commented(stack: Stack) -> None:
    for path, text in stack.text.items():
        lines = text.splitlines()
        for i, line in enumerate(lines):
            if re.match(r"\s*depends_on\s*=", line):
                previous = next(p for p in reversed(lines[:i]) if p.strip())
                assert previous.strip().startswith("#"), f"{path}:{i + 1} depends_on without a comment"


def test_checkov_skips_are_inline_with_a_reason(stack: Stack) -> None:
    skips = re.findall(r"#\s*checkov:skip=([A-Z0-9_]+)(?::(.*))?", "\n".join(stack.text.values()))
    assert skips, "expected the documented skips"
    for check, reason in skips:
        assert re.fullmatch(r"CKV2?_AWS_\d+", check), check
        assert len(reason.strip()) >= 30, f"{check}: skip needs a written reason"
    script = (REPO / "scripts" / "test-stack").read_text()
    assert "--skip-check" not in script
    assert "--soft-fail" not in script


# Variables and outputs ------------------------------------------------------


def test_variables_are_typed_described_and_ordered(stack: Stack) -> None:
    for name, body in stack.variables.items():
        assert body.get("description", "").strip(), f"variable {name}: description"
        assert "type" in body, f"variable {name}: type"
        keys = [k for k in body if k in ("description", "type", "default")]
        assert keys == sorted(keys, key=["description", "type", "default"].index), f"variable {name}: order {keys}"


def test_variables_where_a_bad_value_fails_late_are_validated(stack: Stack) -> None:
    unvalidated_ok = {
        "tags",
        "create_aws_config",
        "schedule_enabled",
        "attribution_enabled",
        "unmanaged_resources",
        "unmanaged_alert",
        "config_aggregator_organization",
        "event_checks_enabled",
    }  # any value is valid
    for name, body in stack.variables.items():
        if name in unvalidated_ok:
            continue
        assert body.get("validation"), f"variable {name} has no validation"
        for v in body["validation"]:
            assert f"var.{name}" in v["condition"], f"variable {name}: validation must test itself"
            assert v["error_message"].strip().endswith("."), f"variable {name}: error message"


REQUIRED_OUTPUTS = {
    "reports_bucket_name",
    "reports_bucket_arn",
    "state_lock_table_names",
    "worker_function_arn",
    "orchestrator_function_arn",
    "sns_topic_arn",
    "dashboard_url",
    "cross_account_drift_role_trust_policies",
    "cross_account_state_bucket_policies",
}


def _try_guards_only_absent_values(stack: Stack, where: str, value: object) -> None:
    """A `try()` in an output must guard a resource that `count` or
    `for_each` can leave absent; around any other resource it hides nothing
    but a typo."""
    text = json.dumps(value)
    for m in re.finditer(r"try\(\s*((?:module\.\w+\.)?(?:data\.)?[a-z]\w*\.\w+)", text):
        parts = m.group(1).split(".")
        module = f"module.{parts[1]}." if parts[0] == "module" else ""
        rest = parts[2:] if module else parts
        table = stack.data if rest[0] == "data" else stack.resources
        rtype, name = rest[-2:]
        body = table.get((rtype, module + name))
        assert body is not None, f"{where}: try() around {m.group(1)}, which is not a resource"
        assert "count" in body or "for_each" in body, f"{where}: try() around {m.group(1)}, which is always there"


def test_outputs(stack: Stack) -> None:
    assert set(stack.outputs) >= REQUIRED_OUTPUTS
    for name, body in stack.outputs.items():
        assert body.get("description", "").strip(), f"output {name}: description"
        assert re.fullmatch(r"[a-z][a-z0-9_]*", name)
        _try_guards_only_absent_values(stack, f"output {name}", body["value"])
    # The one output that can be absent: the recorder, with create_aws_config = false.
    assert stack.outputs["config_recorder_name"]["value"] == (
        "${one(module.config.aws_config_configuration_recorder.this[*].name)}"
    )
    for module in stack.modules.values():
        for name, body in module.config.outputs.items():
            assert body.get("description", "").strip(), f"{module.source} output {name}: description"


def test_try_guard_check_catches_a_needless_try(stack: Stack) -> None:
    # Guards the check above: a try() around a resource without count fails it.
    with pytest.raises(AssertionError, match="always there"):
        _try_guards_only_absent_values(stack, "probe", "${try(aws_kms_key.this.arn, null)}")
    with pytest.raises(AssertionError, match="always there"):
        _try_guards_only_absent_values(stack, "probe", "${try(module.worker.aws_lambda_function.this.arn, null)}")
    _try_guards_only_absent_values(stack, "probe", "${try(module.config.aws_iam_role.this[0].arn, null)}")


# Reports bucket -------------------------------------------------------------


def test_bucket_versioning_and_public_access_block(stack: Stack) -> None:
    versioning = stack.resource("aws_s3_bucket_versioning", "module.storage.this")
    assert versioning["versioning_configuration"][0]["status"] == "Enabled"
    pab = stack.resource("aws_s3_bucket_public_access_block", "module.storage.this")
    for flag in ("block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets"):
        assert pab[flag] is True, flag
    ownership = stack.resource("aws_s3_bucket_ownership_controls", "module.storage.this")
    assert ownership["rule"][0]["object_ownership"] == "BucketOwnerEnforced"


def test_bucket_encrypted_with_the_rotating_customer_managed_key(stack: Stack) -> None:
    sse = stack.resource("aws_s3_bucket_server_side_encryption_configuration", "module.storage.this")
    default = sse["rule"][0]["apply_server_side_encryption_by_default"][0]
    assert default["sse_algorithm"] == "aws:kms"
    assert is_expr(default["kms_master_key_id"], "aws_kms_key.this.arn")
    key = stack.resource("aws_kms_key", "this")
    assert key["enable_key_rotation"] is True
    assert is_expr(key["policy"], "data.aws_iam_policy_document.kms.json")


def test_bucket_lifecycle(stack: Stack) -> None:
    lifecycle = stack.resource("aws_s3_bucket_lifecycle_configuration", "module.storage.this")
    (aging,) = [d["rule"] for d in lifecycle["dynamic"]]
    content = aging["content"][0]
    transitions = {t["storage_class"]: t["days"] for t in content["transition"]}
    assert transitions["STANDARD_IA"] == "${local.infrequent_access_at}"
    assert stack.locals["infrequent_access_at"] == 30
    assert is_expr(transitions["GLACIER_IR"], "var.report_glacier_ir_transition_days")
    assert is_expr(content["expiration"][0]["days"], "var.report_retention_days")
    expiring = [
        re.sub(r"\$\{local\.(\w+)\}", lambda m: stack.locals[m.group(1)], p) for p in stack.locals["expiring_prefixes"]
    ]
    # Reports, run summaries, Config snapshots, and what nobody manages: the
    # checks' managed-resources sidecars and the runs' unmanaged reports.
    assert expiring == ["drift-reports/", "runs/", "config/", "managed/", "unmanaged/"]
    working, cleanup = lifecycle["rule"]
    # The runs' working data simply expires, on its own schedule.
    assert working["filter"] == [{"prefix": "${local.execution_prefix}/"}]
    assert stack.locals["execution_prefix"] == "executions"
    assert is_expr(working["expiration"][0]["days"], "var.execution_data_retention_days")
    assert "transition" not in working
    assert stack.variables["execution_data_retention_days"]["default"] == 30
    assert not any(p.startswith("${local.execution_prefix}") for p in stack.locals["expiring_prefixes"])
    assert cleanup["filter"] == [{}], "clean-up applies to the whole bucket"
    assert is_expr(
        cleanup["noncurrent_version_expiration"][0]["noncurrent_days"], "var.noncurrent_version_expiration_days"
    )
    assert cleanup["abort_incomplete_multipart_upload"][0]["days_after_initiation"] >= 1
    assert "var.report_glacier_ir_transition_days" in lifecycle["lifecycle"][0]["precondition"][0]["condition"]


def test_bucket_policy_denies_plain_http_and_admits_config_by_source_account(stack: Stack) -> None:
    statements = {s["sid"]: s for s in stack.document_statements("module.storage.bucket")}
    policy = stack.resource("aws_s3_bucket_policy", "module.storage.this")
    assert policy["policy"] == "${module.storage.data.aws_iam_policy_document.bucket.json}"
    deny = statements["DenyInsecureTransport"]
    assert deny["effect"] == "Deny"
    assert deny["condition"][0] == {"test": "Bool", "variable": "aws:SecureTransport", "values": ["false"]}
    config = [
        s for s in statements.values() if s.get("principals", [{}])[0].get("identifiers") == ["config.amazonaws.com"]
    ]
    assert len(config) == 3
    for s in config:
        variables = {c["variable"] for c in s["condition"]}
        assert "aws:SourceAccount" in variables, s["sid"]
    delivery = statements["AWSConfigBucketDelivery"]
    assert delivery["resources"] == [
        "${module.storage.aws_s3_bucket.this.arn}/${local.config_prefix}/AWSLogs/${local.account_id}/Config/*"
    ]


# State-lock tables ----------------------------------------------------------


def test_lock_tables(stack: Stack) -> None:
    table = stack.resource("aws_dynamodb_table", "module.storage.state_lock")
    assert is_expr(table["for_each"], "var.state_lock_tables")
    assert table["hash_key"] == "LockID"
    assert table["attribute"] == [{"name": "LockID", "type": "S"}]
    assert table["billing_mode"] == "PAY_PER_REQUEST"
    assert table["point_in_time_recovery"][0]["enabled"] is True
    assert table["server_side_encryption"][0]["enabled"] is True
    assert table["deletion_protection_enabled"] is False
    variable = stack.variables["state_lock_tables"]
    assert variable["type"].startswith("${map(object(")
    assert list(variable["default"]) == ["default"]


# AWS Config -----------------------------------------------------------------

CONFIG_TYPES = {
    "AWS::EC2::Instance",
    "AWS::EC2::SecurityGroup",
    "AWS::EC2::Volume",
    "AWS::EC2::NetworkInterface",
    "AWS::RDS::DBInstance",
    "AWS::RDS::DBCluster",
    "AWS::RDS::DBSnapshot",
    "AWS::RDS::DBClusterSnapshot",
    "AWS::S3::Bucket",
}


def test_config_resources_are_conditional(stack: Stack) -> None:
    for rtype, name in [
        ("aws_config_configuration_recorder", "module.config.this"),
        ("aws_config_delivery_channel", "module.config.this"),
        ("aws_config_configuration_recorder_status", "module.config.this"),
        ("aws_iam_role", "module.config.this"),
        ("aws_iam_role_policy", "module.config.this"),
        ("aws_iam_role_policy_attachment", "module.config.this"),
    ]:
        assert stack.resource(rtype, name).get("count") == CONFIG_COUNT, f"{rtype}.{name}"
    assert stack.variables["create_aws_config"]["type"] == "bool"
    assert "one recorder per account and region" in stack.variables["create_aws_config"]["description"]


def test_config_recorder_records_exactly_ec2_rds_s3(stack: Stack) -> None:
    recorder = stack.resource("aws_config_configuration_recorder", "module.config.this")
    group = recorder["recording_group"][0]
    assert group["all_supported"] is False
    assert group["include_global_resource_types"] is False
    assert group["recording_strategy"][0]["use_only"] == "INCLUSION_BY_RESOURCE_TYPES"
    assert is_expr(group["resource_types"], "local.config_resource_types")
    assert set(stack.locals["config_resource_types"]) == CONFIG_TYPES
    assert len(stack.locals["config_resource_types"]) == len(CONFIG_TYPES)


def test_config_delivery_channel_and_status(stack: Stack) -> None:
    channel = stack.resource("aws_config_delivery_channel", "module.config.this")
    # Read from the bucket policy, so that the channel waits for it.
    assert is_expr(channel["s3_bucket_name"], "module.storage.aws_s3_bucket_policy.this.bucket")
    assert is_expr(
        stack.resource("aws_s3_bucket_policy", "module.storage.this")["bucket"], "module.storage.aws_s3_bucket.this.id"
    )
    assert stack.resolve(channel["s3_key_prefix"]) == "config"
    assert is_expr(
        channel["snapshot_delivery_properties"][0]["delivery_frequency"], "var.config_snapshot_delivery_frequency"
    )
    status = stack.resource("aws_config_configuration_recorder_status", "module.config.this")
    assert status["is_enabled"] is True
    assert is_expr(status["name"], "module.config.aws_config_configuration_recorder.this[0].name")


def test_config_role_has_aws_config_role_and_a_prefix_limited_inline_policy(stack: Stack) -> None:
    attachment = stack.resource("aws_iam_role_policy_attachment", "module.config.this")
    assert attachment["policy_arn"].endswith(":iam::aws:policy/service-role/AWS_ConfigRole")
    statements = blocks(stack.data_source("aws_iam_policy_document", "module.config.delivery"), "statement")
    puts = [s for s in statements if "s3:PutObject" in s["actions"]]
    assert puts
    bucket_prefix = "${module.storage.aws_s3_bucket.this.arn}/${local.config_prefix}/"
    assert all(r.startswith(bucket_prefix) for s in puts for r in s["resources"])


def test_config_rules_cover_ec2_rds_s3_and_wait_for_our_recorder(stack: Stack) -> None:
    rule = stack.resource("aws_config_config_rule", "module.config.this")
    assert "count" not in rule, "rules are created whether or not the recorder is ours"
    assert rule["depends_on"] == ["${module.config.aws_config_configuration_recorder_status.this}"]
    assert rule["source"][0]["owner"] == "AWS"
    rules = stack.locals["config_rules"]
    identifiers = {r["identifier"] for r in rules.values()}
    assert {
        "ENCRYPTED_VOLUMES",
        "RDS_STORAGE_ENCRYPTED",
        "RDS_INSTANCE_PUBLIC_ACCESS_CHECK",
        "S3_BUCKET_VERSIONING_ENABLED",
        "S3_BUCKET_SERVER_SIDE_ENCRYPTION_ENABLED",
        "S3_BUCKET_PUBLIC_READ_PROHIBITED",
        "INCOMING_SSH_DISABLED",
    } <= identifiers
    scoped = {t.split("::")[1] for r in rules.values() for t in r["resource_types"]}
    assert scoped == {"EC2", "RDS", "S3"}
    assert {t for r in rules.values() for t in r["resource_types"]} <= CONFIG_TYPES


# Lambda ---------------------------------------------------------------------


def test_worker_function(stack: Stack) -> None:
    worker = stack.resource("aws_lambda_function", "module.worker.this")
    assert worker["runtime"] == "provided.al2023"
    assert worker["handler"] == "bootstrap"
    assert worker["architectures"] == ["arm64"]
    assert worker["layers"] == ["${aws_lambda_layer_version.terraform.arn}"]
    assert is_expr(worker["timeout"], "var.worker_timeout_seconds")
    assert stack.variables["worker_timeout_seconds"]["default"] <= 900
    assert "<= 900" in stack.variables["worker_timeout_seconds"]["validation"][0]["condition"]
    assert is_expr(worker["reserved_concurrent_executions"], "var.worker_reserved_concurrency")
    assert stack.variables["worker_zip_path"]["default"] == "target/lambda/drift-detection-worker/bootstrap.zip"
    layer = stack.resource("aws_lambda_layer_version", "terraform")
    assert layer["compatible_runtimes"] == ["provided.al2023"]
    assert layer["compatible_architectures"] == ["arm64"]
    assert stack.variables["terraform_layer_zip_path"]["default"] == "target/terraform-layer.zip"


def test_orchestrator_function(stack: Stack) -> None:
    orchestrator = stack.resource("aws_lambda_function", "module.orchestrator.this")
    assert orchestrator["runtime"] == "python3.11"
    assert orchestrator["handler"] == "orchestrator.handler"
    assert is_expr(orchestrator["filename"], "data.archive_file.orchestrator.output_path")
    assert is_expr(orchestrator["source_code_hash"], "data.archive_file.orchestrator.output_base64sha256")
    assert is_expr(orchestrator["reserved_concurrent_executions"], "var.orchestrator_reserved_concurrency")
    # It only plans the run and starts the state machine: the worker's
    # timeout bounds nothing in it any more.
    precondition = orchestrator["lifecycle"][0]["precondition"][0]["condition"]
    assert "worker_timeout_seconds" not in precondition
    assert "var.max_concurrency_per_account <= var.max_concurrency" in precondition
    assert stack.variables["orchestrator_timeout_seconds"]["default"] == 60
    archive = stack.data_source("archive_file", "orchestrator")
    assert archive["source_dir"] == "${path.module}/lib/lambda"
    for excluded in ("tests", "**/__pycache__", "README.md", ".mypy_cache", ".pytest_cache"):
        assert excluded in archive["excludes"], excluded
    layer = stack.resource("aws_lambda_layer_version", "orchestrator")
    assert layer["compatible_runtimes"] == ["python3.11"]
    assert stack.variables["orchestrator_layer_zip_path"]["default"] == "target/orchestrator-layer.zip"


@pytest.mark.parametrize("function", ["worker", "orchestrator", "summarize"])
def test_functions_log_trace_encrypt_and_dead_letter(stack: Stack, function: str) -> None:
    module = f"module.{function}"
    body = stack.resource("aws_lambda_function", f"{module}.this")
    assert is_expr(body["logging_config"][0]["log_group"], f"{module}.aws_cloudwatch_log_group.this.name")
    assert stack.resolve(
        stack.resource("aws_cloudwatch_log_group", f"{module}.this")["name"]
    ) == "/aws/lambda/" + stack.resolve(body["function_name"])
    assert stack.resolve(body["function_name"]) == f"drift-detection-{function}-" + SUFFIX
    assert is_expr(body["kms_key_arn"], "aws_kms_key.this.arn")
    assert is_expr(body["tracing_config"][0]["mode"], "var.tracing_mode")
    assert body["depends_on"] == [f"${{{module}.aws_iam_role_policy.this}}"]
    invoke = stack.resource("aws_lambda_function_event_invoke_config", f"{module}.this")
    assert is_expr(invoke["function_name"], f"{module}.aws_lambda_function.this.function_name")
    if function == "summarize":  # invoked synchronously by the state machine, which retries it
        assert invoke["maximum_retry_attempts"] == 0
    else:
        assert invoke["maximum_retry_attempts"].startswith("${var.")
    assert is_expr(invoke["destination_config"][0]["on_failure"][0]["destination"], "aws_sqs_queue.this.arn")


def test_log_groups_keep_at_least_seven_days(stack: Stack) -> None:
    groups = stack.resources_of("aws_cloudwatch_log_group")
    assert set(groups) == {
        "module.worker.this",
        "module.orchestrator.this",
        "module.summarize.this",
        "module.trigger.this",
        "module.state_machine.this",
        "module.codebuild_lane.this",
    }
    for name, group in groups.items():
        assert is_expr(group["retention_in_days"], "var.log_retention_days"), name
        assert is_expr(group["kms_key_id"], "aws_kms_key.this.arn"), name
    variable = stack.variables["log_retention_days"]
    assert variable["default"] >= 7
    assert "var.log_retention_days >= 7" in variable["validation"][0]["condition"]
    allowed = [int(n) for n in re.findall(r"\d+", variable["validation"][0]["condition"].split("contains(")[1])]
    assert min(allowed) >= 7


def test_dead_letter_queue_is_encrypted(stack: Stack) -> None:
    queue = stack.resource("aws_sqs_queue", "this")
    assert is_expr(queue["kms_master_key_id"], "aws_kms_key.this.arn")
    assert stack.resolve(queue["name"]) == "drift-detection-dlq-" + SUFFIX


# Schedule -------------------------------------------------------------------


def test_schedule(stack: Stack) -> None:
    rule = stack.resource("aws_cloudwatch_event_rule", "this")
    assert is_expr(rule["schedule_expression"], "var.schedule_expression")
    assert stack.variables["schedule_expression"]["default"] == "rate(6 hours)"
    target = stack.resource("aws_cloudwatch_event_target", "this")
    assert is_expr(target["arn"], "module.orchestrator.aws_lambda_function.this.arn")
    assert target["retry_policy"][0]["maximum_retry_attempts"].startswith("${var.")
    assert is_expr(target["dead_letter_config"][0]["arn"], "aws_sqs_queue.this.arn")
    permission = stack.resource("aws_lambda_permission", "schedule")
    assert permission["principal"] == "events.amazonaws.com"
    assert permission["action"] == "lambda:InvokeFunction"
    assert is_expr(permission["source_arn"], "aws_cloudwatch_event_rule.this.arn")


# Alerts ---------------------------------------------------------------------


def test_topic_is_encrypted_and_mails_validated_addresses(stack: Stack) -> None:
    topic = stack.resource("aws_sns_topic", "module.alerting.this")
    assert is_expr(topic["kms_master_key_id"], "aws_kms_key.this.arn")
    subscription = stack.resource("aws_sns_topic_subscription", "module.alerting.email")
    assert subscription["protocol"] == "email"
    assert is_expr(subscription["for_each"], "toset(var.alert_emails)")
    variable = stack.variables["alert_emails"]
    assert variable["type"] == "${list(string)}"
    condition = variable["validation"][0]["condition"]
    m = re.search(r'regex\("((?:[^"\\]|\\.)*)", e\)', condition)
    assert m
    email = hcl_unescape(m.group(1))
    assert re.fullmatch(email, "oncall+drift@example.co.uk")
    for bad in ("oncall", "oncall@", "@example.com", "on call@example.com", "oncall@example"):
        assert not re.fullmatch(email, bad), bad


def test_dashboard(stack: Stack) -> None:
    body = stack.resource("aws_cloudwatch_dashboard", "module.dashboard.this")["dashboard_body"]
    for metric in ("DriftedResources", "CriticalDrift", "PendingChanges", "DetectionErrors"):
        assert metric in json.dumps(stack.locals["dashboard_drift_metrics"]), metric
    # One line per environment: the sum over that environment's workspaces.
    assert "for j, env in var.dashboard_environments" in body
    assert "SUM(SEARCH('{${var.metrics_namespace},Environment,Workspace}" in body
    assert 'MetricName=\\"${m.metric}\\" Environment=\\"${env}\\"' in body
    for stat in ('"p50"', '"p90"', '"Maximum"'):
        assert stat in body, stat
    assert '"Duration"' in body
    assert '"Errors"' in body
    assert '"Throttles"' in body
    query = re.search(r'type = "log".*?query = "(.*?)"\}', body)
    assert query, "a Logs Insights widget"
    assert "SOURCE '${module.worker.aws_cloudwatch_log_group.this.name}'" in query.group(1)
    assert 'filter event = \\"critical_drift\\"' in query.group(1)
    assert "sort @timestamp desc" in query.group(1)


def _alarm(stack: Stack, name: str) -> Body:
    alarm = stack.resource("aws_cloudwatch_metric_alarm", name)
    assert alarm["alarm_actions"] == ["${module.alerting.aws_sns_topic.this.arn}"], name
    return alarm


def test_alarms(stack: Stack) -> None:
    critical = _alarm(stack, "critical_drift")
    assert critical["metric_name"] == "CriticalDrift"
    assert critical["comparison_operator"] == "GreaterThanThreshold"
    assert critical["threshold"] == 0
    # The run metrics are the summarize step's.
    assert critical["dimensions"] == {"service": "${local.summarize_service_name}"}
    assert stack.locals["summarize_service_name"] == "drift-detection-summarize"
    for name, function in (
        ("module.worker.errors", "worker"),
        ("module.orchestrator.errors", "orchestrator"),
        ("module.summarize.errors", "summarize"),
    ):
        alarm = _alarm(stack, name)
        assert stack.resolve(alarm["alarm_name"]) == f"drift-detection-{function}-errors-" + SUFFIX
        assert alarm["namespace"] == "AWS/Lambda"
        assert alarm["metric_name"] == "Errors"
        assert alarm["comparison_operator"] == "GreaterThanThreshold"
        assert alarm["threshold"] == 0
        assert alarm["dimensions"] == {"FunctionName": f"${{module.{function}.aws_lambda_function.this.function_name}}"}
    missed = _alarm(stack, "missed_run")
    assert missed["metric_name"] == "WorkspacesChecked"
    assert missed["dimensions"] == {"service": "${local.summarize_service_name}"}
    assert missed["treat_missing_data"] == "breaching"
    assert missed["period"] == 3600
    assert is_expr(missed["evaluation_periods"], "var.missed_run_alarm_hours")
    assert stack.variables["missed_run_alarm_hours"]["default"] == 7
    for name, metric in (("runs_failed", "ExecutionsFailed"), ("runs_timed_out", "ExecutionsTimedOut")):
        alarm = _alarm(stack, name)
        assert alarm["namespace"] == "AWS/States"
        assert alarm["metric_name"] == metric
        assert alarm["dimensions"] == {"StateMachineArn": "${module.state_machine.aws_sfn_state_machine.this.arn}"}
        assert alarm["comparison_operator"] == "GreaterThanThreshold"
        assert alarm["threshold"] == 0


# Modules --------------------------------------------------------------------


def test_every_module_is_used_and_opens_with_what_it_makes(stack: Stack) -> None:
    on_disk = {f"./modules/{p.name}" for p in (REPO / "modules").iterdir() if p.is_dir()}
    used = {m.source for m in stack.modules.values()}
    assert used == on_disk, f"unused modules: {sorted(on_disk - used)}"
    assert set(stack.modules) >= {
        "worker",
        "orchestrator",
        "summarize",
        "storage",
        "alerting",
        "config",
        "state_machine",
        "codebuild_lane",
        "dashboard",
    }
    for source in on_disk:
        first = stack.text[f"{source[2:]}/main.tf"].splitlines()[0]
        assert first.startswith("# ") and len(first) > 20, f"{source}/main.tf: a header comment says what it makes"


def test_module_variables_are_typed_described_and_validated(stack: Stack) -> None:
    for module in stack.modules.values():
        for name, body in module.config.variables.items():
            where = f"{module.source} variable {name}"
            assert body.get("description", "").strip(), f"{where}: description"
            assert "type" in body, f"{where}: type"
            keys = [k for k in body if k in ("description", "type", "default")]
            assert keys == sorted(keys, key=["description", "type", "default"].index), f"{where}: order {keys}"
            if body["type"] == "bool":
                continue
            assert body.get("validation"), f"{where}: validation"
            for v in body["validation"]:
                assert f"var.{name}" in v["condition"], f"{where}: validation must test itself"
                assert v["error_message"].strip().endswith("."), f"{where}: error message"


def test_module_calls_pass_only_declared_variables_and_every_required_one(stack: Stack) -> None:
    for name, module in stack.modules.items():
        declared = set(module.config.variables)
        assert set(module.args) <= declared, f"module {name}: unknown {sorted(set(module.args) - declared)}"
        required = {v for v, b in module.config.variables.items() if "default" not in b}
        assert required <= set(module.args), f"module {name}: missing {sorted(required - set(module.args))}"


def test_functions_share_one_module(stack: Stack) -> None:
    # Every Lambda function comes from modules/function, so each gets its
    # role, policy, log group, alarm and on-failure destination the same way.
    functions = stack.resources_of("aws_lambda_function")
    assert set(functions) == {
        "module.worker.this",
        "module.orchestrator.this",
        "module.summarize.this",
        "module.trigger.this",
    }
    for name in ("worker", "orchestrator", "summarize", "trigger"):
        assert stack.modules[name].source == "./modules/function"
        for rtype in ("aws_iam_role", "aws_iam_role_policy", "aws_cloudwatch_log_group"):
            assert (rtype, f"module.{name}.this") in stack.resources, f"{name}: {rtype}"
        assert ("aws_cloudwatch_metric_alarm", f"module.{name}.errors") in stack.resources


def _references(value: object) -> set[str]:
    """Every var., local., module. and resource reference in a value."""
    found: set[str] = set()
    for text in re.findall(r"\$\{.*\}", json.dumps(value)):
        found |= set(
            re.findall(
                r"(?<![\w.])(?:var|local)\.\w+"
                r"|(?<![\w.])module\.\w+\.(?:data\.)?\w+\.\w+"
                r"|(?<![\w.])module\.\w+\.\w+(?![\w.])"
                r"|(?<![\w.])(?:data\.)?(?:aws_\w+|archive_file|terraform_remote_state)\.\w+",
                text,
            )
        )
    return found


def _dangling(stack: Stack) -> list[str]:
    values = [
        list(stack.resources.values()),
        list(stack.data.values()),
        stack.outputs,
        stack.locals,
        [m.args for m in stack.modules.values()],
    ]
    dangling = []
    for ref in sorted(set().union(*(_references(v) for v in values))):
        parts = ref.split(".")
        if parts[0] == "var":
            ok = parts[1] in stack.variables
        elif parts[0] == "local":
            ok = parts[1] in stack.locals
        elif parts[0] == "module" and len(parts) == 3:
            ok = False  # an output the module does not declare stays unresolved
        elif parts[0] == "module":
            table = stack.data if parts[2] == "data" else stack.resources
            rtype, name = parts[-2:]
            ok = (rtype, f"module.{parts[1]}.{name}") in table
        else:
            table = stack.data if parts[0] == "data" else stack.resources
            ok = tuple(parts[-2:]) in table
        if not ok:
            dangling.append(ref)
    return dangling


def test_every_reference_resolves(stack: Stack) -> None:
    # What `terraform validate` would say first, without a provider: with
    # the modules instantiated, every variable, local and resource a value
    # names is declared (a module output that does not exist stays a
    # `module.M.name` reference and fails here too).
    assert _dangling(stack) == []


def test_the_reference_check_finds_a_dangling_one(stack: Stack) -> None:
    broken = copy.deepcopy(stack)
    body = broken.resources[("aws_lambda_function", "module.worker.this")]
    body["timeout"] = "${var.worker_timeout}"
    body["role"] = "${module.worker.aws_iam_role.that.arn}"
    broken.outputs["x"] = {"value": "${module.worker.role}"}
    assert _dangling(broken) == ["module.worker.aws_iam_role.that", "module.worker.role", "var.worker_timeout"]
