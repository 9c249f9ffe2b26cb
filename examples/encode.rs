//! Encodes events described as JSON lines into the SSE wire format.
//!
//! ```text
//! $ printf '%s\n' '{"event":"tick","id":"1","data":"12:00"}' '{"data":"a\nb","retry":3000}' \
//!     | cargo run --example encode
//! event: tick
//! id: 1
//! data: 12:00
//!
//! retry: 3000
//! data: a
//! data: b
//!
//! ```
//!
//! Each line of standard input is a JSON object describing one event, with these
//! optional keys:
//!
//! | key | JSON type | field |
//! |---|---|---|
//! | `"data"` | string | `data:` lines (`""` is empty data; no key, no data) |
//! | `"event"` | string | `event:` |
//! | `"id"` | string | `id:` (`""` resets the client's last event id) |
//! | `"retry"` | integer, milliseconds | `retry:` (clamped to 2,147,483,647, the most JavaScript clients honour) |
//! | `"comment"` | string | `:` lines |
//!
//! The event's wire bytes go to standard output. A line that does not describe a valid
//! event (malformed JSON, not an object, an unknown or repeated key, a value of the
//! wrong type, an event type or id the wire format cannot carry) writes nothing to
//! standard output; its first problem goes to standard error as
//! `line N: ...`, naming the field, and the next lines are processed as usual. Blank
//! lines are skipped (and counted).
//!
//! Exit status: 0 if every line was encoded, 1 if any line failed, 2 if reading
//! standard input or writing standard output failed.

use std::io::{self, BufRead, BufReader, BufWriter, Read, Write};
use std::process::ExitCode;
use std::time::Duration;

use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::Value;
use ssewire::Event;

fn main() -> ExitCode {
    // Our own buffer, so we can see without blocking whether another whole line is
    // already waiting (see `run`).
    let mut input = BufReader::with_capacity(64 * 1024, io::stdin());
    let mut output = BufWriter::with_capacity(64 * 1024, io::stdout().lock());
    match run(&mut input, &mut output, &mut io::stderr().lock()) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(err) => {
            eprintln!("encode: {err}");
            ExitCode::from(2)
        }
    }
}

/// Encodes every line of `input`; returns whether all of them were valid.
fn run<R: Read>(
    input: &mut BufReader<R>,
    output: &mut impl Write,
    errors: &mut impl Write,
) -> io::Result<bool> {
    let mut all_ok = true;
    let mut line = Vec::new();
    let mut number = 0u64;
    loop {
        line.clear();
        if input.read_until(b'\n', &mut line)? == 0 {
            break;
        }
        number += 1;
        if !line.iter().all(u8::is_ascii_whitespace) {
            match event_from_json(&line) {
                Ok(event) => output.write_all(event.encode().as_ref())?,
                Err(message) => {
                    all_ok = false;
                    // Keep stdout and stderr in step for someone watching both.
                    output.flush()?;
                    writeln!(errors, "line {number}: {message}")?;
                }
            }
        }
        // Write out before the next read could block, so that interactive use sees
        // each event at once while piped input is written in large blocks.
        if !input.buffer().contains(&b'\n') {
            output.flush()?;
        }
    }
    output.flush()?;
    Ok(all_ok)
}

/// The keys of one input line, in order, with duplicates kept (so they can be
/// reported instead of silently overwriting each other).
struct Object(Vec<(String, Value)>);

impl<'de> Deserialize<'de> for Object {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ObjectVisitor;
        impl<'de> Visitor<'de> for ObjectVisitor {
            type Value = Object;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON object describing one event")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Object, A::Error> {
                let mut entries = Vec::new();
                while let Some(entry) = map.next_entry::<String, Value>()? {
                    entries.push(entry);
                }
                Ok(Object(entries))
            }
        }
        deserializer.deserialize_map(ObjectVisitor)
    }
}

const KEYS: [&str; 5] = ["data", "event", "id", "retry", "comment"];

/// Builds the event a line describes, or says what is wrong with it.
fn event_from_json(line: &[u8]) -> Result<Event, String> {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    // Parsed twice: first as any JSON, for syntax errors and the top-level type, then
    // as the object's entries in order, to catch repeated keys.
    let value: Value = serde_json::from_slice(line).map_err(json_error)?;
    if !value.is_object() {
        return Err(format!(
            "expected a JSON object describing one event, found {}",
            describe(&value)
        ));
    }
    let Object(entries) = serde_json::from_slice(line).map_err(json_error)?;

    let mut fields: [Option<&Value>; 5] = [None; 5];
    for (key, value) in &entries {
        let Some(slot) = KEYS.iter().position(|k| k == key) else {
            return Err(format!(
                "unknown key {key:?} (the keys are \"data\", \"event\", \"id\", \"retry\" and \"comment\")"
            ));
        };
        if fields[slot].replace(value).is_some() {
            return Err(format!("{key}: the key appears more than once"));
        }
    }
    let [data, event_type, id, retry, comment] = fields;

    let data = data.map(|v| string("data", v)).transpose()?;
    let event_type = event_type.map(|v| string("event", v)).transpose()?;
    let id = id.map(|v| string("id", v)).transpose()?;
    let retry = retry.map(milliseconds).transpose()?;
    let comment = comment.map(|v| string("comment", v)).transpose()?;

    // `event`, `id` and `retry` first, so the event is encoded with one allocation.
    let mut event = Event::new();
    if let Some(event_type) = event_type {
        event = event.try_event(event_type).map_err(|e| e.to_string())?;
    }
    if let Some(id) = id {
        event = event.try_id(id).map_err(|e| e.to_string())?;
    }
    if let Some(retry) = retry {
        event = event.retry(retry);
    }
    if let Some(comment) = comment {
        event = event.comment(comment);
    }
    if let Some(data) = data {
        event = event.data(data);
    }
    Ok(event)
}

fn string<'a>(key: &str, value: &'a Value) -> Result<&'a str, String> {
    value
        .as_str()
        .ok_or_else(|| format!("{key}: expected a string, found {}", describe(value)))
}

fn milliseconds(value: &Value) -> Result<Duration, String> {
    match value {
        Value::Number(n) => match n.as_u64() {
            Some(ms) => Ok(Duration::from_millis(ms)),
            None if n.as_i64().is_some() => Err(format!("retry: must not be negative, found {n}")),
            None => Err(format!(
                "retry: expected a whole number of milliseconds from 0 to {}, found {n}",
                u64::MAX
            )),
        },
        other => Err(format!(
            "retry: expected a whole number of milliseconds, found {}",
            describe(other)
        )),
    }
}

/// A short description of a JSON value for error messages.
fn describe(value: &Value) -> String {
    let kind = match value {
        Value::Null => return "null".into(),
        Value::Bool(b) => return format!("boolean {b}"),
        Value::Number(n) => return format!("number {n}"),
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    };
    let mut text = value.to_string();
    if text.chars().count() > 40 {
        text = text.chars().take(37).collect::<String>() + "...";
    }
    format!("{kind} {text}")
}

/// A JSON syntax error, with the column (the line number is ours).
fn json_error(err: serde_json::Error) -> String {
    let full = err.to_string();
    let suffix = format!(" at line {} column {}", err.line(), err.column());
    let message = full.strip_suffix(&suffix).unwrap_or(&full);
    format!("malformed JSON at column {}: {message}", err.column())
}
