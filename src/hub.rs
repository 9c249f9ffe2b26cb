//! Fan-out: one event, encoded once, to every subscriber, with `Last-Event-ID` replay.
//!
//! The user-facing explanation is on [`Hub`].

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use crate::event::Event;

mod stats;
mod subscriber;
mod topic;

pub use stats::HubStats;
pub use subscriber::{LostReason, Resume, Subscriber};
pub use topic::Topic;

/// What happens to a subscriber that falls too far behind (see the
/// [module docs](crate::Hub#slow-subscribers)).
///
/// ```
/// use ssewire::{HubConfig, LagPolicy};
/// let config = HubConfig::new().with_lag_policy(LagPolicy::SkipAhead);
/// assert_eq!(config.lag_policy(), LagPolicy::SkipAhead);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum LagPolicy {
    /// End the subscriber's stream, and so its response. A browser reconnects with
    /// its `Last-Event-ID` and resumes from the history.
    #[default]
    Disconnect,
    /// Drop the events it had not received yet, send it one `lagged` event
    /// (`data: {"missed":N}`), and go on with live events.
    SkipAhead,
}

/// Where event ids come from (see the [module docs](crate::Hub#ids)).
///
/// ```
/// use ssewire::{HubConfig, IdPolicy};
/// let config = HubConfig::new().with_id_policy(IdPolicy::Keep);
/// assert_eq!(config.id_policy(), IdPolicy::Keep);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum IdPolicy {
    /// The topic sets each event's id to its position: consecutive numbers.
    #[default]
    Assign,
    /// Events keep the ids their publisher set; `Last-Event-ID` is looked up among
    /// the ids in the history.
    Keep,
}

/// How a [`Hub`]'s topics (or a lone [`Topic`]) keep history and treat slow subscribers.
///
/// Setters start with `with_`; the getters of the same names read the values back.
///
/// ```
/// use std::time::Duration;
/// use ssewire::{HubConfig, LagPolicy};
///
/// let config = HubConfig::new()
///    .with_history(10_000)
///    .with_history_bytes(32 << 20)
///    .with_history_age(Duration::from_secs(600))
///    .with_max_lag(1_000)
///    .with_lag_policy(LagPolicy::SkipAhead);
/// assert_eq!(config.history(), 10_000);
/// assert_eq!(config.max_lag(), 1_000);
/// ```
#[derive(Clone, Copy, PartialEq, Eq)]
#[must_use]
pub struct HubConfig {
    history: usize,
    history_bytes: usize,
    history_age: Option<Duration>,
    max_lag: Option<usize>,
    lag_policy: LagPolicy,
    id_policy: IdPolicy,
    first_id: Option<u64>,
}

impl Default for HubConfig {
    fn default() -> Self {
        HubConfig::new()
    }
}

impl HubConfig {
    /// The default history (events kept per topic).
    ///
    /// ```
    /// use ssewire::HubConfig;
    /// assert_eq!(HubConfig::new().history(), HubConfig::DEFAULT_HISTORY);
    /// ```
    pub const DEFAULT_HISTORY: usize = 1024;
    /// The default bound on the history's bytes (per topic): 8 MiB.
    ///
    /// ```
    /// assert_eq!(ssewire::HubConfig::DEFAULT_HISTORY_BYTES, 8 * 1024 * 1024);
    /// ```
    pub const DEFAULT_HISTORY_BYTES: usize = 8 << 20;

    /// The defaults: a history of 1024 events and 8 MiB with no age limit,
    /// `max_lag` half the history, [`LagPolicy::Disconnect`], [`IdPolicy::Assign`],
    /// ids starting from the clock.
    ///
    /// ```
    /// let config = ssewire::HubConfig::new();
    /// assert_eq!(config.history(), 1024);
    /// assert_eq!(config.history_bytes(), 8 << 20);
    /// assert_eq!(config.max_lag(), 512);
    /// ```
    pub const fn new() -> Self {
        HubConfig {
            history: Self::DEFAULT_HISTORY,
            history_bytes: Self::DEFAULT_HISTORY_BYTES,
            history_age: None,
            max_lag: None,
            lag_policy: LagPolicy::Disconnect,
            id_policy: IdPolicy::Assign,
            first_id: None,
        }
    }

    /// Keeps at most `events` events per topic (at least 1: the history is also the
    /// subscribers' queue). This bounds how far back a client can resume, and how far
    /// behind a subscriber can be.
    ///
    /// ```
    /// assert_eq!(ssewire::HubConfig::new().with_history(0).history(), 1);
    /// ```
    pub const fn with_history(mut self, events: usize) -> Self {
        self.history = if events == 0 { 1 } else { events };
        self
    }

    /// Keeps at most `bytes` bytes of encoded events per topic (the newest event is
    /// always kept, however large). This bounds a topic's memory.
    ///
    /// ```
    /// assert_eq!(ssewire::HubConfig::new().with_history_bytes(1 << 20).history_bytes(), 1 << 20);
    /// ```
    pub const fn with_history_bytes(mut self, bytes: usize) -> Self {
        self.history_bytes = bytes;
        self
    }

    /// Drops events from the history once they are older than `age` (checked when
    /// events are published and when clients subscribe).
    ///
    /// ```
    /// use std::time::Duration;
    /// let config = ssewire::HubConfig::new().with_history_age(Duration::from_secs(60));
    /// assert_eq!(config.history_age(), Some(Duration::from_secs(60)));
    /// ```
    pub const fn with_history_age(mut self, age: Duration) -> Self {
        self.history_age = Some(age);
        self
    }

    /// How many events a subscriber may fall behind before the [`LagPolicy`]
    /// applies (at least 1). Default: half the history, rounded up.
    ///
    /// ```
    /// assert_eq!(ssewire::HubConfig::new().with_max_lag(64).max_lag(), 64);
    /// ```
    pub const fn with_max_lag(mut self, events: usize) -> Self {
        self.max_lag = Some(if events == 0 { 1 } else { events });
        self
    }

    /// What happens to a subscriber that lags. Default: [`LagPolicy::Disconnect`].
    ///
    /// ```
    /// use ssewire::{HubConfig, LagPolicy};
    /// assert_eq!(HubConfig::new().lag_policy(), LagPolicy::Disconnect);
    /// ```
    pub const fn with_lag_policy(mut self, policy: LagPolicy) -> Self {
        self.lag_policy = policy;
        self
    }

    /// Where ids come from. Default: [`IdPolicy::Assign`].
    ///
    /// ```
    /// use ssewire::{HubConfig, IdPolicy};
    /// assert_eq!(HubConfig::new().id_policy(), IdPolicy::Assign);
    /// ```
    pub const fn with_id_policy(mut self, policy: IdPolicy) -> Self {
        self.id_policy = policy;
        self
    }

    /// The position (and, with [`IdPolicy::Assign`], the id) of a new topic's first
    /// event. Default: the current time in microseconds since the Unix epoch, read when
    /// the topic is created (see the [module docs](crate::Hub#ids)). At most 2^63, so
    /// that positions never run out; a larger value is lowered to 2^63.
    ///
    /// ```
    /// assert_eq!(ssewire::HubConfig::new().with_first_id(1).first_id(), Some(1));
    /// assert_eq!(ssewire::HubConfig::new().first_id(), None); // from the clock
    /// assert_eq!(ssewire::HubConfig::new().with_first_id(u64::MAX).first_id(), Some(1 << 63));
    /// ```
    pub const fn with_first_id(mut self, id: u64) -> Self {
        const MAX_FIRST_ID: u64 = 1 << 63;
        self.first_id = Some(if id > MAX_FIRST_ID { MAX_FIRST_ID } else { id });
        self
    }

    /// The most events kept per topic.
    ///
    /// ```
    /// assert_eq!(ssewire::HubConfig::new().with_history(5).history(), 5);
    /// ```
    pub const fn history(&self) -> usize {
        self.history
    }

    /// The most bytes of encoded events kept per topic.
    ///
    /// ```
    /// assert_eq!(ssewire::HubConfig::new().history_bytes(), ssewire::HubConfig::DEFAULT_HISTORY_BYTES);
    /// ```
    pub const fn history_bytes(&self) -> usize {
        self.history_bytes
    }

    /// The age after which events leave the history, if any.
    ///
    /// ```
    /// assert_eq!(ssewire::HubConfig::new().history_age(), None);
    /// ```
    pub const fn history_age(&self) -> Option<Duration> {
        self.history_age
    }

    /// How many events a subscriber may fall behind before the [`LagPolicy`] applies.
    ///
    /// ```
    /// assert_eq!(ssewire::HubConfig::new().with_history(9).max_lag(), 5);
    /// ```
    pub const fn max_lag(&self) -> usize {
        match self.max_lag {
            Some(lag) => lag,
            None => self.history.div_ceil(2),
        }
    }

    /// What happens to a subscriber that lags.
    ///
    /// ```
    /// assert_eq!(ssewire::HubConfig::new().lag_policy(), ssewire::LagPolicy::Disconnect);
    /// ```
    pub const fn lag_policy(&self) -> LagPolicy {
        self.lag_policy
    }

    /// Where ids come from.
    ///
    /// ```
    /// assert_eq!(ssewire::HubConfig::new().id_policy(), ssewire::IdPolicy::Assign);
    /// ```
    pub const fn id_policy(&self) -> IdPolicy {
        self.id_policy
    }

    /// The configured first position, or `None` for "from the clock".
    ///
    /// ```
    /// assert_eq!(ssewire::HubConfig::new().with_first_id(7).first_id(), Some(7));
    /// ```
    pub const fn first_id(&self) -> Option<u64> {
        self.first_id
    }
}

impl fmt::Debug for HubConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HubConfig")
            .field("history", &self.history)
            .field("history_bytes", &self.history_bytes)
            .field("history_age", &self.history_age)
            .field("max_lag", &self.max_lag())
            .field("lag_policy", &self.lag_policy)
            .field("id_policy", &self.id_policy)
            .field("first_id", &self.first_id)
            .finish()
    }
}

/// Fan-out: one event, encoded once, to every subscriber, with `Last-Event-ID` replay.
///
/// A [`Topic`] is one feed. A publisher hands it an [`Event`]; the topic gives the event
/// its id, encodes it **once**, and keeps the encoded bytes in a bounded **history**.
/// Every [`Subscriber`] reads the very same `Bytes` from that history (a reference
/// count, never a copy or a second encode) and is a `Stream` of events, so
/// [`Subscriber::into_body`] makes it an [`SseBody`](crate::SseBody) that a handler
/// returns as is. A [`Hub`] holds topics by name (chat rooms, tenants, ...) with one
/// configuration, [`HubConfig`].
///
/// ```
/// use ssewire::{Event, Hub, HubConfig};
/// use futures_util::StreamExt;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let hub = Hub::new(HubConfig::new().with_first_id(1));
/// let news = hub.topic("news");
///
/// // A handler: subscribe with the client's Last-Event-ID (None on a first visit)
/// // and return the body. Here we read the subscriber directly instead.
/// let mut alice = news.subscribe(None);
///
/// news.publish(Event::with_data("hello"));      // gets id 1, encoded once
/// news.publish(Event::with_data("world"));      // id 2
///
/// let first = alice.next().await.unwrap().unwrap();
/// assert_eq!(first.as_ref(), b"id: 1\ndata: hello\n\n");
///
/// // Bob was away and comes back having seen id 1: he gets exactly what he missed.
/// let mut bob = news.subscribe(Some("1"));
/// assert!(bob.resume().is_exact());
/// let missed = bob.next().await.unwrap().unwrap();
/// assert_eq!(missed.as_ref(), b"id: 2\ndata: world\n\n");
/// # }
/// ```
///
/// In a server (axum here, with features `axum` and `tokio`; with hyper, return
/// [`sse_response`](crate::sse_response)`(subscriber.into_body())`):
///
/// ```
/// # #[cfg(all(feature = "axum", feature = "tokio"))] {
/// use axum::{extract::State, http::HeaderMap, routing::get, Router};
/// use ssewire::{Hub, KeepAlive, SseBody, Subscriber};
///
/// #[derive(Clone)]
/// struct App {
///     hub: Hub,
///     keep_alive: KeepAlive, // one shared timer for every body
/// }
///
/// async fn events(State(app): State<App>, headers: HeaderMap) -> SseBody<Subscriber> {
///     // A malformed header counts as none (the client then gets no replay).
///     let last_id = ssewire::last_event_id(&headers).ok().flatten();
///     let subscriber = app.hub.topic("chat").subscribe(last_id.as_deref());
///     subscriber.into_body().keep_alive(app.keep_alive)
/// }
///
/// let state = App { hub: Hub::default(), keep_alive: KeepAlive::tokio() };
/// let app: Router = Router::new().route("/events", get(events)).with_state(state);
/// # let _ = app;
/// # }
/// ```
///
/// # One history, many readers
///
/// A topic keeps its recent events in one ring of encoded events, bounded by a count
/// ([`HubConfig::with_history`]), by bytes ([`HubConfig::with_history_bytes`]) and
/// optionally by age ([`HubConfig::with_history_age`]). That ring is both the replay
/// history and every subscriber's queue: a subscriber is only a position in it. So a
/// subscriber costs the same few dozen bytes whether it is idle, busy or stalled, the
/// memory of a topic is bounded by its history limits however many subscribers it
/// has, and delivering an event to a subscriber costs a lock, a reference-count
/// increment and a comparison: no per-subscriber encoding, and nothing proportional
/// to the history's length.
///
/// [`Topic::publish`] is a plain function that never waits for subscribers: it
/// appends to the ring under a short lock and wakes the subscribers that are waiting.
/// A slow or stalled client therefore never blocks the publisher or anyone else.
///
/// # Slow subscribers
///
/// A subscriber is *lagging* when it is more than [`HubConfig::with_max_lag`] events
/// behind the newest event (counting only events published since it subscribed, so a
/// long replay does not count), or when the next event it needs has already left the
/// history. It notices when it is next polled; until then it holds nothing. Then the
/// [`LagPolicy`] applies:
///
/// - [`LagPolicy::Disconnect`] (the default): the subscriber's stream ends, so the
///   response ends. The browser reconnects with its `Last-Event-ID` and, if the events
///   it needs are still in the history, resumes exactly where it was. The default
///   `max_lag` is half the history, which leaves that room.
/// - [`LagPolicy::SkipAhead`]: the subscriber drops everything it had not received,
///   gets one `lagged` event (below), and goes on with live events.
///
/// # Ids
///
/// With [`IdPolicy::Assign`] (the default) the topic sets every event's id to its
/// position, a number that grows by one per event (any id the event had is replaced).
/// Positions start from [`HubConfig::with_first_id`], by default the current time in
/// microseconds since the Unix epoch: a server that restarts then starts above every id
/// it issued before (unless it published more than a million events per second), so a
/// client coming back with an id from the previous run is told its history was lost
/// instead of being resumed from the wrong place. With [`IdPolicy::Keep`] the events
/// keep the ids the publisher gave them, and a `Last-Event-ID` is looked up among the
/// ids in the history (an event without an id cannot be resumed from; give every
/// event a unique id).
///
/// # Resuming: the handoff
///
/// [`Topic::subscribe`] takes the client's `Last-Event-ID`. Under the same lock that
/// publishers take to append, it looks the id up and sets the subscriber's position
/// right after it. There is no separate "replay, then switch to live" step that events
/// could slip through: replayed and live events are read from the same ring, in
/// order, so the subscriber receives exactly the events after its id, each once, even
/// while events are being published during the subscription.
///
/// What happened is in [`Subscriber::resume`], which a handler can read before it
/// builds the response (to log it, or to send a full snapshot first):
///
/// - [`Resume::New`]: no `Last-Event-ID`; the subscriber starts with the next event
///   (or with the last few, see [`Topic::subscribe_with_backlog`]).
/// - [`Resume::Exact`]: the id was found; the events after it follow, then live ones.
/// - [`Resume::HistoryLost`]: the events after the id are gone (older than the
///   history, see [`LostReason::Expired`]) or the id is not one this topic issued
///   ([`LostReason::Unknown`]). The subscriber sends a `history-lost` event first,
///   then goes on as a new subscriber would (with its backlog, if any). It never
///   skips events silently: for an expired id the event says exactly how many
///   events the client will not get.
///
/// # Events the hub sends itself
///
/// | event type | when | `data` |
/// |---|---|---|
/// | `lagged` ([`Subscriber::LAGGED`]) | [`LagPolicy::SkipAhead`] skipped events | `{"missed":N}` |
/// | `history-lost` ([`Subscriber::HISTORY_LOST`]) | first event of a [`Resume::HistoryLost`] subscriber | `{"reason":"expired","missed":N}` or `{"reason":"unknown"}` |
///
/// `N` is exact: the next event the client receives is `N + 1` positions after the
/// last one it had, so every gap in what a client sees is announced with its size.
/// Both events carry as `id` the id of the event just before the next one the
/// subscriber will receive (when that event has an id), so that if the client
/// reconnects it resumes from there and is not told the same news twice. In a page:
/// `source.addEventListener("history-lost", () => reloadEverything())`.
///
/// # Counters
///
/// [`Topic::stats`] and [`Hub::stats`] return a [`HubStats`]: subscribers now,
/// subscribed and unsubscribed totals, events published, events and bytes handed to
/// subscribers, lagged and disconnected-for-lag totals, exact and lost resumptions,
/// and the history's current size. A subscriber is counted out the moment it is
/// dropped, which is when the server drops the response body of a client that went
/// away.
///
/// # Runtime
///
/// The hub uses only `std` (a `Mutex` held for short, bounded sections, and the
/// standard `Waker`), so it works on any executor.
///
/// # Topics by name
///
/// `Hub` is cheap to clone (all clones are the same hub): put it in your application
/// state. A topic is created the first time it is named and lives until it is
/// [removed](Hub::remove) or the hub is dropped. Its subscribers' streams end once
/// every handle to it is gone (the hub's and the [`Topic`]s you cloned from it) and
/// they have received what was published before.
///
/// Topic names from requests (`/rooms/{name}`) let clients create topics, each with
/// its own history: check such names against what exists ([`Hub::get`]) or against
/// your own rules before calling [`Hub::topic`].
///
/// ```
/// use ssewire::{Event, Hub};
///
/// let hub = Hub::default();
/// let lobby = hub.topic("lobby");
/// let _subscriber = lobby.subscribe(None);
/// lobby.publish(Event::with_data("welcome"));
/// assert!(hub.get("lobby").is_some());
/// assert!(hub.get("attic").is_none());
/// assert_eq!(hub.stats().events_published, 1);
/// assert_eq!(hub.stats().subscribers, 1);
/// ```
#[derive(Clone, Default)]
pub struct Hub {
    inner: Arc<HubInner>,
}

#[derive(Default)]
struct HubInner {
    config: HubConfig,
    topics: Mutex<HashMap<Box<str>, Topic>>,
}

impl Hub {
    /// A hub whose topics use `config`.
    ///
    /// ```
    /// let hub = ssewire::Hub::new(ssewire::HubConfig::new().with_history(100));
    /// assert_eq!(hub.config().history(), 100);
    /// ```
    pub fn new(config: HubConfig) -> Self {
        Hub {
            inner: Arc::new(HubInner {
                config,
                topics: Mutex::default(),
            }),
        }
    }

    /// The configuration every topic of this hub uses.
    ///
    /// ```
    /// assert_eq!(ssewire::Hub::default().config().history(), 1024);
    /// ```
    pub fn config(&self) -> &HubConfig {
        &self.inner.config
    }

    /// The topic called `name`, created if it does not exist yet.
    ///
    /// ```
    /// let hub = ssewire::Hub::default();
    /// let a = hub.topic("a");
    /// a.publish(ssewire::Event::with_data("x"));
    /// assert_eq!(hub.topic("a").stats().events_published, 1); // the same topic
    /// ```
    pub fn topic(&self, name: &str) -> Topic {
        let mut topics = self.topics();
        if let Some(topic) = topics.get(name) {
            return topic.clone();
        }
        let topic = Topic::new(self.inner.config);
        topics.insert(name.into(), topic.clone());
        topic
    }

    /// The topic called `name`, if it exists.
    ///
    /// ```
    /// let hub = ssewire::Hub::default();
    /// assert!(hub.get("a").is_none());
    /// hub.topic("a");
    /// assert!(hub.get("a").is_some());
    /// ```
    pub fn get(&self, name: &str) -> Option<Topic> {
        self.topics().get(name).cloned()
    }

    /// Removes the topic called `name` from the hub and returns it. Its history and
    /// its counters leave the hub (read [`Topic::stats`] first if you export them);
    /// its subscribers end once no handle to it is left. Naming it again creates a
    /// new, empty topic.
    ///
    /// ```
    /// let hub = ssewire::Hub::default();
    /// hub.topic("a");
    /// assert!(hub.remove("a").is_some());
    /// assert!(hub.get("a").is_none());
    /// ```
    pub fn remove(&self, name: &str) -> Option<Topic> {
        self.topics().remove(name)
    }

    /// The names of the topics that exist now, in no particular order.
    ///
    /// ```
    /// let hub = ssewire::Hub::default();
    /// hub.topic("a");
    /// assert_eq!(hub.topic_names(), vec!["a".to_string()]);
    /// ```
    pub fn topic_names(&self) -> Vec<String> {
        self.topics().keys().map(|name| name.to_string()).collect()
    }

    /// Publishes `event` on the topic called `name` (created if needed); shorthand for
    /// `hub.topic(name).publish(event)`. Returns the event's position (its id with
    /// [`IdPolicy::Assign`]).
    ///
    /// ```
    /// let hub = ssewire::Hub::new(ssewire::HubConfig::new().with_first_id(1));
    /// assert_eq!(hub.publish("a", ssewire::Event::with_data("x")), 1);
    /// ```
    pub fn publish(&self, name: &str, event: Event) -> u64 {
        self.topic(name).publish(event)
    }

    /// Subscribes to the topic called `name` (created if needed); shorthand for
    /// `hub.topic(name).subscribe(last_event_id)`.
    ///
    /// ```
    /// let hub = ssewire::Hub::default();
    /// let subscriber = hub.subscribe("a", None);
    /// assert!(subscriber.resume().is_new());
    /// ```
    pub fn subscribe(&self, name: &str, last_event_id: Option<&str>) -> Subscriber {
        self.topic(name).subscribe(last_event_id)
    }

    /// The counters of all the topics that exist now, added up (the history fields
    /// are summed too). [`HubStats::topics`] is the number of topics.
    ///
    /// ```
    /// let hub = ssewire::Hub::default();
    /// hub.publish("a", ssewire::Event::with_data("x"));
    /// hub.publish("b", ssewire::Event::with_data("y"));
    /// let stats = hub.stats();
    /// assert_eq!((stats.topics, stats.events_published), (2, 2));
    /// ```
    pub fn stats(&self) -> HubStats {
        // Copy the handles out, so no topic lock is taken under the registry lock.
        let topics: Vec<Topic> = self.topics().values().cloned().collect();
        let mut total = HubStats::default();
        for topic in &topics {
            total.add(&topic.stats());
        }
        total.topics = topics.len() as u64;
        total
    }

    fn topics(&self) -> std::sync::MutexGuard<'_, HashMap<Box<str>, Topic>> {
        self.inner
            .topics
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

impl fmt::Debug for Hub {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Hub")
            .field("config", &self.inner.config)
            .field("topics", &self.topics().len())
            .finish()
    }
}
