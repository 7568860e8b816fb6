//! Typed reading of Terraform's machine-readable output.
//!
//! Three shapes come in and one leaves: [`PlanDocument`].
//!
//! * `terraform show -json PLANFILE` (format_version 0.1 to 1.x), the Terraform
//!   Cloud "redacted plan" (`plan_format_version`) and `terraform show -json`
//!   of a state: see [`show`].
//! * The `terraform plan -json` UI stream, one JSON message per line, read
//!   incrementally so memory stays flat however long the stream: see [`stream`].
//! * A lone `diagnostic` object, as Terraform prints inside stream messages.
//!
//! Which shape a byte stream holds is decided by [`read_document`]: a stream's
//! first line is a complete JSON object and more lines follow; a document is a
//! single JSON value. Unknown fields are ignored everywhere, so newer Terraform
//! releases keep working.
//!
//! ```
//! let plan = br#"{"format_version":"1.2","resource_changes":[]}"#;
//! let doc = drift_core::plan::parse_slice("plan.json", plan).unwrap();
//! assert_eq!(doc.format_version.as_deref(), Some("1.2"));
//! ```

pub mod depth;
pub mod raw;
pub mod show;
pub mod stream;

pub use raw::RawJson;

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use serde_json::Value;

use crate::encoding::{self, Encoding};
use crate::error::{Error, Result};

/// Inputs larger than this are refused unless the caller raises the limit.
pub const DEFAULT_MAX_INPUT_BYTES: u64 = 1 << 30;

/// Which Terraform output a [`PlanDocument`] was read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocumentKind {
    /// `terraform show -json PLANFILE`, or a Terraform Cloud redacted plan.
    Plan,
    /// `terraform show -json` of a state: resources, but no changes.
    State,
    /// The `terraform plan -json` (or apply) UI stream.
    Stream,
    /// A single diagnostic object.
    Diagnostic,
}

/// Whether a resource is managed or a data source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// A `resource` block.
    Managed,
    /// A `data` block.
    Data,
}

/// One resource's change, from `resource_drift`, `resource_changes` or a
/// stream's `resource_drift`/`planned_change` message.
#[derive(Debug, Clone, PartialEq)]
pub struct ResourceChange {
    /// Full address, e.g. `module.app.aws_instance.web[0]`.
    pub address: String,
    /// The module part of the address, `None` in the root module.
    pub module_address: Option<String>,
    /// Managed resource or data source.
    pub mode: Mode,
    /// Resource type, e.g. `aws_security_group`.
    pub resource_type: String,
    /// Resource name in configuration.
    pub name: String,
    /// Provider, e.g. `registry.terraform.io/hashicorp/aws`.
    pub provider: Option<String>,
    /// Terraform's action list, e.g. `["delete", "create"]`.
    pub actions: Vec<String>,
    /// Terraform's reason for the action, e.g. `replace_because_cannot_update`.
    pub action_reason: Option<String>,
    /// The address this resource had before a `moved` block.
    pub previous_address: Option<String>,
    /// Values before and after, present in show-json documents only.
    pub detail: Option<ChangeDetail>,
}

/// The values of a change. Sensitive values are still in clear text here:
/// they are redacted when the report is built, using the sensitivity masks.
///
/// `before` and `after` stay as the JSON text Terraform wrote (see [`raw`]):
/// the analyzer compares text first and parses only the parts that differ.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ChangeDetail {
    /// The object before the change (`null` when being created).
    pub before: RawJson,
    /// The object after the change (`null` when being deleted).
    pub after: RawJson,
    /// Mask of values only known after apply.
    pub after_unknown: RawJson,
    /// Mask of sensitive values in `before`.
    pub before_sensitive: RawJson,
    /// Mask of sensitive values in `after`.
    pub after_sensitive: RawJson,
    /// Attribute paths that force replacement.
    pub replace_paths: Vec<Vec<Value>>,
}

/// How serious a diagnostic is. Terraform writes `error` or `warning`; any
/// other text (an input's own) is kept as written, and is not an error.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum DiagnosticSeverity {
    /// `error`.
    Error,
    /// `warning`.
    Warning,
    /// Anything else, as written.
    Other(String),
}

impl DiagnosticSeverity {
    /// The severity as written: `error`, `warning` or the other text.
    pub fn as_str(&self) -> &str {
        match self {
            DiagnosticSeverity::Error => "error",
            DiagnosticSeverity::Warning => "warning",
            DiagnosticSeverity::Other(text) => text,
        }
    }
}

impl From<String> for DiagnosticSeverity {
    fn from(text: String) -> Self {
        match text.as_str() {
            "error" => DiagnosticSeverity::Error,
            "warning" => DiagnosticSeverity::Warning,
            _ => DiagnosticSeverity::Other(text),
        }
    }
}

impl std::fmt::Display for DiagnosticSeverity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

// Serialized as the text it was read from, as when it was a string.
impl serde::Serialize for DiagnosticSeverity {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for DiagnosticSeverity {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(DiagnosticSeverity::from)
    }
}

/// A diagnostic Terraform reported (error or warning).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// `error`, `warning`, or other text as written.
    pub severity: DiagnosticSeverity,
    /// One-line summary.
    pub summary: String,
    /// Longer explanation, if any.
    pub detail: Option<String>,
    /// The resource address it concerns, if any.
    pub address: Option<String>,
}

impl Diagnostic {
    /// An error diagnostic with no detail.
    pub fn error(summary: impl Into<String>, detail: Option<String>) -> Self {
        Diagnostic {
            severity: DiagnosticSeverity::Error,
            summary: summary.into(),
            detail,
            address: None,
        }
    }

    /// A warning diagnostic with no detail.
    pub fn warning(summary: impl Into<String>, detail: Option<String>) -> Self {
        Diagnostic {
            severity: DiagnosticSeverity::Warning,
            ..Diagnostic::error(summary, detail)
        }
    }

    /// Whether this diagnostic is an error.
    pub fn is_error(&self) -> bool {
        self.severity == DiagnosticSeverity::Error
    }
}

/// An attribute path Terraform marked as relevant to the planned changes.
#[derive(Debug, Clone, PartialEq)]
pub struct RelevantAttribute {
    /// The resource address.
    pub resource: String,
    /// The attribute path, as Terraform's steps (strings and indexes).
    pub attribute: Vec<Value>,
}

/// The stream's `change_summary` message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ChangeSummary {
    /// Resources to add.
    pub add: u64,
    /// Resources to change.
    pub change: u64,
    /// Resources to destroy.
    pub remove: u64,
    /// Resources to import.
    pub import: u64,
}

/// Everything the analyzer needs from one piece of Terraform output.
#[derive(Debug, Clone, PartialEq)]
pub struct PlanDocument {
    /// Which output this came from.
    pub kind: DocumentKind,
    /// `format_version` (or `plan_format_version`, or the stream's `ui` version).
    pub format_version: Option<String>,
    /// The Terraform version that wrote it, when it says.
    pub terraform_version: Option<String>,
    /// Changes made outside Terraform (found by refresh).
    pub resource_drift: Vec<ResourceChange>,
    /// Changes the plan would make. A show-json document's entries that change
    /// nothing (`no-op`, `read`) are left out; they only count in `total_resources`.
    pub resource_changes: Vec<ResourceChange>,
    /// Drifted attributes Terraform found relevant to the plan.
    pub relevant_attributes: Vec<RelevantAttribute>,
    /// Managed resources known to the plan (state and configuration), if it lists them.
    pub total_resources: Option<usize>,
    /// Errors and warnings: Terraform's diagnostics, failed checks, an errored plan.
    pub diagnostics: Vec<Diagnostic>,
    /// The stream's change summary, if one was seen.
    pub change_summary: Option<ChangeSummary>,
    /// Whether Terraform marked the plan as errored.
    pub errored: bool,
    /// Whether the input lists the plan's changes (a normal plan), so that
    /// drift can be judged against them: a refresh-only plan lists none, and
    /// a stream only names the changes it has.
    pub planned_changes_listed: bool,
    /// The managed resources of the state the document holds (a plan's
    /// `prior_state`, a state document's `values`; every module) with their
    /// identifiers, read in the same pass as the rest: what the workspace
    /// claims in [`crate::unmanaged`]. `None` when the input holds no state
    /// (a stream, a plan without `prior_state`): unknown, not empty.
    pub state_resources: Option<Vec<crate::unmanaged::ManagedResource>>,
}

impl PlanDocument {
    pub(crate) fn empty(kind: DocumentKind) -> Self {
        PlanDocument {
            kind,
            format_version: None,
            terraform_version: None,
            resource_drift: Vec::new(),
            resource_changes: Vec::new(),
            relevant_attributes: Vec::new(),
            total_resources: None,
            diagnostics: Vec::new(),
            change_summary: None,
            errored: false,
            planned_changes_listed: false,
            state_resources: None,
        }
    }
}

/// Parses a whole document or stream held in memory.
pub fn parse_slice(source_name: &str, bytes: &[u8]) -> Result<PlanDocument> {
    read_slice(source_name, bytes, DEFAULT_MAX_INPUT_BYTES)
}

/// Parses Terraform output held in memory, deciding between a JSON document
/// and a JSON-lines stream as [`read_document`] does, without copying it: a
/// document is parsed in place, a stream line by line. Input longer than
/// `max_bytes` is refused, and so is a stream line longer than
/// [`stream::MAX_LINE_BYTES`]. A UTF-8 byte-order mark is skipped and UTF-16
/// converted.
pub fn read_slice(source_name: &str, bytes: &[u8], max_bytes: u64) -> Result<PlanDocument> {
    check_size(source_name, bytes.len() as u64, max_bytes)?;
    let (text, _) = encoding::to_utf8(bytes).map_err(|e| Error::Encoding {
        source_name: source_name.to_string(),
        message: e.message,
    })?;
    read_utf8_slice(source_name, &text, max_bytes)
}

fn read_utf8_slice(source_name: &str, bytes: &[u8], max_bytes: u64) -> Result<PlanDocument> {
    let Some(content) = bytes.iter().position(|b| !b.is_ascii_whitespace()) else {
        return Err(Error::Empty {
            source_name: source_name.to_string(),
        });
    };
    let start = memchr::memrchr(b'\n', &bytes[..content]).map_or(0, |p| p + 1);
    let skipped_lines = memchr::memchr_iter(b'\n', &bytes[..start]).count();
    check_object_start(source_name, &bytes[content..])?;
    let whole = &bytes[start..];
    // Most input is one document: parsing it straight away spares a search
    // for line ends through a one-line document of hundreds of megabytes. A
    // stream fails this parse at its second line, and takes the way below.
    if let Ok(doc) = show::parse_single(source_name, whole, skipped_lines) {
        return Ok(doc);
    }
    let first_end = memchr::memchr(b'\n', whole).map_or(whole.len(), |p| p + 1);
    let (first, rest) = whole.split_at(first_end);
    let trimmed = trim_ascii(first);
    if rest.iter().all(u8::is_ascii_whitespace) {
        return show::parse_single(source_name, trimmed, skipped_lines);
    }
    if is_complete_json(trimmed) {
        let line_limit = stream_line_limit(max_bytes);
        let mut parser = stream::StreamParser::new(source_name, skipped_lines);
        check_line(source_name, skipped_lines + 1, first.len(), max_bytes)?;
        parser.push_line(first)?;
        parser.read_rest(rest, line_limit)?;
        return Ok(parser.finish());
    }
    show::parse_single(source_name, whole, skipped_lines)
}

/// Reads a plan or stream file, as [`read_document`] does. A regular file
/// larger than `max_bytes` is refused before it is read, and its size lets a
/// one-line document be read in one allocation.
pub fn read_file(path: &Path, max_bytes: u64) -> Result<PlanDocument> {
    let name = path.display().to_string();
    let io_err = |e| Error::io(path, e);
    let file = File::open(path).map_err(io_err)?;
    let size = match file.metadata() {
        Ok(meta) if meta.is_file() => meta.len(),
        // Devices and pipes say nothing useful about their size.
        _ => 0,
    };
    if size > max_bytes {
        return Err(Error::TooLarge {
            source_name: name,
            size: Some(size),
            limit: max_bytes,
        });
    }
    read_source(
        &name,
        BufReader::with_capacity(64 * 1024, file),
        max_bytes,
        size,
    )
}

/// Reads Terraform output from `reader`, deciding between a JSON document and
/// a JSON-lines stream from its first line.
///
/// A stream is parsed line by line without holding it in memory; a document is
/// read whole (it is one JSON value). Nothing is read past `max_bytes`: input
/// that goes on is refused, and input that does not start like JSON is
/// refused at its first byte.
pub fn read_document<R: BufRead>(
    source_name: &str,
    reader: R,
    max_bytes: u64,
) -> Result<PlanDocument> {
    read_source(source_name, reader, max_bytes, 0)
}

fn read_source<R: BufRead>(
    source_name: &str,
    reader: R,
    max_bytes: u64,
    size_hint: u64,
) -> Result<PlanDocument> {
    let io_err = |e| Error::io(source_name, e);
    // Every read below goes through this one budget: one byte more than the
    // limit tells that the input goes on past it.
    let mut reader = reader.take(max_bytes.saturating_add(1));
    let buffered = reader.fill_buf().map_err(io_err)?;
    let doc = if buffered.len() >= 4 {
        // The usual case: the encoding is read off the buffer in place.
        let encoding = Encoding::sniff(buffered);
        if !matches!(encoding, Encoding::Utf8 | Encoding::Utf8Bom) {
            return read_converted(source_name, Vec::new(), &mut reader, max_bytes);
        }
        let bom = encoding.bom_len(buffered);
        reader.consume(bom);
        read_lines(source_name, &mut reader, max_bytes, size_hint)
    } else {
        // A pipe may hand over its first bytes a few at a time.
        let mut head = Vec::with_capacity(4);
        while head.len() < 4 {
            let buffered = reader.fill_buf().map_err(io_err)?;
            if buffered.is_empty() {
                break;
            }
            let wanted = (4 - head.len()).min(buffered.len());
            head.extend_from_slice(&buffered[..wanted]);
            reader.consume(wanted);
        }
        let encoding = Encoding::sniff(&head);
        if !matches!(encoding, Encoding::Utf8 | Encoding::Utf8Bom) {
            return read_converted(source_name, head, &mut reader, max_bytes);
        }
        let unread = head.split_off(encoding.bom_len(&head));
        let mut chained = std::io::Cursor::new(unread).chain(&mut reader);
        read_lines(source_name, &mut chained, max_bytes, size_hint)
    };
    if reader.limit() == 0 {
        return Err(too_large(source_name, max_bytes));
    }
    doc
}

/// UTF-16 is converted whole: it is a document saved by a Windows shell,
/// never a live stream.
fn read_converted<R: BufRead>(
    source_name: &str,
    mut all: Vec<u8>,
    reader: &mut std::io::Take<R>,
    max_bytes: u64,
) -> Result<PlanDocument> {
    reader
        .read_to_end(&mut all)
        .map_err(|e| Error::io(source_name, e))?;
    if reader.limit() == 0 {
        return Err(too_large(source_name, max_bytes));
    }
    read_slice(source_name, &all, max_bytes)
}

/// Reads what follows the encoding's byte-order mark.
fn read_lines<R: BufRead>(
    source_name: &str,
    reader: &mut R,
    max_bytes: u64,
    size_hint: u64,
) -> Result<PlanDocument> {
    let io_err = |e| Error::io(source_name, e);
    let line_limit = stream_line_limit(max_bytes);

    // Leading white space is skipped up to the first byte of content, which
    // must open an object: anything else is refused before more is read.
    let mut skipped_lines = 0usize;
    loop {
        let buffered = reader.fill_buf().map_err(io_err)?;
        if buffered.is_empty() {
            return Err(Error::Empty {
                source_name: source_name.to_string(),
            });
        }
        match buffered.iter().position(|b| !b.is_ascii_whitespace()) {
            Some(at) => {
                skipped_lines += memchr::memchr_iter(b'\n', &buffered[..at]).count();
                check_object_start(source_name, &buffered[at..])?;
                reader.consume(at);
                break;
            }
            None => {
                let len = buffered.len();
                skipped_lines += memchr::memchr_iter(b'\n', buffered).count();
                reader.consume(len);
            }
        }
    }

    let mut first = Vec::new();
    let head = reader.fill_buf().map_err(io_err)?;
    if size_hint > 0 && skipped_lines == 0 && memchr::memchr(b'\n', head).is_none() {
        // A file whose first buffer holds no line end is a one-line
        // document (a stream's lines are short): read it whole in one
        // allocation of the file's size, without looking for line ends.
        first.reserve(usize::try_from(size_hint.min(max_bytes)).unwrap_or(0));
        reader.read_to_end(&mut first).map_err(io_err)?;
        return read_utf8_slice(source_name, &first, max_bytes);
    }
    reader.read_until(b'\n', &mut first).map_err(io_err)?;
    let trimmed = trim_ascii(&first);

    // Look for a second line with content: without one this is a single
    // (possibly huge, one-line) document, parsed once. Blank lines in
    // between are counted so that error positions stay true.
    let mut second = Vec::new();
    let mut blank_lines = 0usize;
    let has_more = loop {
        second.clear();
        if reader
            .by_ref()
            .take(line_limit + 1)
            .read_until(b'\n', &mut second)
            .map_err(io_err)?
            == 0
        {
            break false;
        }
        if !second.iter().all(u8::is_ascii_whitespace) {
            break true;
        }
        if second.ends_with(b"\n") {
            blank_lines += 1;
        }
    };
    if !has_more {
        return show::parse_single(source_name, trimmed, skipped_lines);
    }

    // A complete object on the first line with more lines after it is a
    // stream; a pretty-printed document's first line is a lone `{`.
    if is_complete_json(trimmed) {
        let first_line = skipped_lines + 1;
        check_line(source_name, first_line, first.len(), max_bytes)?;
        let second_line = first_line + blank_lines + 1;
        if second.len() as u64 > line_limit {
            return Err(line_too_long(source_name, second_line, max_bytes));
        }
        let mut parser = stream::StreamParser::new(source_name, skipped_lines);
        parser.push_line(&first)?;
        parser.skip_lines(blank_lines);
        parser.push_line(&second)?;
        parser.read_rest(reader, line_limit)?;
        return Ok(parser.finish());
    }

    let mut whole = first;
    whole.reserve(usize::try_from(size_hint.min(max_bytes)).unwrap_or(0));
    whole.extend(std::iter::repeat_n(b'\n', blank_lines));
    whole.extend_from_slice(&second);
    reader.read_to_end(&mut whole).map_err(io_err)?;
    show::parse_single(source_name, &whole, skipped_lines)
}

/// Refuses input whose first byte of content does not open a JSON object,
/// saying what it looks like instead.
fn check_object_start(source_name: &str, content: &[u8]) -> Result<()> {
    let found = match content {
        [b'{', ..] => return Ok(()),
        [b'P', b'K', 3, 4, ..] => "a zip archive: is this a saved plan file? Turn it into JSON with `terraform show -json PLANFILE > plan.json`",
        [b'[', ..] => "a JSON array",
        [0, ..] => "binary data (a NUL byte)",
        [b'"' | b'-' | b'0'..=b'9', ..] => "a lone JSON value",
        [b'<', ..] => "markup (XML or HTML)",
        [b, ..] if *b >= 0x80 => "bytes that are not text in UTF-8 or UTF-16",
        [b, ..] if b.is_ascii_control() => "binary data",
        _ => "text that is not JSON (the human-readable output of `terraform plan`?)",
    };
    Err(Error::Shape {
        source_name: source_name.to_string(),
        message: format!("expected a JSON object (the output of `terraform show -json PLANFILE` or `terraform plan -json`), found {found}"),
    })
}

fn is_complete_json(line: &[u8]) -> bool {
    serde_json::from_slice::<serde::de::IgnoredAny>(line).is_ok()
}

/// Reads the `-json` output of a terraform command that just ran here: a
/// stream, in which plain-text lines (terraform's own progress messages) are
/// skipped rather than reported.
pub fn read_live_stream(
    source_name: &str,
    output: &[u8],
    max_line_bytes: u64,
) -> Result<PlanDocument> {
    let mut parser = stream::StreamParser::new(source_name, 0).skipping_text_lines();
    parser.read_rest(output, stream_line_limit(max_line_bytes))?;
    Ok(parser.finish())
}

/// The longest stream line accepted under an input limit of `max_bytes`.
fn stream_line_limit(max_bytes: u64) -> u64 {
    max_bytes.clamp(1, stream::MAX_LINE_BYTES)
}

/// Refuses a stream line longer than the limit; `line` is its 1-based number.
fn check_line(source_name: &str, line: usize, len: usize, max_bytes: u64) -> Result<()> {
    if len as u64 > stream_line_limit(max_bytes) {
        return Err(line_too_long(source_name, line, max_bytes));
    }
    Ok(())
}

pub(crate) fn line_too_long(source_name: &str, line: usize, max_bytes: u64) -> Error {
    let limit = stream_line_limit(max_bytes);
    Error::LineTooLong {
        source_name: source_name.to_string(),
        line,
        limit,
        hint: if limit < stream::MAX_LINE_BYTES {
            "; raise --max-input-bytes if this stream is genuine"
        } else {
            "; no `terraform plan -json` message is that long, so this is not a stream Terraform wrote"
        },
    }
}

fn check_size(source_name: &str, size: u64, limit: u64) -> Result<()> {
    if size > limit {
        return Err(Error::TooLarge {
            source_name: source_name.to_string(),
            size: Some(size),
            limit,
        });
    }
    Ok(())
}

fn too_large(source_name: &str, limit: u64) -> Error {
    Error::TooLarge {
        source_name: source_name.to_string(),
        size: None,
        limit,
    }
}

fn trim_ascii(bytes: &[u8]) -> &[u8] {
    let start = bytes
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(bytes.len());
    let end = bytes
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map_or(start, |p| p + 1);
    &bytes[start..end]
}

/// Splits an address such as `module.a.module.b.aws_s3_bucket.logs["x"]` into
/// its module part (`module.a.module.b`) and the rest.
pub fn split_module(address: &str) -> (Option<&str>, &str) {
    let mut rest = address;
    let mut module_end = 0usize;
    while let Some(after) = rest.strip_prefix("module.") {
        // The module name runs to the next '.', skipping an index like ["a.b"].
        let Some(name_end) = index_aware_dot(after) else {
            break;
        };
        let consumed = "module.".len() + name_end + 1;
        module_end += consumed;
        rest = &rest[consumed..];
    }
    if module_end == 0 {
        (None, address)
    } else {
        (Some(&address[..module_end - 1]), &address[module_end..])
    }
}

/// Position of the first '.' outside brackets and quotes.
fn index_aware_dot(s: &str) -> Option<usize> {
    let mut depth = 0i32;
    let mut in_quotes = false;
    let mut escaped = false;
    for (i, c) in s.char_indices() {
        if in_quotes {
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => in_quotes = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => in_quotes = true,
            '[' => depth += 1,
            ']' => depth -= 1,
            '.' if depth == 0 => return Some(i),
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_module_addresses() {
        assert_eq!(split_module("aws_s3_bucket.a"), (None, "aws_s3_bucket.a"));
        assert_eq!(
            split_module("module.app.aws_instance.web[0]"),
            (Some("module.app"), "aws_instance.web[0]")
        );
        assert_eq!(
            split_module(r#"module.a["x.y"].module.b.data.aws_ami.this"#),
            (Some(r#"module.a["x.y"].module.b"#), "data.aws_ami.this")
        );
    }

    #[test]
    fn empty_and_blank_inputs_are_named_errors() {
        for input in [&b""[..], b"\n\n  \n"] {
            let err = parse_slice("x.json", input).unwrap_err();
            assert!(matches!(err, Error::Empty { .. }), "{err}");
        }
    }

    #[test]
    fn non_object_input_is_a_shape_error() {
        let err = parse_slice("x.json", b"[1,2,3]").unwrap_err();
        assert!(err.to_string().contains("expected a JSON object"), "{err}");
    }

    #[test]
    fn oversize_document_is_refused() {
        let doc = br#"{"format_version":"1.2","resource_changes":[]}"#;
        let err = read_document("big.json", &doc[..], 10).unwrap_err();
        assert!(matches!(err, Error::TooLarge { limit: 10, .. }), "{err}");
        let err = parse_slice("big.json", &[b' '; 100]).unwrap_err();
        assert!(matches!(err, Error::Empty { .. }), "{err}");
        let err = read_slice("big.json", &doc[..], 10).unwrap_err();
        assert!(
            err.to_string()
                .contains(&format!("is {} bytes, over the limit of 10", doc.len())),
            "{err}"
        );
    }

    /// Counts what a reader hands over, to show how much was read.
    struct Counting<R> {
        inner: R,
        read: std::rc::Rc<std::cell::Cell<u64>>,
    }

    impl<R: Read> Read for Counting<R> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let n = self.inner.read(buf)?;
            self.read.set(self.read.get() + n as u64);
            Ok(n)
        }
    }

    /// Reads `head` followed by `tail` repeated forever, as a pipe would
    /// hand it over; returns the outcome and the bytes read.
    fn read_endless(head: &[u8], tail: u8, max_bytes: u64) -> (Result<PlanDocument>, u64) {
        let read = std::rc::Rc::new(std::cell::Cell::new(0));
        let source = Counting {
            inner: std::io::Cursor::new(head.to_vec()).chain(std::io::repeat(tail)),
            read: read.clone(),
        };
        let outcome = read_document("-", BufReader::new(source), max_bytes);
        (outcome, read.get())
    }

    const VERSION_LINE: &[u8] = b"{\"type\":\"version\",\"terraform\":\"1.5.7\",\"ui\":\"1.1\"}\n";

    #[test]
    fn endless_input_is_refused_within_the_limit() {
        const MAX: u64 = 1 << 20;
        // The first line never ends (stdin).
        let (outcome, read) = read_endless(b"{\"format_version\":\"", b'x', MAX);
        let err = outcome.unwrap_err();
        assert!(
            matches!(
                err,
                Error::TooLarge {
                    size: None,
                    limit: MAX,
                    ..
                }
            ),
            "{err}"
        );
        assert!(read <= MAX + 64 * 1024, "read {read}");
        // The second line of a stream never ends: refused at the stream
        // line limit, or at the input limit when that is lower.
        let (outcome, read) = read_endless(VERSION_LINE, b'x', DEFAULT_MAX_INPUT_BYTES);
        let err = outcome.unwrap_err();
        assert!(
            matches!(
                err,
                Error::LineTooLong {
                    line: 2,
                    limit: stream::MAX_LINE_BYTES,
                    ..
                }
            ),
            "{err}"
        );
        assert!(read <= stream::MAX_LINE_BYTES + 128 * 1024, "read {read}");
        let (outcome, read) = read_endless(VERSION_LINE, b'x', MAX);
        assert!(matches!(outcome.unwrap_err(), Error::TooLarge { .. }));
        assert!(read <= MAX + 64 * 1024, "read {read}");
        // A stream goes on forever: refused at the limit, never held.
        let mut line = VERSION_LINE.to_vec();
        line.extend_from_slice(b"{\"type\":\"log\"}\n");
        let source = std::io::Cursor::new(line.clone()).chain(std::io::repeat(b'\n'));
        let err = read_document("-", BufReader::new(source), MAX).unwrap_err();
        assert!(matches!(err, Error::TooLarge { .. }), "{err}");
        // White space forever before anything.
        let (outcome, _) = read_endless(b"", b' ', MAX);
        assert!(matches!(outcome.unwrap_err(), Error::TooLarge { .. }));
    }

    #[test]
    fn binary_input_is_refused_at_its_first_byte() {
        let (outcome, read) = read_endless(b"", 0, DEFAULT_MAX_INPUT_BYTES);
        let err = outcome.unwrap_err().to_string();
        assert!(err.contains("found binary data (a NUL byte)"), "{err}");
        assert!(
            read <= 64 * 1024,
            "read {read} bytes of zeros before refusing"
        );
        for (input, found) in [
            (&b"PK\x03\x04rest"[..], "terraform show -json PLANFILE"),
            (b"[1, 2]", "a JSON array"),
            (b"  \n Terraform will perform", "text that is not JSON"),
            (b"<html>", "markup"),
        ] {
            let err = parse_slice("x", input).unwrap_err().to_string();
            assert!(err.contains(found), "{err}");
            let err = read_document("x", input, 1 << 20).unwrap_err().to_string();
            assert!(err.contains(found), "{err}");
        }
    }

    #[test]
    fn an_overlong_stream_line_says_that_no_limit_can_help() {
        let mut stream = VERSION_LINE.to_vec();
        stream
            .extend_from_slice(&b"x".repeat(usize::try_from(stream::MAX_LINE_BYTES).unwrap() + 10));
        let err = read_document("s.jsonl", &stream[..], DEFAULT_MAX_INPUT_BYTES).unwrap_err();
        let text = err.to_string();
        assert!(matches!(err, Error::LineTooLong { line: 2, .. }), "{text}");
        assert!(text.contains("longer than 67108864 bytes"), "{text}");
        assert!(!text.contains("--max-input-bytes"), "{text}");
        let err = parse_slice("s.jsonl", &stream).unwrap_err();
        assert!(matches!(err, Error::LineTooLong { line: 2, .. }), "{err}");
    }

    #[test]
    fn blank_lines_in_a_stream_cost_what_they_weigh() {
        // Two megabytes of newlines took twenty minutes when each new blank
        // line made the reader look at all those before it again.
        for between in [0usize, 1, 2 << 20] {
            let mut stream = VERSION_LINE.to_vec();
            stream.extend(std::iter::repeat_n(b'\n', between));
            stream.extend_from_slice(b"{\"type\":\"change_summary\",\"changes\":{\"add\":1,\"change\":0,\"remove\":0}}\n");
            stream.extend_from_slice(b"not json\n");
            for doc in [
                read_document("s", &stream[..], DEFAULT_MAX_INPUT_BYTES).unwrap(),
                parse_slice("s", &stream).unwrap(),
            ] {
                assert_eq!(doc.kind, DocumentKind::Stream);
                assert_eq!(doc.change_summary.map(|c| c.add), Some(1));
                // Line numbers stay true across the blank lines.
                let expected = format!("s line {} is not", between + 3);
                assert!(
                    doc.diagnostics[0].summary.starts_with(&expected),
                    "{:?}",
                    doc.diagnostics
                );
            }
        }
    }

    #[test]
    fn byte_order_marks_and_utf16_read_as_utf8() {
        let plan = "{\"format_version\":\"1.2\",\"resource_drift\":[{\"address\":\"aws_s3_bucket.caf\u{e9}\",\"mode\":\"managed\",\"type\":\"aws_s3_bucket\",\"name\":\"caf\u{e9}\",\"change\":{\"actions\":[\"update\"],\"before\":{\"a\":1},\"after\":{\"a\":2}}}]}\r\n";
        let stream = "{\"type\":\"version\",\"terraform\":\"1.5.7\",\"ui\":\"1.1\"}\r\n{\"type\":\"resource_drift\",\"change\":{\"action\":\"update\",\"resource\":{\"addr\":\"aws_s3_bucket.a\"}}}\r\n";
        let utf16 = |text: &str, le: bool| -> Vec<u8> {
            let mut out = if le {
                vec![0xFF, 0xFE]
            } else {
                vec![0xFE, 0xFF]
            };
            for unit in text.encode_utf16() {
                out.extend(if le {
                    unit.to_le_bytes()
                } else {
                    unit.to_be_bytes()
                });
            }
            out
        };
        for text in [plan, stream] {
            let plain = parse_slice("x", text.as_bytes()).unwrap();
            let mut bom = b"\xEF\xBB\xBF".to_vec();
            bom.extend_from_slice(text.as_bytes());
            for bytes in [bom, utf16(text, true), utf16(text, false)] {
                assert_eq!(parse_slice("x", &bytes).unwrap(), plain);
                assert_eq!(read_document("x", &bytes[..], 1 << 20).unwrap(), plain);
                // A pipe handing over one byte at a time.
                let trickle = BufReader::with_capacity(1, &bytes[..]);
                assert_eq!(read_document("x", trickle, 1 << 20).unwrap(), plain);
            }
        }
        let err = parse_slice("x.json", &[0xFF, 0xFE, 0, 0, b'{', 0, 0, 0]).unwrap_err();
        assert!(err.to_string().contains("UTF-32"), "{err}");
    }

    #[test]
    fn too_deep_input_is_an_error_naming_its_place() {
        let deep = format!(
            "{{\"format_version\":\"1.2\",\n\"variables\":{}{}}}",
            "[".repeat(100_000),
            "]".repeat(100_000)
        );
        let err = parse_slice("deep.json", deep.as_bytes()).unwrap_err();
        assert!(
            matches!(
                err,
                Error::TooDeep {
                    line: 2,
                    column: 140,
                    limit: 128,
                    ..
                }
            ),
            "{err}"
        );
        let err = read_document("deep.json", deep.as_bytes(), DEFAULT_MAX_INPUT_BYTES).unwrap_err();
        assert!(matches!(err, Error::TooDeep { .. }), "{err}");
        // In a stream, one deep line is that line's error.
        let stream = format!(
            "{}{{\"type\":\"log\",\"x\":{}{}}}\n",
            std::str::from_utf8(VERSION_LINE).unwrap(),
            "[".repeat(100_000),
            "]".repeat(100_000)
        );
        let doc = parse_slice("s", stream.as_bytes()).unwrap();
        assert_eq!(doc.terraform_version.as_deref(), Some("1.5.7"));
        assert!(doc.diagnostics[0]
            .detail
            .as_deref()
            .unwrap()
            .contains("more than 128 levels"));
    }
}
