//! The one trait an HTTP client implements to carry the [`EventSource`](super::source::EventSource).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use bytes::Bytes;
use futures_core::Stream;

/// Any error a [`Transport`] reports (connection refused, reset, TLS, ...).
///
/// ```
/// let error: ssewire::client::BoxError = "connection refused".into();
/// assert_eq!(error.to_string(), "connection refused");
/// ```
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// A response body as a stream of chunks, as returned inside a [`ResponseFuture`].
///
/// ```
/// use bytes::Bytes;
/// let chunks: Vec<Result<Bytes, ssewire::client::BoxError>> = vec![Ok(Bytes::from("data: x\n\n"))];
/// let body: ssewire::client::BodyStream = Box::pin(futures_util::stream::iter(chunks));
/// # let _ = body;
/// ```
pub type BodyStream = Pin<Box<dyn Stream<Item = Result<Bytes, BoxError>> + Send + 'static>>;

/// The future a [`Transport`] returns: the response head with its body still to read.
///
/// ```
/// use ssewire::client::{BodyStream, ResponseFuture};
/// let empty: BodyStream = Box::pin(futures_util::stream::empty());
/// let future: ResponseFuture = Box::pin(async move {
///     Ok(http::Response::builder().status(204).body(empty).unwrap())
/// });
/// # let _ = future;
/// ```
pub type ResponseFuture =
    Pin<Box<dyn Future<Output = Result<http::Response<BodyStream>, BoxError>> + Send + 'static>>;

/// What a built-in transport answers for a URI it cannot request (see
/// [`Error::UnsupportedScheme`](super::Error::UnsupportedScheme)): the client stops
/// instead of retrying.
#[derive(Debug, thiserror::Error)]
#[error("this transport cannot request this scheme")]
pub(crate) struct UnsupportedScheme;

/// Sends one `GET` request and hands back the response with a streaming body.
///
/// The [`EventSource`](super::EventSource) does everything else: headers, redirects,
/// timeouts, reconnects. A transport must therefore **not** follow redirects itself,
/// must not put a total timeout on the request (a stream lasts for hours) and must
/// not decompress or buffer the body. The crate ships
/// `HyperTransport` (feature `client-hyper`) and `ReqwestTransport` (feature
/// `client-reqwest`); tests use
/// a scripted fake like this one:
///
/// ```
/// use bytes::Bytes;
/// use ssewire::client::{BodyStream, ResponseFuture, Transport};
///
/// /// Answers every request with the same two events, then ends the body.
/// #[derive(Debug)]
/// struct Canned;
///
/// impl Transport for Canned {
///     fn send(&self, _request: http::Request<()>) -> ResponseFuture {
///         let chunks: Vec<Result<Bytes, ssewire::client::BoxError>> =
///             vec![Ok(Bytes::from_static(b"id: 1\ndata: a\n\nid: 2\ndata: b\n\n"))];
///         let body: BodyStream = Box::pin(futures_util::stream::iter(chunks));
///         let response = http::Response::builder()
///             .header("content-type", "text/event-stream")
///             .body(body)
///             .unwrap();
///         Box::pin(async move { Ok(response) })
///     }
/// }
/// # let _ = Canned;
/// ```
pub trait Transport: Send + Sync + 'static {
    /// Sends `request` (always a `GET` with an empty body) and resolves once the
    /// response head has arrived.
    fn send(&self, request: http::Request<()>) -> ResponseFuture;
}

impl<T: Transport + ?Sized> Transport for Arc<T> {
    fn send(&self, request: http::Request<()>) -> ResponseFuture {
        (**self).send(request)
    }
}

impl<T: Transport + ?Sized> Transport for Box<T> {
    fn send(&self, request: http::Request<()>) -> ResponseFuture {
        (**self).send(request)
    }
}
