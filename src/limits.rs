//! Connection limits: a global cap and a per-key cap on open event streams, and the
//! typed refusal ([`Refused`]) to answer with `429` or `503` and `Retry-After`.
//!
//! The types are documented on [`ConnectionLimiter`], which has the whole picture.

use std::borrow::Borrow;
use std::collections::HashMap;
use std::fmt;
use std::hash::Hash;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http::header::{HeaderValue, CACHE_CONTROL, CONTENT_TYPE, RETRY_AFTER};
use http::{Response, StatusCode};

use crate::sync::lock;

/// The caps of a [`ConnectionLimiter`], and how long a refused client is asked to
/// wait. Setters start with `with_`; the getters of the same names read them back.
/// With no cap set, every connection is admitted (and counted).
///
/// ```
/// use ssewire::Limits;
///
/// let limits = Limits::new().with_max_connections(5_000).with_max_per_key(3);
/// assert_eq!(limits.max_connections(), Some(5_000));
/// assert_eq!(limits.max_per_key(), Some(3));
/// assert_eq!(limits.retry_after(), Limits::DEFAULT_RETRY_AFTER);
/// assert_eq!(limits.retry_jitter(), Limits::DEFAULT_RETRY_JITTER);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[must_use]
pub struct Limits {
    max_connections: Option<usize>,
    max_per_key: Option<usize>,
    retry_after: Duration,
    retry_jitter: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits::new()
    }
}

impl Limits {
    /// The default least `Retry-After` of a refusal: 5 seconds.
    ///
    /// ```
    /// assert_eq!(ssewire::Limits::DEFAULT_RETRY_AFTER.as_secs(), 5);
    /// ```
    pub const DEFAULT_RETRY_AFTER: Duration = Duration::from_secs(5);
    /// The default random part added to [`Limits::DEFAULT_RETRY_AFTER`]: up to 5
    /// seconds, so that refused clients do not all come back at the same second.
    ///
    /// ```
    /// assert_eq!(ssewire::Limits::DEFAULT_RETRY_JITTER.as_secs(), 5);
    /// ```
    pub const DEFAULT_RETRY_JITTER: Duration = Duration::from_secs(5);

    /// No cap, and the default `Retry-After` (5 s plus up to 5 s of jitter).
    ///
    /// ```
    /// let limits = ssewire::Limits::new();
    /// assert_eq!((limits.max_connections(), limits.max_per_key()), (None, None));
    /// ```
    pub const fn new() -> Self {
        Limits {
            max_connections: None,
            max_per_key: None,
            retry_after: Self::DEFAULT_RETRY_AFTER,
            retry_jitter: Self::DEFAULT_RETRY_JITTER,
        }
    }

    /// At most `max` connections open at once, whatever their key; past it,
    /// [`Cap::Global`] refuses with `503 Service Unavailable`.
    ///
    /// ```
    /// assert_eq!(ssewire::Limits::new().with_max_connections(100).max_connections(), Some(100));
    /// ```
    pub const fn with_max_connections(mut self, max: usize) -> Self {
        self.max_connections = Some(max);
        self
    }

    /// At most `max` connections open at once for one key; past it, [`Cap::PerKey`]
    /// refuses with `429 Too Many Requests`.
    ///
    /// ```
    /// assert_eq!(ssewire::Limits::new().with_max_per_key(2).max_per_key(), Some(2));
    /// ```
    pub const fn with_max_per_key(mut self, max: usize) -> Self {
        self.max_per_key = Some(max);
        self
    }

    /// The least time a refused client is asked to wait (`Retry-After`, in whole
    /// seconds, rounded up).
    ///
    /// ```
    /// use std::time::Duration;
    /// let limits = ssewire::Limits::new().with_retry_after(Duration::from_secs(30));
    /// assert_eq!(limits.retry_after(), Duration::from_secs(30));
    /// ```
    pub const fn with_retry_after(mut self, after: Duration) -> Self {
        self.retry_after = after;
        self
    }

    /// A random part, up to `jitter`, added to each refusal's `Retry-After`.
    ///
    /// ```
    /// use std::time::Duration;
    /// let limits = ssewire::Limits::new().with_retry_jitter(Duration::ZERO);
    /// assert_eq!(limits.retry_jitter(), Duration::ZERO);
    /// ```
    pub const fn with_retry_jitter(mut self, jitter: Duration) -> Self {
        self.retry_jitter = jitter;
        self
    }

    /// The cap on connections open at once, if any.
    ///
    /// ```
    /// assert_eq!(ssewire::Limits::new().max_connections(), None);
    /// ```
    pub const fn max_connections(&self) -> Option<usize> {
        self.max_connections
    }

    /// The cap on connections open at once for one key, if any.
    ///
    /// ```
    /// assert_eq!(ssewire::Limits::new().max_per_key(), None);
    /// ```
    pub const fn max_per_key(&self) -> Option<usize> {
        self.max_per_key
    }

    /// The least `Retry-After` of a refusal.
    ///
    /// ```
    /// assert_eq!(ssewire::Limits::new().retry_after(), ssewire::Limits::DEFAULT_RETRY_AFTER);
    /// ```
    pub const fn retry_after(&self) -> Duration {
        self.retry_after
    }

    /// The most random time added to a refusal's `Retry-After`.
    ///
    /// ```
    /// assert_eq!(ssewire::Limits::new().retry_jitter(), ssewire::Limits::DEFAULT_RETRY_JITTER);
    /// ```
    pub const fn retry_jitter(&self) -> Duration {
        self.retry_jitter
    }

    /// A refusal by `cap` (whose limit is `limit`), with this `Retry-After`.
    pub(crate) fn refuse(&self, cap: Cap, limit: usize) -> Refused {
        Refused::new(cap, limit, self.retry_after, self.retry_jitter)
    }
}

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

/// A connection refused by a cap of a [`ConnectionLimiter`] or of a hub: answer it
/// before the stream starts, with [`Refused::to_response`] (with feature `axum`
/// return it, it is an `IntoResponse`; with `actix`, a `ResponseError`).
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
    /// plus a random part of `jitter`, rounded up to whole seconds.
    pub(crate) fn new(cap: Cap, limit: usize, retry_after: Duration, jitter: Duration) -> Self {
        let after = retry_after.saturating_add(crate::body::random_up_to(jitter));
        let secs = after.as_secs() + u64::from(after.subsec_nanos() > 0);
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

/// Counts open connections, globally and per key, and refuses those past the caps of
/// its [`Limits`] with a [`Refused`] to answer with `429` or `503` and `Retry-After`.
///
/// An event stream lives for hours, and each one holds a socket, a file descriptor
/// and some memory. [`ConnectionLimiter`] bounds them: at most
/// [`Limits::with_max_connections`] streams open at once, and at most
/// [`Limits::with_max_per_key`] for one key (a user id, an IP address, a tenant: the
/// application picks it). [`ConnectionLimiter::try_acquire`] either admits the
/// connection with a [`ConnectionPermit`], which gives its place back when it is
/// dropped, or refuses it with a [`Refused`] that says which cap and turns into the
/// response. Hand the permit to the body ([`SseBody::with_permit`](crate::SseBody::with_permit)):
/// the body is dropped when the client goes away, however it goes (clean close,
/// reset, server shutdown, end of stream), and the place is free again at once.
///
/// The hub has the same caps for its subscribers, with the same refusal:
/// `hub::Config::with_max_subscribers` and `with_max_topic_subscribers`, checked by
/// `Topic::try_subscribe`.
///
/// ```
/// use std::time::Duration;
/// use ssewire::{ConnectionLimiter, Event, Limits, SseBody};
///
/// let limiter: ConnectionLimiter<String> = ConnectionLimiter::new(
///     Limits::new()
///         .with_max_connections(10_000)
///         .with_max_per_key(4) // per user
///         .with_retry_after(Duration::from_secs(10))
///         .with_retry_jitter(Duration::ZERO),
/// );
///
/// // In a handler, once the user is known (authenticate first, then count):
/// fn events(
///     limiter: &ConnectionLimiter<String>,
///     user: &str,
/// ) -> Result<SseBody<impl futures_core::Stream<Item = Event>>, ssewire::Refused> {
///     let permit = limiter.try_acquire(user.to_owned())?; // Err: answer it (429 here)
///     let events = futures_util::stream::pending::<Event>();
///     Ok(SseBody::new(events).with_permit(permit)) // the place is held as long as the body
/// }
///
/// let streams: Vec<_> = (0..4).map(|_| events(&limiter, "alice").unwrap()).collect();
/// let refused = events(&limiter, "alice").unwrap_err();
/// assert_eq!(refused.status(), http::StatusCode::TOO_MANY_REQUESTS);
/// assert_eq!(refused.retry_after(), Duration::from_secs(10));
/// let response: http::Response<String> = refused.to_response();
/// assert_eq!(response.headers()["retry-after"], "10");
/// assert_eq!(response.headers()["cache-control"], "no-store");
///
/// drop(streams); // the clients went away
/// assert_eq!(limiter.open(), 0);
/// assert!(events(&limiter, "alice").is_ok());
/// ```
///
/// # What a refused browser does, and why not 204
///
/// The WHATWG spec's rule for `EventSource` (HTML, "Server-sent events", processing
/// the response; redirects are followed first): if the status is not 200, or the
/// `Content-Type` is not `text/event-stream`, the browser *fails the connection*:
/// `readyState` becomes `CLOSED`, one `error` event fires, and that `EventSource`
/// never reconnects. That holds for 429 and 503 exactly as for 204. Only a network
/// error, or the end of a 200 response, makes it *reestablish* the connection by
/// itself (after its reconnection time); during that `error` event `readyState` is
/// `CONNECTING`. `EventSource` exposes neither the status nor `Retry-After`, so a
/// page that must stay connected opens a new `EventSource` itself (which sends no
/// `Last-Event-ID`: pass the last id in the URL if the server should resume):
///
/// ```js
/// function connect(url, onEvent, delay = 1000) {
///   const source = new EventSource(url);
///   source.onopen = () => { delay = 1000; };
///   source.onmessage = onEvent;
///   source.onerror = () => {
///     if (source.readyState !== EventSource.CLOSED) return; // the browser retries itself
///     // Refused (429/503), or any other non-200: the browser gave up. Come back later,
///     // with jitter so that a fleet of pages does not come back all at once.
///     const wait = delay / 2 + Math.random() * delay;
///     setTimeout(() => connect(url, onEvent, Math.min(delay * 2, 60000)), wait);
///   };
///   return source;
/// }
/// ```
///
/// So why 429/503 and not 204? The status is not for the browser's `EventSource`
/// alone:
///
/// - **204 means "done for good".** The spec names it as the way to tell a client to
///   stop reconnecting, and clients that see statuses treat it so: this crate's
///   `client::EventSource` ends on it, but retries a 429 or 503 after its
///   `Retry-After` (with `client::Config::with_retry_server_errors(true)`), as
///   fetch-based clients can. A page that uses 204 to mean "nothing more for you"
///   cannot tell that from "come back later" if you shed load with it.
/// - **204 is a success.** Access logs, dashboards, alerting and load balancers count
///   2xx as served: shedding load with it hides the overload. A 503 (the server is
///   full) or a 429 (this user or address has too many streams open) is seen as what
///   it is, and carries `Retry-After`.
/// - Both refusals are answered before any event, with `Cache-Control: no-store`, so no
///   cache keeps them.
///
/// # Keys
///
/// The key is anything the application chooses that is `Hash + Eq + Clone`: a user
/// id (`u64`, `String`, `Arc<str>`), an `IpAddr`, `()` for a global cap only. Clones
/// are handles to the same counts: put it in the application state. The per-key
/// counts are kept only when a per-key cap is set, in a map whose entry for a key
/// is removed when its last connection closes, so the map holds at most one entry
/// per open connection (and gives memory back after a spike). The global count is
/// one atomic; a per-key cap adds one short lock per admission and per close.
///
/// ```
/// use std::net::IpAddr;
/// use ssewire::{ConnectionLimiter, Limits};
///
/// let per_address: ConnectionLimiter<IpAddr> =
///     ConnectionLimiter::new(Limits::new().with_max_connections(2).with_max_per_key(1));
/// let a: IpAddr = "192.0.2.1".parse()?;
/// let b: IpAddr = "192.0.2.2".parse()?;
/// let first = per_address.try_acquire(a)?;
/// assert_eq!(per_address.try_acquire(a).unwrap_err().cap(), ssewire::Cap::PerKey);
/// let second = per_address.try_acquire(b)?;
/// assert_eq!(per_address.open(), 2);
/// assert_eq!(per_address.open_for(&a), 1);
/// drop((first, second));
/// assert_eq!((per_address.open(), per_address.keys()), (0, 0));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct ConnectionLimiter<K> {
    inner: Arc<Inner<K>>,
}

struct Inner<K> {
    limits: Limits,
    open: AtomicUsize,
    per_key: Mutex<HashMap<K, usize>>,
}

impl<K> ConnectionLimiter<K>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
{
    /// A limiter with `limits`, nothing open yet.
    ///
    /// ```
    /// let limiter: ssewire::ConnectionLimiter<u64> = ssewire::ConnectionLimiter::new(ssewire::Limits::new());
    /// assert_eq!(limiter.open(), 0);
    /// ```
    pub fn new(limits: Limits) -> Self {
        ConnectionLimiter {
            inner: Arc::new(Inner {
                limits,
                open: AtomicUsize::new(0),
                per_key: Mutex::new(HashMap::new()),
            }),
        }
    }

    /// The limits it enforces.
    ///
    /// ```
    /// let limiter = ssewire::ConnectionLimiter::<u64>::new(ssewire::Limits::new().with_max_per_key(3));
    /// assert_eq!(limiter.limits().max_per_key(), Some(3));
    /// ```
    pub fn limits(&self) -> &Limits {
        &self.inner.limits
    }

    /// Admits one more connection for `key`, or refuses it when the global cap or
    /// `key`'s cap is reached. The permit holds the place until it is dropped: give it
    /// to the body with [`SseBody::with_permit`](crate::SseBody::with_permit).
    ///
    /// Counting is exact under concurrency: however many threads acquire at once,
    /// never more than the caps are admitted.
    ///
    /// # Errors
    ///
    /// [`Refused`] naming the cap ([`Cap::Global`] or [`Cap::PerKey`]) and its limit.
    ///
    /// ```
    /// let limiter = ssewire::ConnectionLimiter::new(ssewire::Limits::new().with_max_per_key(1));
    /// let permit = limiter.try_acquire("alice")?;
    /// assert!(limiter.try_acquire("alice").is_err());
    /// assert!(limiter.try_acquire("bob").is_ok()); // dropped at once
    /// drop(permit);
    /// assert!(limiter.try_acquire("alice").is_ok());
    /// # Ok::<(), ssewire::Refused>(())
    /// ```
    pub fn try_acquire(&self, key: K) -> Result<ConnectionPermit, Refused> {
        let inner = &*self.inner;
        let limits = &inner.limits;
        match limits.max_connections {
            Some(max) => {
                let admitted =
                    inner
                        .open
                        .fetch_update(Ordering::AcqRel, Ordering::Acquire, |open| {
                            (open < max).then_some(open + 1)
                        });
                if admitted.is_err() {
                    return Err(self.refuse(Cap::Global, max));
                }
            }
            None => {
                inner.open.fetch_add(1, Ordering::AcqRel);
            }
        }
        let key = match limits.max_per_key {
            None => None,
            Some(max) => {
                let mut map = lock(&inner.per_key);
                let admitted = match map.get_mut(&key) {
                    Some(count) if *count < max => {
                        *count += 1;
                        true
                    }
                    Some(_) => false,
                    None if max > 0 => {
                        map.insert(key.clone(), 1);
                        true
                    }
                    None => false,
                };
                drop(map);
                if !admitted {
                    inner.open.fetch_sub(1, Ordering::AcqRel);
                    return Err(self.refuse(Cap::PerKey, max));
                }
                Some(key)
            }
        };
        Ok(ConnectionPermit {
            hold: Box::new(Hold {
                inner: Arc::clone(&self.inner),
                key,
            }),
        })
    }

    /// Connections open now (permits alive).
    ///
    /// ```
    /// let limiter = ssewire::ConnectionLimiter::new(ssewire::Limits::new());
    /// let permit = limiter.try_acquire(1u32)?;
    /// assert_eq!(limiter.open(), 1);
    /// drop(permit);
    /// assert_eq!(limiter.open(), 0);
    /// # Ok::<(), ssewire::Refused>(())
    /// ```
    pub fn open(&self) -> usize {
        self.inner.open.load(Ordering::Acquire)
    }

    /// Connections open now for `key` (0 when no per-key cap is set: keys are then
    /// not counted).
    ///
    /// ```
    /// let limiter: ssewire::ConnectionLimiter<String> =
    ///     ssewire::ConnectionLimiter::new(ssewire::Limits::new().with_max_per_key(5));
    /// let _permit = limiter.try_acquire("alice".to_owned())?;
    /// assert_eq!(limiter.open_for("alice"), 1);
    /// assert_eq!(limiter.open_for("bob"), 0);
    /// # Ok::<(), ssewire::Refused>(())
    /// ```
    pub fn open_for<Q>(&self, key: &Q) -> usize
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        lock(&self.inner.per_key).get(key).copied().unwrap_or(0)
    }

    /// Keys with at least one connection open (the entries of the per-key map).
    ///
    /// ```
    /// let limiter = ssewire::ConnectionLimiter::new(ssewire::Limits::new().with_max_per_key(5));
    /// let permits = [limiter.try_acquire('a')?, limiter.try_acquire('a')?, limiter.try_acquire('b')?];
    /// assert_eq!(limiter.keys(), 2);
    /// drop(permits);
    /// assert_eq!(limiter.keys(), 0);
    /// # Ok::<(), ssewire::Refused>(())
    /// ```
    pub fn keys(&self) -> usize {
        lock(&self.inner.per_key).len()
    }

    fn refuse(&self, cap: Cap, limit: usize) -> Refused {
        self.inner.limits.refuse(cap, limit)
    }
}

impl<K> Clone for ConnectionLimiter<K> {
    fn clone(&self) -> Self {
        ConnectionLimiter {
            inner: Arc::clone(&self.inner),
        }
    }
}

impl<K> fmt::Debug for ConnectionLimiter<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConnectionLimiter")
            .field("limits", &self.inner.limits)
            .field("open", &self.inner.open.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

/// One admitted connection of a [`ConnectionLimiter`]: its place is given back when
/// the permit is dropped. Keep it alive exactly as long as the response body with
/// [`SseBody::with_permit`](crate::SseBody::with_permit).
///
/// ```
/// let limiter = ssewire::ConnectionLimiter::new(ssewire::Limits::new().with_max_connections(1));
/// let permit = limiter.try_acquire(())?;
/// assert!(limiter.try_acquire(()).is_err());
/// drop(permit);
/// assert!(limiter.try_acquire(()).is_ok());
/// # Ok::<(), ssewire::Refused>(())
/// ```
#[must_use = "the connection's place is given back when the permit is dropped"]
pub struct ConnectionPermit {
    hold: Box<dyn Held>,
}

impl fmt::Debug for ConnectionPermit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConnectionPermit")
            .field("keyed", &self.hold.keyed())
            .finish_non_exhaustive()
    }
}

/// A place held in some limiter, whatever its key type.
trait Held: Send + Sync {
    fn keyed(&self) -> bool;
}

struct Hold<K: Hash + Eq> {
    inner: Arc<Inner<K>>,
    /// The key, when the limiter counts keys.
    key: Option<K>,
}

impl<K: Hash + Eq + Send + Sync> Held for Hold<K> {
    fn keyed(&self) -> bool {
        self.key.is_some()
    }
}

impl<K: Hash + Eq> Drop for Hold<K> {
    fn drop(&mut self) {
        if let Some(key) = &self.key {
            let mut map = lock(&self.inner.per_key);
            if let Some(count) = map.get_mut(key) {
                *count -= 1;
                if *count == 0 {
                    map.remove(key);
                    // Give memory back after a spike (amortized: a shrink halves the
                    // room, and the next one needs the map to shrink by half again).
                    if map.capacity() > 64 && map.len() * 4 < map.capacity() {
                        let len = map.len();
                        map.shrink_to(len * 2);
                    }
                }
            }
        }
        self.inner.open.fetch_sub(1, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicBool;

    fn no_jitter() -> Limits {
        Limits::new().with_retry_jitter(Duration::ZERO)
    }

    #[test]
    fn refuses_exactly_past_each_cap() {
        let limiter =
            ConnectionLimiter::new(no_jitter().with_max_connections(3).with_max_per_key(2));
        let a1 = limiter.try_acquire("a").unwrap();
        let _a2 = limiter.try_acquire("a").unwrap();
        let refused = limiter.try_acquire("a").unwrap_err();
        assert_eq!((refused.cap(), refused.limit()), (Cap::PerKey, 2));
        assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
        let _b1 = limiter.try_acquire("b").unwrap();
        let refused = limiter.try_acquire("c").unwrap_err();
        assert_eq!((refused.cap(), refused.limit()), (Cap::Global, 3));
        assert_eq!(refused.status(), StatusCode::SERVICE_UNAVAILABLE);
        // A per-key refusal gave its global place back.
        assert_eq!(limiter.open(), 3);
        drop(a1);
        assert_eq!(limiter.open_for("a"), 1);
        let _c1 = limiter.try_acquire("c").unwrap();
        assert!(limiter.try_acquire("a").is_err()); // global again
    }

    #[test]
    fn a_zero_cap_refuses_without_leaving_an_entry() {
        let limiter = ConnectionLimiter::new(no_jitter().with_max_per_key(0));
        assert_eq!(limiter.try_acquire(1u8).unwrap_err().cap(), Cap::PerKey);
        assert_eq!((limiter.open(), limiter.keys()), (0, 0));
    }

    #[test]
    fn retry_after_is_whole_seconds_within_the_jitter() {
        let limits = Limits::new()
            .with_max_connections(0)
            .with_retry_after(Duration::from_millis(200))
            .with_retry_jitter(Duration::from_secs(3));
        let limiter = ConnectionLimiter::new(limits);
        for _ in 0..50 {
            let after = limiter.try_acquire(()).unwrap_err().retry_after();
            assert_eq!(after.subsec_nanos(), 0);
            assert!((1..=4).contains(&after.as_secs()), "{after:?}");
        }
        let response: Response<String> = limiter.try_acquire(()).unwrap_err().to_response();
        assert!(response
            .body()
            .starts_with("connection refused: the server's cap (0 open"));
    }

    #[test]
    fn the_map_gives_memory_back() {
        let limiter = ConnectionLimiter::new(Limits::new().with_max_per_key(1));
        let permits: Vec<_> = (0..10_000u32)
            .map(|k| limiter.try_acquire(k).unwrap())
            .collect();
        assert_eq!(limiter.keys(), 10_000);
        drop(permits);
        assert_eq!(limiter.keys(), 0);
        assert!(lock(&limiter.inner.per_key).capacity() <= 128);
    }

    #[test]
    fn permits_are_send_sync_and_debug() {
        fn check<T: Send + Sync + fmt::Debug>() {}
        check::<ConnectionPermit>();
        check::<ConnectionLimiter<String>>();
        check::<Refused>();
        let limiter = ConnectionLimiter::new(Limits::new().with_max_per_key(1));
        let permit = limiter.try_acquire(5u8).unwrap();
        assert_eq!(
            format!("{permit:?}"),
            "ConnectionPermit { keyed: true, .. }"
        );
    }

    /// Many threads acquire and release at once: never more than the caps are open,
    /// and everything returns to zero.
    #[test]
    fn concurrent_acquire_and_release_stays_within_the_caps() {
        const GLOBAL: usize = 12;
        const PER_KEY: usize = 3;
        let limiter = ConnectionLimiter::new(
            no_jitter()
                .with_max_connections(GLOBAL)
                .with_max_per_key(PER_KEY),
        );
        let stop = Arc::new(AtomicBool::new(false));
        let live = Arc::new(AtomicUsize::new(0));
        let live_per_key: Arc<Vec<AtomicUsize>> =
            Arc::new((0..4).map(|_| AtomicUsize::new(0)).collect());
        let threads: Vec<_> = (0..16)
            .map(|t| {
                let limiter = limiter.clone();
                let (live, per_key, stop) = (live.clone(), live_per_key.clone(), stop.clone());
                std::thread::spawn(move || {
                    let mut admitted = 0u32;
                    let mut i = 0usize;
                    while !stop.load(Ordering::Relaxed) || admitted == 0 {
                        let key = (t + i) % 4;
                        i += 1;
                        if let Ok(permit) = limiter.try_acquire(key) {
                            admitted += 1;
                            let now = live.fetch_add(1, Ordering::SeqCst) + 1;
                            let mine = per_key[key].fetch_add(1, Ordering::SeqCst) + 1;
                            assert!(now <= GLOBAL, "{now} open");
                            assert!(mine <= PER_KEY, "{mine} open for {key}");
                            std::thread::yield_now();
                            per_key[key].fetch_sub(1, Ordering::SeqCst);
                            live.fetch_sub(1, Ordering::SeqCst);
                            drop(permit);
                        }
                    }
                    admitted
                })
            })
            .collect();
        std::thread::sleep(Duration::from_millis(300));
        stop.store(true, Ordering::Relaxed);
        let admitted: u32 = threads.into_iter().map(|t| t.join().unwrap()).sum();
        assert!(admitted >= 16);
        assert_eq!((limiter.open(), limiter.keys()), (0, 0));
    }
}
