//! Helpers shared by the integration tests.
#![allow(dead_code)]

pub mod moto;
pub mod moto_server;
pub mod process;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde_json::Value;

/// The repository root.
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The terraform the tests run: `DRIFT_TEST_TERRAFORM`, else the pinned one.
pub fn terraform() -> PathBuf {
    let path = std::env::var_os("DRIFT_TEST_TERRAFORM")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join(".tools/bin/terraform"));
    assert!(
        path.exists(),
        "{} not found: run scripts/bootstrap (scripts/test does) to install the pinned terraform",
        path.display()
    );
    path
}

/// `../shared/fixtures/terraform-json`: real Terraform JSON from Terraform's own test data.
pub fn shared_fixtures() -> PathBuf {
    let dir = repo().join("../shared/fixtures/terraform-json");
    assert!(
        dir.join("PROVENANCE.md").is_file(),
        "{} is missing: these tests read the shared Terraform fixtures beside the checkout",
        dir.display()
    );
    dir
}

/// Every file PROVENANCE.md lists as Terraform's own JSON output (not test
/// inputs, human-readable plans or files captured by the equivalence tool).
pub fn terraform_outputs() -> Vec<PathBuf> {
    let root = shared_fixtures();
    let provenance =
        std::fs::read_to_string(root.join("PROVENANCE.md")).expect("PROVENANCE.md is readable");
    let mut files = Vec::new();
    for line in provenance.lines().filter(|l| l.starts_with("| `")) {
        let cells: Vec<&str> = line.split(" | ").collect();
        if cells.len() < 3 {
            continue;
        }
        let path = cells[0].trim_start_matches("| ").trim_matches('`');
        let kind = cells[2];
        let not_output = kind.starts_with("test input")
            || kind.contains("-no-color")
            || kind.contains("include_files")
            || !(path.ends_with(".json") || path.ends_with(".jsonl"));
        if !not_output {
            files.push(root.join(path));
        }
    }
    files
}

/// Every `.json`/`.jsonl` file below `dir`.
pub fn json_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d)
            .expect("fixture folder is readable")
            .flatten()
        {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if matches!(
                path.extension().and_then(|e| e.to_str()),
                Some("json" | "jsonl")
            ) {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// The leaf values of a plan's changes split by sensitivity: (sensitive,
/// never-sensitive). A value in the first set only must never be written out.
pub fn sensitive_leaves(plan: &Value) -> (BTreeSet<String>, BTreeSet<String>) {
    let mut sensitive = BTreeSet::new();
    let mut plain = BTreeSet::new();
    for list in ["resource_changes", "resource_drift"] {
        for change in plan
            .get(list)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let change = &change["change"];
            for (value, mask) in [("before", "before_sensitive"), ("after", "after_sensitive")] {
                collect(
                    &change[value],
                    Some(&change[mask]),
                    false,
                    &mut sensitive,
                    &mut plain,
                );
            }
        }
    }
    (sensitive, plain)
}

fn collect(
    value: &Value,
    mask: Option<&Value>,
    inherited: bool,
    sensitive: &mut BTreeSet<String>,
    plain: &mut BTreeSet<String>,
) {
    let here = inherited || matches!(mask, Some(Value::Bool(true)));
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                collect(v, mask.and_then(|m| m.get(k)), here, sensitive, plain);
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                collect(v, mask.and_then(|m| m.get(i)), here, sensitive, plain);
            }
        }
        Value::Null => {}
        leaf => {
            let text = match leaf {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            if here {
                sensitive.insert(text);
            } else {
                plain.insert(text);
            }
        }
    }
}

/// Whether any change in the plan marks a value sensitive.
pub fn has_sensitive_mask(plan: &Value) -> bool {
    fn any_true(v: &Value) -> bool {
        match v {
            Value::Bool(b) => *b,
            Value::Object(m) => m.values().any(any_true),
            Value::Array(a) => a.iter().any(any_true),
            _ => false,
        }
    }
    ["resource_changes", "resource_drift"].iter().any(|list| {
        plan.get(*list)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .any(|c| {
                any_true(&c["change"]["before_sensitive"])
                    || any_true(&c["change"]["after_sensitive"])
            })
    })
}
