//! The decoder against the web-platform-tests `eventsource/` vectors in
//! `tests/data/wpt/`: every case, fed whole, in chunks of 1, 2, 3 and 7
//! bytes, split in two at every offset, and through `DecodeStream`.

use std::path::{Path, PathBuf};

use bytes::Bytes;
use futures_util::{stream, StreamExt};
use serde_json::Value;
use ssewire::{DecodeStream, Decoder};

/// What one dispatched event looked like to a client.
#[derive(Debug, Clone, PartialEq)]
struct Seen {
    event_type: String,
    data: String,
    /// The last event ID at dispatch.
    id: String,
    /// The latest reconnection time seen so far, in ms.
    retry: Option<u64>,
}

struct Case {
    name: String,
    input: Vec<u8>,
    expected: Vec<serde_json::Map<String, Value>>,
}

fn vectors_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/wpt");
    assert!(
        dir.join("INDEX").is_file(),
        "conformance vectors missing: expected {} (tests/data/wpt in the repository)",
        dir.display()
    );
    dir
}

fn cases() -> Vec<Case> {
    let dir = vectors_dir();
    let index = std::fs::read_to_string(dir.join("INDEX")).expect("read INDEX");
    let cases: Vec<Case> = index
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|name| {
            let input = std::fs::read(dir.join(format!("{name}.sse")))
                .unwrap_or_else(|e| panic!("{name}.sse: {e}"));
            let expected = std::fs::read_to_string(dir.join(format!("{name}.expected.jsonl")))
                .unwrap_or_else(|e| panic!("{name}.expected.jsonl: {e}"))
                .lines()
                .filter(|l| !l.trim().is_empty())
                .map(|l| match serde_json::from_str::<Value>(l) {
                    Ok(Value::Object(map)) => map,
                    other => panic!("{name}: bad expected line {l:?}: {other:?}"),
                })
                .collect();
            Case {
                name: name.to_owned(),
                input,
                expected,
            }
        })
        .collect();
    assert!(cases.len() >= 26, "only {} cases in INDEX", cases.len());
    cases
}

fn decode_chunked<'a>(chunks: impl IntoIterator<Item = &'a [u8]>) -> Vec<Seen> {
    let mut decoder = Decoder::new();
    let mut seen = Vec::new();
    for chunk in chunks {
        decoder.feed(Bytes::copy_from_slice(chunk));
        while let Some(event) = decoder.next_event().expect("no limit is near") {
            seen.push(Seen {
                event_type: event.event_type().to_owned(),
                data: event.data().to_owned(),
                id: event.last_event_id().to_owned(),
                retry: decoder
                    .reconnection_time()
                    .map(|d| u64::try_from(d.as_millis()).unwrap()),
            });
        }
    }
    seen
}

fn check(case: &Case, how: &str, seen: &[Seen]) {
    let name = &case.name;
    assert_eq!(
        seen.len(),
        case.expected.len(),
        "{name} ({how}): got {seen:#?}, expected {:#?}",
        case.expected
    );
    for (i, (got, want)) in seen.iter().zip(&case.expected).enumerate() {
        for (key, value) in want {
            let ok = match key.as_str() {
                "type" => value.as_str() == Some(got.event_type.as_str()),
                "data" => value.as_str() == Some(got.data.as_str()),
                "id" => value.as_str() == Some(got.id.as_str()),
                "retry" => value.as_u64() == got.retry,
                other => panic!("{name}: unknown key {other:?} in the expected events"),
            };
            assert!(
                ok,
                "{name} ({how}), event {i}: {key} is {got:?}, expected {value}"
            );
        }
    }
}

#[test]
fn every_vector_whole_and_in_small_chunks() {
    for case in cases() {
        check(&case, "whole", &decode_chunked([&case.input[..]]));
        for size in [1, 2, 3, 7] {
            check(
                &case,
                &format!("chunks of {size}"),
                &decode_chunked(case.input.chunks(size)),
            );
        }
    }
}

#[test]
fn every_vector_split_in_two_at_every_offset() {
    for case in cases() {
        let whole = decode_chunked([&case.input[..]]);
        for at in 0..=case.input.len() {
            let (a, b) = case.input.split_at(at);
            assert_eq!(
                decode_chunked([a, b]),
                whole,
                "{}: split at {at}",
                case.name
            );
        }
    }
}

#[tokio::test]
async fn every_vector_through_the_stream_adapter() {
    for case in cases() {
        let chunks: Vec<Result<Bytes, std::io::Error>> = case
            .input
            .chunks(3)
            .map(|c| Ok(Bytes::copy_from_slice(c)))
            .collect();
        let events: Vec<Seen> = DecodeStream::new(stream::iter(chunks))
            .map(|r| {
                let e = r.expect("no error");
                Seen {
                    event_type: e.event_type().to_owned(),
                    data: e.data().to_owned(),
                    id: e.last_event_id().to_owned(),
                    retry: None,
                }
            })
            .collect()
            .await;
        let mut expected_no_retry = decode_chunked([&case.input[..]]);
        for e in &mut expected_no_retry {
            e.retry = None;
        }
        assert_eq!(events, expected_no_retry, "{}", case.name);
        // And the independent expectations (without the retry key).
        let seen_without_retry_check = Case {
            name: case.name.clone(),
            input: Vec::new(),
            expected: case
                .expected
                .iter()
                .map(|m| {
                    let mut m = m.clone();
                    m.remove("retry");
                    m
                })
                .collect(),
        };
        check(&seen_without_retry_check, "stream", &events);
    }
}
