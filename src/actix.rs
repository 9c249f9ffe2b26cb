//! actix-web 4 integration (feature `actix`): an [`SseBody`] is a `Responder`,
//! [`LastEventId`] is an extractor, and a [`LastEventIdError`] is a
//! `400 Bad Request`. The whole recipe is `examples/actix.rs` (mirrored in the README).
//!
//! actix-web 4 has its own header types (`http` 0.2), so the headers are set from
//! [`SSE_HEADERS`] and the request header is read through
//! [`parse_last_event_id`](crate::parse_last_event_id)'s raw-bytes parser.

use std::future::{ready, Ready};

use actix_web::body::{BodyStream, BoxBody};
use actix_web::dev::Payload;
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{FromRequest, HttpRequest, HttpResponse, Responder, ResponseError};
use futures_core::Stream;

use crate::body::{SseBody, SseItem};
use crate::headers::from_values;
use crate::{LastEventId, LastEventIdError, DEFAULT_LAST_EVENT_ID_LIMIT, SSE_HEADERS};

/// An `SseBody` returned from an actix-web handler becomes a `200` response with the
/// SSE headers ([`SSE_HEADERS`]: `Content-Type: text/event-stream`,
/// `Cache-Control: no-cache`, `X-Accel-Buffering: no`) and the events as a streaming
/// body, each chunk sent as it is ready.
///
/// actix-web's `Compress` middleware compresses event streams too, which holds events
/// back until a block fills. On a compressed app, mark the stream as not to be
/// encoded: `SseBody::new(events).customize().insert_header(("content-encoding",
/// "identity"))` (`Compress` leaves a response with a `Content-Encoding` alone).
///
/// ```
/// use actix_web::{body::to_bytes, test::TestRequest, Responder};
/// use futures_util::stream;
/// use ssewire::{Event, SseBody};
///
/// // In a handler: `async fn events() -> impl Responder { SseBody::new(events) }`
/// let body = SseBody::new(stream::iter([Event::with_data("hello")]));
/// let response = body.respond_to(&TestRequest::default().to_http_request());
/// assert_eq!(response.status(), 200);
/// assert_eq!(response.headers().get("content-type").unwrap(), "text/event-stream");
/// assert_eq!(response.headers().get("cache-control").unwrap(), "no-cache");
/// assert_eq!(response.headers().get("x-accel-buffering").unwrap(), "no");
/// let bytes = futures_executor::block_on(to_bytes(response.into_body())).unwrap();
/// assert_eq!(bytes, "data: hello\n\n");
/// ```
#[cfg_attr(docsrs, doc(cfg(feature = "actix")))]
impl<S> Responder for SseBody<S>
where
    S: Stream + 'static,
    S::Item: SseItem,
    <S::Item as SseItem>::Error: Into<Box<dyn std::error::Error>> + 'static,
{
    type Body = BodyStream<SseBody<S>>;

    fn respond_to(self, _req: &HttpRequest) -> HttpResponse<Self::Body> {
        let mut response = HttpResponse::with_body(StatusCode::OK, BodyStream::new(self));
        for (name, value) in SSE_HEADERS {
            response.headers_mut().insert(
                HeaderName::from_static(name),
                HeaderValue::from_static(value),
            );
        }
        response
    }
}

/// Reads the request's `Last-Event-ID` (one header at most, UTF-8, at most
/// [`DEFAULT_LAST_EVENT_ID_LIMIT`] bytes); a malformed header rejects the request with
/// `400 Bad Request` and a text body naming the problem.
///
/// ```
/// use actix_web::{test::TestRequest, FromRequest};
/// use ssewire::{EventId, LastEventId};
///
/// // In a handler: `async fn events(LastEventId(last): LastEventId) -> impl Responder`
/// let request = TestRequest::default()
///     .insert_header(("Last-Event-ID", "41"))
///     .to_http_request();
/// let LastEventId(last) = futures_executor::block_on(LastEventId::extract(&request))?;
/// assert_eq!(last, Some(EventId::from(41u64)));
///
/// let request = TestRequest::default()
///     .insert_header(("Last-Event-ID", &b"caf\xe9"[..]))
///     .to_http_request();
/// let err = futures_executor::block_on(LastEventId::extract(&request)).unwrap_err();
/// assert_eq!(err.to_string(), "Last-Event-ID is not UTF-8: invalid byte at offset 3");
/// # Ok::<(), ssewire::LastEventIdError>(())
/// ```
#[cfg_attr(docsrs, doc(cfg(feature = "actix")))]
impl FromRequest for LastEventId {
    type Error = LastEventIdError;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        let values = req
            .headers()
            .get_all(HeaderName::from_static("last-event-id"))
            .map(HeaderValue::as_bytes);
        ready(from_values(values, DEFAULT_LAST_EVENT_ID_LIMIT).map(LastEventId))
    }
}

/// `400 Bad Request` with `Content-Type: text/plain; charset=utf-8` and the error's
/// message (and a line feed) as the body, the same answer as with axum.
///
/// ```
/// use actix_web::ResponseError;
///
/// let err = ssewire::parse_last_event_id(b"\xff").unwrap_err();
/// let response = err.error_response();
/// assert_eq!(response.status(), 400);
/// assert_eq!(response.headers().get("content-type").unwrap(), "text/plain; charset=utf-8");
/// ```
#[cfg_attr(docsrs, doc(cfg(feature = "actix")))]
impl ResponseError for LastEventIdError {
    fn status_code(&self) -> StatusCode {
        StatusCode::BAD_REQUEST
    }

    fn error_response(&self) -> HttpResponse<BoxBody> {
        HttpResponse::build(self.status_code())
            .content_type("text/plain; charset=utf-8")
            .body(format!("{self}\n"))
    }
}

/// A [`Refused`](crate::Refused) connection is a `429 Too Many Requests` (per-key cap)
/// or `503 Service Unavailable` response with `Retry-After` (seconds),
/// `Cache-Control: no-store` and the message as a text body, the same answer as with
/// axum; a handler can use `?` on
/// [`ConnectionLimiter::try_acquire`](crate::ConnectionLimiter::try_acquire).
///
/// ```
/// use actix_web::ResponseError;
/// use ssewire::{ConnectionLimiter, Limits};
///
/// let limiter = ConnectionLimiter::new(Limits::new().with_max_per_key(0));
/// let response = limiter.try_acquire("alice").unwrap_err().error_response();
/// assert_eq!(response.status(), 429);
/// assert_eq!(response.headers().get("cache-control").unwrap(), "no-store");
/// assert!(response.headers().contains_key("retry-after"));
/// ```
#[cfg_attr(docsrs, doc(cfg(feature = "actix")))]
impl ResponseError for crate::Refused {
    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.status().as_u16()).unwrap_or(StatusCode::SERVICE_UNAVAILABLE)
    }

    fn error_response(&self) -> HttpResponse<BoxBody> {
        HttpResponse::build(self.status_code())
            .insert_header(("retry-after", self.retry_after().as_secs().to_string()))
            .insert_header(("cache-control", "no-store"))
            .content_type("text/plain; charset=utf-8")
            .body(format!("{self}\n"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    fn extract(values: &[&'static [u8]]) -> Result<LastEventId, LastEventIdError> {
        let mut request = TestRequest::default();
        for v in values {
            request = request.append_header(("last-event-id", *v));
        }
        futures_executor::block_on(LastEventId::extract(&request.to_http_request()))
    }

    #[test]
    fn extractor_reads_the_header() {
        assert_eq!(extract(&[]), Ok(LastEventId(None)));
        assert_eq!(extract(&[b""]), Ok(LastEventId(None)));
        assert_eq!(
            extract(&["日本-2".as_bytes()]),
            Ok(LastEventId(Some(crate::EventId::new("日本-2").unwrap())))
        );
    }

    #[test]
    fn malformed_is_rejected_not_absent() {
        assert_eq!(
            extract(&[b"\xff"]),
            Err(LastEventIdError::InvalidUtf8 { offset: 0 })
        );
        assert_eq!(
            extract(&[b"1", b"2"]),
            Err(LastEventIdError::Repeated { count: 2 })
        );
        let long = Box::leak(vec![b'7'; DEFAULT_LAST_EVENT_ID_LIMIT + 1].into_boxed_slice());
        assert!(matches!(
            extract(&[long]),
            Err(LastEventIdError::TooLong { .. })
        ));
        let err = extract(&[b"1", b"2"]).unwrap_err();
        assert_eq!(err.error_response().status(), StatusCode::BAD_REQUEST);
    }

    #[test]
    fn responder_sets_exactly_the_sse_headers() {
        let body = SseBody::new(futures_util::stream::iter([crate::Event::with_data("x")]));
        let response = body.respond_to(&TestRequest::default().to_http_request());
        assert_eq!(response.status(), StatusCode::OK);
        let headers: Vec<(String, String)> = response
            .headers()
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_str().unwrap().to_owned()))
            .collect();
        let mut expected: Vec<(String, String)> = SSE_HEADERS
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect();
        let mut headers = headers;
        headers.sort();
        expected.sort();
        assert_eq!(headers, expected);
    }
}
