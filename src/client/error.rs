//! Why the client reconnects, and why it stops.

use std::fmt;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, StatusCode, Uri};

use super::transport::BoxError;

/// Why the client is about to reconnect (in [`Retrying`](super::Retrying) and
/// [`Error::GaveUp`]).
///
/// ```
/// use ssewire::client::RetryCause;
/// assert_eq!(RetryCause::EndOfStream.to_string(), "the server ended the stream");
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum RetryCause {
    /// The response body ended (a browser reconnects after that too).
    EndOfStream,
    /// No byte arrived within the [idle timeout](super::Config::idle_timeout).
    IdleTimeout,
    /// The transport failed: connection refused or reset, TLS, a broken body.
    Transport(BoxError),
    /// A 5xx or 429 response, retried because of
    /// [`Config::with_retry_server_errors`](super::Config::with_retry_server_errors).
    Status {
        /// The response status.
        status: StatusCode,
        /// The `Retry-After` it asked for, if any.
        retry_after: Option<Duration>,
    },
}

impl fmt::Display for RetryCause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RetryCause::EndOfStream => f.write_str("the server ended the stream"),
            RetryCause::IdleTimeout => f.write_str("no data within the idle timeout"),
            RetryCause::Transport(e) => write!(f, "transport error: {e}"),
            RetryCause::Status {
                status,
                retry_after: Some(after),
            } => write!(f, "status {status}, Retry-After {after:?}"),
            RetryCause::Status { status, .. } => write!(f, "status {status}"),
        }
    }
}

/// A response that does not open a stream: a status other than 200 (and 204), or a
/// 200 whose content type is not `text/event-stream`.
///
/// ```
/// use ssewire::client::ResponseError;
/// # #[allow(dead_code)]
/// # fn check(error: &ResponseError) {
/// eprintln!("{} {:?}: {}", error.status(), error.headers().get("content-type"),
///     String::from_utf8_lossy(error.body()));
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct ResponseError {
    pub(crate) uri: Uri,
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
}

impl ResponseError {
    /// The URI that answered (after redirects).
    ///
    /// ```
    /// # #[allow(dead_code)]
    /// # fn check(error: &ssewire::client::ResponseError) { let _ = error.uri().path(); }
    /// ```
    pub fn uri(&self) -> &Uri {
        &self.uri
    }

    /// The response status.
    ///
    /// ```
    /// # #[allow(dead_code)]
    /// # fn check(error: &ssewire::client::ResponseError) { let _ = error.status().as_u16(); }
    /// ```
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The response headers.
    ///
    /// ```
    /// # #[allow(dead_code)]
    /// # fn check(error: &ssewire::client::ResponseError) { let _ = error.headers().len(); }
    /// ```
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// The response's content type, if any.
    ///
    /// ```
    /// # #[allow(dead_code)]
    /// # fn check(error: &ssewire::client::ResponseError) { let _ = error.content_type(); }
    /// ```
    pub fn content_type(&self) -> Option<&HeaderValue> {
        self.headers.get(http::header::CONTENT_TYPE)
    }

    /// The start of the body, at most [`Config::max_error_body`](super::Config::max_error_body)
    /// bytes.
    ///
    /// ```
    /// # #[allow(dead_code)]
    /// # fn check(error: &ssewire::client::ResponseError) { let _ = error.body().len(); }
    /// ```
    pub fn body(&self) -> &Bytes {
        &self.body
    }
}

impl fmt::Display for ResponseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.status == StatusCode::OK {
            write!(f, "{} answered 200 with content type ", self.uri)?;
            match self.content_type() {
                Some(ct) => write!(f, "{:?}", String::from_utf8_lossy(ct.as_bytes()))?,
                None => f.write_str("(none)")?,
            }
            f.write_str(", not text/event-stream")
        } else {
            write!(f, "{} answered {}", self.uri, self.status)?;
            if !self.body.is_empty() {
                let text = String::from_utf8_lossy(&self.body[..self.body.len().min(200)]);
                write!(f, ": {:?}", text.trim())?;
            }
            Ok(())
        }
    }
}

/// Why an [`EventSource`](super::EventSource) stopped for good. After it, the stream
/// ends.
///
/// ```
/// use ssewire::client::Error;
/// let error = Error::TooManyRedirects { limit: 10 };
/// assert_eq!(error.to_string(), "more than 10 redirects");
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The URI is not absolute (`http://` or `https://` with a host).
    #[error("not an absolute http(s) URI: {0}")]
    InvalidUri(Uri),
    /// A response that does not open a stream (the browser fails the connection).
    #[error("{0}")]
    Response(Box<ResponseError>),
    /// A redirect without a usable `Location`.
    #[error("redirect {status} without a usable Location ({location:?})")]
    InvalidRedirect {
        /// The redirect's status.
        status: StatusCode,
        /// Its `Location` header, if any.
        location: Option<HeaderValue>,
    },
    /// The transport cannot request this URI: `https://` with
    /// [`HyperTransport`](super::HyperTransport) built without the feature
    /// `client-hyper-rustls`. Retrying could not help, so the stream stops.
    ///
    /// ```
    /// let uri: http::Uri = "https://example.com/events".parse().unwrap();
    /// let error = ssewire::client::Error::UnsupportedScheme(uri);
    /// assert!(error.to_string().starts_with("the transport cannot request https://example.com/events"));
    /// ```
    #[error("the transport cannot request {0}: https needs the feature `client-hyper-rustls`")]
    UnsupportedScheme(Uri),
    /// More redirects than [`Config::max_redirects`](super::Config::max_redirects).
    #[error("more than {limit} redirects")]
    TooManyRedirects {
        /// The limit.
        limit: usize,
    },
    /// [`Config::max_attempts`](super::Config::max_attempts) attempts in a row failed.
    #[error("gave up after {attempts} failed attempts; last: {cause}")]
    GaveUp {
        /// How many attempts failed in a row.
        attempts: u32,
        /// Why the last one failed.
        cause: RetryCause,
    },
}

impl Error {
    /// The unexpected response, when that is why the stream stopped.
    ///
    /// ```
    /// # #[allow(dead_code)]
    /// # fn check(error: &ssewire::client::Error) {
    /// if let Some(response) = error.response() {
    ///     eprintln!("status {}", response.status());
    /// }
    /// # }
    /// ```
    pub fn response(&self) -> Option<&ResponseError> {
        match self {
            Error::Response(r) => Some(r),
            _ => None,
        }
    }
}
