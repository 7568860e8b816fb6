"""The scale bench's simulator keeps its invariants (benches/scale_bench.py).

Small inputs, no timing assertions: what is checked is the bookkeeping (every
workspace ends exactly once), the caps the lanes promise, the old fan-out's
budget rule, the retry limits, the transition count and determinism.
"""

from __future__ import annotations

import json
import random

import pytest
import scale_bench as bench

SEED = 7
WORKSPACES = 300
ACCOUNTS = 20


@pytest.fixture(scope="module")
def routed() -> list[bench.SimWorkspace]:
    return bench.generate(WORKSPACES, ACCOUNTS, SEED, route=True)


@pytest.fixture(scope="module")
def unrouted() -> list[bench.SimWorkspace]:
    return bench.generate(WORKSPACES, ACCOUNTS, SEED, route=False)


def test_the_workload_has_the_shape_asked_for(routed: list[bench.SimWorkspace]) -> None:
    accounts = {w.account_id for w in routed}
    assert len(routed) == WORKSPACES
    assert len(accounts) == ACCOUNTS
    assert [w.index for w in routed] == list(range(WORKSPACES))
    assert all(0 < w.duration <= bench.TRUNCATE_SECONDS for w in routed)
    assert all(0 < w.last_duration <= bench.TRUNCATE_SECONDS for w in routed)
    assert all((w.runner == "codebuild") == (w.last_duration > bench.WORKER_TIMEOUT_SECONDS) for w in routed)


def test_account_sizes_are_skewed_and_sum_up() -> None:
    sizes = bench.account_sizes(5000, 200, random.Random(1))
    assert sum(sizes) == 5000
    assert min(sizes) >= 1
    assert sizes[0] > 10 * sizes[len(sizes) // 2]


@pytest.mark.parametrize("scenario", bench.SCENARIOS, ids=lambda s: f"{s.model}-{s.setting}-{s.estimate}-{s.routed}")
def test_every_workspace_ends_exactly_once(
    scenario: bench.Scenario, routed: list[bench.SimWorkspace], unrouted: list[bench.SimWorkspace]
) -> None:
    row, stats = bench.run_scenario(scenario, routed, unrouted, SEED)
    assert stats.duplicate_results == 0
    assert sorted(stats.results) == list(range(WORKSPACES))
    assert row.completed + row.errors + row.timeouts + row.skipped == WORKSPACES
    assert stats.max_in_flight <= scenario.max_concurrency


@pytest.mark.parametrize(
    ("max_concurrency", "per_account", "per_region"),
    [(40, 5, 5), (200, 10, 5), (40, 2, 1), (3, 3, 2), (1, 1, 1)],
)
@pytest.mark.parametrize("accounts", [ACCOUNTS, 2])
def test_lanes_never_exceed_the_caps(max_concurrency: int, per_account: int, per_region: int, accounts: int) -> None:
    workspaces = bench.generate(WORKSPACES, accounts, SEED, route=True)
    scenario = bench.Scenario("lanes", max_concurrency, per_account, per_region, "history")
    lanes = bench.plan(scenario, workspaces)
    stats = bench.simulate_lanes(lanes, max_concurrency, SEED)
    assert stats.max_per_account <= per_account
    assert stats.max_per_region <= per_region
    assert stats.max_in_flight <= max_concurrency
    assert sorted(stats.results) == list(range(WORKSPACES))
    assert stats.duplicate_results == 0
    # Nothing is skipped: the map has no deadline to run out of.
    assert all(r.status != "skipped" for r in stats.results.values())


def test_lanes_count_their_transitions(routed: list[bench.SimWorkspace]) -> None:
    scenario = bench.Scenario("lanes", 40, 5, 5, "constant")
    lanes = bench.plan(scenario, routed)
    stats = bench.simulate_lanes(lanes, 40, SEED)
    retries = sum(r.retries for r in stats.results.values())
    assert retries == stats.throttle_retries + stats.transient_retries
    # CheckLanes and Summarize; a child start and CheckLane per lane; Route,
    # the task and Checked/NotChecked per workspace; one per retry.
    assert stats.transitions == 2 + 2 * len(lanes) + 3 * WORKSPACES + retries


def test_retries_stay_within_each_policy(routed: list[bench.SimWorkspace]) -> None:
    lanes = bench.simulate_lanes(bench.plan(bench.Scenario("lanes", 40, 40, 40, "constant"), routed), 40, SEED)
    assert max(r.attempts for r in lanes.results.values()) <= 1 + bench.SFN_MAX_RETRIES
    fanout = bench.simulate_fanout(routed, 64, SEED)
    assert max(r.attempts for r in fanout.results.values()) <= bench.FANOUT_MAX_ATTEMPTS


def test_the_old_fanout_skips_the_tail_when_its_budget_runs_out(routed: list[bench.SimWorkspace]) -> None:
    stats = bench.simulate_fanout(routed, 8, SEED)
    skipped = sorted(i for i, r in stats.results.items() if r.status == "skipped")
    assert skipped, "300 checks at 8 at a time cannot fit in one 900 s run"
    # pool.map takes workspaces in order: once one is skipped, every later one is.
    assert skipped == list(range(skipped[0], WORKSPACES))
    # No check outlives the deadline's finalize reserve.
    latest = max(r.finished_at for r in stats.results.values())
    assert latest <= bench.ORCHESTRATOR_TIMEOUT_SECONDS - bench.FINALIZE_RESERVE_SECONDS
    assert all(r.attempts == 0 for r in stats.results.values() if r.status == "skipped")


def test_the_old_fanout_skips_nothing_when_the_work_fits(routed: list[bench.SimWorkspace]) -> None:
    stats = bench.simulate_fanout(routed[:10], 8, SEED)
    assert sorted(stats.results) == list(range(10))
    assert all(r.status != "skipped" for r in stats.results.values())


def test_the_same_seed_gives_the_same_figures() -> None:
    first = bench.bench(120, 8, SEED)
    assert bench.bench(120, 8, SEED) == first
    assert bench.bench(120, 8, SEED + 1) != first


def test_json_output_has_a_row_per_scenario(capsys: pytest.CaptureFixture[str]) -> None:
    assert bench.main(["--workspaces", "60", "--accounts", "6", "--seed", "3", "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert len(document["rows"]) == len(bench.SCENARIOS)
    assert document["arguments"] == {"workspaces": 60, "accounts": 6, "seed": 3}


def test_the_table_prints(capsys: pytest.CaptureFixture[str]) -> None:
    assert bench.main(["--workspaces", "60", "--accounts", "6"]) == 0
    out = capsys.readouterr().out
    assert out.count("\n| lanes |") == 2 * sum(1 for s in bench.SCENARIOS if s.model == "lanes")
