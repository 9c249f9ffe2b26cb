//! The decoder against a naive reference written line by line from the WHATWG
//! algorithm, on arbitrary bytes cut into arbitrary chunks; and, with tiny limits,
//! the same results whole or chunked and memory that never passes the limits.
//!
//! This is the always-on counterpart of the `fuzz/` target (same properties, driven
//! by proptest instead of libFuzzer).

use bytes::Bytes;
use proptest::prelude::*;
use ssewire::{DecodeError, Decoder};

mod decode_reference;
use decode_reference::{reference, run, Item};

/// Bytes dense in what the format cares about, plus arbitrary bytes.
fn stream_bytes() -> impl Strategy<Value = Vec<u8>> {
    const PIECES: &[&[u8]] = &[
        b"data",
        b"data:",
        b"data: ",
        b"Data:",
        b"event:",
        b"event: ",
        b"id:",
        b"id: ",
        b"retry:",
        b"retry: 12",
        b"0",
        b"42",
        b":",
        b" ",
        b"\t",
        b"x",
        b"abc",
        b"\r",
        b"\n",
        b"\r\n",
        b"\n\n",
        b"\0",
        b"\xef\xbb\xbf",
        b"\xef\xbb",
        "é".as_bytes(),
        b"\xff",
        b"\xc3",
        b"\xe2\x82",
    ];
    let piece = proptest::sample::select(PIECES);
    prop_oneof![
        4 => proptest::collection::vec(piece, 0..40).prop_map(|p| p.concat()),
        1 => proptest::collection::vec(any::<u8>(), 0..200),
    ]
}

fn chunk_sizes() -> impl Strategy<Value = Vec<usize>> {
    proptest::collection::vec(1usize..17, 1..8)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3000, ..ProptestConfig::default() })]

    #[test]
    fn matches_the_reference_however_chunked(input in stream_bytes(), sizes in chunk_sizes()) {
        let want = reference(&input);
        prop_assert_eq!(run(Decoder::new(), &input, &[usize::MAX]), want.clone());
        prop_assert_eq!(run(Decoder::new(), &input, &sizes), want);
    }

    #[test]
    fn limits_give_the_same_results_whole_or_chunked_and_bound_memory(
        input in stream_bytes(),
        sizes in chunk_sizes(),
        max_line in 0usize..40,
        max_event in 0usize..60,
    ) {
        let decoder = || Decoder::new().with_max_line_size(max_line).with_max_event_size(max_event);
        let whole = run(decoder(), &input, &[usize::MAX]);
        prop_assert_eq!(&run(decoder(), &input, &sizes), &whole);
        prop_assert_eq!(&run(decoder(), &input, &[1]), &whole);
        // Within the limits, nothing changes.
        if !whole.iter().any(|i| matches!(i, Item::Error(_))) {
            prop_assert_eq!(whole, reference(&input));
        }
    }
}

#[test]
fn the_reference_passes_a_few_known_cases() {
    // Guards the oracle itself (the WPT vectors check the decoder directly).
    assert_eq!(
        reference(b"\xef\xbb\xbfdata:a\r\ndata\r\rid: 1\0\nevent:t\ndata: b\n\nretry: 5\n: c\n"),
        [
            Item::Event {
                event_type: "message".into(),
                data: "a\n".into(),
                last_event_id: "".into()
            },
            Item::Event {
                event_type: "t".into(),
                data: "b".into(),
                last_event_id: "".into()
            },
            Item::ReconnectionTime(5),
            Item::Comment("c".into()),
        ]
    );
}

#[test]
fn a_long_line_in_small_chunks_never_grows_the_buffer() {
    let mut decoder = Decoder::new()
        .with_max_line_size(1024)
        .with_max_event_size(4096);
    decoder.feed("data: ");
    let mut errors = 0;
    for _ in 0..10_000 {
        decoder.feed(Bytes::from_static(&[b'x'; 1000]));
        while let Some(r) = decoder.next_event().transpose() {
            assert!(matches!(
                r,
                Err(DecodeError::LineTooLong {
                    limit: 1024,
                    offset: 0,
                    ..
                })
            ));
            errors += 1;
        }
        assert!(decoder.buffered_len() <= 1024);
    }
    assert_eq!(errors, 1);
    decoder.feed("\n\ndata: next\n\n");
    assert_eq!(decoder.next_event().unwrap().unwrap().data(), "next");
}

#[test]
fn many_data_lines_stop_at_the_event_limit() {
    let mut decoder = Decoder::new().with_max_event_size(10_000);
    let mut errors = 0;
    for _ in 0..100_000 {
        decoder.feed("data: 0123456789\n");
        while let Some(r) = decoder.next_event().transpose() {
            assert!(matches!(
                r,
                Err(DecodeError::EventTooLarge { limit: 10_000, .. })
            ));
            errors += 1;
        }
        assert!(decoder.buffered_len() <= 10_000);
    }
    assert_eq!(errors, 1);
}
