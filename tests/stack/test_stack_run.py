"""The run (issue 14): the state machine, its definition template, the
summarize function, the CodeBuild lane and its buildspec.

The definition is modules/state-machine/definition.asl.json, rendered with
templatefile(): every `${name}` it uses must be passed, and every variable
passed must be used. The buildspec is YAML run by CodeBuild: it must fetch
both artefacts, run the worker one-shot and upload the response whatever
the check's outcome.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from stack_hcl import REPO, Stack, is_expr

SUFFIX = "${var.environment_suffix}"
STATE_MACHINE_DIR = REPO / "modules" / "state-machine"
TEMPLATE = STATE_MACHINE_DIR / "definition.asl.json"
BUILDSPEC = REPO / "modules" / "codebuild-lane" / "buildspec.yml"

# The definition's variables, as the lead's template and this module agree.
TEMPLATE_VARIABLES = {
    "worker_function_arn",
    "summarize_function_arn",
    "codebuild_project_name",
    "report_bucket",
    "results_prefix",
    "worker_retry_max_attempts",
}


def template_references(text: str) -> set[str]:
    """Names a template interpolates: every `${name}` not escaped as `$${`.
    Directives (`%{`) and expressions other than a bare name are refused,
    so that this list is the whole truth."""
    names: set[str] = set()
    for m in re.finditer(r"(?<!\$)\$\{([^}]*)\}", text):
        inner = m.group(1).strip()
        assert re.fullmatch(r"[a-z_][a-z0-9_]*", inner), f"template expression ${{{inner}}}: only plain names"
        names.add(inner)
    assert "%{" not in text, "no template directives"
    return names


def templatefile_call(stack: Stack) -> tuple[str, dict[str, Any]]:
    """The file and the variables the state machine module renders, as the
    module writes them (its own locals, not instantiated)."""
    module = stack.modules["state_machine"].config
    body = module.resources[("aws_sfn_state_machine", "this")]
    assert is_expr(body["definition"], "templatefile(local.definition_template, local.definition_variables)")
    path = module.locals["definition_template"]
    assert path == "${path.module}/definition.asl.json"
    return path.replace("${path.module}", str(STATE_MACHINE_DIR)), module.locals["definition_variables"]


# State machine ----------------------------------------------------------------


def test_state_machine(stack: Stack) -> None:
    machine = stack.resource("aws_sfn_state_machine", "module.state_machine.this")
    assert machine["type"] == "STANDARD"
    assert stack.resolve(machine["name"]) == "drift-detection-runs-" + SUFFIX
    assert is_expr(machine["role_arn"], "module.state_machine.aws_iam_role.this.arn")
    (logging,) = machine["logging_configuration"]
    assert logging["include_execution_data"] is False, "execution data holds the workspaces' external IDs"
    assert logging["log_destination"] == "${module.state_machine.aws_cloudwatch_log_group.this.arn}:*"
    assert is_expr(logging["level"], "var.state_machine_log_level")
    assert stack.variables["state_machine_log_level"]["default"] == "ERROR"
    assert is_expr(machine["tracing_configuration"][0]["enabled"], 'var.tracing_mode == "Active"')
    group = stack.resource("aws_cloudwatch_log_group", "module.state_machine.this")
    assert group["name"] == "/aws/vendedlogs/states/drift-detection-runs-" + SUFFIX
    assert is_expr(group["kms_key_id"], "aws_kms_key.this.arn")
    assert is_expr(group["retention_in_days"], "var.log_retention_days")
    role = stack.resource("aws_iam_role", "module.state_machine.this")
    assert role["name"] == "drift-detection-states-" + SUFFIX


def test_state_machine_is_passed_what_the_definition_names(stack: Stack) -> None:
    args = stack.modules["state_machine"].args
    assert is_expr(args["worker_function_arn"], "module.worker.aws_lambda_function.this.arn")
    assert is_expr(args["summarize_function_arn"], "module.summarize.aws_lambda_function.this.arn")
    assert is_expr(args["codebuild_project_name"], "module.codebuild_lane.aws_codebuild_project.this.name")
    assert is_expr(args["codebuild_project_arn"], "module.codebuild_lane.aws_codebuild_project.this.arn")
    assert is_expr(args["report_bucket_name"], "module.storage.aws_s3_bucket.this.id")
    assert is_expr(args["results_prefix"], "local.results_prefix")
    assert stack.resolve(stack.resolve(args["results_prefix"])) == "executions/results"


def test_the_template_exists_and_its_variables_are_exactly_those_passed(stack: Stack) -> None:
    path, variables = templatefile_call(stack)
    text = Path(path).read_text()
    used = template_references(text)
    assert used == set(variables), (
        f"used but not passed: {used - set(variables)}; passed, unused: {set(variables) - used}"
    )
    assert set(variables) == TEMPLATE_VARIABLES


def test_the_template_renders_to_json(stack: Stack) -> None:
    # Rendered with stand-ins the way templatefile() would: what comes out
    # is a JSON state machine whose map reads and writes the bucket.
    path, variables = templatefile_call(stack)
    stand_ins: dict[str, str] = {
        "worker_function_arn": '"arn:aws:lambda:us-east-1:111111111111:function:drift-detection-worker-dev"',
        "summarize_function_arn": '"arn:aws:lambda:us-east-1:111111111111:function:drift-detection-summarize-dev"',
        "codebuild_project_name": '"drift-detection-large-checks-dev"',
        "report_bucket": '"drift-detection-reports-dev"',
        "results_prefix": '"executions/results"',
        "worker_retry_max_attempts": "6",
    }
    assert set(stand_ins) == set(variables)
    text = Path(path).read_text()

    def render(m: re.Match[str]) -> str:
        value = stand_ins[m.group(1).strip()]
        return value[1:-1] if value.startswith('"') else value

    rendered = re.sub(r"(?<!\$)\$\{([^}]*)\}", render, text).replace("$${", "${")
    definition = json.loads(rendered)
    assert definition["StartAt"] in definition["States"]
    flat = json.dumps(definition)
    assert "drift-detection-reports-dev" in flat
    assert "arn:aws:states:::s3:getObject" in flat, "ItemReader"
    assert "arn:aws:states:::s3:putObject" in flat, "ResultWriter"
    assert "arn:aws:states:::codebuild:startBuild.sync" in flat
    assert '"DISTRIBUTED"' in flat


def test_template_reference_parser() -> None:
    assert template_references('{"a": "${x}", "b": ${y_2}, "c": "$${not_me}", "d": "$.path"}') == {"x", "y_2"}
    with pytest.raises(AssertionError, match="only plain names"):
        template_references('"${upper(x)}"')


# Summarize -------------------------------------------------------------------


def test_summarize_function(stack: Stack) -> None:
    summarize = stack.resource("aws_lambda_function", "module.summarize.this")
    orchestrator = stack.resource("aws_lambda_function", "module.orchestrator.this")
    assert summarize["runtime"] == "python3.11"
    assert summarize["handler"] == "summarize.handler"
    for same in ("filename", "source_code_hash", "layers", "architectures"):
        assert summarize[same] == orchestrator[same], same
    assert is_expr(summarize["timeout"], "var.summarize_timeout_seconds")
    # Room for the unmanaged-resource inventory's default budget (300 s) and
    # the 60 s the summary needs after it (a precondition holds the relation).
    assert stack.variables["summarize_timeout_seconds"]["default"] == 600
    assert stack.variables["unmanaged_time_budget_seconds"]["default"] == 300
    assert stack.resolve(summarize["function_name"]) == "drift-detection-summarize-" + SUFFIX


# CodeBuild lane ---------------------------------------------------------------


def test_codebuild_project(stack: Stack) -> None:
    project = stack.resource("aws_codebuild_project", "module.codebuild_lane.this")
    assert stack.resolve(project["name"]) == "drift-detection-large-checks-" + SUFFIX
    assert is_expr(project["build_timeout"], "var.codebuild_timeout_minutes")
    timeout = stack.variables["codebuild_timeout_minutes"]
    assert timeout["default"] == 120
    assert ">= 5" in timeout["validation"][0]["condition"] and "<= 480" in timeout["validation"][0]["condition"]
    assert is_expr(project["encryption_key"], "aws_kms_key.this.arn")
    assert is_expr(project["service_role"], "module.codebuild_lane.aws_iam_role.this.arn")
    (source,) = project["source"]
    assert source["type"] == "NO_SOURCE"
    assert source["buildspec"] == '${file("${path.module}/buildspec.yml")}'
    assert project["artifacts"] == [{"type": "NO_ARTIFACTS"}]
    (environment,) = project["environment"]
    assert environment["type"] == "ARM_CONTAINER"
    assert environment["privileged_mode"] is False
    assert is_expr(environment["image"], "var.codebuild_image")
    assert stack.variables["codebuild_image"]["default"] == "aws/codebuild/amazonlinux-aarch64-standard:3.0"
    assert is_expr(environment["compute_type"], "var.codebuild_compute_type")
    assert stack.variables["codebuild_compute_type"]["default"] == "BUILD_GENERAL1_SMALL"
    (logs,) = project["logs_config"]
    assert logs["cloudwatch_logs"][0]["status"] == "ENABLED"
    assert is_expr(logs["cloudwatch_logs"][0]["group_name"], "module.codebuild_lane.aws_cloudwatch_log_group.this.name")
    group = stack.resource("aws_cloudwatch_log_group", "module.codebuild_lane.this")
    assert group["name"] == "/aws/codebuild/drift-detection-large-checks-" + SUFFIX
    assert is_expr(group["kms_key_id"], "aws_kms_key.this.arn")
    role = stack.resource("aws_iam_role", "module.codebuild_lane.this")
    assert role["name"] == "drift-detection-codebuild-" + SUFFIX


def codebuild_environment(stack: Stack) -> set[str]:
    """Names of the variables every build gets: the caller's map and the
    module's own."""
    call = stack.modules["codebuild_lane"].args["environment_variables"]
    module = stack.modules["codebuild_lane"].config.resources[("aws_codebuild_project", "this")]
    dynamic = module["environment"][0]["dynamic"][0]["environment_variable"]
    own = set(re.findall(r"\b([A-Z][A-Z0-9_]+)\s*=", dynamic["for_each"]))
    return set(call) | own


def test_codebuild_environment(stack: Stack) -> None:
    names = codebuild_environment(stack)
    assert {
        "WORKER_ARTIFACT",
        "TERRAFORM_ARTIFACT",
        "REPORT_BUCKET",
        "REPORT_KMS_KEY_ARN",
        "SNS_TOPIC_ARN",
        "METRICS_NAMESPACE",
        "TERRAFORM_PARALLELISM",
        "TERRAFORM_PATH",
    } <= names
    call = stack.modules["codebuild_lane"].args["environment_variables"]
    assert is_expr(call["TERRAFORM_PARALLELISM"], "tostring(var.terraform_parallelism)")
    assert is_expr(call["REPORT_BUCKET"], "module.storage.aws_s3_bucket.this.id")


def test_artifacts_are_uploaded_and_follow_the_build(stack: Stack) -> None:
    objects = stack.resources_of("aws_s3_object")
    assert set(objects) == {"module.codebuild_lane.worker", "module.codebuild_lane.terraform"}
    for name, path in (("worker", "local.worker_zip_path"), ("terraform", "local.terraform_layer_zip_path")):
        body = objects[f"module.codebuild_lane.{name}"]
        assert body["key"].startswith("artifacts/"), body["key"]
        assert is_expr(body["source"], path)
        # A new build changes the hash, so the object is uploaded again.
        assert is_expr(body["source_hash"], f"filemd5({path})")
        assert is_expr(body["kms_key_id"], "aws_kms_key.this.arn")
        assert is_expr(body["bucket"], "module.storage.aws_s3_bucket.this.id")


# Buildspec --------------------------------------------------------------------


@pytest.fixture(scope="module")
def buildspec() -> dict[str, Any]:
    spec: dict[str, Any] = yaml.safe_load(BUILDSPEC.read_text())
    return spec


def test_buildspec_fetches_both_artifacts_and_runs_the_worker_one_shot(buildspec: dict[str, Any]) -> None:
    assert str(buildspec["version"]) == "0.2"
    assert buildspec["env"]["shell"] == "bash"
    build = buildspec["phases"]["build"]
    commands = build["commands"]
    assert commands[0] == "set +x"
    text = "\n".join(commands)
    assert re.search(r'aws s3 cp [^\n]*"\$WORKER_ARTIFACT"', text)
    assert re.search(r'aws s3 cp [^\n]*"\$TERRAFORM_ARTIFACT"', text)
    assert re.search(r"unzip [^\n]*worker\.zip", text)
    assert re.search(r'unzip [^\n]*terraform-layer\.zip -d "\$DRIFT_INSTALL_DIR"', text)
    # The worker's one-shot mode, last: the phase fails with its exit code.
    assert re.fullmatch(
        r'\S*bootstrap --event-file event\.json --response-file response\.json --timeout "\$DRIFT_CHECK_TIMEOUT_SECONDS"',
        commands[-1],
    )
    # The event comes from S3 by key, into a private file: never through the
    # build's environment, which BatchGetBuilds shows.
    assert any(
        re.fullmatch(r'\(umask 077 && aws s3 cp [^\n]*"s3://\$REPORT_BUCKET/\$DRIFT_EVENT_KEY" event\.json\)', c)
        for c in commands
    )
    for variable in ("DRIFT_EVENT_KEY", "DRIFT_RESPONSE_KEY"):
        assert any(f'case "${{{variable}:-}}" in executions/?*)' in c for c in commands), variable


def test_buildspec_always_uploads_the_response(buildspec: dict[str, Any]) -> None:
    build = buildspec["phases"]["build"]
    finally_ = "\n".join(build["finally"])
    assert re.search(r'aws s3 cp [^\n]*response\.json" "s3://\$REPORT_BUCKET/\$DRIFT_RESPONSE_KEY"', finally_)
    assert "event.json" in finally_, "the event file is removed"
    assert set(buildspec["phases"]) == {"build"}, "nothing else can stop the upload"


def test_buildspec_never_prints_the_event(buildspec: dict[str, Any]) -> None:
    code = [line for line in BUILDSPEC.read_text().splitlines() if not line.lstrip().startswith("#")]
    text = "\n".join(code)
    assert "set -x" not in text
    assert "DRIFT_WORKER_EVENT" not in text, "the event itself never travels in the environment"
    for line in code:
        assert "cat event.json" not in line
    assert "printenv" not in text and re.search(r"(^|\s)env(\s|$)", text.replace("env:", "")) is None


def test_the_worker_zip_and_layer_have_the_layout_the_buildspec_expects() -> None:
    # scripts/build-terraform-layer writes bin/terraform; cargo lambda's zip
    # holds bootstrap at its root (the worker module's handler).
    layer_script = (REPO / "scripts" / "build-terraform-layer").read_text()
    assert 'ZipInfo("bin/terraform"' in layer_script
    text = BUILDSPEC.read_text()
    assert "worker/bootstrap" in text
    stack_vars = (REPO / "variables.tf").read_text()
    assert 'default     = "target/lambda/drift-detection-worker/bootstrap.zip"' in stack_vars
