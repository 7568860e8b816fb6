"""The workspace contract: the packaged schemas give the shared cases' verdicts.

``tests/contract/workspace-cases.json`` is the table the Rust rules and the
generated schema are held to (src/workspace.rs); here Python's ``jsonschema``
reads the copies packaged with the Lambda code and must agree, entry by entry.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest

LAMBDA_DIR = Path(__file__).resolve().parents[1]
REPO = LAMBDA_DIR.parents[1]
PACKAGED = LAMBDA_DIR / "drift_orchestrator" / "schemas"
CASES: list[dict[str, Any]] = json.loads((REPO / "tests/contract/workspace-cases.json").read_text())["cases"]


def _ecma_pattern(validator: Any, pattern: str, instance: Any, schema: Any) -> Any:
    """``pattern`` as JSON Schema means it: Python's ``$`` also matches before
    a final line feed, ECMA-262's only at the end."""
    del validator, schema
    if isinstance(instance, str) and not re.search(re.sub(r"\$$", r"\\Z", pattern), instance):
        yield jsonschema.ValidationError(f"does not match {pattern!r}")


# jsonschema leaves `extend` unannotated in its stubs.
Validator = jsonschema.validators.extend(  # type: ignore[no-untyped-call]
    jsonschema.Draft202012Validator, {"pattern": _ecma_pattern}
)


def validator(file: str, definition: str | None = None) -> Any:
    schema = json.loads((PACKAGED / file).read_text())
    if definition is not None:
        schema = {"$schema": schema["$schema"], "$defs": schema["$defs"], "$ref": f"#/$defs/{definition}"}
    Validator.check_schema(schema)
    return Validator(schema)


def test_the_packaged_schemas_are_the_committed_ones() -> None:
    for name in ("workspace.v1.json", "worker-event.v1.json"):
        assert (PACKAGED / name).read_bytes() == (REPO / "schemas" / name).read_bytes(), name


@pytest.mark.parametrize("case", CASES, ids=[c["case"] for c in CASES])
def test_a_shared_case_gets_its_verdict(case: dict[str, Any]) -> None:
    entry = case["entry"]
    assert validator("workspace.v1.json", "CliEntry").is_valid(entry) is case["cli"]
    assert validator("workspace.v1.json", "AwsEntry").is_valid(entry) is case["aws"]
    if not ("dir" in entry and "plan" in entry):
        event = {k: v for k, v in entry.items() if k not in ("dir", "plan", "name")}
        event.update(workspace=entry.get("name"), run_id="run-1")
        assert validator("worker-event.v1.json").is_valid(event) is case["aws"]
