//! Several nodes on one Redis: ssewire's Redis Streams broker against the pattern
//! users write by hand (Redis pub/sub, every server relaying each message to its
//! clients, one encode per client per event). Starts its own `redis-server` on a free
//! loopback port (`--save ''`), so it needs the Debian package `redis-server`.
//!
//! ```text
//! cargo bench -p ssewire-benches --bench redis
//! REDIS_BENCH_EVENTS=100000 REDIS_BENCH_SECONDS=10 REDIS_BENCH_SUBSCRIBERS=1000 \
//!     cargo bench -p ssewire-benches --bench redis
//! ```
//!
//! Measured, in one run, on loopback:
//!
//! 1. **Publish throughput** into one topic with a pipelining publisher
//!    (`REDIS_BENCH_INFLIGHT` publishes in flight on one connection, default 256):
//!    `REDIS_BENCH_EVENTS` events (default 20,000), events per second; and the Redis
//!    commands per published event, from `INFO commandstats`.
//! 2. **Cross-node latency**: two nodes, `REDIS_BENCH_SUBSCRIBERS` subscribers on each
//!    (default 1,000), a publisher on node A at a steady `REDIS_BENCH_RATE` events/s
//!    (default 2,000) for `REDIS_BENCH_SECONDS` (default 2): p50/p99/max from the
//!    publish call to the event reaching each subscriber on node B; and Redis commands
//!    per event (reads per event per node). `REDIS_BENCH_READ_INTERVAL_US` sets the
//!    tail's `RedisConfig::with_read_interval` (default 1,000 µs).
//!
//! Both parts run for ssewire and for the baseline. The baseline has no history, no
//! resumption and no order across publishers' reconnections: it is the cost floor, not
//! an equivalent.

use std::collections::HashMap;
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use futures_util::stream::{self, StreamExt};
use ssewire::broker::{Node, RedisBroker, RedisConfig};
use ssewire::hub::Config as HubConfig;
use ssewire::Event;

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|text| text.parse().ok())
        .unwrap_or(default)
}

/// Microseconds since the bench started: publishers write it into the data.
fn now_micros() -> u64 {
    static ORIGIN: OnceLock<Instant> = OnceLock::new();
    ORIGIN.get_or_init(Instant::now).elapsed().as_micros() as u64
}

struct Redis {
    child: Child,
    port: u16,
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Redis {
    fn start() -> Redis {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let child = Command::new("redis-server")
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
            ])
            .args([
                "--appendonly",
                "no",
                "--dir",
                &std::env::temp_dir().display().to_string(),
            ])
            .stdout(Stdio::null())
            .spawn()
            .expect("redis-server (apt-get install redis-server)");
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "redis-server did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        Redis { child, port }
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    async fn connection(&self) -> redis::aio::MultiplexedConnection {
        redis::Client::open(self.url())
            .unwrap()
            .get_multiplexed_async_connection()
            .await
            .unwrap()
    }

    async fn reset_stats(&self) {
        let mut c = self.connection().await;
        let _: () = redis::cmd("CONFIG")
            .arg("RESETSTAT")
            .query_async(&mut c)
            .await
            .unwrap();
    }

    /// `command -> calls` from `INFO commandstats` (this connection's INFO excluded).
    async fn command_calls(&self) -> HashMap<String, u64> {
        let mut c = self.connection().await;
        let info: String = redis::cmd("INFO")
            .arg("commandstats")
            .query_async(&mut c)
            .await
            .unwrap();
        let mut calls = HashMap::new();
        for line in info.lines() {
            let Some(rest) = line.strip_prefix("cmdstat_") else {
                continue;
            };
            let Some((name, stats)) = rest.split_once(':') else {
                continue;
            };
            let Some(n) = stats
                .split(',')
                .find_map(|kv| kv.strip_prefix("calls="))
                .and_then(|n| n.parse().ok())
            else {
                continue;
            };
            if name != "info"
                && name != "config|resetstat"
                && name != "hello"
                && !name.starts_with("client")
            {
                calls.insert(name.to_owned(), n);
            }
        }
        calls
    }
}

fn per_event(calls: &HashMap<String, u64>, events: u64) -> String {
    let total: u64 = calls.values().sum();
    let mut names: Vec<_> = calls.iter().collect();
    names.sort_by(|a, b| b.1.cmp(a.1));
    let detail: Vec<String> = names
        .iter()
        .map(|(name, n)| format!("{name} {:.3}", **n as f64 / events as f64))
        .collect();
    format!(
        "{:.3} commands/event ({})",
        total as f64 / events as f64,
        detail.join(", ")
    )
}

fn percentiles(mut latencies: Vec<u64>) -> String {
    if latencies.is_empty() {
        return "no samples".into();
    }
    latencies.sort_unstable();
    let at = |q: f64| latencies[((latencies.len() - 1) as f64 * q) as usize];
    format!(
        "p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms ({} deliveries)",
        at(0.50) as f64 / 1000.0,
        at(0.99) as f64 / 1000.0,
        *latencies.last().unwrap() as f64 / 1000.0,
        latencies.len()
    )
}

fn node(redis: &Redis) -> Node<RedisBroker> {
    let mut config = RedisConfig::new(redis.url());
    if let Ok(micros) = std::env::var("REDIS_BENCH_READ_INTERVAL_US") {
        config = config.with_read_interval(Duration::from_micros(micros.parse().unwrap()));
    }
    let broker = RedisBroker::new(config).unwrap();
    Node::new(broker, HubConfig::new().with_history(10_000))
}

/// Reads `count` events from a `data: <micros>` stream; returns the latencies.
fn data_micros(bytes: &[u8]) -> Option<u64> {
    let text = std::str::from_utf8(bytes).ok()?;
    let line = text.lines().find_map(|line| line.strip_prefix("data: "))?;
    line.parse().ok()
}

async fn ssewire_side(
    redis: &Redis,
    events: u64,
    inflight: usize,
    subscribers: usize,
    rate: u64,
    seconds: u64,
) {
    // 1. Throughput.
    let a = node(redis);
    redis.reset_stats().await;
    let started = Instant::now();
    stream::iter(0..events)
        .map(|i| {
            let a = a.clone();
            async move {
                a.publish("bench", Event::with_data(format!("event {i}")))
                    .await
                    .unwrap()
            }
        })
        .buffer_unordered(inflight)
        .for_each(|_| async {})
        .await;
    let elapsed = started.elapsed();
    let calls = redis.command_calls().await;
    println!(
        "ssewire  publish: {events} events in {elapsed:.2?}: {:.0} events/s; {}",
        events as f64 / elapsed.as_secs_f64(),
        per_event(&calls, events)
    );

    // 2. Latency across nodes.
    let b = node(redis);
    let total = rate * seconds;
    let mut receivers = Vec::new();
    for (n, which) in [&a, &b].into_iter().enumerate() {
        for _ in 0..subscribers {
            let mut subscriber = which.subscribe("latency", None).await.unwrap();
            receivers.push(tokio::spawn(async move {
                let mut latencies = Vec::with_capacity(if n == 1 { total as usize } else { 0 });
                for _ in 0..total {
                    let Some(event) = subscriber.next().await else {
                        break;
                    };
                    if n == 1 {
                        let sent = data_micros(event.as_bytes()).unwrap_or(0);
                        latencies.push(now_micros().saturating_sub(sent));
                    }
                }
                latencies
            }));
        }
    }
    redis.reset_stats().await;
    pace(rate, total, move |_| {
        let a = a.clone();
        async move {
            a.publish("latency", Event::with_data(now_micros().to_string()))
                .await
                .unwrap();
        }
    })
    .await;
    let mut latencies = Vec::new();
    for receiver in receivers {
        latencies.extend(receiver.await.unwrap());
    }
    let calls = redis.command_calls().await;
    println!(
        "ssewire  {rate} events/s, {subscribers} subscribers per node, on the other node: {}; {}",
        percentiles(latencies),
        per_event(&calls, total)
    );
}

/// Calls `publish(i)` for `total` events at `rate` per second (spawned, so a slow reply
/// does not slow the pace).
async fn pace<F, Fut>(rate: u64, total: u64, publish: F)
where
    F: Fn(u64) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let start = tokio::time::Instant::now();
    let mut tasks = Vec::with_capacity(total as usize);
    for i in 0..total {
        let due = start + Duration::from_micros(i * 1_000_000 / rate);
        tokio::time::sleep_until(due).await;
        tasks.push(tokio::spawn(publish(i)));
    }
    for task in tasks {
        task.await.unwrap();
    }
}

/// The hand-written pattern: `PUBLISH`; each node has one pub/sub connection and a
/// broadcast channel; each client encodes every event itself.
async fn baseline_side(
    redis: &Redis,
    events: u64,
    inflight: usize,
    subscribers: usize,
    rate: u64,
    seconds: u64,
) {
    let publisher = redis.connection().await;
    redis.reset_stats().await;
    let started = Instant::now();
    stream::iter(0..events)
        .map(|i| {
            let mut c = publisher.clone();
            async move {
                let _: i64 = redis::cmd("PUBLISH")
                    .arg("bench")
                    .arg(format!("event {i}"))
                    .query_async(&mut c)
                    .await
                    .unwrap();
            }
        })
        .buffer_unordered(inflight)
        .for_each(|_| async {})
        .await;
    let elapsed = started.elapsed();
    let calls = redis.command_calls().await;
    println!(
        "pub/sub  publish: {events} events in {elapsed:.2?}: {:.0} events/s; {}",
        events as f64 / elapsed.as_secs_f64(),
        per_event(&calls, events)
    );

    let total = rate * seconds;
    let mut receivers = Vec::new();
    let received = Arc::new(AtomicU64::new(0));
    for n in 0..2 {
        let (tx, _) = tokio::sync::broadcast::channel::<Arc<str>>(16_384);
        let client = redis::Client::open(redis.url()).unwrap();
        let mut pubsub = client.get_async_pubsub().await.unwrap();
        pubsub.subscribe("latency").await.unwrap();
        let relay = tx.clone();
        tokio::spawn(async move {
            let mut messages = pubsub.into_on_message();
            while let Some(message) = messages.next().await {
                let payload: String = message.get_payload().unwrap_or_default();
                let _ = relay.send(payload.into());
            }
        });
        for _ in 0..subscribers {
            let mut rx = tx.subscribe();
            let received = received.clone();
            receivers.push(tokio::spawn(async move {
                let mut latencies = Vec::with_capacity(if n == 1 { total as usize } else { 0 });
                for _ in 0..total {
                    let Ok(payload) = rx.recv().await else { break };
                    // One encode per client per event.
                    let encoded = Event::with_data(&*payload).encode();
                    if n == 1 {
                        let sent = data_micros(encoded.as_bytes()).unwrap_or(0);
                        latencies.push(now_micros().saturating_sub(sent));
                    }
                    received.fetch_add(1, Ordering::Relaxed);
                }
                latencies
            }));
        }
    }
    redis.reset_stats().await;
    pace(rate, total, move |_| {
        let mut c = publisher.clone();
        async move {
            let _: i64 = redis::cmd("PUBLISH")
                .arg("latency")
                .arg(now_micros().to_string())
                .query_async(&mut c)
                .await
                .unwrap();
        }
    })
    .await;
    let mut latencies = Vec::new();
    for receiver in receivers {
        latencies.extend(receiver.await.unwrap());
    }
    let calls = redis.command_calls().await;
    println!(
        "pub/sub  {rate} events/s, {subscribers} subscribers per node, on the other node: {}; {}",
        percentiles(latencies),
        per_event(&calls, total)
    );
}

fn main() {
    let events = env("REDIS_BENCH_EVENTS", 20_000);
    let inflight = env("REDIS_BENCH_INFLIGHT", 256) as usize;
    let subscribers = env("REDIS_BENCH_SUBSCRIBERS", 1_000) as usize;
    let rate = env("REDIS_BENCH_RATE", 2_000);
    let seconds = env("REDIS_BENCH_SECONDS", 2);
    if std::env::args().any(|arg| arg == "--test") {
        // `cargo bench -- --test`: a smoke run.
        return run(200, 32, 10, 200, 1);
    }
    run(events, inflight, subscribers, rate, seconds);
}

fn run(events: u64, inflight: usize, subscribers: usize, rate: u64, seconds: u64) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let redis = Redis::start();
    now_micros();
    runtime.block_on(async {
        ssewire_side(&redis, events, inflight, subscribers, rate, seconds).await;
        baseline_side(&redis, events, inflight, subscribers, rate, seconds).await;
    });
}
