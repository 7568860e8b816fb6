//! The worker's input event and its answer.
//!
//! One invocation checks one workspace. The event is validated as a whole
//! before anything runs, and every fault is named in one message, so a bad
//! inventory entry reads as such in the orchestrator's run summary.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use drift_core::report::{SeverityCounts, Status, WorkspaceInfo};
pub use drift_core::workspace::{is_key_component, Source};
use drift_core::workspace::{phrase, EntryPoint, EventRun, WorkspaceEntry, AWS_REQUIRED};
use drift_runner::scan::PlanMode;

/// The invocation event, as the orchestrator (or `aws lambda invoke`) sends
/// it: the run's own fields and one workspace entry of the contract
/// ([`drift_core::workspace`], `schemas/worker-event.v1.json`), whose `name` the
/// event calls `workspace`, without the CLI's `dir` and `plan`.
#[derive(Debug, Clone)]
pub struct WorkerEvent {
    /// `run_id`, `run_started_at`, `workspace`, `notify`, `attribute`.
    pub run: EventRun,
    /// The workspace to check.
    pub entry: WorkspaceEntry,
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
    /// The plan's `-parallelism`, when the event sets it (else the worker's
    /// `TERRAFORM_PARALLELISM`, else terraform's default).
    pub parallelism: Option<u16>,
    /// Whether this invocation publishes its own alert.
    pub notify: bool,
    /// Whether to look up who made each drift in CloudTrail.
    pub attribute: bool,
    /// Why the check ran, copied into the report.
    pub trigger: Option<drift_core::report::Trigger>,
}

/// Reads an event's `run_started_at`: RFC 3339 with any offset, kept in UTC
/// (the report key's date is the UTC day).
pub(crate) fn parse_run_started_at(text: &str) -> Result<DateTime<Utc>, chrono::ParseError> {
    DateTime::parse_from_rfc3339(text).map(|t| t.with_timezone(&Utc))
}

impl WorkerEvent {
    /// Parses an event; a field that is unknown, missing or of the wrong
    /// type is an error here, every other fault is named by [`Self::validate`].
    pub fn from_value(value: serde_json::Value) -> Result<WorkerEvent, String> {
        // Serde quotes what it refused, and that may be the external id.
        let not_event = |e: serde_json::Error| {
            format!(
                "the event is not a worker event: {}",
                drift_core::error::without_input_values(&e.to_string())
            )
        };
        let fields = match value {
            serde_json::Value::Object(fields) => fields,
            other => {
                return Err(serde_json::from_value::<EventRun>(other)
                    .err()
                    .map_or_else(|| "the event is not an object".to_string(), not_event))
            }
        };
        if fields
            .keys()
            .any(|key| !EVENT_FIELDS.contains(&key.as_str()))
        {
            // The name is not quoted (a misplaced value may be a secret); the
            // list of the fields there are says what was meant.
            let expected: Vec<String> = EVENT_FIELDS.iter().map(|f| format!("`{f}`")).collect();
            return Err(format!(
                "the event is not a worker event: unknown field, expected one of {}",
                expected.join(", ")
            ));
        }
        let (run, mut entry): (serde_json::Map<_, _>, serde_json::Map<_, _>) = fields
            .into_iter()
            .partition(|(key, _)| RUN_FIELDS.contains(&key.as_str()));
        let run: EventRun = serde_json::from_value(run.into()).map_err(not_event)?;
        entry.insert("name".to_string(), run.workspace.clone().into());
        let entry: WorkspaceEntry = serde_json::from_value(entry.into()).map_err(not_event)?;
        let given = [
            entry.environment.is_some(),
            entry.account_id.is_some(),
            entry.region.is_some(),
            entry.source.is_some(),
        ];
        if let Some((field, _)) = AWS_REQUIRED.iter().zip(given).find(|(_, given)| !given) {
            return Err(format!(
                "the event is not a worker event: missing field `{field}`"
            ));
        }
        Ok(WorkerEvent { run, entry })
    }

    /// Checks every field and builds the [`Job`], naming every fault at
    /// once. `invoked_at` (when the invocation started) dates the report key
    /// of an event without its own `run_started_at`.
    pub fn validate(self, invoked_at: DateTime<Utc>) -> Result<Job, String> {
        let WorkerEvent { run, entry } = self;
        let mut faults = Vec::new();
        if !is_key_component(&run.run_id, 128) {
            faults.push(format!("`run_id` {:?} {}", run.run_id, phrase::RUN_ID));
        }
        faults.extend(entry.faults(EntryPoint::Aws, "workspace"));
        faults.extend(run.trigger.iter().flat_map(|t| t.faults()));
        let run_started_at = match run.run_started_at.as_deref() {
            None => invoked_at,
            Some(text) => parse_run_started_at(text).unwrap_or_else(|e| {
                faults.push(format!("`run_started_at` {text:?} is not RFC 3339: {e}"));
                invoked_at
            }),
        };
        let source = match entry.source.as_deref().map(Source::parse) {
            Some(Ok(source)) => Some(source),
            // Named by the faults above.
            Some(Err(_)) => None,
            None => {
                faults.push("`source` is missing".to_string());
                None
            }
        };
        let (Some(source), true) = (source, faults.is_empty()) else {
            return Err(format!("invalid worker event: {}", faults.join("; ")));
        };
        Ok(Job {
            run_id: run.run_id,
            run_started_at,
            workspace: WorkspaceInfo {
                name: entry.name,
                environment: entry.environment,
                account_id: entry.account_id,
                region: entry.region,
            },
            role: entry.role_arn.map(|arn| (arn, entry.external_id)),
            source,
            backend_config: entry.backend_config.unwrap_or_default(),
            terraform_workspace: entry.terraform_workspace,
            mode: entry
                .mode
                .as_deref()
                .and_then(PlanMode::from_name)
                .unwrap_or_default(),
            lock: entry.lock.unwrap_or(true),
            lock_timeout: entry.lock_timeout.unwrap_or_else(|| "60s".to_string()),
            parallelism: entry.parallelism,
            notify: run.notify.unwrap_or(true),
            attribute: run.attribute.unwrap_or(true),
            trigger: run.trigger,
        })
    }
}

/// The event's own fields.
const RUN_FIELDS: [&str; 6] = [
    "run_id",
    "run_started_at",
    "workspace",
    "notify",
    "attribute",
    "trigger",
];

/// Every field an event may have, in the order an error lists them: the
/// run's and the workspace entry's but `name`, `dir`, `plan` and `runner`.
pub const EVENT_FIELDS: [&str; 18] = [
    "run_id",
    "run_started_at",
    "workspace",
    "environment",
    "account_id",
    "region",
    "role_arn",
    "external_id",
    "source",
    "backend_config",
    "terraform_workspace",
    "mode",
    "lock",
    "lock_timeout",
    "parallelism",
    "notify",
    "attribute",
    "trigger",
];

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
    /// The key of the managed-resources sidecar (what the workspace's state
    /// claims); absent when the claims are unknown (a plan without prior
    /// state) or the sidecar could not be stored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub managed_key: Option<String>,
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
        assert_eq!(job.parallelism, None);
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
    fn parallelism_is_1_to_256_and_runner_is_not_an_event_field() {
        let with = |field: &str, value: serde_json::Value| {
            let mut event = event();
            event[field] = value;
            WorkerEvent::from_value(event).and_then(|e| e.validate(invoked_at()))
        };
        assert_eq!(with("parallelism", json!(4)).unwrap().parallelism, Some(4));
        assert_eq!(with("parallelism", json!(null)).unwrap().parallelism, None);
        for bad in [json!(0), json!(257)] {
            let err = with("parallelism", bad).unwrap_err();
            assert!(
                err.contains("`parallelism`") && err.contains("1 to 256"),
                "{err}"
            );
        }
        for bad in [json!("4"), json!(-1), json!(4.5), json!(70000)] {
            let err = with("parallelism", bad.clone()).unwrap_err();
            assert!(
                err.starts_with("the event is not a worker event"),
                "{bad}: {err}"
            );
        }
        // `runner` picks the lane; the event is the same on both.
        let err = with("runner", json!("codebuild")).unwrap_err();
        assert!(err.contains("unknown field"), "{err}");
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
    fn the_listed_fields_are_the_schema_s() {
        let schema = drift_core::workspace::worker_event_schema();
        let mut fields: Vec<&str> = schema["properties"]
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        let mut listed = EVENT_FIELDS.to_vec();
        fields.sort_unstable();
        listed.sort_unstable();
        assert_eq!(listed, fields);
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
