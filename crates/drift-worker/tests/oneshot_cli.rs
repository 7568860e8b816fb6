//! The worker binary's one-shot mode at the command line: argument errors,
//! the answer on stdout and in the response file, and the exit codes, on
//! inputs that need no AWS endpoint. (The check itself, on an in-memory
//! cloud, is `drift_worker::oneshot`'s unit tests; the whole workspace's
//! other suites live in the repository's tests/.)

use std::io::Write;
use std::process::{Command, Output, Stdio};

use serde_json::{json, Value};

const CONFIGURED: [(&str, &str); 3] = [
    ("REPORT_BUCKET", "reports"),
    ("SNS_TOPIC_ARN", "arn:aws:sns:us-east-1:111111111111:alerts"),
    ("AWS_REGION", "us-east-1"),
];

fn worker(args: &[&str], env: &[(&str, &str)], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_drift-detection-worker"))
        .args(args)
        .env_clear()
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the worker binary runs");
    let _ = child.stdin.take().unwrap().write_all(stdin.as_bytes());
    child.wait_with_output().unwrap()
}

/// The one line of stdout, as JSON.
fn answer(output: &Output) -> Value {
    let stdout = String::from_utf8(output.stdout.clone()).unwrap();
    assert_eq!(stdout.lines().count(), 1, "stdout: {stdout}");
    serde_json::from_str(&stdout).unwrap()
}

#[test]
fn bad_arguments_are_usage_errors_with_exit_code_2() {
    for args in [
        &["--response-file", "out.json"][..],
        &["--event-file"],
        &["--event-file", "e.json", "--timeout", "5"],
        &["--event-file", "e.json", "--timeout", "soon"],
        &["--event-file", "e.json", "--verbose"],
        &["check"],
    ] {
        let output = worker(args, &CONFIGURED, "");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.starts_with("error: "), "{args:?}: {stderr}");
        assert!(output.stdout.is_empty(), "{args:?}");
    }
    let output = worker(&["--help"], &[], "");
    assert_eq!(output.status.code(), Some(0));
    let help = String::from_utf8_lossy(&output.stdout);
    assert!(
        help.contains("--event-file") && help.contains("3 InvalidEvent"),
        "{help}"
    );
}

#[test]
fn an_unreadable_or_broken_event_answers_invalid_event_with_exit_code_3() {
    let tmp = tempfile::tempdir().unwrap();
    let response = tmp.path().join("response.json");
    let missing = tmp.path().join("missing.json");
    let output = worker(
        &[
            "--event-file",
            missing.to_str().unwrap(),
            "--response-file",
            response.to_str().unwrap(),
        ],
        &CONFIGURED,
        "",
    );
    assert_eq!(output.status.code(), Some(3));
    let body = answer(&output);
    assert_eq!(body["errorType"], "InvalidEvent");
    assert!(body["errorMessage"]
        .as_str()
        .unwrap()
        .contains("missing.json cannot be read"));
    let written: Value =
        serde_json::from_str(&std::fs::read_to_string(&response).unwrap()).unwrap();
    assert_eq!(written, body);

    let output = worker(&["--event-file", "-"], &CONFIGURED, "[1, 2");
    assert_eq!(output.status.code(), Some(3));
    assert!(answer(&output)["errorMessage"]
        .as_str()
        .unwrap()
        .starts_with("the event is not JSON"));

    // JSON, but no workspace named: nothing to store, no AWS call.
    let output = worker(&["--event-file", "-"], &CONFIGURED, "{\"run_id\": \"r\"}");
    assert_eq!(output.status.code(), Some(3));
    assert!(answer(&output)["errorMessage"]
        .as_str()
        .unwrap()
        .contains("missing field `workspace`"));
}

#[test]
fn a_misconfigured_worker_answers_before_reading_the_event() {
    let tmp = tempfile::tempdir().unwrap();
    let response = tmp.path().join("response.json");
    let output = worker(
        &[
            "--event-file",
            "-",
            "--response-file",
            response.to_str().unwrap(),
        ],
        &[("AWS_REGION", "us-east-1"), ("TERRAFORM_PARALLELISM", "0")],
        "{}",
    );
    assert_eq!(output.status.code(), Some(2));
    let body = answer(&output);
    assert_eq!(body["errorType"], "WorkerMisconfigured");
    let message = body["errorMessage"].as_str().unwrap();
    for named in [
        "REPORT_BUCKET",
        "SNS_TOPIC_ARN",
        "TERRAFORM_PARALLELISM \"0\"",
    ] {
        assert!(message.contains(named), "{named}: {message}");
    }
    assert_eq!(
        serde_json::from_str::<Value>(&std::fs::read_to_string(&response).unwrap()).unwrap(),
        body
    );

    // A response file that cannot be written stops the run before the check.
    let output = worker(
        &[
            "--event-file",
            "-",
            "--response-file",
            tmp.path().join("no/such/dir").to_str().unwrap(),
        ],
        &CONFIGURED,
        &json!({"run_id": "r"}).to_string(),
    );
    assert_eq!(output.status.code(), Some(2));
    assert!(output.stdout.is_empty());
    assert!(String::from_utf8_lossy(&output.stderr).contains("cannot be written"));
}
