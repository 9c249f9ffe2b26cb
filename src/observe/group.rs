//! [`StreamGroup`]: the shared counters of the bodies that opt in.

use std::borrow::Cow;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use super::reason::CloseReason;
use super::stats::{DeliveryLatency, StreamStats, BUCKETS};

/// Counters shared by every [`SseBody`](crate::SseBody) that opts in with
/// [`with_group`](crate::SseBody::with_group): streams open, opened and closed (with
/// the [`CloseReason`]), events, bytes and keep-alives sent, and the delivery latency.
///
/// Make one per endpoint (or per kind of stream) and clone it freely: clones share the
/// counters (an `Arc` of atomics). The label tells groups apart in
/// [`Debug`](fmt::Debug) output, in `tracing` events (feature `tracing`) and as the
/// `group` label of the `ssewire_*` metrics (feature `metrics`): keep it to a few fixed
/// values (an endpoint name, never a user id or a path with ids in it).
///
/// With feature `metrics`, a group fetches its metric handles from the recorder
/// installed when the group is made: install the recorder first.
///
/// ```
/// use futures_util::StreamExt;
/// use ssewire::{Event, SseBody, StreamGroup};
///
/// # futures_executor::block_on(async {
/// let group = StreamGroup::new("prices"); // once, e.g. in the app's state
/// let mut body = SseBody::new(futures_util::stream::iter([Event::with_data("1")]))
///     .with_group(&group);
/// body.next().await; // the first poll starts it
/// assert_eq!(group.stats().open, 1);
/// drop(body); // the server drops the body when the client goes away
/// assert_eq!(group.stats().open, 0);
/// assert_eq!(group.label(), "prices");
/// # });
/// ```
#[derive(Clone)]
pub struct StreamGroup {
    pub(crate) counters: Arc<Counters>,
}

/// The atomics behind a group, and its metric handles.
pub(crate) struct Counters {
    label: Cow<'static, str>,
    opened: AtomicU64,
    closed: [AtomicU64; CloseReason::ALL.len()],
    events: AtomicU64,
    bytes: AtomicU64,
    keep_alives: AtomicU64,
    latency: [AtomicU64; BUCKETS],
    latency_sum: AtomicU64,
    #[cfg(feature = "metrics")]
    metrics: super::export::GroupMetrics,
}

impl StreamGroup {
    /// A group with its own counters, all zero.
    ///
    /// ```
    /// let by_name = ssewire::StreamGroup::new("events");
    /// let owned = ssewire::StreamGroup::new(format!("shard-{}", 3));
    /// assert_eq!(owned.label(), "shard-3");
    /// # let _ = by_name;
    /// ```
    pub fn new(label: impl Into<Cow<'static, str>>) -> Self {
        let label = label.into();
        StreamGroup {
            counters: Arc::new(Counters {
                #[cfg(feature = "metrics")]
                metrics: super::export::GroupMetrics::register(label.clone()),
                label,
                opened: AtomicU64::new(0),
                closed: Default::default(),
                events: AtomicU64::new(0),
                bytes: AtomicU64::new(0),
                keep_alives: AtomicU64::new(0),
                latency: Default::default(),
                latency_sum: AtomicU64::new(0),
            }),
        }
    }

    /// The group's label.
    ///
    /// ```
    /// assert_eq!(ssewire::StreamGroup::new("events").label(), "events");
    /// ```
    pub fn label(&self) -> &str {
        &self.counters.label
    }

    /// A snapshot of the counters (each read on its own: a snapshot taken while bodies
    /// run may mix counts from just before and just after an event, but `open` never
    /// counts a body that was not opened).
    ///
    /// ```
    /// let stats = ssewire::StreamGroup::new("events").stats();
    /// assert_eq!((stats.open, stats.opened, stats.events), (0, 0, 0));
    /// ```
    pub fn stats(&self) -> StreamStats {
        let c = &*self.counters;
        // Closed first: every body counted as closed was counted as opened before.
        let mut closed_by = [0; CloseReason::ALL.len()];
        for (n, counter) in closed_by.iter_mut().zip(&c.closed) {
            *n = counter.load(Ordering::Acquire);
        }
        let closed = closed_by.iter().fold(0u64, |a, &b| a.saturating_add(b));
        let opened = c.opened.load(Ordering::Acquire);
        let mut latency = DeliveryLatency::default();
        for (n, counter) in latency.buckets.iter_mut().zip(&c.latency) {
            *n = counter.load(Ordering::Relaxed);
        }
        latency.sum_nanos = c.latency_sum.load(Ordering::Relaxed);
        StreamStats {
            open: opened.saturating_sub(closed),
            opened,
            closed,
            events: c.events.load(Ordering::Relaxed),
            bytes: c.bytes.load(Ordering::Relaxed),
            keep_alives: c.keep_alives.load(Ordering::Relaxed),
            latency,
            closed_by,
        }
    }
}

impl Counters {
    pub(crate) fn open(&self) {
        self.opened.fetch_add(1, Ordering::Release);
        #[cfg(feature = "metrics")]
        self.metrics.open();
        #[cfg(feature = "tracing")]
        tracing::debug!(target: "ssewire::stream", group = %self.label, "sse stream opened");
    }

    pub(crate) fn close(&self, reason: CloseReason) {
        self.closed[reason.index()].fetch_add(1, Ordering::Release);
        #[cfg(feature = "metrics")]
        self.metrics.close(reason);
        #[cfg(feature = "tracing")]
        tracing::debug!(
            target: "ssewire::stream",
            group = %self.label,
            reason = reason.as_str(),
            "sse stream closed"
        );
    }

    #[inline]
    pub(crate) fn chunk(&self, events: u32, bytes: usize) {
        self.events.fetch_add(u64::from(events), Ordering::Relaxed);
        self.bytes.fetch_add(bytes as u64, Ordering::Relaxed);
        #[cfg(feature = "metrics")]
        self.metrics.chunk(events, bytes);
    }

    pub(crate) fn keep_alive(&self, bytes: usize) {
        self.keep_alives.fetch_add(1, Ordering::Relaxed);
        self.bytes.fetch_add(bytes as u64, Ordering::Relaxed);
        #[cfg(feature = "metrics")]
        self.metrics.keep_alive(bytes);
    }

    pub(crate) fn latency(&self, latency: Duration) {
        let nanos = u64::try_from(latency.as_nanos()).unwrap_or(u64::MAX);
        self.latency[DeliveryLatency::bucket_of(latency)].fetch_add(1, Ordering::Relaxed);
        self.latency_sum.fetch_add(nanos, Ordering::Relaxed);
        #[cfg(feature = "metrics")]
        self.metrics.latency(latency);
    }
}

impl fmt::Debug for StreamGroup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StreamGroup")
            .field("label", &self.label())
            .field("stats", &self.stats())
            .finish()
    }
}
