//! Hostile input against the real binary: each class the issue tracker
//! reproduced (deep nesting, limits that could be bypassed, sensitive values
//! in the shapes the diff missed, malformed entries that read as clean,
//! Terraform 1.0.0's drift, Windows encodings) ends in a clear error report
//! for that one input, never an abort, a hang, a lost report or a leak.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::{json, Value};

const SECRET: &str = "hunter2-s3cr3t";

/// The binary under test; `DRIFT_TEST_BIN` points these tests at another
/// build (an older release, to show what each test catches).
fn bin() -> Command {
    match std::env::var_os("DRIFT_TEST_BIN") {
        Some(path) => Command::new(path),
        None => Command::new(env!("CARGO_BIN_EXE_drift-detection")),
    }
}

fn analyze(args: &[&str], out: &Path) -> Output {
    bin()
        .arg("analyze")
        .args(args)
        .arg("--out")
        .arg(out)
        .output()
        .expect("the binary runs")
}

/// Every JSON report under `out`, by workspace name (wherever the report
/// files are named).
fn reports(out: &Path) -> BTreeMap<String, Value> {
    let mut found = BTreeMap::new();
    let mut dirs = vec![out.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "json") {
                let report: Value =
                    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
                let name = report["workspace"]["name"].as_str().unwrap().to_string();
                assert!(
                    found.insert(name, report).is_none(),
                    "two reports of one name"
                );
            }
        }
    }
    found
}

/// Everything a run left behind: stdout, stderr and every report file.
fn everything(output: &Output, out: &Path) -> String {
    let mut text = String::from_utf8_lossy(&output.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&output.stderr));
    let mut dirs = vec![out.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else {
                text.push_str(&std::fs::read_to_string(&path).unwrap());
            }
        }
    }
    text
}

fn write(dir: &Path, name: &str, content: impl AsRef<[u8]>) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, content).unwrap();
    path
}

fn nested(depth: usize) -> String {
    format!("{}{}", "[".repeat(depth), "]".repeat(depth))
}

fn plan(drift: Value, changes: Value) -> Value {
    json!({"format_version": "1.2", "terraform_version": "1.9.8",
           "resource_drift": drift, "resource_changes": changes})
}

fn change(address: &str, body: Value) -> Value {
    let (kind, name) = address.split_once('.').unwrap();
    json!({"address": address, "mode": "managed", "type": kind, "name": name,
           "provider_name": "registry.terraform.io/hashicorp/aws", "change": body})
}

#[test]
fn deep_nesting_anywhere_costs_only_its_own_report() {
    let tmp = tempfile::tempdir().unwrap();
    let good = write(
        tmp.path(),
        "good.json",
        plan(
            json!([change(
                "aws_s3_bucket.logs",
                json!({"actions": ["update"],
                "before": {"acl": "private"}, "after": {"acl": "public-read"}})
            )]),
            json!([]),
        )
        .to_string(),
    );
    let deep = nested(100_000);
    let inputs = [
        // In an ignored top-level field, a changed value, a no-op change.
        format!(r#"{{"format_version":"1.2","variables":{{"v":{{"value":{deep}}}}},"resource_changes":[]}}"#),
        format!(
            r#"{{"format_version":"1.2","resource_drift":[{{"address":"aws_s3_bucket.a","mode":"managed","type":"aws_s3_bucket","name":"a","change":{{"actions":["update"],"before":{{"x":1}},"after":{{"x":{deep}}}}}}}]}}"#
        ),
        format!(
            r#"{{"format_version":"1.2","resource_changes":[{{"address":"aws_s3_bucket.a","mode":"managed","type":"aws_s3_bucket","name":"a","change":{{"actions":["no-op"],"before":{{"x":{deep}}},"after":{{"x":{deep}}}}}}}]}}"#
        ),
        // The second line of a JSON-lines stream.
        format!("{{\"type\":\"version\",\"terraform\":\"1.9.8\",\"ui\":\"1.2\"}}\n{{\"type\":\"log\",\"x\":{deep}}}\n"),
        // Objects, not only arrays.
        format!(
            r#"{{"format_version":"1.2","configuration":{}{}}}"#,
            "{\"a\":".repeat(50_000),
            "}".repeat(50_000)
        ),
    ];
    let mut args = vec![good.to_str().unwrap().to_string()];
    for (i, input) in inputs.iter().enumerate() {
        args.push(
            write(tmp.path(), &format!("deep{i}.json"), input)
                .to_str()
                .unwrap()
                .to_string(),
        );
    }
    let out = tmp.path().join("reports");
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let output = analyze(&args, &out);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    let reports = reports(&out);
    assert_eq!(reports.len(), 6, "{stderr}");
    assert_eq!(reports["good"]["status"], "drift");
    for i in [0, 1, 2, 4] {
        let report = &reports[&format!("deep{i}")];
        assert_eq!(report["status"], "error", "deep{i}");
        let error = report["errors"][0]["summary"].as_str().unwrap();
        assert!(
            error.contains("nested more than 128 levels deep"),
            "{error}"
        );
    }
    // In a stream, the deep line is that line's error; the rest is read.
    let stream = &reports["deep3"];
    assert_eq!(stream["status"], "error");
    assert_eq!(stream["terraform"]["version"], "1.9.8");
}

/// A stand-in terraform: `init` and `plan` succeed (plan says "changes"),
/// `show` runs `show_command`.
fn stand_in_terraform(dir: &Path, show_command: &str) -> PathBuf {
    let script = write(
        dir,
        "terraform",
        format!(
            "#!/bin/sh\ncase \"$1\" in\n  init) exit 0 ;;\n  plan) exit 2 ;;\n  show) {show_command}; exit 0 ;;\nesac\nexit 1\n"
        ),
    );
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    script
}

#[test]
fn scan_survives_deep_and_endless_terraform_output() {
    let tmp = tempfile::tempdir().unwrap();
    let deep = write(
        tmp.path(),
        "deep-show.json",
        format!(
            r#"{{"format_version":"1.2","resource_drift":[{{"address":"aws_s3_bucket.a","mode":"managed","type":"aws_s3_bucket","name":"a","change":{{"actions":["update"],"before":{{"x":1}},"after":{{"x":{}}}}}}}]}}"#,
            nested(20_000)
        ),
    );
    for (name, show, expected) in [
        // `scan` checks each workspace on a 2 MiB worker thread: depth
        // 3,000 was enough to abort it.
        (
            "deep",
            format!("cat {}", deep.display()),
            "nested more than 128 levels deep",
        ),
        (
            "endless",
            "yes '{\"format_version\":\"1.2\"}'".to_string(),
            "wrote more than 1048576 bytes of output and was stopped",
        ),
    ] {
        let workspace = tmp.path().join(name);
        std::fs::create_dir_all(&workspace).unwrap();
        std::fs::write(workspace.join("main.tf"), "").unwrap();
        let tools = tmp.path().join(format!("{name}-tools"));
        std::fs::create_dir_all(&tools).unwrap();
        let terraform = stand_in_terraform(&tools, &show);
        let out = tmp.path().join(format!("{name}-reports"));
        let output = bin()
            .args([
                "scan",
                "--mode",
                "plan",
                "--timeout",
                "600",
                "--max-input-bytes",
                "1048576",
            ])
            .arg(&workspace)
            .arg("--terraform")
            .arg(&terraform)
            .arg("--out")
            .arg(&out)
            .arg("-q")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{name}: {stderr}");
        let report = &reports(&out)[name];
        assert_eq!(report["status"], "error", "{name}");
        assert!(
            report["errors"].to_string().contains(expected),
            "{name}: {}",
            report["errors"]
        );
    }
}

#[test]
fn endless_and_binary_input_is_refused_at_once() {
    let tmp = tempfile::tempdir().unwrap();
    // `cat /dev/zero | drift-detection analyze -` aborted on a 4 GiB
    // allocation; `analyze /dev/zero` read 1 GiB before refusing.
    for (args, stdin) in [
        (vec!["-"], Some("/dev/zero")),
        (vec!["/dev/zero"], None),
        (
            vec!["-", "--max-input-bytes", "1048576"],
            Some("/dev/urandom"),
        ),
    ] {
        let out = tmp.path().join("reports");
        let mut command = bin();
        command.arg("analyze").args(&args).arg("--out").arg(&out);
        command.stdin(match stdin {
            Some(path) => Stdio::from(std::fs::File::open(path).unwrap()),
            None => Stdio::null(),
        });
        let output = command.output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{args:?}: {stderr}");
        assert!(
            stderr.contains("expected a JSON object"),
            "{args:?}: {stderr}"
        );
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
    }
    // A stream whose second line never ends: refused within the limit.
    let mut child = bin()
        .args(["analyze", "-", "--max-input-bytes", "1048576", "--out"])
        .arg(tmp.path().join("stream-reports"))
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let feeder = std::thread::spawn(move || {
        use std::io::Write;
        let _ = stdin.write_all(b"{\"type\":\"version\",\"terraform\":\"1.9.8\"}\n");
        let chunk = vec![b'x'; 64 * 1024];
        // Stops when the reader hangs up, as `cat /dev/zero` would.
        while stdin.write_all(&chunk).is_ok() {}
    });
    let output = child.wait_with_output().unwrap();
    feeder.join().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("over the limit of 1048576 bytes"),
        "{stderr}"
    );
}

#[test]
fn sensitive_values_leak_in_no_shape_and_no_format() {
    let tmp = tempfile::tempdir().unwrap();
    let drift = json!([
        // (a) an attribute whose type changes, object -> string
        change(
            "aws_db_instance.a",
            json!({"actions": ["update"],
            "before": {"cfg": {"password": SECRET, "user": "admin"}}, "after": {"cfg": "plain"},
            "before_sensitive": {"cfg": {"password": true}}, "after_sensitive": {}, "after_unknown": {}})
        ),
        // (a) list -> {}
        change(
            "aws_db_instance.b",
            json!({"actions": ["update"],
            "before": {"cfg": [{"token": SECRET}]}, "after": {"cfg": {}},
            "before_sensitive": {"cfg": [{"token": true}]}, "after_sensitive": {}, "after_unknown": {}})
        ),
        // (c) keys of a sensitive map, in paths and replace_paths
        change(
            "aws_ssm_parameter.c",
            json!({"actions": ["delete", "create"],
            "before": {"map": {SECRET: "v1"}}, "after": {"map": {SECRET: "v2"}},
            "before_sensitive": {"map": true}, "after_sensitive": {"map": true}, "after_unknown": {},
            "replace_paths": [["map", SECRET]]})
        ),
    ]);
    let changes = json!([
        // (b) an attribute that becomes unknown
        change(
            "aws_db_instance.d",
            json!({"actions": ["update"],
            "before": {"cfg": {"password": SECRET, "user": "admin"}, "name": "d"}, "after": {"name": "d"},
            "before_sensitive": {"cfg": {"password": true}}, "after_sensitive": {},
            "after_unknown": {"cfg": true}})
        ),
        // (d) a shape error quoting the input
        change("aws_db_instance.e", json!({"actions": SECRET})),
    ]);
    let path = write(tmp.path(), "leaky.json", plan(drift, changes).to_string());
    for format in ["table", "json", "markdown"] {
        let out = tmp.path().join(format!("reports-{format}"));
        let output = analyze(&[path.to_str().unwrap(), "--format", format], &out);
        let all = everything(&output, &out);
        assert!(!all.contains(SECRET), "{format}: {all}");
        assert!(all.contains("(sensitive value)"), "{format}");
        // The malformed entry makes the report an error, never clean.
        assert_eq!(output.status.code(), Some(1), "{format}");
    }
    let report = &reports(&tmp.path().join("reports-json"))["leaky"];
    let replaced = report["drift"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["address"] == "aws_ssm_parameter.c")
        .unwrap();
    assert_eq!(replaced["replace_paths"], json!(["map"]));
    assert_eq!(replaced["changed_attributes"][0]["path"], "map");
}

#[test]
fn malformed_action_lists_never_read_as_clean() {
    let tmp = tempfile::tempdir().unwrap();
    for (i, actions) in [
        Value::Null,
        json!(null),
        json!([]),
        json!(["no-op", "update"]),
        json!(["read", "delete"]),
    ]
    .into_iter()
    .enumerate()
    {
        let mut body = json!({"before": {"a": 1}, "after": {"a": 2}});
        if i > 0 {
            body["actions"] = actions.clone();
        }
        let path = write(
            tmp.path(),
            &format!("actions{i}.json"),
            plan(json!([change("aws_s3_bucket.a", body)]), json!([])).to_string(),
        );
        let out = tmp.path().join(format!("reports{i}"));
        let output = analyze(&[path.to_str().unwrap(), "-q"], &out);
        assert_eq!(output.status.code(), Some(1), "{actions}");
        let report = &reports(&out)[&format!("actions{i}")];
        assert_eq!(report["status"], "error", "{actions}");
        assert_eq!(report["errors"][0]["address"], "aws_s3_bucket.a");
    }
}

#[test]
fn terraform_1_0_0_drift_is_reported_and_one_bad_entry_costs_only_itself() {
    let tmp = tempfile::tempdir().unwrap();
    // Terraform 1.0.0's drift entries carry no address (jsonplan at v1.0.0).
    let drift = json!([
        {"module_address": "module.net", "mode": "managed", "type": "aws_security_group", "name": "web",
         "change": {"actions": ["update"], "before": {"description": "a"}, "after": {"description": "b"},
                    "before_sensitive": {}, "after_sensitive": {}}},
        {"address": "aws_s3_bucket.broken", "mode": "managed", "type": "aws_s3_bucket", "name": "broken",
         "change": {"actions": "update"}},
    ]);
    let mut document = plan(drift, json!([]));
    document["terraform_version"] = json!("1.0.0");
    let path = write(tmp.path(), "v100.json", document.to_string());
    let out = tmp.path().join("reports");
    let output = analyze(&[path.to_str().unwrap(), "-q"], &out);
    assert_eq!(output.status.code(), Some(1));
    let report = &reports(&out)["v100"];
    assert_eq!(report["status"], "error");
    assert_eq!(report["summary"]["drifted_resources"], 1);
    assert_eq!(
        report["drift"][0]["address"],
        "module.net.aws_security_group.web"
    );
    let errors = report["errors"].to_string();
    assert!(
        errors.contains("resource_drift[1] (aws_s3_bucket.broken)"),
        "{errors}"
    );
    assert!(errors.contains("have no `address`"), "{errors}");
}

#[test]
fn windows_encodings_read_like_utf8() {
    let tmp = tempfile::tempdir().unwrap();
    let document = plan(
        json!([change(
            "aws_s3_bucket.logs",
            json!({"actions": ["update"],
            "before": {"acl": "private"}, "after": {"acl": "public-read"}})
        )]),
        json!([]),
    )
    .to_string();
    let utf16le: Vec<u8> = [0xFF, 0xFE]
        .into_iter()
        .chain(document.encode_utf16().flat_map(u16::to_le_bytes))
        .collect();
    let bom: Vec<u8> = b"\xEF\xBB\xBF"
        .iter()
        .copied()
        .chain(document.bytes())
        .collect();
    let mut args = Vec::new();
    for (name, bytes) in [
        ("utf8", document.into_bytes()),
        ("bom", bom),
        ("utf16", utf16le),
    ] {
        args.push(write(tmp.path(), &format!("{name}.json"), bytes));
    }
    let out = tmp.path().join("reports");
    let args: Vec<&str> = args.iter().map(|p| p.to_str().unwrap()).collect();
    let output = analyze(&args, &out);
    assert_eq!(
        output.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let reports = reports(&out);
    for name in ["bom", "utf16"] {
        assert_eq!(reports[name]["drift"], reports["utf8"]["drift"], "{name}");
    }
}
