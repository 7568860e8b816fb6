//! The Lambda worker's handler end to end against a real moto server on
//! 127.0.0.1: the event goes in; the report lands in S3, the alert in SNS
//! (read back through an SQS subscription) and the metrics in EMF lines.
//!
//! Terraform is the real binary from the pinned wheel where its output
//! suffices (clean, failing, output-only changes), and a scripted stand-in
//! that replays a saved plan where drift is needed (real drift from a real
//! provider is the end-to-end suite's job) or where it must hang.

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeZone, Utc};
use common::moto::{AlertInbox, Moto};
use drift_core::drift::rules::RuleSet;
use drift_worker::aws::Aws;
use drift_worker::config::WorkerConfig;
use drift_worker::{RecordSink, Worker};
use serde_json::{json, Value};

const EXTERNAL_ID: &str = "ext-9f3c1d2e-very-secret";

/// Keeps the worker's records, for the tests to read.
#[derive(Debug, Default)]
struct MemorySink(Mutex<Vec<String>>);

impl RecordSink for MemorySink {
    fn write(&self, record: &Value) {
        self.0.lock().unwrap().push(record.to_string());
    }
}

impl MemorySink {
    fn lines(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }
}

struct Rig {
    moto: Moto,
    worker: Worker,
    records: Arc<MemorySink>,
    s3: aws_sdk_s3::Client,
    inbox: AlertInbox,
    tmp: tempfile::TempDir,
}

/// A terraform stand-in: records the credentials it was given, then answers
/// `plan` with `plan_exit` and `show -json` with the file `shown`.
fn replaying_terraform(dir: &Path, shown: &Path, plan_exit: i32) -> PathBuf {
    let script = dir.join("terraform-replay");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\necho \"$AWS_ACCESS_KEY_ID\" > {dir}/seen-access-key\n\
             case \"$1\" in\n  init) exit 0 ;;\n  plan) exit {plan_exit} ;;\n  show) cat {shown}; exit 0 ;;\nesac\nexit 1\n",
            dir = dir.display(),
            shown = shown.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    script
}

fn zip_of(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut buf = std::io::Cursor::new(Vec::new());
    let mut w = zip::ZipWriter::new(&mut buf);
    for (name, content) in files {
        w.start_file(*name, zip::write::SimpleFileOptions::default())
            .unwrap();
        w.write_all(content).unwrap();
    }
    w.finish().unwrap();
    buf.into_inner()
}

async fn rig(terraform: impl FnOnce(&Path) -> PathBuf) -> Rig {
    let moto = Moto::start();
    let sdk = moto.sdk_config().await;
    let s3 = moto.s3().await;
    for bucket in ["reports", "bundles"] {
        s3.create_bucket().bucket(bucket).send().await.unwrap();
    }
    let inbox = moto.alert_inbox("drift-detection-alerts-test").await;

    let tmp = tempfile::tempdir().unwrap();
    let config = WorkerConfig {
        report_bucket: "reports".into(),
        report_kms_key_arn: None,
        sns_topic_arn: inbox.topic_arn.clone(),
        metrics_namespace: "DriftDetection".into(),
        terraform_path: terraform(tmp.path()),
        terraform_parallelism: None,
        log_level: "info".into(),
        region: "us-east-1".into(),
        max_input_bytes: 1 << 20,
        // moto has no CloudTrail LookupEvents; the e2e suite serves it.
        attribution: false,
        attribution_ignore_principals: Vec::new(),
        index_table: None,
        index_ttl_hours: 24,
    };
    let scratch = tmp.path().join("scratch");
    std::fs::create_dir_all(&scratch).unwrap();
    let records = Arc::new(MemorySink::default());
    let worker = Worker {
        config,
        cloud: Aws::new(&sdk),
        rules: RuleSet::embedded(),
        scratch_root: scratch,
        records: records.clone(),
        clock: invoked_at,
    };
    Rig {
        moto,
        worker,
        records,
        s3,
        inbox,
        tmp,
    }
}

impl Rig {
    async fn upload(&self, key: &str, bytes: Vec<u8>) -> String {
        self.s3
            .put_object()
            .bucket("bundles")
            .key(key)
            .body(bytes.into())
            .send()
            .await
            .unwrap();
        format!("s3://bundles/{key}")
    }

    async fn object(&self, key: &str) -> Option<(Value, Option<String>)> {
        let out = self
            .s3
            .get_object()
            .bucket("reports")
            .key(key)
            .send()
            .await
            .ok()?;
        let sse = out.server_side_encryption().map(|s| s.as_str().to_string());
        let bytes = out.body.collect().await.unwrap().into_bytes();
        Some((serde_json::from_slice(&bytes).unwrap(), sse))
    }

    async fn keys(&self) -> Vec<String> {
        let out = self
            .s3
            .list_objects_v2()
            .bucket("reports")
            .send()
            .await
            .unwrap();
        out.contents()
            .iter()
            .filter_map(|o| o.key().map(str::to_string))
            .collect()
    }

    /// Every SNS notification delivered since the last call.
    async fn alerts(&self) -> Vec<Value> {
        self.inbox.drain().await
    }

    fn records(&self, event: &str) -> Vec<Value> {
        self.records
            .lines()
            .iter()
            .map(|l| serde_json::from_str::<Value>(l).unwrap())
            .filter(|v| v["event"] == event)
            .collect()
    }

    fn all_output(&self) -> String {
        self.records.lines().join("\n")
    }
}

fn event(source: &str) -> Value {
    json!({
        "run_id": "run-42",
        "run_started_at": "2026-11-27T06:00:00Z",
        "workspace": "network",
        "environment": "prod",
        "account_id": "111111111111",
        "region": "us-east-1",
        "source": source,
        "mode": "refresh-only",
    })
}

/// The worker's wall clock here: years away from the events' own
/// `run_started_at`, so a key dated by the wrong one shows.
fn invoked_at() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2031, 2, 3, 4, 5, 6).unwrap()
}

fn soon(seconds: u64) -> Instant {
    Instant::now() + Duration::from_secs(seconds)
}

const DATED: &str = "drift-reports/prod/network/2026/11/27/run-42.json";
const LATEST: &str = "drift-reports/prod/network/latest.json";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn critical_drift_lands_in_s3_sns_and_emf_through_an_assumed_role() {
    let plan = common::repo().join("examples/plans/prod-network.refresh-only.json");
    let rig = rig(|dir| replaying_terraform(dir, &plan, 2)).await;
    let source = rig
        .upload("network.zip", zip_of(&[("main.tf", b"# replayed\n")]))
        .await;
    let mut event = event(&source);
    event["role_arn"] = json!("arn:aws:iam::111111111111:role/drift-detection-read");
    event["external_id"] = json!(EXTERNAL_ID);

    let response = rig.worker.handle(event.clone(), soon(600)).await.unwrap();
    assert_eq!(response.status.as_str(), "drift");
    assert_eq!(response.report_key, DATED);
    assert_eq!(response.report_uri, format!("s3://reports/{DATED}"));
    // The plan's prior state: what the workspace claims, beside the report
    // (in real S3, through the SDK), for the run's unmanaged resources.
    let managed = "managed/prod/network/run-42.json";
    assert_eq!(response.managed_key.as_deref(), Some(managed));
    let (claims, sse) = rig.object(managed).await.expect("the sidecar is stored");
    assert_eq!(sse.as_deref(), Some("AES256"), "encrypted as the report is");
    assert_eq!(claims["kind"], "managed-resources");
    assert_eq!(claims["workspace"]["account_id"], "111111111111");
    assert_eq!(claims["resources"].as_array().unwrap().len(), 25);
    assert_eq!(response.summary.drifted_resources, 2);
    assert_eq!(response.summary.by_severity.critical, 1);
    assert_eq!(response.summary.by_severity.low, 1);

    // Terraform ran with the assumed role's keys, not the worker's own.
    let seen = std::fs::read_to_string(rig.tmp.path().join("seen-access-key")).unwrap();
    assert!(
        !seen.trim().is_empty() && seen.trim() != "testing",
        "{seen}"
    );

    let (report, sse) = rig.object(DATED).await.expect("dated report stored");
    assert_eq!(sse.as_deref(), Some("AES256"));
    assert_eq!(report["status"], "drift");
    assert_eq!(report["workspace"]["account_id"], "111111111111");
    let (latest, _) = rig.object(LATEST).await.expect("latest.json stored");
    assert_eq!(latest["report_id"], report["report_id"]);

    let alerts = rig.alerts().await;
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    let alert = &alerts[0];
    let subject = alert["Subject"].as_str().unwrap();
    assert_eq!(
        subject,
        "[drift-detection] prod/network: 1 critical finding"
    );
    assert_eq!(alert["MessageAttributes"]["severity"]["Value"], "critical");
    assert_eq!(alert["MessageAttributes"]["environment"]["Value"], "prod");
    assert_eq!(alert["MessageAttributes"]["workspace"]["Value"], "network");
    let message = alert["Message"].as_str().unwrap();
    assert!(message.contains("aws_security_group.app"), "{message}");
    assert!(
        message.contains(&format!("s3://reports/{DATED}")),
        "{message}"
    );

    let emf = rig.records("workspace_checked");
    assert_eq!(emf.len(), 1);
    let metrics = &emf[0];
    assert_eq!(
        metrics["_aws"]["CloudWatchMetrics"][0]["Namespace"],
        "DriftDetection"
    );
    assert_eq!(metrics["DriftedResources"], 2);
    assert_eq!(metrics["CriticalDrift"], 1);
    assert_eq!(metrics["DetectionErrors"], 0);
    assert_eq!(metrics["Environment"], "prod");
    assert_eq!(metrics["report_key"], DATED);
    assert_eq!(
        metrics["_aws"]["Timestamp"],
        invoked_at().timestamp_millis()
    );
    assert_eq!(
        rig.records("critical_drift")[0]["address"],
        "aws_security_group.app"
    );

    // The external id is a shared secret: nowhere in what the worker wrote.
    assert!(!rig.all_output().contains(EXTERNAL_ID));
    assert!(!serde_json::to_string(&report)
        .unwrap()
        .contains(EXTERNAL_ID));
    assert!(!message.contains(EXTERNAL_ID));

    // The same run again overwrites its own report and sidecar: still the
    // dated report, latest.json and the sidecar.
    rig.worker.handle(event.clone(), soon(600)).await.unwrap();
    assert_eq!(rig.keys().await.len(), 3, "{:?}", rig.keys().await);
    assert_eq!(rig.alerts().await.len(), 1, "the retry alerts again");

    // Invoked by the orchestrator (`notify: false`): stored, not alerted;
    // the run sends one aggregated alert instead.
    let mut quiet = event;
    quiet["workspace"] = json!("network-quiet");
    quiet["notify"] = json!(false);
    rig.worker.handle(quiet, soon(600)).await.unwrap();
    assert!(rig
        .object("drift-reports/prod/network-quiet/2026/11/27/run-42.json")
        .await
        .is_some());
    assert!(rig.alerts().await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn low_severity_drift_is_stored_without_an_alert() {
    let tmp = tempfile::tempdir().unwrap();
    let plan = tmp.path().join("tags.json");
    std::fs::write(
        &plan,
        r#"{"format_version":"1.2","terraform_version":"1.9.8","resource_drift":[{"address":"aws_s3_bucket.logs",
        "mode":"managed","type":"aws_s3_bucket","name":"logs","change":{"actions":["update"],
        "before":{"tags":{"Owner":"a"}},"after":{"tags":{"Owner":"b"}}}}]}"#,
    )
    .unwrap();
    let rig = rig(|dir| replaying_terraform(dir, &plan, 2)).await;
    let source = rig.upload("logs.zip", zip_of(&[("main.tf", b"")])).await;
    let response = rig.worker.handle(event(&source), soon(600)).await.unwrap();
    assert_eq!(response.summary.by_severity.low, 1);
    assert!(rig.object(DATED).await.is_some());
    assert!(rig.alerts().await.is_empty(), "no alert for tag-only drift");
    assert_eq!(rig.records("workspace_checked")[0]["CriticalDrift"], 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_terraform_clean_and_failing_bundles() {
    let rig = rig(|_| common::terraform()).await;

    // Exit code 0: outputs only, state included in the bundle (local backend).
    let clean_dir = rig.tmp.path().join("clean");
    std::fs::create_dir_all(&clean_dir).unwrap();
    let config = "output \"vpc_id\" {\n  value = \"vpc-0a1b2c\"\n}\n";
    std::fs::write(clean_dir.join("main.tf"), config).unwrap();
    for args in [
        &["init", "-input=false"][..],
        &["apply", "-auto-approve", "-input=false"],
    ] {
        let out = std::process::Command::new(common::terraform())
            .args(args)
            .env("CHECKPOINT_DISABLE", "1")
            .current_dir(&clean_dir)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let state = std::fs::read(clean_dir.join("terraform.tfstate")).unwrap();
    let clean = rig
        .upload(
            "clean.zip",
            zip_of(&[
                ("main.tf", config.as_bytes()),
                ("terraform.tfstate", &state),
            ]),
        )
        .await;
    let mut ev = event(&clean);
    ev["mode"] = json!("both");
    let response = rig.worker.handle(ev, soon(600)).await.unwrap();
    assert_eq!(response.status.as_str(), "clean");
    let (report, _) = rig.object(DATED).await.unwrap();
    assert_eq!(report["terraform"]["exit_code"], 0);
    assert_eq!(report["terraform"]["version"], "1.0.3");
    assert!(rig.alerts().await.is_empty());

    // Exit code 2 with only an output changing: clean, with the reason noted.
    let changed = rig
        .upload(
            "changed.zip",
            zip_of(&[
                ("main.tf", b"output \"vpc_id\" {\n  value = \"vpc-99\"\n}\n"),
                ("terraform.tfstate", &state),
            ]),
        )
        .await;
    let mut ev = event(&changed);
    ev["workspace"] = json!("changed");
    ev["mode"] = json!("plan");
    let response = rig.worker.handle(ev, soon(600)).await.unwrap();
    assert_eq!(response.status.as_str(), "clean");
    let key = "drift-reports/prod/changed/2026/11/27/run-42.json";
    let (report, _) = rig.object(key).await.unwrap();
    assert_eq!(report["terraform"]["exit_code"], 2);
    assert!(report["terraform"]["notes"][0]
        .as_str()
        .unwrap()
        .contains("exited 2"));

    // Exit code 1: an error report, an error alert, and a final function error.
    let broken = rig
        .upload(
            "broken.zip",
            zip_of(&[(
                "main.tf",
                b"output \"x\" {\n  value = var.not_declared\n}\n",
            )]),
        )
        .await;
    let mut ev = event(&broken);
    ev["workspace"] = json!("broken");
    let err = rig.worker.handle(ev, soon(600)).await.unwrap_err();
    assert_eq!(err.error_type(), "DriftCheckFailed");
    let text = err.to_string();
    assert!(text.contains("undeclared input variable"), "{text}");
    assert!(
        text.contains("s3://reports/drift-reports/prod/broken/2026/11/27/run-42.json"),
        "{text}"
    );
    let (report, _) = rig
        .object("drift-reports/prod/broken/2026/11/27/run-42.json")
        .await
        .unwrap();
    assert_eq!(report["status"], "error");
    assert_eq!(report["terraform"]["exit_code"], 1);
    let alerts = rig.alerts().await;
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0]["MessageAttributes"]["severity"]["Value"], "error");
    assert!(alerts[0]["Subject"]
        .as_str()
        .unwrap()
        .contains("drift check failed"));
    let metrics = rig.records("workspace_checked");
    assert_eq!(metrics.last().unwrap()["DetectionErrors"], 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deep_and_endless_plans_end_in_error_reports_not_a_crashed_runtime() {
    // terraform's `show -json` prints `shown`, or output without end once
    // the file `endless` exists.
    let rig = rig(|dir| {
        let script = dir.join("terraform-hostile");
        std::fs::write(
            &script,
            format!(
                "#!/bin/sh\ncase \"$1\" in\n  init) exit 0 ;;\n  plan) exit 2 ;;\n  show) if [ -f {dir}/endless ]; then yes '{{\"format_version\":\"1.2\"}}'; else cat {dir}/shown; fi; exit 0 ;;\nesac\nexit 1\n",
                dir = dir.display()
            ),
        )
        .unwrap();
        std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .unwrap();
        script
    })
    .await;
    let deep = "[".repeat(100_000) + &"]".repeat(100_000);
    std::fs::write(
        rig.tmp.path().join("shown"),
        format!(
            r#"{{"format_version":"1.2","resource_drift":[{{"address":"aws_s3_bucket.a","mode":"managed","type":"aws_s3_bucket","name":"a","change":{{"actions":["update"],"before":{{"x":1}},"after":{{"x":{deep}}}}}}}]}}"#
        ),
    )
    .unwrap();
    let source = rig
        .upload("hostile.zip", zip_of(&[("main.tf", b"# replayed\n")]))
        .await;
    for (workspace, expected) in [
        ("deep", "nested more than 128 levels deep"),
        (
            "endless",
            "wrote more than 1048576 bytes of output and was stopped",
        ),
    ] {
        if workspace == "endless" {
            std::fs::write(rig.tmp.path().join("endless"), "").unwrap();
        }
        let mut ev = event(&source);
        ev["workspace"] = json!(workspace);
        ev["mode"] = json!("plan");
        let err = rig.worker.handle(ev, soon(600)).await.unwrap_err();
        assert_eq!(err.error_type(), "DriftCheckFailed", "{workspace}: {err}");
        assert!(err.to_string().contains(expected), "{workspace}: {err}");
        let key = format!("drift-reports/prod/{workspace}/2026/11/27/run-42.json");
        let (report, _) = rig.object(&key).await.unwrap();
        assert_eq!(report["status"], "error", "{workspace}");
        assert!(
            report["errors"].to_string().contains(expected),
            "{workspace}"
        );
    }
    // Each failed check is alerted, as any error is.
    let alerts = rig.alerts().await;
    assert_eq!(alerts.len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hanging_terraform_is_stopped_before_the_lambda_deadline() {
    let rig = rig(|dir| {
        let script = dir.join("terraform-hang");
        std::fs::write(
            &script,
            "#!/bin/sh\ncase \"$1\" in\n  init) exit 0 ;;\n  *) sleep 300 ;;\nesac\n",
        )
        .unwrap();
        std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .unwrap();
        script
    })
    .await;
    let source = rig.upload("slow.zip", zip_of(&[("main.tf", b"")])).await;
    // 20 s are kept back for the report: terraform gets about 4 s of its 300.
    let deadline = soon(24);
    let err = rig
        .worker
        .handle(event(&source), deadline)
        .await
        .unwrap_err();
    assert_eq!(err.error_type(), "DriftCheckTimedOut");
    // The reserve is the product's own margin for storing the report and
    // alerting: the answer comes before Lambda would stop the function.
    assert!(
        Instant::now() < deadline,
        "answered {:?} after the deadline",
        Instant::now() - deadline
    );
    let (report, _) = rig.object(DATED).await.unwrap();
    assert_eq!(report["status"], "timeout");
    assert_eq!(
        rig.alerts().await[0]["MessageAttributes"]["severity"]["Value"],
        "error"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_events_and_bad_bundles_end_in_clear_error_reports() {
    let rig = rig(|_| common::terraform()).await;

    // Not an event at all: no identity, so nothing is written.
    let err = rig
        .worker
        .handle(json!({"hello": "world"}), soon(600))
        .await
        .unwrap_err();
    assert_eq!(err.error_type(), "InvalidEvent");
    // The name is not quoted (it may be a misplaced secret); the fields
    // there are are listed.
    assert!(
        err.to_string()
            .contains("unknown field, expected one of `run_id`"),
        "{err}"
    );
    assert!(rig.keys().await.is_empty());

    // A named workspace with a bad field: an error report naming the fault,
    // dated by the run's start like the report of a valid event of the run.
    let mut bad = event("s3://bundles/x.zip");
    bad["account_id"] = json!("12");
    let err = rig.worker.handle(bad, soon(600)).await.unwrap_err();
    assert_eq!(err.error_type(), "InvalidEvent");
    let (report, _) = rig.object(DATED).await.expect("filed under the run's date");
    assert_eq!(report["status"], "error");
    assert!(report["errors"][0]["summary"]
        .as_str()
        .unwrap()
        .contains("`account_id` \"12\" must be 12 digits"));

    // Without a readable run start, the invocation's time dates the report.
    for (workspace, run_started_at) in [("undated", Some("last tuesday")), ("unstamped", None)] {
        let mut bad = event("s3://bundles/x.zip");
        bad["workspace"] = json!(workspace);
        bad["account_id"] = json!("12");
        match run_started_at {
            Some(text) => bad["run_started_at"] = json!(text),
            None => {
                bad.as_object_mut().unwrap().remove("run_started_at");
            }
        }
        let err = rig.worker.handle(bad, soon(600)).await.unwrap_err();
        assert_eq!(err.error_type(), "InvalidEvent");
        let key = format!("drift-reports/prod/{workspace}/2031/02/03/run-42.json");
        let keys = rig.keys().await;
        let (report, _) = rig
            .object(&key)
            .await
            .unwrap_or_else(|| panic!("no report at {key}: {keys:?}"));
        let summary = report["errors"][0]["summary"].as_str().unwrap();
        assert!(summary.contains("`account_id`"), "{summary}");
        assert_eq!(
            summary.contains("`run_started_at`"),
            run_started_at.is_some(),
            "{summary}"
        );
    }

    // A bundle that does not exist, in an event that leaves the run start to
    // the worker: the invocation's time dates the report.
    let mut missing = event("s3://bundles/nope.zip");
    missing["workspace"] = json!("missing");
    missing.as_object_mut().unwrap().remove("run_started_at");
    let err = rig.worker.handle(missing, soon(600)).await.unwrap_err();
    assert_eq!(err.error_type(), "DriftCheckFailed");
    let text = err.to_string();
    assert!(
        text.contains("the workspace bundle does not exist"),
        "{text}"
    );
    assert!(
        text.contains("s3://reports/drift-reports/prod/missing/2031/02/03/run-42.json"),
        "{text}"
    );

    // An archive that climbs out of its folder: refused, nothing unpacked.
    let evil = rig
        .upload(
            "evil.zip",
            zip_of(&[("main.tf", b""), ("../../escaped.tf", b"x")]),
        )
        .await;
    let mut ev = event(&evil);
    ev["workspace"] = json!("evil");
    let err = rig.worker.handle(ev, soon(600)).await.unwrap_err();
    assert!(err.to_string().contains("unsafe entry"), "{err}");
    assert!(!rig.tmp.path().join("escaped.tf").exists());
    let scratch_left: Vec<_> = std::fs::read_dir(&rig.worker.scratch_root)
        .unwrap()
        .flatten()
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with("drift-detection-worker-")
        })
        .collect();
    assert!(scratch_left.is_empty(), "scratch folders are removed");

    // Not a zip.
    let junk = rig.upload("junk.zip", b"PK? not really".to_vec()).await;
    let mut ev = event(&junk);
    ev["workspace"] = json!("junk");
    let err = rig.worker.handle(ev, soon(600)).await.unwrap_err();
    assert!(
        err.to_string().contains("not a readable zip archive"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_report_bucket_keeps_the_report_in_the_log() {
    let plan = common::repo().join("examples/plans/prod-network.refresh-only.json");
    let mut rig = rig(|dir| replaying_terraform(dir, &plan, 2)).await;
    rig.worker.config.report_bucket = "no-such-bucket".into();
    let source = rig.upload("network.zip", zip_of(&[("main.tf", b"")])).await;
    let err = rig
        .worker
        .handle(event(&source), soon(600))
        .await
        .unwrap_err();
    assert_eq!(err.error_type(), "ReportNotStored");
    assert!(err.to_string().contains("NoSuchBucket"), "{err}");
    let kept = rig.records("report_not_stored");
    assert_eq!(kept.len(), 1);
    assert_eq!(kept[0]["report"]["status"], "drift");
    assert_eq!(kept[0]["report"]["summary"]["drifted_resources"], 2);
    // The alert still goes out, saying the report was not stored.
    let alerts = rig.alerts().await;
    assert!(alerts[0]["Message"]
        .as_str()
        .unwrap()
        .contains("not stored"));

    // With the whole API gone, the SDK retries and the worker still answers.
    rig.moto.stop();
    let started = Instant::now();
    let err = rig
        .worker
        .handle(event(&source), soon(600))
        .await
        .unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(120));
    // The bundle cannot be read, nor the error report stored: the report
    // with the reason is in the log, and the error asks for a retry.
    assert_eq!(err.error_type(), "ReportNotStored", "{err}");
    let kept = rig.records("report_not_stored");
    assert_eq!(kept.len(), 2);
    assert_eq!(kept[1]["report"]["status"], "error");
    assert!(kept[1]["report"]["errors"][0]["detail"]
        .as_str()
        .unwrap()
        .contains("Connection refused"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn denied_bundles_and_roles_end_in_error_reports_that_say_what_to_grant() {
    let mut rig = rig(|_| common::terraform()).await;
    let source = rig.upload("network.zip", zip_of(&[("main.tf", b"")])).await;
    // The worker's role may write reports, and nothing else: it may neither
    // read the bundle nor assume the workspace's role. (Under enforcement
    // moto refuses the SDK's signatures on form-encoded calls, STS and SNS,
    // with a bare 403: the refusal of the role is real, its code is not
    // readable, and no alert gets through whatever the policy.)
    let policy = json!({
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": "s3:PutObject", "Resource": "arn:aws:s3:::reports/*"}
        ]
    });
    let sdk = rig
        .moto
        .user_with_policy("drift-detection-worker", &policy)
        .await;
    rig.worker.cloud = Aws::new(&sdk);

    rig.moto.enforce_iam(true);
    let denied_read = rig.worker.handle(event(&source), soon(600)).await;
    let mut assumed = event(&source);
    assumed["workspace"] = json!("assumed");
    assumed["role_arn"] = json!("arn:aws:iam::111111111111:role/drift-detection-read");
    assumed["external_id"] = json!(EXTERNAL_ID);
    let denied_role = rig.worker.handle(assumed, soon(600)).await;
    rig.moto.enforce_iam(false);

    // The error reports are stored and say what the role lacks.
    let (report, _) = rig.object(DATED).await.expect("error report stored");
    assert_eq!(report["status"], "error");
    let error = report["errors"][0].to_string();
    assert!(
        error.contains(
            "the worker role may not read this bundle: add it to the stack's workspace_bundle_arns"
        ),
        "{error}"
    );
    assert!(error.contains("AccessDenied"), "{error}");

    let (report, _) = rig
        .object("drift-reports/prod/assumed/2026/11/27/run-42.json")
        .await
        .expect("error report stored");
    assert_eq!(report["status"], "error");
    let error = &report["errors"][0];
    assert!(
        error["summary"]
            .as_str()
            .unwrap()
            .starts_with("cannot assume arn:aws:iam::111111111111:role/drift-detection-read"),
        "{error}"
    );
    let detail = error["detail"].as_str().unwrap();
    assert!(detail.contains("HTTP 403"), "{detail}");
    assert!(detail.contains("trusts the worker role"), "{detail}");
    let error = error.to_string();
    assert!(!error.contains(EXTERNAL_ID));
    assert!(!rig.all_output().contains(EXTERNAL_ID));

    // The alert that could not go out is an error of its own, which names
    // where the report is and reads as a sentence, not as an HTTP dump.
    for result in [denied_read, denied_role] {
        let err = result.unwrap_err();
        assert_eq!(err.error_type(), "AlertNotSent", "{err}");
        let text = err.to_string();
        assert!(
            text.contains("the report is stored at s3://reports/"),
            "{text}"
        );
        assert!(
            text.contains("the service refused the request with HTTP 403"),
            "{text}"
        );
        assert!(!text.contains("ServiceError"), "{text}");
    }
}

/// The resource index (issue 16) through the SDK against moto's DynamoDB:
/// an event check with `INDEX_TABLE` writes one item per identifier of the
/// sidecar's claims and the workspace's `claims` item, leaves the trigger's
/// `debounce` item alone, and a second check with the same claims writes
/// nothing (the stored digest is fresh).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_check_writes_the_resource_index_to_dynamodb() {
    use aws_sdk_dynamodb::types::{
        AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType,
        ScalarAttributeType,
    };
    const TABLE: &str = "drift-detection-resource-index-test";
    let plan = common::repo().join("examples/plans/prod-network.refresh-only.json");
    let mut rig = rig(|dir| replaying_terraform(dir, &plan, 2)).await;
    rig.worker.config.index_table = Some(TABLE.into());
    let dynamodb = aws_sdk_dynamodb::Client::new(&rig.moto.sdk_config().await);
    let key = |name: &str, kind| {
        KeySchemaElement::builder()
            .attribute_name(name)
            .key_type(kind)
            .build()
            .unwrap()
    };
    let attribute = |name: &str| {
        AttributeDefinition::builder()
            .attribute_name(name)
            .attribute_type(ScalarAttributeType::S)
            .build()
            .unwrap()
    };
    dynamodb
        .create_table()
        .table_name(TABLE)
        .key_schema(key("pk", KeyType::Hash))
        .key_schema(key("sk", KeyType::Range))
        .attribute_definitions(attribute("pk"))
        .attribute_definitions(attribute("sk"))
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await
        .unwrap();
    let s = |t: &str| AttributeValue::S(t.to_string());
    dynamodb
        .put_item()
        .table_name(TABLE)
        .item("pk", s("ws#prod/network"))
        .item("sk", s("debounce"))
        .item("next_at", AttributeValue::N("7".into()))
        .send()
        .await
        .unwrap();
    let source = rig
        .upload("network.zip", zip_of(&[("main.tf", b"# replayed\n")]))
        .await;
    let mut event = event(&source);
    event["trigger"] = json!({"kind": "event", "events": [{
        "id": "e1", "source": "aws.ec2", "name": "AuthorizeSecurityGroupIngress",
        "principal": "unknown", "time": "2031-02-03T04:00:00Z",
        "account_id": "111111111111", "region": "us-east-1", "resources": ["sg-0app"],
    }]});

    let response = rig.worker.handle(event.clone(), soon(600)).await.unwrap();

    let (claims, _) = rig
        .object(response.managed_key.as_deref().unwrap())
        .await
        .unwrap();
    let claims: drift_core::unmanaged::ManagedResources = serde_json::from_value(claims).unwrap();
    let expected = drift_core::index::items(&claims);
    assert!(expected.len() > 25, "several batches: {}", expected.len());
    let scan = dynamodb.scan().table_name(TABLE).send().await.unwrap();
    let text = |item: &std::collections::HashMap<String, AttributeValue>, name: &str| {
        item.get(name)
            .and_then(|v| v.as_s().ok())
            .cloned()
            .unwrap_or_default()
    };
    let number = |item: &std::collections::HashMap<String, AttributeValue>, name: &str| {
        item.get(name)
            .and_then(|v| v.as_n().ok())
            .map(|n| n.parse::<i64>().unwrap())
            .unwrap()
    };
    let items = scan.items();
    let mut resources: Vec<(String, String)> = items
        .iter()
        .filter(|i| text(i, "pk").starts_with("res#"))
        .map(|i| (text(i, "pk"), text(i, "sk")))
        .collect();
    resources.sort();
    let want: Vec<(String, String)> = expected
        .iter()
        .map(|i| (i.pk.clone(), i.sk.clone()))
        .collect();
    assert_eq!(resources, want);
    let now = invoked_at().timestamp();
    let sg = items
        .iter()
        .find(|i| text(i, "address") == "aws_security_group.app")
        .unwrap();
    assert_eq!(text(sg, "type"), "aws_security_group");
    assert_eq!(text(sg, "run_id"), "run-42");
    assert_eq!(text(sg, "seen_at"), "2031-02-03T04:05:06Z");
    assert_eq!(number(sg, "expires_at"), now + 24 * 3600);
    let own = |sk: &str| {
        items
            .iter()
            .find(|i| text(i, "pk") == "ws#prod/network" && text(i, "sk") == sk)
            .cloned()
            .unwrap()
    };
    let summary = own("claims");
    assert_eq!(
        text(&summary, "digest"),
        drift_core::index::digest(&expected)
    );
    assert_eq!(number(&summary, "count"), expected.len() as i64);
    assert_eq!(number(&summary, "written_at"), now);
    assert_eq!(
        number(&own("debounce"), "next_at"),
        7,
        "the trigger's item is untouched"
    );
    let line = &rig.records("index_written")[0];
    assert_eq!(line["IndexItemsWritten"], expected.len());
    assert_eq!(line["IndexWriteErrors"], 0);
    assert_eq!(
        rig.records("detection_latency")[0]["DetectionLatencySeconds"],
        306.0
    );
    let (report, _) = rig.object(DATED).await.unwrap();
    assert_eq!(report["trigger"], event["trigger"]);

    // The same claims again, just written: one read, no write.
    rig.worker.handle(event, soon(600)).await.unwrap();
    let line = &rig.records("index_written")[1];
    assert_eq!(line["skipped"], true);
    assert_eq!(line["IndexItemsWritten"], 0);
}
