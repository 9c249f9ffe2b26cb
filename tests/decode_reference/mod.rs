//! Shared by `tests/decode_differential.rs` and the fuzz target
//! (`fuzz/fuzz_targets/decode.rs`): the reference decoder (the one WHATWG oracle of
//! `tests/common/spec_parser.rs`, as a list of decoder items), and a driver that feeds `ssewire::Decoder` in chunks
//! while checking its memory bound.
#![allow(dead_code)]

use bytes::Bytes;
use ssewire::{DecodeError, Decoded, Decoder};

#[path = "../common/spec_parser.rs"]
mod spec_parser;

/// What a decoder produced, in a form both decoders can give.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    Event {
        event_type: String,
        data: String,
        last_event_id: String,
    },
    ReconnectionTime(u64),
    Comment(String),
    Error(DecodeError),
}

/// The reference: the crate's one WHATWG oracle, `tests/common/spec_parser.rs`
/// (checked against the web-platform-tests vectors in `tests/event_props.rs`), read
/// back as the items a decoder yields: per block, its comments (one leading space
/// removed) and valid `retry` values in line order, then the event it fired. Lines
/// after the last blank line still give their comments and retries; an unterminated
/// last line gives nothing. Slow and obvious on purpose; it shares no code with the
/// crate.
pub fn reference(input: &[u8]) -> Vec<Item> {
    let parsed = spec_parser::parse(input);
    let mut out = Vec::new();
    fn lines_of(lines: &[spec_parser::Line], out: &mut Vec<Item>) {
        for line in lines {
            match line {
                spec_parser::Line::Comment(comment) => out.push(Item::Comment(
                    comment.strip_prefix(' ').unwrap_or(comment).to_owned(),
                )),
                spec_parser::Line::Field(name, value)
                    if name == "retry"
                        && !value.is_empty()
                        && value.bytes().all(|b| b.is_ascii_digit()) =>
                {
                    // Values past u64 are ignored, as in browsers.
                    if let Ok(ms) = value.parse::<u64>() {
                        out.push(Item::ReconnectionTime(ms));
                    }
                }
                spec_parser::Line::Field(..) => {}
            }
        }
    }
    for block in &parsed.blocks {
        lines_of(&block.lines, &mut out);
        if let Some(event) = &block.fired {
            out.push(Item::Event {
                event_type: event.event_type.clone(),
                data: event.data.clone(),
                last_event_id: event.last_event_id.clone(),
            });
        }
    }
    lines_of(&parsed.discarded, &mut out);
    out
}

/// Runs `decoder` over `input` fed in pieces of the given sizes (cycled), checking
/// after each piece that the decoder holds no more than its limits allow.
pub fn run(mut decoder: Decoder, input: &[u8], sizes: &[usize]) -> Vec<Item> {
    let bound = decoder.max_line_size() + decoder.max_event_size();
    let mut out = Vec::new();
    let mut at = 0;
    let mut i = 0;
    while at < input.len() {
        let n = sizes[i % sizes.len()].clamp(1, input.len() - at);
        i += 1;
        decoder.feed(Bytes::copy_from_slice(&input[at..at + n]));
        at += n;
        loop {
            match decoder.next_decoded() {
                Ok(Some(Decoded::Event(e))) => out.push(Item::Event {
                    event_type: e.event_type().to_owned(),
                    data: e.data().to_owned(),
                    last_event_id: e.last_event_id().to_owned(),
                }),
                Ok(Some(Decoded::ReconnectionTime(d))) => out.push(Item::ReconnectionTime(
                    u64::try_from(d.as_millis()).unwrap(),
                )),
                Ok(Some(Decoded::Comment(c))) => out.push(Item::Comment(c)),
                Ok(Some(other)) => panic!("unexpected {other:?}"),
                Ok(None) => break,
                Err(err) => out.push(Item::Error(err)),
            }
        }
        assert!(
            decoder.buffered_len() <= bound,
            "holds {} bytes, limits {bound}",
            decoder.buffered_len()
        );
    }
    out
}
