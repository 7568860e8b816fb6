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
* the class's getters without a matching `...Input` getter are the computed,
  read-only attributes (the same holds inside a block, on its
  `...OutputReference` class).

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

Usage: python jsii_schema.py ASSEMBLY.jsii PROVIDER_SOURCE VERSION PACKAGE OUT.json
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

Json = dict[str, Any]

_LINK = re.compile(r"registry\.terraform\.io/providers/([^/]+/[^/]+)/([^/]+)/docs/(resources|data-sources)/([^\s#}]+)")
_ARG_LINK = re.compile(r"registry\.terraform\.io/providers/[^ }]*#([A-Za-z0-9_]+)\b")
_REPRESENTS = re.compile(r"^Represents a \{@link (\S+) ([a-z0-9_]+)\}")


def snake(name: str) -> str:
    return re.sub(r"(?<!^)([A-Z])", r"_\1", name).lower()


def _docs_text(prop: Json) -> str:
    docs = prop.get("docs", {})
    return f"{docs.get('summary', '')} {docs.get('remarks', '')}"


def _arg_name(prop: Json) -> str:
    m = _ARG_LINK.search(_docs_text(prop))
    return m.group(1) if m else snake(prop["name"])


class Extractor:
    def __init__(self, types: dict[str, Json]) -> None:
        self.types = types

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
            reader = self.types[reader_fqn]
            getters = {p["name"] for p in reader.get("properties", []) if not p.get("static")}
            for getter in sorted(getters):
                if getter.endswith("Input") or getter in settable_camel or getter == "internalValue":
                    continue
                if f"{getter}Input" in getters:
                    continue
                name = snake(getter)
                if name not in attributes and name not in blocks:
                    attributes[name] = {"type": "any", "mode": "computed"}
        return {"attributes": attributes, "blocks": blocks}

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


def main(argv: list[str]) -> None:
    assembly, provider, version, package, out = argv
    types = json.loads(Path(assembly).read_text())["types"]
    schema = {"provider": provider, "version": version, "package": package}
    schema.update(Extractor(types).extract(provider, version))
    if not schema["resources"] and not schema["data_sources"]:
        raise SystemExit(f"{assembly}: no resources or data sources of {provider} {version}")
    Path(out).write_text(json.dumps(schema, separators=(",", ":"), sort_keys=True))


if __name__ == "__main__":
    main(sys.argv[1:])
