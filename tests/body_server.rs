//! The body behind real servers on real sockets (hyper HTTP/1.1, hyper h2c, axum),
//! read by a real HTTP client: headers, events arriving one by one as they are
//! produced, keep-alive on the wire, and the stream dropped when the client leaves.

use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use futures_util::stream;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Empty};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use ssewire::{Event, EventType, KeepAlive, SseBody};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::time::timeout;

const WAIT: Duration = Duration::from_secs(10);

type Events = mpsc::UnboundedSender<Event>;
type Receivers = Arc<Mutex<Vec<mpsc::UnboundedReceiver<Event>>>>;

fn receiver_stream(
    mut rx: mpsc::UnboundedReceiver<Event>,
) -> impl futures_util::Stream<Item = Event> {
    stream::poll_fn(move |cx| rx.poll_recv(cx))
}

/// Serves one SSE body per connection with hyper's auto (HTTP/1.1 + h2c) server.
async fn hyper_server(keep_alive: Option<KeepAlive>) -> (String, Events) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = mpsc::unbounded_channel();
    let receivers: Receivers = Arc::new(Mutex::new(vec![rx]));
    tokio::spawn(async move {
        loop {
            let (socket, _) = listener.accept().await.unwrap();
            let receivers = receivers.clone();
            let keep_alive = keep_alive.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |_req: Request<Incoming>| {
                    let rx = receivers
                        .lock()
                        .unwrap()
                        .pop()
                        .expect("one connection per test");
                    let mut body = SseBody::new(receiver_stream(rx));
                    if let Some(k) = keep_alive.clone() {
                        body = body.with_keep_alive(k);
                    }
                    async move { Ok::<_, Infallible>(ssewire::sse_response(body)) }
                });
                let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(socket), service)
                    .await;
            });
        }
    });
    (format!("http://{addr}/events"), tx)
}

/// The same with axum's router and `IntoResponse`.
async fn axum_server() -> (String, Events) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = mpsc::unbounded_channel();
    let receivers: Receivers = Arc::new(Mutex::new(vec![rx]));
    let app = axum::Router::new().route(
        "/events",
        axum::routing::get(move || {
            let rx = receivers
                .lock()
                .unwrap()
                .pop()
                .expect("one connection per test");
            async move { SseBody::new(receiver_stream(rx)) }
        }),
    );
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}/events"), tx)
}

enum Version {
    Http1,
    H2c,
}

/// A real client: connects, sends GET, returns the response with its body.
async fn get(url: &str, version: Version) -> Response<Incoming> {
    let uri: http::Uri = url.parse().unwrap();
    let stream = TcpStream::connect(uri.authority().unwrap().as_str())
        .await
        .unwrap();
    let io = TokioIo::new(stream);
    let req = Request::get(uri.clone())
        .header("accept", "text/event-stream")
        .header("host", uri.authority().unwrap().as_str())
        .body(Empty::<Bytes>::new())
        .unwrap();
    match version {
        Version::Http1 => {
            let (mut send, conn) = hyper::client::conn::http1::handshake(io).await.unwrap();
            tokio::spawn(conn);
            send.send_request(req).await.unwrap()
        }
        Version::H2c => {
            let (mut send, conn) = hyper::client::conn::http2::handshake(TokioExecutor::new(), io)
                .await
                .unwrap();
            tokio::spawn(conn);
            send.send_request(req).await.unwrap()
        }
    }
}

/// Reads body frames until one complete event (ending in a blank line), or a lone
/// comment line (a keep-alive), is buffered.
async fn next_event(body: &mut Incoming, pending: &mut BytesMut) -> String {
    loop {
        if pending.starts_with(b":") {
            if let Some(end) = pending.iter().position(|&b| b == b'\n') {
                let line = pending.split_to(end + 1);
                return String::from_utf8(line.to_vec()).unwrap();
            }
        }
        if let Some(end) = pending.windows(2).position(|w| w == b"\n\n") {
            let event = pending.split_to(end + 2);
            return String::from_utf8(event.to_vec()).unwrap();
        }
        let frame = timeout(WAIT, body.frame())
            .await
            .expect("an event was produced but did not arrive: buffered somewhere")
            .expect("body ended")
            .unwrap();
        if let Ok(data) = frame.into_data() {
            pending.extend_from_slice(&data);
        }
    }
}

fn assert_sse_headers(res: &Response<Incoming>) {
    assert_eq!(res.status(), StatusCode::OK);
    let h = res.headers();
    assert_eq!(h["content-type"], "text/event-stream");
    assert_eq!(h["cache-control"], "no-cache");
    assert_eq!(h["x-accel-buffering"], "no");
    assert!(
        h.get("connection").is_none(),
        "Connection header sent: {h:?}"
    );
    assert!(h.get("keep-alive").is_none());
    assert!(h.get("content-length").is_none());
}

/// Sends events one at a time and checks each arrives before the next is produced.
async fn events_arrive_one_by_one(url: String, tx: Events, version: Version) {
    const TICK: EventType = EventType::from_static("tick");
    let res = get(&url, version).await;
    assert_sse_headers(&res);
    let mut body = res.into_body();
    let mut pending = BytesMut::new();
    for i in 0..5u64 {
        let event = Event::new()
            .event(TICK)
            .id(i)
            .data(format!("line {i}\nsecond"));
        tx.send(event).unwrap();
        let received = next_event(&mut body, &mut pending).await;
        assert_eq!(
            received,
            format!("event: tick\nid: {i}\ndata: line {i}\ndata: second\n\n")
        );
    }
    // The client goes away: the server drops the body and, with it, the stream.
    drop(body);
    timeout(WAIT, tx.closed())
        .await
        .expect("the event stream was not dropped after the client left");
}

#[tokio::test]
async fn hyper_http1_delivers_each_event_as_it_is_produced() {
    let (url, tx) = hyper_server(None).await;
    events_arrive_one_by_one(url, tx, Version::Http1).await;
}

#[tokio::test]
async fn hyper_h2c_delivers_each_event_as_it_is_produced() {
    let (url, tx) = hyper_server(None).await;
    events_arrive_one_by_one(url, tx, Version::H2c).await;
}

#[tokio::test]
async fn axum_delivers_each_event_as_it_is_produced() {
    let (url, tx) = axum_server().await;
    events_arrive_one_by_one(url, tx, Version::Http1).await;
}

#[tokio::test]
async fn keep_alive_reaches_the_client_between_events() {
    let keep_alive = KeepAlive::tokio()
        .with_interval(Duration::from_millis(200))
        .with_comment("ka");
    let (url, tx) = hyper_server(Some(keep_alive)).await;
    let res = get(&url, Version::Http1).await;
    let mut body = res.into_body();
    let mut pending = BytesMut::new();
    tx.send(Event::with_data("first")).unwrap();
    assert_eq!(next_event(&mut body, &mut pending).await, "data: first\n\n");
    // Idle: keep-alive comment lines arrive, each whole.
    assert_eq!(next_event(&mut body, &mut pending).await, ": ka\n");
    assert_eq!(next_event(&mut body, &mut pending).await, ": ka\n");
    tx.send(Event::with_data("second")).unwrap();
    let mut next = next_event(&mut body, &mut pending).await;
    while next == ": ka\n" {
        next = next_event(&mut body, &mut pending).await;
    }
    assert_eq!(next, "data: second\n\n");
}

/// Serves `body` once on a hyper HTTP/1.1 server; returns the URL.
async fn serve_once<B>(body: B) -> String
where
    B: hyper::body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let body = Arc::new(Mutex::new(Some(body)));
    tokio::spawn(async move {
        let (socket, _) = listener.accept().await.unwrap();
        let service = hyper::service::service_fn(move |_req: Request<Incoming>| {
            let body = body.lock().unwrap().take().expect("one request");
            async move { Ok::<_, Infallible>(ssewire::sse_response(body)) }
        });
        let _ = hyper::server::conn::http1::Builder::new()
            .serve_connection(TokioIo::new(socket), service)
            .await;
    });
    format!("http://{addr}/events")
}

/// Reads the whole body; `Err` if the transfer failed (the server aborted it).
async fn read_all(res: Response<Incoming>) -> Result<String, hyper::Error> {
    let bytes = timeout(WAIT, res.into_body().collect())
        .await
        .expect("the body never ended")?
        .to_bytes();
    Ok(String::from_utf8(bytes.to_vec()).unwrap())
}

/// Issue 12.7: by default, a stream error keeps the events before it: they reach a
/// real client over a real socket, then the response ends cleanly.
#[tokio::test]
async fn by_default_the_events_before_a_stream_error_reach_the_client() {
    let events = stream::iter([
        Ok(Event::with_data("1")),
        Ok(Event::with_data("2")),
        Err(std::io::Error::other("database gone")),
    ]);
    let url = serve_once(SseBody::new(events)).await;
    let res = get(&url, Version::Http1).await;
    assert_sse_headers(&res);
    let text = read_all(res).await.expect("the response was aborted");
    assert_eq!(text, "data: 1\n\ndata: 2\n\n");
}

/// With the error handler, the last event reaches the client too.
#[tokio::test]
async fn the_error_handlers_event_reaches_the_client() {
    let events = stream::iter([
        Ok(Event::with_data("1")),
        Err(std::io::Error::other("database gone")),
    ]);
    let body = SseBody::new(events).with_error_handler(|e| {
        Event::new()
            .event(EventType::from_static("error"))
            .data(e.to_string())
    });
    let url = serve_once(body).await;
    let text = read_all(get(&url, Version::Http1).await).await.unwrap();
    assert_eq!(text, "data: 1\n\nevent: error\ndata: database gone\n\n");
}

/// `with_abort_on_error` restores the transport error: the client sees a failed
/// transfer, and here not even the event before the error (hyper aborted the
/// connection before writing it). This was the default before, and is why it changed.
#[tokio::test]
async fn with_abort_on_error_the_client_sees_a_failed_transfer() {
    let events = stream::iter([
        Ok(Event::with_data("1")),
        Err(std::io::Error::other("database gone")),
    ]);
    let url = serve_once(SseBody::new(events).with_abort_on_error()).await;
    let uri: http::Uri = url.parse().unwrap();
    let stream = TcpStream::connect(uri.authority().unwrap().as_str())
        .await
        .unwrap();
    let (mut send, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .unwrap();
    tokio::spawn(conn);
    let req = Request::get(uri.clone())
        .header("host", uri.authority().unwrap().as_str())
        .body(Empty::<Bytes>::new())
        .unwrap();
    let failed = match send.send_request(req).await {
        Err(_) => true, // no response at all
        Ok(res) => read_all(res).await.is_err(),
    };
    assert!(failed, "the transfer should have failed");
}
