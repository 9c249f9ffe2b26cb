//! Reading Redis replies: stream entries, stream ids, errors and epochs.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use redis::{RedisError, Value};

use crate::broker::BrokerError;

/// One stream entry as ssewire writes it.
pub(crate) struct Entry {
    pub(super) id: String,
    pub(super) epoch: Option<String>,
    /// The entry's sequence number, one more than the previous entry's (none in
    /// entries written before it existed).
    pub(super) seq: Option<u64>,
    pub(super) data: Option<Vec<u8>>,
}

/// The entries of an `XRANGE` reply (or of one stream in an `XREAD` reply).
pub(super) fn entries_of(raw: Value) -> Vec<Entry> {
    let Value::Array(items) = raw else {
        return Vec::new();
    };
    items.into_iter().filter_map(entry_of).collect()
}

fn entry_of(raw: Value) -> Option<Entry> {
    let Value::Array(pair) = raw else { return None };
    let mut pair = pair.into_iter();
    let id = text(pair.next()?)?;
    let mut entry = Entry {
        id,
        epoch: None,
        seq: None,
        data: None,
    };
    let fields = match pair.next()? {
        Value::Array(fields) => fields,
        Value::Map(map) => map.into_iter().flat_map(|(k, v)| [k, v]).collect(),
        _ => return Some(entry),
    };
    let mut fields = fields.into_iter();
    while let (Some(name), Some(value)) = (fields.next(), fields.next()) {
        match bytes(name).as_deref() {
            Some(b"e") => entry.epoch = text(value),
            Some(b"n") => entry.seq = text(value).and_then(|n| n.parse().ok()),
            Some(b"d") => entry.data = bytes(value),
            _ => {}
        }
    }
    Some(entry)
}

fn bytes(value: Value) -> Option<Vec<u8>> {
    match value {
        Value::BulkString(bytes) => Some(bytes),
        Value::SimpleString(text) => Some(text.into_bytes()),
        _ => None,
    }
}

pub(super) fn text(value: Value) -> Option<String> {
    String::from_utf8(bytes(value)?).ok()
}

/// A stream entry id, `<ms>-<seq>`, for ordering.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct StreamId(u64, u64);

impl StreamId {
    pub(crate) fn parse(text: &str) -> Option<Self> {
        let (ms, seq) = text.split_once('-')?;
        let digits = |part: &str| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit());
        if !digits(ms) || !digits(seq) {
            return None;
        }
        Some(StreamId(ms.parse().ok()?, seq.parse().ok()?))
    }
}

pub(super) fn convert(error: RedisError, timeout: Duration) -> BrokerError {
    if error.is_timeout() {
        BrokerError::Timeout { after: timeout }
    } else if error.is_io_error() || error.is_connection_dropped() || error.is_unrecoverable_error()
    {
        BrokerError::Connection(Box::new(error))
    } else {
        BrokerError::Reply(error.to_string())
    }
}

/// A fresh epoch token: 64 random bits in hex.
pub(super) fn new_epoch() -> String {
    format!("{:016x}", random_u64())
}

/// Randomness without a dependency: std's per-process random hasher keys, mixed with
/// a counter and the clock.
pub(crate) fn random_u64() -> u64 {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    if let Ok(now) = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH) {
        hasher.write_u128(now.as_nanos());
    }
    hasher.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_ids_are_exact() {
        assert_eq!(StreamId::parse("1-2"), Some(StreamId(1, 2)));
        assert!(StreamId::parse("1").is_none());
        assert!(StreamId::parse("1-").is_none());
        assert!(StreamId::parse("-1").is_none());
        assert!(StreamId::parse("+1-2").is_none());
        assert!(StreamId::parse("a-b").is_none());
        assert!(StreamId::parse("1-2").unwrap() < StreamId::parse("2-0").unwrap());
    }

    #[test]
    fn epochs_differ() {
        assert_ne!(new_epoch(), new_epoch());
        assert_eq!(new_epoch().len(), 16);
    }
}
