//! Memory a kept decoded event holds: its own bytes, never another event's.
//!
//! Regression test for a decoder that pinned memory it no longer needed: after one
//! large line arrived in several reads, later lines were slices of the same grown
//! buffer, so keeping a 1-byte event kept a multi-MiB buffer alive (50 decoders, each
//! with one 4 MiB event dropped and one 1-byte event kept, held +206 MiB of RSS).
//!
//! Live heap bytes are counted with a counting global allocator. This is its own test
//! binary so the allocator counts nothing else, and it counts per thread, so tests
//! running in parallel do not disturb each other.

use bytes::Bytes;
use ssewire::{Decoder, MessageEvent};

#[path = "common/counting_alloc.rs"]
mod counting_alloc;

#[global_allocator]
static GLOBAL: counting_alloc::CountingAlloc = counting_alloc::CountingAlloc;

/// Live heap bytes allocated (and not freed) by this thread.
fn live() -> isize {
    counting_alloc::thread_stats().live as isize
}

const DECODERS: usize = 20;
const LARGE: usize = 4 << 20;
const READ: usize = 64 * 1024;
/// What one kept 1-byte event may hold: its own bytes and bookkeeping, a few KiB.
const KEPT_MAX: isize = 4 * 1024;

/// Feeds `wire` in reads of `read` bytes and returns every event.
fn decode(decoder: &mut Decoder, wire: &[u8], read: usize) -> Vec<MessageEvent> {
    let mut out = Vec::new();
    for piece in wire.chunks(read) {
        decoder.feed(Bytes::copy_from_slice(piece));
        while let Some(event) = decoder.next_event().expect("within the limits") {
            out.push(event);
        }
    }
    out
}

/// A large event, then a 1-byte one, through `DECODERS` decoders; the large events
/// are dropped, the small ones kept. Returns the live bytes held per kept event (and
/// per decoder, when the decoders are kept too).
fn held_per_small_event(
    large: &dyn Fn(&mut Decoder) -> Vec<MessageEvent>,
    small: &dyn Fn(&mut Decoder) -> Vec<MessageEvent>,
    keep_decoders: bool,
) -> isize {
    let mut kept: Vec<MessageEvent> = Vec::with_capacity(DECODERS);
    let mut decoders: Vec<Decoder> = Vec::with_capacity(DECODERS);
    let before = live();
    for _ in 0..DECODERS {
        let mut decoder = Decoder::new();
        let big = large(&mut decoder);
        assert_eq!(big.len(), 1);
        assert!(big[0].data().len() >= LARGE / 2);
        drop(big);
        let mut little = small(&mut decoder);
        assert_eq!(little.len(), 1);
        assert!(little[0].data().len() <= 3, "{:?}", little[0]);
        kept.push(little.pop().unwrap());
        if keep_decoders {
            decoders.push(decoder);
        }
    }
    let held = live() - before;
    drop(decoders);
    drop(kept);
    held / DECODERS as isize
}

fn large_line() -> Vec<u8> {
    let mut wire = b"data: ".to_vec();
    wire.resize(6 + LARGE, b'x');
    wire.extend_from_slice(b"\n\n");
    wire
}

fn large_multi_line() -> Vec<u8> {
    let mut wire = Vec::new();
    for _ in 0..4 {
        wire.extend_from_slice(b"data: ");
        wire.resize(wire.len() + LARGE / 4, b'y');
        wire.push(b'\n');
    }
    wire.push(b'\n');
    wire
}

fn check(name: &str, held: isize) {
    eprintln!("{name}: {held} bytes held per kept 1-byte event");
    assert!(
        held < KEPT_MAX,
        "{name}: each kept 1-byte event holds {held} bytes (at most {KEPT_MAX} expected)"
    );
}

#[test]
fn the_counter_sees_live_bytes() {
    let before = live();
    let v = vec![0u8; 10_000];
    assert_eq!(live() - before, 10_000);
    drop(v);
    assert_eq!(live() - before, 0);
}

#[test]
fn a_small_line_after_a_large_one_split_across_reads() {
    // The 1-byte event's line arrives in two reads, as after the large line.
    for keep_decoders in [false, true] {
        let held = held_per_small_event(
            &|d| decode(d, &large_line(), READ),
            &|d| decode(d, b"data: x\n\n", 4),
            keep_decoders,
        );
        check(&format!("split line, decoders kept: {keep_decoders}"), held);
    }
}

#[test]
fn a_small_multi_line_event_after_a_large_one() {
    for keep_decoders in [false, true] {
        let held = held_per_small_event(
            &|d| decode(d, &large_multi_line(), READ),
            &|d| decode(d, b"data: a\ndata: b\n\n", 1 << 10),
            keep_decoders,
        );
        check(&format!("multi-line, decoders kept: {keep_decoders}"), held);
    }
}

#[test]
fn a_small_event_in_the_same_large_chunk() {
    // One read holds the large event and the 1-byte one.
    let mut wire = large_line();
    wire.extend_from_slice(b"data: x\n\n");
    for keep_decoders in [false, true] {
        let held = held_per_small_event(
            &|d| {
                d.feed(Bytes::copy_from_slice(&wire));
                vec![d.next_event().unwrap().unwrap()]
            },
            // Taken as documented: until `Ok(None)`, which lets go of the chunk.
            &|d| std::iter::from_fn(|| d.next_event().unwrap()).collect(),
            keep_decoders,
        );
        check(&format!("same chunk, decoders kept: {keep_decoders}"), held);
    }
}

#[test]
fn one_line_events_in_ordinary_chunks_are_still_not_copied() {
    // The zero-copy path: one-line data in a chunk of up to 64 KiB is a slice of it;
    // only a line cut by a read boundary is assembled elsewhere.
    let mut wire = Vec::new();
    for n in 0..5000 {
        wire.extend_from_slice(format!("id: {n}\ndata: event number {n}\n\n").as_bytes());
    }
    for read in [16 * 1024, 64 * 1024] {
        let mut decoder = Decoder::new();
        let (mut events, mut sliced, mut reads) = (0, 0, 0);
        for piece in wire.chunks(read) {
            reads += 1;
            let chunk = Bytes::copy_from_slice(piece);
            let range = chunk.as_ptr_range();
            decoder.feed(chunk);
            while let Some(event) = decoder.next_event().unwrap() {
                events += 1;
                sliced += usize::from(range.contains(&event.data_bytes().as_ptr()));
            }
        }
        assert_eq!(events, 5000);
        assert!(
            events - sliced <= reads,
            "read {read}: {sliced} of {events} sliced"
        );
    }
}

#[test]
fn a_large_comment_split_across_reads_is_let_go_of_once_read() {
    // A comment (skipped by `next_event`) that arrives in several reads is assembled,
    // then ignored; the decoder used to keep it until the next `Ok(None)`, uncounted
    // by `buffered_len()`. Here the event after it is taken while more input is left.
    let mut wire = b": ".to_vec();
    wire.resize(2 + LARGE, b'c');
    wire.extend_from_slice(b"\ndata: x\n\ndata: y\n\n");
    let mut decoder = Decoder::new();
    let (head, tail) = wire.split_at(wire.len() - 40);
    for piece in head.chunks(READ) {
        decoder.feed(Bytes::copy_from_slice(piece));
        assert!(decoder.next_event().unwrap().is_none());
    }
    let before = live();
    decoder.feed(Bytes::copy_from_slice(tail));
    let x = decoder
        .next_event()
        .unwrap()
        .expect("the event after the comment");
    assert_eq!(x.data(), "x");
    // The comment's buffer was freed: live bytes went down by about its size.
    let freed = before - live();
    assert!(
        freed > (LARGE as isize) / 2,
        "the assembled comment ({LARGE} bytes) is still held: {freed} bytes freed"
    );
    assert_eq!(decoder.next_event().unwrap().unwrap().data(), "y");
}
