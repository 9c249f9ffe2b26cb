//! The header fields of an event (`event`, `id`, `retry`) and their one writer.

use std::time::Duration;

use crate::fields::{EventId, EventType};
use crate::wire::{u64_len, Sink};

/// The largest reconnection time written, in milliseconds: 2^31 - 1. JavaScript
/// timers (the npm `eventsource` polyfill waits with `setTimeout`) fire at once for
/// any delay above it, so a larger value would make clients reconnect immediately.
pub(crate) const MAX_RECONNECTION_MS: u64 = 2_147_483_647;

/// The fields written before an event's data and comments, in wire order.
#[derive(Clone, Default)]
pub(crate) struct Header {
    pub(crate) event_type: Option<EventType>,
    pub(crate) id: Option<EventId>,
    pub(crate) retry: Option<Duration>,
}

impl Header {
    /// The `retry` value as written: whole milliseconds, at most
    /// [`MAX_RECONNECTION_MS`].
    #[inline]
    pub(crate) fn retry_millis(&self) -> Option<u64> {
        self.retry.map(|d| {
            u64::try_from(d.as_millis())
                .map_or(MAX_RECONNECTION_MS, |ms| ms.min(MAX_RECONNECTION_MS))
        })
    }

    /// The exact number of bytes [`Header::write`] writes.
    #[inline]
    pub(crate) fn encoded_len(&self) -> usize {
        let mut len = 0;
        if let Some(t) = &self.event_type {
            len += b"event: \n".len() + t.encoded_len();
        }
        if let Some(id) = &self.id {
            len += b"id: \n".len() + id.encoded_len();
        }
        if let Some(ms) = self.retry_millis() {
            len += b"retry: \n".len() + u64_len(ms);
        }
        len
    }

    /// Writes the header lines.
    #[inline]
    pub(crate) fn write<S: Sink>(&self, sink: &mut S) {
        if let Some(t) = &self.event_type {
            sink.put(b"event: ");
            sink.put(t.as_str().as_bytes());
            sink.put(b"\n");
        }
        if let Some(id) = &self.id {
            sink.put(b"id: ");
            id.write(sink);
            sink.put(b"\n");
        }
        if let Some(ms) = self.retry_millis() {
            sink.put(b"retry: ");
            sink.put_u64(ms);
            sink.put(b"\n");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_is_clamped_to_what_javascript_timers_take() {
        for (set, written) in [
            (Duration::ZERO, 0),
            (Duration::from_micros(1_999), 1),
            (
                Duration::from_millis(MAX_RECONNECTION_MS),
                MAX_RECONNECTION_MS,
            ),
            (
                Duration::from_millis(MAX_RECONNECTION_MS + 1),
                MAX_RECONNECTION_MS,
            ),
            (Duration::from_secs(u64::MAX), MAX_RECONNECTION_MS),
            (Duration::MAX, MAX_RECONNECTION_MS),
        ] {
            let header = Header {
                retry: Some(set),
                ..Header::default()
            };
            assert_eq!(header.retry_millis(), Some(written));
            let mut out = Vec::new();
            header.write(&mut out);
            assert_eq!(out, format!("retry: {written}\n").as_bytes());
            assert_eq!(header.encoded_len(), out.len());
        }
    }
}
