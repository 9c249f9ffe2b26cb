//! axum integration (feature `axum`): an [`SseBody`] is a response, [`LastEventId`]
//! is an extractor, and a [`LastEventIdError`] is a `400 Bad Request`. The whole
//! recipe is `examples/axum.rs` (mirrored in the README).

use axum_core::extract::FromRequestParts;
use axum_core::response::{IntoResponse, Response};
use futures_core::Stream;
use http::header::{HeaderValue, CONTENT_TYPE};
use http::request::Parts;
use http::StatusCode;

use crate::body::{SseBody, SseItem};
use crate::{last_event_id, LastEventId, LastEventIdError};

/// An `SseBody` returned from an axum handler becomes a `200` response with the SSE
/// headers of [`sse_response`](crate::sse_response).
///
/// ```
/// use axum::{extract::State, routing::get, Router};
/// use futures_util::stream;
/// use ssewire::{Event, KeepAlive, SseBody};
///
/// async fn events(
///     State(keep_alive): State<KeepAlive>,
/// ) -> SseBody<impl futures_util::Stream<Item = Event>> {
///     SseBody::new(stream::iter([Event::with_data("hello")])).with_keep_alive(keep_alive)
/// }
///
/// let app: Router = Router::new()
///     .route("/events", get(events))
///     .with_state(KeepAlive::tokio()); // one shared timer for every body
/// # let _ = app;
/// ```
#[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
impl<S> IntoResponse for SseBody<S>
where
    S: Stream + Send + 'static,
    S::Item: SseItem,
    <S::Item as SseItem>::Error: Into<axum_core::BoxError> + Send + 'static,
{
    fn into_response(self) -> Response {
        crate::sse_response(axum_core::body::Body::new(self))
    }
}

/// Reads the request's `Last-Event-ID` with [`last_event_id`]; a malformed header
/// rejects the request with `400 Bad Request` (see [`LastEventIdError`]'s
/// `IntoResponse`).
///
/// ```
/// use axum::{routing::get, Router};
/// use ssewire::LastEventId;
///
/// async fn resume(LastEventId(last): LastEventId) -> String {
///     match last {
///         Some(id) => format!("resuming after {id}"),
///         None => "from the start".to_owned(),
///     }
/// }
/// let app: Router = Router::new().route("/events", get(resume));
/// # let _ = app;
/// ```
#[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
impl<St: Send + Sync> FromRequestParts<St> for LastEventId {
    type Rejection = LastEventIdError;

    async fn from_request_parts(parts: &mut Parts, _state: &St) -> Result<Self, Self::Rejection> {
        last_event_id(&parts.headers).map(LastEventId)
    }
}

/// `400 Bad Request` with `Content-Type: text/plain; charset=utf-8` and the error's
/// message as the body, so a malformed `Last-Event-ID` is answered, never taken for a
/// missing one.
///
/// ```
/// use axum::response::IntoResponse;
///
/// let err = ssewire::parse_last_event_id(b"\xff").unwrap_err();
/// let response = err.into_response();
/// assert_eq!(response.status(), http::StatusCode::BAD_REQUEST);
/// assert_eq!(response.headers()["content-type"], "text/plain; charset=utf-8");
/// ```
#[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
impl IntoResponse for LastEventIdError {
    fn into_response(self) -> Response {
        let mut response = Response::new(axum_core::body::Body::from(format!("{self}\n")));
        *response.status_mut() = StatusCode::BAD_REQUEST;
        response.headers_mut().insert(
            CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        );
        response
    }
}

/// A [`Refused`](crate::Refused) connection is a `429 Too Many Requests` (per-key cap)
/// or `503 Service Unavailable` response, with `Retry-After` and
/// `Cache-Control: no-store` (see [`Refused::to_response`](crate::Refused::to_response)),
/// so a handler can use `?` on [`ConnectionLimiter::try_acquire`](crate::ConnectionLimiter::try_acquire).
///
/// ```
/// use axum::response::IntoResponse;
/// use ssewire::{ConnectionLimiter, Limits};
///
/// let limiter = ConnectionLimiter::new(Limits::new().with_max_connections(0));
/// let response = limiter.try_acquire(()).unwrap_err().into_response();
/// assert_eq!(response.status(), http::StatusCode::SERVICE_UNAVAILABLE);
/// assert!(response.headers().contains_key("retry-after"));
/// ```
#[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
impl IntoResponse for crate::Refused {
    fn into_response(self) -> Response {
        self.to_response::<axum_core::body::Body>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::LAST_EVENT_ID;

    fn parts(values: &[&'static [u8]]) -> Parts {
        let mut request = http::Request::new(());
        for v in values {
            request
                .headers_mut()
                .append(LAST_EVENT_ID, HeaderValue::from_bytes(v).unwrap());
        }
        request.into_parts().0
    }

    fn extract(values: &[&'static [u8]]) -> Result<LastEventId, LastEventIdError> {
        let mut parts = parts(values);
        let fut = LastEventId::from_request_parts(&mut parts, &());
        futures_executor::block_on(fut)
    }

    #[test]
    fn extractor_reads_the_header() {
        assert_eq!(extract(&[]), Ok(LastEventId(None)));
        assert_eq!(extract(&[b""]), Ok(LastEventId(None)));
        assert_eq!(
            extract(&["é-7".as_bytes()]),
            Ok(LastEventId(Some(crate::EventId::new("é-7").unwrap())))
        );
    }

    #[test]
    fn malformed_is_rejected_not_absent() {
        assert!(matches!(
            extract(&[b"caf\xe9"]),
            Err(LastEventIdError::InvalidUtf8 { offset: 3 })
        ));
        assert!(matches!(
            extract(&[b"1", b"2"]),
            Err(LastEventIdError::Repeated { count: 2 })
        ));
        let response = extract(&[b"1", b"2"]).unwrap_err().into_response();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    }
}
