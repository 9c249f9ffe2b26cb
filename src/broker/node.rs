//! A node: a local hub fed by a broker, with publishing and resumption on any node.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use crate::event::Event;
use crate::fields::EventId;
use crate::hub::{Config, Hub, IdPolicy, Stats};

use super::feed::Feed;
use super::subscriber::{NodeResume, NodeSubscriber};
use super::{Broker, BrokerError};

/// How a [`Node`] resumes clients and keeps topics followed.
///
/// ```
/// use std::time::Duration;
/// use ssewire::broker::NodeConfig;
/// let config = NodeConfig::new().with_max_replay(500).with_linger(Duration::from_secs(5));
/// assert_eq!(config.max_replay(), 500);
/// assert_eq!(config.linger(), Duration::from_secs(5));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[must_use]
pub struct NodeConfig {
    max_replay: usize,
    resume_timeout: Duration,
    linger: Duration,
}

impl Default for NodeConfig {
    fn default() -> Self {
        NodeConfig::new()
    }
}

impl NodeConfig {
    /// The default [`max_replay`](NodeConfig::with_max_replay): 10,000 events.
    pub const DEFAULT_MAX_REPLAY: usize = 10_000;
    /// The default [`resume_timeout`](NodeConfig::with_resume_timeout): 5 s.
    pub const DEFAULT_RESUME_TIMEOUT: Duration = Duration::from_secs(5);
    /// The default [`linger`](NodeConfig::with_linger): 30 s.
    pub const DEFAULT_LINGER: Duration = Duration::from_secs(30);

    /// The defaults.
    pub const fn new() -> Self {
        NodeConfig {
            max_replay: Self::DEFAULT_MAX_REPLAY,
            resume_timeout: Self::DEFAULT_RESUME_TIMEOUT,
            linger: Self::DEFAULT_LINGER,
        }
    }

    /// The most events a resumption reads from the broker; a client further behind
    /// gets `history-lost`.
    pub const fn with_max_replay(mut self, events: usize) -> Self {
        self.max_replay = events;
        self
    }

    /// How long a resumption waits for the topic's tail to start.
    pub const fn with_resume_timeout(mut self, timeout: Duration) -> Self {
        self.resume_timeout = timeout;
        self
    }

    /// How long a topic stays followed (and its local history kept) after its last
    /// local subscriber left.
    pub const fn with_linger(mut self, linger: Duration) -> Self {
        self.linger = linger;
        self
    }

    /// The most events a resumption reads from the broker.
    pub const fn max_replay(&self) -> usize {
        self.max_replay
    }

    /// How long a resumption waits for the topic's tail to start.
    pub const fn resume_timeout(&self) -> Duration {
        self.resume_timeout
    }

    /// How long a topic stays followed after its last local subscriber left.
    pub const fn linger(&self) -> Duration {
        self.linger
    }
}

/// A [`Node`]'s counters (the local fan-out's are in [`Node::hub_stats`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct NodeStats {
    /// Events published through this node.
    pub published: u64,
    /// Publishes that failed (broker down or too slow).
    pub publish_errors: u64,
    /// Subscriptions without `Last-Event-ID`.
    pub new_subscribers: u64,
    /// Resumptions served from the local history.
    pub resumed_local: u64,
    /// Resumptions that read their gap from the broker.
    pub resumed_broker: u64,
    /// Events replayed from the broker.
    pub replayed_from_broker: u64,
    /// Resumptions answered with `history-lost`.
    pub history_lost: u64,
    /// Subscriptions that failed (broker unavailable during a resumption).
    pub subscribe_errors: u64,
    /// Topics followed now.
    pub followed: u64,
    /// Local histories forgotten because the broker's log was reset.
    pub resets: u64,
}

#[derive(Default)]
struct Counters {
    published: AtomicU64,
    publish_errors: AtomicU64,
    new_subscribers: AtomicU64,
    resumed_local: AtomicU64,
    resumed_broker: AtomicU64,
    replayed_from_broker: AtomicU64,
    history_lost: AtomicU64,
    subscribe_errors: AtomicU64,
}

fn bump(counter: &AtomicU64, by: u64) {
    counter.fetch_add(by, Ordering::Relaxed);
}

/// One server process of a cluster: a local [`Hub`] whose topics a [`Broker`] feeds,
/// so that events published on any node reach clients on every node, and a client
/// resumes on any node. See the [module docs](super) for the guarantees.
///
/// Cheap to clone (clones share everything). Needs a tokio runtime.
pub struct Node<B> {
    inner: Arc<Inner<B>>,
}

impl<B> Clone for Node<B> {
    fn clone(&self) -> Self {
        Node {
            inner: Arc::clone(&self.inner),
        }
    }
}

struct Inner<B> {
    broker: B,
    hub: Hub,
    config: NodeConfig,
    registry: Arc<Registry>,
    counters: Counters,
}

/// The followed topics, shared with the subscribers' leases.
pub(super) struct Registry {
    feeds: Mutex<HashMap<Box<str>, Slot>>,
    unfollow: Box<dyn Fn(&Feed) + Send + Sync>,
    linger: Duration,
}

struct Slot {
    feed: Feed,
    subscribers: usize,
    /// Bumped when the count reaches zero; a lingering unfollow checks it is unchanged.
    idle: u64,
}

/// Held by each subscriber: keeps its topic followed.
pub(super) struct Lease {
    registry: Arc<Registry>,
    topic: Box<str>,
}

impl Drop for Lease {
    fn drop(&mut self) {
        let registry = Arc::clone(&self.registry);
        let idle = {
            let mut feeds = registry.lock();
            let Some(slot) = feeds.get_mut(&self.topic) else {
                return;
            };
            slot.subscribers -= 1;
            if slot.subscribers > 0 {
                return;
            }
            slot.idle += 1;
            slot.idle
        };
        let topic = std::mem::take(&mut self.topic);
        let linger = registry.linger;
        let unfollow = move || {
            let mut feeds = registry.lock();
            if feeds
                .get(&topic)
                .is_some_and(|slot| slot.subscribers == 0 && slot.idle == idle)
            {
                if let Some(slot) = feeds.remove(&topic) {
                    // Under the registry's lock, so that a new follow of the same
                    // name cannot pick up the topic being closed.
                    (registry.unfollow)(&slot.feed);
                    slot.feed.close();
                }
            }
        };
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                runtime.spawn(async move {
                    tokio::time::sleep(linger).await;
                    unfollow();
                });
            }
            Err(_) => unfollow(),
        }
    }
}

impl Registry {
    fn lock(&self) -> MutexGuard<'_, HashMap<Box<str>, Slot>> {
        self.feeds.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl<B: Broker> Node<B> {
    /// A node on `broker` whose local topics use `hub_config` (with
    /// [`IdPolicy::Keep`]: the broker gives the ids), and the default [`NodeConfig`].
    /// The broker keeps the same history limits (count and age).
    pub fn new(broker: B, hub_config: Config) -> Self {
        Self::with_config(broker, hub_config, NodeConfig::new())
    }

    /// Like [`Node::new`], with `config`.
    pub fn with_config(broker: B, hub_config: Config, config: NodeConfig) -> Self {
        let hub_config = hub_config.with_id_policy(IdPolicy::Keep);
        broker.set_retention(hub_config.history(), hub_config.history_age());
        let inner = Arc::new_cyclic(|weak: &std::sync::Weak<Inner<B>>| {
            let weak = weak.clone();
            let unfollow: Box<dyn Fn(&Feed) + Send + Sync> = Box::new(move |feed: &Feed| {
                if let Some(inner) = weak.upgrade() {
                    inner.broker.unfollow(feed);
                }
            });
            Inner {
                broker,
                hub: Hub::new(hub_config),
                config,
                registry: Arc::new(Registry {
                    feeds: Mutex::default(),
                    unfollow,
                    linger: config.linger(),
                }),
                counters: Counters::default(),
            }
        });
        Node { inner }
    }

    /// The broker.
    pub fn broker(&self) -> &B {
        &self.inner.broker
    }

    /// The local hub (its counters, its configuration). Publish through
    /// [`Node::publish`], not on its topics: the broker gives the ids.
    pub fn hub(&self) -> &Hub {
        &self.inner.hub
    }

    /// The local fan-out's counters.
    pub fn hub_stats(&self) -> Stats {
        self.inner.hub.stats()
    }

    /// Appends `event` to `topic`'s log (its own id, if any, is replaced by the
    /// log's); every node following the topic delivers it. Returns the id.
    ///
    /// # Errors
    ///
    /// [`BrokerError`] when the broker is unreachable or too slow (within the broker's
    /// timeout). The event may still have been appended: see
    /// [at-least-once](super#at-least-once-publishing).
    pub async fn publish(&self, topic: &str, event: Event) -> Result<EventId, BrokerError> {
        let result = self.inner.broker.publish(topic, event).await;
        match &result {
            Ok(_) => bump(&self.inner.counters.published, 1),
            Err(_) => bump(&self.inner.counters.publish_errors, 1),
        }
        result
    }

    /// A subscriber to `topic` that starts after `last_event_id` (the client's
    /// `Last-Event-ID`), from the local history or from the broker's log, or with
    /// `history-lost` when that history is gone; then live events.
    ///
    /// # Errors
    ///
    /// [`BrokerError`] only when resuming needs the broker (the id is not in the local
    /// history) and it is unavailable (then
    /// end the response so the client retries with the same id; never answer an
    /// error status, which would stop an `EventSource` for good). A subscriber
    /// without `Last-Event-ID` never fails.
    pub async fn subscribe(
        &self,
        topic: &str,
        last_event_id: Option<&EventId>,
    ) -> Result<NodeSubscriber, BrokerError> {
        let (feed, lease) = self.follow(topic);
        let counters = &self.inner.counters;
        let Some(id) = last_event_id.filter(|id| !id.is_empty()) else {
            bump(&counters.new_subscribers, 1);
            // Once the tail has started, every event published after this returns is
            // delivered. If the broker is down, start anyway (live once it is back).
            if !feed.is_started() {
                let timeout = self.inner.config.resume_timeout();
                let _ = tokio::time::timeout(timeout, feed.wait_started()).await;
            }
            let live = feed.local_topic().subscribe(None);
            return Ok(NodeSubscriber::new(
                Vec::new(),
                None,
                live,
                NodeResume::New,
                lease,
            ));
        };
        let result = self.resume(&feed, id, lease).await;
        if result.is_err() {
            bump(&counters.subscribe_errors, 1);
        }
        result
    }

    async fn resume(
        &self,
        feed: &Feed,
        id: &EventId,
        lease: Lease,
    ) -> Result<NodeSubscriber, BrokerError> {
        let counters = &self.inner.counters;
        let timeout = self.inner.config.resume_timeout();
        if tokio::time::timeout(timeout, feed.wait_started())
            .await
            .is_err()
        {
            return Err(BrokerError::Timeout { after: timeout });
        }
        let id_text = id.to_string();
        // First the local history, checked against the broker's epoch.
        let epoch = feed.epoch();
        let local = feed.local_topic().subscribe(Some(id));
        if let crate::hub::Resume::Exact { replayed } = local.resume() {
            match self.inner.broker.read_after(feed.topic(), id, 0).await {
                Ok(gap) if gap.epoch != epoch => {
                    // The broker's log was reset since: what this node holds is from
                    // before the reset.
                    drop(local);
                    feed.reset_if(&epoch, gap.epoch);
                }
                // Same epoch; or the broker is unreachable, and the local history is
                // still a true slice of the log (if the broker turns out to have
                // lost data, the tail resets the topic when it reconnects, and this
                // subscriber's stream ends).
                Ok(_) | Err(_) => {
                    bump(&counters.resumed_local, 1);
                    let resume = NodeResume::Local { replayed };
                    return Ok(NodeSubscriber::new(Vec::new(), None, local, resume, lease));
                }
            }
        }
        // Register for live events first (the lost subscriber also says
        // `history-lost` with the right id if the read finds nothing)...
        let lost = feed.local_topic().subscribe(Some(id));
        let live = feed.local_topic().subscribe(None);
        // ...then read the gap: it reaches at least every event the live subscriber
        // will not get, and live events it already holds are skipped by id.
        let max = self.inner.config.max_replay();
        let gap = self.inner.broker.read_after(feed.topic(), id, max).await?;
        // A topic created after this node started tailing it: the feed learns its
        // epoch from its first entry, which the tail may not have delivered yet.
        let same_epoch = feed.adopt_epoch(&gap.epoch);
        match gap.entries {
            Some(entries) if !gap.truncated && same_epoch => {
                drop(lost);
                let replayed = entries.len() as u64;
                bump(&counters.resumed_broker, 1);
                bump(&counters.replayed_from_broker, replayed);
                // The live subscriber may start before the client's id (this node's
                // tail was behind the node the client came from) or inside the gap:
                // it skips everything up to the last id the gap covers.
                let last = entries.last().map_or(id_text, |(id, _)| id.to_string());
                let events = entries
                    .into_iter()
                    .map(|(id, event)| event.id(id).encode())
                    .collect();
                let resume = NodeResume::Broker { replayed };
                let covered = Some((last, B::follows as fn(&str, &str) -> bool));
                Ok(NodeSubscriber::new(events, covered, live, resume, lease))
            }
            _ => {
                drop(live);
                bump(&counters.history_lost, 1);
                let resume = NodeResume::HistoryLost;
                Ok(NodeSubscriber::new(Vec::new(), None, lost, resume, lease))
            }
        }
    }

    /// The counters of this node.
    pub fn stats(&self) -> NodeStats {
        let c = &self.inner.counters;
        let load = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        let feeds = self.inner.registry.lock();
        NodeStats {
            published: load(&c.published),
            publish_errors: load(&c.publish_errors),
            new_subscribers: load(&c.new_subscribers),
            resumed_local: load(&c.resumed_local),
            resumed_broker: load(&c.resumed_broker),
            replayed_from_broker: load(&c.replayed_from_broker),
            history_lost: load(&c.history_lost),
            subscribe_errors: load(&c.subscribe_errors),
            followed: feeds.len() as u64,
            resets: feeds.values().map(|slot| slot.feed.resets()).sum(),
        }
    }

    /// The feed of `topic`, followed if it was not, and a lease that keeps it so.
    fn follow(&self, topic: &str) -> (Feed, Lease) {
        let registry = &self.inner.registry;
        let mut feeds = registry.lock();
        let slot = feeds.entry(topic.into()).or_insert_with(|| {
            let feed = Feed::new(self.inner.hub.clone(), topic);
            self.inner.broker.follow(&feed);
            Slot {
                feed,
                subscribers: 0,
                idle: 0,
            }
        });
        slot.subscribers += 1;
        let lease = Lease {
            registry: Arc::clone(registry),
            topic: topic.into(),
        };
        (slot.feed.clone(), lease)
    }
}

impl<B: fmt::Debug> fmt::Debug for Node<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Node")
            .field("broker", &self.inner.broker)
            .field("hub", &self.inner.hub)
            .field("config", &self.inner.config)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use futures_util::StreamExt;

    use super::*;
    use crate::broker::{Epoch, Gap};

    /// A broker whose tail delivers only when the test says so: one topic, ids
    /// `1`, `2`, ..., and the epoch `e1` from the first publish on.
    #[derive(Default)]
    struct ManualTail {
        state: Mutex<Log>,
    }

    #[derive(Default)]
    struct Log {
        epoch: Option<Epoch>,
        entries: Vec<(EventId, Event, Epoch)>,
        delivered: usize,
        feed: Option<Feed>,
    }

    impl ManualTail {
        fn log(&self) -> MutexGuard<'_, Log> {
            self.state.lock().unwrap()
        }

        /// The tail catches up: every entry not delivered yet goes to the feed.
        fn deliver(&self) {
            let mut log = self.log();
            let feed = log.feed.clone().expect("followed");
            for (id, event, epoch) in &log.entries[log.delivered..] {
                feed.push(id.clone(), event.clone(), Some(epoch));
            }
            log.delivered = log.entries.len();
        }

        /// The topic's log is lost and starts again in another epoch.
        fn new_epoch(&self, token: &str) {
            self.log().epoch = Some(Epoch::new(token));
        }
    }

    impl Broker for ManualTail {
        async fn publish(&self, _topic: &str, event: Event) -> Result<EventId, BrokerError> {
            let mut log = self.log();
            let epoch = log.epoch.get_or_insert_with(|| Epoch::new("e1")).clone();
            let id = EventId::new((log.entries.len() + 1).to_string()).unwrap();
            log.entries.push((id.clone(), event, epoch));
            Ok(id)
        }

        async fn read_after(
            &self,
            _topic: &str,
            after: &EventId,
            _max: usize,
        ) -> Result<Gap, BrokerError> {
            let log = self.log();
            let current = log.epoch.clone();
            let found = log
                .entries
                .iter()
                .position(|(id, _, epoch)| id == after && Some(epoch) == current.as_ref());
            Ok(match found {
                Some(at) => Gap::found(
                    current,
                    log.entries[at + 1..]
                        .iter()
                        .map(|(id, event, _)| (id.clone(), event.clone()))
                        .collect(),
                    false,
                ),
                None => Gap::not_found(current),
            })
        }

        fn follows(id: &str, other: &str) -> bool {
            id.parse::<u64>().unwrap() > other.parse::<u64>().unwrap()
        }

        fn follow(&self, feed: &Feed) {
            let mut log = self.log();
            // The position is fixed now: after every entry already in the log.
            log.delivered = log.entries.len();
            feed.start(log.epoch.clone());
            log.feed = Some(feed.clone());
        }

        fn unfollow(&self, _feed: &Feed) {}
    }

    fn text(event: &crate::encoded::EncodedEvent) -> &str {
        std::str::from_utf8(event.as_bytes()).unwrap()
    }

    /// A node that followed `t` before its first entry (a watcher holds it), then a
    /// client resuming from the entry another node just published, before this node's
    /// tail delivered it. Returns the node, the watcher and the resumed subscriber.
    async fn resumed_before_delivery() -> (Node<ManualTail>, NodeSubscriber, NodeSubscriber) {
        let node = Node::new(ManualTail::default(), Config::new().with_history(16));
        let watcher = node.subscribe("t", None).await.unwrap();
        let first = node.publish("t", Event::with_data("a")).await.unwrap();
        let resumed = node.subscribe("t", Some(&first)).await.unwrap();
        assert_eq!(resumed.resume(), NodeResume::Broker { replayed: 0 });
        (node, watcher, resumed)
    }

    #[tokio::test]
    async fn a_topic_created_after_its_tail_started_resumes_from_the_broker() {
        let (node, _watcher, mut resumed) = resumed_before_delivery().await;
        node.publish("t", Event::with_data("b")).await.unwrap();
        node.broker().deliver();
        let next = resumed.next().await.unwrap();
        assert_eq!(
            text(&next),
            "id: 2\ndata: b\n\n",
            "the one it had is skipped"
        );
        assert_eq!(node.stats().history_lost, 0);
        assert_eq!(node.stats().resets, 0);
    }

    #[tokio::test]
    async fn the_adopted_epoch_still_resets_on_another() {
        let (node, _watcher, mut resumed) = resumed_before_delivery().await;
        // The log was lost before the tail read it: its next entry is of another epoch.
        node.broker().log().delivered = 1;
        node.broker().new_epoch("e2");
        node.publish("t", Event::with_data("b")).await.unwrap();
        node.broker().deliver();
        assert!(
            resumed.next().await.is_none(),
            "the reset ends the subscriber"
        );
        assert_eq!(node.stats().resets, 1);
    }
}
