//! What the client yields, and what it lets you observe.

use std::time::Duration;

use http::{HeaderMap, Uri};

use super::error::RetryCause;
use crate::{DecodeError, MessageEvent};

/// One item of an [`EventSource`](super::EventSource).
///
/// ```
/// use ssewire::client::Item;
/// # #[allow(dead_code)]
/// # fn handle(item: Item) {
/// match item {
///     Item::Event(event) => println!("{}: {}", event.event_type(), event.data()),
///     Item::Open(open) => eprintln!("connected to {}", open.uri),
///     Item::Retrying(retry) => eprintln!("{}; reconnecting in {:?}", retry.cause, retry.delay),
///     Item::Skipped(error) => eprintln!("event dropped: {error}"),
///     _ => {}
/// }
/// # }
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum Item {
    /// A connection opened (the browser's `open` event); one per (re)connect.
    Open(Open),
    /// An event (the browser's `message` or named event).
    Event(MessageEvent),
    /// The connection is gone (or never came up); the client waits
    /// [`delay`](Retrying::delay), then reconnects.
    Retrying(Retrying),
    /// An event crossed a [decoder limit](super::Config::max_line_size) and was dropped
    /// without being buffered; the stream goes on.
    Skipped(DecodeError),
}

/// A connection that opened: status 200 with `text/event-stream`.
///
/// ```
/// # #[allow(dead_code)]
/// fn log(open: &ssewire::client::Open) {
///     if !open.last_event_id.is_empty() {
///         eprintln!("resumed {} after id {}", open.uri, open.last_event_id);
///     }
/// }
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Open {
    /// The URI that answered (after redirects).
    pub uri: Uri,
    /// The response headers.
    pub headers: HeaderMap,
    /// The `Last-Event-ID` sent (empty: the header was not sent).
    pub last_event_id: String,
    /// Redirects followed to get here.
    pub redirects: usize,
}

/// The client is about to wait, then reconnect.
///
/// ```
/// # #[allow(dead_code)]
/// fn log(retry: &ssewire::client::Retrying) {
///     eprintln!("{} (failure {} in a row); reconnecting in {:?}", retry.cause, retry.failures, retry.delay);
/// }
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub struct Retrying {
    /// Why.
    pub cause: RetryCause,
    /// How long it waits (backoff and jitter included).
    pub delay: Duration,
    /// Failed attempts in a row so far (0 when a healthy connection ended).
    pub failures: u32,
}

/// The browser's `readyState`.
///
/// ```
/// assert_ne!(ssewire::client::ReadyState::Open, ssewire::client::ReadyState::Closed);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ReadyState {
    /// Connecting, or waiting to reconnect.
    Connecting,
    /// A stream is open.
    Open,
    /// Stopped for good: 204, a fatal error, or [`close`](super::EventSource::close).
    Closed,
}

/// Counters of an [`EventSource`](super::EventSource), since it was made.
///
/// ```
/// let stats = ssewire::client::Stats::default();
/// assert_eq!(stats.connects, 0);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// Connections that opened.
    pub connects: u64,
    /// Requests sent (redirects included).
    pub requests: u64,
    /// Events yielded.
    pub events: u64,
    /// Body bytes received on opened connections.
    pub bytes: u64,
    /// Reconnects scheduled.
    pub retries: u64,
}
