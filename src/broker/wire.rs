//! How an event travels through a broker: its own wire format without the `id` line
//! (the broker gives the id), read back on every node into an `Event`.

use std::time::Duration;

use crate::event::Event;
use crate::fields::{EventId, EventType};

/// The event's wire bytes, without any `id` line (the broker assigns the id).
pub(crate) fn to_wire(event: Event) -> Vec<u8> {
    let encoded = event.encode();
    let bytes = encoded.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    for line in bytes.split_inclusive(|&b| b == b'\n') {
        if !line.starts_with(b"id:") {
            out.extend_from_slice(line);
        }
    }
    out
}

/// Rebuilds the event written by [`to_wire`], with `id`; `None` if the bytes are not
/// one event in this crate's encoding (an entry some other program wrote).
pub(crate) fn from_wire(bytes: &[u8], id: EventId) -> Option<Event> {
    let text = std::str::from_utf8(bytes).ok()?;
    let body = text.strip_suffix('\n')?;
    let mut event = Event::new().id(id);
    for line in body.split('\n') {
        if line.is_empty() {
            continue;
        }
        if let Some(comment) = line.strip_prefix(':') {
            event = event.comment(comment.strip_prefix(' ').unwrap_or(comment));
            continue;
        }
        let (field, value) = line.split_once(": ")?;
        event = match field {
            "data" => event.data(value),
            "event" => event.event(EventType::new(value).ok()?),
            "retry" => event.retry(Duration::from_millis(value.parse().ok()?)),
            _ => return None,
        };
    }
    Some(event)
}

/// The `id` of an encoded event (the first `id: ` line), if any.
pub(crate) fn id_of(encoded: &[u8]) -> Option<&str> {
    encoded
        .split(|&b| b == b'\n')
        .find_map(|line| line.strip_prefix(b"id: "))
        .and_then(|id| std::str::from_utf8(id).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(event: Event) {
        let with_id = event.clone().id(EventId::new("5-0").unwrap());
        let wire = to_wire(event);
        let back = from_wire(&wire, EventId::new("5-0").unwrap()).expect("parses");
        assert_eq!(back.encode().as_ref(), with_id.encode().as_ref());
    }

    #[test]
    fn events_survive_the_broker() {
        round_trip(Event::with_data("hello"));
        round_trip(Event::with_data("a\nb\n").event(EventType::new("x").unwrap()));
        round_trip(Event::new().data("").retry(Duration::from_millis(1500)));
        round_trip(Event::new().comment("c1\nc2").data(": not a comment"));
        round_trip(Event::new().data("  spaces  ").data("data: inside"));
    }

    #[test]
    fn the_publishers_id_is_dropped() {
        let wire = to_wire(Event::with_data("x").id(EventId::new("mine").unwrap()));
        assert_eq!(wire, b"data: x\n\n");
    }

    #[test]
    fn foreign_entries_are_refused() {
        let id = || EventId::new("1-0").unwrap();
        assert!(from_wire(b"hello", id()).is_none());
        assert!(from_wire(b"weird: x\n\n", id()).is_none());
        assert!(from_wire(b"retry: soon\n\n", id()).is_none());
    }

    #[test]
    fn finds_the_id() {
        assert_eq!(id_of(b"event: x\nid: 1-2\ndata: y\n\n"), Some("1-2"));
        assert_eq!(id_of(b"data: id: no\n\n"), None);
    }
}
