//! Keep-alive timing on tokio's paused clock: only when idle for the interval, never at
//! the start, never inside an event, never after the end.

use std::time::Duration;

use bytes::Bytes;
use futures_util::{stream, Stream, StreamExt};
use ssewire::{Event, KeepAlive, SseBody};
use tokio::sync::mpsc;
use tokio::time::Instant;

const INTERVAL: Duration = Duration::from_secs(10);

fn channel() -> (mpsc::UnboundedSender<Event>, impl Stream<Item = Event>) {
    let (tx, mut rx) = mpsc::unbounded_channel();
    (tx, stream::poll_fn(move |cx| rx.poll_recv(cx)))
}

/// Runs `body` to its end, recording when each chunk arrived (paused clock).
async fn record<S>(mut body: S) -> Vec<(Duration, Bytes)>
where
    S: Stream<Item = Result<Bytes, std::convert::Infallible>> + Unpin,
{
    let start = Instant::now();
    let mut seen = Vec::new();
    while let Some(chunk) = body.next().await {
        seen.push((start.elapsed(), chunk.unwrap()));
    }
    seen
}

#[tokio::test(start_paused = true)]
async fn idle_stream_gets_a_keep_alive_after_the_interval_not_at_the_start() {
    let (tx, events) = channel();
    let body = SseBody::new(events).keep_alive(KeepAlive::tokio().interval(INTERVAL));
    let recorder = tokio::spawn(record(Box::pin(body)));
    tokio::time::sleep(Duration::from_secs(35)).await;
    drop(tx);
    let seen = recorder.await.unwrap();
    let times: Vec<Duration> = seen.iter().map(|(t, _)| *t).collect();
    assert!(seen.iter().all(|(_, b)| b == ":\n\n"), "{seen:?}");
    // Idle for at least one interval and at most 1.25 intervals before each one.
    assert_eq!(times.len(), 3, "{times:?}");
    let mut last = Duration::ZERO;
    for t in times {
        let idle = t - last;
        assert!(
            idle >= INTERVAL && idle <= INTERVAL * 5 / 4,
            "idle {idle:?} before keep-alive"
        );
        last = t;
    }
}

#[tokio::test(start_paused = true)]
async fn no_keep_alive_while_events_flow_more_often_than_the_interval() {
    let (tx, events) = channel();
    let body = SseBody::new(events).keep_alive(KeepAlive::tokio().interval(INTERVAL).comment("ka"));
    let recorder = tokio::spawn(record(Box::pin(body)));
    for i in 0..20 {
        tokio::time::sleep(Duration::from_secs(7)).await;
        tx.send(Event::with_data(i.to_string())).unwrap();
    }
    drop(tx);
    let seen = recorder.await.unwrap();
    assert_eq!(seen.len(), 20, "{seen:?}");
    assert!(seen.iter().all(|(_, b)| b.starts_with(b"data: ")));
}

#[tokio::test(start_paused = true)]
async fn keep_alive_counts_idle_time_from_the_last_event() {
    let (tx, events) = channel();
    let body = SseBody::new(events).keep_alive(KeepAlive::tokio().interval(INTERVAL).comment("ka"));
    let recorder = tokio::spawn(record(Box::pin(body)));
    tokio::time::sleep(Duration::from_secs(8)).await;
    tx.send(Event::with_data("e")).unwrap();
    tokio::time::sleep(Duration::from_secs(20)).await;
    drop(tx);
    let seen = recorder.await.unwrap();
    assert_eq!(seen[0].1, "data: e\n\n");
    assert_eq!(seen[1].1, ": ka\n\n");
    let idle = seen[1].0 - seen[0].0;
    assert!(idle >= INTERVAL && idle <= INTERVAL * 5 / 4, "{idle:?}");
    // Every chunk is whole: keep-alives only ever come between complete events.
    assert!(seen.iter().all(|(_, b)| b.ends_with(b"\n\n")));
}

#[tokio::test(start_paused = true)]
async fn no_keep_alive_after_the_end() {
    let (tx, events) = channel();
    let mut body = Box::pin(SseBody::new(events).keep_alive(KeepAlive::tokio().interval(INTERVAL)));
    tx.send(Event::with_data("only")).unwrap();
    drop(tx);
    assert_eq!(body.next().await.unwrap().unwrap(), "data: only\n\n");
    assert!(body.next().await.is_none());
    tokio::time::sleep(INTERVAL * 3).await;
    assert!(body.next().await.is_none());
}

#[tokio::test(start_paused = true)]
async fn one_keep_alive_serves_many_bodies_independently() {
    let keep_alive = KeepAlive::tokio().interval(INTERVAL);
    let (tx_busy, busy) = channel();
    let (_tx_idle, idle) = channel();
    let busy = tokio::spawn(record(Box::pin(
        SseBody::new(busy).keep_alive(keep_alive.clone()),
    )));
    let idle = tokio::spawn(record(Box::pin(
        SseBody::new(idle).keep_alive(keep_alive.clone()),
    )));
    for _ in 0..10 {
        tokio::time::sleep(Duration::from_secs(3)).await;
        tx_busy.send(Event::with_data("b")).unwrap();
    }
    drop(tx_busy);
    drop(_tx_idle);
    let busy = busy.await.unwrap();
    let idle = idle.await.unwrap();
    assert!(busy.iter().all(|(_, b)| b == "data: b\n\n"), "{busy:?}");
    assert_eq!(busy.len(), 10);
    // 30 s idle with a 10 s interval: two or three keep-alives, depending on the tick.
    assert!((2..=3).contains(&idle.len()), "{idle:?}");
    assert!(idle.iter().all(|(_, b)| b == ":\n\n"));
}

#[tokio::test(start_paused = true)]
async fn a_custom_keep_alive_event() {
    let ping = Event::new()
        .event(ssewire::EventType::from_static("ping"))
        .data("");
    let (tx, events) = channel();
    let body = SseBody::new(events).keep_alive(KeepAlive::tokio().interval(INTERVAL).event(ping));
    let recorder = tokio::spawn(record(Box::pin(body)));
    tokio::time::sleep(INTERVAL * 5 / 4 + Duration::from_millis(1)).await;
    drop(tx);
    let seen = recorder.await.unwrap();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].1, "event: ping\ndata: \n\n");
}
