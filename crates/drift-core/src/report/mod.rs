//! The drift report: contract v1, one JSON document per workspace run.
//!
//! [`build_report`] puts an [`Analysis`] and the facts of the Terraform run
//! into a [`Report`], deciding its [`Status`] from the content and reconciling
//! it with Terraform's `-detailed-exitcode` (both are recorded). The field names
//! are a contract that dashboards and alerts rely on: `schemas/drift-report.v1.json`
//! is generated from these types ([`json_schema`]) and a test keeps the two equal.
//! [`render`] turns reports into JSON, a terminal table or Markdown.

pub mod render;
pub mod trigger;

pub use trigger::{Trigger, TriggerEvent, TriggerKind};

use std::collections::BTreeMap;

use chrono::{DateTime, SecondsFormat, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::drift::rules::{ActionKind, Severity};
use crate::drift::{Analysis, ChangeOrigin, DriftItem, Verdict};
use crate::plan::{Diagnostic, DiagnosticSeverity};

/// The report contract version written to `schema_version`. 1.1 added the
/// verdicts (`verdict` on findings and attributes, `summary.by_verdict`);
/// 1.2 the optional `changed_by` of a finding (CloudTrail attribution);
/// 1.3 the optional `trigger` (why the check ran, copied from the worker's
/// event). Every earlier 1.x field is unchanged, so readers of 1.x keep working.
pub const SCHEMA_VERSION: &str = "1.3";

/// Exit codes of the CLI, usable as a CI gate. An error never reads as drift.
pub mod exit_code {
    /// No drift, no pending change, no error.
    pub const CLEAN: u8 = 0;
    /// A workspace could not be checked (bad input, terraform failed or timed out).
    pub const ERROR: u8 = 1;
    /// Drift was found, none of it critical.
    pub const DRIFT: u8 = 2;
    /// A critical finding (drift or pending change).
    pub const CRITICAL: u8 = 3;
    /// No drift, but the configuration has pending changes.
    pub const PENDING_CHANGES: u8 = 4;
}

/// The outcome of a workspace run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Infrastructure matches state and configuration.
    Clean,
    /// Something changed outside Terraform.
    Drift,
    /// No drift, but the configuration differs from the state.
    PendingChanges,
    /// The check could not finish; see `errors`.
    Error,
    /// Terraform was stopped at the deadline; findings so far are kept.
    Timeout,
}

impl Status {
    /// The snake_case name used in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Clean => "clean",
            Status::Drift => "drift",
            Status::PendingChanges => "pending_changes",
            Status::Error => "error",
            Status::Timeout => "timeout",
        }
    }
}

/// Which workspace the report is about.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
pub struct WorkspaceInfo {
    /// Workspace name.
    pub name: String,
    /// Environment, e.g. `prod`.
    pub environment: Option<String>,
    /// AWS account id.
    pub account_id: Option<String>,
    /// AWS region.
    pub region: Option<String>,
}

/// One terraform command run for this report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct TerraformRun {
    /// The subcommand and its mode flags, e.g. `plan -refresh-only`.
    pub command: String,
    /// Its exit code; null when it was killed.
    pub exit_code: Option<i32>,
    /// Wall time in seconds.
    pub duration_seconds: f64,
}

/// What Terraform said, beside what the report concludes.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
pub struct TerraformInfo {
    /// Terraform version, when the input says.
    pub version: Option<String>,
    /// The `-detailed-exitcode` result (0 clean, 1 error, 2 changes): 1 if any
    /// run failed, else the highest; null when no terraform ran.
    pub exit_code: Option<i32>,
    /// The JSON output's format version.
    pub format_version: Option<String>,
    /// Each terraform command run.
    pub runs: Vec<TerraformRun>,
    /// Where the exit code and the content disagree, and which was believed.
    pub notes: Vec<String>,
}

/// Counts per severity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
pub struct SeverityCounts {
    /// Critical findings.
    pub critical: usize,
    /// High findings.
    pub high: usize,
    /// Medium findings.
    pub medium: usize,
    /// Low findings.
    pub low: usize,
}

impl SeverityCounts {
    fn add(&mut self, severity: Severity) {
        match severity {
            Severity::Critical => self.critical += 1,
            Severity::High => self.high += 1,
            Severity::Medium => self.medium += 1,
            Severity::Low => self.low += 1,
        }
    }

    /// The count for one severity.
    pub fn get(&self, severity: Severity) -> usize {
        match severity {
            Severity::Critical => self.critical,
            Severity::High => self.high,
            Severity::Medium => self.medium,
            Severity::Low => self.low,
        }
    }
}

/// Findings per verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
pub struct VerdictCounts {
    /// Drift the next apply sets back.
    pub reverted_by_apply: usize,
    /// Drift no planned change touches.
    pub absorbed: usize,
    /// Planned changes to what did not drift.
    pub config_change: usize,
}

impl VerdictCounts {
    fn add(&mut self, verdict: Verdict) {
        match verdict {
            Verdict::RevertedByApply => self.reverted_by_apply += 1,
            Verdict::Absorbed => self.absorbed += 1,
            Verdict::ConfigChange => self.config_change += 1,
        }
    }

    /// The count for one verdict.
    pub fn get(&self, verdict: Verdict) -> usize {
        match verdict {
            Verdict::RevertedByApply => self.reverted_by_apply,
            Verdict::Absorbed => self.absorbed,
            Verdict::ConfigChange => self.config_change,
        }
    }
}

/// Totals over the findings.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
pub struct Summary {
    /// Managed resources in state and configuration; null when the input does not list them.
    pub total_resources: Option<usize>,
    /// Resources changed outside Terraform.
    pub drifted_resources: usize,
    /// Resources with pending configuration changes.
    pub pending_changes: usize,
    /// Findings dropped by ignore rules.
    pub ignored: usize,
    /// Findings per severity, over all of `drift` (both sources).
    pub by_severity: SeverityCounts,
    /// Drift findings (`outside_terraform` only) per severity.
    pub drift_by_severity: SeverityCounts,
    /// Findings per action (`update`, `delete`, `replace`, `create`, ...).
    pub by_action: BTreeMap<String, usize>,
    /// Findings per verdict; findings whose verdict the input cannot tell
    /// (a refresh-only plan) count in none.
    pub by_verdict: VerdictCounts,
}

/// An error or warning met while checking the workspace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ReportDiagnostic {
    /// `error` or `warning`.
    #[schemars(with = "String")]
    pub severity: DiagnosticSeverity,
    /// One line.
    pub summary: String,
    /// More, if any.
    pub detail: Option<String>,
    /// The resource address concerned, if any.
    pub address: Option<String>,
}

impl From<Diagnostic> for ReportDiagnostic {
    fn from(d: Diagnostic) -> Self {
        ReportDiagnostic {
            severity: d.severity,
            summary: d.summary,
            detail: d.detail,
            address: d.address,
        }
    }
}

/// A drift report for one workspace run (contract v1).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Report {
    /// Always "1" for this contract.
    pub schema_version: String,
    /// Unique id of this report.
    pub report_id: String,
    /// When it was made, RFC 3339 in UTC.
    pub generated_at: String,
    /// The drift-detection version that made it.
    pub tool_version: String,
    /// The workspace checked.
    pub workspace: WorkspaceInfo,
    /// What Terraform said.
    pub terraform: TerraformInfo,
    /// The outcome.
    pub status: Status,
    /// Totals.
    pub summary: Summary,
    /// Findings: drift (`outside_terraform`) first, then pending changes (`config_change`).
    pub drift: Vec<DriftItem>,
    /// Errors and warnings.
    pub errors: Vec<ReportDiagnostic>,
    /// Why the check ran (1.3): the worker event's `trigger`, as given.
    /// Absent from the CLI's reports and from checks whose event had none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trigger: Option<Trigger>,
}

impl Report {
    /// Whether any finding is critical.
    pub fn has_critical(&self) -> bool {
        self.summary.by_severity.critical > 0
    }

    /// This report's CLI exit code.
    pub fn exit_code(&self) -> u8 {
        match self.status {
            Status::Error | Status::Timeout => exit_code::ERROR,
            _ if self.has_critical() => exit_code::CRITICAL,
            Status::Drift => exit_code::DRIFT,
            Status::PendingChanges => exit_code::PENDING_CHANGES,
            Status::Clean => exit_code::CLEAN,
        }
    }
}

/// The combined exit code of several reports: error, then critical, then drift,
/// then pending changes, then clean.
pub fn combined_exit_code<'a>(reports: impl IntoIterator<Item = &'a Report>) -> u8 {
    let rank = |code: u8| match code {
        exit_code::ERROR => 4,
        exit_code::CRITICAL => 3,
        exit_code::DRIFT => 2,
        exit_code::PENDING_CHANGES => 1,
        _ => 0,
    };
    reports
        .into_iter()
        .map(Report::exit_code)
        .max_by_key(|c| rank(*c))
        .unwrap_or(exit_code::CLEAN)
}

/// How a run ended when it did not simply finish.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// It failed; the reason is among the diagnostics.
    Error,
    /// It was stopped at the deadline.
    Timeout,
}

/// Facts about the Terraform run behind an analysis.
#[derive(Debug, Clone, Default)]
pub struct RunFacts {
    /// Terraform version.
    pub terraform_version: Option<String>,
    /// JSON format version.
    pub format_version: Option<String>,
    /// Commands run, with exit codes.
    pub runs: Vec<TerraformRun>,
    /// An exit code reported by the caller when no command ran here
    /// (e.g. `analyze --terraform-exit-code 2`).
    pub reported_exit_code: Option<i32>,
    /// How the run ended, if not normally.
    pub failure: Option<Failure>,
    /// Errors met outside Terraform's own output (I/O, parsing, timeouts).
    pub diagnostics: Vec<Diagnostic>,
    /// Notes for `terraform.notes` about how the run was made.
    pub notes: Vec<String>,
}

/// A report's identity: its id and time of making.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportIdentity {
    /// The report id.
    pub report_id: String,
    /// When it was made.
    pub generated_at: DateTime<Utc>,
}

impl ReportIdentity {
    /// A random id, stamped now.
    pub fn new() -> Self {
        ReportIdentity {
            report_id: uuid::Uuid::new_v4().to_string(),
            generated_at: Utc::now(),
        }
    }
}

impl Default for ReportIdentity {
    fn default() -> Self {
        ReportIdentity::new()
    }
}

/// Builds the report for one workspace.
pub fn build_report(
    identity: ReportIdentity,
    workspace: WorkspaceInfo,
    analysis: Analysis,
    facts: RunFacts,
) -> Report {
    let mut summary = Summary {
        total_resources: analysis.total_resources,
        ignored: analysis.ignored,
        ..Summary::default()
    };
    for item in &analysis.items {
        match item.source {
            ChangeOrigin::OutsideTerraform => {
                summary.drifted_resources += 1;
                summary.drift_by_severity.add(item.severity);
            }
            ChangeOrigin::ConfigChange => summary.pending_changes += 1,
        }
        summary.by_severity.add(item.severity);
        if let Some(verdict) = item.verdict {
            summary.by_verdict.add(verdict);
        }
        *summary
            .by_action
            .entry(ActionKind::of(&item.actions).as_str().to_string())
            .or_default() += 1;
    }

    let mut diagnostics: Vec<Diagnostic> = facts.diagnostics;
    diagnostics.extend(analysis.diagnostics);
    let exit_code = overall_exit_code(&facts.runs).or(facts.reported_exit_code);
    let any_error_diagnostic = diagnostics.iter().any(Diagnostic::is_error);
    let mut notes = facts.notes;

    let content_status = if summary.drifted_resources > 0 {
        Status::Drift
    } else if summary.pending_changes > 0 {
        Status::PendingChanges
    } else {
        Status::Clean
    };
    let status = match facts.failure {
        Some(Failure::Timeout) => Status::Timeout,
        Some(Failure::Error) => Status::Error,
        None if any_error_diagnostic || exit_code == Some(1) => Status::Error,
        None => content_status,
    };
    if exit_code == Some(1) && !any_error_diagnostic {
        diagnostics.push(Diagnostic::error(
            "terraform exited with code 1 (error) without a diagnostic in its JSON output",
            Some("see terraform's stderr in the logs".to_string()),
        ));
    }
    match (exit_code, content_status) {
        (Some(2), Status::Clean) => notes.push(
            "terraform exited 2 (changes present) but no resource drift or pending resource change was found: the difference is in outputs, check blocks or a refresh-only state update; status follows the content".to_string(),
        ),
        (Some(0), Status::Drift | Status::PendingChanges) => notes.push(
            "terraform exited 0 (no changes) but its JSON output lists resource changes; status follows the content".to_string(),
        ),
        _ => {}
    }

    Report {
        schema_version: SCHEMA_VERSION.to_string(),
        report_id: identity.report_id,
        generated_at: identity
            .generated_at
            .to_rfc3339_opts(SecondsFormat::Secs, true),
        tool_version: env!("CARGO_PKG_VERSION").to_string(),
        workspace,
        terraform: TerraformInfo {
            version: facts.terraform_version,
            exit_code,
            format_version: facts.format_version,
            runs: facts.runs,
            notes,
        },
        status,
        summary,
        drift: analysis.items,
        errors: diagnostics
            .into_iter()
            .map(ReportDiagnostic::from)
            .collect(),
        trigger: None,
    }
}

/// 1 if any command failed, else the highest `plan -detailed-exitcode` result.
fn overall_exit_code(runs: &[TerraformRun]) -> Option<i32> {
    if runs.iter().any(|r| r.exit_code == Some(1)) {
        return Some(1);
    }
    runs.iter()
        .filter(|r| r.command.starts_with("plan"))
        .filter_map(|r| r.exit_code)
        .max()
}

/// The JSON Schema of [`Report`], as committed in `schemas/drift-report.v1.json`.
pub fn json_schema() -> serde_json::Value {
    let schema = schemars::schema_for!(Report);
    serde_json::to_value(schema).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::drift::{analyze, rules::RuleSet};
    use crate::plan::parse_slice;

    fn report_for(plan: &str, facts: RunFacts) -> Report {
        let doc = parse_slice("p.json", plan.as_bytes()).unwrap();
        let analysis = analyze(&[&doc], &RuleSet::embedded());
        build_report(
            ReportIdentity::new(),
            WorkspaceInfo::default(),
            analysis,
            facts,
        )
    }

    fn run(code: i32) -> RunFacts {
        RunFacts {
            runs: vec![TerraformRun {
                command: "plan".into(),
                exit_code: Some(code),
                duration_seconds: 0.1,
            }],
            ..RunFacts::default()
        }
    }

    const EMPTY: &str = r#"{"format_version":"1.2","resource_changes":[]}"#;
    const UPDATE: &str = r#"{"format_version":"1.2","resource_changes":[{"address":"aws_sqs_queue.q","mode":"managed","type":"aws_sqs_queue","name":"q","change":{"actions":["update"],"before":{"delay_seconds":0},"after":{"delay_seconds":5}}}]}"#;

    #[test]
    fn exit_code_two_without_resource_changes_is_clean_with_a_note() {
        let report = report_for(EMPTY, run(2));
        assert_eq!(report.status, Status::Clean);
        assert_eq!(report.terraform.exit_code, Some(2));
        assert!(report.terraform.notes[0].contains("exited 2"));
        assert_eq!(report.exit_code(), exit_code::CLEAN);
    }

    #[test]
    fn exit_code_zero_with_changes_follows_the_content() {
        let report = report_for(UPDATE, run(0));
        assert_eq!(report.status, Status::PendingChanges);
        assert!(report.terraform.notes[0].contains("exited 0"));
        assert_eq!(report.exit_code(), exit_code::PENDING_CHANGES);
        assert_eq!(report.summary.by_action.get("update"), Some(&1));
        assert_eq!(report.summary.by_severity.medium, 1);
    }

    #[test]
    fn exit_code_one_is_an_error_even_without_diagnostics() {
        let report = report_for(EMPTY, run(1));
        assert_eq!(report.status, Status::Error);
        assert_eq!(report.errors.len(), 1);
        assert_eq!(report.exit_code(), exit_code::ERROR);
    }

    #[test]
    fn timeouts_keep_findings() {
        let facts = RunFacts {
            failure: Some(Failure::Timeout),
            ..RunFacts::default()
        };
        let report = report_for(UPDATE, facts);
        assert_eq!(report.status, Status::Timeout);
        assert_eq!(report.drift.len(), 1);
    }

    #[test]
    fn combined_exit_code_ranks_error_over_critical_over_drift() {
        let clean = report_for(EMPTY, RunFacts::default());
        let pending = report_for(UPDATE, RunFacts::default());
        let error = report_for(EMPTY, run(1));
        assert_eq!(
            combined_exit_code([&clean, &pending]),
            exit_code::PENDING_CHANGES
        );
        assert_eq!(
            combined_exit_code([&pending, &error, &clean]),
            exit_code::ERROR
        );
        assert_eq!(combined_exit_code([]), exit_code::CLEAN);
    }

    #[test]
    fn a_1_1_report_without_changed_by_still_reads_and_validates() {
        let report = report_for(UPDATE, RunFacts::default());
        let mut old = serde_json::to_value(&report).unwrap();
        old["schema_version"] = "1.1".into();
        assert!(old["drift"][0].get("changed_by").is_none());
        let validator = jsonschema::validator_for(&json_schema()).unwrap();
        assert!(validator.is_valid(&old));
        let read: Report = serde_json::from_value(old).unwrap();
        assert_eq!(read.drift[0].changed_by, None);
        // And a 1.2 finding's `changed_by` validates in either shape.
        let mut new = serde_json::to_value(&report).unwrap();
        new["drift"][0]["changed_by"] = serde_json::json!({"unknown": "throttled"});
        assert!(validator.is_valid(&new));
        new["drift"][0]["changed_by"] = serde_json::json!({"unknown": "somebody"});
        assert!(!validator.is_valid(&new));
    }

    /// 1.3's `trigger`: absent unless set, validated by the schema, shown
    /// by the table and the Markdown with the event's texts escaped.
    #[test]
    fn a_trigger_is_optional_validated_and_rendered() {
        let mut report = report_for(UPDATE, RunFacts::default());
        assert_eq!(report.schema_version, "1.3");
        let validator = jsonschema::validator_for(&json_schema()).unwrap();
        let plain = serde_json::to_value(&report).unwrap();
        assert!(plain.get("trigger").is_none());
        assert!(validator.is_valid(&plain));
        let table = render::table::table_at_width(&report, None);
        assert!(!table.contains("checked"), "{table}");

        report.trigger = Some(
            serde_json::from_value(serde_json::json!({"kind": "event", "events": [
                {"id": "e1", "source": "aws.ec2", "name": "CreateTags", "principal": "unknown",
                 "time": "2026-11-27T06:00:00Z", "account_id": "123456789012",
                 "region": "us-east-1", "resources": []},
                {"id": "e2", "source": "aws.ec2", "name": "AuthorizeSecurityGroupIngress",
                 "principal": "arn:aws:sts::123456789012:assumed-role/Admin/a|b\u{1b}[31m",
                 "time": "2026-11-27T06:05:00Z", "account_id": "123456789012",
                 "region": "us-east-1", "resources": ["sg-0app"]}
            ]}))
            .unwrap(),
        );
        let value = serde_json::to_value(&report).unwrap();
        assert!(validator.is_valid(&value));
        assert_eq!(
            serde_json::from_value::<Report>(value.clone()).unwrap(),
            report
        );
        let mut extra = value.clone();
        extra["trigger"]["events"][0]["extra"] = "x".into();
        assert!(!validator.is_valid(&extra));

        let table = render::table::table_at_width(&report, None);
        assert!(
            table.contains("checked because AuthorizeSecurityGroupIngress by arn:aws:sts::123456789012:assumed-role/Admin/a|b\\u{1b}[31m at 2026-11-27T06:05:00Z"),
            "{table}"
        );
        let markdown = render::Render::render(&render::Markdown, &report);
        let line = markdown
            .lines()
            .find(|l| l.starts_with("| Trigger |"))
            .unwrap();
        assert!(
            line.contains("checked because AuthorizeSecurityGroupIngress by "),
            "{line}"
        );
        assert!(!line.contains("a|b"), "a pipe would split the cell: {line}");
        assert!(!line.contains('\u{1b}'), "{line}");

        report.trigger = Some(Trigger {
            kind: TriggerKind::Schedule,
            events: None,
        });
        let table = render::table::table_at_width(&report, None);
        assert!(table.contains("\nchecked: schedule\n"), "{table}");
    }

    #[test]
    fn generated_at_is_rfc3339_utc() {
        let report = report_for(EMPTY, RunFacts::default());
        assert!(
            report.generated_at.ends_with('Z'),
            "{}",
            report.generated_at
        );
        assert!(DateTime::parse_from_rfc3339(&report.generated_at).is_ok());
    }
}
