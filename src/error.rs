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

    /// The input is larger than the configured limit.
    #[error("{source_name}: the input is {size} bytes, over the limit of {limit} bytes; raise it with --max-input-bytes if this plan is genuine")]
    TooLarge {
        /// The file (or `-` for stdin) that was read.
        source_name: String,
        /// Bytes seen.
        size: u64,
        /// The limit in force.
        limit: u64,
    },

    /// A rules file could not be read or is not valid.
    #[error("rules file {path}: {message}")]
    Rules {
        /// The rules file.
        path: PathBuf,
        /// What is wrong, naming the rule where possible.
        message: String,
    },

    /// An I/O failure on a named path.
    #[error("{path}: {source}")]
    Io {
        /// The file or folder involved.
        path: PathBuf,
        /// The underlying failure.
        #[source]
        source: std::io::Error,
    },
}

impl Error {
    /// Wraps an I/O error with the path it happened on.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    pub(crate) fn json(source_name: &str, line_offset: usize, err: &serde_json::Error) -> Self {
        let message = err.to_string();
        // serde_json appends " at line X column Y"; we report those fields ourselves.
        let message = match message.rfind(" at line ") {
            Some(at) => message[..at].to_string(),
            None => message,
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
