//! How a hub's topics keep history and treat slow subscribers.

use std::fmt;
use std::time::Duration;

/// What happens to a subscriber that falls too far behind (see the
/// [module docs](super#slow-subscribers)).
///
/// ```
/// use ssewire::hub::{Config, LagPolicy};
/// let config = Config::new().with_lag_policy(LagPolicy::SkipAhead);
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

/// Where event ids come from (see the [module docs](super#ids)).
///
/// ```
/// use ssewire::hub::{Config, IdPolicy};
/// let config = Config::new().with_id_policy(IdPolicy::Keep);
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

/// How a [`Hub`](super::Hub)'s topics (or a lone [`Topic`](super::Topic)) keep history and treat slow subscribers.
///
/// Setters start with `with_`; the getters of the same names read the values back.
///
/// ```
/// use std::time::Duration;
/// use ssewire::hub::{Config, LagPolicy};
///
/// let config = Config::new()
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
pub struct Config {
    history: usize,
    history_bytes: usize,
    history_age: Option<Duration>,
    max_lag: Option<usize>,
    lag_policy: LagPolicy,
    id_policy: IdPolicy,
    first_id: Option<u64>,
    topic_label: bool,
    /// The subscriber caps: the hub's as the global cap, a topic's as the per-key cap.
    caps: crate::Limits,
}

impl Default for Config {
    fn default() -> Self {
        Config::new()
    }
}

impl Config {
    /// The default history (events kept per topic).
    ///
    /// ```
    /// use ssewire::hub::Config;
    /// assert_eq!(Config::new().history(), Config::DEFAULT_HISTORY);
    /// ```
    pub const DEFAULT_HISTORY: usize = 1024;
    /// The default bound on the history's bytes (per topic): 8 MiB.
    ///
    /// ```
    /// assert_eq!(ssewire::hub::Config::DEFAULT_HISTORY_BYTES, 8 * 1024 * 1024);
    /// ```
    pub const DEFAULT_HISTORY_BYTES: usize = 8 << 20;
    /// The default [`LagPolicy`]: [`LagPolicy::Disconnect`].
    ///
    /// ```
    /// use ssewire::hub::{Config, LagPolicy};
    /// assert_eq!(Config::DEFAULT_LAG_POLICY, LagPolicy::Disconnect);
    /// ```
    pub const DEFAULT_LAG_POLICY: LagPolicy = LagPolicy::Disconnect;
    /// The default [`IdPolicy`]: [`IdPolicy::Assign`].
    ///
    /// ```
    /// use ssewire::hub::{Config, IdPolicy};
    /// assert_eq!(Config::DEFAULT_ID_POLICY, IdPolicy::Assign);
    /// ```
    pub const DEFAULT_ID_POLICY: IdPolicy = IdPolicy::Assign;

    /// The defaults: a history of 1024 events and 8 MiB with no age limit,
    /// `max_lag` half the history, [`LagPolicy::Disconnect`], [`IdPolicy::Assign`],
    /// ids starting from the clock.
    ///
    /// ```
    /// let config = ssewire::hub::Config::new();
    /// assert_eq!(config.history(), 1024);
    /// assert_eq!(config.history_bytes(), 8 << 20);
    /// assert_eq!(config.max_lag(), 512);
    /// ```
    pub const fn new() -> Self {
        Config {
            history: Self::DEFAULT_HISTORY,
            history_bytes: Self::DEFAULT_HISTORY_BYTES,
            history_age: None,
            max_lag: None,
            lag_policy: Self::DEFAULT_LAG_POLICY,
            id_policy: Self::DEFAULT_ID_POLICY,
            first_id: None,
            topic_label: false,
            caps: crate::Limits::new(),
        }
    }

    /// Keeps at most `events` events per topic (at least 1: the history is also the
    /// subscribers' queue). This bounds how far back a client can resume, and how far
    /// behind a subscriber can be.
    ///
    /// ```
    /// assert_eq!(ssewire::hub::Config::new().with_history(0).history(), 1);
    /// ```
    pub const fn with_history(mut self, events: usize) -> Self {
        self.history = if events == 0 { 1 } else { events };
        self
    }

    /// Keeps at most `bytes` bytes of encoded events per topic (the newest event is
    /// always kept, however large). This bounds a topic's memory.
    ///
    /// ```
    /// assert_eq!(ssewire::hub::Config::new().with_history_bytes(1 << 20).history_bytes(), 1 << 20);
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
    /// let config = ssewire::hub::Config::new().with_history_age(Duration::from_secs(60));
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
    /// assert_eq!(ssewire::hub::Config::new().with_max_lag(64).max_lag(), 64);
    /// ```
    pub const fn with_max_lag(mut self, events: usize) -> Self {
        self.max_lag = Some(if events == 0 { 1 } else { events });
        self
    }

    /// What happens to a subscriber that lags. Default: [`LagPolicy::Disconnect`].
    ///
    /// ```
    /// use ssewire::hub::{Config, LagPolicy};
    /// assert_eq!(Config::new().lag_policy(), LagPolicy::Disconnect);
    /// ```
    pub const fn with_lag_policy(mut self, policy: LagPolicy) -> Self {
        self.lag_policy = policy;
        self
    }

    /// Where ids come from. Default: [`IdPolicy::Assign`].
    ///
    /// ```
    /// use ssewire::hub::{Config, IdPolicy};
    /// assert_eq!(Config::new().id_policy(), IdPolicy::Assign);
    /// ```
    pub const fn with_id_policy(mut self, policy: IdPolicy) -> Self {
        self.id_policy = policy;
        self
    }

    /// The position (and, with [`IdPolicy::Assign`], the id) of a new topic's first
    /// event. Default: the current time in microseconds since the Unix epoch, read when
    /// the topic is created (see the [module docs](super#ids)). At most 2^63, so
    /// that positions never run out; a larger value is lowered to 2^63.
    ///
    /// ```
    /// assert_eq!(ssewire::hub::Config::new().with_first_id(1).first_id(), Some(1));
    /// assert_eq!(ssewire::hub::Config::new().first_id(), None); // from the clock
    /// assert_eq!(ssewire::hub::Config::new().with_first_id(u64::MAX).first_id(), Some(1 << 63));
    /// ```
    pub const fn with_first_id(mut self, id: u64) -> Self {
        const MAX_FIRST_ID: u64 = 1 << 63;
        self.first_id = Some(if id > MAX_FIRST_ID { MAX_FIRST_ID } else { id });
        self
    }

    /// The most events kept per topic.
    ///
    /// ```
    /// assert_eq!(ssewire::hub::Config::new().with_history(5).history(), 5);
    /// ```
    pub const fn history(&self) -> usize {
        self.history
    }

    /// The most bytes of encoded events kept per topic.
    ///
    /// ```
    /// assert_eq!(ssewire::hub::Config::new().history_bytes(), ssewire::hub::Config::DEFAULT_HISTORY_BYTES);
    /// ```
    pub const fn history_bytes(&self) -> usize {
        self.history_bytes
    }

    /// The age after which events leave the history, if any.
    ///
    /// ```
    /// assert_eq!(ssewire::hub::Config::new().history_age(), None);
    /// ```
    pub const fn history_age(&self) -> Option<Duration> {
        self.history_age
    }

    /// How many events a subscriber may fall behind before the [`LagPolicy`] applies.
    ///
    /// ```
    /// assert_eq!(ssewire::hub::Config::new().with_history(9).max_lag(), 5);
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
    /// assert_eq!(ssewire::hub::Config::new().lag_policy(), ssewire::hub::LagPolicy::Disconnect);
    /// ```
    pub const fn lag_policy(&self) -> LagPolicy {
        self.lag_policy
    }

    /// Where ids come from.
    ///
    /// ```
    /// assert_eq!(ssewire::hub::Config::new().id_policy(), ssewire::hub::IdPolicy::Assign);
    /// ```
    pub const fn id_policy(&self) -> IdPolicy {
        self.id_policy
    }

    /// The configured first position, or `None` for "from the clock".
    ///
    /// ```
    /// assert_eq!(ssewire::hub::Config::new().with_first_id(7).first_id(), Some(7));
    /// ```
    pub const fn first_id(&self) -> Option<u64> {
        self.first_id
    }

    /// Labels the hub's metrics (feature `metrics`: `ssewire_hub_*`) and tracing
    /// events (feature `tracing`) with the name of the [`Hub`](super::Hub) topic
    /// (a lone [`Topic`](super::Topic) has no name). Off by default: a label per topic
    /// makes one time series per topic, fine for a few fixed topics, not for one per
    /// user or per room.
    ///
    /// ```
    /// let config = ssewire::hub::Config::new().with_topic_label(true);
    /// assert!(config.topic_label());
    /// ```
    pub const fn with_topic_label(mut self, on: bool) -> Self {
        self.topic_label = on;
        self
    }

    /// Whether the hub's metrics and tracing events carry the topic's name.
    ///
    /// ```
    /// assert!(!ssewire::hub::Config::new().topic_label());
    /// ```
    pub const fn topic_label(&self) -> bool {
        self.topic_label
    }
}

/// Subscriber caps, checked by [`Topic::try_subscribe`](super::Topic::try_subscribe)
/// (see [`ConnectionLimiter`](crate::ConnectionLimiter) for caps per user or address).
impl Config {
    /// At most `max` subscribers at once across the whole [`Hub`](super::Hub) (for a
    /// lone [`Topic`](super::Topic), across that topic). Past it,
    /// [`Topic::try_subscribe`](super::Topic::try_subscribe) refuses with
    /// [`Cap::Global`](crate::Cap::Global) (`503`). Every subscriber counts, also
    /// those made with [`Topic::subscribe`](super::Topic::subscribe), which is never
    /// refused. Default: no cap.
    ///
    /// ```
    /// assert_eq!(ssewire::hub::Config::new().with_max_subscribers(10_000).max_subscribers(), Some(10_000));
    /// ```
    pub const fn with_max_subscribers(mut self, max: usize) -> Self {
        self.caps = self.caps.with_max_connections(max);
        self
    }

    /// At most `max` subscribers at once on each topic. Past it,
    /// [`Topic::try_subscribe`](super::Topic::try_subscribe) refuses with
    /// [`Cap::Topic`](crate::Cap::Topic) (`503`). Default: no cap.
    ///
    /// ```
    /// assert_eq!(ssewire::hub::Config::new().with_max_topic_subscribers(500).max_topic_subscribers(), Some(500));
    /// ```
    pub const fn with_max_topic_subscribers(mut self, max: usize) -> Self {
        self.caps = self.caps.with_max_per_key(max);
        self
    }

    /// The least `Retry-After` of a refusal (whole seconds, rounded up). Default:
    /// [`Limits::DEFAULT_RETRY_AFTER`](crate::Limits::DEFAULT_RETRY_AFTER), 5 s.
    ///
    /// ```
    /// use std::time::Duration;
    /// let config = ssewire::hub::Config::new().with_retry_after(Duration::from_secs(20));
    /// assert_eq!(config.retry_after(), Duration::from_secs(20));
    /// ```
    pub const fn with_retry_after(mut self, after: Duration) -> Self {
        self.caps = self.caps.with_retry_after(after);
        self
    }

    /// A random part, up to `jitter`, added to each refusal's `Retry-After`. Default:
    /// [`Limits::DEFAULT_RETRY_JITTER`](crate::Limits::DEFAULT_RETRY_JITTER), 5 s.
    ///
    /// ```
    /// use std::time::Duration;
    /// let config = ssewire::hub::Config::new().with_retry_jitter(Duration::ZERO);
    /// assert_eq!(config.retry_jitter(), Duration::ZERO);
    /// ```
    pub const fn with_retry_jitter(mut self, jitter: Duration) -> Self {
        self.caps = self.caps.with_retry_jitter(jitter);
        self
    }

    /// The cap on subscribers across the hub, if any.
    ///
    /// ```
    /// assert_eq!(ssewire::hub::Config::new().max_subscribers(), None);
    /// ```
    pub const fn max_subscribers(&self) -> Option<usize> {
        self.caps.max_connections()
    }

    /// The cap on subscribers of one topic, if any.
    ///
    /// ```
    /// assert_eq!(ssewire::hub::Config::new().max_topic_subscribers(), None);
    /// ```
    pub const fn max_topic_subscribers(&self) -> Option<usize> {
        self.caps.max_per_key()
    }

    /// The least `Retry-After` of a refusal.
    ///
    /// ```
    /// assert_eq!(ssewire::hub::Config::new().retry_after(), ssewire::Limits::DEFAULT_RETRY_AFTER);
    /// ```
    pub const fn retry_after(&self) -> Duration {
        self.caps.retry_after()
    }

    /// The most random time added to a refusal's `Retry-After`.
    ///
    /// ```
    /// assert_eq!(ssewire::hub::Config::new().retry_jitter(), ssewire::Limits::DEFAULT_RETRY_JITTER);
    /// ```
    pub const fn retry_jitter(&self) -> Duration {
        self.caps.retry_jitter()
    }

    /// The caps as [`Limits`](crate::Limits) (the topic's as the per-key cap).
    pub(super) const fn caps(&self) -> &crate::Limits {
        &self.caps
    }
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("history", &self.history)
            .field("history_bytes", &self.history_bytes)
            .field("history_age", &self.history_age)
            .field("max_lag", &self.max_lag())
            .field("lag_policy", &self.lag_policy)
            .field("id_policy", &self.id_policy)
            .field("first_id", &self.first_id)
            .field("topic_label", &self.topic_label)
            .field("max_subscribers", &self.max_subscribers())
            .field("max_topic_subscribers", &self.max_topic_subscribers())
            .field("retry_after", &self.retry_after())
            .field("retry_jitter", &self.retry_jitter())
            .finish()
    }
}
