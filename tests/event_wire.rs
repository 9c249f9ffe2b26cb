//! Byte-exact tests of the wire encoder: one test per rule of the "What the encoder
//! must do" list in SSE-NOTES.md, plus the documented behaviour of setting a field
//! twice, field order, the data writer, JSON data and pre-encoded events.
//!
//! Every case goes through `common::wire`, which also checks that `encode`,
//! `encode_to` and `Bytes::from` agree byte for byte and that `encoded_len` is exact.

mod common;

use std::fmt;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use common::spec_parser::{self, normalize_newlines, text_lines, Line};
use common::wire;
use ssewire::{EncodedEvent, Event, EventId, EventType};

const TICK: EventType = EventType::from_static("tick");
const LONGER: EventType = EventType::from_static("a-longer-event-type");
const FIRST: EventId = EventId::from_static("first");

fn s(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).expect("UTF-8")
}

/// Asserts the wire bytes of `event`, showing both sides as text on failure.
#[track_caller]
fn assert_wire(event: &Event, expected: &str) {
    assert_eq!(s(&wire(event)), expected, "for {event:?}");
}

// ---- rule 1: UTF-8 only, never a BOM ------------------------------------------------

#[test]
fn non_ascii_text_is_written_as_utf8_unchanged() {
    let text = "café ☕ 𝄞 😀 Ωμέγα 日本語";
    assert_wire(&Event::with_data(text), &format!("data: {text}\n\n"));
    assert_wire(
        &Event::new().try_event("événement").unwrap().data("x"),
        "event: événement\ndata: x\n\n",
    );
    assert_wire(
        &Event::new().try_id("идентификатор").unwrap().data("x"),
        "id: идентификатор\ndata: x\n\n",
    );
    assert_wire(&Event::new().comment("コメント"), ": コメント\n");
}

#[test]
fn no_event_starts_with_a_bom_even_when_a_value_does() {
    let bom = "\u{feff}";
    // A BOM inside a value stays where the user put it, after the field name, so a
    // client never strips it and never loses the line.
    assert_wire(&Event::with_data(bom), "data: \u{feff}\n\n");
    assert_wire(
        &Event::new().try_event(bom).unwrap().data("x"),
        "event: \u{feff}\ndata: x\n\n",
    );
    assert_wire(
        &Event::new().try_id(format!("{bom}1")).unwrap(),
        "id: \u{feff}1\n\n",
    );
    assert_wire(&Event::new().comment(bom), ": \u{feff}\n");
    assert_wire(
        &Event::with_data(format!("a\n{bom}b")),
        "data: a\ndata: \u{feff}b\n\n",
    );
    // And it comes back exactly, even as the very first event of a stream.
    let parsed = spec_parser::parse(&wire(&Event::with_data(format!("{bom}x"))));
    assert_eq!(parsed.events()[0].data, "\u{feff}x");
}

#[test]
fn an_event_with_nothing_set_is_one_blank_line() {
    assert_wire(&Event::new(), "\n");
    assert_wire(&Event::default(), "\n");
}

// ---- rule 2: data split on CRLF, CR and LF, CRLF counting once ----------------------

#[test]
fn data_is_split_at_every_kind_of_line_break() {
    let cases: &[(&str, &str)] = &[
        ("a\nb", "data: a\ndata: b\n\n"),
        ("a\rb", "data: a\ndata: b\n\n"),
        ("a\r\nb", "data: a\ndata: b\n\n"),
        // LF then CR is two breaks; CR then CRLF is two breaks.
        ("a\n\rb", "data: a\ndata: \ndata: b\n\n"),
        ("a\r\r\nb", "data: a\ndata: \ndata: b\n\n"),
        ("a\r\n\r\nb", "data: a\ndata: \ndata: b\n\n"),
        ("a\n\nb", "data: a\ndata: \ndata: b\n\n"),
        ("a\r\rb", "data: a\ndata: \ndata: b\n\n"),
        ("\r\n", "data: \ndata: \n\n"),
        ("\r", "data: \ndata: \n\n"),
        ("\n", "data: \ndata: \n\n"),
        ("\n\r", "data: \ndata: \ndata: \n\n"),
        (
            "one\ntwo\rthree\r\nfour",
            "data: one\ndata: two\ndata: three\ndata: four\n\n",
        ),
    ];
    for (data, expected) in cases {
        assert_wire(&Event::with_data(data), expected);
        // A client reads every break back as LF.
        let back = spec_parser::parse(expected.as_bytes()).events();
        assert_eq!(back[0].data, normalize_newlines(data), "data {data:?}");
    }
}

#[test]
fn breaks_at_every_position_around_the_scan_blocks() {
    // The line-break search works on 32-byte blocks; put breaks at every position
    // around the first few block edges, including a CRLF straddling one.
    for len in 0..100 {
        for pos in 0..=len {
            for brk in ["\n", "\r", "\r\n", "\n\r", "\r\r"] {
                let mut data = "x".repeat(len);
                data.insert_str(pos, brk);
                let mut expected = String::new();
                for line in text_lines(&data) {
                    expected.push_str("data: ");
                    expected.push_str(line);
                    expected.push('\n');
                }
                expected.push('\n');
                assert_wire(&Event::with_data(&data), &expected);
            }
        }
    }
}

#[test]
fn long_data_without_breaks_is_one_line() {
    let data = "0123456789abcdef".repeat(4096); // 64 KiB
    assert_wire(&Event::with_data(&data), &format!("data: {data}\n\n"));
}

#[test]
fn nul_and_other_control_characters_in_data_are_kept() {
    assert_wire(
        &Event::with_data("a\0b\tc\x0bd\x0ce"),
        "data: a\0b\tc\x0bd\x0ce\n\n",
    );
    let back = spec_parser::parse(&wire(&Event::with_data("\0"))).events();
    assert_eq!(back[0].data, "\0");
}

// ---- rule 3: exactly one space after the colon --------------------------------------

#[test]
fn one_space_after_the_colon_keeps_leading_spaces() {
    assert_wire(&Event::with_data(" x"), "data:  x\n\n");
    assert_wire(&Event::with_data("  two"), "data:   two\n\n");
    assert_wire(&Event::with_data("a\n b"), "data: a\ndata:  b\n\n");
    assert_wire(&Event::with_data(":colon"), "data: :colon\n\n");
    assert_wire(&Event::with_data("\tt"), "data: \tt\n\n");
    assert_wire(
        &Event::new().try_event(" spaced").unwrap(),
        "event:  spaced\n\n",
    );
    assert_wire(&Event::new().try_id(" 7").unwrap(), "id:  7\n\n");
    assert_wire(&Event::new().comment(" c"), ":  c\n");

    let event = Event::new()
        .try_event(" t")
        .unwrap()
        .try_id(" i")
        .unwrap()
        .data(" d");
    let parsed = spec_parser::parse(&wire(&event)).events();
    assert_eq!(parsed[0].event_type, " t");
    assert_eq!(parsed[0].last_event_id, " i");
    assert_eq!(parsed[0].data, " d");
}

// ---- rule 4: empty data and trailing line breaks ------------------------------------

#[test]
fn empty_data_writes_one_data_line() {
    assert_wire(&Event::with_data(""), "data: \n\n");
    assert_wire(&Event::new().data(String::new()), "data: \n\n");
    assert_wire(&Event::new().try_data(Bytes::new()).unwrap(), "data: \n\n");
    assert!(Event::with_data("").has_data());
    let back = spec_parser::parse(&wire(&Event::with_data(""))).events();
    assert_eq!(back.len(), 1, "empty data still fires an event");
    assert_eq!(back[0].data, "");
}

#[test]
fn a_trailing_line_break_keeps_its_empty_line() {
    assert_wire(&Event::with_data("x\n"), "data: x\ndata: \n\n");
    assert_wire(&Event::with_data("x\r\n"), "data: x\ndata: \n\n");
    assert_wire(&Event::with_data("x\r"), "data: x\ndata: \n\n");
    assert_wire(&Event::with_data("x\n\n"), "data: x\ndata: \ndata: \n\n");
    let back = spec_parser::parse(&wire(&Event::with_data("x\n"))).events();
    assert_eq!(back[0].data, "x\n");
}

#[test]
fn data_from_str_string_and_bytes_encode_alike() {
    let text = "same\r\ntext";
    let expected = "data: same\ndata: text\n\n";
    assert_wire(&Event::new().data(text), expected);
    let owned: String = text.into();
    assert_wire(&Event::new().data(owned), expected);
    assert_wire(&Event::new().data(Box::<str>::from(text)), expected);
    assert_wire(&Event::new().try_data(text.as_bytes()).unwrap(), expected);
    let vec: Vec<u8> = text.as_bytes().into();
    assert_wire(&Event::new().try_data(vec).unwrap(), expected);
    assert_wire(
        &Event::new()
            .try_data(Bytes::from_static(text.as_bytes()))
            .unwrap(),
        expected,
    );
    assert_wire(&Event::with_data(text), expected);
}

// ---- rule 5: event and id; empty id is not "no id" ----------------------------------

#[test]
fn empty_id_is_written_and_no_id_is_not() {
    assert_wire(
        &Event::new().id(EventId::empty()).data("x"),
        "id: \ndata: x\n\n",
    );
    assert_wire(
        &Event::new().try_id("").unwrap().data("x"),
        "id: \ndata: x\n\n",
    );
    assert_wire(&Event::new().id(EventId::new("").unwrap()), "id: \n\n");
    assert_wire(&Event::new().data("x"), "data: x\n\n");

    assert!(EventId::empty().is_empty());
    assert!(EventId::new("").unwrap().is_empty());
    assert!(!EventId::from_u64(0).is_empty());
    assert!(!EventId::new("0").unwrap().is_empty());
    assert!(Event::new().event_id().is_none());
    assert!(Event::new()
        .id(EventId::empty())
        .event_id()
        .unwrap()
        .is_empty());

    // On the client: an id sticks, no id keeps it, an empty id resets it.
    let mut stream = BytesMut::new();
    Event::new().id(5u64).data("a").encode_to(&mut stream);
    Event::new().data("b").encode_to(&mut stream);
    Event::new()
        .id(EventId::empty())
        .data("c")
        .encode_to(&mut stream);
    Event::new().data("d").encode_to(&mut stream);
    let ids: Vec<String> = spec_parser::parse(&stream)
        .events()
        .into_iter()
        .map(|e| e.last_event_id)
        .collect();
    assert_eq!(ids, ["5", "5", "", ""]);
}

#[test]
fn numeric_ids_are_decimal() {
    assert_wire(&Event::new().id(0u8), "id: 0\n\n");
    assert_wire(&Event::new().id(255u8), "id: 255\n\n");
    assert_wire(&Event::new().id(65535u16), "id: 65535\n\n");
    assert_wire(&Event::new().id(7u32), "id: 7\n\n");
    assert_wire(&Event::new().id(u64::MAX), "id: 18446744073709551615\n\n");
    assert_wire(
        &Event::new().id(usize::MAX),
        &format!("id: {}\n\n", usize::MAX),
    );
    assert_wire(&Event::new().id(-1i8), "id: -1\n\n");
    assert_wire(&Event::new().id(-32768i16), "id: -32768\n\n");
    assert_wire(&Event::new().id(-5i32), "id: -5\n\n");
    assert_wire(&Event::new().id(i64::MIN), "id: -9223372036854775808\n\n");
    assert_wire(&Event::new().id(i64::MAX), "id: 9223372036854775807\n\n");
    assert_wire(
        &Event::new().id(isize::MIN),
        &format!("id: {}\n\n", isize::MIN),
    );
    assert_wire(&Event::new().id(EventId::from_u64(10)), "id: 10\n\n");
    for n in [0u64, 9, 10, 99, 100, 999, 1000, 12_345_678_901] {
        assert_wire(&Event::new().id(n), &format!("id: {n}\n\n"));
    }
    for n in [-9i64, -10, -99, -100, i64::MIN + 1] {
        assert_wire(&Event::new().id(n), &format!("id: {n}\n\n"));
    }
}

#[test]
fn id_accessors_and_equality() {
    assert_eq!(EventId::from(9u32).as_u64(), Some(9));
    assert_eq!(EventId::from(9i32).as_u64(), Some(9));
    assert_eq!(EventId::from(-9i32).as_u64(), None);
    assert_eq!(EventId::from(-9i32).as_text(), None);
    assert_eq!(EventId::new("9").unwrap().as_u64(), None);
    assert_eq!(EventId::new("9").unwrap().as_text(), Some("9"));
    assert_eq!(FIRST.as_text(), Some("first"));
    assert_eq!(EventId::from(7u64), EventId::new("7").unwrap());
    assert_eq!(EventId::from(-7i64), EventId::new("-7").unwrap());
    assert_ne!(EventId::from(7u64), EventId::new("07").unwrap());
    assert_eq!(EventId::from(-3i8).to_string(), "-3");
    assert_eq!(format!("{:?}", EventId::new("a").unwrap()), "\"a\"");
    assert_eq!(format!("{:?}", EventId::from(4u8)), "4");
    let parsed: EventId = "p".parse().unwrap();
    assert_eq!(parsed.as_text(), Some("p"));
}

#[test]
fn event_types_literal_and_runtime() {
    assert_wire(
        &Event::new().event(TICK).data("1"),
        "event: tick\ndata: 1\n\n",
    );
    let runtime = EventType::new(String::from("user-joined")).unwrap();
    assert_eq!(runtime, "user-joined");
    assert_eq!(runtime.as_str(), "user-joined");
    assert_eq!(runtime.to_string(), "user-joined");
    assert_eq!(
        EventType::try_from("x").unwrap(),
        EventType::from_static("x")
    );
    assert_eq!(
        EventType::try_from(String::from("y")).unwrap(),
        "y".parse::<EventType>().unwrap()
    );
    assert_wire(&Event::new().event(runtime), "event: user-joined\n\n");
    // NUL is allowed in an event type (only ids forbid it).
    assert_wire(&Event::new().try_event("a\0b").unwrap(), "event: a\0b\n\n");
    // A colon in the value is fine: the name ends at the first colon.
    assert_wire(&Event::new().try_event("a:b").unwrap(), "event: a:b\n\n");
    // An empty type is written; a client then reports `message`.
    let empty = Event::new().try_event("").unwrap().data("x");
    assert_wire(&empty, "event: \ndata: x\n\n");
    assert_eq!(
        spec_parser::parse(&wire(&empty)).events()[0].event_type,
        "message"
    );
    // A type that only looks like another field is still just a type.
    let sneaky = Event::new().try_event("data").unwrap().data("x");
    let parsed = spec_parser::parse(&wire(&sneaky)).events();
    assert_eq!(
        (parsed[0].event_type.as_str(), parsed[0].data.as_str()),
        ("data", "x")
    );
}

// ---- rule 6: retry in whole milliseconds --------------------------------------------

#[test]
fn retry_is_whole_milliseconds() {
    let cases: &[(Duration, &str)] = &[
        (Duration::ZERO, "0"),
        (Duration::from_nanos(999_999), "0"),
        (Duration::from_micros(1500), "1"),
        (Duration::from_millis(1), "1"),
        (Duration::from_millis(2500), "2500"),
        (Duration::from_secs(3), "3000"),
        (Duration::new(1, 999_999_999), "1999"),
        // Clamped to 2^31 - 1, the longest delay JavaScript timers take (see
        // `retry_is_clamped_to_what_javascript_timers_take`).
        (Duration::from_millis(2_147_483_647), "2147483647"),
    ];
    for (retry, ms) in cases {
        let event = Event::new().retry(*retry);
        // Retry alone takes effect as its line is read: no blank line.
        assert_wire(&event, &format!("retry: {ms}\n"));
        assert_eq!(event.reconnection_time(), Some(*retry));
        let mut bytes = wire(&event);
        bytes.push(b'\n');
        let parsed = spec_parser::parse(&bytes);
        assert_eq!(parsed.blocks[0].reconnection_time, Some(retry.as_millis()));
    }
}

#[test]
fn retry_is_clamped_to_what_javascript_timers_take() {
    // Regression: `retry(Duration::MAX)` wrote 18446744073709551615999, which
    // JavaScript clients (setTimeout) treat as 0 and the WHATWG parser overflows.
    let max = "2147483647";
    for retry in [
        Duration::from_millis(2_147_483_648),
        Duration::from_millis(u64::MAX),
        Duration::from_secs(u64::MAX),
        Duration::MAX,
    ] {
        let event = Event::new().retry(retry).data("x");
        assert_wire(&event, &format!("retry: {max}\ndata: x\n\n"));
        // The getter returns what was set; the wire carries the clamped value.
        assert_eq!(event.reconnection_time(), Some(retry));
        let parsed = spec_parser::parse(&wire(&event));
        assert_eq!(parsed.blocks[0].reconnection_time, Some(2_147_483_647));
    }
}

// ---- rule 7: multi-line comments ----------------------------------------------------

#[test]
fn every_comment_line_gets_its_own_colon() {
    let cases: &[(&str, &str)] = &[
        ("c", ": c\n"),
        ("", ":\n"),
        ("two\nlines", ": two\n: lines\n"),
        ("a\r\nb\rc\nd", ": a\n: b\n: c\n: d\n"),
        ("x\n", ": x\n:\n"),
        ("\n", ":\n:\n"),
        ("\r\n\r\n", ":\n:\n:\n"),
        ("a\n\rb", ": a\n:\n: b\n"),
        ("data: not data", ": data: not data\n"),
    ];
    for (comment, expected) in cases {
        let event = Event::new().comment(comment);
        assert_wire(&event, expected);
        assert!(!event.has_data());
        // A comment never becomes an event, data or any field on the client.
        let parsed = spec_parser::parse(expected.as_bytes());
        assert!(parsed.events().is_empty());
        assert!(parsed.blocks.is_empty());
        assert!(parsed
            .discarded
            .iter()
            .all(|l| matches!(l, Line::Comment(_))));
    }
    assert_wire(
        &Event::new().comment("one").comment("two\nthree"),
        ": one\n: two\n: three\n",
    );
}

/// Regression (httpx-sse phantom events): an event of only comments, or of only
/// `retry` and comments, ends without a blank line, because httpx-sse 0.4.3 turns
/// every blank line after an id was seen into an empty `message` event. Events with
/// an id, an event type or data keep theirs (an id takes effect at dispatch). The
/// stream reads exactly as it did with the blank lines, through the reference parser.
#[test]
fn comment_and_retry_only_events_end_without_a_blank_line() {
    let events = [
        Event::new().id(1u8).data("x"),
        Event::new().comment("keep-alive"),
        Event::new().retry(Duration::from_millis(1500)),
        Event::new().comment("a\nb").retry(Duration::from_secs(2)),
        Event::new().id(2u8),
        Event::new().comment(""),
        Event::new().event(TICK).data("y"),
        Event::new().comment("trailing"),
    ];
    let dispatching = [true, false, false, false, true, false, true, false];
    let mut now = Vec::new();
    let mut before = Vec::new(); // the bytes as they were: a blank line after each
    for (event, dispatches) in events.iter().zip(dispatching) {
        let bytes = wire(event);
        assert_eq!(bytes.ends_with(b"\n\n"), dispatches, "{event:?}");
        now.extend_from_slice(&bytes);
        before.extend_from_slice(&bytes);
        if !dispatches {
            before.push(b'\n');
        }
    }
    // The `printf 'id: 1\ndata: x\n\n:\n\n'` of the issue is now one event.
    assert_eq!(
        &now[..b"id: 1\ndata: x\n\n: keep-alive\nretry: 1500\n".len()],
        b"id: 1\ndata: x\n\n: keep-alive\nretry: 1500\n"
    );
    let now = spec_parser::parse(&now);
    let before = spec_parser::parse(&before);
    // The same events, ids and reconnection time; no blank line but the dispatching
    // ones, so no client can see a phantom event.
    assert_eq!(now.events(), before.events());
    assert_eq!(now.blocks.len(), 3);
    let state = |p: &spec_parser::Parsed| {
        p.blocks
            .iter()
            .map(|b| (b.last_event_id.clone(), b.reconnection_time))
            .collect::<Vec<_>>()
    };
    let dispatched: Vec<_> = before
        .blocks
        .iter()
        .zip(dispatching)
        .filter(|(_, d)| *d)
        .map(|(b, _)| (b.last_event_id.clone(), b.reconnection_time))
        .collect();
    assert_eq!(state(&now), dispatched);
    assert_eq!(state(&now)[1], ("2".to_owned(), Some(2000)));
    // The trailing comment waits for a blank line that never needs to come.
    assert_eq!(now.discarded, vec![Line::Comment(" trailing".into())]);
}

// ---- rules 8 and 9: blank line at the end, LF only ----------------------------------

#[test]
fn every_event_ends_with_one_blank_line_and_uses_lf_only() {
    let events = [
        Event::new(),
        Event::with_data("x"),
        Event::with_data("a\r\nb\r"),
        Event::new().event(TICK),
        Event::new().id(1u8),
        Event::new().retry(Duration::from_secs(1)).data(""),
        Event::new().comment("c\r\n").data("x"),
        Event::new()
            .event(TICK)
            .id(2u8)
            .retry(Duration::from_millis(5))
            .comment("\r")
            .data("\r\n"),
    ];
    for event in &events {
        let bytes = wire(event); // checks the invariants, including no CR anywhere
        assert!(bytes.ends_with(b"\n\n") || bytes == b"\n");
        // Exactly one dispatch per event.
        let parsed = spec_parser::parse(&bytes);
        assert_eq!(parsed.blocks.len(), 1, "{event:?}");
        assert!(parsed.discarded.is_empty() && parsed.unterminated_line.is_none());
    }
}

// ---- setting a field twice ----------------------------------------------------------

#[test]
fn data_and_comments_append_event_id_and_retry_last_wins() {
    assert_wire(&Event::new().data("a").data("b"), "data: a\ndata: b\n\n");
    assert_wire(&Event::new().data("").data(""), "data: \ndata: \n\n");
    assert_wire(&Event::new().comment("a").comment("b"), ": a\n: b\n");
    assert_wire(
        &Event::new().event(TICK).try_event("tock").unwrap(),
        "event: tock\n\n",
    );
    assert_wire(&Event::new().event(LONGER).event(TICK), "event: tick\n\n");
    assert_wire(&Event::new().id(1u8).try_id("two").unwrap(), "id: two\n\n");
    assert_wire(&Event::new().id(1u8).id(EventId::empty()), "id: \n\n");
    assert_wire(&Event::new().id(EventId::empty()).id(3u8), "id: 3\n\n");
    assert_wire(
        &Event::new()
            .retry(Duration::from_secs(1))
            .retry(Duration::from_millis(7)),
        "retry: 7\n",
    );

    let twice = Event::new()
        .event(TICK)
        .id(1u8)
        .data("a")
        .event(LONGER)
        .id(FIRST)
        .data("b\r\nc");
    assert_eq!(twice.event_type(), Some(&LONGER));
    assert_eq!(twice.event_id(), Some(&FIRST));
    let parsed = spec_parser::parse(&wire(&twice)).events();
    assert_eq!(parsed[0].data, "a\nb\nc");
    assert_eq!(parsed[0].event_type, "a-longer-event-type");
    assert_eq!(parsed[0].last_event_id, "first");
}

// ---- field order --------------------------------------------------------------------

#[test]
fn headers_come_first_then_comments_and_data_in_call_order() {
    let event = Event::new()
        .data("d1")
        .comment("c1")
        .retry(Duration::from_millis(10))
        .data("d2\nd3")
        .id(9u8)
        .comment("c2")
        .event(TICK);
    assert_wire(
        &event,
        "event: tick\nid: 9\nretry: 10\ndata: d1\n: c1\ndata: d2\ndata: d3\n: c2\n\n",
    );
    // Whatever order the headers were set in.
    let a = Event::new()
        .retry(Duration::from_millis(1))
        .id(2u8)
        .event(TICK)
        .data("x");
    let b = Event::new()
        .event(TICK)
        .id(2u8)
        .retry(Duration::from_millis(1))
        .data("x");
    let c = Event::new()
        .data("x")
        .retry(Duration::from_millis(1))
        .event(TICK)
        .id(2u8);
    for event in [a, b, c] {
        assert_wire(&event, "event: tick\nid: 2\nretry: 1\ndata: x\n\n");
    }
}

#[test]
fn accessors_report_what_was_set() {
    let event = Event::new()
        .event(TICK)
        .id(3u8)
        .retry(Duration::from_millis(4))
        .comment("c");
    assert_eq!(event.event_type().map(EventType::as_str), Some("tick"));
    assert_eq!(event.event_id().and_then(EventId::as_u64), Some(3));
    assert_eq!(event.reconnection_time(), Some(Duration::from_millis(4)));
    assert!(!event.has_data());
    assert!(event.clone().data("").has_data());
    let bare = Event::new();
    assert!(bare.event_type().is_none() && bare.event_id().is_none());
    assert!(bare.reconnection_time().is_none() && !bare.has_data());
    // Debug never panics and shows the content.
    let debug = format!("{:?}", Event::new().event(TICK).data("a\nb"));
    assert!(
        debug.contains("tick") && debug.contains("data: a"),
        "{debug}"
    );
}

#[test]
fn clones_are_independent() {
    let base = Event::new().event(TICK).data("a");
    let more = base.clone().data("b").id(1u8);
    assert_wire(&base, "event: tick\ndata: a\n\n");
    assert_wire(&more, "event: tick\nid: 1\ndata: a\ndata: b\n\n");
}

// ---- the data writer ----------------------------------------------------------------

#[test]
fn data_writer_fmt_write_splits_lines_across_writes() {
    use std::fmt::Write as _;

    let cases: &[(&[&str], &str)] = &[
        (&[], "data: \n\n"),
        (&[""], "data: \n\n"),
        (&["a", "b"], "data: ab\n\n"),
        (&["a\r", "\nb"], "data: a\ndata: b\n\n"),
        (&["a\r", "", "\nb"], "data: a\ndata: b\n\n"),
        (&["a\r", "b"], "data: a\ndata: b\n\n"),
        (&["a\r", "\r", "\n"], "data: a\ndata: \ndata: \n\n"),
        (&["a\r"], "data: a\ndata: \n\n"),
        (&["a\n", "\n"], "data: a\ndata: \ndata: \n\n"),
        (&["a\r\n", "b"], "data: a\ndata: b\n\n"),
        // A CRLF that ends a write is a whole break: an LF next is another one.
        (&["\r\n", "\n"], "data: \ndata: \ndata: \n\n"),
        (&["a\r\n", "\n", "b"], "data: a\ndata: \ndata: b\n\n"),
        (&["\r", "\n", "\r", "\n"], "data: \ndata: \ndata: \n\n"),
        (&["x\r", "\n"], "data: x\ndata: \n\n"),
        (&["é", "\u{feff}", "😀"], "data: é\u{feff}😀\n\n"),
    ];
    for (pieces, expected) in cases {
        let mut event = Event::new();
        {
            let mut writer = event.data_writer();
            for piece in *pieces {
                write!(writer, "{piece}").unwrap();
            }
        }
        assert!(event.has_data());
        assert_wire(&event, expected);
        // Same through `fmt::Write::write_str`.
        let mut direct = Event::new();
        {
            let mut writer = direct.data_writer();
            for piece in *pieces {
                fmt::Write::write_str(&mut writer, piece).unwrap();
            }
        }
        assert_wire(&direct, expected);
        // And a client reads the concatenation, CR and CRLF as LF.
        let joined: String = pieces.concat();
        let parsed = spec_parser::parse(expected.as_bytes()).events();
        assert_eq!(parsed[0].data, normalize_newlines(&joined), "{pieces:?}");
    }
}

#[test]
fn each_data_writer_is_one_piece_of_data() {
    let mut event = Event::new().event(TICK).data("first");
    fmt::Write::write_str(&mut event.data_writer(), "w1\r").unwrap();
    fmt::Write::write_str(&mut event.data_writer(), "\nw2").unwrap();
    let event = event.data("last\r").comment("c");
    // The CR that ended the first writer is a complete break: the LF that starts the
    // second writer is a break of its own.
    assert_wire(
        &event,
        "event: tick\ndata: first\ndata: w1\ndata: \ndata: \ndata: w2\ndata: last\ndata: \n: c\n\n",
    );
    let parsed = spec_parser::parse(&wire(&event)).events();
    assert_eq!(
        parsed[0].data,
        ["first", "w1\n", "\nw2", "last\n"].join("\n")
    );
}

#[test]
fn data_writer_on_an_event_with_headers_set_later() {
    let mut event = Event::new().data("a");
    write_fmt(&mut event, format_args!("{}-{}", 1, 2));
    let event = event
        .event(LONGER)
        .id(u64::MAX)
        .retry(Duration::from_secs(1));
    assert_wire(
        &event,
        "event: a-longer-event-type\nid: 18446744073709551615\nretry: 1000\ndata: a\ndata: 1-2\n\n",
    );
}

fn write_fmt(event: &mut Event, args: std::fmt::Arguments<'_>) {
    std::fmt::Write::write_fmt(&mut event.data_writer(), args).unwrap();
}

#[test]
fn data_writer_with_long_text_and_many_breaks() {
    let line = "y".repeat(200);
    let text = format!("{line}\r\n{line}\r{line}\n{line}");
    let mut event = Event::new().event(TICK);
    {
        let mut writer = event.data_writer();
        // Split the text at every 7 bytes (all ASCII), cutting CRLFs sometimes.
        for chunk in text.as_bytes().chunks(7) {
            fmt::Write::write_str(&mut writer, std::str::from_utf8(chunk).unwrap()).unwrap();
        }
    }
    let expected =
        format!("event: tick\ndata: {line}\ndata: {line}\ndata: {line}\ndata: {line}\n\n");
    assert_wire(&event, &expected);
}

#[test]
fn data_writer_io_write_takes_whole_characters_only() {
    use std::io::Write as _;

    // A write that stops inside a character is a short write of the complete ones.
    for cut in [
        b"\xc3".as_slice(),
        b"\xe2\x82",
        b"\xf0\x9f",
        b"\xf0\x9f\x98",
    ] {
        let mut event = Event::new();
        let mut buf = b"ab".to_vec();
        buf.extend_from_slice(cut);
        let n = event.data_writer().write(&buf).unwrap();
        assert_eq!(n, 2, "{buf:?}");
        assert_wire(&event, "data: ab\n\n");
    }

    // write_all of whole characters, cut anywhere by the caller's chunking inside one
    // write_all call, works.
    let text = "€uro 😀 café\r\nline two";
    let mut event = Event::new();
    event.data_writer().write_all(text.as_bytes()).unwrap();
    assert_wire(&event, "data: €uro 😀 café\ndata: line two\n\n");

    // A short write followed by the rest of the character: the continuation is
    // accepted when it comes with the first byte again (as write_all does).
    let mut event = Event::new();
    {
        let mut writer = event.data_writer();
        let bytes = "x€".as_bytes();
        let n = writer.write(&bytes[..3]).unwrap();
        assert_eq!(n, 1);
        writer.write_all(&bytes[n..]).unwrap();
        writer.flush().unwrap();
    }
    assert_wire(&event, "data: x€\n\n");

    // CRLF split between two io writes is one break.
    let mut event = Event::new();
    {
        let mut writer = event.data_writer();
        writer.write_all(b"a\r").unwrap();
        writer.write_all(b"\nb").unwrap();
    }
    assert_wire(&event, "data: a\ndata: b\n\n");
}

#[test]
fn data_writer_io_write_rejects_invalid_utf8_and_adds_nothing() {
    use std::io::{ErrorKind, Write as _};

    let bad: &[(&[u8], usize)] = &[
        (b"\xff", 0),
        (b"\x80", 0),             // starts inside a character
        (b"\xa9rest", 0),         // continuation byte first
        (b"\xc3", 0),             // only the start of a character: nothing complete
        (b"ok\xffok", 2),         // invalid in the middle
        (b"ok\xc3(", 2),          // a lead byte not followed by a continuation
        (b"\xc0\x80", 0),         // overlong NUL
        (b"a\xed\xa0\x80", 1),    // a UTF-16 surrogate
        (b"\xf4\x90\x80\x80", 0), // beyond U+10FFFF
    ];
    for (bytes, offset) in bad {
        let mut event = Event::new().data("before");
        {
            let mut writer = event.data_writer();
            fmt::Write::write_str(&mut writer, "kept").unwrap();
            let err = writer.write(bytes).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidData, "{bytes:?}");
            let inner = err
                .get_ref()
                .and_then(|e| e.downcast_ref::<ssewire::EventError>())
                .expect("the io error carries an EventError");
            assert_eq!(inner.field(), ssewire::Field::Data);
            assert_eq!(inner.offset(), *offset, "{bytes:?}");
            assert_eq!(inner.character(), None);
            assert!(err.to_string().contains("not UTF-8"), "{err}");
        }
        // Nothing of the failed write was added.
        assert_wire(&event, "data: before\ndata: kept\n\n");
    }

    // write_all of text with a cut character at its very end: the complete part is
    // written (a short write), then the leftover lead byte alone fails.
    let mut event = Event::new();
    let err = event.data_writer().write_all(b"x\xe2\x82").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidData);
    assert_wire(&event, "data: x\n\n");
}

// ---- JSON ---------------------------------------------------------------------------

#[cfg(feature = "json")]
mod json {
    use super::*;
    use serde_json::value::RawValue;

    #[derive(serde::Serialize)]
    struct Price {
        symbol: &'static str,
        cents: u64,
        note: &'static str,
    }

    #[test]
    fn json_data_is_compact_json_on_one_line() {
        let price = Price {
            symbol: "ACME",
            cents: 1234,
            // Escaped by serde_json, so never a line break on the wire.
            note: "line\r\nbreak\t\u{2028}é",
        };
        let event = Event::new().event(TICK).id(1u8).json_data(&price).unwrap();
        assert_wire(
            &event,
            "event: tick\nid: 1\ndata: {\"symbol\":\"ACME\",\"cents\":1234,\"note\":\"line\\r\\nbreak\\t\u{2028}é\"}\n\n",
        );
        let data = &spec_parser::parse(&wire(&event)).events()[0].data;
        let back: serde_json::Value = serde_json::from_str(data).unwrap();
        assert_eq!(back["note"], "line\r\nbreak\t\u{2028}é");
    }

    #[test]
    fn json_data_of_scalars_and_unsized_values() {
        assert_wire(&Event::new().json_data(&1).unwrap(), "data: 1\n\n");
        assert_wire(&Event::new().json_data("s").unwrap(), "data: \"s\"\n\n");
        assert_wire(
            &Event::new().json_data(&[1, 2][..]).unwrap(),
            "data: [1,2]\n\n",
        );
        assert_wire(&Event::new().json_data(&()).unwrap(), "data: null\n\n");
        // Appends like any data.
        let two = Event::new().data("a").json_data(&true).unwrap();
        assert_wire(&two, "data: a\ndata: true\n\n");
    }

    #[test]
    fn raw_value_with_line_breaks_is_split_and_parses_back() {
        let raw = "{\r\n  \"a\": [1,\n 2],\r  \"b\": \"x\"\n}";
        let value = RawValue::from_string(raw.to_owned()).unwrap();
        let event = Event::new().json_data(&value).unwrap();
        assert_wire(
            &event,
            "data: {\ndata:   \"a\": [1,\ndata:  2],\ndata:   \"b\": \"x\"\ndata: }\n\n",
        );
        let data = &spec_parser::parse(&wire(&event)).events()[0].data;
        assert_eq!(data, &normalize_newlines(raw));
        let back: serde_json::Value = serde_json::from_str(data).unwrap();
        assert_eq!(back, serde_json::json!({"a": [1, 2], "b": "x"}));

        // Inside a larger value: the raw text's breaks split the surrounding JSON.
        // (A RawValue never starts or ends with whitespace: serde_json trims it.)
        #[derive(serde::Serialize)]
        struct Wrapper<'a> {
            raw: &'a RawValue,
            after: u8,
        }
        let raw = RawValue::from_string("[1,\r2]".to_owned()).unwrap();
        let event = Event::new()
            .json_data(&Wrapper {
                raw: &raw,
                after: 3,
            })
            .unwrap();
        assert_wire(&event, "data: {\"raw\":[1,\ndata: 2],\"after\":3}\n\n");
        let data = &spec_parser::parse(&wire(&event)).events()[0].data;
        let back: serde_json::Value = serde_json::from_str(data).unwrap();
        assert_eq!(back, serde_json::json!({"raw": [1, 2], "after": 3}));
    }

    #[test]
    fn pretty_json_through_the_data_writer() {
        // The pretty printer writes its line breaks and indentation as separate
        // pieces; a RawValue inside brings its own CRLF.
        let raw = RawValue::from_string("[1,\r\n2]".to_owned()).unwrap();
        let mut event = Event::new();
        serde_json::to_writer_pretty(event.data_writer(), &vec![&raw, &raw]).unwrap();
        assert_wire(
            &event,
            "data: [\ndata:   [1,\ndata: 2],\ndata:   [1,\ndata: 2]\ndata: ]\n\n",
        );
        let pretty = serde_json::to_string_pretty(&vec![&raw, &raw]).unwrap();
        let data = &spec_parser::parse(&wire(&event)).events()[0].data;
        assert_eq!(data, &normalize_newlines(&pretty));
        let back: serde_json::Value = serde_json::from_str(data).unwrap();
        assert_eq!(back, serde_json::json!([[1, 2], [1, 2]]));
    }

    #[test]
    fn json_data_errors_are_serde_errors() {
        let mut map = std::collections::BTreeMap::new();
        map.insert((1, 2), 3);
        let err = Event::new().json_data(&map).unwrap_err();
        assert!(err.to_string().contains("key must be a string"), "{err}");
    }
}

// ---- pre-encoded events -------------------------------------------------------------

#[test]
fn encoded_event_round_trips_without_a_copy() {
    let events = [
        Event::new(),
        Event::with_data("x"),
        Event::new()
            .event(TICK)
            .id(1u8)
            .retry(Duration::from_secs(1))
            .comment("c\nd")
            .data("a\r\nb"),
    ];
    for event in events {
        let expected = wire(&event);
        let encoded: EncodedEvent = event.encode();
        assert_eq!(encoded.as_bytes(), &expected[..]);
        assert_eq!(encoded.len(), expected.len());
        let shared = encoded.clone();
        assert_eq!(shared.as_bytes().as_ptr(), encoded.as_bytes().as_ptr());
        assert_eq!(shared, encoded);

        let bytes: Bytes = encoded.clone().into();
        assert_eq!(bytes.as_ptr(), encoded.as_bytes().as_ptr());
        assert_eq!(
            encoded.clone().into_bytes().as_ptr(),
            encoded.as_bytes().as_ptr()
        );
    }
}

#[test]
fn encoded_events_concatenate_into_a_stream() {
    let a = Event::new().id(1u8).data("one").encode();
    let b = Event::new().event(TICK).data("two\nlines").encode();
    let mut stream = BytesMut::new();
    for event in [a.clone(), b.clone(), a] {
        stream.extend_from_slice(event.as_ref());
    }
    let fired = spec_parser::parse(&stream).events();
    let got: Vec<(&str, &str, &str)> = fired
        .iter()
        .map(|e| {
            (
                e.event_type.as_str(),
                e.data.as_str(),
                e.last_event_id.as_str(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("message", "one", "1"),
            ("tick", "two\nlines", "1"),
            ("message", "one", "1"),
        ]
    );
    let debug = format!("{b:?}");
    assert!(
        debug.starts_with("EncodedEvent(") && debug.contains("tick"),
        "{debug}"
    );
}

// ---- encode_to into one reused buffer -----------------------------------------------

#[test]
fn encode_to_appends_and_reuses_the_buffer() {
    let mut buf = BytesMut::with_capacity(4096);
    let events: Vec<Event> = (0..50u64)
        .map(|i| {
            Event::new()
                .event(TICK)
                .id(i)
                .data(format!("line {i}\nnext"))
        })
        .collect();
    let mut expected = Vec::new();
    for event in &events {
        expected.extend_from_slice(&wire(event));
        event.encode_to(&mut buf);
    }
    assert_eq!(&buf[..], &expected[..]);
    let fired = spec_parser::parse(&buf).events();
    assert_eq!(fired.len(), 50);
    assert_eq!(fired[49].data, "line 49\nnext");
    assert_eq!(fired[49].last_event_id, "49");

    // Freeze what was written and keep going in the same allocation.
    let first = buf.split().freeze();
    Event::with_data("after").encode_to(&mut buf);
    assert_eq!(&buf[..], b"data: after\n\n");
    assert_eq!(&first[..], &expected[..]);
}

#[test]
fn events_can_cross_threads() {
    fn send_sync<T: Send + Sync + 'static>() {}
    send_sync::<Event>();
    send_sync::<EncodedEvent>();
    send_sync::<EventType>();
    send_sync::<EventId>();
    send_sync::<ssewire::EventError>();
    // And the bytes made on one thread read the same on another.
    let encoded = Event::new().event(TICK).data("x").encode();
    let copy = encoded.clone();
    let got = std::thread::spawn(move || copy.into_bytes())
        .join()
        .unwrap();
    assert_eq!(&got[..], encoded.as_ref());
}
