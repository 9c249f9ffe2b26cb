//! The public event builder.

use std::fmt;
use std::time::Duration;

use bytes::{Bytes, BytesMut};

use super::header::Header;
use super::into_field::{IntoEventId, IntoEventType};
use super::lines::Lines;
use crate::encoded::EncodedEvent;
use crate::error::{EventError, Field};
use crate::fields::{EventId, EventType};
use crate::scan::{has_line_break, split_line};
use crate::wire::{Sink, SliceSink};

/// Room kept in front of the first line for header fields set after it, so that they
/// cost no copy either: enough for `event: user-joined` and a 20-digit id (44 bytes),
/// or for a short type, id and `retry` together. Less once the event type and the id
/// are set.
const LATE_HEADER_ROOM: usize = 48;
const LATE_RETRY_ROOM: usize = 16;

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
/// | [`retry`](Event::retry) | `retry: ` (whole milliseconds, at most 2^31 - 1) | the last value wins |
///
/// The wire order is `event`, `id`, `retry`, then comments and data lines in the order
/// they were added; the setters may be called in any order. Data is split at every
/// CRLF, CR and LF, so a client reads CR and CRLF back as LF. Empty data still writes
/// one `data: ` line (browsers deliver it as an event with empty data), and an event
/// with no data at all is not delivered to page listeners by browsers, though its
/// `id` and `retry` still take effect.
///
/// An event with an event type, an id or data ends with a blank line, which makes
/// the client dispatch it. An event of only comments and/or `retry` has nothing to
/// dispatch and is written without one: a blank line after it would make some
/// clients (Python's `httpx-sse`) report an empty `message` event.
///
/// # Coming from axum / actix-web-lab
///
/// The setters have the same names, but they never panic and never write a field a
/// client would misread. Text that may hold a line break goes through a checked
/// setter that returns an [`EventError`]: `.try_event(name)?` and `.try_id(text)?`
/// (axum's `.event(..)` and `.id(..)` panic on a line break instead). Literals are
/// checked at compile time in a `const` with [`EventType::from_static`] and
/// [`EventId::from_static`]; numeric ids are taken as numbers (`.id(n)`, no
/// `to_string()`). So `.event("tick")` and `.id(n.to_string())` do not compile, and
/// the compiler error names the call to use:
///
/// ```
/// use ssewire::{Event, EventType};
/// const TICK: EventType = EventType::from_static("tick");
/// let n = 42u64;
/// let user_text = String::from("joined");
/// let a = Event::new().event(TICK).id(n).data("x");
/// let b = Event::new().try_event(user_text)?.try_id(format!("order-{n}"))?.data("y");
/// # let _ = (a, b);
/// # Ok::<(), ssewire::EventError>(())
/// ```
///
/// # Allocations
///
/// Data is copied once into one buffer, with room in front for the header, so a
/// typical event costs one allocation to build and encode with
/// [`encode`](Event::encode), whatever the order of the setters; several pieces of
/// data, comments, or data with CRLF may cost one or two more. An event with neither
/// data nor comments allocates nothing until it is encoded. To send data with no allocation and one
/// copy, attach it instead: [`attach_data`](Event::attach_data) keeps your `String`
/// (or `&'static str`, `Arc<str>`...) as it is until the event is written, and
/// [`SseBody`](crate::SseBody) then copies it straight into its chunk; into a buffer
/// you reuse, give it at write time with
/// [`encode_with_data_to`](Event::encode_with_data_to).
#[derive(Clone, Default)]
#[must_use = "an Event does nothing until it is encoded or sent"]
pub struct Event {
    pub(super) header: Header,
    pub(super) lines: Lines,
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

    /// Sets the event type (`event:`) from an [`EventType`]. The last value set wins.
    /// For text known only at run time, use [`Event::try_event`].
    ///
    /// ```
    /// use ssewire::{Event, EventType};
    /// const PING: EventType = EventType::from_static("ping");
    /// assert_eq!(Event::new().event(PING).encode().as_ref(), b"event: ping\n\n");
    /// ```
    ///
    /// Text does not compile here (see [`IntoEventType`]):
    ///
    /// ```compile_fail,E0277
    /// let _event = ssewire::Event::new().event("tick");
    /// ```
    #[inline]
    pub fn event(mut self, event_type: impl IntoEventType) -> Self {
        self.header.event_type = Some(event_type.into_event_type());
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
    /// For text known only at run time, use [`Event::try_id`].
    ///
    /// ```
    /// assert_eq!(ssewire::Event::new().id(5u32).data("x").encode().as_ref(), b"id: 5\ndata: x\n\n");
    /// ```
    ///
    /// Text does not compile here (see [`IntoEventId`]):
    ///
    /// ```compile_fail,E0277
    /// let n = 5;
    /// let _event = ssewire::Event::new().id(n.to_string());
    /// ```
    #[inline]
    pub fn id(mut self, id: impl IntoEventId) -> Self {
        self.header.id = Some(id.into_event_id());
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

    /// Sets the client's reconnection time (`retry:`), written in whole milliseconds
    /// (sub-millisecond parts are dropped). The last value set wins.
    ///
    /// Values above 2,147,483,647 ms (2^31 - 1, about 24.8 days) are written as
    /// 2,147,483,647: JavaScript timers, which browser-like clients such as the npm
    /// `eventsource` package use, fire at once for any longer delay, so a larger
    /// number would make clients reconnect immediately instead of waiting.
    ///
    /// ```
    /// use std::time::Duration;
    /// let event = ssewire::Event::new().retry(Duration::from_millis(2500));
    /// assert_eq!(event.encode().as_ref(), b"retry: 2500\n");
    ///
    /// let forever = ssewire::Event::new().retry(Duration::MAX);
    /// assert_eq!(forever.encode().as_ref(), b"retry: 2147483647\n");
    /// ```
    #[inline]
    pub fn retry(mut self, retry: Duration) -> Self {
        self.header.retry = Some(retry);
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
        self.lines().push_data(data.as_ref().as_bytes());
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
        self.lines().push_data(data);
        Ok(self)
    }

    /// Adds a comment: one `: ` line per line of `text`. Clients ignore comments; they
    /// are useful as keep-alives and for debugging. An event of only comments is
    /// written without a blank line (see [`Event`]).
    ///
    /// ```
    /// let event = ssewire::Event::new().comment("two\nlines");
    /// assert_eq!(event.encode().as_ref(), b": two\n: lines\n");
    /// let event = ssewire::Event::new().comment("hi").data("x");
    /// assert_eq!(event.encode().as_ref(), b": hi\ndata: x\n\n");
    /// ```
    pub fn comment(mut self, text: impl AsRef<str>) -> Self {
        self.lines().push_comment(text.as_ref().as_bytes());
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
        self.header.event_type.as_ref()
    }

    /// The id, if set.
    ///
    /// ```
    /// assert_eq!(ssewire::Event::new().id(3u8).event_id().and_then(|id| id.as_u64()), Some(3));
    /// ```
    pub fn event_id(&self) -> Option<&EventId> {
        self.header.id.as_ref()
    }

    /// The reconnection time set with [`Event::retry`], if any, as it was set (the
    /// wire carries it in whole milliseconds, at most 2^31 - 1).
    ///
    /// ```
    /// use std::time::Duration;
    /// let event = ssewire::Event::new().retry(Duration::from_secs(1));
    /// assert_eq!(event.reconnection_time(), Some(Duration::from_secs(1)));
    /// ```
    pub fn reconnection_time(&self) -> Option<Duration> {
        self.header.retry
    }

    /// Whether data was added (an event without data is not delivered to page
    /// listeners by browsers).
    ///
    /// ```
    /// assert!(ssewire::Event::with_data("").has_data());
    /// assert!(!ssewire::Event::new().comment("x").has_data());
    /// ```
    pub fn has_data(&self) -> bool {
        self.lines.has_data()
    }

    /// The exact number of bytes [`Event::encode_to`] writes.
    ///
    /// ```
    /// let event = ssewire::Event::with_data("abc");
    /// assert_eq!(event.encoded_len(), b"data: abc\n\n".len());
    /// ```
    pub fn encoded_len(&self) -> usize {
        self.header.encoded_len()
            + self.lines.encoded_len()
            + usize::from(self.ends_with_blank_line())
    }

    /// At least [`Event::encoded_len`], without counting the digits of numbers: for
    /// sizing and chunking decisions on the hot path.
    #[inline]
    pub(crate) fn max_encoded_len(&self) -> usize {
        self.header.max_encoded_len()
            + self.lines.encoded_len()
            + usize::from(self.ends_with_blank_line())
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
        // An upper bound is enough here: it spares counting the id's digits twice.
        buf.reserve(self.max_encoded_len());
        self.write_to(buf);
    }

    /// Writes the event, with no reserve of its own.
    #[inline]
    fn write_to<S: Sink>(&self, sink: &mut S) {
        self.header.write(sink);
        self.lines.write_to(sink);
        if self.ends_with_blank_line() {
            sink.put(b"\n");
        }
    }

    /// Appends the event with `data` added as its last piece of data to `buf`,
    /// without storing `data` in the event: the same bytes as
    /// `event.clone().data(data).encode_to(buf)`, with no allocation once the buffer
    /// has grown to fit and one copy of `data`, whatever its size. For encoding large
    /// borrowed data into your own buffer; the event, usually its header alone, can be
    /// reused for the next one.
    ///
    /// ```
    /// use bytes::BytesMut;
    /// use ssewire::{Event, EventType};
    ///
    /// const CHUNK: EventType = EventType::from_static("chunk");
    /// let big = "x".repeat(64 * 1024);
    /// let mut buf = BytesMut::with_capacity(128 * 1024);
    /// Event::new().event(CHUNK).id(1u8).encode_with_data_to(&big, &mut buf);
    /// assert!(buf.starts_with(b"event: chunk\nid: 1\ndata: xxx"));
    /// assert_eq!(buf.len(), "event: chunk\nid: 1\ndata: \n\n".len() + big.len());
    ///
    /// // Line breaks split the data into `data:` lines, as with `Event::data`.
    /// buf.clear();
    /// Event::new().encode_with_data_to("a\r\nb", &mut buf);
    /// assert_eq!(&buf[..], b"data: a\ndata: b\n\n");
    /// ```
    #[inline]
    pub fn encode_with_data_to(&self, data: &str, buf: &mut BytesMut) {
        buf.reserve(
            self.header.max_encoded_len()
                + self.lines.encoded_len()
                + b"data: \n\n".len()
                + data.len(),
        );
        self.write_with_data(data.as_bytes(), buf);
    }

    /// Writes the event with `data` as its last piece of data, with no reserve of
    /// its own.
    #[inline]
    pub(super) fn write_with_data<S: Sink>(&self, data: &[u8], sink: &mut S) {
        self.header.write(sink);
        self.lines.write_to(sink);
        if has_line_break(data) {
            write_data_lines(sink, data);
        } else {
            // Most data is one line: one scan (vectorized), one copy.
            sink.put(b"data: ");
            sink.put(data);
            sink.put(b"\n");
        }
        // The event has data, so it ends with a blank line.
        sink.put(b"\n");
    }

    /// Encodes the event into one shareable [`EncodedEvent`].
    ///
    /// The header fields are written into room kept in front of the data, so building
    /// and encoding a typical event costs a single allocation, whatever the order of
    /// the setters.
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
        let blank = self.ends_with_blank_line();
        let header = &self.header;
        let in_place = self
            .lines
            .take_with_header(header.encoded_len(), blank, |room| {
                let mut sink = SliceSink::new(room);
                header.write(&mut sink);
                debug_assert!(sink.is_full());
            });
        if let Some(bytes) = in_place {
            return EncodedEvent::new_unchecked(bytes);
        }
        // An event without data: one buffer, exactly sized, and written without
        // `encode_to`'s reserve (an upper bound, which would grow it again), since a
        // `Bytes` made from a full buffer needs no allocation of its own.
        let mut buf = Vec::with_capacity(self.encoded_len());
        self.write_to(&mut buf);
        debug_assert_eq!(buf.len(), buf.capacity());
        EncodedEvent::new_unchecked(Bytes::from(buf))
    }

    /// Whether the event ends with a blank line: it does when a client has something
    /// to dispatch (an event type, an id, data), and an empty event is a lone blank
    /// line. Only comments and `retry` take effect without one.
    #[inline]
    fn ends_with_blank_line(&self) -> bool {
        self.header.event_type.is_some()
            || self.header.id.is_some()
            || self.lines.has_data()
            || (self.header.retry.is_none() && self.lines.encoded_len() == 0)
    }

    /// The lines, with the headroom for the header planned if they are not
    /// allocated yet.
    #[inline(always)]
    fn lines(&mut self) -> &mut Lines {
        if !self.lines.is_allocated() {
            let late = if self.header.event_type.is_some() && self.header.id.is_some() {
                LATE_RETRY_ROOM
            } else {
                LATE_HEADER_ROOM
            };
            self.lines
                .plan_headroom(self.header.max_encoded_len() + late);
        }
        &mut self.lines
    }

    /// Opens a `data:` line for a [`DataWriter`](crate::DataWriter).
    pub(crate) fn open_data_line(&mut self) {
        self.lines().open_data_line();
    }

    /// Writes text into the open `data:` line of a [`DataWriter`](crate::DataWriter).
    pub(crate) fn write_open_data(&mut self, text: &[u8]) {
        self.lines.write_open_data(text);
    }
}

/// Writes `data` as `data:` lines, split at CRLF, CR and LF, as [`Event::data`] does.
#[inline(never)]
fn write_data_lines<S: Sink>(sink: &mut S, data: &[u8]) {
    sink.put(b"data: ");
    let mut rest = data;
    loop {
        let (line, next) = split_line(rest);
        sink.put(line);
        match next {
            Some(next) => {
                sink.put(b"\ndata: ");
                rest = next;
            }
            None => break,
        }
    }
    sink.put(b"\n");
}

impl From<Event> for Bytes {
    fn from(event: Event) -> Self {
        event.encode().into_bytes()
    }
}

impl fmt::Debug for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Event")
            .field("event", &self.header.event_type)
            .field("id", &self.header.id)
            .field("retry", &self.header.retry)
            .field("lines", &{
                let mut lines = Vec::new();
                self.lines.write_to(&mut lines);
                String::from_utf8_lossy(&lines).into_owned()
            })
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_set_after_data_are_written_into_the_headroom() {
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
        // A header too large for the headroom takes the copying path.
        let long = "t".repeat(100);
        let event = Event::new().data("x").try_event(long.as_str()).unwrap();
        assert_eq!(
            event.encode().as_ref(),
            format!("event: {long}\ndata: x\n\n").as_bytes()
        );
    }

    #[test]
    fn an_event_stays_small() {
        // Events are moved by value through streams and the body: every byte here is
        // copied several times per event. Keeping a 64-byte data line inside the event
        // (192 bytes in all) removed its allocation but made W1 through `SseBody`
        // slower in wall-clock time, not faster (issue 15).
        assert!(std::mem::size_of::<Event>() <= 112);
    }

    #[test]
    fn only_events_with_something_to_dispatch_end_with_a_blank_line() {
        let cases: [(Event, &[u8]); 7] = [
            (Event::new(), b"\n"),
            (Event::new().comment("c"), b": c\n"),
            (Event::new().retry(Duration::from_secs(1)), b"retry: 1000\n"),
            (
                Event::new().comment("c").retry(Duration::from_millis(5)),
                b"retry: 5\n: c\n",
            ),
            (Event::new().id(1u8), b"id: 1\n\n"),
            (
                Event::new().event(EventType::from_static("t")),
                b"event: t\n\n",
            ),
            (Event::new().comment("c").data(""), b": c\ndata: \n\n"),
        ];
        for (event, wire) in cases {
            let mut buf = BytesMut::new();
            event.encode_to(&mut buf);
            assert_eq!(&buf[..], wire, "{event:?}");
            assert_eq!(event.encoded_len(), wire.len());
            assert_eq!(event.encode().as_ref(), wire);
        }
    }
}
