//! The client's settings.

use std::time::Duration;

use http::{HeaderMap, HeaderName, HeaderValue};

use crate::{Decoder, EventId};

/// How an [`EventSource`](super::EventSource) connects, waits and gives up.
///
/// Every setting has a `with_*` setter and a getter of the same name; the defaults are
/// the `DEFAULT_*` constants. The defaults follow the browser's `EventSource`, plus an
/// idle timeout and exponential backoff while attempts keep failing.
///
/// ```
/// use std::time::Duration;
/// use ssewire::client::Config;
///
/// let config = Config::new()
///     .with_reconnection_time(Duration::from_secs(1))
///     .with_max_attempts(Some(5))
///     .with_retry_server_errors(true)
///     .with_last_event_id(41u64)
///     .with_header(http::header::AUTHORIZATION, http::HeaderValue::from_static("Bearer t"));
/// assert_eq!(config.reconnection_time(), Duration::from_secs(1));
/// assert_eq!(config.idle_timeout(), Config::DEFAULT_IDLE_TIMEOUT);
/// assert_eq!(config.last_event_id(), "41");
/// ```
#[derive(Debug, Clone)]
#[must_use]
pub struct Config {
    reconnection_time: Duration,
    min_reconnection_time: Duration,
    max_reconnection_time: Duration,
    max_server_delay: Duration,
    jitter: f64,
    healthy_after: Duration,
    max_attempts: Option<u32>,
    idle_timeout: Option<Duration>,
    max_redirects: usize,
    retry_server_errors: bool,
    max_error_body: usize,
    max_line_size: usize,
    max_event_size: usize,
    last_event_id: String,
    headers: HeaderMap,
}

impl Default for Config {
    fn default() -> Self {
        Config::new()
    }
}

impl Config {
    /// The reconnection time until the server sends `retry:` (3 s, as in Chromium).
    pub const DEFAULT_RECONNECTION_TIME: Duration = Duration::from_secs(3);
    /// The floor under a server's `retry:` value, so `retry: 0` cannot make a tight loop.
    pub const DEFAULT_MIN_RECONNECTION_TIME: Duration = Duration::from_millis(250);
    /// The cap of the exponential backoff (a `Retry-After` may ask for longer).
    pub const DEFAULT_MAX_RECONNECTION_TIME: Duration = Duration::from_secs(60);
    /// The longest wait a server may ask for, with `retry:` or `Retry-After` (1 hour).
    pub const DEFAULT_MAX_SERVER_DELAY: Duration = Duration::from_secs(60 * 60);
    /// The random part added to each wait, as a fraction of it (0.2 = up to 20 % more).
    pub const DEFAULT_JITTER: f64 = 0.2;
    /// How long a connection must stay open (or deliver one event) to reset the backoff.
    pub const DEFAULT_HEALTHY_AFTER: Duration = Duration::from_secs(5);
    /// No byte for this long, keep-alive comments included, means a dead connection.
    pub const DEFAULT_IDLE_TIMEOUT: Option<Duration> = Some(Duration::from_secs(60));
    /// Redirects followed per connection attempt (then [`Error::TooManyRedirects`](super::Error::TooManyRedirects)).
    pub const DEFAULT_MAX_REDIRECTS: usize = 10;
    /// The bytes of an unexpected response's body kept in [`ResponseError::body`](super::ResponseError::body).
    pub const DEFAULT_MAX_ERROR_BODY: usize = 4096;
    /// The decoder's line limit ([`Decoder::DEFAULT_MAX_LINE_SIZE`]).
    pub const DEFAULT_MAX_LINE_SIZE: usize = Decoder::DEFAULT_MAX_LINE_SIZE;
    /// The decoder's event limit ([`Decoder::DEFAULT_MAX_EVENT_SIZE`]).
    pub const DEFAULT_MAX_EVENT_SIZE: usize = Decoder::DEFAULT_MAX_EVENT_SIZE;

    /// The defaults: browser behaviour, a 60 s idle timeout, retries forever.
    ///
    /// ```
    /// let config = ssewire::client::Config::new();
    /// assert_eq!(config.max_attempts(), None);
    /// assert!(!config.retry_server_errors());
    /// ```
    pub fn new() -> Self {
        Config {
            reconnection_time: Self::DEFAULT_RECONNECTION_TIME,
            min_reconnection_time: Self::DEFAULT_MIN_RECONNECTION_TIME,
            max_reconnection_time: Self::DEFAULT_MAX_RECONNECTION_TIME,
            max_server_delay: Self::DEFAULT_MAX_SERVER_DELAY,
            jitter: Self::DEFAULT_JITTER,
            healthy_after: Self::DEFAULT_HEALTHY_AFTER,
            max_attempts: None,
            idle_timeout: Self::DEFAULT_IDLE_TIMEOUT,
            max_redirects: Self::DEFAULT_MAX_REDIRECTS,
            retry_server_errors: false,
            max_error_body: Self::DEFAULT_MAX_ERROR_BODY,
            max_line_size: Self::DEFAULT_MAX_LINE_SIZE,
            max_event_size: Self::DEFAULT_MAX_EVENT_SIZE,
            last_event_id: String::new(),
            headers: HeaderMap::new(),
        }
    }

    /// Sets the wait before reconnecting until the server sends `retry:`.
    ///
    /// ```
    /// # use std::time::Duration;
    /// let config = ssewire::client::Config::new().with_reconnection_time(Duration::from_secs(1));
    /// assert_eq!(config.reconnection_time(), Duration::from_secs(1));
    /// ```
    pub fn with_reconnection_time(mut self, time: Duration) -> Self {
        self.reconnection_time = time;
        self
    }

    /// The wait before reconnecting until the server sends `retry:`.
    ///
    /// ```
    /// # use ssewire::client::Config;
    /// assert_eq!(Config::new().reconnection_time(), Config::DEFAULT_RECONNECTION_TIME);
    /// ```
    pub fn reconnection_time(&self) -> std::time::Duration {
        self.reconnection_time
    }

    /// Sets the floor under the server's `retry:` value.
    ///
    /// ```
    /// # use std::time::Duration;
    /// let config = ssewire::client::Config::new().with_min_reconnection_time(Duration::from_secs(1));
    /// assert_eq!(config.min_reconnection_time(), Duration::from_secs(1));
    /// ```
    pub fn with_min_reconnection_time(mut self, time: Duration) -> Self {
        self.min_reconnection_time = time;
        self
    }

    /// The floor under the server's `retry:` value.
    ///
    /// ```
    /// # use ssewire::client::Config;
    /// assert_eq!(Config::new().min_reconnection_time(), Config::DEFAULT_MIN_RECONNECTION_TIME);
    /// ```
    pub fn min_reconnection_time(&self) -> Duration {
        self.min_reconnection_time
    }

    /// Sets the cap of the exponential backoff.
    ///
    /// ```
    /// # use std::time::Duration;
    /// let config = ssewire::client::Config::new().with_max_reconnection_time(Duration::from_secs(10));
    /// assert_eq!(config.max_reconnection_time(), Duration::from_secs(10));
    /// ```
    pub fn with_max_reconnection_time(mut self, time: Duration) -> Self {
        self.max_reconnection_time = time;
        self
    }

    /// The cap of the exponential backoff.
    ///
    /// ```
    /// # use ssewire::client::Config;
    /// assert_eq!(Config::new().max_reconnection_time(), Config::DEFAULT_MAX_RECONNECTION_TIME);
    /// ```
    pub fn max_reconnection_time(&self) -> Duration {
        self.max_reconnection_time
    }

    /// Sets the longest wait a server may ask for, with a `retry:` field or a
    /// `Retry-After` header: longer values are cut to it, so that a buggy or hostile
    /// server cannot park the client for days. Browsers have no such cap; pass
    /// `Duration::MAX` for their behaviour. The jitter comes on top.
    ///
    /// ```
    /// # use std::time::Duration;
    /// let config = ssewire::client::Config::new().with_max_server_delay(Duration::from_secs(600));
    /// assert_eq!(config.max_server_delay(), Duration::from_secs(600));
    /// ```
    pub fn with_max_server_delay(mut self, time: Duration) -> Self {
        self.max_server_delay = time;
        self
    }

    /// The longest wait a server may ask for.
    ///
    /// ```
    /// # use ssewire::client::Config;
    /// assert_eq!(Config::new().max_server_delay(), Config::DEFAULT_MAX_SERVER_DELAY);
    /// ```
    pub fn max_server_delay(&self) -> Duration {
        self.max_server_delay
    }

    /// Sets the jitter: each wait is lengthened by a random fraction of it, up to
    /// `jitter` (clamped to 0..=1). `0.0` makes the waits exact.
    ///
    /// ```
    /// let config = ssewire::client::Config::new().with_jitter(0.0);
    /// assert_eq!(config.jitter(), 0.0);
    /// ```
    pub fn with_jitter(mut self, jitter: f64) -> Self {
        self.jitter = if jitter.is_nan() {
            0.0
        } else {
            jitter.clamp(0.0, 1.0)
        };
        self
    }

    /// The jitter, as a fraction of each wait.
    ///
    /// ```
    /// # use ssewire::client::Config;
    /// assert_eq!(Config::new().jitter(), Config::DEFAULT_JITTER);
    /// ```
    pub fn jitter(&self) -> f64 {
        self.jitter
    }

    /// Sets how long a connection must stay open to count as healthy: the backoff then
    /// starts again from the reconnection time. A connection that delivers an event is
    /// healthy at once.
    ///
    /// ```
    /// # use std::time::Duration;
    /// let config = ssewire::client::Config::new().with_healthy_after(Duration::from_secs(30));
    /// assert_eq!(config.healthy_after(), Duration::from_secs(30));
    /// ```
    pub fn with_healthy_after(mut self, time: Duration) -> Self {
        self.healthy_after = time;
        self
    }

    /// How long a connection must stay open to reset the backoff.
    ///
    /// ```
    /// # use ssewire::client::Config;
    /// assert_eq!(Config::new().healthy_after(), Config::DEFAULT_HEALTHY_AFTER);
    /// ```
    pub fn healthy_after(&self) -> Duration {
        self.healthy_after
    }

    /// Gives up (with [`Error::GaveUp`](super::Error::GaveUp)) after this many attempts
    /// in a row failed; `None` (the default) retries forever, like a browser.
    ///
    /// ```
    /// let config = ssewire::client::Config::new().with_max_attempts(Some(3));
    /// assert_eq!(config.max_attempts(), Some(3));
    /// ```
    pub fn with_max_attempts(mut self, attempts: Option<u32>) -> Self {
        self.max_attempts = attempts.map(|n| n.max(1));
        self
    }

    /// How many failed attempts in a row end the stream, if any.
    ///
    /// ```
    /// assert_eq!(ssewire::client::Config::new().max_attempts(), None);
    /// ```
    pub fn max_attempts(&self) -> Option<u32> {
        self.max_attempts
    }

    /// Sets the idle timeout: when no byte arrives for this long (response head
    /// included), the connection is dropped and a new one made. `None` waits forever.
    /// There is never a total request timeout.
    ///
    /// ```
    /// let config = ssewire::client::Config::new().with_idle_timeout(None);
    /// assert_eq!(config.idle_timeout(), None);
    /// ```
    pub fn with_idle_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.idle_timeout = timeout;
        self
    }

    /// The idle timeout, if any.
    ///
    /// ```
    /// # use ssewire::client::Config;
    /// assert_eq!(Config::new().idle_timeout(), Config::DEFAULT_IDLE_TIMEOUT);
    /// ```
    pub fn idle_timeout(&self) -> Option<Duration> {
        self.idle_timeout
    }

    /// Sets how many redirects one connection attempt follows.
    ///
    /// ```
    /// let config = ssewire::client::Config::new().with_max_redirects(0);
    /// assert_eq!(config.max_redirects(), 0);
    /// ```
    pub fn with_max_redirects(mut self, redirects: usize) -> Self {
        self.max_redirects = redirects;
        self
    }

    /// How many redirects one connection attempt follows.
    ///
    /// ```
    /// # use ssewire::client::Config;
    /// assert_eq!(Config::new().max_redirects(), Config::DEFAULT_MAX_REDIRECTS);
    /// ```
    pub fn max_redirects(&self) -> usize {
        self.max_redirects
    }

    /// Off-spec, for services: when `true`, a 5xx or 429 response is retried with
    /// backoff (waiting at least its `Retry-After`) instead of failing for good.
    ///
    /// ```
    /// let config = ssewire::client::Config::new().with_retry_server_errors(true);
    /// assert!(config.retry_server_errors());
    /// ```
    pub fn with_retry_server_errors(mut self, retry: bool) -> Self {
        self.retry_server_errors = retry;
        self
    }

    /// Whether 5xx and 429 responses are retried.
    ///
    /// ```
    /// assert!(!ssewire::client::Config::new().retry_server_errors());
    /// ```
    pub fn retry_server_errors(&self) -> bool {
        self.retry_server_errors
    }

    /// Sets how many bytes of an unexpected response's body are kept for the error.
    ///
    /// ```
    /// let config = ssewire::client::Config::new().with_max_error_body(0);
    /// assert_eq!(config.max_error_body(), 0);
    /// ```
    pub fn with_max_error_body(mut self, bytes: usize) -> Self {
        self.max_error_body = bytes;
        self
    }

    /// How many bytes of an unexpected response's body are kept.
    ///
    /// ```
    /// # use ssewire::client::Config;
    /// assert_eq!(Config::new().max_error_body(), Config::DEFAULT_MAX_ERROR_BODY);
    /// ```
    pub fn max_error_body(&self) -> usize {
        self.max_error_body
    }

    /// Sets the decoder's line limit (see [`Decoder::with_max_line_size`]).
    ///
    /// ```
    /// let config = ssewire::client::Config::new().with_max_line_size(1024);
    /// assert_eq!(config.max_line_size(), 1024);
    /// ```
    pub fn with_max_line_size(mut self, bytes: usize) -> Self {
        self.max_line_size = bytes;
        self
    }

    /// The decoder's line limit.
    ///
    /// ```
    /// # use ssewire::client::Config;
    /// assert_eq!(Config::new().max_line_size(), Config::DEFAULT_MAX_LINE_SIZE);
    /// ```
    pub fn max_line_size(&self) -> usize {
        self.max_line_size
    }

    /// Sets the decoder's event limit (see [`Decoder::with_max_event_size`]).
    ///
    /// ```
    /// let config = ssewire::client::Config::new().with_max_event_size(1024);
    /// assert_eq!(config.max_event_size(), 1024);
    /// ```
    pub fn with_max_event_size(mut self, bytes: usize) -> Self {
        self.max_event_size = bytes;
        self
    }

    /// The decoder's event limit.
    ///
    /// ```
    /// # use ssewire::client::Config;
    /// assert_eq!(Config::new().max_event_size(), Config::DEFAULT_MAX_EVENT_SIZE);
    /// ```
    pub fn max_event_size(&self) -> usize {
        self.max_event_size
    }

    /// Seeds the last event ID, so the first request already sends `Last-Event-ID`
    /// (resuming after a restart of the client itself). The empty id means none. An
    /// [`EventId`] (a number, or text checked by [`EventId::new`]): an id with CR, LF or
    /// NUL could not be sent, and the resumption would be lost without a word.
    ///
    /// ```
    /// use ssewire::{client::Config, EventId};
    ///
    /// let config = Config::new().with_last_event_id(1234u64);
    /// assert_eq!(config.last_event_id(), "1234");
    ///
    /// // A saved id (from a file written by `echo`, with its newline): trim, then check.
    /// let saved = "order-7\n";
    /// let config = Config::new().with_last_event_id(EventId::new(saved.trim())?);
    /// assert_eq!(config.last_event_id(), "order-7");
    /// assert!(EventId::new(saved).is_err());
    /// # Ok::<(), ssewire::EventError>(())
    /// ```
    pub fn with_last_event_id(mut self, id: impl Into<EventId>) -> Self {
        self.last_event_id = id.into().to_string();
        self
    }

    /// The seeded last event ID (empty: none).
    ///
    /// ```
    /// assert_eq!(ssewire::client::Config::new().last_event_id(), "");
    /// ```
    pub fn last_event_id(&self) -> &str {
        &self.last_event_id
    }

    /// Adds a request header sent on every request (replacing the value of a header of
    /// the same name). `Authorization`, `Cookie` and `Proxy-Authorization` are dropped
    /// when a redirect leaves the origin.
    ///
    /// ```
    /// use http::{header, HeaderValue};
    /// let config = ssewire::client::Config::new()
    ///     .with_header(header::COOKIE, HeaderValue::from_static("session=1"));
    /// assert_eq!(config.headers()[header::COOKIE], "session=1");
    /// ```
    pub fn with_header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.headers.insert(name, value);
        self
    }

    /// The extra request headers.
    ///
    /// ```
    /// assert!(ssewire::client::Config::new().headers().is_empty());
    /// ```
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// The decoder for a new client (the only place that configures one).
    pub(crate) fn decoder(&self) -> Decoder {
        Decoder::new()
            .with_max_line_size(self.max_line_size)
            .with_max_event_size(self.max_event_size)
            .with_seeded_last_event_id(self.last_event_id.clone())
    }
}
