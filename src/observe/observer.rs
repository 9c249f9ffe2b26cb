//! What one body of a group keeps: [`Observer`], and the hooks the body calls.

use std::time::Instant;

use super::group::StreamGroup;
use super::reason::CloseReason;
use super::stats::DeliveryLatency;

/// The group of one body and where that body is: lives in the body's boxed extras,
/// so a body without a group carries no state for it (only the body's count of the
/// events in a chunk, one increment per event).
pub(crate) struct Observer {
    group: StreamGroup,
    started: bool,
    /// The first reason the body saw to end; none while streaming.
    reason: Option<CloseReason>,
    /// Chunks since the last timed one (the next is timed at 0).
    until_sample: u32,
    /// When the poll that may hand out a timed chunk started.
    poll_start: Option<Instant>,
}

impl Observer {
    pub(crate) fn new(group: &StreamGroup) -> Self {
        Observer {
            group: group.clone(),
            started: false,
            reason: None,
            until_sample: 0,
            poll_start: None,
        }
    }

    pub(crate) fn group(&self) -> &StreamGroup {
        &self.group
    }

    /// At the start of every poll: the first one opens the stream.
    #[inline]
    pub(crate) fn poll(&mut self) {
        if !self.started {
            self.started = true;
            self.group.counters.open();
        }
        if self.until_sample == 0 {
            self.poll_start = Some(Instant::now());
        }
        #[cfg(feature = "broadcast")]
        super::lag::clear();
    }

    /// A chunk of `events` events (`bytes` long) handed to the server.
    #[inline]
    pub(crate) fn chunk(&mut self, events: u32, bytes: usize) {
        self.group.counters.chunk(events, bytes);
        if let Some(start) = self.poll_start.take() {
            self.group.counters.latency(start.elapsed());
        }
        self.until_sample = (self.until_sample + 1) % DeliveryLatency::SAMPLE_EVERY;
    }

    /// A keep-alive handed to the server.
    pub(crate) fn keep_alive(&mut self, bytes: usize) {
        self.group.counters.keep_alive(bytes);
    }

    /// The body will end for `reason` (the first reason counts).
    pub(crate) fn end(&mut self, reason: CloseReason) {
        self.reason.get_or_insert(reason);
    }

    /// The stream ended: [`CloseReason::Lag`] if a hub subscriber just ended for
    /// lagging on this thread, else [`CloseReason::Ended`].
    pub(crate) fn stream_ended(&mut self) {
        #[cfg(feature = "broadcast")]
        if super::lag::take() {
            return self.end(CloseReason::Lag);
        }
        self.end(CloseReason::Ended);
    }
}

impl Drop for Observer {
    fn drop(&mut self) {
        if self.started {
            self.group
                .counters
                .close(self.reason.unwrap_or(CloseReason::ClientGone));
        }
    }
}
