//! How deep a JSON text nests, found before anything recursive reads it.
//!
//! Every reader of JSON recurses once per level of nesting: sonic-rs's
//! validating skip of the values this tool ignores, the typed readers, the
//! diff walker. A few hundred kilobytes of `[[[[…` would overflow any stack
//! and abort the whole process, losing every other report of the run. So
//! each text is measured first, in one pass of about 10 GB/s (AVX2; 6 GB/s
//! with SSE2 or NEON): 64 bytes at a time, strings masked out with the
//! carry-less technique of simdjson, and the brackets only counted one by
//! one in the rare blocks that could cross the limit.

/// The deepest nesting of objects and arrays accepted in Terraform JSON.
/// Terraform's own test plans nest at most 17 levels (a Terraform Cloud
/// redacted plan), and 128 is where serde_json stops too, so everything that
/// reads a member later stays within its limit.
pub const MAX_NESTING_DEPTH: usize = 128;

const BLOCK: usize = 64;

/// What one pass over a JSON text found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Measure {
    /// The offset of the first bracket that opens a level deeper than the
    /// limit, if one does (the pass stops there).
    pub too_deep_at: Option<usize>,
    /// Whether every byte measured is ASCII (then the text is UTF-8, and
    /// the separate UTF-8 check can be spared).
    pub ascii: bool,
}

/// Measures how deep `bytes` nests, up to the first bracket deeper than
/// `limit`, and whether it is all ASCII. Brackets inside strings do not
/// count; broken JSON is measured as far as it goes (the parser reports it).
pub fn measure(bytes: &[u8], limit: usize) -> Measure {
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx2")
            && std::arch::is_x86_feature_detected!("pclmulqdq")
        {
            // SAFETY: the CPU has the features the function is compiled for.
            return unsafe { x86::scan_avx2(bytes, limit) };
        }
        x86::scan_sse2(bytes, limit)
    }
    #[cfg(not(target_arch = "x86_64"))]
    scan_portable(bytes, limit)
}

/// The offset of the first bracket that opens a level deeper than `limit`,
/// or `None` when `bytes` nests `limit` levels or fewer (see [`measure`]).
pub fn first_too_deep(bytes: &[u8], limit: usize) -> Option<usize> {
    measure(bytes, limit).too_deep_at
}

/// The bitmasks of a 64-byte block, one bit per byte: backslashes, quotes,
/// opening brackets (`{` `[`), closing ones (`}` `]`), and bytes with the
/// high bit set (not ASCII; any nonzero value will do).
struct Masks {
    backslashes: u64,
    quotes: u64,
    opens: u64,
    closes: u64,
    high: u64,
}

/// Runs `masks` over every 64-byte block (the last one padded with spaces,
/// which open nothing and end no string).
#[inline(always)]
fn scan_blocks(
    bytes: &[u8],
    limit: i64,
    masks: impl Fn(&[u8; BLOCK]) -> Masks,
    prefix_xor: impl Fn(u64) -> u64 + Copy,
) -> Measure {
    let mut scan = Scan::default();
    let mut high = 0;
    let mut blocks = bytes.chunks_exact(BLOCK);
    for (index, block) in blocks.by_ref().enumerate() {
        let block: &[u8; BLOCK] = block
            .try_into()
            .expect("chunks_exact yields blocks of BLOCK bytes");
        let masks = masks(block);
        high |= masks.high;
        if let Some(bit) = scan.block(masks, limit, prefix_xor) {
            return Measure {
                too_deep_at: Some(index * BLOCK + bit),
                ascii: false,
            };
        }
    }
    let tail = blocks.remainder();
    let mut too_deep_at = None;
    if !tail.is_empty() {
        let mut padded = [b' '; BLOCK];
        padded[..tail.len()].copy_from_slice(tail);
        let masks = masks(&padded);
        high |= masks.high;
        too_deep_at = scan
            .block(masks, limit, prefix_xor)
            .map(|bit| bytes.len() - tail.len() + bit);
    }
    Measure {
        too_deep_at,
        ascii: high == 0 && too_deep_at.is_none(),
    }
}

/// sonic-rs's portable vectors: NEON on the arm64 Lambda.
#[cfg_attr(target_arch = "x86_64", allow(dead_code))]
fn scan_portable(bytes: &[u8], limit: i64) -> Measure {
    use sonic_simd::{u8x64, Mask, Simd};
    let masks = |block: &[u8; BLOCK]| {
        // SAFETY: `block` holds exactly the 64 bytes the load reads.
        let bytes = unsafe { u8x64::from_slice_unaligned_unchecked(block) };
        let is = |byte: u8| bytes.eq(&u8x64::splat(byte));
        Masks {
            backslashes: is(b'\\').bitmask(),
            quotes: is(b'"').bitmask(),
            opens: (is(b'{') | is(b'[')).bitmask(),
            closes: (is(b'}') | is(b']')).bitmask(),
            high: u64::from(!block.is_ascii()),
        }
    };
    scan_blocks(bytes, limit, masks, prefix_xor)
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    //! Every x86-64 CPU has SSE2; most have AVX2, which halves the work.
    //! `[` and `{` differ only in bit 0x20 (as do `]` and `}`), so one
    //! comparison after setting that bit finds both.
    use std::arch::x86_64::*;

    use super::{prefix_xor, scan_blocks, Masks, Measure, BLOCK};

    pub(super) fn scan_sse2(bytes: &[u8], limit: i64) -> Measure {
        let masks = |block: &[u8; BLOCK]| {
            // SAFETY: SSE2 is part of x86-64; each load reads 16 of the
            // block's 64 bytes, at offsets 0, 16, 32 and 48.
            unsafe {
                let parts =
                    [0, 16, 32, 48].map(|at| _mm_loadu_si128(block.as_ptr().add(at).cast()));
                let folded = parts.map(|part| _mm_or_si128(part, _mm_set1_epi8(0x20)));
                let find = |parts: &[__m128i; 4], byte: u8| {
                    let wanted = _mm_set1_epi8(byte as i8);
                    parts.iter().enumerate().fold(0u64, |bits, (i, part)| {
                        let found = _mm_movemask_epi8(_mm_cmpeq_epi8(*part, wanted)) as u32;
                        bits | u64::from(found) << (16 * i)
                    })
                };
                let high = parts.iter().enumerate().fold(0u64, |bits, (i, part)| {
                    bits | u64::from(_mm_movemask_epi8(*part) as u32) << (16 * i)
                });
                Masks {
                    backslashes: find(&parts, b'\\'),
                    quotes: find(&parts, b'"'),
                    opens: find(&folded, b'{'),
                    closes: find(&folded, b'}'),
                    high,
                }
            }
        };
        scan_blocks(bytes, limit, masks, prefix_xor)
    }

    /// # Safety
    /// The CPU must have AVX2 and PCLMULQDQ.
    #[target_feature(enable = "avx2,pclmulqdq")]
    pub(super) unsafe fn scan_avx2(bytes: &[u8], limit: i64) -> Measure {
        let masks = |block: &[u8; BLOCK]| {
            // SAFETY: the caller guarantees AVX2; the two loads read the
            // block's 64 bytes, at offsets 0 and 32.
            unsafe {
                let parts = [0, 32].map(|at| _mm256_loadu_si256(block.as_ptr().add(at).cast()));
                let folded = parts.map(|part| _mm256_or_si256(part, _mm256_set1_epi8(0x20)));
                let find = |parts: &[__m256i; 2], byte: u8| {
                    let wanted = _mm256_set1_epi8(byte as i8);
                    let low = _mm256_movemask_epi8(_mm256_cmpeq_epi8(parts[0], wanted)) as u32;
                    let high = _mm256_movemask_epi8(_mm256_cmpeq_epi8(parts[1], wanted)) as u32;
                    u64::from(low) | u64::from(high) << 32
                };
                // The high bits are the movemask of the bytes themselves.
                let high = _mm256_movemask_epi8(_mm256_or_si256(parts[0], parts[1]));
                Masks {
                    backslashes: find(&parts, b'\\'),
                    quotes: find(&parts, b'"'),
                    opens: find(&folded, b'{'),
                    closes: find(&folded, b'}'),
                    high: u64::from(high as u32),
                }
            }
        };
        // A carry-less multiplication by all ones is the prefix XOR in one
        // instruction.
        let prefix_xor = |bits: u64| {
            // SAFETY: the caller guarantees PCLMULQDQ. (Newer compilers know
            // that inside this function; Rust 1.85, the oldest supported,
            // wants the block.)
            #[allow(unused_unsafe)]
            unsafe {
                let product =
                    _mm_clmulepi64_si128(_mm_set_epi64x(0, bits as i64), _mm_set1_epi8(-1), 0);
                _mm_cvtsi128_si64(product) as u64
            }
        };
        scan_blocks(bytes, limit, masks, prefix_xor)
    }
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
    #[inline(always)]
    fn block(
        &mut self,
        masks: Masks,
        limit: i64,
        prefix_xor: impl Fn(u64) -> u64,
    ) -> Option<usize> {
        let escaped = if masks.backslashes == 0 {
            std::mem::take(&mut self.escaped)
        } else {
            escaped_bits(&mut self.escaped, masks.backslashes)
        };
        let quotes = masks.quotes & !escaped;
        let strings = prefix_xor(quotes) ^ self.in_string;
        self.in_string = ((strings as i64) >> 63) as u64;

        let counted = !(strings | escaped);
        let opens = masks.opens & counted;
        let closes = masks.closes & counted;
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
#[inline(always)]
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
#[inline(always)]
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

    /// Every implementation this machine can run, by name.
    fn implementations(bytes: &[u8], limit: usize) -> Vec<(&'static str, Option<usize>)> {
        let measures = all_measures(bytes, limit);
        let ascii = reference(bytes, limit).is_none() && bytes.is_ascii();
        for (name, measure) in &measures {
            assert_eq!(measure.ascii, ascii, "{name}: {bytes:?}");
        }
        measures
            .into_iter()
            .map(|(name, m)| (name, m.too_deep_at))
            .collect()
    }

    fn all_measures(bytes: &[u8], limit: usize) -> Vec<(&'static str, Measure)> {
        let mut found = vec![("portable", scan_portable(bytes, limit as i64))];
        #[cfg(target_arch = "x86_64")]
        {
            found.push(("sse2", x86::scan_sse2(bytes, limit as i64)));
            if std::arch::is_x86_feature_detected!("avx2")
                && std::arch::is_x86_feature_detected!("pclmulqdq")
            {
                // SAFETY: the features were just detected.
                found.push(("avx2", unsafe { x86::scan_avx2(bytes, limit as i64) }));
            }
        }
        found
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
            for (name, found) in implementations(text.as_bytes(), *limit) {
                assert_eq!(found, *expected, "{name}: {text}");
            }
        }
    }

    #[test]
    fn agrees_with_the_byte_by_byte_measure_across_block_edges() {
        // Strings, escapes and brackets placed so that every kind of
        // carry (in a string, after a backslash, in a run of backslashes)
        // crosses a 64-byte edge somewhere.
        let pieces = [
            "[",
            "]",
            "{",
            "}",
            "\"",
            "\\",
            "\\\\",
            "\\\"",
            "a",
            " ",
            "\"[\"",
            ",",
            "\u{e9}",
            "\u{1F600}",
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
                let expected = reference(text.as_bytes(), limit);
                for (name, found) in implementations(text.as_bytes(), limit) {
                    assert_eq!(found, expected, "{name}: {text:?} limit {limit}");
                }
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
