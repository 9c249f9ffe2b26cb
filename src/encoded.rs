//! Events that are already on the wire format, for encode-once delivery.

use std::fmt;

use bytes::Bytes;

/// One event already in wire format: cheap to clone and to send to many connections.
///
/// Made only by [`Event::encode`](crate::Event::encode) (and
/// [`WithData::encode`](crate::WithData::encode)), so it always holds exactly one
/// complete, valid event (ending with its blank line, or with its last line for an
/// event of only comments and `retry`). Cloning shares the bytes (a reference count,
/// no copy; the first clone allocates that count). A stream fed to
/// [`SseBody`](crate::SseBody) may yield it next to [`Event`](crate::Event)s; or send
/// [`EncodedEvent::into_bytes`] anywhere that takes `Bytes`.
///
/// ```
/// use ssewire::{EncodedEvent, Event};
///
/// let encoded: EncodedEvent = Event::with_data("for everyone").encode();
/// let for_client_a = encoded.clone(); // same bytes, no copy
/// assert_eq!(for_client_a.as_bytes(), encoded.as_bytes());
/// assert_eq!(encoded.as_ref(), b"data: for everyone\n\n");
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
#[must_use = "an EncodedEvent does nothing until it is sent"]
pub struct EncodedEvent(Bytes);

impl EncodedEvent {
    pub(crate) fn new_unchecked(bytes: Bytes) -> Self {
        debug_assert!(bytes.ends_with(b"\n"));
        EncodedEvent(bytes)
    }

    /// The wire bytes.
    ///
    /// ```
    /// let e = ssewire::Event::with_data("x").encode();
    /// assert_eq!(&e.as_bytes()[..], b"data: x\n\n");
    /// ```
    pub fn as_bytes(&self) -> &Bytes {
        &self.0
    }

    /// The wire bytes, without copying.
    ///
    /// ```
    /// let bytes: bytes::Bytes = ssewire::Event::with_data("x").encode().into_bytes();
    /// assert_eq!(bytes.len(), 9);
    /// ```
    pub fn into_bytes(self) -> Bytes {
        self.0
    }

    /// The number of wire bytes.
    ///
    /// ```
    /// assert_eq!(ssewire::Event::with_data("x").encode().len(), 9);
    /// ```
    #[allow(clippy::len_without_is_empty)] // never empty: it ends with a line end
    pub fn len(&self) -> usize {
        self.0.len()
    }
}

impl AsRef<[u8]> for EncodedEvent {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl From<EncodedEvent> for Bytes {
    fn from(encoded: EncodedEvent) -> Self {
        encoded.0
    }
}

impl fmt::Debug for EncodedEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("EncodedEvent")
            .field(&String::from_utf8_lossy(&self.0))
            .finish()
    }
}
