//! The interpretation of complete lines (WHATWG "interpreting an event stream"):
//! fields, the event being read, dispatch, and the stream's last event ID and
//! reconnection time.

use std::time::Duration;

use super::error::DecodeError;
use super::lines::{Line, Value};
use super::message::MessageEvent;
use super::text::{Label, Text};

/// The data buffer of the event being read.
#[derive(Default)]
enum Data {
    /// No `data:` field yet: a blank line dispatches nothing.
    #[default]
    None,
    /// One `data:` value: a slice of the chunk, or the text of a line that spanned
    /// chunks (see [`Line::into_value`]).
    One(Value),
    /// Several values joined with LF; `ascii`: all of them are known to be ASCII.
    Many { buf: Vec<u8>, ascii: bool },
}

impl Data {
    #[inline]
    fn len(&self) -> usize {
        match self {
            Data::None => 0,
            Data::One(value) => value.as_bytes().len(),
            Data::Many { buf, .. } => buf.len(),
        }
    }
}

/// What a line did, from [`Parser::line`]. Small on purpose: the event itself is
/// built by [`Parser::take_event`] right where it is returned, so that it is written
/// once, in place, instead of being moved through every layer (a 100-byte value moved
/// just after it was written costs more than building it).
pub(super) enum Step {
    /// Nothing to hand out.
    Nothing,
    /// A blank line ended an event with data: take it with [`Parser::take_event`].
    Event,
    /// A valid `retry` field (only when asked for).
    ReconnectionTime(Duration),
    /// A comment (only when asked for).
    Comment(String),
}

/// The event being read and the stream's state.
pub(super) struct Parser {
    max_event: usize,
    data: Data,
    /// Data length of the last event with several `data` lines: the room reserved
    /// when the next one starts, so that it is built without regrowing.
    data_hint: usize,
    /// Empty when no `event` field was read (or it was empty).
    event_type: Label,
    /// Dropping lines up to the next blank line, after an error.
    skip_event: bool,
    /// An `id` read since the last dispatch: the last event ID from the next one on.
    pending_id: Option<Label>,
    last_event_id: Label,
    reconnection_time: Option<Duration>,
}

impl Parser {
    pub(super) fn new(max_event: usize) -> Parser {
        Parser {
            max_event,
            data: Data::None,
            data_hint: 0,
            event_type: Label::EMPTY,
            skip_event: false,
            pending_id: None,
            last_event_id: Label::EMPTY,
            reconnection_time: None,
        }
    }

    pub(super) fn max_event(&self) -> usize {
        self.max_event
    }

    pub(super) fn set_max_event(&mut self, limit: usize) {
        self.max_event = limit;
    }

    pub(super) fn last_event_id(&self) -> &str {
        self.last_event_id.as_str()
    }

    pub(super) fn set_last_event_id(&mut self, id: String) {
        self.last_event_id = Label::from_string(id);
        self.pending_id = None;
    }

    pub(super) fn reconnection_time(&self) -> Option<Duration> {
        self.reconnection_time
    }

    /// Whether the rest of the event is being skipped (after an error).
    #[inline]
    pub(super) fn is_skipping(&self) -> bool {
        self.skip_event
    }

    /// Bytes of the event being read: its data and type.
    pub(super) fn buffered_len(&self) -> usize {
        self.data.len() + self.event_type_len()
    }

    #[inline]
    fn event_type_len(&self) -> usize {
        self.event_type.as_bytes().len()
    }

    /// Forgets the event being read (a new stream); keeps the last event ID and the
    /// reconnection time.
    pub(super) fn reset(&mut self) {
        self.data = Data::None;
        self.event_type = Label::EMPTY;
        self.skip_event = false;
        self.pending_id = None;
    }

    /// Drops the event being read and skips lines up to the next blank line.
    pub(super) fn start_skipping(&mut self) {
        self.data = Data::None;
        self.event_type = Label::EMPTY;
        self.skip_event = true;
    }

    /// Interprets one complete line. `all`: also return comments and reconnection
    /// times (else they are applied and skipped).
    #[inline]
    pub(super) fn line(&mut self, line: Line<'_>, all: bool) -> Result<Step, DecodeError> {
        let bytes = line.bytes();
        let Some(&first) = bytes.first() else {
            return Ok(self.dispatch());
        };
        // While an event is skipped (after an error), its `id` and `retry` still count:
        // they cost no memory, and a client that lost the id would ask the server to
        // replay the very event it cannot take, again and again.
        if self.skip_event && first != b'i' && first != b'r' {
            return Ok(Step::Nothing);
        }
        match first {
            b'd' => {
                if let Some(v) = value_start(bytes, b"data") {
                    self.push_data(line, v)?;
                }
            }
            b'e' => {
                if let Some(v) = value_start(bytes, b"event") {
                    let offset = line.offset;
                    let event_type = line.into_label(v);
                    // What is kept counts: invalid UTF-8 has become U+FFFD (3 bytes).
                    if self.data.len() + event_type.as_bytes().len() > self.max_event {
                        self.start_skipping();
                        return Err(DecodeError::EventTooLarge {
                            limit: self.max_event,
                            offset,
                        });
                    }
                    self.event_type = event_type;
                }
            }
            b'i' => {
                if let Some(v) = value_start(bytes, b"id") {
                    if !has_nul(&bytes[v..]) {
                        self.pending_id = Some(line.into_label(v));
                    }
                }
            }
            b'r' => {
                if let Some(v) = value_start(bytes, b"retry") {
                    if let Some(ms) = parse_retry(&bytes[v..]) {
                        let time = Duration::from_millis(ms);
                        self.reconnection_time = Some(time);
                        if all {
                            return Ok(Step::ReconnectionTime(time));
                        }
                    }
                }
            }
            b':' if all => {
                let text = bytes[1..].strip_prefix(b" ").unwrap_or(&bytes[1..]);
                return Ok(Step::Comment(String::from_utf8_lossy(text).into_owned()));
            }
            _ => {}
        }
        Ok(Step::Nothing)
    }

    /// Adds the value of a `data` line, from `value_start` in the line.
    #[inline]
    fn push_data(&mut self, line: Line<'_>, value_start: usize) -> Result<(), DecodeError> {
        let value_len = line.end - line.start - value_start;
        let new_len = match &self.data {
            Data::None => value_len,
            data => data.len() + 1 + value_len,
        };
        if new_len + self.event_type_len() > self.max_event {
            self.start_skipping();
            return Err(DecodeError::EventTooLarge {
                limit: self.max_event,
                offset: line.offset,
            });
        }
        match &mut self.data {
            // Appended in place: the common case of a multi-line event.
            Data::Many { buf, ascii } => {
                let value = &line.bytes()[value_start..];
                buf.reserve(1 + value.len());
                buf.push(b'\n');
                buf.extend_from_slice(value);
                *ascii &= line.ascii;
            }
            Data::None => self.data = Data::One(line.into_value(value_start)),
            Data::One(first) => {
                let mut buf = Vec::with_capacity((2 * new_len).max(self.data_hint));
                buf.extend_from_slice(first.as_bytes());
                buf.push(b'\n');
                buf.extend_from_slice(&line.bytes()[value_start..]);
                let ascii = line.ascii && matches!(first, Value::Slice { ascii: true, .. });
                self.data = Data::Many { buf, ascii };
            }
        }
        Ok(())
    }

    /// A blank line: ends the event; [`Step::Event`] if it has data (then take it with
    /// [`Parser::take_event`]), else it is forgotten.
    #[inline]
    fn dispatch(&mut self) -> Step {
        if let Some(id) = self.pending_id.take() {
            self.last_event_id = id;
        }
        if self.skip_event || matches!(self.data, Data::None) {
            self.skip_event = false;
            self.data = Data::None;
            self.event_type = Label::EMPTY;
            return Step::Nothing;
        }
        Step::Event
    }

    /// The event that [`Step::Event`] announced; the parser starts a new one.
    #[inline(always)]
    pub(super) fn take_event(&mut self) -> MessageEvent {
        let data = match std::mem::take(&mut self.data) {
            Data::One(value) => value.into_text(),
            Data::Many { buf, ascii } => {
                self.data_hint = buf.len();
                Text::assembled(buf, ascii)
            }
            // Not after `Step::Event`; an empty event rather than a panic.
            Data::None => Text::default(),
        };
        MessageEvent::new(
            std::mem::replace(&mut self.event_type, Label::EMPTY),
            data,
            self.last_event_id.clone(),
        )
    }
}

/// Where the value starts in `line` if its field name is `name`: after the colon and
/// one space, or at the end for a line without a colon.
#[inline]
fn value_start(line: &[u8], name: &[u8]) -> Option<usize> {
    if !line.starts_with(name) {
        return None;
    }
    match line.get(name.len()) {
        None => Some(line.len()),
        Some(b':') => Some(name.len() + 1 + usize::from(line.get(name.len() + 1) == Some(&b' '))),
        Some(_) => None,
    }
}

/// Whether an `id` value holds NUL (then the field is ignored). Ids are short: a
/// branch-free pass over them costs less than setting up `memchr`.
#[inline]
fn has_nul(value: &[u8]) -> bool {
    if value.len() > 64 {
        return value.contains(&0);
    }
    value.iter().fold(false, |nul, &b| nul | (b == 0))
}

/// A `retry` value: base-ten ASCII digits only, not empty, fitting in `u64`.
fn parse_retry(value: &[u8]) -> Option<u64> {
    if value.is_empty() {
        return None;
    }
    value.iter().try_fold(0u64, |n, &b| {
        if b.is_ascii_digit() {
            n.checked_mul(10)?.checked_add(u64::from(b - b'0'))
        } else {
            None
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn value_start_rules() {
        assert_eq!(value_start(b"data: x", b"data"), Some(6));
        assert_eq!(value_start(b"data:x", b"data"), Some(5));
        assert_eq!(value_start(b"data:  x", b"data"), Some(6));
        assert_eq!(value_start(b"data", b"data"), Some(4));
        assert_eq!(value_start(b"data ", b"data"), None);
        assert_eq!(value_start(b"datum", b"data"), None);
        assert_eq!(value_start(b"dat", b"data"), None);
    }

    #[test]
    fn nul_in_short_and_long_ids() {
        for len in [0, 1, 5, 22, 64, 65, 300] {
            let mut id = vec![b'7'; len];
            assert!(!has_nul(&id), "len {len}");
            for at in [0, len / 2, len.saturating_sub(1)] {
                if len > 0 {
                    id[at] = 0;
                    assert!(has_nul(&id), "len {len}, NUL at {at}");
                    id[at] = b'7';
                }
            }
        }
    }

    #[test]
    fn retry_parsing() {
        assert_eq!(parse_retry(b"03000"), Some(3000));
        assert_eq!(parse_retry(b""), None);
        assert_eq!(parse_retry(b" 1"), None);
        assert_eq!(parse_retry(b"1.5"), None);
        assert_eq!(parse_retry(b"18446744073709551615"), Some(u64::MAX));
        assert_eq!(parse_retry(b"18446744073709551616"), None);
    }
}
