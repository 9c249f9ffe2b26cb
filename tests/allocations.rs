//! Allocation counts of building and encoding events, measured with a counting global
//! allocator. This is its own test binary so the allocator counts nothing else, and it
//! counts per thread, so tests running in parallel do not disturb each other.

use std::hint::black_box;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use futures_core::Stream;
use ssewire::{Event, EventId, EventType, OutgoingEvent, SseBody};

#[path = "common/counting_alloc.rs"]
mod counting_alloc;

#[global_allocator]
static GLOBAL: counting_alloc::CountingAlloc = counting_alloc::CountingAlloc;

/// Allocation calls made by this thread while `f` runs.
fn count<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let (out, stats) = counting_alloc::count_on_this_thread(f);
    (out, stats.allocs as usize)
}

const TICK: EventType = EventType::from_static("tick");
const DATA_64: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

#[test]
fn the_counter_sees_allocations() {
    let (v, n) = count(|| vec![1u8; 10]);
    assert_eq!(v.len(), 10);
    assert_eq!(n, 1);
    let (_, n) = count(|| 1 + 1);
    assert_eq!(n, 0);
}

#[test]
fn building_and_encoding_a_typical_event_allocates_once() {
    for i in [0u64, 7, 1_000_000, u64::MAX] {
        let (encoded, n) = count(|| {
            Event::new()
                .event(TICK)
                .id(i)
                .data(std::hint::black_box(DATA_64))
                .encode()
        });
        assert_eq!(n, 1, "id {i}");
        assert_eq!(
            encoded.as_ref(),
            format!("event: tick\nid: {i}\ndata: {DATA_64}\n\n").as_bytes()
        );
    }
    // With retry too, and with only data.
    let (encoded, n) = count(|| {
        Event::new()
            .event(TICK)
            .id(1u32)
            .retry(Duration::from_secs(3))
            .data(DATA_64)
            .encode()
    });
    assert_eq!(n, 1);
    assert!(encoded
        .as_ref()
        .starts_with(b"event: tick\nid: 1\nretry: 3000\ndata: "));
    let (_, n) = count(|| Event::with_data(DATA_64).encode());
    assert_eq!(n, 1);
    let (_, n) = count(|| Event::with_data("").encode());
    assert_eq!(n, 1);
    // Without data too (this used to grow its buffer a second time: sized exactly,
    // then reserved to the id's upper bound).
    for i in [0u64, 7, u64::MAX] {
        let (encoded, n) = count(|| Event::new().event(TICK).id(i).encode());
        assert_eq!(n, 1, "id {i}");
        assert_eq!(
            encoded.as_ref(),
            format!("event: tick\nid: {i}\n\n").as_bytes()
        );
    }
    let (bytes, n) = count(|| bytes::Bytes::from(Event::new().event(TICK).data("x")));
    assert_eq!(n, 1);
    assert_eq!(&bytes[..], b"event: tick\ndata: x\n\n");
}

#[test]
fn the_order_of_the_setters_does_not_change_the_allocations() {
    // Regression: header fields set after the data used to cost a second allocation
    // and a copy of the whole event.
    let expected = format!("event: tick\nid: 1234567\nretry: 3000\ndata: {DATA_64}\n\n");
    let orders: [fn() -> Event; 4] = [
        || {
            Event::new()
                .event(TICK)
                .id(1_234_567u64)
                .retry(Duration::from_secs(3))
                .data(DATA_64)
        },
        || {
            Event::new()
                .data(DATA_64)
                .event(TICK)
                .id(1_234_567u64)
                .retry(Duration::from_secs(3))
        },
        || {
            Event::new()
                .id(1_234_567u64)
                .data(DATA_64)
                .retry(Duration::from_secs(3))
                .event(TICK)
        },
        || {
            Event::new()
                .event(TICK)
                .id(1_234_567u64)
                .data(DATA_64)
                .retry(Duration::from_secs(3))
        },
    ];
    for (k, make) in orders.iter().enumerate() {
        let (encoded, n) = count(|| make().encode());
        assert_eq!(n, 1, "order {k}");
        assert_eq!(encoded.as_ref(), expected.as_bytes(), "order {k}");
    }
}

#[test]
fn a_cloned_event_encodes_with_the_clones_one_allocation() {
    // Regression: `Vec::clone` sized the copy exactly, so encoding the clone grew it
    // for the blank line (a second allocation) and left spare capacity, which cost
    // `Bytes` a third; the README's `event.clone().encode()` took three allocations.
    let event = Event::new()
        .event(TICK)
        .id(42u64)
        .retry(Duration::from_secs(3))
        .data("line one\nline two");
    let expected = "event: tick\nid: 42\nretry: 3000\ndata: line one\ndata: line two\n\n";
    let (encoded, n) = count(|| event.clone().encode());
    assert_eq!(n, 1);
    assert_eq!(encoded.as_ref(), expected.as_bytes());
    // A header field set on the clone goes into the headroom, as on the original.
    let (encoded, n) = count(|| event.clone().id(7u8).encode());
    assert_eq!(n, 1);
    assert!(encoded
        .as_ref()
        .starts_with(b"event: tick\nid: 7\nretry: 3000\n"));
    // With a data writer's line still open, the clone has room to close it too.
    let mut open = Event::new().event(TICK);
    std::fmt::Write::write_str(&mut open.data_writer(), "w").unwrap();
    let (encoded, n) = count(|| open.clone().encode());
    assert_eq!(n, 1);
    assert_eq!(encoded.as_ref(), b"event: tick\ndata: w\n\n");
    // An event without lines stays unallocated when cloned.
    let header_only = Event::new().event(TICK).id(1u8);
    let (_, n) = count(|| header_only.clone());
    assert_eq!(n, 0);
}

#[test]
fn event_ids_compare_and_hash_without_allocating() {
    use std::hash::{BuildHasher, RandomState};
    let hasher = RandomState::new();
    let pairs = [
        (EventId::from(123u64), EventId::new("123").unwrap()),
        (EventId::from(-123i64), EventId::new("-123").unwrap()),
        (EventId::new("0160").unwrap(), EventId::from(160u64)),
        (EventId::from(u64::MAX), EventId::from(i64::MIN)),
    ];
    let (results, n) = count(|| {
        pairs
            .iter()
            .map(|(a, b)| (a == b, hasher.hash_one(a) == hasher.hash_one(b)))
            .fold([(false, false); 4], |mut acc, r| {
                acc.rotate_left(1);
                acc[3] = r;
                acc
            })
    });
    assert_eq!(n, 0);
    assert_eq!(
        results,
        [(true, true), (true, true), (false, false), (false, false)]
    );
}

#[test]
fn multi_line_data_encodes_with_one_allocation() {
    let w2: String = (0..16).map(|_| format!("{DATA_64}\n")).collect();
    let w2 = w2.trim_end_matches('\n');
    let (encoded, n) = count(|| Event::new().event(TICK).id(42u64).data(w2).encode());
    assert_eq!(n, 1);
    assert_eq!(
        encoded.as_ref().iter().filter(|&&b| b == b'\n').count(),
        2 + 16 + 1
    );
    // LF and lone CR breaks alike.
    let (_, n) = count(|| Event::new().event(TICK).data("a\rb\nc\r").encode());
    assert_eq!(n, 1);
    // Many breaks: the break count (which sizes the buffer exactly) must stay exact
    // past any internal counter width, including when every byte is a break.
    for data in [
        "x\n".repeat(10_000),
        "\n".repeat(32 * 255 * 2 + 7),
        "\r".repeat(70_000),
    ] {
        let (encoded, n) = count(|| Event::new().event(TICK).data(&data).encode());
        assert_eq!(n, 1, "{} bytes", data.len());
        let lines = data.len() + 1 - data.matches("x\n").count();
        assert_eq!(
            encoded.len(),
            "event: tick\n".len() + lines * "data: \n".len() + data.matches('x').count() + 1
        );
    }
    // A 64 KiB line.
    let big = "x".repeat(64 * 1024);
    let (_, n) = count(|| Event::new().event(TICK).id(1u8).data(&big).encode());
    assert_eq!(n, 1);
}

#[test]
fn encode_to_a_reused_buffer_allocates_nothing() {
    let events: Vec<Event> = (0..100u64)
        .map(|i| {
            Event::new()
                .event(TICK)
                .id(i)
                .retry(Duration::from_millis(i))
                .comment("c\nd")
                .data(format!("{DATA_64}\r\n{DATA_64}"))
        })
        .collect();
    let mut buf = BytesMut::with_capacity(64 * 1024);
    for _round in 0..3 {
        let (_, n) = count(|| {
            for event in &events {
                event.encode_to(&mut buf);
            }
        });
        assert_eq!(n, 0);
        assert!(buf.ends_with(b"\n\n"));
        buf.clear();
    }
    // Events without data cost nothing at all, built and encoded.
    let (_, n) = count(|| {
        Event::new()
            .event(TICK)
            .id(5u64)
            .retry(Duration::from_secs(1))
            .encode_to(&mut buf)
    });
    assert_eq!(n, 0);
    // Building a data event allocates its one buffer; encode_to adds nothing.
    buf.clear();
    let (_, n) = count(|| {
        Event::new()
            .event(TICK)
            .id(9u64)
            .data(black_box(DATA_64))
            .encode_to(&mut buf)
    });
    assert_eq!(n, 1);
}

#[test]
fn data_given_at_write_time_allocates_nothing() {
    let mut buf = BytesMut::with_capacity(256 * 1024);
    // The header built per event (no data: nothing to allocate), the data given at
    // write time (issue 15: `Event::data` + `encode_to` allocates once per event and
    // copies the data twice).
    for i in [0u64, 7, 1_000_000, u64::MAX] {
        buf.clear();
        let (_, n) = count(|| {
            Event::new()
                .event(TICK)
                .id(i)
                .encode_with_data_to(black_box(DATA_64), &mut buf)
        });
        assert_eq!(n, 0, "id {i}");
        assert_eq!(
            &buf[..],
            format!("event: tick\nid: {i}\ndata: {DATA_64}\n\n").as_bytes()
        );
    }
    // Data of any size and shape, given at write time: no allocation, same bytes as
    // storing it in the event.
    let w2: String = (0..16).map(|_| format!("{DATA_64}\n")).collect();
    let w2 = w2.trim_end_matches('\n');
    let big = "x".repeat(64 * 1024);
    let header = Event::new().event(TICK).id(42u64);
    for data in [w2, big.as_str(), "a\r\nb\rc\n", "", DATA_64] {
        buf.clear();
        let (_, n) = count(|| header.encode_with_data_to(black_box(data), &mut buf));
        assert_eq!(n, 0, "{} bytes", data.len());
        assert_eq!(&buf[..], header.clone().data(data).encode().as_ref());
    }
}

/// Drains `body` with a no-op waker, keeping every chunk (so that no buffer is
/// reused behind the body's back); the body must never be pending.
fn drain<S>(body: &mut SseBody<S>, chunks: &mut Vec<Bytes>)
where
    S: Stream + Unpin,
    S::Item: ssewire::SseItem,
    <S::Item as ssewire::SseItem>::Error: std::fmt::Debug,
{
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        match Pin::new(&mut *body).poll_next(&mut cx) {
            Poll::Ready(Some(chunk)) => chunks.push(chunk.expect("no stream error")),
            Poll::Ready(None) => return,
            Poll::Pending => panic!("an always-ready stream's body was pending"),
        }
    }
}

#[test]
fn sse_body_adds_no_allocation_per_coalesced_event() {
    // W1 of issue 15: events with a type, a counter id and 64 bytes of data, built
    // from borrowed data, all ready together. They are built in the stream, inside
    // the counted region, as an application's `map` would.
    const EVENTS: u64 = 20_000;
    let make = |i: u64| Event::new().event(TICK).id(i).data(black_box(DATA_64));
    let mut body = SseBody::new(futures_util::stream::iter((0..EVENTS).map(make)));
    let mut chunks = Vec::with_capacity(1024);
    let ((), n) = count(|| drain(&mut body, &mut chunks));
    // Each event's own buffer (made when it is built), and a few allocations per
    // 64 KiB chunk (its buffer growing from 4 KiB, its shared handle, the first event
    // of the chunk encoded alone before a second one arrives): the body itself
    // allocates nothing per event.
    assert!(chunks.len() < 50, "{} chunks", chunks.len());
    assert!(
        n <= EVENTS as usize + 8 * chunks.len(),
        "{n} allocations for {EVENTS} events in {} chunks",
        chunks.len()
    );
    let wire: Vec<u8> = chunks.concat();
    let wire_len = wire.len();
    let expected: Vec<u8> = (0..EVENTS)
        .flat_map(|i| make(i).encode().into_bytes())
        .collect();
    assert!(wire == expected, "the body wrote different bytes");

    // As a server drives it: each chunk dropped once written, so the body reuses
    // its buffer.
    let mut body = SseBody::new(futures_util::stream::iter((0..EVENTS).map(make)));
    let mut cx = Context::from_waker(Waker::noop());
    let ((bytes, chunks_seen), n) = count(|| {
        let (mut bytes, mut chunks_seen) = (0, 0);
        while let Poll::Ready(Some(chunk)) = Pin::new(&mut body).poll_next(&mut cx) {
            bytes += chunk.expect("no stream error").len();
            chunks_seen += 1;
        }
        (bytes, chunks_seen)
    });
    assert_eq!(bytes, wire_len);
    assert!(
        n <= EVENTS as usize + 2 * chunks_seen,
        "{n} allocations in {chunks_seen} chunks"
    );
}

#[test]
fn pre_encoded_events_and_owned_strings_are_not_copied() {
    let encoded = Event::new().event(TICK).data(DATA_64).encode();
    // The first clone of a `Bytes` made from a `Vec` allocates its shared reference
    // count (the `bytes` crate's lazy promotion); later clones only bump it.
    let (first_clone, n) = count(|| encoded.clone());
    assert!(n <= 1, "{n}");
    let (clones, n) = count(|| [encoded.clone(), encoded.clone(), first_clone.clone()]);
    assert_eq!(n, 0);
    // Handing an encoded event to a body (its item type) costs nothing.
    let [a, b, c] = clones;
    let (again, n) = count(|| [a, b, c].map(OutgoingEvent::from));
    assert_eq!(n, 0);
    for again in &again {
        let OutgoingEvent::Encoded(again) = again else {
            panic!("{again:?}")
        };
        assert_eq!(again.as_bytes().as_ptr(), encoded.as_bytes().as_ptr());
    }

    let name = String::from("runtime-name");
    let id = String::from("runtime-id");
    let (event, n) = count(|| {
        Event::new()
            .try_event(name)
            .and_then(|e| e.try_id(id))
            .unwrap()
    });
    assert_eq!(n, 0, "a String is taken without copying");
    assert_eq!(event.event_type().unwrap().as_str(), "runtime-name");
}

#[test]
fn attached_data_through_sse_body_allocates_nothing_per_event() {
    // The same W1 events with the data attached (`Event::attach_data`) instead of
    // copied into each event: as a server drives the body (each chunk dropped once
    // written), nothing is allocated per event. Measured: the first chunk's buffer
    // grows from 4 KiB to 64 KiB (9 allocations in all), then one allocation per
    // chunk, for the event that does not fit and opens the next one.
    const EVENTS: u64 = 20_000;
    let make = |i: u64| {
        Event::new()
            .event(TICK)
            .id(i)
            .attach_data(black_box(DATA_64))
    };
    let expected: Vec<u8> = (0..EVENTS)
        .flat_map(|i| make(i).encode().into_bytes())
        .collect();
    let mut body = SseBody::new(futures_util::stream::iter((0..EVENTS).map(make)));
    let mut cx = Context::from_waker(Waker::noop());
    // Room for everything, so that keeping a copy allocates nothing; each chunk is
    // then dropped, as a server drops it once written.
    let mut wire = Vec::with_capacity(expected.len());
    let (chunks_seen, n) = count(|| {
        let mut chunks_seen = 0;
        while let Poll::Ready(Some(chunk)) = Pin::new(&mut body).poll_next(&mut cx) {
            wire.extend_from_slice(&chunk.expect("no stream error"));
            chunks_seen += 1;
        }
        chunks_seen
    });
    assert!(wire == expected, "the body wrote different bytes");
    assert!(chunks_seen < 50, "{chunks_seen} chunks");
    assert!(
        n <= 10 + chunks_seen,
        "{n} allocations for {EVENTS} events in {chunks_seen} chunks"
    );

    // Owned data (a `String` per event, made before counting): still nothing per
    // event, the strings are only freed.
    let strings: Vec<String> = (0..EVENTS).map(|i| format!("{{\"n\":{i}}}")).collect();
    let events: Vec<_> = strings
        .into_iter()
        .enumerate()
        .map(|(i, json)| Event::new().id(i as u64).attach_data(json))
        .collect();
    let mut body = SseBody::new(futures_util::stream::iter(events));
    let (chunks_seen, n) = count(|| {
        let mut chunks_seen = 0;
        while let Poll::Ready(Some(chunk)) = Pin::new(&mut body).poll_next(&mut cx) {
            chunk.expect("no stream error");
            chunks_seen += 1;
        }
        chunks_seen
    });
    assert!(
        n <= 10 + chunks_seen,
        "{n} allocations for {EVENTS} events in {chunks_seen} chunks"
    );
}
