//! Helpers shared by the event and encoder tests (`mod common;`).
// Each test binary uses a different subset of these helpers.
#![allow(dead_code)]

pub mod spec_parser;

use bytes::BytesMut;
use ssewire::Event;

/// Encodes `event` every way the crate offers and checks that they agree: `encode`,
/// `encode_to` (into an empty buffer and after existing bytes, which stay untouched),
/// `Bytes::from(Event)` and `encoded_len`. Returns the wire bytes.
pub fn wire(event: &Event) -> Vec<u8> {
    let expected_len = event.encoded_len();

    let mut fresh = BytesMut::new();
    event.encode_to(&mut fresh);
    assert_eq!(
        fresh.len(),
        expected_len,
        "encoded_len vs encode_to for {event:?}"
    );

    let prefix = b"data: earlier\n\n";
    let mut appended = BytesMut::from(&prefix[..]);
    event.encode_to(&mut appended);
    assert_eq!(
        &appended[..prefix.len()],
        prefix,
        "encode_to touched existing bytes"
    );
    assert_eq!(
        &appended[prefix.len()..],
        &fresh[..],
        "encode_to after a prefix"
    );

    let encoded = event.clone().encode();
    assert_eq!(
        encoded.len(),
        expected_len,
        "encoded_len vs encode for {event:?}"
    );
    assert_eq!(
        encoded.as_bytes(),
        &fresh[..],
        "encode vs encode_to for {event:?}"
    );
    assert_eq!(encoded.as_ref(), &fresh[..]);

    let bytes = bytes::Bytes::from(event.clone());
    assert_eq!(&bytes[..], &fresh[..], "Bytes::from(Event)");

    assert_wire_invariants(&fresh);
    fresh.to_vec()
}

/// What every encoded event must look like, whatever it holds: UTF-8, no BOM at the
/// start, LF as the only line end, only `event`, `id`, `retry`, `data` and comment
/// lines, and one blank line at the end (and nowhere else) when the event has an event
/// type, an id or data.
pub fn assert_wire_invariants(wire: &[u8]) {
    let text = std::str::from_utf8(wire).expect("the wire format is UTF-8");
    assert!(!text.starts_with('\u{feff}'), "starts with a BOM: {text:?}");
    assert!(!wire.contains(&b'\r'), "CR on the wire: {text:?}");
    assert!(text.ends_with('\n'), "no final line end: {text:?}");
    // Events with an event type, an id or data end with a blank line; events of only
    // comments and `retry` have nothing to dispatch and end with their last line.
    let dispatches = text == "\n"
        || text.lines().any(|l| {
            ["event: ", "id: ", "data: "]
                .iter()
                .any(|p| l.starts_with(p))
        });
    let body = if dispatches {
        let body = &text[..text.len() - 1];
        assert!(
            body.is_empty() || body.ends_with('\n'),
            "not closed by a blank line: {text:?}"
        );
        body
    } else {
        text
    };
    assert!(!body.contains("\n\n"), "a blank line inside: {text:?}");
    for line in body.lines() {
        let known = ["event: ", "id: ", "retry: ", "data: ", ": "]
            .iter()
            .any(|p| line.starts_with(p))
            || line == ":";
        assert!(known, "unexpected line {line:?} in {text:?}");
    }
}

/// Offset of the first byte of `bytes` that does not start a well-formed UTF-8
/// sequence (Unicode, table 3-7), or `None` when all of it is UTF-8. Written out by
/// hand so that the tests do not check the crate's UTF-8 handling with the same code.
pub fn first_invalid_utf8(bytes: &[u8]) -> Option<usize> {
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        // (length, allowed range of the second byte)
        let (len, second) = match b {
            0x00..=0x7f => (1, 0x80..=0xbf),
            0xc2..=0xdf => (2, 0x80..=0xbf),
            0xe0 => (3, 0xa0..=0xbf),
            0xe1..=0xec | 0xee..=0xef => (3, 0x80..=0xbf),
            0xed => (3, 0x80..=0x9f),
            0xf0 => (4, 0x90..=0xbf),
            0xf1..=0xf3 => (4, 0x80..=0xbf),
            0xf4 => (4, 0x80..=0x8f),
            _ => return Some(i),
        };
        if len > 1 {
            match bytes.get(i + 1) {
                Some(b1) if second.contains(b1) => {}
                _ => return Some(i),
            }
            for k in 2..len {
                match bytes.get(i + k) {
                    Some(0x80..=0xbf) => {}
                    _ => return Some(i),
                }
            }
        }
        i += len;
    }
    None
}
