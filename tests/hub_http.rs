//! The hub behind a real axum server on a real socket, read by real HTTP clients:
//! a stalled client does not slow the others or the publisher and costs no memory
//! beyond the history; each lag policy happens to it; a client that reconnects with
//! `Last-Event-ID` resumes exactly or is told its history was lost; a client that
//! goes away is cleaned up at once; closing the hub lets a graceful shutdown finish.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::HeaderMap;
use axum::routing::get;
use axum::Router;
use bytes::{Buf, BytesMut};
use http_body_util::{BodyExt, Empty};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use ssewire::hub::{Config, Hub, LagPolicy, Subscriber, Topic};
use ssewire::{Event, EventId, EventType, KeepAlive, SseBody};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::time::timeout;

#[path = "common/spec_parser.rs"]
#[allow(dead_code)]
mod spec_parser;

const WAIT: Duration = Duration::from_secs(20);

async fn events(State(topic): State<Topic>, headers: HeaderMap) -> SseBody<Subscriber> {
    let last_id: Option<EventId> = ssewire::last_event_id(&headers).ok().flatten();
    topic.subscribe(last_id.as_ref()).into_body()
}

/// Serves `topic` at `/events`; returns the address.
async fn serve(topic: Topic) -> std::net::SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = Router::new()
        .route("/events", get(events))
        .with_state(topic);
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Got {
    event_type: String,
    id: String,
    data: String,
}

/// A client reading an event stream over hyper's HTTP/1.1 client.
struct Client {
    body: Incoming,
    buf: BytesMut,
}

impl Client {
    async fn connect(addr: std::net::SocketAddr, last_event_id: Option<&str>) -> Client {
        let stream = TcpStream::connect(addr).await.unwrap();
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .unwrap();
        tokio::spawn(conn);
        let mut request = http::Request::get("/events").header("host", "test");
        if let Some(id) = last_event_id {
            request = request.header("last-event-id", id);
        }
        let response = sender
            .send_request(request.body(Empty::<bytes::Bytes>::new()).unwrap())
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["content-type"], "text/event-stream");
        Client {
            body: response.into_body(),
            buf: BytesMut::new(),
        }
    }

    /// The next event's bytes, or `None` at the end of the body.
    async fn next_block(&mut self) -> Option<BytesMut> {
        loop {
            if let Some(end) = self.buf.windows(2).position(|w| w == b"\n\n") {
                return Some(self.buf.split_to(end + 2));
            }
            match timeout(WAIT, self.body.frame())
                .await
                .expect("stream stalled")
            {
                None => {
                    assert!(self.buf.is_empty(), "unterminated event at the end");
                    return None;
                }
                Some(frame) => {
                    if let Ok(data) = frame.unwrap().into_data() {
                        self.buf.extend_from_slice(&data);
                    }
                }
            }
        }
    }

    /// The next event, or `None` at the end of the body.
    async fn next(&mut self) -> Option<Got> {
        loop {
            if let Some(end) = self.buf.windows(2).position(|w| w == b"\n\n") {
                let block = self.buf.split_to(end + 2);
                let parsed = spec_parser::parse(&block);
                let mut events = parsed.events();
                assert_eq!(events.len(), 1, "{block:?}");
                let e = events.remove(0);
                return Some(Got {
                    event_type: e.event_type,
                    id: e.last_event_id,
                    data: e.data,
                });
            }
            match timeout(WAIT, self.body.frame())
                .await
                .expect("stream stalled")
            {
                None => {
                    assert!(self.buf.is_empty(), "unterminated event at the end");
                    return None;
                }
                Some(frame) => {
                    if let Ok(data) = frame.unwrap().into_data() {
                        self.buf.extend_from_slice(&data);
                    }
                }
            }
        }
    }
}

async fn wait_for(what: &str, mut check: impl FnMut() -> bool) {
    let start = Instant::now();
    while !check() {
        assert!(start.elapsed() < WAIT, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// A client that sends its request and then reads nothing: its socket buffers fill,
/// and the server stops polling its body.
async fn stalled_client(addr: std::net::SocketAddr) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let mut stream = socket.connect(addr).await.unwrap();
    stream
        .write_all(b"GET /events HTTP/1.1\r\nhost: test\r\n\r\n")
        .await
        .unwrap();
    stream
}

/// Reads the stalled client's raw HTTP/1.1 response: decodes the chunked body as it
/// comes and returns its events one by one, `None` at the final chunk.
struct RawReader {
    stream: TcpStream,
    raw: BytesMut,
    body: BytesMut,
    in_body: bool,
    ended: bool,
}

impl RawReader {
    fn new(stream: TcpStream) -> Self {
        RawReader {
            stream,
            raw: BytesMut::new(),
            body: BytesMut::new(),
            in_body: false,
            ended: false,
        }
    }

    async fn next(&mut self) -> Option<spec_parser::MessageEvent> {
        loop {
            if let Some(end) = self.body.windows(2).position(|w| w == b"\n\n") {
                let block = self.body.split_to(end + 2);
                let mut events = spec_parser::parse(&block).events();
                assert_eq!(events.len(), 1, "{block:?}");
                return Some(events.remove(0));
            }
            if self.ended {
                assert!(self.body.is_empty(), "unterminated event at the end");
                return None;
            }
            if self.decode() {
                continue;
            }
            let read = timeout(WAIT, self.stream.read_buf(&mut self.raw))
                .await
                .expect("the stalled client's response stalled")
                .unwrap();
            assert!(read > 0, "connection closed before the end of the response");
        }
    }

    /// Moves what it can from `raw` to `body`; whether it made progress.
    fn decode(&mut self) -> bool {
        if !self.in_body {
            let Some(end) = self.raw.windows(4).position(|w| w == b"\r\n\r\n") else {
                return false;
            };
            let head = self.raw.split_to(end + 4);
            assert!(head.starts_with(b"HTTP/1.1 200"), "{head:?}");
            self.in_body = true;
            return true;
        }
        let Some(line_end) = self.raw.windows(2).position(|w| w == b"\r\n") else {
            return false;
        };
        let size = std::str::from_utf8(&self.raw[..line_end]).unwrap();
        let size = usize::from_str_radix(size, 16).unwrap();
        if self.raw.len() < line_end + 2 + size + 2 {
            return false;
        }
        self.raw.advance(line_end + 2);
        self.body.extend_from_slice(&self.raw.split_to(size));
        self.raw.advance(2);
        if size == 0 {
            self.ended = true;
        }
        true
    }
}

const EVENT_DATA: usize = 16 * 1024;
const EVENTS: u64 = 1500;
const HISTORY: usize = 64;

/// Publishes `EVENTS` events of 16 KiB, paced by the fast clients (never by the
/// stalled one), and checks that the fast clients get all of them, in order, and that
/// no publish call ever waits.
async fn run_with_a_stalled_client(policy: LagPolicy) -> (Topic, std::net::SocketAddr, TcpStream) {
    let topic = Topic::new(
        Config::new()
            .with_first_id(1)
            .with_history(HISTORY)
            .with_max_lag(HISTORY / 2)
            .with_lag_policy(policy),
    );
    let addr = serve(topic.clone()).await;
    let stalled = stalled_client(addr).await;
    wait_for("the stalled client to subscribe", || {
        topic.stats().subscribers == 1
    })
    .await;

    let mut fast = Vec::new();
    for _ in 0..3 {
        fast.push(Client::connect(addr, None).await);
    }
    let counts: Vec<Arc<AtomicU64>> = (0..3).map(|_| Arc::new(AtomicU64::new(0))).collect();
    let mut readers = Vec::new();
    for (mut client, count) in fast.into_iter().zip(counts.clone()) {
        readers.push(tokio::spawn(async move {
            let data = "x".repeat(EVENT_DATA);
            for n in 1..=EVENTS {
                let got = client
                    .next_block()
                    .await
                    .expect("a fast client was cut off");
                assert!(
                    got == format!("id: {n}\ndata: {data}\n\n").as_bytes(),
                    "event {n}"
                );
                count.store(n, Ordering::SeqCst);
            }
            client // kept connected until the checks below
        }));
    }

    let data = "x".repeat(EVENT_DATA);
    let mut publish_times = Vec::with_capacity(EVENTS as usize);
    for n in 1..=EVENTS {
        // Stay within the fast clients' lag bound: they are paced, the stalled one is not.
        let min = || {
            counts
                .iter()
                .map(|c| c.load(Ordering::SeqCst))
                .min()
                .unwrap()
        };
        let start = Instant::now();
        while n > min() + (HISTORY / 4) as u64 {
            assert!(start.elapsed() < WAIT, "the fast clients stopped reading");
            tokio::task::yield_now().await;
        }
        let start = Instant::now();
        topic.publish(Event::with_data(&data));
        publish_times.push(start.elapsed());
    }
    let mut fast = Vec::new();
    for reader in readers {
        fast.push(timeout(WAIT, reader).await.unwrap().unwrap());
    }
    // `publish` never waits for a subscriber (a design that did would have hung here
    // on the stalled one). The median shows it stays cheap; the maximum only catches
    // a real wait, not the scheduler's preemptions on a busy machine.
    publish_times.sort();
    let (median, max) = (
        publish_times[publish_times.len() / 2],
        *publish_times.last().unwrap(),
    );
    eprintln!("publish of a 16 KiB event: median {median:?}, max {max:?}");
    assert!(
        median < Duration::from_millis(2),
        "median publish {median:?}"
    );
    assert!(max < Duration::from_secs(1), "a publish waited {max:?}");

    // The stalled client's subscriber is still there, holding no events of its own:
    // the topic's memory is its bounded history.
    let stats = topic.stats();
    assert_eq!(stats.subscribers, 4);
    assert!(stats.history_events <= HISTORY as u64);
    assert!(stats.history_bytes <= (HISTORY * (EVENT_DATA + 32)) as u64);
    assert!(
        stats.events_sent < 4 * EVENTS,
        "the stalled client cannot have received everything: {stats:?}"
    );
    drop(fast);
    wait_for("the fast clients to leave", || {
        topic.stats().subscribers == 1
    })
    .await;
    (topic, addr, stalled)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_client_is_disconnected_and_told_what_it_lost_when_it_returns() {
    let (topic, addr, stalled) = run_with_a_stalled_client(LagPolicy::Disconnect).await;

    // The client reads again: it gets what was in flight, then the response ends.
    let mut stalled = RawReader::new(stalled);
    let mut ids = Vec::new();
    while let Some(event) = stalled.next().await {
        assert_eq!(event.event_type, "message");
        ids.push(event.last_event_id.parse::<u64>().unwrap());
    }
    assert!(!ids.is_empty());
    assert_eq!(
        ids,
        (1..=ids.len() as u64).collect::<Vec<_>>(),
        "a contiguous prefix"
    );
    let last = *ids.last().unwrap();
    assert!(last < EVENTS);
    assert_eq!(topic.stats().disconnected_for_lag, 1);
    wait_for("the server to drop the stalled subscriber", || {
        topic.stats().subscribers == 0
    })
    .await;

    // It reconnects with its Last-Event-ID, like a browser: the history has moved on,
    // and it is told exactly how much it lost.
    let mut back = Client::connect(addr, Some(&last.to_string())).await;
    let lost = back.next().await.unwrap();
    assert_eq!(lost.event_type, "history-lost");
    assert_eq!(
        lost.data,
        format!(r#"{{"reason":"expired","missed":{}}}"#, EVENTS - last)
    );
    assert_eq!(lost.id, EVENTS.to_string());
    topic.publish(Event::with_data("after"));
    let next = back.next().await.unwrap();
    assert_eq!(
        (next.id, next.data),
        ((EVENTS + 1).to_string(), "after".into())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_client_skips_ahead_with_a_lagged_event() {
    let (topic, _addr, stalled) = run_with_a_stalled_client(LagPolicy::SkipAhead).await;

    let mut stalled = RawReader::new(stalled);
    let mut last = 0;
    let lagged = loop {
        let event = stalled.next().await.expect("the response goes on");
        if event.event_type == "lagged" {
            break event;
        }
        let id: u64 = event.last_event_id.parse().unwrap();
        assert_eq!(id, last + 1, "a contiguous prefix");
        last = id;
    };
    assert!(last < EVENTS);
    // Everything up to the newest event when it was polled is skipped, and said so.
    assert_eq!(lagged.data, format!(r#"{{"missed":{}}}"#, EVENTS - last));
    assert_eq!(lagged.last_event_id, EVENTS.to_string());
    assert_eq!(topic.stats().lagged, 1);
    // Then it is live again.
    topic.publish(Event::with_data("live"));
    let live = stalled.next().await.unwrap();
    assert_eq!(
        (live.last_event_id, live.data),
        ((EVENTS + 1).to_string(), "live".into())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconnecting_with_last_event_id_resumes_exactly_and_leaving_cleans_up() {
    let topic = Topic::new(Config::new().with_first_id(1));
    let addr = serve(topic.clone()).await;

    let mut client = Client::connect(addr, None).await;
    wait_for("the subscription", || topic.stats().subscribers == 1).await;
    for n in 1..=5 {
        topic.publish(Event::with_data(format!("m{n}")));
    }
    for n in 1..=3 {
        assert_eq!(client.next().await.unwrap().data, format!("m{n}"));
    }
    // The client goes away mid-stream: the server drops the body, and the
    // subscriber with it, at once.
    drop(client);
    wait_for("the subscriber to leave", || topic.stats().subscribers == 0).await;

    for n in 6..=8 {
        topic.publish(Event::with_data(format!("m{n}")));
    }
    let mut back = Client::connect(addr, Some("3")).await;
    for n in 4..=8 {
        let got = back.next().await.unwrap();
        assert_eq!((got.id, got.data), (n.to_string(), format!("m{n}")));
    }
    topic.publish(Event::with_data("m9"));
    assert_eq!(back.next().await.unwrap().data, "m9");
    let stats = topic.stats();
    assert_eq!(
        (stats.resumed, stats.subscribed, stats.unsubscribed),
        (1, 2, 1)
    );

    // An id this topic never issued: said so, then live.
    let mut stranger = Client::connect(addr, Some("not-an-id")).await;
    let lost = stranger.next().await.unwrap();
    assert_eq!(
        (
            lost.event_type.as_str(),
            lost.data.as_str(),
            lost.id.as_str()
        ),
        ("history-lost", r#"{"reason":"unknown"}"#, "9")
    );
}

/// Issue 12, item 6: with a subscriber connected, `with_graceful_shutdown` used to
/// wait forever. Closing the hub in the shutdown future sends the farewell, ends
/// the stream, and `serve` returns.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closing_the_hub_lets_a_graceful_shutdown_finish() {
    async fn events(State(hub): State<Hub>) -> SseBody<Subscriber> {
        // With a keep-alive, as in production: it must not hold the body open.
        let keep_alive = KeepAlive::tokio().with_interval(Duration::from_secs(60));
        hub.topic("news")
            .subscribe(None)
            .into_body()
            .with_keep_alive(keep_alive)
    }

    let hub = Hub::new(Config::new().with_first_id(1));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = Router::new()
        .route("/events", get(events))
        .with_state(hub.clone());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let shutdown_hub = hub.clone();
    let server = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = stopped.await;
                let farewell = Event::new()
                    .event(EventType::from_static("shutdown"))
                    .data("server stopping");
                shutdown_hub.close(Some(farewell));
            })
            .await
    });

    let mut client = Client::connect(addr, None).await;
    wait_for("the subscription", || hub.stats().subscribers == 1).await;
    hub.publish("news", Event::with_data("before"));
    assert_eq!(client.next().await.unwrap().data, "before");

    stop.send(()).unwrap();
    let farewell = client.next().await.unwrap();
    assert_eq!(
        (farewell.event_type.as_str(), farewell.data.as_str()),
        ("shutdown", "server stopping")
    );
    assert!(client.next().await.is_none(), "the stream ends");
    let served = timeout(WAIT, server).await.expect("serve returned");
    served.unwrap().unwrap();
    assert_eq!(hub.stats().subscribers, 0);
}
