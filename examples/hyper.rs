//! An SSE endpoint on a plain hyper 1.x server (HTTP/1.1 and h2c), feature
//! `http-body` (and `tokio` for the keep-alive timer). The README's hyper recipe is the
//! part between the `README` markers, word for word (tests/http_recipes.rs checks it).
//!
//! ```sh
//! cargo run --example hyper
//! curl -N http://127.0.0.1:3001/events
//! curl -N -H 'Last-Event-ID: 41' http://127.0.0.1:3001/events   # resumes at 42
//! ```

// README recipe: begin
use std::convert::Infallible;
use std::time::Duration;

use bytes::Bytes;
use futures_util::StreamExt;
use http::{Method, Request, Response, StatusCode};
use http_body_util::{combinators::UnsyncBoxBody, BodyExt, Empty, Full};
use hyper::body::Incoming;
use ssewire::{Event, EventType, KeepAlive, SseBody};

const TICK: EventType = EventType::from_static("tick"); // checked at compile time

type Body = UnsyncBoxBody<Bytes, Infallible>;

pub async fn handle(
    req: Request<Incoming>,
    keep_alive: KeepAlive,
) -> Result<Response<Body>, Infallible> {
    if req.method() != Method::GET || req.uri().path() != "/events" {
        return Ok(status(StatusCode::NOT_FOUND, Empty::new().boxed_unsync()));
    }
    // `None` on a first connection. A malformed header is answered with 400 and a
    // text body naming the problem, never taken for a missing one.
    let last = match ssewire::last_event_id(req.headers()) {
        Ok(last) => last,
        Err(err) => {
            let text = Full::new(Bytes::from(format!("{err}\n"))).boxed_unsync();
            return Ok(status(StatusCode::BAD_REQUEST, text));
        }
    };
    // Resume after the client's last tick. A client picks its own id: one that is not
    // a tick of ours (`as_u64` takes only the decimal text we write), or the last tick
    // of all, starts over, never overflows.
    let start = last.and_then(|id| id.as_u64()?.checked_add(1)).unwrap_or(0);
    let ticks = futures_util::stream::iter(start..=u64::MAX).then(|n| async move {
        tokio::time::sleep(Duration::from_secs(1)).await;
        Event::new().event(TICK).id(n).data(format!("tick {n}"))
    });
    let body = SseBody::new(ticks)
        .with_keep_alive(keep_alive)
        .with_open_event(Event::new().retry(Duration::from_secs(2)));
    // Status 200 and the headers of `ssewire::SSE_HEADERS`: `Content-Type:
    // text/event-stream`, `Cache-Control: no-cache`, `X-Accel-Buffering: no`.
    Ok(ssewire::sse_response(body.boxed_unsync()))
}

fn status(code: StatusCode, body: Body) -> Response<Body> {
    let mut response = Response::new(body);
    *response.status_mut() = code;
    response
}
// README recipe: end

#[tokio::main]
async fn main() -> std::io::Result<()> {
    use hyper_util::rt::{TokioExecutor, TokioIo};

    let port = std::env::var("PORT").unwrap_or_else(|_| "3001".into());
    let listener = tokio::net::TcpListener::bind(format!("127.0.0.1:{port}")).await?;
    println!("SSE on http://{}/events", listener.local_addr()?);
    // One KeepAlive for the whole server: all bodies share its timer.
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
