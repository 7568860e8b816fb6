"""Check Terraform configuration against the real provider schemas, offline.

`scripts/fetch-provider-schema` puts the schemas of the pinned provider
releases in .tools/provider-schema (see jsii_schema.py for their shape).
`check_tree(root)` reads the root module and every module under it (the
directories of `modules/**` and whatever a local `source` names) and returns
one finding per error `terraform validate` with the real provider would
raise, as far as it can be known without evaluating anything:

* a resource or data source type the provider does not have, or whose
  provider has no schema here;
* an argument the type does not have, a computed (read-only) attribute set,
  a required argument or block missing, a block given more times than the
  schema allows;
* a nested block written as an argument (`x = {...}`) or an argument written
  as a block (`x {...}`), static or `dynamic "x" { content {...} }`;
* a literal of the wrong type (a list for a string, "abc" for a number, ...);
* a reference `aws_x.name.attr` or `data.aws_x.name.attr` to an undeclared
  resource, to an attribute the type does not have, or without an instance
  key on a resource that has `count` or `for_each`;
* a module call passing an argument the module has no variable for, missing
  one without a default, or a `module.x.out` naming an output it lacks.

It errs on the side of silence: any value that is an expression (a
variable, a function call, a template with interpolations) is not typed, and
a block that a `dynamic` block may supply counts as present.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import hcl2

REPO = Path(__file__).resolve().parents[2]
SCHEMA_DIR = REPO / ".tools" / "provider-schema"

Json = dict[str, Any]

_META = {"__is_block__", "__comments__", "__start_line__", "__end_line__"}
_SKIP_DIRS = {"examples", "tests", "target", "fuzz", "node_modules"}

# Meta-arguments Terraform itself takes, by construct: (arguments, blocks).
_RESOURCE_META = ({"count", "for_each", "depends_on", "provider"}, {"lifecycle", "provisioner", "connection"})
_DATA_META = ({"count", "for_each", "depends_on", "provider"}, {"lifecycle"})
_LIFECYCLE = (
    {"create_before_destroy", "prevent_destroy", "ignore_changes", "replace_triggered_by"},
    {"precondition", "postcondition"},
)
_MODULE_META = {"source", "version", "count", "for_each", "providers", "depends_on"}

# Types built into Terraform (provider terraform.io/builtin/terraform); no
# provider package publishes them.
_BUILTIN_RESOURCES: dict[str, Json] = {
    "terraform_data": {
        "attributes": {
            "id": {"type": "string", "mode": "computed"},
            "input": {"type": "any", "mode": "optional"},
            "output": {"type": "any", "mode": "computed"},
            "triggers_replace": {"type": "any", "mode": "optional"},
        },
        "blocks": {},
    }
}
_BUILTIN_DATA: dict[str, Json] = {
    "terraform_remote_state": {
        "attributes": {
            "backend": {"type": "string", "mode": "required"},
            "config": {"type": "any", "mode": "optional"},
            "defaults": {"type": "any", "mode": "optional"},
            "outputs": {"type": "any", "mode": "computed"},
            "workspace": {"type": "string", "mode": "optional"},
        },
        "blocks": {},
    }
}


@dataclass(frozen=True)
class Finding:
    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


def load_schemas(directory: Path = SCHEMA_DIR) -> dict[str, dict[str, Json]]:
    """Provider source ("hashicorp/aws") -> version -> its extracted schema."""
    schemas: dict[str, dict[str, Json]] = {}
    for path in sorted(directory.glob("*.json")):
        schema = json.loads(path.read_text())
        schemas.setdefault(schema["provider"], {})[schema["version"]] = schema
    return schemas


def release_set(schemas: dict[str, dict[str, Json]], newest: bool = True) -> dict[str, Json]:
    """One schema per provider: each one's newest release, or its oldest."""
    pick = max if newest else min
    return {source: versions[pick(versions, key=_version)] for source, versions in schemas.items()}


# HCL as python-hcl2 gives it ----------------------------------------------


def _unquote(key: str) -> str:
    return key[1:-1] if len(key) >= 2 and key[0] == key[-1] == '"' else key


def _is_block_list(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, dict) and v.get("__is_block__") for v in value)


def _items(body: dict[str, Any]) -> Iterator[tuple[str, Any]]:
    for key, value in body.items():
        if key not in _META:
            yield key, value


def _labelled(entries: list[dict[str, Any]], depth: int) -> Iterator[tuple[tuple[str, ...], dict[str, Any]]]:
    for entry in entries:
        for k1, v1 in _items(entry):
            if depth == 1:
                yield (_unquote(k1),), v1
            else:
                for k2, v2 in _items(v1):
                    yield (_unquote(k1), _unquote(k2)), v2


@dataclass
class Module:
    directory: Path
    files: dict[str, dict[str, Any]]
    texts: dict[str, str]
    resources: dict[tuple[str, str], tuple[str, dict[str, Any]]] = field(default_factory=dict)
    data: dict[tuple[str, str], tuple[str, dict[str, Any]]] = field(default_factory=dict)
    calls: dict[str, tuple[str, dict[str, Any]]] = field(default_factory=dict)
    variables: dict[str, dict[str, Any]] = field(default_factory=dict)
    outputs: set[str] = field(default_factory=set)
    providers: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)
    required_providers: dict[str, str] = field(default_factory=dict)

    def provider_source(self, local_name: str) -> str:
        # Terraform's default for a provider not in required_providers.
        return self.required_providers.get(local_name, f"hashicorp/{local_name}")


def load_module(directory: Path) -> Module:
    texts = {p.name: p.read_text() for p in sorted(directory.glob("*.tf"))}
    module = Module(directory=directory, files={name: hcl2.loads(text) for name, text in texts.items()}, texts=texts)
    for name, parsed in module.files.items():
        for labels, body in _labelled(parsed.get("resource", []), 2):
            module.resources[(labels[0], labels[1])] = (name, body)
        for labels, body in _labelled(parsed.get("data", []), 2):
            module.data[(labels[0], labels[1])] = (name, body)
        for labels, body in _labelled(parsed.get("module", []), 1):
            module.calls[labels[0]] = (name, body)
        for labels, body in _labelled(parsed.get("variable", []), 1):
            module.variables[labels[0]] = body
        for labels, _body in _labelled(parsed.get("output", []), 1):
            module.outputs.add(labels[0])
        for labels, body in _labelled(parsed.get("provider", []), 1):
            module.providers.append((name, labels[0], body))
        for terraform in parsed.get("terraform", []):
            for req in terraform.get("required_providers", []):
                for local, spec in _items(req):
                    if isinstance(spec, dict) and isinstance(spec.get("source"), str):
                        module.required_providers[local] = _unquote(spec["source"]).lower()
    return module


def _local_source(module: Module, body: dict[str, Any]) -> Path | None:
    source = body.get("source")
    if not isinstance(source, str):
        return None
    source = _unquote(source)
    if source.startswith(("./", "../")):
        return (module.directory / source).resolve()
    return None


def module_dirs(root: Path) -> list[Path]:
    """The root module, every directory holding .tf files under root/modules,
    and the local sources the modules call (transitively)."""
    found: list[Path] = [root.resolve()]
    modules = root / "modules"
    if modules.is_dir():
        found += sorted({p.parent.resolve() for p in modules.rglob("*.tf") if not _hidden(p.relative_to(root))})
    return found


def _hidden(relative: Path) -> bool:
    return any(part.startswith(".") or part in _SKIP_DIRS for part in relative.parts[:-1])


# The check --------------------------------------------------------------


class Checker:
    def __init__(self, schemas: dict[str, Json]) -> None:
        self.schemas = schemas
        self.findings: list[Finding] = []
        self.modules: dict[Path, Module] = {}
        # Addresses (with module directory) whose body was checked against a schema.
        self.checked: list[str] = []

    def error(self, where: str, message: str) -> None:
        finding = Finding(where, message)
        if finding not in self.findings:
            self.findings.append(finding)

    def module(self, directory: Path) -> Module:
        if directory not in self.modules:
            self.modules[directory] = load_module(directory)
        return self.modules[directory]

    def check_tree(self, root: Path) -> list[Finding]:
        pending = module_dirs(root)
        seen: set[Path] = set()
        while pending:
            directory = pending.pop(0)
            if directory in seen:
                continue
            seen.add(directory)
            module = self.module(directory)
            self.check_module(module, root)
            for name, (file, body) in module.calls.items():
                target = _local_source(module, body)
                if target is not None and target.is_dir():
                    pending.append(target)
                elif target is not None:
                    self.error(f"{self._rel(module, root)}{file}: module.{name}", f"source {target} does not exist")
        return self.findings

    @staticmethod
    def _rel(module: Module, root: Path) -> str:
        rel = module.directory.relative_to(root.resolve())
        return "" if rel == Path(".") else f"{rel}/"

    # Types --------------------------------------------------------------

    def _schema_of(self, module: Module, kind: str, rtype: str, body: dict[str, Any], where: str) -> Json | None:
        builtin = _BUILTIN_RESOURCES if kind == "resources" else _BUILTIN_DATA
        if rtype in builtin:
            return builtin[rtype]
        local = rtype.split("_", 1)[0]
        provider = body.get("provider")
        if isinstance(provider, str):
            local = provider.strip("${}").split(".", 1)[0]
        source = module.provider_source(local)
        schema = self.schemas.get(source)
        if schema is None:
            self.error(where, f"no schema for provider {source} (scripts/fetch-provider-schema pins each one)")
            return None
        types: dict[str, Json] = schema[kind]
        if rtype not in types:
            word = "resource" if kind == "resources" else "data source"
            self.error(where, f"{source} {schema['version']} has no {word} type {rtype}{_suggest(rtype, types)}")
            return None
        return types[rtype]

    def type_schema(self, module: Module, kind: str, rtype: str) -> Json | None:
        builtin = _BUILTIN_RESOURCES if kind == "resources" else _BUILTIN_DATA
        if rtype in builtin:
            return builtin[rtype]
        schema = self.schemas.get(module.provider_source(rtype.split("_", 1)[0]))
        return None if schema is None else schema[kind].get(rtype)

    def check_module(self, module: Module, root: Path) -> None:
        prefix = self._rel(module, root)
        for (rtype, name), (file, body) in module.resources.items():
            where = f"{prefix}{file}:{_line(module.texts[file], 'resource', rtype, name)}: {rtype}.{name}"
            schema = self._schema_of(module, "resources", rtype, body, where)
            if schema is not None:
                self.checked.append(f"{prefix}{rtype}.{name}")
                self.check_body(body, schema, where, _RESOURCE_META)
        for (dtype, name), (file, body) in module.data.items():
            where = f"{prefix}{file}:{_line(module.texts[file], 'data', dtype, name)}: data.{dtype}.{name}"
            schema = self._schema_of(module, "data_sources", dtype, body, where)
            if schema is not None:
                self.checked.append(f"{prefix}data.{dtype}.{name}")
                self.check_body(body, schema, where, _DATA_META)
        for file, local, body in module.providers:
            source = module.provider_source(local)
            where = f"{prefix}{file}:{_line(module.texts[file], 'provider', local)}: provider.{local}"
            if source not in self.schemas:
                self.error(where, f"no schema for provider {source}")
            else:
                self.check_body(body, self.schemas[source]["provider_config"], where, (set(), set()))
        for name, (file, body) in module.calls.items():
            self.check_call(module, name, file, body, prefix)
        for file, parsed in module.files.items():
            self.check_references(module, parsed, f"{prefix}{file}", module.texts[file])

    # Bodies -------------------------------------------------------------

    def check_body(
        self,
        body: dict[str, Any],
        schema: Json,
        where: str,
        meta: tuple[set[str], set[str]],
    ) -> None:
        attributes: dict[str, Json] = schema["attributes"]
        blocks: dict[str, Json] = schema["blocks"]
        meta_args, meta_blocks = meta
        present_blocks: dict[str, int] = {}
        dynamic: set[str] = set()
        for key, value in _items(body):
            here = f"{where}: {key}"
            if key == "dynamic" and isinstance(value, list) and all(isinstance(v, dict) for v in value):
                for dyn in value:
                    for label, spec in _items(dyn):
                        self.check_dynamic(
                            _unquote(label), spec, blocks, attributes, f"{where}: dynamic {_unquote(label)}"
                        )
                        dynamic.add(_unquote(label))
                continue
            if _is_block_list(value):
                if key in meta_blocks:
                    if key == "lifecycle":
                        for item in value:
                            self.check_body(item, {"attributes": {}, "blocks": {}}, here, _LIFECYCLE)
                            self.check_ignore_changes(item.get("ignore_changes"), schema, f"{here}: ignore_changes")
                    continue
                if key in blocks:
                    present_blocks[key] = present_blocks.get(key, 0) + len(value)
                    inner = blocks[key]["block"]
                    if inner is not None:
                        for item in value:
                            self.check_body(item, inner, here, (set(), set()))
                elif key in attributes:
                    # Terraform accepts block syntax for an argument of objects
                    # (aws_security_group's `ingress { ... }`).
                    if not _objects(attributes[key]["type"]):
                        self.error(here, f"{key} is an argument, not a block: write {key} = ...")
                else:
                    self.error(here, f"unknown block {key}{_suggest(key, {**blocks, **attributes})}")
                continue
            if key in meta_args:
                continue
            if key in blocks:
                self.error(here, f"{key} is a block, not an argument: write {key} {{ ... }}")
            elif key in attributes:
                spec = attributes[key]
                if spec["mode"] == "computed":
                    self.error(here, f"{key} is read-only (computed by the provider), it cannot be set")
                else:
                    problem = literal_type_error(value, spec["type"])
                    if problem:
                        self.error(here, f"{key} must be {_type_name(spec['type'])}: {problem}")
            else:
                self.error(here, f"unknown argument {key}{_suggest(key, {**attributes, **blocks})}")
        for key, spec in attributes.items():
            if spec["mode"] == "required" and key not in body:
                self.error(where, f"required argument {key} is missing")
        for key, spec in blocks.items():
            count = present_blocks.get(key, 0)
            if key in dynamic:
                continue
            if count < spec["min"]:
                self.error(where, f"required block {key} is missing")
            if spec["max"] is not None and count > spec["max"]:
                self.error(where, f"block {key} given {count} times, at most {spec['max']} allowed")

    def check_ignore_changes(self, value: Any, schema: Json, where: str) -> None:
        """Each path of `ignore_changes = [...]` must start at an argument or
        block of the type (Terraform refuses the configuration otherwise)."""
        if not isinstance(value, list):
            return  # `all`, or not a literal list
        for item in value:
            m = re.match(r'^(?:\$\{|")?([A-Za-z_][\w-]*)', item) if isinstance(item, str) else None
            if m is None:
                continue
            name = m.group(1)
            if name not in schema["attributes"] and name not in schema["blocks"]:
                known = {**schema["attributes"], **schema["blocks"]}
                self.error(where, f"{name} is not an argument of this type{_suggest(name, known)}")

    def check_dynamic(
        self, label: str, spec: Any, blocks: dict[str, Json], attributes: dict[str, Json], where: str
    ) -> None:
        if label not in blocks:
            if label in attributes:
                self.error(where, f"{label} is an argument, not a block: dynamic blocks generate blocks only")
            else:
                self.error(where, f"unknown block {label}{_suggest(label, {**blocks, **attributes})}")
            return
        if not isinstance(spec, dict):
            return
        for key, _value in _items(spec):
            if key not in ("for_each", "iterator", "labels", "content"):
                self.error(where, f"dynamic blocks take for_each, iterator, labels and content, not {key}")
        if "for_each" not in spec:
            self.error(where, "dynamic block without for_each")
        contents = spec.get("content")
        if not isinstance(contents, list) or not _is_block_list(contents):
            self.error(where, "dynamic block without a content block")
            return
        inner = blocks[label]["block"]
        if inner is not None:
            for content in contents:
                self.check_body(content, inner, f"{where}: content", (set(), set()))

    # Module calls -------------------------------------------------------

    def check_call(self, module: Module, name: str, file: str, body: dict[str, Any], prefix: str) -> None:
        where = f"{prefix}{file}:{_line(module.texts[file], 'module', name)}: module.{name}"
        target = _local_source(module, body)
        if target is None or not target.is_dir():
            return
        called = self.module(target)
        for key, _value in _items(body):
            if key not in _MODULE_META and key not in called.variables:
                self.error(
                    f"{where}: {key}", f"module has no variable {key}{_suggest(key, dict.fromkeys(called.variables))}"
                )
        for var, spec in called.variables.items():
            if "default" not in spec and var not in body:
                self.error(where, f"required variable {var} of the module is not passed")

    # References ---------------------------------------------------------

    def check_references(self, module: Module, parsed: dict[str, Any], file: str, text: str) -> None:
        # moved/import/removed name resource addresses (module.x.aws_y.z,
        # a resource that no longer exists), not values.
        values = {k: v for k, v in parsed.items() if k not in ("moved", "import", "removed")}
        for value in _strings(values):
            for expr in expressions(value):
                for ref in _REFERENCE.finditer(expr):
                    at = text.find(ref.group(0))
                    where = f"{file}:{text.count(chr(10), 0, at) + 1}" if at >= 0 else file
                    self.check_reference(module, ref, where)

    def check_reference(self, module: Module, ref: re.Match[str], where: str) -> None:
        is_data, rtype, name, index, attr = ref.group("data", "type", "name", "index", "attr")
        if rtype == "module":
            call = module.calls.get(name)
            if call is None:
                self.error(where, f"{ref.group(0)}: no module {name} here")
                return
            target = _local_source(module, call[1])
            if target is not None and target.is_dir() and attr not in self.module(target).outputs:
                self.error(where, f"{ref.group(0)}: module {name} has no output {attr}")
            return
        kind = "data_sources" if is_data else "resources"
        schema = self.type_schema(module, kind, rtype)
        if schema is None:
            # Not a type of a provider we know: not a reference to check (a
            # `for` variable, an unknown type already reported where declared).
            return
        declared = (module.data if is_data else module.resources).get((rtype, name))
        address = f"{'data.' if is_data else ''}{rtype}.{name}"
        if declared is None:
            self.error(where, f"{ref.group(0)}: {address} is not declared in this module")
            return
        body = declared[1]
        if not index and ("count" in body or "for_each" in body):
            self.error(where, f"{ref.group(0)}: {address} has count or for_each, the reference needs an instance key")
        if attr not in schema["attributes"] and attr not in schema["blocks"]:
            known = {**schema["attributes"], **schema["blocks"]}
            self.error(where, f"{ref.group(0)}: {rtype} has no attribute {attr}{_suggest(attr, known)}")


_REFERENCE = re.compile(
    r"(?<![\w.\-\"])(?P<data>data\.)?(?P<type>module|[a-z][a-z0-9]*_[a-z0-9_]+)\.(?P<name>[A-Za-z_][\w-]*)"
    r"(?P<index>\[[^\]]*\])?\.(?P<attr>[A-Za-z_]\w*)"
)


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, inner in value.items():
            if key in _META:
                continue
            yield key
            yield from _strings(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from _strings(inner)


def expressions(text: str) -> Iterator[str]:
    """The `${...}` expressions of a python-hcl2 value (a whole expression
    comes back as `${...}` too); `$${` is an escaped, literal `${`."""
    i = 0
    while True:
        start = text.find("${", i)
        if start < 0:
            return
        if start > 0 and text[start - 1] == "$":
            i = start + 2
            continue
        depth = 0
        j = start + 1
        while j < len(text):
            if text[j] == "{":
                depth += 1
            elif text[j] == "}":
                depth -= 1
                if depth == 0:
                    break
            j += 1
        yield text[start + 2 : j]
        i = j + 1


# Literal types ----------------------------------------------------------


def _literal_string(value: Any) -> str | None:
    """The text of a string literal without interpolation, else None."""
    if not isinstance(value, str) or len(value) < 2 or value[0] != '"' or value[-1] != '"':
        return None
    inner = value[1:-1]
    if "${" in inner.replace("$${", "") or "%{" in inner.replace("%%{", ""):
        return None
    return inner


def _is_template(value: Any) -> bool:
    return isinstance(value, str) and len(value) >= 2 and value[0] == '"' and value[-1] == '"'


def literal_type_error(value: Any, expected: Any) -> str | None:
    """Why a literal cannot convert to the schema type, or None when it can
    or when the value is not a literal (then Terraform decides at plan)."""
    if value is None or isinstance(value, str) and value.startswith("${"):
        return None
    if isinstance(expected, list):
        outer, element = expected
        if isinstance(value, list):
            if outer == "map":
                return "a list was given"
            for item in value:
                problem = literal_type_error(item, element)
                if problem:
                    return f"an element: {problem}"
            return None
        if isinstance(value, dict):
            if outer == "list":
                return "an object was given"
            for inner in value.values():
                problem = literal_type_error(inner, element)
                if problem:
                    return f"a value: {problem}"
            return None
        if isinstance(value, bool):
            return "a bool was given"
        if isinstance(value, int | float):
            return "a number was given"
        if _is_template(value) and _literal_string(value) is not None:
            return "a string was given"
        return None
    if expected in ("any", "object"):
        return None
    if isinstance(value, list):
        return "a list was given"
    if isinstance(value, dict):
        return "an object was given"
    text = _literal_string(value)
    if expected == "number":
        if isinstance(value, bool):
            return "a bool was given"
        if text is not None and not re.fullmatch(r"-?\d+(\.\d+)?([eE][+-]?\d+)?", text.strip()):
            return f'the string "{text}" is not a number'
    if expected == "bool":
        if isinstance(value, int | float) and not isinstance(value, bool):
            return "a number was given"
        if text is not None and text not in ("true", "false"):
            return f'the string "{text}" is not a bool'
    return None


def _objects(t: Any) -> bool:
    """Whether a schema type is an object or a collection of objects."""
    if isinstance(t, list):
        return _objects(t[1])
    return t in ("object", "any")


def _type_name(t: Any) -> str:
    if isinstance(t, list):
        return f"{t[0]}({_type_name(t[1])})"
    return str(t)


def _line(text: str, keyword: str, *labels: str) -> int:
    """The line a block `keyword "label" ... {` starts on (0 if not found)."""
    pattern = r"^\s*" + keyword + "".join(rf'\s+"?{re.escape(label)}"?' for label in labels) + r"\s*\{"
    m = re.search(pattern, text, re.MULTILINE)
    return text.count("\n", 0, m.start()) + 1 if m else 0


def _suggest(name: str, known: dict[str, Any]) -> str:
    close = difflib.get_close_matches(name, list(known), n=1)
    return f" (did you mean {close[0]}?)" if close else ""


# Version constraints ----------------------------------------------------


def lower_bound(constraints: str) -> str | None:
    """The lowest version a constraint string admits, when one of its parts
    sets it (`~> 5.70` -> 5.70.0, `>= 1.5` -> 1.5.0, `= 2.7.1`)."""
    for constraint in constraints.split(","):
        m = re.fullmatch(r"\s*(~>|>=|=)?\s*(\d+(?:\.\d+)*)\s*", constraint)
        if m:
            parts = m.group(2).split(".")
            return ".".join(parts + ["0"] * (3 - len(parts)))
    return None


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.strip().lstrip("v").split("-", 1)[0].split("."))


def satisfies(version: str, constraints: str) -> bool:
    """Whether `version` meets a Terraform version constraint string
    ("~> 5.70", ">= 1.5, < 2", "= 2.7.1")."""
    have = _version(version)
    for constraint in constraints.split(","):
        m = re.fullmatch(r"\s*(~>|>=|<=|!=|=|>|<)?\s*(\d+(?:\.\d+)*)\s*", constraint)
        if m is None:
            raise ValueError(f"unsupported version constraint {constraint!r}")
        op, want_text = m.group(1) or "=", m.group(2)
        want = _version(want_text)
        padded = have + (0,) * (len(want) - len(have))
        if op == "~>":
            # ~> 5.70 allows 5.70 up to, not including, 6.0; ~> 2.7.1 allows 2.7.x.
            prefix = want[:-1] if len(want) > 1 else want
            ok = padded >= want and have[: len(prefix)] == prefix
        else:
            ok = {
                "=": padded == want,
                "!=": padded != want,
                ">": padded > want,
                ">=": padded >= want,
                "<": padded < want,
                "<=": padded <= want,
            }[op]
        if not ok:
            return False
    return True


def required_provider_versions(root: Path = REPO) -> list[tuple[str, str, str]]:
    """(module directory, provider source, version constraint) for every
    required_providers entry with a version, root and modules alike."""
    found = []
    for directory in module_dirs(root):
        for parsed in (hcl2.loads(p.read_text()) for p in sorted(directory.glob("*.tf"))):
            for terraform in parsed.get("terraform", []):
                for req in terraform.get("required_providers", []):
                    for local, spec in _items(req):
                        if isinstance(spec, dict) and isinstance(spec.get("version"), str):
                            source = _unquote(spec.get("source", f'"hashicorp/{local}"')).lower()
                            found.append((str(directory), source, _unquote(spec["version"])))
    return found


def check_tree(root: Path = REPO, schemas: dict[str, Json] | None = None) -> list[Finding]:
    return Checker(release_set(load_schemas()) if schemas is None else schemas).check_tree(root)
