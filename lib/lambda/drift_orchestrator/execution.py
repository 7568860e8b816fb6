"""A run on Step Functions: what the orchestrator writes, and how it starts it.

The orchestrator writes two objects under ``executions/YYYY/MM/DD/<run_id>/``
in the report bucket and starts one execution of the state machine:

``items.json``
    The map's items (its ``ItemReader`` reads them): one per lane, each the
    account's workspaces with their worker events. Worker events carry the
    role's external id, so this object, like the execution, is readable only
    by the stack's roles (the bucket is SSE-KMS).
``events/<digest>.json``
    The worker event of each workspace checked in CodeBuild: the build reads
    it from S3, so the external id stays out of the build's environment.
``run.json``
    The run's manifest: every selected workspace (without secrets), its lane
    and runner, the filters and limits, the workspaces refused before the
    start. The summarize step reads it, so that a workspace without a result
    is reported, never dropped.

The execution's name is derived from the run id, so a retried delivery of
the same scheduled event finds the execution it started and starts nothing.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal, TypedDict, cast

from botocore.exceptions import ClientError

from . import contract
from .checks import Runner, WorkerEvent, clip, worker_event
from .events import TriggerInfo
from .inventory import Workspace
from .lanes import Lane, Limits, plan_lanes
from .observability import logger
from .s3json import read_json

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_stepfunctions import SFNClient

EXECUTIONS_PREFIX = "executions"
#: Where the map's ResultWriter writes (a static prefix: the map run's id
#: makes each run's results unique under it).
RESULTS_PREFIX = f"{EXECUTIONS_PREFIX}/results"
#: Largest lane item: Step Functions passes each item to a child execution
#: as its input, which may not exceed 256 KiB; the rest is headroom for the
#: lane's own fields.
MAX_LANE_ITEM_BYTES = 240 * 1024
#: Largest ``runs/durations.json`` read (about 60 bytes a workspace).
MAX_DURATIONS_BYTES = 64 * 1024 * 1024
#: The duration a check is assumed to take when no earlier run measured it.
DEFAULT_ESTIMATE_SECONDS = 90.0
_EXECUTION_NAME = re.compile(r"^[A-Za-z0-9_-]{1,80}$")
_STATE_MACHINE_ARN = re.compile(r"^(arn:aws[a-z-]*:states:[a-z0-9-]+:\d{12}):stateMachine:([A-Za-z0-9_-]{1,80})$")


class ManifestWorkspace(TypedDict):
    """A selected workspace, as ``run.json`` lists it (no role, no secret)."""

    key: str
    name: str
    environment: str
    account_id: str
    region: str
    runner: Runner
    #: Its lane's position in ``items.json``; null when refused before the start.
    lane: int | None


class Rejected(TypedDict):
    """A workspace refused before the start, and why."""

    key: str
    error: str


class RunManifest(TypedDict):
    """``run.json``."""

    run_id: str
    trigger: str
    started_at: str
    run_started_at: str
    mode: str | None
    filters: dict[str, list[str] | None]
    inventory: str
    summary_key: str
    items_key: str
    limits: dict[str, int]
    workspaces: list[ManifestWorkspace]
    rejected: list[Rejected]
    errors: list[str]


class ExecutionInput(TypedDict):
    """The state machine's input (what its JSONPaths read)."""

    run_id: str
    trigger: str
    run_started_at: str
    items_key: str
    run_key: str
    summary_key: str
    max_concurrency: int


class StartedRun(TypedDict):
    """What the orchestrator answers: where to follow the run."""

    run_id: str
    status: Literal["started", "already_started"]
    execution_name: str
    execution_arn: str
    summary_uri: str
    workspaces: int
    lanes: int
    follow: list[str]


def workspace_key(workspace: Workspace) -> str:
    """``environment/name``: unique in an inventory, stable across runs."""
    return workspace.label


def run_prefix(run_id: str, reference_time: datetime) -> str:
    """``executions/YYYY/MM/DD/<run_id>``."""
    return f"{EXECUTIONS_PREFIX}/{reference_time.astimezone(UTC):%Y/%m/%d}/{run_id}"


def execution_name(run_id: str) -> str:
    """The run's execution name: the run id when Step Functions takes it as is.

    Other ids (longer than 80 characters, or with ``.``, which execution
    logging refuses) get a readable prefix and a digest, so the name is still
    one per run id.
    """
    if _EXECUTION_NAME.match(run_id):
        return run_id
    digest = hashlib.sha256(run_id.encode()).hexdigest()[:16]
    readable = re.sub(r"[^A-Za-z0-9_-]", "-", run_id)[:63]
    return f"{readable}-{digest}"


def execution_arn(state_machine_arn: str, name: str) -> str:
    """The ARN an execution named ``name`` of the state machine has."""
    match = _STATE_MACHINE_ARN.match(state_machine_arn)
    if match is None:
        raise ValueError(f"{state_machine_arn!r} is not a state machine ARN")
    return f"{match.group(1)}:execution:{match.group(2)}:{name}"


def is_state_machine_arn(text: str) -> bool:
    """Whether ``text`` is a Step Functions state machine ARN."""
    return _STATE_MACHINE_ARN.match(text) is not None


@dataclass(frozen=True)
class RunPlan:
    """The run's lanes and documents, before anything is written."""

    manifest: RunManifest
    items: list[dict[str, Any]]
    execution_input: ExecutionInput
    #: Worker events the CodeBuild checks read, by S3 key.
    codebuild_events: dict[str, WorkerEvent]


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()[:24]


def response_key(prefix: str, key: str) -> str:
    """Where a CodeBuild check uploads the worker's response."""
    return f"{prefix}/responses/{_digest(key)}.json"


def event_key(prefix: str, key: str) -> str:
    """Where a CodeBuild check reads its worker event."""
    return f"{prefix}/events/{_digest(key)}.json"


def plan_run(
    *,
    selection: Sequence[Workspace],
    limits: Limits,
    estimates: Mapping[str, float],
    run_id: str,
    trigger: str,
    started_at: str,
    run_started_at: str,
    reference_time: datetime,
    mode: str | None,
    filters: dict[str, list[str] | None],
    inventory: str,
    summary_key: str,
    errors: Sequence[str] = (),
    trigger_info: TriggerInfo | None = None,
) -> RunPlan:
    """Places the selection in lanes and builds the run's documents (pure).

    ``trigger_info`` is every worker event's ``trigger`` (default: just the
    run's ``trigger`` kind).
    """
    prefix = run_prefix(run_id, reference_time)
    events: dict[str, WorkerEvent] = {}
    rejected: list[Rejected] = []
    if trigger_info is None and trigger in ("schedule", "manual", "event"):
        trigger_info = cast("TriggerInfo", {"kind": trigger})
    for workspace in selection:
        key = workspace_key(workspace)
        event = worker_event(workspace, run_id=run_id, run_started_at=run_started_at, mode=mode, trigger=trigger_info)
        faults = contract.faults(contract.worker_event(), event, contract.EVENT_SCHEMA)
        if faults:
            # The worker would refuse it: an orchestrator bug (or a run
            # override the contract forbids) costs this workspace, not the run.
            message = f"orchestrator failure: the worker event breaks schemas/{contract.EVENT_SCHEMA}: " + "; ".join(
                faults
            )
            rejected.append(Rejected(key=key, error=clip(message, workspace)))
        else:
            events[key] = event
    accepted = [w for w in selection if workspace_key(w) in events]

    def estimate(workspace: Workspace) -> float:
        return estimates.get(workspace_key(workspace), DEFAULT_ESTIMATE_SECONDS)

    lanes: list[Lane[Workspace]] = plan_lanes(accepted, limits, estimate)
    codebuild_events = {
        event_key(prefix, workspace_key(w)): events[workspace_key(w)] for w in accepted if w.runner == "codebuild"
    }

    def check(workspace: Workspace) -> dict[str, Any]:
        key = workspace_key(workspace)
        item: dict[str, Any] = {"key": key, "runner": workspace.runner, "response_key": response_key(prefix, key)}
        if workspace.runner == "codebuild":
            item["event_key"] = event_key(prefix, key)
        else:
            item["event"] = events[key]
        return item

    run_errors = list(errors)
    lane_checks: list[tuple[str, list[dict[str, Any]]]] = []
    for lane in lanes:
        pieces = _within_item_limit([check(w) for w in lane.workspaces])
        if len(pieces) > 1:
            run_errors.append(
                f"account {lane.account_id}: a lane of {len(lane.workspaces)} workspaces is larger than a map "
                f"item may be ({MAX_LANE_ITEM_BYTES // 1024} KiB), so it ran as {len(pieces)} lanes, above "
                "max_concurrency_per_account: raise that setting so each lane holds fewer workspaces"
            )
        lane_checks.extend((lane.account_id, piece) for piece in pieces)
    items = [
        {"lane": index, "account_id": account_id, "workspaces": checks}
        for index, (account_id, checks) in enumerate(lane_checks)
    ]
    lane_of = {check["key"]: index for index, (_, checks) in enumerate(lane_checks) for check in checks}
    manifest = RunManifest(
        run_id=run_id,
        trigger=trigger,
        started_at=started_at,
        run_started_at=run_started_at,
        mode=mode,
        filters=filters,
        inventory=inventory,
        summary_key=summary_key,
        items_key=f"{prefix}/items.json",
        limits={
            "max_concurrency": limits.max_concurrency,
            "per_account": limits.per_account,
            "per_region": limits.per_region,
        },
        workspaces=[
            ManifestWorkspace(
                key=workspace_key(w),
                name=w.name,
                environment=w.environment,
                account_id=w.account_id,
                region=w.region,
                runner=w.runner,
                lane=lane_of.get(workspace_key(w)),
            )
            for w in selection
        ],
        rejected=rejected,
        errors=run_errors,
    )
    return RunPlan(
        manifest=manifest,
        items=items,
        codebuild_events=codebuild_events,
        execution_input=ExecutionInput(
            run_id=run_id,
            trigger=trigger,
            run_started_at=run_started_at,
            items_key=manifest["items_key"],
            run_key=f"{prefix}/run.json",
            summary_key=summary_key,
            # More lanes in flight than there are would only cost a
            # validation error on an empty run.
            max_concurrency=max(1, min(limits.max_concurrency, len(items) or 1)),
        ),
    )


def _within_item_limit(checks: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """``checks`` as one lane, or as consecutive pieces each within the item limit."""
    pieces: list[list[dict[str, Any]]] = [[]]
    size = 0
    for check in checks:
        check_size = len(_json(check)) + 1
        if pieces[-1] and size + check_size > MAX_LANE_ITEM_BYTES:
            pieces.append([])
            size = 0
        pieces[-1].append(check)
        size += check_size
    return pieces


def _json(document: object) -> bytes:
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _existing(sfn: SFNClient, arn: str) -> bool:
    try:
        sfn.describe_execution(executionArn=arn)
    except ClientError as e:
        code = e.response.get("Error", {}).get("Code", "")
        if code != "ExecutionDoesNotExist":
            logger.warning("cannot tell whether this run already started", extra={"error": str(e)})
        return False
    return True


def start_run(
    plan: RunPlan,
    *,
    s3: S3Client,
    sfn: SFNClient,
    bucket: str,
    state_machine_arn: str,
    console_region: str | None = None,
) -> StartedRun:
    """Writes the run's documents and starts its execution, once per run id."""
    run_id = plan.manifest["run_id"]
    name = execution_name(run_id)
    arn = execution_arn(state_machine_arn, name)

    def answer(status: Literal["started", "already_started"]) -> StartedRun:
        summary_uri = f"s3://{bucket}/{plan.manifest['summary_key']}"
        return StartedRun(
            run_id=run_id,
            status=status,
            execution_name=name,
            execution_arn=arn,
            summary_uri=summary_uri,
            workspaces=len(plan.manifest["workspaces"]),
            lanes=len(plan.items),
            follow=[
                f"aws stepfunctions describe-execution --execution-arn {arn}",
                f"aws stepfunctions list-map-runs --execution-arn {arn}",
                f"aws s3 cp {summary_uri} -",
            ],
        )

    if _existing(sfn, arn):
        logger.info("this run already started (a retried delivery); starting nothing", extra={"execution_arn": arn})
        return answer("already_started")
    s3.put_object(
        Bucket=bucket,
        Key=plan.execution_input["run_key"],
        Body=_json(plan.manifest),
        ContentType="application/json",
    )
    for key, event in plan.codebuild_events.items():
        s3.put_object(Bucket=bucket, Key=key, Body=_json(event), ContentType="application/json")
    s3.put_object(
        Bucket=bucket,
        Key=plan.execution_input["items_key"],
        Body=_json(plan.items),
        ContentType="application/json",
    )
    try:
        response = sfn.start_execution(
            stateMachineArn=state_machine_arn, name=name, input=_json(plan.execution_input).decode("utf-8")
        )
    except ClientError as e:
        if e.response.get("Error", {}).get("Code") == "ExecutionAlreadyExists":
            logger.info("this run already started (a concurrent delivery)", extra={"execution_arn": arn})
            return answer("already_started")
        raise
    started = answer("started")
    started["execution_arn"] = response["executionArn"]
    return started


def read_estimates(s3: S3Client, bucket: str, key: str) -> dict[str, float]:
    """The last measured duration of each workspace's check (empty when none)."""
    try:
        document: Any = read_json(s3, bucket, key, MAX_DURATIONS_BYTES)
    except (ClientError, ValueError) as e:
        logger.info(
            "no earlier check durations; lanes assume the default per check",
            extra={"default_seconds": DEFAULT_ESTIMATE_SECONDS, "error": str(e)},
        )
        return {}
    durations = document.get("durations") if isinstance(document, dict) else None
    if not isinstance(durations, dict):
        return {}
    return {
        str(key): float(value)
        for key, value in durations.items()
        if isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0
    }


__all__: Sequence[str] = [
    "RESULTS_PREFIX",
    "ExecutionInput",
    "RunManifest",
    "RunPlan",
    "StartedRun",
    "execution_arn",
    "execution_name",
    "plan_run",
    "read_estimates",
    "start_run",
]
