//! The HTTP helpers behind a real hyper server, over real sockets: the headers that
//! reach the client (HTTP/1.1 read as raw bytes, HTTP/2 through hyper's `h2` client),
//! a `Last-Event-ID` sent as raw UTF-8 bytes the way a browser sends it, the 204
//! answer and `Accept` negotiation.
//!
//! A forgotten `Connection` header shows up in the HTTP/1.1 tests only: on HTTP/2,
//! hyper's server drops connection-specific headers itself (with a warning).

use std::convert::Infallible;
use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use http::header::{HeaderValue, ACCEPT, CONNECTION, CONTENT_TYPE};
use http::{Request, Response, StatusCode, Version};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use ssewire::{
    accepts_event_stream, last_event_id, no_content_response, set_sse_headers, sse_response, Event,
    LAST_EVENT_ID,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

type Body = BoxBody<Bytes, Infallible>;

const TIMEOUT: Duration = Duration::from_secs(10);

/// The kind of handler the helpers are for: `/events` streams events and resumes
/// after `Last-Event-ID`; `/done` answers 204; `/manual` builds its own response and
/// calls `set_sse_headers`.
async fn handle(req: Request<Incoming>) -> Result<Response<Body>, Infallible> {
    if req.uri().path() == "/done" {
        return Ok(no_content_response());
    }
    if !accepts_event_stream(req.headers()) {
        let mut response = Response::new(text("an event stream is all this serves\n"));
        *response.status_mut() = StatusCode::NOT_ACCEPTABLE;
        return Ok(response);
    }
    let resume_after = match last_event_id(req.headers()) {
        Ok(id) => id,
        Err(err) => {
            let mut response = Response::new(text(&format!("{err}\n")));
            *response.status_mut() = StatusCode::BAD_REQUEST;
            return Ok(response);
        }
    };
    let first = match &resume_after {
        Some(id) => Event::new().data(format!("resumed after {id}")),
        None => Event::new().data("from the start"),
    };
    let events = vec![first, Event::new().try_id("ïd-2").unwrap().data("two")];
    // One frame per event, as a streaming body: no Content-Length, chunked on HTTP/1.1.
    let frames = events
        .into_iter()
        .map(|event| Ok::<_, Infallible>(Frame::data(event.encode().into_bytes())));
    let body = BoxBody::new(StreamBody::new(futures_util::stream::iter(frames)));
    if req.uri().path() == "/manual" {
        let mut response = Response::new(body);
        response
            .headers_mut()
            .insert(CONTENT_TYPE, HeaderValue::from_static("text/plain"));
        response
            .headers_mut()
            .insert(CONNECTION, HeaderValue::from_static("keep-alive"));
        response
            .headers_mut()
            .insert("keep-alive", HeaderValue::from_static("timeout=5"));
        set_sse_headers(response.headers_mut());
        return Ok(response);
    }
    Ok(sse_response(body))
}

fn text(s: &str) -> Body {
    BoxBody::new(Full::new(Bytes::from(s.to_owned())))
}

/// A hyper server (HTTP/1.1 and HTTP/2 prior knowledge) on a random loopback port.
async fn start_server() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            tokio::spawn(async move {
                let builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
                // Errors here are the client hanging up; the tests check what it got.
                let _ = builder
                    .serve_connection(TokioIo::new(stream), service_fn(handle))
                    .await;
            });
        }
    });
    addr
}

/// An HTTP/1.1 response as raw bytes: the head as text, the de-chunked body.
#[derive(Debug)]
struct RawResponse {
    status_line: String,
    /// Header lines as `(lowercase name, value bytes)`, in wire order.
    headers: Vec<(String, Vec<u8>)>,
    body: Vec<u8>,
}

impl RawResponse {
    fn header(&self, name: &str) -> Option<&[u8]> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| &v[..])
    }
}

/// Sends `request` (raw bytes, exactly as given) and reads one response.
async fn raw_exchange(addr: SocketAddr, request: &[u8]) -> RawResponse {
    tokio::time::timeout(TIMEOUT, async {
        let mut stream = TcpStream::connect(addr).await.unwrap();
        stream.write_all(request).await.unwrap();
        let mut buf = Vec::new();
        let head_end = loop {
            if let Some(i) = find(&buf, b"\r\n\r\n") {
                break i;
            }
            read_more(&mut stream, &mut buf).await;
        };
        let head = std::str::from_utf8(&buf[..head_end]).expect("an ASCII response head");
        let mut lines = head.split("\r\n");
        let status_line = lines.next().unwrap().to_owned();
        let headers: Vec<(String, Vec<u8>)> = lines
            .map(|line| {
                let (name, value) = line.split_once(':').expect("a header line");
                (name.to_ascii_lowercase(), value.trim().as_bytes().to_vec())
            })
            .collect();
        let mut rest = buf[head_end + 4..].to_vec();
        let mut response = RawResponse {
            status_line,
            headers,
            body: Vec::new(),
        };
        if response.status_line.contains(" 204 ") || response.status_line.ends_with(" 204") {
            return response;
        }
        if let Some(len) = response.header("content-length") {
            let len: usize = std::str::from_utf8(len).unwrap().parse().unwrap();
            while rest.len() < len {
                read_more(&mut stream, &mut rest).await;
            }
            response.body = rest[..len].to_vec();
            return response;
        }
        assert_eq!(
            response.header("transfer-encoding"),
            Some(&b"chunked"[..]),
            "neither Content-Length nor chunked: {response:?}"
        );
        loop {
            let line_end = loop {
                if let Some(i) = find(&rest, b"\r\n") {
                    break i;
                }
                read_more(&mut stream, &mut rest).await;
            };
            let size_text = std::str::from_utf8(&rest[..line_end]).unwrap();
            let size = usize::from_str_radix(size_text.split(';').next().unwrap(), 16).unwrap();
            while rest.len() < line_end + 2 + size + 2 {
                read_more(&mut stream, &mut rest).await;
            }
            if size == 0 {
                return response;
            }
            response
                .body
                .extend_from_slice(&rest[line_end + 2..line_end + 2 + size]);
            rest.drain(..line_end + 2 + size + 2);
        }
    })
    .await
    .expect("the exchange timed out")
}

async fn read_more(stream: &mut TcpStream, buf: &mut Vec<u8>) {
    let mut chunk = [0u8; 4096];
    let n = stream.read(&mut chunk).await.unwrap();
    assert!(n > 0, "the server closed the connection early: {buf:?}");
    buf.extend_from_slice(&chunk[..n]);
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn get(path: &str, extra_header_lines: &[&[u8]]) -> Vec<u8> {
    let mut request = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\n").into_bytes();
    for line in extra_header_lines {
        request.extend_from_slice(line);
        request.extend_from_slice(b"\r\n");
    }
    request.extend_from_slice(b"\r\n");
    request
}

fn assert_sse_head(response: &RawResponse) {
    assert_eq!(response.status_line, "HTTP/1.1 200 OK", "{response:?}");
    assert_eq!(
        response.header("content-type"),
        Some(&b"text/event-stream"[..])
    );
    assert_eq!(response.header("cache-control"), Some(&b"no-cache"[..]));
    assert_eq!(response.header("x-accel-buffering"), Some(&b"no"[..]));
    for forbidden in ["connection", "keep-alive", "content-length"] {
        assert!(
            response.header(forbidden).is_none(),
            "{forbidden} in {response:?}"
        );
    }
    let content_types = response
        .headers
        .iter()
        .filter(|(n, _)| n == "content-type")
        .count();
    assert_eq!(content_types, 1);
}

#[tokio::test]
async fn http1_first_connection() {
    let addr = start_server().await;
    let response = raw_exchange(addr, &get("/events", &[b"Accept: text/event-stream"])).await;
    assert_sse_head(&response);
    assert_eq!(
        response.body,
        "data: from the start\n\nid: ïd-2\ndata: two\n\n".as_bytes()
    );
}

#[tokio::test]
async fn http1_resume_with_a_raw_utf8_last_event_id() {
    let addr = start_server().await;
    // What a browser sends after receiving `id: café-🎉`: the raw UTF-8 bytes.
    let header = ["Last-Event-ID: café-🎉".as_bytes()].concat();
    let response = raw_exchange(addr, &get("/events", &[b"Accept: */*", &header])).await;
    assert_sse_head(&response);
    assert!(
        response
            .body
            .starts_with("data: resumed after café-🎉\n\n".as_bytes()),
        "{:?}",
        String::from_utf8_lossy(&response.body)
    );
}

#[tokio::test]
async fn http1_empty_last_event_id_means_from_the_start() {
    let addr = start_server().await;
    let response = raw_exchange(addr, &get("/events", &[b"Last-Event-ID: "])).await;
    assert_sse_head(&response);
    assert!(response.body.starts_with(b"data: from the start\n\n"));
}

#[tokio::test]
async fn http1_latin1_last_event_id_is_a_typed_error() {
    let addr = start_server().await;
    let response = raw_exchange(addr, &get("/events", &[b"Last-Event-ID: caf\xe9"])).await;
    assert_eq!(response.status_line, "HTTP/1.1 400 Bad Request");
    assert_eq!(
        response.body,
        b"Last-Event-ID is not UTF-8: invalid byte at offset 3\n"
    );
}

#[tokio::test]
async fn http1_two_last_event_ids_are_a_typed_error() {
    let addr = start_server().await;
    let request = get("/events", &[b"Last-Event-ID: 1", b"last-event-id: 2"]);
    let response = raw_exchange(addr, &request).await;
    assert_eq!(response.status_line, "HTTP/1.1 400 Bad Request");
    assert_eq!(
        response.body,
        b"2 Last-Event-ID headers in one request; a client sends at most one\n"
    );
}

#[tokio::test]
async fn http1_overlong_last_event_id_is_a_typed_error() {
    let addr = start_server().await;
    let header = format!("Last-Event-ID: {}", "7".repeat(1025));
    let response = raw_exchange(addr, &get("/events", &[header.as_bytes()])).await;
    assert_eq!(response.status_line, "HTTP/1.1 400 Bad Request");
    assert_eq!(
        response.body,
        b"Last-Event-ID is 1025 bytes long, over the limit of 1024 bytes\n"
    );
}

#[tokio::test]
async fn http1_accept_negotiation() {
    let addr = start_server().await;
    let refused = raw_exchange(
        addr,
        &get("/events", &[b"Accept: application/json, text/*;q=0"]),
    )
    .await;
    assert_eq!(refused.status_line, "HTTP/1.1 406 Not Acceptable");
    // Two Accept header lines are one list.
    let allowed = raw_exchange(
        addr,
        &get(
            "/events",
            &[b"Accept: application/json", b"Accept: text/event-stream"],
        ),
    )
    .await;
    assert_sse_head(&allowed);
}

#[tokio::test]
async fn http1_no_content_stops_reconnects() {
    let addr = start_server().await;
    let response = raw_exchange(addr, &get("/done", &[])).await;
    assert_eq!(response.status_line, "HTTP/1.1 204 No Content");
    assert!(response.header("content-type").is_none());
    assert!(response.header("content-length").is_none());
    assert!(response.header("transfer-encoding").is_none());
}

#[tokio::test]
async fn http1_set_sse_headers_fixes_a_hand_made_response() {
    let addr = start_server().await;
    let response = raw_exchange(addr, &get("/manual", &[])).await;
    assert_sse_head(&response);
}

/// An HTTP/2 (prior knowledge) request through hyper's client.
async fn h2_get(
    addr: SocketAddr,
    path: &str,
    last_event_id: Option<&[u8]>,
) -> (Response<()>, Bytes) {
    tokio::time::timeout(TIMEOUT, async {
        let stream = TcpStream::connect(addr).await.unwrap();
        let (mut sender, connection) =
            hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(stream))
                .await
                .unwrap();
        tokio::spawn(connection);
        let mut request = Request::builder()
            .version(Version::HTTP_2)
            .uri(format!("http://{addr}{path}"))
            .header(ACCEPT, "text/event-stream");
        if let Some(id) = last_event_id {
            request = request.header(LAST_EVENT_ID, HeaderValue::from_bytes(id).unwrap());
        }
        let request = request.body(http_body_util::Empty::<Bytes>::new()).unwrap();
        let response = sender.send_request(request).await.expect("an h2 response");
        let (parts, body) = response.into_parts();
        let body = body.collect().await.expect("the h2 body").to_bytes();
        (Response::from_parts(parts, ()), body)
    })
    .await
    .expect("the HTTP/2 exchange timed out")
}

#[tokio::test]
async fn http2_sse_response_and_utf8_last_event_id() {
    let addr = start_server().await;
    let (response, body) = h2_get(addr, "/events", Some("日本-1".as_bytes())).await;
    assert_eq!(response.version(), Version::HTTP_2);
    assert_eq!(response.status(), StatusCode::OK);
    let headers = response.headers();
    assert_eq!(headers[CONTENT_TYPE], "text/event-stream");
    assert_eq!(headers["cache-control"], "no-cache");
    assert_eq!(headers["x-accel-buffering"], "no");
    assert!(headers.get(CONNECTION).is_none());
    assert!(headers.get("keep-alive").is_none());
    assert_eq!(
        &body[..],
        "data: resumed after 日本-1\n\nid: ïd-2\ndata: two\n\n".as_bytes()
    );
}

#[tokio::test]
async fn http2_hand_made_response_with_set_sse_headers() {
    let addr = start_server().await;
    let (response, body) = h2_get(addr, "/manual", None).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()[CONTENT_TYPE], "text/event-stream");
    assert!(response.headers().get(CONNECTION).is_none());
    assert!(body.starts_with(b"data: from the start\n\n"));
}

#[tokio::test]
async fn http2_no_content() {
    let addr = start_server().await;
    let (response, body) = h2_get(addr, "/done", None).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert!(body.is_empty());
}
