//! Markdown, for pull requests and tickets. Untrusted text is shown as code
//! spans ([`markdown_code`]) or escaped prose ([`markdown_text`]).

use std::fmt::Write as _;

use super::{
    change_lines, changed_by_line, header, markdown_code, markdown_text, one_line, severity_line,
    trigger_line, verdict_label, verdict_line, Render,
};
use crate::drift::ChangeOrigin;
use crate::report::Report;

/// Markdown: a summary table, then one table of drift and one of pending
/// changes, then the errors and warnings.
#[derive(Debug, Clone, Copy, Default)]
pub struct Markdown;

impl Render for Markdown {
    fn render(&self, report: &Report) -> String {
        markdown(report)
    }
}

fn md_code_cell(text: &str) -> String {
    markdown_code(text, true)
}

fn md_code_inline(text: &str) -> String {
    markdown_code(text, false)
}

fn markdown(report: &Report) -> String {
    let mut out = String::new();
    let s = &report.summary;
    let _ = writeln!(out, "# Drift report: {}\n", header(report, markdown_text));
    let _ = writeln!(out, "| | |\n|---|---|");
    let _ = writeln!(out, "| Status | **{}** |", report.status.as_str());
    if let Some(line) = trigger_line(report, markdown_text) {
        let _ = writeln!(out, "| Trigger | {line} |");
    }
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
    let verdicts = verdict_line(report);
    if !verdicts.is_empty() {
        let _ = writeln!(out, "| Verdicts | {verdicts} |");
    }
    let _ = writeln!(
        out,
        "| Terraform | {} (exit code {}) |",
        report
            .terraform
            .version
            .as_deref()
            .map_or("unknown".to_string(), md_code_cell),
        report
            .terraform
            .exit_code
            .map_or("n/a".to_string(), |c| c.to_string())
    );
    let _ = writeln!(
        out,
        "| Generated | {} (report {}) |",
        md_code_cell(&report.generated_at),
        md_code_cell(&report.report_id)
    );
    for note in &report.terraform.notes {
        let _ = writeln!(out, "\n> {}", markdown_text(note));
    }
    for (title, items) in [
        (
            "Drift (changed outside Terraform)",
            report
                .drift
                .iter()
                .filter(|i| i.source == ChangeOrigin::OutsideTerraform)
                .collect::<Vec<_>>(),
        ),
        (
            "Pending changes (configuration differs from state)",
            report
                .drift
                .iter()
                .filter(|i| i.source == ChangeOrigin::ConfigChange)
                .collect(),
        ),
    ] {
        if items.is_empty() {
            continue;
        }
        let _ = writeln!(out, "\n## {title}\n");
        let _ = writeln!(
            out,
            "| Severity | Verdict | Address | Actions | Changes | Remediation |\n|---|---|---|---|---|---|"
        );
        for item in items {
            let actions: Vec<String> = item.actions.iter().map(|a| markdown_text(a)).collect();
            let mut changes = change_lines(item, 8, md_code_cell);
            if let Some(line) = changed_by_line(item, md_code_cell) {
                changes.insert(0, line);
            }
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {}{} |",
                item.severity.as_str(),
                verdict_label(item.verdict),
                md_code_cell(&item.address),
                actions.join(", "),
                changes.join("<br>"),
                markdown_text(&item.remediation.suggestion),
                item.remediation
                    .command
                    .as_ref()
                    .map_or(String::new(), |c| format!("<br>{}", md_code_cell(c)))
            );
        }
    }
    if !report.errors.is_empty() {
        let _ = writeln!(out, "\n## Errors and warnings\n");
        for error in &report.errors {
            let _ = writeln!(
                out,
                "- **{}**: {}",
                markdown_text(error.severity.as_str()),
                one_line(error, md_code_inline)
            );
        }
    }
    out
}
