"""Parse the root Terraform stack (main.tf, variables.tf, outputs.tf) offline.

python-hcl2 keeps HCL's quoting: a string literal comes back as '"text"', an
expression as '${expr}', and block labels and quoted keys keep their quotes.
`load_stack()` strips that into plain dicts keyed by block labels, so the
tests read `stack.resource("aws_s3_bucket", "this")["bucket"]`.

Values stay strings with `${...}` interpolations intact: nothing here
evaluates Terraform, it only reads what the configuration says.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import hcl2

REPO = Path(__file__).resolve().parents[2]
STACK_FILES = ("main.tf", "variables.tf", "outputs.tf")

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


def blocks(body: dict, name: str) -> list[dict]:
    """Nested blocks `name { ... }` of a body, static and dynamic contents."""
    found = list(body.get(name, []))
    for dyn in body.get("dynamic", []):
        for label, spec in dyn.items():
            if label == name:
                found.extend(spec.get("content", []))
    return found


@dataclass
class Stack:
    text: dict[str, str]
    resources: dict[tuple[str, str], dict] = field(default_factory=dict)
    data: dict[tuple[str, str], dict] = field(default_factory=dict)
    variables: dict[str, dict] = field(default_factory=dict)
    outputs: dict[str, dict] = field(default_factory=dict)
    locals: dict[str, Any] = field(default_factory=dict)
    terraform: list[dict] = field(default_factory=list)
    providers: dict[str, dict] = field(default_factory=dict)

    def resource(self, rtype: str, name: str) -> dict:
        return self.resources[(rtype, name)]

    def resources_of(self, rtype: str) -> dict[str, dict]:
        return {n: b for (t, n), b in self.resources.items() if t == rtype}

    def data_source(self, dtype: str, name: str) -> dict:
        return self.data[(dtype, name)]

    def policy_documents(self) -> dict[str, dict]:
        return {n: b for (t, n), b in self.data.items() if t == "aws_iam_policy_document"}

    def statements(self) -> Iterator[tuple[str, dict]]:
        """(document name, statement) for every statement, dynamic ones too."""
        for doc_name, doc in self.policy_documents().items():
            for st in blocks(doc, "statement"):
                yield doc_name, st

    def resolve(self, value: Any) -> Any:
        """Replace `${local.name}` by the local's value when it is a plain string."""
        if isinstance(value, str):
            m = re.fullmatch(r"\$\{local\.([A-Za-z0-9_]+)\}", value.strip())
            if m and isinstance(self.locals.get(m.group(1)), str):
                return self.locals[m.group(1)]

            def inline(m: re.Match) -> str:
                local = self.locals.get(m.group(1))
                return local if isinstance(local, str) else m.group(0)

            return re.sub(r"\$\{local\.([A-Za-z0-9_]+)\}", inline, value)
        return value


def _labelled(entries: list[dict], depth: int) -> Iterator[tuple[tuple[str, ...], dict]]:
    for entry in entries:
        for k1, v1 in entry.items():
            if depth == 1:
                yield (unquote(k1),), normalize(v1)
            else:
                for k2, v2 in v1.items():
                    yield (unquote(k1), unquote(k2)), normalize(v2)


def load_stack(root: Path = REPO) -> Stack:
    text = {name: (root / name).read_text() for name in STACK_FILES}
    stack = Stack(text=text)
    for name in STACK_FILES:
        parsed = hcl2.loads(text[name])
        for labels, body in _labelled(parsed.get("resource", []), 2):
            stack.resources[labels] = body
        for labels, body in _labelled(parsed.get("data", []), 2):
            stack.data[labels] = body
        for labels, body in _labelled(parsed.get("variable", []), 1):
            stack.variables[labels[0]] = body
        for labels, body in _labelled(parsed.get("output", []), 1):
            stack.outputs[labels[0]] = body
        for labels, body in _labelled(parsed.get("provider", []), 1):
            stack.providers[labels[0]] = body
        for block in parsed.get("locals", []):
            stack.locals.update(normalize(block))
        stack.terraform.extend(normalize(b) for b in parsed.get("terraform", []))
    return stack


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


def orchestrator_sources(root: Path = REPO) -> list[Path]:
    """The orchestrator's Python files under lib/lambda, without its tests."""
    base = root / "lib" / "lambda"
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
