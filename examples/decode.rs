//! Reads a `text/event-stream` from stdin and writes one JSON line per dispatched
//! event to stdout:
//!
//! ```text
//! {"type":"message","data":"hello","id":"","retry":null}
//! ```
//!
//! `id` is the last event ID when the event was dispatched (`""` if none) and `retry`
//! the latest reconnection time in ms seen so far in the stream (`null` if none).
//!
//! ```text
//! printf 'retry: 3000\nid: 1\ndata: a\ndata: b\n\n' | cargo run --example decode
//! curl -sN http://127.0.0.1:3000/events | cargo run --example decode
//! cargo run --example decode -- --max-event-size 65536 < capture.sse
//! ```
//!
//! Options: `--max-event-size BYTES`, `--max-line-size BYTES`. A limit crossed is
//! reported on stderr (the event is skipped) and makes the exit status 1.

use std::io::{self, BufWriter, Read, Write};
use std::process::ExitCode;

use bytes::BytesMut;
use serde::Serialize;
use ssewire::Decoder;

#[derive(Serialize)]
struct Line<'a> {
    #[serde(rename = "type")]
    event_type: &'a str,
    data: &'a str,
    id: &'a str,
    retry: Option<u128>,
}

fn main() -> ExitCode {
    let mut decoder = Decoder::new();
    // args_os: an argument that is not UTF-8 is a usage error, not a panic.
    let mut args = std::env::args_os()
        .skip(1)
        .map(|arg| arg.into_string().ok());
    while let Some(arg) = args.next() {
        let value = args.next().flatten().and_then(|v| v.parse::<usize>().ok());
        match (arg.as_deref().unwrap_or(""), value) {
            ("--max-event-size", Some(n)) => decoder = decoder.with_max_event_size(n),
            ("--max-line-size", Some(n)) => decoder = decoder.with_max_line_size(n),
            _ => {
                eprintln!(
                    "usage: decode [--max-event-size BYTES] [--max-line-size BYTES] < stream"
                );
                return ExitCode::from(2);
            }
        }
    }
    match run(decoder) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(err) if err.kind() == io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("decode: {err}");
            ExitCode::FAILURE
        }
    }
}

/// Decodes stdin to stdout; `Ok(false)` if a limit was crossed.
fn run(mut decoder: Decoder) -> io::Result<bool> {
    let mut stdin = io::stdin().lock();
    let mut out = BufWriter::new(io::stdout().lock());
    let mut all_ok = true;
    let mut buf = BytesMut::new();
    loop {
        buf.resize(64 * 1024, 0);
        let n = match stdin.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
            Err(err) => return Err(err),
        };
        buf.truncate(n);
        // Hand the bytes over without a copy; the next read gets a new buffer.
        decoder.feed(buf.split().freeze());
        loop {
            match decoder.next_event() {
                Ok(Some(event)) => {
                    let line = Line {
                        event_type: event.event_type(),
                        data: event.data(),
                        id: event.last_event_id(),
                        retry: decoder.reconnection_time().map(|d| d.as_millis()),
                    };
                    serde_json::to_writer(&mut out, &line)?;
                    out.write_all(b"\n")?;
                }
                Ok(None) => break,
                Err(err) => {
                    eprintln!("decode: {err} (event skipped)");
                    all_ok = false;
                }
            }
        }
        // Interactive use (`curl -N ... | decode`): show events as they arrive.
        out.flush()?;
    }
    out.flush()?;
    Ok(all_ok)
}
