//! The reconnecting stream: the browser's EventSource processing model as a state
//! machine driven by `poll_next`.

use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant, SystemTime};

use bytes::BytesMut;
use futures_core::{FusedStream, Stream};
use http::{HeaderMap, StatusCode, Uri};

use super::backoff::{self, Backoff};
use super::config::Config;
use super::error::{Error, ResponseError, RetryCause};
use super::item::{Item, Open, ReadyState, Retrying, Stats};
use super::request;
use super::transport::{BodyStream, ResponseFuture, Transport};
use crate::{Decoder, Sleep, Timer};

/// A stream of events from one URL that reconnects like the browser's `EventSource`.
///
/// It yields [`Item`]s: an [`Open`](Item::Open) for each connection, the
/// [`Event`](Item::Event)s, a [`Retrying`](Item::Retrying) before each reconnect. It
/// ends after a `204 No Content` (the server's "stop"), after [`close`](Self::close),
/// or with one [`Error`] when the connection fails for good (an unexpected status or
/// content type, too many redirects, too many failed attempts).
///
/// ```no_run
/// # #[cfg(feature = "client-hyper")]
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), ssewire::client::Error> {
/// use futures_util::StreamExt;
/// use ssewire::client::{EventSource, Item};
///
/// let mut source = EventSource::hyper("http://localhost:3000/events".parse().unwrap());
/// while let Some(item) = source.next().await {
///     if let Item::Event(event) = item? {
///         println!("{} {}", event.last_event_id(), event.data());
///     }
/// }
/// # Ok(()) }
/// # #[cfg(not(feature = "client-hyper"))] fn main() {}
/// ```
#[must_use = "streams do nothing unless polled"]
pub struct EventSource {
    uri: Uri,
    transport: Box<dyn Transport>,
    timer: Box<dyn Timer>,
    config: Config,
    decoder: Decoder,
    backoff: Backoff,
    state: State,
    ready: ReadyState,
    stats: Stats,
}

enum State {
    /// Not polled yet.
    Start,
    Connecting {
        response: ResponseFuture,
        uri: Uri,
        redirects: usize,
        drop_credentials: bool,
        last_event_id: String,
        started: Instant,
        idle: Option<Sleep>,
    },
    /// Reading a bounded part of an unexpected response's body for the error.
    ErrorBody {
        error: Box<ResponseError>,
        body: BodyStream,
        buf: BytesMut,
        last_byte: Instant,
        idle: Option<Sleep>,
    },
    Streaming {
        body: BodyStream,
        opened: Instant,
        last_byte: Instant,
        idle: Option<Sleep>,
        events: u64,
    },
    Waiting(Sleep),
    Closed,
}

impl fmt::Debug for EventSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EventSource")
            .field("uri", &self.uri)
            .field("ready_state", &self.ready)
            .field("last_event_id", &self.decoder.last_event_id())
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

impl EventSource {
    /// A client for `uri` over `transport`, timed by `timer`, with the default
    /// [`Config`]. Nothing happens until it is polled.
    ///
    /// ```
    /// # #[cfg(feature = "client-hyper")] {
    /// use ssewire::client::{EventSource, HyperTransport};
    /// let source = EventSource::new(
    ///     "http://localhost:3000/events".parse().unwrap(),
    ///     HyperTransport::new(),
    ///     ssewire::TokioTimer,
    /// );
    /// assert_eq!(source.ready_state(), ssewire::client::ReadyState::Connecting);
    /// # }
    /// ```
    pub fn new(uri: Uri, transport: impl Transport, timer: impl Timer) -> Self {
        let config = Config::new();
        EventSource {
            uri,
            transport: Box::new(transport),
            timer: Box::new(timer),
            decoder: config.decoder(),
            config,
            backoff: Backoff::new(),
            state: State::Start,
            ready: ReadyState::Connecting,
            stats: Stats::default(),
        }
    }

    /// Replaces the configuration (before the first poll; later, only the timing
    /// settings take effect, the decoder keeps its limits and last event ID).
    ///
    /// ```
    /// # #[cfg(feature = "client-hyper")] {
    /// use ssewire::client::{Config, EventSource};
    /// let source = EventSource::hyper("http://localhost:3000/events".parse().unwrap())
    ///     .with_config(Config::new().with_last_event_id("7"));
    /// assert_eq!(source.last_event_id(), "7");
    /// # }
    /// ```
    pub fn with_config(mut self, config: Config) -> Self {
        if matches!(self.state, State::Start) {
            self.decoder = config.decoder();
        }
        self.config = config;
        self
    }

    /// The configuration.
    ///
    /// ```
    /// # #[cfg(feature = "client-hyper")] {
    /// let source = ssewire::client::EventSource::hyper("http://localhost/".parse().unwrap());
    /// assert_eq!(source.config().max_attempts(), None);
    /// # }
    /// ```
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The URI it connects to (every reconnect starts here, redirects are followed
    /// anew).
    ///
    /// ```
    /// # #[cfg(feature = "client-hyper")] {
    /// let source = ssewire::client::EventSource::hyper("http://localhost/e".parse().unwrap());
    /// assert_eq!(source.uri().path(), "/e");
    /// # }
    /// ```
    pub fn uri(&self) -> &Uri {
        &self.uri
    }

    /// The browser's `readyState`.
    ///
    /// ```
    /// # #[cfg(feature = "client-hyper")] {
    /// use ssewire::client::{EventSource, ReadyState};
    /// let mut source = EventSource::hyper("http://localhost/".parse().unwrap());
    /// source.close();
    /// assert_eq!(source.ready_state(), ReadyState::Closed);
    /// # }
    /// ```
    pub fn ready_state(&self) -> ReadyState {
        self.ready
    }

    /// The counters.
    ///
    /// ```
    /// # #[cfg(feature = "client-hyper")] {
    /// let source = ssewire::client::EventSource::hyper("http://localhost/".parse().unwrap());
    /// assert_eq!(source.stats().events, 0);
    /// # }
    /// ```
    pub fn stats(&self) -> Stats {
        self.stats
    }

    /// The last event ID: what the next request sends as `Last-Event-ID` (empty: not
    /// sent). Save it to resume after a restart with [`Config::with_last_event_id`].
    ///
    /// ```
    /// # #[cfg(feature = "client-hyper")] {
    /// let source = ssewire::client::EventSource::hyper("http://localhost/".parse().unwrap());
    /// assert_eq!(source.last_event_id(), "");
    /// # }
    /// ```
    pub fn last_event_id(&self) -> &str {
        self.decoder.last_event_id()
    }

    /// The wait before the next reconnect, before backoff and jitter: the server's
    /// `retry:` (with the floor), else the configured reconnection time.
    ///
    /// ```
    /// # #[cfg(feature = "client-hyper")] {
    /// use ssewire::client::{Config, EventSource};
    /// let source = EventSource::hyper("http://localhost/".parse().unwrap());
    /// assert_eq!(source.reconnection_time(), Config::DEFAULT_RECONNECTION_TIME);
    /// # }
    /// ```
    pub fn reconnection_time(&self) -> Duration {
        match self.server_reconnection_time() {
            Some(time) => time.max(self.config.min_reconnection_time()),
            None => self.config.reconnection_time(),
        }
    }

    /// Stops for good: drops the connection, the stream ends.
    ///
    /// ```
    /// # #[cfg(feature = "client-hyper")] {
    /// let mut source = ssewire::client::EventSource::hyper("http://localhost/".parse().unwrap());
    /// source.close();
    /// assert_eq!(source.ready_state(), ssewire::client::ReadyState::Closed);
    /// # }
    /// ```
    pub fn close(&mut self) {
        self.state = State::Closed;
        self.ready = ReadyState::Closed;
    }

    /// The server's `retry:` value (the one place that asks the decoder).
    fn server_reconnection_time(&self) -> Option<Duration> {
        self.decoder.reconnection_time()
    }

    fn connect(&mut self, uri: Uri, redirects: usize, drop_credentials: bool) {
        let last_event_id = self.decoder.last_event_id().to_owned();
        let request = request::build(
            &uri,
            self.config.headers(),
            drop_credentials,
            &last_event_id,
        );
        self.stats.requests += 1;
        self.ready = ReadyState::Connecting;
        self.state = State::Connecting {
            response: self.transport.send(request),
            uri,
            redirects,
            drop_credentials,
            last_event_id,
            started: self.timer.now(),
            idle: None,
        };
    }

    fn fail(&mut self, error: Error) -> Poll<Option<Result<Item, Error>>> {
        self.close();
        Poll::Ready(Some(Err(error)))
    }

    /// Ends an attempt: schedules the reconnect, or gives up.
    fn retry(&mut self, cause: RetryCause, healthy: bool) -> Poll<Option<Result<Item, Error>>> {
        let failures = self.backoff.record(healthy);
        if let Some(max) = self.config.max_attempts() {
            if failures >= max {
                return self.fail(Error::GaveUp {
                    attempts: failures,
                    cause,
                });
            }
        }
        let retry_after = match &cause {
            RetryCause::Status { retry_after, .. } => *retry_after,
            _ => None,
        };
        let server = self.server_reconnection_time();
        let delay = self.backoff.delay(&self.config, server, retry_after);
        self.stats.retries += 1;
        self.ready = ReadyState::Connecting;
        self.state = State::Waiting(self.timer.sleep(delay));
        Poll::Ready(Some(Ok(Item::Retrying(Retrying {
            cause,
            delay,
            failures: self.backoff.failures(),
        }))))
    }

    fn on_response(
        &mut self,
        response: http::Response<BodyStream>,
        uri: Uri,
        redirects: usize,
        drop_credentials: bool,
        last_event_id: String,
    ) -> Option<Poll<Option<Result<Item, Error>>>> {
        let (parts, body) = response.into_parts();
        let status = parts.status;
        if status == StatusCode::OK && request::is_event_stream(&parts.headers) {
            let now = self.timer.now();
            self.stats.connects += 1;
            self.ready = ReadyState::Open;
            self.decoder.reset();
            self.state = State::Streaming {
                body,
                opened: now,
                last_byte: now,
                idle: None,
                events: 0,
            };
            return Some(Poll::Ready(Some(Ok(Item::Open(Open {
                uri,
                headers: parts.headers,
                last_event_id,
                redirects,
            })))));
        }
        if status == StatusCode::NO_CONTENT {
            self.close();
            return Some(Poll::Ready(None));
        }
        if request::is_redirect(status) {
            let location = parts.headers.get(http::header::LOCATION);
            let Some(next) = location.and_then(|l| request::resolve(&uri, l)) else {
                return Some(self.fail(Error::InvalidRedirect {
                    status,
                    location: location.cloned(),
                }));
            };
            if redirects >= self.config.max_redirects() {
                return Some(self.fail(Error::TooManyRedirects {
                    limit: self.config.max_redirects(),
                }));
            }
            let drop_credentials = drop_credentials || !request::same_origin(&uri, &next);
            self.connect(next, redirects + 1, drop_credentials);
            return None;
        }
        if self.config.retry_server_errors()
            && (status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS)
        {
            let retry_after = backoff::retry_after(&parts.headers, SystemTime::now());
            return Some(self.retry(
                RetryCause::Status {
                    status,
                    retry_after,
                },
                false,
            ));
        }
        self.state = State::ErrorBody {
            error: Box::new(ResponseError {
                uri,
                status,
                headers: parts.headers,
                body: bytes::Bytes::new(),
            }),
            body,
            buf: BytesMut::new(),
            last_byte: self.timer.now(),
            idle: None,
        };
        None
    }
}

/// Whether the idle timeout ran out since `last` (re-arming the sleep lazily, so a
/// busy stream costs one `now()` per chunk and one timer per idle period).
fn idle_expired(
    timer: &dyn Timer,
    limit: Option<Duration>,
    idle: &mut Option<Sleep>,
    last: Instant,
    cx: &mut Context<'_>,
) -> bool {
    let Some(limit) = limit else {
        return false;
    };
    loop {
        let sleep = idle.get_or_insert_with(|| {
            timer.sleep(limit.saturating_sub(timer.now().saturating_duration_since(last)))
        });
        if sleep.as_mut().poll(cx).is_pending() {
            return false;
        }
        *idle = None;
        if timer.now().saturating_duration_since(last) >= limit {
            return true;
        }
    }
}

impl Stream for EventSource {
    type Item = Result<Item, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        loop {
            match &mut this.state {
                State::Start => {
                    if !request::is_absolute(&this.uri) {
                        let uri = this.uri.clone();
                        return this.fail(Error::InvalidUri(uri));
                    }
                    this.connect(this.uri.clone(), 0, false);
                }
                State::Connecting {
                    response,
                    started,
                    idle,
                    ..
                } => match response.as_mut().poll(cx) {
                    Poll::Pending => {
                        let limit = this.config.idle_timeout();
                        if idle_expired(&*this.timer, limit, idle, *started, cx) {
                            return this.retry(RetryCause::IdleTimeout, false);
                        }
                        return Poll::Pending;
                    }
                    Poll::Ready(Err(error)) => {
                        return this.retry(RetryCause::Transport(error), false);
                    }
                    Poll::Ready(Ok(response)) => {
                        let State::Connecting {
                            uri,
                            redirects,
                            drop_credentials,
                            last_event_id,
                            ..
                        } = std::mem::replace(&mut this.state, State::Closed)
                        else {
                            unreachable!("matched above")
                        };
                        if let Some(poll) = this.on_response(
                            response,
                            uri,
                            redirects,
                            drop_credentials,
                            last_event_id,
                        ) {
                            return poll;
                        }
                    }
                },
                State::Streaming {
                    body,
                    opened,
                    last_byte,
                    idle,
                    events,
                } => {
                    match this.decoder.next_event() {
                        Ok(Some(event)) => {
                            *events += 1;
                            this.stats.events += 1;
                            return Poll::Ready(Some(Ok(Item::Event(event))));
                        }
                        Ok(None) => {}
                        Err(error) => return Poll::Ready(Some(Ok(Item::Skipped(error)))),
                    }
                    let cause = match body.as_mut().poll_next(cx) {
                        Poll::Ready(Some(Ok(chunk))) => {
                            if this.config.idle_timeout().is_some() {
                                *last_byte = this.timer.now();
                            }
                            this.stats.bytes += chunk.len() as u64;
                            this.decoder.feed(chunk);
                            continue;
                        }
                        Poll::Ready(Some(Err(error))) => RetryCause::Transport(error),
                        Poll::Ready(None) => RetryCause::EndOfStream,
                        Poll::Pending => {
                            let limit = this.config.idle_timeout();
                            if !idle_expired(&*this.timer, limit, idle, *last_byte, cx) {
                                return Poll::Pending;
                            }
                            RetryCause::IdleTimeout
                        }
                    };
                    let healthy = *events > 0
                        || this.timer.now().saturating_duration_since(*opened)
                            >= this.config.healthy_after();
                    return this.retry(cause, healthy);
                }
                State::ErrorBody {
                    error,
                    body,
                    buf,
                    last_byte,
                    idle,
                } => {
                    let limit = this.config.max_error_body();
                    let done = loop {
                        if buf.len() >= limit {
                            break true;
                        }
                        match body.as_mut().poll_next(cx) {
                            Poll::Ready(Some(Ok(chunk))) => {
                                let take = chunk.len().min(limit - buf.len());
                                buf.extend_from_slice(&chunk[..take]);
                                *last_byte = this.timer.now();
                            }
                            Poll::Ready(Some(Err(_)) | None) => break true,
                            Poll::Pending => {
                                let timeout = this.config.idle_timeout();
                                break idle_expired(&*this.timer, timeout, idle, *last_byte, cx);
                            }
                        }
                    };
                    if !done {
                        return Poll::Pending;
                    }
                    let mut error = std::mem::replace(
                        error,
                        Box::new(ResponseError {
                            uri: Uri::default(),
                            status: StatusCode::OK,
                            headers: HeaderMap::new(),
                            body: bytes::Bytes::new(),
                        }),
                    );
                    error.body = std::mem::take(buf).freeze();
                    return this.fail(Error::Response(error));
                }
                State::Waiting(sleep) => {
                    if sleep.as_mut().poll(cx).is_pending() {
                        return Poll::Pending;
                    }
                    this.connect(this.uri.clone(), 0, false);
                }
                State::Closed => return Poll::Ready(None),
            }
        }
    }
}

impl FusedStream for EventSource {
    fn is_terminated(&self) -> bool {
        matches!(self.state, State::Closed)
    }
}
