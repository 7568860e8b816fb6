"""Lanes: every workspace placed once, within the per-account and per-region caps."""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass

import pytest

from drift_orchestrator.lanes import Limits, plan_lanes


@dataclass(frozen=True)
class Ws:
    name: str
    account_id: str
    region: str
    seconds: float = 90.0


def seconds(workspace: Ws) -> float:
    return workspace.seconds


def test_every_workspace_is_in_exactly_one_lane_within_the_caps() -> None:
    rng = random.Random(7)
    regions = ["us-east-1", "eu-west-1", "ap-southeast-2"]
    workspaces = [
        Ws(f"ws-{i}", f"{rng.randrange(12):012d}", rng.choice(regions), rng.lognormvariate(4.5, 0.8))
        for i in range(400)
    ]
    limits = Limits(max_concurrency=20, per_account=4, per_region=2)
    lanes = plan_lanes(workspaces, limits, seconds)

    placed = [w for lane in lanes for w in lane.workspaces]
    assert sorted(w.name for w in placed) == sorted(w.name for w in workspaces)
    lanes_per_account: dict[str, int] = defaultdict(int)
    lanes_per_region: dict[tuple[str, str], int] = defaultdict(int)
    for lane in lanes:
        assert {w.account_id for w in lane.workspaces} == {lane.account_id}
        lanes_per_account[lane.account_id] += 1
        for region in {w.region for w in lane.workspaces}:
            lanes_per_region[(lane.account_id, region)] += 1
    assert max(lanes_per_account.values()) <= 4
    assert max(lanes_per_region.values()) <= 2
    # Longest first, so the map starts the long lanes first.
    estimated = [lane.estimated_seconds for lane in lanes]
    assert estimated == sorted(estimated, reverse=True)
    assert sum(estimated) == pytest.approx(sum(w.seconds for w in workspaces))


def test_the_work_of_an_account_is_balanced_over_its_lanes() -> None:
    workspaces = [Ws(f"ws-{i}", "111111111111", "us-east-1", s) for i, s in enumerate([600, 300, 300, 200, 100, 100])]
    lanes = plan_lanes(workspaces, Limits(max_concurrency=10, per_account=2, per_region=2), seconds)
    assert sorted(lane.estimated_seconds for lane in lanes) == [800, 800]


def test_a_small_account_gets_one_lane_per_workspace_up_to_the_cap() -> None:
    workspaces = [Ws("a", "1", "us-east-1"), Ws("b", "1", "eu-west-1")]
    lanes = plan_lanes(workspaces, Limits(max_concurrency=10, per_account=5, per_region=5), seconds)
    assert len(lanes) == 2


def test_the_same_input_gives_the_same_lanes() -> None:
    workspaces = [Ws(f"ws-{i}", f"{i % 3}", "us-east-1", 90.0) for i in range(30)]
    limits = Limits(max_concurrency=5, per_account=3, per_region=2)
    assert plan_lanes(workspaces, limits, seconds) == plan_lanes(workspaces, limits, seconds)


@pytest.mark.parametrize(
    ("field", "value"), [("max_concurrency", 0), ("per_account", -1), ("per_region", True), ("max_concurrency", 10_001)]
)
def test_limits_out_of_range_are_refused(field: str, value: object) -> None:
    settings: dict[str, object] = {"max_concurrency": 4, "per_account": 2, "per_region": 2, field: value}
    with pytest.raises(ValueError, match=field):
        Limits(**settings)  # type: ignore[arg-type]


def test_an_unusable_estimate_counts_as_zero() -> None:
    workspaces = [
        Ws("a", "1", "us-east-1", float("nan")),
        Ws("b", "1", "us-east-1", float("inf")),
        Ws("c", "1", "us-east-1"),
    ]
    lanes = plan_lanes(workspaces, Limits(max_concurrency=3, per_account=3, per_region=3), seconds)
    assert sorted(w.name for lane in lanes for w in lane.workspaces) == ["a", "b", "c"]
    assert [lane.estimated_seconds for lane in lanes] == [90.0, 0.0]
