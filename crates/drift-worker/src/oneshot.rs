//! One check outside Lambda: `bootstrap --event-file PATH|- [--response-file
//! PATH]`, as an AWS CodeBuild build runs it for the workspaces that outgrow
//! a Lambda invocation.
//!
//! The same [`Worker`] handles the same event: the same environment
//! variables, clients built once, report keys, alert and error types. What
//! differs is only the edge: the event comes from a file (or stdin), the
//! deadline is the one given on the command line instead of Lambda's, and the
//! answer is one JSON line on stdout (and the response file), with an exit
//! code that says which answer it is ([`exit_code`]):
//!
//! ```text
//! {"run_id": "…", "workspace": "network", "status": "drift", "report_key": "…", …}   exit 0
//! {"errorType": "DriftCheckFailed", "errorMessage": "drift check failed for …"}     exit 4
//! ```

use std::io::Read;
use std::path::Path;
use std::time::Instant;

use serde_json::{json, Value};

use crate::cloud::Cloud;
use crate::handler::{Worker, WorkerError};

/// The exit codes of a one-shot run: one per answer, so that a build's
/// status alone tells a completed check from each kind of failure.
pub mod exit_code {
    /// The check completed: `clean`, `drift` or `pending_changes` (the
    /// response says which).
    pub const COMPLETED: u8 = 0;
    /// The worker could not start: bad arguments, a response file that
    /// cannot be written, or a misconfigured environment (`errorType`
    /// `WorkerMisconfigured`).
    pub const NOT_STARTED: u8 = 2;
    /// `InvalidEvent`: the event file cannot be read, is not JSON, or is not
    /// a valid worker event. Final.
    pub const INVALID_EVENT: u8 = 3;
    /// `DriftCheckFailed`: the check could not finish; the stored report
    /// says why. Final.
    pub const CHECK_FAILED: u8 = 4;
    /// `DriftCheckTimedOut`: terraform was stopped at the deadline; the
    /// stored report keeps what was found. Final.
    pub const TIMED_OUT: u8 = 5;
    /// `ReportNotStored`: S3 refused the report (it is in the log). Worth a
    /// retry.
    pub const REPORT_NOT_STORED: u8 = 6;
    /// `AlertNotSent`: the report is stored, its alert was not sent. Worth
    /// a retry.
    pub const ALERT_NOT_SENT: u8 = 7;
}

/// The `errorType` of a worker that cannot start (outside Lambda, where no
/// runtime reports it).
pub const MISCONFIGURED: &str = "WorkerMisconfigured";

/// The largest event file read: Lambda's own limit on a synchronous
/// invocation's payload.
pub const MAX_EVENT_BYTES: u64 = 6 * 1024 * 1024;

/// What one run answers: the JSON body and the exit code.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// The response, or `{"errorType", "errorMessage"}`.
    pub body: Value,
    /// One of [`exit_code`].
    pub exit_code: u8,
}

impl Outcome {
    /// The answer to a function error, as Lambda's error body.
    pub fn error(error: &WorkerError) -> Outcome {
        Outcome {
            body: error_body(error.error_type(), &error.to_string()),
            exit_code: exit_code_of(error),
        }
    }

    /// The answer of a worker whose environment is misconfigured.
    pub fn misconfigured(message: &str) -> Outcome {
        Outcome {
            body: error_body(MISCONFIGURED, message),
            exit_code: exit_code::NOT_STARTED,
        }
    }

    /// The body as one line of JSON.
    pub fn to_line(&self) -> String {
        format!("{}\n", self.body)
    }
}

/// Lambda's error body.
pub fn error_body(error_type: &str, message: &str) -> Value {
    json!({"errorType": error_type, "errorMessage": message})
}

/// The exit code of a function error.
pub fn exit_code_of(error: &WorkerError) -> u8 {
    match error.error_type() {
        "InvalidEvent" => exit_code::INVALID_EVENT,
        "DriftCheckTimedOut" => exit_code::TIMED_OUT,
        "ReportNotStored" => exit_code::REPORT_NOT_STORED,
        "AlertNotSent" => exit_code::ALERT_NOT_SENT,
        _ => exit_code::CHECK_FAILED,
    }
}

/// Reads the event's text from `path`, or from `stdin` when it is `-`, at
/// most [`MAX_EVENT_BYTES`]. A fault is an `InvalidEvent`.
pub fn read_event(path: &Path, stdin: impl Read) -> Result<String, WorkerError> {
    let (name, reader): (String, Box<dyn Read>) = if path == Path::new("-") {
        ("standard input".to_string(), Box::new(stdin))
    } else {
        let file = std::fs::File::open(path).map_err(|e| {
            WorkerError::InvalidEvent(format!(
                "the event file {} cannot be read: {e}",
                path.display()
            ))
        })?;
        (format!("the event file {}", path.display()), Box::new(file))
    };
    let mut bytes = Vec::new();
    reader
        .take(MAX_EVENT_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| WorkerError::InvalidEvent(format!("{name} cannot be read: {e}")))?;
    if bytes.len() as u64 > MAX_EVENT_BYTES {
        return Err(WorkerError::InvalidEvent(format!(
            "{name} is larger than {MAX_EVENT_BYTES} bytes, more than any Lambda event"
        )));
    }
    String::from_utf8(bytes)
        .map_err(|_| WorkerError::InvalidEvent(format!("{name} is not UTF-8 text")))
}

/// Runs the handler once on the event `text`, with `deadline` standing in for
/// Lambda's.
pub async fn run<C: Cloud>(worker: &Worker<C>, text: &str, deadline: Instant) -> Outcome {
    let event: Value = match serde_json::from_str(text) {
        Ok(event) => event,
        Err(e) => {
            // serde quotes what it refused, and that may be the external id.
            let message = format!(
                "the event is not JSON: {}",
                drift_core::error::without_input_values(&e.to_string())
            );
            return Outcome::error(&WorkerError::InvalidEvent(message));
        }
    };
    match worker.handle(event, deadline).await {
        Ok(response) => Outcome {
            body: serde_json::to_value(&response).unwrap_or_default(),
            exit_code: exit_code::COMPLETED,
        },
        Err(error) => Outcome::error(&error),
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;
    use std::time::Duration;

    use super::*;
    use crate::testing::{drifted_terraform, worker, MockCloud};

    /// A terraform stand-in that notes its arguments in `args.log` beside it
    /// and answers like terraform on a workspace without resources.
    fn recording_terraform(dir: &Path) -> std::path::PathBuf {
        let shown = dir.join("shown.json");
        std::fs::write(
            &shown,
            r#"{"format_version": "1.2", "terraform_version": "1.9.8", "planned_values": {"root_module": {}}, "resource_changes": [], "configuration": {"root_module": {}}}"#,
        )
        .unwrap();
        let script = dir.join("terraform");
        std::fs::write(
            &script,
            format!(
                "#!/bin/sh\necho \"$*\" >> {log}\ncase \"$1\" in\n  init) exit 0 ;;\n  plan) exit 0 ;;\n  show) cat {shown}; exit 0 ;;\nesac\nexit 1\n",
                log = dir.join("args.log").display(),
                shown = shown.display(),
            ),
        )
        .unwrap();
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        script
    }

    fn event(source: &Path) -> Value {
        json!({
            "run_id": "run-42",
            "run_started_at": "2026-11-27T06:00:00Z",
            "workspace": "network",
            "environment": "prod",
            "account_id": "111111111111",
            "region": "us-east-1",
            "source": source,
        })
    }

    fn soon() -> Instant {
        Instant::now() + Duration::from_secs(600)
    }

    fn plan_lines(dir: &Path) -> Vec<String> {
        std::fs::read_to_string(dir.join("args.log"))
            .unwrap()
            .lines()
            .filter(|l| l.starts_with("plan "))
            .map(str::to_string)
            .collect()
    }

    #[tokio::test]
    async fn a_completed_check_answers_the_response_and_passes_the_parallelism() {
        let tmp = tempfile::tempdir().unwrap();
        let terraform = recording_terraform(tmp.path());
        let bundle = tmp.path().join("bundle");
        std::fs::create_dir_all(&bundle).unwrap();
        std::fs::write(bundle.join("main.tf"), "# nothing\n").unwrap();
        let (mut worker, _records) = worker(MockCloud::default(), tmp.path());
        worker.config.terraform_path = terraform;
        worker.config.terraform_parallelism = Some(5);

        let mut with_own = event(&bundle);
        with_own["parallelism"] = json!(3);
        let outcome = run(&worker, &with_own.to_string(), soon()).await;
        assert_eq!(outcome.exit_code, exit_code::COMPLETED, "{}", outcome.body);
        assert_eq!(outcome.body["status"], "clean");
        assert_eq!(outcome.body["workspace"], "network");
        let key = "drift-reports/prod/network/2026/11/27/run-42.json";
        assert_eq!(outcome.body["report_key"], key);
        assert_eq!(outcome.body["report_uri"], format!("s3://reports/{key}"));
        assert!(worker.cloud.stored("reports", key).is_some());
        // The event's parallelism wins over TERRAFORM_PARALLELISM.
        let plans = plan_lines(tmp.path());
        assert_eq!(plans.len(), 1);
        assert!(plans[0].contains(" -parallelism=3 "), "{}", plans[0]);

        let outcome = run(&worker, &event(&bundle).to_string(), soon()).await;
        assert_eq!(outcome.exit_code, exit_code::COMPLETED, "{}", outcome.body);
        let plans = plan_lines(tmp.path());
        assert!(plans[1].contains(" -parallelism=5 "), "{}", plans[1]);

        worker.config.terraform_parallelism = None;
        run(&worker, &event(&bundle).to_string(), soon()).await;
        let plans = plan_lines(tmp.path());
        assert!(!plans[2].contains("-parallelism"), "{}", plans[2]);
        assert!(outcome.to_line().ends_with("}\n"));
    }

    /// A terraform stand-in whose plan is the prod-network example: SSH
    /// opened on `sg-072b12a9df76ff5e8`, tags changed on a VPC.
    fn trail_event(arn: &str, time: &str) -> drift_core::attribution::TrailEvent {
        let json = json!({
            "eventName": "AuthorizeSecurityGroupIngress", "eventTime": time,
            "eventID": format!("event-{time}"), "eventSource": "ec2.amazonaws.com",
            "readOnly": false, "userIdentity": {"type": "AssumedRole", "arn": arn},
        });
        drift_core::attribution::parse_event(&json.to_string(), None).unwrap()
    }

    #[tokio::test]
    async fn drift_is_attributed_since_the_last_clean_report_through_the_drift_role() {
        let tmp = tempfile::tempdir().unwrap();
        let bundle = tmp.path().join("bundle");
        std::fs::create_dir_all(&bundle).unwrap();
        std::fs::write(bundle.join("main.tf"), "# nothing\n").unwrap();
        let alice = "arn:aws:sts::111111111111:assumed-role/Admin/alice";
        let drift_role = "arn:aws:iam::111111111111:role/drift-detection-read";
        let mut cloud = MockCloud::default();
        // The worker's clock says 2031-02-03; the last clean check was the
        // day before. Bob's change predates it; the drift role's own call
        // is not a drift.
        cloud.trail.events.insert(
            "sg-072b12a9df76ff5e8".into(),
            vec![
                trail_event("arn:aws:sts::111111111111:assumed-role/Admin/bob", "2031-02-01T00:00:00Z"),
                trail_event(alice, "2031-02-02T12:00:00Z"),
                trail_event("arn:aws:sts::111111111111:assumed-role/drift-detection-read/drift-detection-run-42", "2031-02-03T00:00:00Z"),
            ],
        );
        cloud.objects.lock().unwrap().insert(
            (
                "reports".into(),
                "drift-reports/prod/network/latest.json".into(),
            ),
            br#"{"status":"clean","generated_at":"2031-02-02T00:00:00Z"}"#.to_vec(),
        );
        let (mut worker, _records) = worker(cloud, tmp.path());
        worker.config.terraform_path = drifted_terraform(tmp.path());
        let mut event = event(&bundle);
        event["role_arn"] = json!(drift_role);

        let outcome = run(&worker, &event.to_string(), soon()).await;
        assert_eq!(outcome.exit_code, exit_code::COMPLETED, "{}", outcome.body);
        let key = "drift-reports/prod/network/2026/11/27/run-42.json";
        let report = worker.cloud.stored("reports", key).unwrap();
        assert_eq!(report["schema_version"], "1.3");
        let by = |address: &str| {
            report["drift"]
                .as_array()
                .unwrap()
                .iter()
                .find(|i| i["address"] == address)
                .unwrap()["changed_by"]
                .clone()
        };
        let sg = by("aws_security_group.app");
        assert_eq!(sg["principal_arn"], alice);
        assert_eq!(sg["principal"], "alice");
        assert_eq!(sg["event_name"], "AuthorizeSecurityGroupIngress");
        assert_eq!(by("aws_vpc.main"), json!({"unknown": "no_event_in_window"}));
        let alert = worker.cloud.published.lock().unwrap()[0].2.clone();
        assert!(
            alert.contains(&format!("  changed by {alice} (alice) at 2031-02-02T12:00:00Z via AuthorizeSecurityGroupIngress")),
            "{alert}"
        );

        // Turned off by the event: no lookup, no changed_by.
        let lookups = worker.cloud.trail.lookups.lock().unwrap().len();
        event["attribute"] = json!(false);
        run(&worker, &event.to_string(), soon()).await;
        let report = worker.cloud.stored("reports", key).unwrap();
        assert!(report["drift"][0].get("changed_by").is_none());
        assert_eq!(worker.cloud.trail.lookups.lock().unwrap().len(), lookups);
    }

    /// A plan with a prior state leaves the managed-resources sidecar next
    /// to the report and names it in the response; a plan without one, or a
    /// sidecar S3 refuses, leaves the response without it and the check as
    /// it was.
    #[tokio::test]
    async fn the_prior_state_s_claims_are_stored_beside_the_report() {
        let tmp = tempfile::tempdir().unwrap();
        let bundle = tmp.path().join("bundle");
        std::fs::create_dir_all(&bundle).unwrap();
        std::fs::write(bundle.join("main.tf"), "# nothing\n").unwrap();
        let (mut worker, _records) = worker(MockCloud::default(), tmp.path());
        worker.config.terraform_path = drifted_terraform(tmp.path());
        let outcome = run(&worker, &event(&bundle).to_string(), soon()).await;
        assert_eq!(outcome.exit_code, exit_code::COMPLETED, "{}", outcome.body);
        let key = "managed/prod/network/run-42.json";
        assert_eq!(outcome.body["managed_key"], key);
        let doc = worker.cloud.stored("reports", key).unwrap();
        // It reads back as the contract's type.
        serde_json::from_value::<drift_core::unmanaged::ManagedResources>(doc.clone()).unwrap();
        assert_eq!(doc["kind"], "managed-resources");
        assert_eq!(doc["run_id"], "run-42");
        assert_eq!(
            doc["workspace"],
            json!({"name": "network", "environment": "prod", "account_id": "111111111111", "region": "us-east-1"})
        );
        let sg = doc["resources"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["address"] == "aws_security_group.app")
            .unwrap();
        assert_eq!(
            sg["identifiers"],
            json!({"id": "sg-072b12a9df76ff5e8", "arn": "arn:aws:ec2:us-east-1:111111111111:security-group/sg-072b12a9df76ff5e8"})
        );
        assert_eq!(doc["resources"].as_array().unwrap().len(), 25);

        // S3 refuses the sidecar: the check still answers, without it.
        let cloud = MockCloud {
            refuse_keys: vec!["managed/"],
            ..MockCloud::default()
        };
        let (mut worker, _records) = crate::testing::worker(cloud, tmp.path());
        worker.config.terraform_path = drifted_terraform(tmp.path());
        let outcome = run(&worker, &event(&bundle).to_string(), soon()).await;
        assert_eq!(outcome.exit_code, exit_code::COMPLETED, "{}", outcome.body);
        assert_eq!(outcome.body["status"], "drift");
        assert!(
            outcome.body.get("managed_key").is_none(),
            "{}",
            outcome.body
        );

        // A plan without prior state claims nothing known: no sidecar.
        let (mut worker, _records) = crate::testing::worker(MockCloud::default(), tmp.path());
        worker.config.terraform_path = recording_terraform(tmp.path());
        let outcome = run(&worker, &event(&bundle).to_string(), soon()).await;
        assert_eq!(outcome.exit_code, exit_code::COMPLETED, "{}", outcome.body);
        assert!(
            outcome.body.get("managed_key").is_none(),
            "{}",
            outcome.body
        );
        assert!(worker.cloud.stored("reports", key).is_none());
    }

    #[tokio::test]
    async fn a_refused_lookup_is_reported_as_access_denied() {
        let tmp = tempfile::tempdir().unwrap();
        let bundle = tmp.path().join("bundle");
        std::fs::create_dir_all(&bundle).unwrap();
        let mut cloud = MockCloud::default();
        cloud.trail.failure = Some(drift_runner::attribution::TrailError::AccessDenied(
            "AccessDeniedException".into(),
        ));
        let (mut worker, _records) = worker(cloud, tmp.path());
        worker.config.terraform_path = drifted_terraform(tmp.path());

        let outcome = run(&worker, &event(&bundle).to_string(), soon()).await;
        assert_eq!(outcome.exit_code, exit_code::COMPLETED, "{}", outcome.body);
        let report = worker
            .cloud
            .stored(
                "reports",
                "drift-reports/prod/network/2026/11/27/run-42.json",
            )
            .unwrap();
        for item in report["drift"].as_array().unwrap() {
            assert_eq!(item["changed_by"], json!({"unknown": "access_denied"}));
        }
    }

    #[tokio::test]
    async fn each_failure_answers_its_error_type_and_exit_code() {
        let tmp = tempfile::tempdir().unwrap();
        let (worker, _records) = worker(MockCloud::default(), tmp.path());
        let missing = tmp.path().join("no-such-bundle.zip");

        // Not JSON: nothing names a workspace, so nothing is stored.
        let outcome = run(&worker, "{\"run_id\": \"s3cr3t", soon()).await;
        assert_eq!(outcome.exit_code, exit_code::INVALID_EVENT);
        assert_eq!(outcome.body["errorType"], "InvalidEvent");
        let message = outcome.body["errorMessage"].as_str().unwrap();
        assert!(message.starts_with("the event is not JSON: "), "{message}");
        assert!(!message.contains("s3cr3t"), "{message}");

        let mut bad = event(&missing);
        bad["parallelism"] = json!(0);
        let outcome = run(&worker, &bad.to_string(), soon()).await;
        assert_eq!(outcome.exit_code, exit_code::INVALID_EVENT);
        assert!(outcome.body["errorMessage"]
            .as_str()
            .unwrap()
            .contains("`parallelism` 0"));

        // A bundle that cannot be read: a stored error report, a final error.
        let outcome = run(&worker, &event(&missing).to_string(), soon()).await;
        assert_eq!(outcome.exit_code, exit_code::CHECK_FAILED);
        assert_eq!(outcome.body["errorType"], "DriftCheckFailed");
        assert_eq!(outcome.body.as_object().unwrap().len(), 2);

        let (worker, _records) = worker_refusing(tmp.path(), "put_json");
        let outcome = run(&worker, &event(&missing).to_string(), soon()).await;
        assert_eq!(
            (outcome.exit_code, outcome.body["errorType"].as_str()),
            (exit_code::REPORT_NOT_STORED, Some("ReportNotStored"))
        );
        let (worker, _records) = worker_refusing(tmp.path(), "publish");
        let outcome = run(&worker, &event(&missing).to_string(), soon()).await;
        assert_eq!(
            (outcome.exit_code, outcome.body["errorType"].as_str()),
            (exit_code::ALERT_NOT_SENT, Some("AlertNotSent"))
        );
        let timed_out = WorkerError::TimedOut {
            message: "stopped".into(),
        };
        assert_eq!(Outcome::error(&timed_out).exit_code, exit_code::TIMED_OUT);
        assert_eq!(
            Outcome::misconfigured("REPORT_BUCKET is not set").body,
            json!({"errorType": "WorkerMisconfigured", "errorMessage": "REPORT_BUCKET is not set"})
        );
    }

    fn worker_refusing(
        scratch: &Path,
        call: &'static str,
    ) -> (
        Worker<MockCloud>,
        std::sync::Arc<crate::testing::MemorySink>,
    ) {
        worker(MockCloud::refusing(&[(call, "AccessDenied")]), scratch)
    }

    #[test]
    fn the_event_comes_from_a_file_or_stdin_within_limits() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("event.json");
        std::fs::write(&path, "{}").unwrap();
        assert_eq!(read_event(&path, std::io::empty()).unwrap(), "{}");
        assert_eq!(
            read_event(Path::new("-"), "{\"a\": 1}".as_bytes()).unwrap(),
            "{\"a\": 1}"
        );
        let err = read_event(&tmp.path().join("missing.json"), std::io::empty()).unwrap_err();
        assert_eq!(err.error_type(), "InvalidEvent");
        assert!(
            err.to_string().contains("missing.json cannot be read"),
            "{err}"
        );
        std::fs::write(&path, b"\xff\xfe").unwrap();
        assert!(read_event(&path, std::io::empty())
            .unwrap_err()
            .to_string()
            .contains("not UTF-8"));
        let big = vec![b' '; MAX_EVENT_BYTES as usize + 1];
        let err = read_event(Path::new("-"), big.as_slice()).unwrap_err();
        assert!(
            err.to_string().contains("standard input is larger"),
            "{err}"
        );
    }
}
