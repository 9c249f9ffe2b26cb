//! The events a subscriber sends on its own: `lagged` and `history-lost`.
//!
//! They are built and encoded by the subscriber, outside the topic's lock.

use crate::encoded::EncodedEvent;
use crate::event::Event;
use crate::fields::{EventId, EventType};

use super::resume::LostReason;

/// `lagged`: a subscriber skipped events under `LagPolicy::SkipAhead`.
pub(super) const LAGGED: EventType = EventType::from_static("lagged");

/// `history-lost`: the first event of a `Resume::HistoryLost` subscriber.
pub(super) const HISTORY_LOST: EventType = EventType::from_static("history-lost");

/// A hub event to send, with the id that lets the client resume right after it.
#[derive(Debug)]
pub(super) enum Notice {
    Lagged { missed: u64 },
    HistoryLost(LostReason),
}

impl Notice {
    /// The encoded event: `data` is a small JSON object; `id`, when there is one, is
    /// the id of the event just before the next one the subscriber receives.
    pub(super) fn encode(&self, id: Option<EventId>) -> EncodedEvent {
        let (event_type, data) = match *self {
            Notice::Lagged { missed } => (LAGGED, format!("{{\"missed\":{missed}}}")),
            Notice::HistoryLost(LostReason::Expired { missed }) => (
                HISTORY_LOST,
                format!("{{\"reason\":\"expired\",\"missed\":{missed}}}"),
            ),
            Notice::HistoryLost(LostReason::Unknown) => {
                (HISTORY_LOST, "{\"reason\":\"unknown\"}".to_owned())
            }
        };
        let event = Event::new().event(event_type);
        let event = match id {
            Some(id) => event.id(id),
            None => event,
        };
        event.data(data).encode()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_text() {
        let lagged = Notice::Lagged { missed: 3 }.encode(Some(EventId::from_u64(9)));
        assert_eq!(
            lagged.as_ref(),
            b"event: lagged\nid: 9\ndata: {\"missed\":3}\n\n"
        );
        let expired = Notice::HistoryLost(LostReason::Expired { missed: 2 }).encode(None);
        assert_eq!(
            expired.as_ref(),
            b"event: history-lost\ndata: {\"reason\":\"expired\",\"missed\":2}\n\n"
        );
        let unknown = Notice::HistoryLost(LostReason::Unknown).encode(None);
        assert_eq!(
            unknown.as_ref(),
            b"event: history-lost\ndata: {\"reason\":\"unknown\"}\n\n"
        );
    }
}
