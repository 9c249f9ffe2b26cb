//! The transport on hyper-util's legacy client (feature `client-hyper`; HTTPS with
//! `client-hyper-rustls`).

use std::fmt;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_core::Stream;
use http_body::Body;
use http_body_util::Empty;
use hyper::body::Incoming;
use hyper_util::client::legacy::connect::{Connect, HttpConnector};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

use super::source::EventSource;
use super::transport::{BodyStream, BoxError, ResponseFuture, Transport};

/// A [`Transport`] on [`hyper_util::client::legacy::Client`] (HTTP/1.1; with the
/// feature `client-hyper-rustls`, HTTPS through rustls with the webpki roots).
///
/// Clones share the connection pool.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// use ssewire::client::{EventSource, HyperTransport};
/// let transport = HyperTransport::new();
/// let a = EventSource::new("http://localhost/a".parse().unwrap(), transport.clone(), ssewire::TokioTimer);
/// let b = EventSource::new("http://localhost/b".parse().unwrap(), transport, ssewire::TokioTimer);
/// # let _ = (a, b);
/// # }
/// ```
#[derive(Clone)]
pub struct HyperTransport {
    client: Arc<dyn SendRequest>,
}

impl fmt::Debug for HyperTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HyperTransport").finish_non_exhaustive()
    }
}

impl Default for HyperTransport {
    fn default() -> Self {
        HyperTransport::new()
    }
}

impl HyperTransport {
    /// A client for `http://` (and `https://` with the feature `client-hyper-rustls`;
    /// without it, an `https://` URI ends the stream with
    /// [`Error::UnsupportedScheme`](super::Error::UnsupportedScheme) instead of being
    /// retried), with `TCP_NODELAY`. Must be called inside a tokio runtime.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let transport = ssewire::client::HyperTransport::new();
    /// # let _ = transport;
    /// # }
    /// ```
    pub fn new() -> Self {
        let mut http = HttpConnector::new();
        http.set_nodelay(true);
        #[cfg(feature = "client-hyper-rustls")]
        {
            let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
            let https = hyper_rustls::HttpsConnectorBuilder::new()
                .with_provider_and_webpki_roots(provider)
                .expect("the ring provider supports the default protocol versions")
                .https_or_http()
                .enable_http1()
                .wrap_connector({
                    http.enforce_http(false);
                    http
                });
            HyperTransport::from_client(Client::builder(TokioExecutor::new()).build(https))
        }
        #[cfg(not(feature = "client-hyper-rustls"))]
        HyperTransport::from_client(Client::builder(TokioExecutor::new()).build(http))
    }

    /// Wraps a client you configured (its own connector, pool or TLS settings).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// use hyper_util::client::legacy::{connect::HttpConnector, Client};
    /// let client = Client::builder(hyper_util::rt::TokioExecutor::new())
    ///     .pool_max_idle_per_host(1)
    ///     .build(HttpConnector::new());
    /// let transport = ssewire::client::HyperTransport::from_client(client);
    /// # let _ = transport;
    /// # }
    /// ```
    pub fn from_client<C>(client: Client<C, Empty<Bytes>>) -> Self
    where
        C: Connect + Clone + Send + Sync + 'static,
    {
        HyperTransport {
            client: Arc::new(client),
        }
    }
}

trait SendRequest: Send + Sync + 'static {
    fn send(&self, request: http::Request<Empty<Bytes>>) -> ResponseFuture;
}

impl<C> SendRequest for Client<C, Empty<Bytes>>
where
    C: Connect + Clone + Send + Sync + 'static,
{
    fn send(&self, request: http::Request<Empty<Bytes>>) -> ResponseFuture {
        let response = self.request(request);
        Box::pin(async move {
            let response = response.await?;
            Ok(response.map(|body| Box::pin(IncomingStream(body)) as BodyStream))
        })
    }
}

impl Transport for HyperTransport {
    fn send(&self, request: http::Request<()>) -> ResponseFuture {
        // hyper's plain connector would fail every attempt with the same error, and the
        // client would retry that for ever.
        #[cfg(not(feature = "client-hyper-rustls"))]
        if request.uri().scheme() == Some(&http::uri::Scheme::HTTPS) {
            return Box::pin(async {
                Err(Box::new(super::transport::UnsupportedScheme) as super::transport::BoxError)
            });
        }
        self.client.send(request.map(|()| Empty::new()))
    }
}

/// A hyper body as a stream of data chunks (trailers are skipped).
struct IncomingStream(Incoming);

impl Stream for IncomingStream {
    type Item = Result<Bytes, BoxError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        loop {
            return match Pin::new(&mut self.0).poll_frame(cx) {
                Poll::Ready(Some(Ok(frame))) => match frame.into_data() {
                    Ok(data) => Poll::Ready(Some(Ok(data))),
                    Err(_trailers) => continue,
                },
                Poll::Ready(Some(Err(error))) => Poll::Ready(Some(Err(error.into()))),
                Poll::Ready(None) => Poll::Ready(None),
                Poll::Pending => Poll::Pending,
            };
        }
    }
}

impl EventSource {
    /// A client for `uri` over a new [`HyperTransport`] and the tokio timer (feature
    /// `client-hyper`). Must be called inside a tokio runtime.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let source = ssewire::client::EventSource::hyper("http://localhost:3000/events".parse().unwrap());
    /// # let _ = source;
    /// # }
    /// ```
    pub fn hyper(uri: http::Uri) -> Self {
        EventSource::new(uri, HyperTransport::new(), crate::TokioTimer)
    }
}

/// Built without TLS, an `https://` URI stops the client at once: hyper's plain
/// connector fails every attempt the same way, and the client used to retry that for
/// ever (CI runs this with the feature `client-hyper` alone).
#[cfg(all(test, not(feature = "client-hyper-rustls")))]
mod tests {
    use futures_util::StreamExt;

    use crate::client::{Error, EventSource};

    #[tokio::test]
    async fn https_without_tls_is_an_error_not_a_retry() {
        let uri: http::Uri = "https://127.0.0.1:9/events".parse().unwrap();
        let mut source = EventSource::hyper(uri.clone());
        match source.next().await {
            Some(Err(Error::UnsupportedScheme(got))) => assert_eq!(got, uri),
            other => panic!("expected UnsupportedScheme, got {other:?}"),
        }
        assert!(source.next().await.is_none(), "the stream stops");
    }
}
