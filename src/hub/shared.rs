//! What a topic's handles and its subscribers share: the history, the waiting
//! subscribers and the counters, under one lock, and the steps that read them.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::Waker;
use std::time::Instant;

use crate::encoded::EncodedEvent;
use crate::event::Event;
use crate::fields::EventId;
use crate::limits::{Cap, Refused};
use crate::sync::{lock, WakerList};

use super::config::{Config, IdPolicy, LagPolicy};
use super::cursor::{Batch, Cursor, BATCH, BATCH_BYTES};
use super::notice::Notice;
use super::resume::{plan, Resume};
use super::ring::Ring;
use super::stats::Stats;
use super::telemetry::Telemetry;

pub(super) struct Shared {
    pub(super) config: Config,
    state: Mutex<State>,
    /// With [`IdPolicy::Assign`]: the position of the next event. Publishers hold it
    /// while they encode, so events are encoded with their ids outside `state`, and
    /// appended in position order.
    next_position: Mutex<u64>,
    /// `Topic` handles alive; the topic closes when it reaches zero.
    pub(super) handles: AtomicUsize,
    /// Metrics and tracing (features `metrics`, `tracing`; empty without them).
    pub(super) telemetry: Telemetry,
    /// Subscribers alive across the hub (the topic's own count for a lone topic),
    /// for [`Config::with_max_subscribers`].
    open: Arc<AtomicUsize>,
}

struct State {
    ring: Ring,
    /// Wakers of subscribers that found nothing to read.
    waiters: WakerList,
    /// Set once the topic is closed: it takes no more events, and its subscribers
    /// end (after the farewell, if any) once they have read the history.
    closed: Option<Option<EncodedEvent>>,
    stats: Stats,
}

/// What a subscriber gets when it is polled.
pub(super) enum Step {
    /// The next event; more may have been put in the subscriber's batch.
    Event(EncodedEvent),
    /// It skipped events under [`LagPolicy::SkipAhead`]: send a `lagged` notice.
    Lagged {
        missed: u64,
        id: Option<EventId>,
    },
    /// Its stream ends, after this farewell if there is one.
    End(Option<EncodedEvent>),
    /// Its stream ends for lagging ([`LagPolicy::Disconnect`]), after this farewell
    /// if the topic is closed and has one; it had not received `missed` events.
    LagEnd {
        farewell: Option<EncodedEvent>,
        missed: u64,
    },
    Pending,
}

/// A new subscriber, before it is wrapped.
pub(super) struct Start {
    pub(super) cursor: Cursor,
    pub(super) resume: Resume,
    /// The `history-lost` notice to send first, with its id.
    pub(super) notice: Option<(Notice, Option<EventId>)>,
}

impl Shared {
    pub(super) fn new(
        config: Config,
        first: u64,
        name: Option<&str>,
        open: Arc<AtomicUsize>,
    ) -> Self {
        Shared {
            telemetry: Telemetry::new(&config, name),
            config,
            state: Mutex::new(State {
                ring: Ring::new(first),
                waiters: WakerList::default(),
                closed: None,
                stats: Stats::default(),
            }),
            next_position: Mutex::new(first),
            handles: AtomicUsize::new(1),
            open,
        }
    }

    #[inline]
    fn lock(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }

    /// Appends `event` and wakes the waiting subscribers; returns its position.
    #[inline]
    pub(super) fn publish(&self, event: Event) -> u64 {
        let at = self.config.history_age().map(|_| Instant::now());
        let (position, wakers) = match self.config.id_policy() {
            IdPolicy::Assign => {
                let mut next = lock(&self.next_position);
                let position = *next;
                let event = event.id(position).encode();
                let mut state = self.lock();
                if state.closed.is_some() {
                    return position;
                }
                debug_assert_eq!(state.ring.head(), position);
                state.push(&self.config, event, at, None);
                *next = position.saturating_add(1);
                (position, state.waiters.take())
            }
            IdPolicy::Keep => {
                let id = event.event_id().filter(|id| !id.is_empty()).cloned();
                let event = event.encode();
                let mut state = self.lock();
                let position = state.ring.head();
                if state.closed.is_some() {
                    return position;
                }
                state.push(&self.config, event, at, id);
                (position, state.waiters.take())
            }
        };
        wakers.wake();
        self.telemetry.published();
        position
    }

    /// Places a new subscriber after `last_event_id`.
    pub(super) fn subscribe(&self, last_event_id: Option<&EventId>, backlog: usize) -> Start {
        self.open.fetch_add(1, Ordering::AcqRel);
        let start = self.lock().subscribe(&self.config, last_event_id, backlog);
        self.telemetry.subscribed(&start.resume);
        start
    }

    /// [`Shared::subscribe`] within the caps of the configuration.
    pub(super) fn try_subscribe(
        &self,
        last_event_id: Option<&EventId>,
        backlog: usize,
    ) -> Result<Start, Refused> {
        let config = &self.config;
        let caps = config.caps();
        // The topic's count is checked and the hub's place taken under the topic's
        // lock, so a subscriber refused by the topic's cap never holds one of the
        // hub's places, not even for a moment (another topic would meanwhile refuse
        // one with the hub's cap).
        let mut state = self.lock();
        let here = state.stats.subscribed - state.stats.unsubscribed;
        if let Some(max) = config
            .max_topic_subscribers()
            .filter(|&max| here >= max as u64)
        {
            drop(state);
            return Err(crate::limits::refuse_over(
                &self.open,
                caps,
                Cap::Topic,
                max,
            ));
        }
        if let Err(refused) = crate::limits::take_place(&self.open, caps) {
            drop(state);
            return Err(refused);
        }
        let start = state.subscribe(config, last_event_id, backlog);
        drop(state);
        self.telemetry.subscribed(&start.resume);
        Ok(start)
    }

    /// The next step for a subscriber at `cursor`, registering `waker` when there is
    /// nothing to read yet. Up to [`BATCH`]` - 1` more ready events go into `batch`.
    #[inline]
    pub(super) fn poll(
        &self,
        cursor: &mut Cursor,
        waker: &Waker,
        batch: &mut Option<Box<Batch>>,
    ) -> Step {
        let mut displaced = None;
        let step = self
            .lock()
            .poll(&self.config, cursor, waker, batch, &mut displaced);
        // Dropped without the lock: dropping a waker can drop a task, and with it a
        // subscriber, whose own drop takes the lock.
        drop(displaced);
        step
    }

    /// Called when a subscriber is dropped.
    pub(super) fn leave(&self, cursor: &mut Cursor) {
        let displaced = {
            let mut state = self.lock();
            state.stats.unsubscribed += 1;
            state.waiters.unregister(&mut cursor.slot)
        };
        self.open.fetch_sub(1, Ordering::AcqRel);
        drop(displaced); // outside the lock, as in `poll`
        self.telemetry.left();
    }

    /// Counts an event the subscriber made itself (a notice).
    pub(super) fn count_sent(&self, bytes: usize) {
        let mut state = self.lock();
        state.stats.events_sent += 1;
        state.stats.bytes_sent += bytes as u64;
    }

    /// Closes the topic (if it is not closed yet) and wakes every subscriber.
    pub(super) fn close(&self, farewell: Option<EncodedEvent>) {
        let wakers = {
            let mut state = self.lock();
            if state.closed.is_some() {
                return;
            }
            state.closed = Some(farewell);
            state.waiters.take()
        };
        wakers.wake();
    }

    pub(super) fn is_closed(&self) -> bool {
        self.lock().closed.is_some()
    }

    /// Forgets the history and every id issued so far.
    pub(super) fn clear_history(&self) {
        // The same lock order as `publish`: no event is between encode and append.
        let _next = lock(&self.next_position);
        self.lock().ring.clear();
    }

    pub(super) fn stats(&self) -> Stats {
        self.lock().stats()
    }

    /// (next position, events in the history, bytes in the history, subscribers)
    pub(super) fn summary(&self) -> (u64, usize, usize, u64) {
        let state = self.lock();
        let stats = state.stats();
        (
            state.ring.head(),
            state.ring.len(),
            state.ring.bytes(),
            stats.subscribers,
        )
    }
}

impl State {
    /// Places a new subscriber after `last_event_id` (see [`Shared::subscribe`]).
    fn subscribe(
        &mut self,
        config: &Config,
        last_event_id: Option<&EventId>,
        backlog: usize,
    ) -> Start {
        if config.history_age().is_some() {
            self.ring.expire(config, Instant::now());
        }
        let ring = &self.ring;
        let located = ring.locate(config.id_policy(), last_event_id);
        let (next, resume) = plan(located, ring.front(), ring.head(), backlog);
        let notice = match resume {
            Resume::HistoryLost { reason } => Some((
                Notice::HistoryLost(reason),
                ring.id_before(config.id_policy(), next),
            )),
            _ => None,
        };
        let cursor = Cursor::new(next, ring.head());
        let stats = &mut self.stats;
        stats.subscribed += 1;
        match resume {
            Resume::Exact { .. } => stats.resumed += 1,
            Resume::HistoryLost { .. } => stats.history_lost += 1,
            _ => {}
        }
        Start {
            cursor,
            resume,
            notice,
        }
    }

    fn stats(&self) -> Stats {
        let mut stats = self.stats;
        stats.topics = 1;
        stats.subscribers = stats.subscribed - stats.unsubscribed;
        stats.history_events = self.ring.len() as u64;
        stats.history_bytes = self.ring.bytes() as u64;
        stats
    }

    fn push(
        &mut self,
        config: &Config,
        event: EncodedEvent,
        at: Option<Instant>,
        id: Option<EventId>,
    ) {
        self.stats.events_published += 1;
        self.stats.bytes_published += event.len() as u64;
        self.ring.push(config, event, at, id);
    }

    fn poll(
        &mut self,
        config: &Config,
        cursor: &mut Cursor,
        waker: &Waker,
        batch: &mut Option<Box<Batch>>,
        displaced: &mut Option<Waker>,
    ) -> Step {
        let head = self.ring.head();
        if cursor.next < head {
            let behind = head - cursor.next.max(cursor.live_from);
            if cursor.next < self.ring.front() || behind > config.max_lag() as u64 {
                return match config.lag_policy() {
                    LagPolicy::Disconnect => {
                        self.stats.disconnected_for_lag += 1;
                        let missed = head - cursor.next;
                        Step::LagEnd {
                            farewell: self.end(cursor, displaced),
                            missed,
                        }
                    }
                    LagPolicy::SkipAhead => {
                        *displaced = self.waiters.unregister(&mut cursor.slot);
                        let missed = head - cursor.next;
                        cursor.next = head;
                        cursor.live_from = head;
                        self.stats.lagged += 1;
                        self.stats.lagged_events += missed;
                        let id = self.ring.id_before(config.id_policy(), head);
                        Step::Lagged { missed, id }
                    }
                };
            }
            let mut ready = self.ring.from(cursor.next);
            if let Some(entry) = ready.next() {
                let first = entry.event.clone();
                let mut bytes = first.len();
                let mut taken = 1;
                // Up to `BATCH` events per lock, the batch no more than `BATCH_BYTES`: a
                // stalled subscriber keeps its batch alive after the history has let go
                // of those events, so the batch must stay small in bytes too.
                if ready.len() > 0 {
                    let mut batched = 0;
                    let events = ready
                        .take(BATCH - 1)
                        .map(|entry| &entry.event)
                        .take_while(|event| {
                            batched += event.len();
                            batched <= BATCH_BYTES
                        })
                        .inspect(|event| bytes += event.len());
                    taken += batch.get_or_insert_with(Box::default).fill(events);
                }
                cursor.next += taken as u64;
                self.stats.events_sent += taken as u64;
                self.stats.bytes_sent += bytes as u64;
                return Step::Event(first);
            }
        }
        if self.closed.is_some() {
            return Step::End(self.end(cursor, displaced));
        }
        *displaced = self.waiters.register(&mut cursor.slot, waker);
        Step::Pending
    }

    /// Ends a subscriber: the farewell of a closed topic, if any, then nothing.
    fn end(&mut self, cursor: &mut Cursor, displaced: &mut Option<Waker>) -> Option<EncodedEvent> {
        *displaced = self.waiters.unregister(&mut cursor.slot);
        let farewell = self.closed.clone().flatten();
        if let Some(farewell) = &farewell {
            self.stats.events_sent += 1;
            self.stats.bytes_sent += farewell.len() as u64;
        }
        farewell
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    /// A subscriber refused by its topic's cap must not take one of the hub's places,
    /// not even for a moment: while it is being refused, another topic admits one if
    /// the hub is not full (it was refused with `Cap::Global`, a 503 saying the hub's
    /// cap was reached with one subscriber of two).
    #[test]
    fn a_topic_refusal_never_makes_another_topic_refused_globally() {
        let config = Config::new()
            .with_max_subscribers(2)
            .with_max_topic_subscribers(1)
            .with_retry_jitter(Duration::ZERO);
        let open = Arc::new(AtomicUsize::new(0));
        let full = Arc::new(Shared::new(config, 1, None, Arc::clone(&open)));
        let other = Shared::new(config, 1, None, Arc::clone(&open));
        let _first = full.try_subscribe(None, 0).unwrap();
        // A second subscription to the full topic, stopped on the topic's lock.
        let held = full.lock();
        let refused = std::thread::spawn({
            let full = Arc::clone(&full);
            move || full.try_subscribe(None, 0).map(drop)
        });
        // Until it counted itself in the hub (if it does), or at most 500 ms.
        let until = Instant::now() + Duration::from_millis(500);
        while open.load(Ordering::Acquire) < 2 && Instant::now() < until {
            std::thread::sleep(Duration::from_millis(1));
        }
        let admitted = other.try_subscribe(None, 0).map(drop);
        drop(held);
        // Refused (by the hub's cap now: both are reached once the other is in).
        assert!(refused.join().unwrap().is_err());
        let admitted = admitted.map_err(|refused| refused.to_string());
        assert!(admitted.is_ok(), "one of two subscribed, yet: {admitted:?}");
        assert_eq!(open.load(Ordering::Acquire), 2);
    }
}
