//! What a [`Decoder`](crate::Decoder) hands out: [`MessageEvent`] and [`Decoded`];
//! and the way back to the encoder, `Event::from(&MessageEvent)`, for relays.

use std::fmt;
use std::time::Duration;

use bytes::Bytes;

use super::text::{Label, Text};
use crate::{Event, EventId, EventType};

/// One event dispatched by a [`Decoder`](crate::Decoder): what a browser hands to `onmessage` or to an
/// `addEventListener(type, ...)` listener.
///
/// The data is kept as the `Bytes` it arrived in whenever it was one line inside one
/// chunk of at most 64 KiB (no copy), so holding on to an event also holds on to that
/// chunk's memory; data the decoder assembled (several lines, or a line cut by chunk
/// boundaries) is kept in the `String` it was assembled in. It never holds on to a
/// buffer larger than 64 KiB unless its own bytes are at least half of it (a small
/// value is copied out). The 64 KiB are those of the `Bytes` given to
/// [`feed`](crate::Decoder::feed): when that is a slice of a larger allocation (an
/// HTTP client may cut its chunks from one read buffer), a kept event keeps that whole
/// allocation alive. Copy the data out (for example with `data().to_owned()`) to keep
/// only its own bytes.
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
    #[inline]
    pub(super) fn new(event_type: Label, data: Text, last_event_id: Label) -> Self {
        MessageEvent {
            event_type: (!event_type.is_empty()).then_some(event_type),
            data,
            last_event_id,
        }
    }

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
    #[inline]
    pub fn event_type(&self) -> &str {
        match &self.event_type {
            Some(t) => t.as_str(),
            None => "message",
        }
    }

    /// The data: the values of the event's `data:` fields joined with `\n`. Invalid
    /// UTF-8 in the stream has been replaced with U+FFFD.
    ///
    /// Data the decoder assembled itself (a line that arrived in several chunks, or
    /// several `data` lines) was checked as UTF-8 once, when it was decoded, and this
    /// costs nothing. One-line data in one chunk is a slice of that chunk, and its
    /// (valid) UTF-8 is checked once more to hand out a `&str` without `unsafe` code;
    /// so is ASCII data of several lines with feature `simdutf8`, whose check is
    /// faster than `String::from_utf8`'s. That runs at memory speed, but call it once
    /// and keep the `&str` rather than calling it in a loop.
    /// [`MessageEvent::data_bytes`] always costs nothing.
    ///
    /// ```
    /// let mut decoder = ssewire::Decoder::new();
    /// decoder.feed("data: {\"n\":\ndata:  1}\n\n");
    /// assert_eq!(decoder.next_event()?.unwrap().data(), "{\"n\":\n 1}");
    /// # Ok::<(), ssewire::DecodeError>(())
    /// ```
    #[inline]
    pub fn data(&self) -> &str {
        self.data.as_str()
    }

    /// The data as bytes, always valid UTF-8 (for example for
    /// `serde_json::from_slice`), without a check or a copy. For `Bytes`, see
    /// [`MessageEvent::into_data_bytes`].
    ///
    /// ```
    /// let mut decoder = ssewire::Decoder::new();
    /// decoder.feed(bytes::Bytes::from_static(b"data: caf\xc3\xa9\n\n"));
    /// let event = decoder.next_event()?.unwrap();
    /// assert_eq!(event.data_bytes(), "café".as_bytes());
    /// # Ok::<(), ssewire::DecodeError>(())
    /// ```
    #[inline]
    pub fn data_bytes(&self) -> &[u8] {
        self.data.as_bytes()
    }

    /// Takes the data out as `Bytes` (valid UTF-8), without a copy: a slice of the
    /// chunk it arrived in, or the buffer the decoder assembled it in.
    ///
    /// ```
    /// let mut decoder = ssewire::Decoder::new();
    /// decoder.feed("data: x\n\n");
    /// let data: bytes::Bytes = decoder.next_event()?.unwrap().into_data_bytes();
    /// assert_eq!(&data[..], b"x");
    /// # Ok::<(), ssewire::DecodeError>(())
    /// ```
    pub fn into_data_bytes(self) -> Bytes {
        self.data.into_bytes()
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
    #[inline]
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

/// One thing a [`Decoder`](crate::Decoder) found in the stream, from
/// [`Decoder::next_decoded`](crate::Decoder::next_decoded): an
/// event, a new reconnection time, or a comment.
///
/// ```
/// use std::time::Duration;
/// use ssewire::{Decoded, Decoder};
///
/// let mut decoder = Decoder::new();
/// decoder.feed(": hi\nretry: 2500\ndata: x\n\n");
/// assert_eq!(decoder.next_decoded()?, Some(Decoded::Comment("hi".into())));
/// assert_eq!(decoder.next_decoded()?, Some(Decoded::ReconnectionTime(Duration::from_millis(2500))));
/// assert!(matches!(decoder.next_decoded()?, Some(Decoded::Event(e)) if e.data() == "x"));
/// assert_eq!(decoder.next_decoded()?, None);
/// # Ok::<(), ssewire::DecodeError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Decoded {
    /// A dispatched event.
    Event(MessageEvent),
    /// A valid `retry:` field: the client's new reconnection time (what
    /// [`Decoder::reconnection_time`](crate::Decoder::reconnection_time) returns from
    /// then on).
    ReconnectionTime(Duration),
    /// A comment line (`:` and the text after it, with one leading space removed, so
    /// that `: text` gives `text`). Clients ignore comments; servers send them as
    /// keep-alives.
    Comment(String),
}

/// The event a relay re-sends for what it decoded: the same event type (none when
/// the type was the default, so `message` again), the same data, and the last event
/// ID as its id, so that a client downstream ends up with the same `lastEventId` as
/// this decoder. An empty last event ID becomes the empty id (`id: `, which resets a
/// client's last event ID to `""`); the reconnection time is not part of an event
/// (see [`Decoded::ReconnectionTime`]) and is not set.
///
/// ```
/// use ssewire::{Decoder, Event};
///
/// let mut decoder = Decoder::new();
/// decoder.feed("event: tick\nid: 7\ndata: a\ndata: b\n\n");
/// let decoded = decoder.next_event()?.unwrap();
/// let relayed = Event::from(&decoded);
/// assert_eq!(relayed.encode().as_ref(), b"event: tick\nid: 7\ndata: a\ndata: b\n\n");
/// # Ok::<(), ssewire::DecodeError>(())
/// ```
impl From<&MessageEvent> for Event {
    fn from(message: &MessageEvent) -> Event {
        // Building the type and the id cannot fail, and nothing is dropped by the
        // fallbacks below: the encoder refuses CR and LF in a type, and CR, LF and
        // NUL in an id, and a decoded value never holds any of them. A value is read
        // from one line, which ends at the first CR or LF, so it holds neither; and
        // the decoder ignores an `id` field whose value contains NUL (as the spec
        // says), so a last event ID never holds NUL. Invalid UTF-8 was replaced with
        // U+FFFD when decoding, so every value is UTF-8 too. Data may hold LF (the
        // decoder joins `data` lines with LF), which the encoder splits back into the
        // same lines.
        let mut event = Event::new();
        if let Some(event_type) = &message.event_type {
            match EventType::new(event_type.as_str()) {
                Ok(event_type) => event = event.event(event_type),
                Err(_) => debug_assert!(false, "a decoded event type is always valid"),
            }
        }
        match EventId::new(message.last_event_id()) {
            Ok(id) => event = event.id(id),
            Err(_) => debug_assert!(false, "a decoded event id is always valid"),
        }
        event.data(message.data())
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::super::text::Text;
    use crate::Decoder;

    /// Every event of `wire` fed in pieces cut at `cuts`.
    fn decode(wire: &[u8], cuts: &[usize]) -> Vec<super::MessageEvent> {
        let mut decoder = Decoder::new();
        let mut at = 0;
        for &cut in cuts.iter().chain([&wire.len()]) {
            decoder.feed(Bytes::copy_from_slice(&wire[at..cut]));
            at = cut;
        }
        std::iter::from_fn(|| decoder.next_event().unwrap()).collect()
    }

    fn check(event: super::MessageEvent, expected: &str) {
        assert_eq!(event.data(), expected);
        assert_eq!(event.data_bytes(), expected.as_bytes());
        assert_eq!(event.clone(), event);
        assert_eq!(&event.into_data_bytes()[..], expected.as_bytes());
    }

    #[test]
    fn data_assembled_from_chunks_and_lines() {
        let long = "é€x".repeat(3000);
        let cases: [(Vec<u8>, String); 4] = [
            // One line cut by chunk boundaries, also inside its characters.
            (format!("data: {long}\n\n").into_bytes(), long.clone()),
            // Several lines, one of them cut.
            (
                format!("data: a\ndata: {long}\ndata: b\n\n").into_bytes(),
                format!("a\n{long}\nb"),
            ),
            // Invalid UTF-8 in a cut line: U+FFFD, whatever the cut.
            (
                [&b"data: \xff"[..], long.as_bytes(), b"\xe2\x82\n\n"].concat(),
                format!("\u{fffd}{long}\u{fffd}"),
            ),
            // And in a multi-line event.
            (
                [&b"data: \xffa\ndata: "[..], long.as_bytes(), b"\xc3\n\n"].concat(),
                format!("\u{fffd}a\n{long}\u{fffd}"),
            ),
        ];
        for (wire, expected) in cases {
            let whole = decode(&wire, &[]);
            for cuts in [
                vec![7],
                vec![8, 9, 10],
                vec![1000, 1001, 5000],
                vec![wire.len() - 3],
            ] {
                let got = decode(&wire, &cuts);
                assert_eq!(got, whole, "{cuts:?}");
                assert_eq!(got.len(), 1);
                for event in got {
                    check(event, &expected);
                }
            }
            check(whole.into_iter().next().unwrap(), &expected);
        }
    }

    #[test]
    fn a_line_assembled_from_chunks_is_owned_text() {
        let line = "x".repeat(100);
        let wire = format!("data: {line}\n\n");
        let got = decode(wire.as_bytes(), &[50]);
        assert!(matches!(&got[0].data, Text::Owned { text, start: 6 } if text.len() == 106));
        check(got[0].clone(), &line);
        // A clone shares the text (as a clone of `Bytes` would), and the data comes out
        // right whether or not a clone is still alive.
        let clone = got[0].clone();
        assert_eq!(clone.data().as_ptr(), got[0].data().as_ptr());
        let original = got.into_iter().next().unwrap();
        assert_eq!(&original.into_data_bytes()[..], line.as_bytes());
        assert_eq!(&clone.into_data_bytes()[..], line.as_bytes());
    }

    #[test]
    fn a_small_value_does_not_keep_a_large_buffer() {
        // A large line cut by a chunk boundary, then a small one: the small line's
        // buffer is reserved for the large one's size, and its value is copied out.
        let large = "x".repeat(1 << 20);
        let wire = format!("data: {large}\n\ndata: abc\n\n");
        let got = decode(wire.as_bytes(), &[1000, large.len() + 8 + 9]);
        assert_eq!(got.len(), 2);
        check(got[0].clone(), &large);
        assert!(
            matches!(&got[1].data, Text::Owned { text, start: 0 } if text.capacity() < 1024),
            "{:?}",
            got[1]
        );
        check(got[1].clone(), "abc");
    }
}
