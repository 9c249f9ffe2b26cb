//! The hub's contract, one rule at a time: encode once, ids, replay, history lost,
//! history bounds, lag policies, closing, clean-up on drop, counters.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

use futures_core::Stream;
use futures_util::{FutureExt, StreamExt};
use ssewire::hub::{Config, Hub, IdPolicy, LagPolicy, LostReason, Resume, Subscriber, Topic};
use ssewire::{EncodedEvent, Event, EventId, EventType};

#[path = "common/spec_parser.rs"]
#[allow(dead_code)]
mod spec_parser;

/// One received event, as a browser would see it, plus the raw bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Got {
    event_type: String,
    id: String,
    data: String,
}

fn parse(event: &EncodedEvent) -> Got {
    let bytes = event.clone().into_bytes();
    let parsed = spec_parser::parse(&bytes);
    let mut events = parsed.events();
    assert_eq!(events.len(), 1, "one event per item: {bytes:?}");
    let e = events.remove(0);
    let id = parsed.blocks[0]
        .lines
        .iter()
        .find(|l| l.name() == "id")
        .map(|l| match l {
            spec_parser::Line::Field(_, v) => v.clone(),
            spec_parser::Line::Comment(_) => unreachable!(),
        })
        .unwrap_or_default();
    Got {
        event_type: e.event_type,
        id,
        data: e.data,
    }
}

/// Everything the subscriber has ready now; `true` if it ended.
fn drain(subscriber: &mut Subscriber) -> (Vec<Got>, bool) {
    let mut got = Vec::new();
    loop {
        match subscriber.next().now_or_never() {
            Some(Some(event)) => got.push(parse(&event)),
            Some(None) => return (got, true),
            None => return (got, false),
        }
    }
}

fn ids(got: &[Got]) -> Vec<String> {
    got.iter().map(|g| g.id.clone()).collect()
}

fn data(got: &[Got]) -> Vec<&str> {
    got.iter().map(|g| g.data.as_str()).collect()
}

/// A `Last-Event-ID` as a client sends it.
fn last(id: &str) -> EventId {
    EventId::new(id).unwrap()
}

fn config() -> Config {
    Config::new().with_first_id(1)
}

fn publish_n(topic: &Topic, range: std::ops::Range<u32>) {
    for n in range {
        topic.publish(Event::with_data(format!("e{n}")));
    }
}

#[test]
fn every_subscriber_gets_the_same_bytes() {
    let topic = Topic::new(config());
    let mut subscribers: Vec<_> = (0..3).map(|_| topic.subscribe(None)).collect();
    topic.publish(
        Event::new()
            .event(EventType::from_static("note"))
            .data("shared"),
    );

    let mut pointers = Vec::new();
    for subscriber in &mut subscribers {
        let event = subscriber.next().now_or_never().unwrap().unwrap();
        let bytes = event.into_bytes();
        assert_eq!(&bytes[..], b"event: note\nid: 1\ndata: shared\n\n");
        pointers.push(bytes.as_ptr());
    }
    assert!(
        pointers.windows(2).all(|w| w[0] == w[1]),
        "every subscriber must see the one encoded buffer: {pointers:?}"
    );

    // Through the body adapter too: an event alone in its chunk is passed through.
    let mut body = topic.subscribe(Some(&last("0"))).into_body();
    let chunk = body.next().now_or_never().unwrap().unwrap().unwrap();
    assert_eq!(
        chunk.as_ptr(),
        pointers[0],
        "the body copied the shared bytes"
    );
}

#[test]
fn assigned_ids_are_consecutive_and_replace_the_publishers() {
    let topic = Topic::new(Config::new().with_first_id(41));
    let mut subscriber = topic.subscribe(None);
    assert_eq!(topic.publish(Event::with_data("a")), 41);
    assert_eq!(topic.publish(Event::new().id(7u8).data("b")), 42);
    assert_eq!(
        topic.publish(Event::new().id(EventId::empty()).data("c")),
        43
    );
    let (got, ended) = drain(&mut subscriber);
    assert!(!ended);
    assert_eq!(ids(&got), ["41", "42", "43"]);
    assert_eq!(data(&got), ["a", "b", "c"]);
}

#[test]
fn ids_start_from_the_clock_by_default() {
    let before = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_micros() as u64;
    let topic = Topic::new(Config::new());
    let first = topic.publish(Event::with_data("x"));
    assert!(first >= before, "{first} < {before}");
    // A restarted server's topic starts above every id the old one issued ...
    std::thread::sleep(Duration::from_millis(2));
    let restarted = Topic::new(Config::new());
    restarted.publish(Event::with_data("y"));
    // ... so the old id is recognised as not resumable, never resumed wrongly.
    let resume = restarted
        .subscribe(Some(&last(&first.to_string())))
        .resume();
    assert_eq!(
        resume,
        Resume::HistoryLost {
            reason: LostReason::Unknown
        }
    );
}

#[test]
fn exact_resume_replays_then_goes_live() {
    let topic = Topic::new(config());
    publish_n(&topic, 0..5); // ids 1..=5
    let mut subscriber = topic.subscribe(Some(&last("2")));
    assert_eq!(subscriber.resume(), Resume::Exact { replayed: 3 });
    topic.publish(Event::with_data("e5")); // id 6, published after subscribing
    let (got, _) = drain(&mut subscriber);
    assert_eq!(ids(&got), ["3", "4", "5", "6"]);
    assert_eq!(data(&got), ["e2", "e3", "e4", "e5"]);

    // Resuming from the newest id replays nothing, and is still exact.
    let mut caught_up = topic.subscribe(Some(&last("6")));
    assert_eq!(caught_up.resume(), Resume::Exact { replayed: 0 });
    assert!(drain(&mut caught_up).0.is_empty());
    topic.publish(Event::with_data("e6"));
    assert_eq!(ids(&drain(&mut caught_up).0), ["7"]);
}

#[test]
fn an_empty_topic_resumes_from_the_id_before_its_first() {
    // What a history-lost event on an empty topic tells the client to send back.
    let topic = Topic::new(Config::new().with_first_id(10));
    assert_eq!(
        topic.subscribe(Some(&last("9"))).resume(),
        Resume::Exact { replayed: 0 }
    );
    assert!(topic.subscribe(Some(&last("8"))).resume().is_history_lost());
    assert!(topic
        .subscribe(Some(&last("10")))
        .resume()
        .is_history_lost()); // ahead
}

#[test]
fn expired_history_is_signalled_with_the_exact_gap() {
    let topic = Topic::new(config().with_history(3));
    publish_n(&topic, 0..10); // ids 1..=10; history keeps 8, 9, 10

    // Saw 4: 5, 6, 7 are gone. Live start: 8, 9, 10 are skipped too.
    let mut live = topic.subscribe(Some(&last("4")));
    assert_eq!(
        live.resume(),
        Resume::HistoryLost {
            reason: LostReason::Expired { missed: 6 }
        }
    );
    let (got, _) = drain(&mut live);
    assert_eq!(
        got,
        [Got {
            event_type: "history-lost".into(),
            id: "10".into(),
            data: r#"{"reason":"expired","missed":6}"#.into(),
        }]
    );

    // With an unlimited backlog only the truly lost ones are missed.
    let mut backlog = topic.subscribe_with_backlog(Some(&last("4")), usize::MAX);
    let (got, _) = drain(&mut backlog);
    assert_eq!(got[0].data, r#"{"reason":"expired","missed":3}"#);
    assert_eq!(
        got[0].id, "7",
        "resuming from the lost event's id continues at 8"
    );
    assert_eq!(ids(&got[1..]), ["8", "9", "10"]);

    // The id the history-lost event carried resumes exactly.
    assert!(topic.subscribe(Some(&last("7"))).resume().is_exact());
    assert_eq!(topic.stats().history_lost, 2);
}

/// Issue 11, item 6: with `IdPolicy::Assign`, only the exact text the topic wrote
/// resumes; `+160` and `0160` used to resume as 160.
#[test]
fn assigned_ids_resume_only_as_written() {
    let topic = Topic::new(Config::new().with_first_id(159));
    publish_n(&topic, 0..3); // 159, 160, 161
    assert_eq!(
        topic.subscribe(Some(&last("160"))).resume(),
        Resume::Exact { replayed: 1 }
    );
    assert_eq!(
        topic.subscribe(Some(&EventId::from_u64(160))).resume(),
        Resume::Exact { replayed: 1 }
    );
    for id in ["+160", "0160", "00160", "160.0", "1_60", "１６０"] {
        let mut subscriber = topic.subscribe(Some(&last(id)));
        assert_eq!(
            subscriber.resume(),
            Resume::HistoryLost {
                reason: LostReason::Unknown
            },
            "id {id:?}"
        );
        let (got, _) = drain(&mut subscriber);
        // Only the history-lost event, with the id to resume from next time.
        assert_eq!(ids(&got), ["161"], "id {id:?}");
        assert_eq!(got[0].event_type, "history-lost");
    }
}

#[test]
fn unknown_ids_are_signalled() {
    let topic = Topic::new(Config::new().with_first_id(100));
    publish_n(&topic, 0..3); // 100, 101, 102
    for id in [
        "abc",
        "-1",
        "98",
        "103",
        "1000",
        "18446744073709551615",
        " 101",
        "101\u{301}",
    ] {
        let mut subscriber = topic.subscribe(Some(&last(id)));
        assert_eq!(
            subscriber.resume(),
            Resume::HistoryLost {
                reason: LostReason::Unknown
            },
            "id {id:?}"
        );
        let (got, _) = drain(&mut subscriber);
        assert_eq!(got.len(), 1, "id {id:?}");
        assert_eq!(got[0].event_type, "history-lost");
        assert_eq!(got[0].data, r#"{"reason":"unknown"}"#);
        assert_eq!(got[0].id, "102");
    }
    // No id, and an empty id, are a new client.
    assert_eq!(topic.subscribe(None).resume(), Resume::New { backlog: 0 });
    assert_eq!(
        topic.subscribe(Some(&last(""))).resume(),
        Resume::New { backlog: 0 }
    );
}

#[test]
fn backlog_for_new_clients() {
    let topic = Topic::new(config().with_history(4));
    publish_n(&topic, 0..6); // history: 3, 4, 5, 6
    let mut two = topic.subscribe_with_backlog(None, 2);
    assert_eq!(two.resume(), Resume::New { backlog: 2 });
    assert_eq!(ids(&drain(&mut two).0), ["5", "6"]);
    let mut all = topic.subscribe_with_backlog(None, 100);
    assert_eq!(all.resume(), Resume::New { backlog: 4 });
    assert_eq!(ids(&drain(&mut all).0), ["3", "4", "5", "6"]);
}

#[test]
fn keep_policy_resumes_from_the_publishers_ids() {
    let topic = Topic::new(Config::new().with_id_policy(IdPolicy::Keep).with_history(4));
    topic.publish(Event::new().try_id("a").unwrap().data("1"));
    topic.publish(Event::new().data("no id")); // cannot be resumed from
    topic.publish(Event::new().try_id("b").unwrap().data("2"));
    topic.publish(Event::new().try_id("é-☃").unwrap().data("3"));

    let mut after_a = topic.subscribe(Some(&last("a")));
    assert_eq!(after_a.resume(), Resume::Exact { replayed: 3 });
    let (got, _) = drain(&mut after_a);
    assert_eq!(data(&got), ["no id", "2", "3"]);
    assert_eq!(ids(&got), ["", "b", "é-☃"]);

    let mut after_unicode = topic.subscribe(Some(&last("é-☃")));
    assert_eq!(after_unicode.resume(), Resume::Exact { replayed: 0 });
    topic.publish(Event::new().try_id("c").unwrap().data("4")); // pushes "a" out
    assert_eq!(data(&drain(&mut after_unicode).0), ["4"]);

    let lost = topic.subscribe(Some(&last("a")));
    assert_eq!(
        lost.resume(),
        Resume::HistoryLost {
            reason: LostReason::Unknown
        }
    );

    // A repeated id resumes after its newest use.
    topic.publish(Event::new().try_id("b").unwrap().data("5"));
    topic.publish(Event::new().try_id("d").unwrap().data("6"));
    assert_eq!(
        data(&drain(&mut topic.subscribe(Some(&last("b")))).0),
        ["6"]
    );
    // The history-lost event names the newest id, so a reconnect resumes from there.
    let (got, _) = drain(&mut topic.subscribe(Some(&last("zzz"))));
    assert_eq!(got[0].event_type, "history-lost");
    assert_eq!(got[0].id, "d");
}

#[test]
fn history_is_bounded_by_count_bytes_and_age() {
    let by_count = Topic::new(config().with_history(3));
    publish_n(&by_count, 0..10);
    let stats = by_count.stats();
    assert_eq!(stats.history_events, 3);
    assert_eq!(
        ids(&drain(&mut by_count.subscribe_with_backlog(None, 99)).0),
        ["8", "9", "10"]
    );

    let event_len = Event::new().id(10u32).data("x").encode().len(); // "id: 10\ndata: x\n\n"
    let by_bytes = Topic::new(
        Config::new()
            .with_first_id(10)
            .with_history_bytes(3 * event_len),
    );
    for _ in 0..20 {
        by_bytes.publish(Event::with_data("x"));
    }
    assert!(by_bytes.stats().history_bytes <= 3 * event_len as u64);
    assert_eq!(by_bytes.stats().history_events, 3);

    // The newest event is kept even when it alone is over the byte bound.
    let tiny = Topic::new(config().with_history_bytes(1));
    tiny.publish(Event::with_data("big enough"));
    assert_eq!(tiny.stats().history_events, 1);
    let mut late = tiny.subscribe(Some(&last("0")));
    assert_eq!(data(&drain(&mut late).0), ["big enough"]);

    let by_age = Topic::new(config().with_history_age(Duration::from_millis(200)));
    publish_n(&by_age, 0..3);
    std::thread::sleep(Duration::from_millis(400));
    // Subscribing drops what is too old before looking the id up.
    let resume = by_age.subscribe(Some(&last("1"))).resume();
    assert_eq!(
        resume,
        Resume::HistoryLost {
            reason: LostReason::Expired { missed: 2 }
        }
    );
    assert_eq!(by_age.stats().history_events, 0);
    by_age.publish(Event::with_data("fresh"));
    assert_eq!(by_age.stats().history_events, 1);
}

#[test]
fn lag_disconnects_and_the_client_resumes_from_history() {
    let topic = Topic::new(config().with_history(100).with_max_lag(10));
    let mut slow = topic.subscribe(None);
    publish_n(&topic, 0..5);
    assert_eq!(drain(&mut slow).0.len(), 5); // within its lag: fine
    publish_n(&topic, 5..16); // 11 behind: more than max_lag
    let (got, ended) = drain(&mut slow);
    assert!(
        got.is_empty() && ended,
        "a lagging subscriber ends: {got:?}"
    );
    assert_eq!(topic.stats().disconnected_for_lag, 1);
    // The browser reconnects with the last id it got (5) and loses nothing.
    let mut back = topic.subscribe(Some(&last("5")));
    assert!(back.resume().is_exact());
    assert_eq!(ids(&drain(&mut back).0).len(), 11);
}

#[test]
fn lag_skips_ahead_with_a_lagged_event() {
    let topic = Topic::new(
        config()
            .with_history(100)
            .with_max_lag(10)
            .with_lag_policy(LagPolicy::SkipAhead),
    );
    let mut slow = topic.subscribe(None);
    publish_n(&topic, 0..3);
    assert_eq!(ids(&drain(&mut slow).0), ["1", "2", "3"]);
    publish_n(&topic, 3..20); // 4..=20: 17 behind
    let (got, ended) = drain(&mut slow);
    assert!(!ended);
    assert_eq!(
        got,
        [Got {
            event_type: "lagged".into(),
            id: "20".into(),
            data: r#"{"missed":17}"#.into(),
        }]
    );
    topic.publish(Event::with_data("live"));
    assert_eq!(data(&drain(&mut slow).0), ["live"]);
    let stats = topic.stats();
    assert_eq!((stats.lagged, stats.lagged_events), (1, 17));
}

#[test]
fn a_subscriber_whose_next_event_left_the_history_lags() {
    let topic = Topic::new(
        config()
            .with_history(4)
            .with_max_lag(1000)
            .with_lag_policy(LagPolicy::SkipAhead),
    );
    let mut slow = topic.subscribe(None);
    publish_n(&topic, 0..6); // 1, 2 left the history
    let (got, _) = drain(&mut slow);
    assert_eq!(got[0].event_type, "lagged");
    assert_eq!(got[0].data, r#"{"missed":6}"#);
}

#[test]
fn a_stalled_subscriber_keeps_at_most_64_kib_of_events_the_history_let_go_of() {
    // Found by review: a subscriber takes up to 16 events per lock, and a stalled one
    // kept them alive after the history evicted them (16 events of 256 KiB: 3.9 MB
    // delivered from beyond the history). The batch is now bounded by bytes too.
    for size in [256 * 1024, 8 * 1024, 100] {
        let topic = Topic::new(
            config()
                .with_history(16)
                .with_max_lag(1_000_000)
                .with_lag_policy(LagPolicy::SkipAhead),
        );
        let mut slow = topic.subscribe(None);
        for _ in 0..16 {
            topic.publish(Event::with_data("x".repeat(size)));
        }
        let first = slow
            .next()
            .now_or_never()
            .flatten()
            .expect("the first event");
        assert!(first.len() > size);
        // 100 more events push all 16 out of the history.
        publish_n(&topic, 0..100);
        let (got, _) = drain(&mut slow);
        let kept: usize = got
            .iter()
            .take_while(|g| g.event_type != "lagged")
            .map(|g| g.data.len())
            .sum();
        assert!(
            kept <= 64 * 1024,
            "size {size}: {kept} bytes from beyond the history"
        );
        assert!(got.iter().any(|g| g.event_type == "lagged"), "size {size}");
        if size == 100 {
            assert_eq!(
                kept,
                15 * 100,
                "small events are still batched 16 at a time"
            );
        }
    }
}

#[test]
fn a_long_replay_does_not_count_as_lag() {
    let topic = Topic::new(config().with_history(1000).with_max_lag(10));
    publish_n(&topic, 0..500);
    let mut replaying = topic.subscribe(Some(&last("1")));
    publish_n(&topic, 500..505); // 5 live events while it replays: fine
    let (got, ended) = drain(&mut replaying);
    assert!(!ended);
    assert_eq!(got.len(), 504);
    assert_eq!(topic.stats().disconnected_for_lag, 0);
}

#[test]
fn the_topic_closes_when_its_last_handle_is_dropped() {
    let topic = Topic::new(config());
    let other_handle = topic.clone();
    let mut subscriber = topic.subscribe(None);
    publish_n(&topic, 0..2);
    drop(topic);
    other_handle.publish(Event::with_data("still open"));
    let (got, ended) = drain(&mut subscriber);
    assert_eq!((got.len(), ended), (3, false));
    let mut late = other_handle.subscribe(Some(&last("1")));
    drop(other_handle);
    // Everything published before the close arrives, then the end.
    let (got, ended) = drain(&mut subscriber);
    assert!(got.is_empty() && ended);
    let (got, ended) = drain(&mut late);
    assert_eq!(data(&got), ["e1", "still open"]);
    assert!(ended);
    assert!(futures_util::stream::FusedStream::is_terminated(&late));
}

#[derive(Default)]
struct CountingWaker(AtomicUsize);

impl Wake for CountingWaker {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

fn poll_once(subscriber: &mut Subscriber, waker: &Arc<CountingWaker>) -> bool {
    let waker = Waker::from(Arc::clone(waker));
    let mut cx = Context::from_waker(&waker);
    matches!(
        std::pin::Pin::new(subscriber).poll_next(&mut cx),
        Poll::Pending
    )
}

#[test]
fn wakers_are_replaced_not_piled_up_and_every_waiter_is_woken_once() {
    let topic = Topic::new(config());
    let mut a = topic.subscribe(None);
    let mut b = topic.subscribe(None);
    let (old, new, other) = (
        Arc::new(CountingWaker::default()),
        Arc::new(CountingWaker::default()),
        Arc::new(CountingWaker::default()),
    );
    for _ in 0..3 {
        assert!(poll_once(&mut a, &old));
    }
    assert!(poll_once(&mut a, &new)); // the task moved: only the new waker counts
    assert!(poll_once(&mut b, &other));
    topic.publish(Event::with_data("x"));
    assert_eq!(old.0.load(Ordering::SeqCst), 0);
    assert_eq!(new.0.load(Ordering::SeqCst), 1);
    assert_eq!(other.0.load(Ordering::SeqCst), 1);
    // Nobody is waiting now: the next publish wakes nobody.
    topic.publish(Event::with_data("y"));
    assert_eq!(new.0.load(Ordering::SeqCst), 1);
    // A dropped subscriber's waker is gone at once.
    assert!(!poll_once(&mut b, &other)); // reads x
    assert!(!poll_once(&mut b, &other)); // reads y
    assert!(poll_once(&mut b, &other));
    drop(b);
    topic.publish(Event::with_data("z"));
    assert_eq!(other.0.load(Ordering::SeqCst), 1);
}

#[test]
fn dropping_a_subscriber_cleans_up_at_once() {
    let topic = Topic::new(config());
    let subscribers: Vec<_> = (0..100).map(|_| topic.subscribe(None)).collect();
    assert_eq!(topic.stats().subscribers, 100);
    drop(subscribers);
    assert_eq!(topic.stats().subscribers, 0);
    let stats = topic.stats();
    assert_eq!((stats.subscribed, stats.unsubscribed), (100, 100));
}

#[test]
fn counters() {
    let topic = Topic::new(
        config()
            .with_history(3)
            .with_max_lag(3)
            .with_lag_policy(LagPolicy::SkipAhead),
    );
    let mut fast = topic.subscribe(None);
    let mut slow = topic.subscribe(None);
    publish_n(&topic, 0..2);
    let (got, _) = drain(&mut fast);
    assert_eq!(got.len(), 2);
    publish_n(&topic, 2..5); // slow is now 5 behind
    let (got_fast, _) = drain(&mut fast);
    let (got_slow, _) = drain(&mut slow);
    assert_eq!(got_fast.len(), 3);
    assert_eq!(got_slow[0].event_type, "lagged");
    let lost = topic.subscribe(Some(&last("1")));
    let exact = topic.subscribe(Some(&last("4")));
    drop(fast);

    let per_event = Event::new().id(1u32).data("e0").encode().len() as u64; // every id is one digit
    let lagged_len = Event::new()
        .event(Subscriber::LAGGED)
        .id(5u32)
        .data(r#"{"missed":5}"#)
        .encode()
        .len() as u64;
    let stats = topic.stats();
    assert_eq!(stats.topics, 1);
    assert_eq!(stats.subscribers, 3);
    assert_eq!(stats.subscribed, 4);
    assert_eq!(stats.unsubscribed, 1);
    assert_eq!(stats.events_published, 5);
    assert_eq!(stats.bytes_published, 5 * per_event);
    assert_eq!(stats.events_sent, 6);
    assert_eq!(stats.bytes_sent, 5 * per_event + lagged_len);
    assert_eq!((stats.lagged, stats.lagged_events), (1, 5));
    assert_eq!(stats.disconnected_for_lag, 0);
    assert_eq!((stats.resumed, stats.history_lost), (1, 1));
    assert_eq!(
        (stats.history_events, stats.history_bytes),
        (3, 3 * per_event)
    );
    drop((lost, exact, slow));
    assert_eq!(topic.stats().subscribers, 0);
}

#[test]
fn the_hub_keeps_topics_by_name_and_adds_up_their_counters() {
    let hub = Hub::new(config());
    let mut a = hub.topic("a").subscribe(None);
    hub.publish("a", Event::with_data("1"));
    hub.publish("b", Event::with_data("2"));
    hub.publish("b", Event::with_data("3"));
    let mut names = hub.topic_names();
    names.sort();
    assert_eq!(names, ["a", "b"]);
    let stats = hub.stats();
    assert_eq!(
        (stats.topics, stats.events_published, stats.subscribers),
        (2, 3, 1)
    );
    // Topics have their own positions.
    assert_eq!(ids(&drain(&mut a).0), ["1"]);
    assert_eq!(hub.topic("b").publish(Event::with_data("4")), 3);

    // Removing a topic: its subscribers end once no handle is left.
    let removed = hub.remove("a").unwrap();
    assert!(hub.get("a").is_none());
    drop(removed);
    assert!(drain(&mut a).1);
    assert_eq!(hub.stats().topics, 1);
    // Naming it again makes a new, empty topic.
    assert_eq!(hub.topic("a").stats().events_published, 0);

    // Dropping the hub closes its topics.
    let mut b = hub.topic("b").subscribe(None);
    drop(hub);
    assert!(drain(&mut b).1);
}

#[test]
fn debug_output_is_informative() {
    let hub = Hub::new(config());
    let topic = hub.topic("t");
    let subscriber = topic.subscribe(None);
    assert!(format!("{hub:?}").contains("topics: 1"));
    assert!(format!("{topic:?}").contains("subscribers: 1"));
    assert!(format!("{subscriber:?}").contains("next_position: 1"));
    assert!(format!("{:?}", hub.config()).contains("max_lag: 512"));
}

#[test]
fn a_subscriber_catching_up_holds_at_most_a_small_batch() {
    let topic = Topic::new(
        config()
            .with_history(100)
            .with_max_lag(30)
            .with_lag_policy(LagPolicy::SkipAhead),
    );
    let mut subscriber = topic.subscribe(None);
    publish_n(&topic, 0..25);
    // Taking one event takes a batch from the ring under one lock ...
    let first = subscriber.next().now_or_never().unwrap().unwrap();
    assert_eq!(parse(&first).id, "1");
    // ... but the position still counts only what was handed out.
    assert_eq!(subscriber.next_position(), 2);
    // The held events are delivered in order even if the ring moves on meanwhile,
    // and lag is judged on what is left in the ring.
    publish_n(&topic, 25..40); // 40 published; 1 handed out, 15 held, 24 in the ring
    let (got, ended) = drain(&mut subscriber);
    assert!(!ended);
    let held: Vec<_> = (2..=16).map(|n| n.to_string()).collect();
    assert_eq!(ids(&got[..15]), held);
    // 24 behind after the batch: within max_lag, so the rest follows without a gap.
    assert_eq!(
        ids(&got[15..]),
        (17..=40).map(|n| n.to_string()).collect::<Vec<_>>()
    );
    assert_eq!(topic.stats().lagged, 0);
    assert_eq!(topic.stats().events_sent, 40);

    // Dropped with events in hand: cleaned up like any other.
    publish_n(&topic, 40..50);
    assert!(subscriber.next().now_or_never().is_some());
    drop(subscriber);
    assert_eq!(topic.stats().subscribers, 0);
}

#[test]
fn subscribers_stay_small() {
    // What an idle client costs the server besides its connection; see
    // benches/broadcast.rs for the measured total.
    assert!(std::mem::size_of::<Subscriber>() <= 64);
}

/// A waker that owns a subscriber, as a task that owns its future does: dropping the
/// last copy of the waker drops the subscriber.
struct OwningWaker(#[allow(dead_code)] std::sync::Mutex<Option<Subscriber>>);

impl Wake for OwningWaker {
    fn wake(self: Arc<Self>) {}
}

#[test]
fn a_waker_dropped_by_the_hub_may_drop_a_subscriber() {
    let (done, finished) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let topic = Topic::new(config());
        // Replaced waker: the hub drops the old one, which drops `inner`.
        let mut outer = topic.subscribe(None);
        let owner = Arc::new(OwningWaker(std::sync::Mutex::new(Some(
            topic.subscribe(None),
        ))));
        let waker = Waker::from(Arc::clone(&owner));
        assert!(std::pin::Pin::new(&mut outer)
            .poll_next(&mut Context::from_waker(&waker))
            .is_pending());
        drop((waker, owner)); // the hub now holds the only copy
        assert!(poll_once(&mut outer, &Arc::new(CountingWaker::default())));
        assert_eq!(
            topic.stats().subscribers,
            1,
            "the owned subscriber was dropped"
        );

        // Dropped subscriber: its waker goes with it, and drops another subscriber.
        let owner = Arc::new(OwningWaker(std::sync::Mutex::new(Some(
            topic.subscribe(None),
        ))));
        let waker = Waker::from(Arc::clone(&owner));
        assert!(std::pin::Pin::new(&mut outer)
            .poll_next(&mut Context::from_waker(&waker))
            .is_pending());
        drop((waker, owner));
        drop(outer);
        assert_eq!(topic.stats().subscribers, 0);
        done.send(()).unwrap();
    });
    finished
        .recv_timeout(Duration::from_secs(10))
        .expect("deadlock: a waker was dropped while the topic was locked");
}

fn farewell() -> Event {
    Event::new()
        .event(EventType::from_static("bye"))
        .retry(Duration::from_secs(5))
        .data("")
}

/// Issue 12, item 6: closing a topic ends every subscriber after what it was owed
/// and the farewell; later subscribers get their replay, the farewell, and end.
#[test]
fn close_ends_every_subscriber_after_what_it_was_owed_and_the_farewell() {
    let topic = Topic::new(config());
    let mut caught_up = topic.subscribe(None);
    let mut behind = topic.subscribe(None);
    publish_n(&topic, 0..2); // 1, 2
    assert_eq!(data(&drain(&mut caught_up).0), ["e0", "e1"]);
    publish_n(&topic, 2..3); // 3
    let mut waiting = topic.subscribe(None);
    let waker = Arc::new(CountingWaker::default());
    assert!(poll_once(&mut waiting, &waker));

    topic.close(Some(farewell()));
    assert!(topic.is_closed());
    assert_eq!(
        waker.0.load(Ordering::SeqCst),
        1,
        "a waiting subscriber is woken"
    );
    let (got, ended) = drain(&mut waiting);
    assert_eq!(
        (got.len(), got[0].event_type.as_str(), ended),
        (1, "bye", true)
    );
    // Published after the close: dropped.
    topic.publish(Event::with_data("too late"));
    assert_eq!(topic.stats().events_published, 3);

    let (got, ended) = drain(&mut caught_up);
    assert_eq!(data(&got), ["e2", ""]);
    assert_eq!(got[1].event_type, "bye");
    assert_eq!(got[1].id, "", "the farewell gets no id");
    assert!(ended);
    let (got, ended) = drain(&mut behind);
    assert_eq!(data(&got), ["e0", "e1", "e2", ""]);
    assert!(ended);

    // Later: a resuming client gets its replay, then the farewell; a new one only
    // the farewell. Both end.
    let (got, ended) = drain(&mut topic.subscribe(Some(&last("1"))));
    assert_eq!(data(&got), ["e1", "e2", ""]);
    assert!(ended);
    let (got, ended) = drain(&mut topic.subscribe(None));
    assert_eq!(
        (got.len(), got[0].event_type.as_str(), ended),
        (1, "bye", true)
    );

    // Closing again keeps the first farewell.
    topic.close(None);
    let (got, _) = drain(&mut topic.subscribe(None));
    assert_eq!(got.len(), 1);
}

#[test]
fn close_without_farewell_just_ends() {
    let topic = Topic::new(config());
    let mut subscriber = topic.subscribe(None);
    publish_n(&topic, 0..1);
    topic.close(None);
    let (got, ended) = drain(&mut subscriber);
    assert_eq!((data(&got), ended), (vec!["e0"], true));
    let stats = topic.stats();
    assert_eq!((stats.events_sent, stats.subscribers), (1, 1));
}

#[test]
fn closing_the_hub_closes_every_topic_and_the_ones_named_later() {
    let hub = Hub::new(config());
    let mut a = hub.topic("a").subscribe(None);
    let mut b = hub.topic("b").subscribe(None);
    hub.publish("a", Event::with_data("for a"));
    hub.close(Some(farewell()));
    let (got, ended) = drain(&mut a);
    assert_eq!((data(&got), ended), (vec!["for a", ""], true));
    let (got, ended) = drain(&mut b);
    assert_eq!(
        (got.len(), got[0].event_type.as_str(), ended),
        (1, "bye", true)
    );
    let later = hub.topic("c");
    assert!(later.is_closed());
    let (got, ended) = drain(&mut later.subscribe(None));
    assert_eq!(
        (got.len(), got[0].event_type.as_str(), ended),
        (1, "bye", true)
    );
    // The farewell was encoded once, for everyone.
    let bytes: u64 = hub.stats().bytes_sent;
    let per_farewell = farewell().encode().len() as u64;
    let for_a = Event::new().id(1u32).data("for a").encode().len() as u64;
    assert_eq!(bytes, for_a + 3 * per_farewell);
}

/// For relays (the Redis adapter): after `clear_history`, no `Last-Event-ID` from
/// before resumes, new subscribers get no backlog from before, and current
/// subscribers continue with what follows.
#[test]
fn clear_history_forgets_every_earlier_id_and_current_subscribers_continue() {
    let topic = Topic::new(config().with_id_policy(IdPolicy::Keep));
    let entry = |id: &'static str| Event::new().id(EventId::from_static(id)).data(id);
    let mut current = topic.subscribe(None);
    topic.publish(entry("1700000000000-0"));
    topic.publish(entry("1700000000000-1"));
    assert_eq!(drain(&mut current).0.len(), 2);
    assert!(topic
        .subscribe(Some(&last("1700000000000-0")))
        .resume()
        .is_exact());

    topic.clear_history();
    let stats = topic.stats();
    assert_eq!((stats.history_events, stats.history_bytes), (0, 0));
    for id in ["1700000000000-0", "1700000000000-1"] {
        assert_eq!(
            topic.subscribe(Some(&last(id))).resume(),
            Resume::HistoryLost {
                reason: LostReason::Unknown
            },
            "{id}"
        );
    }
    let mut newcomer = topic.subscribe_with_backlog(None, usize::MAX);
    assert_eq!(newcomer.resume(), Resume::New { backlog: 0 });

    topic.publish(entry("1700000000005-0"));
    let (got, ended) = drain(&mut current);
    assert_eq!((data(&got), ended), (vec!["1700000000005-0"], false));
    assert_eq!(data(&drain(&mut newcomer).0), ["1700000000005-0"]);
    assert_eq!(
        topic.subscribe(Some(&last("1700000000005-0"))).resume(),
        Resume::Exact { replayed: 0 }
    );
}

#[test]
fn clear_history_with_assigned_ids_and_a_subscriber_behind() {
    let topic = Topic::new(config().with_lag_policy(LagPolicy::SkipAhead));
    let mut behind = topic.subscribe(None);
    publish_n(&topic, 0..3); // 1, 2, 3
    topic.clear_history();
    for seen in ["0", "1", "3"] {
        assert!(topic
            .subscribe(Some(&last(seen)))
            .resume()
            .is_history_lost());
    }
    // It had not read 1..=3: a gap, announced with its size.
    let (got, ended) = drain(&mut behind);
    assert_eq!(
        (got.len(), got[0].event_type.as_str(), ended),
        (1, "lagged", false)
    );
    assert_eq!(got[0].data, r#"{"missed":3}"#);
    publish_n(&topic, 3..4); // 4: ids go on
    assert_eq!(ids(&drain(&mut behind).0), ["4"]);
    assert!(topic.subscribe(Some(&last("4"))).resume().is_exact());
}
