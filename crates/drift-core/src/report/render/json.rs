//! JSON: the report contract itself, pretty-printed.

use super::Render;
use crate::report::Report;

/// The report contract as pretty JSON.
#[derive(Debug, Clone, Copy, Default)]
pub struct Json;

impl Render for Json {
    fn render(&self, report: &Report) -> String {
        to_json(report)
    }
}

/// The report as pretty JSON with a trailing newline.
pub fn to_json(report: &Report) -> String {
    let mut text =
        serde_json::to_string_pretty(report).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
    text.push('\n');
    text
}
