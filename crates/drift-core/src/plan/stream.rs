//! The `terraform plan -json` UI stream, read one line at a time.
//!
//! Each line is one message with a `type`: `version`, `resource_drift`,
//! `planned_change`, `change_summary`, `diagnostic`, `log`, hooks such as
//! `refresh_complete`, and others this tool ignores. Stream messages carry
//! actions and addresses but no attribute values, so changes read from a
//! stream have no [`ChangeDetail`](super::ChangeDetail).
//!
//! A line that is not JSON does not end the run: it becomes an error
//! diagnostic and the messages around it are still read, so drift already
//! seen is never lost. Only the current line is held in memory.

use std::io::BufRead;

use serde::Deserialize;

use super::{
    depth, split_module, ChangeSummary, Diagnostic, DocumentKind, Mode, PlanDocument,
    ResourceChange,
};
use crate::error::{without_input_values, Error, Result};

/// The longest single line accepted, so one runaway line cannot exhaust memory.
pub const MAX_LINE_BYTES: u64 = 64 << 20;

#[derive(Deserialize)]
struct Message {
    #[serde(rename = "type")]
    kind: Option<String>,
    #[serde(rename = "@level")]
    level: Option<String>,
    #[serde(rename = "@message")]
    message: Option<String>,
    terraform: Option<String>,
    ui: Option<String>,
    change: Option<StreamChange>,
    changes: Option<StreamSummary>,
    diagnostic: Option<StreamDiagnostic>,
    hook: Option<Hook>,
}

#[derive(Deserialize)]
struct StreamChange {
    resource: StreamResource,
    previous_resource: Option<StreamResource>,
    action: String,
    reason: Option<String>,
}

#[derive(Deserialize)]
struct StreamResource {
    addr: String,
    module: Option<String>,
    resource_type: Option<String>,
    resource_name: Option<String>,
    implied_provider: Option<String>,
}

#[derive(Deserialize)]
struct StreamSummary {
    #[serde(default)]
    add: u64,
    #[serde(default)]
    change: u64,
    #[serde(default)]
    remove: u64,
    #[serde(default)]
    import: u64,
}

#[derive(Deserialize)]
struct StreamDiagnostic {
    severity: Option<String>,
    summary: Option<String>,
    detail: Option<String>,
    address: Option<String>,
}

#[derive(Deserialize)]
struct Hook {
    resource: Option<StreamResource>,
}

/// Incremental parser for the JSON-lines stream.
pub struct StreamParser {
    source_name: String,
    line_number: usize,
    doc: PlanDocument,
    refreshed_managed: usize,
    skip_text_lines: bool,
}

impl StreamParser {
    /// A parser for the stream named `source_name` (used in messages), whose
    /// first line pushed is line `skipped_lines + 1` of the input.
    pub fn new(source_name: &str, skipped_lines: usize) -> Self {
        StreamParser {
            source_name: source_name.to_string(),
            line_number: skipped_lines,
            doc: PlanDocument::empty(DocumentKind::Stream),
            refreshed_managed: 0,
            skip_text_lines: false,
        }
    }

    /// Skips lines that are not JSON instead of recording them as errors:
    /// a live terraform's `-json` output holds some plain text (terraform
    /// 1.0 prints state-lock progress as text even with `-json`).
    pub fn skipping_text_lines(mut self) -> Self {
        self.skip_text_lines = true;
        self
    }

    /// Reads and parses every remaining line of `reader`; a line longer
    /// than `max_line_bytes` (at most [`MAX_LINE_BYTES`]) is refused.
    pub fn read_rest<R: BufRead>(&mut self, mut reader: R, max_line_bytes: u64) -> Result<()> {
        let limit = max_line_bytes.clamp(1, MAX_LINE_BYTES);
        let mut line = Vec::new();
        loop {
            line.clear();
            let read = std::io::Read::take(&mut reader, limit + 1)
                .read_until(b'\n', &mut line)
                .map_err(|e| Error::io(&self.source_name, e))?;
            if read == 0 {
                return Ok(());
            }
            if line.len() as u64 > limit {
                return Err(super::line_too_long(
                    &self.source_name,
                    self.line_number + 1,
                    limit,
                ));
            }
            self.push_line(&line)?;
        }
    }

    /// Counts lines that were read elsewhere and held nothing.
    pub fn skip_lines(&mut self, lines: usize) {
        self.line_number += lines;
    }

    /// Parses one line. Blank lines are skipped; a line that is not a JSON
    /// message is recorded as an error diagnostic (or skipped, see
    /// [`StreamParser::skipping_text_lines`]).
    pub fn push_line(&mut self, line: &[u8]) -> Result<()> {
        self.line_number += 1;
        if line.iter().all(u8::is_ascii_whitespace) {
            return Ok(());
        }
        if depth::first_too_deep(line, depth::MAX_NESTING_DEPTH).is_some() {
            self.doc.diagnostics.push(Diagnostic::error(
                format!(
                    "{} line {} is not a Terraform JSON message",
                    self.source_name, self.line_number
                ),
                Some(format!(
                    "it nests more than {} levels deep",
                    depth::MAX_NESTING_DEPTH
                )),
            ));
            return Ok(());
        }
        match serde_json::from_slice::<Message>(line) {
            Ok(message) => self.apply(message),
            Err(_) if self.skip_text_lines && !line.starts_with(b"{") => {
                tracing::debug!(
                    line = %String::from_utf8_lossy(line).trim_end(),
                    "terraform printed text outside its JSON output"
                );
            }
            Err(e) => self.doc.diagnostics.push(Diagnostic::error(
                format!(
                    "{} line {} is not a Terraform JSON message",
                    self.source_name, self.line_number
                ),
                Some(without_input_values(&e.to_string())),
            )),
        }
        Ok(())
    }

    /// The document read so far.
    pub fn finish(mut self) -> PlanDocument {
        if self.refreshed_managed > 0 {
            self.doc.total_resources = Some(self.refreshed_managed);
        }
        // A refresh-only plan's stream has no planned_change message; a
        // normal plan's without one cannot be told from it.
        self.doc.planned_changes_listed = !self.doc.resource_changes.is_empty();
        self.doc
    }

    fn apply(&mut self, message: Message) {
        match message.kind.as_deref() {
            Some("version") => {
                self.doc.terraform_version = message.terraform;
                self.doc.format_version = message.ui;
            }
            Some("resource_drift") => {
                if let Some(change) = message.change {
                    self.doc.resource_drift.push(convert(change));
                }
            }
            Some("planned_change") => {
                if let Some(change) = message.change {
                    self.doc.resource_changes.push(convert(change));
                }
            }
            Some("change_summary") => {
                if let Some(s) = message.changes {
                    self.doc.change_summary = Some(ChangeSummary {
                        add: s.add,
                        change: s.change,
                        remove: s.remove,
                        import: s.import,
                    });
                }
            }
            Some("diagnostic") => {
                let d = message.diagnostic;
                let severity = d
                    .as_ref()
                    .and_then(|d| d.severity.clone())
                    .or(message.level)
                    .unwrap_or_else(|| "error".to_string());
                let summary = d
                    .as_ref()
                    .and_then(|d| d.summary.clone())
                    .or(message.message)
                    .unwrap_or_default();
                self.doc.diagnostics.push(Diagnostic {
                    severity: severity.into(),
                    summary,
                    detail: d
                        .as_ref()
                        .and_then(|d| d.detail.clone())
                        .filter(|s| !s.is_empty()),
                    address: d.and_then(|d| d.address),
                });
            }
            Some("refresh_complete") => {
                let managed = message
                    .hook
                    .and_then(|h| h.resource)
                    .is_some_and(|r| !split_module(&r.addr).1.starts_with("data."));
                if managed {
                    self.refreshed_managed += 1;
                }
            }
            _ => {}
        }
    }
}

/// Maps the stream's one-word action to show-json's action list.
fn actions_for(action: &str) -> Vec<String> {
    let list: &[&str] = match action {
        "noop" | "move" => &["no-op"],
        "replace" => &["delete", "create"],
        other => return vec![other.to_string()],
    };
    list.iter().map(|s| s.to_string()).collect()
}

fn convert(change: StreamChange) -> ResourceChange {
    let resource = change.resource;
    let (derived_module, local) = split_module(&resource.addr);
    let mode = if local.starts_with("data.") {
        Mode::Data
    } else {
        Mode::Managed
    };
    let module_address = resource
        .module
        .filter(|m| !m.is_empty())
        .or_else(|| derived_module.map(str::to_string));
    ResourceChange {
        module_address,
        mode,
        resource_type: resource.resource_type.unwrap_or_default(),
        name: resource.resource_name.unwrap_or_default(),
        provider: resource.implied_provider,
        actions: actions_for(&change.action),
        action_reason: change.reason,
        previous_address: change.previous_resource.map(|p| p.addr),
        detail: None,
        address: resource.addr,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::parse_slice;

    const STREAM: &str = r#"{"@level":"info","@message":"Terraform 1.5.7","type":"version","terraform":"1.5.7","ui":"1.1"}
{"@level":"info","@message":"aws_s3_bucket.a: Refresh complete","type":"refresh_complete","hook":{"resource":{"addr":"aws_s3_bucket.a","module":"","resource_type":"aws_s3_bucket","resource_name":"a"}}}
{"@level":"info","@message":"aws_s3_bucket.a: Drift detected (update)","type":"resource_drift","change":{"action":"update","resource":{"addr":"aws_s3_bucket.a","module":"","resource_type":"aws_s3_bucket","resource_name":"a","implied_provider":"aws"}}}
this line is garbage
{"@level":"info","@message":"module.m.aws_instance.b: Plan to replace","type":"planned_change","change":{"action":"replace","reason":"cannot_update","resource":{"addr":"module.m.aws_instance.b","module":"module.m","resource_type":"aws_instance","resource_name":"b"}}}
{"@level":"error","@message":"Error: boom","type":"diagnostic","diagnostic":{"severity":"error","summary":"boom","detail":""}}
{"@level":"info","@message":"Plan: 0 to add, 1 to change, 0 to destroy.","type":"change_summary","changes":{"add":0,"change":1,"remove":0,"operation":"plan"}}
"#;

    #[test]
    fn live_output_may_hold_text_lines_but_not_broken_json() {
        let live = "{\"type\":\"version\",\"terraform\":\"1.0.3\",\"ui\":\"0.1.0\"}\nAcquiring state lock. This may take a few moments...\n{\"type\":\"diagnostic\",\"diagnostic\":{\"severity\":\"error\",\"summary\":\"Error acquiring the state lock\"}}\n{\"type\":\"planned_change\",\"change\n";
        let mut parser = StreamParser::new("plan", 0).skipping_text_lines();
        parser.read_rest(live.as_bytes(), 1 << 20).unwrap();
        let doc = parser.finish();
        let summaries: Vec<_> = doc.diagnostics.iter().map(|d| d.summary.as_str()).collect();
        assert_eq!(summaries.len(), 2, "{summaries:?}");
        assert_eq!(summaries[0], "Error acquiring the state lock");
        assert!(summaries[1].contains("line 4 is not a Terraform JSON message"));
    }

    #[test]
    fn reads_every_message_kind_and_survives_a_bad_line() {
        let doc = parse_slice("plan.jsonl", STREAM.as_bytes()).unwrap();
        assert_eq!(doc.kind, DocumentKind::Stream);
        assert_eq!(doc.terraform_version.as_deref(), Some("1.5.7"));
        assert_eq!(doc.format_version.as_deref(), Some("1.1"));
        assert_eq!(doc.resource_drift.len(), 1);
        assert_eq!(doc.resource_changes[0].actions, vec!["delete", "create"]);
        assert_eq!(
            doc.resource_changes[0].module_address.as_deref(),
            Some("module.m")
        );
        assert_eq!(doc.total_resources, Some(1));
        assert_eq!(doc.change_summary.map(|s| s.change), Some(1));
        let summaries: Vec<_> = doc.diagnostics.iter().map(|d| d.summary.as_str()).collect();
        assert!(
            summaries[0].contains("line 4 is not a Terraform JSON message"),
            "{summaries:?}"
        );
        assert_eq!(summaries[1], "boom");
        assert_eq!(doc.diagnostics[1].detail, None);
    }

    #[test]
    fn an_overlong_line_is_refused() {
        let mut parser = StreamParser::new("s", 0);
        let long = format!(
            "{{\"type\":\"log\",\"@message\":\"{}\"}}\n",
            "x".repeat(100)
        );
        let err = parser.read_rest(long.as_bytes(), 50).unwrap_err();
        assert!(matches!(err, Error::LineTooLong { line: 1, .. }), "{err}");
    }
}
