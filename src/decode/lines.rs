//! Line splitting: the chunks fed to the decoder in, complete lines out.
//!
//! A line ends at CRLF, LF or a lone CR; a CR that ends a chunk is held until the
//! next byte shows whether an LF follows. A line that lies within one chunk is lent
//! as a range of that chunk (no copy); a line that spans chunks is assembled in a
//! `String` of its own, each piece checked as UTF-8 as it is appended, which goes
//! with the line (it is never reused for a later line, so a kept event never shares
//! memory with a later one): its values are text that needs no further check. One byte order mark is
//! removed from the start of the first line. Lines longer than the limit are
//! reported once and skipped without being buffered.

use std::collections::VecDeque;

use bytes::Bytes;

use super::text::{self, Label, Text};
use crate::scan::find_line_break_ascii;

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// Position of the first CR or LF in `s`, and whether the bytes before it (all of `s`
/// when there is none) are known to be ASCII (`false`: not known, checked later).
/// Short lines are found by the block scan of `scan.rs`, which tells both at once;
/// with feature `memchr`, a line longer than [`SHORT`] is searched with `memchr2`
/// (AVX2 where the CPU has it) and not checked for ASCII: its text is checked as
/// UTF-8 later, once (a pass of its own for ASCII would only come on top).
#[inline]
fn find_break(s: &[u8]) -> (Option<usize>, bool) {
    // A blank line (the end of every event) costs one compare.
    if s.first() == Some(&b'\n') {
        return (Some(0), true);
    }
    #[cfg(feature = "memchr")]
    if s.len() > SHORT {
        let (found, ascii) = find_line_break_ascii(&s[..SHORT]);
        if found.is_some() {
            return (found, ascii);
        }
        let found = memchr::memchr2(b'\n', b'\r', &s[SHORT..]).map(|i| SHORT + i);
        return (found, false);
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
    /// Whether the line is known to be ASCII (`false`: not known).
    pub(super) ascii: bool,
    /// Stream offset of the line's first byte.
    pub(super) offset: u64,
}

/// Where a line's bytes are.
enum Src<'a> {
    /// In the chunk being decoded (lent: no copy, no reference count), or in a
    /// buffer of its own when the line arrived in several chunks and is not valid
    /// UTF-8 (its values are then decoded as those of a chunk, and the limits count
    /// the bytes as they arrived, whatever the chunks).
    Chunk(&'a Bytes),
    /// In a `String` of its own, valid UTF-8: the line arrived in several chunks.
    /// `end` is its length. Lent (`Lines::joined`), so that a line stays two words
    /// whatever its source; a value takes the `String` over.
    Joined(&'a mut String),
}

/// A value cut from a [`Line`]: a slice of the chunk, or assembled text.
pub(super) enum Value {
    /// A slice of the chunk (see [`text::cut`]), not checked as UTF-8 yet.
    Slice { bytes: Bytes, ascii: bool },
    /// `text[start..]`: text of a line that spans chunks, valid UTF-8 already.
    Owned { text: String, start: usize },
}

impl Value {
    #[inline]
    pub(super) fn as_bytes(&self) -> &[u8] {
        match self {
            Value::Slice { bytes, .. } => bytes,
            Value::Owned { text, start } => text.as_bytes().get(*start..).unwrap_or_default(),
        }
    }

    /// As text: a slice is checked now (invalid UTF-8 becomes U+FFFD).
    #[inline]
    pub(super) fn into_text(self) -> Text {
        match self {
            Value::Slice { bytes, ascii } => Text::from_checked(bytes, ascii),
            Value::Owned { text, start } => Text::owned(text, start),
        }
    }
}

impl Line<'_> {
    /// The line's bytes.
    #[inline]
    pub(super) fn bytes(&self) -> &[u8] {
        match &self.src {
            Src::Chunk(chunk) => &chunk[self.start..self.end],
            Src::Joined(line) => &line.as_bytes()[self.start..self.end],
        }
    }

    /// The rest of the line from `at` (an index into [`Line::bytes`], after an ASCII
    /// byte) as a value: a slice of the chunk or the line's own text, either kept
    /// only as far as [`text::may_share`] allows.
    #[inline]
    pub(super) fn into_value(self, at: usize) -> Value {
        match self.src {
            Src::Chunk(chunk) => Value::Slice {
                bytes: text::cut(chunk, self.start + at, self.end),
                ascii: self.ascii,
            },
            Src::Joined(line) => Value::Owned {
                text: std::mem::take(line),
                start: self.start + at,
            },
        }
    }

    /// The rest of the line from `at` (as in [`Line::into_value`]) as a label.
    #[inline]
    pub(super) fn into_label(self, at: usize) -> Label {
        match self.src {
            Src::Chunk(chunk) => Label::new(chunk, self.start + at, self.end, self.ascii),
            Src::Joined(line) => Label::from_owned(std::mem::take(line), self.start + at),
        }
    }
}

/// The start of a line whose end has not arrived yet.
#[derive(Default)]
struct Partial {
    /// The line so far while it is valid UTF-8: each piece was checked as it was
    /// appended (while it is in cache), so the finished line needs no further check.
    text: String,
    /// The line so far once a piece was not valid UTF-8 on its own (a character cut
    /// by a chunk boundary, or invalid bytes; `text` is then empty): the whole line
    /// is checked when it is complete.
    raw: Vec<u8>,
}

impl Partial {
    #[inline]
    fn len(&self) -> usize {
        self.text.len() + self.raw.len()
    }

    #[inline]
    fn is_empty(&self) -> bool {
        self.text.is_empty() && self.raw.is_empty()
    }

    /// The line's first byte so far.
    fn first(&self) -> Option<u8> {
        self.text.as_bytes().first().or(self.raw.first()).copied()
    }

    fn push(&mut self, piece: &[u8]) {
        if !self.raw.is_empty() {
            self.raw.extend_from_slice(piece);
            return;
        }
        match text::utf8(piece) {
            Some(piece) => self.text.push_str(piece),
            None => {
                // `piece` is not empty (the empty text is valid): `raw` is now in use.
                self.raw = std::mem::take(&mut self.text).into_bytes();
                self.raw.extend_from_slice(piece);
            }
        }
    }

    /// The complete line: as text when it is valid UTF-8, else as bytes (frozen
    /// with [`text::freeze_vec`]). The buffer goes with it and the next line starts a
    /// new one.
    fn finish(&mut self) -> Result<String, Bytes> {
        if self.raw.is_empty() {
            return Ok(std::mem::take(&mut self.text));
        }
        String::from_utf8(std::mem::take(&mut self.raw))
            .map_err(|e| text::freeze_vec(e.into_bytes()))
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
    partial: Partial,
    /// The last line that arrived in several chunks, lent as [`Src::Joined`] when it
    /// is valid UTF-8 (a value takes it over), else as a [`Src::Chunk`] from
    /// `invalid`. Both are let go of by the next call to [`Lines::next`].
    joined: String,
    invalid: Bytes,
    /// `joined` or `invalid` holds a line lent by the last call.
    lent_joined: bool,
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
            partial: Partial::default(),
            joined: String::new(),
            invalid: Bytes::new(),
            lent_joined: false,
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

    #[cold]
    fn release_joined(&mut self) {
        self.joined = String::new();
        self.invalid = Bytes::new();
        self.lent_joined = false;
    }

    /// Whether the line that starts at `at` (or in `partial`) is kept while an event
    /// is skipped: an `id` or `retry` field, which the parser still applies.
    fn kept_while_skipping(&self) -> bool {
        let first = match self.partial.first() {
            Some(b) => b,
            None => self.chunk.get(self.at).copied().unwrap_or(0),
        };
        matches!(first, b'i' | b'r')
    }

    /// Keeps the rest of the chunk, the start of a line that goes on in a later chunk,
    /// or drops it (`skipping`, or over the limit: then returns the line's offset).
    /// Out of line: once per chunk at most, and it keeps [`Lines::next`] small.
    #[cold]
    fn hold(&mut self, skipping: bool) -> Option<u64> {
        let rest = &self.chunk[self.at..];
        let n = rest.len();
        if self.skip_line {
            // Already being dropped.
        } else if skipping && !self.kept_while_skipping() {
            self.skip_line = true;
        } else if self.partial.len() + n > self.max_line {
            if skipping {
                // Not reported: the event is being skipped already.
                self.partial = Partial::default();
                self.skip_line = true;
                self.at = self.chunk.len();
                return None;
            }
            let offset = if self.partial.is_empty() {
                self.chunk_offset + self.at as u64
            } else {
                self.partial_offset
            };
            self.partial = Partial::default();
            self.skip_line = true;
            self.at = self.chunk.len();
            return Some(offset);
        } else {
            if self.partial.is_empty() {
                self.partial_offset = self.chunk_offset + self.at as u64;
                // With nothing in the buffer yet, this is free of copies.
                self.partial.text.reserve(n.max(self.partial_hint));
            }
            self.partial.push(rest);
        }
        self.at = self.chunk.len();
        None
    }

    /// The next complete line. With `skipping` (the event is being skipped), a line
    /// that does not end in this chunk is dropped instead of buffered (unless it is an
    /// `id` or `retry` line, which the parser still applies), and lines over the limit
    /// are dropped unreported, whatever the chunks: a partial line is never blank, so
    /// it cannot end the skipping.
    #[inline]
    pub(super) fn next(&mut self, skipping: bool) -> Next<'_> {
        // The line lent by the previous call, if no value took it (a comment, an
        // unknown field, a `retry`): let go of it now rather than with the chunk, as
        // it can be as long as the line limit.
        if self.lent_joined {
            self.release_joined();
        }
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
                if let Some(offset) = self.hold(skipping) {
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

            let (src, mut start, end, ascii, offset) = if self.partial.is_empty() {
                let offset = self.chunk_offset + start as u64;
                if len > self.max_line {
                    self.first_line = false;
                    if skipping {
                        // Dropped unreported, as when it spans chunks (see `hold`).
                        continue;
                    }
                    return Next::TooLong { offset };
                }
                (Src::Chunk(&self.chunk), start, end, ascii, offset)
            } else {
                let offset = self.partial_offset;
                let total = self.partial.len() + len;
                if total > self.max_line {
                    self.partial = Partial::default();
                    self.first_line = false;
                    if skipping {
                        continue;
                    }
                    return Next::TooLong { offset };
                }
                self.partial.push(&self.chunk[start..end]);
                self.partial_hint = total;
                // The whole buffer goes with the line (a value keeps it only as far
                // as `text::may_share` allows): the next partial line gets a new one.
                match self.partial.finish() {
                    Ok(line) => {
                        self.joined = line;
                        self.lent_joined = true;
                        (Src::Joined(&mut self.joined), 0, total, false, offset)
                    }
                    Err(line) => {
                        self.invalid = line;
                        self.lent_joined = true;
                        (Src::Chunk(&self.invalid), 0, total, false, offset)
                    }
                }
            };
            if self.first_line {
                self.first_line = false;
                let bytes = match &src {
                    Src::Chunk(chunk) => &chunk[start..end],
                    Src::Joined(line) => &line.as_bytes()[start..end],
                };
                if bytes.starts_with(BOM) {
                    start += BOM.len();
                }
            }
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
