//! Line splitting: the chunks fed to the decoder in, complete lines out.
//!
//! A line ends at CRLF, LF or a lone CR; a CR that ends a chunk is held until the
//! next byte shows whether an LF follows. A line that lies within one chunk is lent
//! as a range of that chunk (no copy); a line that spans chunks is assembled in a
//! buffer of its own, which goes with the line (it is never reused for a later line,
//! so a kept event never shares memory with a later one). One byte order mark is
//! removed from the start of the first line. Lines longer than the limit are
//! reported once and skipped without being buffered.

use std::collections::VecDeque;

use bytes::{Bytes, BytesMut};

use super::text;
use crate::scan::find_line_break_ascii;

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// Position of the first CR or LF in `s`, and whether the bytes before it (all of `s`
/// when there is none) are ASCII. Short lines are found by the block scan of
/// `scan.rs`, which tells both at once; with feature `memchr`, a line longer than
/// [`SHORT`] is searched with `memchr2` (AVX2 where the CPU has it) and then checked
/// for ASCII on its own.
#[inline]
fn find_break(s: &[u8]) -> (Option<usize>, bool) {
    #[cfg(feature = "memchr")]
    if s.len() > SHORT {
        let (found, ascii) = find_line_break_ascii(&s[..SHORT]);
        if found.is_some() {
            return (found, ascii);
        }
        let found = memchr::memchr2(b'\n', b'\r', &s[SHORT..]).map(|i| SHORT + i);
        let line = &s[SHORT..found.unwrap_or(s.len())];
        return (found, ascii && line.is_ascii());
    }
    find_line_break_ascii(s)
}

/// Lines up to this length are searched by the block scan alone.
#[cfg(feature = "memchr")]
const SHORT: usize = 128;

/// A complete line, without its line end (and without a BOM at the start of the
/// stream).
pub(super) struct Line<'a> {
    src: Src<'a>,
    /// The line is `src()[start..end]`.
    pub(super) start: usize,
    pub(super) end: usize,
    /// Whether the line is known to be ASCII.
    pub(super) ascii: bool,
    /// Stream offset of the line's first byte.
    pub(super) offset: u64,
}

/// Where a line's bytes are.
enum Src<'a> {
    /// In the chunk being decoded (lent: no copy, no reference count).
    Chunk(&'a Bytes),
    /// In a buffer of its own: the line arrived in several chunks.
    Joined(Bytes),
}

impl Line<'_> {
    /// The buffer that holds the line (at `start..end`); values may be sliced from it.
    #[inline]
    pub(super) fn src(&self) -> &Bytes {
        match &self.src {
            Src::Chunk(chunk) => chunk,
            Src::Joined(line) => line,
        }
    }

    /// The line's bytes.
    #[inline]
    pub(super) fn bytes(&self) -> &[u8] {
        &self.src()[self.start..self.end]
    }
}

/// What [`Lines::next`] found.
pub(super) enum Next<'a> {
    /// A complete line.
    Line(Line<'a>),
    /// A line longer than the limit, starting at this stream offset. It is dropped
    /// without being buffered.
    TooLong { offset: u64 },
    /// All input is used up: feed more.
    NeedMore,
}

/// The input of a decoder and the state of the line being split.
pub(super) struct Lines {
    max_line: usize,
    /// The chunk being split, from `at` on.
    chunk: Bytes,
    at: usize,
    /// Stream offset of `chunk[0]`.
    chunk_offset: u64,
    /// Chunks fed before the previous ones were used up.
    queued: VecDeque<Bytes>,
    /// The start of a line whose end has not arrived yet.
    partial: BytesMut,
    /// Whether `partial` is all ASCII so far.
    partial_ascii: bool,
    /// Stream offset of the first byte of `partial`.
    partial_offset: u64,
    /// Length of the last line that arrived in several chunks: the room reserved for
    /// the next one, so that a stream of large lines does not regrow the buffer.
    partial_hint: usize,
    /// The previous chunk ended with CR: an LF at the start of the next one belongs
    /// to the same line end.
    cr_pending: bool,
    /// Dropping the rest of the current line (too long, or of a skipped event).
    skip_line: bool,
    /// No line has ended yet: a BOM at its start is removed.
    first_line: bool,
}

impl Lines {
    pub(super) fn new(max_line: usize) -> Lines {
        Lines {
            max_line,
            chunk: Bytes::new(),
            at: 0,
            chunk_offset: 0,
            queued: VecDeque::new(),
            partial: BytesMut::new(),
            partial_ascii: true,
            partial_offset: 0,
            partial_hint: 0,
            cr_pending: false,
            skip_line: false,
            first_line: true,
        }
    }

    pub(super) fn max_line(&self) -> usize {
        self.max_line
    }

    pub(super) fn set_max_line(&mut self, limit: usize) {
        self.max_line = limit;
    }

    /// Input not split yet, and the partial line.
    pub(super) fn buffered_len(&self) -> usize {
        self.chunk.len().saturating_sub(self.at)
            + self.queued.iter().map(Bytes::len).sum::<usize>()
            + self.partial.len()
    }

    /// Adds a chunk of input (kept without a copy).
    #[inline]
    pub(super) fn feed(&mut self, chunk: Bytes) {
        if chunk.is_empty() {
            return;
        }
        if self.at >= self.chunk.len() && self.queued.is_empty() {
            self.chunk_offset += self.chunk.len() as u64;
            self.chunk = chunk;
            self.at = 0;
        } else {
            self.queued.push_back(chunk);
        }
    }

    /// Starts a new stream: drops the input and the partial line, and expects a BOM
    /// again. Keeps the limit.
    pub(super) fn reset(&mut self) {
        *self = Lines {
            partial_hint: self.partial_hint,
            ..Lines::new(self.max_line)
        };
    }

    /// Keeps the rest of the chunk, the start of a line that goes on in a later chunk,
    /// or drops it (`skipping`, or over the limit: then returns the line's offset).
    /// Out of line: once per chunk at most, and it keeps [`Lines::next`] small.
    #[cold]
    fn hold(&mut self, skipping: bool, ascii: bool) -> Option<u64> {
        let rest = &self.chunk[self.at..];
        let n = rest.len();
        if self.skip_line {
            // Already being dropped.
        } else if skipping {
            self.skip_line = true;
        } else if self.partial.len() + n > self.max_line {
            let offset = if self.partial.is_empty() {
                self.chunk_offset + self.at as u64
            } else {
                self.partial_offset
            };
            self.partial = BytesMut::new();
            self.skip_line = true;
            self.at = self.chunk.len();
            return Some(offset);
        } else {
            if self.partial.is_empty() {
                self.partial_offset = self.chunk_offset + self.at as u64;
                self.partial_ascii = true;
                // With nothing in the buffer yet, this is free of copies.
                self.partial.reserve(n.max(self.partial_hint));
            }
            self.partial.extend_from_slice(rest);
            self.partial_ascii &= ascii;
        }
        self.at = self.chunk.len();
        None
    }

    /// The next complete line. With `skipping` (the event is being skipped), a line
    /// that does not end in this chunk is dropped instead of buffered, and lines
    /// over the limit are not reported: a partial line is never blank, so it cannot
    /// end the skipping.
    #[inline]
    pub(super) fn next(&mut self, skipping: bool) -> Next<'_> {
        loop {
            if self.at >= self.chunk.len() {
                self.chunk_offset += self.chunk.len() as u64;
                self.at = 0;
                match self.queued.pop_front() {
                    Some(next) => {
                        self.chunk = next;
                        continue;
                    }
                    None => {
                        // Let go of the caller's memory as soon as it is decoded.
                        self.chunk = Bytes::new();
                        return Next::NeedMore;
                    }
                }
            }
            if self.cr_pending {
                self.cr_pending = false;
                if self.chunk[self.at] == b'\n' {
                    self.at += 1;
                    continue;
                }
            }
            let rest = &self.chunk[self.at..];
            let (found, ascii) = find_break(rest);
            let Some(len) = found else {
                // The line goes on in a later chunk.
                if let Some(offset) = self.hold(skipping, ascii) {
                    return Next::TooLong { offset };
                }
                continue;
            };

            let start = self.at;
            let end = start + len;
            // Consume the line end: CRLF, LF, or CR (with an LF maybe in the next chunk).
            self.at = end + 1;
            if self.chunk[end] == b'\r' {
                match self.chunk.get(end + 1) {
                    Some(b'\n') => self.at += 1,
                    Some(_) => {}
                    None => self.cr_pending = true,
                }
            }

            if self.skip_line {
                self.skip_line = false;
                self.first_line = false;
                continue;
            }

            let (joined, start, end, ascii, offset) = if self.partial.is_empty() {
                let offset = self.chunk_offset + start as u64;
                if len > self.max_line && !skipping {
                    self.first_line = false;
                    return Next::TooLong { offset };
                }
                (None, start, end, ascii, offset)
            } else {
                let offset = self.partial_offset;
                let total = self.partial.len() + len;
                if total > self.max_line && !skipping {
                    self.partial = BytesMut::new();
                    self.first_line = false;
                    return Next::TooLong { offset };
                }
                self.partial.extend_from_slice(&self.chunk[start..end]);
                self.partial_hint = total;
                // The whole buffer goes with the line (copied out if it is much
                // larger than the line): the next partial line gets a new one.
                let line = text::freeze(std::mem::take(&mut self.partial));
                (Some(line), 0, total, self.partial_ascii && ascii, offset)
            };
            let mut start = start;
            if self.first_line {
                self.first_line = false;
                let bytes = match &joined {
                    Some(line) => &line[start..end],
                    None => &self.chunk[start..end],
                };
                if bytes.starts_with(BOM) {
                    start += BOM.len();
                }
            }
            let src = match joined {
                Some(line) => Src::Joined(line),
                None => Src::Chunk(&self.chunk),
            };
            return Next::Line(Line {
                src,
                start,
                end,
                ascii,
                offset,
            });
        }
    }
}
