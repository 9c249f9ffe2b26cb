//! The body of an event: its `data:` and `:` lines, in one buffer that keeps room in
//! front for the header, so that encoding writes the header there instead of copying
//! the lines.

use bytes::{Buf, Bytes};

use crate::scan::{count_line_breaks, find_line_break, has_line_break, split_line};
use crate::wire::Sink;

/// Whether a `data:` line is open for a [`DataWriter`](crate::DataWriter).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum OpenLine {
    #[default]
    None,
    Data,
    /// A data line is open and the text written so far ended with CR: an LF that
    /// comes next belongs to the same line break.
    DataAfterCr,
}

/// Data and comment lines after `headroom` bytes kept free for the header.
#[derive(Default)]
pub(crate) struct Lines {
    /// `headroom` placeholder bytes, then the lines.
    buf: Vec<u8>,
    headroom: usize,
    open: OpenLine,
    has_data: bool,
}

/// A copy with room for what encoding adds (the open line's end, the blank line), so
/// that a clone is encoded in place like the original. `Vec::clone` sizes the copy
/// exactly: encoding it would grow it again and leave spare capacity, which costs
/// the `Bytes` made from it one more allocation.
impl Clone for Lines {
    fn clone(&self) -> Self {
        let buf = if self.is_allocated() {
            let closing = usize::from(self.open != OpenLine::None) + 1;
            let mut buf = Vec::with_capacity(self.buf.len() + closing);
            buf.extend_from_slice(&self.buf);
            buf
        } else {
            Vec::new()
        };
        Lines {
            buf,
            headroom: self.headroom,
            open: self.open,
            has_data: self.has_data,
        }
    }
}

impl Lines {
    /// Whether the buffer was allocated (the headroom is then fixed).
    #[inline(always)]
    pub(crate) fn is_allocated(&self) -> bool {
        self.buf.capacity() > 0
    }

    /// Sets the headroom the first allocation keeps in front of the lines. Does
    /// nothing once the buffer is allocated.
    #[inline(always)]
    pub(crate) fn plan_headroom(&mut self, headroom: usize) {
        if !self.is_allocated() {
            self.headroom = headroom;
        }
    }

    /// Whether data was added.
    #[inline]
    pub(crate) fn has_data(&self) -> bool {
        self.has_data
    }

    /// The lines written so far (a data line still open for a writer lacks its `\n`).
    #[inline]
    pub(crate) fn body(&self) -> &[u8] {
        self.buf.get(self.headroom..).unwrap_or_default()
    }

    /// The number of bytes [`Lines::write_to`] writes.
    #[inline]
    pub(crate) fn encoded_len(&self) -> usize {
        self.body().len() + usize::from(self.open != OpenLine::None)
    }

    /// Writes the lines, the open one closed.
    #[inline]
    pub(crate) fn write_to<S: Sink>(&self, sink: &mut S) {
        sink.put(self.body());
        if self.open != OpenLine::None {
            sink.put(b"\n");
        }
    }

    /// The whole event in this buffer, without a copy: closes the open line, adds
    /// the blank line if `blank`, and has `write_header` fill the last `header_len`
    /// bytes of the headroom. `None` (with nothing changed) when the header does not
    /// fit in the headroom or nothing was allocated.
    #[inline(always)]
    pub(crate) fn take_with_header(
        &mut self,
        header_len: usize,
        blank: bool,
        write_header: impl FnOnce(&mut [u8]),
    ) -> Option<Bytes> {
        if !self.is_allocated() || header_len > self.headroom {
            return None;
        }
        self.close_open_line();
        if blank {
            self.buf.push(b'\n');
        }
        let start = self.headroom - header_len;
        write_header(&mut self.buf[start..self.headroom]);
        let mut bytes = Bytes::from(std::mem::take(&mut self.buf));
        bytes.advance(start);
        Some(bytes)
    }

    /// Makes room for `additional` more line bytes plus the final blank line; the
    /// first allocation also makes the headroom.
    #[inline(always)]
    fn reserve(&mut self, additional: usize) {
        if self.is_allocated() {
            self.buf.reserve(additional + 1);
        } else {
            self.buf = Vec::with_capacity(self.headroom + additional + 1);
            self.buf.resize(self.headroom, 0);
        }
    }

    #[inline(always)]
    pub(crate) fn close_open_line(&mut self) {
        if self.open != OpenLine::None {
            self.buf.push(b'\n');
            self.open = OpenLine::None;
        }
    }

    /// Adds one piece of data: one `data: ` line per line of it.
    #[inline(always)]
    pub(crate) fn push_data(&mut self, data: &[u8]) {
        self.close_open_line();
        if has_line_break(data) {
            self.push_data_lines(data);
        } else {
            // Most data is one line: one fast test, one copy.
            self.reserve(b"data: \n".len() + data.len());
            self.buf.extend_from_slice(b"data: ");
            self.buf.extend_from_slice(data);
            self.buf.push(b'\n');
        }
        self.has_data = true;
    }

    /// [`Lines::push_data`] for data with line breaks: finds the breaks once,
    /// reserves exactly, then copies line by line.
    #[inline(never)]
    fn push_data_lines(&mut self, data: &[u8]) {
        // Line breaks (where each starts, where the next line starts) remembered
        // from the first pass, up to `KEPT` of them.
        const KEPT: usize = 16;
        let mut breaks = [(0usize, 0usize); KEPT];
        let mut kept = 0;
        let mut break_bytes = 0;
        let mut pos = 0;
        while let Some(i) = find_line_break(&data[pos..]) {
            if kept == KEPT {
                return self.push_data_many_lines(data);
            }
            let at = pos + i;
            let crlf = data[at] == b'\r' && data.get(at + 1) == Some(&b'\n');
            pos = at + 1 + usize::from(crlf);
            breaks[kept] = (at, pos);
            kept += 1;
            break_bytes += pos - at;
        }
        // Every line becomes `data: ` + line + `\n`.
        let lines = kept + 1;
        self.reserve(data.len() - break_bytes + lines * b"data: \n".len());
        let mut start = 0;
        self.buf.extend_from_slice(b"data: ");
        for &(at, next) in &breaks[..kept] {
            self.buf.extend_from_slice(&data[start..at]);
            self.buf.extend_from_slice(b"\ndata: ");
            start = next;
        }
        self.buf.extend_from_slice(&data[start..]);
        self.buf.push(b'\n');
    }

    /// [`Lines::push_data_lines`] for data with more lines than it remembers:
    /// counts the breaks, then splits while copying.
    #[cold]
    fn push_data_many_lines(&mut self, data: &[u8]) {
        let count = count_line_breaks(data);
        // Exact unless the data holds CRLF pairs (counted twice): every line break
        // becomes `\ndata: `, six bytes more than the break itself.
        self.reserve(data.len() + b"data: \n".len() + count * b"data: ".len());
        self.buf.extend_from_slice(b"data: ");
        self.write_data_text(data, false);
        self.buf.push(b'\n');
    }

    /// Opens a `data:` line for a [`DataWriter`](crate::DataWriter).
    pub(crate) fn open_data_line(&mut self) {
        self.close_open_line();
        // Room for a short line and its end; longer text grows the buffer.
        self.reserve(64 + 1);
        self.buf.extend_from_slice(b"data: ");
        self.open = OpenLine::Data;
        self.has_data = true;
    }

    /// Writes text into the open `data:` line of a [`DataWriter`](crate::DataWriter).
    pub(crate) fn write_open_data(&mut self, text: &[u8]) {
        let mut text = text;
        if self.open == OpenLine::DataAfterCr && !text.is_empty() {
            if let Some(rest) = text.strip_prefix(b"\n") {
                text = rest;
            }
            self.open = OpenLine::Data;
        }
        if text.is_empty() {
            return;
        }
        self.buf.reserve(text.len() + 2);
        let ended_with_cr = self.write_data_text(text, true);
        self.open = if ended_with_cr {
            OpenLine::DataAfterCr
        } else {
            OpenLine::Data
        };
    }

    /// Writes `text` into the open data line, starting a new `data: ` line at every
    /// line break. Returns whether `text` ended with a CR (which may pair with an LF
    /// in the next piece when `streaming`).
    #[inline(never)]
    fn write_data_text(&mut self, text: &[u8], streaming: bool) -> bool {
        let mut rest = text;
        loop {
            let (line, next) = split_line(rest);
            self.buf.extend_from_slice(line);
            let Some(next) = next else {
                return false;
            };
            self.buf.extend_from_slice(b"\ndata: ");
            // A CR that ends this piece may pair with an LF that starts the next.
            if streaming && next.is_empty() && rest.ends_with(b"\r") {
                return true;
            }
            rest = next;
        }
    }

    /// Adds a comment: one `:` line per line of `text`.
    pub(crate) fn push_comment(&mut self, text: &[u8]) {
        self.close_open_line();
        let breaks = count_line_breaks(text);
        self.reserve(text.len() + b": \n".len() + breaks * b": ".len());
        let mut rest = text;
        loop {
            let (line, next) = split_line(rest);
            if line.is_empty() {
                self.buf.extend_from_slice(b":\n");
            } else {
                self.buf.extend_from_slice(b": ");
                self.buf.extend_from_slice(line);
                self.buf.extend_from_slice(b"\n");
            }
            match next {
                Some(next) => rest = next,
                None => break,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The data lines a spec parser reads back, split the slow, obvious way.
    fn expected_data_lines(data: &str) -> String {
        let normalized = data.replace("\r\n", "\n").replace('\r', "\n");
        normalized
            .split('\n')
            .map(|line| format!("data: {line}\n"))
            .collect()
    }

    #[test]
    fn multi_line_data_is_exact_around_the_remembered_break_limit() {
        // The encoder remembers up to 16 breaks from its first pass and takes
        // another path beyond: check both sides of that limit, every kind of break,
        // and short and empty lines, against a naive splitter.
        for lines in 0..40 {
            for (k, brk) in ["\n", "\r", "\r\n"].iter().enumerate() {
                let data: String = (0..lines)
                    .map(|i| format!("l{}{}", "x".repeat((i * 7 + k) % 5), brk))
                    .collect::<String>()
                    + "end";
                let mut body = Lines::default();
                body.plan_headroom(3);
                body.push_data(data.as_bytes());
                let expected = expected_data_lines(&data);
                assert_eq!(body.encoded_len(), expected.len());
                let bytes = body.take_with_header(3, true, |h| h.copy_from_slice(b"h:\n"));
                let expected = format!("h:\n{expected}\n");
                assert_eq!(
                    std::str::from_utf8(&bytes.unwrap()).unwrap(),
                    expected,
                    "{lines} lines of {brk:?}"
                );
            }
        }
    }

    #[test]
    fn a_header_larger_than_the_headroom_is_refused_untouched() {
        let mut body = Lines::default();
        body.plan_headroom(2);
        body.push_data(b"x");
        assert!(body.take_with_header(3, true, |_| unreachable!()).is_none());
        assert_eq!(body.body(), b"data: x\n");
        let bytes = body.take_with_header(1, false, |h| h.copy_from_slice(b":"));
        assert_eq!(&bytes.unwrap()[..], b":data: x\n");
    }
}
