//! The reconnecting stream: the browser's EventSource processing model as a state
//! machine driven by `poll_next`.

use std::fmt;
use std::task::Poll;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use http::Uri;

use super::backoff::Backoff;
use super::config::Config;
use super::error::{Error, ResponseError, RetryCause};
use super::item::{Item, ReadyState, Retrying, Stats};
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
    pub(super) uri: Uri,
    pub(super) transport: Box<dyn Transport>,
    pub(super) timer: Box<dyn Timer>,
    pub(super) config: Config,
    pub(super) decoder: Decoder,
    pub(super) backoff: Backoff,
    pub(super) state: State,
    pub(super) ready: ReadyState,
    pub(super) stats: Stats,
}

pub(super) enum State {
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
    ///     .with_config(Config::new().with_last_event_id(7u64));
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
    pub(super) fn server_reconnection_time(&self) -> Option<Duration> {
        self.decoder.reconnection_time()
    }

    pub(super) fn connect(&mut self, uri: Uri, redirects: usize, drop_credentials: bool) {
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

    pub(super) fn fail(&mut self, error: Error) -> Poll<Option<Result<Item, Error>>> {
        self.close();
        Poll::Ready(Some(Err(error)))
    }

    /// Ends an attempt: schedules the reconnect, or gives up.
    pub(super) fn retry(
        &mut self,
        cause: RetryCause,
        healthy: bool,
    ) -> Poll<Option<Result<Item, Error>>> {
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
}
