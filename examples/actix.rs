//! An SSE endpoint in actix-web 4: the handler takes the `LastEventId` extractor and
//! returns the body (features `actix`, `tokio`). The README's actix-web recipe is the
//! part between the `README` markers, word for word (tests/http_recipes.rs checks it).
//!
//! ```sh
//! cargo run --example actix
//! curl -N http://127.0.0.1:3003/events
//! curl -N -H 'Last-Event-ID: 41' http://127.0.0.1:3003/events   # resumes at 42
//! ```

// README recipe: begin
use std::time::Duration;

use actix_web::{web, App, HttpServer};
use futures_util::{Stream, StreamExt};
use ssewire::{Event, EventType, KeepAlive, LastEventId, SseBody};

const TICK: EventType = EventType::from_static("tick"); // checked at compile time

pub async fn events(
    keep_alive: web::Data<KeepAlive>,
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
        .with_keep_alive(keep_alive.get_ref().clone())
        .with_open_event(Event::new().retry(Duration::from_secs(2)))
}

fn main() -> std::io::Result<()> {
    actix_web::rt::System::new().block_on(async {
        let port: u16 = std::env::var("PORT")
            .map_or(Ok(3003), |p| p.parse())
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
        // actix-web runs one runtime per worker thread: one KeepAlive per worker, so
        // each worker's bodies share that worker's timer.
        let server = HttpServer::new(|| {
            App::new()
                .app_data(web::Data::new(KeepAlive::tokio()))
                .route("/events", web::get().to(events))
        })
        .bind(("127.0.0.1", port))?;
        for addr in server.addrs() {
            println!("SSE on http://{addr}/events");
        }
        server.run().await
    })
}
// README recipe: end
