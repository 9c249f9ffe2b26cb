//! C1: events/s and CPU per event through an SSE *client*, on loopback, against the
//! Rust clients people use today: `reqwest-eventsource` and `eventsource-client`.
//!
//! One in-process server (its own thread and runtime) writes the same pre-encoded
//! stream to every contender; each client runs on a current-thread runtime on the
//! main thread, so its CPU time (connection task included) is that thread's
//! (`/proc/thread-self/schedstat`). Every contender must yield the same events (count
//! and a hash of type, id and data), checked every round. Rounds interleave the
//! contenders; the table shows medians.
//!
//! ```text
//! cargo bench -p ssewire-benches --bench client            # 100 000 events x 3 rounds
//! CLIENT_EVENTS=1000000 CLIENT_ROUNDS=5 cargo bench -p ssewire-benches --bench client
//! ```

use std::time::{Duration, Instant};

use futures_util::StreamExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A stream of `n` events like a service's: JSON data, an id on each, a named event
/// every tenth, a keep-alive comment every hundredth.
fn payload(n: usize) -> (Vec<u8>, Digest) {
    let mut out = Vec::with_capacity(n * 120);
    let mut digest = Digest::default();
    for i in 1..=n {
        if i % 100 == 0 {
            out.extend_from_slice(b": keep-alive\n\n");
        }
        let event_type = if i % 10 == 0 { "tick" } else { "message" };
        if event_type != "message" {
            out.extend_from_slice(format!("event: {event_type}\n").as_bytes());
        }
        let data = format!(
            r#"{{"seq":{i},"user":"u{}","text":"the quick brown fox jumps over the lazy dog"}}"#,
            i % 97
        );
        out.extend_from_slice(format!("id: {i}\ndata: {data}\n\n").as_bytes());
        digest.add(event_type, &i.to_string(), &data);
    }
    (out, digest)
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Digest {
    count: u64,
    hash: u64,
}

impl Digest {
    /// Adds one event: a cheap FxHash-style mix (the check must not dominate the
    /// time measured), order-independent across events.
    fn add(&mut self, event_type: &str, id: &str, data: &str) {
        let mut h = 0u64;
        for field in [
            event_type.as_bytes(),
            b"\0",
            id.as_bytes(),
            b"\0",
            data.as_bytes(),
        ] {
            for chunk in field.chunks(8) {
                let mut word = [0u8; 8];
                word[..chunk.len()].copy_from_slice(chunk);
                h = (h.rotate_left(5) ^ u64::from_le_bytes(word))
                    .wrapping_mul(0x517c_c1b7_2722_0a95);
            }
        }
        self.count += 1;
        self.hash = self.hash.wrapping_add(h);
    }
}

/// Serves `body` to every request (then closes), in its own thread.
fn serve(body: &'static [u8]) -> String {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(listener.local_addr().unwrap()).unwrap();
            loop {
                let (mut socket, _) = listener.accept().await.unwrap();
                socket.set_nodelay(true).unwrap();
                tokio::spawn(async move {
                    let mut head = Vec::new();
                    let mut buf = [0u8; 4096];
                    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                        match socket.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => head.extend_from_slice(&buf[..n]),
                        }
                    }
                    let _ = socket
                        .write_all(
                            b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n\
                              cache-control: no-cache\r\nconnection: close\r\n\r\n",
                        )
                        .await;
                    for chunk in body.chunks(16 * 1024) {
                        if socket.write_all(chunk).await.is_err() {
                            return;
                        }
                    }
                    let _ = socket.shutdown().await;
                });
            }
        });
    });
    format!("http://{}/events", rx.recv().unwrap())
}

/// CPU time of the calling thread.
fn thread_cpu() -> Duration {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").unwrap_or_default();
    let ns = text
        .split_whitespace()
        .next()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    Duration::from_nanos(ns)
}

async fn ssewire_client(url: &str, n: u64) -> Digest {
    use ssewire::client::{EventSource, Item};
    let mut digest = Digest::default();
    let mut source = EventSource::hyper(url.parse().unwrap());
    while let Some(item) = source.next().await {
        if let Item::Event(e) = item.expect("ssewire client error") {
            digest.add(e.event_type(), e.last_event_id(), e.data());
            if digest.count == n {
                break;
            }
        }
    }
    digest
}

async fn reqwest_eventsource(url: &str, n: u64) -> Digest {
    use reqwest_eventsource::{Event, EventSource};
    let mut digest = Digest::default();
    let mut source = EventSource::get(url);
    while let Some(item) = source.next().await {
        if let Event::Message(m) = item.expect("reqwest-eventsource error") {
            digest.add(&m.event, &m.id, &m.data);
            if digest.count == n {
                break;
            }
        }
    }
    source.close();
    digest
}

async fn eventsource_client(url: &str, n: u64) -> Digest {
    use eventsource_client::{Client, ClientBuilder, SSE};
    let mut digest = Digest::default();
    let client = ClientBuilder::for_url(url).unwrap().build_http();
    let mut stream = client.stream();
    while let Some(item) = stream.next().await {
        if let SSE::Event(e) = item.expect("eventsource-client error") {
            digest.add(&e.event_type, e.id.as_deref().unwrap_or(""), &e.data);
            if digest.count == n {
                break;
            }
        }
    }
    digest
}

#[derive(Clone, Copy)]
enum Contender {
    Ssewire,
    ReqwestEventsource,
    EventsourceClient,
}

impl Contender {
    const ALL: [Contender; 3] = [
        Contender::Ssewire,
        Contender::ReqwestEventsource,
        Contender::EventsourceClient,
    ];

    fn name(self) -> &'static str {
        match self {
            Contender::Ssewire => "ssewire::client (hyper)",
            Contender::ReqwestEventsource => "reqwest-eventsource 0.6",
            Contender::EventsourceClient => "eventsource-client",
        }
    }

    /// Wall time and client-thread CPU time for one run, after checking the events.
    fn run(self, url: &str, expected: Digest) -> (Duration, Duration) {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let n = expected.count;
        let cpu = thread_cpu();
        let start = Instant::now();
        let digest = rt.block_on(async {
            match self {
                Contender::Ssewire => ssewire_client(url, n).await,
                Contender::ReqwestEventsource => reqwest_eventsource(url, n).await,
                Contender::EventsourceClient => eventsource_client(url, n).await,
            }
        });
        let wall = start.elapsed();
        let cpu = thread_cpu().saturating_sub(cpu);
        assert_eq!(digest, expected, "{} yielded other events", self.name());
        (wall, cpu)
    }
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    let quick = std::env::args().any(|a| a == "--test");
    let events = env_usize("CLIENT_EVENTS", if quick { 2_000 } else { 100_000 });
    let rounds = env_usize("CLIENT_ROUNDS", if quick { 1 } else { 3 });
    let (body, expected) = payload(events);
    let body: &'static [u8] = Box::leak(body.into_boxed_slice());
    let url = serve(body);
    println!(
        "C1 client throughput: {events} events ({:.1} MiB), {rounds} rounds, loopback",
        body.len() as f64 / (1 << 20) as f64
    );

    // CLIENT_ONLY=ssewire runs one contender (for profiling).
    let only = std::env::var("CLIENT_ONLY").ok();
    let mut results: Vec<(Vec<Duration>, Vec<Duration>)> = vec![(vec![], vec![]); 3];
    for _ in 0..rounds {
        for (i, c) in Contender::ALL.iter().enumerate() {
            if only.as_deref().is_some_and(|o| !c.name().starts_with(o)) {
                results[i].0.push(Duration::from_secs(1));
                results[i].1.push(Duration::from_secs(1));
                continue;
            }
            let (wall, cpu) = c.run(&url, expected);
            results[i].0.push(wall);
            results[i].1.push(cpu);
        }
    }
    println!(
        "{:<26} {:>12} {:>14} {:>10}",
        "client", "events/s", "CPU ns/event", "vs ssewire"
    );
    let ours = median(results[0].1.clone());
    for (i, c) in Contender::ALL.iter().enumerate() {
        let wall = median(results[i].0.clone());
        let cpu = median(results[i].1.clone());
        let rate = events as f64 / wall.as_secs_f64();
        println!(
            "{:<26} {:>12.0} {:>14.0} {:>9.2}x",
            c.name(),
            rate,
            cpu.as_nanos() as f64 / events as f64,
            cpu.as_secs_f64() / ours.as_secs_f64()
        );
    }
    // The decoder alone on the same bytes (16 KiB chunks, no HTTP): what the client
    // adds on top of it is the difference.
    let mut decoder_cpu = vec![];
    for _ in 0..rounds {
        let cpu = thread_cpu();
        let mut decoder = ssewire::Decoder::new();
        let mut digest = Digest::default();
        for chunk in body.chunks(16 * 1024) {
            decoder.feed(bytes::Bytes::from_static(chunk));
            while let Some(e) = decoder.next_event().unwrap() {
                digest.add(e.event_type(), e.last_event_id(), e.data());
            }
        }
        decoder_cpu.push(thread_cpu().saturating_sub(cpu));
        assert_eq!(digest, expected, "the decoder yielded other events");
    }
    println!(
        "{:<26} {:>12} {:>14.0}",
        "(ssewire::Decoder alone)",
        "",
        median(decoder_cpu).as_nanos() as f64 / events as f64
    );
    println!("(\"vs ssewire\": the contender's CPU per event over ssewire's; all yielded the same {} events)", expected.count);
}
