"""The run's SNS messages: at most one per kind per run.

- ``critical_drift`` (severity ``critical``): when any workspace reports
  critical findings; one message lists them all.
- ``run_errors`` (severity ``error``): when any workspace failed, timed out or
  was skipped, or (for a scheduled run) when the run could not start.
- ``unmanaged_resources`` (severity ``warning``), only with
  ``UNMANAGED_ALERT=on``: when the run's unmanaged-resource report lists
  resources in no state, in two states, or in a state but gone.

Each message has the attributes ``severity``, ``kind`` and ``environment``
(the environments concerned, sorted and comma-joined, or ``multiple`` when
that would pass 256 characters or is not known), for subscription filter
policies. Subjects are ASCII and under 100 characters, as SNS requires.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from .checks import COMPLETED_STATUSES, WorkspaceResult
from .summary import AlertKind
from .unmanaged import Report

if TYPE_CHECKING:
    from mypy_boto3_sns import SNSClient
    from mypy_boto3_sns.type_defs import MessageAttributeValueTypeDef

SUBJECT_PREFIX = "[drift-detection]"
#: SNS refuses subjects of 100 characters or more.
SUBJECT_MAX = 99
#: Longest ``environment`` attribute before it becomes ``multiple``.
ENVIRONMENT_ATTRIBUTE_MAX = 256
#: How many workspaces a message lists before pointing at the summary.
MAX_LISTED = 50


@dataclass(frozen=True)
class RunContext:
    """What every message says about the run."""

    run_id: str
    trigger: str
    started_at: str
    #: ``s3://bucket/runs/...`` of the summary, or ``None`` if none is written.
    summary_uri: str | None
    #: Bucket of the worker reports, for keys without a URI.
    report_bucket: str
    #: Why each workspace was checked (event checks), by workspace label:
    #: ``checked because NAME by PRINCIPAL at TIME``.
    causes: Mapping[str, str] = field(default_factory=dict)


#: A cause line's fields are the cloud's text: each is kept to one line of this many characters.
CAUSE_FIELD_MAX = 300


def cause_line(trigger: object) -> str | None:
    """``checked because NAME by PRINCIPAL at TIME`` for the newest event of a worker event's ``trigger``."""
    if not isinstance(trigger, Mapping) or trigger.get("kind") != "event":
        return None
    events = trigger.get("events")
    if not isinstance(events, list) or not events or not isinstance(events[-1], Mapping):
        return None
    newest = events[-1]

    def text(name: str) -> str:
        value = " ".join(str(newest.get(name) or "unknown").split())
        return value if len(value) <= CAUSE_FIELD_MAX else value[: CAUSE_FIELD_MAX - 3] + "..."

    return f"checked because {text('name')} by {text('principal')} at {text('time')}"


@dataclass(frozen=True)
class Alert:
    """One SNS message."""

    kind: AlertKind
    severity: Literal["critical", "error", "warning"]
    subject: str
    message: str
    #: Environments concerned; empty when not known.
    environments: tuple[str, ...]

    def attributes(self) -> dict[str, MessageAttributeValueTypeDef]:
        """SNS message attributes."""
        joined = ",".join(self.environments)
        environment = joined if joined and len(joined) <= ENVIRONMENT_ATTRIBUTE_MAX else "multiple"
        return {
            "severity": {"DataType": "String", "StringValue": self.severity},
            "environment": {"DataType": "String", "StringValue": environment},
            "kind": {"DataType": "String", "StringValue": self.kind},
        }


def subject(text: str) -> str:
    """``[drift-detection] text``, ASCII, cut to fit SNS's limit."""
    full = f"{SUBJECT_PREFIX} {text}".encode("ascii", "replace").decode("ascii")
    full = " ".join(full.split())
    if len(full) > SUBJECT_MAX:
        full = full[: SUBJECT_MAX - 3].rstrip() + "..."
    return full


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def _environments(results: Sequence[WorkspaceResult]) -> tuple[str, ...]:
    return tuple(sorted({r.workspace.environment for r in results}))


def _report_line(result: WorkspaceResult, context: RunContext) -> str | None:
    if result.report_uri:
        return f"  report: {result.report_uri}"
    if result.report_key:
        return f"  report: s3://{context.report_bucket}/{result.report_key}"
    return None


def _listing(lines_per_result: list[list[str]], total: int) -> list[str]:
    lines: list[str] = []
    for block in lines_per_result[:MAX_LISTED]:
        lines.extend(block)
    if total > MAX_LISTED:
        lines.append(f"- ... and {total - MAX_LISTED} more: see the run summary")
    return lines


def _footer(context: RunContext) -> list[str]:
    if context.summary_uri:
        return ["", f"Run summary: {context.summary_uri}"]
    return []


def critical_drift_alert(results: Sequence[WorkspaceResult], context: RunContext) -> Alert | None:
    """The run's one critical-drift message, or ``None`` when nothing is critical."""
    critical = [r for r in results if r.by_severity.critical > 0]
    if not critical:
        return None
    findings = sum(r.by_severity.critical for r in critical)
    blocks = []
    for result in critical:
        counts = result.by_severity
        line = (
            f"- {result.workspace.label} (account {result.workspace.account_id}, "
            f"{result.workspace.region}): {result.status}; critical {counts.critical}, "
            f"high {counts.high}, medium {counts.medium}, low {counts.low}"
        )
        block = [line]
        cause = context.causes.get(result.workspace.label)
        if cause:
            block.append(f"  {cause}")
        report = _report_line(result, context)
        if report:
            block.append(report)
        blocks.append(block)
    checked = sum(1 for r in results if r.status in COMPLETED_STATUSES)
    headline = (
        f"{_plural(findings, 'critical finding')} in {_plural(len(critical), 'workspace')} "
        f"of {checked} checked by run {context.run_id} ({context.trigger}, started "
        f"{context.started_at})."
    )
    lines = [
        headline,
        "",
        *_listing(blocks, len(critical)),
        *_footer(context),
    ]
    names = ", ".join(r.workspace.label for r in critical)
    return Alert(
        kind="critical_drift",
        severity="critical",
        subject=subject(f"Critical drift in {_plural(len(critical), 'workspace')}: {names}"),
        message="\n".join(lines) + "\n",
        environments=_environments(critical),
    )


def run_errors_alert(results: Sequence[WorkspaceResult], context: RunContext) -> Alert | None:
    """The run's one error message, or ``None`` when every workspace was checked."""
    failed = [r for r in results if r.status in ("error", "timeout", "skipped")]
    if not failed:
        return None
    errored = sum(1 for r in failed if r.status in ("error", "timeout"))
    skipped = len(failed) - errored
    parts = []
    if errored:
        parts.append(f"{_plural(errored, 'workspace')} failed")
    if skipped:
        parts.append(f"{_plural(skipped, 'workspace')} skipped")
    blocks = []
    for result in failed:
        attempts = f" after {_plural(result.attempts, 'attempt')}" if result.attempts else ""
        line = (
            f"- {result.workspace.label} (account {result.workspace.account_id}, "
            f"{result.workspace.region}) [{result.status}{attempts}]: "
            f"{result.error or 'no detail'}"
        )
        block = [line]
        report = _report_line(result, context)
        if report:
            block.append(report)
        blocks.append(block)
    headline = (
        f"Run {context.run_id} ({context.trigger}, started {context.started_at}) could not "
        f"check {len(failed)} of {_plural(len(results), 'workspace')}: {', '.join(parts)}."
    )
    lines = [
        headline,
        "",
        *_listing(blocks, len(failed)),
        *_footer(context),
    ]
    return Alert(
        kind="run_errors",
        severity="error",
        subject=subject(f"{' and '.join(parts)} in run {context.run_id}"),
        message="\n".join(lines) + "\n",
        environments=_environments(failed),
    )


def _scope_text(account_id: str, region: str | None) -> str:
    return f"account {account_id}, {region}" if region else f"account {account_id}"


def unmanaged_alert(
    report: Report, report_uri: str, results: Sequence[WorkspaceResult], context: RunContext
) -> Alert | None:
    """The run's one unmanaged-resources message, or ``None`` when the report lists nothing to act on."""
    counts = report["summary"]
    total = counts["unmanaged"] + counts["managed_twice"] + counts["gone"]
    if not total:
        return None
    parts = []
    if counts["unmanaged"]:
        parts.append(f"{_plural(counts['unmanaged'], 'unmanaged resource')}")
    if counts["managed_twice"]:
        parts.append(f"{counts['managed_twice']} managed twice")
    if counts["gone"]:
        parts.append(f"{counts['gone']} gone from the inventory")
    listed: list[str] = []
    for item in report["unmanaged"]:
        name = item.get("resource_name")
        named = f" ({name})" if name and name != item["resource_id"] else ""
        where = _scope_text(item["account_id"], item["region"])
        listed.append(f"- unmanaged: {item['resource_type']} {item['resource_id']}{named} ({where})")
    for twice in report["managed_twice"]:
        claims = ", ".join(f"{c['workspace']}/{c['environment']} {c['address']}" for c in twice["claims"])
        where = _scope_text(twice["account_id"], twice["region"])
        listed.append(f"- managed twice: {twice['resource_type']} {twice['identifier']} ({where}) by {claims}")
    for gone in report["gone"]:
        label = f"{gone['workspace']}/{gone['environment']} {gone['address']}"
        what = f"{gone['resource_type']} {', '.join(gone['identifiers'])}"
        listed.append(f"- gone: {label} ({what}; {_scope_text(gone['account_id'], gone['region'])})")
    lines = listed[:MAX_LISTED]
    if total > MAX_LISTED:
        lines.append(f"- ... and {total - MAX_LISTED} more: see the report")
    headline = (
        f"Run {context.run_id} ({context.trigger}, started {context.started_at}) found "
        f"{', '.join(parts)} ({counts['ignored']} ignored by rule, "
        f"{_plural(counts['withheld_scopes'], 'scope')} withheld)."
    )
    scopes = {(i["account_id"], i["region"]) for i in report["unmanaged"]}
    concerned = {(g["workspace"], g["environment"]) for g in report["gone"]}
    concerned |= {(c["workspace"], c["environment"]) for m in report["managed_twice"] for c in m["claims"]}
    environments = tuple(
        sorted(
            {
                r.workspace.environment
                for r in results
                if (r.workspace.account_id, r.workspace.region) in scopes
                or (r.workspace.name, r.workspace.environment) in concerned
            }
        )
    )
    short = [
        f"{counts['unmanaged']} unmanaged" if counts["unmanaged"] else "",
        f"{counts['managed_twice']} managed twice" if counts["managed_twice"] else "",
        f"{counts['gone']} gone" if counts["gone"] else "",
    ]
    return Alert(
        kind="unmanaged_resources",
        severity="warning",
        subject=subject(f"Resources {', '.join(p for p in short if p)} in run {context.run_id}"),
        message="\n".join([headline, "", *lines, "", f"Report: {report_uri}", *_footer(context)[1:]]) + "\n",
        environments=environments,
    )


def run_failed_alert(run_id: str, started_at: str, reason: str) -> Alert:
    """The message for a scheduled run that could not start at all."""
    return Alert(
        kind="run_errors",
        severity="error",
        subject=subject(f"Run {run_id} failed before checking any workspace"),
        message=(f"Scheduled run {run_id} (started {started_at}) checked no workspace:\n\n{reason}\n"),
        environments=(),
    )


def publish(sns: SNSClient, topic_arn: str, alert: Alert) -> str:
    """Publishes ``alert``; returns the SNS message id. Errors propagate."""
    response = sns.publish(
        TopicArn=topic_arn,
        Subject=alert.subject,
        Message=alert.message,
        MessageAttributes=alert.attributes(),
    )
    return response["MessageId"]
