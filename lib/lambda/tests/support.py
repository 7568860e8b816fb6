"""Test doubles: a fake Lambda context, inventory entries."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
from aws_lambda_powertools.utilities.typing import LambdaContext

ACCOUNT = "123456789012"
REGION = "us-east-1"
STATE_MACHINE_ARN = f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:drift-detection-runs-test"
REPORT_BUCKET = "drift-reports-test"
SECRET = "ext-id-do-not-leak-7f3a"


class FakeContext(LambdaContext):
    """A Lambda context whose remaining time is set by the test."""

    def __init__(self, remaining_ms: int = 900_000) -> None:
        self._function_name = "drift-detection-orchestrator"
        self._function_version = "$LATEST"
        self._memory_limit_in_mb = 256
        self._invoked_function_arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:drift-detection-orchestrator"
        self._aws_request_id = "00000000-0000-4000-8000-000000000001"
        self.remaining_ms = remaining_ms

    def get_remaining_time_in_millis(self) -> int:  # type: ignore[override]
        return self.remaining_ms


def workspace_entry(name: str, environment: str, **overrides: Any) -> dict[str, Any]:
    """An inventory entry, valid unless overridden."""
    entry: dict[str, Any] = {
        "name": name,
        "environment": environment,
        "account_id": "111111111111",
        "region": "us-east-1",
        "role_arn": "arn:aws:iam::111111111111:role/drift-detection-read",
        "external_id": SECRET,
        "source": f"s3://tf-bundles/{environment}/{name}.zip",
        "backend_config": {"bucket": "tf-state", "key": f"{environment}/{name}.tfstate"},
    }
    entry.update(overrides)
    return entry


REPO = Path(__file__).resolve().parents[3]


def summary_validator() -> jsonschema.Draft202012Validator:
    """A validator for ``schemas/run-summary.v1.json``."""
    schema = json.loads((REPO / "schemas" / "run-summary.v1.json").read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)
