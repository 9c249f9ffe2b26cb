//! Feature `metrics`: a test recorder (written here) sees every `ssewire_*` name,
//! described, labelled `group` (and the hub's `topic` only when asked for), with the
//! values of `StreamGroup::stats`.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use futures_util::StreamExt;
use metrics::{
    Counter, Gauge, Histogram, HistogramFn, Key, KeyName, Metadata, Recorder, SharedString, Unit,
};
use ssewire::hub::{Config, Hub, LagPolicy};
use ssewire::{CloseReason, Event, SseBody, StreamGroup};

/// `name{k=v,...}` with the labels sorted.
fn series(key: &Key) -> String {
    let mut labels: Vec<String> = key
        .labels()
        .map(|l| format!("{}={}", l.key(), l.value()))
        .collect();
    labels.sort();
    format!("{}{{{}}}", key.name(), labels.join(","))
}

#[derive(Default)]
struct Samples(Mutex<Vec<f64>>);

impl HistogramFn for Samples {
    fn record(&self, value: f64) {
        self.0.lock().unwrap().push(value);
    }
}

#[derive(Default)]
struct TestRecorder {
    descriptions: Mutex<HashMap<String, (Option<Unit>, String)>>,
    counters: Mutex<HashMap<String, Arc<AtomicU64>>>,
    gauges: Mutex<HashMap<String, Arc<AtomicU64>>>,
    histograms: Mutex<HashMap<String, Arc<Samples>>>,
}

impl TestRecorder {
    fn describe(&self, key: KeyName, unit: Option<Unit>, description: SharedString) {
        let mut all = self.descriptions.lock().unwrap();
        all.insert(key.as_str().to_owned(), (unit, description.to_string()));
    }
    fn counter(&self, series: &str) -> u64 {
        let all = self.counters.lock().unwrap();
        all.get(series).map_or(0, |c| c.load(Ordering::SeqCst))
    }
    fn gauge(&self, series: &str) -> f64 {
        let all = self.gauges.lock().unwrap();
        all.get(series)
            .map_or(0.0, |g| f64::from_bits(g.load(Ordering::SeqCst)))
    }
    fn samples(&self, series: &str) -> usize {
        let all = self.histograms.lock().unwrap();
        all.get(series).map_or(0, |h| h.0.lock().unwrap().len())
    }
    fn described(&self, name: &str) -> bool {
        self.descriptions.lock().unwrap().contains_key(name)
    }
    fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.counters.lock().unwrap().keys().cloned().collect();
        names.extend(self.gauges.lock().unwrap().keys().cloned());
        names.extend(self.histograms.lock().unwrap().keys().cloned());
        names.sort();
        names
    }
}

/// The process's recorder (installed once; every test here shares it, so each uses
/// its own group label and topic names).
fn recorder() -> &'static TestRecorder {
    static RECORDER: OnceLock<&'static TestRecorder> = OnceLock::new();
    RECORDER.get_or_init(|| {
        let recorder: &'static TestRecorder = Box::leak(Box::default());
        metrics::set_global_recorder(Shared(recorder)).expect("the only recorder");
        recorder
    })
}

struct Shared(&'static TestRecorder);

impl Recorder for Shared {
    fn describe_counter(&self, key: KeyName, unit: Option<Unit>, description: SharedString) {
        self.0.describe(key, unit, description);
    }
    fn describe_gauge(&self, key: KeyName, unit: Option<Unit>, description: SharedString) {
        self.0.describe(key, unit, description);
    }
    fn describe_histogram(&self, key: KeyName, unit: Option<Unit>, description: SharedString) {
        self.0.describe(key, unit, description);
    }
    fn register_counter(&self, key: &Key, _: &Metadata<'_>) -> Counter {
        let mut all = self.0.counters.lock().unwrap();
        Counter::from_arc(all.entry(series(key)).or_default().clone())
    }
    fn register_gauge(&self, key: &Key, _: &Metadata<'_>) -> Gauge {
        let mut all = self.0.gauges.lock().unwrap();
        Gauge::from_arc(all.entry(series(key)).or_default().clone())
    }
    fn register_histogram(&self, key: &Key, _: &Metadata<'_>) -> Histogram {
        let mut all = self.0.histograms.lock().unwrap();
        Histogram::from_arc(all.entry(series(key)).or_default().clone())
    }
}

#[tokio::test]
async fn stream_metrics_follow_the_group() {
    let recorder = recorder();
    let group = StreamGroup::new("metrics-a");
    let events = futures_util::stream::iter(["a", "b", "c"].map(Event::with_data));
    let mut body = SseBody::new(events).with_group(&group);
    assert_eq!(recorder.gauge("ssewire_streams_open{group=metrics-a}"), 0.0);
    let chunk = body.next().await.unwrap().unwrap();
    assert_eq!(recorder.gauge("ssewire_streams_open{group=metrics-a}"), 1.0);
    assert!(body.next().await.is_none());
    drop(body);

    let left_early = SseBody::new(futures_util::stream::pending::<Event>())
        .with_open_event(Event::new().comment("hi"))
        .with_group(&group);
    let mut left_early = Box::pin(left_early);
    left_early.next().await;
    drop(left_early);

    let never_polled = SseBody::new(futures_util::stream::pending::<Event>()).with_group(&group);
    drop(never_polled);

    let stats = group.stats();
    let g = "group=metrics-a";
    assert_eq!(recorder.gauge(&format!("ssewire_streams_open{{{g}}}")), 0.0);
    assert_eq!(
        recorder.counter(&format!("ssewire_streams_opened_total{{{g}}}")),
        2
    );
    for reason in CloseReason::ALL {
        let series = format!("ssewire_streams_closed_total{{{g},reason={reason}}}");
        assert_eq!(
            recorder.counter(&series),
            stats.closed_by(reason),
            "{series}"
        );
    }
    assert_eq!(stats.closed_by(CloseReason::Ended), 1);
    assert_eq!(stats.closed_by(CloseReason::ClientGone), 1);
    assert_eq!(
        recorder.counter(&format!("ssewire_events_sent_total{{{g}}}")),
        4
    );
    assert_eq!(stats.events, 4);
    let bytes = recorder.counter(&format!("ssewire_bytes_sent_total{{{g}}}"));
    assert_eq!(bytes, stats.bytes);
    assert_eq!(bytes, chunk.len() as u64 + b": hi\n".len() as u64);
    let samples = recorder.samples(&format!("ssewire_delivery_latency_seconds{{{g}}}"));
    assert_eq!(samples as u64, stats.latency.samples());
    assert_eq!(samples, 2, "the first chunk of each body is timed");
    assert_eq!(
        recorder.counter(&format!("ssewire_keep_alives_sent_total{{{g}}}")),
        0
    );

    for name in [
        "ssewire_streams_open",
        "ssewire_streams_opened_total",
        "ssewire_streams_closed_total",
        "ssewire_events_sent_total",
        "ssewire_bytes_sent_total",
        "ssewire_keep_alives_sent_total",
        "ssewire_delivery_latency_seconds",
    ] {
        assert!(recorder.described(name), "{name} not described");
    }
    let described = recorder.descriptions.lock().unwrap();
    assert_eq!(described["ssewire_bytes_sent_total"].0, Some(Unit::Bytes));
    assert_eq!(
        described["ssewire_delivery_latency_seconds"].0,
        Some(Unit::Seconds)
    );
}

#[tokio::test]
async fn hub_metrics_carry_the_topic_only_on_request() {
    let recorder = recorder();
    let plain = Hub::new(Config::new().with_first_id(1));
    let labelled = Hub::new(
        Config::new()
            .with_first_id(1)
            .with_topic_label(true)
            .with_max_lag(1)
            .with_lag_policy(LagPolicy::SkipAhead),
    );
    let before = recorder.counter("ssewire_hub_events_published_total{}");
    let topic = plain.topic("prices");
    topic.publish(Event::with_data("1"));
    assert_eq!(
        recorder.counter("ssewire_hub_events_published_total{}"),
        before + 1
    );
    assert!(
        !recorder.names().iter().any(|n| n.contains("topic=prices")),
        "a topic label without asking: {:?}",
        recorder.names()
    );

    let room = labelled.topic("room-1");
    let mut subscriber = room.subscribe(None);
    let resumed = room.subscribe(Some(&ssewire::EventId::from_static("from-elsewhere")));
    assert_eq!(recorder.gauge("ssewire_hub_subscribers{topic=room-1}"), 2.0);
    for n in 0..5 {
        room.publish(Event::with_data(n.to_string()));
    }
    let lagged = subscriber.next().await.unwrap();
    assert!(
        lagged.as_ref().starts_with(b"event: lagged\n"),
        "{lagged:?}"
    );
    drop((subscriber, resumed));
    assert_eq!(recorder.gauge("ssewire_hub_subscribers{topic=room-1}"), 0.0);
    assert_eq!(
        recorder.counter("ssewire_hub_events_published_total{topic=room-1}"),
        5
    );
    assert_eq!(
        recorder.counter("ssewire_hub_resumes_total{outcome=new,topic=room-1}"),
        1
    );
    assert_eq!(
        recorder.counter("ssewire_hub_resumes_total{outcome=history_lost,topic=room-1}"),
        1
    );
    assert_eq!(
        recorder.counter("ssewire_hub_lag_actions_total{action=skip_ahead,topic=room-1}"),
        1
    );
    for name in [
        "ssewire_hub_events_published_total",
        "ssewire_hub_subscribers",
        "ssewire_hub_resumes_total",
        "ssewire_hub_lag_actions_total",
    ] {
        assert!(recorder.described(name), "{name} not described");
    }
}
