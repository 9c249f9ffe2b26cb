//! [`WithData`]: an event with data kept as the caller gave it, copied only when the
//! event is written.

use std::fmt;

use bytes::BytesMut;

use super::builder::Event;
use crate::encoded::EncodedEvent;
use crate::scan::{has_line_break, split_line};

/// Bytes a `data:` line adds around its text: `data: ` and `\n`.
const DATA_LINE_FRAME: usize = b"data: \n".len();

/// An [`Event`] with its last piece of data kept as given (a `String`, an
/// `Arc<str>`, a `&'static str`...), not copied into the event.
///
/// Made by [`Event::attach_data`]. It writes the same bytes as
/// `event.data(data)`, but the data is copied only once, when the event is written,
/// and nothing is allocated for it: a stream of `WithData` fed to
/// [`SseBody`](crate::SseBody) costs no allocation per event while events are
/// coalesced into chunks (an [`Event`] costs one, for the buffer that holds its
/// data). It is the fastest way to stream data you already own, such as a
/// `String` from `serde_json::to_string`.
///
/// It has no setters: set every field of the event before attaching the data, so
/// that what is written is decided once. The data is split into `data:` lines at
/// every CRLF, CR and LF, as [`Event::data`] does.
///
/// ```
/// use futures_util::StreamExt;
/// use ssewire::{Event, EventType, SseBody};
///
/// const PRICE: EventType = EventType::from_static("price");
///
/// # futures_executor::block_on(async {
/// let quotes = vec![(1u64, String::from("{\"eur\":1.08}")), (2, String::from("{\"eur\":1.09}"))];
/// let events = futures_util::stream::iter(quotes)
///     .map(|(id, json)| Event::new().event(PRICE).id(id).attach_data(json));
/// let mut body = SseBody::new(events);
/// let chunk = body.next().await.unwrap().unwrap();
/// assert_eq!(
///     &chunk[..],
///     b"event: price\nid: 1\ndata: {\"eur\":1.08}\n\nevent: price\nid: 2\ndata: {\"eur\":1.09}\n\n"
/// );
/// # });
/// ```
#[derive(Clone)]
#[must_use = "an event does nothing until it is encoded or sent"]
pub struct WithData<D> {
    event: Event,
    data: D,
}

impl Event {
    /// Attaches `data` as the event's last piece of data, kept as it is until the
    /// event is written: see [`WithData`]. Same bytes as [`Event::data`], without
    /// the copy into the event's own buffer.
    ///
    /// ```
    /// use ssewire::Event;
    ///
    /// let json = String::from("{\"n\":1}");
    /// let event = Event::new().id(1u8).attach_data(json);
    /// assert_eq!(event.encode().as_ref(), b"id: 1\ndata: {\"n\":1}\n\n");
    /// ```
    #[inline]
    pub fn attach_data<D: AsRef<str>>(self, data: D) -> WithData<D> {
        WithData { event: self, data }
    }
}

impl<D: AsRef<str>> WithData<D> {
    /// The event without the attached data, and the data.
    ///
    /// ```
    /// let (event, data) = ssewire::Event::new().id(3u8).attach_data("x").into_parts();
    /// assert_eq!(data, "x");
    /// assert_eq!(event.encode().as_ref(), b"id: 3\n\n");
    /// ```
    pub fn into_parts(self) -> (Event, D) {
        (self.event, self.data)
    }

    /// The attached data.
    ///
    /// ```
    /// let event = ssewire::Event::new().attach_data(String::from("x"));
    /// assert_eq!(event.data(), "x");
    /// ```
    pub fn data(&self) -> &D {
        &self.data
    }

    /// The event as a plain [`Event`], the data copied into it.
    ///
    /// ```
    /// use ssewire::Event;
    /// let attached = Event::new().id(1u8).attach_data("a\nb");
    /// let plain = Event::new().id(1u8).data("a\nb");
    /// assert_eq!(attached.into_event().encode(), plain.encode());
    /// ```
    pub fn into_event(self) -> Event {
        self.event.data(self.data)
    }

    /// The exact number of bytes the event takes on the wire.
    ///
    /// ```
    /// let event = ssewire::Event::new().attach_data("a\r\nb");
    /// assert_eq!(event.encoded_len(), b"data: a\ndata: b\n\n".len());
    /// ```
    pub fn encoded_len(&self) -> usize {
        self.event.header.encoded_len()
            + self.event.lines.encoded_len()
            + data_lines_len(self.data.as_ref().as_bytes())
            + 1
    }

    /// At least [`WithData::encoded_len`] whatever the line breaks in the data, with
    /// no scan of the data: for deciding cheaply that an event fits.
    #[inline]
    pub(crate) fn worst_case_len(&self) -> usize {
        // Every byte a line break: each becomes a line of its own.
        // Saturating: on 32-bit targets a huge `data` would otherwise wrap to a small
        // bound and let the event join a chunk it overflows.
        let data = self.data.as_ref().len();
        (self.event.header.max_encoded_len() + self.event.lines.encoded_len() + 1)
            .saturating_add(DATA_LINE_FRAME.saturating_mul(data.saturating_add(1)))
    }

    /// Appends the event to `buf`: one copy of the data, and no allocation once the
    /// buffer has room. Same as [`Event::encode_with_data_to`].
    ///
    /// ```
    /// let mut buf = bytes::BytesMut::with_capacity(64);
    /// ssewire::Event::new().attach_data("x").encode_to(&mut buf);
    /// assert_eq!(&buf[..], b"data: x\n\n");
    /// ```
    #[inline]
    pub fn encode_to(&self, buf: &mut BytesMut) {
        self.event.encode_with_data_to(self.data.as_ref(), buf);
    }

    /// Encodes the event into one shareable [`EncodedEvent`]: one copy of the data,
    /// and one allocation of the exact size when the data has no line break (more
    /// when the buffer has to grow for the extra `data: ` of each line).
    ///
    /// ```
    /// let encoded = ssewire::Event::new().attach_data(String::from("hi")).encode();
    /// assert_eq!(encoded.as_ref(), b"data: hi\n\n");
    /// ```
    pub fn encode(&self) -> EncodedEvent {
        // Sized for data without line breaks (the common case), which is then exact,
        // so that the `Bytes` needs no allocation of its own, and written without
        // scanning the data twice.
        let data = self.data.as_ref().as_bytes();
        let mut buf = Vec::with_capacity(
            self.event.header.encoded_len()
                + self.event.lines.encoded_len()
                + DATA_LINE_FRAME
                + data.len()
                + 1,
        );
        self.event.write_with_data(data, &mut buf);
        EncodedEvent::new_unchecked(buf.into())
    }
}

/// The bytes `data` takes as `data:` lines (see `write_data_lines` in the builder).
fn data_lines_len(data: &[u8]) -> usize {
    if !has_line_break(data) {
        return DATA_LINE_FRAME + data.len();
    }
    let mut len = 0;
    let mut rest = data;
    loop {
        let (line, next) = split_line(rest);
        len += DATA_LINE_FRAME + line.len();
        match next {
            Some(next) => rest = next,
            None => return len,
        }
    }
}

impl<D: AsRef<str>> fmt::Debug for WithData<D> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WithData")
            .field("event", &self.event)
            .field("data", &self.data.as_ref())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::EventType;
    use std::time::Duration;

    const TICK: EventType = EventType::from_static("tick");

    /// Same bytes as `Event::data`, and the exact length, for data with every kind of
    /// line break, with fields and comments before it.
    #[test]
    fn writes_what_event_data_writes() {
        let datas = [
            "",
            "x",
            "a\nb",
            "a\r\nb",
            "a\rb",
            "\n",
            "\r\n",
            "\r",
            "a\n\nb\r\r\nc\n",
            "é\r",
        ];
        for data in datas {
            let bases = [
                Event::new(),
                Event::new().event(TICK).id(7u64),
                Event::new().retry(Duration::from_millis(5)).comment("c"),
                Event::new().data("first"),
            ];
            for base in bases {
                let plain = base.clone().data(data).encode();
                let attached = base.attach_data(data);
                assert_eq!(attached.encoded_len(), plain.len(), "{data:?}");
                assert!(attached.worst_case_len() >= plain.len(), "{data:?}");
                assert_eq!(attached.encode(), plain, "{data:?}");
                assert_eq!(attached.clone().into_event().encode(), plain, "{data:?}");
            }
        }
    }
}
