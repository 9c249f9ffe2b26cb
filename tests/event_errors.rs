//! Every error path of the event builder: forbidden characters in `event` and `id`,
//! invalid UTF-8 in data, what the error reports (field, offset, character, Display),
//! and that a failure changes nothing the caller holds.

mod common;

use bytes::{Bytes, BytesMut};
use common::wire;
use ssewire::{Event, EventError, EventId, EventType, Field};

/// The checks one forbidden character must pass, whichever constructor is used.
#[track_caller]
fn assert_forbidden(err: &EventError, field: Field, offset: usize, character: char) {
    assert_eq!(err.field(), field, "{err:?}");
    assert_eq!(err.offset(), offset, "{err:?}");
    assert_eq!(err.character(), Some(character), "{err:?}");
    assert!(
        matches!(
            err,
            EventError::ForbiddenChar { field: f, character: c, offset: o, .. }
                if *f == field && *c == character && *o == offset
        ),
        "{err:?}"
    );
    let name = match character {
        '\n' => "line feed (U+000A)",
        '\r' => "carriage return (U+000D)",
        '\0' => "NUL (U+0000)",
        other => panic!("unexpected character {other:?}"),
    };
    assert_eq!(
        err.to_string(),
        format!(
            "invalid {}: {name} at byte {offset} is not allowed",
            field.as_str()
        )
    );
}

/// Values with a forbidden character, the offset of the first one, and which.
fn with_forbidden(c: char) -> Vec<(String, usize)> {
    vec![
        (format!("{c}"), 0),
        (format!("{c}abc"), 0),
        (format!("a{c}bc"), 1),
        (format!("abc{c}"), 3),
        (format!("abc{c}{c}"), 3),
        // Offsets count bytes, not characters.
        (format!("é{c}"), 2),
        (format!("日本{c}語"), 6),
        (format!("😀{c}"), 4),
        (format!("\u{feff}{c}"), 3),
        // Past the first 32-byte block and at its edges.
        (format!("{}{c}", "x".repeat(31)), 31),
        (format!("{}{c}", "x".repeat(32)), 32),
        (format!("{}{c}tail", "x".repeat(1000)), 1000),
    ]
}

#[test]
fn event_type_rejects_cr_and_lf_at_any_offset() {
    for c in ['\r', '\n'] {
        for (value, offset) in with_forbidden(c) {
            let errors = [
                EventType::new(value.clone()).unwrap_err(),
                EventType::new(value.as_str()).unwrap_err(),
                EventType::try_from(value.clone()).unwrap_err(),
                EventType::try_from(value.as_str()).unwrap_err(),
                value.parse::<EventType>().unwrap_err(),
                Event::new().try_event(value.clone()).unwrap_err(),
                Event::new().try_event(value.as_str()).unwrap_err(),
            ];
            for err in &errors {
                assert_forbidden(err, Field::Event, offset, c);
            }
        }
    }
}

#[test]
fn event_type_reports_the_first_of_several_forbidden_characters() {
    assert_forbidden(
        &EventType::new("a\r\nb").unwrap_err(),
        Field::Event,
        1,
        '\r',
    );
    assert_forbidden(
        &EventType::new("a\n\rb").unwrap_err(),
        Field::Event,
        1,
        '\n',
    );
    // NUL is fine in an event type, so the CR after it is the error.
    assert_forbidden(
        &EventType::new("\0\0\r").unwrap_err(),
        Field::Event,
        2,
        '\r',
    );
}

#[test]
fn id_rejects_cr_lf_and_nul_at_any_offset() {
    for c in ['\r', '\n', '\0'] {
        for (value, offset) in with_forbidden(c) {
            let errors = [
                EventId::new(value.clone()).unwrap_err(),
                EventId::new(value.as_str()).unwrap_err(),
                EventId::try_from(value.clone()).unwrap_err(),
                EventId::try_from(value.as_str()).unwrap_err(),
                value.parse::<EventId>().unwrap_err(),
                Event::new().try_id(value.clone()).unwrap_err(),
                Event::new().try_id(value.as_str()).unwrap_err(),
            ];
            for err in &errors {
                assert_forbidden(err, Field::Id, offset, c);
            }
        }
    }
}

#[test]
fn id_reports_the_first_of_several_forbidden_characters() {
    assert_forbidden(&EventId::new("ab\0\n").unwrap_err(), Field::Id, 2, '\0');
    assert_forbidden(&EventId::new("ab\n\0").unwrap_err(), Field::Id, 2, '\n');
    assert_forbidden(&EventId::new("\r\0").unwrap_err(), Field::Id, 0, '\r');
}

#[test]
fn values_without_forbidden_characters_are_accepted() {
    for ok in [
        "",
        " ",
        "\t",
        "a:b",
        "\u{feff}",
        "\u{2028}\u{85}",
        "日本語",
        "😀",
    ] {
        assert_eq!(EventType::new(ok).unwrap().as_str(), ok);
        assert_eq!(EventId::new(ok).unwrap().as_text(), Some(ok));
    }
    assert_eq!(EventType::new("\0").unwrap().as_str(), "\0");
}

/// Invalid UTF-8 and the offset of the first byte that is not valid UTF-8.
const INVALID_UTF8: &[(&[u8], usize)] = &[
    (b"\xff", 0),
    (b"\xfe", 0),
    (b"ok\xff", 2),
    (b"\x80", 0),
    (b"a\xbfb", 1),
    // Truncated sequences at the end.
    (b"\xc3", 0),
    (b"caf\xc3", 3),
    (b"\xe2\x82", 0),
    (b"x\xe2\x82", 1),
    (b"\xf0\x9f\x98", 0),
    (b"xy\xf0\x9f", 2),
    (b"\xf0", 0),
    // Truncated sequences in the middle.
    (b"\xc3a", 0),
    (b"a\xe2\x82b", 1),
    (b"\xf0\x9f\x98 ", 0),
    // Overlong forms, surrogates, and code points past U+10FFFF.
    (b"\xc0\x80", 0),
    (b"\xc1\xbf", 0),
    (b"\xe0\x80\x80", 0),
    (b"\xed\xa0\x80", 0),
    (b"\xed\xbf\xbf", 0),
    (b"\xf4\x90\x80\x80", 0),
    (b"\xf5\x80\x80\x80", 0),
];

fn invalid_utf8_cases() -> Vec<(Vec<u8>, usize)> {
    let mut cases: Vec<(Vec<u8>, usize)> =
        INVALID_UTF8.iter().map(|(b, o)| (b.to_vec(), *o)).collect();
    // After valid multi-byte text.
    let mut after = "日本😀".as_bytes().to_vec();
    let valid = after.len();
    after.extend_from_slice(b"\xe6\x97");
    cases.push((after, valid));
    let mut long = vec![b'x'; 100];
    long.push(0xff);
    cases.push((long, 100));
    // A line break before the bad byte changes nothing about the offset.
    cases.push((b"a\r\nb\n\xff".to_vec(), 5));
    cases
}

#[test]
fn try_data_rejects_invalid_utf8_with_the_offset_of_the_first_bad_byte() {
    for (bytes, offset) in invalid_utf8_cases() {
        let errors = [
            Event::new().try_data(&bytes).unwrap_err(),
            Event::new().try_data(bytes.as_slice()).unwrap_err(),
            Event::new().try_data(bytes.clone()).unwrap_err(),
            Event::new()
                .try_data(Bytes::from(bytes.clone()))
                .unwrap_err(),
            Event::with_data("ok").try_data(&bytes).unwrap_err(),
        ];
        for err in &errors {
            assert_eq!(err.field(), Field::Data, "{bytes:?}");
            assert_eq!(err.offset(), offset, "{bytes:?}");
            assert_eq!(err.character(), None, "{bytes:?}");
            assert!(
                matches!(err, EventError::InvalidUtf8 { field: Field::Data, offset: o, .. } if *o == offset),
                "{err:?}"
            );
            assert_eq!(
                err.to_string(),
                format!("invalid data: not UTF-8 at byte {offset}")
            );
        }
    }
}

#[test]
fn a_failed_call_leaves_the_callers_values_untouched() {
    let original = Event::new().id(1u8).data("kept\r\n").comment("c");
    let before = wire(&original);

    // The fallible setters take the event by value; a caller that wants to keep it
    // on failure clones it (cheap for events without data) and the clone fails alone.
    for attempt in [
        original.clone().try_event("a\nb").map(|_| ()),
        original.clone().try_id("a\0b").map(|_| ()),
        original.clone().try_data(b"\xff").map(|_| ()),
    ] {
        assert!(attempt.is_err());
    }
    assert_eq!(wire(&original), before);

    // The bytes passed to try_data are not consumed or changed.
    let input = Bytes::from_static(b"bad \xc3\x28 bytes");
    let err = Event::new().try_data(input.clone()).unwrap_err();
    assert_eq!(err.offset(), 4);
    assert_eq!(&input[..], b"bad \xc3\x28 bytes");

    // A caller's buffer: encode_to cannot fail, and a failed build never reaches it.
    let mut buf = BytesMut::from(&b"data: earlier\n\n"[..]);
    let result = Event::new().try_event("x").and_then(|e| e.try_id("bad\r"));
    assert!(result.is_err());
    if let Ok(event) = result {
        event.encode_to(&mut buf);
    }
    assert_eq!(&buf[..], b"data: earlier\n\n");

    // A chain stops at its first bad value: the error is about that value.
    let err = Event::new()
        .try_event("ok")
        .and_then(|e| e.try_id("bad\nid"))
        .and_then(|e| e.try_event("also\rbad"))
        .unwrap_err();
    assert_eq!((err.field(), err.offset()), (Field::Id, 3));
}

#[test]
fn a_failed_io_write_into_the_data_writer_adds_nothing() {
    use std::io::Write as _;

    for (bytes, _) in invalid_utf8_cases() {
        let mut event = Event::new().data("a");
        let added = {
            let mut writer = event.data_writer();
            std::fmt::Write::write_str(&mut writer, "b").unwrap();
            // A single write accepts exactly the complete-character prefix when the
            // rest is one cut character; anything else that is not UTF-8 fails and
            // adds nothing.
            match writer.write(&bytes) {
                Ok(n) => {
                    let (head, tail) = bytes.split_at(n);
                    assert!(n > 0, "{bytes:?}");
                    assert!(std::str::from_utf8(tail).unwrap_err().error_len().is_none());
                    std::fmt::Write::write_str(&mut writer, "|").unwrap();
                    format!("{}|", std::str::from_utf8(head).unwrap())
                }
                Err(e) => {
                    assert_eq!(e.kind(), std::io::ErrorKind::InvalidData, "{bytes:?}");
                    String::new()
                }
            }
        };
        assert_eq!(
            String::from_utf8(wire(&event)).unwrap(),
            format!("data: a\ndata: b{added}\n\n"),
            "{bytes:?}"
        );
    }
    // The cut-character cases really are short writes (not all errors).
    let mut event = Event::new();
    assert_eq!(event.data_writer().write(b"caf\xc3").unwrap(), 3);
}

#[test]
fn field_names_and_display() {
    assert_eq!(Field::Event.as_str(), "event");
    assert_eq!(Field::Id.as_str(), "id");
    assert_eq!(Field::Data.as_str(), "data");
    for field in [Field::Event, Field::Id, Field::Data] {
        assert_eq!(field.to_string(), field.as_str());
    }
}

#[test]
fn errors_are_std_errors_and_comparable() {
    fn is_error<E: std::error::Error + Send + Sync + Clone + 'static>(_: &E) {}
    let a = EventId::new("x\n").unwrap_err();
    is_error(&a);
    assert_eq!(a.clone(), a);
    assert_ne!(a, EventType::new("x\n").unwrap_err());
    assert_ne!(a, EventId::new("xx\n").unwrap_err());
    assert_ne!(a, EventId::new("x\r").unwrap_err());
    let boxed: Box<dyn std::error::Error> = Box::new(a);
    assert!(boxed.to_string().starts_with("invalid id:"));
    // Usable with `?` in functions returning a boxed error.
    fn build() -> Result<Event, Box<dyn std::error::Error + Send + Sync>> {
        Ok(Event::new().try_event("ok")?.try_id("bad\0")?)
    }
    assert_eq!(
        build().unwrap_err().to_string(),
        "invalid id: NUL (U+0000) at byte 3 is not allowed"
    );
}

#[test]
#[should_panic(expected = "an SSE event type cannot contain CR or LF")]
fn event_type_from_static_with_a_line_break_panics_outside_const() {
    // Documented: `from_static` is for literals (in a `const` this is a compile
    // error); runtime strings go through `EventType::new`.
    let name: &'static str = Box::leak(String::from("a\nb").into_boxed_str());
    let _ = EventType::from_static(name);
}

#[test]
#[should_panic(expected = "an SSE event id cannot contain CR, LF or NUL")]
fn event_id_from_static_with_nul_panics_outside_const() {
    let id: &'static str = Box::leak(String::from("a\0b").into_boxed_str());
    let _ = EventId::from_static(id);
}
