//! The framework integrations over real sockets: an axum server and an actix-web
//! server, each with the `LastEventId` extractor and an `SseBody` response, read by a
//! real hyper client. Both must answer the same: 200 with exactly the SSE headers,
//! events that arrive one by one (each before the next is even produced), the
//! `Last-Event-ID` honoured (sent as raw UTF-8 bytes, the way browsers send it), and
//! `400 Bad Request` with a text body on a malformed or repeated header.

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use http::{Request, StatusCode};
use http_body_util::{BodyExt, Empty};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use ssewire::{Event, LastEventId, SseBody};
use tokio::sync::broadcast;

const TIMEOUT: Duration = Duration::from_secs(10);

/// The events of one request: where it starts, then whatever the test publishes.
fn stream_for(
    last: LastEventId,
    live: broadcast::Receiver<Event>,
) -> impl futures_util::Stream<Item = Event> {
    let first = match last.0 {
        Some(id) => Event::new().data(format!("resumed after {id}")),
        None => Event::new().data("from the start"),
    };
    let live = futures_util::stream::unfold(live, |mut rx| async move {
        let event = rx.recv().await.ok()?;
        Some((event, rx))
    });
    futures_util::StreamExt::chain(futures_util::stream::iter([first]), live)
}

#[derive(Clone, Copy, Debug)]
enum Framework {
    Axum,
    Actix,
}

struct Server {
    addr: SocketAddr,
    live: broadcast::Sender<Event>,
}

impl Server {
    async fn start(framework: Framework) -> Server {
        let (live, _) = broadcast::channel(16);
        let addr = match framework {
            Framework::Axum => start_axum(live.clone()).await,
            Framework::Actix => start_actix(live.clone()),
        };
        Server { addr, live }
    }

    /// Publishes once a request has subscribed (the publisher sees the subscriber).
    async fn publish(&self, event: Event) {
        tokio::time::timeout(TIMEOUT, async {
            while self.live.receiver_count() == 0 {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
        .await
        .expect("a subscriber");
        self.live.send(event).unwrap();
    }
}

async fn start_axum(live: broadcast::Sender<Event>) -> SocketAddr {
    use axum::{extract::State, routing::get, Router};

    async fn events(
        State(live): State<broadcast::Sender<Event>>,
        last: LastEventId,
    ) -> SseBody<impl futures_util::Stream<Item = Event>> {
        SseBody::new(stream_for(last, live.subscribe()))
    }

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = Router::new().route("/events", get(events)).with_state(live);
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
}

/// actix-web runs on its own runtime: a thread with an actix `System`, one worker.
fn start_actix(live: broadcast::Sender<Event>) -> SocketAddr {
    use actix_web::{web, App, HttpServer};

    async fn events(
        live: web::Data<broadcast::Sender<Event>>,
        last: LastEventId,
    ) -> SseBody<impl futures_util::Stream<Item = Event>> {
        SseBody::new(stream_for(last, live.subscribe()))
    }

    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            HttpServer::new(move || {
                App::new()
                    .app_data(web::Data::new(live.clone()))
                    .route("/events", web::get().to(events))
            })
            .workers(1)
            .disable_signals()
            .listen(listener)
            .unwrap()
            .run()
            .await
        })
    });
    addr
}

/// A GET over a fresh HTTP/1.1 connection; `last_event_ids` are raw header values.
async fn get(addr: SocketAddr, last_event_ids: &[&[u8]]) -> http::Response<Incoming> {
    let stream = tokio::time::timeout(TIMEOUT, tokio::net::TcpStream::connect(addr))
        .await
        .unwrap()
        .unwrap();
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .unwrap();
    tokio::spawn(conn);
    let mut request = Request::get(format!("http://{addr}/events"))
        .header("host", addr.to_string())
        .header("accept", "text/event-stream");
    for id in last_event_ids {
        request = request.header("last-event-id", http::HeaderValue::from_bytes(id).unwrap());
    }
    let request = request.body(Empty::<Bytes>::new()).unwrap();
    tokio::time::timeout(TIMEOUT, sender.send_request(request))
        .await
        .expect("response head in time")
        .unwrap()
}

/// Reads body frames until one whole event (ending in a blank line) has arrived.
async fn next_event(body: &mut Incoming, buf: &mut Vec<u8>) -> String {
    loop {
        if let Some(end) = buf.windows(2).position(|w| w == b"\n\n") {
            let event = buf.drain(..end + 2).collect::<Vec<u8>>();
            return String::from_utf8(event).unwrap();
        }
        let frame = tokio::time::timeout(TIMEOUT, body.frame())
            .await
            .expect("the next event in time")
            .expect("the stream goes on")
            .unwrap();
        if let Ok(data) = frame.into_data() {
            buf.extend_from_slice(&data);
        }
    }
}

async fn text_body(response: http::Response<Incoming>) -> String {
    let bytes = tokio::time::timeout(TIMEOUT, response.into_body().collect())
        .await
        .unwrap()
        .unwrap()
        .to_bytes();
    String::from_utf8(bytes.to_vec()).unwrap()
}

async fn headers_and_events_one_by_one(framework: Framework) {
    let server = Server::start(framework).await;
    let response = get(server.addr, &[]).await;
    assert_eq!(response.status(), StatusCode::OK, "{framework:?}");
    let headers = response.headers();
    assert_eq!(
        headers["content-type"], "text/event-stream",
        "{framework:?}"
    );
    assert_eq!(headers["cache-control"], "no-cache", "{framework:?}");
    assert_eq!(headers["x-accel-buffering"], "no", "{framework:?}");
    for forbidden in ["content-length", "connection", "keep-alive"] {
        assert!(
            headers.get(forbidden).is_none(),
            "{framework:?}: {forbidden} on an event stream"
        );
    }
    let mut body = response.into_body();
    let mut buf = Vec::new();
    assert_eq!(
        next_event(&mut body, &mut buf).await,
        "data: from the start\n\n"
    );
    // Each event arrives before the next one exists.
    for n in 1..=3u64 {
        server
            .publish(Event::new().id(n).data(format!("live {n}")))
            .await;
        assert_eq!(
            next_event(&mut body, &mut buf).await,
            format!("id: {n}\ndata: live {n}\n\n"),
            "{framework:?}"
        );
    }
}

async fn last_event_id_is_honoured(framework: Framework) {
    let server = Server::start(framework).await;
    let response = get(server.addr, &["café-7".as_bytes()]).await;
    assert_eq!(response.status(), StatusCode::OK, "{framework:?}");
    let mut body = response.into_body();
    assert_eq!(
        next_event(&mut body, &mut Vec::new()).await,
        "data: resumed after café-7\n\n",
        "{framework:?}"
    );
    // An empty header is a first connection.
    let response = get(server.addr, &[b""]).await;
    let mut body = response.into_body();
    assert_eq!(
        next_event(&mut body, &mut Vec::new()).await,
        "data: from the start\n\n",
        "{framework:?}"
    );
}

async fn malformed_last_event_id_is_400(framework: Framework) {
    let server = Server::start(framework).await;
    for (ids, message) in [
        (
            &[&b"caf\xe9-7"[..]][..],
            "Last-Event-ID is not UTF-8: invalid byte at offset 3",
        ),
        (
            &[&b"1"[..], b"2"][..],
            "2 Last-Event-ID headers in one request; a client sends at most one",
        ),
        (
            &[&[b'7'; 1025][..]][..],
            "Last-Event-ID is 1025 bytes long, over the limit of 1024 bytes",
        ),
    ] {
        let response = get(server.addr, ids).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{framework:?}");
        assert_eq!(
            response.headers()["content-type"],
            "text/plain; charset=utf-8",
            "{framework:?}"
        );
        let text = text_body(response).await;
        assert_eq!(text, format!("{message}\n"), "{framework:?}");
    }
    assert_eq!(server.live.receiver_count(), 0, "no stream was opened");
}

#[tokio::test]
async fn axum_headers_and_events_one_by_one() {
    headers_and_events_one_by_one(Framework::Axum).await;
}

#[tokio::test]
async fn actix_headers_and_events_one_by_one() {
    headers_and_events_one_by_one(Framework::Actix).await;
}

#[tokio::test]
async fn axum_last_event_id_is_honoured() {
    last_event_id_is_honoured(Framework::Axum).await;
}

#[tokio::test]
async fn actix_last_event_id_is_honoured() {
    last_event_id_is_honoured(Framework::Actix).await;
}

#[tokio::test]
async fn axum_malformed_last_event_id_is_400() {
    malformed_last_event_id_is_400(Framework::Axum).await;
}

#[tokio::test]
async fn actix_malformed_last_event_id_is_400() {
    malformed_last_event_id_is_400(Framework::Actix).await;
}
