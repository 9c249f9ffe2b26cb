//! [`StreamGroup`]: the shared counters of the bodies that opt in.

use std::borrow::Cow;
use std::cell::Cell;
use std::fmt;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use super::reason::CloseReason;
use super::stats::{DeliveryLatency, StreamStats, BUCKETS};

/// Counters shared by every [`SseBody`](crate::SseBody) that opts in with
/// [`with_group`](crate::SseBody::with_group): streams open, opened and closed (with
/// the [`CloseReason`]), events, bytes and keep-alives sent, and the delivery latency.
///
/// Make one per endpoint (or per kind of stream) and clone it freely: clones share the
/// counters (an `Arc` of atomics, about 1.2 KiB: the counts made on every chunk are
/// kept per thread and summed by [`stats`](StreamGroup::stats), so bodies sending on
/// different threads never write the same cache line). The label tells groups apart in
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
    /// Events, bytes and latency samples, counted on every chunk (or every 8th): one
    /// stripe per thread (up to [`STRIPES`] threads, then shared), so that bodies
    /// sending on different threads do not contend for one cache line.
    stripes: [Stripe; STRIPES],
    keep_alives: AtomicU64,
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
                stripes: Default::default(),
                keep_alives: AtomicU64::new(0),
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
        for (i, n) in latency.buckets.iter_mut().enumerate() {
            *n = sum(c.stripes.iter().map(|s| &s.latency[i]));
        }
        latency.sum_nanos = sum(c.stripes.iter().map(|s| &s.latency_sum));
        StreamStats {
            open: opened.saturating_sub(closed),
            opened,
            closed,
            events: sum(c.stripes.iter().map(|s| &s.events)),
            bytes: sum(c.stripes.iter().map(|s| &s.bytes)),
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
        let stripe = &self.stripes[stripe_index()];
        stripe
            .events
            .fetch_add(u64::from(events), Ordering::Relaxed);
        stripe.bytes.fetch_add(bytes as u64, Ordering::Relaxed);
        #[cfg(feature = "metrics")]
        self.metrics.chunk(events, bytes);
    }

    pub(crate) fn keep_alive(&self, bytes: usize) {
        self.keep_alives.fetch_add(1, Ordering::Relaxed);
        self.stripes[stripe_index()]
            .bytes
            .fetch_add(bytes as u64, Ordering::Relaxed);
        #[cfg(feature = "metrics")]
        self.metrics.keep_alive(bytes);
    }

    pub(crate) fn latency(&self, latency: Duration) {
        let nanos = u64::try_from(latency.as_nanos()).unwrap_or(u64::MAX);
        let stripe = &self.stripes[stripe_index()];
        stripe.latency[DeliveryLatency::bucket_of(latency)].fetch_add(1, Ordering::Relaxed);
        stripe.latency_sum.fetch_add(nanos, Ordering::Relaxed);
        #[cfg(feature = "metrics")]
        self.metrics.latency(latency);
    }
}

/// Stripes of the per-chunk counters (a server's worker threads are usually fewer).
const STRIPES: usize = 8;

/// One thread's per-chunk counters, alone on its cache lines (x86 fetches lines in
/// pairs, so the alignment is two lines).
#[derive(Default)]
#[repr(align(128))]
struct Stripe {
    events: AtomicU64,
    bytes: AtomicU64,
    latency_sum: AtomicU64,
    latency: [AtomicU64; BUCKETS],
}

/// The sum of one counter over the stripes, saturating like the rest of `stats()`.
fn sum<'a>(counters: impl Iterator<Item = &'a AtomicU64>) -> u64 {
    counters.fold(0, |total, c| {
        total.saturating_add(c.load(Ordering::Relaxed))
    })
}

/// This thread's stripe: threads take stripes in turn, on their first chunk.
#[inline]
fn stripe_index() -> usize {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    thread_local! {
        static INDEX: Cell<usize> = const { Cell::new(usize::MAX) };
    }
    INDEX.with(|index| {
        let mut i = index.get();
        if i == usize::MAX {
            i = NEXT.fetch_add(1, Ordering::Relaxed) % STRIPES;
            index.set(i);
        }
        i
    })
}

impl fmt::Debug for StreamGroup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StreamGroup")
            .field("label", &self.label())
            .field("stats", &self.stats())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Counts made on many threads (more than there are stripes, so some share one)
    /// add up exactly.
    #[test]
    fn striped_counts_add_up_across_threads() {
        let group = StreamGroup::new("striped");
        let threads = STRIPES + 4;
        std::thread::scope(|scope| {
            for _ in 0..threads {
                let counters = &group.counters;
                scope.spawn(move || {
                    for _ in 0..1000 {
                        counters.chunk(2, 10);
                    }
                    for _ in 0..10 {
                        counters.keep_alive(3);
                        counters.latency(Duration::from_micros(50));
                    }
                });
            }
        });
        let stats = group.stats();
        let threads = threads as u64;
        assert_eq!(stats.events, threads * 2000);
        assert_eq!(stats.bytes, threads * (10_000 + 30));
        assert_eq!(stats.keep_alives, threads * 10);
        assert_eq!(stats.latency.samples(), threads * 10);
        assert_eq!(
            stats.latency.sum(),
            Duration::from_micros(50 * 10 * threads)
        );
    }
}
