//! `IntoResponse` for the body (feature `axum`).

use axum_core::response::{IntoResponse, Response};
use futures_core::Stream;

use crate::body::{SseBody, SseItem};

/// An `SseBody` returned from an axum handler becomes a `200` response with the SSE
/// headers of [`sse_response`](crate::sse_response).
///
/// ```
/// # #[cfg(feature = "axum")] {
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
/// # }
/// ```
#[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
impl<S> IntoResponse for SseBody<S>
where
    S: Stream + Send + 'static,
    S::Item: SseItem,
    <S::Item as SseItem>::Error: Into<axum_core::BoxError> + Send + 'static,
{
    fn into_response(self) -> Response {
        crate::response::sse_response(axum_core::body::Body::new(self))
    }
}
