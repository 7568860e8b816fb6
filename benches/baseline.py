#!/usr/bin/env python3
"""Plain-Python baseline for the drift analyzer benchmark.

    python3 benches/baseline.py PLAN.json             # one-line JSON summary on stdout
    python3 benches/baseline.py PLAN.json --details   # plus one JSON line per change
    python3 benches/baseline.py PLAN.json --time      # wall time of load+analysis on stderr

Python 3.11, standard library only. It is meant as an honest baseline: the same
extraction the Rust analyzer does, written the way a competent engineer would
write it in Python (json.load, which is C-accelerated, then straight loops; no
deliberate slowness, no caching tricks either).

What it computes from a `terraform show -json PLANFILE` document:

* for every entry of resource_drift and resource_changes whose actions are not
  ["no-op"] or ["read"]: address, type, actions, and the changed leaf attribute
  paths between change.before and change.after;
* paths are written `ingress[0].cidr_blocks[1]`, `tags.Name`; a map key that is
  not an identifier is quoted: `tags["kubernetes.io/role"]`;
* a path is a change when the leaf values differ, or when after_unknown marks it
  (the new value is "(known after apply)"); an empty list/map against null is a
  change at the container's own path; a null leaf against a missing one is not;
* sensitivity: where before_sensitive or after_sensitive is true, the whole
  subtree is compared as one value and reported once, with both sides replaced
  by "(sensitive value)" -- sensitive values never reach the output;
* resources: the number of distinct managed resource instances in
  prior_state.values.root_module and planned_values.root_module, child_modules
  included (a resource deleted outside Terraform is only in planned_values);
* summary: {"resources", "drifted", "pending", "changed_attributes"}, where
  drifted / pending count the non-no-op entries of resource_drift /
  resource_changes and changed_attributes is the total number of changed paths
  over both lists.
"""

from __future__ import annotations

import json
import re
import sys
import time

SENSITIVE = "(sensitive value)"
UNKNOWN = "(known after apply)"
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*\Z")
_SKIP = (["no-op"], ["read"])


def _key(path: str, k: str) -> str:
    if _IDENT.match(k):
        return f"{path}.{k}" if path else k
    return f"{path}[{json.dumps(k)}]"


def diff(before, after, unknown, bsens, asens, path, out):
    """Append (path, before, after) for every changed leaf under `path`."""
    if bsens is True or asens is True:
        if unknown is True:
            out.append((path, SENSITIVE if before is not None else None, UNKNOWN))
        elif before != after:
            out.append((path, SENSITIVE if before is not None else None, SENSITIVE if after is not None else None))
        return
    if unknown is True:
        out.append((path, before, UNKNOWN))
        return

    b_dict = isinstance(before, dict)
    a_dict = isinstance(after, dict)
    if (b_dict or a_dict) and (b_dict or before is None) and (a_dict or after is None):
        b = before or {}
        a = after or {}
        u = unknown if isinstance(unknown, dict) else {}
        bs = bsens if isinstance(bsens, dict) else {}
        as_ = asens if isinstance(asens, dict) else {}
        keys = b.keys() | a.keys() | u.keys()
        if not keys:
            if before != after:
                out.append((path, before, after))
            return
        for k in sorted(keys):
            bv = b.get(k)
            av = a.get(k)
            uv = u.get(k, False)
            if bv is None and av is None and uv is False:
                continue
            diff(bv, av, uv, bs.get(k, False), as_.get(k, False), _key(path, k), out)
        return

    b_list = isinstance(before, list)
    a_list = isinstance(after, list)
    if (b_list or a_list) and (b_list or before is None) and (a_list or after is None):
        b = before or []
        a = after or []
        u = unknown if isinstance(unknown, list) else []
        bs = bsens if isinstance(bsens, list) else []
        as_ = asens if isinstance(asens, list) else []
        n = max(len(b), len(a), len(u))
        if n == 0:
            if before != after:
                out.append((path, before, after))
            return
        for i in range(n):
            diff(
                b[i] if i < len(b) else None,
                a[i] if i < len(a) else None,
                u[i] if i < len(u) else False,
                bs[i] if i < len(bs) else False,
                as_[i] if i < len(as_) else False,
                f"{path}[{i}]",
                out,
            )
        return

    if before != after:
        out.append((path, before, after))


def analyze_change(rc: dict) -> dict | None:
    change = rc.get("change") or {}
    actions = change.get("actions") or []
    if actions in _SKIP:
        return None
    paths: list = []
    diff(
        change.get("before"),
        change.get("after"),
        change.get("after_unknown", False),
        change.get("before_sensitive", False),
        change.get("after_sensitive", False),
        "",
        paths,
    )
    return {
        "address": rc.get("address"),
        "type": rc.get("type"),
        "actions": actions,
        "changes": [{"path": p, "before": b, "after": a} for p, b, a in paths],
    }


def _collect(module: dict | None, seen: set) -> None:
    stack = [module] if module else []
    while stack:
        m = stack.pop()
        for r in m.get("resources") or ():
            if r.get("mode") == "managed":
                seen.add(r.get("address"))
        stack.extend(m.get("child_modules") or ())


def count_resources(plan: dict) -> int:
    seen: set = set()
    _collect(((plan.get("prior_state") or {}).get("values") or {}).get("root_module"), seen)
    _collect((plan.get("planned_values") or {}).get("root_module"), seen)
    return len(seen)


def analyze(plan: dict) -> tuple[dict, list]:
    drift = [d for d in map(analyze_change, plan.get("resource_drift") or ()) if d]
    pending = [c for c in map(analyze_change, plan.get("resource_changes") or ()) if c]
    summary = {
        "resources": count_resources(plan),
        "drifted": len(drift),
        "pending": len(pending),
        "changed_attributes": sum(len(x["changes"]) for x in drift) + sum(len(x["changes"]) for x in pending),
    }
    return summary, [("drift", d) for d in drift] + [("pending", c) for c in pending]


def main(argv: list[str]) -> int:
    args = [a for a in argv if not a.startswith("--")]
    flags = {a for a in argv if a.startswith("--")}
    if len(args) != 1 or flags - {"--details", "--time"}:
        print(__doc__.strip().splitlines()[0], file=sys.stderr)
        print("usage: baseline.py PLAN.json [--details] [--time]", file=sys.stderr)
        return 2
    t0 = time.perf_counter()
    with open(args[0], "rb") as f:
        plan = json.load(f)
    t1 = time.perf_counter()
    summary, records = analyze(plan)
    t2 = time.perf_counter()
    if "--details" in flags:
        for kind, rec in records:
            print(json.dumps({"kind": kind, **rec}, separators=(",", ":")))
    print(json.dumps(summary, separators=(",", ":")))
    if "--time" in flags:
        print(f"load {t1 - t0:.3f}s  analyze {t2 - t1:.3f}s  total {t2 - t0:.3f}s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
