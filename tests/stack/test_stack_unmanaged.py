"""The stack's side of the unmanaged-resource view (issue 15, part 2): the
summarize function's environment, the optional AWS Config aggregator and
its modes, the inventory-errors alarm, the outputs; and the validations and
preconditions of the new variables, evaluated.

The IAM statements are tested with the others in test_stack_iam.py, the
dashboard widgets in test_stack_dashboard_body.py, the lifecycle prefixes in
test_stack_structure.py.

Evaluating: the pinned terraform (1.0.3, no provider needed) computes each
condition as written in variables.tf, main.tf and modules/function/main.tf,
with `var.X` (and the aggregator locals) replaced by a case's values, so a
test case is the expression Terraform itself would judge. A condition that
errors counts as a rejection, as it fails the plan too.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
from stack_hcl import REPO, Stack, blocks, is_expr

TERRAFORM = REPO / ".tools" / "bin" / "terraform"
SUFFIX = "${var.environment_suffix}"


# Environment ----------------------------------------------------------------


def test_summarize_environment_is_wired(stack: Stack) -> None:
    env = stack.resource("aws_lambda_function", "module.summarize.this")["environment"][0]["variables"]
    assert is_expr(env["UNMANAGED"], 'var.unmanaged_resources ? "on" : "off"')
    assert is_expr(env["UNMANAGED_ALERT"], 'var.unmanaged_alert ? "on" : "off"')
    assert is_expr(env["UNMANAGED_IGNORE_JSON"], "jsonencode(var.unmanaged_ignore)")
    assert is_expr(env["UNMANAGED_TIME_BUDGET_SECONDS"], "tostring(var.unmanaged_time_budget_seconds)")
    assert is_expr(
        env["CONFIG_AGGREGATOR_NAME"], 'local.config_aggregator_name == null ? "" : local.config_aggregator_name'
    )
    assert is_expr(
        stack.locals["config_aggregator_name"],
        "local.create_config_aggregator ? aws_config_configuration_aggregator.this[0].name : var.config_aggregator_name",
    )
    defaults = {
        "unmanaged_resources": True,
        "unmanaged_alert": False,
        "unmanaged_ignore": [],
        "unmanaged_time_budget_seconds": 300,
        "config_aggregator_account_ids": [],
        "config_aggregator_regions": None,
        "config_aggregator_organization": False,
        "config_aggregator_name": None,
    }
    for name, default in defaults.items():
        assert stack.variables[name].get("default") == default, name
    ignore_type = stack.variables["unmanaged_ignore"]["type"]
    for attr in ("resource_type", "id", "tag", "account_id", "region"):
        assert f"{attr} = optional(string)" in ignore_type, attr
    assert "reason = string" in ignore_type


# Aggregator -----------------------------------------------------------------


def test_aggregator_is_created_only_in_a_create_mode(stack: Stack) -> None:
    aggregator = stack.resource("aws_config_configuration_aggregator", "this")
    assert is_expr(aggregator["count"], "local.create_config_aggregator ? 1 : 0")
    assert is_expr(
        stack.locals["create_config_aggregator"],
        "length(var.config_aggregator_account_ids) > 0 || var.config_aggregator_organization",
    )
    assert aggregator["name"] == "drift-detection-aggregator-" + SUFFIX
    sources = {label: spec for dyn in aggregator["dynamic"] for label, spec in dyn.items()}
    accounts, organization = sources["account_aggregation_source"], sources["organization_aggregation_source"]
    assert is_expr(accounts["for_each"], "length(var.config_aggregator_account_ids) > 0 ? [true] : []")
    assert is_expr(organization["for_each"], "var.config_aggregator_organization ? [true] : []")
    (accounts,) = accounts["content"]
    (organization,) = organization["content"]
    assert is_expr(accounts["account_ids"], "var.config_aggregator_account_ids")
    assert is_expr(organization["role_arn"], "aws_iam_role.config_aggregator[0].arn")
    # Either the listed regions or all of them (AWS refuses both at once).
    for source in (accounts, organization):
        assert is_expr(source["all_regions"], "var.config_aggregator_regions == null")
        assert is_expr(source["regions"], "var.config_aggregator_regions")
    assert aggregator["depends_on"] == ["${aws_iam_role_policy_attachment.config_aggregator}"]


def test_aggregator_outputs(stack: Stack) -> None:
    assert is_expr(stack.outputs["config_aggregator_name"]["value"], "local.config_aggregator_name")
    assert is_expr(
        stack.outputs["config_aggregator_arn"]["value"], "one(aws_config_configuration_aggregator.this[*].arn)"
    )
    assert is_expr(stack.outputs["config_aggregator_role_arn"]["value"], "one(aws_iam_role.config_aggregator[*].arn)")
    assert is_expr(stack.outputs["summarize_role_arn"]["value"], "module.summarize.aws_iam_role.this.arn")
    for name in ("config_aggregator_name", "config_aggregator_arn", "cross_account_drift_role_inventory_policies"):
        assert stack.outputs[name]["description"].strip(), name


# Alarm ----------------------------------------------------------------------


def test_inventory_errors_alarm(stack: Stack) -> None:
    alarm = stack.resource("aws_cloudwatch_metric_alarm", "inventory_errors")
    assert is_expr(alarm["count"], "var.unmanaged_resources ? 1 : 0")
    assert stack.resolve(alarm["alarm_name"]) == "drift-detection-inventory-errors-" + SUFFIX
    assert is_expr(alarm["namespace"], "var.metrics_namespace")
    assert alarm["metric_name"] == "InventoryErrors"
    # A run metric: the summarize step's, like CriticalDrift and WorkspacesChecked.
    assert alarm["dimensions"] == {"service": "${local.summarize_service_name}"}
    assert alarm["statistic"] == "Sum"
    assert alarm["comparison_operator"] == "GreaterThanThreshold"
    assert alarm["threshold"] == 0
    assert alarm["treat_missing_data"] == "notBreaching"
    assert alarm["alarm_actions"] == ["${module.alerting.aws_sns_topic.this.arn}"]
    assert alarm["ok_actions"] == alarm["alarm_actions"]
    assert re.search(
        r"inventory_errors\s+=\s+one\(aws_cloudwatch_metric_alarm\.inventory_errors\[\*\]\.arn\)",
        stack.text["outputs.tf"],
    )


# Validations and preconditions, evaluated -------------------------------------


def _variable_conditions(text: str, name: str) -> list[str]:
    """The validation conditions of `variable "name"`, as written (each on
    one line)."""
    m = re.search(r'^variable "' + name + r'" \{\n(.*?)^\}\n', text, re.MULTILINE | re.DOTALL)
    assert m, f"no variable {name}"
    return re.findall(r"^    condition\s*=\s*(.+)$", m.group(1), re.MULTILINE)


def _summarize_preconditions(text: str) -> list[str]:
    m = re.search(r'^module "summarize" \{\n(.*?)^\}\n', text, re.MULTILINE | re.DOTALL)
    assert m, "no module summarize"
    return re.findall(r"^      condition\s*=\s*(.+)$", m.group(1), re.MULTILINE)


def _local_expression(text: str, name: str) -> str:
    m = re.search(r"^  " + name + r"\s*=\s*(.+)$", text, re.MULTILINE)
    assert m, f"no local {name}"
    return m.group(1)


def _hcl_string(value: Any) -> str:
    """`value` as an HCL expression: jsondecode of its JSON."""
    text = json.dumps(json.dumps(value))
    assert "${" not in text and "%{" not in text
    return f"jsondecode({text})"


def _evaluate(tmp_path: Path, cases: list[tuple[str, dict[str, Any]]]) -> list[bool]:
    """Each (condition, variables) evaluated by terraform: whether it holds."""
    lines = []
    for i, (condition, variables) in enumerate(cases):
        expression = re.sub(r"\bvar\.(\w+)", rf"local.case{i}.\1", condition)
        lines.append(f"locals {{\n  case{i} = {_hcl_string(variables)}\n}}\n")
        lines.append(f'output "case{i}" {{\n  value = try({expression}, false)\n}}\n')
    (tmp_path / "main.tf").write_text("\n".join(lines))
    env = {
        **os.environ,
        "TF_CLI_CONFIG_FILE": os.devnull,
        "CHECKPOINT_DISABLE": "1",
        "TF_IN_AUTOMATION": "1",
        "TF_DATA_DIR": str(tmp_path / ".terraform"),
    }

    def terraform(*args: str) -> str:
        done = subprocess.run(
            [str(TERRAFORM), *args], check=False, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, f"terraform {' '.join(args)}:\n{done.stdout}\n{done.stderr}"
        return done.stdout

    state = str(tmp_path / "scratch.tfstate")
    terraform("init", "-input=false", "-backend=false")
    terraform("apply", "-input=false", "-auto-approve", "-state", state)
    outputs = json.loads(terraform("output", "-json", "-state", state))
    return [outputs[f"case{i}"]["value"] is True for i in range(len(cases))]


def rule(**fields: Any) -> dict[str, Any]:
    """An unmanaged_ignore entry as Terraform converts it: unset optional
    matchers are null."""
    entry: dict[str, Any] = dict.fromkeys(("resource_type", "id", "tag", "account_id", "region"))
    entry.update(fields)
    return entry


# (variable, value, accepted)
VALIDATION_CASES: list[tuple[str, Any, bool]] = [
    ("unmanaged_ignore", [], True),
    ("unmanaged_ignore", [rule(resource_type="AWS::S3::Bucket", id="tf-state*", reason="Terraform's state")], True),
    ("unmanaged_ignore", [rule(tag="aws:cloudformation:stack-name", reason="CloudFormation's")], True),
    ("unmanaged_ignore", [rule(account_id="222222222222", resource_type="AWS::EC2::*", reason="sandbox")], True),
    ("unmanaged_ignore", [rule(region="eu-west-1", reason="a region nobody manages")], True),
    ("unmanaged_ignore", [rule(id="x", reason="")], False),
    ("unmanaged_ignore", [rule(id="x", reason="   ")], False),
    ("unmanaged_ignore", [rule(reason="no matcher at all")], False),
    ("unmanaged_ignore", [rule(id="", tag=" ", reason="only empty matchers")], False),
    ("unmanaged_ignore", [rule(id="ok", reason="fine"), rule(reason="the second has none")], False),
    ("unmanaged_ignore", [rule(account_id="12345", reason="not an account")], False),
    ("unmanaged_ignore", [rule(id=f"bucket-{i}-*", reason="r" * 60) for i in range(30)], False),
    ("unmanaged_time_budget_seconds", 300, True),
    ("unmanaged_time_budget_seconds", 30, True),
    ("unmanaged_time_budget_seconds", 840, True),
    ("unmanaged_time_budget_seconds", 29, False),
    ("unmanaged_time_budget_seconds", 841, False),
    ("unmanaged_time_budget_seconds", 60.5, False),
    ("summarize_timeout_seconds", 900, True),
    ("summarize_timeout_seconds", 901, False),
    ("config_aggregator_account_ids", [], True),
    ("config_aggregator_account_ids", ["111111111111", "222222222222"], True),
    ("config_aggregator_account_ids", ["11111111111"], False),
    ("config_aggregator_account_ids", ["111111111111", "111111111111"], False),
    ("config_aggregator_regions", None, True),
    ("config_aggregator_regions", ["us-east-1", "eu-west-1"], True),
    ("config_aggregator_regions", [], False),
    ("config_aggregator_regions", ["US-EAST-1"], False),
    ("config_aggregator_regions", ["us-east-1", "us-east-1"], False),
    ("config_aggregator_name", None, True),
    ("config_aggregator_name", "org-wide_aggregator-1", True),
    ("config_aggregator_name", "", False),
    ("config_aggregator_name", "has space", False),
    ("config_aggregator_name", "x" * 257, False),
]

DEFAULTS: dict[str, Any] = {
    "unmanaged_resources": True,
    "unmanaged_time_budget_seconds": 300,
    "summarize_timeout_seconds": 600,
    "config_aggregator_account_ids": [],
    "config_aggregator_regions": None,
    "config_aggregator_organization": False,
    "config_aggregator_name": None,
}

# (overrides of DEFAULTS, accepted)
PRECONDITION_CASES: list[tuple[dict[str, Any], bool]] = [
    ({}, True),
    # The summary's timeout exceeds the inventory's budget by 60 s or more.
    ({"summarize_timeout_seconds": 360}, True),
    ({"summarize_timeout_seconds": 359}, False),
    ({"summarize_timeout_seconds": 300}, False),
    ({"summarize_timeout_seconds": 300, "unmanaged_resources": False}, True),
    ({"summarize_timeout_seconds": 900, "unmanaged_time_budget_seconds": 840}, True),
    # At most one aggregator mode.
    ({"config_aggregator_account_ids": ["111111111111"]}, True),
    ({"config_aggregator_organization": True}, True),
    ({"config_aggregator_name": "existing"}, True),
    ({"config_aggregator_account_ids": ["111111111111"], "config_aggregator_organization": True}, False),
    ({"config_aggregator_account_ids": ["111111111111"], "config_aggregator_name": "existing"}, False),
    ({"config_aggregator_organization": True, "config_aggregator_name": "existing"}, False),
    # Regions only for an aggregator the stack creates.
    ({"config_aggregator_account_ids": ["111111111111"], "config_aggregator_regions": ["us-east-1"]}, True),
    ({"config_aggregator_organization": True, "config_aggregator_regions": ["us-east-1"]}, True),
    ({"config_aggregator_name": "existing", "config_aggregator_regions": ["us-east-1"]}, False),
    ({"config_aggregator_regions": ["us-east-1"]}, False),
]


def test_validations_and_preconditions_judge_as_expected(tmp_path: Path) -> None:
    variables_tf = (REPO / "variables.tf").read_text()
    main_tf = (REPO / "main.tf").read_text()
    cases: list[tuple[str, dict[str, Any]]] = []
    # A value is accepted when every validation of its variable holds.
    validation_groups = []
    for name, value, ok in VALIDATION_CASES:
        conditions = _variable_conditions(variables_tf, name)
        assert conditions, name
        validation_groups.append((len(cases), len(conditions), ok, f"{name} = {value!r}"[:120]))
        cases.extend((c, {name: value}) for c in conditions)
    # The summarize function's preconditions, with the aggregator locals
    # written out as main.tf defines them.
    preconditions = _summarize_preconditions(main_tf)
    assert len(preconditions) == 3
    aggregator_locals = {
        name: _local_expression(main_tf, name) for name in ("config_aggregator_modes", "create_config_aggregator")
    }
    written_out = []
    for condition in preconditions:
        for name, expression in aggregator_locals.items():
            condition = re.sub(r"\blocal\." + name + r"\b", f"({expression})", condition)
        assert "local." not in condition, condition
        written_out.append(condition)
    precondition_groups = []
    for overrides, ok in PRECONDITION_CASES:
        precondition_groups.append((len(cases), len(written_out), ok, f"preconditions with {overrides}"))
        cases.extend((c, {**DEFAULTS, **overrides}) for c in written_out)
    results = _evaluate(tmp_path, cases)
    wrong = []
    for start, count, ok, label in validation_groups + precondition_groups:
        accepted = all(results[start : start + count])
        if accepted is not ok:
            wrong.append(
                f"{label}: {'accepted' if accepted else 'rejected'}, expected {'accepted' if ok else 'rejected'}"
            )
    assert not wrong, "\n".join(wrong)


def test_function_environment_size_precondition(tmp_path: Path) -> None:
    # Lambda's 4 KB counts names and values together: the function module
    # refuses more at plan, whichever variable grew.
    text = (REPO / "modules/function/main.tf").read_text()
    conditions = re.findall(r"^      condition\s*=\s*(.+)$", text, re.MULTILINE)
    (size,) = [c for c in conditions if "var.environment_variables" in c]
    small = {"REPORT_BUCKET": "b", "UNMANAGED_IGNORE_JSON": "[]"}
    exact = {"A": "x" * 4095}
    over = {"A": "x" * 4095, "B": ""}
    results = _evaluate(
        tmp_path,
        [(size, {"environment_variables": env}) for env in (small, exact, over)],
    )
    assert results == [True, True, False]


def test_the_variable_reader_finds_every_condition() -> None:
    # Guards the evaluation above: it reads each validation of a variable.
    variables_tf = (REPO / "variables.tf").read_text()
    assert len(_variable_conditions(variables_tf, "unmanaged_ignore")) == 4
    assert len(_variable_conditions(variables_tf, "config_aggregator_regions")) == 1
    with pytest.raises(AssertionError, match="no variable"):
        _variable_conditions(variables_tf, "no_such_variable")


def test_ignore_rules_env_fits_with_the_rest(stack: Stack) -> None:
    # The unmanaged_ignore cap (3000) leaves room under Lambda's 4 KB for the
    # summarize function's other variables at their longest.
    (cap,) = [
        int(m)
        for v in stack.variables["unmanaged_ignore"]["validation"]
        for m in re.findall(r"length\(jsonencode\(var\.unmanaged_ignore\)\)\s*<=\s*(\d+)", v["condition"])
    ]
    env = stack.resource("aws_lambda_function", "module.summarize.this")["environment"][0]["variables"]
    longest_values = {
        "REPORT_BUCKET": 63,  # an S3 bucket name
        "SNS_TOPIC_ARN": len("arn:aws-us-gov:sns:us-gov-west-1:111111111111:drift-detection-alerts-") + 20,
        "POWERTOOLS_SERVICE_NAME": len("drift-detection-summarize"),
        "POWERTOOLS_METRICS_NAMESPACE": 255,
        "LOG_LEVEL": len("WARNING"),
        "UNMANAGED": 3,
        "UNMANAGED_ALERT": 3,
        "UNMANAGED_IGNORE_JSON": cap,
        "UNMANAGED_TIME_BUDGET_SECONDS": 3,
        "CONFIG_AGGREGATOR_NAME": 256,
    }
    assert set(env) == set(longest_values)
    assert sum(len(k) + n for k, n in longest_values.items()) <= 4096
    # And the trust statement every target account gets names the summary
    # only with the feature (test_stack_iam.py checks the expression).
    (trust,) = blocks(stack.data_source("aws_iam_policy_document", "cross_account_trust"), "statement")
    assert "var.unmanaged_resources" in trust["principals"][0]["identifiers"]
