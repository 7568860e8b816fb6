//! Golden tests: plan JSON in, expected report out, one folder per scenario
//! under tests/golden/. Each folder has `case.toml` (input path, workspace,
//! optional rules file) and the report whose id, time and tool version are
//! fixed, in each format: `expected.json`, `expected.txt` (the terminal
//! table, unwrapped) and `expected.md`. Regenerate after a deliberate change
//! with `UPDATE_GOLDEN=1 cargo test --test golden`, then read the diff.
//!
//! Beside the pinned text, every scenario's table must hold no character that
//! steers a terminal, and its Markdown, rendered as GitHub does (tables,
//! autolinks, strikethrough, math, raw HTML let through), must hold no tag
//! but the report's own and show each `shows_literally` string as text.

mod common;

use std::path::{Path, PathBuf};

use drift_core::attribution::Attribution;
use drift_core::drift::rules::RuleSet;
use drift_core::report::render::{render, table_at_width, Format};
use drift_core::report::{json_schema, Report, WorkspaceInfo};
use drift_runner::scan::{analyze_file, ScanOptions};
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
    /// A JSON object of address → `changed_by`, standing in for the
    /// CloudTrail lookup (attribution is an edge; its renderings are not).
    #[serde(default)]
    changed_by: Option<PathBuf>,
    workspace: WorkspaceInfo,
    /// Strings that must not appear anywhere in the report (planted secrets).
    #[serde(default)]
    never_contains: Vec<String>,
    /// Hostile strings the table and the rendered Markdown must show as
    /// plain text, neither interpreted nor cut.
    #[serde(default)]
    shows_literally: Vec<String>,
}

/// Fixes what changes from run to run.
fn normalize(report: &mut Report) {
    report.report_id = "00000000-0000-4000-8000-000000000000".to_string();
    report.generated_at = "2026-01-01T00:00:00Z".to_string();
    report.tool_version = "golden".to_string();
}

/// Writes `actual` to `dir/name` under UPDATE_GOLDEN, else compares with it.
fn check_text(dir: &Path, name: &str, actual: &str) -> Result<(), String> {
    let path = dir.join(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        return std::fs::write(&path, actual).map_err(|e| e.to_string());
    }
    let expected =
        std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    if actual != expected {
        return Err(format!(
            "rendering differs from {name}; if the change is intended, run UPDATE_GOLDEN=1 cargo test --test golden and review the diff.\nactual:\n{actual}"
        ));
    }
    Ok(())
}

/// Characters a terminal acts on (or reorders text by); only the table's
/// own line breaks may remain.
fn steers_a_terminal(c: char) -> bool {
    (c.is_control() && c != '\n')
        || matches!(c, '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{2028}' | '\u{2029}')
}

/// Markdown as GitHub renders it (cmark-gfm's extensions, as comrak ports
/// them), with raw HTML let through so that any that slipped in shows.
fn to_html(markdown: &str) -> String {
    let mut options = comrak::Options::default();
    options.extension.table = true;
    options.extension.autolink = true;
    options.extension.strikethrough = true;
    options.extension.tasklist = true;
    options.extension.footnotes = true;
    options.extension.math_dollars = true;
    options.extension.alerts = true;
    options.render.r#unsafe = true;
    comrak::markdown_to_html(markdown, &options)
}

/// The tags a report's own Markdown makes; none has an attribute.
const OWN_TAGS: [&str; 14] = [
    "h1", "h2", "p", "table", "thead", "tbody", "tr", "th", "td", "strong", "code", "br", "ul",
    "li",
];

/// Checks the rendered Markdown holds only the report's own tags, and
/// returns its text with entities decoded.
fn rendered_text(html: &str) -> Result<String, String> {
    let mut text = String::new();
    let mut rest = html;
    while let Some(open) = rest.find('<') {
        text.push_str(&rest[..open]);
        let close = rest[open..]
            .find('>')
            .ok_or_else(|| format!("unclosed tag in {html}"))?;
        let tag = &rest[open + 1..open + close];
        let name = tag.trim_start_matches('/').trim_end_matches(" /");
        if !OWN_TAGS.contains(&name) && name != "blockquote" {
            return Err(format!(
                "the Markdown renders a tag of its own: <{tag}>\n{html}"
            ));
        }
        rest = &rest[open + close + 1..];
    }
    text.push_str(rest);
    Ok(text
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&"))
}

fn check_renderings(dir: &Path, case: &Case, report: &Report) -> Result<(), String> {
    let table = table_at_width(report, None);
    if let Some(c) = table.chars().find(|c| steers_a_terminal(*c)) {
        return Err(format!("the table holds {c:?}:\n{table}"));
    }
    let markdown = render(report, Format::Markdown);
    if let Some(c) = markdown.chars().find(|c| steers_a_terminal(*c)) {
        return Err(format!("the Markdown holds {c:?}:\n{markdown}"));
    }
    let shown = rendered_text(&to_html(&markdown))?;
    // Escaping could hide a leak from a search of the Markdown source, not
    // from its rendered text.
    for secret in &case.never_contains {
        if table.contains(secret.as_str()) || shown.contains(secret.as_str()) {
            return Err(format!("the table or the Markdown shows {secret:?}"));
        }
    }
    for literal in &case.shows_literally {
        if !table.contains(literal.as_str()) {
            return Err(format!("the table does not show {literal:?}:\n{table}"));
        }
        if !shown.contains(literal.as_str()) {
            return Err(format!(
                "the rendered Markdown does not show {literal:?}:\n{shown}"
            ));
        }
    }
    check_text(dir, "expected.txt", &table)?;
    check_text(dir, "expected.md", &markdown)
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
    let mut report = analyze_file(&case.input, case.workspace.clone(), &rules, &options);
    if let Some(path) = &case.changed_by {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let by_address: std::collections::BTreeMap<String, Attribution> =
            serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        for item in &mut report.drift {
            item.changed_by = by_address.get(&item.address).cloned();
        }
    }
    let text = serde_json::to_string(&report).expect("report serializes");
    for secret in &case.never_contains {
        if text.contains(secret.as_str()) {
            return Err(format!("the report contains {secret:?}"));
        }
    }
    normalize(&mut report);
    check_renderings(dir, &case, &report)?;
    let actual = serde_json::to_value(&report).expect("report serializes");
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
