//! An SSE endpoint in axum: the handler takes the `LastEventId` extractor and returns
//! the body (features `axum`, `tokio`). The README's axum recipe is the part between
//! the `README` markers, word for word (tests/http_recipes.rs checks it).
//!
//! ```sh
//! cargo run --example axum
//! curl -N http://127.0.0.1:3002/events
//! curl -N -H 'Last-Event-ID: 41' http://127.0.0.1:3002/events   # resumes at 42
//! ```

// README recipe: begin
use std::time::Duration;

use axum::{extract::State, routing::get, Router};
use futures_util::{Stream, StreamExt};
use ssewire::{Event, EventType, KeepAlive, LastEventId, SseBody};

const TICK: EventType = EventType::from_static("tick"); // checked at compile time

pub async fn events(
    State(keep_alive): State<KeepAlive>,
    // `None` on a first connection. A malformed header never gets here: the
    // extractor answers 400 with a text body naming the problem.
    LastEventId(last): LastEventId,
) -> SseBody<impl Stream<Item = Event>> {
    // Resume after the client's last tick. A client picks its own id: one that is not
    // a tick of ours (`as_u64` takes only the decimal text we write), or the last tick
    // of all, starts over, never overflows.
    let start = last.and_then(|id| id.as_u64()?.checked_add(1)).unwrap_or(0);
    let ticks = futures_util::stream::iter(start..=u64::MAX).then(|n| async move {
        tokio::time::sleep(Duration::from_secs(1)).await;
        Event::new().event(TICK).id(n).data(format!("tick {n}"))
    });
    // Status 200 and the headers of `ssewire::SSE_HEADERS`: `Content-Type:
    // text/event-stream`, `Cache-Control: no-cache`, `X-Accel-Buffering: no`.
    SseBody::new(ticks)
        .with_keep_alive(keep_alive)
        .with_open_event(Event::new().retry(Duration::from_secs(2)))
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let port = std::env::var("PORT").unwrap_or_else(|_| "3002".into());
    let listener = tokio::net::TcpListener::bind(format!("127.0.0.1:{port}")).await?;
    println!("SSE on http://{}/events", listener.local_addr()?);
    // One KeepAlive for the whole server: all bodies share its timer.
    let app = Router::new()
        .route("/events", get(events))
        .with_state(KeepAlive::tokio());
    axum::serve(listener, app).await
}
// README recipe: end
