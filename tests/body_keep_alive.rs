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
    let body = SseBody::new(events).with_keep_alive(KeepAlive::tokio().with_interval(INTERVAL));
    let recorder = tokio::spawn(record(Box::pin(body)));
    tokio::time::sleep(Duration::from_secs(35)).await;
    drop(tx);
    let seen = recorder.await.unwrap();
    let times: Vec<Duration> = seen.iter().map(|(t, _)| *t).collect();
    assert!(seen.iter().all(|(_, b)| b == ":\n"), "{seen:?}");
    // Idle for at least one interval before each one; while idle, one per interval
    // (plus at most 1/16 of timer rounding).
    assert_eq!(times.len(), 3, "{times:?}");
    let mut last = Duration::ZERO;
    for t in times {
        let idle = t - last;
        assert!(
            idle >= INTERVAL && idle <= INTERVAL * 17 / 16,
            "idle {idle:?} before keep-alive"
        );
        last = t;
    }
}

#[tokio::test(start_paused = true)]
async fn no_keep_alive_while_events_flow_more_often_than_the_interval() {
    let (tx, events) = channel();
    let body = SseBody::new(events).with_keep_alive(
        KeepAlive::tokio()
            .with_interval(INTERVAL)
            .with_comment("ka"),
    );
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
    let body = SseBody::new(events).with_keep_alive(
        KeepAlive::tokio()
            .with_interval(INTERVAL)
            .with_comment("ka"),
    );
    let recorder = tokio::spawn(record(Box::pin(body)));
    tokio::time::sleep(Duration::from_secs(8)).await;
    tx.send(Event::with_data("e")).unwrap();
    tokio::time::sleep(Duration::from_secs(20)).await;
    drop(tx);
    let seen = recorder.await.unwrap();
    assert_eq!(seen[0].1, "data: e\n\n");
    assert_eq!(seen[1].1, ": ka\n");
    let idle = seen[1].0 - seen[0].0;
    // The documented window: after between 1x and 2x the interval of idleness.
    assert!(
        idle >= INTERVAL && idle <= INTERVAL * 2 + INTERVAL / 16,
        "{idle:?}"
    );
    // Every chunk is whole: events end with their blank line, keep-alives are
    // whole comment lines between them.
    assert!(seen
        .iter()
        .all(|(_, b)| b.ends_with(b"\n\n") || b == ": ka\n"));
}

#[tokio::test(start_paused = true)]
async fn no_keep_alive_after_the_end() {
    let (tx, events) = channel();
    let mut body =
        Box::pin(SseBody::new(events).with_keep_alive(KeepAlive::tokio().with_interval(INTERVAL)));
    tx.send(Event::with_data("only")).unwrap();
    drop(tx);
    assert_eq!(body.next().await.unwrap().unwrap(), "data: only\n\n");
    assert!(body.next().await.is_none());
    tokio::time::sleep(INTERVAL * 3).await;
    assert!(body.next().await.is_none());
}

#[tokio::test(start_paused = true)]
async fn one_keep_alive_serves_many_bodies_independently() {
    let keep_alive = KeepAlive::tokio().with_interval(INTERVAL);
    let (tx_busy, busy) = channel();
    let (_tx_idle, idle) = channel();
    let busy = tokio::spawn(record(Box::pin(
        SseBody::new(busy).with_keep_alive(keep_alive.clone()),
    )));
    let idle = tokio::spawn(record(Box::pin(
        SseBody::new(idle).with_keep_alive(keep_alive.clone()),
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
    assert!(idle.iter().all(|(_, b)| b == ":\n"));
}

#[tokio::test(start_paused = true)]
async fn a_custom_keep_alive_event() {
    let ping = Event::new()
        .event(ssewire::EventType::from_static("ping"))
        .data("");
    let (tx, events) = channel();
    let body = SseBody::new(events)
        .with_keep_alive(KeepAlive::tokio().with_interval(INTERVAL).with_event(ping));
    let recorder = tokio::spawn(record(Box::pin(body)));
    tokio::time::sleep(INTERVAL * 5 / 4 + Duration::from_millis(1)).await;
    drop(tx);
    let seen = recorder.await.unwrap();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].1, "event: ping\ndata: \n\n");
}

// ---- regression tests of issue 11 (items 1-3) --------------------------------------

/// Issue 11.1: a body probed once with another waker (`now_or_never`) must still send
/// keep-alives when it is then polled by a task.
#[tokio::test(start_paused = true)]
async fn keep_alives_continue_after_a_poll_with_another_waker() {
    use futures_util::FutureExt;
    let ka = KeepAlive::tokio().with_interval(Duration::from_millis(100));
    let mut body = SseBody::new(stream::pending::<Event>()).with_keep_alive(ka);
    assert!(body.next().now_or_never().is_none()); // one poll, another waker
    let (tx, rx) = tokio::sync::oneshot::channel();
    tokio::spawn(async move {
        let _ = tx.send(body.next().await.is_some());
    });
    let got = tokio::time::timeout(Duration::from_secs(2), rx).await;
    assert!(matches!(got, Ok(Ok(true))), "no keep-alive: {got:?}");
}

/// Issue 11.1: inside `select_all`, an idle body sends one keep-alive per interval.
#[tokio::test(start_paused = true)]
async fn keep_alives_inside_select_all() {
    let ka = KeepAlive::tokio().with_interval(Duration::from_millis(100));
    let idle = SseBody::new(stream::pending::<Event>()).with_keep_alive(ka.clone());
    let other = SseBody::new(stream::pending::<Event>());
    let mut all = stream::select_all([Box::pin(idle), Box::pin(other)]);
    let mut seen = 0;
    let _ = tokio::time::timeout(Duration::from_secs(2), async {
        while all.next().await.is_some() {
            seen += 1;
        }
    })
    .await;
    // One per interval once idle (the first after 100-200 ms): 19 or 20 in 2 s; fewer
    // means some stopped, more means they came faster than the interval.
    assert!(
        (19..=20).contains(&seen),
        "{seen} keep-alives in 2 s with a 100 ms interval (want 19 or 20)"
    );
}

/// Issue 11.3: a `KeepAlive` made once (e.g. in a `OnceLock`) and used from a second
/// runtime after the first one was dropped must neither panic nor stop.
#[test]
fn a_keep_alive_outlives_the_runtime_that_first_used_it() {
    let ka = KeepAlive::tokio().with_interval(Duration::from_millis(20));
    let first = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    first.block_on(async {
        let mut body =
            Box::pin(SseBody::new(stream::pending::<Event>()).with_keep_alive(ka.clone()));
        let chunk = body.next().await.unwrap().unwrap();
        assert!(chunk.starts_with(b":"));
        // A second body stays registered with the timer when the runtime goes away.
        let mut waiting =
            Box::pin(SseBody::new(stream::pending::<Event>()).with_keep_alive(ka.clone()));
        assert!(futures_util::FutureExt::now_or_never(waiting.next()).is_none());
        std::mem::forget(waiting);
    });
    drop(first);
    let second = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    second.block_on(async {
        let mut body =
            Box::pin(SseBody::new(stream::pending::<Event>()).with_keep_alive(ka.clone()));
        for _ in 0..3 {
            let chunk = tokio::time::timeout(Duration::from_secs(5), body.next())
                .await
                .expect("no keep-alive in the second runtime")
                .unwrap()
                .unwrap();
            assert!(chunk.starts_with(b":"));
        }
    });
}

/// A waker that counts its wakes.
#[derive(Default)]
struct CountingWaker(std::sync::atomic::AtomicUsize);

impl std::task::Wake for CountingWaker {
    fn wake(self: std::sync::Arc<Self>) {
        self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }
    fn wake_by_ref(self: &std::sync::Arc<Self>) {
        self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }
}

/// Issue 11.2: an idle body is woken once per interval, when its keep-alive is due.
#[tokio::test(start_paused = true)]
async fn an_idle_body_is_woken_once_per_interval() {
    use std::sync::atomic::Ordering;
    use std::task::{Context, Poll};
    let counter = std::sync::Arc::new(CountingWaker::default());
    let waker = std::task::Waker::from(counter.clone());
    let mut body = Box::pin(
        SseBody::new(stream::pending::<Event>())
            .with_keep_alive(KeepAlive::tokio().with_interval(INTERVAL)),
    );
    let mut keep_alives = 0;
    let mut polls = 0;
    assert!(body
        .as_mut()
        .poll_next(&mut Context::from_waker(&waker))
        .is_pending());
    let mut woken = 0;
    // Ten intervals, in small steps; poll the body each time it was woken.
    for _ in 0..1000 {
        tokio::time::advance(INTERVAL / 100).await;
        let now = counter.0.load(Ordering::SeqCst);
        if now != woken {
            woken = now;
            loop {
                polls += 1;
                match body.as_mut().poll_next(&mut Context::from_waker(&waker)) {
                    Poll::Ready(Some(Ok(_))) => keep_alives += 1,
                    Poll::Pending => break,
                    other => panic!("{other:?}"),
                }
            }
        }
    }
    let wakes = counter.0.load(Ordering::SeqCst);
    println!("{wakes} wakes, {polls} polls, {keep_alives} keep-alives in 10 intervals");
    assert!((9..=10).contains(&keep_alives), "{keep_alives} keep-alives");
    assert!(
        wakes <= 11,
        "{wakes} wakes ({polls} polls) for {keep_alives} keep-alives in 10 intervals"
    );
}
