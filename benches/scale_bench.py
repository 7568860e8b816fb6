#!/usr/bin/env python3
"""What a run of thousands of workspaces would take, old fan-out vs lanes (a benchmark, not a test).

A discrete-event simulation (a heap of events on a simulated clock: no
sleeping, no wall clock, one seeded RNG stream per workspace, so the output is
the same for the same arguments). Run through scripts/bench-scale.

The workload (``--workspaces`` over ``--accounts``, ``--seed``)
    Account sizes follow a Zipf-Mandelbrot law, weight ``(rank + 4) ** -1.1``
    times a lognormal jitter (sigma 0.3): for 5,000 workspaces in 200 accounts,
    a few accounts of about 300 workspaces and a long tail of a handful each.
    An account uses ``1 + floor(log4(size))`` regions (at most 6); its
    workspaces fall in them with weights 1, 1/2, 1/4... (a primary region).

    A check's true duration is lognormal with median 90 s and sigma
    ``ln(300 / 90) / z(0.98)`` = 0.586, chosen so that 2 % of checks outlast
    the default 300 s worker timeout; it is truncated at 14 min (resampled
    above 840 s, which removes less than 0.01 % of the mass). Untruncated, that
    is a mean of 107 s, p95 236 s, p99 352 s; the sample's figures are printed.
    Last run's duration (the history the lanes may use as estimate) is a second
    lognormal draw whose log is correlated 0.9 with this run's.

    Routing: a workspace whose *last* duration outlasted the worker timeout is
    given ``runner="codebuild"``, as an operator would after the summary's
    suggestion (about 2 %; some checks that now outlast it were under it last
    time and still time out on Lambda). Rows marked ``all lambda`` keep every
    workspace on Lambda, to show the timeouts.

Failures (the same draws in every model: common random numbers)
    Every attempt draws three uniforms from its workspace's stream. Throttling:
    ``TooManyRequestsException`` with probability 0.02 x the checks running in
    the workspace's account-region (this one included): a stand-in for the
    target account's API limits, which is what the lanes bound; it fails in
    0.1 s. Transient: a flat 1 % of attempts fail in 0.2 s with a retryable
    Lambda service error. Final errors: 0.5 % of workspaces fail their check
    (``DriftCheckFailed``) after its full duration; never retried.

Models
    ``fanout``: faithful to lib/lambda/drift_orchestrator/fanout.py (as of
    ff71338, before the Step Functions design). One
    orchestrator Lambda with a 900 s deadline and ``MAX_CONCURRENCY`` threads
    taking workspaces in inventory order; an attempt starts only while worker
    timeout + INVOKE_MARGIN_SECONDS (15) + FINALIZE_RESERVE_SECONDS (20) are
    left, else the workspace is ``skipped``; RetryPolicy(4 attempts, full
    jitter on min(20, 1 x 2 ** (n - 1)) s), backoff cut to the slack left,
    ``error`` when none is left. Every workspace runs on Lambda (fan-out has no
    CodeBuild runner), so checks longer than the worker timeout end ``timeout``.

    ``lanes``: plan_lanes() from lib/lambda/drift_orchestrator/lanes.py, then
    modules/state-machine/definition.asl.json: a Distributed Map (Standard
    child executions) runs up to ``max_concurrency`` lanes at once in the
    list's order; a lane is an inline map with MaxConcurrency 1 over its
    workspaces: Route (Choice) -> CheckInLambda or CheckInCodeBuild (Task) ->
    Checked or NotChecked (Pass). The Lambda task retries throttling and
    service errors (IntervalSeconds 2, BackoffRate 2, MaxAttempts 6 retries,
    MaxDelaySeconds 60, JitterStrategy FULL), the CodeBuild task (interval 10,
    cap 300); anything else is caught and the lane goes on. A Lambda check
    longer than the worker timeout ends ``timeout`` at the timeout; CodeBuild
    has no such limit and adds 60 s of provisioning.

    Both: an invocation costs 1 s beyond the check (cold starts amortized), a
    child execution 1 s to start, a Choice or Pass state 0.05 s, the summary
    5 s. Not modelled: Lambda's account concurrency limit (1,000 by default,
    above every setting here), CodeBuild's concurrent-build quota, terraform's
    own retries inside a check, state locks, and runs overlapping.

Figures per row
    wall: the run's end (last check + 5 s summary; for fanout, bounded by the
    900 s deadline). bound: ``ceil(N / concurrency) x median + slowest check``
    (median of the true durations, slowest = longest single attempt seen);
    PASS needs wall <= bound and nothing skipped. With a lognormal law the
    mean (107 s) is above the median, so once ``N / concurrency`` is large the
    median bound is below what any schedule can do; the same bound with the
    mean is printed beside it. floor: no schedule can beat
    max(busy / concurrency, busiest account / per_account, busiest
    account-region / per_region, slowest), busy being the time that row's
    attempts ran (rejected attempts and backoff excluded). Step Functions transitions per run, counted the
    way AWS bills Standard workflows: each state entered, each retry, and one
    per child execution the Distributed Map starts (inline map iterations are
    free; their states are not): $0.025 per 1,000. Per 1,000 workspaces means
    per 1,000 that ran (fanout's skipped ones cost nothing). Lambda GB-s: worker
    (worker_memory_size 2048 MB in variables.tf, arm64 $0.0000133334 per GB-s)
    for the time each attempt ran (rejected attempts bill nothing), plus the
    orchestrator (512 MB) for its whole run in fanout, or 2 x 5 s (plan,
    summarize) in lanes. CodeBuild build minutes are counted, not priced.
"""

from __future__ import annotations

import argparse
import heapq
import json
import math
import random
import statistics
import sys
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Literal

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "lib" / "lambda"))

from drift_orchestrator.lanes import Lane, Limits, plan_lanes

# --- the workload ---------------------------------------------------------

REGIONS = ("us-east-1", "eu-west-1", "us-west-2", "eu-central-1", "ap-southeast-2", "ap-northeast-1")
MEDIAN_SECONDS = 90.0
#: The duration distribution's cut (14 min).
TRUNCATE_SECONDS = 840.0
#: The worker's default timeout (variables.tf ``worker_timeout_seconds``).
WORKER_TIMEOUT_SECONDS = 300.0
#: Share of checks above the worker timeout the duration law is fitted to.
OVER_TIMEOUT_SHARE = 0.02
SIGMA = math.log(WORKER_TIMEOUT_SECONDS / MEDIAN_SECONDS) / statistics.NormalDist().inv_cdf(1 - OVER_TIMEOUT_SHARE)
#: Correlation of log(last run's duration) with log(this run's).
HISTORY_CORRELATION = 0.9

# --- failures ---------------------------------------------------------------

THROTTLE_PER_CONCURRENT_CHECK = 0.02
TRANSIENT_SHARE = 0.01
FINAL_ERROR_SHARE = 0.005
THROTTLED_ATTEMPT_SECONDS = 0.1
TRANSIENT_ATTEMPT_SECONDS = 0.2

# --- fanout.py ----------------------------------------------------------------

ORCHESTRATOR_TIMEOUT_SECONDS = 900.0
INVOKE_MARGIN_SECONDS = 15.0
FINALIZE_RESERVE_SECONDS = 20.0
FANOUT_MAX_ATTEMPTS = 4
FANOUT_BASE_DELAY = 1.0
FANOUT_MAX_DELAY = 20.0

# --- the state machine ------------------------------------------------------

SFN_INTERVAL_SECONDS = 2.0
SFN_BACKOFF_RATE = 2.0
SFN_MAX_RETRIES = 6
SFN_MAX_DELAY_SECONDS = 60.0
CODEBUILD_INTERVAL_SECONDS = 10.0
CODEBUILD_MAX_DELAY_SECONDS = 300.0
CODEBUILD_PROVISIONING_SECONDS = 60.0
#: A child execution's start, as the map sees it.
CHILD_START_SECONDS = 1.0
#: One Choice or Pass state.
STATE_SECONDS = 0.05

# --- both -------------------------------------------------------------------

#: An invocation's cost beyond the check (cold start amortized, network).
INVOKE_OVERHEAD_SECONDS = 1.0
#: The summary, alerts and metrics after the last check.
SUMMARY_SECONDS = 5.0
#: The plan step (lanes) and the summarize step, each, in the lanes model.
LANES_LAMBDA_STEP_SECONDS = 5.0
WORKER_MEMORY_GB = 2048 / 1024
ORCHESTRATOR_MEMORY_GB = 512 / 1024
LAMBDA_ARM_USD_PER_GB_SECOND = 0.0000133334
SFN_USD_PER_TRANSITION = 0.025 / 1000

Runner = Literal["lambda", "codebuild"]
Status = Literal["completed", "error", "timeout", "skipped"]
STATUSES: tuple[Status, ...] = ("completed", "error", "timeout", "skipped")


@dataclass(frozen=True)
class SimWorkspace:
    """One workspace of the synthetic inventory (a lanes ``Placeable``)."""

    index: int
    account_id: str
    region: str
    #: This run's true check duration, seconds.
    duration: float
    #: Last run's duration (the history estimate).
    last_duration: float
    #: Whether its check ends in the worker's final error.
    fails: bool
    runner: Runner = "lambda"


def account_sizes(workspaces: int, accounts: int, rng: random.Random) -> list[int]:
    """Skewed account sizes (each at least 1) summing to ``workspaces``, largest first."""
    if accounts < 1 or workspaces < accounts:
        raise ValueError("need at least one account and one workspace per account")
    weights = [(rank + 4) ** -1.1 * math.exp(rng.gauss(0.0, 0.3)) for rank in range(1, accounts + 1)]
    total = sum(weights)
    spare = workspaces - accounts
    shares = [spare * w / total for w in weights]
    sizes = [1 + int(s) for s in shares]
    # Largest remainders get the rest.
    by_remainder = sorted(range(accounts), key=lambda i: (-(shares[i] - int(shares[i])), i))
    for i in by_remainder[: workspaces - sum(sizes)]:
        sizes[i] += 1
    return sorted(sizes, reverse=True)


def draw_duration(rng: random.Random, z: float) -> float:
    """A duration from the truncated lognormal for the standard normal ``z`` (resampled above the cut)."""
    while True:
        value = MEDIAN_SECONDS * math.exp(SIGMA * z)
        if value <= TRUNCATE_SECONDS:
            return value
        z = rng.gauss(0.0, 1.0)


def generate(workspaces: int, accounts: int, seed: int, *, route: bool) -> list[SimWorkspace]:
    """The synthetic inventory, shuffled into inventory order."""
    rng = random.Random(f"scale-bench:{seed}")
    made: list[SimWorkspace] = []
    for number, size in enumerate(account_sizes(workspaces, accounts, rng)):
        account_id = f"{100000000000 + number * 7919:012d}"
        region_count = min(len(REGIONS), 1 + int(math.log(size, 4) + 1e-9))
        regions = list(REGIONS[number % len(REGIONS) :] + REGIONS[: number % len(REGIONS)])[:region_count]
        region_weights = [0.5**i for i in range(region_count)]
        for _ in range(size):
            z_now = rng.gauss(0.0, 1.0)
            z_last = HISTORY_CORRELATION * z_now + math.sqrt(1 - HISTORY_CORRELATION**2) * rng.gauss(0.0, 1.0)
            duration = draw_duration(rng, z_now)
            last = draw_duration(rng, z_last)
            made.append(
                SimWorkspace(
                    index=0,
                    account_id=account_id,
                    region=rng.choices(regions, region_weights)[0],
                    duration=duration,
                    last_duration=last,
                    fails=rng.random() < FINAL_ERROR_SHARE,
                    runner="codebuild" if route and last > WORKER_TIMEOUT_SECONDS else "lambda",
                )
            )
    rng.shuffle(made)
    return [
        SimWorkspace(
            index=i,
            account_id=w.account_id,
            region=w.region,
            duration=w.duration,
            last_duration=w.last_duration,
            fails=w.fails,
            runner=w.runner,
        )
        for i, w in enumerate(made)
    ]


# --- the simulation -----------------------------------------------------------

AttemptKind = Literal["throttle", "transient", "timeout", "error", "ok"]


@dataclass
class Result:
    """How one workspace ended."""

    status: Status
    attempts: int = 0
    retries: int = 0
    finished_at: float = 0.0


@dataclass
class Stats:
    """What a model's run did."""

    wall_seconds: float = 0.0
    results: dict[int, Result] = field(default_factory=dict)
    #: Workspaces whose result was recorded more than once (must stay 0).
    duplicate_results: int = 0
    throttle_retries: int = 0
    transient_retries: int = 0
    max_per_account: int = 0
    max_per_region: int = 0
    max_in_flight: int = 0
    #: Seconds attempts ran (busy), all, and per account and account-region.
    busy_seconds: float = 0.0
    busy_by_account: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    busy_by_region: dict[tuple[str, str], float] = field(default_factory=lambda: defaultdict(float))
    slowest_attempt_seconds: float = 0.0
    lambda_billed_seconds: float = 0.0
    orchestrator_gb_seconds: float = 0.0
    codebuild_seconds: float = 0.0
    transitions: int = 0
    lanes: int = 0


class Simulator:
    """A clock, an event heap and the in-flight bookkeeping every model shares."""

    def __init__(self, seed: int) -> None:
        self.now = 0.0
        self.seed = seed
        self._heap: list[tuple[float, int, Callable[[], None]]] = []
        self._sequence = 0
        self.stats = Stats()
        self._per_account: dict[str, int] = defaultdict(int)
        self._per_region: dict[tuple[str, str], int] = defaultdict(int)
        self._in_flight = 0
        self._streams: dict[int, random.Random] = {}

    def at(self, when: float, action: Callable[[], None]) -> None:
        """Schedules ``action`` at ``when`` (ties run in scheduling order)."""
        self._sequence += 1
        heapq.heappush(self._heap, (when, self._sequence, action))

    def run(self) -> None:
        """Runs events until none is left."""
        while self._heap:
            when, _, action = heapq.heappop(self._heap)
            self.now = when
            action()

    def stream(self, workspace: SimWorkspace) -> random.Random:
        """The workspace's own draws: the same in every model for one seed."""
        found = self._streams.get(workspace.index)
        if found is None:
            found = self._streams[workspace.index] = random.Random(f"attempts:{self.seed}:{workspace.index}")
        return found

    def attempt(
        self, workspace: SimWorkspace, runner: Runner, worker_timeout: float, done: Callable[[AttemptKind, float], None]
    ) -> float:
        """Starts one attempt now; calls ``done(kind, jitter)`` when it ends. Returns the jitter draw."""
        draws = self.stream(workspace)
        u_throttle, u_transient, u_jitter = draws.random(), draws.random(), draws.random()
        region_key = (workspace.account_id, workspace.region)
        probability = THROTTLE_PER_CONCURRENT_CHECK * (self._per_region[region_key] + 1)
        kind: AttemptKind
        if u_throttle < probability:
            kind, seconds = "throttle", THROTTLED_ATTEMPT_SECONDS
        elif u_transient < TRANSIENT_SHARE:
            kind, seconds = "transient", TRANSIENT_ATTEMPT_SECONDS
        else:
            if runner == "codebuild":
                seconds = CODEBUILD_PROVISIONING_SECONDS + workspace.duration
                kind = "error" if workspace.fails else "ok"
                self.stats.codebuild_seconds += seconds
            elif workspace.duration > worker_timeout:
                seconds = INVOKE_OVERHEAD_SECONDS + worker_timeout
                kind = "timeout"
                self.stats.lambda_billed_seconds += worker_timeout
            else:
                seconds = INVOKE_OVERHEAD_SECONDS + workspace.duration
                kind = "error" if workspace.fails else "ok"
                self.stats.lambda_billed_seconds += workspace.duration
            self._start_running(workspace, seconds)

        def end() -> None:
            if kind not in ("throttle", "transient"):
                self._stop_running(workspace)
            done(kind, u_jitter)

        self.at(self.now + seconds, end)
        return u_jitter

    def _start_running(self, workspace: SimWorkspace, seconds: float) -> None:
        stats = self.stats
        region_key = (workspace.account_id, workspace.region)
        self._per_account[workspace.account_id] += 1
        self._per_region[region_key] += 1
        self._in_flight += 1
        stats.max_per_account = max(stats.max_per_account, self._per_account[workspace.account_id])
        stats.max_per_region = max(stats.max_per_region, self._per_region[region_key])
        stats.max_in_flight = max(stats.max_in_flight, self._in_flight)
        stats.busy_seconds += seconds
        stats.busy_by_account[workspace.account_id] += seconds
        stats.busy_by_region[region_key] += seconds
        stats.slowest_attempt_seconds = max(stats.slowest_attempt_seconds, seconds)

    def _stop_running(self, workspace: SimWorkspace) -> None:
        self._per_account[workspace.account_id] -= 1
        self._per_region[(workspace.account_id, workspace.region)] -= 1
        self._in_flight -= 1

    def record(self, workspace: SimWorkspace, result: Result) -> None:
        """A workspace's end (exactly once)."""
        if workspace.index in self.stats.results:
            self.stats.duplicate_results += 1
        result.finished_at = self.now
        self.stats.results[workspace.index] = result


def simulate_fanout(
    workspaces: Sequence[SimWorkspace], max_concurrency: int, seed: int, worker_timeout: float = WORKER_TIMEOUT_SECONDS
) -> Stats:
    """fanout.py's single orchestrator Lambda: budget rule, RetryPolicy, pool.map order."""
    sim = Simulator(seed)
    deadline = ORCHESTRATOR_TIMEOUT_SECONDS
    needed_to_start = worker_timeout + INVOKE_MARGIN_SECONDS + FINALIZE_RESERVE_SECONDS
    queue = iter(workspaces)
    last_end = [0.0]

    def slack() -> float:
        return deadline - sim.now - needed_to_start

    def next_workspace() -> None:
        # pool.map: a free thread takes the next workspace in order; a skipped
        # one costs no time.
        for workspace in queue:
            if slack() < 0:
                sim.record(workspace, Result("skipped"))
                continue
            check(workspace, attempt=1, retries=0)
            return
        last_end[0] = max(last_end[0], sim.now)

    def check(workspace: SimWorkspace, attempt: int, retries: int) -> None:
        def done(kind: AttemptKind, jitter: float) -> None:
            if kind in ("ok", "error", "timeout"):
                status: Status = "completed" if kind == "ok" else kind
                sim.record(workspace, Result(status, attempt, retries))
                next_workspace()
                return
            if attempt >= FANOUT_MAX_ATTEMPTS or slack() <= 0:
                sim.record(workspace, Result("error", attempt, retries))
                next_workspace()
                return
            delay = jitter * min(FANOUT_MAX_DELAY, FANOUT_BASE_DELAY * 2 ** (attempt - 1))
            if kind == "throttle":
                sim.stats.throttle_retries += 1
            else:
                sim.stats.transient_retries += 1
            sim.at(sim.now + min(delay, slack()), lambda: check(workspace, attempt + 1, retries + 1))

        # fanout.py has no CodeBuild runner: every check is a Lambda invocation.
        sim.attempt(workspace, "lambda", worker_timeout, done)

    for _ in range(max(1, min(max_concurrency, len(workspaces)))):
        sim.at(0.0, next_workspace)
    sim.run()
    stats = sim.stats
    stats.wall_seconds = last_end[0] + SUMMARY_SECONDS
    stats.orchestrator_gb_seconds = ORCHESTRATOR_MEMORY_GB * stats.wall_seconds
    return stats


def sfn_delay(retry: int, jitter: float, runner: Runner) -> float:
    """A Retry's wait before retry number ``retry`` (1-based), FULL jitter."""
    if runner == "codebuild":
        interval, cap = CODEBUILD_INTERVAL_SECONDS, CODEBUILD_MAX_DELAY_SECONDS
    else:
        interval, cap = SFN_INTERVAL_SECONDS, SFN_MAX_DELAY_SECONDS
    return jitter * min(cap, interval * SFN_BACKOFF_RATE ** (retry - 1))


def simulate_lanes(
    lanes: Sequence[Lane[SimWorkspace]],
    max_concurrency: int,
    seed: int,
    worker_timeout: float = WORKER_TIMEOUT_SECONDS,
) -> Stats:
    """The Distributed Map over ``lanes``, as modules/state-machine/definition.asl.json runs it."""
    sim = Simulator(seed)
    stats = sim.stats
    stats.lanes = len(lanes)
    # CheckLanes (the Distributed Map) and Summarize.
    stats.transitions = 2
    pending = iter(lanes)
    last_end = [0.0]

    def start_next_lane() -> None:
        lane = next(pending, None)
        if lane is None:
            last_end[0] = max(last_end[0], sim.now)
            return
        # One per child execution started, and its CheckLane (inline map) state.
        stats.transitions += 2
        sim.at(sim.now + CHILD_START_SECONDS, lambda: check_item(lane, 0))

    def check_item(lane: Lane[SimWorkspace], position: int) -> None:
        if position == len(lane.workspaces):
            start_next_lane()
            return
        workspace = lane.workspaces[position]
        # Route (Choice), the task's first attempt; Checked or NotChecked at the end.
        stats.transitions += 3
        sim.at(sim.now + STATE_SECONDS, lambda: attempt(lane, position, workspace, retries=0))

    def attempt(lane: Lane[SimWorkspace], position: int, workspace: SimWorkspace, retries: int) -> None:
        def done(kind: AttemptKind, jitter: float) -> None:
            if kind in ("throttle", "transient") and retries < SFN_MAX_RETRIES:
                stats.transitions += 1
                if kind == "throttle":
                    stats.throttle_retries += 1
                else:
                    stats.transient_retries += 1
                delay = sfn_delay(retries + 1, jitter, workspace.runner)
                sim.at(sim.now + delay, lambda: attempt(lane, position, workspace, retries + 1))
                return
            # Caught (States.ALL -> NotChecked) unless it completed.
            status: Status = "completed" if kind == "ok" else ("timeout" if kind == "timeout" else "error")
            sim.record(workspace, Result(status, retries + 1, retries))
            sim.at(sim.now + STATE_SECONDS, lambda: check_item(lane, position + 1))

        sim.attempt(workspace, workspace.runner, worker_timeout, done)

    for _ in range(max(1, min(max_concurrency, len(lanes)))):
        sim.at(0.0, start_next_lane)
    sim.run()
    stats.wall_seconds = last_end[0] + SUMMARY_SECONDS
    stats.orchestrator_gb_seconds = ORCHESTRATOR_MEMORY_GB * 2 * LANES_LAMBDA_STEP_SECONDS
    return stats


# --- scenarios and figures ------------------------------------------------------


@dataclass(frozen=True)
class Scenario:
    """One row: a model, its settings, the estimate and the routing."""

    model: Literal["fanout", "lanes"]
    max_concurrency: int
    per_account: int | None = None
    per_region: int | None = None
    estimate: Literal["constant", "history", "-"] = "-"
    routed: bool = True

    @property
    def setting(self) -> str:
        if self.model == "fanout":
            return f"MAX_CONCURRENCY {self.max_concurrency}"
        return f"{self.max_concurrency}/{self.per_account}/{self.per_region}"


SCENARIOS: tuple[Scenario, ...] = (
    Scenario("fanout", 8, routed=False),
    Scenario("fanout", 64, routed=False),
    Scenario("lanes", 40, 5, 5, "constant"),
    Scenario("lanes", 40, 5, 5, "history"),
    Scenario("lanes", 40, 5, 5, "history", routed=False),
    Scenario("lanes", 200, 10, 5, "constant"),
    Scenario("lanes", 200, 10, 5, "history"),
    Scenario("lanes", 200, 10, 5, "history", routed=False),
)

#: What lanes assume per check without history (execution.py DEFAULT_ESTIMATE_SECONDS).
CONSTANT_ESTIMATE_SECONDS = 90.0


@dataclass(frozen=True)
class Row:
    """The printed figures of one scenario."""

    model: str
    setting: str
    estimate: str
    routing: str
    wall_seconds: float
    completed: int
    skipped: int
    timeouts: int
    errors: int
    throttle_retries: int
    transient_retries: int
    max_per_account: int
    max_per_region: int
    cap_per_account: int | None
    cap_per_region: int | None
    max_in_flight: int
    lanes: int
    bound_seconds: float
    bound_pass: bool
    #: The same bound with the mean duration instead of the median.
    mean_bound_seconds: float
    mean_bound_pass: bool
    floor_seconds: float
    transitions: int
    sfn_usd_per_run: float
    sfn_usd_per_1000: float
    lambda_gb_seconds_per_1000: float
    lambda_usd_per_1000: float
    codebuild_minutes_per_1000: float
    duplicate_results: int


def plan(scenario: Scenario, workspaces: Sequence[SimWorkspace]) -> list[Lane[SimWorkspace]]:
    """The lanes a ``lanes`` scenario runs: plan_lanes() with its limits and estimate."""
    if scenario.per_account is None or scenario.per_region is None:
        raise ValueError(f"{scenario.setting} is not a lanes scenario")
    limits = Limits(scenario.max_concurrency, scenario.per_account, scenario.per_region)

    def estimate(workspace: SimWorkspace) -> float:
        return workspace.last_duration if scenario.estimate == "history" else CONSTANT_ESTIMATE_SECONDS

    return plan_lanes(workspaces, limits, estimate)


def run_scenario(
    scenario: Scenario, routed: list[SimWorkspace], unrouted: list[SimWorkspace], seed: int
) -> tuple[Row, Stats]:
    """Simulates one scenario and derives its row."""
    workspaces = routed if scenario.routed else unrouted
    count = len(workspaces)
    if scenario.model == "fanout":
        stats = simulate_fanout(workspaces, scenario.max_concurrency, seed)
    else:
        stats = simulate_lanes(plan(scenario, workspaces), scenario.max_concurrency, seed)
    statuses = dict.fromkeys(STATUSES, 0)
    for result in stats.results.values():
        statuses[result.status] += 1
    rounds = math.ceil(count / scenario.max_concurrency)
    bound = rounds * statistics.median(w.duration for w in workspaces) + stats.slowest_attempt_seconds
    mean_bound = rounds * statistics.fmean(w.duration for w in workspaces) + stats.slowest_attempt_seconds
    floor = max(
        stats.busy_seconds / scenario.max_concurrency,
        max(stats.busy_by_account.values(), default=0.0) / (scenario.per_account or scenario.max_concurrency),
        max(stats.busy_by_region.values(), default=0.0) / (scenario.per_region or scenario.max_concurrency),
        stats.slowest_attempt_seconds,
    )
    lambda_gb_s = stats.lambda_billed_seconds * WORKER_MEMORY_GB + stats.orchestrator_gb_seconds
    # Per 1,000 workspaces that ran (fanout's skipped ones cost nothing).
    per_1000 = 1000 / max(1, count - statuses["skipped"])
    row = Row(
        model=scenario.model,
        setting=scenario.setting,
        estimate=scenario.estimate,
        routing="routed" if scenario.model == "lanes" and scenario.routed else "all lambda",
        wall_seconds=round(stats.wall_seconds, 1),
        completed=statuses["completed"],
        skipped=statuses["skipped"],
        timeouts=statuses["timeout"],
        errors=statuses["error"],
        throttle_retries=stats.throttle_retries,
        transient_retries=stats.transient_retries,
        max_per_account=stats.max_per_account,
        max_per_region=stats.max_per_region,
        cap_per_account=scenario.per_account,
        cap_per_region=scenario.per_region,
        max_in_flight=stats.max_in_flight,
        lanes=stats.lanes,
        bound_seconds=round(bound, 1),
        bound_pass=statuses["skipped"] == 0 and stats.wall_seconds <= bound,
        mean_bound_seconds=round(mean_bound, 1),
        mean_bound_pass=statuses["skipped"] == 0 and stats.wall_seconds <= mean_bound,
        floor_seconds=round(floor, 1),
        transitions=stats.transitions,
        sfn_usd_per_run=round(stats.transitions * SFN_USD_PER_TRANSITION, 4),
        sfn_usd_per_1000=round(stats.transitions * SFN_USD_PER_TRANSITION * per_1000, 4),
        lambda_gb_seconds_per_1000=round(lambda_gb_s * per_1000, 0),
        lambda_usd_per_1000=round(lambda_gb_s * per_1000 * LAMBDA_ARM_USD_PER_GB_SECOND, 4),
        codebuild_minutes_per_1000=round(stats.codebuild_seconds / 60 * per_1000, 1),
        duplicate_results=stats.duplicate_results,
    )
    return row, stats


def workload_summary(workspaces: Sequence[SimWorkspace]) -> dict[str, object]:
    """The workload's shape and the duration law's figures (analytic and sampled)."""
    durations = sorted(w.duration for w in workspaces)
    sizes: dict[str, int] = defaultdict(int)
    regions: dict[tuple[str, str], int] = defaultdict(int)
    for w in workspaces:
        sizes[w.account_id] += 1
        regions[(w.account_id, w.region)] += 1
    ordered = sorted(sizes.values(), reverse=True)
    normal = statistics.NormalDist()

    def quantile(q: float) -> float:
        return durations[min(len(durations) - 1, int(q * len(durations)))]

    return {
        "workspaces": len(workspaces),
        "accounts": len(sizes),
        "largest_accounts": ordered[:5],
        "median_account": statistics.median(ordered),
        "smallest_account": ordered[-1],
        "largest_account_region": max(regions.values()),
        "sigma": round(SIGMA, 3),
        "analytic_mean_s": round(MEDIAN_SECONDS * math.exp(SIGMA**2 / 2), 1),
        "analytic_p95_s": round(MEDIAN_SECONDS * math.exp(SIGMA * normal.inv_cdf(0.95)), 1),
        "analytic_p99_s": round(MEDIAN_SECONDS * math.exp(SIGMA * normal.inv_cdf(0.99)), 1),
        "sample_median_s": round(statistics.median(durations), 1),
        "sample_mean_s": round(statistics.fmean(durations), 1),
        "sample_p95_s": round(quantile(0.95), 1),
        "sample_p99_s": round(quantile(0.99), 1),
        "sample_max_s": round(durations[-1], 1),
        "over_worker_timeout": sum(1 for d in durations if d > WORKER_TIMEOUT_SECONDS),
        "routed_to_codebuild": sum(1 for w in workspaces if w.runner == "codebuild"),
        "routed_but_fits_lambda": sum(
            1 for w in workspaces if w.runner == "codebuild" and w.duration <= WORKER_TIMEOUT_SECONDS
        ),
        "over_timeout_left_on_lambda": sum(
            1 for w in workspaces if w.runner == "lambda" and w.duration > WORKER_TIMEOUT_SECONDS
        ),
    }


def bench(workspaces: int, accounts: int, seed: int) -> dict[str, object]:
    """Every scenario on one workload: the JSON document ``--json`` prints."""
    routed = generate(workspaces, accounts, seed, route=True)
    unrouted = generate(workspaces, accounts, seed, route=False)
    rows = [run_scenario(scenario, routed, unrouted, seed)[0] for scenario in SCENARIOS]
    return {
        "arguments": {"workspaces": workspaces, "accounts": accounts, "seed": seed},
        "workload": workload_summary(routed),
        "rows": [asdict(row) for row in rows],
    }


def clock(seconds: float) -> str:
    whole = round(seconds)
    return f"{whole // 3600}:{whole // 60 % 60:02d}:{whole % 60:02d}"


def render(document: dict[str, object]) -> str:
    """The Markdown tables the bench prints."""
    workload = document["workload"]
    rows = document["rows"]
    assert isinstance(workload, dict)
    assert isinstance(rows, list)
    lines = [
        (
            f"workload: {workload['workspaces']} workspaces in {workload['accounts']} accounts "
            f"(largest {workload['largest_accounts']}, median {workload['median_account']}, "
            f"smallest {workload['smallest_account']}; largest account-region {workload['largest_account_region']})"
        ),
        (
            f"durations: lognormal median 90 s, sigma {workload['sigma']}, cut at 840 s; analytic mean "
            f"{workload['analytic_mean_s']} s, p95 {workload['analytic_p95_s']} s, p99 {workload['analytic_p99_s']} s; "
            f"sample median {workload['sample_median_s']} s, mean {workload['sample_mean_s']} s, "
            f"p95 {workload['sample_p95_s']} s, p99 {workload['sample_p99_s']} s, max {workload['sample_max_s']} s"
        ),
        (
            f"over the {WORKER_TIMEOUT_SECONDS:.0f} s worker timeout: {workload['over_worker_timeout']}; routed to "
            f"CodeBuild (last run over it): {workload['routed_to_codebuild']} "
            f"({workload['routed_but_fits_lambda']} of them fit Lambda this time, "
            f"{workload['over_timeout_left_on_lambda']} over it left on Lambda)"
        ),
        "",
        (
            "| model | setting | estimate | runners | wall | checked | skipped | timeout | error | retries "
            "(throttle+transient) | max/acct (cap) | max/acct-region (cap) | bound median | | bound mean | | floor |"
        ),
        "|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---|---:|",
    ]
    for row in rows:
        assert isinstance(row, dict)
        cap_a = "-" if row["cap_per_account"] is None else row["cap_per_account"]
        cap_r = "-" if row["cap_per_region"] is None else row["cap_per_region"]
        lines.append(
            f"| {row['model']} | {row['setting']} | {row['estimate']} | {row['routing']} | "
            f"{clock(row['wall_seconds'])} | {row['completed']} | {row['skipped']} | {row['timeouts']} | "
            f"{row['errors']} | {row['throttle_retries']}+{row['transient_retries']} | "
            f"{row['max_per_account']} ({cap_a}) | {row['max_per_region']} ({cap_r}) | "
            f"{clock(row['bound_seconds'])} | {'PASS' if row['bound_pass'] else 'FAIL'} | "
            f"{clock(row['mean_bound_seconds'])} | {'PASS' if row['mean_bound_pass'] else 'FAIL'} | "
            f"{clock(row['floor_seconds'])} |"
        )
    lines += [
        "",
        (
            "| model | setting | estimate | runners | lanes | SFN transitions/run | SFN $/run | SFN $/1k ws "
            "| Lambda GB-s/1k ws | Lambda $/1k ws | CodeBuild min/1k ws |"
        ),
        "|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        assert isinstance(row, dict)
        lines.append(
            f"| {row['model']} | {row['setting']} | {row['estimate']} | {row['routing']} | {row['lanes']} | "
            f"{row['transitions']} | {row['sfn_usd_per_run']:.4f} | {row['sfn_usd_per_1000']:.4f} | "
            f"{row['lambda_gb_seconds_per_1000']:.0f} | {row['lambda_usd_per_1000']:.4f} | "
            f"{row['codebuild_minutes_per_1000']:.1f} |"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--workspaces", type=int, default=5000)
    parser.add_argument("--accounts", type=int, default=200)
    parser.add_argument("--seed", type=int, default=14)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    if args.accounts < 1 or args.workspaces < args.accounts:
        parser.error("--workspaces must be at least --accounts, which must be at least 1")
    document = bench(args.workspaces, args.accounts, args.seed)
    print(json.dumps(document, indent=2) if args.json else render(document))
    return 0


if __name__ == "__main__":
    sys.exit(main())
