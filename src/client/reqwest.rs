//! The transport on reqwest (feature `client-reqwest`).

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_core::Stream;

use super::source::EventSource;
use super::transport::{BodyStream, BoxError, ResponseFuture, Transport};

/// A [`Transport`] on a [`reqwest::Client`] (rustls, HTTP/1.1). Clones share the
/// connection pool.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// use ssewire::client::{EventSource, ReqwestTransport};
/// let source = EventSource::new(
///     "http://localhost:3000/events".parse().unwrap(),
///     ReqwestTransport::new(),
///     ssewire::TokioTimer,
/// );
/// # let _ = source;
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct ReqwestTransport {
    client: reqwest::Client,
}

impl Default for ReqwestTransport {
    fn default() -> Self {
        ReqwestTransport::new()
    }
}

impl ReqwestTransport {
    /// A client that does not follow redirects (the [`EventSource`] does) and has no
    /// total timeout.
    ///
    /// # Panics
    ///
    /// If the TLS backend cannot be initialised (as `reqwest::Client::new`).
    ///
    /// ```
    /// let transport = ssewire::client::ReqwestTransport::new();
    /// # let _ = transport;
    /// ```
    pub fn new() -> Self {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .tcp_nodelay(true)
            .build()
            .expect("a reqwest client with rustls");
        ReqwestTransport { client }
    }

    /// Wraps a client you configured. Build it with
    /// `.redirect(reqwest::redirect::Policy::none())` (so that redirects keep
    /// `Last-Event-ID` and drop credentials across origins) and without `.timeout(..)`
    /// (a total timeout would cut every stream).
    ///
    /// ```
    /// let client = reqwest::Client::builder()
    ///     .redirect(reqwest::redirect::Policy::none())
    ///     .build()?;
    /// let transport = ssewire::client::ReqwestTransport::from_client(client);
    /// # let _ = transport;
    /// # Ok::<(), reqwest::Error>(())
    /// ```
    pub fn from_client(client: reqwest::Client) -> Self {
        ReqwestTransport { client }
    }
}

impl Transport for ReqwestTransport {
    fn send(&self, request: http::Request<()>) -> ResponseFuture {
        let (parts, ()) = request.into_parts();
        let request = self
            .client
            .get(parts.uri.to_string())
            .headers(parts.headers)
            .send();
        Box::pin(async move {
            let response = request.await?;
            let mut head = http::Response::new(());
            *head.status_mut() = response.status();
            *head.version_mut() = response.version();
            *head.headers_mut() = response.headers().clone();
            let body = ErrInto(Box::pin(response.bytes_stream()));
            Ok(head.map(|()| Box::pin(body) as BodyStream))
        })
    }
}

struct ErrInto<S>(Pin<Box<S>>);

impl<S> Stream for ErrInto<S>
where
    S: Stream<Item = reqwest::Result<Bytes>>,
{
    type Item = Result<Bytes, BoxError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.0
            .as_mut()
            .poll_next(cx)
            .map(|item| item.map(|result| result.map_err(Into::into)))
    }
}

impl EventSource {
    /// A client for `uri` over a new [`ReqwestTransport`] and the tokio timer (feature
    /// `client-reqwest`).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let source = ssewire::client::EventSource::reqwest("http://localhost:3000/events".parse().unwrap());
    /// # let _ = source;
    /// # }
    /// ```
    pub fn reqwest(uri: http::Uri) -> Self {
        EventSource::new(uri, ReqwestTransport::new(), crate::TokioTimer)
    }
}
