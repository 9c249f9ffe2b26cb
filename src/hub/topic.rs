//! One feed: the shared ring of encoded events, its publishers and its waiting readers.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::Waker;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use crate::encoded::EncodedEvent;
use crate::event::Event;
use crate::fields::{EventId, EventType};

use super::stats::HubStats;
use super::subscriber::{LostReason, Resume, Subscriber};
use super::{HubConfig, IdPolicy, LagPolicy};

/// One feed of events: publish once, every subscriber gets the same encoded bytes.
///
/// Make one with [`Topic::new`], or get one by name from a [`Hub`](crate::Hub).
/// Clones are handles to the same topic. When the last handle is dropped the topic
/// closes: its subscribers end after receiving everything published before.
/// See the [module docs](crate::Hub) for the history, the lag policies and the
/// resumption handoff.
///
/// ```
/// use futures_util::StreamExt;
/// use ssewire::{Event, HubConfig, Topic};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let topic = Topic::new(HubConfig::new().with_first_id(100));
/// let mut subscriber = topic.subscribe(None);
/// let id = topic.publish(Event::with_data("hi"));
/// assert_eq!(id, 100);
/// let event = subscriber.next().await.unwrap().unwrap();
/// assert_eq!(event.as_ref(), b"id: 100\ndata: hi\n\n");
/// drop(topic); // the last handle: the subscriber ends
/// assert!(subscriber.next().await.is_none());
/// # }
/// ```
pub struct Topic {
    shared: Arc<Shared>,
}

pub(super) struct Shared {
    config: HubConfig,
    state: Mutex<State>,
    /// With [`IdPolicy::Assign`]: the position of the next event. Publishers hold it
    /// while they encode, so events are encoded with their ids outside `state`, and
    /// appended in position order.
    next_position: Mutex<u64>,
    /// `Topic` handles alive; the topic closes when it reaches zero.
    handles: AtomicUsize,
}

struct Entry {
    event: EncodedEvent,
    /// When it was published, if the history has an age limit.
    at: Option<Instant>,
    /// Its id, with [`IdPolicy::Keep`] (for the lookup index).
    id: Option<Arc<str>>,
}

/// A subscriber's place in the ring.
#[derive(Debug)]
pub(super) struct Cursor {
    /// Position of the next event to deliver.
    pub(super) next: u64,
    /// Position of the first event published after it subscribed (or skipped
    /// ahead): lag counts only events from here on, not the replay.
    pub(super) live_from: u64,
    /// Its slot among the waiters, valid while `wait_generation` is the topic's
    /// generation and `wait_index` is not `NOT_WAITING`.
    wait_generation: u64,
    wait_index: u32,
    /// The stream has ended (kept here, in the padding, to keep subscribers small).
    pub(super) ended: bool,
}

const NOT_WAITING: u32 = u32::MAX;

/// How many ready events a subscriber takes from the ring per lock: fewer lock
/// round trips when it has fallen behind, at most this many events held aside.
pub(super) const BATCH: usize = 16;

/// Events a subscriber took from the ring and has not handed out yet, in order.
/// Allocated only while the subscriber is catching up; dropped when it is idle.
#[derive(Default)]
pub(super) struct Batch {
    events: [Option<EncodedEvent>; BATCH],
    next: usize,
    len: usize,
}

impl Batch {
    pub(super) fn remaining(&self) -> usize {
        self.len - self.next
    }

    pub(super) fn pop(&mut self) -> Option<EncodedEvent> {
        if self.next == self.len {
            return None;
        }
        let event = self.events.get_mut(self.next)?.take();
        self.next += 1;
        event
    }
}

/// What a subscriber gets when it is polled.
pub(super) enum Step {
    /// The next event; more may have been put in the subscriber's batch.
    Event(EncodedEvent),
    /// A `lagged` event (already counted as sent).
    Lagged(Event),
    Disconnect,
    End,
    Pending,
}

/// What a `Last-Event-ID` means for a topic.
enum Located {
    NoId,
    /// Resume at this position.
    Found(u64),
    /// This position was wanted, but it has left the history.
    Expired(u64),
    Unknown,
}

struct State {
    /// The history: events at positions `front .. front + ring.len()`.
    ring: VecDeque<Entry>,
    front: u64,
    /// The topic's first position ever.
    first: u64,
    bytes: usize,
    /// With [`IdPolicy::Keep`]: id → newest position with that id, for ids in `ring`.
    index: HashMap<Arc<str>, u64>,
    /// Wakers of subscribers that found nothing to read. A subscriber remembers its
    /// slot (with `generation`), so polling it again replaces its waker, and
    /// dropping it empties its slot; `free` lists emptied slots for reuse.
    waiters: Vec<Option<Waker>>,
    free: Vec<usize>,
    /// Bumped each time the waiters are taken (which invalidates every slot).
    generation: u64,
    closed: bool,
    stats: HubStats,
}

impl Topic {
    /// A topic on its own (not in a [`Hub`](crate::Hub)).
    ///
    /// ```
    /// let topic = ssewire::Topic::new(ssewire::HubConfig::new().with_history(16));
    /// assert_eq!(topic.config().history(), 16);
    /// ```
    pub fn new(config: HubConfig) -> Self {
        let first = config.first_id().unwrap_or_else(clock_micros);
        Topic {
            shared: Arc::new(Shared {
                config,
                state: Mutex::new(State {
                    ring: VecDeque::new(),
                    front: first,
                    first,
                    bytes: 0,
                    index: HashMap::new(),
                    waiters: Vec::new(),
                    free: Vec::new(),
                    generation: 1,
                    closed: false,
                    stats: HubStats::default(),
                }),
                next_position: Mutex::new(first),
                handles: AtomicUsize::new(1),
            }),
        }
    }

    /// The topic's configuration.
    ///
    /// ```
    /// let topic = ssewire::Topic::new(ssewire::HubConfig::default());
    /// assert_eq!(topic.config().history(), 1024);
    /// ```
    pub fn config(&self) -> &HubConfig {
        &self.shared.config
    }

    /// Publishes `event` to every subscriber and into the history, and returns its
    /// position (with [`IdPolicy::Assign`], also its id).
    ///
    /// The event is encoded once; subscribers share the bytes. This never waits for a
    /// subscriber: it takes a short lock, appends, drops the events that leave the
    /// history, and wakes the subscribers that were waiting.
    ///
    /// With [`IdPolicy::Assign`] the event's id is set to its position (an id it had
    /// is replaced). With [`IdPolicy::Keep`] it keeps its id; one made with
    /// `Event::from(EncodedEvent)` has no id the topic can read, so a client cannot
    /// resume from it.
    ///
    /// ```
    /// use ssewire::{Event, HubConfig, Topic};
    /// let topic = Topic::new(HubConfig::new().with_first_id(1));
    /// assert_eq!(topic.publish(Event::with_data("a")), 1);
    /// assert_eq!(topic.publish(Event::new().id(99u32).data("b")), 2); // id replaced by 2
    /// ```
    pub fn publish(&self, event: Event) -> u64 {
        let shared = &*self.shared;
        let at = shared.config.history_age().map(|_| Instant::now());
        let (position, wakers) = match shared.config.id_policy() {
            IdPolicy::Assign => {
                let mut next = shared
                    .next_position
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner);
                let position = *next;
                let event = event.id(position).encode();
                let mut state = shared.lock();
                debug_assert_eq!(state.head(), position);
                state.push(&shared.config, event, at, None);
                *next = position.saturating_add(1);
                (position, state.take_waiters())
            }
            IdPolicy::Keep => {
                let id = event
                    .event_id()
                    .filter(|id| !id.is_empty())
                    .map(|id| Arc::<str>::from(id.to_string()));
                let event = event.encode();
                let mut state = shared.lock();
                let position = state.head();
                state.push(&shared.config, event, at, id);
                (position, state.take_waiters())
            }
        };
        shared.wake(wakers);
        position
    }

    /// A subscriber that starts after `last_event_id` (the client's `Last-Event-ID`
    /// header, `None` on a first connection), or with the next event published when
    /// there is none.
    ///
    /// Check [`Subscriber::resume`] to see what happened: resumed exactly, or history
    /// lost (then the subscriber first sends a `history-lost` event, and goes on as a
    /// new subscriber). An empty id counts as none.
    ///
    /// ```
    /// use ssewire::{Event, HubConfig, LostReason, Resume, Topic};
    ///
    /// let topic = Topic::new(HubConfig::new().with_first_id(1).with_history(2));
    /// for text in ["a", "b", "c"] {
    ///     topic.publish(Event::with_data(text)); // ids 1, 2, 3; the history keeps 2 and 3
    /// }
    /// assert_eq!(topic.subscribe(Some("2")).resume(), Resume::Exact { replayed: 1 });
    /// assert_eq!(
    ///     topic.subscribe(Some("0")).resume(), // 1 left the history; 2 and 3 are skipped
    ///     Resume::HistoryLost { reason: LostReason::Expired { missed: 3 } },
    /// );
    /// assert_eq!(
    ///     topic.subscribe(Some("nonsense")).resume(),
    ///     Resume::HistoryLost { reason: LostReason::Unknown },
    /// );
    /// ```
    pub fn subscribe(&self, last_event_id: Option<&str>) -> Subscriber {
        self.subscribe_with_backlog(last_event_id, 0)
    }

    /// Like [`Topic::subscribe`], but a subscriber that has no usable position (no
    /// `Last-Event-ID`, or its history was lost) starts with up to `backlog` of the
    /// most recent events in the history: the last messages of a chat, the latest
    /// value of a gauge. With `usize::MAX`, a client whose history expired gets
    /// everything still in the history after its gap.
    ///
    /// ```
    /// use futures_util::StreamExt;
    /// use ssewire::{Event, HubConfig, Resume, Topic};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let topic = Topic::new(HubConfig::new().with_first_id(1));
    /// for text in ["a", "b", "c"] {
    ///     topic.publish(Event::with_data(text));
    /// }
    /// let mut newcomer = topic.subscribe_with_backlog(None, 2);
    /// assert_eq!(newcomer.resume(), Resume::New { backlog: 2 });
    /// let first = newcomer.next().await.unwrap().unwrap();
    /// assert_eq!(first.as_ref(), b"id: 2\ndata: b\n\n");
    /// # }
    /// ```
    pub fn subscribe_with_backlog(
        &self,
        last_event_id: Option<&str>,
        backlog: usize,
    ) -> Subscriber {
        let shared = Arc::clone(&self.shared);
        let (cursor, resume, opening) = shared.lock().subscribe(
            &shared.config,
            last_event_id.filter(|id| !id.is_empty()),
            backlog,
        );
        Subscriber::new(shared, cursor, resume, opening)
    }

    /// This topic's counters (see [`HubStats`]).
    ///
    /// ```
    /// let topic = ssewire::Topic::new(ssewire::HubConfig::new());
    /// topic.publish(ssewire::Event::with_data("abc"));
    /// let stats = topic.stats();
    /// assert_eq!(stats.events_published, 1);
    /// assert_eq!(stats.history_bytes, stats.bytes_published);
    /// ```
    pub fn stats(&self) -> HubStats {
        self.shared.lock().stats()
    }

    /// How many subscribers the topic has now.
    ///
    /// ```
    /// let topic = ssewire::Topic::new(ssewire::HubConfig::new());
    /// let subscriber = topic.subscribe(None);
    /// assert_eq!(topic.subscriber_count(), 1);
    /// drop(subscriber);
    /// assert_eq!(topic.subscriber_count(), 0);
    /// ```
    pub fn subscriber_count(&self) -> u64 {
        self.shared.lock().stats().subscribers
    }
}

impl Clone for Topic {
    fn clone(&self) -> Self {
        self.shared.handles.fetch_add(1, Ordering::Relaxed);
        Topic {
            shared: Arc::clone(&self.shared),
        }
    }
}

impl Drop for Topic {
    fn drop(&mut self) {
        if self.shared.handles.fetch_sub(1, Ordering::AcqRel) == 1 {
            let wakers = {
                let mut state = self.shared.lock();
                state.closed = true;
                state.take_waiters()
            };
            self.shared.wake(wakers);
        }
    }
}

impl fmt::Debug for Topic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.shared.lock();
        f.debug_struct("Topic")
            .field("next_position", &state.head())
            .field("history_events", &state.ring.len())
            .field("history_bytes", &state.bytes)
            .field("subscribers", &state.stats().subscribers)
            .finish_non_exhaustive()
    }
}

impl Shared {
    pub(super) fn config(&self) -> &HubConfig {
        &self.config
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // Nothing panics while holding the lock, but a poisoned lock is still usable:
        // every critical section leaves the state consistent.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn wake(&self, wakers: Vec<Option<Waker>>) {
        for waker in wakers.into_iter().flatten() {
            waker.wake();
        }
    }

    /// The next step for a subscriber at `cursor`, registering `waker` when there is
    /// nothing to read yet. Up to [`BATCH`]` - 1` more ready events go into `batch`.
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
            state.unregister(cursor)
        };
        drop(displaced); // outside the lock, as in `poll`
    }

    /// Counts an event the subscriber made itself (the `history-lost` opening).
    pub(super) fn count_sent(&self, bytes: usize) {
        let mut state = self.lock();
        state.stats.events_sent += 1;
        state.stats.bytes_sent += bytes as u64;
    }
}

impl State {
    fn head(&self) -> u64 {
        self.front + self.ring.len() as u64
    }

    fn stats(&self) -> HubStats {
        let mut stats = self.stats;
        stats.topics = 1;
        stats.subscribers = stats.subscribed - stats.unsubscribed;
        stats.history_events = self.ring.len() as u64;
        stats.history_bytes = self.bytes as u64;
        stats
    }

    fn push(
        &mut self,
        config: &HubConfig,
        event: EncodedEvent,
        at: Option<Instant>,
        id: Option<Arc<str>>,
    ) {
        let position = self.head();
        let len = event.len();
        self.bytes += len;
        self.stats.events_published += 1;
        self.stats.bytes_published += len as u64;
        if let Some(id) = &id {
            self.index.insert(Arc::clone(id), position);
        }
        self.ring.push_back(Entry { event, at, id });
        while self.ring.len() > config.history()
            || (self.bytes > config.history_bytes() && self.ring.len() > 1)
        {
            self.pop_front();
        }
        if let Some(now) = at {
            self.expire(config, now);
        }
    }

    /// Drops the events older than the history's age limit.
    fn expire(&mut self, config: &HubConfig, now: Instant) {
        let Some(cutoff) = config.history_age().and_then(|age| now.checked_sub(age)) else {
            return;
        };
        while self
            .ring
            .front()
            .is_some_and(|entry| entry.at.is_some_and(|at| at < cutoff))
        {
            self.pop_front();
        }
    }

    fn pop_front(&mut self) {
        if let Some(entry) = self.ring.pop_front() {
            self.bytes -= entry.event.len();
            if let Some(id) = entry.id {
                if self.index.get(&id) == Some(&self.front) {
                    self.index.remove(&id);
                }
            }
            self.front += 1;
        }
    }

    /// The id of the event just before `position`, when there is one to name: what a
    /// client should send back to resume at `position`.
    fn id_before(&self, config: &HubConfig, position: u64) -> Option<EventId> {
        let before = position.checked_sub(1)?;
        match config.id_policy() {
            IdPolicy::Assign => Some(EventId::from_u64(before)),
            IdPolicy::Keep => {
                let index = usize::try_from(before.checked_sub(self.front)?).ok()?;
                let id = self.ring.get(index)?.id.as_deref()?;
                EventId::new(id).ok()
            }
        }
    }

    /// Where a client that saw `last_event_id` resumes.
    fn locate(&self, config: &HubConfig, last_event_id: Option<&str>) -> Located {
        let Some(id) = last_event_id else {
            return Located::NoId;
        };
        match config.id_policy() {
            IdPolicy::Assign => {
                let Some(next) = id.parse::<u64>().ok().and_then(|seen| seen.checked_add(1)) else {
                    return Located::Unknown;
                };
                if next < self.first || next > self.head() {
                    Located::Unknown
                } else if next < self.front {
                    Located::Expired(next)
                } else {
                    Located::Found(next)
                }
            }
            IdPolicy::Keep => match self.index.get(id) {
                Some(&position) => Located::Found(position + 1),
                None => Located::Unknown,
            },
        }
    }

    fn subscribe(
        &mut self,
        config: &HubConfig,
        last_event_id: Option<&str>,
        backlog: usize,
    ) -> (Cursor, Resume, Option<Event>) {
        if config.history_age().is_some() {
            self.expire(config, Instant::now());
        }
        let head = self.head();
        let backlog_start = head
            .saturating_sub(u64::try_from(backlog).unwrap_or(u64::MAX))
            .max(self.front);
        let (next, resume) = match self.locate(config, last_event_id) {
            Located::NoId => (
                backlog_start,
                Resume::New {
                    backlog: head - backlog_start,
                },
            ),
            Located::Found(next) => {
                self.stats.resumed += 1;
                (
                    next,
                    Resume::Exact {
                        replayed: head - next,
                    },
                )
            }
            Located::Expired(wanted) => {
                self.stats.history_lost += 1;
                let missed = backlog_start - wanted;
                let reason = LostReason::Expired { missed };
                (backlog_start, Resume::HistoryLost { reason })
            }
            Located::Unknown => {
                self.stats.history_lost += 1;
                let reason = LostReason::Unknown;
                (backlog_start, Resume::HistoryLost { reason })
            }
        };
        let opening = match resume {
            Resume::HistoryLost { reason } => {
                let data = match reason {
                    LostReason::Expired { missed } => {
                        format!("{{\"reason\":\"expired\",\"missed\":{missed}}}")
                    }
                    LostReason::Unknown => "{\"reason\":\"unknown\"}".to_owned(),
                };
                Some(control_event(
                    Subscriber::HISTORY_LOST,
                    self.id_before(config, next),
                    &data,
                ))
            }
            _ => None,
        };
        self.stats.subscribed += 1;
        let cursor = Cursor {
            next,
            live_from: head,
            wait_generation: 0,
            wait_index: NOT_WAITING,
            ended: false,
        };
        (cursor, resume, opening)
    }

    fn poll(
        &mut self,
        config: &HubConfig,
        cursor: &mut Cursor,
        waker: &Waker,
        batch: &mut Option<Box<Batch>>,
        displaced: &mut Option<Waker>,
    ) -> Step {
        let head = self.head();
        if cursor.next < head {
            let behind = head - cursor.next.max(cursor.live_from);
            if cursor.next < self.front || behind > config.max_lag() as u64 {
                *displaced = self.unregister(cursor);
                return match config.lag_policy() {
                    LagPolicy::Disconnect => {
                        self.stats.disconnected_for_lag += 1;
                        Step::Disconnect
                    }
                    LagPolicy::SkipAhead => {
                        let missed = head - cursor.next;
                        cursor.next = head;
                        cursor.live_from = head;
                        self.stats.lagged += 1;
                        self.stats.lagged_events += missed;
                        let event = control_event(
                            Subscriber::LAGGED,
                            self.id_before(config, head),
                            &format!("{{\"missed\":{missed}}}"),
                        );
                        self.stats.events_sent += 1;
                        self.stats.bytes_sent += event.encoded_len() as u64;
                        Step::Lagged(event)
                    }
                };
            }
            let index = usize::try_from(cursor.next - self.front).unwrap_or(usize::MAX);
            let mut ready = self.ring.range(index.min(self.ring.len())..);
            if let Some(entry) = ready.next() {
                let first = entry.event.clone();
                let mut bytes = first.len();
                let mut taken = 1;
                let more = ready.len().min(BATCH - 1);
                if more > 0 {
                    let batch = batch.get_or_insert_with(Box::default);
                    for (slot, entry) in batch.events.iter_mut().zip(ready.take(more)) {
                        bytes += entry.event.len();
                        *slot = Some(entry.event.clone());
                    }
                    batch.next = 0;
                    batch.len = more;
                    taken += more;
                }
                cursor.next += taken as u64;
                self.stats.events_sent += taken as u64;
                self.stats.bytes_sent += bytes as u64;
                return Step::Event(first);
            }
        }
        if self.closed {
            *displaced = self.unregister(cursor);
            return Step::End;
        }
        *displaced = self.register(cursor, waker);
        Step::Pending
    }

    /// Registers `waker` for the next publish; returns a waker it replaced, for the
    /// caller to drop once the lock is released.
    fn register(&mut self, cursor: &mut Cursor, waker: &Waker) -> Option<Waker> {
        if cursor.wait_generation == self.generation && cursor.wait_index != NOT_WAITING {
            if let Some(slot) = self.waiters.get_mut(cursor.wait_index as usize) {
                return match slot {
                    Some(old) if old.will_wake(waker) => None,
                    _ => slot.replace(waker.clone()),
                };
            }
        }
        let index = match self.free.pop() {
            Some(index) if index < self.waiters.len() => {
                self.waiters[index] = Some(waker.clone());
                index
            }
            _ => {
                if self.waiters.len() == self.waiters.capacity() {
                    // Grow by an eighth, not double: this list is the only memory a
                    // waiting subscriber costs the topic.
                    self.waiters.reserve_exact(8.max(self.waiters.len() / 8));
                }
                self.waiters.push(Some(waker.clone()));
                self.waiters.len() - 1
            }
        };
        match u32::try_from(index) {
            Ok(index) if index != NOT_WAITING => {
                cursor.wait_generation = self.generation;
                cursor.wait_index = index;
            }
            // Four billion waiting subscribers: this one's slot cannot be
            // remembered, so it stays (harmlessly) in the list until the next wake.
            _ => cursor.wait_index = NOT_WAITING,
        }
        None
    }

    /// Removes the subscriber's waker, if registered; returns it for the caller to
    /// drop once the lock is released.
    fn unregister(&mut self, cursor: &mut Cursor) -> Option<Waker> {
        let index = std::mem::replace(&mut cursor.wait_index, NOT_WAITING);
        if cursor.wait_generation != self.generation || index == NOT_WAITING {
            return None;
        }
        let old = self.waiters.get_mut(index as usize)?.take();
        if old.is_some() {
            self.free.push(index as usize);
        }
        old
    }

    /// Takes every registered waker, to wake them once the lock is released.
    fn take_waiters(&mut self) -> Vec<Option<Waker>> {
        if self.waiters.is_empty() {
            return Vec::new();
        }
        self.generation += 1;
        // The same subscribers will most likely wait again: room for all of them.
        let room = Vec::with_capacity(self.waiters.len().saturating_sub(self.free.len()));
        self.free.clear();
        std::mem::replace(&mut self.waiters, room)
    }
}

fn control_event(event_type: EventType, id: Option<EventId>, data: &str) -> Event {
    let event = Event::new().event(event_type);
    let event = match id {
        Some(id) => event.id(id),
        None => event,
    };
    event.data(data)
}

/// Microseconds since the Unix epoch (1 if the clock is before it).
fn clock_micros() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .ok()
        .and_then(|since| u64::try_from(since.as_micros()).ok())
        .unwrap_or(1)
        .max(1)
}
