"""The workspace contract: the orchestrator gives the shared cases' verdicts.

``tests/contract/workspace-cases.json`` is the table the Rust rules and the
generated schema are held to (crates/drift-core/src/workspace.rs). Here the copies packaged with
the Lambda code must agree with it entry by entry, read three ways: the raw
schema definitions, the orchestrator's real inventory loader, and the worker
event the fan-out builds from what the loader accepted.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from drift_orchestrator import contract
from drift_orchestrator.checks import worker_event
from drift_orchestrator.errors import InventoryError
from drift_orchestrator.inventory import MODES, parse_inventory

LAMBDA_DIR = Path(__file__).resolve().parents[1]
REPO = LAMBDA_DIR.parents[1]
PACKAGED = LAMBDA_DIR / "drift_orchestrator" / "schemas"
TABLE: dict[str, Any] = json.loads((REPO / "tests/contract/workspace-cases.json").read_text())
CASES: list[dict[str, Any]] = TABLE["cases"]
#: The entry's fields a worker event leaves out (its name becomes `workspace`).
EVENT_LEAVES_OUT: list[str] = TABLE["event_leaves_out"]


def definition(name: str) -> Any:
    schema = contract.load(contract.WORKSPACE_SCHEMA)
    return contract.Validator({"$schema": schema["$schema"], "$defs": schema["$defs"], "$ref": f"#/$defs/{name}"})


def test_the_packaged_schemas_are_the_committed_ones() -> None:
    for name in (contract.WORKSPACE_SCHEMA, contract.EVENT_SCHEMA):
        assert (PACKAGED / name).read_bytes() == (REPO / "schemas" / name).read_bytes(), name


def test_the_packaged_schemas_are_draft_2020_12_schemas() -> None:
    for name in (contract.WORKSPACE_SCHEMA, contract.EVENT_SCHEMA):
        schema = contract.load(name)
        assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
        contract.Validator.check_schema(schema)


def test_the_modes_are_the_schemas() -> None:
    assert MODES == ("plan", "refresh-only", "both")


@pytest.mark.parametrize("case", CASES, ids=[c["case"] for c in CASES])
def test_a_shared_case_gets_its_verdict_from_the_schema(case: dict[str, Any]) -> None:
    entry = case["entry"]
    assert definition("CliEntry").is_valid(entry) is case["cli"]
    assert definition("AwsEntry").is_valid(entry) is case["aws"]
    assert definition("AwsInventory").is_valid([entry]) is case["aws"]
    assert definition("AwsInventory").is_valid({"workspaces": [entry]}) is case["aws"]
    if not ("dir" in entry and "plan" in entry):
        event = {k: v for k, v in entry.items() if k not in EVENT_LEAVES_OUT}
        event.update(workspace=entry.get("name"), run_id="run-1")
        # A fault in a field the event leaves out is not the event's.
        assert contract.worker_event().is_valid(event) is case.get("event", case["aws"])


@pytest.mark.parametrize("case", CASES, ids=[c["case"] for c in CASES])
def test_a_shared_case_gets_its_verdict_from_the_inventory_loader(case: dict[str, Any]) -> None:
    entry = case["entry"]
    if not case["aws"]:
        with pytest.raises(InventoryError) as caught:
            parse_inventory(json.dumps([entry]), "cases")
        message = str(caught.value)
        assert message.startswith("inventory cases has ")
        assert "workspace #1" in message
        # The fault names the field, never a value: any value may be a secret.
        for key, value in entry.items():
            if key != "name" and isinstance(value, str):
                assert repr(value) not in message, key
                assert json.dumps(value) not in message, key
        return
    [workspace] = parse_inventory(json.dumps([entry]), "cases")
    assert workspace.name == entry["name"]
    # What the loader accepts, the orchestrator turns into an event the worker takes.
    event = worker_event(workspace, run_id="run-1", run_started_at="2026-11-27T06:00:00Z", mode=None)
    assert contract.faults(contract.worker_event(), event, contract.EVENT_SCHEMA) == []
    assert event["workspace"] == entry["name"]
