//! Feature `metrics`: the group's counters as `ssewire_*` metrics of the `metrics`
//! facade, labelled `group`.

use std::borrow::Cow;
use std::time::Duration;

use metrics::{Counter, Gauge, Histogram, Unit};

use super::reason::CloseReason;

/// The metric names, shared with the hub and the docs.
pub(crate) const STREAMS_OPEN: &str = "ssewire_streams_open";
pub(crate) const STREAMS_OPENED: &str = "ssewire_streams_opened_total";
pub(crate) const STREAMS_CLOSED: &str = "ssewire_streams_closed_total";
pub(crate) const EVENTS_SENT: &str = "ssewire_events_sent_total";
pub(crate) const BYTES_SENT: &str = "ssewire_bytes_sent_total";
pub(crate) const KEEP_ALIVES_SENT: &str = "ssewire_keep_alives_sent_total";
pub(crate) const DELIVERY_LATENCY: &str = "ssewire_delivery_latency_seconds";

/// The handles of one group, fetched from the recorder when the group is made.
pub(crate) struct GroupMetrics {
    open: Gauge,
    opened: Counter,
    closed: [Counter; CloseReason::ALL.len()],
    events: Counter,
    bytes: Counter,
    keep_alives: Counter,
    latency: Histogram,
}

fn describe() {
    metrics::describe_gauge!(
        STREAMS_OPEN,
        Unit::Count,
        "SSE bodies started (first poll) and not dropped yet"
    );
    metrics::describe_counter!(STREAMS_OPENED, Unit::Count, "SSE bodies started");
    metrics::describe_counter!(
        STREAMS_CLOSED,
        Unit::Count,
        "SSE bodies dropped after they started, by reason \
         (ended, client_gone, error, shutdown, lifetime, lag)"
    );
    metrics::describe_counter!(
        EVENTS_SENT,
        Unit::Count,
        "SSE events handed to the server (keep-alives not included)"
    );
    metrics::describe_counter!(
        BYTES_SENT,
        Unit::Bytes,
        "Bytes of SSE chunks handed to the server (keep-alives included)"
    );
    metrics::describe_counter!(
        KEEP_ALIVES_SENT,
        Unit::Count,
        "SSE keep-alive comments handed to the server"
    );
    metrics::describe_histogram!(
        DELIVERY_LATENCY,
        Unit::Seconds,
        "Time from the start of the poll that takes a chunk's events from the stream \
         to the chunk handed to the server (one chunk in 8 per body)"
    );
}

impl GroupMetrics {
    pub(crate) fn register(label: Cow<'static, str>) -> Self {
        describe();
        let group = label;
        let closed = CloseReason::ALL.map(|reason| {
            metrics::counter!(STREAMS_CLOSED, "group" => group.clone(), "reason" => reason.as_str())
        });
        GroupMetrics {
            open: metrics::gauge!(STREAMS_OPEN, "group" => group.clone()),
            opened: metrics::counter!(STREAMS_OPENED, "group" => group.clone()),
            closed,
            events: metrics::counter!(EVENTS_SENT, "group" => group.clone()),
            bytes: metrics::counter!(BYTES_SENT, "group" => group.clone()),
            keep_alives: metrics::counter!(KEEP_ALIVES_SENT, "group" => group.clone()),
            latency: metrics::histogram!(DELIVERY_LATENCY, "group" => group),
        }
    }

    pub(crate) fn open(&self) {
        self.open.increment(1.0);
        self.opened.increment(1);
    }

    pub(crate) fn close(&self, reason: CloseReason) {
        self.open.decrement(1.0);
        self.closed[reason.index()].increment(1);
    }

    #[inline]
    pub(crate) fn chunk(&self, events: u32, bytes: usize) {
        self.events.increment(u64::from(events));
        self.bytes.increment(bytes as u64);
    }

    pub(crate) fn keep_alive(&self, bytes: usize) {
        self.keep_alives.increment(1);
        self.bytes.increment(bytes as u64);
    }

    pub(crate) fn latency(&self, latency: Duration) {
        self.latency.record(latency.as_secs_f64());
    }
}
