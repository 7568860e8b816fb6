//! Report renderers: JSON (the contract), a terminal table and Markdown.
//!
//! All three read only the [`Report`], whose values are already redacted, so
//! no format can show a sensitive value. Text from the input (names,
//! addresses, values, diagnostics, rule ids) is untrusted: the table shows
//! the characters that steer a terminal as visible escapes
//! ([`terminal_text`]), and Markdown shows it as code spans
//! ([`markdown_code`]) or backslash-escaped prose ([`markdown_text`]), so
//! neither an escape sequence nor markup in a plan reaches a terminal or a
//! rendered page as anything but literal text. JSON needs nothing: serde
//! escapes what a JSON string cannot hold.
//!
//! Each format is one [`Render`] implementation in a file of its own
//! ([`json`], [`table`], [`markdown`]), the printer interface driftctl has;
//! this module holds what they share: the escaping of untrusted text and the
//! pieces of a line that the table and Markdown both print.

use std::borrow::Cow;
use std::fmt::Write as _;

use serde_json::Value;

use super::Report;
use crate::attribution::Attribution;
use crate::drift::rules::Severity;
use crate::drift::{DriftItem, Verdict};

pub mod json;
pub mod markdown;
pub mod table;

pub use json::{to_json, Json};
pub use markdown::Markdown;
pub use table::{summary_table, table_at_width, Table, TableWidth};

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

/// One report format.
pub trait Render {
    /// The whole report in this format, ending with a newline.
    fn render(&self, report: &Report) -> String;
}

impl Format {
    /// The renderer of this format; the table wraps to the terminal it
    /// prints on, if any.
    pub fn renderer(self) -> &'static dyn Render {
        match self {
            Format::Json => &Json,
            Format::Table => &Table {
                width: TableWidth::Terminal,
            },
            Format::Markdown => &Markdown,
        }
    }
}

/// Renders one report.
pub fn render(report: &Report, format: Format) -> String {
    format.renderer().render(report)
}

const VALUE_WIDTH: usize = 48;

/// Whether a character could steer a terminal or reorder what is shown:
/// C0 and C1 controls (ESC, BEL, CR, backspace, newline, ...), DEL, the bidi
/// marks, embeddings, overrides and isolates, and the Unicode line and
/// paragraph separators.
fn is_unsafe_char(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061c}'
                | '\u{200e}'
                | '\u{200f}'
                | '\u{202a}'..='\u{202e}'
                | '\u{2066}'..='\u{2069}'
                | '\u{2028}'
                | '\u{2029}'
        )
}

/// Text from the input as it may be shown on a terminal: every character
/// that could steer the terminal or reorder the line is shown as a visible
/// escape (`\n`, `\r`, `\t`, else `\u{1b}`), so a value can neither colour,
/// move, clear nor hide what is printed around it.
pub fn terminal_text(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_unsafe_char) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if is_unsafe_char(c) => {
                let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// Prose (a diagnostic's detail) on one line: its line breaks become spaces,
/// anything else unsafe is escaped by [`terminal_text`].
fn one_line_text(text: &str) -> String {
    terminal_text(&text.replace("\r\n", " ").replace(['\n', '\r'], " ")).into_owned()
}

/// Untrusted text as Markdown prose: escaped as for a terminal, then each
/// ASCII punctuation character that CommonMark, GitHub's extensions or HTML
/// give a meaning to is backslash-escaped (`:` against URL autolinks, `$`
/// against math), so it shows literally and keeps a table row whole.
pub fn markdown_text(text: &str) -> String {
    let text = terminal_text(text);
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if matches!(
            c,
            '\\' | '`'
                | '*'
                | '_'
                | '{'
                | '}'
                | '['
                | ']'
                | '<'
                | '>'
                | '('
                | ')'
                | '#'
                | '+'
                | '-'
                | '.'
                | '!'
                | '|'
                | '~'
                | '&'
                | ':'
                | '$'
        ) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Untrusted text as a Markdown code span, which shows it literally (and
/// keeps GitHub from linking mentions, issues and addresses in it): the fence
/// is one backtick longer than the longest run inside, padded with a space
/// when the text starts or ends with a backtick or a space (CommonMark strips
/// one on each side), and in a table cell each `|` is `\|`. A GFM table
/// cannot hold a backslash right before a pipe inside a code span (its cell
/// scanner takes `\\` for an escape, so the cell splits or shows a backslash
/// too many), so such text is shown as escaped prose instead.
pub fn markdown_code(text: &str, in_table: bool) -> String {
    let text = terminal_text(text);
    if text.is_empty() {
        return String::new();
    }
    if in_table && text.contains("\\|") {
        return markdown_text(&text);
    }
    let text = if in_table {
        Cow::Owned(text.replace('|', "\\|"))
    } else {
        text
    };
    let longest_run = text.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest_run + 1);
    let all_spaces = text.chars().all(|c| c == ' ');
    let pad = !all_spaces && (text.starts_with(['`', ' ']) || text.ends_with(['`', ' ']));
    let pad = if pad { " " } else { "" };
    format!("{fence}{pad}{text}{pad}{fence}")
}

/// A value as text, cut at [`VALUE_WIDTH`] characters; not yet escaped.
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

/// The first `limit` changed attributes as `path: before → after`, each
/// piece passed through `escape`, then a count of the rest. When the
/// attributes' verdicts differ (some drift set back, some absorbed), each
/// line says its own.
fn change_lines(item: &DriftItem, limit: usize, escape: impl Fn(&str) -> String) -> Vec<String> {
    let mixed = item
        .changed_attributes
        .iter()
        .any(|a| a.verdict != item.changed_attributes[0].verdict);
    let mut lines: Vec<String> = item
        .changed_attributes
        .iter()
        .take(limit)
        .map(|a| {
            let after = if a.unknown {
                "(known after apply)".to_string()
            } else {
                escape(&short(&a.after))
            };
            let verdict = match a.verdict {
                Some(verdict) if mixed => format!(" [{}]", verdict_label(Some(verdict))),
                _ => String::new(),
            };
            format!(
                "{}: {} → {}{verdict}",
                escape(&a.path),
                escape(&short(&a.before)),
                after
            )
        })
        .collect();
    if item.changed_attributes.len() > limit {
        lines.push(format!("… {} more", item.changed_attributes.len() - limit));
    }
    lines
}

/// Why the check ran, as one line: `checked because NAME by PRINCIPAL at
/// TIME` for the newest event of an event check, else `checked: schedule`
/// (or `manual`, `event`); `None` without a trigger. The event's texts go
/// through `escape`.
pub fn trigger_line(report: &Report, escape: impl Fn(&str) -> String) -> Option<String> {
    let trigger = report.trigger.as_ref()?;
    Some(match trigger.newest() {
        Some(e) => format!(
            "checked because {} by {} at {}",
            escape(&e.name),
            escape(&e.principal),
            escape(&e.time)
        ),
        None => format!("checked: {}", trigger.kind.as_str()),
    })
}

/// Who made a drift, on one line: `changed by ARN (person) at TIME via
/// EventName`, or `changed by: unknown (reason)`; `None` when attribution
/// was not asked for. Every text from CloudTrail goes through `escape`: a
/// principal or session name is the cloud's, as untrusted as a plan.
pub fn changed_by_line(item: &DriftItem, escape: impl Fn(&str) -> String) -> Option<String> {
    Some(match item.changed_by.as_ref()? {
        Attribution::ChangedBy(by) => {
            let who = match &by.principal_arn {
                Some(arn) if arn != &by.principal => {
                    format!("{} ({})", escape(arn), escape(&by.principal))
                }
                _ => escape(&by.principal),
            };
            format!(
                "changed by {who} at {} via {}",
                escape(&by.event_time),
                escape(&by.event_name)
            )
        }
        Attribution::Unknown(unknown) => {
            format!("changed by: unknown ({})", unknown.unknown.as_str())
        }
    })
}

/// A verdict in words; `-` when the input cannot tell.
fn verdict_label(verdict: Option<Verdict>) -> &'static str {
    match verdict {
        Some(Verdict::RevertedByApply) => "reverted by apply",
        Some(Verdict::Absorbed) => "absorbed",
        Some(Verdict::ConfigChange) => "config change",
        None => "-",
    }
}

/// `2 reverted by apply, 1 absorbed, 1 config change`; empty when no
/// finding has a verdict.
fn verdict_line(report: &Report) -> String {
    Verdict::ALL
        .iter()
        .filter(|v| report.summary.by_verdict.get(**v) > 0)
        .map(|v| {
            format!(
                "{} {}",
                report.summary.by_verdict.get(*v),
                verdict_label(Some(*v))
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// `name (environment, account, region)`, each piece passed through `escape`.
fn header(report: &Report, escape: impl Fn(&str) -> String) -> String {
    let w = &report.workspace;
    let place: Vec<String> = [
        w.environment.as_deref(),
        w.account_id.as_deref(),
        w.region.as_deref(),
    ]
    .into_iter()
    .flatten()
    .map(&escape)
    .collect();
    if place.is_empty() {
        escape(&w.name)
    } else {
        format!("{} ({})", escape(&w.name), place.join(", "))
    }
}

fn severity_line(report: &Report) -> String {
    Severity::ALL
        .iter()
        .map(|s| format!("{} {}", report.summary.by_severity.get(*s), s.as_str()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `address: summary — detail` on one line, the address and summary through
/// `escape`, the detail's line breaks as spaces.
fn one_line(error: &super::ReportDiagnostic, escape: impl Fn(&str) -> String) -> String {
    let mut text = escape(&error.summary);
    if let Some(address) = &error.address {
        text = format!("{}: {text}", escape(address));
    }
    if let Some(detail) = &error.detail {
        text.push_str(" — ");
        text.push_str(&escape(&one_line_text(detail)));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Markdown as GitHub renders it (comrak ports cmark-gfm), raw HTML
    /// let through so that any that slipped in shows.
    fn to_html(markdown: &str) -> String {
        let mut options = comrak::Options::default();
        options.extension.table = true;
        options.extension.autolink = true;
        options.extension.strikethrough = true;
        options.extension.tasklist = true;
        options.extension.footnotes = true;
        options.extension.math_dollars = true;
        options.render.r#unsafe = true;
        comrak::markdown_to_html(markdown, &options)
    }

    /// The tags of `html`, and its text with entities decoded.
    fn tags_and_text(html: &str) -> (Vec<String>, String) {
        let mut tags = Vec::new();
        let mut text = String::new();
        let mut rest = html;
        while let Some(open) = rest.find('<') {
            text.push_str(&rest[..open]);
            let close = rest[open..].find('>').expect("tags close");
            tags.push(rest[open + 1..open + close].to_string());
            rest = &rest[open + close + 1..];
        }
        text.push_str(rest);
        let text = text
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&quot;", "\"")
            .replace("&#39;", "'")
            .replace("&amp;", "&");
        (tags, text)
    }

    const HOSTILE: [&str; 30] = [
        "<img src=x onerror=alert(1)>",
        "<script>alert(1)</script>",
        "[click](https://evil)",
        "![img](https://evil/x.png)",
        "<https://evil>",
        "https://evil.com/x",
        "www.evil.com",
        "**bold** __b__ *i* _i_ ~~s~~",
        "$x$ and $$y$$",
        "&lt;b&gt; &amp; &#60;",
        "a | b || c",
        "a\\|b",
        "a\\\\|b",
        "\\",
        "ends with \\",
        "`",
        "``",
        "`a`",
        "a`b``c```d",
        " `x` ",
        " padded ",
        "   ",
        "# not a heading #",
        "- [ ] task",
        "[^1] footnote",
        "<!-- comment -->",
        "line\nbreak\r\n",
        "\u{1b}[31mred\u{1b}[0m",
        "\u{202e}evil\u{2066}",
        "",
    ];

    #[test]
    fn terminal_text_shows_control_characters_as_escapes() {
        assert_eq!(
            terminal_text("a\u{1b}[31mb\u{7}c\rd\u{8}e\u{7f}f\u{9b}g\nh\ti"),
            "a\\u{1b}[31mb\\u{7}c\\rd\\u{8}e\\u{7f}f\\u{9b}g\\nh\\ti"
        );
        assert_eq!(
            terminal_text("\u{202a}\u{202e}\u{2066}\u{2069}\u{200f}\u{2028}"),
            "\\u{202a}\\u{202e}\\u{2066}\\u{2069}\\u{200f}\\u{2028}"
        );
        // Text with nothing to escape is not copied, and other Unicode stays.
        assert!(matches!(
            terminal_text("café 日本 → …"),
            Cow::Borrowed("café 日本 → …")
        ));
    }

    /// `text` with each run of whitespace as one space.
    fn squeezed(text: &str) -> String {
        text.split_whitespace().collect::<Vec<_>>().join(" ")
    }

    /// Renders `text` as a list item, a heading and a table cell through
    /// `escape`; checks that only `own_tags` appear and the text shows whole.
    fn renders_as_text(escape: impl Fn(&str, bool) -> String, own_tag: &str) {
        for text in HOSTILE {
            let expected = squeezed(&format!("x {}", terminal_text(text)));
            for (markdown, context) in [
                (format!("- x {}\n", escape(text, false)), "li"),
                (format!("# x {}\n", escape(text, false)), "h1"),
                (
                    format!("| h |\n|---|\n| x {} |\n", escape(text, true)),
                    "td",
                ),
            ] {
                let (tags, visible) = tags_and_text(&to_html(&markdown));
                let allowed = [
                    own_tag, context, "ul", "table", "thead", "tbody", "tr", "th",
                ];
                assert!(
                    tags.iter()
                        .all(|t| allowed.contains(&t.trim_start_matches('/'))),
                    "{text:?}: {markdown} -> {tags:?}"
                );
                let visible = squeezed(&visible);
                let visible = visible.strip_prefix("h ").unwrap_or(&visible);
                assert_eq!(visible, expected, "{text:?}: {markdown}");
            }
        }
    }

    #[test]
    fn code_spans_show_their_text_exactly() {
        renders_as_text(markdown_code, "code");
    }

    #[test]
    fn code_spans_keep_spaces_and_backticks_at_their_edges() {
        for text in ["`a", "a`", " `x` ", " a", "a ", "``"] {
            let html = to_html(&format!("{}\n", markdown_code(text, false)));
            assert_eq!(
                html,
                format!("<p><code>{text}</code></p>\n"),
                "{text:?}: {}",
                markdown_code(text, false)
            );
        }
    }

    #[test]
    fn prose_shows_markup_as_text() {
        renders_as_text(|text, _| markdown_text(text), "p");
    }
}
