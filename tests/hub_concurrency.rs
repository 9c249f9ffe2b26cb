//! Several publishers, subscribers joining, leaving, lagging and reconnecting with
//! `Last-Event-ID` mid-stream, on a multi-threaded runtime, many times over.
//!
//! The property checked for every subscriber, across all its connections: the events
//! it receives are exactly the published sequence from its start, in order, each once,
//! and every gap is one the hub announced with its exact size (a `history-lost` or
//! `lagged` event whose `missed` count is the gap). With a history big enough to hold
//! everything, there must be no gap at all.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use ssewire::hub::{Config, IdPolicy, LagPolicy, LostReason, Resume, Stats, Topic};
use ssewire::{EncodedEvent, Event, EventId};

#[path = "common/spec_parser.rs"]
#[allow(dead_code)]
mod spec_parser;

const PUBLISHERS: usize = 4;
const PER_PUBLISHER: usize = 400;
const SUBSCRIBERS: usize = 10;
const ITERATIONS: u64 = 12;

/// A small xorshift generator: the tests need variety, not quality.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

#[derive(Debug, Clone)]
enum Seen {
    /// A connection: where it starts, and what the hub said about it.
    Connect {
        next: u64,
        resume: Resume,
    },
    Event {
        id: String,
        data: String,
    },
    /// `history-lost` or `lagged`, with the id it carried and its `missed` count.
    Gap {
        kind: String,
        id: String,
        missed: Option<u64>,
    },
    /// The stream ended (lag under `Disconnect`).
    End,
}

fn seen(event: &EncodedEvent) -> Seen {
    let bytes = event.clone().into_bytes();
    let parsed = spec_parser::parse(&bytes);
    let mut events = parsed.events();
    assert_eq!(events.len(), 1, "{bytes:?}");
    let e = events.remove(0);
    let id = e.last_event_id;
    match e.event_type.as_str() {
        "message" => Seen::Event { id, data: e.data },
        kind => {
            let missed = e
                .data
                .split("\"missed\":")
                .nth(1)
                .map(|n| n.trim_end_matches('}').parse().unwrap());
            Seen::Gap {
                kind: kind.to_owned(),
                id,
                missed,
            }
        }
    }
}

struct Scenario {
    config: Config,
    /// Whether the history holds everything, so that no gap is allowed.
    lossless: bool,
}

async fn run(scenario: &Scenario, seed: u64) -> Stats {
    let config = scenario.config;
    let keep_ids = config.id_policy() == IdPolicy::Keep;
    let topic = Topic::new(config);
    // Set once every publisher is done, to the position after the final "end" event.
    let final_head = Arc::new(AtomicU64::new(u64::MAX));

    let mut subscriber_tasks = Vec::new();
    for s in 0..SUBSCRIBERS {
        let topic = topic.clone();
        let final_head = Arc::clone(&final_head);
        let mut rng = Rng::new(seed * 1000 + s as u64);
        subscriber_tasks.push(tokio::spawn(async move {
            // Some subscribers join late; one in five leaves for good at some point.
            if rng.below(2) == 0 {
                tokio::time::sleep(Duration::from_micros(rng.below(3000))).await;
            }
            let leaves_after = (rng.below(5) == 0).then(|| rng.below(800) as usize);
            let mut log = Vec::new();
            let mut last_id: Option<String> = None;
            let mut received = 0usize;
            'connections: loop {
                let backlog = match rng.below(3) {
                    0 => 0,
                    1 => 5,
                    _ => usize::MAX,
                };
                let last_event_id = last_id.as_deref().map(|id| EventId::new(id).unwrap());
                let mut subscriber = topic.subscribe_with_backlog(last_event_id.as_ref(), backlog);
                log.push(Seen::Connect {
                    next: subscriber.next_position(),
                    resume: subscriber.resume(),
                });
                let mut budget = 1 + rng.below(150);
                loop {
                    if subscriber.next_position() == final_head.load(Ordering::SeqCst) {
                        break 'connections;
                    }
                    if leaves_after.is_some_and(|n| received >= n) {
                        break 'connections;
                    }
                    if budget == 0 {
                        // Reconnect, like a browser after a network blip.
                        if rng.below(2) == 0 {
                            tokio::task::yield_now().await;
                        }
                        continue 'connections;
                    }
                    budget -= 1;
                    match subscriber.next().await {
                        None => {
                            log.push(Seen::End);
                            continue 'connections;
                        }
                        Some(event) => {
                            let item = seen(&event);
                            match &item {
                                Seen::Event { id, .. } | Seen::Gap { id, .. } if !id.is_empty() => {
                                    last_id = Some(id.clone())
                                }
                                _ => {}
                            }
                            received += 1;
                            log.push(item);
                        }
                    }
                    match rng.below(40) {
                        0 => tokio::time::sleep(Duration::from_micros(500)).await,
                        1..=8 => tokio::task::yield_now().await,
                        _ => {}
                    }
                }
            }
            (log, leaves_after.is_some())
        }));
    }

    let mut publisher_tasks = Vec::new();
    for p in 0..PUBLISHERS {
        let topic = topic.clone();
        let mut rng = Rng::new(seed * 7777 + p as u64);
        publisher_tasks.push(tokio::spawn(async move {
            let mut published = Vec::with_capacity(PER_PUBLISHER);
            for k in 0..PER_PUBLISHER {
                let data = format!("p{p}-{k}");
                let mut event = Event::new();
                if keep_ids {
                    event = event.try_id(data.clone()).unwrap();
                }
                let position = topic.publish(event.data(&data));
                published.push((position, data));
                if rng.below(4) == 0 {
                    tokio::task::yield_now().await;
                }
            }
            published
        }));
    }

    // Every position published exactly once, consecutive.
    let mut by_position = HashMap::new();
    for task in publisher_tasks {
        for (position, data) in task.await.unwrap() {
            assert!(
                by_position.insert(position, data).is_none(),
                "position {position} twice"
            );
        }
    }
    let first = *by_position.keys().min().unwrap();
    let head = first + (PUBLISHERS * PER_PUBLISHER) as u64;
    assert!((first..head).all(|p| by_position.contains_key(&p)));
    final_head.store(head + 1, Ordering::SeqCst);
    let end = topic.publish(Event::new().try_id("end").unwrap().data("end"));
    assert_eq!(end, head);
    by_position.insert(end, "end".to_owned());
    let position_of: HashMap<&str, u64> =
        by_position.iter().map(|(p, d)| (d.as_str(), *p)).collect();

    let mut connections = 0;
    let mut gaps = 0;
    for (s, task) in subscriber_tasks.into_iter().enumerate() {
        let (log, left) = tokio::time::timeout(Duration::from_secs(60), task)
            .await
            .unwrap_or_else(|_| panic!("seed {seed}: subscriber {s} hung"))
            .unwrap();
        let context = |i: usize| format!("seed {seed}, subscriber {s}, item {i}: {:?}", &log[..=i]);
        let mut expected: Option<u64> = None;
        let mut lost_on_connect = None;
        for (i, item) in log.iter().enumerate() {
            match item {
                Seen::Connect { next, resume } => {
                    connections += 1;
                    match (expected, resume) {
                        (None, Resume::New { .. }) => expected = Some(*next),
                        (Some(want), Resume::Exact { .. }) => {
                            assert_eq!(*next, want, "{}", context(i))
                        }
                        (
                            Some(want),
                            Resume::HistoryLost {
                                reason: LostReason::Expired { missed },
                            },
                        ) => {
                            assert!(!scenario.lossless, "{}", context(i));
                            assert_eq!(*next, want + missed, "{}", context(i));
                            lost_on_connect = Some(*missed);
                            expected = Some(*next);
                        }
                        // Reconnecting before any event with an id: a new client again.
                        (Some(_), Resume::New { .. }) => expected = Some(*next),
                        other => panic!("unexpected {other:?}: {}", context(i)),
                    }
                }
                Seen::Event { id, data } => {
                    let want = expected.expect("events only after a connect");
                    let position = position_of[data.as_str()];
                    assert_eq!(position, want, "gap or duplicate: {}", context(i));
                    if keep_ids {
                        assert_eq!(id, data, "{}", context(i));
                    } else {
                        assert_eq!(id, &position.to_string(), "{}", context(i));
                    }
                    expected = Some(want + 1);
                }
                Seen::Gap { kind, missed, .. } => {
                    gaps += 1;
                    assert!(!scenario.lossless, "{}", context(i));
                    match kind.as_str() {
                        "lagged" => {
                            let missed = missed.expect("a count");
                            expected = expected.map(|e| e + missed);
                        }
                        // The first event of a connection whose history was lost:
                        // the gap was already accounted for at the connect.
                        "history-lost" => {
                            assert!(matches!(log[i - 1], Seen::Connect { .. }), "{}", context(i));
                            assert_eq!(*missed, lost_on_connect.take(), "{}", context(i));
                        }
                        other => panic!("unexpected event type {other}: {}", context(i)),
                    }
                }
                Seen::End => {}
            }
        }
        if !left {
            assert_eq!(
                expected,
                Some(head + 1),
                "seed {seed}, subscriber {s} did not finish"
            );
        }
    }
    assert!(connections >= SUBSCRIBERS);
    let stats = topic.stats();
    assert_eq!(stats.subscribers, 0, "every subscriber was dropped");
    assert_eq!(stats.subscribed, connections as u64);
    if scenario.lossless {
        assert_eq!(gaps, 0);
        assert_eq!(stats.history_lost, 0);
        assert_eq!(stats.lagged, 0);
    }
    stats
}

/// Runs the scenario `ITERATIONS` times and returns the counters added up, so each
/// test can check that the paths it is about were really taken.
fn run_many(scenario: Scenario) -> Stats {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .unwrap();
    let mut total = Stats::default();
    for seed in 1..=ITERATIONS {
        let stats = runtime.block_on(run(&scenario, seed));
        total.subscribed += stats.subscribed;
        total.resumed += stats.resumed;
        total.history_lost += stats.history_lost;
        total.lagged += stats.lagged;
        total.disconnected_for_lag += stats.disconnected_for_lag;
        total.events_sent += stats.events_sent;
    }
    eprintln!("{total:?}");
    total
}

#[test]
fn lossless_with_reconnects_and_disconnects_for_lag() {
    let total = run_many(Scenario {
        config: Config::new()
            .with_history(PUBLISHERS * PER_PUBLISHER + 1)
            .with_max_lag(16),
        lossless: true,
    });
    assert!(total.resumed > 100, "{total:?}");
    assert!(total.disconnected_for_lag > 0, "{total:?}");
}

#[test]
fn lossless_with_publisher_ids() {
    let total = run_many(Scenario {
        config: Config::new()
            .with_id_policy(IdPolicy::Keep)
            .with_history(PUBLISHERS * PER_PUBLISHER + 1)
            .with_max_lag(16),
        lossless: true,
    });
    assert!(total.resumed > 100, "{total:?}");
}

#[test]
fn small_history_every_gap_is_announced_disconnect() {
    let total = run_many(Scenario {
        config: Config::new().with_history(24).with_max_lag(12),
        lossless: false,
    });
    assert!(
        total.history_lost > 0 && total.disconnected_for_lag > 0,
        "{total:?}"
    );
    // Fewer in release builds, where publishers outrun subscribers more often.
    assert!(total.resumed > 10, "{total:?}");
}

#[test]
fn small_history_every_gap_is_announced_skip_ahead() {
    let total = run_many(Scenario {
        config: Config::new()
            .with_history(24)
            .with_max_lag(8)
            .with_lag_policy(LagPolicy::SkipAhead),
        lossless: false,
    });
    assert!(total.lagged > 0 && total.history_lost > 0, "{total:?}");
}
