//! Responses on `http` types: the headers of an event stream, and the 204 that stops
//! a browser from reconnecting.

use http::header::{
    HeaderMap, HeaderName, HeaderValue, CONNECTION, CONTENT_LENGTH, TRANSFER_ENCODING, UPGRADE,
};
use http::{Response, StatusCode};

use super::constants::{KEEP_ALIVE, PROXY_CONNECTION, SSE_HEADERS};

/// Sets the headers of an event stream (see [`SSE_HEADERS`](crate::SSE_HEADERS)) on a
/// response's headers, replacing any values they had, and removes the
/// connection-specific ones, which HTTP/2 forbids (RFC 9113, section 8.2.2) and which
/// the server sets itself where HTTP/1.1 has them: `Connection`, `Keep-Alive`,
/// `Proxy-Connection`, `Transfer-Encoding` and `Upgrade`; and `Content-Length` (a
/// stream has none). Other headers are left alone.
///
/// For a framework that builds the response itself:
///
/// ```
/// use http::header::{HeaderValue, CONNECTION, CONTENT_LENGTH, CONTENT_TYPE, TRANSFER_ENCODING};
///
/// let mut response = http::Response::new("data: hi\n\n");
/// response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("text/plain"));
/// response.headers_mut().insert(CONNECTION, HeaderValue::from_static("keep-alive"));
/// response.headers_mut().insert(CONTENT_LENGTH, HeaderValue::from_static("10"));
/// response.headers_mut().insert(TRANSFER_ENCODING, HeaderValue::from_static("chunked"));
/// ssewire::set_sse_headers(response.headers_mut());
///
/// assert_eq!(response.headers()[CONTENT_TYPE], "text/event-stream");
/// assert_eq!(response.headers()["cache-control"], "no-cache");
/// assert_eq!(response.headers()["x-accel-buffering"], "no");
/// assert!(response.headers().get(CONNECTION).is_none());
/// assert!(response.headers().get(CONTENT_LENGTH).is_none());
/// assert!(response.headers().get(TRANSFER_ENCODING).is_none());
/// ```
pub fn set_sse_headers(headers: &mut HeaderMap) {
    for (name, value) in SSE_HEADERS {
        headers.insert(
            HeaderName::from_static(name),
            HeaderValue::from_static(value),
        );
    }
    for name in [
        CONNECTION,
        KEEP_ALIVE,
        PROXY_CONNECTION,
        TRANSFER_ENCODING,
        UPGRADE,
    ] {
        headers.remove(name);
    }
    // A stream has no length known up front.
    headers.remove(CONTENT_LENGTH);
}

/// An event-stream response: status 200 and the [SSE headers](crate::SSE_HEADERS), with
/// `body` as the body.
///
/// `B` is whatever body type your server takes: an
/// `http_body_util::StreamBody`, axum's `Body`, or the crate's own body adapter.
/// There is no `Content-Length`: an event stream has no length known in advance.
///
/// ```
/// use http::StatusCode;
///
/// let response = ssewire::sse_response("data: hello\n\n");
/// assert_eq!(response.status(), StatusCode::OK);
/// assert_eq!(response.headers()["content-type"], "text/event-stream");
/// assert_eq!(response.headers()["cache-control"], "no-cache");
/// assert_eq!(response.headers()["x-accel-buffering"], "no");
/// assert_eq!(response.headers().len(), 3);
/// assert_eq!(*response.body(), "data: hello\n\n");
/// ```
pub fn sse_response<B>(body: B) -> Response<B> {
    let mut response = Response::new(body);
    *response.status_mut() = StatusCode::OK;
    set_sse_headers(response.headers_mut());
    response
}

/// A `204 No Content` response with an empty body, which tells a browser's
/// `EventSource` to stop reconnecting for good.
///
/// Browsers reconnect after a network error and after a body that ends cleanly;
/// only a status other than 200 (204 by convention) or a content type other than
/// `text/event-stream` makes them give up. Answer 204 when there is nothing more
/// to send to this client, for example when the job it follows has finished.
///
/// ```
/// use http::StatusCode;
///
/// let response: http::Response<String> = ssewire::no_content_response();
/// assert_eq!(response.status(), StatusCode::NO_CONTENT);
/// assert!(response.headers().is_empty());
/// assert!(response.body().is_empty());
/// ```
pub fn no_content_response<B: Default>() -> Response<B> {
    let mut response = Response::new(B::default());
    *response.status_mut() = StatusCode::NO_CONTENT;
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::header::{CACHE_CONTROL, CONTENT_TYPE};

    const X_ACCEL_BUFFERING: HeaderName = HeaderName::from_static("x-accel-buffering");

    #[test]
    fn sse_response_has_exactly_the_three_headers() {
        let response = sse_response(());
        assert_eq!(response.status(), StatusCode::OK);
        let headers = response.headers();
        assert_eq!(headers.len(), 3);
        assert_eq!(headers[CONTENT_TYPE], "text/event-stream");
        assert_eq!(headers[CACHE_CONTROL], "no-cache");
        assert_eq!(headers[X_ACCEL_BUFFERING], "no");
        assert!(headers.get(CONNECTION).is_none());
        assert!(headers.get(KEEP_ALIVE).is_none());
        assert!(headers.get(CONTENT_LENGTH).is_none());
    }

    #[test]
    fn sse_headers_are_valid_http_headers() {
        for (name, value) in SSE_HEADERS {
            assert_eq!(HeaderName::from_bytes(name.as_bytes()).unwrap(), name);
            assert!(HeaderValue::from_str(value).is_ok());
        }
    }

    #[test]
    fn set_sse_headers_replaces_and_removes() {
        let mut headers = HeaderMap::new();
        headers.append(CONTENT_TYPE, HeaderValue::from_static("text/plain"));
        headers.append(CONTENT_TYPE, HeaderValue::from_static("text/html"));
        headers.append(CACHE_CONTROL, HeaderValue::from_static("max-age=60"));
        headers.append(CONNECTION, HeaderValue::from_static("keep-alive"));
        headers.append(KEEP_ALIVE, HeaderValue::from_static("timeout=5"));
        headers.append(CONTENT_LENGTH, HeaderValue::from_static("42"));
        headers.append("x-request-id", HeaderValue::from_static("abc"));
        set_sse_headers(&mut headers);
        assert!(!headers.contains_key(CONTENT_LENGTH));
        let content_types: Vec<_> = headers.get_all(CONTENT_TYPE).iter().collect();
        assert_eq!(content_types, ["text/event-stream"]);
        assert_eq!(headers.get_all(CACHE_CONTROL).iter().count(), 1);
        assert_eq!(headers[CACHE_CONTROL], "no-cache");
        assert!(!headers.contains_key(CONNECTION));
        assert!(!headers.contains_key(KEEP_ALIVE));
        assert_eq!(headers["x-request-id"], "abc");
        assert_eq!(headers.len(), 4);
    }

    /// Issue 11: `Transfer-Encoding` is connection-specific (forbidden in HTTP/2, and
    /// the HTTP/1.1 server frames the body itself), so a pre-set one goes.
    #[test]
    fn set_sse_headers_removes_transfer_encoding() {
        let mut headers = HeaderMap::new();
        headers.append(TRANSFER_ENCODING, HeaderValue::from_static("chunked"));
        headers.append(TRANSFER_ENCODING, HeaderValue::from_static("gzip, chunked"));
        set_sse_headers(&mut headers);
        assert!(!headers.contains_key(TRANSFER_ENCODING));
        assert_eq!(headers.len(), 3);
    }

    /// RFC 9113, section 8.2.2: `Upgrade` and `Proxy-Connection` are connection-specific
    /// too; an HTTP/2 peer treats a response with one as malformed.
    #[test]
    fn set_sse_headers_removes_every_connection_specific_header() {
        let mut headers = HeaderMap::new();
        headers.append(UPGRADE, HeaderValue::from_static("websocket"));
        headers.append(PROXY_CONNECTION, HeaderValue::from_static("keep-alive"));
        headers.append(CONNECTION, HeaderValue::from_static("upgrade"));
        set_sse_headers(&mut headers);
        for name in [UPGRADE, PROXY_CONNECTION, CONNECTION] {
            assert!(!headers.contains_key(&name), "{name}");
        }
        assert_eq!(headers.len(), 3);
    }

    #[test]
    fn no_content_is_204_and_empty() {
        let response: Response<Vec<u8>> = no_content_response();
        assert_eq!(response.status(), StatusCode::NO_CONTENT);
        assert!(response.headers().is_empty());
        assert!(response.body().is_empty());
    }
}
