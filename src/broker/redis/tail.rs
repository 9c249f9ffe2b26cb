//! The tail: one connection (or a few, each with its share of the streams), one
//! `XREAD BLOCK` over every stream this node follows,
//! feeding the local topics; reconnects with backoff and jitter, checks on each
//! reconnection that its positions still exist.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::time::Duration;

use redis::aio::MultiplexedConnection;
use redis::{AsyncConnectionConfig, RedisError, Value};
use tokio::sync::Notify;

use crate::fields::EventId;

use super::super::feed::Feed;
use super::super::{wire, Epoch};
use super::{bump, entries_of, random_u64, Shared, StreamId};

/// The streams followed and what wakes the tail.
#[derive(Default)]
pub(super) struct Tail {
    streams: Mutex<HashMap<String, Followed>>,
    /// Bumped on every follow/unfollow; `read_generation` is the one the XREAD in
    /// flight was built from. The waker sends `CLIENT UNBLOCK` until they match.
    generation: AtomicU64,
    read_generation: AtomicU64,
    /// The tail connection's `CLIENT ID` while an `XREAD` is in flight, else 0.
    blocked_client: AtomicI64,
    /// Wakes an idle tail (no streams) and the unblocking task.
    changed: Arc<Notify>,
    unblock: Arc<Notify>,
}

struct Followed {
    feed: Feed,
    /// The last entry id delivered; `None` until the start position is resolved.
    last: Option<String>,
    /// The sequence number of that entry, when it has one.
    seq: Option<u64>,
}

impl Tail {
    pub(super) fn follow(&self, stream: String, feed: Feed) {
        self.lock().insert(
            stream,
            Followed {
                feed,
                last: None,
                seq: None,
            },
        );
        self.changed();
    }

    pub(super) fn unfollow(&self, stream: &str, feed: &Feed) {
        let mut streams = self.lock();
        if streams
            .get(stream)
            .is_some_and(|followed| followed.feed.same(feed))
        {
            streams.remove(stream);
            drop(streams);
            self.changed();
        }
    }

    pub(super) fn len(&self) -> usize {
        self.lock().len()
    }

    fn changed(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
        self.changed.notify_one();
        self.unblock.notify_one();
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<String, Followed>> {
        self.streams.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

pub(super) fn spawn(runtime: &tokio::runtime::Handle, shared: &Arc<Shared>) {
    for shard in 0..shared.tails.len() {
        runtime.spawn(run(Arc::downgrade(shared), shard));
        runtime.spawn(unblocker(Arc::downgrade(shared), shard));
    }
}

/// Reconnects forever (while the broker exists), with exponential backoff and jitter.
async fn run(weak: Weak<Shared>, shard: usize) {
    const FIRST_BACKOFF: Duration = Duration::from_millis(50);
    let mut backoff = FIRST_BACKOFF;
    loop {
        let Some(shared) = weak.upgrade() else { return };
        let max_backoff = shared.config.max_backoff;
        let connection = connect(&shared).await;
        drop(shared);
        if let Ok((connection, client_id)) = connection {
            match follow_streams(&weak, shard, connection, client_id).await {
                Ok(()) => return, // the broker was dropped
                Err(Progress { read_any: true }) => backoff = FIRST_BACKOFF,
                Err(Progress { read_any: false }) => {}
            }
        }
        let Some(shared) = weak.upgrade() else { return };
        bump(&shared.counters.tail_errors, 1);
        drop(shared);
        // Full jitter on the upper half: between backoff/2 and backoff.
        let half = backoff / 2;
        let jitter = Duration::from_nanos(random_u64() % (half.as_nanos() as u64).max(1));
        #[cfg(feature = "tracing")]
        tracing::warn!(
            target: "ssewire::broker",
            shard,
            retry_in_ms = u64::try_from((half + jitter).as_millis()).unwrap_or(u64::MAX),
            "broker tail connection lost or failed; reconnecting"
        );
        tokio::time::sleep(half + jitter).await;
        backoff = (backoff * 2).min(max_backoff.max(FIRST_BACKOFF));
    }
}

async fn connect(shared: &Shared) -> Result<(MultiplexedConnection, i64), RedisError> {
    // No response timeout: `XREAD BLOCK` answers after up to `block`.
    let config = AsyncConnectionConfig::new()
        .set_connection_timeout(Some(shared.config.timeout))
        .set_response_timeout(None);
    let mut connection = shared
        .client
        .get_multiplexed_async_connection_with_config(&config)
        .await?;
    let id: i64 = redis::cmd("CLIENT")
        .arg("ID")
        .query_async(&mut connection)
        .await?;
    bump(&shared.counters.tail_connects, 1);
    #[cfg(feature = "tracing")]
    tracing::debug!(target: "ssewire::broker", "broker tail connected");
    Ok((connection, id))
}

/// The connection broke; `read_any` if it delivered something first.
struct Progress {
    read_any: bool,
}

async fn follow_streams(
    weak: &Weak<Shared>,
    shard: usize,
    mut connection: MultiplexedConnection,
    client_id: i64,
) -> Result<(), Progress> {
    let mut progress = Progress { read_any: false };
    {
        let Some(shared) = weak.upgrade() else {
            return Ok(());
        };
        // Every query of the tail has a deadline: a peer that vanished without a reset
        // (a dead VM, a partition) would otherwise hold it for ever, unnoticed.
        let check = check_positions(&shared, &shared.tails[shard], &mut connection);
        if !matches!(
            tokio::time::timeout(shared.config.timeout, check).await,
            Ok(Ok(()))
        ) {
            return Err(progress);
        }
    }
    loop {
        let Some(shared) = weak.upgrade() else {
            return Ok(());
        };
        let tail = &shared.tails[shard];
        let resolve = resolve_starts(tail, &mut connection);
        if !matches!(
            tokio::time::timeout(shared.config.timeout, resolve).await,
            Ok(Ok(()))
        ) {
            return Err(progress);
        }
        let generation = tail.generation.load(Ordering::Acquire);
        let (keys, ids): (Vec<String>, Vec<String>) = tail
            .lock()
            .iter()
            .filter_map(|(stream, followed)| Some((stream.clone(), followed.last.clone()?)))
            .unzip();
        tail.read_generation.store(generation, Ordering::Release);
        if keys.is_empty() {
            let changed = Arc::clone(&tail.changed);
            let block = shared.config.block;
            drop(shared);
            let _ = tokio::time::timeout(block, changed.notified()).await;
            continue;
        }
        let mut read = redis::cmd("XREAD");
        read.arg("COUNT")
            .arg(shared.config.read_count)
            .arg("BLOCK")
            .arg(shared.config.block.as_millis() as u64)
            .arg("STREAMS")
            .arg(&keys)
            .arg(&ids);
        bump(&shared.counters.reads, 1);
        tail.blocked_client.store(client_id, Ordering::Release);
        // A follow that raced with building the command: make sure the waker sees it.
        if tail.generation.load(Ordering::Acquire) != generation {
            tail.unblock.notify_one();
        }
        let sent = tokio::time::Instant::now();
        // Redis answers a blocked read within `block`: past that and the usual timeout,
        // the connection is taken as dead and the tail reconnects.
        let deadline = shared.config.block.saturating_add(shared.config.timeout);
        let reply =
            tokio::time::timeout(deadline, read.query_async::<Value>(&mut connection)).await;
        tail.blocked_client.store(0, Ordering::Release);
        let reply = match reply {
            Ok(Ok(reply)) => reply,
            Ok(Err(_)) | Err(_) => return Err(progress),
        };
        progress.read_any = true;
        let interval = shared.config.read_interval;
        if deliver(&shared, tail, reply) && !interval.is_zero() {
            // Busy: let entries gather for a moment, then read them in one batch.
            drop(shared);
            tokio::time::sleep_until(sent + interval).await;
        }
    }
}

/// Feeds the entries of an `XREAD` reply into their feeds; whether there were any.
fn deliver(shared: &Shared, tail: &Tail, reply: Value) -> bool {
    let per_stream: Vec<(Value, Value)> = match reply {
        Value::Array(streams) => streams
            .into_iter()
            .filter_map(|stream| match stream {
                Value::Array(pair) if pair.len() == 2 => {
                    let mut pair = pair.into_iter();
                    Some((pair.next()?, pair.next()?))
                }
                _ => None,
            })
            .collect(),
        Value::Map(streams) => streams,
        _ => return false, // nil: timed out or unblocked
    };
    let mut streams = tail.lock();
    for (key, entries) in per_stream {
        let Some(key) = super::text(key) else {
            continue;
        };
        let Some(followed) = streams.get_mut(&key) else {
            continue;
        };
        if followed.last.is_none() {
            // Followed again while this read was under way: a new feed, which starts
            // after the stream's newest entry (`resolve_starts`), not from this read.
            continue;
        }
        for entry in entries_of(entries) {
            bump(&shared.counters.entries_read, 1);
            followed.last = Some(entry.id.clone());
            let epoch = entry.epoch.map(Epoch::new);
            // A jump in the sequence: entries were trimmed before this tail read them,
            // so the local history would have a hole. Start it afresh (its clients
            // reconnect and resume from Redis, or learn the history is lost).
            if let (Some(seen), Some(seq)) = (followed.seq, entry.seq) {
                if seq != seen.wrapping_add(1) {
                    bump(&shared.counters.gaps, 1);
                    followed
                        .feed
                        .reset(epoch.clone().or_else(|| followed.feed.epoch()));
                }
            }
            followed.seq = entry.seq;
            let Ok(id) = EventId::new(entry.id) else {
                continue;
            };
            match entry
                .data
                .and_then(|data| wire::from_wire(&data, id.clone()))
            {
                Some(event) => followed.feed.push(id, event, epoch.as_ref()),
                None => bump(&shared.counters.foreign_entries, 1),
            }
        }
    }
    true
}

/// Fixes where newly followed streams start: after their newest entry, read with
/// the epoch in one transaction.
async fn resolve_starts(
    tail: &Tail,
    connection: &mut MultiplexedConnection,
) -> Result<(), RedisError> {
    let pending: Vec<(String, Feed)> = tail
        .lock()
        .iter()
        .filter(|(_, followed)| followed.last.is_none())
        .map(|(stream, followed)| (stream.clone(), followed.feed.clone()))
        .collect();
    if pending.is_empty() {
        return Ok(());
    }
    let mut pipe = redis::pipe();
    pipe.atomic();
    for (stream, _) in &pending {
        pipe.get(format!("{stream}:epoch"));
        pipe.cmd("XREVRANGE")
            .arg(stream)
            .arg("+")
            .arg("-")
            .arg("COUNT")
            .arg(1);
    }
    let replies: Vec<Value> = pipe.query_async(connection).await?;
    let mut replies = replies.into_iter();
    let mut streams = tail.lock();
    for (stream, feed) in pending {
        let (Some(epoch), Some(newest)) = (replies.next(), replies.next()) else {
            break;
        };
        let Some(followed) = streams.get_mut(&stream) else {
            continue;
        };
        if !followed.feed.same(&feed) || followed.last.is_some() {
            continue;
        }
        let newest = entries_of(newest).pop();
        followed.seq = newest.as_ref().and_then(|entry| entry.seq);
        followed.last = Some(newest.map_or_else(|| "0-0".to_owned(), |entry| entry.id));
        feed.start(super::text(epoch).map(Epoch::new));
    }
    Ok(())
}

/// After a reconnection: is every stream still where this node left it? A changed
/// epoch, or a position gone from the stream, resets the feed (and, when Redis lost
/// writes without a new epoch, writes one so every node knows).
async fn check_positions(
    shared: &Shared,
    tail: &Tail,
    connection: &mut MultiplexedConnection,
) -> Result<(), RedisError> {
    let positions: Vec<(String, Feed, String)> = tail
        .lock()
        .iter()
        .filter_map(|(stream, followed)| {
            Some((
                stream.clone(),
                followed.feed.clone(),
                followed.last.clone()?,
            ))
        })
        .collect();
    for (stream, feed, last) in positions {
        let mut pipe = redis::pipe();
        pipe.atomic();
        pipe.get(format!("{stream}:epoch"));
        pipe.cmd("XRANGE").arg(&stream).arg(&last).arg(&last);
        pipe.cmd("XRANGE")
            .arg(&stream)
            .arg("-")
            .arg("+")
            .arg("COUNT")
            .arg(1);
        let (epoch, at_last, oldest): (Option<String>, Value, Value) =
            pipe.query_async(connection).await?;
        let epoch = epoch.map(Epoch::new);
        let known = feed.epoch();
        let position_kept = last == "0-0" || !entries_of(at_last).is_empty();
        let action = if epoch != known {
            if known.is_none() && last == "0-0" {
                None // nothing delivered yet: nothing to forget
            } else {
                Some(epoch) // another node (or a flush) already changed the epoch
            }
        } else if position_kept {
            None
        } else {
            let trimmed = match (entries_of(oldest).pop(), StreamId::parse(&last)) {
                (Some(oldest), Some(last)) => {
                    StreamId::parse(&oldest.id).is_some_and(|oldest| oldest > last)
                }
                _ => false,
            };
            if trimmed {
                // Only this node fell behind the trimming: its own history has a hole.
                Some(epoch)
            } else {
                // Redis lost writes this node had seen: nobody can prove what is
                // missing, so ids from before become history-lost on every node.
                match shared.swap_epoch(feed.topic(), epoch.as_ref()).await {
                    Ok(now) => Some(now),
                    Err(_) => return Err(RedisError::from(std::io::Error::other("epoch"))),
                }
            }
        };
        if let Some(epoch) = action {
            // Only the feed still followed: a topic followed again in the meantime has
            // a new feed, whose local topic an old feed's reset would replace.
            let mut streams = tail.lock();
            if let Some(followed) = streams.get_mut(&stream) {
                if followed.feed.same(&feed) {
                    feed.reset(epoch);
                    // Start again after the newest entry: the fresh history is
                    // contiguous.
                    followed.last = None;
                    followed.seq = None;
                }
            }
        }
    }
    Ok(())
}

/// Sends `CLIENT UNBLOCK` to the tail's blocked `XREAD` until the tail has picked up
/// the latest follow/unfollow (a new stream never waits for the block to expire).
async fn unblocker(weak: Weak<Shared>, shard: usize) {
    loop {
        let unblock = {
            let Some(shared) = weak.upgrade() else { return };
            Arc::clone(&shared.tails[shard].unblock)
        };
        // Wait without holding the broker alive (it may be dropped meanwhile).
        let _ = tokio::time::timeout(Duration::from_secs(1), unblock.notified()).await;
        loop {
            let Some(shared) = weak.upgrade() else { return };
            let tail = &shared.tails[shard];
            if tail.read_generation.load(Ordering::Acquire)
                >= tail.generation.load(Ordering::Acquire)
            {
                break;
            }
            let client = tail.blocked_client.load(Ordering::Acquire);
            if client == 0 {
                // No XREAD in flight: the tail reads the streams afresh before its
                // next one (and notifies again if a change slips in meanwhile).
                break;
            }
            {
                let _ = shared
                    .with_command(false, |mut connection| async move {
                        redis::cmd("CLIENT")
                            .arg("UNBLOCK")
                            .arg(client)
                            .query_async::<i64>(&mut connection)
                            .await
                    })
                    .await;
                bump(&shared.counters.unblocks, 1);
            }
            drop(shared);
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hub::{Config, Hub};

    fn reply(stream: &str, ids: &[&str]) -> Value {
        let entries = ids
            .iter()
            .map(|id| {
                Value::Array(vec![
                    Value::BulkString(id.as_bytes().to_vec()),
                    Value::Array(vec![]),
                ])
            })
            .collect();
        Value::Array(vec![Value::Array(vec![
            Value::BulkString(stream.as_bytes().to_vec()),
            Value::Array(entries),
        ])])
    }

    /// Found by review: a topic unfollowed and followed again while an `XREAD` built
    /// for the old feed was under way got that read's entries and position, so the
    /// new feed was never started and every resume on the node timed out.
    #[tokio::test]
    async fn a_read_built_for_an_earlier_feed_does_not_reach_a_new_one() {
        // Never connects (nothing listens there); only its counters are used.
        let broker =
            super::super::RedisBroker::new(super::super::RedisConfig::new("redis://127.0.0.1:1"))
                .expect("a broker");
        let tail = Tail::default();
        let feed = Feed::new(Hub::new(Config::new()), "news");
        // Followed again: its start is not resolved yet.
        tail.follow("s".to_owned(), feed.clone());
        assert!(deliver(&broker.shared, &tail, reply("s", &["2-0"])));
        assert_eq!(tail.lock()["s"].last, None, "left for resolve_starts");
        assert!(!feed.is_started());
        // Once started, its reads are delivered as before.
        tail.lock().get_mut("s").expect("followed").last = Some("2-0".to_owned());
        deliver(&broker.shared, &tail, reply("s", &["3-0"]));
        assert_eq!(tail.lock()["s"].last.as_deref(), Some("3-0"));
    }
}
