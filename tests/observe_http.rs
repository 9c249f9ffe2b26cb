//! `StreamGroup` over real sockets: a real axum server on 127.0.0.1, raw TCP clients.
//! Whatever way a stream ends (clean end, client reset, stream error, shutdown signal,
//! maximum lifetime, hub lag disconnect, or a handler that drops the body before it
//! is sent), the open gauge returns to zero and the close is counted under exactly
//! one reason. The `tracing` events for open and close (with the reason) appear.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use futures_util::stream;
use ssewire::hub::{Config, LagPolicy, Topic};
use ssewire::{CloseReason, Event, KeepAlive, SseBody, StreamGroup, StreamStats};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

const WAIT: Duration = Duration::from_secs(20);

#[derive(Clone)]
struct App {
    group: StreamGroup,
    shutdown: watch::Receiver<bool>,
    topic: Topic,
}

fn app(group: StreamGroup, shutdown: watch::Receiver<bool>, topic: Topic) -> Router {
    Router::new()
        .route("/ended", get(ended))
        .route("/forever", get(forever))
        .route("/error", get(error))
        .route("/shutdown", get(shutdown_route))
        .route("/lifetime", get(lifetime))
        .route("/lag", get(lag))
        .route("/dropped", get(dropped))
        .with_state(App {
            group,
            shutdown,
            topic,
        })
}

async fn ended(State(app): State<App>) -> Response {
    let events = stream::iter(["a", "b", "c"].map(Event::with_data));
    SseBody::new(events).with_group(&app.group).into_response()
}

/// An event every 20 ms, forever (so that a write fails soon after a client reset).
async fn forever(State(app): State<App>) -> Response {
    let ticks = stream::unfold(0u64, |n| async move {
        tokio::time::sleep(Duration::from_millis(20)).await;
        Some((Event::new().id(n).data("tick"), n + 1))
    });
    SseBody::new(ticks)
        .with_keep_alive(KeepAlive::tokio())
        .with_group(&app.group)
        .into_response()
}

async fn error(State(app): State<App>) -> Response {
    let events = stream::iter([Ok(Event::with_data("1")), Err("database gone")]);
    SseBody::new(events).with_group(&app.group).into_response()
}

async fn shutdown_route(State(app): State<App>) -> Response {
    let mut signal = app.shutdown.clone();
    let signal = async move {
        let _ = signal.wait_for(|stop| *stop).await;
    };
    SseBody::new(stream::pending::<Event>())
        .with_open_event(Event::new().comment("hello"))
        .with_shutdown_signal(signal)
        .with_farewell(Event::new().comment("bye"))
        .with_group(&app.group)
        .into_response()
}

async fn lifetime(State(app): State<App>) -> Response {
    SseBody::new(stream::pending::<Event>())
        .with_max_lifetime(
            ssewire::TokioTimer,
            Duration::from_millis(100),
            Duration::ZERO,
        )
        .with_group(&app.group)
        .into_response()
}

async fn lag(State(app): State<App>) -> Response {
    app.topic
        .subscribe(None)
        .into_body()
        .with_open_event(Event::new().comment("subscribed"))
        .with_group(&app.group)
        .into_response()
}

/// The handler builds a body, then answers something else: nothing is counted.
async fn dropped(State(app): State<App>) -> Response {
    let body = SseBody::new(stream::iter([Event::with_data("never sent")])).with_group(&app.group);
    drop(body);
    (StatusCode::TOO_MANY_REQUESTS, "busy").into_response()
}

struct Server {
    addr: std::net::SocketAddr,
    group: StreamGroup,
    stop: watch::Sender<bool>,
    topic: Topic,
}

async fn serve() -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let group = StreamGroup::new("test");
    let (stop, shutdown) = watch::channel(false);
    let topic = Topic::new(
        Config::new()
            .with_max_lag(4)
            .with_lag_policy(LagPolicy::Disconnect),
    );
    let router = app(group.clone(), shutdown, topic.clone());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    Server {
        addr,
        group,
        stop,
        topic,
    }
}

/// Sends a GET and reads until the response head and `want` are in; returns the
/// socket and what it read.
async fn request(addr: std::net::SocketAddr, path: &str, want: &str) -> (TcpStream, String) {
    let mut socket = TcpStream::connect(addr).await.unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nHost: test\r\n\r\n");
    socket.write_all(request.as_bytes()).await.unwrap();
    let text = read_until(&mut socket, String::new(), want).await;
    (socket, text)
}

async fn read_until(socket: &mut TcpStream, mut text: String, want: &str) -> String {
    let mut buf = [0u8; 4096];
    tokio::time::timeout(WAIT, async {
        while !text.contains(want) {
            let n = socket.read(&mut buf).await.unwrap();
            assert!(n > 0, "connection closed before {want:?}; got {text:?}");
            text.push_str(&String::from_utf8_lossy(&buf[..n]));
        }
    })
    .await
    .unwrap_or_else(|_| panic!("no {want:?} in {text:?}"));
    text
}

/// Waits until the group's stats satisfy `done`.
async fn wait_for(group: &StreamGroup, what: &str, done: impl Fn(&StreamStats) -> bool) {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let stats = group.stats();
        if done(&stats) {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{what}: still {stats:?}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Exactly one close, for `reason`, and nothing open.
fn assert_closed_once(stats: &StreamStats, reason: CloseReason) {
    assert_eq!(
        (stats.open, stats.opened, stats.closed),
        (0, 1, 1),
        "{stats:?}"
    );
    for other in CloseReason::ALL {
        let expected = u64::from(other == reason);
        assert_eq!(stats.closed_by(other), expected, "{other} in {stats:?}");
    }
}

/// Closes `socket` with a RST instead of a FIN: SO_LINGER 0. (tokio deprecates
/// `set_linger` because a non-zero linger blocks the thread on drop; zero does not.)
#[allow(deprecated)]
fn reset(socket: TcpStream) {
    socket.set_linger(Some(Duration::ZERO)).unwrap();
    drop(socket);
}

/// The end of a chunked HTTP/1.1 body.
const LAST_CHUNK: &str = "\r\n0\r\n\r\n";

#[tokio::test]
async fn clean_end() {
    let server = serve().await;
    let (_socket, text) = request(server.addr, "/ended", LAST_CHUNK).await;
    assert!(text.contains("data: c\n\n"), "{text}");
    // The connection stays open (keep-alive): the body is dropped at its end anyway.
    wait_for(&server.group, "closed", |s| s.closed == 1).await;
    let stats = server.group.stats();
    assert_closed_once(&stats, CloseReason::Ended);
    assert_eq!(stats.events, 3);
    assert_eq!(stats.bytes, 3 * b"data: a\n\n".len() as u64);
    assert_eq!(stats.latency.samples(), 1, "the first chunk is timed");
}

#[tokio::test]
async fn client_reset() {
    let server = serve().await;
    let (socket, _) = request(server.addr, "/forever", "data: tick").await;
    wait_for(&server.group, "open", |s| s.open == 1).await;
    reset(socket);
    wait_for(&server.group, "closed", |s| s.closed == 1).await;
    let stats = server.group.stats();
    assert_closed_once(&stats, CloseReason::ClientGone);
    assert!(stats.events >= 1, "{stats:?}");
}

#[tokio::test]
async fn client_closes_cleanly() {
    let server = serve().await;
    let (mut socket, _) = request(server.addr, "/forever", "data: tick").await;
    socket.shutdown().await.unwrap(); // FIN
    drop(socket);
    wait_for(&server.group, "closed", |s| s.closed == 1).await;
    assert_closed_once(&server.group.stats(), CloseReason::ClientGone);
}

#[tokio::test]
async fn stream_error() {
    let server = serve().await;
    let (_socket, text) = request(server.addr, "/error", LAST_CHUNK).await;
    assert!(text.contains("data: 1\n\n"), "{text}");
    wait_for(&server.group, "closed", |s| s.closed == 1).await;
    assert_closed_once(&server.group.stats(), CloseReason::Error);
}

#[tokio::test]
async fn shutdown_signal() {
    let server = serve().await;
    let (mut socket, text) = request(server.addr, "/shutdown", ": hello\n").await;
    wait_for(&server.group, "open", |s| s.open == 1).await;
    server.stop.send(true).unwrap();
    let text = read_until(&mut socket, text, LAST_CHUNK).await;
    assert!(text.contains(": bye\n"), "{text}");
    wait_for(&server.group, "closed", |s| s.closed == 1).await;
    let stats = server.group.stats();
    assert_closed_once(&stats, CloseReason::Shutdown);
    assert_eq!(stats.events, 2, "the opening event and the farewell");
}

#[tokio::test]
async fn max_lifetime() {
    let server = serve().await;
    let (_socket, _) = request(server.addr, "/lifetime", LAST_CHUNK).await;
    wait_for(&server.group, "closed", |s| s.closed == 1).await;
    assert_closed_once(&server.group.stats(), CloseReason::Lifetime);
}

/// On this current-thread runtime, the burst of publications runs before the server
/// can poll the subscriber again, so it falls more than `max_lag` behind.
#[tokio::test]
async fn lag_disconnect() {
    let server = serve().await;
    let (mut socket, text) = request(server.addr, "/lag", ": subscribed\n").await;
    wait_for(&server.group, "open", |s| s.open == 1).await;
    for n in 0..20 {
        server.topic.publish(Event::with_data(n.to_string()));
    }
    read_until(&mut socket, text, LAST_CHUNK).await;
    wait_for(&server.group, "closed", |s| s.closed == 1).await;
    assert_closed_once(&server.group.stats(), CloseReason::Lag);
    assert_eq!(server.topic.stats().disconnected_for_lag, 1);
}

#[tokio::test]
async fn handler_dropped_the_body_before_polling() {
    let server = serve().await;
    let (_socket, text) = request(server.addr, "/dropped", "busy").await;
    assert!(text.starts_with("HTTP/1.1 429"), "{text}");
    let stats = server.group.stats();
    assert_eq!(stats, StreamGroup::new("empty").stats(), "nothing counted");
}

/// Many streams at once, ended every way: the gauge counts them all, then zero.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_streams_every_way() {
    let server = serve().await;
    let mut resets = Vec::new();
    for _ in 0..10 {
        resets.push(request(server.addr, "/forever", "data: tick").await.0);
    }
    let mut ended = Vec::new();
    for _ in 0..10 {
        ended.push(request(server.addr, "/ended", LAST_CHUNK).await.0);
    }
    for _ in 0..5 {
        let _ = request(server.addr, "/dropped", "busy").await;
    }
    wait_for(&server.group, "ten open", |s| {
        s.open == 10 && s.closed == 10
    })
    .await;
    for socket in resets {
        reset(socket);
    }
    wait_for(&server.group, "all closed", |s| {
        s.open == 0 && s.closed == 20
    })
    .await;
    let stats = server.group.stats();
    assert_eq!(stats.opened, 20);
    assert_eq!(stats.closed_by(CloseReason::Ended), 10);
    assert_eq!(stats.closed_by(CloseReason::ClientGone), 10);
    drop(ended);
}

// ---- tracing ------------------------------------------------------------------------

/// Records every event as "target message field=value ...".
#[derive(Clone, Default)]
struct Recorder(Arc<Mutex<Vec<String>>>);

struct Fields(String);

impl tracing::field::Visit for Fields {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            self.0 = format!("{value:?} {}", self.0);
        } else {
            self.0.push_str(&format!("{}={value:?} ", field.name()));
        }
    }
    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        self.0.push_str(&format!("{}={value} ", field.name()));
    }
}

impl tracing::Subscriber for Recorder {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        let mut fields = Fields(String::new());
        event.record(&mut fields);
        let line = format!("{} {}", event.metadata().target(), fields.0.trim_end());
        self.0.lock().unwrap().push(line);
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

impl Recorder {
    fn lines(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }
}

/// The server runs on this (current-thread) runtime, so a thread-local subscriber
/// sees its events.
#[tokio::test]
async fn tracing_events_for_open_close_resume_and_lag() {
    let recorder = Recorder::default();
    let _guard = tracing::subscriber::set_default(recorder.clone());
    let server = serve().await;

    let (_socket, _) = request(server.addr, "/ended", LAST_CHUNK).await;
    wait_for(&server.group, "closed", |s| s.closed == 1).await;
    let (mut socket, text) = request(server.addr, "/lag", ": subscribed\n").await;
    wait_for(&server.group, "open", |s| s.open == 1).await;
    for n in 0..20 {
        server.topic.publish(Event::with_data(n.to_string()));
    }
    read_until(&mut socket, text, LAST_CHUNK).await;
    wait_for(&server.group, "closed", |s| s.closed == 2).await;

    let lines = recorder.lines();
    let has = |want: &str| lines.iter().any(|line| line == want);
    for want in [
        "ssewire::stream sse stream opened group=test",
        "ssewire::stream sse stream closed group=test reason=ended",
        "ssewire::hub hub subscription: new outcome=new",
        // The 20 events it had not received when it was cut off.
        "ssewire::hub hub subscriber lagged: disconnect action=disconnect missed=20",
        "ssewire::stream sse stream closed group=test reason=lag",
    ] {
        assert!(has(want), "no {want:?} in {lines:#?}");
    }
}
