//! Text files as users really hand them over.
//!
//! Windows PowerShell 5's `terraform show -json > plan.json` writes UTF-16LE
//! with a byte-order mark, and many editors put a BOM in front of UTF-8.
//! Terraform itself only writes UTF-8, so these are converted here, once, at
//! the edge: everything after this module sees UTF-8 without a BOM.

use std::borrow::Cow;

/// The encoding a file's first bytes announce.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// UTF-8 without a byte-order mark (what Terraform writes).
    Utf8,
    /// UTF-8 behind a byte-order mark.
    Utf8Bom,
    /// UTF-16, little-endian (Windows PowerShell's `>`).
    Utf16Le,
    /// UTF-16, big-endian.
    Utf16Be,
    /// UTF-32, either byte order: not converted.
    Utf32,
}

impl Encoding {
    /// Recognises the encoding from the first bytes: a byte-order mark, or
    /// for BOM-less UTF-16 the NUL beside every ASCII character of `{` or `[`.
    pub fn sniff(head: &[u8]) -> Encoding {
        match head {
            [0xFF, 0xFE, 0, 0, ..] | [0, 0, 0xFE, 0xFF, ..] => Encoding::Utf32,
            [0xEF, 0xBB, 0xBF, ..] => Encoding::Utf8Bom,
            [0xFF, 0xFE, ..] => Encoding::Utf16Le,
            [0xFE, 0xFF, ..] => Encoding::Utf16Be,
            [b'{' | b'[' | b'#' | b'-' | b'\r' | b'\n' | b' ', 0, b, 0, ..] if *b != 0 => {
                Encoding::Utf16Le
            }
            [0, b'{' | b'[' | b'#' | b'-' | b'\r' | b'\n' | b' ', 0, b, ..] if *b != 0 => {
                Encoding::Utf16Be
            }
            _ => Encoding::Utf8,
        }
    }

    /// A name for messages.
    pub fn name(self) -> &'static str {
        match self {
            Encoding::Utf8 => "UTF-8",
            Encoding::Utf8Bom => "UTF-8 with a byte-order mark",
            Encoding::Utf16Le => "UTF-16LE",
            Encoding::Utf16Be => "UTF-16BE",
            Encoding::Utf32 => "UTF-32",
        }
    }

    /// Bytes of byte-order mark in front of the text.
    pub fn bom_len(self, head: &[u8]) -> usize {
        match self {
            Encoding::Utf8Bom => 3,
            Encoding::Utf16Le | Encoding::Utf16Be
                if matches!(head, [0xFF, 0xFE, ..] | [0xFE, 0xFF, ..]) =>
            {
                2
            }
            _ => 0,
        }
    }
}

/// Why bytes could not be read as text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct EncodingError {
    /// What is wrong and how to fix it.
    pub message: String,
}

/// How to get UTF-8 out of the usual Windows shells.
const HOW_TO_FIX: &str = "write the file as UTF-8 (PowerShell: `terraform show -json plan.tfplan | Out-File -Encoding utf8 plan.json`, or `iconv -t UTF-8`)";

/// The text of `bytes` as UTF-8 without a byte-order mark: UTF-8 as it is
/// (borrowed), a UTF-8 BOM dropped, UTF-16 converted. UTF-32 and broken
/// UTF-16 are refused with a message that says what the bytes are and how to
/// fix them. UTF-8 itself is not validated here: parsers do that.
pub fn to_utf8(bytes: &[u8]) -> Result<(Cow<'_, [u8]>, Encoding), EncodingError> {
    let encoding = Encoding::sniff(bytes);
    let body = &bytes[encoding.bom_len(bytes)..];
    let text = match encoding {
        Encoding::Utf8 | Encoding::Utf8Bom => Cow::Borrowed(body),
        Encoding::Utf32 => {
            return Err(EncodingError {
                message: format!("the file is UTF-32, which Terraform never writes; {HOW_TO_FIX}"),
            })
        }
        Encoding::Utf16Le | Encoding::Utf16Be => {
            Cow::Owned(utf16_to_utf8(body, encoding == Encoding::Utf16Le)?.into_bytes())
        }
    };
    Ok((text, encoding))
}

fn utf16_to_utf8(body: &[u8], little_endian: bool) -> Result<String, EncodingError> {
    if body.len() % 2 != 0 {
        return Err(EncodingError {
            message: format!(
                "the file looks like UTF-16 but has an odd number of bytes ({}); it may be cut short; {HOW_TO_FIX}",
                body.len()
            ),
        });
    }
    let units = body.chunks_exact(2).map(|pair| {
        let pair = [pair[0], pair[1]];
        if little_endian {
            u16::from_le_bytes(pair)
        } else {
            u16::from_be_bytes(pair)
        }
    });
    let mut text = String::with_capacity(body.len() / 2);
    for (index, unit) in char::decode_utf16(units).enumerate() {
        match unit {
            Ok(c) => text.push(c),
            Err(_) => {
                return Err(EncodingError {
                    message: format!(
                        "the file looks like UTF-16 but holds an unpaired surrogate near byte {}; {HOW_TO_FIX}",
                        index * 2
                    ),
                })
            }
        }
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utf16(text: &str, little_endian: bool, bom: bool) -> Vec<u8> {
        let mut out = Vec::new();
        if bom {
            out.extend(if little_endian {
                [0xFF, 0xFE]
            } else {
                [0xFE, 0xFF]
            });
        }
        for unit in text.encode_utf16() {
            out.extend(if little_endian {
                unit.to_le_bytes()
            } else {
                unit.to_be_bytes()
            });
        }
        out
    }

    #[test]
    fn utf8_passes_borrowed_and_a_bom_is_dropped() {
        let (text, encoding) = to_utf8(b"{\"a\":1}").unwrap();
        assert!(matches!(text, Cow::Borrowed(_)));
        assert_eq!(encoding, Encoding::Utf8);
        let (text, encoding) = to_utf8(b"\xEF\xBB\xBF{\"a\":1}").unwrap();
        assert_eq!(&*text, b"{\"a\":1}");
        assert_eq!(encoding, Encoding::Utf8Bom);
    }

    #[test]
    fn utf16_is_converted_with_or_without_a_bom() {
        let json = "{\"name\": \"caf\u{e9} \u{1F600}\"}\r\n";
        for (little_endian, bom) in [(true, true), (false, true), (true, false), (false, false)] {
            let bytes = utf16(json, little_endian, bom);
            let (text, _) = to_utf8(&bytes).unwrap();
            assert_eq!(
                std::str::from_utf8(&text).unwrap(),
                json,
                "{little_endian} {bom}"
            );
        }
    }

    #[test]
    fn broken_utf16_and_utf32_say_what_they_are() {
        let mut odd = utf16("{}", true, true);
        odd.push(b'x');
        assert!(to_utf8(&odd).unwrap_err().message.contains("odd number"));
        let surrogate = [0xFF, 0xFE, b'{', 0, 0x00, 0xD8, b'}', 0];
        assert!(to_utf8(&surrogate)
            .unwrap_err()
            .message
            .contains("surrogate"));
        let utf32 = [0xFF, 0xFE, 0, 0, b'{', 0, 0, 0];
        let err = to_utf8(&utf32).unwrap_err().message;
        assert!(err.contains("UTF-32") && err.contains("UTF-8"), "{err}");
    }
}
