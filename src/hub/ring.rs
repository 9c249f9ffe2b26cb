//! A topic's history: encoded events by position, bounded by count, bytes and age,
//! with the index that finds a `Last-Event-ID` in it.

use std::collections::{vec_deque, HashMap, VecDeque};
use std::time::Instant;

use crate::encoded::EncodedEvent;
use crate::fields::EventId;

use super::config::{Config, IdPolicy};

/// One event of the history.
pub(super) struct Entry {
    pub(super) event: EncodedEvent,
    /// When it was published, if the history has an age limit.
    at: Option<Instant>,
    /// Its id, with [`IdPolicy::Keep`] (for the index).
    id: Option<EventId>,
}

/// Where a `Last-Event-ID` leads in the history.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Located {
    NoId,
    /// Resume at this position.
    Found(u64),
    /// This position was wanted, but it has left the history.
    Expired(u64),
    Unknown,
}

/// The events at positions `front .. front + len`, oldest first.
pub(super) struct Ring {
    entries: VecDeque<Entry>,
    front: u64,
    bytes: usize,
    /// With [`IdPolicy::Keep`]: id → newest position with that id, for ids in
    /// `entries` (keyed on the id's wire text).
    index: HashMap<EventId, u64>,
    /// With [`IdPolicy::Assign`]: the smallest id a client may have seen and resume
    /// after (the position just before the first event, or after a [`Ring::clear`]
    /// the head at that time).
    min_seen: u64,
}

impl Ring {
    /// An empty history whose first event will be at `first`.
    pub(super) fn new(first: u64) -> Self {
        Ring {
            entries: VecDeque::new(),
            front: first,
            bytes: 0,
            index: HashMap::new(),
            // A client that saw the id before the first one is owed everything.
            min_seen: first.saturating_sub(1),
        }
    }

    /// The position of the oldest event kept.
    #[inline]
    pub(super) fn front(&self) -> u64 {
        self.front
    }

    /// The position the next event will have.
    #[inline]
    pub(super) fn head(&self) -> u64 {
        self.front + self.entries.len() as u64
    }

    /// Events kept.
    #[inline]
    pub(super) fn len(&self) -> usize {
        self.entries.len()
    }

    /// Bytes of the events kept.
    #[inline]
    pub(super) fn bytes(&self) -> usize {
        self.bytes
    }

    /// The events from `position` on (none if `position` is at or past the head;
    /// all of them if it is before the front).
    #[inline]
    pub(super) fn from(&self, position: u64) -> vec_deque::Iter<'_, Entry> {
        let index = usize::try_from(position.saturating_sub(self.front)).unwrap_or(usize::MAX);
        self.entries.range(index.min(self.entries.len())..)
    }

    /// Appends `event` (with its `id` under [`IdPolicy::Keep`]), then drops what the
    /// limits no longer allow (the newest event is always kept).
    #[inline]
    pub(super) fn push(
        &mut self,
        config: &Config,
        event: EncodedEvent,
        at: Option<Instant>,
        id: Option<EventId>,
    ) {
        let position = self.head();
        self.bytes += event.len();
        if let Some(id) = &id {
            self.index.insert(id.clone(), position);
        }
        self.entries.push_back(Entry { event, at, id });
        while self.entries.len() > config.history()
            || (self.bytes > config.history_bytes() && self.entries.len() > 1)
        {
            self.pop_front();
        }
        if let Some(now) = at {
            self.expire(config, now);
        }
    }

    /// Drops the events older than the history's age limit.
    pub(super) fn expire(&mut self, config: &Config, now: Instant) {
        let Some(cutoff) = config.history_age().and_then(|age| now.checked_sub(age)) else {
            return;
        };
        while self
            .entries
            .front()
            .is_some_and(|entry| entry.at.is_some_and(|at| at < cutoff))
        {
            self.pop_front();
        }
    }

    fn pop_front(&mut self) {
        if let Some(entry) = self.entries.pop_front() {
            self.bytes -= entry.event.len();
            if let Some(id) = entry.id {
                if self.index.get(&id) == Some(&self.front) {
                    self.index.remove(&id);
                }
            }
            self.front += 1;
        }
    }

    /// Forgets every event, and every id issued so far: no `Last-Event-ID` from
    /// before leads anywhere, and positions go on from the head.
    pub(super) fn clear(&mut self) {
        let head = self.head();
        self.entries.clear();
        self.index.clear();
        self.bytes = 0;
        self.front = head;
        // The last id issued before is `head - 1`: no longer resumable.
        self.min_seen = head;
    }

    /// The id of the event just before `position`, when there is one a client can
    /// resume after: what a client should send back to resume at `position`.
    pub(super) fn id_before(&self, policy: IdPolicy, position: u64) -> Option<EventId> {
        let before = position.checked_sub(1)?;
        match policy {
            IdPolicy::Assign => (before >= self.min_seen).then(|| EventId::from_u64(before)),
            IdPolicy::Keep => {
                let index = usize::try_from(before.checked_sub(self.front)?).ok()?;
                self.entries.get(index)?.id.clone()
            }
        }
    }

    /// Where a client that saw `last_event_id` resumes. Only an id this topic wrote
    /// matches, with the same wire text: under [`IdPolicy::Assign`], `0160` or `+160`
    /// is not `160`.
    pub(super) fn locate(&self, policy: IdPolicy, last_event_id: Option<&EventId>) -> Located {
        let Some(id) = last_event_id else {
            return Located::NoId;
        };
        match policy {
            IdPolicy::Assign => {
                let Some(seen) = as_position(id) else {
                    return Located::Unknown;
                };
                match seen.checked_add(1) {
                    Some(next) if seen >= self.min_seen && next <= self.head() => {
                        if next < self.front {
                            Located::Expired(next)
                        } else {
                            Located::Found(next)
                        }
                    }
                    _ => Located::Unknown,
                }
            }
            IdPolicy::Keep => match self.index.get(id) {
                Some(&position) => Located::Found(position + 1),
                None => Located::Unknown,
            },
        }
    }
}

/// The number an [`IdPolicy::Assign`] topic wrote as `id`, if `id` is written exactly
/// as such a number is (decimal digits, no sign, no leading zero: what
/// [`EventId::as_u64`] accepts).
fn as_position(id: &EventId) -> Option<u64> {
    id.as_u64()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::Event;

    fn event(data: &str) -> EncodedEvent {
        Event::with_data(data).encode()
    }

    fn id(text: &str) -> EventId {
        EventId::new(text).unwrap()
    }

    fn ring_with(config: &Config, first: u64, n: usize) -> Ring {
        let mut ring = Ring::new(first);
        for i in 0..n {
            ring.push(config, event(&i.to_string()), None, None);
        }
        ring
    }

    #[test]
    fn keeps_positions_and_drops_beyond_the_count() {
        let config = Config::new().with_history(3);
        let ring = ring_with(&config, 10, 5);
        assert_eq!((ring.front(), ring.head(), ring.len()), (12, 15, 3));
        let data: Vec<_> = ring.from(13).map(|e| e.event.clone()).collect();
        assert_eq!(data, vec![event("3"), event("4")]);
        assert_eq!(ring.from(0).count(), 3);
        assert_eq!(ring.from(15).count(), 0);
        assert_eq!(ring.bytes(), 3 * event("0").len());
    }

    #[test]
    fn the_byte_limit_keeps_the_newest_event() {
        let config = Config::new().with_history_bytes(1);
        let ring = ring_with(&config, 1, 3);
        assert_eq!((ring.front(), ring.len()), (3, 1));
    }

    #[test]
    fn age_limit_drops_old_events() {
        let config = Config::new().with_history_age(std::time::Duration::from_secs(10));
        let mut ring = Ring::new(1);
        let start = Instant::now();
        ring.push(&config, event("old"), Some(start), None);
        let later = start + std::time::Duration::from_secs(11);
        ring.push(&config, event("new"), Some(later), None);
        assert_eq!((ring.front(), ring.len()), (2, 1));
    }

    #[test]
    fn assign_locates_only_canonical_numbers() {
        let config = Config::new().with_history(2);
        let ring = ring_with(&config, 158, 4); // 158..=161, keeps 160 and 161
        let policy = IdPolicy::Assign;
        assert_eq!(ring.locate(policy, None), Located::NoId);
        assert_eq!(ring.locate(policy, Some(&id("160"))), Located::Found(161));
        assert_eq!(
            ring.locate(policy, Some(&EventId::from_u64(160))),
            Located::Found(161)
        );
        assert_eq!(ring.locate(policy, Some(&id("161"))), Located::Found(162));
        assert_eq!(ring.locate(policy, Some(&id("158"))), Located::Expired(159));
        assert_eq!(ring.locate(policy, Some(&id("157"))), Located::Expired(158));
        for wrong in ["0160", "+160", "160 ", " 160", "-1", "", "162", "156", "x"] {
            assert_eq!(
                ring.locate(policy, Some(&id(wrong))),
                Located::Unknown,
                "{wrong:?}"
            );
        }
        assert_eq!(
            ring.locate(policy, Some(&EventId::from(-1i64))),
            Located::Unknown
        );
        assert_eq!(
            ring.locate(policy, Some(&id("18446744073709551615"))),
            Located::Unknown
        );
    }

    #[test]
    fn zero_is_canonical() {
        let ring = ring_with(&Config::new(), 1, 1);
        assert_eq!(
            ring.locate(IdPolicy::Assign, Some(&id("0"))),
            Located::Found(1)
        );
        assert_eq!(
            ring.locate(IdPolicy::Assign, Some(&id("00"))),
            Located::Unknown
        );
    }

    #[test]
    fn keep_index_follows_the_history() {
        let config = Config::new().with_history(2);
        let mut ring = Ring::new(1);
        for name in ["a", "b", "a", "c"] {
            ring.push(&config, event(name), None, Some(id(name)));
        }
        // Positions 1..=4 were a, b, a, c; the history keeps 3 (a) and 4 (c).
        let policy = IdPolicy::Keep;
        assert_eq!(ring.locate(policy, Some(&id("a"))), Located::Found(4));
        assert_eq!(ring.locate(policy, Some(&id("c"))), Located::Found(5));
        assert_eq!(ring.locate(policy, Some(&id("b"))), Located::Unknown);
        assert_eq!(ring.id_before(policy, 4), Some(id("a")));
        assert_eq!(ring.id_before(policy, 3), None); // left the history
                                                     // Popping the older "a" (position 1) did not remove the newer one.
        ring.push(&config, event("d"), None, Some(id("d")));
        assert_eq!(ring.locate(policy, Some(&id("a"))), Located::Unknown);
        assert_eq!(ring.index.len(), 2);
    }

    #[test]
    fn keep_ids_match_by_wire_text() {
        let mut ring = Ring::new(1);
        ring.push(&Config::new(), event("x"), None, Some(EventId::from_u64(7)));
        assert_eq!(
            ring.locate(IdPolicy::Keep, Some(&id("7"))),
            Located::Found(2)
        );
        assert_eq!(
            ring.locate(IdPolicy::Keep, Some(&id("07"))),
            Located::Unknown
        );
    }

    #[test]
    fn clear_forgets_every_earlier_id() {
        let config = Config::new();
        let mut ring = ring_with(&config, 1, 3); // ids 1, 2, 3
        ring.clear();
        assert_eq!(
            (ring.front(), ring.head(), ring.len(), ring.bytes()),
            (4, 4, 0, 0)
        );
        for seen in ["0", "1", "3"] {
            assert_eq!(
                ring.locate(IdPolicy::Assign, Some(&id(seen))),
                Located::Unknown
            );
        }
        assert_eq!(ring.id_before(IdPolicy::Assign, 4), None);
        ring.push(&config, event("4"), None, None);
        assert_eq!(
            ring.locate(IdPolicy::Assign, Some(&id("4"))),
            Located::Found(5)
        );
        assert_eq!(
            ring.id_before(IdPolicy::Assign, 5),
            Some(EventId::from_u64(4))
        );

        let mut keep = Ring::new(1);
        keep.push(&config, event("a"), None, Some(id("a")));
        keep.clear();
        assert_eq!(
            keep.locate(IdPolicy::Keep, Some(&id("a"))),
            Located::Unknown
        );
        keep.push(&config, event("b"), None, Some(id("b")));
        assert_eq!(
            keep.locate(IdPolicy::Keep, Some(&id("b"))),
            Located::Found(3)
        );
    }
}
