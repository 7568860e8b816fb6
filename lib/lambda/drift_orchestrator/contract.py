"""The workspace contract: the packaged JSON Schemas, and faults that name fields.

``schemas/workspace.v1.json`` and ``schemas/worker-event.v1.json`` are
generated from the Rust type every entry point shares (crates/drift-core/src/workspace.rs); the
copies beside this module are the ones the function zip ships. The inventory
is checked against ``$defs/AwsInventory`` (each entry against
``$defs/AwsEntry``) and every worker event against the event schema, so the
orchestrator holds no rules of its own about names, regions, modes or
durations.

A fault is written from the error's path and keyword and from the schema
(a pattern, a length, the allowed values), never from jsonschema's own
message or the offending value: an ``external_id`` is a shared secret, and
any value may be one, so no fault quotes a value.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import jsonschema
from jsonschema.exceptions import ValidationError

SCHEMAS = Path(__file__).resolve().parent / "schemas"
WORKSPACE_SCHEMA = "workspace.v1.json"
EVENT_SCHEMA = "worker-event.v1.json"

_TYPE_NAMES = {
    "string": "a string",
    "boolean": "a boolean (true or false)",
    "object": "an object",
    "array": "a list",
    "integer": "a whole number",
    "number": "a number",
}


def _ecma_pattern(pattern: str) -> str:
    """``pattern`` for Python's ``re``: JSON Schema patterns are ECMA-262,
    whose ``$`` matches only at the very end, where Python's also matches
    before a final line feed (``us-east-1\\n`` would pass as a region)."""
    out: list[str] = []
    in_class = False
    index = 0
    while index < len(pattern):
        char = pattern[index]
        if char == "\\":
            out.append(pattern[index : index + 2])
            index += 2
            continue
        if in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
        elif char == "$":
            char = r"\Z"
        out.append(char)
        index += 1
    return "".join(out)


@functools.cache
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(_ecma_pattern(pattern))


def _pattern(validator: Any, pattern: str, instance: object, schema: Mapping[str, Any]) -> Iterator[ValidationError]:
    del validator, schema
    if isinstance(instance, str) and _compiled(pattern).search(instance) is None:
        # The message is never shown (faults are built from the keyword);
        # it does not quote the value either, in case something logs it.
        yield ValidationError("does not match the pattern")


#: Draft 2020-12 (what the files declare) with ECMA-262 patterns.
Validator = jsonschema.validators.extend(jsonschema.Draft202012Validator, {"pattern": _pattern})


@functools.cache
def load(name: str) -> dict[str, Any]:
    """One packaged schema file, parsed."""
    schema: dict[str, Any] = json.loads((SCHEMAS / name).read_text(encoding="utf-8"))
    return schema


def _definition(name: str, definition: str) -> Any:
    schema = load(name)
    return Validator({"$schema": schema["$schema"], "$defs": schema["$defs"], "$ref": f"#/$defs/{definition}"})


@functools.cache
def aws_entry() -> Any:
    """The validator of one inventory entry as the AWS side needs it."""
    return _definition(WORKSPACE_SCHEMA, "AwsEntry")


@functools.cache
def aws_inventory() -> Any:
    """The validator of a whole inventory document as the AWS side reads it."""
    return _definition(WORKSPACE_SCHEMA, "AwsInventory")


@functools.cache
def worker_event() -> Any:
    """The validator of one worker invocation's event."""
    return Validator(load(EVENT_SCHEMA))


def entry_properties() -> Mapping[str, Any]:
    """The fields of an inventory entry, with their schemas."""
    properties: Mapping[str, Any] = load(WORKSPACE_SCHEMA)["$defs"]["WorkspaceEntry"]["properties"]
    return properties


def modes() -> tuple[str, ...]:
    """The values ``mode`` may take."""
    return tuple(m for m in entry_properties()["mode"]["enum"] if m is not None)


def runners() -> tuple[str, ...]:
    """The values ``runner`` may take."""
    return tuple(r for r in entry_properties()["runner"]["enum"] if r is not None)


@functools.cache
def _run_id() -> Any:
    return Validator(load(EVENT_SCHEMA)["properties"]["run_id"])


def is_run_id(text: object) -> bool:
    """Whether ``text`` is a run id the worker accepts."""
    return bool(_run_id().is_valid(text))


@functools.cache
def _conditions(name: str) -> dict[str, tuple[str, ...]]:
    """For each field an ``if``/``then`` requires, the fields that require it."""
    found: dict[str, tuple[str, ...]] = {}

    def walk(node: object) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("if"), dict) and isinstance(node.get("then"), dict):
                for needed in node["then"].get("required", ()):
                    found[needed] = tuple(node["if"].get("required", ()))
            for child in node.values():
                walk(child)
        elif isinstance(node, list):
            for child in node:
                walk(child)

    walk(load(name))
    return found


def _field(path: list[str | int]) -> str:
    return "`" + ".".join(str(part) for part in path) + "`"


def _characters(count: object) -> str:
    return f"{count} character{'' if count == 1 else 's'}"


#: A fault: the field it is about ("" for the entry itself) and what is wrong.
Fault = tuple[str, str]


def _missing(name: str, field: str, conditional: bool, schema_file: str) -> Fault:
    needed_by = _conditions(schema_file).get(name, ()) if conditional else ()
    if needed_by:
        return field, f"is missing ({' and '.join(f'`{n}`' for n in needed_by)} needs it)"
    return field, "is missing"


def describe(error: ValidationError, schema_file: str) -> list[Fault]:
    """What ``error`` says, naming the field and the rule, quoting no value."""
    path = list(error.absolute_path)
    field = _field(path) if path else ""
    keyword: object = error.validator
    rule: Any = error.validator_value
    conditional = "then" in error.schema_path
    instance = error.instance
    if keyword == "required":
        present = instance if isinstance(instance, Mapping) else {}
        return [_missing(name, _field([*path, name]), conditional, schema_file) for name in rule if name not in present]
    if keyword == "not" and rule == {"type": "null"}:
        # null means absent, so a required field given as null is missing.
        return [_missing(str(path[-1]), field, conditional, schema_file)]
    if keyword == "not" and isinstance(rule, Mapping) and rule.get("required"):
        together = " and ".join(_field([*path, name]) for name in rule["required"])
        return [(field, f"has {together}, which exclude each other")]
    if keyword == "additionalProperties" and isinstance(instance, Mapping):
        known = error.schema.get("properties", {}) if isinstance(error.schema, Mapping) else {}
        return [(_field([*path, key]), "is an unknown field") for key in sorted(set(instance) - set(known))]
    if keyword == "type":
        wanted = [rule] if isinstance(rule, str) else list(rule)
        names = [_TYPE_NAMES.get(t, t) for t in wanted if t != "null"]
        hint = ""
        if "string" in wanted and isinstance(instance, int | float) and not isinstance(instance, bool):
            hint = " (quote it: a JSON number loses leading zeros)"
        return [(field, f"must be {' or '.join(names)}{' or null' if 'null' in wanted else ''}{hint}")]
    if keyword == "pattern":
        if "propertyNames" in error.schema_path:
            return [(field, f"has a key that does not match {rule}")]
        return [(field, f"must match {rule}")]
    if keyword == "minLength":
        return [(field, f"must be at least {_characters(rule)} long")]
    if keyword == "maxLength":
        return [(field, f"must be at most {_characters(rule)} long")]
    if keyword == "minimum":
        return [(field, f"must be at least {rule}")]
    if keyword == "maximum":
        return [(field, f"must be at most {rule}")]
    if keyword == "enum":
        return [(field, f"must be one of {', '.join(str(v) for v in rule if v is not None)}")]
    if keyword in ("anyOf", "oneOf"):
        description = entry_properties().get(str(path[-1]), {}).get("description") if path else None
        shapes = f": {' '.join(description.split())}" if isinstance(description, str) else ""
        return [(field, f"has none of the allowed forms{shapes}")]
    return [(field, f"breaks the schema's `{keyword}` rule")]


def faults(validator: Any, instance: object, schema_file: str) -> list[str]:
    """The faults of ``instance`` under ``validator``: one per field, each
    saying everything wrong with it, fields in the order found."""
    errors = list(validator.iter_errors(instance))
    # A value of the wrong type fails the rules about its contents as well
    # (a list "has dir and plan" when `not` tests an object's fields, which
    # a list lacks); the type is all there is to say about it.
    mistyped = [tuple(e.absolute_path) for e in errors if e.validator == "type"]
    by_field: dict[str, list[str]] = {}
    for error in errors:
        path = tuple(error.absolute_path)
        if error.validator != "type" and any(path[: len(m)] == m for m in mistyped):
            continue
        for field, problem in describe(error, schema_file):
            problems = by_field.setdefault(field, [])
            if problem not in problems:
                problems.append(problem)
    return [" ".join(filter(None, (field, ", and ".join(problems)))) for field, problems in by_field.items()]
