//! The `Last-Event-ID` of a request as a framework extractor (features `axum`,
//! `actix`; the trait impls live in the integration modules).

use crate::EventId;

/// The request's `Last-Event-ID`, as an extractor for axum (feature `axum`) and
/// actix-web (feature `actix`) handlers.
///
/// `LastEventId(None)` on a first connection (no header, or an empty one);
/// `LastEventId(Some(id))` when a client reconnects. A malformed header (not UTF-8,
/// over [`DEFAULT_LAST_EVENT_ID_LIMIT`](crate::DEFAULT_LAST_EVENT_ID_LIMIT) bytes,
/// or sent twice) is never taken for a missing one: the request is rejected with
/// `400 Bad Request` and a text body that names the problem (the
/// [`LastEventIdError`](crate::LastEventIdError) message).
///
/// It reads the header with [`last_event_id`](crate::last_event_id) (axum) or
/// [`parse_last_event_id`](crate::parse_last_event_id) (actix-web).
///
/// ```
/// use ssewire::{EventId, LastEventId};
///
/// // In a handler: `async fn events(LastEventId(last): LastEventId) -> ...`
/// let LastEventId(last) = LastEventId(Some(EventId::from_static("41")));
/// let resume_after: Option<u64> = last.and_then(|id| id.to_string().parse().ok());
/// assert_eq!(resume_after, Some(41));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LastEventId(pub Option<EventId>);

impl LastEventId {
    /// The id, if the client sent one.
    ///
    /// ```
    /// let last = ssewire::LastEventId(None);
    /// assert_eq!(last.into_inner(), None);
    /// ```
    pub fn into_inner(self) -> Option<EventId> {
        self.0
    }
}

impl From<LastEventId> for Option<EventId> {
    fn from(last: LastEventId) -> Self {
        last.0
    }
}
