//! Connection limits over real sockets (axum on 127.0.0.1): a `ConnectionLimiter` and
//! the hub's caps refuse exactly past each cap, with the right status, `Retry-After`
//! and `Cache-Control: no-store`, before any event; and admit again once a client goes
//! away, whether it closes its socket or resets the connection.

use std::net::SocketAddr;
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, Uri};
use axum::routing::get;
use axum::Router;
use futures_util::Stream;
use ssewire::hub::{Config, Hub, Subscriber};
use ssewire::{ConnectionLimiter, Event, EventId, Limits, Refused, SseBody};
use tokio::net::TcpListener;

#[path = "common/raw_http.rs"]
mod raw_http;
use raw_http::{open, wait_for, Opened};

/// `/events?user=NAME`: one stream per permit of the limiter.
async fn limited(
    State(limiter): State<ConnectionLimiter<String>>,
    uri: Uri,
) -> Result<SseBody<impl Stream<Item = Event>>, Refused> {
    let user = uri
        .query()
        .and_then(|q| q.strip_prefix("user="))
        .unwrap_or("");
    let permit = limiter.try_acquire(user.to_owned())?;
    Ok(SseBody::new(futures_util::stream::pending::<Event>())
        .with_open_event(Event::new().comment("open"))
        .with_permit(permit))
}

/// `/topics/NAME`: a hub subscriber within the hub's caps.
async fn topic(
    State(hub): State<Hub>,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> Result<SseBody<Subscriber>, Refused> {
    let last: Option<EventId> = ssewire::last_event_id(&headers).ok().flatten();
    let subscriber = hub.topic(&name).try_subscribe(last.as_ref())?;
    Ok(subscriber
        .into_body()
        .with_open_event(Event::new().comment("open")))
}

async fn serve(app: Router) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
}

fn assert_streaming(opened: &Opened) {
    assert_eq!(opened.status, 200, "{:?}", opened.headers);
    assert_eq!(opened.header("content-type"), Some("text/event-stream"));
}

fn assert_refused(opened: &Opened, status: u16, retry_after: &str, message: &str) {
    assert_eq!(opened.status, status, "{:?}", opened.headers);
    assert_eq!(opened.header("retry-after"), Some(retry_after));
    assert_eq!(opened.header("cache-control"), Some("no-store"));
    assert_eq!(
        opened.header("content-type"),
        Some("text/plain; charset=utf-8")
    );
    let body = String::from_utf8_lossy(&opened.rest);
    assert!(body.contains(message), "{body:?}");
    assert!(!body.contains("data:"), "an event in a refusal: {body:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_limiter_refuses_exactly_past_each_cap_and_admits_again_after_a_close_or_reset() {
    let limiter: ConnectionLimiter<String> = ConnectionLimiter::new(
        Limits::new()
            .with_max_connections(3)
            .with_max_per_key(2)
            .with_retry_after(Duration::from_secs(7))
            .with_retry_jitter(Duration::ZERO),
    );
    let addr = serve(
        Router::new()
            .route("/events", get(limited))
            .with_state(limiter.clone()),
    )
    .await;

    let alice1 = open(addr, &[], "/events?user=alice").await;
    let alice2 = open(addr, &[], "/events?user=alice").await;
    assert_streaming(&alice1);
    assert_streaming(&alice2);
    // The third for alice: her cap (2) is reached.
    let refused = open(addr, &[], "/events?user=alice").await;
    assert_refused(
        &refused,
        429,
        "7",
        "the per-key cap (2 open at once) is reached",
    );
    drop(refused);
    // Bob fills the server's cap (3); then anyone is refused with 503.
    let bob = open(addr, &[], "/events?user=bob").await;
    assert_streaming(&bob);
    let refused = open(addr, &[], "/events?user=carol").await;
    assert_refused(
        &refused,
        503,
        "7",
        "the server's cap (3 open at once) is reached",
    );
    drop(refused);
    assert_eq!(limiter.open(), 3);

    // Alice closes one stream (a FIN): its place comes back.
    drop(alice1);
    wait_for("the closed stream's permit", || limiter.open() == 2).await;
    assert_eq!(limiter.open_for("alice"), 1);
    let carol = open(addr, &[], "/events?user=carol").await;
    assert_streaming(&carol);
    assert_refused(
        &open(addr, &[], "/events?user=dave").await,
        503,
        "7",
        "server's cap",
    );

    // Bob's connection is reset (RST): his place comes back too, and his key leaves
    // the map.
    bob.reset();
    wait_for("the reset stream's permit", || limiter.open() == 2).await;
    assert_eq!(limiter.open_for("bob"), 0);
    assert_eq!(limiter.keys(), 2);
    let dave = open(addr, &[], "/events?user=dave").await;
    assert_streaming(&dave);

    drop((alice2, carol, dave));
    wait_for("every permit", || limiter.open() == 0).await;
    assert_eq!(limiter.keys(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_hub_refuses_past_its_topic_and_hub_caps_and_admits_again() {
    let hub = Hub::new(
        Config::new()
            .with_first_id(1)
            .with_max_subscribers(3)
            .with_max_topic_subscribers(2)
            .with_retry_after(Duration::from_secs(3))
            .with_retry_jitter(Duration::ZERO),
    );
    let addr = serve(
        Router::new()
            .route("/topics/{name}", get(topic))
            .with_state(hub.clone()),
    )
    .await;

    let news1 = open(addr, &[], "/topics/news").await;
    let news2 = open(addr, &[], "/topics/news").await;
    assert_streaming(&news1);
    assert_streaming(&news2);
    assert_refused(
        &open(addr, &[], "/topics/news").await,
        503,
        "3",
        "the topic's cap (2 open at once) is reached",
    );
    let sport = open(addr, &[], "/topics/sport").await;
    assert_streaming(&sport);
    assert_refused(
        &open(addr, &[], "/topics/weather").await,
        503,
        "3",
        "the server's cap (3 open at once) is reached",
    );
    assert_eq!(hub.stats().subscribers, 3);

    // A closed news client makes room on news (and in the hub).
    drop(news1);
    wait_for("the news subscriber to leave", || {
        hub.stats().subscribers == 2
    })
    .await;
    let news3 = open(addr, &[], "/topics/news").await;
    assert_streaming(&news3);

    // A reset sport client makes room in the hub for another topic.
    sport.reset();
    wait_for("the sport subscriber to leave", || {
        hub.stats().subscribers == 2
    })
    .await;
    let mut weather = open(addr, &[], "/topics/weather").await;
    assert_streaming(&weather);

    // The admitted stream works: an event published now arrives.
    hub.publish("weather", Event::with_data("sunny"));
    weather.read_until("data: sunny").await;
    drop((news2, news3, weather));
    wait_for("every subscriber to leave", || hub.stats().subscribers == 0).await;
}
