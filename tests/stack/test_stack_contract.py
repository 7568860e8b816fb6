"""The stack's `workspaces` variable is the workspace contract's AWS entry.

schemas/workspace.v1.json (generated from crates/drift-core/src/workspace.rs) says what an
inventory entry is; `variable "workspaces"` in variables.tf says it again in
Terraform's terms, so that `terraform plan` refuses what the orchestrator
would. Here the two are compared: the object type's attributes, their
optionality and types against `$defs/AwsEntry`, and the validations' regexes,
lengths, bounds and allowed values against the schema's patterns, lengths,
minimums and maximums and enums. Each comparison is also run on a doctored
copy, which it must fault.
"""

from __future__ import annotations

import copy
import json
import re
from typing import Any

import pytest
from stack_hcl import REPO, Stack, hcl_unescape

SCHEMA: dict[str, Any] = json.loads((REPO / "schemas/workspace.v1.json").read_text())


# Terraform type constraints -------------------------------------------------

_TOKEN = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_]*|[(){}\[\],=]|\"(?:[^\"\\]|\\.)*\"|-?[0-9.]+)")


def _tokens(text: str) -> list[str]:
    tokens, position = [], 0
    text = text.strip()
    while position < len(text):
        match = _TOKEN.match(text, position)
        assert match, f"unexpected text in a type: {text[position:]!r}"
        tokens.append(match.group(1))
        position = match.end()
    return tokens


def _parse_type(tokens: list[str]) -> Any:
    """One type constraint: a name, ("list", T), ("map", T),
    ("object", {attr: T}) or ("optional", T, default-tokens)."""
    head = tokens.pop(0)
    if not tokens or tokens[0] != "(":
        return head
    tokens.pop(0)
    if head == "object":
        assert tokens.pop(0) == "{"
        attrs: dict[str, Any] = {}
        while tokens[0] != "}":
            name = tokens.pop(0)
            assert tokens.pop(0) == "="
            attrs[name] = _parse_type(tokens)
            if tokens[0] == ",":
                tokens.pop(0)
        tokens.pop(0)
        result: Any = ("object", attrs)
    else:
        inner = _parse_type(tokens)
        default: list[str] = []
        if head == "optional" and tokens[0] == ",":
            tokens.pop(0)
            depth = 0
            while depth or tokens[0] != ")":
                token = tokens.pop(0)
                depth += (token in ("(", "{", "[")) - (token in (")", "}", "]"))
                default.append(token)
        result = (head, inner, default) if head == "optional" else (head, inner)
    assert tokens.pop(0) == ")"
    return result


def parse_type(text: str) -> Any:
    """A Terraform type constraint as python-hcl2 gives it (`${...}`)."""
    text = text.removeprefix("${").removesuffix("}") if text.startswith("${") else text
    tokens = _tokens(text)
    parsed = _parse_type(tokens)
    assert tokens == [], tokens
    return parsed


def entry_attributes(variable_type: str) -> dict[str, Any]:
    """The attributes of the variable's `list(object({...}))`."""
    parsed = parse_type(variable_type)
    assert parsed[0] == "list" and parsed[1][0] == "object", parsed
    attributes: dict[str, Any] = parsed[1][1]
    return attributes


# What the schema asks of an AWS entry ---------------------------------------


def _defs(schema: dict[str, Any]) -> dict[str, Any]:
    defs: dict[str, Any] = schema["$defs"]
    return defs


def cli_only_fields(schema: dict[str, Any]) -> set[str]:
    """Fields only `$defs/CliEntry` asks for (one of them): the AWS side
    ignores them, so the stack's variable has no use for them."""
    return {name for branch in _defs(schema)["CliEntry"]["anyOf"] for name in branch["required"]}


def aws_required(schema: dict[str, Any]) -> set[str]:
    defs = _defs(schema)
    required = set(defs["WorkspaceEntry"]["required"])
    for part in defs["AwsEntry"].get("allOf", []):
        required |= set(part.get("required", []))
    return required


def terraform_type(field: dict[str, Any]) -> str:
    """The Terraform type a field's schema maps to (null aside)."""
    if "enum" in field:
        kinds = {type(v).__name__ for v in field["enum"] if v is not None}
        assert kinds == {"str"}, kinds
        return "string"
    if "anyOf" in field:
        kinds = {terraform_type(branch) for branch in field["anyOf"] if branch != {"type": "null"}}
        assert len(kinds) == 1, kinds
        return kinds.pop()
    types = field["type"] if isinstance(field["type"], list) else [field["type"]]
    [kind] = [t for t in types if t != "null"]
    if kind == "object":
        return f"map({terraform_type(field['additionalProperties'])})"
    return {"string": "string", "boolean": "bool", "integer": "number", "number": "number"}[kind]


def _render(parsed: Any) -> str:
    if isinstance(parsed, str):
        return parsed
    return f"{parsed[0]}({_render(parsed[1])})"


def type_differences(variable_type: str, schema: dict[str, Any]) -> list[str]:
    """How the variable's entry type departs from `$defs/AwsEntry`."""
    attributes = entry_attributes(variable_type)
    fields = {
        k: v for k, v in _defs(schema)["WorkspaceEntry"]["properties"].items() if k not in cli_only_fields(schema)
    }
    required = aws_required(schema)
    found = [f"{name}: in the schema, not in variables.tf" for name in sorted(set(fields) - set(attributes))]
    found += [f"{name}: in variables.tf, not in the schema" for name in sorted(set(attributes) - set(fields))]
    for name in sorted(set(fields) & set(attributes)):
        attribute = attributes[name]
        optional = isinstance(attribute, tuple) and attribute[0] == "optional"
        if optional == (name in required):
            found.append(f"{name}: {'optional' if optional else 'required'} in variables.tf, not in the schema")
        kind = _render(attribute[1] if optional else attribute)
        if kind != terraform_type(fields[name]):
            found.append(f"{name}: {kind} in variables.tf, {terraform_type(fields[name])} in the schema")
    return found


# What the validations check -------------------------------------------------

_REGEX = re.compile(r'regex\("((?:[^"\\]|\\.)*)",\s*(w\.[a-z_]+|k)\)')
_LENGTH = re.compile(r"length\(w\.([a-z_]+)\)\s*(>=|<=)\s*([0-9]+)")
_ENUM = re.compile(r"contains\(\[([^\]]*)\],\s*coalesce\(w\.([a-z_]+)")
# A number's bounds: `w.parallelism >= 1` (not `length(w.name) >= 1`).
_BOUND = re.compile(r"w\.([a-z_]+)\s*(>=|<=)\s*([0-9]+)")


def _field_of(operand: str) -> str:
    # `k` is a backend_config key: `for k in keys(w.backend_config)`.
    return "backend_config:key" if operand == "k" else operand.removeprefix("w.")


def validation_rules(conditions: list[str]) -> dict[str, set[Any]]:
    """Per field, the patterns, lengths and allowed values the conditions use."""
    rules: dict[str, set[Any]] = {}
    text = "\n".join(conditions)
    for literal, operand in _REGEX.findall(text):
        rules.setdefault(_field_of(operand), set()).add(("pattern", hcl_unescape(literal)))
    for name, op, number in _LENGTH.findall(text):
        rules.setdefault(name, set()).add(("minLength" if op == ">=" else "maxLength", int(number)))
    for listed, name in _ENUM.findall(text):
        values = frozenset(json.loads(f"[{listed}]"))
        rules.setdefault(name, set()).add(("enum", values))
    for name, op, number in _BOUND.findall(text):
        rules.setdefault(name, set()).add(("minimum" if op == ">=" else "maximum", int(number)))
    return rules


def _patterns(field: dict[str, Any]) -> set[str]:
    found = {field["pattern"]} if "pattern" in field else set()
    for branch in field.get("anyOf", []):
        found |= _patterns(branch)
        if "not" in branch:
            found |= _patterns(branch["not"])
    return found


def schema_rules(schema: dict[str, Any]) -> dict[str, set[Any]]:
    """Per field, the patterns, lengths and allowed values of the schema."""
    rules: dict[str, set[Any]] = {}
    properties = _defs(schema)["WorkspaceEntry"]["properties"]
    for name, field in properties.items():
        if name in cli_only_fields(schema):
            continue
        found: set[Any] = {("pattern", p) for p in _patterns(field)}
        found |= {(k, field[k]) for k in ("minLength", "maxLength", "minimum", "maximum") if k in field}
        if "enum" in field:
            found.add(("enum", frozenset(v for v in field["enum"] if v is not None)))
        if found:
            rules[name] = found
        keys = field.get("propertyNames", {})
        if "pattern" in keys:
            rules[f"{name}:key"] = {("pattern", keys["pattern"])}
    return rules


def conditions(stack: Stack) -> list[str]:
    return [v["condition"] for v in stack.variables["workspaces"]["validation"]]


# The tests --------------------------------------------------------------------


def test_the_variable_type_is_the_aws_entry(stack: Stack) -> None:
    assert type_differences(stack.variables["workspaces"]["type"], SCHEMA) == []


def test_the_validations_apply_the_schemas_rules(stack: Stack) -> None:
    assert validation_rules(conditions(stack)) == schema_rules(SCHEMA)


def test_the_type_parser_reads_optional_defaults() -> None:
    assert parse_type("${list(object({a = string, b = optional(map(string), {}), c = optional(bool)}))}") == (
        "list",
        ("object", {"a": "string", "b": ("optional", ("map", "string"), ["{", "}"]), "c": ("optional", "bool", [])}),
    )


def _with_attribute(variable_type: str, attribute: str) -> str:
    return variable_type.replace("lock_timeout = optional(string)", f"lock_timeout = optional(string), {attribute}")


@pytest.mark.parametrize(
    ("doctor", "expected"),
    [
        (lambda t, s: (_with_attribute(t, "notes = optional(string)"), s), "notes: in variables.tf, not in the schema"),
        (lambda t, s: (t.replace("region = string", "region = optional(string)"), s), "region: optional in"),
        (lambda t, s: (t.replace("role_arn = optional(string)", "role_arn = string"), s), "role_arn: required in"),
        (lambda t, s: (t.replace("lock = optional(bool)", "lock = optional(string)"), s), "lock: string in"),
        (lambda t, s: (t, _with_property(s, "notes", {"type": ["string", "null"]})), "notes: in the schema, not"),
        (lambda t, s: (t, _with_property(s, "dir", {"type": "boolean"})), None),
    ],
    ids=["attribute added", "made optional", "made required", "type changed", "field added to the schema", "cli"],
)
def test_the_type_comparison_faults_a_doctored_copy(stack: Stack, doctor: Any, expected: str | None) -> None:
    variable_type, schema = doctor(stack.variables["workspaces"]["type"], copy.deepcopy(SCHEMA))
    found = type_differences(variable_type, schema)
    if expected is None:
        # A CLI-only field is none of the stack's business, whatever its type.
        assert found == []
    else:
        assert any(line.startswith(expected) for line in found), found


def _with_property(schema: dict[str, Any], name: str, field: dict[str, Any]) -> dict[str, Any]:
    schema["$defs"]["WorkspaceEntry"]["properties"][name] = field
    return schema


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("-[0-9]{1,2}$", "-[0-9]$"),  # the region rule variables.tf had
        ("length(w.external_id) <= 1224", "length(w.external_id) <= 1000"),
        ('["plan", "refresh-only", "both"]', '["plan", "refresh-only"]'),
        ('["lambda", "codebuild"]', '["lambda", "codebuild", "ec2"]'),
        ("w.parallelism <= 256", "w.parallelism <= 512"),
        ('regex("^[A-Za-z0-9_]+$", k)', 'regex("^[A-Za-z0-9_-]+$", k)'),
        ('regex("://", w.source)', 'regex(":/", w.source)'),
    ],
)
def test_the_validation_comparison_faults_a_doctored_copy(stack: Stack, old: str, new: str) -> None:
    doctored = [condition.replace(old, new) for condition in conditions(stack)]
    assert doctored != conditions(stack), old
    assert validation_rules(doctored) != schema_rules(SCHEMA)
