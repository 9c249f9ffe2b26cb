//! Fast, dependency-free searches for line breaks.
//!
//! The loops work on fixed-size blocks without early exits so that the compiler turns
//! them into SIMD compares (SSE2 on any x86-64, NEON on aarch64); only the block that
//! holds a hit is searched byte by byte.

const BLOCK: usize = 32;

#[inline(always)]
fn is_break(b: u8) -> bool {
    (b == b'\n') | (b == b'\r')
}

/// Whether `block` may hold a CR or LF: true for any byte from LF to CR, which takes
/// one compare per byte where an exact test takes two; the rare VT and FF in between
/// are sorted out by the caller's exact search of the block.
#[inline(always)]
fn maybe_break<const N: usize>(block: &[u8; N]) -> bool {
    let mut maybe = 0u8;
    for &b in block {
        maybe |= u8::from(b.wrapping_sub(b'\n') <= b'\r' - b'\n');
    }
    maybe != 0
}

/// Position of the first CR or LF in `s`.
#[inline]
pub(crate) fn find_line_break(s: &[u8]) -> Option<usize> {
    let mut blocks = s.chunks_exact(BLOCK);
    let mut base = 0;
    for block in &mut blocks {
        // A fixed-size array (the conversion cannot fail) lets the compiler unroll
        // and vectorize the whole block.
        let block: &[u8; BLOCK] = block.try_into().unwrap_or(&[0; BLOCK]);
        if maybe_break(block) {
            if let Some(i) = block.iter().position(|&b| is_break(b)) {
                return Some(base + i);
            }
        }
        base += BLOCK;
    }
    blocks
        .remainder()
        .iter()
        .position(|&b| is_break(b))
        .map(|i| base + i)
}

/// Position of the first CR or LF in `s`, and whether every byte before it (all of
/// `s` when there is none) is ASCII (the decoder then skips UTF-8 validation).
#[inline]
pub(crate) fn find_line_break_ascii(s: &[u8]) -> (Option<usize>, bool) {
    let mut blocks = s.chunks_exact(BLOCK);
    let mut base = 0;
    let mut high = 0u64;
    for block in &mut blocks {
        let block: &[u8; BLOCK] = block.try_into().unwrap_or(&[0; BLOCK]);
        let words = classify(block);
        let any = words[0] | words[1] | words[2] | words[3];
        if any & WORD_BREAKS != 0 {
            return first_break(words, base, high);
        }
        high |= any;
        base += BLOCK;
    }
    // The last, partial block, padded with zeros (neither a break nor non-ASCII).
    let rest = blocks.remainder();
    let mut last = [0u8; BLOCK];
    last[..rest.len()].copy_from_slice(rest);
    first_break(classify(&last), base, high)
}

/// Bit 0 of every byte of a classified word: the byte is CR or LF.
const WORD_BREAKS: u64 = 0x0101_0101_0101_0101;
/// Bit 7 of every byte of a classified word: the byte is not ASCII.
const WORD_HIGH: u64 = 0x8080_8080_8080_8080;

/// Classifies a block as four little-endian words, one byte per input byte: bit 0
/// set for CR or LF, bit 7 for a non-ASCII byte. A branch-free map over the bytes
/// followed by whole-word reads, which the compiler turns into a handful of SIMD
/// compares (a reduction to one flag per block compiles to much worse code).
#[inline(always)]
fn classify(block: &[u8; BLOCK]) -> [u64; BLOCK / 8] {
    let mut flags = [0u8; BLOCK];
    for (flag, &b) in flags.iter_mut().zip(block) {
        *flag = u8::from(is_break(b)) | (b & 0x80);
    }
    let mut words = [0u64; BLOCK / 8];
    for (word, bytes) in words.iter_mut().zip(flags.chunks_exact(8)) {
        *word = u64::from_le_bytes(bytes.try_into().unwrap_or([0; 8]));
    }
    words
}

/// The first break in a classified block at offset `base` (`None` if there is none),
/// and whether the bytes before it, and those summarized in `high`, are ASCII.
#[inline(always)]
fn first_break(words: [u64; BLOCK / 8], base: usize, mut high: u64) -> (Option<usize>, bool) {
    for (k, &word) in words.iter().enumerate() {
        let breaks = word & WORD_BREAKS;
        if breaks != 0 {
            let byte = breaks.trailing_zeros() as usize / 8;
            high |= word & ((1u64 << (8 * byte)) - 1);
            return (Some(base + k * 8 + byte), high & WORD_HIGH == 0);
        }
        high |= word;
    }
    (None, high & WORD_HIGH == 0)
}

/// Whether `s` holds a CR or LF: one test per 64 bytes. With feature `memchr`,
/// long inputs go to `memchr2`, which picks AVX2 at run time where the CPU has it
/// (about a fifth faster on a 64 KiB line: W3 in `benches/encode.rs`).
#[inline]
pub(crate) fn has_line_break(s: &[u8]) -> bool {
    #[cfg(feature = "memchr")]
    if s.len() >= 256 {
        return memchr::memchr2(b'\n', b'\r', s).is_some();
    }
    const WIDE: usize = 64;
    let mut blocks = s.chunks_exact(WIDE);
    for block in &mut blocks {
        let block: &[u8; WIDE] = block.try_into().unwrap_or(&[0; WIDE]);
        let mut hit = 0u8;
        for &b in block {
            hit |= u8::from(is_break(b));
        }
        if hit != 0 {
            return true;
        }
    }
    blocks.remainder().iter().any(|&b| is_break(b))
}

/// Number of CR and LF bytes in `s` (a CRLF pair counts twice).
#[inline]
pub(crate) fn count_line_breaks(s: &[u8]) -> usize {
    // Per-lane byte counters, summed before they can overflow (255 blocks).
    const SPAN: usize = BLOCK * 255;
    #[inline(always)]
    fn count_blocks(s: &[u8]) -> (usize, &[u8]) {
        let mut lanes = [0u8; BLOCK];
        let mut blocks = s.chunks_exact(BLOCK);
        for block in &mut blocks {
            let block: &[u8; BLOCK] = block.try_into().unwrap_or(&[0; BLOCK]);
            for (lane, &b) in lanes.iter_mut().zip(block) {
                *lane += u8::from(is_break(b));
            }
        }
        let n = lanes.iter().map(|&k| usize::from(k)).sum();
        (n, blocks.remainder())
    }
    let mut n = 0;
    let mut spans = s.chunks_exact(SPAN);
    for span in &mut spans {
        n += count_blocks(span).0;
    }
    let (k, rest) = count_blocks(spans.remainder());
    n + k + rest.iter().filter(|&&b| is_break(b)).count()
}

/// Splits off the first line of `s`: the text before its first line break, and what
/// follows the break (`None` when there is no break). CRLF is one break; CR and LF
/// alone are one each.
#[inline]
pub(crate) fn split_line(s: &[u8]) -> (&[u8], Option<&[u8]>) {
    match find_line_break(s) {
        None => (s, None),
        Some(i) => {
            let crlf = s[i] == b'\r' && s.get(i + 1) == Some(&b'\n');
            (&s[..i], Some(&s[i + 1 + usize::from(crlf)..]))
        }
    }
}

/// Position of the first byte of `s` that is CR, LF, or (when `nul` is set) NUL: the
/// bytes an event type (CR, LF) or an id (CR, LF, NUL) cannot hold. A `const fn`, so
/// that `from_static` constructors check literals at compile time with it too.
pub(crate) const fn find_forbidden(s: &[u8], nul: bool) -> Option<usize> {
    let mut i = 0;
    while i < s.len() {
        let b = s[i];
        if b == b'\n' || b == b'\r' || (nul && b == 0) {
            return Some(i);
        }
        i += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_first_break_in_every_position() {
        for len in 0..100 {
            for pos in 0..len {
                for brk in [b'\n', b'\r'] {
                    let mut v = vec![b'a'; len];
                    v[pos] = brk;
                    assert_eq!(find_line_break(&v), Some(pos), "len {len} pos {pos}");
                    assert_eq!(count_line_breaks(&v), 1);
                    assert!(has_line_break(&v), "len {len} pos {pos}");
                }
            }
            assert_eq!(find_line_break(&vec![b'x'; len]), None);
            assert_eq!(count_line_breaks(&vec![b'x'; len]), 0);
            assert!(!has_line_break(&vec![b'x'; len]));
        }
    }

    #[test]
    fn finds_break_and_ascii_prefix() {
        for len in 0..100 {
            for pos in 0..len {
                let mut v = vec![b'a'; len];
                v[pos] = b'\r';
                assert_eq!(find_line_break_ascii(&v), (Some(pos), true));
                for high in 0..len {
                    let mut w = v.clone();
                    w[high] = 0xC3;
                    // Writing over the CR leaves no break and one non-ASCII byte.
                    let expected = if high == pos {
                        (None, false)
                    } else {
                        (Some(pos), high > pos)
                    };
                    assert_eq!(
                        find_line_break_ascii(&w),
                        expected,
                        "len {len} pos {pos} high {high}"
                    );
                }
            }
            assert_eq!(find_line_break_ascii(&vec![b'x'; len]), (None, true));
            if len > 0 {
                let mut v = vec![b'x'; len];
                v[len - 1] = 0x80;
                assert_eq!(find_line_break_ascii(&v), (None, false));
            }
        }
    }

    #[test]
    fn vertical_tab_and_form_feed_are_not_breaks() {
        // They pass the one-compare pre-check of a block; the exact search must
        // then move on to the next block.
        for len in [0, 1, 31, 32, 33, 64, 100] {
            for filler in [0x0B, 0x0C] {
                let mut v = vec![filler; len];
                assert_eq!(find_line_break(&v), None);
                assert!(!has_line_break(&v));
                assert_eq!(count_line_breaks(&v), 0);
                v.push(b'\r');
                assert_eq!(find_line_break(&v), Some(len));
                assert!(has_line_break(&v));
                assert_eq!(count_line_breaks(&v), 1);
            }
        }
    }

    #[test]
    fn long_inputs() {
        // Long enough for every path, including feature `memchr`'s.
        for len in [255, 256, 257, 1000, 65536] {
            assert!(!has_line_break(&vec![b'x'; len]));
            for pos in [0, 1, 63, 64, 65, len / 2, len - 1] {
                for brk in [b'\n', b'\r'] {
                    let mut v = vec![b'x'; len];
                    v[pos] = brk;
                    assert!(has_line_break(&v), "len {len} pos {pos}");
                    assert_eq!(find_line_break(&v), Some(pos));
                    assert_eq!(count_line_breaks(&v), 1);
                }
            }
        }
    }

    #[test]
    fn counts_all_breaks() {
        let s = "a\r\nb\nc\rd\n\n".repeat(40);
        assert_eq!(count_line_breaks(s.as_bytes()), 6 * 40);
    }

    #[test]
    fn split_line_treats_crlf_as_one_break() {
        assert_eq!(split_line(b"a\r\nb"), (&b"a"[..], Some(&b"b"[..])));
        assert_eq!(split_line(b"a\rb"), (&b"a"[..], Some(&b"b"[..])));
        assert_eq!(split_line(b"a\n\rb"), (&b"a"[..], Some(&b"\rb"[..])));
        assert_eq!(split_line(b"a\r"), (&b"a"[..], Some(&b""[..])));
        assert_eq!(split_line(b"abc"), (&b"abc"[..], None));
    }

    #[test]
    fn forbidden_bytes() {
        assert_eq!(find_forbidden(b"ab\0c", true), Some(2));
        assert_eq!(find_forbidden(b"ab\0c", false), None);
        assert_eq!(find_forbidden(b"ab\rc", false), Some(2));
    }

    /// Compiled only without feature `memchr`: the portable block scan of long inputs
    /// (the path `memchr2` replaces from 256 bytes on). CI reaches it with
    /// `cargo test -p ssewire --no-default-features --lib`.
    #[cfg(not(feature = "memchr"))]
    #[test]
    fn long_inputs_without_memchr_use_the_portable_scan() {
        for len in [256, 1000, 64 * 1024] {
            let mut line = vec![b'a'; len];
            assert!(!has_line_break(&line), "len {len}");
            for at in [0, 63, 64, len / 2, len - 1] {
                for brk in [b'\n', b'\r'] {
                    line[at] = brk;
                    assert!(has_line_break(&line), "len {len}, break at {at}");
                    line[at] = b'a';
                }
            }
        }
    }
}
