//! What a stream fed to the body yields: [`SseItem`], and the [`OutgoingEvent`] it
//! becomes.

use std::convert::Infallible;

use bytes::{Bytes, BytesMut};

use super::sse_body::ALONE_FROM;
use crate::encoded::EncodedEvent;
use crate::event::{Event, WithData};

/// An event on its way out: built ([`Event`]) or already encoded ([`EncodedEvent`]).
///
/// The body encodes an `Event` into its chunk, and sends an `EncodedEvent`'s bytes as
/// they are (no copy when it goes out alone), so events encoded once for many clients
/// are never encoded again.
///
/// ```
/// use ssewire::{Event, OutgoingEvent};
///
/// let built = OutgoingEvent::from(Event::with_data("x"));
/// let encoded = OutgoingEvent::from(Event::with_data("x").encode());
/// assert_eq!(built.encoded_len(), encoded.encoded_len());
/// assert_eq!(built.into_bytes(), encoded.into_bytes());
/// ```
#[derive(Debug, Clone)]
pub enum OutgoingEvent {
    /// An event to encode.
    Event(Event),
    /// An event already in wire format, sent as is.
    Encoded(EncodedEvent),
}

impl OutgoingEvent {
    /// The number of bytes the event takes on the wire.
    ///
    /// ```
    /// let event = ssewire::OutgoingEvent::from(ssewire::Event::with_data("abc"));
    /// assert_eq!(event.encoded_len(), b"data: abc\n\n".len());
    /// ```
    pub fn encoded_len(&self) -> usize {
        match self {
            OutgoingEvent::Event(event) => event.encoded_len(),
            OutgoingEvent::Encoded(encoded) => encoded.len(),
        }
    }

    /// At least [`OutgoingEvent::encoded_len`], cheaper to get (see
    /// `Event::max_encoded_len`).
    #[inline]
    pub(crate) fn max_encoded_len(&self) -> usize {
        match self {
            OutgoingEvent::Event(event) => event.max_encoded_len(),
            OutgoingEvent::Encoded(encoded) => encoded.len(),
        }
    }

    /// Appends the wire bytes to `buf`.
    ///
    /// ```
    /// let mut buf = bytes::BytesMut::new();
    /// ssewire::OutgoingEvent::from(ssewire::Event::with_data("a")).encode_to(&mut buf);
    /// assert_eq!(&buf[..], b"data: a\n\n");
    /// ```
    pub fn encode_to(&self, buf: &mut BytesMut) {
        match self {
            OutgoingEvent::Event(event) => event.encode_to(buf),
            OutgoingEvent::Encoded(encoded) => buf.extend_from_slice(encoded.as_bytes()),
        }
    }

    /// The wire bytes: an `Event` is encoded, an `EncodedEvent`'s bytes are returned
    /// without a copy.
    ///
    /// ```
    /// let shared = ssewire::Event::with_data("a").encode();
    /// let bytes = ssewire::OutgoingEvent::from(shared.clone()).into_bytes();
    /// assert_eq!(bytes.as_ptr(), shared.as_bytes().as_ptr());
    /// ```
    pub fn into_bytes(self) -> Bytes {
        match self {
            OutgoingEvent::Event(event) => event.encode().into_bytes(),
            OutgoingEvent::Encoded(encoded) => encoded.into_bytes(),
        }
    }
}

impl From<Event> for OutgoingEvent {
    fn from(event: Event) -> Self {
        OutgoingEvent::Event(event)
    }
}

impl From<EncodedEvent> for OutgoingEvent {
    fn from(encoded: EncodedEvent) -> Self {
        OutgoingEvent::Encoded(encoded)
    }
}

/// What a stream fed to [`SseBody`](crate::SseBody) may yield: an [`Event`], an
/// [`EncodedEvent`], an [`OutgoingEvent`], a [`WithData`], or a `Result` of any of
/// them.
///
/// Implement it for your own message type to stream it without a `map`:
///
/// ```
/// use std::convert::Infallible;
/// use ssewire::{Event, OutgoingEvent, SseItem};
///
/// struct Price(u64);
///
/// impl SseItem for Price {
///     type Error = Infallible;
///     fn into_outgoing(self) -> Result<OutgoingEvent, Infallible> {
///         Ok(Event::new().id(self.0).data(self.0.to_string()).into())
///     }
/// }
/// let body = ssewire::SseBody::new(futures_util::stream::iter([Price(1), Price(2)]));
/// # let _ = body;
/// ```
pub trait SseItem {
    /// The error the stream may yield instead of an event.
    type Error;

    /// The event to send, or the stream's error.
    ///
    /// ```
    /// use ssewire::SseItem;
    /// let item: Result<ssewire::Event, &str> = Err("gone");
    /// assert_eq!(item.into_outgoing().unwrap_err(), "gone");
    /// ```
    ///
    /// # Errors
    ///
    /// The stream's own error, which ends the body (see
    /// [`SseBody`](crate::SseBody#errors) for what the client then sees).
    fn into_outgoing(self) -> Result<OutgoingEvent, Self::Error>;

    /// How the body takes the item: as an [`OutgoingEvent`], or (`None`) written
    /// straight into the chunk being built. Not for implementing or calling outside
    /// ssewire (its argument's type cannot be named); the default is right for every
    /// other type.
    #[doc(hidden)]
    #[inline(always)]
    fn hand_over(self, _chunk: &mut Chunk<'_>) -> Result<Option<OutgoingEvent>, Self::Error>
    where
        Self: Sized,
    {
        self.into_outgoing().map(Some)
    }
}

/// The chunk a body is building, as an item sees it (see [`SseItem::hand_over`]).
/// Public in a private module: the trait's signature needs it, nobody else can name
/// it.
#[derive(Debug)]
pub struct Chunk<'a> {
    /// The coalesced events so far.
    pub(super) buf: &'a mut BytesMut,
    /// The chunk's first event, kept uncopied until a second one comes.
    pub(super) single: &'a mut Option<Bytes>,
    pub(super) max_chunk: usize,
}

impl Chunk<'_> {
    /// Writes an event with attached data into the chunk when it fits, or when the
    /// chunk is empty (it then goes alone, whatever its size). Otherwise it is
    /// encoded on its own (one allocation), to open the next chunk; and so is a small
    /// event that finds the body without a buffer (the body lets it go when idle),
    /// which may well go alone, as an `Event` would.
    #[inline(always)]
    fn take_with_data<D: AsRef<str>>(&mut self, event: WithData<D>) -> Option<OutgoingEvent> {
        let queued = self.single.as_ref().map_or(self.buf.len(), Bytes::len);
        let data_len = event.data().as_ref().len();
        if queued == 0 {
            if self.buf.capacity() == 0 && data_len < ALONE_FROM {
                return Some(OutgoingEvent::Encoded(event.encode()));
            }
            event.encode_to(self.buf);
            return None;
        }
        // A bound that needs no scan of the data settles the common case; the exact
        // length (a scan for line breaks) is needed only near the limit.
        let fits = queued.saturating_add(event.worst_case_len()) <= self.max_chunk
            || (queued.saturating_add(data_len) < self.max_chunk
                && queued.saturating_add(event.encoded_len()) <= self.max_chunk);
        if !fits {
            return Some(OutgoingEvent::Encoded(event.encode()));
        }
        if let Some(first) = self.single.take() {
            self.buf.reserve(first.len() + data_len + 4096);
            self.buf.extend_from_slice(&first);
        }
        event.encode_to(self.buf);
        None
    }
}

impl SseItem for Event {
    type Error = Infallible;
    fn into_outgoing(self) -> Result<OutgoingEvent, Infallible> {
        Ok(OutgoingEvent::Event(self))
    }
}

impl SseItem for EncodedEvent {
    type Error = Infallible;
    fn into_outgoing(self) -> Result<OutgoingEvent, Infallible> {
        Ok(OutgoingEvent::Encoded(self))
    }
}

impl SseItem for OutgoingEvent {
    type Error = Infallible;
    fn into_outgoing(self) -> Result<OutgoingEvent, Infallible> {
        Ok(self)
    }
}

impl<D: AsRef<str>> SseItem for WithData<D> {
    type Error = Infallible;
    fn into_outgoing(self) -> Result<OutgoingEvent, Infallible> {
        Ok(self.into())
    }

    #[inline(always)]
    fn hand_over(self, chunk: &mut Chunk<'_>) -> Result<Option<OutgoingEvent>, Infallible> {
        Ok(chunk.take_with_data(self))
    }
}

impl<D: AsRef<str>> From<WithData<D>> for OutgoingEvent {
    fn from(event: WithData<D>) -> Self {
        OutgoingEvent::Encoded(event.encode())
    }
}

impl<T: SseItem<Error = Infallible>, E> SseItem for Result<T, E> {
    type Error = E;
    fn into_outgoing(self) -> Result<OutgoingEvent, E> {
        match self {
            Ok(item) => match item.into_outgoing() {
                Ok(event) => Ok(event),
                Err(never) => match never {},
            },
            Err(e) => Err(e),
        }
    }

    #[inline(always)]
    fn hand_over(self, chunk: &mut Chunk<'_>) -> Result<Option<OutgoingEvent>, E> {
        match self {
            Ok(item) => match item.hand_over(chunk) {
                Ok(event) => Ok(event),
                Err(never) => match never {},
            },
            Err(e) => Err(e),
        }
    }
}

/// The error type of a stream's items.
pub(crate) type ErrorOf<S> = <<S as futures_core::Stream>::Item as SseItem>::Error;
