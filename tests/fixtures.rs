//! Every real Terraform JSON output in ../shared/fixtures parses, analyzes
//! into a report that matches the schema, and never shows a sensitive value.

mod common;

use std::fs::File;
use std::io::BufReader;

use drift_core::drift::{analyze, rules::RuleSet};
use drift_core::plan::{self, DocumentKind};
use drift_core::report::render::{render, Format};
use drift_core::report::{build_report, json_schema, ReportIdentity, RunFacts, WorkspaceInfo};
use serde_json::Value;

fn read(path: &std::path::Path) -> drift_core::Result<plan::PlanDocument> {
    let file = File::open(path).map_err(|e| drift_core::Error::io(path, e))?;
    plan::read_document(
        &path.display().to_string(),
        BufReader::new(file),
        plan::DEFAULT_MAX_INPUT_BYTES,
    )
}

#[test]
fn every_terraform_output_fixture_parses_and_analyzes_into_a_valid_report() {
    let outputs = common::terraform_outputs();
    assert!(
        outputs.len() >= 220,
        "PROVENANCE.md lists only {} outputs",
        outputs.len()
    );
    let schema = json_schema();
    let validator = jsonschema::validator_for(&schema).expect("the report schema compiles");
    let rules = RuleSet::embedded();
    let mut kinds = std::collections::BTreeMap::new();
    for path in &outputs {
        let doc = read(path).unwrap_or_else(|e| panic!("{} did not parse: {e}", path.display()));
        *kinds.entry(format!("{:?}", doc.kind)).or_insert(0) += 1;
        let analysis = analyze(&[&doc], &rules);
        let report = build_report(
            ReportIdentity::new(),
            WorkspaceInfo {
                name: "fixture".into(),
                ..Default::default()
            },
            analysis,
            RunFacts::default(),
        );
        let value = serde_json::to_value(&report).expect("a report serializes");
        let errors: Vec<String> = validator
            .iter_errors(&value)
            .map(|e| e.to_string())
            .collect();
        assert!(
            errors.is_empty(),
            "{}: report breaks the schema: {errors:?}",
            path.display()
        );
    }
    // Each shape the tool reads is represented.
    for kind in ["Plan", "State", "Stream", "Diagnostic"] {
        assert!(
            kinds.get(kind).copied().unwrap_or(0) > 0,
            "no {kind} fixture parsed: {kinds:?}"
        );
    }
}

#[test]
fn every_json_file_in_the_fixture_tree_is_handled_without_panicking() {
    let files = common::json_files(&common::shared_fixtures());
    assert!(files.len() > 300, "only {} JSON files found", files.len());
    let rules = RuleSet::embedded();
    let (mut ok, mut refused) = (0, 0);
    for path in &files {
        match read(path) {
            Ok(doc) => {
                let _ = analyze(&[&doc], &rules);
                ok += 1;
            }
            Err(e) => {
                // Test inputs (raw states, provider specs) are not Terraform output:
                // they must be refused with a message naming the file.
                assert!(e.to_string().contains(&path.display().to_string()), "{e}");
                refused += 1;
            }
        }
    }
    assert!(ok > refused, "parsed {ok}, refused {refused}");
}

#[test]
fn sensitive_values_never_reach_any_output_format() {
    let rules = RuleSet::embedded();
    let (mut fixtures_with_masks, mut fixtures_with_secrets) = (0, 0);
    for path in common::terraform_outputs() {
        let text = std::fs::read_to_string(&path).expect("fixture is readable");
        let Ok(raw) = serde_json::from_str::<Value>(&text) else {
            continue;
        };
        let (sensitive, plain) = common::sensitive_leaves(&raw);
        if !common::has_sensitive_mask(&raw) {
            continue;
        }
        fixtures_with_masks += 1;
        if !sensitive.is_empty() {
            fixtures_with_secrets += 1;
        }
        // Values too short to search for, or also present unmarked elsewhere,
        // are checked through the `sensitive` flag below instead.
        let secrets: Vec<&String> = sensitive
            .difference(&plain)
            .filter(|s| s.len() >= 3)
            .collect();
        let doc = read(&path).expect("fixture parses");
        let report = build_report(
            ReportIdentity::new(),
            WorkspaceInfo::default(),
            analyze(&[&doc], &rules),
            RunFacts::default(),
        );
        for format in [Format::Json, Format::Table, Format::Markdown] {
            // Markdown escapes punctuation with backslashes, which would hide
            // a leaked secret from a plain search: both sides lose them.
            let unescaped = |text: &str| text.replace('\\', "");
            let rendered = unescaped(&render(&report, format));
            for secret in &secrets {
                assert!(
                    !rendered.contains(&unescaped(secret)),
                    "{}: sensitive value {secret:?} appears in {format:?} output",
                    path.display()
                );
            }
        }
        assert!(
            report
                .drift
                .iter()
                .flat_map(|i| &i.changed_attributes)
                .filter(|a| a.sensitive)
                .all(|a| [&a.before, &a.after]
                    .iter()
                    .all(|v| v.is_null() || v.as_str() == Some(drift_core::drift::diff::REDACTED))),
            "{}: a sensitive attribute shows a value",
            path.display()
        );
    }
    assert!(
        fixtures_with_masks >= 4,
        "only {fixtures_with_masks} fixtures mark values sensitive"
    );
    assert!(
        fixtures_with_secrets >= 1,
        "no fixture carries a sensitive value to hide"
    );
}

#[test]
fn stream_and_document_kinds_are_told_apart() {
    let root = common::shared_fixtures();
    let stream = read(&root.join("plan-stream/cloud-plan-json-full.jsonl")).unwrap();
    assert_eq!(stream.kind, DocumentKind::Stream);
    assert_eq!(stream.terraform_version.as_deref(), Some("1.3.7"));
    let doc = read(&root.join("show-json/drift/output.json")).unwrap();
    assert_eq!(doc.kind, DocumentKind::Plan);
    let state = read(&root.join("state/command-basic.json")).unwrap();
    assert_eq!(state.kind, DocumentKind::State);
    let redacted =
        read(&root.join("cloud-redacted-plan/plan-json-full/plan-redacted.json")).unwrap();
    assert_eq!(redacted.format_version.as_deref(), Some("1.1"));
}
