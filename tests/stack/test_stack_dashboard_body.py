"""The dashboard module renders the very body the single-file stack did.

The dashboard's body is one `jsonencode()` expression that python-hcl2 can
only read as text, so this evaluates it: the pinned terraform (no provider
needed, the resources become locals) renders the body of the 1bbbd43
main.tf (fixtures/main.tf.1bbbd43) and the body of modules/dashboard called
as main.tf calls it, both with the same stand-in names, and they must be
the same string: an upgrade neither replaces nor updates the dashboard.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import hcl2
from stack_hcl import REPO

TERRAFORM = REPO / ".tools" / "bin" / "terraform"
OLD_MAIN = Path(__file__).with_name("fixtures") / "main.tf.1bbbd43"

# What the references of either version stand for; both get the same.
STAND_INS = {
    "aws_lambda_function.worker.function_name": "local.worker_function_name",
    "module.worker.function_name": "local.worker_function_name",
    "aws_lambda_function.orchestrator.function_name": "local.orchestrator_function_name",
    "module.orchestrator.function_name": "local.orchestrator_function_name",
    "aws_cloudwatch_log_group.worker.name": "local.worker_log_group_name",
    "module.worker.log_group_name": "local.worker_log_group_name",
}

SCRATCH_ROOT = """
locals {
  region                     = "eu-west-1"
  orchestrator_service_name  = "drift-detection-orchestrator"
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
    old, new = outputs["old"]["value"], outputs["new"]["value"]
    assert json.loads(old)["widgets"], "the old body has widgets"
    assert len(json.loads(old)["widgets"]) == 8
    assert new == old
