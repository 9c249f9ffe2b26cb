//! The event model: a builder that can only produce valid events.

use std::fmt;
use std::time::Duration;

use bytes::{Buf, Bytes, BytesMut};

use crate::encoded::EncodedEvent;
use crate::error::{EventError, Field};
use crate::fields::{EventId, EventType};
use crate::scan::{count_line_breaks, find_line_break, has_line_break, split_line};
use crate::wire::{push_decimal, u128_len, u64_len, write_u128, Sink, SliceSink};

/// Whether a `data:` line is open for a [`DataWriter`](crate::DataWriter).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) enum OpenLine {
    #[default]
    None,
    Data,
    /// A data line is open and the text written so far ended with CR: an LF that
    /// comes next belongs to the same line break.
    DataAfterCr,
}

/// One server-sent event, valid by construction.
///
/// Build it with a chain of setters and encode it with [`Event::encode`] (one
/// `Bytes`, one allocation) or [`Event::encode_to`] (into your own buffer):
///
/// ```
/// use std::time::Duration;
/// use ssewire::{Event, EventType};
///
/// const UPDATE: EventType = EventType::from_static("update");
///
/// let event = Event::new()
///     .event(UPDATE)
///     .id(7u64)
///     .retry(Duration::from_secs(3))
///     .data("first line\nsecond line");
///
/// assert_eq!(
///     event.encode().as_ref(),
///     b"event: update\nid: 7\nretry: 3000\ndata: first line\ndata: second line\n\n"
/// );
/// ```
///
/// # What each setter does
///
/// | setter | wire | set twice |
/// |---|---|---|
/// | [`data`](Event::data), [`try_data`](Event::try_data), [`data_writer`](Event::data_writer) | one `data: ` line per line of text | appends: the client joins the pieces with `\n` |
/// | [`comment`](Event::comment) | one `: ` line per line of text | appends |
/// | [`event`](Event::event), [`try_event`](Event::try_event) | `event: ` | the last value wins |
/// | [`id`](Event::id), [`try_id`](Event::try_id) | `id: ` | the last value wins |
/// | [`retry`](Event::retry) | `retry: ` (whole milliseconds) | the last value wins |
///
/// The wire order is `event`, `id`, `retry`, then comments and data lines in the order
/// they were added. Data is split at every CRLF, CR and LF, so a client reads CR and
/// CRLF back as LF. Empty data still writes one `data: ` line (browsers deliver it as
/// an event with empty data), and an event with no data at all is not delivered to
/// page listeners by browsers, though its `id` and `retry` still take effect.
///
/// Setting `event`, `id` and `retry` before a single piece of data lets
/// [`Event::encode`] write the whole event into the buffer the data was copied into:
/// one allocation per event. Several pieces of data, comments, or data with CRLF may
/// cost one or two more.
#[derive(Clone, Default)]
#[must_use = "an Event does nothing until it is encoded or sent"]
pub struct Event {
    event_type: Option<EventType>,
    id: Option<EventId>,
    retry: Option<Duration>,
    /// `data:` and `:` lines, after `headroom` bytes kept free for the header fields.
    lines: Vec<u8>,
    headroom: usize,
    /// The event this one was made from with `From<EncodedEvent>`, if any.
    encoded: Bytes,
    open: OpenLine,
    has_data: bool,
    /// The header fields were written into the headroom when `lines` was allocated
    /// and have not been set since, so `encode` has nothing left to write there.
    header_written: bool,
}

impl Event {
    /// An empty event. Same as `Event::default()`.
    ///
    /// ```
    /// // An event without fields is a lone blank line.
    /// assert_eq!(ssewire::Event::new().encode().as_ref(), b"\n");
    /// ```
    #[inline]
    pub fn new() -> Self {
        Event::default()
    }

    /// Shorthand for `Event::new().data(data)`.
    ///
    /// ```
    /// assert_eq!(ssewire::Event::with_data("hi").encode().as_ref(), b"data: hi\n\n");
    /// ```
    pub fn with_data(data: impl AsRef<str>) -> Self {
        Event::new().data(data)
    }

    /// Sets the event type (`event:`). The last value set wins.
    ///
    /// ```
    /// use ssewire::{Event, EventType};
    /// const PING: EventType = EventType::from_static("ping");
    /// assert_eq!(Event::new().event(PING).encode().as_ref(), b"event: ping\n\n");
    /// ```
    #[inline]
    pub fn event(mut self, event_type: EventType) -> Self {
        self.event_type = Some(event_type);
        self.header_written = false;
        self
    }

    /// Checks `event_type` and sets it (`event:`). A `String` is taken without copying.
    ///
    /// # Errors
    ///
    /// [`EventError::ForbiddenChar`] with [`Field::Event`] if it contains CR or LF.
    ///
    /// ```
    /// let event = ssewire::Event::new().try_event("joined")?.data("ann");
    /// assert_eq!(event.encode().as_ref(), b"event: joined\ndata: ann\n\n");
    /// # Ok::<(), ssewire::EventError>(())
    /// ```
    pub fn try_event(self, event_type: impl Into<String>) -> Result<Self, EventError> {
        Ok(self.event(EventType::new(event_type)?))
    }

    /// Sets the id (`id:`) from a number or an [`EventId`]. The last value set wins.
    ///
    /// ```
    /// assert_eq!(ssewire::Event::new().id(5u32).data("x").encode().as_ref(), b"id: 5\ndata: x\n\n");
    /// ```
    #[inline]
    pub fn id(mut self, id: impl Into<EventId>) -> Self {
        self.id = Some(id.into());
        self.header_written = false;
        self
    }

    /// Checks `id` and sets it (`id:`). A `String` is taken without copying; an empty
    /// string resets the client's last event id.
    ///
    /// # Errors
    ///
    /// [`EventError::ForbiddenChar`] with [`Field::Id`] if it contains CR, LF or NUL.
    ///
    /// ```
    /// let event = ssewire::Event::new().try_id("a1")?.data("x");
    /// assert_eq!(event.encode().as_ref(), b"id: a1\ndata: x\n\n");
    /// # Ok::<(), ssewire::EventError>(())
    /// ```
    pub fn try_id(self, id: impl Into<String>) -> Result<Self, EventError> {
        Ok(self.id(EventId::new(id)?))
    }

    /// Sets the client's reconnection delay (`retry:`), written in whole milliseconds
    /// (sub-millisecond parts are dropped). The last value set wins.
    ///
    /// ```
    /// use std::time::Duration;
    /// let event = ssewire::Event::new().retry(Duration::from_millis(2500));
    /// assert_eq!(event.encode().as_ref(), b"retry: 2500\n\n");
    /// ```
    #[inline]
    pub fn retry(mut self, retry: Duration) -> Self {
        self.retry = Some(retry);
        self.header_written = false;
        self
    }

    /// Adds data (`data:`): one `data: ` line per line of `data`, split at CRLF, CR
    /// and LF. Calling it again adds more lines, which the client joins with `\n`.
    ///
    /// ```
    /// let event = ssewire::Event::new().data("a\r\nb").data("");
    /// assert_eq!(event.encode().as_ref(), b"data: a\ndata: b\ndata: \n\n");
    /// ```
    #[inline(always)]
    pub fn data(mut self, data: impl AsRef<str>) -> Self {
        self.push_data(data.as_ref().as_bytes());
        self
    }

    /// Adds data given as bytes (for example a `Bytes` from a network read), after
    /// checking that it is UTF-8. See [`Event::data`].
    ///
    /// # Errors
    ///
    /// [`EventError::InvalidUtf8`] with [`Field::Data`] and the offset of the first
    /// invalid byte; the event is dropped with nothing added to it.
    ///
    /// ```
    /// use bytes::Bytes;
    /// let event = ssewire::Event::new().try_data(Bytes::from_static(b"caf\xc3\xa9"))?;
    /// assert_eq!(event.encode().as_ref(), "data: café\n\n".as_bytes());
    ///
    /// let err = ssewire::Event::new().try_data(b"ok\xff").unwrap_err();
    /// assert_eq!(err.offset(), 2);
    /// # Ok::<(), ssewire::EventError>(())
    /// ```
    pub fn try_data(mut self, data: impl AsRef<[u8]>) -> Result<Self, EventError> {
        let data = data.as_ref();
        std::str::from_utf8(data).map_err(|e| EventError::utf8(Field::Data, e))?;
        self.push_data(data);
        Ok(self)
    }

    /// Adds a comment: one `: ` line per line of `text`. Clients ignore comments; they
    /// are useful as keep-alives and for debugging.
    ///
    /// ```
    /// let event = ssewire::Event::new().comment("two\nlines");
    /// assert_eq!(event.encode().as_ref(), b": two\n: lines\n\n");
    /// ```
    pub fn comment(mut self, text: impl AsRef<str>) -> Self {
        self.push_comment(text.as_ref().as_bytes());
        self
    }

    /// The event type, if set.
    ///
    /// ```
    /// use ssewire::{Event, EventType};
    /// let event = Event::new().event(EventType::from_static("a"));
    /// assert_eq!(event.event_type().map(EventType::as_str), Some("a"));
    /// ```
    pub fn event_type(&self) -> Option<&EventType> {
        self.event_type.as_ref()
    }

    /// The id, if set.
    ///
    /// ```
    /// assert_eq!(ssewire::Event::new().id(3u8).event_id().and_then(|id| id.as_u64()), Some(3));
    /// ```
    pub fn event_id(&self) -> Option<&EventId> {
        self.id.as_ref()
    }

    /// The reconnection delay, if set.
    ///
    /// ```
    /// use std::time::Duration;
    /// let event = ssewire::Event::new().retry(Duration::from_secs(1));
    /// assert_eq!(event.retry_duration(), Some(Duration::from_secs(1)));
    /// ```
    pub fn retry_duration(&self) -> Option<Duration> {
        self.retry
    }

    /// Whether data was added (an event without data is not delivered to page
    /// listeners by browsers). For an event made from an [`EncodedEvent`] this, like
    /// [`event_type`](Event::event_type) and [`event_id`](Event::event_id), sees only
    /// what was set afterwards, not the encoded lines.
    ///
    /// ```
    /// assert!(ssewire::Event::with_data("").has_data());
    /// assert!(!ssewire::Event::new().comment("x").has_data());
    /// ```
    pub fn has_data(&self) -> bool {
        self.has_data
    }

    /// The exact number of bytes [`Event::encode_to`] writes.
    ///
    /// ```
    /// let event = ssewire::Event::with_data("abc");
    /// assert_eq!(event.encoded_len(), b"data: abc\n\n".len());
    /// ```
    pub fn encoded_len(&self) -> usize {
        if self.header_written && self.encoded.is_empty() {
            // The header is in place in front of the lines (see `encode_to`).
            return self.lines.len() + 1 + usize::from(self.open != OpenLine::None);
        }
        if self.is_plain_encoded() {
            return self.encoded.len();
        }
        self.encoded.len().saturating_sub(1)
            + self.header_len()
            + self.body().len()
            + usize::from(self.open != OpenLine::None)
            + 1
    }

    /// Appends the encoded event to `buf`. With a reused buffer this allocates nothing
    /// once the buffer has grown to fit; it never fails, because an `Event` is valid
    /// by construction.
    ///
    /// ```
    /// use bytes::BytesMut;
    /// let mut buf = BytesMut::with_capacity(1024);
    /// ssewire::Event::with_data("one").encode_to(&mut buf);
    /// ssewire::Event::with_data("two").encode_to(&mut buf);
    /// assert_eq!(&buf[..], b"data: one\n\ndata: two\n\n");
    /// ```
    #[inline]
    pub fn encode_to(&self, buf: &mut BytesMut) {
        if self.is_plain_encoded() {
            buf.extend_from_slice(&self.encoded);
            return;
        }
        if self.header_written && self.encoded.is_empty() {
            // The header is in place in front of the lines: one copy.
            let open = self.open != OpenLine::None;
            buf.reserve(self.lines.len() + 1 + usize::from(open));
            buf.extend_from_slice(&self.lines);
            if open {
                buf.extend_from_slice(b"\n");
            }
            buf.extend_from_slice(b"\n");
            return;
        }
        buf.reserve(self.encoded_len());
        self.write_all(buf);
    }

    /// Encodes the event into one shareable [`EncodedEvent`].
    ///
    /// When `event`, `id` and `retry` were set before one piece of data, this reuses
    /// the buffer the data was written into, so building and encoding the event costs a
    /// single allocation; otherwise it allocates once more, for the exact size.
    ///
    /// ```
    /// let bytes = ssewire::Event::with_data("hello").encode().into_bytes();
    /// assert_eq!(&bytes[..], b"data: hello\n\n");
    /// ```
    #[inline(always)]
    pub fn encode(mut self) -> EncodedEvent {
        // Inlined, so that a builder chain ending here works on one place in the
        // caller's frame instead of moving the event from call to call.
        self.take_encoded()
    }

    // ---- internals -------------------------------------------------------------

    /// The work of [`Event::encode`]; the event is dropped right after.
    #[inline(always)]
    fn take_encoded(&mut self) -> EncodedEvent {
        if self.is_plain_encoded() {
            return EncodedEvent::new_unchecked(std::mem::take(&mut self.encoded));
        }
        if self.encoded.is_empty() && self.lines.capacity() > 0 {
            self.close_open_line();
            if self.header_written {
                // The common case: the header is in place, only the blank line is left.
                self.lines.push(b'\n');
                return EncodedEvent::new_unchecked(Bytes::from(std::mem::take(&mut self.lines)));
            }
            let header_len = self.header_len();
            if header_len <= self.headroom {
                let mut lines = std::mem::take(&mut self.lines);
                lines.extend_from_slice(b"\n");
                let start = self.headroom - header_len;
                let mut sink = SliceSink::new(&mut lines[start..self.headroom]);
                self.write_headers(&mut sink);
                debug_assert!(sink.is_full());
                let mut bytes = Bytes::from(lines);
                bytes.advance(start);
                return EncodedEvent::new_unchecked(bytes);
            }
        }
        let mut buf = BytesMut::with_capacity(self.encoded_len());
        self.write_all(&mut buf);
        EncodedEvent::new_unchecked(buf.freeze())
    }

    pub(crate) fn from_encoded(encoded: EncodedEvent) -> Self {
        Event {
            encoded: encoded.into_bytes(),
            ..Event::default()
        }
    }

    /// An event made from encoded bytes and not changed since.
    fn is_plain_encoded(&self) -> bool {
        !self.encoded.is_empty()
            && self.event_type.is_none()
            && self.id.is_none()
            && self.retry.is_none()
            && self.body().is_empty()
            && self.open == OpenLine::None
    }

    fn body(&self) -> &[u8] {
        self.lines.get(self.headroom..).unwrap_or_default()
    }

    #[inline]
    fn header_len(&self) -> usize {
        let mut len = 0;
        if let Some(t) = &self.event_type {
            len += b"event: \n".len() + t.encoded_len();
        }
        if let Some(id) = &self.id {
            len += b"id: \n".len() + id.encoded_len();
        }
        if let Some(retry) = self.retry {
            len += b"retry: \n".len() + u128_len(retry.as_millis());
        }
        len
    }

    fn write_headers<S: Sink>(&self, sink: &mut S) {
        if let Some(t) = &self.event_type {
            sink.put(b"event: ");
            sink.put(t.as_str().as_bytes());
            sink.put(b"\n");
        }
        if let Some(id) = &self.id {
            sink.put(b"id: ");
            id.write(sink);
            sink.put(b"\n");
        }
        if let Some(retry) = self.retry {
            sink.put(b"retry: ");
            write_u128(sink, retry.as_millis());
            sink.put(b"\n");
        }
    }

    /// Writes everything, in wire order, to a buffer with enough room reserved.
    fn write_all(&self, buf: &mut BytesMut) {
        if let Some((_blank, lines)) = self.encoded.split_last() {
            // The encoded event's own lines come first, so fields set on top of it
            // are later on the wire and win, as they would for any event.
            buf.extend_from_slice(lines);
        }
        self.write_headers(buf);
        buf.extend_from_slice(self.body());
        if self.open != OpenLine::None {
            buf.extend_from_slice(b"\n");
        }
        buf.extend_from_slice(b"\n");
    }

    /// Makes room for `additional` more line bytes plus the final blank line. The
    /// first allocation keeps `headroom` bytes in front for the header fields known
    /// now, so that `encode` can write them there instead of copying the lines.
    #[inline(always)]
    fn reserve_lines(&mut self, additional: usize) {
        if self.lines.capacity() == 0 {
            if self.encoded.is_empty() {
                // Fill the headroom with the header as it is now; a field set later
                // is written over it by `encode`.
                self.alloc_with_header(additional + 1);
                debug_assert_eq!(self.lines.len(), self.header_len());
                self.headroom = self.lines.len();
                self.header_written = true;
            } else {
                self.headroom = 0;
                self.lines = Vec::with_capacity(additional + 1);
            }
        } else {
            self.lines.reserve(additional + 1);
        }
    }

    /// Allocates `lines` with the header fields at its start and room for `extra`
    /// more bytes, and writes them: the lengths first (so the allocation is exact),
    /// then the pieces straight into `self.lines`. Numbers are formatted in place:
    /// digits formatted on the stack and then copied in measured about 12 ns slower
    /// per event on x86-64 (likely a store-forwarding stall), and so did a `Vec`
    /// returned by value and then moved into place.
    #[inline(always)]
    fn alloc_with_header(&mut self, extra: usize) {
        let event_type = self.event_type.as_ref().map(|t| t.as_str().as_bytes());
        let id = match &self.id {
            None => None,
            Some(id) => match (id.as_u64(), id.as_text()) {
                (Some(n), _) => Some(Number::Decimal(n, u64_len(n))),
                (None, Some(text)) => Some(Number::Text(text.as_bytes())),
                (None, None) => return self.alloc_with_header_generic(extra),
            },
        };
        let retry = match self.retry.map(|r| u64::try_from(r.as_millis())) {
            None => None,
            Some(Ok(ms)) => Some(Number::Decimal(ms, u64_len(ms))),
            Some(Err(_)) => return self.alloc_with_header_generic(extra),
        };
        let len = event_type.map_or(0, |t| b"event: \n".len() + t.len())
            + id.map_or(0, |i| b"id: \n".len() + i.len())
            + retry.map_or(0, |r| b"retry: \n".len() + r.len());
        self.lines = Vec::with_capacity(len + extra);
        let lines = &mut self.lines;
        if let Some(t) = event_type {
            lines.extend_from_slice(b"event: ");
            lines.extend_from_slice(t);
            lines.push(b'\n');
        }
        if let Some(i) = id {
            lines.extend_from_slice(b"id: ");
            i.push_to(lines);
            lines.push(b'\n');
        }
        if let Some(r) = retry {
            lines.extend_from_slice(b"retry: ");
            r.push_to(lines);
            lines.push(b'\n');
        }
    }

    /// [`Event::alloc_with_header`] for the rare fields it does not format itself.
    #[cold]
    fn alloc_with_header_generic(&mut self, extra: usize) {
        let mut lines = Vec::with_capacity(self.header_len() + extra);
        self.write_headers(&mut lines);
        self.lines = lines;
    }

    #[inline(always)]
    pub(crate) fn close_open_line(&mut self) {
        if self.open != OpenLine::None {
            self.lines.extend_from_slice(b"\n");
            self.open = OpenLine::None;
        }
    }

    #[inline(always)]
    fn push_data(&mut self, data: &[u8]) {
        self.close_open_line();
        if has_line_break(data) {
            self.push_data_lines(data);
        } else {
            // Most data is one line: one fast test, one copy.
            self.reserve_lines(b"data: \n".len() + data.len());
            self.lines.extend_from_slice(b"data: ");
            self.lines.extend_from_slice(data);
            self.lines.push(b'\n');
        }
        self.has_data = true;
    }

    /// [`Event::push_data`] for data with line breaks: finds the breaks once,
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
        self.reserve_lines(data.len() - break_bytes + lines * b"data: \n".len());
        let mut start = 0;
        self.lines.extend_from_slice(b"data: ");
        for &(at, next) in &breaks[..kept] {
            self.lines.extend_from_slice(&data[start..at]);
            self.lines.extend_from_slice(b"\ndata: ");
            start = next;
        }
        self.lines.extend_from_slice(&data[start..]);
        self.lines.push(b'\n');
    }

    /// [`Event::push_data_lines`] for data with more lines than it remembers:
    /// counts the breaks, then splits while copying.
    #[cold]
    fn push_data_many_lines(&mut self, data: &[u8]) {
        let count = count_line_breaks(data);
        // Exact unless the data holds CRLF pairs (counted twice): every line break
        // becomes `\ndata: `, six bytes more than the break itself.
        self.reserve_lines(data.len() + b"data: \n".len() + count * b"data: ".len());
        self.lines.extend_from_slice(b"data: ");
        self.write_data_text(data, false);
        self.lines.push(b'\n');
    }

    /// Opens a `data:` line for a [`DataWriter`](crate::DataWriter).
    pub(crate) fn open_data_line(&mut self) {
        self.close_open_line();
        // Room for a short line and its end; longer text grows the buffer.
        self.reserve_lines(64 + 1);
        self.lines.extend_from_slice(b"data: ");
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
        self.lines.reserve(text.len() + 2);
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
            self.lines.extend_from_slice(line);
            let Some(next) = next else {
                return false;
            };
            self.lines.extend_from_slice(b"\ndata: ");
            // A CR that ends this piece may pair with an LF that starts the next.
            if streaming && next.is_empty() && rest.ends_with(b"\r") {
                return true;
            }
            rest = next;
        }
    }

    fn push_comment(&mut self, text: &[u8]) {
        self.close_open_line();
        let breaks = count_line_breaks(text);
        self.reserve_lines(text.len() + b": \n".len() + breaks * b": ".len());
        let mut rest = text;
        loop {
            let (line, next) = split_line(rest);
            if line.is_empty() {
                self.lines.extend_from_slice(b":\n");
            } else {
                self.lines.extend_from_slice(b": ");
                self.lines.extend_from_slice(line);
                self.lines.extend_from_slice(b"\n");
            }
            match next {
                Some(next) => rest = next,
                None => break,
            }
        }
    }
}

/// A header value for [`Event::alloc_with_header`]: text, or a number and its
/// digit count.
#[derive(Clone, Copy)]
enum Number<'a> {
    Text(&'a [u8]),
    Decimal(u64, usize),
}

impl Number<'_> {
    #[inline(always)]
    fn len(self) -> usize {
        match self {
            Number::Text(text) => text.len(),
            Number::Decimal(_, len) => len,
        }
    }

    #[inline(always)]
    fn push_to(self, lines: &mut Vec<u8>) {
        match self {
            Number::Text(text) => lines.extend_from_slice(text),
            Number::Decimal(n, len) => push_decimal(lines, n, len),
        }
    }
}

impl From<EncodedEvent> for Event {
    /// Puts an already-encoded event back among events (for a stream of `Event`s).
    /// Sent as is, it costs no copy; fields set on it afterwards are written after
    /// its own lines, so they win as usual.
    fn from(encoded: EncodedEvent) -> Self {
        Event::from_encoded(encoded)
    }
}

impl From<Event> for bytes::Bytes {
    fn from(event: Event) -> Self {
        event.encode().into_bytes()
    }
}

impl fmt::Debug for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Event");
        if !self.encoded.is_empty() {
            d.field("encoded", &String::from_utf8_lossy(&self.encoded));
        }
        d.field("event", &self.event_type)
            .field("id", &self.id)
            .field("retry", &self.retry)
            .field("lines", &String::from_utf8_lossy(self.body()))
            .finish()
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
                let event = Event::new().event(EventType::from_static("t")).data(&data);
                let expected = format!("event: t\n{}\n", expected_data_lines(&data));
                assert_eq!(event.encoded_len(), expected.len());
                let bytes = event.encode().into_bytes();
                assert_eq!(
                    std::str::from_utf8(&bytes).unwrap(),
                    expected,
                    "{lines} lines of {brk:?}"
                );
            }
        }
    }

    #[test]
    fn fields_set_after_data_are_written_over_the_headroom() {
        let event = Event::new()
            .id(1u8)
            .data("x")
            .id(12345u32)
            .event(EventType::from_static("late"));
        assert_eq!(
            event.encode().as_ref(),
            b"event: late\nid: 12345\ndata: x\n\n"
        );
        let event = Event::new().id(123456u32).data("x").id(1u8);
        assert_eq!(event.encode().as_ref(), b"id: 1\ndata: x\n\n");
    }
}
