"""Plan-free consistency between the stack, the function code and the README.

- Every environment variable the Lambda worker (Rust), the orchestrator,
  the summarize function or the trigger (Python) reads is set in that function's
  `environment { variables }`; what the worker reads is also set on the
  CodeBuild lane, which runs the same binary.
  Until their sources exist, the contract's list is the floor, so these
  tests are real from the start.
- Every output the README's Deploy section names exists in outputs.tf.
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

from stack_hcl import (
    REPO,
    Stack,
    deploy_section,
    is_expr,
    orchestrator_sources,
    python_env_vars,
    readme_output_names,
    rust_env_vars,
    summarize_sources,
    trigger_sources,
    worker_sources,
)

# The lead's contract: what each function reads, whether or not the code is in yet.
WORKER_CONTRACT = {
    "REPORT_BUCKET",
    "SNS_TOPIC_ARN",
    "METRICS_NAMESPACE",
    "TERRAFORM_PATH",
    "TERRAFORM_PARALLELISM",
    "LOG_LEVEL",
    # The resource index of event-driven checks (issue 16).
    "INDEX_TABLE",
    "INDEX_TTL_HOURS",
}
ORCHESTRATOR_CONTRACT = {
    "STATE_MACHINE_ARN",
    "REPORT_BUCKET",
    "SNS_TOPIC_ARN",
    "INVENTORY_S3_URI",
    "WORKSPACES_JSON",
    "MAX_CONCURRENCY",
    "MAX_CONCURRENCY_PER_ACCOUNT",
    "MAX_CONCURRENCY_PER_REGION",
    "POWERTOOLS_SERVICE_NAME",
    "POWERTOOLS_METRICS_NAMESPACE",
    "LOG_LEVEL",
}
SUMMARIZE_CONTRACT = {
    "REPORT_BUCKET",
    "SNS_TOPIC_ARN",
    "POWERTOOLS_SERVICE_NAME",
    "POWERTOOLS_METRICS_NAMESPACE",
    "LOG_LEVEL",
    # What nobody manages (issue 15, part 2).
    "UNMANAGED",
    "UNMANAGED_ALERT",
    "UNMANAGED_IGNORE_JSON",
    "UNMANAGED_TIME_BUDGET_SECONDS",
    "CONFIG_AGGREGATOR_NAME",
}
# Event-driven checks (issue 16): the trigger starts runs through the
# orchestrator's code, so it gets all of that too.
TRIGGER_CONTRACT = ORCHESTRATOR_CONTRACT | {
    "INDEX_TABLE",
    "TRIGGER_QUEUE_URL",
    "EVENT_CHECK_MIN_INTERVAL_MINUTES",
    "EVENT_IGNORE_PRINCIPALS",
}

# Set by the Lambda runtime itself, never by the stack.
RUNTIME_VARIABLES = {
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_LAMBDA_FUNCTION_NAME",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
    "AWS_LAMBDA_FUNCTION_VERSION",
    "AWS_LAMBDA_LOG_GROUP_NAME",
    "AWS_LAMBDA_LOG_STREAM_NAME",
    "AWS_LAMBDA_RUNTIME_API",
    "AWS_EXECUTION_ENV",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "LAMBDA_TASK_ROOT",
    "LAMBDA_RUNTIME_DIR",
    "_HANDLER",
    "_X_AMZN_TRACE_ID",
    "TZ",
    "HOME",
    "TMPDIR",
    "PATH",
}


def function_environment(stack: Stack, function: str) -> dict[str, str]:
    variables: dict[str, str] = stack.resource("aws_lambda_function", f"module.{function}.this")["environment"][0][
        "variables"
    ]
    return variables


def read_by(files: list[Path], extract: Callable[[str], set[str]]) -> set[str]:
    found: set[str] = set()
    for f in files:
        found |= extract(f.read_text())
    return found - RUNTIME_VARIABLES


def test_worker_environment_covers_what_the_worker_reads(stack: Stack) -> None:
    wanted = WORKER_CONTRACT | read_by(worker_sources(), rust_env_vars)
    missing = wanted - set(function_environment(stack, "worker"))
    assert not missing, f"worker reads {sorted(missing)} but the stack does not set them"


def test_orchestrator_environment_covers_what_the_orchestrator_reads(stack: Stack) -> None:
    wanted = ORCHESTRATOR_CONTRACT | read_by(orchestrator_sources(), python_env_vars)
    missing = wanted - set(function_environment(stack, "orchestrator"))
    assert not missing, f"orchestrator reads {sorted(missing)} but the stack does not set them"


def test_summarize_environment_covers_what_summarize_reads(stack: Stack) -> None:
    wanted = SUMMARIZE_CONTRACT | read_by(summarize_sources(), python_env_vars)
    missing = wanted - set(function_environment(stack, "summarize"))
    assert not missing, f"summarize reads {sorted(missing)} but the stack does not set them"


def test_trigger_environment_covers_what_the_trigger_and_the_package_read(stack: Stack) -> None:
    wanted = TRIGGER_CONTRACT | read_by(orchestrator_sources() + trigger_sources(), python_env_vars)
    missing = wanted - set(function_environment(stack, "trigger"))
    assert not missing, f"the trigger reads {sorted(missing)} but the stack does not set them"


def test_codebuild_lane_environment_covers_what_the_worker_reads(stack: Stack) -> None:
    # The same binary, one-shot: what the Lambda gets, every build gets.
    call = stack.modules["codebuild_lane"].args["environment_variables"]
    project = stack.resource("aws_codebuild_project", "module.codebuild_lane.this")
    own = project["environment"][0]["dynamic"][0]["environment_variable"]["for_each"]
    names = set(call) | {n for n in ("WORKER_ARTIFACT", "TERRAFORM_ARTIFACT", "TERRAFORM_PATH") if f"{n} =" in own}
    wanted = WORKER_CONTRACT | {"REPORT_KMS_KEY_ARN"} | read_by(worker_sources(), rust_env_vars)
    missing = wanted - names
    assert not missing, f"the worker reads {sorted(missing)} but the CodeBuild lane does not set them"
    worker = function_environment(stack, "worker")
    for name, value in call.items():
        if name in worker:
            assert value == worker[name], name


def test_environment_values_are_wired_to_the_stack(stack: Stack) -> None:
    worker = function_environment(stack, "worker")
    assert is_expr(worker["REPORT_BUCKET"], "module.storage.aws_s3_bucket.this.id")
    assert is_expr(worker["SNS_TOPIC_ARN"], "module.alerting.aws_sns_topic.this.arn")
    assert is_expr(worker["METRICS_NAMESPACE"], "var.metrics_namespace")
    assert stack.variables["metrics_namespace"]["default"] == "DriftDetection"
    assert worker["TERRAFORM_PATH"] == "/opt/bin/terraform"
    assert is_expr(worker["REPORT_KMS_KEY_ARN"], "aws_kms_key.this.arn")
    assert is_expr(worker["LOG_LEVEL"], "lower(var.log_level)")
    assert is_expr(worker["TERRAFORM_PARALLELISM"], "tostring(var.terraform_parallelism)")
    orchestrator = function_environment(stack, "orchestrator")
    assert "WORKER_FUNCTION_ARN" not in orchestrator, "the state machine invokes the worker"
    assert is_expr(orchestrator["STATE_MACHINE_ARN"], "module.state_machine.aws_sfn_state_machine.this.arn")
    assert is_expr(orchestrator["REPORT_BUCKET"], "module.storage.aws_s3_bucket.this.id")
    assert is_expr(orchestrator["SNS_TOPIC_ARN"], "module.alerting.aws_sns_topic.this.arn")
    assert is_expr(orchestrator["WORKSPACES_JSON"], 'var.inventory_s3_uri == null ? jsonencode(var.workspaces) : ""')
    assert is_expr(orchestrator["MAX_CONCURRENCY"], "tostring(var.max_concurrency)")
    assert is_expr(orchestrator["MAX_CONCURRENCY_PER_ACCOUNT"], "tostring(var.max_concurrency_per_account)")
    assert is_expr(orchestrator["MAX_CONCURRENCY_PER_REGION"], "tostring(var.max_concurrency_per_region)")
    defaults = {
        "max_concurrency": 40,
        "max_concurrency_per_account": 5,
        "max_concurrency_per_region": 5,
        "terraform_parallelism": 10,
    }
    for variable, default in defaults.items():
        assert stack.variables[variable]["default"] == default, variable
    assert "<= 10000" in stack.variables["max_concurrency"]["validation"][0]["condition"]
    assert stack.resolve(orchestrator["POWERTOOLS_SERVICE_NAME"]) == "drift-detection-orchestrator"
    assert is_expr(orchestrator["POWERTOOLS_METRICS_NAMESPACE"], "var.metrics_namespace")
    assert is_expr(orchestrator["INVENTORY_S3_URI"], 'var.inventory_s3_uri == null ? "" : var.inventory_s3_uri')
    assert is_expr(orchestrator["LOG_LEVEL"], 'var.log_level == "WARN" ? "WARNING" : var.log_level')
    summarize = function_environment(stack, "summarize")
    assert is_expr(summarize["REPORT_BUCKET"], "module.storage.aws_s3_bucket.this.id")
    assert is_expr(summarize["SNS_TOPIC_ARN"], "module.alerting.aws_sns_topic.this.arn")
    assert stack.resolve(summarize["POWERTOOLS_SERVICE_NAME"]) == "drift-detection-summarize"
    assert is_expr(summarize["POWERTOOLS_METRICS_NAMESPACE"], "var.metrics_namespace")
    assert summarize["LOG_LEVEL"] == orchestrator["LOG_LEVEL"]
    workspaces = stack.variables["workspaces"]["type"]
    for attr in ("name", "environment", "account_id", "region", "role_arn", "external_id", "source", "backend_config"):
        assert f"{attr} =" in workspaces, attr


def test_environment_extractors() -> None:
    rust = """
        // env::var("IN_A_COMMENT") is not read
        let bucket = std::env::var("REPORT_BUCKET")?;
        let path = env::var_os( "TERRAFORM_PATH" );
        let key = get("REPORT_KMS_KEY_ARN");
        #[arg(long, env = "DRIFT_LOG")]
        let message = format!("LOG_LEVEL is not set");
        #[cfg(test)]
        mod tests { fn t() { get("ONLY_IN_TESTS"); } }
    """
    assert rust_env_vars(rust) == {"REPORT_BUCKET", "TERRAFORM_PATH", "REPORT_KMS_KEY_ARN", "DRIFT_LOG"}
    python = textwrap.dedent(
        '''
        """Every variable is read with os.environ.get("NAME")."""
        import os
        ARN = os.environ["WORKER_FUNCTION_ARN"]
        uri = os.environ.get('INVENTORY_S3_URI', "").strip()
        level = os.getenv("LOG_LEVEL", "INFO")
        other = environ.get("NOT_MATCHED")
        '''
    )
    assert python_env_vars(python) == {"WORKER_FUNCTION_ARN", "INVENTORY_S3_URI", "LOG_LEVEL"}


def test_the_function_sources_are_found_when_present() -> None:
    # Guards the globs: a moved module would otherwise make the tests vacuous.
    if (REPO / "crates" / "drift-worker" / "src" / "main.rs").is_file():
        assert any(p.name != "main.rs" for p in worker_sources()), "the worker's modules"
        assert "REPORT_BUCKET" in read_by(worker_sources(), rust_env_vars)
    if (REPO / "lib" / "lambda" / "orchestrator.py").is_file():
        assert "REPORT_BUCKET" in read_by(orchestrator_sources(), python_env_vars)
        assert not any("tests" in p.parts for p in orchestrator_sources())
        assert not any(p.name == "summarize.py" for p in orchestrator_sources())
    if (REPO / "lib" / "lambda" / "summarize.py").is_file():
        assert [p.name for p in summarize_sources()] == ["summarize.py"]
    if (REPO / "lib" / "lambda" / "trigger.py").is_file():
        assert "trigger.py" in [p.name for p in trigger_sources()]
        assert not set(trigger_sources()) & set(orchestrator_sources())


def test_readme_convention_extracts_output_names() -> None:
    section = deploy_section(
        "# Title\n\n## Deploy\n\nRun `terraform output -raw sns_topic_arn` and\n"
        "terraform output dashboard_url.\n\n| Output | Meaning |\n| --- | --- |\n"
        "| `reports_bucket_name` | bucket |\n| `worker_function_arn` | worker |\n\n"
        "| Variable | Meaning |\n| --- | --- |\n| `region` | not an output |\n\n## Next\n`not_this`\n"
    )
    assert section is not None
    assert readme_output_names(section) == {
        "sns_topic_arn",
        "dashboard_url",
        "reports_bucket_name",
        "worker_function_arn",
    }


def test_readme_names_only_real_outputs(stack: Stack) -> None:
    section = deploy_section((REPO / "README.md").read_text())
    assert section is not None, "README.md has no '## Deploy' section"
    names = readme_output_names(section)
    assert len(names) >= 10, f"the Deploy section names too few outputs: {sorted(names)}"
    assert not names - set(stack.outputs), f"unknown outputs: {sorted(names - set(stack.outputs))}"
