//! [`Decoder`]: the sans-IO decoder, chunks in ([`Decoder::feed`]), events out
//! ([`Decoder::next_event`]); it joins the line splitter and the line parser.

use std::fmt;
use std::time::Duration;

use bytes::Bytes;

use super::error::DecodeError;
use super::lines::{Lines, Next};
use super::message::{Decoded, MessageEvent};
use super::parser::{Parser, Step};
use crate::EventId;

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
/// and not decoded yet. The data is counted as it arrived: each invalid UTF-8 byte in
/// it becomes U+FFFD, three bytes, so the text kept can be up to three times the limit.
/// Past a limit, [`next_event`](Decoder::next_event) returns a [`DecodeError`] once and
/// the decoder skips the rest of that event without buffering it; its `id` and `retry`
/// fields still count. One-line data is a slice of the fed `Bytes` (no copy): an event
/// that is kept keeps the chunk its data arrived in, and the whole allocation behind
/// it when that `Bytes` is itself a slice of a larger buffer (as an HTTP client's
/// chunks may be). Copy the data out to keep less.
///
/// # Reconnecting
///
/// [`last_event_id`](Decoder::last_event_id) is what to send in `Last-Event-ID` when
/// reconnecting, and [`reconnection_time`](Decoder::reconnection_time) how long to wait first. For the new
/// connection's body call [`reset`](Decoder::reset): like a browser, the decoder keeps
/// the last event ID and the reconnection time and starts everything else afresh.
pub struct Decoder {
    /// The input, split into lines.
    lines: Lines,
    /// What the lines mean.
    parser: Parser,
}

impl Default for Decoder {
    fn default() -> Self {
        Decoder::new()
    }
}

impl fmt::Debug for Decoder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Decoder")
            .field("max_line_size", &self.max_line_size())
            .field("max_event_size", &self.max_event_size())
            .field("last_event_id", &self.last_event_id())
            .field("reconnection_time", &self.reconnection_time())
            .field("buffered", &self.buffered_len())
            .finish_non_exhaustive()
    }
}

impl Decoder {
    /// The default of [`max_line_size`](Decoder::max_line_size): 8 MiB.
    ///
    /// ```
    /// assert_eq!(ssewire::Decoder::DEFAULT_MAX_LINE_SIZE, 8 * 1024 * 1024);
    /// ```
    pub const DEFAULT_MAX_LINE_SIZE: usize = 8 * 1024 * 1024;

    /// The default of [`max_event_size`](Decoder::max_event_size): 8 MiB.
    ///
    /// ```
    /// assert_eq!(ssewire::Decoder::DEFAULT_MAX_EVENT_SIZE, 8 * 1024 * 1024);
    /// ```
    pub const DEFAULT_MAX_EVENT_SIZE: usize = 8 * 1024 * 1024;

    /// A decoder with the default limits ([`DEFAULT_MAX_LINE_SIZE`] per line and
    /// [`DEFAULT_MAX_EVENT_SIZE`] per event) and no last event ID.
    ///
    /// [`DEFAULT_MAX_LINE_SIZE`]: Decoder::DEFAULT_MAX_LINE_SIZE
    /// [`DEFAULT_MAX_EVENT_SIZE`]: Decoder::DEFAULT_MAX_EVENT_SIZE
    ///
    /// ```
    /// let decoder = ssewire::Decoder::new();
    /// assert_eq!(decoder.max_event_size(), ssewire::Decoder::DEFAULT_MAX_EVENT_SIZE);
    /// assert_eq!(decoder.last_event_id(), "");
    /// ```
    pub fn new() -> Self {
        Decoder {
            lines: Lines::new(Decoder::DEFAULT_MAX_LINE_SIZE),
            parser: Parser::new(Decoder::DEFAULT_MAX_EVENT_SIZE),
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
        self.parser.set_max_event(limit);
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
        self.lines.set_max_line(limit);
        self
    }

    /// Starts with a last event ID, for example one a client stored before it was
    /// restarted: events report it until the stream sends an `id`. An [`EventId`]
    /// (a number, or text checked by [`EventId::new`]), so that it is one the stream
    /// itself could have set: no CR, LF or NUL.
    ///
    /// ```
    /// use ssewire::{Decoder, EventId};
    ///
    /// let mut decoder = Decoder::new().with_last_event_id(41u64);
    /// decoder.feed("data: x\n\n");
    /// assert_eq!(decoder.next_event()?.unwrap().last_event_id(), "41");
    ///
    /// // Text read back from a file, say, is checked first.
    /// let saved = EventId::new("order-7")?;
    /// assert_eq!(Decoder::new().with_last_event_id(saved).last_event_id(), "order-7");
    /// assert!(EventId::new("42\n").is_err());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn with_last_event_id(mut self, id: impl Into<EventId>) -> Self {
        self.parser.set_last_event_id(id.into().to_string());
        self
    }

    /// [`Decoder::with_last_event_id`] from the text of an id checked already.
    #[cfg(feature = "client")]
    pub(crate) fn with_seeded_last_event_id(mut self, id: String) -> Self {
        self.parser.set_last_event_id(id);
        self
    }

    /// The event size limit (see [`Decoder::with_max_event_size`]).
    ///
    /// ```
    /// assert_eq!(ssewire::Decoder::new().max_event_size(), 8 << 20);
    /// ```
    pub fn max_event_size(&self) -> usize {
        self.parser.max_event()
    }

    /// The line size limit (see [`Decoder::with_max_line_size`]).
    ///
    /// ```
    /// assert_eq!(ssewire::Decoder::new().max_line_size(), 8 << 20);
    /// ```
    pub fn max_line_size(&self) -> usize {
        self.lines.max_line()
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
        self.parser.last_event_id()
    }

    /// The latest reconnection time set by a `retry:` field decoded so far, if any:
    /// how long to wait before reconnecting (the spec's name for the `retry` value).
    ///
    /// ```
    /// use std::time::Duration;
    /// let mut decoder = ssewire::Decoder::new();
    /// decoder.feed("retry: 3000\nretry: 1e3\n");
    /// assert!(decoder.next_event()?.is_none());
    /// assert_eq!(decoder.reconnection_time(), Some(Duration::from_secs(3)));
    /// # Ok::<(), ssewire::DecodeError>(())
    /// ```
    pub fn reconnection_time(&self) -> Option<Duration> {
        self.parser.reconnection_time()
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
        self.lines.buffered_len() + self.parser.buffered_len()
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
    #[inline]
    pub fn feed(&mut self, chunk: impl Into<Bytes>) {
        self.lines.feed(chunk.into());
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
    #[inline]
    pub fn next_event(&mut self) -> Result<Option<MessageEvent>, DecodeError> {
        Ok(if self.event_ready()? {
            // Built right here, in the value returned (see `Step`).
            Some(self.take_event())
        } else {
            None
        })
    }

    /// Whether an event is ready for [`Decoder::take_event`] (`false`: more input is
    /// needed). Comments and `retry` fields are applied and skipped.
    #[inline]
    pub(super) fn event_ready(&mut self) -> Result<bool, DecodeError> {
        loop {
            match self.next_step(false)? {
                Step::Event => return Ok(true),
                Step::Nothing => return Ok(false),
                Step::ReconnectionTime(_) | Step::Comment(_) => {}
            }
        }
    }

    /// The event that [`Decoder::event_ready`] announced, built where the caller
    /// returns it.
    #[inline(always)]
    pub(super) fn take_event(&mut self) -> MessageEvent {
        self.parser.take_event()
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
        Ok(match self.next_step(true)? {
            Step::Event => Some(Decoded::Event(self.parser.take_event())),
            Step::ReconnectionTime(time) => Some(Decoded::ReconnectionTime(time)),
            Step::Comment(text) => Some(Decoded::Comment(text)),
            Step::Nothing => None,
        })
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
        self.lines.reset();
        self.parser.reset();
    }

    /// The next line that hands something out ([`Step::Nothing`]: more input is
    /// needed).
    #[inline]
    fn next_step(&mut self, all: bool) -> Result<Step, DecodeError> {
        loop {
            match self.lines.next(self.parser.is_skipping()) {
                Next::Line(line) => match self.parser.line(line, all)? {
                    Step::Nothing => {}
                    step => return Ok(step),
                },
                Next::TooLong { offset } => {
                    self.parser.start_skipping();
                    return Err(DecodeError::LineTooLong {
                        limit: self.lines.max_line(),
                        offset,
                    });
                }
                Next::NeedMore => return Ok(Step::Nothing),
            }
        }
    }
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
    fn empty_retry_is_ignored() {
        let mut d = Decoder::new();
        d.feed("retry: 10\n\nretry\n\nretry:\n\n");
        assert!(d.next_event().unwrap().is_none());
        assert_eq!(d.reconnection_time(), Some(Duration::from_millis(10)));
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
                    offset: 9
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
                    offset: 95
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
    fn id_and_retry_of_a_skipped_event_still_count_whatever_the_chunks() {
        // Found by review: an `id` after the line that made the event too large was
        // dropped with the event, so a client resumed from the id before it, and the
        // server replayed the event it could not take, forever.
        let input = b"data: 0123456789\nid: 5\nretry: 700\ndata: more\n\ndata: ok\n\n";
        for chunk in 1..=input.len() {
            let mut d = Decoder::new().with_max_event_size(4);
            let mut got = Vec::new();
            for piece in input.chunks(chunk) {
                d.feed(Bytes::copy_from_slice(piece));
                while let Some(x) = d.next_decoded().transpose() {
                    got.push(x);
                }
            }
            assert_eq!(got.len(), 3, "chunks of {chunk}: {got:?}");
            assert!(matches!(
                got[0],
                Err(DecodeError::EventTooLarge {
                    limit: 4,
                    offset: 0
                })
            ));
            assert_eq!(
                got[1],
                Ok(Decoded::ReconnectionTime(Duration::from_millis(700)))
            );
            assert!(
                matches!(&got[2], Ok(Decoded::Event(e)) if e.data() == "ok" && e.last_event_id() == "5"),
                "chunks of {chunk}: {got:?}"
            );
            assert_eq!(d.last_event_id(), "5");
        }
        // After a line over the line limit too, split anywhere.
        let input = format!("data: {}\nid: 77\n\ndata: ok\n\n", "x".repeat(100));
        for chunk in [1, 2, 3, 7, 50, 1000] {
            let mut d = Decoder::new().with_max_line_size(64);
            let mut events = Vec::new();
            let mut errors = 0;
            for piece in input.as_bytes().chunks(chunk) {
                d.feed(Bytes::copy_from_slice(piece));
                loop {
                    match d.next_event() {
                        Ok(Some(e)) => events.push(e),
                        Ok(None) => break,
                        Err(_) => errors += 1,
                    }
                }
            }
            assert_eq!(errors, 1, "chunks of {chunk}");
            assert_eq!(events.len(), 1);
            assert_eq!(events[0].last_event_id(), "77", "chunks of {chunk}");
        }
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

    /// A stream through every fast path: labels inline (22 bytes) and not (23, a
    /// UUID), one-line and multi-line data, CR, CRLF, a BOM, invalid UTF-8 in each
    /// field, a comment, an empty data field, and an unfinished event.
    const EDGES: &[u8] = b"\xef\xbb\xbfevent: t\r\nid: 0123456789012345678901\rdata: a\n\n\
        event: 01234567890123456789012\nid: 123e4567-e89b-12d3-a456-426614174000\n\
        data: b\r\ndata: c\r\rid: \xff\nevent: \xfe\ndata: \xe2\x82\n\n: c\ndata\n\nevent: x\nid: y";

    #[test]
    fn the_fast_paths_decode_as_the_spec_says() {
        let got: Vec<_> = decode_all(EDGES, EDGES.len())
            .into_iter()
            .map(|r| match r {
                Ok(Decoded::Event(e)) => {
                    format!("{}|{}|{}", e.event_type(), e.data(), e.last_event_id())
                }
                other => format!("{other:?}"),
            })
            .collect();
        assert_eq!(
            got,
            [
                "t|a|0123456789012345678901",
                "01234567890123456789012|b\nc|123e4567-e89b-12d3-a456-426614174000",
                "\u{fffd}|\u{fffd}|\u{fffd}",
                "Ok(Comment(\"c\"))",
                "message||\u{fffd}",
            ]
        );
    }

    #[test]
    fn every_cut_of_the_stream_gives_the_same_events() {
        let whole = decode_all(EDGES, EDGES.len());
        for cut in 0..=EDGES.len() {
            let mut d = Decoder::new()
                .with_max_line_size(64)
                .with_max_event_size(100);
            let mut got = Vec::new();
            for piece in [&EDGES[..cut], &EDGES[cut..]] {
                d.feed(Bytes::copy_from_slice(piece));
                while let Some(x) = d.next_decoded().transpose() {
                    got.push(x);
                }
            }
            // Events compare equal by value: a label's inline buffer may hold bytes
            // past its end (a copy of fixed size), which must never show.
            assert_eq!(got, whole, "cut at {cut}");
        }
        for chunk in 1..8 {
            assert_eq!(decode_all(EDGES, chunk), whole, "chunks of {chunk}");
        }
    }

    #[test]
    fn labels_at_the_end_of_a_chunk() {
        // The type and the id end their chunk: the fixed-size copy cannot read past it.
        for input in ["event: tick", "id: 7"] {
            let mut d = Decoder::new();
            d.feed(input);
            assert!(d.next_event().unwrap().is_none());
            d.feed("\ndata: x\n\n");
            let e = d.next_event().unwrap().unwrap();
            assert_eq!(
                (e.event_type(), e.last_event_id()),
                if input.starts_with('e') {
                    ("tick", "")
                } else {
                    ("message", "7")
                }
            );
        }
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
