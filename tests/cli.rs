//! The `drift-detection` binary: bad input gives one clear line and an error
//! report; exit codes tell clean, drift, critical, pending and error apart.

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;

/// The binary under test; `DRIFT_TEST_BIN` points these tests at another
/// build (an older release, to show what each test catches).
fn bin() -> Command {
    match std::env::var_os("DRIFT_TEST_BIN") {
        Some(path) => Command::new(path),
        None => Command::new(env!("CARGO_BIN_EXE_drift-detection")),
    }
}

fn run(args: &[&str], out: &Path) -> Output {
    bin()
        .args(args)
        .arg("--out")
        .arg(out)
        .output()
        .expect("the binary runs")
}

fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn write(dir: &Path, name: &str, content: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, content).unwrap();
    path
}

#[test]
fn bad_inputs_give_one_clear_line_and_an_error_report() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("reports");
    let cases: Vec<(&str, &[u8], &str)> = vec![
        (
            "garbage.json",
            b"this is not json",
            "expected a JSON object",
        ),
        ("empty.json", b"   \n", "the input is empty"),
        (
            "truncated.json",
            b"{\"format_version\": \"1.2\", \"resource_changes\": [",
            "not valid JSON at line 1",
        ),
        (
            "wrong.json",
            b"{\"format_version\": \"1.2\", \"resource_changes\": {\"a\": 1}}",
            "unexpected shape",
        ),
        (
            "other.json",
            b"{\"hello\": \"world\"}",
            "not Terraform plan output",
        ),
    ];
    for (name, content, expected) in cases {
        let path = write(tmp.path(), name, content);
        let output = run(&["analyze", path.to_str().unwrap(), "-q"], &out);
        assert_eq!(output.status.code(), Some(1), "{name}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(stderr.lines().count(), 1, "{name}: {stderr}");
        assert!(
            stderr.contains(name) && stderr.contains(expected),
            "{name}: {stderr}"
        );
        assert!(!stderr.contains("panicked"), "{stderr}");
        let stem = name.trim_end_matches(".json");
        let report = read_json(&out.join("_").join(format!("{stem}.json")));
        assert_eq!(report["status"], "error", "{name}");
        assert!(report["errors"][0]["summary"]
            .as_str()
            .unwrap()
            .contains(expected));
    }
}

#[test]
fn oversize_and_missing_inputs_are_errors_too() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("reports");
    let big = write(
        tmp.path(),
        "big.json",
        format!(
            "{{\"format_version\":\"1.2\",\"x\":\"{}\"}}",
            "a".repeat(4096)
        )
        .as_bytes(),
    );
    let output = run(
        &[
            "analyze",
            big.to_str().unwrap(),
            "--max-input-bytes",
            "1024",
            "-q",
        ],
        &out,
    );
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stderr).contains("over the limit of 1024 bytes"));

    let output = run(&["analyze", "/nonexistent/plan.json", "-q"], &out);
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stderr).contains("/nonexistent/plan.json"));
}

#[test]
fn usage_errors_never_read_as_drift() {
    let output = bin().args(["analyze"]).output().unwrap();
    assert_eq!(output.status.code(), Some(1));
    let output = bin().args(["frobnicate"]).output().unwrap();
    assert_eq!(output.status.code(), Some(1));
    let output = bin().args(["--help"]).output().unwrap();
    assert_eq!(output.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&output.stdout).contains("Exit codes"));
}

#[test]
fn reads_a_stream_from_stdin() {
    let tmp = tempfile::tempdir().unwrap();
    let stream = std::fs::read(
        common::shared_fixtures()
            .join("plan-stream/golit-TestOperationJSON_planDriftWithMove.jsonl"),
    )
    .unwrap();
    let mut child = bin()
        .args([
            "analyze",
            "-",
            "--format",
            "json",
            "--environment",
            "ci",
            "--out",
        ])
        .arg(tmp.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(&stream).unwrap();
    let output = child.wait_with_output().unwrap();
    assert_eq!(
        output.status.code(),
        Some(2),
        "high-severity drift, nothing critical"
    );
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["workspace"]["name"], "stdin");
    assert_eq!(report["status"], "drift");
    assert!(tmp.path().join("ci/stdin.json").is_file());
    assert!(tmp.path().join("ci/stdin.md").is_file());
}

#[test]
fn exit_codes_follow_the_findings() {
    let tmp = tempfile::tempdir().unwrap();
    let fixtures = common::shared_fixtures();
    let code = |fixture: &str, extra: &[&str]| {
        let path = fixtures.join(fixture);
        let mut args = vec!["analyze", path.to_str().unwrap(), "-q"];
        args.extend_from_slice(extra);
        run(&args, tmp.path()).status.code()
    };
    assert_eq!(code("show-json/basic-update/output.json", &[]), Some(0));
    assert_eq!(
        code("show-json/equivalence-drift_refresh_only/output.json", &[]),
        Some(2)
    );
    assert_eq!(code("show-json/basic-delete/output.json", &[]), Some(4));
    assert_eq!(
        code("plan-stream/cloud-plan-json-error.jsonl", &[]),
        Some(1)
    );
    // A reported exit code is recorded and reconciled with the content.
    assert_eq!(
        code(
            "show-json/basic-update/output.json",
            &["--terraform-exit-code", "2", "--workspace", "reconciled"]
        ),
        Some(0)
    );
    let report = read_json(&tmp.path().join("_/reconciled.json"));
    assert_eq!(report["terraform"]["exit_code"], 2);
    assert_eq!(report["status"], "clean");
    assert!(report["terraform"]["notes"][0]
        .as_str()
        .unwrap()
        .contains("exited 2"));
}

#[test]
fn a_critical_finding_exits_3_and_user_rules_can_change_it() {
    let tmp = tempfile::tempdir().unwrap();
    let plan = write(
        tmp.path(),
        "sg.json",
        br#"{"format_version":"1.2","resource_drift":[{"address":"aws_security_group.web","mode":"managed","type":"aws_security_group","name":"web",
            "change":{"actions":["update"],"before":{"ingress":[]},"after":{"ingress":[{"protocol":"tcp","from_port":22,"to_port":22,"cidr_blocks":["0.0.0.0/0"]}]}}}]}"#,
    );
    let output = run(
        &["analyze", plan.to_str().unwrap(), "-q"],
        &tmp.path().join("a"),
    );
    assert_eq!(output.status.code(), Some(3));

    let rules = write(
        tmp.path(),
        "rules.yaml",
        b"ignore:\n  - address: aws_security_group.web\n    reason: managed by another team\n",
    );
    let output = run(
        &[
            "analyze",
            plan.to_str().unwrap(),
            "-q",
            "--rules",
            rules.to_str().unwrap(),
        ],
        &tmp.path().join("b"),
    );
    assert_eq!(output.status.code(), Some(0));
    let report = read_json(&tmp.path().join("b/_/sg.json"));
    assert_eq!(report["summary"]["ignored"], 1);

    let bad_rules = write(
        tmp.path(),
        "bad.toml",
        b"[[rules]]\nid = \"x\"\nseverity = \"urgent\"\n",
    );
    let output = run(
        &[
            "analyze",
            plan.to_str().unwrap(),
            "--rules",
            bad_rules.to_str().unwrap(),
        ],
        &tmp.path().join("c"),
    );
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    // The refused value is not quoted (see error::without_input_values);
    // the place and the accepted values are.
    assert!(
        stderr.contains("bad.toml: line 3, column 12: unknown variant, expected one of `low`"),
        "{stderr}"
    );
}

#[test]
fn the_schema_command_prints_the_committed_schema() {
    let output = bin().arg("schema").output().unwrap();
    assert_eq!(output.status.code(), Some(0));
    let printed: Value = serde_json::from_slice(&output.stdout).unwrap();
    let committed = read_json(&common::repo().join("schemas/drift-report.v1.json"));
    assert_eq!(
        printed, committed,
        "regenerate with: cargo run -- schema > schemas/drift-report.v1.json"
    );
}

// ---------------------------------------------------------------------------
// Issue 11 (report files and rendering): every report of a run keeps its own
// file, and text from the input never reaches a terminal as control codes.
// ---------------------------------------------------------------------------

/// A show-json plan with one drifted resource; critical when `critical`.
fn plan_json(critical: bool) -> Vec<u8> {
    let ingress = if critical {
        r#"[{"protocol":"tcp","from_port":22,"to_port":22,"cidr_blocks":["0.0.0.0/0"]}]"#
    } else {
        "[]"
    };
    format!(
        r#"{{"format_version":"1.2","resource_drift":[{{"address":"aws_security_group.web","mode":"managed","type":"aws_security_group","name":"web",
            "change":{{"actions":["update"],"before":{{"ingress":[]}},"after":{{"ingress":{ingress}}}}}}}]}}"#
    )
    .into_bytes()
}

/// The files in `dir`, sorted.
fn file_names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn dotted_workspace_names_keep_their_own_reports() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("reports");
    let v1 = write(tmp.path(), "app.v1.json", &plan_json(true));
    let v2 = write(tmp.path(), "app.v2.json", b"{\"format_version\":\"1.2\"}");
    let output = run(
        &["analyze", v1.to_str().unwrap(), v2.to_str().unwrap(), "-q"],
        &out,
    );
    assert_eq!(output.status.code(), Some(3));
    assert_eq!(
        file_names(&out.join("_")),
        ["app.v1.json", "app.v1.md", "app.v2.json", "app.v2.md"]
    );
    let critical = read_json(&out.join("_/app.v1.json"));
    assert_eq!(critical["workspace"]["name"], "app.v1");
    assert_eq!(critical["summary"]["by_severity"]["critical"], 1);
    assert_eq!(read_json(&out.join("_/app.v2.json"))["status"], "clean");

    // A later run of one of them replaces only its own report.
    let output = run(&["analyze", v2.to_str().unwrap(), "-q"], &out);
    assert_eq!(output.status.code(), Some(0));
    let critical = read_json(&out.join("_/app.v1.json"));
    assert_eq!(critical["summary"]["by_severity"]["critical"], 1);
}

#[test]
fn names_that_sanitize_alike_get_distinct_stable_files() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("reports");
    let plans = tmp.path().join("plans");
    std::fs::create_dir(&plans).unwrap();
    // Stems: `a b`, `a_b`, `a:b`, `App`, `app`, `_`, `..`.
    let names = [
        "a b.json", "a_b.json", "a:b.json", "App.json", "app.json", "_.json", "...json",
    ];
    let paths: Vec<String> = names
        .iter()
        .enumerate()
        .map(|(i, name)| {
            // One critical plan among them, so a swapped report shows.
            let path = write(&plans, name, &plan_json(i == 0));
            path.to_str().unwrap().to_string()
        })
        .collect();
    let mut args = vec!["analyze", "-q"];
    args.extend(paths.iter().map(String::as_str));
    let output = run(&args, &out);
    assert_eq!(output.status.code(), Some(3), "{output:?}");
    let files = file_names(&out.join("_"));
    assert_eq!(files.len(), 2 * names.len(), "{files:?}");
    // Distinct even where the file system ignores case.
    let folded: std::collections::HashSet<String> =
        files.iter().map(|f| f.to_ascii_lowercase()).collect();
    assert_eq!(folded.len(), files.len(), "{files:?}");
    let mut seen: Vec<String> = files
        .iter()
        .filter(|f| f.ends_with(".json"))
        .map(|f| {
            let report = read_json(&out.join("_").join(f));
            let name = report["workspace"]["name"].as_str().unwrap().to_string();
            let md = out.join("_").join(f.replace(".json", ".md"));
            assert!(md.is_file(), "{} has no Markdown beside it", f);
            if name == "a b" {
                assert_eq!(report["summary"]["by_severity"]["critical"], 1);
            }
            name
        })
        .collect();
    seen.sort();
    let mut expected = vec!["a b", "a_b", "a:b", "App", "app", "_", ".."];
    expected.sort();
    assert_eq!(seen, expected);

    // The same names land on the same files on the next run.
    let output = run(&args, &out);
    assert_eq!(output.status.code(), Some(3));
    assert_eq!(file_names(&out.join("_")), files);
}

#[test]
fn scanned_folders_with_one_name_are_told_apart() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("reports");
    for dir in ["x/net", "y/net"] {
        std::fs::create_dir_all(tmp.path().join(dir)).unwrap();
    }
    let output = bin()
        .current_dir(tmp.path())
        .args([
            "scan",
            "x/net",
            "y/net",
            "-q",
            "--terraform",
            "/nonexistent/terraform",
            "--out",
        ])
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1), "no terraform: error reports");
    assert_eq!(
        file_names(&out.join("_")),
        ["net-2.json", "net-2.md", "net.json", "net.md"]
    );
    assert_eq!(
        read_json(&out.join("_/net.json"))["workspace"]["name"],
        "net"
    );
    assert_eq!(
        read_json(&out.join("_/net-2.json"))["workspace"]["name"],
        "net-2"
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("drift-detection: net-2: "), "{stderr}");
}

/// Characters a terminal acts on; only line breaks may reach it.
fn control_characters(text: &str) -> Vec<char> {
    text.chars()
        .filter(|c| {
            (c.is_control() && *c != '\n')
                || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
        })
        .collect()
}

#[test]
fn escape_sequences_from_the_input_never_reach_the_terminal() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("reports");
    let stream = concat!(
        r#"{"type":"version","terraform":"1.9.0\u001b]0;pwned\u0007","ui":"1.2"}"#,
        "\n",
        r#"{"type":"resource_drift","change":{"resource":{"addr":"aws_instance.web[\"\u001b[2J\u202e\r\"]","resource_type":"aws_instance","resource_name":"web"},"action":"update"}}"#,
        "\n",
        r#"{"type":"diagnostic","diagnostic":{"severity":"error","summary":"bad \u001b[31mred\u001b[0m\u0008\u009b","detail":"x\u001b]8;;https://evil\u001b\\link","address":"a\u0007"}}"#,
        "\n",
    );
    // The workspace is named after the file, escape sequence and all.
    let plan = write(tmp.path(), "evil\u{1b}[5m.jsonl", stream.as_bytes());
    for format in ["table", "markdown"] {
        let output = bin()
            .args([
                "analyze",
                plan.to_str().unwrap(),
                "--format",
                format,
                "--out",
            ])
            .arg(&out)
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(1));
        let stdout = String::from_utf8(output.stdout).unwrap();
        let stderr = String::from_utf8(output.stderr).unwrap();
        assert_eq!(
            control_characters(&stdout),
            Vec::<char>::new(),
            "{format}: {stdout}"
        );
        assert_eq!(
            control_characters(&stderr),
            Vec::<char>::new(),
            "{format}: {stderr}"
        );
        assert!(
            stderr.contains("drift-detection: evil\\u{1b}[5m: bad \\u{1b}[31mred"),
            "{stderr}"
        );
    }
    // JSON keeps the text exactly.
    let report = read_json(
        &out.join("_").join(
            std::fs::read_dir(out.join("_"))
                .unwrap()
                .map(|e| e.unwrap().file_name())
                .find(|n| n.to_string_lossy().ends_with(".json"))
                .unwrap(),
        ),
    );
    assert_eq!(report["workspace"]["name"], "evil\u{1b}[5m");
    assert_eq!(
        report["errors"][0]["summary"],
        "bad \u{1b}[31mred\u{1b}[0m\u{8}\u{9b}"
    );

    // Errors that stop a run quote their input too.
    let output = bin()
        .args([
            "analyze",
            plan.to_str().unwrap(),
            "--rules",
            "/nonexistent/\u{1b}[2Jrules.toml",
        ])
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(stderr.contains("\\u{1b}[2Jrules.toml"), "{stderr}");
    assert_eq!(control_characters(&stderr), Vec::<char>::new(), "{stderr}");
}

// ---------------------------------------------------------------------------
// Rules files and inventories (issue 11): hostile or mis-saved files get one
// line that names the file and says what is wrong, quickly.
// ---------------------------------------------------------------------------

/// The plan the rules tests analyze: one security group opened to the world.
fn open_group_plan(dir: &Path) -> PathBuf {
    write(
        dir,
        "sg.json",
        br#"{"format_version":"1.2","resource_drift":[{"address":"aws_security_group.web","mode":"managed","type":"aws_security_group","name":"web",
            "change":{"actions":["update"],"before":{"ingress":[]},"after":{"ingress":[{"protocol":"tcp","from_port":22,"to_port":22,"cidr_blocks":["0.0.0.0/0"]}]}}}]}"#,
    )
}

/// Runs `args` and returns its one line of stderr, checking that there is
/// exactly one, that it is an error (exit code 1), and that nothing panicked.
fn one_error_line(args: &[&str], out: &Path) -> String {
    let output = run(args, out);
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(output.status.code(), Some(1), "{args:?}: {stderr}");
    assert_eq!(stderr.lines().count(), 1, "{args:?}: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    stderr.trim_end().to_string()
}

fn utf16le(text: &str) -> Vec<u8> {
    [0xFF, 0xFE]
        .into_iter()
        .chain(text.encode_utf16().flat_map(u16::to_le_bytes))
        .collect()
}

#[test]
fn a_bad_rules_file_gets_one_line_naming_it() {
    let tmp = tempfile::tempdir().unwrap();
    let plan = open_group_plan(tmp.path());
    let mut bomb = String::from("ignore:\n  - resource_type: t\n    attributes: &a [");
    bomb.push_str(&vec!["a"; 2_000].join(", "));
    bomb.push_str("]\n");
    bomb.push_str(&"  - resource_type: t\n    attributes: *a\n".repeat(2_000));
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "latin1.yaml",
            b"ignore:\n  - address: caf\xE9\n".to_vec(),
            "not valid UTF-8 at byte 24 (line 2); save it as UTF-8",
        ),
        (
            "utf32.toml",
            [0xFF, 0xFE, 0, 0, b'#', 0, 0, 0].to_vec(),
            "the file is UTF-32; save it as UTF-8",
        ),
        (
            "huge.toml",
            vec![b'#'; 2 << 20],
            "the file is larger than 1 MiB (1048576 bytes), the limit for a rules file",
        ),
        (
            "bomb.yaml",
            bomb.into_bytes(),
            "its anchors and aliases expand to more than 64 times the file's size; write the repeated lists out",
        ),
        (
            "deep.yaml",
            format!("rules: {}{}", "[".repeat(400_000), "]".repeat(400_000)).into_bytes(),
            "line 1, column 135: nested more than 128 levels deep",
        ),
    ];
    for (name, content, expected) in cases {
        let rules = write(tmp.path(), name, &content);
        let line = one_error_line(
            &[
                "analyze",
                plan.to_str().unwrap(),
                "-q",
                "--rules",
                rules.to_str().unwrap(),
            ],
            &tmp.path().join("out"),
        );
        assert_eq!(
            line,
            format!(
                "drift-detection: rules file {}: {expected}",
                rules.display()
            ),
            "{name}"
        );
    }
}

#[test]
fn a_rules_file_saved_by_windows_powershell_works() {
    let tmp = tempfile::tempdir().unwrap();
    let plan = open_group_plan(tmp.path());
    let yaml =
        "ignore:\r\n  - address: aws_security_group.web\r\n    reason: managed by another team\r\n";
    for (name, bytes) in [
        ("utf16.yaml", utf16le(yaml)),
        (
            "bom.yaml",
            [b"\xEF\xBB\xBF".as_slice(), yaml.as_bytes()].concat(),
        ),
    ] {
        let rules = write(tmp.path(), name, &bytes);
        let out = tmp.path().join(format!("out-{name}"));
        let output = run(
            &[
                "analyze",
                plan.to_str().unwrap(),
                "-q",
                "--rules",
                rules.to_str().unwrap(),
            ],
            &out,
        );
        assert_eq!(
            output.status.code(),
            Some(0),
            "{name}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert_eq!(read_json(&out.join("_/sg.json"))["summary"]["ignored"], 1);
    }
}

#[test]
fn a_bad_inventory_gets_one_line_naming_it_and_no_external_id() {
    let tmp = tempfile::tempdir().unwrap();
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "latin1.toml",
            b"[[workspace]]\nname = \"caf\xE9\"\n".to_vec(),
            "not valid UTF-8 at byte 25 (line 2); save it as UTF-8",
        ),
        (
            "typed.toml",
            b"[[workspace]]\nname = \"a\"\ndir = \"x\"\nexternal_id = 987654321\n".to_vec(),
            "not a workspace inventory: line 4, column 15: invalid type: integer, expected a string",
        ),
        (
            "typed.json",
            br#"[{"name": "a", "dir": "x", "external_id": ["987654321"]}]"#.to_vec(),
            "not a workspace inventory: invalid type: sequence, expected a string at line 1 column 42",
        ),
    ];
    for (name, content, expected) in cases {
        let inventory = write(tmp.path(), name, &content);
        let line = one_error_line(
            &["scan", "--workspaces", inventory.to_str().unwrap(), "-q"],
            &tmp.path().join("out"),
        );
        assert_eq!(
            line,
            format!(
                "drift-detection: inventory {}: {expected}",
                inventory.display()
            ),
            "{name}"
        );
    }
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf()
}

/// A terraform stand-in for `unmanaged`: `init` succeeds, `show -json`
/// prints an empty state, anything else fails.
fn state_terraform(dir: &Path) -> PathBuf {
    let script = dir.join("terraform");
    std::fs::write(
        &script,
        "#!/bin/sh\ncase \"$1\" in\n  init) exit 0 ;;\n  show) echo '{\"format_version\":\"1.0\"}'; exit 0 ;;\nesac\nexit 1\n",
    )
    .unwrap();
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    script
}

/// The bundled example: the example workspaces' prior states claim what
/// examples/inventory.json lists, except a hand-made bucket and security
/// group (unmanaged) and the default security groups and a service-linked
/// role (ignored by the embedded rules); exit 2 for the findings.
#[test]
fn unmanaged_finds_the_examples_hand_made_bucket_and_security_group() {
    let tmp = tempfile::tempdir().unwrap();
    let report_path = tmp.path().join("unmanaged.json");
    let output = bin()
        .current_dir(repo())
        .args([
            "unmanaged",
            "--workspaces",
            "examples/workspaces.toml",
            "--inventory-file",
            "examples/inventory.json",
            "--format",
            "markdown",
            "--terraform",
        ])
        .arg(state_terraform(tmp.path()))
        .arg("--out")
        .arg(&report_path)
        .output()
        .expect("the binary runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stdout}\n{stderr}");
    assert!(stderr.is_empty(), "{stderr}");
    assert!(stdout.starts_with("# Unmanaged resources"), "{stdout}");
    let report = read_json(&report_path);
    assert_eq!(report["kind"], "unmanaged-report");
    let ids = |list: &str, at: &dyn Fn(&Value) -> &Value| -> Vec<String> {
        report[list]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| at(v)["resource_id"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(
        ids("unmanaged", &|v| v),
        ["sg-0c4a1e7d2b9f80e13", "acme-prod-hand-made-exports"]
    );
    assert_eq!(
        ids("ignored", &|v| &v["item"]),
        [
            "sg-05e2c7a9d1f3b8e64",
            "sg-0a11d3f5e7c9b2d40",
            "AROA3XFRBF23EXAMPLE03"
        ]
    );
    // The database the example plan's drift says was deleted by hand is in
    // the stored state still, and in no inventory: gone.
    let gone: Vec<(&str, &str)> = report["gone"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            (
                g["workspace"].as_str().unwrap_or_default(),
                g["address"].as_str().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(gone, [("data", "aws_db_instance.orders")]);
    assert_eq!(report["summary"]["managed_twice"], 0);
    assert_eq!(report["summary"]["workspaces"], 5);
    // The report validates against the committed schema.
    let schema = read_json(&repo().join("schemas/unmanaged-report.v1.json"));
    let validator = jsonschema::validator_for(&schema).unwrap();
    assert!(validator.is_valid(&report));

    // Nothing is unmanaged once the user ignores the hand-made pair.
    let rules = write(
        tmp.path(),
        "rules.toml",
        b"[[unmanaged.ignore]]\nid = \"*hand-made*\"\nreason = \"exports\"\n[[unmanaged.ignore]]\ntag = \"CreatedBy=alice\"\nreason = \"alice's debugging\"\n",
    );
    let output = bin()
        .current_dir(repo())
        .args([
            "unmanaged",
            "-q",
            "--workspaces",
            "examples/workspaces.toml",
            "--inventory-file",
            "examples/inventory.json",
            "--terraform",
        ])
        .arg(state_terraform(tmp.path()))
        .arg("--rules")
        .arg(&rules)
        .arg("--out")
        .arg(tmp.path().join("ignored.json"))
        .output()
        .unwrap();
    // What is left is the deleted database: still a finding.
    assert_eq!(
        output.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let left = read_json(&tmp.path().join("ignored.json"));
    assert_eq!(left["summary"]["unmanaged"], 0);
    assert_eq!(left["summary"]["ignored"], 5);
    assert_eq!(left["summary"]["gone"], 1);
}

/// A state that is not JSON costs its workspace (withheld, named on
/// stderr, exit 1); an inventory of the wrong shape or a missing account is
/// one line naming the file or the workspace, exit 1. Never a panic.
#[test]
fn unmanaged_bad_inputs_give_one_line_naming_them() {
    let tmp = tempfile::tempdir().unwrap();
    let inventory = repo().join("examples/inventory.json");
    let good = repo().join("examples/plans/prod-network.json");
    let garbage = write(tmp.path(), "garbage.json", b"this is not json");
    let unmanaged = |args: &[&std::ffi::OsStr]| {
        let output = bin().arg("unmanaged").args(args).output().unwrap();
        (
            output.status.code(),
            String::from_utf8_lossy(&output.stdout).into_owned(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    };
    let os = |s: &str| std::ffi::OsString::from(s);
    let (code, stdout, stderr) = unmanaged(&[
        good.as_os_str(),
        garbage.as_os_str(),
        &os("--account-id"),
        &os("111111111111"),
        &os("--region"),
        &os("us-east-1"),
        &os("--inventory-file"),
        inventory.as_os_str(),
    ]);
    assert_eq!(code, Some(1), "{stdout}\n{stderr}");
    assert!(
        stderr.contains("garbage.json") && stderr.contains("expected a JSON object"),
        "{stderr}"
    );
    assert!(stderr.contains("is withheld"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(
        stdout.contains("withheld 111111111111 us-east-1"),
        "{stdout}"
    );

    for (content, says) in [
        (&b"[1, 2]"[..], "not an inventory file"),
        (
            b"{\"inventory\": [{\"resource_type\": \"AWS::S3::Bucket\"}]}",
            "not an inventory file",
        ),
        (b"{\"inventory\": \"s3cr3t\"}", "not an inventory file"),
        (b"{\"inventory\": [", "not valid JSON"),
    ] {
        let bad = write(tmp.path(), "inventory.json", content);
        let (code, _, stderr) = unmanaged(&[
            good.as_os_str(),
            &os("--account-id"),
            &os("111111111111"),
            &os("--region"),
            &os("us-east-1"),
            &os("--inventory-file"),
            bad.as_os_str(),
        ]);
        assert_eq!(code, Some(1), "{stderr}");
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(
            stderr.contains("inventory.json") && stderr.contains(says),
            "{stderr}"
        );
        assert!(!stderr.contains("s3cr3t"), "{stderr}");
    }

    let (code, _, stderr) = unmanaged(&[
        good.as_os_str(),
        &os("--inventory-file"),
        inventory.as_os_str(),
    ]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains("workspace prod-network: no account_id or region"),
        "{stderr}"
    );
}

/// Without an inventory file and without AWS credentials, `unmanaged` says
/// so and fails, never asking the instance metadata endpoint.
#[cfg(feature = "config")]
#[test]
fn unmanaged_without_credentials_says_so() {
    let tmp = tempfile::tempdir().unwrap();
    let none = tmp.path().join("none");
    let output = bin()
        .args([
            "unmanaged",
            "--account-id",
            "111111111111",
            "--region",
            "us-east-1",
        ])
        .arg(repo().join("examples/plans/prod-network.json"))
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env_remove("AWS_SESSION_TOKEN")
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_WEB_IDENTITY_TOKEN_FILE")
        .env_remove("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI")
        .env_remove("AWS_CONTAINER_CREDENTIALS_FULL_URI")
        .env("AWS_SHARED_CREDENTIALS_FILE", &none)
        .env("AWS_CONFIG_FILE", &none)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_REGION", "us-east-1")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("no AWS credentials") && stderr.contains("--inventory-file"),
        "{stderr}"
    );
}
