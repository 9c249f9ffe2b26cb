//! Shared by `tests/decode_differential.rs` and the fuzz target
//! (`fuzz/fuzz_targets/decode.rs`): a naive reference decoder written line by line
//! from the WHATWG algorithm, and a driver that feeds `ssewire::Decoder` in chunks
//! while checking its memory bound.
#![allow(dead_code)]

use bytes::Bytes;
use ssewire::{DecodeError, Decoded, Decoder};

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

/// The reference: decode the whole stream as UTF-8 first (U+FFFD for invalid bytes,
/// one leading BOM removed), split it into lines, interpret every line. Slow and
/// obvious on purpose; it shares no code with the crate.
pub fn reference(input: &[u8]) -> Vec<Item> {
    let text = String::from_utf8_lossy(input);
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);

    let mut lines = Vec::new();
    let mut line = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\r' => {
                if chars.peek() == Some(&'\n') {
                    chars.next();
                }
                lines.push(std::mem::take(&mut line));
            }
            '\n' => lines.push(std::mem::take(&mut line)),
            c => line.push(c),
        }
    }
    // `line` holds an unterminated last line: discarded with its event.

    let mut out = Vec::new();
    let (mut data, mut event_type, mut id_buffer) = (String::new(), String::new(), String::new());
    for line in lines {
        if line.is_empty() {
            // Dispatch: the last event ID string becomes the buffer's value.
            if data.is_empty() {
                event_type.clear();
                continue;
            }
            if data.ends_with('\n') {
                data.pop();
            }
            out.push(Item::Event {
                event_type: if event_type.is_empty() {
                    "message".to_owned()
                } else {
                    std::mem::take(&mut event_type)
                },
                data: std::mem::take(&mut data),
                last_event_id: id_buffer.clone(),
            });
            continue;
        }
        if let Some(comment) = line.strip_prefix(':') {
            out.push(Item::Comment(
                comment.strip_prefix(' ').unwrap_or(comment).to_owned(),
            ));
            continue;
        }
        let (name, value) = match line.find(':') {
            Some(i) => (&line[..i], &line[i + 1..]),
            None => (&line[..], ""),
        };
        let value = value.strip_prefix(' ').unwrap_or(value);
        match name {
            "data" => {
                data.push_str(value);
                data.push('\n');
            }
            "event" => event_type = value.to_owned(),
            "id" if !value.contains('\0') => id_buffer = value.to_owned(),
            "retry" if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) => {
                // Values past u64 are ignored, as in browsers.
                if let Ok(ms) = value.parse::<u64>() {
                    out.push(Item::ReconnectionTime(ms));
                }
            }
            _ => {}
        }
    }
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
