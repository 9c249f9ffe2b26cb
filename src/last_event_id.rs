//! Reading the `Last-Event-ID` request header that a reconnecting client sends.

use std::fmt;

use http::header::{HeaderMap, HeaderName};

/// The `Last-Event-ID` request header.
///
/// A browser's `EventSource` sends it when it reconnects, carrying the last non-empty
/// event id it received, so the server can resume after that event. Read it with
/// [`last_event_id`], which copes with ids that are not ASCII.
///
/// ```
/// use http::{HeaderMap, HeaderValue};
///
/// let mut headers = HeaderMap::new();
/// headers.insert(ssewire::LAST_EVENT_ID, HeaderValue::from_static("41"));
/// assert_eq!(ssewire::LAST_EVENT_ID.as_str(), "last-event-id");
/// assert_eq!(ssewire::last_event_id(&headers)?.as_deref(), Some("41"));
/// # Ok::<(), ssewire::LastEventIdError>(())
/// ```
pub const LAST_EVENT_ID: HeaderName = HeaderName::from_static("last-event-id");

/// The longest `Last-Event-ID` value, in bytes, that [`last_event_id`] accepts: 1024.
///
/// Event ids are usually short (a counter, a UUID, a cursor); a longer header is more
/// likely to be abuse than a real id. Use [`last_event_id_with_limit`] to choose
/// another limit. (Browsers send cross-origin reconnects with ids over 128 bytes only
/// after a CORS preflight, so keeping ids short pays off anyway.)
///
/// ```
/// assert_eq!(ssewire::DEFAULT_LAST_EVENT_ID_LIMIT, 1024);
/// ```
pub const DEFAULT_LAST_EVENT_ID_LIMIT: usize = 1024;

/// Reads the `Last-Event-ID` header of a request, as UTF-8 text, with the
/// [default length limit](DEFAULT_LAST_EVENT_ID_LIMIT).
///
/// Browsers send an id that is not ASCII as its raw UTF-8 bytes. `http` (rightly)
/// refuses to turn such a header into a `&str` with `HeaderValue::to_str`, so this
/// function decodes the bytes itself.
///
/// Returns:
/// - `Ok(None)` when there is no `Last-Event-ID` header, or when its value is empty.
///   A browser never sends an empty one (it sends the header only when its last event
///   id is not empty), and an empty last event id means "no id" in the SSE model, so
///   both cases mean: start from the beginning.
/// - `Ok(Some(id))` otherwise. The id is exactly the header's bytes, and it is always
///   accepted by [`EventId::new`](crate::EventId::new).
///
/// HTTP parsers drop spaces and tabs at the start and end of a header value, so an
/// event id that starts or ends with whitespace does not come back intact: keep such
/// characters out of ids you want to resume from.
///
/// # Errors
///
/// - [`LastEventIdError::TooLong`] if the value is longer than
///   [`DEFAULT_LAST_EVENT_ID_LIMIT`] bytes.
/// - [`LastEventIdError::InvalidUtf8`] if the value is not UTF-8. Browsers send
///   UTF-8, but not every client does: the npm `eventsource` client (4.1, on Node 20)
///   sends an id with characters up to U+00FF as Latin-1, and cannot send an id with
///   characters beyond that at all.
/// - [`LastEventIdError::ForbiddenChar`] if the value contains NUL, CR or LF. A
///   `HeaderValue` built by safe code or parsed by hyper cannot contain them, but one
///   made with `unsafe` unchecked constructors could, and such a value can never be an
///   event id (a client ignores an `id` field containing NUL).
/// - [`LastEventIdError::Repeated`] if the request has more than one `Last-Event-ID`
///   header. A client sends at most one; with two, picking either could resume from
///   the wrong place, so the caller decides (for example, answer 400 or start over).
///
/// ```
/// use http::{HeaderMap, HeaderValue};
/// use ssewire::{last_event_id, LastEventIdError, LAST_EVENT_ID};
///
/// let mut headers = HeaderMap::new();
/// assert_eq!(last_event_id(&headers)?, None); // first connection
///
/// // "café-7" as a browser sends it: raw UTF-8 bytes.
/// let raw = HeaderValue::from_bytes("café-7".as_bytes()).unwrap();
/// assert!(raw.to_str().is_err());
/// headers.insert(LAST_EVENT_ID, raw);
/// assert_eq!(last_event_id(&headers)?.as_deref(), Some("café-7"));
///
/// // The same id in Latin-1 is not UTF-8.
/// headers.insert(LAST_EVENT_ID, HeaderValue::from_bytes(b"caf\xe9-7").unwrap());
/// let err = last_event_id(&headers).unwrap_err();
/// assert!(matches!(err, LastEventIdError::InvalidUtf8 { offset: 3, .. }));
/// # Ok::<(), LastEventIdError>(())
/// ```
pub fn last_event_id(headers: &HeaderMap) -> Result<Option<String>, LastEventIdError> {
    last_event_id_with_limit(headers, DEFAULT_LAST_EVENT_ID_LIMIT)
}

/// Like [`last_event_id`], with a length limit of `max_len` bytes of your choice.
///
/// The limit applies to the raw value and is checked before the value is decoded.
/// An empty value is `Ok(None)` whatever the limit.
///
/// # Errors
///
/// As [`last_event_id`], with [`LastEventIdError::TooLong`] when the value is longer
/// than `max_len` bytes.
///
/// ```
/// use http::{HeaderMap, HeaderValue};
/// use ssewire::{last_event_id_with_limit, LastEventIdError, LAST_EVENT_ID};
///
/// let mut headers = HeaderMap::new();
/// headers.insert(LAST_EVENT_ID, HeaderValue::from_static("0123456789"));
/// assert_eq!(last_event_id_with_limit(&headers, 10)?.as_deref(), Some("0123456789"));
///
/// let err = last_event_id_with_limit(&headers, 8).unwrap_err();
/// assert!(matches!(err, LastEventIdError::TooLong { len: 10, limit: 8, .. }));
/// assert_eq!(err.to_string(), "Last-Event-ID is 10 bytes long, over the limit of 8 bytes");
/// # Ok::<(), LastEventIdError>(())
/// ```
pub fn last_event_id_with_limit(
    headers: &HeaderMap,
    max_len: usize,
) -> Result<Option<String>, LastEventIdError> {
    let mut values = headers.get_all(LAST_EVENT_ID).iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    let others = values.count();
    if others > 0 {
        return Err(LastEventIdError::Repeated { count: others + 1 });
    }
    decode(value.as_bytes(), max_len)
}

/// Checks and decodes one raw header value.
fn decode(raw: &[u8], max_len: usize) -> Result<Option<String>, LastEventIdError> {
    if raw.is_empty() {
        return Ok(None);
    }
    if raw.len() > max_len {
        return Err(LastEventIdError::TooLong {
            len: raw.len(),
            limit: max_len,
        });
    }
    let text = std::str::from_utf8(raw).map_err(|e| LastEventIdError::InvalidUtf8 {
        offset: e.valid_up_to(),
    })?;
    if let Some(offset) = text.bytes().position(|b| matches!(b, 0 | b'\r' | b'\n')) {
        return Err(LastEventIdError::ForbiddenChar {
            character: char::from(raw[offset]),
            offset,
        });
    }
    Ok(Some(text.to_owned()))
}

/// Why a `Last-Event-ID` header could not be read. See [`last_event_id`].
///
/// Offsets are byte offsets within the header value.
///
/// ```
/// use http::{HeaderMap, HeaderValue};
/// use ssewire::{last_event_id, LastEventIdError, LAST_EVENT_ID};
///
/// let mut headers = HeaderMap::new();
/// headers.append(LAST_EVENT_ID, HeaderValue::from_static("1"));
/// headers.append(LAST_EVENT_ID, HeaderValue::from_static("2"));
/// let err = last_event_id(&headers).unwrap_err();
/// assert!(matches!(err, LastEventIdError::Repeated { count: 2, .. }));
/// assert_eq!(err.to_string(), "2 Last-Event-ID headers in one request; a client sends at most one");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LastEventIdError {
    /// The value is longer than the limit.
    #[error("Last-Event-ID is {len} bytes long, over the limit of {limit} bytes")]
    #[non_exhaustive]
    TooLong {
        /// Length of the value, in bytes.
        len: usize,
        /// The limit, in bytes.
        limit: usize,
    },
    /// The value is not UTF-8.
    #[error("Last-Event-ID is not UTF-8: invalid byte at offset {offset}")]
    #[non_exhaustive]
    InvalidUtf8 {
        /// Offset of the first byte that is not part of valid UTF-8.
        offset: usize,
    },
    /// The value contains NUL, CR or LF, which no event id can contain.
    #[error("Last-Event-ID contains {} at byte {offset}, which no event id can contain", CharName(*.character))]
    #[non_exhaustive]
    ForbiddenChar {
        /// The offending character.
        character: char,
        /// Its byte offset.
        offset: usize,
    },
    /// The request has several `Last-Event-ID` headers.
    #[error("{count} Last-Event-ID headers in one request; a client sends at most one")]
    #[non_exhaustive]
    Repeated {
        /// How many.
        count: usize,
    },
}

struct CharName(char);

impl fmt::Display for CharName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            '\0' => f.write_str("NUL (U+0000)"),
            '\r' => f.write_str("carriage return (U+000D)"),
            '\n' => f.write_str("line feed (U+000A)"),
            c => write!(f, "{c:?} (U+{:04X})", u32::from(c)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn with(value: &[u8]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(LAST_EVENT_ID, HeaderValue::from_bytes(value).unwrap());
        headers
    }

    #[test]
    fn missing_header_is_none() {
        assert_eq!(last_event_id(&HeaderMap::new()), Ok(None));
    }

    #[test]
    fn empty_value_is_none() {
        assert_eq!(last_event_id(&with(b"")), Ok(None));
        assert_eq!(last_event_id_with_limit(&with(b""), 0), Ok(None));
    }

    #[test]
    fn header_name_is_case_insensitive_on_the_wire() {
        let mut headers = HeaderMap::new();
        let name = HeaderName::from_bytes(b"Last-Event-ID").unwrap();
        headers.insert(name, HeaderValue::from_static("x"));
        assert_eq!(last_event_id(&headers), Ok(Some("x".to_owned())));
    }

    #[test]
    fn ascii_and_utf8_ids() {
        assert_eq!(last_event_id(&with(b"42")), Ok(Some("42".into())));
        let ids = ["café", "日本語", "👩‍👩‍👧", "\u{feff}bom", "tab\there", "a b"];
        for id in ids {
            assert_eq!(
                last_event_id(&with(id.as_bytes())),
                Ok(Some(id.to_owned())),
                "{id:?}"
            );
        }
    }

    #[test]
    fn obs_text_and_del_are_kept() {
        // DEL is allowed in an SSE id; http refuses it in a header value, so check
        // the decoder directly.
        assert_eq!(decode(b"a\x7fb", 10), Ok(Some("a\u{7f}b".into())));
    }

    #[test]
    fn invalid_utf8_names_the_offset() {
        assert_eq!(
            last_event_id(&with(b"caf\xe9")),
            Err(LastEventIdError::InvalidUtf8 { offset: 3 })
        );
        // A truncated multi-byte sequence at the end.
        assert_eq!(
            last_event_id(&with(b"ab\xe6\x97")),
            Err(LastEventIdError::InvalidUtf8 { offset: 2 })
        );
        assert_eq!(
            last_event_id(&with(b"\xff")),
            Err(LastEventIdError::InvalidUtf8 { offset: 0 })
        );
        let err = last_event_id(&with(b"caf\xe9")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Last-Event-ID is not UTF-8: invalid byte at offset 3"
        );
    }

    #[test]
    fn length_limit_is_in_bytes_and_inclusive() {
        let at = "é".repeat(512); // 1024 bytes, 512 chars
        assert_eq!(last_event_id(&with(at.as_bytes())), Ok(Some(at.clone())));
        let over = format!("{at}x");
        assert_eq!(
            last_event_id(&with(over.as_bytes())),
            Err(LastEventIdError::TooLong {
                len: 1025,
                limit: 1024
            })
        );
        assert_eq!(
            last_event_id_with_limit(&with(b"abc"), 3),
            Ok(Some("abc".into()))
        );
        assert_eq!(
            last_event_id_with_limit(&with(b"abc"), 2),
            Err(LastEventIdError::TooLong { len: 3, limit: 2 })
        );
        assert_eq!(
            last_event_id_with_limit(&with(b"a"), 0),
            Err(LastEventIdError::TooLong { len: 1, limit: 0 })
        );
    }

    #[test]
    fn length_is_checked_before_utf8() {
        assert_eq!(
            last_event_id_with_limit(&with(b"\xff\xff\xff"), 2),
            Err(LastEventIdError::TooLong { len: 3, limit: 2 })
        );
    }

    #[test]
    fn nul_cr_lf_are_refused() {
        for (raw, character, offset) in [
            (&b"a\0b"[..], '\0', 1),
            (b"ab\r", '\r', 2),
            (b"\nx", '\n', 0),
        ] {
            assert_eq!(
                decode(raw, 100),
                Err(LastEventIdError::ForbiddenChar { character, offset })
            );
        }
        assert_eq!(
            decode(b"a\0b", 100).unwrap_err().to_string(),
            "Last-Event-ID contains NUL (U+0000) at byte 1, which no event id can contain"
        );
        assert_eq!(
            decode(b"\nx", 100).unwrap_err().to_string(),
            "Last-Event-ID contains line feed (U+000A) at byte 0, which no event id can contain"
        );
        assert_eq!(
            decode(b"\rx", 100).unwrap_err().to_string(),
            "Last-Event-ID contains carriage return (U+000D) at byte 0, which no event id can contain"
        );
    }

    #[test]
    fn char_name_fallback() {
        assert_eq!(CharName('x').to_string(), "'x' (U+0078)");
    }

    #[test]
    fn several_headers_are_an_error() {
        let mut headers = HeaderMap::new();
        for v in ["1", "2", "3"] {
            headers.append(LAST_EVENT_ID, HeaderValue::from_static(v));
        }
        assert_eq!(
            last_event_id(&headers),
            Err(LastEventIdError::Repeated { count: 3 })
        );
        // Even if one of them is empty.
        let mut headers = HeaderMap::new();
        headers.append(LAST_EVENT_ID, HeaderValue::from_static(""));
        headers.append(LAST_EVENT_ID, HeaderValue::from_static("2"));
        assert_eq!(
            last_event_id(&headers),
            Err(LastEventIdError::Repeated { count: 2 })
        );
    }

    #[test]
    fn result_is_always_a_valid_event_id() {
        let id = last_event_id(&with("ïd\t1".as_bytes())).unwrap().unwrap();
        assert!(crate::EventId::new(id).is_ok());
    }
}
