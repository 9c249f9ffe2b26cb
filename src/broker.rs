//! Past one machine: hubs on several nodes share topics through a broker, and a client
//! resumes on any node (feature `redis`).
//!
//! A [`Node`] is one server process. It owns a local [`Hub`](crate::hub::Hub) and a
//! [`Broker`], a log of events per topic shared by every node ([`RedisBroker`]:
//! one Redis stream per topic). Publishing appends to the topic's log; every node
//! *tails* the logs of the topics its own clients watch and feeds them into its local
//! topics, which fan out as on a single node (encoded once per node). The log's entry
//! id is the SSE `id`, so a browser that reconnects to another node sends an id that
//! node can find.
//!
//! ```no_run
//! # #[tokio::main] async fn main() -> Result<(), ssewire::broker::BrokerError> {
//! use ssewire::broker::{Node, RedisBroker, RedisConfig};
//! use ssewire::{hub, Event};
//!
//! let broker = RedisBroker::new(RedisConfig::new("redis://127.0.0.1:6379"))?;
//! let node = Node::new(broker, hub::Config::new().with_history(1024));
//!
//! // A handler: the client's Last-Event-ID (None on a first visit), then the body.
//! let subscriber = node.subscribe("news", None).await?;
//! let _body = subscriber.into_body();
//!
//! // Any node: the id is the stream entry id, the same on every node.
//! let id = node.publish("news", Event::with_data("hello")).await?;
//! println!("published as {id}");
//! # Ok(()) }
//! ```
//!
//! # Guarantees
//!
//! Each guarantee names the test that breaks when it does not hold (the tests start
//! their own `redis-server`; `cargo test -p ssewire-tests --features redis
//! --test redis_cluster --test redis_faults --test redis_browser -- --ignored`).
//!
//! - **One order everywhere.** [`Node::publish`] appends to the topic's stream
//!   (`XADD`, trimmed with `MAXLEN ~` and `MINID ~` from the hub's
//!   [`history`](crate::hub::Config::with_history) and
//!   [`history_age`](crate::hub::Config::with_history_age)). Every node delivers a
//!   topic's events in the stream's order, with the entry id as the SSE `id`.
//!   Test: `redis_cluster::three_nodes_one_order`.
//! - **Encode once per node, bounded connections.** A node tails only the topics its
//!   own subscribers watch, all of them with one `XREAD BLOCK` on one connection, plus
//!   one connection for commands: two connections whatever the number of topics
//!   (or `n + 1` with [`RedisConfig::with_tail_connections`]). A
//!   topic stays followed while it has local subscribers, and
//!   [`NodeConfig::with_linger`] after the last one left.
//!   Tests: `redis_cluster::many_topics_two_connections`,
//!   `redis_cluster::topics_are_unfollowed_after_linger`.
//! - **Resume on any node.** A `Last-Event-ID` in the node's local history is replayed
//!   locally (after one check that the topic's epoch, below, has not changed). An
//!   older one is read from the stream (`XRANGE`, at most
//!   [`NodeConfig::with_max_replay`] events) after registering for live events; the
//!   two are merged by id: no gap, no duplicate, even while events are published.
//!   Tests: `redis_cluster::resume_on_other_node_while_publishing`,
//!   `redis_cluster::roaming_clients_under_load`,
//!   `redis_cluster::resume_locally`.
//! - **Loss is said out loud.** An id must be *found* in the stream, in the current
//!   epoch, to be resumed from (an id is never trusted because it sorts). Trimmed,
//!   flushed, lost in a restart without persistence, garbage, or another topic's: the
//!   client gets the hub's `history-lost` event, then live events. More than
//!   `max_replay` events to replay counts as lost too.
//!   Tests: `redis_cluster::unknown_ids_are_history_lost`,
//!   `redis_faults::xtrim_makes_old_ids_history_lost`,
//!   `redis_faults::flushall_resets_every_node`,
//!   `redis_faults::restart_without_persistence_resets`.
//! - **Epochs.** Each topic has an epoch: a random token in a key next to its stream
//!   (`<stream>:epoch`), written into every entry. A node that cannot prove its view
//!   is continuous (the key vanished or changed, an entry arrives with another epoch,
//!   or after a reconnection its last position is gone from the stream) *resets* the
//!   topic: it ends its local subscribers (their browsers reconnect and resume, or get
//!   `history-lost`) and starts a fresh local history. A node whose position vanished
//!   while the stream kept its epoch (Redis lost recent writes) writes a new epoch, so
//!   every node, even one still holding the old ids in memory, answers them with
//!   `history-lost`. Tests: `redis_faults::flushall_resets_every_node`,
//!   `redis_faults::lost_writes_make_old_ids_history_lost_everywhere`,
//!   `redis_faults::restart_with_aof_keeps_history` (no false reset).
//! - **Faults.** Redis down: [`Node::publish`] fails with [`BrokerError::Timeout`] or
//!   [`BrokerError::Connection`] within [`RedisConfig::with_timeout`] (3 s by default),
//!   never hangs; connected clients keep their connections and keep-alives; the tail
//!   reconnects with exponential backoff and jitter, and goes on from its last id, so
//!   nothing Redis kept is lost. Tests: `redis_faults::redis_down_publish_errors_in_time`,
//!   `redis_faults::client_kill_tail_resumes`, `redis_faults::client_pause_publish_times_out`,
//!   `redis_faults::restart_with_aof_keeps_history`.
//!   A killed node only loses its connections; its clients resume on another node
//!   (`tests/redis_browser.rs`, through nginx and Chromium).
//!
//! # At-least-once publishing
//!
//! A publish whose reply is lost (timeout, connection cut after Redis wrote the
//! entry) returns an error although the event may be in the stream. Retrying then
//! publishes it twice, under two ids: publishing is *at-least-once* when the caller
//! retries. To deduplicate, give the event a key of your own in its data (a UUID,
//! or the source's own sequence number) and let the client drop the keys it has
//! seen, or make the event idempotent (a state, not a delta).
//!
//! # Another broker
//!
//! The hub knows nothing of Redis, and [`Node`] knows only the [`Broker`] trait: an
//! append-only log per topic with ids, a range read that checks the id exists, and a
//! tail that pushes entries (and resets) into a [`Feed`]. NATS JetStream (one subject
//! per topic, the stream sequence as id) fits the same trait.

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use crate::event::Event;
use crate::fields::EventId;

mod feed;
mod node;
mod redis;
mod subscriber;
mod wire;

pub use feed::Feed;
pub use node::{Node, NodeConfig, NodeStats};
pub use redis::{RedisBroker, RedisConfig, RedisStats};
pub use subscriber::{NodeResume, NodeSubscriber};

/// A log of events per topic, shared by every node: what [`Node`] needs from a broker.
///
/// Implement it for another broker without touching the hub. The contract:
///
/// - [`publish`](Broker::publish) appends to the topic's log and returns the id the
///   log gave the entry; ids are unique within a topic's log and the log has one order.
/// - [`follow`](Broker::follow) starts pushing the topic's new entries, in log order,
///   into the [`Feed`]: first [`Feed::start`] once the position to tail from is fixed
///   (entries after it, and only those, will follow), then [`Feed::push`] per entry,
///   and [`Feed::reset`] whenever the broker cannot prove the feed saw every entry
///   (its position vanished, the epoch changed). [`unfollow`](Broker::unfollow) stops.
/// - [`read_after`](Broker::read_after) returns the entries after an id, only when
///   that very id is in the log in the current epoch.
pub trait Broker: Send + Sync + 'static {
    /// Appends `event` (its id, if any, is ignored) to `topic`'s log; returns the id.
    ///
    /// # Errors
    ///
    /// [`BrokerError`] when the broker cannot be reached or does not answer in time.
    fn publish(
        &self,
        topic: &str,
        event: Event,
    ) -> impl Future<Output = Result<EventId, BrokerError>> + Send;

    /// The entries of `topic` after `after` (exclusive), at most `max`, and the topic's
    /// current epoch. With `max == 0` it only checks the id and the epoch.
    ///
    /// # Errors
    ///
    /// [`BrokerError`] when the broker cannot be reached or does not answer in time.
    fn read_after(
        &self,
        topic: &str,
        after: &EventId,
        max: usize,
    ) -> impl Future<Output = Result<Gap, BrokerError>> + Send;

    /// Whether `id` comes after `other` in a topic's log (both ids this broker
    /// issued). A resumption uses it to skip the live events its broker read covered.
    fn follows(id: &str, other: &str) -> bool
    where
        Self: Sized;

    /// Starts tailing `feed.topic()` into `feed`.
    fn follow(&self, feed: &Feed);

    /// Stops tailing `feed.topic()`.
    fn unfollow(&self, feed: &Feed);

    /// How much history the log keeps per topic: about `events` entries, none older
    /// than `age`. [`Node::new`] passes the hub's history limits. Default: ignored.
    fn set_retention(&self, events: usize, age: Option<Duration>) {
        let _ = (events, age);
    }
}

/// A topic's epoch: a token that changes whenever the broker lost (or may have lost)
/// the topic's history. Ids from another epoch are never resumed from.
///
/// ```
/// use ssewire::broker::Epoch;
/// assert_eq!(Epoch::new("a1"), Epoch::new("a1"));
/// assert_eq!(Epoch::new("a1").as_str(), "a1");
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Epoch(Arc<str>);

impl Epoch {
    /// An epoch with this token.
    pub fn new(token: impl Into<Arc<str>>) -> Self {
        Epoch(token.into())
    }

    /// The token.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Epoch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Epoch({})", self.0)
    }
}

impl fmt::Display for Epoch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What [`Broker::read_after`] found.
#[derive(Debug, Default)]
#[non_exhaustive]
pub struct Gap {
    /// The topic's epoch now (`None`: the topic has none yet, or lost it).
    pub epoch: Option<Epoch>,
    /// The entries after the id, in log order; `None` when the id is not in the log
    /// in the current epoch.
    pub entries: Option<Vec<(EventId, Event)>>,
    /// More than `max` entries follow the id (then `entries` holds the first `max`).
    pub truncated: bool,
}

impl Gap {
    /// The id was found: `entries` follow it, `truncated` if more do.
    pub fn found(epoch: Option<Epoch>, entries: Vec<(EventId, Event)>, truncated: bool) -> Self {
        Gap {
            epoch,
            entries: Some(entries),
            truncated,
        }
    }

    /// The id is not in the log in the current epoch.
    pub fn not_found(epoch: Option<Epoch>) -> Self {
        Gap {
            epoch,
            entries: None,
            truncated: false,
        }
    }
}

/// Why a broker operation failed.
///
/// ```
/// use std::time::Duration;
/// let error = ssewire::broker::BrokerError::Timeout { after: Duration::from_secs(3) };
/// assert!(error.is_timeout());
/// assert_eq!(error.to_string(), "the broker did not answer within 3s");
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BrokerError {
    /// No answer within the configured timeout (the broker is paused, overloaded or
    /// unreachable). A publish may still have been applied: see
    /// [at-least-once](self#at-least-once-publishing).
    #[error("the broker did not answer within {after:?}")]
    Timeout {
        /// The timeout.
        after: Duration,
    },
    /// The connection failed or was refused.
    #[error("broker connection failed: {0}")]
    Connection(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The broker answered with an error or something unexpected.
    #[error("broker error: {0}")]
    Reply(String),
}

impl BrokerError {
    /// Whether it is a [`BrokerError::Timeout`].
    pub fn is_timeout(&self) -> bool {
        matches!(self, BrokerError::Timeout { .. })
    }

    /// Whether the broker could not be reached ([`BrokerError::Timeout`] or
    /// [`BrokerError::Connection`]): retry later, or answer 503.
    pub fn is_unavailable(&self) -> bool {
        matches!(
            self,
            BrokerError::Timeout { .. } | BrokerError::Connection(_)
        )
    }
}
