//! Reading the `Last-Event-ID` request header that a reconnecting client sends.

use http::header::HeaderMap;

use super::constants::{DEFAULT_LAST_EVENT_ID_LIMIT, LAST_EVENT_ID};
use crate::error::CharName;
use crate::EventId;

/// Reads the `Last-Event-ID` header of a request as an [`EventId`], with the
/// [default length limit](crate::DEFAULT_LAST_EVENT_ID_LIMIT).
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
/// - `Ok(Some(id))` otherwise. The id's text is exactly the header's bytes, so it
///   equals the [`EventId`] the server wrote (`EventId::from(41u64)` equals the `41`
///   a client sends back).
///
/// HTTP parsers drop spaces and tabs at the start and end of a header value, so an
/// event id that starts or ends with whitespace does not come back intact: keep such
/// characters out of ids you want to resume from.
///
/// With a framework whose header types are not `http` 1.x ones, pass the raw value
/// to [`parse_last_event_id`]. With axum or actix-web, take the
/// `LastEventId` extractor (features `axum`, `actix`), which answers 400 on an error.
///
/// # Errors
///
/// - [`LastEventIdError::TooLong`] if the value is longer than
///   [`DEFAULT_LAST_EVENT_ID_LIMIT`](crate::DEFAULT_LAST_EVENT_ID_LIMIT) bytes.
/// - [`LastEventIdError::InvalidUtf8`] if the value is not UTF-8. Browsers send
///   UTF-8, but not every client does: the npm `eventsource` client (4.1, on Node 20)
///   sends an id with characters up to U+00FF as Latin-1, and cannot send an id with
///   characters beyond that at all.
/// - [`LastEventIdError::Repeated`] if the request has more than one `Last-Event-ID`
///   header. A client sends at most one; with two, picking either could resume from
///   the wrong place, so the caller decides (for example, answer 400 or start over).
///
/// ([`LastEventIdError::ForbiddenChar`] cannot come from a `HeaderMap`: `http`
/// refuses NUL, CR and LF in a header value. It comes from [`parse_last_event_id`].)
///
/// ```
/// use http::{HeaderMap, HeaderValue};
/// use ssewire::{last_event_id, EventId, LastEventIdError, LAST_EVENT_ID};
///
/// let mut headers = HeaderMap::new();
/// assert_eq!(last_event_id(&headers)?, None); // first connection
///
/// // "café-7" as a browser sends it: raw UTF-8 bytes.
/// let raw = HeaderValue::from_bytes("café-7".as_bytes()).unwrap();
/// assert!(raw.to_str().is_err());
/// headers.insert(LAST_EVENT_ID, raw);
/// assert_eq!(last_event_id(&headers)?, Some(EventId::new("café-7")?));
///
/// // The same id in Latin-1 is not UTF-8.
/// headers.insert(LAST_EVENT_ID, HeaderValue::from_bytes(b"caf\xe9-7").unwrap());
/// let err = last_event_id(&headers).unwrap_err();
/// assert!(matches!(err, LastEventIdError::InvalidUtf8 { offset: 3, .. }));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn last_event_id(headers: &HeaderMap) -> Result<Option<EventId>, LastEventIdError> {
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
/// use ssewire::{last_event_id_with_limit, EventId, LastEventIdError, LAST_EVENT_ID};
///
/// let mut headers = HeaderMap::new();
/// headers.insert(LAST_EVENT_ID, HeaderValue::from_static("0123456789"));
/// assert_eq!(
///     last_event_id_with_limit(&headers, 10)?,
///     Some(EventId::from_static("0123456789"))
/// );
///
/// let err = last_event_id_with_limit(&headers, 8).unwrap_err();
/// assert!(matches!(err, LastEventIdError::TooLong { len: 10, limit: 8, .. }));
/// assert_eq!(err.to_string(), "Last-Event-ID is 10 bytes long, over the limit of 8 bytes");
/// # Ok::<(), LastEventIdError>(())
/// ```
pub fn last_event_id_with_limit(
    headers: &HeaderMap,
    max_len: usize,
) -> Result<Option<EventId>, LastEventIdError> {
    from_values(
        headers.get_all(LAST_EVENT_ID).iter().map(|v| v.as_bytes()),
        max_len,
    )
}

/// Parses the raw bytes of one `Last-Event-ID` header value, from any framework,
/// with the [default length limit](crate::DEFAULT_LAST_EVENT_ID_LIMIT).
///
/// Use it where the request's headers are not an `http` 1.x `HeaderMap` (actix-web 4
/// and other frameworks on `http` 0.2, or a hand-written server): pass
/// `value.as_bytes()`. The bytes are decoded as UTF-8, the way browsers send them.
///
/// An empty value gives [`EventId::empty()`], the id that means "no id": treat it as
/// no header at all (start from the beginning), as [`last_event_id`] does by
/// returning `None`. Checking that a request has only one such header is the
/// caller's job here (see [`LastEventIdError::Repeated`]).
///
/// # Errors
///
/// - [`LastEventIdError::TooLong`] if `value` is longer than
///   [`DEFAULT_LAST_EVENT_ID_LIMIT`](crate::DEFAULT_LAST_EVENT_ID_LIMIT) bytes
///   (checked first).
/// - [`LastEventIdError::InvalidUtf8`] if `value` is not UTF-8.
/// - [`LastEventIdError::ForbiddenChar`] if `value` contains NUL, CR or LF, which no
///   event id can contain (a client ignores an `id` field with NUL; CR and LF would
///   end the line). Header types that validate their values never hold these bytes,
///   but raw bytes from elsewhere may.
///
/// ```
/// use ssewire::{parse_last_event_id, EventId, LastEventIdError};
///
/// assert_eq!(parse_last_event_id(b"41")?, EventId::from(41u64));
/// assert_eq!(parse_last_event_id("日本-2".as_bytes())?, EventId::new("日本-2")?);
/// assert!(parse_last_event_id(b"")?.is_empty());
///
/// let err = parse_last_event_id(b"a\0b").unwrap_err();
/// assert!(matches!(err, LastEventIdError::ForbiddenChar { character: '\0', offset: 1, .. }));
/// assert_eq!(
///     err.to_string(),
///     "Last-Event-ID contains NUL (U+0000) at byte 1, which no event id can contain"
/// );
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn parse_last_event_id(value: &[u8]) -> Result<EventId, LastEventIdError> {
    decode(value, DEFAULT_LAST_EVENT_ID_LIMIT)
}

/// The `Last-Event-ID` of a request whose header values are `values`: `None` for no
/// value or an empty one, an error for more than one value. The framework
/// integrations read their own header maps through this.
pub(crate) fn from_values<'a>(
    mut values: impl Iterator<Item = &'a [u8]>,
    max_len: usize,
) -> Result<Option<EventId>, LastEventIdError> {
    let Some(value) = values.next() else {
        return Ok(None);
    };
    let others = values.count();
    if others > 0 {
        return Err(LastEventIdError::Repeated { count: others + 1 });
    }
    let id = decode(value, max_len)?;
    Ok((!id.is_empty()).then_some(id))
}

/// Checks and decodes one raw header value.
fn decode(raw: &[u8], max_len: usize) -> Result<EventId, LastEventIdError> {
    if raw.is_empty() {
        return Ok(EventId::empty());
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
    // `EventId::new` refuses exactly the characters an id cannot hold: NUL, CR, LF.
    EventId::new(text).map_err(|err| LastEventIdError::ForbiddenChar {
        character: err.character().unwrap_or('\0'),
        offset: err.offset(),
    })
}

/// Why a `Last-Event-ID` header could not be read. See [`last_event_id`] and
/// [`parse_last_event_id`].
///
/// Offsets are byte offsets within the header value. With feature `axum` or `actix`
/// it is also the rejection of the `LastEventId` extractor: a `400 Bad Request`
/// whose text body is this error's message.
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
    /// The value contains NUL, CR or LF, which no event id can contain. Only
    /// [`parse_last_event_id`] returns it: `http` header values cannot hold these bytes.
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

#[cfg(test)]
mod tests {
    use super::*;
    use http::{HeaderName, HeaderValue};

    fn with(value: &[u8]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(LAST_EVENT_ID, HeaderValue::from_bytes(value).unwrap());
        headers
    }

    fn id(text: &str) -> Option<EventId> {
        Some(EventId::new(text).unwrap())
    }

    #[test]
    fn missing_header_is_none() {
        assert_eq!(last_event_id(&HeaderMap::new()), Ok(None));
    }

    #[test]
    fn empty_value_is_none() {
        assert_eq!(last_event_id(&with(b"")), Ok(None));
        assert_eq!(last_event_id_with_limit(&with(b""), 0), Ok(None));
        assert_eq!(parse_last_event_id(b""), Ok(EventId::empty()));
    }

    #[test]
    fn header_name_is_case_insensitive_on_the_wire() {
        let mut headers = HeaderMap::new();
        let name = HeaderName::from_bytes(b"Last-Event-ID").unwrap();
        headers.insert(name, HeaderValue::from_static("x"));
        assert_eq!(last_event_id(&headers), Ok(id("x")));
    }

    #[test]
    fn ascii_and_utf8_ids() {
        assert_eq!(last_event_id(&with(b"42")), Ok(id("42")));
        let ids = ["café", "日本語", "👩‍👩‍👧", "\u{feff}bom", "tab\there", "a b"];
        for text in ids {
            assert_eq!(
                last_event_id(&with(text.as_bytes())),
                Ok(id(text)),
                "{text:?}"
            );
            assert_eq!(
                parse_last_event_id(text.as_bytes()).map(Some),
                Ok(id(text)),
                "{text:?}"
            );
        }
    }

    #[test]
    fn the_id_is_wire_text_and_equals_the_one_written() {
        let got = last_event_id(&with(b"160")).unwrap().unwrap();
        assert_eq!(got.to_string(), "160");
        assert_eq!(got, EventId::from(160u64));
    }

    #[test]
    fn obs_text_and_del_are_kept() {
        // DEL is allowed in an SSE id; http refuses it in a header value, so check
        // the decoder directly.
        assert_eq!(decode(b"a\x7fb", 10).map(Some), Ok(id("a\u{7f}b")));
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
        assert_eq!(
            parse_last_event_id(b"\xff"),
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
        assert_eq!(last_event_id(&with(at.as_bytes())), Ok(id(&at)));
        assert_eq!(parse_last_event_id(at.as_bytes()).map(Some), Ok(id(&at)));
        let over = format!("{at}x");
        let too_long = LastEventIdError::TooLong {
            len: 1025,
            limit: 1024,
        };
        assert_eq!(last_event_id(&with(over.as_bytes())), Err(too_long.clone()));
        assert_eq!(parse_last_event_id(over.as_bytes()), Err(too_long));
        assert_eq!(last_event_id_with_limit(&with(b"abc"), 3), Ok(id("abc")));
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
                parse_last_event_id(raw),
                Err(LastEventIdError::ForbiddenChar { character, offset })
            );
        }
        assert_eq!(
            parse_last_event_id(b"a\0b").unwrap_err().to_string(),
            "Last-Event-ID contains NUL (U+0000) at byte 1, which no event id can contain"
        );
        assert_eq!(
            parse_last_event_id(b"\nx").unwrap_err().to_string(),
            "Last-Event-ID contains line feed (U+000A) at byte 0, which no event id can contain"
        );
        assert_eq!(
            parse_last_event_id(b"\rx").unwrap_err().to_string(),
            "Last-Event-ID contains carriage return (U+000D) at byte 0, which no event id can contain"
        );
        // The offset is in bytes, after multi-byte characters.
        assert_eq!(
            parse_last_event_id("é\n".as_bytes()),
            Err(LastEventIdError::ForbiddenChar {
                character: '\n',
                offset: 2
            })
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
        let got = last_event_id(&with("ïd\t1".as_bytes())).unwrap().unwrap();
        assert!(EventId::new(got.to_string()).is_ok());
        assert_eq!(got.as_text(), Some("ïd\t1"));
    }
}
