//! How deep a JSON text nests, found before anything recursive reads it.
//!
//! Every reader of JSON recurses once per level of nesting: sonic-rs's
//! validating skip of the values this tool ignores, the typed readers, the
//! diff walker. A few hundred kilobytes of `[[[[…` would overflow any stack
//! and abort the whole process, losing every other report of the run. So
//! each text is measured first, in one pass that keeps pace with the parser:
//! 64 bytes at a time, strings masked out with the carry-less technique of
//! simdjson, and the brackets only counted one by one in the rare blocks that
//! could cross the limit.

use sonic_simd::{u8x64, Mask, Simd};

/// The deepest nesting of objects and arrays accepted in Terraform JSON.
/// Terraform's own test plans nest at most 17 levels (a Terraform Cloud
/// redacted plan), and 128 is where serde_json stops too, so everything that
/// reads a member later stays within its limit.
pub const MAX_NESTING_DEPTH: usize = 128;

const BLOCK: usize = 64;

/// The offset of the first bracket that opens a level deeper than `limit`,
/// or `None` when `bytes` nests `limit` levels or fewer. Brackets inside
/// strings do not count; broken JSON is measured as far as it goes (the
/// parser reports it).
pub fn first_too_deep(bytes: &[u8], limit: usize) -> Option<usize> {
    let mut scan = Scan::default();
    let mut blocks = bytes.chunks_exact(BLOCK);
    for (index, block) in blocks.by_ref().enumerate() {
        if let Some(bit) = scan.block(block, limit) {
            return Some(index * BLOCK + bit);
        }
    }
    let tail = blocks.remainder();
    if tail.is_empty() {
        return None;
    }
    // Spaces pad the last block: they open nothing and end no string.
    let mut padded = [b' '; BLOCK];
    padded[..tail.len()].copy_from_slice(tail);
    scan.block(&padded, limit)
        .map(|bit| bytes.len() - tail.len() + bit)
}

/// The error for `bytes` nesting too deep at `offset`; `line_offset` counts
/// lines skipped before `bytes`.
pub(crate) fn too_deep(
    source_name: &str,
    bytes: &[u8],
    offset: usize,
    line_offset: usize,
) -> crate::error::Error {
    let before = &bytes[..offset.min(bytes.len())];
    let line_start = memchr::memrchr(b'\n', before).map_or(0, |p| p + 1);
    crate::error::Error::TooDeep {
        source_name: source_name.to_string(),
        line: line_offset + memchr::memchr_iter(b'\n', before).count() + 1,
        column: offset - line_start + 1,
        limit: MAX_NESTING_DEPTH,
    }
}

#[derive(Default)]
struct Scan {
    /// Opened minus closed so far; below zero only in broken JSON, which a
    /// parser refuses at the first unmatched bracket, before anything deeper.
    depth: i64,
    /// All ones when the previous block ended inside a string.
    in_string: u64,
    /// 1 when the previous block ended on an unescaped backslash.
    escaped: u64,
}

impl Scan {
    /// Measures one block; the bit of the bracket that crosses `limit`.
    fn block(&mut self, block: &[u8], limit: usize) -> Option<usize> {
        debug_assert_eq!(block.len(), BLOCK);
        // SAFETY: `block` holds exactly the 64 bytes the load reads.
        let bytes = unsafe { u8x64::from_slice_unaligned_unchecked(block) };
        let found = |byte: u8| bytes.eq(&u8x64::splat(byte)).bitmask();

        let backslashes = found(b'\\');
        let escaped = if backslashes == 0 {
            std::mem::take(&mut self.escaped)
        } else {
            escaped_bits(&mut self.escaped, backslashes)
        };
        let quotes = found(b'"') & !escaped;
        let strings = prefix_xor(quotes) ^ self.in_string;
        self.in_string = ((strings as i64) >> 63) as u64;

        let counted = !(strings | escaped);
        let opens = (found(b'{') | found(b'[')) & counted;
        let closes = (found(b'}') | found(b']')) & counted;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        if self.depth + i64::from(opens.count_ones()) <= limit {
            // Cannot cross the limit within this block: count, don't walk.
            self.depth += i64::from(opens.count_ones()) - i64::from(closes.count_ones());
            return None;
        }
        let mut brackets = opens | closes;
        while brackets != 0 {
            let bit = brackets.trailing_zeros() as usize;
            if opens & (1 << bit) != 0 {
                self.depth += 1;
                if self.depth > limit {
                    return Some(bit);
                }
            } else {
                self.depth -= 1;
            }
            brackets &= brackets - 1;
        }
        None
    }
}

/// The bits of characters escaped by a backslash (simdjson's branchless
/// odd-length backslash run detection); `carry` is 1 when the block before
/// ended on an escaping backslash.
fn escaped_bits(carry: &mut u64, backslashes: u64) -> u64 {
    const EVEN_BITS: u64 = 0x5555_5555_5555_5555;
    let backslashes = backslashes & !*carry;
    let follows_escape = (backslashes << 1) | *carry;
    let odd_starts = backslashes & !EVEN_BITS & !follows_escape;
    let (even_starts, overflow) = odd_starts.overflowing_add(backslashes);
    *carry = u64::from(overflow);
    let invert = even_starts << 1;
    (EVEN_BITS ^ invert) & follows_escape
}

/// Each bit becomes the XOR of itself and every bit below it: the bits from
/// an opening quote up to (not including) its closing quote are set.
fn prefix_xor(mut bits: u64) -> u64 {
    for shift in [1, 2, 4, 8, 16, 32] {
        bits ^= bits << shift;
    }
    bits
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The same measure, one byte at a time, as the reference. A backslash
    /// escapes the next byte outside strings too, as in the block scan: JSON
    /// has none there, so a parser stops at it before any deeper nesting.
    fn reference(bytes: &[u8], limit: usize) -> Option<usize> {
        let (mut depth, mut in_string, mut escaped) = (0i64, false, false);
        for (i, &b) in bytes.iter().enumerate() {
            if escaped {
                escaped = false;
                continue;
            }
            if in_string {
                match b {
                    b'\\' => escaped = true,
                    b'"' => in_string = false,
                    _ => {}
                }
                continue;
            }
            match b {
                b'\\' => escaped = true,
                b'"' => in_string = true,
                b'{' | b'[' => {
                    depth += 1;
                    if depth > limit as i64 {
                        return Some(i);
                    }
                }
                b'}' | b']' => depth -= 1,
                _ => {}
            }
        }
        None
    }

    #[test]
    fn counts_brackets_outside_strings_only() {
        let flat = "[]".repeat(1000);
        let cases: &[(&str, usize, Option<usize>)] = &[
            ("[[[]]]", 3, None),
            ("[[[]]]", 2, Some(2)),
            (r#"{"a": "[[[[[[", "b": [1]}"#, 2, None),
            (r#"{"a": "\"[[[", "b": [[1]]}"#, 2, Some(21)),
            (r#"{"a": "\\", "b": [[1]]}"#, 2, Some(18)),
            (r#"["\\\"[", [[]]]"#, 2, Some(11)),
            (flat.as_str(), 1, None),
        ];
        for (text, limit, expected) in cases {
            assert_eq!(first_too_deep(text.as_bytes(), *limit), *expected, "{text}");
            assert_eq!(reference(text.as_bytes(), *limit), *expected, "{text}");
        }
    }

    #[test]
    fn agrees_with_the_byte_by_byte_measure_across_block_edges() {
        // Strings, escapes and brackets placed so that every kind of
        // carry (in a string, after a backslash, in a run of backslashes)
        // crosses a 64-byte edge somewhere.
        let pieces = [
            "[", "]", "{", "}", "\"", "\\", "\\\\", "\\\"", "a", " ", "\"[\"", ",",
        ];
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        for round in 0..2000 {
            let mut text = String::new();
            for _ in 0..(round % 300) {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                text.push_str(pieces[(seed % pieces.len() as u64) as usize]);
            }
            for limit in [1, 3, 8] {
                assert_eq!(
                    first_too_deep(text.as_bytes(), limit),
                    reference(text.as_bytes(), limit),
                    "{text:?} limit {limit}"
                );
            }
        }
    }

    #[test]
    fn deep_input_is_found_without_recursion() {
        let deep = "[".repeat(1_000_000);
        assert_eq!(
            first_too_deep(deep.as_bytes(), MAX_NESTING_DEPTH),
            Some(128)
        );
        let fine = format!("{}{}", "[".repeat(128), "]".repeat(128));
        assert_eq!(first_too_deep(fine.as_bytes(), MAX_NESTING_DEPTH), None);
    }
}
