//! An SSE endpoint on a plain hyper 1.x server (HTTP/1.1 and h2c).
//!
//! ```sh
//! cargo run --example hyper
//! curl -N http://127.0.0.1:3001/events
//! ```

use std::convert::Infallible;
use std::time::Duration;

use bytes::Bytes;
use futures_util::StreamExt;
use http::{Method, Request, Response};
use http_body_util::{combinators::UnsyncBoxBody, BodyExt, Empty, Full};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use ssewire::{Event, EventType, KeepAlive, SseBody};
use tokio::net::TcpListener;

const TICK: EventType = EventType::from_static("tick");

type Body = UnsyncBoxBody<Bytes, Infallible>;

async fn handle(
    req: Request<Incoming>,
    keep_alive: KeepAlive,
) -> Result<Response<Body>, Infallible> {
    if req.method() != Method::GET || req.uri().path() != "/events" {
        let mut res = Response::new(Empty::new().boxed_unsync());
        *res.status_mut() = http::StatusCode::NOT_FOUND;
        return Ok(res);
    }
    // Resume after the last id the client saw (browsers send it when reconnecting);
    // a malformed header is answered with 400, never taken for a missing one.
    let start = match ssewire::last_event_id(req.headers()) {
        Ok(Some(id)) => id.to_string().parse::<u64>().map_or(0, |n| n + 1),
        Ok(None) => 0,
        Err(err) => {
            let mut res = Response::new(Full::new(Bytes::from(format!("{err}\n"))).boxed_unsync());
            *res.status_mut() = http::StatusCode::BAD_REQUEST;
            return Ok(res);
        }
    };
    let ticks = tokio_stream_interval(Duration::from_secs(1))
        .enumerate()
        .map(move |(i, ())| {
            let n = start + i as u64;
            Event::new()
                .event(TICK)
                .id(n)
                .data(format!("tick number {n}"))
        });
    let body = SseBody::new(ticks).keep_alive(keep_alive);
    // Status 200 and the SSE headers (`ssewire::SSE_HEADERS`): `Content-Type:
    // text/event-stream`, `Cache-Control: no-cache`, `X-Accel-Buffering: no`.
    Ok(ssewire::sse_response(body.boxed_unsync()))
}

/// A stream that yields every `period`.
fn tokio_stream_interval(period: Duration) -> impl futures_util::Stream<Item = ()> {
    futures_util::stream::unfold(tokio::time::interval(period), |mut interval| async move {
        interval.tick().await;
        Some(((), interval))
    })
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let port = std::env::var("PORT").unwrap_or_else(|_| "3001".into());
    let listener = TcpListener::bind(format!("127.0.0.1:{port}")).await?;
    println!("SSE on http://{}/events", listener.local_addr()?);
    let keep_alive = KeepAlive::tokio();
    loop {
        let (socket, _) = listener.accept().await?;
        let keep_alive = keep_alive.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req| handle(req, keep_alive.clone()));
            let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                .serve_connection(TokioIo::new(socket), service)
                .await;
        });
    }
}
