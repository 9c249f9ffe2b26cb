//! Fan-out: one publisher, many SSE clients. `ssewire::hub::Topic` (encode once, every
//! client gets the same bytes) against the pattern axum users write today: a
//! `tokio::sync::broadcast` channel of messages, and every client turning each message
//! into its own `axum::response::sse::Event` (one encode per client per event).
//!
//! ```text
//! cargo bench -p ssewire-benches --bench broadcast
//! BROADCAST_SUBSCRIBERS=2000 BROADCAST_ROUNDS=1 cargo bench -p ssewire-benches --bench broadcast
//! BROADCAST_GROUP=1 BROADCAST_ONLY=ssewire cargo bench -p ssewire-benches --bench broadcast
//! ```
//!
//! Both sides run as a server would: each client is a tokio task draining its
//! response body (`axum::body::Body`, `poll_frame`) on a 2-worker multi-threaded
//! runtime. Measured: process CPU time (user + system, all threads) from the first
//! publish until every client has received every event, divided by events × clients.
//!
//! - **burst**: the publisher sends all events back to back; clients catch up (the
//!   channel and the history both hold 1024 events, so nobody lags).
//! - **paced**: the publisher waits until every client has received an event before it
//!   sends the next (sparse events: one wake-up per client per event). Both sides pay
//!   the same bookkeeping for the pacing (an atomic add per chunk).
//!
//! Memory: 10,000 idle clients, each body polled once (waiting for an event), held as
//! the `axum::body::Body` a handler returns; heap bytes (counted by a counting
//! allocator) plus the inline size, per client.

use std::alloc::{GlobalAlloc, Layout, System};
use std::convert::Infallible;
use std::hint::black_box;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use axum::body::Body;
use axum::response::sse::{Event as AxumEvent, Sse};
use axum::response::IntoResponse;
use http_body::Body as _;
use http_body_util::BodyExt;
use ssewire::hub::{Config, Topic};
use ssewire::{Event, EventType, StreamGroup};
use tokio::sync::{broadcast, Notify};

// ---- counting allocator (counts only inside `measure_heap`) -------------------------

struct CountingAlloc;

static COUNTING: AtomicBool = AtomicBool::new(false);
static LIVE: AtomicI64 = AtomicI64::new(0);

unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if COUNTING.load(Relaxed) {
            LIVE.fetch_add(layout.size() as i64, Relaxed);
        }
        System.alloc(layout)
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if COUNTING.load(Relaxed) {
            LIVE.fetch_sub(layout.size() as i64, Relaxed);
        }
        System.dealloc(ptr, layout)
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if COUNTING.load(Relaxed) {
            LIVE.fetch_add(new_size as i64 - layout.size() as i64, Relaxed);
        }
        System.realloc(ptr, layout, new_size)
    }
}

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

/// Live heap bytes allocated by `f` (and still held by what it returns).
fn measure_heap<T>(f: impl FnOnce() -> T) -> (T, i64) {
    LIVE.store(0, Relaxed);
    COUNTING.store(true, Relaxed);
    let value = f();
    COUNTING.store(false, Relaxed);
    (value, LIVE.load(Relaxed))
}

// ---- CPU time ------------------------------------------------------------------------

/// User + system CPU time of the whole process (all threads), from /proc/self/stat.
fn cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").expect("Linux /proc");
    // Fields after the command name (which is in parentheses and may hold spaces).
    let after = &stat[stat.rfind(')').expect("stat format") + 2..];
    let fields: Vec<&str> = after.split(' ').collect();
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name.
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    Duration::from_millis(ticks * 10) // USER_HZ is 100 on Linux
}

// ---- the workload --------------------------------------------------------------------

const EVENTS: usize = 1_000;
const UPDATE: EventType = EventType::from_static("update");

/// What the application publishes: a small JSON notification (~100 bytes).
#[derive(Clone, Debug)]
struct Message {
    id: u64,
    json: Arc<str>,
}

fn messages() -> Vec<Message> {
    (0..EVENTS as u64)
        .map(|n| Message {
            id: n + 1,
            json: format!(
                r#"{{"user":"user-{:04}","kind":"comment","text":"a short notification, number {:05}"}}"#,
                n % 7919,
                n
            )
            .into(),
        })
        .collect()
}

/// The usual axum handler body: every client encodes every message itself.
fn axum_client(rx: broadcast::Receiver<Message>) -> Body {
    let events = futures_util::stream::unfold(rx, |mut rx| async move {
        loop {
            match rx.recv().await {
                Ok(m) => {
                    let event = AxumEvent::default()
                        .event("update")
                        .id(m.id.to_string())
                        .data(&*m.json);
                    return Some((Ok::<_, Infallible>(event), rx));
                }
                Err(broadcast::error::RecvError::Lagged(_)) => continue,
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    });
    Sse::new(events).into_response().into_body()
}

/// The same with axum's keep-alive.
fn axum_client_keep_alive(rx: broadcast::Receiver<Message>) -> Body {
    let events = futures_util::stream::unfold(rx, |mut rx| async move {
        loop {
            match rx.recv().await {
                Ok(m) => {
                    let event = AxumEvent::default()
                        .event("update")
                        .id(m.id.to_string())
                        .data(&*m.json);
                    return Some((Ok::<_, Infallible>(event), rx));
                }
                Err(broadcast::error::RecvError::Lagged(_)) => continue,
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    });
    Sse::new(events)
        .keep_alive(axum::response::sse::KeepAlive::default())
        .into_response()
        .into_body()
}

/// The same handler with the hub: the body sends the topic's shared bytes.
fn ssewire_client(topic: &Topic) -> Body {
    let body = topic.subscribe(None).into_body();
    match group() {
        Some(group) => Body::new(body.with_group(group)),
        None => Body::new(body),
    }
}

/// `BROADCAST_GROUP=1`: every ssewire body counts itself in one `StreamGroup` (what the
/// counters of issue 14 cost a fan-out; compare with a run without it).
fn group() -> Option<&'static StreamGroup> {
    static GROUP: OnceLock<Option<StreamGroup>> = OnceLock::new();
    GROUP
        .get_or_init(|| {
            (std::env::var("BROADCAST_GROUP").as_deref() == Ok("1"))
                .then(|| StreamGroup::new("bench"))
        })
        .as_ref()
}

fn topic() -> Topic {
    Topic::new(
        Config::new()
            .with_first_id(1)
            .with_history(1024)
            .with_max_lag(1024),
    )
}

fn ssewire_event(m: &Message) -> Event {
    Event::new().event(UPDATE).data(&*m.json) // the topic sets the id
}

#[derive(Clone, Copy, PartialEq)]
enum Mode {
    Burst,
    Paced,
}

/// Drains `body` until it has delivered `expected` bytes; counts events if paced.
async fn drain(
    mut body: Body,
    expected: usize,
    pacing: Option<(Arc<AtomicU64>, Arc<Notify>, u64)>,
) {
    let mut got = 0;
    while got < expected {
        let frame = body.frame().await.expect("the body ended early").unwrap();
        let data = frame.into_data().unwrap_or_default();
        got += data.len();
        black_box(&data);
        if let Some((delivered, notify, clients)) = &pacing {
            let events = data.windows(2).filter(|w| w == b"\n\n").count() as u64;
            let now = delivered.fetch_add(events, Relaxed) + events;
            if now.is_multiple_of(*clients) {
                notify.notify_one();
            }
        }
    }
}

/// One run: `clients` clients, `EVENTS` events; returns the CPU time.
fn run(
    rt: &tokio::runtime::Runtime,
    ours: bool,
    mode: Mode,
    clients: usize,
    messages: &[Message],
    expected: usize,
) -> Duration {
    let topic = topic();
    let (tx, _keep) = broadcast::channel::<Message>(1024);
    let delivered = Arc::new(AtomicU64::new(0));
    let notify = Arc::new(Notify::new());
    let tasks: Vec<_> = (0..clients)
        .map(|_| {
            let body = if ours {
                ssewire_client(&topic)
            } else {
                axum_client(tx.subscribe())
            };
            let pacing =
                (mode == Mode::Paced).then(|| (delivered.clone(), notify.clone(), clients as u64));
            rt.spawn(drain(body, expected, pacing))
        })
        .collect();
    // Let every client reach its first wait.
    rt.block_on(async { tokio::time::sleep(Duration::from_millis(200)).await });

    let start = cpu_time();
    rt.block_on(async {
        for m in messages {
            if ours {
                topic.publish(ssewire_event(m));
            } else {
                let _ = tx.send(m.clone());
            }
            if mode == Mode::Paced {
                notify.notified().await;
            }
        }
        for task in tasks {
            task.await.unwrap();
        }
    });
    cpu_time() - start
}

/// Checks that both sides put exactly the same bytes on the wire.
fn check_same_output(rt: &tokio::runtime::Runtime, messages: &[Message]) -> usize {
    let collect = |mut body: Body| async move {
        let mut all = Vec::new();
        while let Some(Ok(frame)) = body.frame().await {
            all.extend_from_slice(&frame.into_data().unwrap_or_default());
        }
        all
    };
    let topic = topic();
    let ours = rt.spawn(collect(ssewire_client(&topic)));
    let (tx, _) = broadcast::channel::<Message>(1024);
    let theirs = rt.spawn(collect(axum_client(tx.subscribe())));
    for m in messages {
        topic.publish(ssewire_event(m));
        tx.send(m.clone()).unwrap();
    }
    drop((topic, tx));
    let (ours, theirs) = rt.block_on(async { (ours.await.unwrap(), theirs.await.unwrap()) });
    assert!(!ours.is_empty());
    assert!(ours == theirs, "the two sides sent different bytes");
    ours.len()
}

/// Heap bytes per idle client, and the inline size of what the server holds.
/// With `keep_alive`, both sides send a comment every 15 s while idle (what SSE
/// behind a proxy needs); axum's keep-alive is its own timer per client, ssewire's
/// one shared ticker.
fn idle_memory(
    rt: &tokio::runtime::Runtime,
    ours: bool,
    keep_alive: bool,
    clients: usize,
) -> (f64, usize) {
    let _runtime = rt.enter(); // timers need a runtime
    let topic = topic();
    let (tx, _keep) = broadcast::channel::<Message>(1024);
    let shared_keep_alive = ssewire::KeepAlive::tokio();
    let mut held: Vec<Body> = Vec::with_capacity(clients);
    let waker = Waker::noop();
    let mut cx = Context::from_waker(waker);
    let ((), heap) = measure_heap(|| {
        for _ in 0..clients {
            let mut body = match (ours, keep_alive) {
                (true, false) => ssewire_client(&topic),
                (true, true) => Body::new(
                    topic
                        .subscribe(None)
                        .into_body()
                        .with_keep_alive(shared_keep_alive.clone()),
                ),
                (false, false) => axum_client(tx.subscribe()),
                (false, true) => axum_client_keep_alive(tx.subscribe()),
            };
            assert!(matches!(
                std::pin::Pin::new(&mut body).poll_frame(&mut cx),
                Poll::Pending
            ));
            held.push(body);
        }
    });
    black_box(&held);
    (heap as f64 / clients as f64, std::mem::size_of::<Body>())
}

fn median(mut values: Vec<Duration>) -> Duration {
    if values.is_empty() {
        return Duration::from_nanos(1); // a side that was not run (BROADCAST_ONLY)
    }
    values.sort();
    values[values.len() / 2]
}

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` runs this too, quickly.
    let quick = !std::env::args().any(|a| a == "--bench");
    let clients = env_usize("BROADCAST_SUBSCRIBERS", if quick { 200 } else { 10_000 });
    let rounds = env_usize("BROADCAST_ROUNDS", if quick { 1 } else { 3 });

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let messages = messages();
    let expected = check_same_output(&rt, &messages);
    println!(
        "fan-out: {EVENTS} events ({} bytes on the wire per client) to {clients} clients, \
         2 tokio workers, median of {rounds} round(s)\n",
        expected
    );

    println!("| workload | axum + tokio broadcast | ssewire Topic | ratio |");
    println!("|---|---|---|---|");
    for mode in [Mode::Burst, Mode::Paced] {
        let (mut ours, mut theirs) = (Vec::new(), Vec::new());
        // BROADCAST_ONLY=ssewire or =axum runs one side (for profiling).
        let only = std::env::var("BROADCAST_ONLY").unwrap_or_default();
        for _ in 0..rounds {
            if only != "ssewire" {
                theirs.push(run(&rt, false, mode, clients, &messages, expected));
            }
            if only != "axum" {
                ours.push(run(&rt, true, mode, clients, &messages, expected));
            }
        }

        let per = |d: Duration| d.as_nanos() as f64 / (EVENTS * clients) as f64;
        let (o, t) = (per(median(ours)), per(median(theirs)));
        let name = match mode {
            Mode::Burst => "CPU per event per client, burst",
            Mode::Paced => "CPU per event per client, paced",
        };
        println!("| {name} | {t:.0} ns | {o:.0} ns | {:.1}x less |", t / o);
    }
    let idle = env_usize("BROADCAST_IDLE", 10_000);
    for keep_alive in [false, true] {
        let (theirs, inline) = idle_memory(&rt, false, keep_alive, idle);
        let (ours, _) = idle_memory(&rt, true, keep_alive, idle);
        let (theirs, ours) = (theirs + inline as f64, ours + inline as f64);
        let label = if keep_alive { ", keep-alive on" } else { "" };
        let ratio = if ours <= theirs {
            format!("{:.1}x less", theirs / ours)
        } else {
            format!("{:.1}x more", ours / theirs)
        };
        println!("| memory per idle client{label} | {theirs:.0} B | {ours:.0} B | {ratio} |");
    }
    println!(
        "\n(ssewire: `SseBody<Subscriber>` is {} B, `Subscriber` {} B; the rest is the box and\n\
         the topic's list of waiting subscribers)",
        std::mem::size_of::<ssewire::SseBody<ssewire::hub::Subscriber>>(),
        std::mem::size_of::<ssewire::hub::Subscriber>()
    );
    drop(rt);
}
