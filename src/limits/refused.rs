//! [`Refused`]: the typed refusal, and the response it becomes.

use std::fmt;
use std::time::Duration;

use http::header::{HeaderValue, CACHE_CONTROL, CONTENT_TYPE, RETRY_AFTER};
use http::{Response, StatusCode};

/// Which cap refused a connection (see [`Refused::cap`]).
///
/// ```
/// use ssewire::Cap;
/// assert_eq!(Cap::Global.status(), http::StatusCode::SERVICE_UNAVAILABLE);
/// assert_eq!(Cap::PerKey.status(), http::StatusCode::TOO_MANY_REQUESTS);
/// assert_eq!(Cap::Topic.status(), http::StatusCode::SERVICE_UNAVAILABLE);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Cap {
    /// Every connection of the limiter (or every subscriber of a hub): the server is
    /// full. `503 Service Unavailable`.
    Global,
    /// The connections of one key (a user, an address): this client has too many.
    /// `429 Too Many Requests`.
    PerKey,
    /// The subscribers of one hub topic: that feed is full. `503 Service
    /// Unavailable` (the topic's many clients, not this one, filled it).
    Topic,
}

impl Cap {
    /// The status to answer: 503 for [`Cap::Global`] and [`Cap::Topic`], 429 for
    /// [`Cap::PerKey`].
    ///
    /// ```
    /// assert_eq!(ssewire::Cap::PerKey.status().as_u16(), 429);
    /// ```
    pub const fn status(self) -> StatusCode {
        match self {
            Cap::PerKey => StatusCode::TOO_MANY_REQUESTS,
            Cap::Global | Cap::Topic => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    const fn describe(self) -> &'static str {
        match self {
            Cap::Global => "the server's cap",
            Cap::PerKey => "the per-key cap",
            Cap::Topic => "the topic's cap",
        }
    }
}

impl fmt::Display for Cap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.describe())
    }
}

/// A connection refused by a cap of a [`ConnectionLimiter`](crate::ConnectionLimiter)
/// or of a hub: answer it before the stream starts, with [`Refused::to_response`]
/// (with feature `axum` return it, it is an `IntoResponse`; with `actix`, a
/// `ResponseError`).
///
/// The response is `503 Service Unavailable` ([`Cap::Global`], [`Cap::Topic`]) or
/// `429 Too Many Requests` ([`Cap::PerKey`]), with `Retry-After` in seconds and
/// `Cache-Control: no-store`. Never answer a refusal with 204: see the
/// [`ConnectionLimiter` docs](crate::ConnectionLimiter#what-a-refused-browser-does-and-why-not-204)
/// for what browsers do with each.
///
/// ```
/// use std::time::Duration;
/// use ssewire::{Cap, ConnectionLimiter, Limits};
///
/// let limiter = ConnectionLimiter::new(
///     Limits::new().with_max_connections(1).with_retry_jitter(Duration::ZERO),
/// );
/// let _open = limiter.try_acquire("10.0.0.1")?;
/// let refused = limiter.try_acquire("10.0.0.2").unwrap_err();
/// assert_eq!((refused.cap(), refused.limit()), (Cap::Global, 1));
/// assert_eq!(refused.status(), http::StatusCode::SERVICE_UNAVAILABLE);
/// assert_eq!(refused.retry_after(), Duration::from_secs(5));
/// assert_eq!(
///     refused.to_string(),
///     "connection refused: the server's cap (1 open at once) is reached; retry after 5 s"
/// );
/// # Ok::<(), ssewire::Refused>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "connection refused: {cap} ({limit} open at once) is reached; retry after {} s",
    self.retry_after.as_secs()
)]
#[non_exhaustive]
pub struct Refused {
    cap: Cap,
    limit: usize,
    retry_after: Duration,
}

impl Refused {
    /// A refusal by `cap`, whose limit is `limit`; `Retry-After` is `retry_after`
    /// plus a random part of `jitter`, rounded up to whole seconds (saturating: a
    /// huge configured wait is the most seconds there are, never a wrap to 0).
    pub(crate) fn new(cap: Cap, limit: usize, retry_after: Duration, jitter: Duration) -> Self {
        let after = retry_after.saturating_add(crate::body::random_up_to(jitter));
        let secs = after
            .as_secs()
            .saturating_add(u64::from(after.subsec_nanos() > 0));
        Refused {
            cap,
            limit,
            retry_after: Duration::from_secs(secs),
        }
    }

    /// Which cap refused.
    ///
    /// ```
    /// let limiter = ssewire::ConnectionLimiter::new(ssewire::Limits::new().with_max_per_key(0));
    /// assert_eq!(limiter.try_acquire(7u64).unwrap_err().cap(), ssewire::Cap::PerKey);
    /// ```
    pub fn cap(&self) -> Cap {
        self.cap
    }

    /// The cap's limit (connections open at once).
    ///
    /// ```
    /// let limiter = ssewire::ConnectionLimiter::new(ssewire::Limits::new().with_max_per_key(0));
    /// assert_eq!(limiter.try_acquire(7u64).unwrap_err().limit(), 0);
    /// ```
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// How long the client is asked to wait, in whole seconds (`Retry-After`).
    ///
    /// ```
    /// use std::time::Duration;
    /// let limits = ssewire::Limits::new()
    ///     .with_max_connections(0)
    ///     .with_retry_after(Duration::from_millis(1500))
    ///     .with_retry_jitter(Duration::ZERO);
    /// let limiter = ssewire::ConnectionLimiter::new(limits);
    /// assert_eq!(limiter.try_acquire(()).unwrap_err().retry_after(), Duration::from_secs(2));
    /// ```
    pub fn retry_after(&self) -> Duration {
        self.retry_after
    }

    /// The status to answer (see [`Cap::status`]).
    ///
    /// ```
    /// let limiter = ssewire::ConnectionLimiter::new(ssewire::Limits::new().with_max_connections(0));
    /// assert_eq!(limiter.try_acquire(()).unwrap_err().status(), 503);
    /// ```
    pub fn status(&self) -> StatusCode {
        self.cap.status()
    }

    /// The response: [`Refused::status`], `Retry-After` (seconds),
    /// `Cache-Control: no-store`, and the message as a `text/plain` body.
    ///
    /// ```
    /// let limiter = ssewire::ConnectionLimiter::new(ssewire::Limits::new().with_max_per_key(0));
    /// let response: http::Response<String> = limiter.try_acquire("u1").unwrap_err().to_response();
    /// assert_eq!(response.status(), 429);
    /// assert!(response.headers()["retry-after"].to_str()?.parse::<u64>()? >= 5);
    /// assert_eq!(response.headers()["cache-control"], "no-store");
    /// assert_eq!(response.headers()["content-type"], "text/plain; charset=utf-8");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn to_response<B: From<String>>(&self) -> Response<B> {
        let mut response = Response::new(B::from(format!("{self}\n")));
        *response.status_mut() = self.status();
        let headers = response.headers_mut();
        headers.insert(RETRY_AFTER, HeaderValue::from(self.retry_after.as_secs()));
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
        headers.insert(
            CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        );
        response
    }
}
