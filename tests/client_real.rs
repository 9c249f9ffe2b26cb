//! The client against real servers nobody here wrote, written the way their tutorials
//! write them: a Node Express server (`tests/e2e/express_server.mjs`, npm `express`)
//! and a Python sse-starlette server (`tests/python/client_server.py`, PyPI), killed
//! and restarted mid-stream.
//!
//! `#[ignore]`d: run with `cargo test --test client_real -- --ignored` after
//! `npm ci --prefix tests/e2e` and
//! `python3 -m venv tests/python/.venv && tests/python/.venv/bin/pip install -r tests/python/requirements.txt`.
//! Without them a test is skipped with a message, or fails when `CI=true`.

use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use ssewire::client::{Config, Error, EventSource, Item, RetryCause};

#[derive(Clone, Copy, Debug)]
enum Kind {
    Express,
    Starlette,
}

struct Server {
    kind: Kind,
    port: u16,
    child: Child,
}

/// The `tests/` folder (this package's manifest directory).
fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn missing(what: &str) -> Option<Server> {
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("{what} is missing (CI=true: the real-server client tests must run)");
    }
    eprintln!("skipped: {what} is missing");
    None
}

impl Server {
    fn start(kind: Kind) -> Option<Server> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        match kind {
            Kind::Express if !root().join("e2e/node_modules/express").exists() => {
                return missing("tests/e2e/node_modules/express (npm ci --prefix tests/e2e)");
            }
            Kind::Starlette if !root().join("python/.venv/bin/uvicorn").exists() => {
                return missing(
                    "tests/python/.venv with sse-starlette and uvicorn \
                     (pip install -r tests/python/requirements.txt)",
                );
            }
            _ => {}
        }
        Some(Server::spawn(kind, port))
    }

    fn spawn(kind: Kind, port: u16) -> Server {
        let mut command = match kind {
            Kind::Express => {
                let mut c = Command::new("node");
                c.arg("express_server.mjs").current_dir(root().join("e2e"));
                c
            }
            Kind::Starlette => {
                let mut c = Command::new(python());
                c.args([
                    "-m",
                    "uvicorn",
                    "client_server:app",
                    "--log-level",
                    "warning",
                ])
                .args(["--host", "127.0.0.1", "--port"])
                .current_dir(root().join("python"));
                c
            }
        };
        command.arg(port.to_string());
        let child = command
            .stdout(Stdio::null())
            .stdin(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start the {kind:?} server: {e}"));
        let server = Server { kind, port, child };
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "{kind:?} server did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        server
    }

    fn url(&self, path: &str) -> http::Uri {
        format!("http://127.0.0.1:{}{path}", self.port)
            .parse()
            .unwrap()
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    fn restart(&mut self) {
        self.kill();
        *self = Server::spawn(self.kind, self.port);
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

fn python() -> PathBuf {
    root().join("python/.venv/bin/python")
}

fn quick() -> Config {
    Config::new()
        .with_jitter(0.0)
        .with_reconnection_time(Duration::from_millis(200))
        .with_min_reconnection_time(Duration::from_millis(50))
        .with_max_reconnection_time(Duration::from_secs(1))
}

fn hyper(uri: http::Uri) -> EventSource {
    EventSource::hyper(uri).with_config(quick())
}

/// Items as lines (see `client_support::run`), until the end, within 60 s.
async fn lines(source: &mut EventSource) -> Vec<String> {
    let mut out = vec![];
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let item = tokio::time::timeout_at(deadline, source.next())
            .await
            .unwrap_or_else(|_| panic!("timed out; so far: {out:?}"));
        let Some(item) = item else {
            out.push("end".into());
            return out;
        };
        out.push(match item {
            Ok(Item::Open(open)) => format!("open {}", open.last_event_id),
            Ok(Item::Event(e)) => {
                format!(
                    "event {} {} {}",
                    e.event_type(),
                    e.last_event_id(),
                    e.data()
                )
            }
            Ok(Item::Retrying(r)) => match r.cause {
                RetryCause::EndOfStream => format!("retry end {}", r.delay.as_millis()),
                RetryCause::IdleTimeout => "retry idle".into(),
                RetryCause::Status { status, .. } => format!("retry {}", status.as_u16()),
                _ => "retry".into(),
            },
            Ok(Item::Skipped(e)) => format!("skipped {}", e.limit()),
            Ok(_) => "other".into(),
            Err(Error::Response(r)) => format!("error {}", r.status().as_u16()),
            Err(e) => format!("error {e}"),
        });
    }
}

/// Follows 30 events while the server is killed twice; checks every event arrives
/// exactly once and every reconnect sends the id of the last event seen.
async fn resume_across_kills(kind: Kind, make: fn(http::Uri) -> EventSource) {
    let Some(mut server) = Server::start(kind) else {
        return;
    };
    let mut source = make(server.url("/events?total=30&interval=20"));
    let mut ids = vec![];
    let mut opens = vec![];
    let deadline = tokio::time::Instant::now() + Duration::from_secs(90);
    while let Some(item) = tokio::time::timeout_at(deadline, source.next())
        .await
        .expect("timed out")
    {
        match item.expect("no fatal error") {
            Item::Open(open) => opens.push((open.last_event_id, ids.last().copied())),
            Item::Event(event) => {
                ids.push(event.last_event_id().parse::<u32>().unwrap());
                assert_eq!(event.data(), format!("event {}", ids.last().unwrap()));
                if ids.len() == 10 || ids.len() == 20 {
                    server.kill();
                    // Down for a while: the client meets refused connections.
                    tokio::time::sleep(Duration::from_millis(300)).await;
                    server.restart();
                }
            }
            _ => {}
        }
    }
    assert_eq!(
        ids,
        (1..=30).collect::<Vec<_>>(),
        "every event exactly once"
    );
    assert!(opens.len() >= 3, "{opens:?}");
    assert_eq!(opens[0].0, "");
    for (sent, last_seen) in &opens[1..] {
        assert_eq!(sent, &last_seen.unwrap().to_string());
    }
    assert_eq!(source.stats().events, 30);
}

async fn status_204_stops(kind: Kind) {
    let Some(server) = Server::start(kind) else {
        return;
    };
    let mut source = hyper(server.url("/204"));
    assert_eq!(lines(&mut source).await, ["end"]);
}

async fn status_500_fails(kind: Kind) {
    let Some(server) = Server::start(kind) else {
        return;
    };
    let mut source = hyper(server.url("/status/500"));
    match source.next().await {
        Some(Err(Error::Response(r))) => {
            assert_eq!(r.status(), 500);
            assert_eq!(r.body().as_ref(), b"status 500");
        }
        other => panic!("{other:?}"),
    }
    assert!(source.next().await.is_none());
}

async fn status_503_retry_after(kind: Kind) {
    let Some(server) = Server::start(kind) else {
        return;
    };
    let mut source =
        EventSource::hyper(server.url("/busy")).with_config(quick().with_retry_server_errors(true));
    let started = Instant::now();
    let mut items = lines(&mut source).await;
    items.retain(|l| !l.starts_with("retry end"));
    assert_eq!(
        items,
        [
            "retry 503",
            "open ",
            "event message 1 event 1",
            "event message 2 event 2",
            "end"
        ]
    );
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "Retry-After: 1 honoured"
    );
}

async fn redirect_keeps_last_event_id(kind: Kind) {
    let Some(server) = Server::start(kind) else {
        return;
    };
    let mut source = hyper(server.url("/redirect"));
    assert_eq!(
        lines(&mut source).await,
        [
            "open ",
            "event message 1 event 1",
            "event message 2 event 2",
            "event message 3 event 3",
            "retry end 100",
            "end"
        ]
    );
}

async fn wrong_content_type_fails(kind: Kind) {
    let Some(server) = Server::start(kind) else {
        return;
    };
    let mut source = hyper(server.url("/html"));
    match source.next().await {
        Some(Err(Error::Response(r))) => {
            assert_eq!(r.status(), 200);
            assert!(r
                .content_type()
                .unwrap()
                .to_str()
                .unwrap()
                .starts_with("text/html"));
            assert_eq!(r.body().as_ref(), b"<p>not a stream</p>");
        }
        other => panic!("{other:?}"),
    }
}

async fn retry_changes_apply(kind: Kind) {
    let Some(server) = Server::start(kind) else {
        return;
    };
    let mut source = hyper(server.url("/retry"));
    assert_eq!(
        lines(&mut source).await,
        [
            "open ",
            "event message 1 a",
            "retry end 300",
            "open 1",
            "event message 2 b",
            "retry end 700",
            "end"
        ]
    );
}

async fn idle_server_times_out(kind: Kind) {
    let Some(server) = Server::start(kind) else {
        return;
    };
    let mut source = EventSource::hyper(server.url("/idle"))
        .with_config(quick().with_idle_timeout(Some(Duration::from_millis(500))));
    assert_eq!(
        lines(&mut source).await,
        ["open ", "event message 1 hello", "retry idle", "end"]
    );
}

async fn trickle_one_byte_at_a_time(kind: Kind) {
    let Some(server) = Server::start(kind) else {
        return;
    };
    let mut source = hyper(server.url("/trickle"));
    let items = lines(&mut source).await;
    assert_eq!(
        items,
        [
            "open ",
            "event message 1 one\ntwo",
            "event tick 2 x",
            "retry end 200",
            "end"
        ]
    );
    assert!(source.stats().bytes >= 40);
}

/// The peak RSS is one number for the whole test process: the tests that measure it
/// take turns, and each starts from a fresh peak.
static PEAK_RSS_TURN: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Resets the process's peak RSS to its current RSS (Linux, `clear_refs` 5).
fn reset_peak_rss() {
    std::fs::write("/proc/self/clear_refs", "5").expect("reset the peak RSS");
}

fn peak_rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM in /proc/self/status")
}

async fn huge_line_is_bounded(kind: Kind) {
    let Some(server) = Server::start(kind) else {
        return;
    };
    let _turn = PEAK_RSS_TURN.lock().await;
    reset_peak_rss();
    let before = peak_rss_kib();
    let mut source = hyper(server.url("/huge"));
    let items = lines(&mut source).await;
    let limit = ssewire::Decoder::DEFAULT_MAX_LINE_SIZE;
    assert_eq!(
        items,
        [
            "open ".to_string(),
            format!("skipped {limit}"),
            "event message 1 after".into(),
            "retry end 200".into(),
            "end".into()
        ]
    );
    assert!(source.stats().bytes > 100 << 20);
    let grown_mib = peak_rss_kib().saturating_sub(before) / 1024;
    assert!(
        grown_mib < 48,
        "peak RSS grew by {grown_mib} MiB for a 100 MiB line"
    );
}

macro_rules! real_server_tests {
    ($($name:ident: $body:expr;)*) => {$(
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        #[ignore = "needs node + npm express and python + sse-starlette; run with --ignored"]
        async fn $name() {
            $body.await
        }
    )*};
}

real_server_tests! {
    express_resume_across_kills_exactly_once: resume_across_kills(Kind::Express, hyper);
    starlette_resume_across_kills_exactly_once: resume_across_kills(Kind::Starlette, hyper);
    express_204_stops: status_204_stops(Kind::Express);
    starlette_204_stops: status_204_stops(Kind::Starlette);
    express_500_fails: status_500_fails(Kind::Express);
    starlette_500_fails: status_500_fails(Kind::Starlette);
    express_503_retry_after_honoured: status_503_retry_after(Kind::Express);
    starlette_503_retry_after_honoured: status_503_retry_after(Kind::Starlette);
    express_redirect_keeps_last_event_id: redirect_keeps_last_event_id(Kind::Express);
    starlette_redirect_keeps_last_event_id: redirect_keeps_last_event_id(Kind::Starlette);
    express_wrong_content_type_fails: wrong_content_type_fails(Kind::Express);
    starlette_wrong_content_type_fails: wrong_content_type_fails(Kind::Starlette);
    express_retry_changes_apply: retry_changes_apply(Kind::Express);
    starlette_retry_changes_apply: retry_changes_apply(Kind::Starlette);
    express_idle_server_times_out: idle_server_times_out(Kind::Express);
    starlette_idle_server_times_out: idle_server_times_out(Kind::Starlette);
    express_trickle_one_byte_at_a_time: trickle_one_byte_at_a_time(Kind::Express);
    starlette_trickle_one_byte_at_a_time: trickle_one_byte_at_a_time(Kind::Starlette);
    express_100_mib_line_is_bounded: huge_line_is_bounded(Kind::Express);
    starlette_100_mib_line_is_bounded: huge_line_is_bounded(Kind::Starlette);
}

#[cfg(feature = "client-reqwest")]
fn reqwest(uri: http::Uri) -> EventSource {
    EventSource::reqwest(uri).with_config(quick())
}

#[cfg(feature = "client-reqwest")]
real_server_tests! {
    express_resume_over_reqwest: resume_across_kills(Kind::Express, reqwest);
    starlette_resume_over_reqwest: resume_across_kills(Kind::Starlette, reqwest);
}
