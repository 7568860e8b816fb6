//! The terminal table, and the one-row-per-report summary of a CLI run.
//! Untrusted text goes through [`terminal_text`].

use std::fmt::Write as _;

use comfy_table::{presets::UTF8_FULL_CONDENSED, ContentArrangement};

use super::{
    change_lines, changed_by_line, header, one_line, severity_line, terminal_text, trigger_line,
    verdict_label, verdict_line, Render,
};
use crate::drift::{ChangeOrigin, DriftItem};
use crate::report::Report;

fn terminal(text: &str) -> String {
    terminal_text(text).into_owned()
}

/// The terminal table at a fixed width: `None` never wraps, `Some(n)` wraps
/// cells to fit `n` columns. [`super::render`] wraps to the terminal it
/// prints on.
pub fn table_at_width(report: &Report, width: Option<u16>) -> String {
    Table {
        width: TableWidth::Fixed(width),
    }
    .render(report)
}

/// A table for a terminal: a summary line, one row per finding, then the
/// errors and warnings.
#[derive(Debug, Clone, Copy)]
pub struct Table {
    /// How wide it may be.
    pub width: TableWidth,
}

impl Render for Table {
    fn render(&self, report: &Report) -> String {
        table(report, self.width)
    }
}

/// How wide the terminal table may be.
#[derive(Debug, Clone, Copy)]
pub enum TableWidth {
    /// As wide as the terminal it prints on, if any.
    Terminal,
    /// As [`table_at_width`] says.
    Fixed(Option<u16>),
}

fn table(report: &Report, width: TableWidth) -> String {
    let mut out = String::new();
    let verdicts = verdict_line(report);
    let _ = writeln!(
        out,
        "{}: {} — {} drifted, {} pending ({}){}",
        header(report, terminal),
        report.status.as_str(),
        report.summary.drifted_resources,
        report.summary.pending_changes,
        severity_line(report),
        if verdicts.is_empty() {
            String::new()
        } else {
            format!("; {verdicts}")
        }
    );
    if let Some(line) = trigger_line(report, terminal) {
        let _ = writeln!(out, "{line}");
    }
    if !report.drift.is_empty() {
        let mut table = comfy_table::Table::new();
        table
            .load_preset(UTF8_FULL_CONDENSED)
            .set_content_arrangement(ContentArrangement::Dynamic)
            .set_header(vec![
                "severity", "source", "verdict", "address", "actions", "changes", "rule",
            ]);
        match width {
            TableWidth::Fixed(Some(columns)) => {
                table.set_width(columns);
            }
            TableWidth::Fixed(None) => {
                table.force_no_tty();
            }
            TableWidth::Terminal => {}
        }
        for item in &report.drift {
            let mut changes = change_lines(item, 5, terminal);
            if let Some(line) = changed_by_line(item, terminal) {
                changes.insert(0, line);
            }
            table.add_row(vec![
                item.severity.as_str().to_string(),
                source_label(item).to_string(),
                verdict_label(item.verdict).to_string(),
                terminal(&item.address),
                terminal(&item.actions.join(",")),
                // The table's own line breaks separate changes; a value's
                // own were escaped to `\n` by `terminal`.
                changes.join("\n"),
                terminal(&item.rule),
            ]);
        }
        let _ = writeln!(out, "{table}");
    }
    for error in &report.errors {
        let _ = writeln!(
            out,
            "{}: {}",
            terminal(error.severity.as_str()),
            one_line(error, terminal)
        );
    }
    out
}

fn source_label(item: &DriftItem) -> &'static str {
    match item.source {
        ChangeOrigin::OutsideTerraform => "drift",
        ChangeOrigin::ConfigChange => "pending",
    }
}

/// One row per report, for the end of a CLI run.
pub fn summary_table(rows: &[(&Report, String)]) -> String {
    let mut table = comfy_table::Table::new();
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
            terminal(&w.name),
            terminal(w.environment.as_deref().unwrap_or_default()),
            terminal(w.region.as_deref().unwrap_or_default()),
            report.status.as_str().to_string(),
            report.summary.drifted_resources.to_string(),
            report.summary.pending_changes.to_string(),
            b.critical.to_string(),
            b.high.to_string(),
            b.medium.to_string(),
            b.low.to_string(),
            terminal(location),
        ]);
    }
    format!("{table}\n")
}
