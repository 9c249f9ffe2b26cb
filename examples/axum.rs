//! An SSE endpoint in axum: the handler returns the body.
//!
//! ```sh
//! cargo run --example axum
//! curl -N http://127.0.0.1:3002/events
//! ```

use std::time::Duration;

use axum::{extract::State, http::HeaderMap, routing::get, Router};
use futures_util::{Stream, StreamExt};
use ssewire::{Event, EventType, KeepAlive, SseBody};

const STATS: EventType = EventType::from_static("stats");

#[derive(serde::Serialize)]
struct Stats {
    uptime_secs: u64,
    connections: u32,
}

async fn events(
    State(keep_alive): State<KeepAlive>,
    headers: HeaderMap,
) -> SseBody<impl Stream<Item = Result<Event, serde_json::Error>>> {
    let resume_from = ssewire::last_event_id(&headers)
        .ok()
        .flatten()
        .and_then(|id| id.parse::<u64>().ok())
        .map_or(0, |n| n + 1);
    let stats = futures_util::stream::unfold(resume_from, |n| async move {
        tokio::time::sleep(Duration::from_secs(1)).await;
        Some((n, n + 1))
    })
    .map(|n| {
        Event::new().event(STATS).id(n).json_data(&Stats {
            uptime_secs: n,
            connections: 1,
        })
    });
    SseBody::new(stats)
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
