//! A subscriber's place in a topic's history, and the events it took ahead.

use crate::encoded::EncodedEvent;
use crate::sync::WaitSlot;

/// A subscriber's place in the history.
#[derive(Debug)]
pub(super) struct Cursor {
    /// Position of the next event to deliver.
    pub(super) next: u64,
    /// Position of the first event published after it subscribed (or skipped
    /// ahead): lag counts only events from here on, not the replay.
    pub(super) live_from: u64,
    /// Its waker's place among the topic's waiters.
    pub(super) slot: WaitSlot,
}

impl Cursor {
    #[inline]
    pub(super) fn new(next: u64, live_from: u64) -> Self {
        Cursor {
            next,
            live_from,
            slot: WaitSlot::new(),
        }
    }
}

/// How many ready events a subscriber takes from the history per lock: fewer lock
/// round trips when it has fallen behind, at most this many events held aside.
pub(super) const BATCH: usize = 16;

/// The most bytes of events a subscriber batches per lock, past its first event
/// (which it takes whatever its size): what a stalled subscriber may keep alive after
/// the history let go of those events.
pub(super) const BATCH_BYTES: usize = 64 * 1024;

/// Events a subscriber took from the history and has not handed out yet, in order.
/// Allocated only while the subscriber is catching up; dropped when it is idle.
#[derive(Default)]
pub(super) struct Batch {
    events: [Option<EncodedEvent>; BATCH],
    next: usize,
    len: usize,
}

impl Batch {
    /// Replaces the content with `events` (at most [`BATCH`]; more are ignored).
    #[inline]
    pub(super) fn fill<'a>(&mut self, events: impl Iterator<Item = &'a EncodedEvent>) -> usize {
        let mut len = 0;
        for (slot, event) in self.events.iter_mut().zip(events) {
            *slot = Some(event.clone());
            len += 1;
        }
        self.next = 0;
        self.len = len;
        len
    }

    #[inline]
    pub(super) fn remaining(&self) -> usize {
        self.len - self.next
    }

    #[inline]
    pub(super) fn pop(&mut self) -> Option<EncodedEvent> {
        if self.next == self.len {
            return None;
        }
        let event = self.events.get_mut(self.next)?.take();
        self.next += 1;
        event
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::Event;

    #[test]
    fn a_batch_hands_out_in_order_then_nothing() {
        let events: Vec<_> = (0..20)
            .map(|i| Event::with_data(i.to_string()).encode())
            .collect();
        let mut batch = Batch::default();
        assert_eq!(batch.fill(events.iter()), BATCH);
        assert_eq!(batch.remaining(), BATCH);
        assert_eq!(batch.pop(), Some(events[0].clone()));
        assert_eq!(batch.fill(events[5..7].iter()), 2);
        assert_eq!(batch.pop(), Some(events[5].clone()));
        assert_eq!(batch.pop(), Some(events[6].clone()));
        assert_eq!((batch.pop(), batch.remaining()), (None, 0));
    }
}
