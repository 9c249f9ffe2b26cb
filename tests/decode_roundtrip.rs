//! Encoder → decoder round trip: whatever `Event` encodes, `Decoder` gives back the
//! event the user built (data with CR and CRLF read as LF), however the bytes are
//! chunked.

use std::time::Duration;

use bytes::{Bytes, BytesMut};
use proptest::prelude::*;
use ssewire::{Decoded, Decoder, Event, EventId, EventType};

/// Text dense in the characters that matter to the wire format.
fn tricky_text() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("a"),
        Just("xyz"),
        Just(" "),
        Just("  "),
        Just("\t"),
        Just("\r"),
        Just("\n"),
        Just("\r\n"),
        Just("\n\r"),
        Just("\0"),
        Just("\u{feff}"),
        Just("é"),
        Just("😀"),
        Just(":"),
        Just("data: "),
        Just("id"),
    ];
    prop_oneof![
        4 => proptest::collection::vec(piece, 0..10).prop_map(|p| p.concat()),
        1 => any::<String>(),
    ]
}

#[derive(Debug, Clone)]
enum Part {
    Data(String),
    Comment(String),
    /// Pieces written through one `DataWriter`.
    Writer(Vec<String>),
}

#[derive(Debug, Clone)]
struct Spec {
    event_type: Option<String>,
    id: Option<String>,
    retry: Option<u64>,
    parts: Vec<Part>,
}

fn spec() -> impl Strategy<Value = Spec> {
    let part = prop_oneof![
        3 => tricky_text().prop_map(Part::Data),
        1 => tricky_text().prop_map(Part::Comment),
        1 => proptest::collection::vec(tricky_text(), 0..4).prop_map(Part::Writer),
    ];
    (
        proptest::option::of(tricky_text()),
        proptest::option::of(tricky_text()),
        proptest::option::of(prop_oneof![any::<u64>(), 0u64..10_000]),
        proptest::collection::vec(part, 0..5),
    )
        .prop_map(|(event_type, id, retry, parts)| Spec {
            event_type,
            id,
            retry,
            parts,
        })
}

/// LF for every CRLF and CR, as a client reads a line break.
fn as_lf(s: &str) -> String {
    s.replace("\r\n", "\n").replace('\r', "\n")
}

/// The lines a client sees in `s`.
fn lines(s: &str) -> Vec<String> {
    as_lf(s).split('\n').map(str::to_owned).collect()
}

/// What a client should see, item by item, for each built event; `None` for a spec
/// whose type or id the builder must refuse.
fn build(spec: &Spec, last_id: &mut String) -> Option<(Event, Vec<Decoded>, Vec<String>)> {
    let mut event = Event::new();
    if let Some(t) = &spec.event_type {
        match EventType::new(t.clone()) {
            Ok(t) => event = event.event(t),
            Err(err) => {
                assert!(t.contains(['\r', '\n']), "{t:?} refused: {err}");
                return None;
            }
        }
    }
    assert!(
        spec.event_type
            .as_ref()
            .is_none_or(|t| !t.contains(['\r', '\n'])),
        "an event type with a line break was accepted"
    );
    if let Some(id) = &spec.id {
        match EventId::new(id.clone()) {
            Ok(id) => event = event.id(id),
            Err(err) => {
                assert!(id.contains(['\r', '\n', '\0']), "{id:?} refused: {err}");
                return None;
            }
        }
    }
    if let Some(ms) = spec.retry {
        event = event.retry(Duration::from_millis(ms));
    }

    let mut items = Vec::new();
    if let Some(ms) = spec.retry {
        // The encoder clamps `retry` to 2^31 - 1 ms, what JavaScript timers take.
        let ms = ms.min(2_147_483_647);
        items.push(Decoded::ReconnectionTime(Duration::from_millis(ms)));
    }
    let mut data: Option<Vec<String>> = None;
    for part in &spec.parts {
        match part {
            Part::Data(text) => {
                event = event.data(text);
                data.get_or_insert_with(Vec::new).push(as_lf(text));
            }
            Part::Comment(text) => {
                event = event.comment(text);
                items.extend(lines(text).into_iter().map(Decoded::Comment));
            }
            Part::Writer(pieces) => {
                {
                    let mut writer = event.data_writer();
                    for piece in pieces {
                        std::fmt::Write::write_str(&mut writer, piece).unwrap();
                    }
                }
                data.get_or_insert_with(Vec::new)
                    .push(as_lf(&pieces.concat()));
            }
        }
    }
    if let Some(id) = &spec.id {
        *last_id = id.clone();
    }
    let mut expected_events = Vec::new();
    if let Some(data) = data {
        let event_type = match spec.event_type.as_deref() {
            None | Some("") => "message",
            Some(t) => t,
        };
        let data = data.join("\n");
        expected_events.push(format!("{event_type}|{data}|{last_id}"));
        items.push(Decoded::Comment(format!(
            "EVENT {event_type}|{data}|{last_id}"
        )));
    }
    Some((event, items, expected_events))
}

/// Decodes `wire` fed in pieces of the given sizes (cycled).
fn decode(wire: &Bytes, sizes: &[usize]) -> Vec<Decoded> {
    let mut decoder = Decoder::new();
    let mut out = Vec::new();
    let mut at = 0;
    let mut i = 0;
    while at < wire.len() {
        let n = sizes[i % sizes.len()].min(wire.len() - at);
        i += 1;
        decoder.feed(wire.slice(at..at + n));
        at += n;
        while let Some(item) = decoder.next_decoded().expect("within the default limits") {
            out.push(match item {
                // Flatten events into a comparable form.
                Decoded::Event(e) => Decoded::Comment(format!(
                    "EVENT {}|{}|{}",
                    e.event_type(),
                    e.data(),
                    e.last_event_id()
                )),
                other => other,
            });
        }
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, ..ProptestConfig::default() })]

    #[test]
    fn what_the_encoder_writes_the_decoder_returns(
        specs in proptest::collection::vec(spec(), 1..5),
        sizes in proptest::collection::vec(1usize..24, 1..6),
    ) {
        let mut wire = BytesMut::new();
        let mut expected = Vec::new();
        let mut last_id = String::new();
        for spec in &specs {
            if let Some((event, items, _)) = build(spec, &mut last_id) {
                event.encode_to(&mut wire);
                expected.extend(items);
            }
        }
        let wire = wire.freeze();
        let whole = decode(&wire, &[usize::MAX]);
        prop_assert_eq!(&whole, &expected, "wire: {:?}", String::from_utf8_lossy(&wire));
        prop_assert_eq!(decode(&wire, &sizes), expected);
    }

    #[test]
    fn one_encoded_event_decodes_through_encode_too(spec in spec()) {
        // `Event::encode` (one buffer, header written in front) against `encode_to`.
        let mut last_id = String::new();
        if let Some((event, items, events)) = build(&spec, &mut last_id) {
            let bytes = event.clone().encode().into_bytes();
            let mut via_to = BytesMut::new();
            event.encode_to(&mut via_to);
            prop_assert_eq!(&bytes[..], &via_to[..]);
            prop_assert_eq!(decode(&bytes, &[1]), items);
            let mut decoder = Decoder::new();
            decoder.feed(bytes);
            let got: Vec<String> = std::iter::from_fn(|| decoder.next_event().unwrap())
                .map(|e| format!("{}|{}|{}", e.event_type(), e.data(), e.last_event_id()))
                .collect();
            prop_assert_eq!(got, events);
        }
    }

    #[test]
    fn json_data_round_trips(s in tricky_text(), n in any::<i64>(), pretty in any::<bool>()) {
        let value = serde_json::json!({ "text": s, "n": n, "list": [s, "\n"] });
        let event = if pretty {
            // Pretty JSON has line breaks: several `data:` lines, joined back with LF.
            let raw = serde_json::value::RawValue::from_string(
                serde_json::to_string_pretty(&value).unwrap(),
            )
            .unwrap();
            Event::new().json_data(&raw).unwrap()
        } else {
            Event::new().json_data(&value).unwrap()
        };
        let mut decoder = Decoder::new();
        decoder.feed(event.encode().into_bytes());
        let decoded = decoder.next_event().unwrap().expect("one event");
        let back: serde_json::Value = serde_json::from_str(decoded.data()).unwrap();
        prop_assert_eq!(back, value);
    }
}

#[test]
fn data_edge_cases_by_hand() {
    let cases: &[(&str, &str)] = &[
        ("", ""),
        ("\n", "\n"),
        ("x\r\n", "x\n"),
        ("\r\r\n\n", "\n\n\n"),
        (" leading space", " leading space"),
        ("\u{feff}bom", "\u{feff}bom"),
        ("nul\0", "nul\0"),
    ];
    for (data, want) in cases {
        let mut decoder = Decoder::new();
        decoder.feed(Event::with_data(data).encode().into_bytes());
        let event = decoder.next_event().unwrap().unwrap();
        assert_eq!(event.data(), *want, "data {data:?}");
    }
}

/// (type, data, last event ID) of every event `wire` dispatches.
fn decoded_events(wire: Bytes) -> Vec<ssewire::MessageEvent> {
    let mut decoder = Decoder::new();
    decoder.feed(wire);
    std::iter::from_fn(|| decoder.next_event().expect("within the default limits")).collect()
}

fn seen(events: &[ssewire::MessageEvent]) -> Vec<(String, String, String)> {
    events
        .iter()
        .map(|e| {
            (
                e.event_type().to_owned(),
                e.data().to_owned(),
                e.last_event_id().to_owned(),
            )
        })
        .collect()
}

/// What a relay re-sends: `Event::from(&decoded)` for each decoded event.
fn relayed(events: &[ssewire::MessageEvent]) -> Bytes {
    let mut wire = BytesMut::new();
    for event in events {
        Event::from(event).encode_to(&mut wire);
    }
    wire.freeze()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 500, ..ProptestConfig::default() })]

    #[test]
    fn a_relay_re_sends_what_it_decoded(specs in proptest::collection::vec(spec(), 1..6)) {
        let mut wire = BytesMut::new();
        let mut last_id = String::new();
        for spec in &specs {
            if let Some((event, _, _)) = build(spec, &mut last_id) {
                event.encode_to(&mut wire);
            }
        }
        let first = decoded_events(wire.freeze());
        let again = decoded_events(relayed(&first));
        prop_assert_eq!(seen(&again), seen(&first));
    }
}

#[test]
fn a_relay_keeps_empty_ids_and_multi_line_data() {
    let wire = Bytes::from_static(
        b"id: 1\ndata: a\n\nid\ndata: b\ndata: \ndata: c\n\nevent: t\ndata\n\nid: 2\n\ndata: d\r\n\r\n",
    );
    let first = decoded_events(wire);
    let expected = [
        ("message", "a", "1"),
        ("message", "b\n\nc", ""),
        ("t", "", ""),
        ("message", "d", "2"),
    ]
    .map(|(t, d, i)| (t.to_owned(), d.to_owned(), i.to_owned()));
    assert_eq!(seen(&first), expected);
    let relay_wire = relayed(&first);
    assert_eq!(
        &relay_wire[..],
        b"id: 1\ndata: a\n\nid: \ndata: b\ndata: \ndata: c\n\nevent: t\nid: \ndata: \n\nid: 2\ndata: d\n\n"
    );
    assert_eq!(seen(&decoded_events(relay_wire)), expected);
}
