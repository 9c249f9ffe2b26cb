//! End to end over loopback: a server process and a client process, ssewire against
//! axum 0.8 `Sse` (issue 15).
//!
//! ```text
//! cargo bench -p ssewire-benches --bench loopback -- --smoke   # CI: < 60 s, outputs checked
//! cargo bench -p ssewire-benches --bench loopback              # LOOPBACK_SCALE=0.1, 3 rounds
//! LOOPBACK_SCALE=1 LOOPBACK_ROUNDS=3 \
//!     cargo bench -p ssewire-benches --bench loopback           # the issue's full sizes
//! ```
//!
//! For each scenario, round and contender, this program (the client) starts itself again
//! as the server (`LOOPBACK_ROLE=server`): the same hyper 1 HTTP/1.1 server
//! (`loopback/server.rs`, hyper's default settings) on a tokio multi-thread runtime for
//! every contender; only the response body differs. Where `taskset` exists and the
//! machine has two cores or more, the client runs on CPU 0 and the server on CPU 1 (so the
//! server's runtime has one worker); otherwise both float, and the output says so.
//! Contenders are interleaved: round 1 runs every contender once, round 2 the same
//! again...
//!
//! - `ssewire`: `SseBody` (a stream of `Event`s, or a `hub::Topic` subscriber);
//! - `ssewire attach_data` (streams only): the same stream with each event's data
//!   attached (`Event::attach_data`) instead of copied into the event;
//! - `ssewire 1/chunk`: the same with `with_max_chunk_size(1)`: every event in its own
//!   chunk, as axum sends them (how much of ssewire's lead is its coalescing of ready
//!   events);
//! - `axum`: `Sse::new(stream).into_response()` (axum 0.8), and for fan-out the usual
//!   pattern: a `tokio::sync::broadcast` of messages, each subscriber building its own
//!   `axum::response::sse::Event` from each.
//!
//! Scenarios (event counts × `LOOPBACK_SCALE`, default 0.1; `--smoke` is much smaller):
//!
//! - `streams`: 100 connections, each a stream of 200,000 ready events (`event: tick`,
//!   a counter id, 64 bytes of data), all at once;
//! - `fan-out`: 1,000 then 10,000 subscribers; once all have their response head, the
//!   server publishes 10,000 such events as fast as it can, then closes the topic (drops
//!   the sender); history / channel capacity hold every event, so nobody lags;
//! - `paced`: 10,000 subscribers, one event every 100 ms (100 events at scale 1), then
//!   close; reports the server's CPU per delivered event, and its kernel share.
//!
//! The client (one current-thread tokio runtime, raw `TcpStream`s, a small chunked
//! transfer-coding reader, the same for every contender) counts events by their
//! terminating blank line and their bytes on every connection, and fully decodes one
//! connection per run with ssewire's `Decoder`, checking every event's type, id (1, 2,
//! 3... in order) and data. Every connection must end (the terminating chunk) with
//! exactly the expected number of events and the same number of bytes as the decoded
//! one; otherwise the run is marked `FAIL` and the program exits non-zero.
//!
//! Times are wall clock from the first request (streams) or from the publish command
//! (fan-out) to the last event of the last connection; server CPU is user + system time
//! of the server process over the same window (`/proc/<pid>/stat`, 10 ms ticks).
//! Environment: `LOOPBACK_SCALE`, `LOOPBACK_ROUNDS` (default 3, smoke 1),
//! `LOOPBACK_ONLY` (a substring of scenario names: `streams`, `fan-out`, `paced`),
//! `LOOPBACK_CONTENDERS` (a substring of contender names), `SERVER_HYPER` (hyper settings,
//! see `loopback/server.rs`).

use std::convert::Infallible;
use std::io::{BufRead, Write};
use std::net::SocketAddr;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

#[path = "loopback/server.rs"]
mod server;

use server::{cpu_times, HyperConf};
use server::{env_number, raise_nofile};

/// 64 bytes of printable data, the same in every event.
const DATA: &str = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ+/";
const TICK: &str = "tick";

const CONTENDERS: [&str; 4] = ["ssewire", "ssewire attach_data", "ssewire 1/chunk", "axum"];

/// Whether `contender` runs in a scenario of `kind`: `attach_data` changes how a stream
/// builds its events, so it has no fan-out variant (the hub encodes each event once).
fn runs_in(contender: &str, kind: &str) -> bool {
    contender != "ssewire attach_data" || kind == "streams"
}

fn main() {
    if std::env::var("LOOPBACK_ROLE").as_deref() == Ok("server") {
        server_main();
    } else {
        client_main();
    }
}

// ---- server --------------------------------------------------------------------------

/// The library's API, in one place.
mod api {
    use futures_util::{stream, Stream, StreamExt};
    use ssewire::hub::{Config, Subscriber, Topic};
    use ssewire::{Event, EventType, SseBody, WithData};

    const TICK: EventType = EventType::from_static(super::TICK);

    /// A stream of `n` ready events, ids 1..=n.
    pub fn stream_body(n: u64, max_chunk: usize) -> SseBody<impl Stream<Item = Event>> {
        SseBody::new(stream::iter(1..=n).map(|i| Event::new().event(TICK).id(i).data(super::DATA)))
            .with_max_chunk_size(max_chunk)
    }

    /// The same events with the data attached (`Event::attach_data`), not copied in.
    pub fn stream_body_attached(n: u64) -> SseBody<impl Stream<Item = WithData<&'static str>>> {
        SseBody::new(
            stream::iter(1..=n).map(|i| Event::new().event(TICK).id(i).attach_data(super::DATA)),
        )
    }

    pub fn topic(events: usize) -> Topic {
        Topic::new(
            Config::new()
                .with_first_id(1)
                .with_history(events + 16)
                .with_max_lag(events + 16)
                .with_history_bytes(usize::MAX / 2),
        )
    }

    pub fn publish(topic: &Topic) {
        topic.publish(Event::new().event(TICK).data(super::DATA));
    }

    pub fn subscriber_body(topic: &Topic, max_chunk: usize) -> SseBody<Subscriber> {
        topic
            .subscribe(None)
            .into_body()
            .with_max_chunk_size(max_chunk)
    }
}

/// What the axum side publishes to its `broadcast` channel.
#[derive(Clone, Debug)]
struct Message {
    id: u64,
    data: Arc<str>,
}

fn axum_stream_body(n: u64) -> axum::body::Body {
    use axum::response::sse::{Event, Sse};
    use axum::response::IntoResponse;
    use futures_util::StreamExt;
    let events = futures_util::stream::iter(1..=n)
        .map(|i| Ok::<_, Infallible>(Event::default().event(TICK).id(i.to_string()).data(DATA)));
    Sse::new(events).into_response().into_body()
}

/// The usual axum fan-out handler body: every subscriber encodes every message itself.
fn axum_subscriber_body(rx: tokio::sync::broadcast::Receiver<Message>) -> axum::body::Body {
    use axum::response::sse::{Event, Sse};
    use axum::response::IntoResponse;
    use tokio::sync::broadcast::error::RecvError;
    let events = futures_util::stream::unfold(rx, |mut rx| async move {
        loop {
            match rx.recv().await {
                Ok(m) => {
                    let event = Event::default()
                        .event(TICK)
                        .id(m.id.to_string())
                        .data(&*m.data);
                    return Some((Ok::<_, Infallible>(event), rx));
                }
                Err(RecvError::Lagged(_)) => continue,
                Err(RecvError::Closed) => return None,
            }
        }
    });
    Sse::new(events).into_response().into_body()
}

/// Reads publish commands (`<events> <interval_ms>`) from stdin, one per line.
fn commands() -> tokio::sync::mpsc::UnboundedReceiver<(usize, u64)> {
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    std::thread::spawn(move || {
        for line in std::io::stdin().lock().lines() {
            let Ok(line) = line else { return };
            let mut parts = line
                .split_whitespace()
                .map(|p| p.parse::<u64>().expect("command"));
            let (Some(n), Some(ms)) = (parts.next(), parts.next()) else {
                continue;
            };
            if tx.send((n as usize, ms)).is_err() {
                return;
            }
        }
    });
    rx
}

/// Calls `publish(i)` for i in 1..=n, every `interval_ms` (0: all at once).
async fn publish_all(n: usize, interval_ms: u64, mut publish: impl FnMut(u64)) {
    if interval_ms == 0 {
        for i in 1..=n as u64 {
            publish(i);
        }
        return;
    }
    let mut ticker = tokio::time::interval(Duration::from_millis(interval_ms));
    for i in 1..=n as u64 {
        ticker.tick().await;
        publish(i);
    }
}

fn server_main() {
    let contender = std::env::var("LOOPBACK_CONTENDER").expect("LOOPBACK_CONTENDER");
    let scenario = std::env::var("LOOPBACK_SCENARIO").expect("LOOPBACK_SCENARIO");
    let events: u64 = std::env::var("LOOPBACK_EVENTS")
        .expect("LOOPBACK_EVENTS")
        .parse()
        .expect("events");
    raise_nofile(15_000);
    let conf = HyperConf::from_env();
    let rt = conf.runtime();
    rt.block_on(async move {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        println!("{}", listener.local_addr().expect("addr").port());
        let max_chunk = if contender == "ssewire 1/chunk" {
            1
        } else {
            ssewire::SseBody::<futures_util::stream::Empty<ssewire::Event>>::DEFAULT_MAX_CHUNK_SIZE
        };
        let mut commands = commands();
        match (scenario.as_str(), contender.starts_with("ssewire")) {
            ("streams", true) if contender == "ssewire attach_data" => {
                server::serve(listener, conf, move || api::stream_body_attached(events)).await
            }
            ("streams", true) => {
                server::serve(listener, conf, move || api::stream_body(events, max_chunk)).await
            }
            ("streams", false) => {
                server::serve(listener, conf, move || axum_stream_body(events)).await
            }
            (_, true) => {
                let topic = api::topic(events as usize);
                let publisher = topic.clone();
                tokio::spawn(async move {
                    while let Some((n, ms)) = commands.recv().await {
                        publish_all(n, ms, |_| api::publish(&publisher)).await;
                        publisher.close(None);
                    }
                });
                server::serve(listener, conf, move || {
                    api::subscriber_body(&topic, max_chunk)
                })
                .await
            }
            (_, false) => {
                let (tx, _) = tokio::sync::broadcast::channel::<Message>(events as usize + 16);
                let subscribe = tx.clone();
                let data: Arc<str> = DATA.into();
                tokio::spawn(async move {
                    if let Some((n, ms)) = commands.recv().await {
                        publish_all(n, ms, |id| {
                            let _ = tx.send(Message {
                                id,
                                data: data.clone(),
                            });
                        })
                        .await;
                        drop(tx);
                    }
                });
                // The handler holds a `Sender` only to subscribe; a `WeakSender` lets the
                // channel close once the publisher is done.
                let weak = subscribe.downgrade();
                drop(subscribe);
                server::serve(listener, conf, move || {
                    let rx = weak
                        .upgrade()
                        .expect("subscribed before publishing")
                        .subscribe();
                    axum_subscriber_body(rx)
                })
                .await
            }
        }
    });
}

// ---- client: reading a response ------------------------------------------------------

/// What one connection received.
#[derive(Debug, Default, Clone)]
struct Received {
    events: u64,
    bytes: u64,
    /// When the last byte of the body arrived.
    done: Option<Instant>,
    /// For the decoded connection: the first disagreement, if any.
    error: Option<String>,
}

/// Checks the events of one connection with ssewire's decoder.
struct Verifier {
    decoder: ssewire::Decoder,
    next_id: u64,
    error: Option<String>,
}

impl Verifier {
    fn new() -> Self {
        Verifier {
            decoder: ssewire::Decoder::new(),
            next_id: 1,
            error: None,
        }
    }

    fn feed(&mut self, bytes: &[u8]) {
        if self.error.is_some() {
            return;
        }
        self.decoder.feed(bytes::Bytes::copy_from_slice(bytes));
        loop {
            match self.decoder.next_event() {
                Ok(Some(event)) => {
                    let id = self.next_id.to_string();
                    if event.event_type() != TICK
                        || event.data() != DATA
                        || event.last_event_id() != id
                    {
                        self.error = Some(format!(
                            "event {}: got type {:?}, id {:?}, data {:?}",
                            self.next_id,
                            event.event_type(),
                            event.last_event_id(),
                            event.data()
                        ));
                        return;
                    }
                    self.next_id += 1;
                }
                Ok(None) => return,
                Err(e) => {
                    self.error = Some(format!("decode error: {e}"));
                    return;
                }
            }
        }
    }
}

/// Counts events (blank lines: `\n\n`, the only line ending both libraries write) in
/// the body, across chunk boundaries.
fn count_events(bytes: &[u8], last: &mut u8) -> u64 {
    let mut n = 0;
    let mut prev_end = None;
    for i in memchr::memchr_iter(b'\n', bytes) {
        let before = if i == 0 { *last } else { bytes[i - 1] };
        // "\n\n\n" would count twice; the bodies never hold it (data is one line).
        if before == b'\n' && prev_end.is_none_or(|p: usize| p + 1 != i) {
            n += 1;
            prev_end = Some(i);
        }
    }
    if let Some(&b) = bytes.last() {
        *last = b;
    }
    n
}

/// Reads one response to its end: the head, then the chunked body up to the last chunk.
async fn read_response(mut stream: TcpStream, heads: Arc<AtomicUsize>, verify: bool) -> Received {
    enum State {
        Head,
        /// The chunk size read so far.
        Size(u64),
        /// After the size line's CR: the LF, then this many data bytes.
        SizeLf(u64),
        Data(u64),
        /// The CR (2) and LF (1) after a chunk's data.
        DataEnd(u8),
        Done,
    }
    let mut received = Received::default();
    let mut verifier = verify.then(Verifier::new);
    let mut buf = vec![0u8; 64 * 1024];
    let mut head = Vec::new();
    let mut state = State::Head;
    let mut last = 0u8;
    let fail = |mut r: Received, why: String| {
        r.error = Some(why);
        r
    };
    loop {
        let n = match stream.read(&mut buf).await {
            Ok(0) => return fail(received, "connection closed before the last chunk".into()),
            Err(e) => return fail(received, format!("read: {e}")),
            Ok(n) => n,
        };
        let mut at = 0;
        while at < n {
            match state {
                State::Head => {
                    head.extend_from_slice(&buf[at..n]);
                    let Some(end) = head.windows(4).position(|w| w == b"\r\n\r\n") else {
                        at = n;
                        continue;
                    };
                    let text = String::from_utf8_lossy(&head[..end]).to_ascii_lowercase();
                    if !text.starts_with("http/1.1 200")
                        || !text.contains("transfer-encoding: chunked")
                    {
                        return fail(received, format!("unexpected head: {text}"));
                    }
                    at = n - (head.len() - (end + 4));
                    head = Vec::new();
                    heads.fetch_add(1, Ordering::Relaxed);
                    state = State::Size(0);
                }
                State::Size(size) => {
                    let b = buf[at];
                    at += 1;
                    let digit = match b {
                        b'0'..=b'9' => b - b'0',
                        b'a'..=b'f' => b - b'a' + 10,
                        b'A'..=b'F' => b - b'A' + 10,
                        b'\r' => {
                            state = State::SizeLf(size);
                            continue;
                        }
                        _ => return fail(received, format!("bad chunk size byte {b:#x}")),
                    };
                    state = State::Size(size * 16 + u64::from(digit));
                }
                State::SizeLf(size) => {
                    if buf[at] != b'\n' {
                        return fail(received, "chunk size line without LF".into());
                    }
                    at += 1;
                    state = if size == 0 {
                        State::Done
                    } else {
                        State::Data(size)
                    };
                }
                State::Data(left) => {
                    let take = (left as usize).min(n - at);
                    let data = &buf[at..at + take];
                    received.events += count_events(data, &mut last);
                    received.bytes += take as u64;
                    if let Some(v) = verifier.as_mut() {
                        v.feed(data);
                    }
                    at += take;
                    state = if take as u64 == left {
                        State::DataEnd(2)
                    } else {
                        State::Data(left - take as u64)
                    };
                }
                State::DataEnd(k) => {
                    at += 1; // CR, then LF
                    state = if k == 2 {
                        State::DataEnd(1)
                    } else {
                        State::Size(0)
                    };
                }
                State::Done => {
                    at = n;
                }
            }
        }
        if let State::Done = state {
            received.done = Some(Instant::now());
            if let Some(v) = verifier {
                received.error = v.error;
            }
            return received;
        }
    }
}

// ---- client: one run ------------------------------------------------------------------

struct Server {
    child: Child,
    stdin: ChildStdin,
    addr: SocketAddr,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_server(contender: &str, scenario: &str, events: u64, pin: Option<&str>) -> Server {
    let exe = std::env::current_exe().expect("current exe");
    let mut command = match pin {
        Some(cpu) => {
            let mut c = Command::new("taskset");
            c.arg("-c").arg(cpu).arg(exe);
            c
        }
        None => Command::new(exe),
    };
    for (key, value) in HyperConf::from_env().server_env() {
        command.env(key, value);
    }
    let mut child = command
        .env("LOOPBACK_ROLE", "server")
        .env("LOOPBACK_CONTENDER", contender)
        .env("LOOPBACK_SCENARIO", scenario)
        .env("LOOPBACK_EVENTS", events.to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start server");
    let addr = server::read_port(&mut child);
    let stdin = child.stdin.take().expect("stdin");
    Server { child, stdin, addr }
}

#[derive(Clone, Copy, Debug)]
struct Scenario {
    name: &'static str,
    kind: &'static str,
    connections: usize,
    events: u64,
    interval_ms: u64,
}

struct Run {
    scenario: &'static str,
    contender: &'static str,
    elapsed: Duration,
    user: Duration,
    system: Duration,
    /// This process's CPU time (user + system) over the same window.
    client: Duration,
    delivered: u64,
    ok: bool,
}

impl Run {
    fn events_per_s(&self) -> f64 {
        self.delivered as f64 / self.elapsed.as_secs_f64()
    }
    fn cpu_ns_per_event(&self) -> f64 {
        (self.user + self.system).as_secs_f64() * 1e9 / self.delivered as f64
    }
    fn client_ns_per_event(&self) -> f64 {
        self.client.as_secs_f64() * 1e9 / self.delivered as f64
    }
    fn kernel_share(&self) -> f64 {
        let total = (self.user + self.system).as_secs_f64();
        if total == 0.0 {
            0.0
        } else {
            self.system.as_secs_f64() / total
        }
    }
}

async fn connect(addr: SocketAddr) -> TcpStream {
    loop {
        match TcpStream::connect(addr).await {
            Ok(s) => return s,
            Err(e) => {
                eprintln!("connect: {e}; retrying");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

async fn run(s: Scenario, contender: &'static str, pin: Option<&str>) -> Run {
    // The server sizes its history / channel for the events of a fan-out.
    let mut server = start_server(contender, s.kind, s.events, pin);
    let pid = server.child.id();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let heads = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::with_capacity(s.connections);
    let mut cpu0 = cpu_times(pid);
    let mut client0 = cpu_times(std::process::id());
    let mut t0 = Instant::now();
    for i in 0..s.connections {
        let mut stream = connect(server.addr).await;
        stream
            .write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\nAccept: text/event-stream\r\n\r\n")
            .await
            .expect("send request");
        tasks.push(tokio::spawn(read_response(stream, heads.clone(), i == 0)));
    }
    if s.kind != "streams" {
        let deadline = Instant::now() + Duration::from_secs(60);
        while heads.load(Ordering::Relaxed) < s.connections {
            assert!(
                Instant::now() < deadline,
                "{contender}: subscribers did not connect"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        // Let the server finish its part of the last response heads.
        tokio::time::sleep(Duration::from_millis(200)).await;
        cpu0 = cpu_times(pid);
        client0 = cpu_times(std::process::id());
        t0 = Instant::now();
        writeln!(server.stdin, "{} {}", s.events, s.interval_ms).expect("publish command");
        server.stdin.flush().expect("publish command");
    }
    let results: Vec<Received> = {
        let mut out = Vec::with_capacity(tasks.len());
        for task in tasks {
            out.push(task.await.expect("reader"));
        }
        out
    };
    let cpu1 = cpu_times(pid);
    let client1 = cpu_times(std::process::id());
    let last = results
        .iter()
        .filter_map(|r| r.done)
        .max()
        .unwrap_or_else(Instant::now);
    let elapsed = last.saturating_duration_since(t0);
    drop(server); // the server closes first: its side keeps the TIME_WAITs

    let reference = results[0].bytes;
    let mut ok = true;
    for (i, r) in results.iter().enumerate() {
        let problem = if let Some(e) = &r.error {
            Some(e.clone())
        } else if r.events != s.events {
            Some(format!("{} events, {} expected", r.events, s.events))
        } else if r.bytes != reference {
            Some(format!("{} bytes, connection 0 got {reference}", r.bytes))
        } else {
            None
        };
        if let Some(p) = problem {
            if ok {
                eprintln!("{} / {contender}: connection {i}: {p}", s.name);
            }
            ok = false;
        }
    }
    Run {
        scenario: s.name,
        contender,
        elapsed,
        user: cpu1.0.saturating_sub(cpu0.0),
        system: cpu1.1.saturating_sub(cpu0.1),
        client: (client1.0 + client1.1).saturating_sub(client0.0 + client0.1),
        delivered: s.events * s.connections as u64,
        ok,
    }
}

// ---- client: the program ----------------------------------------------------------------

fn taskset_works() -> bool {
    Command::new("taskset")
        .args(["-c", "0", "true"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

fn client_main() {
    let smoke =
        std::env::args().any(|a| a == "--smoke") || std::env::var_os("LOOPBACK_SMOKE").is_some();
    // Pin: the client on CPU 0 (by running this program again under taskset), the
    // server on CPU 1.
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let pinned = std::env::var_os("LOOPBACK_PINNED").is_some();
    if !pinned && cores >= 2 && taskset_works() {
        let status = Command::new("taskset")
            .args(["-c", "0"])
            .arg(std::env::current_exe().expect("current exe"))
            .args(std::env::args_os().skip(1))
            .env("LOOPBACK_PINNED", "1")
            .status()
            .expect("run under taskset");
        std::process::exit(status.code().unwrap_or(1));
    }
    let pin = pinned.then_some("1");

    let scale = env_number::<f64>("LOOPBACK_SCALE", 0.1);
    let rounds = env_number::<f64>("LOOPBACK_ROUNDS", if smoke { 1.0 } else { 3.0 }) as usize;
    let only = std::env::var("LOOPBACK_ONLY").unwrap_or_default();
    let which = std::env::var("LOOPBACK_CONTENDERS").unwrap_or_default();
    let events = |full: f64| ((full * scale).round() as u64).max(1);
    let scenarios: Vec<Scenario> = if smoke {
        vec![
            Scenario {
                name: "streams 10 × 20,000",
                kind: "streams",
                connections: 10,
                events: 20_000,
                interval_ms: 0,
            },
            Scenario {
                name: "fan-out 1,000 to 500",
                kind: "fan-out",
                connections: 500,
                events: 1000,
                interval_ms: 0,
            },
            Scenario {
                name: "paced 10 × 100 ms to 1,000",
                kind: "paced",
                connections: 1000,
                events: 10,
                interval_ms: 100,
            },
        ]
    } else {
        let (a, b) = (events(200_000.0), events(10_000.0));
        let c = events(100.0).max(5);
        vec![
            Scenario {
                name: Box::leak(format!("streams 100 × {a}").into_boxed_str()),
                kind: "streams",
                connections: 100,
                events: a,
                interval_ms: 0,
            },
            Scenario {
                name: Box::leak(format!("fan-out {b} to 1,000").into_boxed_str()),
                kind: "fan-out",
                connections: 1000,
                events: b,
                interval_ms: 0,
            },
            Scenario {
                name: Box::leak(format!("fan-out {b} to 10,000").into_boxed_str()),
                kind: "fan-out",
                connections: 10_000,
                events: b,
                interval_ms: 0,
            },
            Scenario {
                name: Box::leak(format!("paced {c} × 100 ms to 10,000").into_boxed_str()),
                kind: "paced",
                connections: 10_000,
                events: c,
                interval_ms: 100,
            },
        ]
    };
    raise_nofile(15_000);
    println!(
        "loopback: {}, {rounds} round(s), contenders interleaved; {}; server hyper settings: {:?}",
        if smoke {
            "smoke".to_string()
        } else {
            format!("scale {scale}")
        },
        match pin {
            Some(_) => "client pinned to CPU 0, server to CPU 1 (taskset)".to_string(),
            None => format!("not pinned ({cores} core(s) or no taskset)"),
        },
        std::env::var("SERVER_HYPER").unwrap_or_else(|_| "default".into()),
    );
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let mut runs: Vec<Run> = Vec::new();
    for s in scenarios.iter().filter(|s| s.name.contains(only.as_str())) {
        for round in 1..=rounds {
            for contender in CONTENDERS
                .iter()
                .filter(|c| c.contains(which.as_str()) && runs_in(c, s.kind))
            {
                let r = rt.block_on(run(*s, contender, pin));
                println!(
                    "  {:<32} round {round}: {contender:<16} {:>12.0} events/s in {:>8.3} s, server CPU {:>7.1} ns/event ({:>3.0} % kernel), client CPU {:>6.1} ns/event {}",
                    s.name,
                    r.events_per_s(),
                    r.elapsed.as_secs_f64(),
                    r.cpu_ns_per_event(),
                    r.kernel_share() * 100.0,
                    r.client_ns_per_event(),
                    if r.ok { "ok" } else { "FAIL" }
                );
                runs.push(r);
            }
        }
    }
    report(&scenarios, &runs);
    if runs.iter().any(|r| !r.ok) {
        eprintln!("some connections did not receive exactly the expected events");
        std::process::exit(1);
    }
}

fn range(values: &[f64], digits: usize) -> String {
    let lo = values.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let (a, b) = (format!("{lo:.digits$}"), format!("{hi:.digits$}"));
    if a == b {
        a
    } else {
        format!("{a}–{b}")
    }
}

fn mega(v: f64) -> f64 {
    v / 1e6
}

/// The tables: events/s and server CPU per event per contender, and ssewire's ratios
/// against axum within each round (round i of ssewire against round i of axum).
fn report(scenarios: &[Scenario], runs: &[Run]) {
    println!();
    println!("| scenario | contender | events/s (M) | server CPU per event | kernel share | client CPU per event | ratio of events/s vs axum (per round) | axum CPU ÷ its CPU | outputs |");
    println!("|---|---|---:|---:|---:|---:|---:|---:|---|");
    for s in scenarios {
        let axum: Vec<&Run> = runs
            .iter()
            .filter(|r| r.scenario == s.name && r.contender == "axum")
            .collect();
        for contender in CONTENDERS {
            let rows: Vec<&Run> = runs
                .iter()
                .filter(|r| r.scenario == s.name && r.contender == contender)
                .collect();
            if rows.is_empty() {
                continue;
            }
            let eps: Vec<f64> = rows.iter().map(|r| mega(r.events_per_s())).collect();
            let cpu: Vec<f64> = rows.iter().map(|r| r.cpu_ns_per_event()).collect();
            let kernel: Vec<f64> = rows.iter().map(|r| r.kernel_share() * 100.0).collect();
            let client: Vec<f64> = rows.iter().map(|r| r.client_ns_per_event()).collect();
            let (speed, cpu_ratio) = if axum.len() == rows.len() && contender != "axum" {
                let speed: Vec<f64> = rows
                    .iter()
                    .zip(&axum)
                    .map(|(r, a)| r.events_per_s() / a.events_per_s())
                    .collect();
                let cpu_ratio: Vec<f64> = rows
                    .iter()
                    .zip(&axum)
                    .filter(|(r, a)| r.cpu_ns_per_event() > 0.0 && a.cpu_ns_per_event() > 0.0)
                    .map(|(r, a)| a.cpu_ns_per_event() / r.cpu_ns_per_event())
                    .collect();
                let cpu_ratio = if cpu_ratio.is_empty() {
                    "n/a (under one 10 ms tick)".to_string()
                } else {
                    format!("{}×", range(&cpu_ratio, 2))
                };
                (format!("{}×", range(&speed, 2)), cpu_ratio)
            } else {
                ("".into(), "".into())
            };
            println!(
                "| {} | {contender} | {} | {} ns | {} % | {} ns | {speed} | {cpu_ratio} | {} ({} runs) |",
                s.name,
                range(&eps, 2),
                range(&cpu, 0),
                range(&kernel, 0),
                range(&client, 0),
                if rows.iter().all(|r| r.ok) {
                    "ok"
                } else {
                    "FAIL"
                },
                rows.len()
            );
        }
    }
}
