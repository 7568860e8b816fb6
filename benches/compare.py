#!/usr/bin/env python3
"""Prints the speed and memory comparison table of drift-detection.

Run through scripts/bench, which builds the release binary and runs the
criterion benchmarks first. For each synthetic plan (benches/gen_plan.py,
Terraform's real show -json shape, ~10% drift) it reports:

* Python: best-of-3 load + extraction time of benches/baseline.py (json.load
  and loops doing the same extraction), in process, start-up excluded;
* Rust: criterion's mean time for parse + classify + report (`analyze`) and
  for serde_json merely scanning the bytes into IgnoredAny (the floor);
* the CLI's whole-process wall time and peak RSS on the plan, and peak RSS on
  the same plan as a `terraform plan -json` stream.

Targets (issue 2): >= 10x Python, <= 2x IgnoredAny, peak RSS <= 2x the file on
the 50k plan, stream RSS flat in input size.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / "target" / "release" / "drift-detection"
PLANS = ROOT / "target" / "bench-plans"
CRITERION = ROOT / "target" / "criterion"


def plan_files(size: int) -> tuple[Path, Path]:
    plan, stream = PLANS / f"plan-{size}.json", PLANS / f"plan-{size}.jsonl"
    if not plan.exists() or not stream.exists():
        PLANS.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [sys.executable, ROOT / "benches" / "gen_plan.py", str(size), plan, "--stream", stream],
            check=True,
        )
    return plan, stream


def criterion_ms(size: int, bench: str) -> float | None:
    estimates = CRITERION / f"plan-{size}" / bench / str(size) / "new" / "estimates.json"
    if not estimates.exists():
        return None
    return json.loads(estimates.read_text())["mean"]["point_estimate"] / 1e6


def python_ms(plan: Path) -> float:
    best = float("inf")
    for _ in range(3):
        done = subprocess.run(
            [sys.executable, ROOT / "benches" / "baseline.py", plan, "--time"],
            check=True,
            capture_output=True,
            text=True,
        )
        match = re.search(r"total ([0-9.]+)s", done.stderr)
        if match:
            best = min(best, float(match.group(1)) * 1000)
    return best


def cli_run(path: Path) -> tuple[float, float]:
    """Best-of-3 wall time (ms) and peak RSS (MiB) of `drift-detection analyze`."""
    probe = (
        "import resource, subprocess, sys, time\n"
        "t = time.perf_counter()\n"
        "code = subprocess.run(sys.argv[1:]).returncode\n"
        "print(time.perf_counter() - t, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, code)\n"
    )
    best_ms, rss_mib = float("inf"), 0.0
    with tempfile.TemporaryDirectory() as out:
        for _ in range(3):
            done = subprocess.run(
                [sys.executable, "-c", probe, BIN, "analyze", path, "-q", "--out", out],
                check=True,
                capture_output=True,
                text=True,
            )
            seconds, rss_kib, code = done.stdout.split()
            if code not in {"0", "2", "3", "4"}:
                raise SystemExit(f"drift-detection failed on {path} with exit code {code}")
            best_ms = min(best_ms, float(seconds) * 1000)
            rss_mib = max(rss_mib, int(rss_kib) / 1024)
    return best_ms, rss_mib


def fmt(value: float | None, spec: str = ".1f") -> str:
    return "n/a" if value is None else format(value, spec)


def main(sizes: list[int]) -> int:
    if not BIN.exists():
        raise SystemExit(f"{BIN} is missing: run scripts/bench (it builds it)")
    rows = []
    for size in sizes:
        plan, stream = plan_files(size)
        size_mib = plan.stat().st_size / 2**20
        started = time.perf_counter()
        py = python_ms(plan)
        rust = criterion_ms(size, "analyze")
        floor = criterion_ms(size, "serde_ignored_any")
        wall, rss = cli_run(plan)
        _, stream_rss = cli_run(stream)
        rows.append(
            [
                f"{size:,}",
                f"{size_mib:.1f}",
                fmt(py),
                fmt(rust),
                fmt(py / rust if rust else None) + "x",
                fmt(floor),
                fmt(rust / floor if rust and floor else None, ".2f") + "x",
                fmt(wall),
                fmt(rss),
                fmt(rss / size_mib, ".2f") + "x",
                f"{stream.stat().st_size / 2**20:.1f}",
                fmt(stream_rss),
            ]
        )
        print(f"measured {size:,} resources in {time.perf_counter() - started:.1f}s", file=sys.stderr)
    header = [
        "resources",
        "plan MiB",
        "python ms",
        "rust ms",
        "speed-up",
        "serde ms",
        "vs serde",
        "CLI wall ms",
        "peak RSS MiB",
        "RSS/file",
        "stream MiB",
        "stream RSS MiB",
    ]
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
    print("| " + " | ".join(h.ljust(w) for h, w in zip(header, widths)) + " |")
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for row in rows:
        print("| " + " | ".join(c.rjust(w) for c, w in zip(row, widths)) + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main([int(s) for s in sys.argv[1:]] or [1000, 10000, 50000]))
