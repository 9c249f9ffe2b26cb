//! [`ConnectionLimiter`] and the [`ConnectionPermit`] it hands out.

use std::borrow::Borrow;
use std::collections::HashMap;
use std::fmt;
use std::hash::Hash;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use super::config::Limits;
use super::refused::{Cap, Refused};
use crate::sync::lock;

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
    pub(super) inner: Arc<Inner<K>>,
}

pub(super) struct Inner<K> {
    limits: Limits,
    open: AtomicUsize,
    pub(super) per_key: Mutex<HashMap<K, usize>>,
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
    /// never more than the caps are admitted, and a connection refused by its key's
    /// cap never holds a place under the global cap (so it cannot make another key's
    /// connection refused as if the server were full).
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
        let Some(max) = inner.limits.max_per_key() else {
            self.take_place()?;
            return Ok(self.permit(None));
        };
        // The key's count is checked and the server's place taken under the map's
        // lock, so a connection refused by its key's cap never holds a place, not even
        // for a moment (another key would meanwhile be refused by the global cap).
        let mut map = lock(&inner.per_key);
        match map.get_mut(&key) {
            Some(count) if *count < max => {
                self.take_place()?;
                *count += 1;
            }
            None if max > 0 => {
                self.take_place()?;
                map.insert(key.clone(), 1);
            }
            _ => {
                // Read under the lock, which every admission and close takes.
                let refused = refuse_over(&inner.open, &inner.limits, Cap::PerKey, max);
                drop(map);
                return Err(refused);
            }
        }
        drop(map);
        Ok(self.permit(Some(key)))
    }

    /// Takes one of the server's places, or refuses with the global cap.
    fn take_place(&self) -> Result<(), Refused> {
        take_place(&self.inner.open, &self.inner.limits)
    }

    /// The permit of a place taken (and of `key`'s, when keys are counted).
    fn permit(&self, key: Option<K>) -> ConnectionPermit {
        ConnectionPermit {
            hold: Box::new(Hold {
                inner: Arc::clone(&self.inner),
                key,
            }),
        }
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
}

/// Counts one more in `open` if `limits`' global cap allows it, or refuses with
/// [`Cap::Global`] (shared with the hub's subscriber caps).
pub(crate) fn take_place(open: &AtomicUsize, limits: &Limits) -> Result<(), Refused> {
    match limits.max_connections() {
        Some(max) => open
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |open| {
                (open < max).then_some(open + 1)
            })
            .map(drop)
            .map_err(|_| limits.refuse(Cap::Global, max)),
        None => {
            open.fetch_add(1, Ordering::AcqRel);
            Ok(())
        }
    }
}

/// The refusal of one that its own cap (`cap`, at `max`) turns away: when the global
/// cap is reached too, that one is named, as when it is full alone (shared with the
/// hub's topic cap).
pub(crate) fn refuse_over(open: &AtomicUsize, limits: &Limits, cap: Cap, max: usize) -> Refused {
    match limits.max_connections() {
        Some(global) if open.load(Ordering::Acquire) >= global => {
            limits.refuse(Cap::Global, global)
        }
        _ => limits.refuse(cap, max),
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
    pub(super) inner: Arc<Inner<K>>,
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
        let Some(key) = &self.key else {
            self.inner.open.fetch_sub(1, Ordering::AcqRel);
            return;
        };
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
        // Under the lock, as an admission takes its place: an admission sees both
        // counts of a close or neither.
        self.inner.open.fetch_sub(1, Ordering::AcqRel);
    }
}
