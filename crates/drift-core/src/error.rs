//! The library's error type.
//!
//! Every error names the input it is about (a file, a line, a resource address)
//! and, where there is one, what the user can do about it. Binaries print the
//! whole chain once with `{:#}`.

use std::path::PathBuf;

/// Errors from reading Terraform output, loading rules and writing reports.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The input holds nothing but white space.
    #[error("{source_name}: the input is empty; expected the output of `terraform show -json PLANFILE` or `terraform plan -json`")]
    Empty {
        /// The file (or `-` for stdin) that was read.
        source_name: String,
    },

    /// The input is not JSON at all, or breaks off in the middle.
    #[error("{source_name}: not valid JSON at line {line}, column {column}: {message}; expected the output of `terraform show -json PLANFILE` or `terraform plan -json`")]
    Json {
        /// The file (or `-` for stdin) that was read.
        source_name: String,
        /// 1-based line of the fault.
        line: usize,
        /// 1-based column of the fault.
        column: usize,
        /// What the JSON parser said.
        message: String,
    },

    /// The input is JSON, but not a Terraform document this tool understands.
    #[error("{source_name}: {message}")]
    Shape {
        /// The file (or `-` for stdin) that was read.
        source_name: String,
        /// What was found and what was expected.
        message: String,
    },

    /// The input nests objects and arrays deeper than any reader may follow.
    #[error("{source_name}: nested more than {limit} levels deep at line {line}, column {column}; Terraform's plans nest far less, so this is not Terraform's JSON output (or it was damaged)")]
    TooDeep {
        /// The file (or `-` for stdin) that was read.
        source_name: String,
        /// 1-based line of the bracket that crossed the limit.
        line: usize,
        /// 1-based column of that bracket.
        column: usize,
        /// The limit in force.
        limit: usize,
    },

    /// The input is larger than the configured limit.
    #[error("{source_name}: the input is {} the limit of {limit} bytes; raise it with --max-input-bytes if this plan is genuine", size.map_or("over".to_string(), |size| format!("{size} bytes, over")))]
    TooLarge {
        /// The file (or `-` for stdin) that was read.
        source_name: String,
        /// Its size, when known (a pipe is only read up to the limit).
        size: Option<u64>,
        /// The limit in force.
        limit: u64,
    },

    /// A line of a JSON-lines stream is longer than any stream line can be.
    #[error("{source_name}: line {line} is longer than {limit} bytes{hint}")]
    LineTooLong {
        /// The file (or `-` for stdin) that was read.
        source_name: String,
        /// 1-based number of the line.
        line: usize,
        /// The longest line accepted.
        limit: u64,
        /// What may help: raising --max-input-bytes when it set the limit,
        /// else nothing can (no `terraform plan -json` message is that long).
        hint: &'static str,
    },

    /// The input is text Terraform never writes: its encoding is wrong.
    #[error("{source_name}: {message}")]
    Encoding {
        /// The file (or `-` for stdin) that was read.
        source_name: String,
        /// What the encoding is and how to fix it.
        message: String,
    },

    /// A rules file could not be read or is not valid.
    #[error("rules file {path}: {message}")]
    Rules {
        /// The rules file.
        path: PathBuf,
        /// What is wrong, naming the rule where possible.
        message: String,
    },

    /// An I/O failure on a named path. The failure is part of the message
    /// and not a `source`, so that a printed chain says it once.
    #[error("{path}: {failure}")]
    Io {
        /// The file or folder involved.
        path: PathBuf,
        /// The underlying failure.
        failure: std::io::Error,
    },
}

impl Error {
    /// Wraps an I/O error with the path it happened on.
    pub fn io(path: impl Into<PathBuf>, failure: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            failure,
        }
    }

    pub(crate) fn json(source_name: &str, line_offset: usize, err: &serde_json::Error) -> Self {
        let message = err.to_string();
        // serde_json appends " at line X column Y"; we report those fields ourselves.
        let message = match message.rfind(" at line ") {
            Some(at) => without_input_values(&message[..at]),
            None => without_input_values(&message),
        };
        Error::Json {
            source_name: source_name.to_string(),
            line: err.line() + line_offset,
            column: err.column(),
            message,
        }
    }
}

/// The library's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A deserializer's message with the input values it quotes taken out.
///
/// Serde's messages name what they refused: `invalid type: string
/// "hunter2", expected a list`, `unknown variant `s3cr3t``. The refused
/// value may be a secret (a password in a plan, an external id in an event),
/// and these messages end up in stderr, logs and reports. The kind of value
/// stays (`invalid type: string, expected a list`): it is what the user
/// needs to fix the input. Every message from serde_json, sonic-rs, toml and
/// YAML that reaches a user goes through here.
pub fn without_input_values(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    loop {
        let next = [
            "invalid type: ",
            "invalid value: ",
            "unknown variant `",
            "unknown field `",
        ]
        .iter()
        .filter_map(|marker| rest.find(marker).map(|at| (at, *marker)))
        .min();
        let Some((at, marker)) = next else {
            out.push_str(rest);
            return out;
        };
        out.push_str(&rest[..at]);
        rest = &rest[at + marker.len()..];
        if marker.ends_with('`') {
            // `unknown variant `X`, expected ...`: X is raw input, backticks
            // and all; the expected list after it is the program's own.
            out.push_str(marker.trim_end_matches(" `"));
            let end = ["`, expected ", "`, there are no "]
                .iter()
                .filter_map(|end| rest.rfind(end))
                .max();
            rest = end.map_or("", |i| &rest[i + 1..]);
            continue;
        }
        out.push_str(marker);
        let (kind, after) = unexpected_kind(rest);
        out.push_str(kind);
        rest = after;
    }
}

/// Splits serde's `Unexpected` display into its kind and what follows the
/// quoted value.
fn unexpected_kind(text: &str) -> (&str, &str) {
    if let Some(quoted) = text.strip_prefix("string \"") {
        // Debug-escaped: a quote inside the value is `\"`.
        let mut escaped = false;
        for (i, c) in quoted.char_indices() {
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => return ("string", &quoted[i + 1..]),
                _ => {}
            }
        }
        return ("string", "");
    }
    for kind in ["boolean", "integer", "floating point", "character"] {
        if let Some(quoted) = text.strip_prefix(kind).and_then(|t| t.strip_prefix(" `")) {
            // A character may itself be a backtick: skip one char first.
            let skip = if kind == "character" {
                quoted.chars().next().map_or(0, char::len_utf8)
            } else {
                0
            };
            let end = quoted[skip..]
                .find('`')
                .map_or(quoted.len(), |i| skip + i + 1);
            return (kind, &quoted[end.min(quoted.len())..]);
        }
    }
    // Every other kind (map, sequence, unit value, ...) quotes nothing.
    ("", text)
}

#[cfg(test)]
mod tests {
    use super::without_input_values as clean;

    #[test]
    fn quoted_values_are_taken_out_and_kinds_kept() {
        let cases = [
            (r#"invalid type: string "hunter2", expected a list"#, "invalid type: string, expected a list"),
            (r#"invalid type: string "a \"quoted\", expected x", expected u64 at line 1"#, "invalid type: string, expected u64 at line 1"),
            ("invalid type: integer `1234`, expected a string", "invalid type: integer, expected a string"),
            ("invalid type: floating point `1.5`, expected a string", "invalid type: floating point, expected a string"),
            ("invalid type: boolean `true`, expected a string", "invalid type: boolean, expected a string"),
            ("invalid type: character ```, expected a string", "invalid type: character, expected a string"),
            ("invalid value: integer `-3`, expected u8", "invalid value: integer, expected u8"),
            ("invalid type: map, expected a string", "invalid type: map, expected a string"),
            ("unknown variant `s3cr3t`, expected one of `a`, `b`", "unknown variant, expected one of `a`, `b`"),
            ("unknown field `x`, expected `y`", "unknown field, expected `y`"),
            ("unknown field `a`, expected x`, there are no fields", "unknown field, there are no fields"),
            ("missing field `address`", "missing field `address`"),
            ("ws.mode: invalid type: string \"p\", expected x; b: invalid type: integer `7`, expected y", "ws.mode: invalid type: string, expected x; b: invalid type: integer, expected y"),
            ("invalid type: string \"unterminated", "invalid type: string"),
        ];
        for (input, expected) in cases {
            assert_eq!(clean(input), expected, "{input}");
        }
    }

    #[test]
    fn real_deserializer_messages_lose_their_secrets() {
        #[derive(Debug, serde::Deserialize)]
        #[allow(dead_code)]
        #[serde(deny_unknown_fields)]
        struct Event {
            external_id: String,
            mode: Mode,
        }
        #[derive(Debug, serde::Deserialize)]
        enum Mode {
            Plan,
        }
        for json in [
            r#"{"external_id": 987654321, "mode": "Plan"}"#,
            r#"{"external_id": "x", "mode": "987654321"}"#,
            r#"{"external_id": "x", "987654321": 1}"#,
            r#"{"external_id": ["x"], "mode": "Plan"}"#,
        ] {
            let message = serde_json::from_str::<Event>(json).unwrap_err().to_string();
            let cleaned = clean(&message);
            assert!(!cleaned.contains("987654321"), "{message} -> {cleaned}");
        }
    }
}
