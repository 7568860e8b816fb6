//! One invocation: event in; report in S3, alert in SNS, metrics in the log;
//! a small summary (or a typed function error) out.
//!
//! Whatever fails after the event names a workspace still ends in a stored
//! `error` or `timeout` report and an alert, before the function error is
//! returned, so Lambda's retries and on-failure destination apply and no
//! finding is lost. When S3 itself cannot be reached the whole report goes
//! to the log instead.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::aws::{Aws, TemporaryCredentials};
use crate::bundle::{self, Limits};
use crate::cloud::Cloud;
use crate::config::WorkerConfig;
use crate::event::{
    is_key_component, parse_run_started_at, Job, ResponseSummary, Source, WorkerEvent,
    WorkerResponse,
};
use crate::publish;
use drift_core::attribution::{IgnorePrincipals, UnknownReason, Window};
use drift_core::drift::rules::RuleSet;
use drift_core::inventory::{Input, Workspace};
use drift_core::plan::{Diagnostic, DiagnosticSeverity};
use drift_core::report::render::to_json;
use drift_core::report::{Report, Status, WorkspaceInfo};
use drift_core::unmanaged::{ClaimsUnknown, ManagedResource, ManagedResources, WorkspaceRef};
use drift_runner::attribution::{self, Attributor};
use drift_runner::scan::{self, Checked, ScanOptions};
use drift_runner::terraform::Terraform;

/// Time kept back from the Lambda deadline to store the report and alert
/// after terraform is stopped.
pub const DEADLINE_RESERVE: Duration = Duration::from_secs(20);

/// Why an invocation ends in a function error. The `error_type` names are a
/// contract with the orchestrator: `DriftCheckFailed`, `DriftCheckTimedOut`
/// and `InvalidEvent` are final (a report says why); `ReportNotStored` and
/// `AlertNotSent` are worth a retry.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WorkerError {
    /// The event is not a valid worker event.
    #[error("{0}")]
    InvalidEvent(String),
    /// The check could not finish; the report says why.
    #[error("{message}")]
    CheckFailed {
        /// One line, with the report's location.
        message: String,
    },
    /// Terraform was stopped at the deadline; the report keeps what was found.
    #[error("{message}")]
    TimedOut {
        /// One line, with the report's location.
        message: String,
    },
    /// The report could not be written to S3 (it is in the log).
    #[error("{0}")]
    ReportNotStored(String),
    /// The report is stored but its alert could not be published.
    #[error("{0}")]
    AlertNotSent(String),
}

impl WorkerError {
    /// The Lambda `errorType`.
    pub fn error_type(&self) -> &'static str {
        match self {
            WorkerError::InvalidEvent(_) => "InvalidEvent",
            WorkerError::CheckFailed { .. } => "DriftCheckFailed",
            WorkerError::TimedOut { .. } => "DriftCheckTimedOut",
            WorkerError::ReportNotStored(_) => "ReportNotStored",
            WorkerError::AlertNotSent(_) => "AlertNotSent",
        }
    }
}

/// Reads the wall clock: [`Utc::now`] in Lambda, a fixed time in tests.
pub type Clock = fn() -> DateTime<Utc>;

/// Everything an invocation needs, built once per container; `C` is the
/// cloud it talks to ([`Aws`] in Lambda).
#[derive(Debug)]
pub struct Worker<C = Aws> {
    /// Settings from the environment.
    pub config: WorkerConfig,
    /// S3, SNS and STS.
    pub cloud: C,
    /// Severity and ignore rules.
    pub rules: RuleSet,
    /// Where scratch folders go (`/tmp` in Lambda).
    pub scratch_root: PathBuf,
    /// Where EMF lines and structured records go.
    pub records: Arc<dyn RecordSink>,
    /// The wall clock. It dates the report key of an event without a usable
    /// `run_started_at`, and the EMF lines.
    pub clock: Clock,
}

/// Where the worker's own JSON log lines go (EMF metrics, critical items,
/// unsaved reports): [`Stdout`] in Lambda.
pub trait RecordSink: std::fmt::Debug + Send + Sync {
    /// Writes one record as one line.
    fn write(&self, record: &Value);
}

/// One line per record on stdout, where Lambda's log capture finds EMF.
#[derive(Debug, Clone, Copy, Default)]
pub struct Stdout;

impl RecordSink for Stdout {
    fn write(&self, record: &Value) {
        println!("{record}");
    }
}

impl<C: Cloud> Worker<C> {
    /// A worker with the embedded rules, the system temporary folder and
    /// records on stdout.
    pub fn new(config: WorkerConfig, cloud: C) -> Self {
        Worker {
            config,
            cloud,
            rules: RuleSet::embedded(),
            scratch_root: std::env::temp_dir(),
            records: Arc::new(Stdout),
            clock: Utc::now,
        }
    }

    /// Handles one event; `deadline` is when Lambda will stop the function.
    pub async fn handle(
        &self,
        event: Value,
        deadline: Instant,
    ) -> Result<WorkerResponse, WorkerError> {
        let started = Instant::now();
        let invoked_at = (self.clock)();
        let identity = Identity::from_event(&event);
        let job = match WorkerEvent::from_value(event).and_then(|e| e.validate(invoked_at)) {
            Ok(job) => job,
            Err(message) => {
                tracing::error!(error = %message, "invalid event");
                if let Some(identity) = identity {
                    let report = scan::error_report(
                        identity.info.clone(),
                        Diagnostic::error(message.clone(), None),
                    );
                    // The event's own run_id may be the fault; then only the
                    // log and the function error carry the message.
                    if identity.run_id.is_some() {
                        let _ = self
                            .deliver(
                                &report,
                                &identity.to_job_key(invoked_at),
                                identity.notify,
                                started,
                            )
                            .await;
                    }
                }
                return Err(WorkerError::InvalidEvent(message));
            }
        };
        tracing::info!(
            run_id = %job.run_id,
            workspace = %job.workspace.name,
            environment = job.workspace.environment.as_deref().unwrap_or_default(),
            source = %job.source,
            "checking workspace"
        );
        let (mut report, claims) = self.check(&job, deadline).await;
        report.trigger = job.trigger.clone();
        let key = JobKey::of(&job);
        let location = self.deliver(&report, &key, job.notify, started).await?;
        let managed_key = match (&report.status, claims) {
            (Status::Error | Status::Timeout, _) => None,
            (_, Ok(resources)) => {
                let (key, document) = self.store_claims(&job, resources).await;
                if let Some(table) = &self.config.index_table {
                    self.write_index(table, &report, &document).await;
                }
                key
            }
            (_, Err(reason)) => {
                tracing::info!(reason = %reason, "no managed-resources sidecar");
                None
            }
        };
        let message = |what: &str| {
            let first_error = report
                .errors
                .iter()
                .find(|e| e.severity == DiagnosticSeverity::Error)
                .map(|e| e.summary.as_str())
                .unwrap_or("no diagnostic");
            format!(
                "{what} for workspace {} ({}): {first_error}; report at {location}",
                job.workspace.name,
                job.workspace.environment.as_deref().unwrap_or_default()
            )
        };
        match report.status {
            Status::Error => Err(WorkerError::CheckFailed {
                message: message("drift check failed"),
            }),
            Status::Timeout => Err(WorkerError::TimedOut {
                message: message("drift check timed out"),
            }),
            status => Ok(WorkerResponse {
                run_id: job.run_id.clone(),
                workspace: job.workspace.name.clone(),
                environment: job.workspace.environment.clone().unwrap_or_default(),
                status,
                report_key: key.dated.clone(),
                report_uri: location,
                managed_key,
                summary: ResponseSummary {
                    total_resources: report.summary.total_resources,
                    drifted_resources: report.summary.drifted_resources,
                    pending_changes: report.summary.pending_changes,
                    by_severity: report.summary.by_severity,
                },
                duration_seconds: started.elapsed().as_secs_f64(),
            }),
        }
    }

    /// Stores what the workspace's state claims as the managed-resources
    /// sidecar and returns its key. A failure is logged and costs only the
    /// sidecar: the check's report stands, and the run treats the workspace
    /// as one whose claims are unknown.
    async fn store_claims(
        &self,
        job: &Job,
        resources: Vec<ManagedResource>,
    ) -> (Option<String>, ManagedResources) {
        let environment = job.workspace.environment.as_deref().unwrap_or_default();
        let key = publish::managed_key(environment, &job.workspace.name, &job.run_id);
        let document = ManagedResources::new(
            Some(job.run_id.clone()),
            (self.clock)().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            WorkspaceRef {
                name: job.workspace.name.clone(),
                environment: job.workspace.environment.clone(),
                account_id: job.workspace.account_id.clone().unwrap_or_default(),
                region: job.workspace.region.clone().unwrap_or_default(),
            },
            resources,
        );
        let body = match serde_json::to_vec(&document) {
            Ok(body) => body,
            Err(e) => {
                tracing::error!(error = %e, "managed-resources sidecar not serialized");
                return (None, document);
            }
        };
        let stored = match self
            .cloud
            .put_json(
                &self.config.report_bucket,
                &key,
                body,
                self.config.report_kms_key_arn.as_deref(),
            )
            .await
        {
            Ok(()) => {
                tracing::info!(managed_key = %key, resources = document.resources.len(), "managed resources stored");
                (Some(key), document)
            }
            Err(e) => {
                tracing::error!(error = %e, managed_key = %key, "managed-resources sidecar not stored; the check's report stands");
                (None, document)
            }
        };
        stored
    }

    /// Writes the workspace's resource-index items ([`crate::index`]) and
    /// their EMF line. A failure is logged and counted, never the check's.
    async fn write_index(&self, table: &str, report: &Report, claims: &ManagedResources) {
        let run_id = claims.run_id.as_deref().unwrap_or_default();
        let outcome = crate::index::write(
            &self.cloud,
            table,
            self.config.index_ttl_hours,
            claims,
            run_id,
            (self.clock)(),
        )
        .await;
        if outcome.left_out > 0 {
            tracing::warn!(
                left_out = outcome.left_out,
                max = drift_core::index::MAX_ITEMS,
                "the workspace claims more identifiers than one check indexes; the first were written"
            );
        }
        match (&outcome.first_error, outcome.skipped) {
            (Some(e), _) => {
                tracing::error!(error = %e, errors = outcome.errors, written = outcome.written, "resource index not fully written; the check stands")
            }
            (None, true) => tracing::info!("resource index unchanged and fresh: not rewritten"),
            (None, false) => tracing::info!(written = outcome.written, "resource index written"),
        }
        self.records.write(&publish::index_emf(
            &self.config.metrics_namespace,
            report,
            &outcome,
            (self.clock)(),
        ));
    }

    /// Fetches the configuration, runs terraform and analyzes: always a
    /// report, with what the plan's prior state claims when it had one.
    async fn check(
        &self,
        job: &Job,
        deadline: Instant,
    ) -> (Report, Result<Vec<ManagedResource>, ClaimsUnknown>) {
        let checked = self.check_report(job, deadline).await;
        (checked.report, checked.claims)
    }

    async fn check_report(&self, job: &Job, deadline: Instant) -> Checked {
        // A failure before terraform ran knows nothing of the state.
        let fail = |summary: String, detail: Option<String>| Checked {
            report: scan::error_report(job.workspace.clone(), Diagnostic::error(summary, detail)),
            claims: Err(ClaimsUnknown::NoState),
        };
        let scratch = match tempfile::Builder::new()
            .prefix("drift-detection-worker-")
            .tempdir_in(&self.scratch_root)
        {
            Ok(dir) => dir,
            Err(e) => return fail(format!("cannot create a scratch folder: {e}"), None),
        };

        let credentials = match &job.role {
            Some((role_arn, external_id)) => {
                let session = format!("drift-detection-{}", job.run_id);
                let session: String = session.chars().take(64).collect();
                match self
                    .cloud
                    .assume_role(role_arn, external_id.as_deref(), &session)
                    .await
                {
                    Ok(credentials) => Some(credentials),
                    Err(e) => {
                        let summary = match e.code.as_deref() {
                            Some(code) => format!("cannot assume {role_arn}: {code}"),
                            None => format!("cannot assume {role_arn}"),
                        };
                        return fail(
                            summary,
                            Some(format!(
                                "{e}. Check that the role exists, trusts the worker role, and that the inventory's external_id matches its sts:ExternalId condition."
                            )),
                        );
                    }
                }
            }
            None => None,
        };

        let workdir = scratch.path().join("workspace");
        if let Err(e) = std::fs::create_dir_all(&workdir) {
            return fail(format!("cannot create {}: {e}", workdir.display()), None);
        }
        if let Err((summary, detail)) = self.fetch(&job.source, &workdir).await {
            return fail(summary, detail);
        }

        let remaining = deadline
            .saturating_duration_since(Instant::now())
            .saturating_sub(DEADLINE_RESERVE);
        let options = ScanOptions {
            mode: job.mode,
            timeout: remaining,
            lock: job.lock,
            lock_timeout: job.lock_timeout.clone(),
            parallelism: job.parallelism.or(self.config.terraform_parallelism),
            max_input_bytes: self.config.max_input_bytes,
            ..ScanOptions::default()
        };
        let terraform = self.terraform(job, scratch.path(), credentials.as_ref());
        let workspace = Workspace {
            info: job.workspace.clone(),
            input: Input::Directory(workdir),
            terraform_workspace: job.terraform_workspace.clone(),
            backend_config: job.backend_config.clone(),
            settings: Default::default(),
        };
        let mut checked =
            scan::check_workspace_with_claims(&workspace, Ok(&terraform), &self.rules, &options)
                .await;
        if job.attribute && self.config.attribution && checked.report.summary.drifted_resources > 0
        {
            self.attribute(job, &mut checked.report, credentials.as_ref(), deadline)
                .await;
        }
        checked
    }

    /// Fills the drift findings' `changed_by` from CloudTrail, through the
    /// drift role, over the window since the workspace's last clean check
    /// (its `latest.json`, read before this check's replaces it), within
    /// what is left before the deadline's reserve (at most
    /// [`attribution::DEFAULT_BUDGET`]).
    async fn attribute(
        &self,
        job: &Job,
        report: &mut Report,
        credentials: Option<&TemporaryCredentials>,
        deadline: Instant,
    ) {
        let budget_end = deadline
            .checked_sub(DEADLINE_RESERVE)
            .unwrap_or_else(Instant::now)
            .min(Instant::now() + attribution::DEFAULT_BUDGET);
        if budget_end <= Instant::now() {
            // A check stopped at the deadline: no call may eat the reserve.
            attribution::mark_all(report, UnknownReason::SkippedTimeBudget);
            return;
        }
        let latest = JobKey::of(job).latest;
        let last_clean = match self
            .cloud
            .get_object(&self.config.report_bucket, &latest)
            .await
        {
            Ok(bytes) => attribution::last_clean_check(&bytes),
            Err(e) => {
                if e.code.as_deref() != Some("NoSuchKey") {
                    tracing::warn!(error = %e, "previous report not read; attribution looks back 90 days");
                }
                None
            }
        };
        let window = Window::new(last_clean, (self.clock)());
        let mut ignore = IgnorePrincipals::new(self.rules.attribution_ignore().iter().cloned());
        ignore.extend(self.config.attribution_ignore_principals.iter().cloned());
        if let Some((role_arn, _)) = &job.role {
            // The drift role's own calls (terraform's refresh) are not drift.
            ignore.extend([role_arn.clone()]);
        }
        let attributor = Attributor::new(self.cloud.trail(credentials));
        attributor
            .attribute(
                report,
                &window,
                &ignore,
                tokio::time::Instant::from_std(budget_end),
            )
            .await;
    }

    /// Puts the configuration into `workdir`.
    async fn fetch(&self, source: &Source, workdir: &Path) -> Result<(), (String, Option<String>)> {
        let unpack = |bytes: &[u8]| {
            bundle::unpack_zip(bytes, workdir, Limits::default())
                .map(|_| ())
                .map_err(|e| (e.to_string(), Some(format!("source: {source}"))))
        };
        match source {
            Source::S3 { bucket, key } => {
                let bytes = self.cloud.get_object(bucket, key).await.map_err(|e| {
                    let hint = match e.code.as_deref() {
                        Some("NoSuchKey") => "the workspace bundle does not exist: check the inventory's `source` and that the bundle was uploaded",
                        Some("NoSuchBucket") => "the bundle's bucket does not exist: check the inventory's `source`",
                        Some("AccessDenied") => "the worker role may not read this bundle: add it to the stack's workspace_bundle_arns",
                        _ => "the workspace bundle could not be read",
                    };
                    (format!("{hint} ({source})"), Some(e.to_string()))
                })?;
                unpack(&bytes)
            }
            Source::Local(path) if path.is_dir() => bundle::copy_dir(path, workdir)
                .map(|_| ())
                .map_err(|e| (e.to_string(), None)),
            Source::Local(path) => match std::fs::read(path) {
                Ok(bytes) => unpack(&bytes),
                Err(e) => Err((
                    format!(
                        "the workspace bundle {} cannot be read: {e}",
                        path.display()
                    ),
                    None,
                )),
            },
        }
    }

    /// The terraform binary with the environment it runs in here.
    fn terraform(
        &self,
        job: &Job,
        scratch: &Path,
        credentials: Option<&TemporaryCredentials>,
    ) -> Terraform {
        let region = job.workspace.region.clone().unwrap_or_default();
        // Lambda's only writable folder is /tmp: terraform's home and the
        // provider cache (shared by warm invocations) live there.
        let cache = self.scratch_root.join("terraform-plugin-cache");
        let _ = std::fs::create_dir_all(&cache);
        let mut tf = Terraform::new(&self.config.terraform_path)
            .with_env("HOME", scratch)
            .with_env("TF_PLUGIN_CACHE_DIR", cache)
            .with_env("AWS_REGION", &region)
            .with_env("AWS_DEFAULT_REGION", &region);
        if let Some(c) = credentials {
            // Everything terraform reads (provider and backend) goes through
            // the target account's role.
            tf = tf
                .with_env("AWS_ACCESS_KEY_ID", &c.access_key_id)
                .with_env("AWS_SECRET_ACCESS_KEY", &c.secret_access_key)
                .with_env("AWS_SESSION_TOKEN", &c.session_token);
        }
        tf
    }

    /// Stores the report (dated key, then `latest.json`), alerts when it
    /// warrants it and `notify` allows, and logs its metrics. Returns the
    /// report's `s3://` URI.
    async fn deliver(
        &self,
        report: &Report,
        key: &JobKey,
        notify: bool,
        started: Instant,
    ) -> Result<String, WorkerError> {
        let bucket = &self.config.report_bucket;
        let body = to_json(report).into_bytes();
        let kms = self.config.report_kms_key_arn.as_deref();
        let stored = match self
            .cloud
            .put_json(bucket, &key.dated, body.clone(), kms)
            .await
        {
            Ok(()) => self.cloud.put_json(bucket, &key.latest, body, kms).await,
            Err(e) => Err(e),
        };
        let location = format!("s3://{bucket}/{}", key.dated);
        let duration = started.elapsed().as_secs_f64();
        if let Err(e) = stored {
            // Keep the findings: the whole report goes to the log.
            tracing::error!(error = %e, "report not stored; it follows in the log");
            self.records.write(&serde_json::json!({
                "event": "report_not_stored",
                "error": e.to_string(),
                "report": report,
            }));
            self.emit_metrics(report, duration, None);
            if !notify {
                return Err(WorkerError::ReportNotStored(format!(
                    "the report of {} could not be stored: {e}; it is in the log",
                    report.workspace.name
                )));
            }
            let alert = publish::alert(report, None);
            let _ = self
                .cloud
                .publish(
                    &self.config.sns_topic_arn,
                    &alert.subject,
                    &alert.message,
                    &alert.attributes,
                )
                .await
                .map_err(|e| tracing::error!(error = %e, "alert not sent either"));
            return Err(WorkerError::ReportNotStored(format!(
                "the report of {} could not be stored: {e}; it is in the log",
                report.workspace.name
            )));
        }
        tracing::info!(report_key = %key.dated, status = report.status.as_str(), "report stored");
        self.emit_metrics(report, duration, Some(&key.dated));
        match publish::latency_emf(&self.config.metrics_namespace, report, (self.clock)()) {
            // Its own line: the check's metrics keep their dimensions.
            Ok(Some(line)) => self.records.write(&line),
            Ok(None) => {}
            Err(why) => tracing::warn!(reason = %why, "no detection latency"),
        }
        if notify && publish::needs_alert(report) {
            let alert = publish::alert(report, Some(&location));
            match self
                .cloud
                .publish(
                    &self.config.sns_topic_arn,
                    &alert.subject,
                    &alert.message,
                    &alert.attributes,
                )
                .await
            {
                Ok(id) => {
                    tracing::info!(message_id = %id, subject = %alert.subject, "alert published")
                }
                Err(e) => {
                    tracing::error!(error = %e, "alert not sent");
                    return Err(WorkerError::AlertNotSent(format!(
                        "the report is stored at {location} but its alert could not be sent: {e}"
                    )));
                }
            }
        }
        Ok(location)
    }

    fn emit_metrics(&self, report: &Report, duration: f64, key: Option<&str>) {
        let line = publish::emf(
            &self.config.metrics_namespace,
            report,
            duration,
            key,
            (self.clock)(),
        );
        // EMF must be a log line of its own, exactly this JSON object.
        self.records.write(&line);
        for item in publish::critical_items(report) {
            self.records.write(&item);
        }
    }
}

/// The S3 keys of one job's report.
#[derive(Debug, Clone)]
struct JobKey {
    dated: String,
    latest: String,
}

impl JobKey {
    fn of(job: &Job) -> JobKey {
        let environment = job.workspace.environment.as_deref().unwrap_or_default();
        JobKey {
            dated: publish::report_key(
                environment,
                &job.workspace.name,
                job.run_started_at,
                &job.run_id,
            ),
            latest: publish::latest_key(environment, &job.workspace.name),
        }
    }
}

/// What can be salvaged from an invalid event to file its error report.
struct Identity {
    info: WorkspaceInfo,
    run_id: Option<String>,
    /// Dates the key as it dates a valid event's, so that the retry of a run
    /// whose event was fixed overwrites this report instead of adding one.
    run_started_at: Option<DateTime<Utc>>,
    notify: bool,
}

impl Identity {
    fn from_event(event: &Value) -> Option<Identity> {
        let text = |field: &str| event.get(field).and_then(Value::as_str).map(str::to_string);
        let safe = |t: &String| is_key_component(t, 128);
        let name = text("workspace").filter(safe)?;
        let environment = text("environment").filter(safe)?;
        Some(Identity {
            info: WorkspaceInfo {
                name,
                environment: Some(environment),
                account_id: text("account_id"),
                region: text("region"),
            },
            run_id: text("run_id").filter(safe),
            run_started_at: text("run_started_at").and_then(|t| parse_run_started_at(&t).ok()),
            notify: event.get("notify").and_then(Value::as_bool).unwrap_or(true),
        })
    }

    /// The keys of the error report: dated by the event's `run_started_at`,
    /// or by `invoked_at` when that is missing or broken (as a valid event's).
    fn to_job_key(&self, invoked_at: DateTime<Utc>) -> JobKey {
        let environment = self.info.environment.as_deref().unwrap_or_default();
        JobKey {
            dated: publish::report_key(
                environment,
                &self.info.name,
                self.run_started_at.unwrap_or(invoked_at),
                self.run_id.as_deref().unwrap_or("invalid-event"),
            ),
            latest: publish::latest_key(environment, &self.info.name),
        }
    }
}

#[cfg(test)]
mod tests {
    //! The handler's failure paths on an in-memory cloud: what reaches S3,
    //! SNS and the log, and which function error Lambda sees. The SDK
    //! implementation against moto is `tests/worker.rs`.

    use serde_json::json;

    use super::*;
    use crate::cloud::{IndexRecord, IndexValue};
    use crate::testing::{drifted_terraform, worker, MockCloud};

    const DATED: &str = "drift-reports/prod/network/2026/11/27/run-42.json";
    const LATEST: &str = "drift-reports/prod/network/latest.json";
    const TOPIC: &str = "arn:aws:sns:us-east-1:123456789012:alerts";

    fn event() -> Value {
        json!({
            "run_id": "run-42",
            "run_started_at": "2026-11-27T06:00:00Z",
            "workspace": "network",
            "environment": "prod",
            "account_id": "111111111111",
            "region": "us-east-1",
            "source": "s3://bundles/network.zip",
        })
    }

    fn soon() -> Instant {
        Instant::now() + Duration::from_secs(600)
    }

    #[tokio::test]
    async fn a_missing_bundle_ends_in_a_stored_error_report_an_alert_and_a_final_error() {
        let tmp = tempfile::tempdir().unwrap();
        let (worker, records) = worker(MockCloud::default(), tmp.path());

        let error = worker.handle(event(), soon()).await.unwrap_err();

        assert_eq!(error.error_type(), "DriftCheckFailed");
        assert!(
            error
                .to_string()
                .contains("s3://reports/drift-reports/prod/network/2026/11/27/run-42.json"),
            "{error}"
        );
        let report = worker
            .cloud
            .stored("reports", DATED)
            .expect("the dated report");
        assert_eq!(worker.cloud.stored("reports", LATEST), Some(report.clone()));
        assert_eq!(report["status"], "error");
        let summary = report["errors"][0]["summary"].as_str().unwrap();
        assert!(
            summary.starts_with("the workspace bundle does not exist"),
            "{summary}"
        );
        assert_eq!(report["errors"][0]["severity"], "error");
        let published = worker.cloud.published.lock().unwrap().clone();
        assert_eq!(published.len(), 1);
        assert_eq!(published[0].0, TOPIC);
        assert_eq!(records.events("workspace_checked").len(), 1);
        assert_eq!(
            worker.cloud.calls(),
            ["get_object", "put_json", "put_json", "publish"]
        );
    }

    #[tokio::test]
    async fn a_refused_role_is_reported_without_fetching_the_bundle() {
        let tmp = tempfile::tempdir().unwrap();
        let cloud = MockCloud::refusing(&[("assume_role", "AccessDenied")]);
        let (worker, _records) = worker(cloud, tmp.path());
        let mut event = event();
        event["role_arn"] = json!("arn:aws:iam::111111111111:role/drift-detection-read");

        let error = worker.handle(event, soon()).await.unwrap_err();

        assert_eq!(error.error_type(), "DriftCheckFailed");
        let report = worker.cloud.stored("reports", DATED).unwrap();
        assert_eq!(
            report["errors"][0]["summary"],
            "cannot assume arn:aws:iam::111111111111:role/drift-detection-read: AccessDenied"
        );
        assert!(!worker.cloud.calls().contains(&"get_object"));
    }

    #[tokio::test]
    async fn a_report_s3_refuses_goes_whole_to_the_log_and_the_alert_still_goes_out() {
        let tmp = tempfile::tempdir().unwrap();
        let cloud = MockCloud::refusing(&[("put_json", "AccessDenied")]);
        let (worker, records) = worker(cloud, tmp.path());

        let error = worker.handle(event(), soon()).await.unwrap_err();

        assert_eq!(error.error_type(), "ReportNotStored");
        let kept = records.events("report_not_stored");
        assert_eq!(kept.len(), 1);
        assert_eq!(kept[0]["report"]["workspace"]["name"], "network");
        assert_eq!(kept[0]["report"]["status"], "error");
        // One attempt at the dated key; latest.json is not written over.
        assert_eq!(worker.cloud.calls(), ["get_object", "put_json", "publish"]);
        // The alert cannot point at a report that is not stored.
        let published = worker.cloud.published.lock().unwrap().clone();
        assert!(
            !published[0].2.contains("s3://reports/"),
            "{}",
            published[0].2
        );
    }

    #[tokio::test]
    async fn without_notify_an_unstored_report_sends_no_alert() {
        let tmp = tempfile::tempdir().unwrap();
        let cloud = MockCloud::refusing(&[("put_json", "AccessDenied")]);
        let (worker, _records) = worker(cloud, tmp.path());
        let mut event = event();
        event["notify"] = json!(false);

        let error = worker.handle(event, soon()).await.unwrap_err();

        assert_eq!(error.error_type(), "ReportNotStored");
        assert!(!worker.cloud.calls().contains(&"publish"));
    }

    #[tokio::test]
    async fn an_alert_sns_refuses_after_a_stored_report_is_worth_a_retry() {
        let tmp = tempfile::tempdir().unwrap();
        let cloud = MockCloud::refusing(&[("publish", "AuthorizationError")]);
        let (worker, _records) = worker(cloud, tmp.path());

        let error = worker.handle(event(), soon()).await.unwrap_err();

        assert_eq!(error.error_type(), "AlertNotSent");
        assert!(worker.cloud.stored("reports", DATED).is_some());
        assert!(worker.cloud.stored("reports", LATEST).is_some());
    }

    #[tokio::test]
    async fn an_invalid_event_naming_a_workspace_stores_an_error_report() {
        let tmp = tempfile::tempdir().unwrap();
        let (worker, _records) = worker(MockCloud::default(), tmp.path());
        let mut event = event();
        event["mode"] = json!("sideways");

        let error = worker.handle(event, soon()).await.unwrap_err();

        assert_eq!(error.error_type(), "InvalidEvent");
        let report = worker
            .cloud
            .stored("reports", DATED)
            .expect("an error report");
        assert_eq!(report["status"], "error");
        assert!(!worker.cloud.calls().contains(&"get_object"));
    }

    // Event-driven checks (issue 16): the trigger, the alert's line, the
    // detection latency and the resource index. The worker's clock reads
    // 2031-02-03T04:05:06Z (1_927_857_906 in epoch seconds).

    const NOW: i64 = 1_927_857_906;
    const INDEX: &str = "drift-detection-resource-index-test";
    const ALICE: &str = "arn:aws:sts::111111111111:assumed-role/Admin/alice";

    fn trigger_event(id: &str, time: &str) -> Value {
        json!({
            "id": id, "source": "aws.ec2", "name": "AuthorizeSecurityGroupIngress",
            "principal": ALICE, "time": time, "account_id": "111111111111",
            "region": "us-east-1", "resources": ["sg-0app"],
        })
    }

    /// A check of a local bundle through the drifted terraform stand-in.
    fn checked(
        cloud: MockCloud,
        tmp: &Path,
        index: bool,
    ) -> (Worker<MockCloud>, Arc<crate::testing::MemorySink>, Value) {
        let bundle = tmp.join("bundle");
        std::fs::create_dir_all(&bundle).unwrap();
        std::fs::write(bundle.join("main.tf"), "# nothing\n").unwrap();
        let (mut worker, records) = worker(cloud, tmp);
        worker.config.terraform_path = drifted_terraform(tmp);
        worker.config.attribution = false;
        if index {
            worker.config.index_table = Some(INDEX.into());
        }
        let mut event = event();
        event["source"] = json!(bundle);
        (worker, records, event)
    }

    fn text(item: &IndexRecord, name: &str) -> String {
        match item.get(name) {
            Some(IndexValue::S(s)) => s.clone(),
            other => panic!("{name}: {other:?}"),
        }
    }

    fn number(item: &IndexRecord, name: &str) -> i64 {
        match item.get(name) {
            Some(IndexValue::N(n)) => *n,
            other => panic!("{name}: {other:?}"),
        }
    }

    #[tokio::test]
    async fn an_event_check_copies_its_trigger_says_why_in_the_alert_and_logs_its_latency() {
        let tmp = tempfile::tempdir().unwrap();
        let (worker, records, mut event) = checked(MockCloud::default(), tmp.path(), false);
        // The oldest event, five minutes and six seconds before the report
        // is stored, sets the latency; the newest names the alert's change.
        let mut newest = trigger_event("e2", "2031-02-03T04:04:00Z");
        newest["name"] = json!("RevokeSecurityGroupEgress");
        newest["principal"] = json!("arn:aws:sts::111111111111:assumed-role/Admin/bob\nBcc: x");
        let trigger = json!({"kind": "event", "events": [trigger_event("e1", "2031-02-03T04:00:00Z"), newest]});
        event["trigger"] = trigger.clone();

        worker.handle(event, soon()).await.unwrap();

        let report = worker.cloud.stored("reports", DATED).unwrap();
        assert_eq!(report["schema_version"], "1.3");
        assert_eq!(report["trigger"], trigger);
        let alert = worker.cloud.published.lock().unwrap()[0].2.clone();
        assert!(
            alert.contains(
                "\nchecked because RevokeSecurityGroupEgress by arn:aws:sts::111111111111:assumed-role/Admin/bob\\nBcc: x at 2031-02-03T04:04:00Z\n"
            ),
            "{alert}"
        );
        let latency = records.events("detection_latency");
        assert_eq!(latency.len(), 1);
        let line = &latency[0];
        assert_eq!(line["DetectionLatencySeconds"], 306.0);
        assert_eq!(
            line["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
            json!([["Environment", "Workspace"], []])
        );
        assert_eq!(
            line["_aws"]["CloudWatchMetrics"][0]["Metrics"],
            json!([{"Name": "DetectionLatencySeconds", "Unit": "Seconds"}])
        );
        assert_eq!(
            (line["Environment"].clone(), line["Workspace"].clone()),
            (json!("prod"), json!("network"))
        );
        // The check's own line keeps its one dimension set.
        let checked = records.events("workspace_checked");
        assert_eq!(
            checked[0]["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
            json!([["Environment", "Workspace"]])
        );
        assert!(checked[0].get("DetectionLatencySeconds").is_none());
    }

    #[tokio::test]
    async fn only_event_checks_with_a_readable_past_time_get_a_latency() {
        let tmp = tempfile::tempdir().unwrap();
        let (worker, records, event) = checked(MockCloud::default(), tmp.path(), false);
        let cases = [
            Value::Null,
            json!({"kind": "schedule"}),
            json!({"kind": "manual"}),
            json!({"kind": "event", "events": [trigger_event("e1", "yesterday")]}),
            json!({"kind": "event", "events": [trigger_event("e1", "2031-02-03T04:05:07Z")]}),
            json!({"kind": "event", "events": []}),
        ];
        for trigger in cases {
            let mut event = event.clone();
            if !trigger.is_null() {
                event["trigger"] = trigger.clone();
            }
            worker.handle(event, soon()).await.unwrap();
            let report = worker.cloud.stored("reports", DATED).unwrap();
            assert_eq!(
                report.get("trigger").cloned().unwrap_or(Value::Null),
                trigger
            );
            let alert = worker
                .cloud
                .published
                .lock()
                .unwrap()
                .last()
                .unwrap()
                .2
                .clone();
            let has_events = trigger["events"].as_array().is_some_and(|e| !e.is_empty());
            assert_eq!(alert.contains("checked because"), has_events, "{alert}");
        }
        assert!(records.events("detection_latency").is_empty());
    }

    #[tokio::test]
    async fn a_trigger_past_its_bounds_is_an_invalid_event() {
        let tmp = tempfile::tempdir().unwrap();
        let (worker, _records, mut event) = checked(MockCloud::default(), tmp.path(), false);
        let one = trigger_event("e", "2031-02-03T04:00:00Z");
        event["trigger"] = json!({"kind": "event", "events": vec![one; 21]});
        let error = worker.handle(event.clone(), soon()).await.unwrap_err();
        assert_eq!(error.error_type(), "InvalidEvent");
        assert!(
            error
                .to_string()
                .contains("`trigger.events` has 21 events, at most 20 are allowed"),
            "{error}"
        );
        event["trigger"] = json!({"kind": "cron"});
        let error = worker.handle(event, soon()).await.unwrap_err();
        assert_eq!(error.error_type(), "InvalidEvent");
    }

    #[tokio::test]
    async fn a_check_indexes_every_identifier_of_its_claims_and_leaves_the_debounce_item() {
        let tmp = tempfile::tempdir().unwrap();
        let cloud = MockCloud::default();
        let debounce = IndexRecord::from([
            ("pk".to_string(), IndexValue::S("ws#prod/network".into())),
            ("sk".to_string(), IndexValue::S("debounce".into())),
            ("until".to_string(), IndexValue::N(7)),
        ]);
        cloud.table.lock().unwrap().insert(
            (INDEX.into(), "ws#prod/network".into(), "debounce".into()),
            debounce.clone(),
        );
        let (worker, records, event) = checked(cloud, tmp.path(), true);

        let response = worker.handle(event, soon()).await.unwrap();

        // The items are the pure module's, from the sidecar's claims.
        let sidecar: ManagedResources = serde_json::from_value(
            worker
                .cloud
                .stored("reports", response.managed_key.as_deref().unwrap())
                .unwrap(),
        )
        .unwrap();
        let expected = drift_core::index::items(&sidecar);
        assert!(
            expected.len() > 25,
            "more than one batch: {}",
            expected.len()
        );
        let written = worker.cloud.index_items(INDEX, "res#");
        let keys: Vec<(String, String)> = written
            .iter()
            .map(|i| (text(i, "pk"), text(i, "sk")))
            .collect();
        let want: Vec<(String, String)> = expected
            .iter()
            .map(|i| (i.pk.clone(), i.sk.clone()))
            .collect();
        assert_eq!(keys, want);
        let sg = written
            .iter()
            .find(|i| text(i, "address") == "aws_security_group.app")
            .unwrap();
        assert!(
            text(sg, "pk").starts_with("res#111111111111#us-east-1#"),
            "{sg:?}"
        );
        assert_eq!(text(sg, "sk"), "ws#prod/network");
        assert_eq!(text(sg, "type"), "aws_security_group");
        assert_eq!(text(sg, "run_id"), "run-42");
        assert_eq!(text(sg, "seen_at"), "2031-02-03T04:05:06Z");
        assert_eq!(number(sg, "expires_at"), NOW + 24 * 3600);
        // IAM is account-wide.
        let role = written
            .iter()
            .find(|i| text(i, "type") == "aws_iam_role")
            .unwrap();
        assert!(
            text(role, "pk").starts_with("res#111111111111#*#"),
            "{role:?}"
        );

        let claims = worker.cloud.index_items(INDEX, "ws#");
        assert_eq!(claims.len(), 2);
        let summary = claims.iter().find(|i| text(i, "sk") == "claims").unwrap();
        assert_eq!(
            text(summary, "digest"),
            drift_core::index::digest(&expected)
        );
        assert_eq!(number(summary, "count"), expected.len() as i64);
        assert_eq!(number(summary, "written_at"), NOW);
        assert_eq!(number(summary, "expires_at"), NOW + 24 * 3600);
        assert!(
            claims.contains(&debounce),
            "the trigger's item is untouched"
        );

        let line = &records.events("index_written")[0];
        assert_eq!(line["IndexItemsWritten"], expected.len());
        assert_eq!(line["IndexWriteErrors"], 0);
        assert_eq!(
            line["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
            json!([["Environment", "Workspace"], []])
        );
        let calls = worker.cloud.calls();
        let batches = calls.iter().filter(|c| **c == "put_index").count();
        assert_eq!(batches, expected.len().div_ceil(25));
        assert_eq!(calls.iter().filter(|c| **c == "put_index_item").count(), 1);
        assert_eq!(calls.iter().filter(|c| **c == "index_claims").count(), 1);
    }

    #[tokio::test]
    async fn unchanged_fresh_claims_cost_one_read_and_stale_ones_are_rewritten() {
        let tmp = tempfile::tempdir().unwrap();
        let (worker, records, event) = checked(MockCloud::default(), tmp.path(), true);
        worker.handle(event.clone(), soon()).await.unwrap();
        let writes = |w: &Worker<MockCloud>| {
            w.cloud
                .calls()
                .iter()
                .filter(|c| matches!(**c, "put_index" | "put_index_item"))
                .count()
        };
        let first = writes(&worker);

        worker.handle(event.clone(), soon()).await.unwrap();
        assert_eq!(
            writes(&worker),
            first,
            "same digest, written just now: skipped"
        );
        assert_eq!(records.events("index_written")[1]["skipped"], true);

        // Written 12 hours ago (half the TTL): written again.
        let key = (
            INDEX.to_string(),
            "ws#prod/network".to_string(),
            "claims".to_string(),
        );
        worker
            .cloud
            .table
            .lock()
            .unwrap()
            .get_mut(&key)
            .unwrap()
            .insert("written_at".into(), IndexValue::N(NOW - 12 * 3600));
        worker.handle(event.clone(), soon()).await.unwrap();
        assert_eq!(writes(&worker), 2 * first);

        // Another digest (claims changed elsewhere): written again.
        worker
            .cloud
            .table
            .lock()
            .unwrap()
            .get_mut(&key)
            .unwrap()
            .insert("digest".into(), IndexValue::S("0".repeat(64)));
        worker.handle(event, soon()).await.unwrap();
        assert_eq!(writes(&worker), 3 * first);
    }

    #[tokio::test]
    async fn unprocessed_items_are_retried_until_written() {
        let tmp = tempfile::tempdir().unwrap();
        let cloud = MockCloud::default();
        *cloud.unprocessed.lock().unwrap() = 2;
        let (worker, records, event) = checked(cloud, tmp.path(), true);
        worker.handle(event, soon()).await.unwrap();
        let line = &records.events("index_written")[0];
        assert_eq!(line["IndexWriteErrors"], 0);
        let sk = |i: &IndexRecord| text(i, "sk");
        let claims = worker.cloud.index_items(INDEX, "ws#");
        let count = number(claims.iter().find(|i| sk(i) == "claims").unwrap(), "count");
        assert_eq!(worker.cloud.index_items(INDEX, "res#").len() as i64, count);
        assert_eq!(line["IndexItemsWritten"], count);
    }

    #[tokio::test]
    async fn an_index_that_cannot_be_written_does_not_fail_the_check() {
        for refused in ["put_index", "index_claims", "put_index_item"] {
            let tmp = tempfile::tempdir().unwrap();
            let cloud = MockCloud::refusing(&[(refused, "AccessDeniedException")]);
            let (worker, records, event) = checked(cloud, tmp.path(), true);

            let response = worker.handle(event, soon()).await.unwrap();

            assert_eq!(response.status, Status::Drift, "{refused}");
            assert!(response.managed_key.is_some());
            let line = &records.events("index_written")[0];
            assert!(
                line["IndexWriteErrors"].as_u64().unwrap() > 0,
                "{refused}: {line}"
            );
            assert!(
                line["error"]
                    .as_str()
                    .unwrap()
                    .contains("AccessDeniedException"),
                "{line}"
            );
            if refused == "put_index" {
                // Without every item, no claims item: the next check retries.
                assert!(worker.cloud.index_items(INDEX, "ws#").is_empty());
            }
        }
    }

    #[tokio::test]
    async fn without_an_index_table_nothing_goes_to_dynamodb() {
        let tmp = tempfile::tempdir().unwrap();
        let (worker, records, event) = checked(MockCloud::default(), tmp.path(), false);
        worker.handle(event, soon()).await.unwrap();
        assert!(!worker.cloud.calls().iter().any(|c| c.contains("index")));
        assert!(records.events("index_written").is_empty());
    }
}
