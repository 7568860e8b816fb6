//! The worker's input event and its answer.
//!
//! One invocation checks one workspace. The event is validated as a whole
//! before anything runs, and every fault is named in one message, so a bad
//! inventory entry reads as such in the orchestrator's run summary.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use drift_core::report::{SeverityCounts, Status, WorkspaceInfo};
use drift_runner::scan::PlanMode;

/// The invocation event, as the orchestrator (or `aws lambda invoke`) sends it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkerEvent {
    /// Identifies the whole run; the report key ends in it, so a retried
    /// invocation overwrites its own report instead of adding one.
    pub run_id: String,
    /// When the run started (RFC 3339); dates the report key. Default: when
    /// the invocation started.
    #[serde(default)]
    pub run_started_at: Option<String>,
    /// Workspace name.
    pub workspace: String,
    /// Environment, e.g. `prod`.
    pub environment: String,
    /// The AWS account the workspace manages (12 digits).
    pub account_id: String,
    /// The AWS region the workspace manages.
    pub region: String,
    /// A role in the target account to assume for everything terraform reads.
    #[serde(default)]
    pub role_arn: Option<String>,
    /// The `sts:ExternalId` that role requires. Never logged.
    #[serde(default)]
    pub external_id: Option<String>,
    /// `s3://bucket/key.zip` of the zipped configuration, or a local path
    /// (a zip file or a folder) for tests and layers.
    pub source: String,
    /// `-backend-config` pairs for `terraform init` (bucket, key, region, dynamodb_table...).
    #[serde(default)]
    pub backend_config: BTreeMap<String, String>,
    /// The `terraform workspace` to select, when not `default`.
    #[serde(default)]
    pub terraform_workspace: Option<String>,
    /// `plan` (default: one refresh, drift with its verdicts and pending
    /// changes), `refresh-only`, or `both` (deprecated: runs `plan`).
    #[serde(default)]
    pub mode: Option<String>,
    /// Take the state lock (default true). `false` passes `-lock=false`: only
    /// for state nothing else writes.
    #[serde(default)]
    pub lock: Option<bool>,
    /// Passed as `-lock-timeout` (default `60s`).
    #[serde(default)]
    pub lock_timeout: Option<String>,
    /// Publish this workspace's own SNS alert (default true). The
    /// orchestrator sends `false`: it sends one aggregated alert per run.
    #[serde(default)]
    pub notify: Option<bool>,
}

/// Where the workspace's configuration comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// An object in S3.
    S3 {
        /// Bucket.
        bucket: String,
        /// Key.
        key: String,
    },
    /// A zip file or folder on the function's own file system.
    Local(std::path::PathBuf),
}

impl Source {
    /// Parses `s3://bucket/key` or a local path.
    pub fn parse(text: &str) -> Result<Source, String> {
        if let Some(rest) = text.strip_prefix("s3://") {
            return match rest.split_once('/') {
                Some((bucket, key)) if !bucket.is_empty() && !key.is_empty() => Ok(Source::S3 {
                    bucket: bucket.to_string(),
                    key: key.to_string(),
                }),
                _ => Err(format!(
                    "`source` {text:?} must be s3://BUCKET/KEY with both parts"
                )),
            };
        }
        if text.contains("://") {
            return Err(format!(
                "`source` {text:?} is neither s3://BUCKET/KEY nor a local path"
            ));
        }
        if text.trim().is_empty() {
            return Err("`source` is empty".to_string());
        }
        Ok(Source::Local(text.into()))
    }
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::S3 { bucket, key } => write!(f, "s3://{bucket}/{key}"),
            Source::Local(path) => write!(f, "{}", path.display()),
        }
    }
}

/// A checked event: every field parsed into what the worker needs.
#[derive(Debug, Clone)]
pub struct Job {
    /// The run id (safe as a key component).
    pub run_id: String,
    /// Dates the report key.
    pub run_started_at: DateTime<Utc>,
    /// Who the report is about.
    pub workspace: WorkspaceInfo,
    /// The role to assume, with its external id.
    pub role: Option<(String, Option<String>)>,
    /// The configuration's location.
    pub source: Source,
    /// `-backend-config` pairs.
    pub backend_config: BTreeMap<String, String>,
    /// `TF_WORKSPACE`, if any.
    pub terraform_workspace: Option<String>,
    /// Which plans to run.
    pub mode: PlanMode,
    /// Whether terraform takes the state lock.
    pub lock: bool,
    /// `-lock-timeout`.
    pub lock_timeout: String,
    /// Whether this invocation publishes its own alert.
    pub notify: bool,
}

/// Whether `text` may stand as one component of an S3 key or file name:
/// letters, digits, `-`, `_`, `.`, not only dots, at most `max` long.
pub(crate) fn is_key_component(text: &str, max: usize) -> bool {
    !text.is_empty()
        && text.len() <= max
        && text.chars().any(|c| c != '.')
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// Reads an event's `run_started_at`: RFC 3339 with any offset, kept in UTC
/// (the report key's date is the UTC day).
pub(crate) fn parse_run_started_at(text: &str) -> Result<DateTime<Utc>, chrono::ParseError> {
    DateTime::parse_from_rfc3339(text).map(|t| t.with_timezone(&Utc))
}

fn is_region(text: &str) -> bool {
    // e.g. us-east-1, eu-central-1, us-gov-west-1, ap-southeast-3
    let parts: Vec<&str> = text.split('-').collect();
    parts.len() >= 3
        && parts[..parts.len() - 1]
            .iter()
            .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_lowercase()))
        && parts[parts.len() - 1].parse::<u8>().is_ok()
}

fn is_role_arn(text: &str) -> bool {
    // arn:PARTITION:iam::ACCOUNT:role/PATH/NAME
    let parts: Vec<&str> = text.splitn(6, ':').collect();
    parts.len() == 6
        && parts[0] == "arn"
        && parts[1].starts_with("aws")
        && parts[2] == "iam"
        && parts[3].is_empty()
        && parts[4].len() == 12
        && parts[4].chars().all(|c| c.is_ascii_digit())
        && parts[5].starts_with("role/")
        && parts[5].len() > "role/".len()
}

impl WorkerEvent {
    /// Parses an event, naming every fault at once.
    pub fn from_value(value: serde_json::Value) -> Result<WorkerEvent, String> {
        // Serde quotes what it refused, and that may be the external id.
        serde_json::from_value(value).map_err(|e| {
            format!(
                "the event is not a worker event: {}",
                drift_core::error::without_input_values(&e.to_string())
            )
        })
    }

    /// Checks every field and builds the [`Job`]. `invoked_at` (when the
    /// invocation started) dates the report key of an event without its own
    /// `run_started_at`.
    pub fn validate(self, invoked_at: DateTime<Utc>) -> Result<Job, String> {
        let mut faults = Vec::new();
        if !is_key_component(&self.run_id, 128) {
            faults.push(format!(
                "`run_id` {:?} must be 1-128 letters, digits, '-', '_' or '.'",
                self.run_id
            ));
        }
        if !is_key_component(&self.workspace, 128) {
            faults.push(format!(
                "`workspace` {:?} must be 1-128 letters, digits, '-', '_' or '.'",
                self.workspace
            ));
        }
        if !is_key_component(&self.environment, 64) {
            faults.push(format!(
                "`environment` {:?} must be 1-64 letters, digits, '-', '_' or '.'",
                self.environment
            ));
        }
        if self.account_id.len() != 12 || !self.account_id.chars().all(|c| c.is_ascii_digit()) {
            faults.push(format!(
                "`account_id` {:?} must be 12 digits",
                self.account_id
            ));
        }
        if !is_region(&self.region) {
            faults.push(format!(
                "`region` {:?} is not an AWS region name such as us-east-1",
                self.region
            ));
        }
        let role = match (self.role_arn, self.external_id) {
            (Some(arn), external_id) => {
                if !is_role_arn(&arn) {
                    faults.push(format!(
                        "`role_arn` {arn:?} is not an IAM role ARN (arn:aws:iam::ACCOUNT:role/NAME)"
                    ));
                }
                if external_id.as_deref().is_some_and(|id| {
                    id.len() < 2 || id.len() > 1224 || id.chars().any(char::is_control)
                }) {
                    // The value itself is a shared secret: never echo it.
                    faults.push("`external_id` must be 2-1224 printable characters".to_string());
                }
                Some((arn, external_id))
            }
            (None, Some(_)) => {
                faults.push("`external_id` is given without `role_arn`".to_string());
                None
            }
            (None, None) => None,
        };
        let source = Source::parse(&self.source).unwrap_or_else(|e| {
            faults.push(e);
            Source::Local(Default::default())
        });
        let mode = match self.mode.as_deref() {
            None | Some("plan") => PlanMode::Plan,
            Some("both") => PlanMode::Both,
            Some("refresh-only") => PlanMode::RefreshOnly,
            Some(other) => {
                faults.push(format!(
                    "`mode` {other:?} must be one of plan, refresh-only, both"
                ));
                PlanMode::Plan
            }
        };
        for key in self.backend_config.keys() {
            if key.is_empty() || !key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                faults.push(format!(
                    "`backend_config` key {key:?} must be letters, digits and '_'"
                ));
            }
        }
        if let Some(ws) = &self.terraform_workspace {
            if !is_key_component(ws, 90) {
                faults.push(format!(
                    "`terraform_workspace` {ws:?} must be letters, digits, '-', '_' or '.'"
                ));
            }
        }
        let lock_timeout = self.lock_timeout.unwrap_or_else(|| "60s".to_string());
        if !is_duration(&lock_timeout) {
            faults.push(format!(
                "`lock_timeout` {lock_timeout:?} must be a duration such as 60s or 5m"
            ));
        }
        let run_started_at = match self.run_started_at.as_deref() {
            None => invoked_at,
            Some(text) => parse_run_started_at(text).unwrap_or_else(|e| {
                faults.push(format!("`run_started_at` {text:?} is not RFC 3339: {e}"));
                invoked_at
            }),
        };
        if !faults.is_empty() {
            return Err(format!("invalid worker event: {}", faults.join("; ")));
        }
        Ok(Job {
            run_id: self.run_id,
            run_started_at,
            workspace: WorkspaceInfo {
                name: self.workspace,
                environment: Some(self.environment),
                account_id: Some(self.account_id),
                region: Some(self.region),
            },
            role,
            source,
            backend_config: self.backend_config,
            terraform_workspace: self.terraform_workspace,
            mode,
            lock: self.lock.unwrap_or(true),
            lock_timeout,
            notify: self.notify.unwrap_or(true),
        })
    }
}

fn is_duration(text: &str) -> bool {
    let digits = text.trim_end_matches(['s', 'm', 'h']);
    digits.len() < text.len() && !digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit())
}

/// Counts the orchestrator aggregates.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResponseSummary {
    /// Managed resources, when known.
    pub total_resources: Option<usize>,
    /// Resources changed outside Terraform.
    pub drifted_resources: usize,
    /// Resources with pending configuration changes.
    pub pending_changes: usize,
    /// Findings per severity.
    pub by_severity: SeverityCounts,
}

/// The worker's answer to a completed check.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkerResponse {
    /// The run id from the event.
    pub run_id: String,
    /// Workspace name.
    pub workspace: String,
    /// Environment.
    pub environment: String,
    /// `clean`, `drift` or `pending_changes` (failures are function errors).
    pub status: Status,
    /// The dated report's key.
    pub report_key: String,
    /// `s3://bucket/key` of the dated report.
    pub report_uri: String,
    /// Totals.
    pub summary: ResponseSummary,
    /// Wall time of the whole invocation.
    pub duration_seconds: f64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use serde_json::json;

    /// A wall clock far from any date the events carry.
    fn invoked_at() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2031, 2, 3, 4, 5, 6).unwrap()
    }

    fn event() -> serde_json::Value {
        json!({
            "run_id": "run-2026-11-27T06",
            "workspace": "network",
            "environment": "prod",
            "account_id": "111111111111",
            "region": "us-east-1",
            "role_arn": "arn:aws:iam::111111111111:role/drift-detection-read",
            "external_id": "s3cr3t-external",
            "source": "s3://bundles/network.zip",
            "backend_config": {"bucket": "state", "key": "network/terraform.tfstate"},
        })
    }

    #[test]
    fn a_full_event_validates() {
        let job = WorkerEvent::from_value(event())
            .unwrap()
            .validate(invoked_at())
            .unwrap();
        assert_eq!(job.workspace.name, "network");
        assert_eq!(job.mode, PlanMode::Plan);
        assert!(job.lock);
        assert_eq!(
            job.source,
            Source::S3 {
                bucket: "bundles".into(),
                key: "network.zip".into()
            }
        );
    }

    #[test]
    fn the_run_start_dates_the_job_in_utc_and_the_invocation_stands_in_for_it() {
        let mut late = event();
        late["run_started_at"] = json!("2026-11-27T23:30:00-02:00");
        let job = WorkerEvent::from_value(late)
            .unwrap()
            .validate(invoked_at())
            .unwrap();
        assert_eq!(
            job.run_started_at,
            Utc.with_ymd_and_hms(2026, 11, 28, 1, 30, 0).unwrap()
        );

        let job = WorkerEvent::from_value(event())
            .unwrap()
            .validate(invoked_at())
            .unwrap();
        assert_eq!(job.run_started_at, invoked_at());
    }

    #[test]
    fn every_fault_is_named_and_the_external_id_never_echoed() {
        let mut bad = event();
        bad["account_id"] = json!("12345");
        bad["region"] = json!("mars");
        bad["run_id"] = json!("../../etc");
        bad["mode"] = json!("apply");
        bad["external_id"] = json!("x");
        let err = WorkerEvent::from_value(bad)
            .unwrap()
            .validate(invoked_at())
            .unwrap_err();
        for field in ["account_id", "region", "run_id", "mode", "external_id"] {
            assert!(err.contains(field), "{field} missing from: {err}");
        }
        assert!(!err.contains("\"x\""), "{err}");

        // Of the wrong type, the value never reaches validation: serde's
        // own message must not quote it either.
        for external_id in [json!(987654321), json!(["987654321"]), json!(9876.54321)] {
            let mut bad = event();
            bad["external_id"] = external_id;
            let err = WorkerEvent::from_value(bad).unwrap_err();
            assert!(
                err.contains("invalid type")
                    && !err.contains("987654321")
                    && !err.contains("9876.54321"),
                "{err}"
            );
        }
        let mut bad = event();
        bad["987654321"] = json!(1);
        let err = WorkerEvent::from_value(bad).unwrap_err();
        assert!(
            err.contains("unknown field") && !err.contains("987654321"),
            "{err}"
        );
    }

    #[test]
    fn missing_and_unknown_fields_are_errors() {
        let mut bad = event();
        bad.as_object_mut().unwrap().remove("workspace");
        assert!(WorkerEvent::from_value(bad)
            .unwrap_err()
            .contains("missing field `workspace`"));
        let mut typo = event();
        typo["regoin"] = json!("us-east-1");
        // The name is not quoted (a misplaced value may be a secret); the
        // list of the fields there are says what was meant.
        assert!(WorkerEvent::from_value(typo)
            .unwrap_err()
            .contains("unknown field, expected one of `run_id`"));
    }

    #[test]
    fn sources_parse() {
        assert!(Source::parse("s3://bucket").is_err());
        assert!(Source::parse("https://example.com/x.zip").is_err());
        assert_eq!(
            Source::parse("/opt/examples/ws.zip").unwrap(),
            Source::Local("/opt/examples/ws.zip".into())
        );
    }

    #[test]
    fn external_id_without_role_is_refused() {
        let mut bad = event();
        bad.as_object_mut().unwrap().remove("role_arn");
        let err = WorkerEvent::from_value(bad)
            .unwrap()
            .validate(invoked_at())
            .unwrap_err();
        assert!(err.contains("without `role_arn`"), "{err}");
    }
}
