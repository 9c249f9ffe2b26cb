//! A soak on loopback, bounded to about two minutes: a few thousand event-stream
//! connections (3,000 by default) to one axum server whose streams are hub
//! subscribers with keep-alive, a publisher at a steady rate, and churn: half of the
//! clients close abruptly (FIN or RST) every 10-80 events and reconnect with
//! `Last-Event-ID`. It asserts
//!
//! - no gap and no duplicate for any client: every id is the one after the previous,
//!   across every reconnection (exact resume), up to the last event published;
//! - every resumption exact (`stats().resumed`, no `history_lost`);
//! - the hub's open subscriptions (`stats().subscribers`) back to zero at the end;
//! - RSS flat: no growth between the middle and the end of the steady phase beyond
//!   10 % + 16 MiB (read from `/proc/self/status`).
//!
//! `#[ignore]`d because it takes minutes and needs a file-descriptor limit of at
//! least 2 per connection plus headroom (`ulimit -n 20000`):
//!
//! ```text
//! ulimit -n 20000; cargo test --test soak -- --ignored --nocapture
//! ```
//!
//! `SSEWIRE_SOAK_CONNECTIONS` and `SSEWIRE_SOAK_SECS` change the size and length.

mod e2e_support;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::HeaderMap;
use axum::routing::get;
use ssewire::hub::{Config, Subscriber, Topic};
use ssewire::{Event, KeepAlive, SseBody};

use e2e_support::soak::{client, nofile_limit, rss_kib, Totals};

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Between two events.
const PUBLISH_EVERY: Duration = Duration::from_millis(300);
/// Shorter than the gap between events: idle bodies send keep-alives all along.
const KEEP_ALIVE: Duration = Duration::from_millis(200);

#[derive(Clone)]
struct App {
    topic: Topic,
    keep_alive: KeepAlive,
}

async fn events(State(app): State<App>, headers: HeaderMap) -> SseBody<Subscriber> {
    let last = ssewire::last_event_id(&headers).ok().flatten();
    app.topic
        .subscribe(last.as_ref())
        .into_body()
        .with_keep_alive(app.keep_alive.clone())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "soak: minutes long, needs `ulimit -n` >= 4 per connection"]
async fn thousands_of_churning_connections_resume_exactly_and_leave_nothing_behind() {
    let connections = env_or("SSEWIRE_SOAK_CONNECTIONS", 3000);
    let steady = Duration::from_secs(env_or("SSEWIRE_SOAK_SECS", 60));
    let limit = nofile_limit();
    assert!(
        limit >= connections * 2 + 1000,
        "the soak needs 2 file descriptors per connection (client and server side) plus \
         headroom: `ulimit -n` is {limit}, run `ulimit -n 20000` first"
    );

    // The server: one topic, ids 1, 2, 3... and a history long enough for any
    // reconnection (a client is away for at most a few hundred ms).
    let topic = Topic::new(Config::new().with_first_id(1).with_history(4096));
    let app = App {
        topic: topic.clone(),
        keep_alive: KeepAlive::tokio().with_interval(KEEP_ALIVE),
    };
    // A long accept queue: thousands of clients connect within seconds, and a SYN
    // dropped from a full queue is retried only after 1, 3, 7, 15... seconds.
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let listener = socket.listen(8192).unwrap();
    let addr = listener.local_addr().unwrap();
    let router = axum::Router::new()
        .route("/events", get(events))
        .with_state(app);
    let server = tokio::spawn(async move { axum::serve(listener, router).await });

    // The publisher: a steady rate until told to stop; its last id goes to the
    // clients, which stop once they have it.
    let final_id = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(tokio::sync::Notify::new());
    let publisher = {
        let (topic, final_id, stop) = (topic.clone(), final_id.clone(), stop.clone());
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(PUBLISH_EVERY);
            let mut n = 0u64;
            let stopped = stop.notified();
            tokio::pin!(stopped);
            loop {
                tokio::select! {
                    _ = tick.tick() => {
                        n += 1;
                        let id = topic.publish(Event::with_data(format!("tick {n}")));
                        assert_eq!(id, n, "ids are positions from 1");
                    }
                    _ = &mut stopped => break,
                }
            }
            // One last event, after which everyone stops.
            n += 1;
            final_id.store(n, Ordering::SeqCst);
            topic.publish(Event::with_data(format!("tick {n}")));
            n
        })
    };

    // The clients, connecting over a few seconds; every second one churns.
    let t0 = Instant::now();
    let totals = Arc::new(Totals::default());
    let mut clients = Vec::new();
    for i in 0..connections {
        clients.push(tokio::spawn(client(
            addr,
            i + 1,
            i % 2 == 0,
            final_id.clone(),
            totals.clone(),
        )));
        if i % 100 == 99 {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    let ramp = Instant::now();
    while topic.stats().subscribers < connections * 9 / 10 {
        assert!(
            ramp.elapsed() < Duration::from_secs(60),
            "only {} of {connections} connected after 60 s; failures: {:?}",
            topic.stats().subscribers,
            totals.first_failures.lock().unwrap()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    eprintln!(
        "soak: {connections} connections up in {:?} (RSS {} MiB)",
        t0.elapsed(),
        rss_kib() / 1024
    );

    // Steady phase, sampled at the middle and at the end.
    let report = |label: &str| {
        let s = topic.stats();
        eprintln!(
            "soak {label} ({:?}): RSS {} MiB, subscribers {}, published {}, sessions {}, \
             events received {}, keep-alives {}, resets {}, resumed {}, failures {}, \
             slowest connect {} ms",
            t0.elapsed(),
            rss_kib() / 1024,
            s.subscribers,
            s.events_published,
            totals.sessions.load(Ordering::Relaxed),
            totals.events.load(Ordering::Relaxed),
            totals.keep_alives.load(Ordering::Relaxed),
            totals.resets.load(Ordering::Relaxed),
            s.resumed,
            totals.failures.load(Ordering::Relaxed),
            totals.max_connect_ms.load(Ordering::Relaxed),
        );
    };
    tokio::time::sleep(steady / 2).await;
    report("middle");
    let rss_middle = rss_kib();
    tokio::time::sleep(steady / 2).await;
    report("end");
    let rss_end = rss_kib();

    // Stop: the last event, then every client finishes once it has it.
    stop.notify_one();
    let last = publisher.await.unwrap();
    let drain = tokio::time::timeout(Duration::from_secs(90), async {
        for c in clients {
            c.await.unwrap();
        }
    })
    .await;
    report("drained");
    let failures = totals.first_failures.lock().unwrap().clone();
    assert!(
        drain.is_ok(),
        "clients still running 90 s after the last event"
    );
    assert_eq!(
        totals.failures.load(Ordering::SeqCst),
        0,
        "gaps, duplicates or errors: {failures:#?}"
    );

    // Every connection gone: the hub has no subscriber left.
    let deadline = Instant::now() + Duration::from_secs(10);
    while topic.stats().subscribers != 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let stats = topic.stats();
    eprintln!("soak: last id {last}, final stats {stats:?}");
    assert_eq!(
        stats.subscribers, 0,
        "open subscriptions after every client left"
    );
    assert_eq!(stats.subscribed, stats.unsubscribed);
    let sessions = totals.sessions.load(Ordering::SeqCst);
    assert_eq!(stats.subscribed, sessions, "one subscription per session");
    assert_eq!(
        stats.resumed,
        sessions - connections,
        "every reconnection resumed exactly"
    );
    assert_eq!(stats.history_lost, 0);
    assert!(
        sessions >= connections + connections / 4,
        "too little churn: {sessions} sessions"
    );
    assert!(
        totals.keep_alives.load(Ordering::SeqCst) >= connections,
        "keep-alives reached the clients"
    );

    // Flat memory: no growth between the middle and the end beyond 10 % + 16 MiB.
    let allowed = rss_middle + rss_middle / 10 + 16 * 1024;
    eprintln!(
        "soak: RSS middle {} MiB, end {} MiB (allowed {} MiB)",
        rss_middle / 1024,
        rss_end / 1024,
        allowed / 1024
    );
    assert!(
        rss_end <= allowed,
        "RSS grew from {rss_middle} KiB to {rss_end} KiB"
    );
    server.abort();
}
