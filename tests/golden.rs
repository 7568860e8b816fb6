//! Golden tests: plan JSON in, expected report out, one folder per scenario
//! under tests/golden/. Each folder has `case.toml` (input path, workspace,
//! optional rules file) and `expected.json`, a report whose id, time and tool
//! version are fixed. Regenerate after a deliberate change with
//! `UPDATE_GOLDEN=1 cargo test --test golden`, then read the diff.

mod common;

use std::path::{Path, PathBuf};

use drift_detection::drift::rules::RuleSet;
use drift_detection::report::{json_schema, Report, WorkspaceInfo};
use drift_detection::scan::{analyze_file, ScanOptions};
use serde::Deserialize;
use serde_json::Value;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    /// Relative to the repository root.
    input: PathBuf,
    #[serde(default)]
    rules: Option<PathBuf>,
    #[serde(default)]
    terraform_exit_code: Option<i32>,
    workspace: WorkspaceInfo,
    /// Strings that must not appear anywhere in the report (planted secrets).
    #[serde(default)]
    never_contains: Vec<String>,
}

fn normalized(mut report: Report) -> Value {
    report.report_id = "00000000-0000-4000-8000-000000000000".to_string();
    report.generated_at = "2026-01-01T00:00:00Z".to_string();
    report.tool_version = "golden".to_string();
    serde_json::to_value(report).expect("report serializes")
}

fn run_case(dir: &Path) -> Result<(), String> {
    let case: Case =
        toml::from_str(&std::fs::read_to_string(dir.join("case.toml")).map_err(|e| e.to_string())?)
            .map_err(|e| format!("case.toml: {e}"))?;
    let rules = match &case.rules {
        Some(path) => RuleSet::from_path(&common::repo().join(path)).map_err(|e| e.to_string())?,
        None => RuleSet::embedded(),
    };
    let options = ScanOptions {
        reported_exit_code: case.terraform_exit_code,
        ..ScanOptions::default()
    };
    // Run from the repository root so the input's name in messages is stable.
    let report = analyze_file(&case.input, case.workspace, &rules, &options);
    let text = serde_json::to_string(&report).expect("report serializes");
    for secret in &case.never_contains {
        if text.contains(secret.as_str()) {
            return Err(format!("the report contains {secret:?}"));
        }
    }
    let actual = normalized(report);
    let validator = jsonschema::validator_for(&json_schema()).expect("schema compiles");
    if let Err(e) = validator.validate(&actual) {
        return Err(format!("report breaks the schema: {e}"));
    }

    let expected_path = dir.join("expected.json");
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        let mut pretty = serde_json::to_string_pretty(&actual).expect("serializes");
        pretty.push('\n');
        std::fs::write(&expected_path, pretty).map_err(|e| e.to_string())?;
        return Ok(());
    }
    let expected: Value = serde_json::from_str(
        &std::fs::read_to_string(&expected_path)
            .map_err(|e| format!("{}: {e}", expected_path.display()))?,
    )
    .map_err(|e| e.to_string())?;
    if actual != expected {
        return Err(format!(
            "report differs from expected.json; if the change is intended, run UPDATE_GOLDEN=1 cargo test --test golden and review the diff.\nactual:\n{}",
            serde_json::to_string_pretty(&actual).unwrap_or_default()
        ));
    }
    Ok(())
}

#[test]
fn every_golden_scenario_matches_its_expected_report() {
    // Inputs are named relative to the repository root.
    std::env::set_current_dir(common::repo()).expect("repo root exists");
    let root = common::repo().join("tests/golden");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&root)
        .expect("tests/golden exists")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.join("case.toml").is_file())
        .collect();
    dirs.sort();
    assert!(dirs.len() >= 10, "only {} golden scenarios", dirs.len());
    let failures: Vec<String> = dirs
        .iter()
        .filter_map(|dir| {
            run_case(dir)
                .err()
                .map(|e| format!("{}: {e}", dir.display()))
        })
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
