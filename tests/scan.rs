//! `drift-detection scan` against the real terraform binary (1.0.3, from the
//! pinned PyPI wheel that scripts/bootstrap installs) on configurations that
//! need no provider plugin, plus a stand-in terraform that hangs.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use serde_json::Value;

fn scan(args: &[&str], terraform: &Path, out: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_drift-detection"))
        .arg("scan")
        .args(args)
        .arg("--terraform")
        .arg(terraform)
        .arg("--out")
        .arg(out)
        .arg("-q")
        .output()
        .expect("the binary runs")
}

fn report(out: &Path, name: &str) -> Value {
    let path = out.join("_").join(format!("{name}.json"));
    serde_json::from_str(
        &std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())),
    )
    .expect("report is JSON")
}

fn workspace(root: &Path, name: &str, main_tf: &str) -> PathBuf {
    let dir = root.join(name);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("main.tf"), main_tf).unwrap();
    dir
}

fn apply(dir: &Path) {
    let status = Command::new(common::terraform())
        .args(["init", "-input=false", "-no-color"])
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        status.status.success(),
        "{}",
        String::from_utf8_lossy(&status.stderr)
    );
    let status = Command::new(common::terraform())
        .args(["apply", "-auto-approve", "-input=false", "-no-color"])
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        status.status.success(),
        "{}",
        String::from_utf8_lossy(&status.stderr)
    );
}

#[test]
fn real_terraform_exit_codes_end_as_clean_reconciled_and_error_reports() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("reports");
    let upstream = workspace(
        tmp.path(),
        "network",
        "output \"vpc_id\" {\n  value = \"vpc-0a1b2c\"\n}\n",
    );
    apply(&upstream);
    // Reads the upstream state through terraform_remote_state (local backend).
    let consumer_tf = format!(
        "data \"terraform_remote_state\" \"network\" {{\n  backend = \"local\"\n  config = {{ path = \"{}\" }}\n}}\n\noutput \"vpc_id\" {{\n  value = data.terraform_remote_state.network.outputs.vpc_id\n}}\n",
        upstream.join("terraform.tfstate").display()
    );
    let clean = workspace(tmp.path(), "clean", &consumer_tf);
    apply(&clean);
    let changed = workspace(
        tmp.path(),
        "changed",
        "output \"greeting\" {\n  value = \"hello\"\n}\n",
    );
    apply(&changed);
    std::fs::write(
        changed.join("main.tf"),
        "output \"greeting\" {\n  value = \"hello, world\"\n}\n",
    )
    .unwrap();
    let broken = workspace(
        tmp.path(),
        "broken",
        "output \"x\" {\n  value = var.not_declared\n}\n",
    );

    let dirs: Vec<&str> = [&clean, &changed, &broken]
        .iter()
        .map(|d| d.to_str().unwrap())
        .collect();
    let mut args = dirs.clone();
    args.extend(["--jobs", "2", "--timeout", "120"]);
    let output = scan(&args, &common::terraform(), &out);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        output.status.code(),
        Some(1),
        "an error in one workspace makes the run an error: {stderr}"
    );

    let clean = report(&out, "clean");
    assert_eq!(clean["status"], "clean");
    assert_eq!(clean["terraform"]["exit_code"], 0);
    assert_eq!(clean["terraform"]["version"], "1.0.3");
    let commands: Vec<&str> = clean["terraform"]["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["command"].as_str().unwrap())
        .collect();
    // One refresh: a normal plan finds the drift and what the next apply
    // does about it.
    assert_eq!(commands, vec!["init", "plan", "show -json (plan)"]);

    // Output-only changes: terraform says 2, the content has no resource change.
    let changed = report(&out, "changed");
    assert_eq!(changed["terraform"]["exit_code"], 2);
    assert_eq!(changed["status"], "clean");
    assert!(changed["terraform"]["notes"][0]
        .as_str()
        .unwrap()
        .contains("exited 2"));

    let broken = report(&out, "broken");
    assert_eq!(broken["status"], "error");
    assert_eq!(broken["terraform"]["exit_code"], 1);
    let summary = broken["errors"][0]["summary"].as_str().unwrap();
    assert!(summary.contains("undeclared input variable"), "{summary}");
    assert!(
        stderr.contains("broken: Reference to undeclared input variable"),
        "{stderr}"
    );

    // Scanning leaves the working directories as they were.
    assert!(
        !tmp.path().join("broken/.terraform").exists(),
        "scan wrote into the workspace"
    );
}

#[test]
fn the_deprecated_both_mode_runs_one_plan_and_says_so() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("reports");
    let dir = workspace(
        tmp.path(),
        "outputs",
        "output \"greeting\" {\n  value = \"hello\"\n}\n",
    );
    apply(&dir);
    let output = scan(
        &[dir.to_str().unwrap(), "--mode", "both"],
        &common::terraform(),
        &out,
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("--mode both is deprecated"), "{stderr}");
    let report = report(&out, "outputs");
    let commands: Vec<&str> = report["terraform"]["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["command"].as_str().unwrap())
        .collect();
    assert_eq!(commands, vec!["init", "plan", "show -json (plan)"]);
    assert!(
        report["terraform"]["notes"][0]
            .as_str()
            .unwrap()
            .contains("mode `both` is deprecated"),
        "{}",
        report["terraform"]["notes"]
    );
}

#[test]
fn a_hanging_terraform_is_killed_at_the_deadline_and_reported_as_timeout() {
    let tmp = tempfile::tempdir().unwrap();
    let pid_file = tmp.path().join("plan.pid");
    let fake = tmp.path().join("terraform");
    std::fs::write(
        &fake,
        format!(
            "#!/bin/sh\ncase \"$1\" in\n  init) exit 0 ;;\n  plan) sleep 300 & echo $! > {}; wait ;;\nesac\n",
            pid_file.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&fake, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let dir = workspace(tmp.path(), "slow", "");
    let out = tmp.path().join("reports");

    let started = Instant::now();
    let output = scan(&[dir.to_str().unwrap(), "--timeout", "2"], &fake, &out);
    let elapsed = started.elapsed();
    assert_eq!(output.status.code(), Some(1));
    // Stopped by the deadline, not by the end of terraform's 300 s sleep:
    // a bound far from both, so that a loaded machine cannot fail it.
    assert!(elapsed < Duration::from_secs(150), "took {elapsed:?}");

    let report = report(&out, "slow");
    assert_eq!(report["status"], "timeout");
    assert!(report["errors"][0]["summary"]
        .as_str()
        .unwrap()
        .contains("still running at the deadline"));
    let runs = report["terraform"]["runs"].as_array().unwrap();
    assert_eq!(runs.last().unwrap()["command"], "plan");
    assert!(runs.last().unwrap()["exit_code"].is_null());

    // The whole process group went down, not just the shell.
    let pid = std::fs::read_to_string(&pid_file).unwrap();
    let alive = Path::new("/proc").join(pid.trim()).join("stat");
    let zombie_or_gone = std::fs::read_to_string(&alive).map_or(true, |s| s.contains(") Z "));
    assert!(
        zombie_or_gone,
        "the plan's child process {pid} survived the timeout"
    );
}

#[test]
fn missing_terraform_and_missing_directories_are_error_reports() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = workspace(tmp.path(), "exists", "");
    let out = tmp.path().join("reports");
    let output = scan(
        &[dir.to_str().unwrap()],
        Path::new("/nonexistent/terraform"),
        &out,
    );
    assert_eq!(output.status.code(), Some(1));
    let report = report(&out, "exists");
    assert_eq!(report["status"], "error");
    assert!(report["errors"][0]["summary"]
        .as_str()
        .unwrap()
        .contains("could not start /nonexistent/terraform"));

    let inventory = tmp.path().join("workspaces.toml");
    std::fs::write(
        &inventory,
        "[[workspace]]\nname = \"gone\"\nenvironment = \"dev\"\ndir = \"no-such-dir\"\n",
    )
    .unwrap();
    let output = scan(
        &["--workspaces", inventory.to_str().unwrap()],
        &common::terraform(),
        &out,
    );
    assert_eq!(output.status.code(), Some(1));
    let path = out.join("dev/gone.json");
    let report: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    assert!(report["errors"][0]["summary"]
        .as_str()
        .unwrap()
        .contains("no such Terraform working directory"));
}

#[test]
fn parallelism_reaches_terraform_plan_from_the_entry_then_the_command_line() {
    let tmp = tempfile::tempdir().unwrap();
    // The real terraform behind a script that notes each command line.
    let log = tmp.path().join("commands.log");
    let wrapper = tmp.path().join("terraform");
    std::fs::write(
        &wrapper,
        format!(
            "#!/bin/sh\necho \"$(basename \"$PWD\") $*\" >> '{}'\nexec '{}' \"$@\"\n",
            log.display(),
            common::terraform().display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(
        &wrapper,
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let output_tf = "output \"greeting\" {\n  value = \"hello\"\n}\n";
    workspace(tmp.path(), "own", output_tf);
    workspace(tmp.path(), "inherits", output_tf);
    let inventory = tmp.path().join("workspaces.toml");
    std::fs::write(
        &inventory,
        "[[workspace]]\nname = \"own\"\ndir = \"own\"\nparallelism = 3\nrunner = \"codebuild\"\n\n\
         [[workspace]]\nname = \"inherits\"\ndir = \"inherits\"\n",
    )
    .unwrap();
    let plans = |args: &[&str]| {
        let _ = std::fs::remove_file(&log);
        let out = tmp.path().join("reports");
        let mut all = vec!["--workspaces", inventory.to_str().unwrap()];
        all.extend(args);
        let output = scan(&all, &wrapper, &out);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_ne!(output.status.code(), Some(1), "{stderr}");
        for name in ["own", "inherits"] {
            assert_ne!(report(&out, name)["status"], "error", "{name}: {stderr}");
        }
        let mut plans: Vec<String> = std::fs::read_to_string(&log)
            .unwrap()
            .lines()
            .filter(|l| l.split(' ').nth(1) == Some("plan"))
            .map(|l| {
                let flags: Vec<&str> = l
                    .split(' ')
                    .filter(|a| a.starts_with("-parallelism"))
                    .collect();
                format!("{} {}", l.split(' ').next().unwrap(), flags.join(" "))
            })
            .collect();
        plans.sort();
        plans
    };
    assert_eq!(
        plans(&["--parallelism", "7"]),
        ["inherits -parallelism=7", "own -parallelism=3"]
    );
    assert_eq!(plans(&[]), ["inherits ", "own -parallelism=3"]);

    for bad in ["0", "257", "four"] {
        let output = scan(
            &[
                "--workspaces",
                inventory.to_str().unwrap(),
                "--parallelism",
                bad,
            ],
            &wrapper,
            &tmp.path().join("reports"),
        );
        let stderr = String::from_utf8_lossy(&output.stderr);
        // A usage error, which never reads as drift.
        assert_eq!(output.status.code(), Some(1), "{stderr}");
        assert!(
            stderr.contains("invalid value") && stderr.contains("--parallelism"),
            "{stderr}"
        );
    }
}

#[test]
fn attribute_without_credentials_says_so_once_and_marks_drift_unknown() {
    let tmp = tempfile::tempdir().unwrap();
    // A terraform stand-in whose plan is the prod-network example (two
    // drifted resources).
    let shown = common::repo().join("examples/plans/prod-network.json");
    let stub = tmp.path().join("terraform");
    std::fs::write(
        &stub,
        format!(
            "#!/bin/sh\ncase \"$1\" in\n  init) exit 0 ;;\n  plan) exit 2 ;;\n  show) cat '{}'; exit 0 ;;\nesac\nexit 1\n",
            shown.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&stub, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let dir = workspace(tmp.path(), "net", "# nothing\n");
    let out = tmp.path().join("reports");
    let none = tmp.path().join("none");
    // No credentials anywhere the default chain looks; the instance
    // metadata endpoint is never asked.
    let output = Command::new(env!("CARGO_BIN_EXE_drift-detection"))
        .args(["scan", "--attribute", "-q", "--terraform"])
        .arg(&stub)
        .arg("--out")
        .arg(&out)
        .arg(&dir)
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
        .expect("the binary runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(3), "critical drift: {stderr}");
    assert_eq!(
        stderr.matches("--attribute: no AWS credentials").count(),
        1,
        "{stderr}"
    );
    let report = report(&out, "net");
    assert_eq!(report["schema_version"], "1.3");
    let drift = report["drift"].as_array().unwrap();
    assert_eq!(drift.len(), 2);
    for item in drift {
        assert_eq!(
            item["changed_by"],
            serde_json::json!({"unknown": "no_credentials"})
        );
    }
    let markdown = std::fs::read_to_string(out.join("_").join("net.md")).unwrap();
    assert!(markdown.contains("changed by: unknown (no_credentials)"));
}
