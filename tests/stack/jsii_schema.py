"""Extract a compact Terraform provider schema from a CDKTF provider's jsii
assembly (the `.jsii` file of an `@cdktf/provider-*` npm package).

Why jsii: the npm package is generated from `terraform providers schema
-json` of one exact provider release, which this machine cannot download,
and its assembly keeps what a validator needs. Per resource or data source:

* the `...Config` interface (the constructor's `config` parameter) lists the
  settable arguments; a property without `optional` is required; each
  property's docs link to `.../docs/resources/<type>#<argument_name>`, which
  gives the argument's real snake_case name;
* a property documented as "<name> block." is a nested block (cdktf writes
  that only for the schema's `block_types`); its type is the block's struct
  (one block at most) or an array of it (several), and the struct's own
  properties are the block's arguments, recursively;
* the computed, read-only attributes are the class's getters that the
  package's JavaScript (`lib/<type>/index.js`) marks `// <name> - computed:
  true, optional: false, required: false`, which gives their snake_case
  name too (camelCase does not round-trip: `output_base64sha256` is
  `outputBase64Sha256`). Inside a block the JavaScript has no such comments:
  there the getters without a matching `...Input` getter are the read-only
  ones, named by converting camelCase, which at worst turns "read-only" into
  "unknown" for a nested attribute, both errors.

Output (one JSON file per provider):
  {"provider": "hashicorp/aws", "version": "5.100.0", "package": "...",
   "provider_config": BLOCK, "resources": {type: BLOCK},
   "data_sources": {type: BLOCK}}
  BLOCK = {"attributes": {name: {"type": TYPE, "mode": "required" |
           "optional" | "computed"}},
           "blocks": {name: {"max": 1 | null, "min": 0 | 1, "block": BLOCK
           | null}}}   (null: cdktf typed the block `any`, contents unknown)
  TYPE  = "string" | "number" | "bool" | "any" | "object" |
          ["list", TYPE] | ["map", TYPE]

Usage: python jsii_schema.py PACKAGE.tgz PROVIDER_SOURCE VERSION PACKAGE OUT.json
"""

from __future__ import annotations

import json
import re
import sys
import tarfile
from pathlib import Path
from typing import Any

Json = dict[str, Any]

_LINK = re.compile(r"registry\.terraform\.io/providers/([^/]+/[^/]+)/([^/]+)/docs/(resources|data-sources)/([^\s#}]+)")
_ARG_LINK = re.compile(r"registry\.terraform\.io/providers/[^ }]*#([A-Za-z0-9_]+)\b")
_COMPUTED_COMMENT = re.compile(
    r"// (\w+) - computed: (true|false), optional: (true|false), required: (true|false)\s*\n"
    r"\s*(?:get (\w+)\(|this\._(\w+) = )"
)
_JS_CLASS = re.compile(r"^class (\w+) extends ", re.MULTILINE)
_REPRESENTS = re.compile(r"^Represents a \{@link (\S+) ([a-z0-9_]+)\}")


def snake(name: str) -> str:
    return re.sub(r"(?<!^)([A-Z])", r"_\1", name).lower()


def _docs_text(prop: Json) -> str:
    docs = prop.get("docs", {})
    return f"{docs.get('summary', '')} {docs.get('remarks', '')}"


def _arg_name(prop: Json) -> str:
    m = _ARG_LINK.search(_docs_text(prop))
    return m.group(1) if m else snake(prop["name"])


def js_getters(source: str) -> dict[str, dict[str, str]]:
    """JS class -> getter (camelCase) -> attribute name."""
    classes: dict[str, dict[str, str]] = {}
    starts = list(_JS_CLASS.finditer(source))
    for i, start in enumerate(starts):
        end = starts[i + 1].start() if i + 1 < len(starts) else len(source)
        getters = {}
        for m in _COMPUTED_COMMENT.finditer(source, start.end(), end):
            name, getter, field = m.group(1, 5, 6)
            getters[getter or field] = name
        if getters:
            classes[start.group(1)] = getters
    return classes


class Extractor:
    def __init__(self, types: dict[str, Json], js: dict[str, dict[str, str]]) -> None:
        self.types = types
        self.js = js

    def value_type(self, t: Json) -> Any:
        if "primitive" in t:
            return {"string": "string", "number": "number", "boolean": "bool"}.get(t["primitive"], "any")
        if "collection" in t:
            kind = "map" if t["collection"]["kind"] == "map" else "list"
            return [kind, self.value_type(t["collection"]["elementtype"])]
        if "union" in t:
            # cdktf unions a type with IResolvable (a token); the other member is the type.
            members = [m for m in t["union"]["types"] if m.get("fqn") != "cdktf.IResolvable"]
            return self.value_type(members[0]) if len(members) == 1 else "any"
        if "fqn" in t:
            return "object"
        return "any"

    @staticmethod
    def _block_struct(t: Json) -> tuple[str | None, int | None]:
        """(struct fqn, max items) of a block property's type."""
        if "fqn" in t:
            return t["fqn"], 1
        if "union" in t:
            for m in t["union"]["types"]:
                if "collection" in m:
                    return m["collection"]["elementtype"].get("fqn"), None
        if "collection" in t:
            return t["collection"]["elementtype"].get("fqn"), None
        return None, None

    def block(self, struct_fqn: str, reader_fqn: str | None, depth: int = 0) -> Json:
        struct = self.types[struct_fqn]
        attributes: dict[str, Json] = {}
        blocks: dict[str, Json] = {}
        settable_camel = set()
        for prop in struct.get("properties", []):
            settable_camel.add(prop["name"])
            name = _arg_name(prop)
            required = not prop.get("optional", False)
            if _docs_text(prop).strip().startswith(f"{name} block."):
                fqn, max_items = self._block_struct(prop["type"])
                inner = None
                if fqn is not None and fqn in self.types and depth < 64:
                    inner = self.block(fqn, self._reader_of(fqn), depth + 1)
                blocks[name] = {"min": 1 if required else 0, "max": max_items, "block": inner}
            else:
                attributes[name] = {
                    "type": self.value_type(prop["type"]),
                    "mode": "required" if required else "optional",
                }
        if reader_fqn is not None:
            commented = self.js.get(self._js_key(reader_fqn), {})
            # A commented getter that the config does not take is read-only,
            # whatever the comment's flags (a data source's framework block
            # of computed attributes says computed: false).
            for getter, name in sorted(commented.items()):
                if getter not in settable_camel and name not in attributes and name not in blocks:
                    attributes[name] = {"type": "any", "mode": "computed"}
            # Getters the JavaScript has no comment for (all of a block's,
            # a few of a type's): no `...Input` twin means read-only.
            getters = {p["name"] for p in self.types[reader_fqn].get("properties", []) if not p.get("static")}
            for getter in sorted(getters):
                if getter.endswith("Input") or getter in settable_camel or getter in commented:
                    continue
                if getter == "internalValue" or f"{getter}Input" in getters:
                    continue
                name = snake(getter)
                if name not in attributes and name not in blocks:
                    attributes[name] = {"type": "any", "mode": "computed"}
        return {"attributes": attributes, "blocks": blocks}

    def _js_key(self, fqn: str) -> str:
        """`<lib directory>/<class>`, as read_package keys the JS classes."""
        t = self.types[fqn]
        return f"{Path(t.get('locationInModule', {}).get('filename', '')).parent.name}/{t['name']}"

    def _reader_of(self, struct_fqn: str) -> str | None:
        fqn = f"{struct_fqn}OutputReference"
        return fqn if fqn in self.types else None

    def extract(self, provider: str, version: str) -> Json:
        resources: dict[str, Json] = {}
        data_sources: dict[str, Json] = {}
        provider_config: Json | None = None
        for fqn, t in self.types.items():
            if t.get("kind") != "class":
                continue
            config = next(
                (p["type"].get("fqn") for p in t.get("initializer", {}).get("parameters", []) if p["name"] == "config"),
                None,
            )
            if config is None:
                continue
            if t.get("base") == "cdktf.TerraformProvider":
                provider_config = self.block(config, None)
                continue
            summary = t.get("docs", {}).get("summary", "")
            m = _REPRESENTS.match(summary)
            link = _LINK.search(summary)
            if not m or not link or link.group(1) != provider or link.group(2) != version:
                continue
            kind = resources if link.group(3) == "resources" else data_sources
            kind[m.group(2)] = self.block(config, fqn)
        if provider_config is None:
            raise SystemExit("no provider class in the assembly")
        return {
            "provider_config": provider_config,
            "resources": dict(sorted(resources.items())),
            "data_sources": dict(sorted(data_sources.items())),
        }


def read_package(tarball: str) -> tuple[dict[str, Json], dict[str, dict[str, str]]]:
    """The assembly's types and the JS getters of every class, read in one
    pass over the tarball (its lib/ is 180 MB unpacked, none of it kept)."""
    types: dict[str, Json] | None = None
    js: dict[str, dict[str, str]] = {}
    with tarfile.open(tarball, "r:gz") as tar:
        for member in tar:
            if member.name == "package/.jsii" or re.fullmatch(r"package/lib/[^/]+/index\.js", member.name):
                handle = tar.extractfile(member)
                if handle is None:
                    continue
                text = handle.read().decode()
                if member.name == "package/.jsii":
                    types = json.loads(text)["types"]
                else:
                    directory = member.name.split("/")[2]
                    js.update({f"{directory}/{cls}": getters for cls, getters in js_getters(text).items()})
    if types is None:
        raise SystemExit(f"{tarball}: no package/.jsii")
    return types, js


def main(argv: list[str]) -> None:
    tarball, provider, version, package, out = argv
    types, js = read_package(tarball)
    schema = {"provider": provider, "version": version, "package": package}
    schema.update(Extractor(types, js).extract(provider, version))
    if not schema["resources"] and not schema["data_sources"]:
        raise SystemExit(f"{tarball}: no resources or data sources of {provider} {version}")
    Path(out).write_text(json.dumps(schema, separators=(",", ":"), sort_keys=True))


if __name__ == "__main__":
    main(sys.argv[1:])
