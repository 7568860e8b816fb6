"""The dashboard module renders the body the single-file stack did, with
exactly the changes the run's state machine brought (issue 14).

The dashboard's body is one `jsonencode()` expression that python-hcl2 can
only read as text, so this evaluates it: the pinned terraform (no provider
needed, the resources become locals) renders the body of the 1bbbd43
main.tf (fixtures/main.tf.1bbbd43) and the body of modules/dashboard called
as main.tf calls it, both with the same stand-in names. The old widgets
stay where they were, unchanged but for the edits listed in
`expected_old_widgets`; the run's widgets follow them.
"""

from __future__ import annotations

import copy
import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import hcl2
from stack_hcl import REPO

TERRAFORM = REPO / ".tools" / "bin" / "terraform"
STATE_MACHINE_ARN = "arn:aws:states:eu-west-1:111111111111:stateMachine:drift-detection-runs-dev"
OLD_MAIN = Path(__file__).with_name("fixtures") / "main.tf.1bbbd43"

# What the references of either version stand for; both get the same.
STAND_INS = {
    "aws_lambda_function.worker.function_name": "local.worker_function_name",
    "module.worker.function_name": "local.worker_function_name",
    "aws_lambda_function.orchestrator.function_name": "local.orchestrator_function_name",
    "module.orchestrator.function_name": "local.orchestrator_function_name",
    "aws_cloudwatch_log_group.worker.name": "local.worker_log_group_name",
    "module.worker.log_group_name": "local.worker_log_group_name",
    "module.summarize.function_name": "local.summarize_function_name",
    "module.state_machine.state_machine_arn": "local.state_machine_arn",
}

SCRATCH_ROOT = """
locals {
  region                     = "eu-west-1"
  orchestrator_service_name  = "drift-detection-orchestrator"
  summarize_service_name     = "drift-detection-summarize"
  trigger_service_name       = "drift-detection-trigger"
  summarize_function_name    = "drift-detection-summarize-dev"
  state_machine_arn          = "arn:aws:states:eu-west-1:111111111111:stateMachine:drift-detection-runs-dev"
  worker_function_name       = "drift-detection-worker-dev"
  orchestrator_function_name = "drift-detection-orchestrator-dev"
  worker_log_group_name      = "/aws/lambda/drift-detection-worker-dev"
  dashboard_drift_metrics = [
    { metric = "DriftedResources", title = "Drifted resources by environment" },
    { metric = "CriticalDrift", title = "Critical drift by environment" },
    { metric = "PendingChanges", title = "Pending changes by environment" },
    { metric = "DetectionErrors", title = "Detection errors by environment" },
  ]
}

variable "environment_suffix" {
  default = "dev"
}

variable "metrics_namespace" {
  default = "DriftDetection"
}

variable "dashboard_environments" {
  default = ["dev", "staging", "prod"]
}

variable "event_checks_enabled" {
  default = true
}

output "old" {
  value = local.dashboard_body
}

output "new" {
  value = module.dashboard.body
}
"""


def _block(text: str, header: str) -> str:
    """The top-level block that starts with `header`, up to its closing brace."""
    m = re.search(r"^" + re.escape(header) + r" \{\n.*?^\}\n", text, re.MULTILINE | re.DOTALL)
    assert m, f"no block {header}"
    return m.group(0)


def _stand_in(text: str) -> str:
    for ref, stand_in in STAND_INS.items():
        text = re.sub(r"(?<![\w.])" + re.escape(ref) + r"\b", stand_in, text)
    return text


def _as_locals(block: str) -> str:
    """A resource block as a locals block: its arguments become locals."""
    return re.sub(r'^resource "[^"]+" "[^"]+" \{', "locals {", block)


def _typed_variables(variables_tf: str) -> str:
    """The module's variables with their types only: the pinned terraform
    predates some functions the validations use, and they play no part in
    rendering the body."""
    parsed = hcl2.loads(variables_tf)
    out = []
    for entry in parsed["variable"]:
        for name, body in entry.items():
            vtype = body["type"]  # `string`, or `${list(...)}` for a complex type
            if vtype.startswith("${"):
                vtype = vtype[2:-1]
            out.append(f"variable {name} {{\n  type = {vtype}\n}}\n")
    return "\n".join(out)


def expected_old_widgets(old: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The old widgets with the changes issue 14 made, and only those: the
    run metrics are the summarize step's (service dimension), the runs
    widget is no longer the orchestrator's, and the summarize function's
    errors and throttles are drawn with the others'."""
    widgets = copy.deepcopy(old)
    runs = next(w for w in widgets if w["properties"].get("title") == "Orchestrator runs")
    runs["properties"]["title"] = "Runs"
    for metric in runs["properties"]["metrics"]:
        assert metric[2:4] == ["service", "drift-detection-orchestrator"]
        metric[3] = "drift-detection-summarize"
    errors = next(w for w in widgets if w["properties"].get("title") == "Lambda errors and throttles")
    errors["properties"]["metrics"] += [
        ["AWS/Lambda", "Errors", "FunctionName", "drift-detection-summarize-dev", {"label": "summarize errors"}],
        ["AWS/Lambda", "Throttles", "FunctionName", "drift-detection-summarize-dev", {"label": "summarize throttles"}],
    ]
    return widgets


def check_run_widgets(widgets: list[dict[str, Any]]) -> None:
    """The run's widgets: summarize metrics by service, skipped workspaces
    with the must-be-0 annotation, the state machine's executions."""
    by_title = {w["properties"]["title"]: w["properties"] for w in widgets}
    for title, metric in (
        ("Run duration (s)", "RunDurationSeconds"),
        ("Workspaces checked", "WorkspacesChecked"),
        ("Workspaces skipped (must be 0)", "WorkspacesSkipped"),
        ("Throttled retries", "ThrottleRetries"),
    ):
        (line,) = by_title[title]["metrics"]
        assert line[:4] == ["DriftDetection", metric, "service", "drift-detection-summarize"], title
    (annotation,) = by_title["Workspaces skipped (must be 0)"]["annotations"]["horizontal"]
    assert annotation["value"] == 1 and annotation["fill"] == "above"
    # What nobody manages (issue 15, part 2): one widget with the three
    # counts, one with the inventory's errors and its must-be-0 annotation.
    nobody = by_title["What nobody manages"]
    assert [m[:4] for m in nobody["metrics"]] == [
        ["DriftDetection", metric, "service", "drift-detection-summarize"]
        for metric in ("UnmanagedResources", "ManagedTwice", "GoneFromInventory")
    ]
    (errors,) = by_title["Inventory errors (must be 0)"]["metrics"]
    assert errors[:4] == ["DriftDetection", "InventoryErrors", "service", "drift-detection-summarize"]
    (annotation,) = by_title["Inventory errors (must be 0)"]["annotations"]["horizontal"]
    assert annotation["value"] == 1 and annotation["fill"] == "above"
    executions = by_title["Run executions"]["metrics"]
    assert [m[1] for m in executions] == [
        "ExecutionsStarted",
        "ExecutionsSucceeded",
        "ExecutionsFailed",
        "ExecutionsTimedOut",
    ]
    for m in executions:
        assert m[0] == "AWS/States" and m[2:4] == ["StateMachineArn", STATE_MACHINE_ARN]
    # Event-driven checks (issue 16): the trigger's counts by service, the
    # worker's detection latency as its dimensionless aggregate.
    events = by_title["Event-driven checks"]
    assert [m[:4] for m in events["metrics"]] == [
        ["DriftDetection", metric, "service", "drift-detection-trigger"]
        for metric in (
            "EventsReceived",
            "EventsIgnored",
            "EventsMatched",
            "EventsUnmatched",
            "EventsDebounced",
            "ChecksStarted",
        )
    ]
    assert events["stat"] == "Sum"
    latency = by_title["Detection latency (s)"]["metrics"]
    assert [m[:2] for m in latency] == [["DriftDetection", "DetectionLatencySeconds"]] * 3
    assert [m[2]["stat"] for m in latency] == ["p50", "p90", "Maximum"]
    # Below the old widgets, none overlapping, all within the 24-column grid.
    cells = set()
    for w in widgets:
        assert w["y"] >= 26 and w["x"] + w["width"] <= 24
        for x in range(w["x"], w["x"] + w["width"]):
            for y in range(w["y"], w["y"] + w["height"]):
                assert (x, y) not in cells, w["properties"]["title"]
                cells.add((x, y))


def test_module_renders_the_old_dashboard_body(tmp_path: Path) -> None:
    old_block = _block(OLD_MAIN.read_text(), 'resource "aws_cloudwatch_dashboard" "this"')
    old_block = re.sub(r"^  dashboard_name = .*\n", "", old_block, flags=re.MULTILINE)
    call = _block((REPO / "main.tf").read_text(), 'module "dashboard"')
    call = call.replace('source = "./modules/dashboard"', 'source = "./dashboard"')
    (tmp_path / "main.tf").write_text(SCRATCH_ROOT + _stand_in(_as_locals(old_block)) + "\n" + _stand_in(call))
    module = tmp_path / "dashboard"
    module.mkdir()
    module_main = _as_locals(
        _block((REPO / "modules/dashboard/main.tf").read_text(), 'resource "aws_cloudwatch_dashboard" "this"')
    )
    (module / "main.tf").write_text(module_main + '\noutput "body" {\n  value = local.dashboard_body\n}\n')
    (module / "variables.tf").write_text(_typed_variables((REPO / "modules/dashboard/variables.tf").read_text()))

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

    terraform("init", "-input=false", "-backend=false")
    terraform("apply", "-input=false", "-auto-approve", "-state", str(tmp_path / "scratch.tfstate"))
    outputs = json.loads(terraform("output", "-json", "-state", str(tmp_path / "scratch.tfstate")))
    old, new = json.loads(outputs["old"]["value"])["widgets"], json.loads(outputs["new"]["value"])["widgets"]
    assert len(old) == 8
    assert new[:8] == expected_old_widgets(old)
    assert len(new) == 17
    check_run_widgets(new[8:])
