//! What an idle SSE connection costs the server: CPU and memory of N open connections
//! on which nothing is published, only keep-alives (issue 11, item 2).
//!
//! ```text
//! cargo bench -p ssewire-benches --bench idle                       # smoke: 2,000 connections
//! IDLE_CONNECTIONS=10000 IDLE_WINDOW_S=20 IDLE_ROUNDS=2 \
//!     cargo bench -p ssewire-benches --bench idle                   # the README's numbers
//! ```
//!
//! One run of this program measures every contender, interleaved (round 1: A, B, C;
//! round 2: A, B, C...). For each contender, the program (the client) starts itself
//! again as a server process (`IDLE_ROLE=server`), so that the server's CPU time is
//! its own: the same hyper 1 HTTP/1.1 server and tokio multi-thread runtime for all,
//! only the response body differs:
//!
//! - `ssewire hub`: `SseBody::new(topic.subscribe(None)).with_keep_alive(ka.clone())`,
//!   every connection subscribed to one `hub::Topic` on which nothing is published;
//! - `ssewire SseBody`: `SseBody::new(stream::pending::<Event>()).with_keep_alive(..)`;
//! - `axum Sse`: `Sse::new(stream::pending()).keep_alive(KeepAlive::new().interval(..))`
//!   (axum 0.8), `into_response()`.
//!
//! All keep-alives use the same interval (`IDLE_INTERVAL_MS`, default 1,000). The client
//! (this process, one current-thread tokio runtime) opens `IDLE_CONNECTIONS` (default
//! 2,000) connections on 127.0.0.1, sends `GET /`, and counts the keep-alives each one
//! receives (one `:` per keep-alive after the response head: both libraries send a
//! comment line, and chunk-size lines hold none). Once every connection has received two
//! keep-alives and a further `IDLE_SETTLE_S` (default 2) seconds have passed, it reads the
//! server's user+system CPU time (`/proc/<pid>/stat`, clock ticks of 10 ms) and the
//! keep-alive counts, waits `IDLE_WINDOW_S` (default 5) seconds and reads them again.
//! RSS per connection = (server's VmRSS at the end of the window − its VmRSS before the
//! first connection) / N: the connection's hyper state, its task, the body, and their
//! share of the timer and allocator; the kernel's socket buffers are not in it.
//!
//! Outputs are checked: every connection must have received keep-alives at about one
//! per interval during the window (at least half the expected number, and a mean of
//! 0.8 to 1.25 per interval); a contender that fails is marked `FAIL` and the program
//! exits non-zero. `IDLE_ROUNDS` (default 1) repeats the whole set; `IDLE_ONLY=axum`
//! (a substring of the contender's name) runs only matching contenders.
//!
//! Server settings: `IDLE_HYPER` is a `;`-separated list of hyper/runtime settings
//! (each a `SERVER_HYPER` string, see `loopback/server.rs`: `default`, `writev=false`,
//! `max_buf=8192`, `half_close`, `auto`, `timer,hrt_off`, `workers=1`, `arena=1`...);
//! every contender runs with each of them, interleaved, and the rows are labelled with
//! it. The default is hyper's defaults alone. The README's "Many connections" recipe
//! comes from:
//!
//! ```text
//! IDLE_CONNECTIONS=10000 IDLE_WINDOW_S=3 IDLE_ROUNDS=3 IDLE_ONLY=SseBody \
//!   IDLE_HYPER='default;writev=false;max_buf=8192;half_close;auto;timer,hrt_off;workers=1;arena=1;arena=1,workers=1' \
//!   cargo bench -p ssewire-benches --bench idle
//! ```

use std::convert::Infallible;
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

#[path = "loopback/server.rs"]
mod server;

use server::{env_number, raise_nofile};
use server::{rss, serve, HyperConf};

/// The library's API, in one place (the only lines that differ from a copy of this
/// bench built against an older ssewire).
mod api {
    use std::time::Duration;

    use futures_util::stream;
    use ssewire::hub::{Config, Topic};
    use ssewire::{Event, KeepAlive, SseBody};

    pub fn keep_alive(interval: Duration) -> KeepAlive {
        KeepAlive::tokio().with_interval(interval)
    }

    pub fn topic() -> Topic {
        Topic::new(Config::default())
    }

    pub fn hub_body(topic: &Topic, ka: &KeepAlive) -> SseBody<ssewire::hub::Subscriber> {
        SseBody::new(topic.subscribe(None)).with_keep_alive(ka.clone())
    }

    pub fn plain_body(ka: &KeepAlive) -> SseBody<stream::Pending<Event>> {
        SseBody::new(stream::pending::<Event>()).with_keep_alive(ka.clone())
    }
}

const CONTENDERS: [&str; 3] = ["ssewire hub", "ssewire SseBody", "axum Sse"];

/// Run only when `IDLE_ONLY` names them: what the app side changes (one `KeepAlive`
/// per body instead of one shared by all: what not to do).
const EXTRA: [&str; 1] = ["ssewire SseBody, KeepAlive per body"];

fn main() {
    if std::env::var("IDLE_ROLE").as_deref() == Ok("server") {
        server();
    } else {
        client();
    }
}

// ---- server --------------------------------------------------------------------------

fn server() {
    let contender = std::env::var("IDLE_CONTENDER").expect("IDLE_CONTENDER");
    let interval = Duration::from_millis(env_number::<u64>("IDLE_INTERVAL_MS", 1000));
    let n = env_number::<u64>("IDLE_CONNECTIONS", 2000);
    raise_nofile(n + 1000);
    let conf = HyperConf::from_env();
    let rt = conf.runtime();
    rt.block_on(async move {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        println!("{}", listener.local_addr().expect("addr").port());
        match contender.as_str() {
            "ssewire hub" => {
                let ka = api::keep_alive(interval);
                let topic = api::topic();
                serve(listener, conf, move || api::hub_body(&topic, &ka)).await
            }
            "ssewire SseBody, KeepAlive per body" => {
                serve(listener, conf, move || {
                    api::plain_body(&api::keep_alive(interval))
                })
                .await
            }
            "ssewire SseBody" => {
                let ka = api::keep_alive(interval);
                serve(listener, conf, move || api::plain_body(&ka)).await
            }
            "axum Sse" => {
                use axum::response::sse::{Event, KeepAlive, Sse};
                use axum::response::IntoResponse;
                serve(listener, conf, move || {
                    let stream = futures_util::stream::pending::<Result<Event, Infallible>>();
                    Sse::new(stream)
                        .keep_alive(KeepAlive::new().interval(interval))
                        .into_response()
                        .into_body()
                })
                .await
            }
            other => panic!("unknown contender {other:?}"),
        }
    });
}

// ---- client --------------------------------------------------------------------------

/// CPU time (user + system) of a process.
fn cpu_time(pid: u32) -> Duration {
    let (user, system) = server::cpu_times(pid);
    user + system
}

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_server(contender: &str, hyper: &str) -> (Server, SocketAddr) {
    let mut command = Command::new(std::env::current_exe().expect("current exe"));
    for (key, value) in HyperConf::parse(hyper).server_env() {
        command.env(key, value);
    }
    let mut child = command
        .env("SERVER_HYPER", hyper)
        .env("IDLE_ROLE", "server")
        .env("IDLE_CONTENDER", contender)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start server");
    let addr = server::read_port(&mut child);
    (Server(child), addr)
}

/// Reads one connection forever, counting the `:` after the response head.
async fn read_connection(mut stream: TcpStream, count: Arc<AtomicU64>) {
    let mut buf = vec![0u8; 4096];
    let mut head = Vec::new();
    let mut in_body = false;
    loop {
        let n = match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        let mut bytes = &buf[..n];
        if !in_body {
            head.extend_from_slice(bytes);
            let Some(end) = head.windows(4).position(|w| w == b"\r\n\r\n") else {
                continue;
            };
            assert!(head.starts_with(b"HTTP/1.1 200"), "unexpected response");
            in_body = true;
            let body_start = end + 4 - (head.len() - n);
            bytes = &buf[body_start..n];
            head = Vec::new();
        }
        let colons = bytes.iter().filter(|&&b| b == b':').count() as u64;
        count.fetch_add(colons, Ordering::Relaxed);
    }
}

struct Measured {
    contender: &'static str,
    hyper: String,
    cpu_fraction: f64,
    cpu_us_per_conn_s: f64,
    rss_per_conn: f64,
    ka_min: u64,
    ka_max: u64,
    ka_mean_per_interval: f64,
    ok: bool,
}

async fn measure(
    contender: &'static str,
    hyper: &str,
    n: usize,
    interval: Duration,
    settle: Duration,
    window: Duration,
) -> Measured {
    let (server, addr) = start_server(contender, hyper);
    let pid = server.0.id();
    // Let the server's runtime start its threads before taking its base RSS.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let rss_before = rss(pid);

    let counts: Vec<Arc<AtomicU64>> = (0..n).map(|_| Arc::new(AtomicU64::new(0))).collect();
    let mut tasks = Vec::with_capacity(n);
    for count in &counts {
        let mut stream = loop {
            match TcpStream::connect(addr).await {
                Ok(s) => break s,
                Err(e) => {
                    eprintln!("connect: {e}; retrying");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        };
        stream
            .write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\nAccept: text/event-stream\r\n\r\n")
            .await
            .expect("send request");
        tasks.push(tokio::spawn(read_connection(stream, count.clone())));
    }

    // Settle: every connection has its response and two keep-alives.
    let deadline = Instant::now() + interval * 10 + Duration::from_secs(n as u64 / 500);
    while counts.iter().any(|c| c.load(Ordering::Relaxed) < 2) {
        assert!(
            Instant::now() < deadline,
            "{contender}: connections did not settle"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(settle).await;

    let before: Vec<u64> = counts.iter().map(|c| c.load(Ordering::Relaxed)).collect();
    let cpu0 = cpu_time(pid);
    let t0 = Instant::now();
    tokio::time::sleep(window).await;
    let cpu1 = cpu_time(pid);
    let elapsed = t0.elapsed();
    let after: Vec<u64> = counts.iter().map(|c| c.load(Ordering::Relaxed)).collect();
    let rss_after = rss(pid);

    for task in &tasks {
        task.abort();
    }
    drop(server);

    let deltas: Vec<u64> = before.iter().zip(&after).map(|(b, a)| a - b).collect();
    let expected = elapsed.as_secs_f64() / interval.as_secs_f64();
    let ka_min = *deltas.iter().min().unwrap_or(&0);
    let ka_max = *deltas.iter().max().unwrap_or(&0);
    let mean = deltas.iter().sum::<u64>() as f64 / n as f64;
    let ka_mean_per_interval = mean / expected;
    let ok = ka_min as f64 >= expected / 2.0 && (0.8..=1.25).contains(&ka_mean_per_interval);
    let cpu = (cpu1 - cpu0).as_secs_f64();
    Measured {
        contender,
        hyper: hyper.to_string(),
        cpu_fraction: cpu / elapsed.as_secs_f64(),
        cpu_us_per_conn_s: cpu * 1e6 / elapsed.as_secs_f64() / n as f64,
        rss_per_conn: rss_after.saturating_sub(rss_before) as f64 / n as f64,
        ka_min,
        ka_max,
        ka_mean_per_interval,
        ok,
    }
}

fn client() {
    let n = env_number::<u64>("IDLE_CONNECTIONS", 2000) as usize;
    let interval = Duration::from_millis(env_number::<u64>("IDLE_INTERVAL_MS", 1000));
    let window = Duration::from_secs(env_number::<u64>("IDLE_WINDOW_S", 5));
    let settle = Duration::from_secs(env_number::<u64>("IDLE_SETTLE_S", 2));
    let rounds = env_number::<u64>("IDLE_ROUNDS", 1);
    let only = std::env::var("IDLE_ONLY").unwrap_or_default();
    let hypers_text = std::env::var("IDLE_HYPER").unwrap_or_else(|_| "default".into());
    let hypers: Vec<&str> = hypers_text.split(';').map(str::trim).collect();
    let contenders: Vec<&'static str> = CONTENDERS
        .iter()
        .filter(|c| c.contains(only.as_str()))
        .chain(
            EXTRA
                .iter()
                .filter(|c| !only.is_empty() && c.contains(only.as_str())),
        )
        .copied()
        .collect();
    raise_nofile(n as u64 + 1000);

    println!(
        "idle connections: {n} per contender, keep-alive every {interval:?}, CPU over {window:?} \
         after settling, {rounds} round(s), contenders interleaved; server in its own process"
    );
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let mut results = Vec::new();
    for round in 1..=rounds {
        for (contender, hyper) in contenders
            .iter()
            .flat_map(|c| hypers.iter().map(move |h| (*c, *h)))
        {
            let m = rt.block_on(measure(contender, hyper, n, interval, settle, window));
            println!(
                "  round {round}: {contender:<16} [{hyper}] {:>6.1} % of a core, {:>6.2} µs/conn/s, {:>6.0} B/conn, \
                 keep-alives per connection {}..{} (mean {:.2} per interval) {}",
                m.cpu_fraction * 100.0,
                m.cpu_us_per_conn_s,
                m.rss_per_conn,
                m.ka_min,
                m.ka_max,
                m.ka_mean_per_interval,
                if m.ok { "ok" } else { "FAIL" }
            );
            results.push(m);
        }
    }

    println!();
    println!("| server | % of a core | CPU µs per connection per second | RSS per connection | keep-alives per connection per interval | outputs |");
    println!("|---|---:|---:|---:|---:|---|");
    let mut all_ok = true;
    for (contender, hyper) in contenders
        .iter()
        .flat_map(|c| hypers.iter().map(move |h| (*c, *h)))
    {
        let rows: Vec<&Measured> = results
            .iter()
            .filter(|m| m.contender == contender && m.hyper == hyper)
            .collect();
        if rows.is_empty() {
            continue;
        }
        let range = |f: &dyn Fn(&Measured) -> f64, digits: usize| {
            let lo = rows.iter().map(|m| f(m)).fold(f64::INFINITY, f64::min);
            let hi = rows.iter().map(|m| f(m)).fold(f64::NEG_INFINITY, f64::max);
            if rows.len() == 1 || format!("{lo:.digits$}") == format!("{hi:.digits$}") {
                format!("{lo:.digits$}")
            } else {
                format!("{lo:.digits$}–{hi:.digits$}")
            }
        };
        let ok = rows.iter().all(|m| m.ok);
        all_ok &= ok;
        println!(
            "| {contender}{} | {} % | {} | {} B | {} | {} ({} runs) |",
            if hyper == "default" {
                String::new()
            } else {
                format!(" [{hyper}]")
            },
            range(&|m| m.cpu_fraction * 100.0, 1),
            range(&|m| m.cpu_us_per_conn_s, 2),
            range(&|m| m.rss_per_conn, 0),
            range(&|m| m.ka_mean_per_interval, 2),
            if ok { "ok" } else { "FAIL" },
            rows.len(),
        );
    }
    if !all_ok {
        eprintln!("some connections did not receive a keep-alive per interval");
        std::process::exit(1);
    }
}
