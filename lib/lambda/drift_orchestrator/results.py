"""The run's results, as the state machine's ResultWriter left them in S3.

The map's ResultWriter writes ``manifest.json`` and result files
(``SUCCEEDED_n.json``, ``FAILED_n.json``, ``PENDING_n.json``): JSON arrays of
child executions, one per lane, each with its ``Input`` (the lane) and, when
it succeeded, its ``Output``: one entry per workspace, written by the
definition's ``Checked`` or ``NotChecked`` state. :func:`collect` turns them
into one :class:`~.checks.WorkspaceResult` per workspace of ``run.json``, in
its order. Every workspace gets exactly one result: refused before the start,
checked, failed with the error the state machine caught, or lost with its
lane (then ``error``, with the lane's error, or "no result").
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from .checks import (
    RETRIED_ONCE_WORKER_ERRORS,
    RETRIED_TASK_ERRORS,
    Completed,
    Final,
    Runner,
    WorkspaceResult,
    classify_function_error,
    clip,
    parse_worker_response,
)
from .execution import ManifestWorkspace, RunManifest
from .inventory import Workspace
from .observability import logger
from .s3json import read_json

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

#: A result file bigger than this is not read (ResultWriter splits at 5 GB;
#: a lane's entry is a few hundred bytes, so this is far above any run).
MAX_RESULT_FILE_BYTES = 256 * 1024 * 1024
#: Largest worker response a CodeBuild check may leave.
MAX_RESPONSE_BYTES = 1024 * 1024


@dataclass(frozen=True)
class Collected:
    """Every workspace's result, and what went wrong reading them."""

    results: list[WorkspaceResult]
    #: Problems of the run itself (lanes lost, files unreadable).
    errors: list[str]
    #: Attempts retried over the run: throttling, transient service errors,
    #: worker crashes.
    throttle_retries: int


def _workspace(entry: ManifestWorkspace, secrets: Mapping[str, str]) -> Workspace:
    """Enough of a workspace to label a result, and its secret to redact."""
    return Workspace(
        name=entry["name"],
        environment=entry["environment"],
        account_id=entry["account_id"],
        region=entry["region"],
        source="",
        runner=entry["runner"],
        external_id=secrets.get(entry["key"]),
    )


def worker_events(items: object, read_event: Callable[[str], object]) -> dict[str, Mapping[str, Any]]:
    """Each workspace's worker event, by key, from the run's ``items.json``.

    A CodeBuild check's event is its own object, read with ``read_event``.
    """
    events: dict[str, Mapping[str, Any]] = {}
    for lane in items if isinstance(items, list) else []:
        for check in lane.get("workspaces", []) if isinstance(lane, dict) else []:
            if not isinstance(check, dict):
                continue
            event = check.get("event")
            if event is None and isinstance(check.get("event_key"), str):
                event = read_event(check["event_key"])
            if isinstance(event, dict):
                events[str(check.get("key"))] = event
    return events


def external_ids(items: object, read_event: Callable[[str], object]) -> dict[str, str]:
    """Each workspace's external id, from the run's ``items.json``.

    ``run.json`` holds no secret; the summarize step still needs them, to
    strip them from any error message that echoes one. A CodeBuild check's
    event is its own object, read with ``read_event``.
    """
    return secrets_of(worker_events(items, read_event))


def secrets_of(events: Mapping[str, Mapping[str, Any]]) -> dict[str, str]:
    """The external ids among ``events``, by workspace key."""
    secrets: dict[str, str] = {}
    for key, event in events.items():
        secret = event.get("external_id")
        if isinstance(secret, str) and secret:
            secrets[key] = secret
    return secrets


def _seconds_between(start: object, end: object) -> float:
    try:
        began = datetime.fromisoformat(str(start))
        ended = datetime.fromisoformat(str(end))
    except ValueError:
        return 0.0
    return round(max((ended - began).total_seconds(), 0.0), 3)


def _int(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 0


def _cause_payload(cause: object) -> object:
    try:
        return json.loads(str(cause))
    except ValueError:
        return None


def _from_failure(failure: Mapping[str, Any], retry_max_attempts: int) -> tuple[Final, int]:
    """The result of a check the state machine caught, and the retries it cost."""
    error = str(failure.get("Error") or "States.TaskFailed")
    cause = failure.get("Cause")
    if error in RETRIED_TASK_ERRORS:
        retries = max(retry_max_attempts - 1, 0)
        return (
            Final("error", f"gave up after {retry_max_attempts} attempts; last error: {error}: {cause or 'no detail'}"),
            retries,
        )
    retries = 1 if error in RETRIED_ONCE_WORKER_ERRORS else 0
    payload = _cause_payload(cause)
    if isinstance(payload, dict) and "errorType" in payload:
        return classify_function_error(payload), retries
    if error in ("States.Timeout", "States.HeartbeatTimeout"):
        return Final("timeout", f"{error}: {cause or 'no detail'}"), 0
    return Final("error", f"{error}: {cause or 'no detail'}"), retries


class _Reader:
    def __init__(self, s3: S3Client, bucket: str, run_id: str) -> None:
        self.s3 = s3
        self.bucket = bucket
        self.run_id = run_id

    def codebuild_response(self, key: object) -> object | None:
        if not isinstance(key, str) or not key:
            return None
        try:
            response: object = read_json(self.s3, self.bucket, key, MAX_RESPONSE_BYTES)
        except (ClientError, BotoCoreError, ValueError) as e:
            logger.warning("no worker response from CodeBuild", extra={"response_key": key, "error": str(e)})
            return None
        return response

    def result(self, workspace: Workspace, entry: Mapping[str, Any]) -> WorkspaceResult:
        runner: Runner = "codebuild" if entry.get("runner") == "codebuild" else "lambda"
        outcome = entry.get("outcome")
        failure = entry.get("failure")
        retries = 0
        duration = 0.0
        verdict: Completed | Final
        response: object | None = None
        if runner == "codebuild":
            # The build uploads the worker's answer (or its error) either way.
            response = self.codebuild_response(entry.get("response_key"))
        if isinstance(outcome, dict):
            retries = _int(outcome.get("retries"))
            duration = _seconds_between(outcome.get("started_at"), entry.get("finished_at"))
            if runner == "lambda":
                response = outcome.get("response")
        if isinstance(response, dict) and "errorType" in response:
            verdict = classify_function_error(response)
        elif response is not None:
            verdict = parse_worker_response(response, workspace, self.run_id)
        elif isinstance(failure, dict):
            verdict, retries = _from_failure(failure, _int(entry.get("retry_max_attempts")))
        elif runner == "codebuild" and isinstance(outcome, dict):
            verdict = Final("error", f"the CodeBuild build {outcome.get('build_id')} left no worker response")
        else:
            verdict = Final("error", "the state machine recorded no outcome for this check")
        if isinstance(verdict, Completed):
            return WorkspaceResult(
                workspace=workspace,
                status=verdict.status,
                report_key=verdict.report_key,
                report_uri=verdict.report_uri or None,
                by_severity=verdict.by_severity,
                attempts=retries + 1,
                duration_seconds=duration,
                runner=runner,
                managed_key=verdict.managed_key,
            )
        return WorkspaceResult(
            workspace=workspace,
            status=verdict.status,
            report_key=verdict.report_key,
            attempts=retries + 1,
            error=clip(verdict.message, workspace),
            duration_seconds=duration,
            runner=runner,
        )


def _lane_entries(record: Mapping[str, Any]) -> tuple[list[Any], str | None]:
    """A child execution's workspace entries, or why it has none."""
    status = record.get("Status")
    if status == "SUCCEEDED":
        try:
            output = json.loads(record.get("Output") or "null")
        except ValueError:
            return [], "its output is not JSON"
        if isinstance(output, list):
            return output, None
        return [], "its output is not a list of checks"
    return [], f"its execution ended {status}: {record.get('Error') or ''} {record.get('Cause') or ''}".strip()


def _lane_keys(record: Mapping[str, Any]) -> list[str]:
    try:
        lane = json.loads(record.get("Input") or "null")
    except ValueError:
        return []
    workspaces = lane.get("workspaces") if isinstance(lane, dict) else None
    if not isinstance(workspaces, list):
        return []
    return [str(w.get("key")) for w in workspaces if isinstance(w, dict)]


def collect(
    s3: S3Client,
    bucket: str,
    manifest: RunManifest,
    map_result: Mapping[str, Any] | None,
    map_failure: Mapping[str, Any] | None,
    secrets: Mapping[str, str],
) -> Collected:
    """One result per workspace of ``manifest``, from the map's result files.

    ``secrets`` maps a workspace's key to its external id (redacted from
    every message).
    """
    reader = _Reader(s3, bucket, manifest["run_id"])
    by_key: dict[str, ManifestWorkspace] = {w["key"]: w for w in manifest["workspaces"]}
    found: dict[str, WorkspaceResult] = {}
    lost: dict[str, str] = {}
    errors: list[str] = []

    for rejected in manifest["rejected"]:
        entry = by_key.get(rejected["key"])
        if entry is not None:
            found[rejected["key"]] = WorkspaceResult(
                workspace=_workspace(entry, secrets), status="error", error=rejected["error"], runner=entry["runner"]
            )

    for record in _records(s3, map_result, map_failure, errors):
        entries, problem = _lane_entries(record)
        if problem is not None:
            for lost_key in _lane_keys(record):
                lost[lost_key] = f"its lane failed: {problem}"
            continue
        for item in entries:
            item_key = item.get("key") if isinstance(item, dict) else None
            entry = by_key.get(item_key) if isinstance(item_key, str) else None
            if entry is None or entry["key"] in found:
                continue
            found[entry["key"]] = reader.result(_workspace(entry, secrets), item)

    results: list[WorkspaceResult] = []
    for entry in manifest["workspaces"]:
        result = found.get(entry["key"])
        if result is None:
            reason = lost.get(entry["key"]) or (
                "the run's map failed before checking it" if map_failure else "the state machine recorded no result"
            )
            workspace = _workspace(entry, secrets)
            result = WorkspaceResult(
                workspace=workspace, status="error", error=clip(reason, workspace), runner=entry["runner"]
            )
        results.append(result)
    throttle_retries = sum(max(r.attempts - 1, 0) for r in results)
    return Collected(results=results, errors=errors, throttle_retries=throttle_retries)


def _records(
    s3: S3Client,
    map_result: Mapping[str, Any] | None,
    map_failure: Mapping[str, Any] | None,
    errors: list[str],
) -> list[Mapping[str, Any]]:
    """Every child execution record the ResultWriter wrote."""
    if map_failure:
        errors.append(
            f"the map failed: {map_failure.get('Error') or 'unknown error'}: {map_failure.get('Cause') or 'no detail'}"
        )
    details = map_result.get("ResultWriterDetails") if isinstance(map_result, Mapping) else None
    if not isinstance(details, Mapping):
        if not map_failure:
            errors.append("the map wrote no results (no ResultWriterDetails in the state machine's output)")
        return []
    bucket, key = details.get("Bucket"), details.get("Key")
    if not isinstance(bucket, str) or not isinstance(key, str):
        errors.append("the map's ResultWriterDetails name no bucket and key")
        return []
    try:
        manifest = read_json(s3, bucket, key, MAX_RESULT_FILE_BYTES)
    except (ClientError, BotoCoreError, ValueError) as e:
        errors.append(f"the map's results manifest s3://{bucket}/{key} could not be read: {e}")
        return []
    files = manifest.get("ResultFiles") if isinstance(manifest, dict) else None
    records: list[Mapping[str, Any]] = []
    for status in ("SUCCEEDED", "FAILED", "PENDING"):
        for file in (files or {}).get(status) or []:
            file_key = file.get("Key") if isinstance(file, dict) else None
            if not isinstance(file_key, str):
                continue
            try:
                document = read_json(s3, bucket, file_key, MAX_RESULT_FILE_BYTES)
            except (ClientError, BotoCoreError, ValueError) as e:
                errors.append(f"the result file s3://{bucket}/{file_key} could not be read: {e}")
                continue
            if not isinstance(document, list):
                errors.append(f"the result file s3://{bucket}/{file_key} is not a list of executions")
                continue
            records.extend(r for r in document if isinstance(r, dict))
    return records


__all__: Sequence[str] = ["Collected", "collect"]
