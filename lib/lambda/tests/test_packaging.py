"""Packaging: the function zip and the layer zip run the handler on their own.

The layer is built by ``scripts/build-orchestrator-layer`` (pip, from the pins
in requirements-dev.txt); the function zip is ``lib/lambda`` without tests,
caches and README, as the Terraform stack's ``archive_file`` makes it. A
separate interpreter then sees only the two unpacked zips plus what the
Lambda Python runtime provides (boto3 and its dependencies), in the order
Lambda puts them on ``sys.path``, and runs a dry run through the handler.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import os
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path
from typing import Any

from tests.support import workspace_entry

LAMBDA_DIR = Path(__file__).resolve().parents[1]
REPO = LAMBDA_DIR.parents[1]
#: What the Terraform stack's archive_file leaves out of the function zip.
EXCLUDED = ("tests", "__pycache__", "README.md", ".mypy_cache", ".pytest_cache", ".ruff_cache")

RUNNER = """
import json, os, sys
task, layer, runtime = sys.argv[1:4]
sys.path[:0] = [task, layer + "/python", runtime]

import orchestrator
import summarize

class Context:
    function_name = "drift-detection-orchestrator"
    function_version = "$LATEST"
    memory_limit_in_mb = 256
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:orchestrator"
    aws_request_id = "packaging-test"

    def get_remaining_time_in_millis(self):
        return 600_000

result = orchestrator.handler({"dry_run": True, "run_id": "packaging-test"}, Context())

# The contract refuses what Python's own `$` would let through.
from drift_orchestrator.errors import InventoryError
from drift_orchestrator.inventory import parse_inventory
entry = json.loads(os.environ["WORKSPACES_JSON"])[0]
try:
    parse_inventory(json.dumps([dict(entry, region="us-east-1\\n")]), "probe")
    refused = None
except InventoryError as e:
    refused = str(e)

# The summarize step loads from the same zip and layer and checks its input.
from drift_orchestrator.finish import SummarizeError
try:
    summarize.handler({}, Context())
    summarize_refused = None
except SummarizeError as e:
    summarize_refused = str(e)

# The trigger loads from the same zip and layer (Powertools' batch utilities
# included) and checks its own environment.
import trigger
from drift_orchestrator.errors import ConfigError
try:
    trigger.handler({"Records": []}, Context())
    trigger_refused = None
except ConfigError as e:
    trigger_refused = str(e)

files = {name: getattr(module, "__file__", None) for name, module in sys.modules.items()}
print("RESULT " + json.dumps({"result": result, "files": files, "refused": refused, "summarize": summarize_refused,
                              "trigger": trigger_refused}))
"""


def build_function_zip(path: Path) -> list[str]:
    names = []
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for file in sorted(LAMBDA_DIR.rglob("*")):
            relative = file.relative_to(LAMBDA_DIR)
            if file.is_dir() or any(part in EXCLUDED for part in relative.parts):
                continue
            if file.suffix == ".pyc":
                continue
            archive.write(file, relative.as_posix())
            names.append(relative.as_posix())
    return names


#: What the Lambda Python runtime ships besides the layer: boto3 and its dependencies.
RUNTIME_MODULES = ("boto3", "botocore", "s3transfer", "dateutil", "urllib3", "six")


def runtime_packages(folder: Path) -> None:
    """Links this virtualenv's copies of the runtime's modules into ``folder``."""
    folder.mkdir()
    for name in RUNTIME_MODULES:
        spec = importlib.util.find_spec(name)
        assert spec is not None, name
        assert spec.origin is not None, name
        origin = Path(spec.origin)
        source = origin.parent if origin.name == "__init__.py" else origin
        (folder / source.name).symlink_to(source)


def pinned(package: str) -> str:
    """The version requirements-dev.txt pins ``package`` at."""
    prefix = f"{package}=="
    [pin] = [line for line in (REPO / "requirements-dev.txt").read_text().splitlines() if line.startswith(prefix)]
    return pin.removeprefix(prefix)


def test_the_tests_run_the_jsonschema_the_layer_ships() -> None:
    for package in ("jsonschema", "attrs", "pyrsistent"):
        assert importlib.metadata.version(package) == pinned(package), (
            f"{package} in this virtualenv is not the pinned one: run scripts/bootstrap"
        )


def test_the_two_zips_run_the_handler_on_their_own(tmp_path: Path) -> None:
    layer_zip = tmp_path / "orchestrator-layer.zip"
    subprocess.run(
        [str(REPO / "scripts" / "build-orchestrator-layer"), str(layer_zip)],
        cwd=REPO,
        check=True,
        capture_output=True,
        timeout=300,
    )
    with zipfile.ZipFile(layer_zip) as layer:
        layer_names = layer.namelist()
        layer.extractall(tmp_path / "opt")
    assert all(name.startswith("python/") for name in layer_names)
    assert "python/aws_lambda_powertools/__init__.py" in layer_names
    # jsonschema at the version the tests run, with its pure-Python dependencies.
    for package in ("jsonschema", "attrs", "pyrsistent"):
        version = pinned(package)
        assert f"python/{package}-{version}.dist-info/METADATA" in layer_names, package
    assert "python/jsonschema/validators.py" in layer_names
    assert "python/pyrsistent/_pmap.py" in layer_names
    assert not any(name.endswith((".so", ".pyc")) for name in layer_names)
    assert not any(name.startswith(("python/boto3/", "python/botocore/")) for name in layer_names)

    function_zip = tmp_path / "function.zip"
    names = build_function_zip(function_zip)
    assert "orchestrator.py" in names
    assert "summarize.py" in names
    assert "trigger.py" in names
    assert "drift_orchestrator/checks.py" in names
    assert not any(name.startswith((".mypy_cache/", ".pytest_cache/")) for name in names)
    assert not any(name.startswith("tests/") for name in names)
    with zipfile.ZipFile(function_zip) as function:
        function.extractall(tmp_path / "task")
    runtime_packages(tmp_path / "runtime")

    environment = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "POWERTOOLS_SERVICE_NAME": "drift-detection-orchestrator",
        "POWERTOOLS_METRICS_NAMESPACE": "DriftDetection",
        "STATE_MACHINE_ARN": "arn:aws:states:us-east-1:123456789012:stateMachine:drift-detection-runs-test",
        "REPORT_BUCKET": "drift-reports",
        "SNS_TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:drift-alerts",
        "WORKSPACES_JSON": json.dumps([workspace_entry("network", "prod"), workspace_entry("app", "staging")]),
    }
    completed = subprocess.run(
        [
            sys.executable,
            "-I",  # no PYTHONPATH, no user site
            "-S",  # no site-packages: nothing from this virtualenv
            "-c",
            RUNNER,
            str(tmp_path / "task"),
            str(tmp_path / "opt"),
            str(tmp_path / "runtime"),
        ],
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    [line] = [line for line in completed.stdout.splitlines() if line.startswith("RESULT ")]
    outcome: dict[str, Any] = json.loads(line.removeprefix("RESULT "))

    result = outcome["result"]
    assert result["dry_run"] is True
    assert result["run_id"] == "packaging-test"
    assert [w["name"] for w in result["workspaces"]] == ["network", "app"]
    assert outcome["trigger"] is not None
    assert "INDEX_TABLE is not set" in outcome["trigger"]
    assert outcome["summarize"] == ("the summarize step's input has no `run`: is it invoked by the run state machine?")
    assert outcome["refused"] == (
        "inventory probe has 1 problem: workspace #1 ('network'): "
        "`region` must match ^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-[0-9]{1,2}$"
    )

    allowed = (
        str(tmp_path / "task"),
        str(tmp_path / "opt"),
        str(tmp_path / "runtime"),
        sysconfig.get_paths()["stdlib"],
        sysconfig.get_paths()["platstdlib"],
    )
    files: dict[str, str | None] = outcome["files"]
    strays = {name: file for name, file in files.items() if file and not file.startswith(allowed)}
    assert strays == {}
    assert files["orchestrator"] == str(tmp_path / "task" / "orchestrator.py")
    for module in ("aws_lambda_powertools", "jsonschema", "attr", "pyrsistent"):
        origin = files[module]
        assert origin is not None, module
        assert origin.startswith(str(tmp_path / "opt" / "python")), module
