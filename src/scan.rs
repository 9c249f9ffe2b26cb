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

/// Position of the first CR or LF in `s`.
#[inline]
pub(crate) fn find_line_break(s: &[u8]) -> Option<usize> {
    let mut blocks = s.chunks_exact(BLOCK);
    let mut base = 0;
    for block in &mut blocks {
        let mut hit = false;
        for &b in block {
            hit |= is_break(b);
        }
        if hit {
            return block.iter().position(|&b| is_break(b)).map(|i| base + i);
        }
        base += BLOCK;
    }
    blocks
        .remainder()
        .iter()
        .position(|&b| is_break(b))
        .map(|i| base + i)
}

/// Number of CR and LF bytes in `s` (a CRLF pair counts twice).
#[inline]
pub(crate) fn count_line_breaks(s: &[u8]) -> usize {
    let mut blocks = s.chunks_exact(BLOCK);
    let mut n = 0usize;
    for block in &mut blocks {
        let mut k = 0u8;
        for &b in block {
            k += u8::from(is_break(b));
        }
        n += usize::from(k);
    }
    n + blocks
        .remainder()
        .iter()
        .filter(|&&b| is_break(b))
        .count()
}

/// Position of the first byte of `s` that is CR, LF, or (when `nul` is set) NUL.
pub(crate) fn find_forbidden(s: &[u8], nul: bool) -> Option<usize> {
    s.iter()
        .position(|&b| is_break(b) || (nul && b == 0))
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
                }
            }
            assert_eq!(find_line_break(&vec![b'x'; len]), None);
            assert_eq!(count_line_breaks(&vec![b'x'; len]), 0);
        }
    }

    #[test]
    fn counts_all_breaks() {
        let s = "a\r\nb\nc\rd\n\n".repeat(40);
        assert_eq!(count_line_breaks(s.as_bytes()), 6 * 40);
    }

    #[test]
    fn forbidden_bytes() {
        assert_eq!(find_forbidden(b"ab\0c", true), Some(2));
        assert_eq!(find_forbidden(b"ab\0c", false), None);
        assert_eq!(find_forbidden(b"ab\rc", false), Some(2));
    }
}
