//! The snapshot of a group's counters: [`StreamStats`] and [`DeliveryLatency`].

use std::time::Duration;

use super::reason::CloseReason;

/// Counters of every body of a [`StreamGroup`](crate::StreamGroup): a snapshot,
/// taken by [`StreamGroup::stats`](crate::StreamGroup::stats).
///
/// A body counts from its first poll (when the server starts sending it, right after
/// the response head), until it is dropped. A body dropped before its first poll (a
/// handler that built it and then answered something else) is not counted at all.
/// Totals only grow.
///
/// ```
/// use futures_util::StreamExt;
/// use ssewire::{CloseReason, Event, SseBody, StreamGroup};
///
/// # futures_executor::block_on(async {
/// let group = StreamGroup::new("ticks");
/// let events = futures_util::stream::iter([Event::with_data("a"), Event::with_data("b")]);
/// let mut body = SseBody::new(events).with_group(&group);
/// assert_eq!(group.stats().open, 0); // not started yet
/// while let Some(chunk) = body.next().await {
///     chunk.unwrap();
/// }
/// assert_eq!(group.stats().open, 1); // ended, but not dropped yet
/// drop(body);
/// let stats = group.stats();
/// assert_eq!((stats.open, stats.opened, stats.closed), (0, 1, 1));
/// assert_eq!(stats.closed_by(CloseReason::Ended), 1);
/// assert_eq!((stats.events, stats.bytes), (2, 18));
/// # });
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct StreamStats {
    /// Bodies started and not dropped yet (`opened - closed`).
    pub open: u64,
    /// Bodies started (polled for the first time).
    pub opened: u64,
    /// Bodies dropped after they started, for any reason (the sum of
    /// [`closed_by`](StreamStats::closed_by) over [`CloseReason::ALL`]).
    pub closed: u64,
    /// Events handed to the server: the stream's events, the opening event and the
    /// farewell (not keep-alives).
    pub events: u64,
    /// Bytes handed to the server, keep-alives included.
    pub bytes: u64,
    /// Keep-alive comments handed to the server.
    pub keep_alives: u64,
    /// How long the body took to hand chunks to the server (sampled, see
    /// [`DeliveryLatency`]).
    pub latency: DeliveryLatency,
    pub(crate) closed_by: [u64; CloseReason::ALL.len()],
}

impl StreamStats {
    /// Bodies closed for `reason`.
    ///
    /// ```
    /// let group = ssewire::StreamGroup::new("api");
    /// assert_eq!(group.stats().closed_by(ssewire::CloseReason::ClientGone), 0);
    /// ```
    pub fn closed_by(&self, reason: CloseReason) -> u64 {
        self.closed_by[reason.index()]
    }
}

/// A small histogram of delivery latency: for sampled chunks, the time from the start
/// of the poll in which the body took the chunk's events from its stream to the moment
/// it handed the chunk to the server.
///
/// That is the time the body itself adds (polling the stream for what is ready,
/// encoding, coalescing): the server's own write and the network come after, and the
/// time an event waited in the stream before the body was woken comes before (for a
/// hub topic, see `hub::Stats` and the hub's lag counters). An event held over for the
/// next chunk (it did not fit) is timed from the poll that sends it. One chunk in
/// [`SAMPLE_EVERY`](DeliveryLatency::SAMPLE_EVERY) is timed (the first one always), so
/// that a body reads the clock twice per that many chunks.
///
/// ```
/// use std::time::Duration;
/// use ssewire::DeliveryLatency;
/// let latency = ssewire::StreamGroup::new("api").stats().latency;
/// assert_eq!(latency.samples(), 0);
/// assert_eq!(latency.mean(), None);
/// assert_eq!(DeliveryLatency::BOUNDS[0], Duration::from_micros(10));
/// assert_eq!(latency.buckets().len(), DeliveryLatency::BOUNDS.len() + 1);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DeliveryLatency {
    pub(crate) buckets: [u64; BUCKETS],
    pub(crate) sum_nanos: u64,
}

pub(crate) const BUCKETS: usize = DeliveryLatency::BOUNDS.len() + 1;

impl DeliveryLatency {
    /// The upper bounds (inclusive) of the buckets; the last bucket holds the rest.
    ///
    /// ```
    /// assert_eq!(ssewire::DeliveryLatency::BOUNDS.len(), 6);
    /// ```
    pub const BOUNDS: [Duration; 6] = [
        Duration::from_micros(10),
        Duration::from_micros(100),
        Duration::from_millis(1),
        Duration::from_millis(10),
        Duration::from_millis(100),
        Duration::from_secs(1),
    ];

    /// One chunk in this many is timed.
    ///
    /// ```
    /// assert_eq!(ssewire::DeliveryLatency::SAMPLE_EVERY, 8);
    /// ```
    pub const SAMPLE_EVERY: u32 = 8;

    /// The count of samples in each bucket: `buckets()[i]` counts the samples at most
    /// `BOUNDS[i]` and above `BOUNDS[i - 1]`; the last, those above every bound.
    ///
    /// ```
    /// let latency = ssewire::StreamGroup::new("api").stats().latency;
    /// assert!(latency.buckets().iter().all(|&n| n == 0));
    /// ```
    pub fn buckets(&self) -> [u64; BUCKETS] {
        self.buckets
    }

    /// The number of chunks timed.
    ///
    /// ```
    /// assert_eq!(ssewire::StreamGroup::new("api").stats().latency.samples(), 0);
    /// ```
    pub fn samples(&self) -> u64 {
        self.buckets.iter().fold(0, |a, &b| a.saturating_add(b))
    }

    /// The sum of every sample.
    ///
    /// ```
    /// let latency = ssewire::StreamGroup::new("api").stats().latency;
    /// assert_eq!(latency.sum(), std::time::Duration::ZERO);
    /// ```
    pub fn sum(&self) -> Duration {
        Duration::from_nanos(self.sum_nanos)
    }

    /// The mean sample, if there is one.
    ///
    /// ```
    /// assert_eq!(ssewire::StreamGroup::new("api").stats().latency.mean(), None);
    /// ```
    pub fn mean(&self) -> Option<Duration> {
        let samples = self.samples();
        (samples > 0).then(|| Duration::from_nanos(self.sum_nanos / samples))
    }

    /// The bucket of a sample.
    pub(crate) fn bucket_of(latency: Duration) -> usize {
        Self::BOUNDS
            .iter()
            .position(|bound| latency <= *bound)
            .unwrap_or(Self::BOUNDS.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_hold_samples_up_to_their_bound() {
        assert_eq!(DeliveryLatency::bucket_of(Duration::ZERO), 0);
        assert_eq!(DeliveryLatency::bucket_of(Duration::from_micros(10)), 0);
        assert_eq!(DeliveryLatency::bucket_of(Duration::from_nanos(10_001)), 1);
        assert_eq!(DeliveryLatency::bucket_of(Duration::from_secs(1)), 5);
        assert_eq!(DeliveryLatency::bucket_of(Duration::from_secs(5)), 6);
    }
}
