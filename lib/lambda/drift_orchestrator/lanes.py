"""Lanes: how a run's checks are spread so no account is refreshed too hard.

Step Functions' Distributed Map bounds only the run's total concurrency
(``MaxConcurrency``). AWS throttles API calls per account and region, so the
run also bounds the checks in flight in one account, and in one region of an
account: every selected workspace is placed in a *lane*, a list of workspaces
of one account that the state machine checks one after another. An account
gets at most ``per_account`` lanes, and the workspaces of one region of it are
spread over at most ``per_region`` of those, so at any moment at most
``per_account`` checks run in an account and ``per_region`` in one of its
regions, whatever the global bound. The map runs up to ``max_concurrency``
lanes at once.

Within an account, workspaces are placed longest first on the least loaded
lane they may use (LPT), from an estimate of each check's duration (its last
known duration, or a default); lanes are then listed longest first, because
the map starts items in order, and starting the long lanes first keeps the
run's wall time near ``total work / concurrency + the slowest lane``.

Pure: no AWS, no clock; the bench (``benches/scale_bench.py``) and the
orchestrator call the same :func:`plan_lanes`.
"""

from __future__ import annotations

import heapq
import math
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

#: Distributed Map's own limit on concurrent child executions.
DISTRIBUTED_MAP_MAX_CONCURRENCY = 10_000


class Placeable(Protocol):
    """What a lane needs to know of a workspace."""

    @property
    def account_id(self) -> str: ...

    @property
    def region(self) -> str: ...


W = TypeVar("W", bound=Placeable)


@dataclass(frozen=True)
class Limits:
    """The run's concurrency bounds; each at least 1."""

    #: Lanes in flight at once (the map's ``MaxConcurrency``).
    max_concurrency: int
    #: Checks in flight at once in one AWS account.
    per_account: int
    #: Checks in flight at once in one region of one account.
    per_region: int

    def __post_init__(self) -> None:
        for name in ("max_concurrency", "per_account", "per_region"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name} must be a whole number of at least 1, not {value!r}")
        if self.max_concurrency > DISTRIBUTED_MAP_MAX_CONCURRENCY:
            raise ValueError(
                f"max_concurrency {self.max_concurrency} is above Distributed Map's limit of "
                f"{DISTRIBUTED_MAP_MAX_CONCURRENCY}"
            )


@dataclass(frozen=True)
class Lane(Generic[W]):
    """Workspaces of one account, checked one after another."""

    account_id: str
    workspaces: tuple[W, ...]
    #: The sum of the workspaces' estimated durations.
    estimated_seconds: float


def plan_lanes(
    workspaces: Sequence[W],
    limits: Limits,
    estimate: Callable[[W], float],
) -> list[Lane[W]]:
    """Places every workspace in exactly one lane; longest lanes first.

    Deterministic: the same workspaces, limits and estimates give the same
    lanes (ties keep the inventory's order).
    """
    by_account: dict[str, list[tuple[int, W]]] = defaultdict(list)
    for position, workspace in enumerate(workspaces):
        by_account[workspace.account_id].append((position, workspace))
    lanes: list[Lane[W]] = []
    for account_id, members in by_account.items():
        lanes.extend(_account_lanes(account_id, members, limits, estimate))
    # Longest first; the sort is stable, so ties keep the inventory's order.
    return sorted(lanes, key=lambda lane: -lane.estimated_seconds)


def _account_lanes(
    account_id: str,
    members: list[tuple[int, W]],
    limits: Limits,
    estimate: Callable[[W], float],
) -> list[Lane[W]]:
    count = min(limits.per_account, len(members))
    loads = [0.0] * count
    placed: list[list[tuple[int, W]]] = [[] for _ in range(count)]
    by_region: dict[str, list[tuple[int, W]]] = defaultdict(list)
    for member in members:
        by_region[member[1].region].append(member)
    durations = {position: _seconds(estimate(workspace)) for position, workspace in members}

    def region_work(item: tuple[str, list[tuple[int, W]]]) -> float:
        return sum(durations[position] for position, _ in item[1])

    for _region, region_members in sorted(by_region.items(), key=lambda item: -region_work(item)):
        # The region may use its `per_region` least loaded lanes.
        allowed = heapq.nsmallest(min(limits.per_region, count), range(count), key=lambda i: (loads[i], i))
        for position, workspace in sorted(region_members, key=lambda m: (-durations[m[0]], m[0])):
            lane = min(allowed, key=lambda i: (loads[i], i))
            loads[lane] += durations[position]
            placed[lane].append((position, workspace))
    return [
        Lane(
            account_id=account_id,
            # Within a lane, the inventory's order.
            workspaces=tuple(workspace for _, workspace in sorted(lane_members, key=lambda m: m[0])),
            estimated_seconds=loads[index],
        )
        for index, lane_members in enumerate(placed)
        if lane_members
    ]


def _seconds(value: float) -> float:
    """An estimate usable for ordering: finite and not negative (else 0)."""
    seconds = float(value)
    return seconds if math.isfinite(seconds) and seconds > 0 else 0.0
