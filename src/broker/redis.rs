//! The Redis Streams broker: one stream per topic, its entry ids as SSE ids.

use std::fmt;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use redis::aio::MultiplexedConnection;
use redis::{AsyncConnectionConfig, RedisError, Script, Value};

use crate::event::Event;
use crate::fields::EventId;

use super::feed::Feed;
use super::{wire, Broker, BrokerError, Epoch, Gap};

mod config;
mod reply;
mod tail;

pub use config::RedisConfig;
use reply::{convert, entries_of, new_epoch, text};
pub(crate) use reply::{random_u64, Entry, StreamId};
use tail::Tail;

/// A [`RedisBroker`]'s counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RedisStats {
    /// Connections the tail opened (1 + reconnections).
    pub tail_connects: u64,
    /// Tail connections lost or refused.
    pub tail_errors: u64,
    /// `XREAD` commands sent.
    pub reads: u64,
    /// Stream entries received by the tail.
    pub entries_read: u64,
    /// Entries that were not written by ssewire (skipped).
    pub foreign_entries: u64,
    /// `CLIENT UNBLOCK`s sent to wake the tail for a new topic.
    pub unblocks: u64,
    /// Streams tailed now.
    pub streams: u64,
    /// Epochs this node replaced after finding its position gone.
    pub epochs_written: u64,
    /// Holes the tail found in a stream while connected (entries trimmed before it
    /// read them, seen as a jump in their sequence numbers); each reset the topic on
    /// this node.
    pub gaps: u64,
}

#[derive(Default)]
pub(crate) struct Counters {
    tail_connects: AtomicU64,
    tail_errors: AtomicU64,
    reads: AtomicU64,
    entries_read: AtomicU64,
    foreign_entries: AtomicU64,
    unblocks: AtomicU64,
    epochs_written: AtomicU64,
    gaps: AtomicU64,
}

fn bump(counter: &AtomicU64, by: u64) {
    counter.fetch_add(by, Ordering::Relaxed);
}

/// The [`Broker`] on Redis Streams (5.0 or later; 7.0 tested).
///
/// Per topic: a stream `<prefix>{topic}` whose entries hold the event's wire form
/// (`d`), the topic's epoch (`e`) and a sequence number (`n`), and the keys
/// `<prefix>{topic}:epoch` and `<prefix>{topic}:seq`. Two
/// connections per node: one for commands (publishes pipeline on it), one for the tail
/// (no response timeout, as `XREAD BLOCK` needs; or more, see
/// [`RedisConfig::with_tail_connections`]). Make it inside a tokio runtime.
#[derive(Clone)]
pub struct RedisBroker {
    shared: Arc<Shared>,
}

pub(crate) struct Shared {
    client: redis::Client,
    config: RedisConfig,
    retention: Mutex<(usize, Option<Duration>)>,
    command: tokio::sync::Mutex<Option<MultiplexedConnection>>,
    publish_script: Script,
    swap_epoch_script: Script,
    /// One per tail connection; a stream always goes to the same one.
    tails: Vec<Tail>,
    counters: Counters,
}

/// Appends one event: creates the epoch if the topic has none, writes it and the
/// entry's sequence number (`n`, one more than the last entry's: a tail that sees a
/// jump knows entries were trimmed before it read them) into the entry, trims by count
/// (`MAXLEN ~`) and by age (`MINID ~`, from Redis's own clock).
const PUBLISH: &str = r"
local epoch = redis.call('GET', KEYS[2])
if not epoch then
  epoch = ARGV[1]
  redis.call('SET', KEYS[2], epoch)
end
local n = redis.call('INCR', KEYS[3])
local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[3], '*', 'e', epoch, 'n', n, 'd', ARGV[2])
if ARGV[4] ~= '' then
  local now = redis.call('TIME')
  local min = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000) - tonumber(ARGV[4])
  redis.call('XTRIM', KEYS[1], 'MINID', '~', string.format('%d', min))
end
return id
";

/// Replaces the epoch if it is still the one the caller saw; returns the epoch now.
const SWAP_EPOCH: &str = r"
local epoch = redis.call('GET', KEYS[1])
if (epoch or '') == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2])
  return ARGV[2]
end
return epoch
";

impl RedisBroker {
    /// A broker for `config`. Connects lazily (a publish connects if needed; the tail
    /// connects in the background and retries with backoff).
    ///
    /// # Errors
    ///
    /// [`BrokerError::Connection`] when the URL is invalid, [`BrokerError::Reply`] when
    /// called outside a tokio runtime.
    pub fn new(config: RedisConfig) -> Result<Self, BrokerError> {
        let client = redis::Client::open(config.url.as_str())
            .map_err(|error| BrokerError::Connection(Box::new(error)))?;
        let runtime = tokio::runtime::Handle::try_current()
            .map_err(|_| BrokerError::Reply("RedisBroker::new needs a tokio runtime".into()))?;
        let tails = (0..config.tail_connections)
            .map(|_| Tail::default())
            .collect();
        let shared = Arc::new(Shared {
            client,
            config,
            retention: Mutex::new((crate::hub::Config::DEFAULT_HISTORY, None)),
            command: tokio::sync::Mutex::new(None),
            publish_script: Script::new(PUBLISH),
            swap_epoch_script: Script::new(SWAP_EPOCH),
            tails,
            counters: Counters::default(),
        });
        tail::spawn(&runtime, &shared);
        Ok(RedisBroker { shared })
    }

    /// The configuration.
    pub fn config(&self) -> &RedisConfig {
        &self.shared.config
    }

    /// The stream key of `topic`.
    pub fn stream_key(&self, topic: &str) -> String {
        self.shared.stream_key(topic)
    }

    /// The counters.
    pub fn stats(&self) -> RedisStats {
        let c = &self.shared.counters;
        let load = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        RedisStats {
            tail_connects: load(&c.tail_connects),
            tail_errors: load(&c.tail_errors),
            reads: load(&c.reads),
            entries_read: load(&c.entries_read),
            foreign_entries: load(&c.foreign_entries),
            unblocks: load(&c.unblocks),
            streams: self.shared.tails.iter().map(|tail| tail.len() as u64).sum(),
            epochs_written: load(&c.epochs_written),
            gaps: load(&c.gaps),
        }
    }
}

impl Shared {
    fn stream_key(&self, topic: &str) -> String {
        format!("{}{{{topic}}}", self.config.key_prefix)
    }

    /// The tail that follows `stream`.
    fn tail_of(&self, stream: &str) -> &Tail {
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325; // FNV-1a: stable across runs
        for byte in stream.bytes() {
            hash = (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
        }
        &self.tails[(hash % self.tails.len() as u64) as usize]
    }

    fn epoch_key(&self, topic: &str) -> String {
        format!("{}{{{topic}}}:epoch", self.config.key_prefix)
    }

    /// The counter behind the entries' sequence numbers.
    fn sequence_key(&self, topic: &str) -> String {
        format!("{}{{{topic}}}:seq", self.config.key_prefix)
    }

    /// The command connection, opened if needed.
    async fn command(&self) -> Result<MultiplexedConnection, RedisError> {
        let mut slot = self.command.lock().await;
        if let Some(connection) = &*slot {
            return Ok(connection.clone());
        }
        let config = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(self.config.timeout))
            .set_response_timeout(Some(self.config.timeout));
        let connection = self
            .client
            .get_multiplexed_async_connection_with_config(&config)
            .await?;
        *slot = Some(connection.clone());
        Ok(connection)
    }

    /// Runs `work` on the command connection within the timeout; drops the connection
    /// on failure so the next call reconnects. With `retry` (reads only: they are
    /// idempotent), a connection that turns out dead is replaced and `work` runs once
    /// more, within the same timeout.
    async fn with_command<T, F, Fut>(&self, retry: bool, work: F) -> Result<T, BrokerError>
    where
        F: Fn(MultiplexedConnection) -> Fut,
        Fut: Future<Output = Result<T, RedisError>>,
    {
        let attempt = async {
            let connection = self.command().await?;
            match work(connection).await {
                Err(error) if retry && (error.is_io_error() || error.is_connection_dropped()) => {
                    *self.command.lock().await = None;
                    work(self.command().await?).await
                }
                result => result,
            }
        };
        let result = match tokio::time::timeout(self.config.timeout, attempt).await {
            Ok(Ok(value)) => return Ok(value),
            Ok(Err(error)) => convert(error, self.config.timeout),
            Err(_) => BrokerError::Timeout {
                after: self.config.timeout,
            },
        };
        if result.is_unavailable() {
            *self.command.lock().await = None;
        }
        Err(result)
    }

    /// Writes a new epoch if the topic's is still `seen`; returns the epoch now.
    async fn swap_epoch(
        &self,
        topic: &str,
        seen: Option<&Epoch>,
    ) -> Result<Option<Epoch>, BrokerError> {
        let key = self.epoch_key(topic);
        let seen = seen
            .map(|epoch| epoch.as_str().to_owned())
            .unwrap_or_default();
        let fresh = new_epoch();
        let (key, seen, fresh) = (&key, &seen, &fresh);
        let now: Option<String> = self
            .with_command(true, |mut connection| async move {
                // Idempotent: a second run finds its own epoch and changes nothing.
                self.swap_epoch_script
                    .key(key)
                    .arg(seen)
                    .arg(fresh)
                    .invoke_async(&mut connection)
                    .await
            })
            .await?;
        bump(&self.counters.epochs_written, 1);
        Ok(now.map(Epoch::new))
    }
}

impl Broker for RedisBroker {
    fn publish(
        &self,
        topic: &str,
        event: Event,
    ) -> impl Future<Output = Result<EventId, BrokerError>> + Send {
        let shared = &*self.shared;
        let stream = shared.stream_key(topic);
        let epoch = shared.epoch_key(topic);
        let sequence = shared.sequence_key(topic);
        let data = wire::to_wire(event);
        let (events, age) = *shared
            .retention
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let age = age
            .map(|age| age.as_millis().to_string())
            .unwrap_or_default();
        async move {
            let (stream, epoch, sequence, data, age) = (&stream, &epoch, &sequence, &data, &age);
            let id: String = shared
                .with_command(false, |mut connection| async move {
                    shared
                        .publish_script
                        .key(stream)
                        .key(epoch)
                        .key(sequence)
                        .arg(new_epoch())
                        .arg(data)
                        .arg(events)
                        .arg(age)
                        .invoke_async(&mut connection)
                        .await
                })
                .await?;
            EventId::new(id).map_err(|error| BrokerError::Reply(error.to_string()))
        }
    }

    fn read_after(
        &self,
        topic: &str,
        after: &EventId,
        max: usize,
    ) -> impl Future<Output = Result<Gap, BrokerError>> + Send {
        let shared = &*self.shared;
        let stream = shared.stream_key(topic);
        let epoch_key = shared.epoch_key(topic);
        let after = after.to_string();
        let valid = StreamId::parse(&after).is_some();
        async move {
            let (after_ref, stream, epoch_key) = (&after, &stream, &epoch_key);
            let (epoch, entries): (Option<String>, Vec<Entry>) = shared
                .with_command(true, |mut connection| async move {
                    let mut pipe = redis::pipe();
                    pipe.get(epoch_key);
                    if valid {
                        pipe.cmd("XRANGE")
                            .arg(stream)
                            .arg(after_ref)
                            .arg("+")
                            .arg("COUNT")
                            // Bounded by what Redis takes (a signed 64-bit COUNT).
                            .arg(max.saturating_add(2).min(i64::MAX as usize));
                    } else {
                        // Not a stream id: nothing to look up (an id is never guessed).
                        pipe.cmd("XRANGE")
                            .arg(stream)
                            .arg("+")
                            .arg("+")
                            .arg("COUNT")
                            .arg(0);
                    }
                    let (epoch, raw): (Option<String>, Value) =
                        pipe.query_async(&mut connection).await?;
                    Ok((epoch, entries_of(raw)))
                })
                .await?;
            let epoch = epoch.map(Epoch::new);
            let mut entries = entries.into_iter();
            let found = entries.next().is_some_and(|first| {
                first.id == after && first.epoch.as_deref() == epoch.as_ref().map(Epoch::as_str)
            });
            if !found {
                return Ok(Gap::not_found(epoch));
            }
            let mut events = Vec::new();
            let mut truncated = false;
            for entry in entries {
                if events.len() == max {
                    truncated = true;
                    break;
                }
                if entry.epoch.as_deref() != epoch.as_ref().map(Epoch::as_str) {
                    // A later entry of another epoch: the history is not continuous.
                    return Ok(Gap::not_found(epoch));
                }
                let Ok(id) = EventId::new(entry.id) else {
                    continue;
                };
                if let Some(event) = entry
                    .data
                    .and_then(|data| wire::from_wire(&data, id.clone()))
                {
                    events.push((id, event));
                }
            }
            Ok(Gap::found(epoch, events, truncated))
        }
    }

    fn follows(id: &str, other: &str) -> bool {
        match (StreamId::parse(id), StreamId::parse(other)) {
            (Some(id), Some(other)) => id > other,
            _ => false,
        }
    }

    fn follow(&self, feed: &Feed) {
        let stream = self.shared.stream_key(feed.topic());
        self.shared.tail_of(&stream).follow(stream, feed.clone());
    }

    fn unfollow(&self, feed: &Feed) {
        let stream = self.shared.stream_key(feed.topic());
        self.shared.tail_of(&stream).unfollow(&stream, feed);
    }

    fn set_retention(&self, events: usize, age: Option<Duration>) {
        *self
            .shared
            .retention
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = (events, age);
    }
}

impl fmt::Debug for RedisBroker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisBroker")
            .field("config", &self.shared.config)
            .field("stats", &self.stats())
            .finish()
    }
}
