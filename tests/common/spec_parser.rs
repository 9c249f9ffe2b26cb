//! A reference parser for `text/event-stream`, written straight from the WHATWG HTML
//! Living Standard, section 9.2.5 "Parsing an event stream" and 9.2.6 "Interpreting an
//! event stream". It is deliberately simple and slow: it is the oracle the encoder's
//! tests compare against, so it shares no code with the crate.
//!
//! On top of what a browser exposes (dispatched events, the last event ID, the
//! reconnection time) it records, per block, every line it saw in order, so tests can
//! check comments, field order and that the encoder never writes a field a client
//! would ignore.

/// One event as a page's listener would receive it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageEvent {
    /// The event's type: the `event` buffer, or `message` when it was empty.
    pub event_type: String,
    /// The data buffer with its one trailing LF removed.
    pub data: String,
    /// The event source's last event ID string at dispatch.
    pub last_event_id: String,
}

/// One line of a block, as the parser classified it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Line {
    /// A line that starts with `:`; holds everything after the colon.
    Comment(String),
    /// A field line: name and value (one leading space already removed).
    Field(String, String),
}

impl Line {
    /// The field name, or `":"` for a comment.
    pub fn name(&self) -> &str {
        match self {
            Line::Comment(_) => ":",
            Line::Field(name, _) => name,
        }
    }
}

/// What one blank line (one dispatch) left behind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Block {
    /// The lines of the block, in order (the blank line itself excluded).
    pub lines: Vec<Line>,
    /// The event fired by the dispatch, if the data buffer was not empty.
    pub fired: Option<MessageEvent>,
    /// The event source's last event ID string after the dispatch.
    pub last_event_id: String,
    /// The event source's reconnection time after the block, if ever set.
    pub reconnection_time: Option<u128>,
    /// Fields the algorithm ignores (unknown names, `id` with NUL, bad `retry`).
    pub ignored: Vec<Line>,
}

/// The result of parsing a whole stream.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Parsed {
    /// One entry per blank line, in order.
    pub blocks: Vec<Block>,
    /// Lines after the last blank line: an incomplete event, discarded at the end.
    pub discarded: Vec<Line>,
    /// Whether the stream ended in the middle of a line (text after the last line end).
    pub unterminated_line: Option<String>,
}

impl Parsed {
    /// Only the events a page would see.
    pub fn events(&self) -> Vec<MessageEvent> {
        self.blocks.iter().filter_map(|b| b.fired.clone()).collect()
    }
}

/// The UTF-8 decode algorithm of the Encoding Standard: one leading BOM removed, and
/// every maximal invalid subsequence replaced by U+FFFD (which is what
/// `String::from_utf8_lossy` does).
fn utf8_decode(bytes: &[u8]) -> String {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    String::from_utf8_lossy(bytes).into_owned()
}

/// Splits the decoded stream into lines: CRLF, a lone LF or a lone CR ends a line.
/// Returns the complete lines and the text after the last line end.
fn split_lines(text: &str) -> (Vec<String>, String) {
    let mut lines = Vec::new();
    let mut current = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\r' => {
                if chars.peek() == Some(&'\n') {
                    chars.next();
                }
                lines.push(std::mem::take(&mut current));
            }
            '\n' => lines.push(std::mem::take(&mut current)),
            c => current.push(c),
        }
    }
    (lines, current)
}

/// Parses a whole event stream, as an `EventSource` would on one connection.
pub fn parse(bytes: &[u8]) -> Parsed {
    let text = utf8_decode(bytes);
    let (lines, rest) = split_lines(&text);

    let mut out = Parsed::default();
    // The event source's state (its last event ID string is set from the buffer at
    // every dispatch, below).
    let mut reconnection_time: Option<u128> = None;
    // The parser's buffers.
    let mut data = String::new();
    let mut event_type = String::new();
    let mut last_event_id_buffer = String::new();
    let mut block_lines = Vec::new();
    let mut ignored = Vec::new();

    for line in lines {
        if line.is_empty() {
            // Dispatch the event.
            let last_event_id = last_event_id_buffer.clone();
            let fired = if data.is_empty() {
                None
            } else {
                if data.ends_with('\n') {
                    data.pop();
                }
                Some(MessageEvent {
                    event_type: if event_type.is_empty() {
                        "message".to_owned()
                    } else {
                        event_type.clone()
                    },
                    data: data.clone(),
                    last_event_id: last_event_id.clone(),
                })
            };
            data.clear();
            event_type.clear();
            out.blocks.push(Block {
                lines: std::mem::take(&mut block_lines),
                fired,
                last_event_id,
                reconnection_time,
                ignored: std::mem::take(&mut ignored),
            });
            continue;
        }
        if let Some(comment) = line.strip_prefix(':') {
            block_lines.push(Line::Comment(comment.to_owned()));
            continue;
        }
        let (name, value) = match line.find(':') {
            Some(i) => {
                let value = &line[i + 1..];
                (&line[..i], value.strip_prefix(' ').unwrap_or(value))
            }
            None => (line.as_str(), ""),
        };
        let parsed = Line::Field(name.to_owned(), value.to_owned());
        match name {
            "event" => event_type = value.to_owned(),
            "data" => {
                data.push_str(value);
                data.push('\n');
            }
            "id" if !value.contains('\0') => last_event_id_buffer = value.to_owned(),
            "retry" if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) => {
                // Base ten; saturate rather than fail on absurd values.
                reconnection_time = Some(value.parse().unwrap_or(u128::MAX));
            }
            _ => ignored.push(parsed.clone()),
        }
        block_lines.push(parsed);
    }
    out.discarded = block_lines;
    out.unterminated_line = (!rest.is_empty()).then_some(rest);
    out
}

/// Splits text the way the encoder must: at every CRLF, lone CR and lone LF.
pub fn text_lines(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\r' => {
                out.push(&text[start..i]);
                i += if bytes.get(i + 1) == Some(&b'\n') {
                    2
                } else {
                    1
                };
                start = i;
            }
            b'\n' => {
                out.push(&text[start..i]);
                i += 1;
                start = i;
            }
            _ => i += 1,
        }
    }
    out.push(&text[start..]);
    out
}

/// What a client reads back for one piece of data: CRLF and CR become LF.
pub fn normalize_newlines(text: &str) -> String {
    text_lines(text).join("\n")
}
