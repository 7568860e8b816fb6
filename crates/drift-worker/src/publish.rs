//! What the worker says about a report: its S3 keys, the alert text and the
//! CloudWatch Embedded Metric Format line. Pure functions of the report, so
//! the exact words and numbers are tested without AWS.

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, Utc};
use serde_json::{json, Value};

use drift_core::drift::rules::Severity;
use drift_core::drift::ChangeOrigin;
use drift_core::plan::DiagnosticSeverity;
use drift_core::report::render::{changed_by_line, terminal_text, trigger_line};
use drift_core::report::{Report, Status, TriggerKind};

/// The folder every worker report lives under.
pub const REPORT_PREFIX: &str = "drift-reports";

/// `drift-reports/<environment>/<workspace>/YYYY/MM/DD/<run_id>.json`.
pub fn report_key(environment: &str, workspace: &str, day: DateTime<Utc>, run_id: &str) -> String {
    format!(
        "{REPORT_PREFIX}/{environment}/{workspace}/{:04}/{:02}/{:02}/{run_id}.json",
        day.year(),
        day.month(),
        day.day()
    )
}

/// The folder of the managed-resources sidecars.
pub const MANAGED_PREFIX: &str = "managed";

/// `managed/<environment>/<workspace>/<run_id>.json`: what the workspace's
/// state claims, for the run's unmanaged-resource comparison. Its parts are
/// the event's names, checked as the report key's are.
pub fn managed_key(environment: &str, workspace: &str, run_id: &str) -> String {
    format!("{MANAGED_PREFIX}/{environment}/{workspace}/{run_id}.json")
}

/// `drift-reports/<environment>/<workspace>/latest.json`.
pub fn latest_key(environment: &str, workspace: &str) -> String {
    format!("{REPORT_PREFIX}/{environment}/{workspace}/latest.json")
}

/// Whether a report warrants an alert: critical findings, or a check that
/// could not finish.
pub fn needs_alert(report: &Report) -> bool {
    report.has_critical() || matches!(report.status, Status::Error | Status::Timeout)
}

/// An SNS message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alert {
    /// Under 100 characters, as SNS requires.
    pub subject: String,
    /// Plain text for e-mail.
    pub message: String,
    /// Message attributes subscribers filter on: `severity`, `environment`, `workspace`.
    pub attributes: BTreeMap<String, String>,
}

/// SNS refuses subjects of 100 characters or more.
const SUBJECT_MAX: usize = 99;
/// How many findings the message lists before pointing at the report.
const TOP_ITEMS: usize = 10;
/// The longest line an alert gives one finding or error: a hostile plan's
/// address can be megabytes long, and SNS refuses messages over 256 KiB.
const LINE_MAX: usize = 1_000;

fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut out: String = text.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// The alert for a report stored at `location` (or not stored, if `None`).
pub fn alert(report: &Report, location: Option<&str>) -> Alert {
    let ws = &report.workspace;
    let environment = ws.environment.as_deref().unwrap_or("unknown");
    let severity = match report.status {
        Status::Error | Status::Timeout if !report.has_critical() => "error",
        _ => "critical",
    };
    let headline = match report.status {
        Status::Error => "drift check failed".to_string(),
        Status::Timeout => "drift check timed out".to_string(),
        _ => format!(
            "{} critical finding{}",
            report.summary.by_severity.critical,
            if report.summary.by_severity.critical == 1 {
                ""
            } else {
                "s"
            }
        ),
    };
    // Subjects must be ASCII-ish single lines: names are key-safe already.
    let subject = truncate(
        &format!("[drift-detection] {environment}/{}: {headline}", ws.name),
        SUBJECT_MAX,
    );

    let mut message = String::new();
    message.push_str(&format!(
        "Workspace {} ({environment}), account {}, region {}\n",
        ws.name,
        ws.account_id.as_deref().unwrap_or("unknown"),
        ws.region.as_deref().unwrap_or("unknown"),
    ));
    message.push_str(&format!("Status: {}\n", report.status.as_str()));
    // An event check says which change it was for (the newest); the cloud's
    // texts are escaped like the findings' authors.
    if report.trigger.as_ref().and_then(|t| t.newest()).is_some() {
        if let Some(line) = trigger_line(report, |t| terminal_text(t).into_owned()) {
            message.push_str(&truncate(&line, LINE_MAX));
            message.push('\n');
        }
    }
    let s = &report.summary;
    message.push_str(&format!(
        "Drifted resources: {}, pending changes: {}; critical {}, high {}, medium {}, low {}\n",
        s.drifted_resources,
        s.pending_changes,
        s.by_severity.critical,
        s.by_severity.high,
        s.by_severity.medium,
        s.by_severity.low
    ));
    let mut items: Vec<_> = report.drift.iter().collect();
    // Most serious first; drift before pending changes within a severity.
    items.sort_by_key(|i| {
        (
            std::cmp::Reverse(i.severity),
            i.source != ChangeOrigin::OutsideTerraform,
        )
    });
    if !items.is_empty() {
        message.push_str("\nTop findings:\n");
        for item in items.iter().take(TOP_ITEMS) {
            let source = match item.source {
                ChangeOrigin::OutsideTerraform => "changed outside Terraform",
                ChangeOrigin::ConfigChange => "pending change",
            };
            let line = format!(
                "- [{}] {} ({}, {}): {}",
                item.severity.as_str(),
                item.address,
                item.actions.join("/"),
                source,
                item.remediation.suggestion
            );
            message.push_str(&truncate(&line, LINE_MAX));
            message.push('\n');
            // Principal and session names are the cloud's: control
            // characters and line breaks are shown as escapes.
            if let Some(by) = changed_by_line(item, |t| terminal_text(t).into_owned()) {
                message.push_str(&truncate(&format!("  {by}"), LINE_MAX));
                message.push('\n');
            }
        }
        if items.len() > TOP_ITEMS {
            message.push_str(&format!(
                "… and {} more in the report\n",
                items.len() - TOP_ITEMS
            ));
        }
    }
    let errors: Vec<_> = report
        .errors
        .iter()
        .filter(|e| e.severity == DiagnosticSeverity::Error)
        .collect();
    if !errors.is_empty() {
        message.push_str("\nErrors:\n");
        for e in errors.iter().take(TOP_ITEMS) {
            message.push_str(&format!("- {}\n", truncate(&e.summary, LINE_MAX)));
            if let Some(detail) = &e.detail {
                message.push_str(&format!(
                    "  {}\n",
                    truncate(detail, 600).replace('\n', "\n  ")
                ));
            }
        }
    }
    message.push_str(&format!(
        "\nReport: {}\nReport id: {}\n",
        location.unwrap_or("not stored (see the worker's log for the full report)"),
        report.report_id
    ));

    let attributes = BTreeMap::from([
        ("severity".to_string(), severity.to_string()),
        ("environment".to_string(), environment.to_string()),
        ("workspace".to_string(), ws.name.clone()),
    ]);
    Alert {
        subject,
        message,
        attributes,
    }
}

/// The CloudWatch Embedded Metric Format document for one workspace check:
/// metrics `DriftedResources`, `CriticalDrift`, `PendingChanges`,
/// `DetectionErrors`, `DurationSeconds` under dimensions `Environment` and
/// `Workspace`, plus plain fields for Logs Insights.
pub fn emf(
    namespace: &str,
    report: &Report,
    duration_seconds: f64,
    report_key: Option<&str>,
    now: DateTime<Utc>,
) -> Value {
    let failed = matches!(report.status, Status::Error | Status::Timeout);
    json!({
        "_aws": {
            "Timestamp": now.timestamp_millis(),
            "CloudWatchMetrics": [{
                "Namespace": namespace,
                "Dimensions": [["Environment", "Workspace"]],
                "Metrics": [
                    {"Name": "DriftedResources", "Unit": "Count"},
                    {"Name": "CriticalDrift", "Unit": "Count"},
                    {"Name": "PendingChanges", "Unit": "Count"},
                    {"Name": "DetectionErrors", "Unit": "Count"},
                    {"Name": "DurationSeconds", "Unit": "Seconds"},
                ],
            }],
        },
        "Environment": report.workspace.environment.as_deref().unwrap_or("unknown"),
        "Workspace": report.workspace.name,
        "DriftedResources": report.summary.drifted_resources,
        "CriticalDrift": report.summary.drift_by_severity.get(Severity::Critical),
        "PendingChanges": report.summary.pending_changes,
        "DetectionErrors": u8::from(failed),
        "DurationSeconds": duration_seconds,
        "event": "workspace_checked",
        "status": report.status.as_str(),
        "environment": report.workspace.environment,
        "workspace": report.workspace.name,
        "account_id": report.workspace.account_id,
        "region": report.workspace.region,
        "report_key": report_key,
        "report_id": report.report_id,
    })
}

/// The detection latency of an event check, as its own EMF line (so that
/// the check's other metrics gain no dimensionless aggregate): metric
/// `DetectionLatencySeconds`, `stored_at` (when the report was stored) minus
/// the oldest event's `time`, under dimension sets `[Environment, Workspace]`
/// and `[]` (the stack's alarm reads the aggregate). `Ok(None)` for checks
/// that are not event checks or have no events; an error (for the log) when
/// the oldest time is not RFC 3339 or lies after `stored_at`.
pub fn latency_emf(
    namespace: &str,
    report: &Report,
    stored_at: DateTime<Utc>,
) -> Result<Option<Value>, String> {
    let Some(trigger) = report.trigger.as_ref() else {
        return Ok(None);
    };
    if trigger.kind != TriggerKind::Event {
        return Ok(None);
    }
    let Some(oldest) = trigger.oldest_time() else {
        return Ok(None);
    };
    let oldest = oldest.map_err(|text| {
        format!(
            "the oldest event's time {:?} is not RFC 3339: no detection latency",
            terminal_text(&text)
        )
    })?;
    if oldest > stored_at {
        return Err(format!(
            "the oldest event's time {} is after the report was stored ({}): no detection latency",
            oldest.to_rfc3339(),
            stored_at.to_rfc3339()
        ));
    }
    let latency = (stored_at - oldest).num_milliseconds() as f64 / 1000.0;
    Ok(Some(json!({
        "_aws": {
            "Timestamp": stored_at.timestamp_millis(),
            "CloudWatchMetrics": [{
                "Namespace": namespace,
                "Dimensions": [["Environment", "Workspace"], []],
                "Metrics": [{"Name": "DetectionLatencySeconds", "Unit": "Seconds"}],
            }],
        },
        "Environment": report.workspace.environment.as_deref().unwrap_or("unknown"),
        "Workspace": report.workspace.name,
        "DetectionLatencySeconds": latency,
        "event": "detection_latency",
        "events": trigger.events.as_ref().map_or(0, Vec::len),
        "oldest_event_time": oldest.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "report_id": report.report_id,
    })))
}

/// The resource index write of one check, as an EMF line: metrics
/// `IndexItemsWritten` and `IndexWriteErrors` under dimension sets
/// `[Environment, Workspace]` and `[]`.
pub fn index_emf(
    namespace: &str,
    report: &Report,
    outcome: &crate::index::IndexOutcome,
    now: DateTime<Utc>,
) -> Value {
    json!({
        "_aws": {
            "Timestamp": now.timestamp_millis(),
            "CloudWatchMetrics": [{
                "Namespace": namespace,
                "Dimensions": [["Environment", "Workspace"], []],
                "Metrics": [
                    {"Name": "IndexItemsWritten", "Unit": "Count"},
                    {"Name": "IndexWriteErrors", "Unit": "Count"},
                ],
            }],
        },
        "Environment": report.workspace.environment.as_deref().unwrap_or("unknown"),
        "Workspace": report.workspace.name,
        "IndexItemsWritten": outcome.written,
        "IndexWriteErrors": outcome.errors,
        "event": "index_written",
        "skipped": outcome.skipped,
        "left_out": outcome.left_out,
        "error": outcome.first_error,
    })
}

/// One log record per critical finding, for the dashboard's Logs Insights
/// widget (`filter event = "critical_drift"`).
pub fn critical_items(report: &Report) -> Vec<Value> {
    report
        .drift
        .iter()
        .filter(|i| i.severity == Severity::Critical)
        .map(|i| {
            json!({
                "event": "critical_drift",
                "environment": report.workspace.environment,
                "workspace": report.workspace.name,
                "address": i.address,
                "resource_type": i.resource_type,
                "source": i.source,
                "actions": i.actions,
                "rule": i.rule,
                "report_id": report.report_id,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use drift_core::drift::{analyze, rules::RuleSet};
    use drift_core::plan::parse_slice;
    use drift_core::report::{build_report, ReportIdentity, RunFacts, WorkspaceInfo};

    const OPEN_SSH: &str = r#"{"format_version":"1.2","resource_drift":[
      {"address":"aws_security_group.app","mode":"managed","type":"aws_security_group","name":"app",
       "change":{"actions":["update"],
         "before":{"ingress":[]},
         "after":{"ingress":[{"cidr_blocks":["0.0.0.0/0"],"from_port":22,"to_port":22,"protocol":"tcp"}]}}},
      {"address":"aws_s3_bucket.logs","mode":"managed","type":"aws_s3_bucket","name":"logs",
       "change":{"actions":["update"],"before":{"tags":{"Owner":"a"}},"after":{"tags":{"Owner":"b"}}}}]}"#;

    fn report(plan: &str) -> Report {
        let doc = parse_slice("p.json", plan.as_bytes()).unwrap();
        build_report(
            ReportIdentity::new(),
            WorkspaceInfo {
                name: "network".into(),
                environment: Some("prod".into()),
                account_id: Some("111111111111".into()),
                region: Some("us-east-1".into()),
            },
            analyze(&[&doc], &RuleSet::embedded()),
            RunFacts::default(),
        )
    }

    #[test]
    fn keys_are_dated_and_stable() {
        let day = Utc.with_ymd_and_hms(2026, 3, 7, 23, 59, 0).unwrap();
        assert_eq!(
            report_key("prod", "network", day, "run-1"),
            "drift-reports/prod/network/2026/03/07/run-1.json"
        );
        assert_eq!(
            latest_key("prod", "network"),
            "drift-reports/prod/network/latest.json"
        );
        assert_eq!(
            managed_key("prod", "network", "run-1"),
            "managed/prod/network/run-1.json"
        );
    }

    #[test]
    fn critical_drift_alerts_with_filterable_attributes() {
        let r = report(OPEN_SSH);
        assert!(needs_alert(&r));
        let a = alert(&r, Some("s3://b/k.json"));
        assert_eq!(
            a.subject,
            "[drift-detection] prod/network: 1 critical finding"
        );
        assert!(a.subject.len() < 100);
        assert_eq!(a.attributes["severity"], "critical");
        assert_eq!(a.attributes["environment"], "prod");
        assert_eq!(a.attributes["workspace"], "network");
        let first = a.message.find("aws_security_group.app").unwrap();
        let second = a.message.find("aws_s3_bucket.logs").unwrap();
        assert!(first < second, "critical first:\n{}", a.message);
        assert!(a.message.contains("s3://b/k.json"));
    }

    #[test]
    fn the_alert_says_who_changed_it_with_the_clouds_text_escaped() {
        use drift_core::attribution::{
            parse_event, Attribution, IgnorePrincipals, UnknownReason, Window,
        };
        let mut r = report(OPEN_SSH);
        let event = parse_event(
            r#"{"eventName":"AuthorizeSecurityGroupIngress","eventTime":"2026-11-29T10:15:00Z",
               "eventID":"e1","readOnly":false,"userIdentity":{"type":"AssumedRole",
               "arn":"arn:aws:sts::111111111111:assumed-role/Admin/alice\u001b[2J\nFAKE LINE"}}"#,
            None,
        )
        .unwrap();
        let now = Utc.with_ymd_and_hms(2026, 11, 30, 0, 0, 0).unwrap();
        r.drift[0].changed_by = Some(drift_core::attribution::choose(
            &[event],
            &Window::new(None, now),
            &IgnorePrincipals::default(),
        ));
        r.drift[1].changed_by = Some(Attribution::unknown(UnknownReason::AccessDenied));
        let a = alert(&r, Some("s3://b/k.json"));
        assert!(
            a.message.contains(
                "  changed by arn:aws:sts::111111111111:assumed-role/Admin/alice\\u{1b}[2J\\nFAKE LINE (alice\\u{1b}[2J\\nFAKE LINE) at 2026-11-29T10:15:00Z via AuthorizeSecurityGroupIngress\n"
            ),
            "{}",
            a.message
        );
        assert!(!a.message.contains('\u{1b}'));
        assert!(!a.message.contains("\nFAKE LINE"));
        assert!(a
            .message
            .contains("  changed by: unknown (access_denied)\n"));
    }

    #[test]
    fn tag_only_drift_does_not_alert() {
        let r = report(
            r#"{"format_version":"1.2","resource_drift":[{"address":"aws_s3_bucket.logs","mode":"managed",
            "type":"aws_s3_bucket","name":"logs","change":{"actions":["update"],
            "before":{"tags":{"Owner":"a"}},"after":{"tags":{"Owner":"b"}}}}]}"#,
        );
        assert!(!needs_alert(&r));
    }

    #[test]
    fn long_names_keep_the_subject_under_100_characters() {
        let mut r = report(OPEN_SSH);
        r.workspace.name = "w".repeat(128);
        let a = alert(&r, None);
        assert!(a.subject.chars().count() < 100, "{}", a.subject);
        assert!(a.message.contains("not stored"));
    }

    #[test]
    fn emf_carries_the_five_metrics_and_dimensions() {
        let r = report(OPEN_SSH);
        let now = Utc.with_ymd_and_hms(2026, 11, 27, 6, 0, 0).unwrap();
        let doc = emf(
            "DriftDetection",
            &r,
            12.5,
            Some("drift-reports/x.json"),
            now,
        );
        let spec = &doc["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(spec["Namespace"], "DriftDetection");
        assert_eq!(spec["Dimensions"], json!([["Environment", "Workspace"]]));
        let names: Vec<&str> = spec["Metrics"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["Name"].as_str().unwrap())
            .collect();
        for name in names {
            assert!(doc.get(name).is_some(), "{name} has no value");
        }
        assert_eq!(doc["DriftedResources"], 2);
        assert_eq!(doc["CriticalDrift"], 1);
        assert_eq!(doc["DetectionErrors"], 0);
        assert_eq!(doc["DurationSeconds"], 12.5);
        assert_eq!(doc["Environment"], "prod");
        assert_eq!(doc["_aws"]["Timestamp"], now.timestamp_millis());
        assert_eq!(critical_items(&r).len(), 1);
    }

    #[test]
    fn an_alert_stays_within_what_sns_accepts_whatever_the_plan_holds() {
        let key = "k".repeat(1 << 20);
        let entries: Vec<String> = (0..30)
            .map(|i| format!(r#"{{"address":"aws_security_group.g[\"{key}{i}\"]","mode":"managed","type":"aws_security_group","name":"g","change":{{"actions":["delete"],"before":{{"id":"sg"}},"after":null}}}}"#))
            .collect();
        let plan = format!(
            r#"{{"format_version":"1.2","resource_drift":[{}]}}"#,
            entries.join(",")
        );
        let doc = parse_slice("p.json", plan.as_bytes()).unwrap();
        let report = build_report(
            ReportIdentity::new(),
            WorkspaceInfo {
                name: "huge".into(),
                environment: Some("prod".into()),
                ..WorkspaceInfo::default()
            },
            analyze(&[&doc], &RuleSet::embedded()),
            RunFacts::default(),
        );
        let alert = alert(&report, Some("s3://r/k.json"));
        assert!(
            alert.message.len() < 64 * 1024,
            "{} bytes",
            alert.message.len()
        );
        assert!(alert.message.contains("… and 20 more in the report"));
    }
}
