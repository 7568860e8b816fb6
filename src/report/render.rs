//! Report renderers: JSON (the contract), a terminal table and Markdown.
//!
//! All three read only the [`Report`], whose values are already redacted, so
//! no format can show a sensitive value.

use std::fmt::Write as _;

use comfy_table::{presets::UTF8_FULL_CONDENSED, ContentArrangement, Table};
use serde_json::Value;

use super::Report;
use crate::drift::rules::Severity;
use crate::drift::DriftItem;

/// An output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    /// The report contract, pretty-printed.
    Json,
    /// A table for a terminal.
    #[default]
    Table,
    /// Markdown, for pull requests and tickets.
    Markdown,
}

/// Renders one report.
pub fn render(report: &Report, format: Format) -> String {
    match format {
        Format::Json => to_json(report),
        Format::Table => table(report),
        Format::Markdown => markdown(report),
    }
}

/// The report as pretty JSON with a trailing newline.
pub fn to_json(report: &Report) -> String {
    let mut text =
        serde_json::to_string_pretty(report).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
    text.push('\n');
    text
}

const VALUE_WIDTH: usize = 48;

fn short(value: &Value) -> String {
    let text = match value {
        Value::String(s) => s.clone(),
        Value::Null => "null".to_string(),
        other => other.to_string(),
    };
    if text.chars().count() > VALUE_WIDTH {
        let cut: String = text.chars().take(VALUE_WIDTH - 1).collect();
        format!("{cut}…")
    } else {
        text
    }
}

fn change_lines(item: &DriftItem, limit: usize) -> Vec<String> {
    let mut lines: Vec<String> = item
        .changed_attributes
        .iter()
        .take(limit)
        .map(|a| {
            let after = if a.unknown {
                "(known after apply)".to_string()
            } else {
                short(&a.after)
            };
            format!("{}: {} → {}", a.path, short(&a.before), after)
        })
        .collect();
    if item.changed_attributes.len() > limit {
        lines.push(format!("… {} more", item.changed_attributes.len() - limit));
    }
    lines
}

fn source_label(item: &DriftItem) -> &'static str {
    match item.source {
        crate::drift::Source::OutsideTerraform => "drift",
        crate::drift::Source::ConfigChange => "pending",
    }
}

fn header(report: &Report) -> String {
    let w = &report.workspace;
    let place: Vec<&str> = [
        w.environment.as_deref(),
        w.account_id.as_deref(),
        w.region.as_deref(),
    ]
    .into_iter()
    .flatten()
    .collect();
    if place.is_empty() {
        w.name.clone()
    } else {
        format!("{} ({})", w.name, place.join(", "))
    }
}

fn severity_line(report: &Report) -> String {
    Severity::ALL
        .iter()
        .map(|s| format!("{} {}", report.summary.by_severity.get(*s), s.as_str()))
        .collect::<Vec<_>>()
        .join(", ")
}

fn table(report: &Report) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{}: {} — {} drifted, {} pending ({})",
        header(report),
        report.status.as_str(),
        report.summary.drifted_resources,
        report.summary.pending_changes,
        severity_line(report)
    );
    if !report.drift.is_empty() {
        let mut table = Table::new();
        table
            .load_preset(UTF8_FULL_CONDENSED)
            .set_content_arrangement(ContentArrangement::Dynamic)
            .set_header(vec![
                "severity", "source", "address", "actions", "changes", "rule",
            ]);
        for item in &report.drift {
            table.add_row(vec![
                item.severity.as_str().to_string(),
                source_label(item).to_string(),
                item.address.clone(),
                item.actions.join(","),
                change_lines(item, 5).join("\n"),
                item.rule.clone(),
            ]);
        }
        let _ = writeln!(out, "{table}");
    }
    for error in &report.errors {
        let _ = writeln!(out, "{}: {}", error.severity, one_line(error));
    }
    out
}

fn one_line(error: &super::ReportDiagnostic) -> String {
    let mut text = error.summary.clone();
    if let Some(address) = &error.address {
        text = format!("{address}: {text}");
    }
    if let Some(detail) = &error.detail {
        text.push_str(" — ");
        text.push_str(&detail.replace('\n', " "));
    }
    text
}

fn md_cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', "<br>")
}

fn markdown(report: &Report) -> String {
    let mut out = String::new();
    let s = &report.summary;
    let _ = writeln!(out, "# Drift report: {}\n", header(report));
    let _ = writeln!(out, "| | |\n|---|---|");
    let _ = writeln!(out, "| Status | **{}** |", report.status.as_str());
    let _ = writeln!(
        out,
        "| Resources | {} |",
        s.total_resources
            .map_or("unknown".to_string(), |n| n.to_string())
    );
    let _ = writeln!(
        out,
        "| Drifted (outside Terraform) | {} |",
        s.drifted_resources
    );
    let _ = writeln!(out, "| Pending changes | {} |", s.pending_changes);
    let _ = writeln!(out, "| Severity | {} |", severity_line(report));
    let _ = writeln!(
        out,
        "| Terraform | {} (exit code {}) |",
        report.terraform.version.as_deref().unwrap_or("unknown"),
        report
            .terraform
            .exit_code
            .map_or("n/a".to_string(), |c| c.to_string())
    );
    let _ = writeln!(
        out,
        "| Generated | {} (report {}) |",
        report.generated_at, report.report_id
    );
    for note in &report.terraform.notes {
        let _ = writeln!(out, "\n> {}", md_cell(note));
    }
    for (title, items) in [
        (
            "Drift (changed outside Terraform)",
            report
                .drift
                .iter()
                .filter(|i| source_label(i) == "drift")
                .collect::<Vec<_>>(),
        ),
        (
            "Pending changes (configuration differs from state)",
            report
                .drift
                .iter()
                .filter(|i| source_label(i) == "pending")
                .collect(),
        ),
    ] {
        if items.is_empty() {
            continue;
        }
        let _ = writeln!(out, "\n## {title}\n");
        let _ = writeln!(
            out,
            "| Severity | Address | Actions | Changes | Remediation |\n|---|---|---|---|---|"
        );
        for item in items {
            let _ = writeln!(
                out,
                "| {} | `{}` | {} | {} | {}{} |",
                item.severity.as_str(),
                md_cell(&item.address),
                item.actions.join(", "),
                md_cell(&change_lines(item, 8).join("\n")),
                md_cell(&item.remediation.suggestion),
                item.remediation
                    .command
                    .as_ref()
                    .map_or(String::new(), |c| format!("<br>`{}`", md_cell(c)))
            );
        }
    }
    if !report.errors.is_empty() {
        let _ = writeln!(out, "\n## Errors and warnings\n");
        for error in &report.errors {
            let _ = writeln!(
                out,
                "- **{}**: {}",
                error.severity,
                md_cell(&one_line(error))
            );
        }
    }
    out
}

/// One row per report, for the end of a CLI run.
pub fn summary_table(rows: &[(&Report, String)]) -> String {
    let mut table = Table::new();
    table
        .load_preset(UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_header(vec![
            "workspace",
            "env",
            "region",
            "status",
            "drifted",
            "pending",
            "critical",
            "high",
            "medium",
            "low",
            "report",
        ]);
    for (report, location) in rows {
        let w = &report.workspace;
        let b = &report.summary.by_severity;
        table.add_row(vec![
            w.name.clone(),
            w.environment.clone().unwrap_or_default(),
            w.region.clone().unwrap_or_default(),
            report.status.as_str().to_string(),
            report.summary.drifted_resources.to_string(),
            report.summary.pending_changes.to_string(),
            b.critical.to_string(),
            b.high.to_string(),
            b.medium.to_string(),
            b.low.to_string(),
            location.clone(),
        ]);
    }
    format!("{table}\n")
}
