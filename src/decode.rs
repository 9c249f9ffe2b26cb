//! The client side: an incremental, spec-exact decoder for `text/event-stream`.
//!
//! [`Decoder`] implements the WHATWG "interpreting an event stream" algorithm (HTML
//! Living Standard, 9.2.6) on bytes that arrive in chunks of any size. The work per
//! chunk is a block-wise search for line breaks that also tells whether the line is
//! ASCII (see `scan.rs`), so ASCII text skips UTF-8 validation; field names are
//! recognised by their first bytes. A `data` value that lies within one chunk is a
//! slice of the input `Bytes`, so a one-line event reaches the caller without a copy;
//! short types and ids are copied inline, so that each event's copy of the last event
//! ID costs neither an allocation nor a reference count.
//!
//! State kept between chunks, and its bound:
//! - the start of a line whose end has not arrived (at most `max_line_size` bytes);
//! - the event being read: its data and type (at most `max_event_size` bytes);
//! - the last event ID (one line) and the reconnection time.
//!
//! After a limit is crossed the decoder reports it once, then skips the rest of that
//! event (up to its blank line) without buffering it, and goes on with the next.

use std::collections::VecDeque;
use std::fmt;
use std::time::Duration;

use bytes::{Bytes, BytesMut};

use crate::scan::find_line_break_ascii;

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// Default for [`Decoder::max_event_size`]: 8 MiB.
const DEFAULT_MAX_EVENT_SIZE: usize = 8 * 1024 * 1024;
/// Default for [`Decoder::max_line_size`]: 8 MiB.
const DEFAULT_MAX_LINE_SIZE: usize = 8 * 1024 * 1024;

/// A long type or id is kept as a slice of its chunk only when the chunk is small, so
/// that a long-lived last event ID never pins a large network buffer in memory.
const LABEL_SLICE_MAX_CHUNK: usize = 64 * 1024;

/// Event types and ids up to this length are stored inline (a UUID fits).
const LABEL_INLINE: usize = 38;

/// `Bytes` that always hold valid UTF-8.
#[derive(Clone, Default, PartialEq, Eq, Hash)]
struct Text(Bytes);

impl Text {
    /// Decodes `bytes` as UTF-8, replacing invalid sequences with U+FFFD (as the
    /// WHATWG "UTF-8 decode" does); valid input is kept without a copy. `ascii` tells
    /// that the bytes are already known to be ASCII, which skips the check.
    fn from_checked(bytes: Bytes, ascii: bool) -> Text {
        if ascii || std::str::from_utf8(&bytes).is_ok() {
            Text(bytes)
        } else {
            Text(Bytes::from(String::from_utf8_lossy(&bytes).into_owned()))
        }
    }

    fn as_str(&self) -> &str {
        // Valid by construction; the check is what keeps the crate free of `unsafe`.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

/// Short text (an event type, an id), valid UTF-8: inline when short, so that copying
/// it into every event needs neither an allocation nor a reference count.
#[derive(Clone)]
enum Label {
    Inline { len: u8, buf: [u8; LABEL_INLINE] },
    Shared(Text),
}

impl Label {
    const EMPTY: Label = Label::Inline {
        len: 0,
        buf: [0; LABEL_INLINE],
    };

    /// The label for `src[start..end]`; `ascii` tells that it is known to be ASCII.
    fn new(src: &Bytes, start: usize, end: usize, ascii: bool) -> Label {
        let bytes = &src[start..end];
        if bytes.len() <= LABEL_INLINE && (ascii || std::str::from_utf8(bytes).is_ok()) {
            let mut buf = [0; LABEL_INLINE];
            buf[..bytes.len()].copy_from_slice(bytes);
            return Label::Inline {
                len: bytes.len() as u8,
                buf,
            };
        }
        let shared = if src.len() <= LABEL_SLICE_MAX_CHUNK {
            src.slice(start..end)
        } else {
            Bytes::copy_from_slice(bytes)
        };
        Label::Shared(Text::from_checked(shared, ascii))
    }

    fn from_string(s: String) -> Label {
        let bytes = Bytes::from(s);
        Label::new(&bytes, 0, bytes.len(), false)
    }

    fn as_bytes(&self) -> &[u8] {
        match self {
            Label::Inline { len, buf } => &buf[..usize::from(*len)],
            Label::Shared(text) => &text.0,
        }
    }

    fn as_str(&self) -> &str {
        // Valid by construction (see `Text::as_str`).
        std::str::from_utf8(self.as_bytes()).unwrap_or_default()
    }
}

impl PartialEq for Label {
    fn eq(&self, other: &Self) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl Eq for Label {}

/// One event dispatched by a [`Decoder`]: what a browser hands to `onmessage` or to an
/// `addEventListener(type, ...)` listener.
///
/// The data is kept as the `Bytes` it arrived in whenever it was one line inside one
/// chunk (no copy), so holding on to an event also holds on to that chunk's memory.
///
/// ```
/// use ssewire::Decoder;
///
/// let mut decoder = Decoder::new();
/// decoder.feed("event: greeting\nid: 7\ndata: hello\ndata: world\n\n");
/// let event = decoder.next_event()?.expect("one event");
/// assert_eq!(event.event_type(), "greeting");
/// assert_eq!(event.data(), "hello\nworld");
/// assert_eq!(event.last_event_id(), "7");
/// # Ok::<(), ssewire::DecodeError>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct MessageEvent {
    /// `None` when the type buffer was empty: the type is then `message`.
    event_type: Option<Label>,
    data: Text,
    last_event_id: Label,
}

impl MessageEvent {
    /// The event type: the value of the last `event:` field of the event, or
    /// `"message"` when there was none (or it was empty).
    ///
    /// ```
    /// let mut decoder = ssewire::Decoder::new();
    /// decoder.feed("data: a\n\nevent: tick\ndata: b\n\n");
    /// assert_eq!(decoder.next_event()?.unwrap().event_type(), "message");
    /// assert_eq!(decoder.next_event()?.unwrap().event_type(), "tick");
    /// # Ok::<(), ssewire::DecodeError>(())
    /// ```
    pub fn event_type(&self) -> &str {
        match &self.event_type {
            Some(t) => t.as_str(),
            None => "message",
        }
    }

    /// The data: the values of the event's `data:` fields joined with `\n`. Invalid
    /// UTF-8 in the stream has been replaced with U+FFFD.
    ///
    /// This checks the (valid) UTF-8 once more to hand out a `&str` without `unsafe`
    /// code; it runs at memory speed, but call it once and keep the `&str` rather
    /// than calling it in a loop. [`MessageEvent::data_bytes`] costs nothing.
    ///
    /// ```
    /// let mut decoder = ssewire::Decoder::new();
    /// decoder.feed("data: {\"n\":\ndata:  1}\n\n");
    /// assert_eq!(decoder.next_event()?.unwrap().data(), "{\"n\":\n 1}");
    /// # Ok::<(), ssewire::DecodeError>(())
    /// ```
    pub fn data(&self) -> &str {
        self.data.as_str()
    }

    /// The data as `Bytes`, always valid UTF-8 (for example for
    /// `serde_json::from_slice`), without a check or a copy.
    ///
    /// ```
    /// let mut decoder = ssewire::Decoder::new();
    /// decoder.feed(bytes::Bytes::from_static(b"data: caf\xc3\xa9\n\n"));
    /// let event = decoder.next_event()?.unwrap();
    /// assert_eq!(&event.data_bytes()[..], "café".as_bytes());
    /// # Ok::<(), ssewire::DecodeError>(())
    /// ```
    pub fn data_bytes(&self) -> &Bytes {
        &self.data.0
    }

    /// Takes the data out as `Bytes` (valid UTF-8), without a copy.
    ///
    /// ```
    /// let mut decoder = ssewire::Decoder::new();
    /// decoder.feed("data: x\n\n");
    /// let data: bytes::Bytes = decoder.next_event()?.unwrap().into_data_bytes();
    /// assert_eq!(&data[..], b"x");
    /// # Ok::<(), ssewire::DecodeError>(())
    /// ```
    pub fn into_data_bytes(self) -> Bytes {
        self.data.0
    }

    /// The stream's last event ID when the event was dispatched (`""` if none), as a
    /// browser reports it in `MessageEvent.lastEventId`. It persists from event to
    /// event until an `id:` field changes it; an empty `id:` resets it.
    ///
    /// ```
    /// let mut decoder = ssewire::Decoder::new();
    /// decoder.feed("id: 1\ndata: a\n\ndata: b\n\nid\ndata: c\n\n");
    /// let ids: Vec<String> = std::iter::from_fn(|| decoder.next_event().ok().flatten())
    ///     .map(|e| e.last_event_id().to_owned())
    ///     .collect();
    /// assert_eq!(ids, ["1", "1", ""]);
    /// ```
    pub fn last_event_id(&self) -> &str {
        self.last_event_id.as_str()
    }
}

impl fmt::Debug for MessageEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MessageEvent")
            .field("event_type", &self.event_type())
            .field("data", &self.data())
            .field("last_event_id", &self.last_event_id())
            .finish()
    }
}

/// One thing a [`Decoder`] found in the stream, from [`Decoder::next_decoded`]: an
/// event, a new reconnection time, or a comment.
///
/// ```
/// use std::time::Duration;
/// use ssewire::{Decoded, Decoder};
///
/// let mut decoder = Decoder::new();
/// decoder.feed(": hi\nretry: 2500\ndata: x\n\n");
/// assert_eq!(decoder.next_decoded()?, Some(Decoded::Comment("hi".into())));
/// assert_eq!(decoder.next_decoded()?, Some(Decoded::Retry(Duration::from_millis(2500))));
/// assert!(matches!(decoder.next_decoded()?, Some(Decoded::Event(e)) if e.data() == "x"));
/// assert_eq!(decoder.next_decoded()?, None);
/// # Ok::<(), ssewire::DecodeError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Decoded {
    /// A dispatched event.
    Event(MessageEvent),
    /// A valid `retry:` field: the client's new reconnection time.
    Retry(Duration),
    /// A comment line (`:` and the text after it, with one leading space removed, so
    /// that `: text` gives `text`). Clients ignore comments; servers send them as
    /// keep-alives.
    Comment(String),
}

/// A limit of a [`Decoder`] was crossed.
///
/// The decoder reports it once, drops the event it was reading (up to its blank line,
/// without buffering it) and goes on with the next event, so a caller may either stop
/// or carry on.
///
/// ```
/// use ssewire::{DecodeError, Decoder};
///
/// let mut decoder = Decoder::new().with_max_event_size(8);
/// decoder.feed("data: 0123456789\n\ndata: ok\n\n");
/// let err = decoder.next_event().unwrap_err();
/// assert!(matches!(err, DecodeError::EventTooLarge { limit: 8, position: 0, .. }));
/// assert_eq!(err.to_string(), "event too large: more than 8 bytes of data and type, at the line starting at byte 0");
/// assert_eq!(decoder.next_event()?.unwrap().data(), "ok");
/// # Ok::<(), ssewire::DecodeError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// A line (not counting its line end) is longer than
    /// [`Decoder::max_line_size`].
    #[error("line too long: more than {limit} bytes, in the line starting at byte {position}")]
    #[non_exhaustive]
    LineTooLong {
        /// The limit, in bytes.
        limit: usize,
        /// Offset in the stream of the line's first byte.
        position: u64,
    },
    /// The data and type of one event together are larger than
    /// [`Decoder::max_event_size`].
    #[error("event too large: more than {limit} bytes of data and type, at the line starting at byte {position}")]
    #[non_exhaustive]
    EventTooLarge {
        /// The limit, in bytes.
        limit: usize,
        /// Offset in the stream of the first byte of the line that crossed it.
        position: u64,
    },
}

impl DecodeError {
    /// The limit that was crossed, in bytes.
    ///
    /// ```
    /// let mut decoder = ssewire::Decoder::new().with_max_line_size(4);
    /// decoder.feed(": a long comment\n");
    /// assert_eq!(decoder.next_event().unwrap_err().limit(), 4);
    /// ```
    pub fn limit(&self) -> usize {
        match self {
            DecodeError::LineTooLong { limit, .. } | DecodeError::EventTooLarge { limit, .. } => {
                *limit
            }
        }
    }

    /// Offset in the stream (counted from the start of the stream, or from the last
    /// [`Decoder::reset`]) of the first byte of the line at which the limit was
    /// crossed.
    ///
    /// ```
    /// let mut decoder = ssewire::Decoder::new().with_max_line_size(8);
    /// decoder.feed("data: a\n\n: a long comment\n");
    /// assert!(decoder.next_event().unwrap().is_some());
    /// assert_eq!(decoder.next_event().unwrap_err().position(), 9);
    /// ```
    pub fn position(&self) -> u64 {
        match self {
            DecodeError::LineTooLong { position, .. }
            | DecodeError::EventTooLarge { position, .. } => *position,
        }
    }
}

/// The data buffer of the event being read.
#[derive(Default)]
enum Data {
    /// No `data:` field yet: a blank line dispatches nothing.
    #[default]
    None,
    /// One `data:` value, a slice of the input.
    One { value: Bytes, ascii: bool },
    /// Several values joined with LF.
    Many { buf: BytesMut, ascii: bool },
}

impl Data {
    fn len(&self) -> usize {
        match self {
            Data::None => 0,
            Data::One { value, .. } => value.len(),
            Data::Many { buf, .. } => buf.len(),
        }
    }
}

/// An incremental, spec-exact decoder for `text/event-stream`.
///
/// Feed it the bytes of a stream in chunks of any size, down to single bytes, with
/// [`feed`](Decoder::feed), and take the events out with
/// [`next_event`](Decoder::next_event) until it returns `Ok(None)` (it needs more
/// input). It follows the WHATWG algorithm that browsers' `EventSource` follows:
///
/// - the stream is UTF-8; invalid bytes become U+FFFD, and one byte order mark is
///   removed at the very start of the stream (only there);
/// - a line ends at CRLF, LF or a lone CR, and a CRLF split between two chunks is one
///   line end;
/// - `field: value` with exactly one leading space removed from the value (a tab is
///   kept); a line without a colon is a field with an empty value; a line starting
///   with `:` is a comment; unknown field names (`Data`, `data `) are ignored;
/// - `data` lines are joined with `\n`; `event` sets the type (default `message`);
///   `id` sets the last event ID unless its value contains NUL, and the ID persists
///   from event to event (an empty `id` resets it); `retry` takes only ASCII digits;
/// - a blank line dispatches the event; an event without any `data` line is not
///   dispatched (but its `id` still counts); an event that the stream ends before its
///   blank line is never dispatched.
///
/// ```
/// use ssewire::Decoder;
///
/// let mut decoder = Decoder::new();
/// let mut got = Vec::new();
/// // A CRLF split between chunks, a comment, and an unfinished last event.
/// for chunk in ["data: one\r", "\nevent: up", "date\n: keep-alive\ndata: two\n\n", "data: lost"] {
///     decoder.feed(chunk);
///     while let Some(event) = decoder.next_event()? {
///         got.push((event.event_type().to_owned(), event.data().to_owned()));
///     }
/// }
/// assert_eq!(got, [("update".to_owned(), "one\ntwo".to_owned())]);
/// # Ok::<(), ssewire::DecodeError>(())
/// ```
///
/// # Reading a response body
///
/// [`DecodeStream`](crate::DecodeStream) wraps any stream of `Bytes` chunks (a hyper
/// body's `into_data_stream()`, reqwest's `bytes_stream()`) and yields the events.
///
/// # Memory and limits
///
/// The decoder keeps at most one partial line ([`max_line_size`](Decoder::max_line_size),
/// 8 MiB by default) and the data and type of one event
/// ([`max_event_size`](Decoder::max_event_size), 8 MiB by default), plus the chunks fed
/// and not decoded yet. Past a limit, [`next_event`](Decoder::next_event) returns a
/// [`DecodeError`] once and the decoder skips the rest of that event without buffering
/// it. One-line data is a slice of the fed `Bytes` (no copy): an event that is kept
/// keeps the chunk its data arrived in.
///
/// # Reconnecting
///
/// [`last_event_id`](Decoder::last_event_id) is what to send in `Last-Event-ID` when
/// reconnecting, and [`retry`](Decoder::retry) how long to wait first. For the new
/// connection's body call [`reset`](Decoder::reset): like a browser, the decoder keeps
/// the last event ID and the reconnection time and starts everything else afresh.
pub struct Decoder {
    max_line: usize,

    // ---- input ----
    /// The chunk being decoded, from `at` on.
    chunk: Bytes,
    at: usize,
    /// Stream offset of `chunk[0]`.
    chunk_offset: u64,
    /// Chunks fed before the previous ones were decoded.
    queued: VecDeque<Bytes>,

    // ---- lines ----
    /// The start of a line whose end has not arrived yet.
    partial: BytesMut,
    /// Whether `partial` is all ASCII so far.
    partial_ascii: bool,
    /// Stream offset of the first byte of `partial`.
    partial_offset: u64,
    /// Length of the last line that arrived in several chunks: room reserved for the
    /// next one, so that a stream of large events does not regrow the buffer.
    partial_hint: usize,
    /// The previous chunk ended with CR: an LF at the start of the next one belongs
    /// to the same line end.
    cr_pending: bool,
    /// Dropping the rest of the current line (of an event being skipped).
    skip_line: bool,

    /// What the lines mean.
    parser: Parser,
}

/// The interpretation of complete lines: the event being read and the stream's state.
/// Apart from [`Decoder`]'s input so that a line can borrow the input chunk while the
/// parser changes.
struct Parser {
    max_event: usize,
    /// No line has ended yet: a BOM at its start is removed.
    first_line: bool,
    data: Data,
    /// Data length of the last event with several `data` lines: the room reserved
    /// when the next one starts, so that it is built without regrowing.
    data_hint: usize,
    event_type: Option<Label>,
    /// Dropping lines up to the next blank line, after an error.
    skip_event: bool,
    /// An `id` read since the last dispatch: the last event ID from the next one on.
    pending_id: Option<Label>,
    last_event_id: Label,
    retry: Option<Duration>,
}

impl Default for Decoder {
    fn default() -> Self {
        Decoder::new()
    }
}

impl fmt::Debug for Decoder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Decoder")
            .field("max_line_size", &self.max_line)
            .field("max_event_size", &self.parser.max_event)
            .field("last_event_id", &self.last_event_id())
            .field("retry", &self.parser.retry)
            .field("buffered", &self.buffered_len())
            .finish_non_exhaustive()
    }
}

/// How a line was handed to [`Decoder::line`].
struct Line<'a> {
    src: &'a Bytes,
    start: usize,
    end: usize,
    /// Whether `src[start..end]` is known to be ASCII.
    ascii: bool,
    /// Stream offset of the line's first byte.
    offset: u64,
}

impl Decoder {
    /// A decoder with the default limits (8 MiB per line and per event) and no last
    /// event ID.
    ///
    /// ```
    /// let decoder = ssewire::Decoder::new();
    /// assert_eq!(decoder.max_event_size(), 8 * 1024 * 1024);
    /// assert_eq!(decoder.last_event_id(), "");
    /// ```
    pub fn new() -> Self {
        Decoder {
            max_line: DEFAULT_MAX_LINE_SIZE,
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
            parser: Parser {
                max_event: DEFAULT_MAX_EVENT_SIZE,
                first_line: true,
                data: Data::None,
                data_hint: 0,
                event_type: None,
                skip_event: false,
                pending_id: None,
                last_event_id: Label::EMPTY,
                retry: None,
            },
        }
    }

    /// Sets the largest event accepted: the bytes of its data (with the `\n` between
    /// `data` lines) and of its type (as kept: an invalid UTF-8 byte in the type
    /// counts as the three bytes of U+FFFD). Larger events are reported as
    /// [`DecodeError::EventTooLarge`] and skipped.
    ///
    /// ```
    /// let decoder = ssewire::Decoder::new().with_max_event_size(64 * 1024);
    /// assert_eq!(decoder.max_event_size(), 64 * 1024);
    /// ```
    #[must_use]
    pub fn with_max_event_size(mut self, limit: usize) -> Self {
        self.parser.max_event = limit;
        self
    }

    /// Sets the longest line accepted, any line (comments too), not counting its line
    /// end. Longer lines are reported as [`DecodeError::LineTooLong`] and their event
    /// is skipped.
    ///
    /// ```
    /// let decoder = ssewire::Decoder::new().with_max_line_size(1024);
    /// assert_eq!(decoder.max_line_size(), 1024);
    /// ```
    #[must_use]
    pub fn with_max_line_size(mut self, limit: usize) -> Self {
        self.max_line = limit;
        self
    }

    /// Starts with a last event ID, for example one a client stored before it was
    /// restarted: events report it until the stream sends an `id`.
    ///
    /// ```
    /// let mut decoder = ssewire::Decoder::new().with_last_event_id("41");
    /// decoder.feed("data: x\n\n");
    /// assert_eq!(decoder.next_event()?.unwrap().last_event_id(), "41");
    /// # Ok::<(), ssewire::DecodeError>(())
    /// ```
    #[must_use]
    pub fn with_last_event_id(mut self, id: impl Into<String>) -> Self {
        self.parser.last_event_id = Label::from_string(id.into());
        self.parser.pending_id = None;
        self
    }

    /// The event size limit (see [`Decoder::with_max_event_size`]).
    ///
    /// ```
    /// assert_eq!(ssewire::Decoder::new().max_event_size(), 8 << 20);
    /// ```
    pub fn max_event_size(&self) -> usize {
        self.parser.max_event
    }

    /// The line size limit (see [`Decoder::with_max_line_size`]).
    ///
    /// ```
    /// assert_eq!(ssewire::Decoder::new().max_line_size(), 8 << 20);
    /// ```
    pub fn max_line_size(&self) -> usize {
        self.max_line
    }

    /// The last event ID as of the last dispatched event (`""` if none): the value
    /// to send in a `Last-Event-ID` header when reconnecting.
    ///
    /// Like a browser's, it changes when a blank line ends an event that had an `id`
    /// field, even if the event had no data and was not dispatched.
    ///
    /// ```
    /// let mut decoder = ssewire::Decoder::new();
    /// decoder.feed("id: 9\n\nid: 10\n");
    /// assert!(decoder.next_event()?.is_none());
    /// assert_eq!(decoder.last_event_id(), "9"); // "10" has no blank line yet
    /// # Ok::<(), ssewire::DecodeError>(())
    /// ```
    pub fn last_event_id(&self) -> &str {
        self.parser.last_event_id.as_str()
    }

    /// The latest reconnection time set by a `retry:` field decoded so far, if any.
    ///
    /// ```
    /// use std::time::Duration;
    /// let mut decoder = ssewire::Decoder::new();
    /// decoder.feed("retry: 3000\nretry: 1e3\n");
    /// assert!(decoder.next_event()?.is_none());
    /// assert_eq!(decoder.retry(), Some(Duration::from_secs(3)));
    /// # Ok::<(), ssewire::DecodeError>(())
    /// ```
    pub fn retry(&self) -> Option<Duration> {
        self.parser.retry
    }

    /// Bytes held by the decoder: input fed and not decoded yet, a partial line, and
    /// the data and type of the event being read.
    ///
    /// ```
    /// let mut decoder = ssewire::Decoder::new();
    /// decoder.feed("data: x\n\ndata: y");
    /// assert_eq!(decoder.buffered_len(), 16);
    /// assert!(decoder.next_event()?.is_some());
    /// assert_eq!(decoder.buffered_len(), 7); // the partial line "data: y"
    /// # Ok::<(), ssewire::DecodeError>(())
    /// ```
    pub fn buffered_len(&self) -> usize {
        self.chunk.len().saturating_sub(self.at)
            + self.queued.iter().map(Bytes::len).sum::<usize>()
            + self.partial.len()
            + self.parser.data.len()
            + self.parser.event_type_len()
    }

    /// Adds the next chunk of the stream. Chunks are kept without a copy; take the
    /// events out with [`next_event`](Decoder::next_event) or
    /// [`next_decoded`](Decoder::next_decoded) before feeding more, so that the
    /// input does not pile up.
    ///
    /// ```
    /// let mut decoder = ssewire::Decoder::new();
    /// decoder.feed("data: a");
    /// decoder.feed(String::from("bc\n"));
    /// decoder.feed(&b"\n"[..]);
    /// assert_eq!(decoder.next_event()?.unwrap().data(), "abc");
    /// # Ok::<(), ssewire::DecodeError>(())
    /// ```
    pub fn feed(&mut self, chunk: impl Into<Bytes>) {
        let chunk = chunk.into();
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

    /// The next event the input fed so far completes, or `Ok(None)` when more input is
    /// needed. Comments and `retry` fields are applied and skipped (see
    /// [`next_decoded`](Decoder::next_decoded) to see them).
    ///
    /// # Errors
    ///
    /// [`DecodeError`] when a line or an event is over its limit. The decoder then
    /// skips that event and can be used on.
    ///
    /// ```
    /// let mut decoder = ssewire::Decoder::new();
    /// decoder.feed("data: 1\n\n: ping\n\ndata: 2\n");
    /// assert_eq!(decoder.next_event()?.unwrap().data(), "1");
    /// assert!(decoder.next_event()?.is_none()); // "data: 2" awaits its blank line
    /// decoder.feed("\n");
    /// assert_eq!(decoder.next_event()?.unwrap().data(), "2");
    /// # Ok::<(), ssewire::DecodeError>(())
    /// ```
    pub fn next_event(&mut self) -> Result<Option<MessageEvent>, DecodeError> {
        loop {
            match self.next_inner(false)? {
                Some(Decoded::Event(event)) => return Ok(Some(event)),
                Some(_) => {}
                None => return Ok(None),
            }
        }
    }

    /// Like [`next_event`](Decoder::next_event), and also returns valid `retry` fields
    /// and comments, in stream order.
    ///
    /// # Errors
    ///
    /// As [`next_event`](Decoder::next_event).
    ///
    /// ```
    /// use ssewire::{Decoded, Decoder};
    /// let mut decoder = Decoder::new();
    /// decoder.feed(":keep-alive\n\n");
    /// assert_eq!(decoder.next_decoded()?, Some(Decoded::Comment("keep-alive".into())));
    /// assert_eq!(decoder.next_decoded()?, None);
    /// # Ok::<(), ssewire::DecodeError>(())
    /// ```
    pub fn next_decoded(&mut self) -> Result<Option<Decoded>, DecodeError> {
        self.next_inner(true)
    }

    /// Starts a new stream, as a browser does when it reconnects: drops all input not
    /// decoded yet, a partial line and an unfinished event, and expects a byte order
    /// mark again; keeps the limits, the last event ID and the reconnection time.
    ///
    /// ```
    /// let mut decoder = ssewire::Decoder::new();
    /// decoder.feed("id: 5\ndata: a\n\ndata: cut off by a network err");
    /// assert!(decoder.next_event()?.is_some());
    /// assert!(decoder.next_event()?.is_none());
    /// decoder.reset();
    /// decoder.feed("\u{feff}data: b\n\n");
    /// let event = decoder.next_event()?.unwrap();
    /// assert_eq!((event.data(), event.last_event_id()), ("b", "5"));
    /// # Ok::<(), ssewire::DecodeError>(())
    /// ```
    pub fn reset(&mut self) {
        self.chunk = Bytes::new();
        self.at = 0;
        self.chunk_offset = 0;
        self.queued.clear();
        self.partial = BytesMut::new();
        self.partial_ascii = true;
        self.partial_offset = 0;
        self.cr_pending = false;
        self.parser.first_line = true;
        self.skip_line = false;
        self.parser.data = Data::None;
        self.parser.event_type = None;
        self.parser.skip_event = false;
        self.parser.pending_id = None;
    }

    // ---- the decoding loop -------------------------------------------------------

    fn next_inner(&mut self, all: bool) -> Result<Option<Decoded>, DecodeError> {
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
                        return Ok(None);
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
            let (found, ascii) = find_line_break_ascii(rest);
            let Some(len) = found else {
                // The line goes on in a later chunk.
                let n = rest.len();
                if self.skip_line {
                    // Already being dropped.
                } else if self.parser.skip_event {
                    // A partial line is never blank, so it cannot end the skipping:
                    // drop it without buffering.
                    self.skip_line = true;
                } else if self.partial.len() + n > self.max_line {
                    let position = self.line_offset_partial();
                    self.partial = BytesMut::new();
                    self.skip_line = true;
                    self.parser.start_skipping();
                    self.at = self.chunk.len();
                    return Err(DecodeError::LineTooLong {
                        limit: self.max_line,
                        position,
                    });
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
                self.parser.first_line = false;
                continue;
            }

            let item = if self.partial.is_empty() {
                let offset = self.chunk_offset + start as u64;
                if len > self.max_line && !self.parser.skip_event {
                    self.parser.first_line = false;
                    self.parser.start_skipping();
                    return Err(DecodeError::LineTooLong {
                        limit: self.max_line,
                        position: offset,
                    });
                }
                self.parser.line(
                    Line {
                        src: &self.chunk,
                        start,
                        end,
                        ascii,
                        offset,
                    },
                    all,
                )
            } else {
                let offset = self.partial_offset;
                let total = self.partial.len() + len;
                if total > self.max_line && !self.parser.skip_event {
                    self.partial = BytesMut::new();
                    self.parser.first_line = false;
                    self.parser.start_skipping();
                    return Err(DecodeError::LineTooLong {
                        limit: self.max_line,
                        position: offset,
                    });
                }
                self.partial.extend_from_slice(&self.chunk[start..end]);
                self.partial_hint = total;
                let ascii = self.partial_ascii && ascii;
                let line = self.partial.split().freeze();
                self.parser.line(
                    Line {
                        src: &line,
                        start: 0,
                        end: line.len(),
                        ascii,
                        offset,
                    },
                    all,
                )
            };
            if let Some(item) = item? {
                return Ok(Some(item));
            }
        }
    }

    fn line_offset_partial(&self) -> u64 {
        if self.partial.is_empty() {
            self.chunk_offset + self.at as u64
        } else {
            self.partial_offset
        }
    }
}

impl Parser {
    fn event_type_len(&self) -> usize {
        self.event_type.as_ref().map_or(0, |t| t.as_bytes().len())
    }

    /// Drops the event being read and skips lines up to the next blank line.
    fn start_skipping(&mut self) {
        self.data = Data::None;
        self.event_type = None;
        self.skip_event = true;
    }

    /// Interprets one complete line (without its line end).
    fn line(&mut self, line: Line<'_>, all: bool) -> Result<Option<Decoded>, DecodeError> {
        let mut start = line.start;
        if self.first_line {
            self.first_line = false;
            if line.src[start..line.end].starts_with(BOM) {
                start += BOM.len();
            }
        }
        let bytes = &line.src[start..line.end];
        let Some(&first) = bytes.first() else {
            return Ok(self.dispatch());
        };
        if self.skip_event {
            return Ok(None);
        }
        match first {
            b'd' => {
                if let Some(v) = value_start(bytes, b"data") {
                    self.push_data(&line, start + v)?;
                }
            }
            b'e' => {
                if let Some(v) = value_start(bytes, b"event") {
                    let event_type = Label::new(line.src, start + v, line.end, line.ascii);
                    // What is kept counts: invalid UTF-8 has become U+FFFD (3 bytes).
                    if self.data.len() + event_type.as_bytes().len() > self.max_event {
                        self.start_skipping();
                        return Err(DecodeError::EventTooLarge {
                            limit: self.max_event,
                            position: line.offset,
                        });
                    }
                    self.event_type = Some(event_type);
                }
            }
            b'i' => {
                if let Some(v) = value_start(bytes, b"id") {
                    if !line.src[start + v..line.end].contains(&0) {
                        self.pending_id =
                            Some(Label::new(line.src, start + v, line.end, line.ascii));
                    }
                }
            }
            b'r' => {
                if let Some(v) = value_start(bytes, b"retry") {
                    if let Some(ms) = parse_retry(&bytes[v..]) {
                        let retry = Duration::from_millis(ms);
                        self.retry = Some(retry);
                        if all {
                            return Ok(Some(Decoded::Retry(retry)));
                        }
                    }
                }
            }
            b':' if all => {
                let text = bytes[1..].strip_prefix(b" ").unwrap_or(&bytes[1..]);
                return Ok(Some(Decoded::Comment(
                    String::from_utf8_lossy(text).into_owned(),
                )));
            }
            _ => {}
        }
        Ok(None)
    }

    fn push_data(&mut self, line: &Line<'_>, value_start: usize) -> Result<(), DecodeError> {
        let value = &line.src[value_start..line.end];
        let new_len = match &self.data {
            Data::None => value.len(),
            data => data.len() + 1 + value.len(),
        };
        if new_len + self.event_type_len() > self.max_event {
            self.start_skipping();
            return Err(DecodeError::EventTooLarge {
                limit: self.max_event,
                position: line.offset,
            });
        }
        self.data = match std::mem::take(&mut self.data) {
            Data::None => Data::One {
                value: line.src.slice(value_start..line.end),
                ascii: line.ascii,
            },
            Data::One {
                value: first,
                ascii,
            } => {
                let mut buf = BytesMut::with_capacity((2 * new_len).max(self.data_hint));
                buf.extend_from_slice(&first);
                buf.extend_from_slice(b"\n");
                buf.extend_from_slice(value);
                Data::Many {
                    buf,
                    ascii: ascii && line.ascii,
                }
            }
            Data::Many { mut buf, ascii } => {
                buf.extend_from_slice(b"\n");
                buf.extend_from_slice(value);
                Data::Many {
                    buf,
                    ascii: ascii && line.ascii,
                }
            }
        };
        Ok(())
    }

    /// A blank line: ends the event and dispatches it if it has data.
    fn dispatch(&mut self) -> Option<Decoded> {
        if let Some(id) = self.pending_id.take() {
            self.last_event_id = id;
        }
        let data = std::mem::take(&mut self.data);
        let event_type = self.event_type.take();
        if self.skip_event {
            self.skip_event = false;
            return None;
        }
        let data = match data {
            Data::None => return None,
            Data::One { value, ascii } => Text::from_checked(value, ascii),
            Data::Many { buf, ascii } => {
                self.data_hint = buf.len();
                Text::from_checked(buf.freeze(), ascii)
            }
        };
        Some(Decoded::Event(MessageEvent {
            event_type: event_type.filter(|t| !t.as_bytes().is_empty()),
            data,
            last_event_id: self.last_event_id.clone(),
        }))
    }
}

/// Where the value starts in `line` if its field name is `name`: after the colon and
/// one space, or at the end for a line without a colon.
#[inline]
fn value_start(line: &[u8], name: &[u8]) -> Option<usize> {
    if !line.starts_with(name) {
        return None;
    }
    match line.get(name.len()) {
        None => Some(line.len()),
        Some(b':') => Some(name.len() + 1 + usize::from(line.get(name.len() + 1) == Some(&b' '))),
        Some(_) => None,
    }
}

/// A `retry` value: base-ten ASCII digits only, not empty, fitting in `u64`.
fn parse_retry(value: &[u8]) -> Option<u64> {
    if value.is_empty() {
        return None;
    }
    value.iter().try_fold(0u64, |n, &b| {
        if b.is_ascii_digit() {
            n.checked_mul(10)?.checked_add(u64::from(b - b'0'))
        } else {
            None
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_all(input: &[u8], chunk: usize) -> Vec<Result<Decoded, DecodeError>> {
        let mut d = Decoder::new()
            .with_max_line_size(64)
            .with_max_event_size(100);
        let mut out = Vec::new();
        for piece in input.chunks(chunk.max(1)) {
            d.feed(Bytes::copy_from_slice(piece));
            loop {
                match d.next_decoded() {
                    Ok(Some(x)) => out.push(Ok(x)),
                    Ok(None) => break,
                    Err(e) => out.push(Err(e)),
                }
            }
        }
        out
    }

    fn events(input: &str) -> Vec<(String, String, String)> {
        let mut d = Decoder::new();
        d.feed(input.to_owned());
        let mut out = Vec::new();
        while let Some(e) = d.next_event().unwrap() {
            out.push((
                e.event_type().to_owned(),
                e.data().to_owned(),
                e.last_event_id().to_owned(),
            ));
        }
        out
    }

    #[test]
    fn value_start_rules() {
        assert_eq!(value_start(b"data: x", b"data"), Some(6));
        assert_eq!(value_start(b"data:x", b"data"), Some(5));
        assert_eq!(value_start(b"data:  x", b"data"), Some(6));
        assert_eq!(value_start(b"data", b"data"), Some(4));
        assert_eq!(value_start(b"data ", b"data"), None);
        assert_eq!(value_start(b"datum", b"data"), None);
        assert_eq!(value_start(b"dat", b"data"), None);
    }

    #[test]
    fn retry_parsing() {
        assert_eq!(parse_retry(b"03000"), Some(3000));
        assert_eq!(parse_retry(b""), None);
        assert_eq!(parse_retry(b" 1"), None);
        assert_eq!(parse_retry(b"1.5"), None);
        assert_eq!(parse_retry(b"18446744073709551615"), Some(u64::MAX));
        assert_eq!(parse_retry(b"18446744073709551616"), None);
    }

    #[test]
    fn empty_retry_is_ignored() {
        let mut d = Decoder::new();
        d.feed("retry: 10\n\nretry\n\nretry:\n\n");
        assert!(d.next_event().unwrap().is_none());
        assert_eq!(d.retry(), Some(Duration::from_millis(10)));
    }

    #[test]
    fn type_and_id_rules() {
        assert_eq!(
            events("event: a\ndata: 1\n\ndata: 2\n\nid: x\0\ndata: 3\n\n"),
            [
                ("a".into(), "1".into(), "".into()),
                ("message".into(), "2".into(), "".into()),
                ("message".into(), "3".into(), "".into()),
            ]
        );
    }

    #[test]
    fn invalid_utf8_becomes_replacement_characters() {
        let mut d = Decoder::new();
        d.feed(&b"event: \xff\nid: \xc3\ndata: a\xe2\x82\ndata: b\n\n"[..]);
        let e = d.next_event().unwrap().unwrap();
        assert_eq!(e.event_type(), "\u{fffd}");
        assert_eq!(e.last_event_id(), "\u{fffd}");
        assert_eq!(e.data(), "a\u{fffd}\nb");
    }

    #[test]
    fn bom_only_at_the_start_even_when_split() {
        let input = b"\xef\xbb\xbfdata: 1\n\n\xef\xbb\xbfdata: 2\n\ndata: 3\n\n";
        for chunk in 1..input.len() {
            let got: Vec<_> = decode_all(input, chunk)
                .into_iter()
                .map(|r| match r {
                    Ok(Decoded::Event(e)) => e.data().to_owned(),
                    other => panic!("{other:?}"),
                })
                .collect();
            assert_eq!(got, ["1", "3"], "chunk {chunk}");
        }
    }

    #[test]
    fn cr_at_chunk_end_dispatches_at_once() {
        let mut d = Decoder::new();
        d.feed("data: x\r\r");
        assert_eq!(d.next_event().unwrap().unwrap().data(), "x");
        d.feed("\ndata: y\r");
        assert!(d.next_event().unwrap().is_none());
        d.feed("\n\n");
        assert_eq!(d.next_event().unwrap().unwrap().data(), "y");
    }

    #[test]
    fn limits_are_reported_once_and_the_event_is_skipped() {
        let long = format!(
            "data: a\n\ndata: {}\ndata: more\n: {}\n\ndata: b\n\n",
            "x".repeat(80),
            "y".repeat(200)
        );
        for chunk in [1, 2, 3, 7, 64, 1000] {
            let got = decode_all(long.as_bytes(), chunk);
            assert_eq!(got.len(), 3, "chunk {chunk}: {got:?}");
            assert!(matches!(&got[0], Ok(Decoded::Event(e)) if e.data() == "a"));
            assert_eq!(
                got[1],
                Err(DecodeError::LineTooLong {
                    limit: 64,
                    position: 9
                })
            );
            assert!(matches!(&got[2], Ok(Decoded::Event(e)) if e.data() == "b"));
        }
    }

    #[test]
    fn event_limit_counts_data_and_type() {
        let input = format!(
            "event: {}\ndata: {}\ndata: {}\n\ndata: ok\n\n",
            "t".repeat(30),
            "d".repeat(50),
            "e".repeat(30)
        );
        for chunk in [1, 5, 1000] {
            let got = decode_all(input.as_bytes(), chunk);
            assert_eq!(got.len(), 2, "{got:?}");
            assert_eq!(
                got[0],
                Err(DecodeError::EventTooLarge {
                    limit: 100,
                    position: 95
                })
            );
            assert!(matches!(&got[1], Ok(Decoded::Event(e)) if e.data() == "ok"));
        }
    }

    #[test]
    fn the_event_limit_counts_the_type_as_kept() {
        // Found by the fuzz target: one invalid byte is kept as U+FFFD, three bytes.
        let mut d = Decoder::new().with_max_event_size(2);
        d.feed(&b"event: \xff\n"[..]);
        assert!(matches!(
            d.next_event(),
            Err(DecodeError::EventTooLarge { limit: 2, .. })
        ));
        assert!(d.next_event().unwrap().is_none());
        assert_eq!(d.buffered_len(), 0);
        d.feed("\nevent: o\ndata: x\n\n");
        assert_eq!(d.next_event().unwrap().unwrap().event_type(), "o");
    }

    #[test]
    fn partial_lines_stay_bounded() {
        let mut d = Decoder::new().with_max_line_size(16);
        d.feed("data: 0123456789");
        assert!(d.next_event().unwrap().is_none());
        d.feed("abcdef");
        assert!(matches!(
            d.next_event(),
            Err(DecodeError::LineTooLong { .. })
        ));
        for _ in 0..1000 {
            d.feed("z".repeat(1000));
            assert!(d.next_event().unwrap().is_none());
            assert_eq!(d.buffered_len(), 0);
        }
        d.feed("\n\ndata: fine\n\n");
        assert_eq!(d.next_event().unwrap().unwrap().data(), "fine");
    }

    #[test]
    fn single_line_data_is_not_copied() {
        let input = Bytes::from_static(b"data: zero-copy\n\n");
        let mut d = Decoder::new();
        d.feed(input.clone());
        let e = d.next_event().unwrap().unwrap();
        assert_eq!(e.data_bytes().as_ptr(), input[6..].as_ptr());
    }

    #[test]
    fn last_event_id_survives_reset() {
        let mut d = Decoder::new();
        d.feed("id: 1\ndata: a\n\nid: 2\ndata: b");
        assert_eq!(d.next_event().unwrap().unwrap().last_event_id(), "1");
        assert!(d.next_event().unwrap().is_none());
        d.reset();
        assert_eq!(d.last_event_id(), "1");
        d.feed("data: c\n\n");
        assert_eq!(d.next_event().unwrap().unwrap().last_event_id(), "1");
    }

    #[test]
    fn fed_chunks_queue_up_in_order() {
        let mut d = Decoder::new();
        d.feed("data: 1\n\nda");
        d.feed("ta: 2\n");
        d.feed("\ndata: 3\n\n");
        let got: Vec<_> = std::iter::from_fn(|| d.next_event().unwrap())
            .map(|e| e.data().to_owned())
            .collect();
        assert_eq!(got, ["1", "2", "3"]);
        assert_eq!(d.buffered_len(), 0);
    }
}
