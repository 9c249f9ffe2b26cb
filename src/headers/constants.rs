//! The header names and values of the HTTP helpers, in one place.

use http::header::HeaderName;

/// The response headers of an event stream, as `(name, value)` text pairs, for
/// frameworks that build responses with their own header types.
///
/// | header | value | why |
/// |---|---|---|
/// | `content-type` | `text/event-stream` | what makes it an event stream; no `charset`, the stream is always UTF-8 and some clients mishandle the parameter |
/// | `cache-control` | `no-cache` | no cache or proxy may store or replay the stream |
/// | `x-accel-buffering` | `no` | nginx passes events on at once instead of buffering them |
///
/// Never add `Connection`, `Keep-Alive` or `Transfer-Encoding`: HTTP/2 forbids these
/// connection-specific headers (the `h2` crate refuses a response that has them), and
/// HTTP/1.1 servers manage them on their own. With `http` types, use
/// [`set_sse_headers`](crate::set_sse_headers) or [`sse_response`](crate::sse_response);
/// with axum or actix-web, return the [`SseBody`](crate::SseBody) itself (features
/// `axum`, `actix`); with any other framework, set each pair on the response:
///
/// ```
/// let names: Vec<&str> = ssewire::SSE_HEADERS.iter().map(|(name, _)| *name).collect();
/// assert_eq!(names, ["content-type", "cache-control", "x-accel-buffering"]);
/// assert_eq!(ssewire::SSE_HEADERS[0].1, "text/event-stream");
/// ```
pub const SSE_HEADERS: [(&str, &str); 3] = [
    ("content-type", "text/event-stream"),
    ("cache-control", "no-cache"),
    ("x-accel-buffering", "no"),
];

/// The `Last-Event-ID` request header.
///
/// A browser's `EventSource` sends it when it reconnects, carrying the last non-empty
/// event id it received, so the server can resume after that event. Read it with
/// [`last_event_id`](crate::last_event_id), which copes with ids that are not ASCII.
///
/// ```
/// use http::{HeaderMap, HeaderValue};
/// use ssewire::EventId;
///
/// let mut headers = HeaderMap::new();
/// headers.insert(ssewire::LAST_EVENT_ID, HeaderValue::from_static("41"));
/// assert_eq!(ssewire::LAST_EVENT_ID.as_str(), "last-event-id");
/// assert_eq!(ssewire::last_event_id(&headers)?, Some(EventId::from_static("41")));
/// # Ok::<(), ssewire::LastEventIdError>(())
/// ```
pub const LAST_EVENT_ID: HeaderName = HeaderName::from_static("last-event-id");

/// The longest `Last-Event-ID` value, in bytes, that [`last_event_id`](crate::last_event_id)
/// and [`parse_last_event_id`](crate::parse_last_event_id) accept: 1024.
///
/// Event ids are usually short (a counter, a UUID, a cursor); a longer header is more
/// likely to be abuse than a real id. Use
/// [`last_event_id_with_limit`](crate::last_event_id_with_limit) to choose another
/// limit. (Browsers send cross-origin reconnects with ids over 128 bytes only after a
/// CORS preflight, so keeping ids short pays off anyway.)
///
/// ```
/// assert_eq!(ssewire::DEFAULT_LAST_EVENT_ID_LIMIT, 1024);
/// ```
pub const DEFAULT_LAST_EVENT_ID_LIMIT: usize = 1024;

/// `Keep-Alive`, connection-specific: never on an event stream.
pub(crate) const KEEP_ALIVE: HeaderName = HeaderName::from_static("keep-alive");
/// `Proxy-Connection`: a pre-standard `Connection`, connection-specific too.
pub(crate) const PROXY_CONNECTION: HeaderName = HeaderName::from_static("proxy-connection");
