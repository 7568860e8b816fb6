"""Parse the Terraform stack (the root *.tf files and the modules it calls) offline.

python-hcl2 keeps HCL's quoting: a string literal comes back as '"text"', an
expression as '${expr}', and block labels and quoted keys keep their quotes.
`load_stack()` strips that into plain dicts keyed by block labels, so the
tests read `stack.resource("aws_kms_key", "this")["policy"]`.

Modules are read as instantiated, the way Terraform sees their resources:
a resource `aws_s3_bucket.this` of `module "storage"` is keyed
`("aws_s3_bucket", "module.storage.this")`; inside it, `var.X` becomes the
expression the module call passes (or the variable's default), `local.X` the
module's local, and a reference to the module's own resources gains the
`module.storage.` prefix. A reference `module.M.OUTPUT` anywhere becomes that
output's (instantiated) expression, so a test reads
`${module.worker.aws_iam_role.this.arn}` where the root says
`module.worker.role_arn`.

Values stay strings with `${...}` interpolations intact: nothing here
evaluates Terraform, it only reads what the configuration says.
"""

from __future__ import annotations

import ast
import copy
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import hcl2

REPO = Path(__file__).resolve().parents[2]

# A block's body, or any HCL object, as normalize() leaves it.
Body = dict[str, Any]

_META_KEYS = {"__is_block__", "__comments__", "__start_line__", "__end_line__"}


def unquote(value: str) -> str:
    """'"text"' -> 'text' (with HCL's escapes undone); anything else as is."""
    if len(value) >= 2 and value[0] == '"' and value[-1] == '"':
        return hcl_unescape(value[1:-1])
    return value


def hcl_unescape(text: str) -> str:
    """Undo HCL string escapes (\\\\, \\", \\n, \\t); `${` is left alone."""
    return re.sub(
        r"\\(.)",
        lambda m: {"n": "\n", "t": "\t", "r": "\r"}.get(m.group(1), m.group(1)),
        text,
    )


def normalize(value: Any) -> Any:
    """Strip python-hcl2's quoting and metadata, recursively."""
    if isinstance(value, dict):
        return {unquote(k): normalize(v) for k, v in value.items() if k not in _META_KEYS}
    if isinstance(value, list):
        return [normalize(v) for v in value]
    if isinstance(value, str):
        return unquote(value)
    return value


def is_expr(value: Any, expr: str) -> bool:
    """Whether `value` is exactly the expression `expr` (e.g. 'var.x')."""
    return isinstance(value, str) and value.replace(" ", "") == "${{{}}}".format(expr.replace(" ", ""))


def blocks(body: Body, name: str) -> list[Body]:
    """Nested blocks `name { ... }` of a body, static and dynamic contents."""
    found = list(body.get(name, []))
    for dyn in body.get("dynamic", []):
        for label, spec in dyn.items():
            if label == name:
                found.extend(spec.get("content", []))
    return found


@dataclass
class Module:
    """A `module` block of the root: its source directory's configuration
    as written (`config`, not instantiated) and the arguments passed."""

    name: str
    source: str
    args: dict[str, Any]
    config: Config
    count: Any = None


@dataclass
class Config:
    """One directory's configuration, as written."""

    resources: dict[tuple[str, str], Body] = field(default_factory=dict)
    data: dict[tuple[str, str], Body] = field(default_factory=dict)
    variables: dict[str, Body] = field(default_factory=dict)
    outputs: dict[str, Body] = field(default_factory=dict)
    locals: dict[str, Any] = field(default_factory=dict)
    modules: dict[str, Body] = field(default_factory=dict)
    moved: list[Body] = field(default_factory=list)
    terraform: list[Body] = field(default_factory=list)
    providers: dict[str, Body] = field(default_factory=dict)


@dataclass
class Stack:
    text: dict[str, str]
    resources: dict[tuple[str, str], Body] = field(default_factory=dict)
    data: dict[tuple[str, str], Body] = field(default_factory=dict)
    variables: dict[str, Body] = field(default_factory=dict)
    outputs: dict[str, Body] = field(default_factory=dict)
    locals: dict[str, Any] = field(default_factory=dict)
    terraform: list[Body] = field(default_factory=list)
    providers: dict[str, Body] = field(default_factory=dict)
    modules: dict[str, Module] = field(default_factory=dict)
    moved: list[tuple[str, str]] = field(default_factory=list)

    def resource(self, rtype: str, name: str) -> Body:
        return self.resources[(rtype, name)]

    def resources_of(self, rtype: str) -> dict[str, Body]:
        return {n: b for (t, n), b in self.resources.items() if t == rtype}

    def data_source(self, dtype: str, name: str) -> Body:
        return self.data[(dtype, name)]

    def policy_documents(self) -> dict[str, Body]:
        return {n: b for (t, n), b in self.data.items() if t == "aws_iam_policy_document"}

    def statements(self) -> Iterator[tuple[str, Body]]:
        """(document name, statement) for every statement, dynamic ones too."""
        for doc_name, doc in self.policy_documents().items():
            for st in blocks(doc, "statement"):
                yield doc_name, st

    def document_statements(self, name: str) -> list[Body]:
        """The statements of a policy document as AWS gets them: those of the
        documents in its `source_policy_documents` (each a reference to
        another document's `.json`), then its own."""
        doc = self.data_source("aws_iam_policy_document", name)
        found: list[Body] = []
        sources = doc.get("source_policy_documents", [])
        assert isinstance(sources, list), f"{name}: source_policy_documents must be a list of documents"
        for source in sources:
            m = re.fullmatch(r"\$\{data\.aws_iam_policy_document\.(\w+)\.json\}", source)
            assert m, f"{name}: source document {source!r} is not a policy document of the stack"
            found.extend(self.document_statements(m.group(1)))
        return found + blocks(doc, "statement")

    def resolve(self, value: Any) -> Any:
        """Replace `${local.name}` by the local's value when it is a plain string."""
        if isinstance(value, str):
            m = re.fullmatch(r"\$\{local\.([A-Za-z0-9_]+)\}", value.strip())
            if m and isinstance(self.locals.get(m.group(1)), str):
                return self.locals[m.group(1)]

            def inline(m: re.Match[str]) -> str:
                local = self.locals.get(m.group(1))
                return local if isinstance(local, str) else m.group(0)

            return re.sub(r"\$\{local\.([A-Za-z0-9_]+)\}", inline, value)
        return value

    def address_exists(self, address: str) -> bool:
        """Whether a resource address (no instance key) is declared: a root
        resource `type.name` or a module's `module.M.type.name`."""
        m = re.fullmatch(r"(?:module\.(\w+)\.)?(\w+)\.(\w+)", address)
        if not m:
            return False
        module, rtype, name = m.groups()
        return (rtype, f"module.{module}.{name}" if module else name) in self.resources


def _labelled(entries: list[Body], depth: int) -> Iterator[tuple[tuple[str, ...], Body]]:
    for entry in entries:
        for k1, v1 in entry.items():
            if depth == 1:
                yield (unquote(k1),), normalize(v1)
            else:
                for k2, v2 in v1.items():
                    yield (unquote(k1), unquote(k2)), normalize(v2)


def parse_config(files: dict[str, str]) -> Config:
    """The blocks of one directory's files (name -> text)."""
    config = Config()
    for name in sorted(files):
        parsed = hcl2.loads(files[name])
        for labels, body in _labelled(parsed.get("resource", []), 2):
            config.resources[(labels[0], labels[1])] = body
        for labels, body in _labelled(parsed.get("data", []), 2):
            config.data[(labels[0], labels[1])] = body
        for labels, body in _labelled(parsed.get("variable", []), 1):
            config.variables[labels[0]] = body
        for labels, body in _labelled(parsed.get("output", []), 1):
            config.outputs[labels[0]] = body
        for labels, body in _labelled(parsed.get("provider", []), 1):
            config.providers[labels[0]] = body
        for labels, body in _labelled(parsed.get("module", []), 1):
            config.modules[labels[0]] = body
        for block in parsed.get("locals", []):
            config.locals.update(normalize(block))
        config.moved.extend(normalize(b) for b in parsed.get("moved", []))
        config.terraform.extend(normalize(b) for b in parsed.get("terraform", []))
    return config


def _tf_files(directory: Path, root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): p.read_text() for p in sorted(directory.glob("*.tf"))}


# Module instantiation ------------------------------------------------------

_SIMPLE_EXPR = re.compile(r"[\w.\[\]\"*]+")


def _expr_text(value: Any) -> str:
    """A normalized value written back as an HCL expression."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if value is None:
        return "null"
    if isinstance(value, list):
        return "[" + ", ".join(_expr_text(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k} = {_expr_text(v)}" for k, v in value.items()) + "}"
    text = str(value)
    m = re.fullmatch(r"\$\{(.*)\}", text, re.DOTALL)
    if m and "${" not in m.group(1):
        inner = m.group(1)
        return inner if _SIMPLE_EXPR.fullmatch(inner) else f"({inner})"
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _template_text(value: Any) -> str:
    """A normalized value as it reads inside a template's `${...}`."""
    if isinstance(value, str):
        return value
    return "${" + _expr_text(value) + "}"


def _substitute(
    value: Any, whole: dict[str, Any], pattern: re.Pattern[str], replace: Callable[[re.Match[str]], str]
) -> Any:
    """Rewrite every string of `value`: a string that is exactly one
    reference becomes `whole[reference]` (keeping its type); otherwise each
    match of `pattern` is replaced by `replace(match, in_template)`."""
    if isinstance(value, dict):
        return {k: _substitute(v, whole, pattern, replace) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v, whole, pattern, replace) for v in value]
    if not isinstance(value, str):
        return value
    m = re.fullmatch(r"\$\{([\w.]+)\}", value)
    if m and m.group(1) in whole:
        return copy.deepcopy(whole[m.group(1)])
    return pattern.sub(replace, value)


def _instantiate(name: str, config: Config, args: dict[str, Any]) -> tuple[Config, dict[str, Any]]:
    """The module's resources, data sources and outputs as instantiated by
    `module "name"` with `args`: see the module docstring."""
    declared = {f"{t}.{n}" for t, n in config.resources} | {f"data.{t}.{n}" for t, n in config.data}
    values: dict[str, Any] = {}
    for var, body in config.variables.items():
        if var in args:
            values[f"var.{var}"] = args[var]
        elif "default" in body:
            values[f"var.{var}"] = body["default"]
    values.update({f"local.{k}": v for k, v in config.locals.items()})
    # Resources referenced as a whole (depends_on) or by attribute.
    pattern = re.compile(r"\$\{((?:var|local)\.\w+)\}|(?<![\w.])((?:var|local)\.\w+|(?:data\.)?[a-z]\w*\.\w+)")

    def replace(m: re.Match[str]) -> str:
        if m.group(1):  # ${var.x} inside a template
            return _template_text(values[m.group(1)]) if m.group(1) in values else m.group(0)
        ref = m.group(2)
        if ref in values:
            return _expr_text(values[ref])
        if ref in declared:
            return f"module.{name}.{ref}"
        return ref

    whole = dict(values)
    whole.update({ref: "${module." + name + "." + ref + "}" for ref in declared})
    # Locals may name variables and other locals: settle them first, so that
    # what they stand for is written in the caller's terms too.
    for _ in range(10):
        settled = {k: _substitute(v, whole, pattern, replace) for k, v in values.items() if k.startswith("local.")}
        if all(settled[k] == values[k] for k in settled):
            break
        values.update(settled)
        whole.update(settled)
    else:
        raise AssertionError(f"module {name}: locals do not settle")
    out = Config(variables=config.variables)
    for (t, n), body in config.resources.items():
        out.resources[(t, f"module.{name}.{n}")] = _substitute(body, whole, pattern, replace)
    for (t, n), body in config.data.items():
        out.data[(t, f"module.{name}.{n}")] = _substitute(body, whole, pattern, replace)
    outputs = {o: _substitute(b["value"], whole, pattern, replace) for o, b in config.outputs.items()}
    return out, outputs


def _resolve_module_outputs(value: Any, outputs: dict[str, dict[str, Any]]) -> Any:
    """Replace `module.M.OUTPUT` by that output's instantiated expression."""
    whole = {f"module.{m}.{o}": v for m, outs in outputs.items() for o, v in outs.items()}
    pattern = re.compile(r"\$\{(module\.\w+\.\w+)\}(?!\.)|(?<![\w.])(module\.\w+\.\w+)(?![\w(])")

    def replace(m: re.Match[str]) -> str:
        if m.group(1):
            return _template_text(whole[m.group(1)]) if m.group(1) in whole else m.group(0)
        return _expr_text(whole[m.group(2)]) if m.group(2) in whole else m.group(0)

    for _ in range(10):  # outputs may pass through other modules' outputs
        resolved = _substitute(value, whole, pattern, replace)
        if resolved == value:
            return resolved
        value = resolved
    raise AssertionError(f"module output references do not settle: {value!r}")


def load_stack(root: Path = REPO) -> Stack:
    text = _tf_files(root, root)
    config = parse_config(text)
    stack = Stack(
        text=text,
        resources=dict(config.resources),
        data=dict(config.data),
        variables=config.variables,
        outputs=config.outputs,
        locals=config.locals,
        terraform=config.terraform,
        providers=config.providers,
    )
    outputs: dict[str, dict[str, Any]] = {}
    for name, call in config.modules.items():
        source = call["source"]
        assert source.startswith("./modules/"), f"module {name}: source {source!r} is not a module of this repository"
        files = _tf_files(root / source, root)
        assert files, f"module {name}: no .tf files in {source}"
        stack.text.update(files)
        module_config = parse_config(files)
        # Meta-arguments are not the module's variables; `count` is kept.
        meta = ("source", "version", "providers", "depends_on", "count", "for_each")
        args = {k: v for k, v in call.items() if k not in meta}
        stack.modules[name] = Module(name=name, source=source, args=args, config=module_config, count=call.get("count"))
        instance, outputs[name] = _instantiate(name, module_config, args)
        stack.resources.update(instance.resources)
        stack.data.update(instance.data)
    stack.resources = _resolve_module_outputs(stack.resources, outputs)
    stack.data = _resolve_module_outputs(stack.data, outputs)
    stack.outputs = _resolve_module_outputs(stack.outputs, outputs)
    stack.locals = _resolve_module_outputs(stack.locals, outputs)
    for module in stack.modules.values():
        module.args = _resolve_module_outputs(module.args, outputs)
    stack.moved = [(_reference(b["from"]), _reference(b["to"])) for b in config.moved]
    return stack


def _reference(value: str) -> str:
    m = re.fullmatch(r"\$\{(.+)\}", value)
    assert m, f"moved: {value!r} is not a reference"
    return m.group(1)


def old_resource_addresses(text: str) -> dict[str, Body]:
    """Resource addresses (type.name) a single-directory configuration
    declares, with their bodies."""
    parsed = parse_config({"main.tf": text})
    return {f"{t}.{n}": body for (t, n), body in parsed.resources.items()}


# Environment variables read by source code -------------------------------

_RUST_ENV = re.compile(
    r"""\b(?:var|var_os|get|lookup)\(\s*"([A-Z][A-Z0-9_]*)"\s*\)"""  # env::var("X"), get("X")
    r'|\benv\s*=\s*"([A-Z][A-Z0-9_]*)"'  # clap: #[arg(env = "X")]
)


def _rust_code(source: str) -> str:
    """The source without comments and without its `#[cfg(test)]` module."""
    source = source.split("#[cfg(test)]", 1)[0]
    source = re.sub(r"/\*.*?\*/", "", source, flags=re.DOTALL)
    return re.sub(r"//[^\n]*", "", source)


def rust_env_vars(source: str) -> set[str]:
    """Names read with env::var/env::var_os, a config lookup closure
    (`get("X")`, `lookup("X")`) or clap's `env = "X"`."""
    return {next(g for g in m.groups() if g) for m in _RUST_ENV.finditer(_rust_code(source))}


def python_env_vars(source: str) -> set[str]:
    """Names read with os.environ["X"], os.environ.get("X", ...) or
    os.getenv("X", ...), found in the syntax tree (docstrings don't count)."""
    found: set[str] = set()

    def literal(node: ast.AST) -> str | None:
        if (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and re.fullmatch(r"[A-Z][A-Z0-9_]*", node.value)
        ):
            return node.value
        return None

    def is_environ(node: ast.AST) -> bool:
        return (
            isinstance(node, ast.Attribute)
            and node.attr == "environ"
            and isinstance(node.value, ast.Name)
            and node.value.id == "os"
        )

    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Subscript) and is_environ(node.value):
            name = literal(node.slice)
        elif isinstance(node, ast.Call) and node.args and isinstance(node.func, ast.Attribute):
            func = node.func
            environ_get = func.attr == "get" and is_environ(func.value)
            getenv = func.attr == "getenv" and isinstance(func.value, ast.Name) and func.value.id == "os"
            name = literal(node.args[0]) if environ_get or getenv else None
        else:
            name = None
        if name:
            found.add(name)
    return found


def worker_sources(root: Path = REPO) -> list[Path]:
    """The Lambda worker's own Rust files: the drift-worker crate
    (crates/drift-worker/src/**, its binary included). The CLI's variables
    (DRIFT_LOG, ...) are not the Lambda's."""
    src = root / "crates" / "drift-worker" / "src"
    return sorted(src.rglob("*.rs")) if src.is_dir() else []


def summarize_sources(root: Path = REPO) -> list[Path]:
    """The summarize function's entry point, lib/lambda/summarize.py (it
    shares the package, whose reads count as the orchestrator's)."""
    entry = root / "lib" / "lambda" / "summarize.py"
    return [entry] if entry.is_file() else []


def _is_trigger_file(relative: Path) -> bool:
    """The trigger's own files: lib/lambda/trigger.py, and modules of the
    shared package named trigger*.py or in a trigger*/ package."""
    return relative.name.startswith("trigger") or any(part.startswith("trigger") for part in relative.parts[:-1])


def trigger_sources(root: Path = REPO) -> list[Path]:
    """The trigger function's own files (see `_is_trigger_file`); it shares
    the package, whose reads count as the orchestrator's and which it gets
    too."""
    base = root / "lib" / "lambda"
    return [p for p in _package_sources(base) if _is_trigger_file(p.relative_to(base))]


def _package_sources(base: Path) -> list[Path]:
    if not base.is_dir():
        return []
    skip = {"tests", "test", "__pycache__", ".mypy_cache", ".pytest_cache"}
    return sorted(
        p
        for p in base.rglob("*.py")
        if not skip.intersection(p.relative_to(base).parts)
        and not p.name.startswith("test_")
        and p.name != "conftest.py"
    )


def orchestrator_sources(root: Path = REPO) -> list[Path]:
    """The orchestrator's Python files under lib/lambda, without its tests,
    without summarize.py (the summarize function's entry point) and without
    the trigger's own files."""
    base = root / "lib" / "lambda"
    return [
        p
        for p in _package_sources(base)
        if p.relative_to(base) != Path("summarize.py") and not _is_trigger_file(p.relative_to(base))
    ]


# README convention -------------------------------------------------------

_OUTPUT_NAME = r"[a-z][a-z0-9_]*"


def deploy_section(markdown: str) -> str | None:
    """Text of the level-2 section whose heading starts with 'Deploy'."""
    m = re.search(r"^## Deploy[^\n]*\n(.*?)(?=^## |\Z)", markdown, re.MULTILINE | re.DOTALL)
    return m.group(1) if m else None


def readme_output_names(section: str) -> set[str]:
    """Output names a Deploy section mentions. Convention: every
    `terraform output [-raw|-json] NAME`, and the first cell of every row of
    a table whose header's first cell is `Output`, written as `name`."""
    names = set(re.findall(r"terraform output(?:\s+-(?:raw|json))?\s+(" + _OUTPUT_NAME + r")\b", section))
    in_outputs_table = False
    for line in section.splitlines():
        stripped = line.strip()
        if not stripped.startswith("|"):
            in_outputs_table = False
            continue
        cells = [c.strip() for c in stripped.strip("|").split("|")]
        if cells and cells[0].lower() == "output":
            in_outputs_table = True
            continue
        if in_outputs_table:
            m = re.fullmatch(r"`(" + _OUTPUT_NAME + r")`", cells[0])
            if m:
                names.add(m.group(1))
    return names
