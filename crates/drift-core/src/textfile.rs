//! Files people write by hand: rules files and workspace inventories.
//!
//! They are read whole, so each kind has a size limit that no genuine file
//! comes near: a file as large as a disk (or `/dev/zero`) is refused after
//! the limit's worth of bytes, not read into memory. They are saved by
//! whatever editor or shell the user has, so a UTF-8 byte-order mark and
//! UTF-16 (Windows PowerShell's `>`) are accepted too (see [`crate::encoding`]).

use std::io::Read;
use std::path::Path;

use crate::encoding::{to_utf8, Encoding};
use crate::error::without_input_values;

/// Why a hand-written file could not be read as text. The messages name no
/// file: the caller says which file it is and what it is for.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TextFileError {
    /// The file could not be opened or read.
    #[error("{0}")]
    Io(std::io::Error),
    /// The file is larger than the limit for its kind.
    #[error("the file is larger than {}, the limit for {kind}", describe_size(*.limit))]
    TooLarge {
        /// What the file is, as "a rules file".
        kind: &'static str,
        /// The limit in bytes.
        limit: u64,
    },
    /// The bytes are not text in an encoding this tool reads.
    #[error("{0}")]
    Encoding(String),
}

/// Reads a hand-written file of at most `limit` bytes as UTF-8 text.
/// `kind` names the file in messages ("a rules file").
pub fn read(path: &Path, limit: u64, kind: &'static str) -> Result<String, TextFileError> {
    let file = std::fs::File::open(path).map_err(TextFileError::Io)?;
    let mut bytes = Vec::new();
    // One byte more than the limit tells "at the limit" from "over it"
    // without trusting the size the file system reports (a FIFO or
    // /dev/zero reports none).
    file.take(limit.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(TextFileError::Io)?;
    if bytes.len() as u64 > limit {
        return Err(TextFileError::TooLarge { kind, limit });
    }
    decode(&bytes).map_err(TextFileError::Encoding)
}

/// The text of a hand-written file: UTF-8 with or without a byte-order
/// mark, or UTF-16. Anything else gets a message that says where it goes
/// wrong and how to fix it.
pub fn decode(bytes: &[u8]) -> Result<String, String> {
    const FIX: &str = "save it as UTF-8";
    let (text, encoding) = match to_utf8(bytes) {
        Ok(converted) => converted,
        Err(_) if Encoding::sniff(bytes) == Encoding::Utf32 => {
            return Err(format!("the file is UTF-32; {FIX}"));
        }
        Err(e) => {
            // The shared message ends in advice for plan files; keep what
            // it says about the bytes and give the advice for this file.
            let what = e.message.split("; write the file as UTF-8").next();
            return Err(format!("{}; {FIX}", what.unwrap_or(&e.message)));
        }
    };
    match String::from_utf8(text.into_owned()) {
        Ok(text) => Ok(text),
        Err(e) => {
            let valid = &e.as_bytes()[..e.utf8_error().valid_up_to()];
            let line = 1 + valid.iter().filter(|&&b| b == b'\n').count();
            Err(format!(
                "not valid UTF-8 at byte {} (line {line}); {FIX}",
                valid.len() + encoding.bom_len(bytes)
            ))
        }
    }
}

/// `1048576` as "1 MiB (1048576 bytes)": the round number a person set,
/// and the exact one.
pub fn describe_size(bytes: u64) -> String {
    const MIB: u64 = 1024 * 1024;
    const KIB: u64 = 1024;
    if bytes >= MIB && bytes % MIB == 0 {
        format!("{} MiB ({bytes} bytes)", bytes / MIB)
    } else if bytes >= KIB && bytes % KIB == 0 {
        format!("{} KiB ({bytes} bytes)", bytes / KIB)
    } else {
        format!("{bytes} bytes")
    }
}

/// "line L, column C" (both 1-based, the column in characters) of a byte
/// offset into `text`, for parsers that report a span and not a position.
pub fn line_and_column(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (
        1 + before.matches('\n').count(),
        1 + before[line_start..].chars().count(),
    )
}

/// A TOML error as "line L, column C: message", quoting no input.
///
/// toml's own `Display` shows the offending source line, and in an
/// inventory that line may hold an `external_id`; its message may quote the
/// value it refused. Only the message and the position are kept, the
/// message without the values it quotes and on one line.
pub fn toml_error(text: &str, error: &toml::de::Error) -> String {
    let message = error
        .message()
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .collect::<Vec<_>>()
        .join("; ");
    let message = without_input_values(&message);
    match error.span() {
        Some(span) => {
            let (line, column) = line_and_column(text, span.start);
            format!("line {line}, column {column}: {message}")
        }
        None => message,
    }
}

/// A YAML error with its line and column, quoting no input.
pub fn yaml_error(error: &serde_yaml_ng::Error) -> String {
    without_input_values(&error.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bom_and_utf16_decode_and_bad_bytes_are_located() {
        assert_eq!(decode(b"\xEF\xBB\xBFa = 1\n").unwrap(), "a = 1\n");
        let utf16: Vec<u8> = [0xFF, 0xFE]
            .into_iter()
            .chain("a = \"\u{e9}\"\n".encode_utf16().flat_map(u16::to_le_bytes))
            .collect();
        assert_eq!(decode(&utf16).unwrap(), "a = \"\u{e9}\"\n");
        let err = decode(b"a = 1\nb = \"\xFF\"\n").unwrap_err();
        assert_eq!(err, "not valid UTF-8 at byte 11 (line 2); save it as UTF-8");
        // The offset counts the byte-order mark: it is a byte of the file.
        let err = decode(b"\xEF\xBB\xBFa\xC3").unwrap_err();
        assert!(err.starts_with("not valid UTF-8 at byte 4 "), "{err}");
        let err = decode(&[0xFF, 0xFE, 0, 0, b'a', 0, 0, 0]).unwrap_err();
        assert_eq!(err, "the file is UTF-32; save it as UTF-8");
        let err = decode(&[0xFF, 0xFE, b'a', 0, b'b']).unwrap_err();
        assert!(
            err.contains("odd number")
                && err.ends_with("; save it as UTF-8")
                && !err.contains("terraform"),
            "{err}"
        );
    }

    #[test]
    fn files_over_the_limit_are_refused_without_being_read_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.toml");
        std::fs::write(&path, "x".repeat(1024)).unwrap();
        assert_eq!(read(&path, 1024, "a test file").unwrap().len(), 1024);
        let err = read(&path, 1023, "a test file").unwrap_err().to_string();
        assert_eq!(
            err,
            "the file is larger than 1023 bytes, the limit for a test file"
        );
        #[cfg(unix)]
        {
            let err = read(Path::new("/dev/zero"), 1 << 20, "a test file")
                .unwrap_err()
                .to_string();
            assert!(err.contains("1 MiB (1048576 bytes)"), "{err}");
        }
    }

    #[test]
    fn spans_become_lines_and_columns() {
        let text = "a = 1\nb = \"\u{e9}\u{e9}x\"\n";
        assert_eq!(line_and_column(text, 0), (1, 1));
        assert_eq!(line_and_column(text, 6), (2, 1));
        // After two two-byte characters: column 8 (characters), not 10 (bytes).
        assert_eq!(line_and_column(text, text.find('x').unwrap()), (2, 8));
        assert_eq!(line_and_column(text, 10_000), (3, 1));
    }
}
