//! The body adapter as a `Stream`: coalescing, zero-copy pass-through, errors, end,
//! drop, shutdown and lifetime. Keep-alive timing is in `body_keep_alive.rs`.

use std::convert::Infallible;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use futures_util::{stream, Stream, StreamExt};
use ssewire::{EncodedEvent, Event, EventType, OutgoingEvent, SseBody};
use tokio::sync::mpsc;

fn data(text: &str) -> Event {
    Event::with_data(text)
}

/// A stream fed by a channel, so a test decides what is ready when.
fn channel() -> (
    mpsc::UnboundedSender<Result<Event, &'static str>>,
    impl Stream<Item = Result<Event, &'static str>>,
) {
    let (tx, mut rx) = mpsc::unbounded_channel();
    (tx, stream::poll_fn(move |cx| rx.poll_recv(cx)))
}

fn poll_once<S: Stream + Unpin>(s: &mut S) -> Poll<Option<S::Item>> {
    let waker = futures_util::task::noop_waker();
    s.poll_next_unpin(&mut Context::from_waker(&waker))
}

#[tokio::test]
async fn ready_events_are_coalesced_and_none_is_waited_for() {
    let (tx, events) = channel();
    let mut body = Box::pin(SseBody::new(events));
    tx.send(Ok(data("1"))).unwrap();
    tx.send(Ok(data("2"))).unwrap();
    tx.send(Ok(data("3"))).unwrap();
    assert_eq!(
        body.next().await.unwrap().unwrap(),
        "data: 1\n\ndata: 2\n\ndata: 3\n\n"
    );
    // Nothing ready: the body is pending, it does not wait to fill a chunk.
    assert!(poll_once(&mut body).is_pending());
    tx.send(Ok(data("4"))).unwrap();
    assert_eq!(body.next().await.unwrap().unwrap(), "data: 4\n\n");
}

#[tokio::test]
async fn coalescing_is_bounded_by_max_chunk_size() {
    let events = stream::iter((0..100).map(|i| data(&format!("{i:03}"))));
    // 100 events of 11 bytes: 25 chunks of four.
    let chunks: Vec<Bytes> = SseBody::new(events)
        .with_max_chunk_size(50)
        .map(|c| c.unwrap())
        .collect()
        .await;
    // Each event is 11 bytes: four fit in 50, a fifth starts the next chunk.
    assert!(chunks.iter().all(|c| c.len() == 44), "{chunks:?}");
    let all: Vec<u8> = chunks.concat();
    let expected: String = (0..100).map(|i| format!("data: {i:03}\n\n")).collect();
    assert_eq!(all, expected.as_bytes());
}

#[tokio::test]
async fn an_event_larger_than_the_bound_goes_out_whole() {
    let big = "x".repeat(1000);
    let events = stream::iter([data("a"), data(&big), data("b")]);
    let chunks: Vec<Bytes> = SseBody::new(events)
        .with_max_chunk_size(100)
        .map(|c| c.unwrap())
        .collect()
        .await;
    assert_eq!(
        chunks.concat(),
        format!("data: a\n\ndata: {big}\n\ndata: b\n\n").as_bytes()
    );
    assert!(chunks
        .iter()
        .all(|c| c.starts_with(b"data: ") && c.ends_with(b"\n\n")));
}

#[tokio::test]
async fn a_large_event_after_small_ones_starts_its_own_chunk_without_a_copy() {
    let big: EncodedEvent = data(&"x".repeat(10_000)).encode();
    let events = stream::iter([
        OutgoingEvent::from(Event::with_data("a")),
        Event::with_data("b").into(),
        big.clone().into(),
        Event::with_data("c").into(),
    ]);
    let chunks: Vec<Bytes> = SseBody::new(events)
        .with_max_chunk_size(1000)
        .map(|c| c.unwrap())
        .collect()
        .await;
    assert_eq!(chunks.len(), 3, "{chunks:?}");
    assert_eq!(chunks[0], "data: a\n\ndata: b\n\n");
    assert_eq!(
        chunks[1].as_ptr(),
        big.as_bytes().as_ptr(),
        "the big event was copied"
    );
    assert_eq!(chunks[2], "data: c\n\n");
}

#[tokio::test]
async fn events_of_a_kibibyte_or_more_go_alone_and_small_ones_still_coalesce() {
    let big: Vec<EncodedEvent> = (0..3)
        .map(|i| data(&format!("{i}").repeat(1100)).encode())
        .collect();
    let events = stream::iter([
        OutgoingEvent::from(Event::with_data("a")),
        big[0].clone().into(),
        big[1].clone().into(),
        Event::with_data("b").into(),
        Event::with_data("c").into(),
        big[2].clone().into(),
    ]);
    let chunks: Vec<Bytes> = SseBody::new(events).map(|c| c.unwrap()).collect().await;
    assert_eq!(chunks.len(), 5, "{chunks:?}");
    assert_eq!(chunks[0], "data: a\n\n");
    assert_eq!(chunks[3], "data: b\n\ndata: c\n\n");
    for (chunk, big) in [
        (&chunks[1], &big[0]),
        (&chunks[2], &big[1]),
        (&chunks[4], &big[2]),
    ] {
        assert_eq!(
            chunk.as_ptr(),
            big.as_bytes().as_ptr(),
            "a large event was copied"
        );
    }
}

#[tokio::test]
async fn a_lone_encoded_event_is_sent_without_copying() {
    let shared: EncodedEvent = data("to everyone").encode();
    let (tx, mut rx) = mpsc::unbounded_channel::<EncodedEvent>();
    let mut body = Box::pin(SseBody::new(stream::poll_fn(move |cx| rx.poll_recv(cx))));
    tx.send(shared.clone()).unwrap();
    let chunk = body.next().await.unwrap().unwrap();
    assert_eq!(
        chunk.as_ptr(),
        shared.as_bytes().as_ptr(),
        "bytes were copied"
    );
    assert_eq!(chunk, shared.as_bytes());
}

#[tokio::test]
async fn by_default_an_error_ends_the_body_cleanly_after_the_events_before_it() {
    let events = stream::iter([Ok(data("1")), Ok(data("2")), Err("boom"), Ok(data("never"))]);
    let mut body = Box::pin(SseBody::new(events));
    assert_eq!(
        body.next().await.unwrap().unwrap(),
        "data: 1\n\ndata: 2\n\n"
    );
    assert!(body.next().await.is_none(), "a clean end, no error");
    assert!(body.next().await.is_none(), "stays ended");
    assert!(body.is_ended());
}

#[tokio::test]
async fn the_error_observer_sees_the_error_and_the_body_ends_cleanly() {
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let events = stream::iter([Ok(data("1")), Err("boom"), Ok(data("never"))]);
    let log = seen.clone();
    let body = SseBody::new(events).with_error_observer(move |e| log.lock().unwrap().push(e));
    let chunks: Vec<_> = body.collect().await;
    assert_eq!(chunks.len(), 1);
    assert_eq!(chunks[0].as_ref().unwrap(), "data: 1\n\n");
    assert_eq!(*seen.lock().unwrap(), ["boom"]);
}

#[tokio::test]
async fn with_abort_on_error_the_events_before_an_error_are_sent_then_the_error_ends_the_body() {
    let events = stream::iter([Ok(data("1")), Ok(data("2")), Err("boom"), Ok(data("never"))]);
    let mut body = Box::pin(SseBody::new(events).with_abort_on_error());
    assert_eq!(
        body.next().await.unwrap().unwrap(),
        "data: 1\n\ndata: 2\n\n"
    );
    assert_eq!(body.next().await.unwrap().unwrap_err(), "boom");
    assert!(body.next().await.is_none());
    assert!(body.next().await.is_none(), "stays ended");
    assert!(body.is_ended());
}

#[tokio::test]
async fn with_abort_on_error_an_error_alone_ends_the_body_at_once() {
    let mut body =
        Box::pin(SseBody::new(stream::iter([Err::<Event, _>("boom")])).with_abort_on_error());
    assert_eq!(body.next().await.unwrap().unwrap_err(), "boom");
    assert!(body.next().await.is_none());
}

#[tokio::test]
async fn by_default_an_error_alone_ends_the_body_at_once() {
    let mut body = Box::pin(SseBody::new(stream::iter([Err::<Event, _>("boom")])));
    assert!(body.next().await.is_none());
}

#[tokio::test]
async fn the_error_handler_turns_the_error_into_a_last_event() {
    const ERROR: EventType = EventType::from_static("error");
    let events = stream::iter([Ok(data("1")), Err("boom"), Ok(data("never"))]);
    let body = SseBody::new(events).with_error_handler(|e| Event::new().event(ERROR).data(e));
    let chunks: Vec<_> = body.collect().await;
    assert_eq!(chunks.len(), 1);
    assert_eq!(
        chunks[0].as_ref().unwrap(),
        "data: 1\n\nevent: error\ndata: boom\n\n"
    );
}

#[tokio::test]
async fn the_error_handlers_event_keeps_to_the_chunk_bound() {
    // It used to be added to the chunk whatever its size: here 9 + 38 bytes, over
    // the bound of 30. Now it is the body's own last chunk, as any overflowing event.
    const ERROR: EventType = EventType::from_static("error");
    let events = stream::iter([Ok(data("1")), Err("x".repeat(20)), Ok(data("never"))]);
    let body = SseBody::new(events)
        .with_max_chunk_size(30)
        .with_error_handler(|e| Event::new().event(ERROR).data(e));
    let chunks: Vec<Bytes> = body.map(Result::unwrap).collect().await;
    assert_eq!(
        chunks,
        [
            "data: 1\n\n".to_owned(),
            format!("event: error\ndata: {}\n\n", "x".repeat(20))
        ]
    );
}

#[tokio::test]
async fn a_large_error_event_goes_out_alone_and_the_body_then_ends() {
    const ERROR: EventType = EventType::from_static("error");
    let big = "y".repeat(4096);
    let events = stream::iter([Ok(data("1")), Err(big.clone())]);
    let mut body =
        Box::pin(SseBody::new(events).with_error_handler(|e| Event::new().event(ERROR).data(e)));
    assert_eq!(body.next().await.unwrap().unwrap(), "data: 1\n\n");
    assert_eq!(
        body.next().await.unwrap().unwrap(),
        format!("event: error\ndata: {big}\n\n")
    );
    assert!(body.next().await.is_none());
    assert!(body.next().await.is_none(), "stays ended");
    assert!(body.is_ended());
}

#[tokio::test]
async fn the_end_of_the_stream_ends_the_body_and_it_stays_ended() {
    let mut body = Box::pin(SseBody::new(stream::iter([data("a")])));
    assert_eq!(body.next().await.unwrap().unwrap(), "data: a\n\n");
    assert!(body.next().await.is_none());
    assert!(body.next().await.is_none());
    assert_eq!(body.size_hint(), (0, Some(0)));
}

/// A stream that counts how many of it are alive.
struct Counted(Arc<AtomicUsize>);

impl Counted {
    fn new(alive: &Arc<AtomicUsize>) -> Self {
        alive.fetch_add(1, Ordering::SeqCst);
        Counted(alive.clone())
    }
}

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Stream for Counted {
    type Item = Event;
    fn poll_next(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Option<Event>> {
        Poll::Pending
    }
}

#[tokio::test]
async fn dropping_the_body_drops_the_stream_at_once() {
    let alive = Arc::new(AtomicUsize::new(0));
    let mut bodies: Vec<_> = (0..100)
        .map(|_| {
            Box::pin(
                SseBody::new(Counted::new(&alive)).with_keep_alive(ssewire::KeepAlive::tokio()),
            )
        })
        .collect();
    for body in &mut bodies {
        assert!(poll_once(body).is_pending());
    }
    assert_eq!(alive.load(Ordering::SeqCst), 100);
    bodies.truncate(40);
    assert_eq!(alive.load(Ordering::SeqCst), 40);
    drop(bodies);
    assert_eq!(alive.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn the_open_event_goes_first_even_before_ready_events() {
    let body = SseBody::new(stream::iter([data("a")]))
        .with_open_event(Event::new().retry(Duration::from_millis(1500)));
    let chunks: Vec<_> = body.map(|c| c.unwrap()).collect().await;
    // A retry-only event ends without a blank line (see the wire rules).
    assert_eq!(chunks, ["retry: 1500\n", "data: a\n\n"]);
}

#[tokio::test(start_paused = true)]
async fn shutdown_sends_the_farewell_and_ends_cleanly() {
    let (tx, events) = channel();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let mut body = Box::pin(
        SseBody::new(events)
            .with_shutdown_signal(async move {
                let _ = stopped.await;
            })
            .with_farewell(Event::new().event(EventType::from_static("bye")).data("")),
    );
    tx.send(Ok(data("1"))).unwrap();
    assert_eq!(body.next().await.unwrap().unwrap(), "data: 1\n\n");
    stop.send(()).unwrap();
    tx.send(Ok(data("not sent"))).unwrap();
    assert_eq!(
        body.next().await.unwrap().unwrap(),
        "event: bye\ndata: \n\n"
    );
    assert!(body.next().await.is_none());
    assert!(body.next().await.is_none());
}

#[tokio::test(start_paused = true)]
async fn lifetime_ends_the_body_within_the_jitter() {
    let (tx, events) = channel();
    let start = tokio::time::Instant::now();
    let mut body = Box::pin(SseBody::new(events).with_max_lifetime(
        ssewire::TokioTimer,
        Duration::from_secs(60),
        Duration::from_secs(10),
    ));
    tx.send(Ok(data("1"))).unwrap();
    assert_eq!(body.next().await.unwrap().unwrap(), "data: 1\n\n");
    assert!(body.next().await.is_none());
    let lived = start.elapsed();
    assert!(
        lived >= Duration::from_secs(60) && lived < Duration::from_secs(70),
        "{lived:?}"
    );
    drop(tx);
}

#[test]
fn the_body_is_send_when_its_stream_is() {
    fn assert_send<T: Send>(_: &T) {}
    let body = SseBody::new(stream::iter([Ok::<_, std::io::Error>(data("x"))]))
        .with_keep_alive(ssewire::KeepAlive::tokio())
        .with_shutdown_signal(async {});
    assert_send(&body);
    let _: &dyn Stream<Item = Result<Bytes, Infallible>> = &SseBody::new(stream::iter([data("x")]));
}

#[tokio::test]
async fn an_overflowing_event_is_encoded_once_and_opens_the_next_chunk() {
    // 11-byte events with a 30-byte bound: two per chunk; the third is held, uncopied.
    let events = stream::iter((0..5).map(|i| data(&format!("{i:03}"))));
    let chunks: Vec<Bytes> = SseBody::new(events)
        .with_max_chunk_size(30)
        .map(|c| c.unwrap())
        .collect()
        .await;
    assert_eq!(
        chunks,
        [
            "data: 000\n\ndata: 001\n\n",
            "data: 002\n\ndata: 003\n\n",
            "data: 004\n\n"
        ]
    );
}

#[tokio::test]
async fn encoded_events_from_a_result_stream_pass_through_uncopied() {
    // The hub's subscriber shape: `Result<EncodedEvent, Infallible>`.
    let shared: EncodedEvent = data("to everyone").encode();
    let events = stream::iter([Ok::<_, Infallible>(shared.clone())]);
    let chunks: Vec<Bytes> = SseBody::new(events).map(|c| c.unwrap()).collect().await;
    assert_eq!(chunks[0].as_ptr(), shared.as_bytes().as_ptr());
}

/// A stream of `Event::attach_data` events writes the same bytes as the same events
/// built with `Event::data`, cut into chunks at event boundaries, each within the
/// bound unless it holds a single event (the held-over path included: an event that
/// does not fit opens the next chunk, then attached data is appended after it).
mod attached_data {
    use super::*;
    use proptest::prelude::*;

    const TICK: EventType = EventType::from_static("tick");

    fn build(i: usize, typed: bool) -> Event {
        if typed {
            Event::new().event(TICK).id(i as u64)
        } else {
            Event::new()
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]
        #[test]
        fn same_bytes_and_bounded_chunks(
            events in prop::collection::vec(("[ab\r\n]{0,40}", any::<bool>()), 0..30),
            max_chunk in 1usize..200,
        ) {
            let expected: Vec<Bytes> = events
                .iter()
                .enumerate()
                .map(|(i, (text, typed))| build(i, *typed).data(text).encode().into_bytes())
                .collect();
            let items: Vec<_> = events
                .iter()
                .enumerate()
                .map(|(i, (text, typed))| build(i, *typed).attach_data(text.clone()))
                .collect();
            let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
            let chunks: Vec<Bytes> = runtime.block_on(
                SseBody::new(stream::iter(items))
                    .with_max_chunk_size(max_chunk)
                    .map(|c| c.unwrap())
                    .collect(),
            );
            prop_assert_eq!(chunks.concat(), expected.concat());
            // Where each event ends in the stream's bytes.
            let mut ends = Vec::new();
            let mut at = 0;
            for event in &expected {
                at += event.len();
                ends.push(at);
            }
            let mut at = 0;
            for chunk in &chunks {
                let start = at;
                at += chunk.len();
                prop_assert!(ends.contains(&at), "a chunk ends inside an event");
                let inside = ends.iter().filter(|&&end| end > start && end <= at).count();
                prop_assert!(
                    chunk.len() <= max_chunk || inside == 1,
                    "a chunk of {} bytes holds {} events (bound {})", chunk.len(), inside, max_chunk
                );
            }
        }
    }

    #[tokio::test]
    async fn errors_of_a_result_stream_still_reach_the_handler() {
        let events = stream::iter([
            Ok(Event::new().attach_data(String::from("a"))),
            Ok(Event::new().attach_data(String::from("b"))),
            Err("broken"),
        ]);
        let chunks: Vec<Bytes> = SseBody::new(events)
            .with_error_handler(|e: &str| Event::new().event(TICK).data(e))
            .map(|c| c.unwrap())
            .collect()
            .await;
        assert_eq!(
            chunks.concat(),
            b"data: a\n\ndata: b\n\nevent: tick\ndata: broken\n\n"
        );
    }
}
