//! [`RedisConfig`]: how a broker connects, times out and names its keys.

use std::time::Duration;

#[cfg(doc)]
use super::RedisBroker;
#[cfg(doc)]
use crate::broker::BrokerError;

/// How a [`RedisBroker`] connects, times out and names its keys.
///
/// ```
/// use std::time::Duration;
/// use ssewire::broker::RedisConfig;
/// let config = RedisConfig::new("redis://127.0.0.1:6379").with_timeout(Duration::from_secs(1));
/// assert_eq!(config.timeout(), Duration::from_secs(1));
/// assert_eq!(config.key_prefix(), RedisConfig::DEFAULT_KEY_PREFIX);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[must_use]
pub struct RedisConfig {
    pub(super) url: String,
    pub(super) timeout: Duration,
    pub(super) key_prefix: String,
    pub(super) block: Duration,
    pub(super) max_backoff: Duration,
    pub(super) read_count: usize,
    pub(super) read_interval: Duration,
    pub(super) tail_connections: usize,
}

impl RedisConfig {
    /// The default [`timeout`](RedisConfig::with_timeout): 3 s.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(3);
    /// The default [`key_prefix`](RedisConfig::with_key_prefix).
    pub const DEFAULT_KEY_PREFIX: &'static str = "ssewire:";
    /// The default [`block`](RedisConfig::with_block): 10 s.
    pub const DEFAULT_BLOCK: Duration = Duration::from_secs(10);
    /// The default [`max_backoff`](RedisConfig::with_max_backoff): 5 s.
    pub const DEFAULT_MAX_BACKOFF: Duration = Duration::from_secs(5);
    /// The default [`read_count`](RedisConfig::with_read_count).
    pub const DEFAULT_READ_COUNT: usize = 1000;
    /// The default [`read_interval`](RedisConfig::with_read_interval): 1 ms. At
    /// 2,000 events/s this measured 0.18 `XREAD`s per event per node (0.5 with
    /// `Duration::ZERO`) for about 1 ms more latency (`benches/redis.rs`).
    pub const DEFAULT_READ_INTERVAL: Duration = Duration::from_millis(1);

    /// Connects to `url` (`redis://host:port/db`, `rediss://` needs a TLS feature of
    /// redis-rs), with the defaults.
    pub fn new(url: impl Into<String>) -> Self {
        RedisConfig {
            url: url.into(),
            timeout: Self::DEFAULT_TIMEOUT,
            key_prefix: Self::DEFAULT_KEY_PREFIX.to_owned(),
            block: Self::DEFAULT_BLOCK,
            max_backoff: Self::DEFAULT_MAX_BACKOFF,
            read_count: Self::DEFAULT_READ_COUNT,
            read_interval: Self::DEFAULT_READ_INTERVAL,
            tail_connections: 1,
        }
    }

    /// How long a publish or a read (connection included) may take before it fails
    /// with [`BrokerError::Timeout`].
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Prefix of the keys: topic `news` is the stream `<prefix>{news}` and its epoch
    /// `<prefix>{news}:epoch` (the braces keep both in one Redis Cluster slot).
    pub fn with_key_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.key_prefix = prefix.into();
        self
    }

    /// How long one `XREAD BLOCK` waits when nothing happens. A topic followed
    /// meanwhile does not wait for it: the tail is woken with `CLIENT UNBLOCK`.
    pub fn with_block(mut self, block: Duration) -> Self {
        self.block = block;
        self
    }

    /// The longest wait between two reconnection attempts of the tail (the waits
    /// double from 50 ms, with jitter, up to this).
    pub fn with_max_backoff(mut self, backoff: Duration) -> Self {
        self.max_backoff = backoff;
        self
    }

    /// The most entries one `XREAD` returns per stream.
    pub fn with_read_count(mut self, entries: usize) -> Self {
        self.read_count = entries.max(1);
        self
    }

    /// The shortest time between two `XREAD`s that returned entries: under load the
    /// tail reads bigger batches (fewer reads per event) at the cost of up to this
    /// much latency (tokio's timer rounds up to whole milliseconds); an idle topic's
    /// event is still read the moment it is added.
    pub fn with_read_interval(mut self, interval: Duration) -> Self {
        self.read_interval = interval;
        self
    }

    /// How many tail connections share the followed streams (by a hash of the
    /// stream's name; at least 1, the default). Each `XREAD` names every stream of
    /// its connection, so past tens of thousands of busy topics more connections
    /// keep each read small. The node uses this many connections plus one.
    pub fn with_tail_connections(mut self, connections: usize) -> Self {
        self.tail_connections = connections.max(1);
        self
    }

    /// How many tail connections share the followed streams.
    pub fn tail_connections(&self) -> usize {
        self.tail_connections
    }

    /// The shortest time between two `XREAD`s that returned entries.
    pub fn read_interval(&self) -> Duration {
        self.read_interval
    }

    /// The URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The timeout of publishes and reads.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// The key prefix.
    pub fn key_prefix(&self) -> &str {
        &self.key_prefix
    }

    /// How long one `XREAD BLOCK` waits.
    pub fn block(&self) -> Duration {
        self.block
    }

    /// The longest wait between reconnection attempts.
    pub fn max_backoff(&self) -> Duration {
        self.max_backoff
    }

    /// The most entries per stream and `XREAD`.
    pub fn read_count(&self) -> usize {
        self.read_count
    }
}
