//! Property tests: events built from arbitrary text (CR, LF, CRLF, NUL, U+FEFF,
//! non-ASCII, colons and spaces) are encoded and parsed back by the reference parser
//! in `common/spec_parser.rs` (written from the WHATWG algorithm), and must give
//! exactly what was set; every value that must be refused is refused with the right
//! field, offset and character (and the model, like the event, keeps what it had).
//!
//! The reference parser itself is first checked against the web-platform-tests
//! vectors in `tests/data/wpt/` and a few hand-written streams.

mod common;

use std::time::Duration;

use bytes::BytesMut;
use common::spec_parser::{self, normalize_newlines, text_lines, Line, MessageEvent};
use common::{first_invalid_utf8, wire};
use proptest::prelude::*;
use ssewire::{Event, EventError, EventId, EventType, Field};

// ---- the reference parser against known vectors ------------------------------------

#[test]
fn reference_parser_passes_the_wpt_vectors() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("data/wpt");
    let index = std::fs::read_to_string(dir.join("INDEX"))
        .unwrap_or_else(|e| panic!("the conformance vectors must be at {}: {e}", dir.display()));
    let mut checked = 0;
    for name in index.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let stream = std::fs::read(dir.join(format!("{name}.sse"))).unwrap();
        let expected = std::fs::read_to_string(dir.join(format!("{name}.expected.jsonl"))).unwrap();
        let parsed = spec_parser::parse(&stream);
        let fired: Vec<_> = parsed.blocks.iter().filter(|b| b.fired.is_some()).collect();
        let expected: Vec<serde_json::Value> = expected
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(fired.len(), expected.len(), "{name}: {parsed:#?}");
        for (block, want) in fired.iter().zip(&expected) {
            let event = block.fired.as_ref().unwrap();
            assert_eq!(want["type"], event.event_type.as_str(), "{name}");
            assert_eq!(want["data"], event.data.as_str(), "{name}");
            if let Some(id) = want.get("id") {
                assert_eq!(id, event.last_event_id.as_str(), "{name}");
            }
            if let Some(retry) = want.get("retry") {
                let got = block.reconnection_time.map(|ms| ms as u64);
                assert_eq!(retry.as_u64(), got, "{name}");
            }
        }
        checked += 1;
    }
    assert!(checked >= 20, "only {checked} vectors found");
}

#[test]
fn reference_parser_follows_the_algorithm_on_hand_written_streams() {
    let p = spec_parser::parse(
        b"\xEF\xBB\xBFdata\nid: a\0b\nretry: 12x\nretry: 0034\n:c\nevent:t\n\n\
          id\ndata:  two\r\ndata:x\r\rid: 9\n\ndata: lost",
    );
    assert_eq!(
        p.events(),
        [
            MessageEvent {
                event_type: "t".into(),
                data: String::new(),
                last_event_id: String::new(),
            },
            MessageEvent {
                event_type: "message".into(),
                data: " two\nx".into(),
                last_event_id: String::new(),
            },
        ]
    );
    assert_eq!(p.blocks.len(), 3);
    // The id with NUL and the bogus retry were ignored; `0034` is 34.
    assert_eq!(p.blocks[0].ignored.len(), 2);
    assert_eq!(p.blocks[0].reconnection_time, Some(34));
    assert_eq!(p.blocks[0].lines[4], Line::Comment("c".into()));
    // A block without data fires nothing but still sets the last event ID.
    assert!(p.blocks[2].fired.is_none());
    assert_eq!(p.blocks[2].last_event_id, "9");
    // The unterminated last event is discarded.
    assert_eq!(p.unterminated_line.as_deref(), Some("data: lost"));
    // A BOM not at the very start ruins its line.
    let p = spec_parser::parse(b"data: 1\n\n\xEF\xBB\xBFdata: 2\n\n");
    assert_eq!(p.events().len(), 1);
    assert_eq!(text_lines("a\r\nb\rc\n"), ["a", "b", "c", ""]);
}

// ---- strategies ---------------------------------------------------------------------

/// Text made of the pieces that matter to the wire format, plus arbitrary characters.
fn tricky_text() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        3 => Just("\r\n"),
        3 => Just("\r"),
        3 => Just("\n"),
        2 => Just("\0"),
        2 => Just("\u{feff}"),
        2 => Just(" "),
        2 => Just(":"),
        1 => Just("data: "),
        1 => Just("id"),
        4 => Just("a"),
        2 => Just("xyz"),
        2 => Just("é"),
        1 => Just("€"),
        1 => Just("😀"),
        1 => Just("\t"),
        1 => Just("\u{2028}"),
    ]
    .prop_map(str::to_owned);
    let piece = prop_oneof![8 => piece, 2 => any::<char>().prop_map(String::from)];
    prop::collection::vec(piece, 0..12).prop_map(|pieces| pieces.concat())
}

/// Bytes that are sometimes UTF-8 and sometimes not.
fn maybe_utf8() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        3 => tricky_text().prop_map(String::into_bytes),
        1 => prop::collection::vec(any::<u8>(), 0..12),
        2 => (tricky_text(), prop::collection::vec(128u8.., 1..4), any::<prop::sample::Index>())
            .prop_map(|(text, bad, at)| {
                let mut bytes = text.into_bytes();
                let at = at.index(bytes.len() + 1);
                bytes.splice(at..at, bad);
                bytes
            }),
    ]
}

/// One call on the builder.
#[derive(Debug, Clone)]
enum Op {
    /// `try_event` or `EventType::new` + `event`.
    Event(String, bool),
    /// `try_id` or `EventId::new` + `id`.
    IdText(String, bool),
    IdUnsigned(u64),
    IdSigned(i64),
    IdEmpty,
    Retry(Duration),
    Data(String),
    /// `try_data` with bytes that may not be UTF-8.
    DataBytes(Vec<u8>),
    Comment(String),
    /// One `data_writer`, written with `fmt::Write` in these pieces.
    Writer(Vec<String>),
    /// One `data_writer`, written with `io::Write::write_all` in these pieces.
    WriterIo(Vec<String>),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        2 => (tricky_text(), any::<bool>()).prop_map(|(s, b)| Op::Event(s, b)),
        2 => (tricky_text(), any::<bool>()).prop_map(|(s, b)| Op::IdText(s, b)),
        1 => any::<u64>().prop_map(Op::IdUnsigned),
        1 => any::<i64>().prop_map(Op::IdSigned),
        1 => Just(Op::IdEmpty),
        1 => prop_oneof![
                any::<u64>().prop_map(Duration::from_nanos),
                (0u64..100_000).prop_map(Duration::from_millis),
                Just(Duration::MAX),
            ].prop_map(Op::Retry),
        4 => tricky_text().prop_map(Op::Data),
        2 => maybe_utf8().prop_map(Op::DataBytes),
        2 => tricky_text().prop_map(Op::Comment),
        2 => prop::collection::vec(tricky_text(), 0..4).prop_map(Op::Writer),
        1 => prop::collection::vec(tricky_text(), 0..4).prop_map(Op::WriterIo),
    ]
}

fn ops() -> impl Strategy<Value = Vec<Op>> {
    prop::collection::vec(op(), 0..8)
}

// ---- the model: what the user set, and what a client must see -----------------------

#[derive(Debug, Clone)]
enum Item {
    Data(String),
    Comment(String),
}

#[derive(Debug, Clone, Default)]
struct Model {
    event_type: Option<String>,
    id: Option<String>,
    retry: Option<Duration>,
    items: Vec<Item>,
}

impl Model {
    fn has_data(&self) -> bool {
        self.items.iter().any(|i| matches!(i, Item::Data(_)))
    }

    /// The lines the encoder must write, in order: headers, then the items.
    fn header_lines(&self) -> Vec<Line> {
        let mut lines = Vec::new();
        if let Some(t) = &self.event_type {
            lines.push(Line::Field("event".into(), t.clone()));
        }
        if let Some(id) = &self.id {
            lines.push(Line::Field("id".into(), id.clone()));
        }
        if let Some(retry) = self.retry {
            // Clamped to what JavaScript timers take.
            let ms = retry.as_millis().min(2_147_483_647);
            lines.push(Line::Field("retry".into(), ms.to_string()));
        }
        lines
    }

    fn item_lines(&self) -> Vec<Line> {
        let mut lines = Vec::new();
        for item in &self.items {
            match item {
                Item::Data(text) => {
                    for line in text_lines(text) {
                        lines.push(Line::Field("data".into(), line.into()));
                    }
                }
                Item::Comment(text) => {
                    for line in text_lines(text) {
                        let raw = if line.is_empty() {
                            String::new()
                        } else {
                            format!(" {line}")
                        };
                        lines.push(Line::Comment(raw));
                    }
                }
            }
        }
        lines
    }

    /// Whether the encoder ends the event with a blank line: it has something to
    /// dispatch (an event type, an id, data), or nothing at all. Comments and `retry`
    /// alone take effect without one.
    fn dispatches(&self) -> bool {
        self.event_type.is_some()
            || self.id.is_some()
            || self.has_data()
            || (self.retry.is_none() && self.items.is_empty())
    }

    fn lines(&self) -> Vec<Line> {
        let mut lines = self.header_lines();
        lines.extend(self.item_lines());
        lines
    }

    /// The data a client reads: each piece with CR and CRLF read as LF, joined by LF.
    fn data(&self) -> String {
        let pieces: Vec<String> = self
            .items
            .iter()
            .filter_map(|i| match i {
                Item::Data(text) => Some(normalize_newlines(text)),
                Item::Comment(_) => None,
            })
            .collect();
        pieces.join("\n")
    }
}

/// Where the first byte a field cannot carry is, per the spec notes.
fn first_forbidden(text: &str, nul: bool) -> Option<(usize, char)> {
    text.char_indices()
        .find(|&(_, c)| c == '\r' || c == '\n' || (nul && c == '\0'))
}

#[track_caller]
fn check_error(
    result: Result<Event, EventError>,
    field: Field,
    expected: Option<(usize, char)>,
) -> Option<Event> {
    match (result, expected) {
        (Ok(event), None) => Some(event),
        (Err(err), Some((offset, c))) => {
            assert_eq!(err.field(), field, "{err}");
            assert_eq!(err.offset(), offset, "{err}");
            assert_eq!(err.character(), Some(c), "{err}");
            None
        }
        (Ok(event), Some(bad)) => panic!("accepted {bad:?} in {field}: {event:?}"),
        (Err(err), None) => panic!("refused a valid {field}: {err}"),
    }
}

/// Applies `ops` to `event` and to the model, checking every refusal on the way.
fn apply(mut event: Event, model: &mut Model, ops: &[Op]) -> Event {
    use std::io::Write as _;

    for op in ops {
        // The fallible calls are made on a clone, as a caller who wants to keep the
        // event on failure would; the model changes only when the call succeeds.
        match op {
            Op::Event(text, via_type) => {
                let result = if *via_type {
                    EventType::new(text.as_str()).map(|t| event.clone().event(t))
                } else {
                    event.clone().try_event(text.clone())
                };
                if let Some(next) = check_error(result, Field::Event, first_forbidden(text, false))
                {
                    event = next;
                    model.event_type = Some(text.clone());
                }
            }
            Op::IdText(text, via_id) => {
                let result = if *via_id {
                    EventId::new(text.as_str()).map(|id| event.clone().id(id))
                } else {
                    event.clone().try_id(text.clone())
                };
                if let Some(next) = check_error(result, Field::Id, first_forbidden(text, true)) {
                    event = next;
                    model.id = Some(text.clone());
                }
            }
            Op::IdUnsigned(n) => {
                event = event.id(*n);
                model.id = Some(n.to_string());
            }
            Op::IdSigned(n) => {
                event = event.id(*n);
                model.id = Some(n.to_string());
            }
            Op::IdEmpty => {
                event = event.id(EventId::empty());
                model.id = Some(String::new());
            }
            Op::Retry(retry) => {
                event = event.retry(*retry);
                model.retry = Some(*retry);
            }
            Op::Data(text) => {
                event = event.data(text);
                model.items.push(Item::Data(text.clone()));
            }
            Op::DataBytes(bytes) => {
                match (event.clone().try_data(bytes), first_invalid_utf8(bytes)) {
                    (Ok(next), None) => {
                        event = next;
                        let text = String::from_utf8(bytes.clone()).unwrap();
                        model.items.push(Item::Data(text));
                    }
                    (Err(err), Some(offset)) => {
                        assert_eq!(err.field(), Field::Data);
                        assert_eq!(err.offset(), offset, "{bytes:?}");
                        assert_eq!(err.character(), None);
                    }
                    (result, expected) => {
                        panic!("try_data({bytes:?}): {result:?}, expected {expected:?}")
                    }
                }
            }
            Op::Comment(text) => {
                event = event.comment(text);
                model.items.push(Item::Comment(text.clone()));
            }
            Op::Writer(pieces) => {
                let mut writer = event.data_writer();
                for piece in pieces {
                    std::fmt::Write::write_fmt(&mut writer, format_args!("{piece}")).unwrap();
                }
                model.items.push(Item::Data(pieces.concat()));
            }
            Op::WriterIo(pieces) => {
                let mut writer = event.data_writer();
                for piece in pieces {
                    writer.write_all(piece.as_bytes()).unwrap();
                }
                writer.flush().unwrap();
                model.items.push(Item::Data(pieces.concat()));
            }
        }
    }
    event
}

/// What the client state must be after each event of a stream.
struct ClientState {
    last_event_id: String,
    reconnection_time: Option<u128>,
}

impl ClientState {
    fn new() -> Self {
        ClientState {
            last_event_id: String::new(),
            reconnection_time: None,
        }
    }

    /// Checks one parsed block against the model of the event that made it.
    #[track_caller]
    fn check(&mut self, block: &spec_parser::Block, model: &Model, lines: &[Line]) {
        if let Some(id) = &model.id {
            self.last_event_id = id.clone();
        }
        if let Some(retry) = model.retry {
            self.reconnection_time = Some(retry.as_millis().min(2_147_483_647));
        }
        assert_eq!(block.lines, lines, "lines of {model:?}");
        assert!(
            block.ignored.is_empty(),
            "ignored lines: {:?}",
            block.ignored
        );
        assert_eq!(block.last_event_id, self.last_event_id);
        assert_eq!(block.reconnection_time, self.reconnection_time);
        let expected = model.has_data().then(|| MessageEvent {
            event_type: match model.event_type.as_deref() {
                None | Some("") => "message".to_owned(),
                Some(t) => t.to_owned(),
            },
            data: model.data(),
            last_event_id: self.last_event_id.clone(),
        });
        assert_eq!(block.fired, expected, "{model:?}");
    }
}

/// `cases` per property (about ten seconds in all in a debug build), or
/// `PROPTEST_CASES` from the environment for a longer run.
fn config(cases: u32) -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(cases);
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config(1000))]

    /// One event: what was set is what a client reads, and refusals are exact.
    #[test]
    fn one_event_round_trips(ops in ops()) {
        let mut model = Model::default();
        let event = apply(Event::new(), &mut model, &ops);

        prop_assert_eq!(event.has_data(), model.has_data());
        prop_assert_eq!(event.event_type().map(|t| t.as_str().to_owned()), model.event_type.clone());
        prop_assert_eq!(event.event_id().map(|id| id.to_string()), model.id.clone());
        prop_assert_eq!(event.reconnection_time(), model.retry);

        let mut bytes = wire(&event); // encode == encode_to == Bytes::from, encoded_len exact
        if !model.dispatches() {
            // Only comments and retry: no blank line, so the lines wait for the next
            // one; with a blank line added they read as before.
            prop_assert!(!bytes.ends_with(b"\n\n"));
            let parsed = spec_parser::parse(&bytes);
            prop_assert!(parsed.blocks.is_empty());
            prop_assert_eq!(&parsed.discarded, &model.lines());
            bytes.push(b'\n');
        }
        let parsed = spec_parser::parse(&bytes);
        prop_assert_eq!(parsed.blocks.len(), 1);
        prop_assert!(parsed.discarded.is_empty() && parsed.unterminated_line.is_none());
        ClientState::new().check(&parsed.blocks[0], &model, &model.lines());
    }

    /// Data given at write time (`encode_with_data_to`) writes exactly what storing
    /// it in the event writes, after any ops, for short (kept inline) and long data.
    #[test]
    fn data_given_at_write_time_is_data_stored(ops in ops(), text in tricky_text(), repeat in 1usize..40) {
        let event = apply(Event::new(), &mut Model::default(), &ops);
        for data in [text.clone(), text.repeat(repeat)] {
            let mut given = bytes::BytesMut::from(&b"before"[..]);
            event.encode_with_data_to(&data, &mut given);
            let stored = event.clone().data(&data);
            let mut expected = b"before".to_vec();
            expected.extend_from_slice(&wire(&stored));
            prop_assert_eq!(&given[..], &expected[..]);
        }
    }
}

proptest! {
    #![proptest_config(config(400))]

    /// Several events in one buffer, written by `encode_to` or by `encode`: ids and
    /// retry persist across events as the spec says, and each event that dispatches
    /// is read back on its own, after the lines of the comment- and retry-only events
    /// before it (which end with no blank line).
    #[test]
    fn a_stream_of_events_round_trips(events in prop::collection::vec((ops(), 0u8..2), 1..6)) {
        let mut stream = BytesMut::new();
        let mut models = Vec::new();
        for (ops, how) in &events {
            let mut model = Model::default();
            let event = apply(Event::new(), &mut model, ops);
            match how {
                0 => event.encode_to(&mut stream),
                _ => stream.extend_from_slice(event.encode().as_bytes()),
            }
            models.push(model);
        }
        let parsed = spec_parser::parse(&stream);
        prop_assert_eq!(parsed.blocks.len(), models.iter().filter(|m| m.dispatches()).count());
        prop_assert!(parsed.unterminated_line.is_none());
        let mut client = ClientState::new();
        let mut blocks = parsed.blocks.iter();
        let mut pending = Vec::new();
        for model in &models {
            if !model.dispatches() {
                pending.extend(model.lines());
                if let Some(retry) = model.retry {
                    client.reconnection_time = Some(retry.as_millis().min(2_147_483_647));
                }
                continue;
            }
            let block = blocks.next().expect("a block per dispatching event");
            pending.extend(model.lines());
            client.check(block, model, &pending);
            pending.clear();
        }
        prop_assert_eq!(&parsed.discarded, &pending);
    }
}

proptest! {
    #![proptest_config(config(1000))]

    /// Any value is either accepted and written unchanged, or refused at the first
    /// byte it cannot carry.
    #[test]
    fn values_are_accepted_or_refused_exactly(text in tricky_text(), bytes in maybe_utf8()) {
        match (EventType::new(text.as_str()), first_forbidden(&text, false)) {
            (Ok(t), None) => prop_assert_eq!(t.as_str(), text.as_str()),
            (Err(e), Some((offset, c))) => {
                prop_assert_eq!((e.field(), e.offset(), e.character()), (Field::Event, offset, Some(c)));
                prop_assert!(e.to_string().starts_with("invalid event: "));
                let at = format!(" at byte {offset} is not allowed");
                prop_assert!(e.to_string().ends_with(&at));
            }
            (r, x) => prop_assert!(false, "EventType::new({:?}) = {:?}, expected {:?}", text, r, x),
        }
        match (EventId::new(text.as_str()), first_forbidden(&text, true)) {
            (Ok(id), None) => prop_assert_eq!(id.as_text(), Some(text.as_str())),
            (Err(e), Some((offset, c))) => {
                prop_assert_eq!((e.field(), e.offset(), e.character()), (Field::Id, offset, Some(c)));
                prop_assert!(e.to_string().starts_with("invalid id: "));
            }
            (r, x) => prop_assert!(false, "EventId::new({:?}) = {:?}, expected {:?}", text, r, x),
        }
        match (Event::new().try_data(&bytes), first_invalid_utf8(&bytes)) {
            (Ok(event), None) => {
                let text = String::from_utf8(bytes.clone()).unwrap();
                let expected: String = text_lines(&text).iter().map(|l| format!("data: {l}\n")).collect();
                prop_assert_eq!(String::from_utf8(wire(&event)).unwrap(), expected + "\n");
            }
            (Err(e), Some(offset)) => {
                prop_assert_eq!((e.field(), e.offset(), e.character()), (Field::Data, offset, None));
                prop_assert_eq!(e.to_string(), format!("invalid data: not UTF-8 at byte {offset}"));
            }
            (r, x) => prop_assert!(false, "try_data({:?}) = {:?}, expected {:?}", bytes, r, x),
        }
    }

    /// A single `io::Write::write` takes exactly the complete characters when the
    /// buffer ends inside one, and otherwise all or nothing.
    #[test]
    fn io_writes_take_whole_characters(bytes in maybe_utf8()) {
        use std::io::Write as _;
        let mut event = Event::new();
        let result = event.data_writer().write(&bytes);
        let valid = first_invalid_utf8(&bytes);
        // A cut character at the very end is the only problem: take what precedes it.
        let cut_at_end = valid.filter(|&v| is_cut_char(&bytes[v..]));
        match (result, valid, cut_at_end) {
            (Ok(n), None, _) => prop_assert_eq!(n, bytes.len()),
            (Ok(n), Some(v), Some(c)) if v == c && v > 0 => prop_assert_eq!(n, v),
            (Err(e), Some(_), _) => {
                prop_assert_eq!(e.kind(), std::io::ErrorKind::InvalidData);
                prop_assert_eq!(String::from_utf8(wire(&event)).unwrap(), "data: \n\n");
            }
            (r, v, c) => prop_assert!(false, "write({:?}) = {:?} (invalid at {:?}, cut at {:?})", bytes, r, v, c),
        }
    }
}

/// Whether `tail` is the start of a well-formed UTF-8 sequence that was cut short.
fn is_cut_char(tail: &[u8]) -> bool {
    let Some(&lead) = tail.first() else {
        return false;
    };
    let len = match lead {
        0xc2..=0xdf => 2,
        0xe0..=0xef => 3,
        0xf0..=0xf4 => 4,
        _ => return false,
    };
    if tail.len() >= len {
        return false;
    }
    // Complete it with continuation bytes; the allowed second byte depends on the
    // lead (E0 needs A0.., ED ..9F, F0 90.., F4 ..8F), so try one of each range.
    [0x80u8, 0x90, 0xa0].iter().any(|&second| {
        let mut full = tail.to_vec();
        while full.len() < len {
            full.push(if full.len() == 1 { second } else { 0x80 });
        }
        first_invalid_utf8(&full).is_none()
    })
}
