//! Counters a service exports about its topics.

/// Counters of a [`Topic`](super::Topic), or of every topic of a [`Hub`](super::Hub)
/// added up: a snapshot, taken by [`Topic::stats`](super::Topic::stats) or
/// [`Hub::stats`](super::Hub::stats).
///
/// Totals only grow (for a hub: as long as no topic is removed). "Sent" means taken
/// from the history by a subscriber, which hands events to the body adapter and so to
/// the connection right away (a subscriber catching up takes up to 16 at a time); bytes
/// still in the server's socket buffers when a client vanishes are counted as sent.
///
/// ```
/// use ssewire::{hub::{Config, Topic}, Event};
///
/// let topic = Topic::new(Config::new());
/// let subscriber = topic.subscribe(None);
/// topic.publish(Event::with_data("x"));
/// drop(subscriber);
/// let stats = topic.stats();
/// assert_eq!((stats.subscribed, stats.unsubscribed, stats.subscribers), (1, 1, 0));
/// assert_eq!(stats.events_published, 1);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// Topics counted (1 for a topic; the number of topics for a hub).
    pub topics: u64,
    /// Subscribers now (`subscribed - unsubscribed`).
    pub subscribers: u64,
    /// Subscribers ever created.
    pub subscribed: u64,
    /// Subscribers dropped (clients gone, or streams ended and dropped).
    pub unsubscribed: u64,
    /// Events published.
    pub events_published: u64,
    /// Bytes of the events published, encoded (each event is encoded once).
    pub bytes_published: u64,
    /// Events handed to subscribers, including the hub's own `lagged` and
    /// `history-lost` events.
    pub events_sent: u64,
    /// Bytes handed to subscribers (the same `Bytes` shared, counted once per
    /// subscriber).
    pub bytes_sent: u64,
    /// Times a subscriber skipped ahead ([`LagPolicy::SkipAhead`](super::LagPolicy::SkipAhead)).
    pub lagged: u64,
    /// Events subscribers skipped ([`LagPolicy::SkipAhead`](super::LagPolicy::SkipAhead)).
    pub lagged_events: u64,
    /// Subscribers ended for lagging ([`LagPolicy::Disconnect`](super::LagPolicy::Disconnect)).
    pub disconnected_for_lag: u64,
    /// Subscriptions with a `Last-Event-ID` that resumed exactly.
    pub resumed: u64,
    /// Subscriptions with a `Last-Event-ID` whose history was lost.
    pub history_lost: u64,
    /// Events in the history now.
    pub history_events: u64,
    /// Bytes in the history now.
    pub history_bytes: u64,
}

impl Stats {
    pub(crate) fn add(&mut self, other: &Stats) {
        self.topics = self.topics.saturating_add(other.topics);
        self.subscribers = self.subscribers.saturating_add(other.subscribers);
        self.subscribed = self.subscribed.saturating_add(other.subscribed);
        self.unsubscribed = self.unsubscribed.saturating_add(other.unsubscribed);
        self.events_published = self.events_published.saturating_add(other.events_published);
        self.bytes_published = self.bytes_published.saturating_add(other.bytes_published);
        self.events_sent = self.events_sent.saturating_add(other.events_sent);
        self.bytes_sent = self.bytes_sent.saturating_add(other.bytes_sent);
        self.lagged = self.lagged.saturating_add(other.lagged);
        self.lagged_events = self.lagged_events.saturating_add(other.lagged_events);
        self.disconnected_for_lag = self
            .disconnected_for_lag
            .saturating_add(other.disconnected_for_lag);
        self.resumed = self.resumed.saturating_add(other.resumed);
        self.history_lost = self.history_lost.saturating_add(other.history_lost);
        self.history_events = self.history_events.saturating_add(other.history_events);
        self.history_bytes = self.history_bytes.saturating_add(other.history_bytes);
    }
}
