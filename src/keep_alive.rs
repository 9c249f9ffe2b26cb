//! Keep-alive comments for idle streams, on one shared timer per configuration.

use std::fmt;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, Instant};

use bytes::Bytes;

use crate::event::Event;
use crate::timer::{Sleep, Timer};

/// How many timer ticks make up one keep-alive interval. A keep-alive goes out once
/// the stream has been idle for at least the interval and at most a quarter more.
const TICKS_PER_INTERVAL: u32 = 4;

/// The longest interval: longer ones are clamped to it.
const MAX_INTERVAL: Duration = Duration::from_secs(365 * 24 * 60 * 60);

/// Keep-alive for idle SSE bodies: after the interval without output, the body sends a
/// comment (or an event of your choosing), so proxies and load balancers don't close
/// the connection as idle (nginx closes after 60 s by default).
///
/// A keep-alive is only ever sent between events, never before one interval has
/// passed since the body started, and never after the body ended. It is sent once the
/// body has been idle for at least the interval and at most 1.25 × the interval.
///
/// # Cost
///
/// All bodies given clones of one `KeepAlive` share a single timer that ticks four
/// times per interval and wakes only the bodies that are idle. A body re-arms nothing
/// per event: sending events costs nothing extra, and an idle body holds 16 bytes of
/// keep-alive state plus its registration with the shared timer. So make one
/// `KeepAlive` (at startup, or lazily) and clone it into each response.
///
/// # One runtime per `KeepAlive`
///
/// The shared timer lives in the runtime where a body first needs it. Use a
/// `KeepAlive` and its clones within one runtime: a program (or a test suite) that
/// runs several runtimes should make one `KeepAlive` per runtime, for example in each
/// server's state, not in a `static`. With tokio, a timer whose runtime has shut down
/// panics when polled.
///
/// ```
/// # #[cfg(feature = "tokio")] {
/// use std::time::Duration;
/// use ssewire::KeepAlive;
///
/// let keep_alive = KeepAlive::tokio()          // needs feature "tokio"
///     .interval(Duration::from_secs(20))
///     .comment("ping");
/// // For every connection:
/// let body = ssewire::SseBody::new(futures_util::stream::empty::<ssewire::Event>())
///     .keep_alive(keep_alive.clone());
/// # let _ = body;
/// # }
/// ```
#[derive(Clone)]
#[must_use = "a KeepAlive does nothing until it is given to a body"]
pub struct KeepAlive {
    ticker: Arc<Ticker>,
}

impl KeepAlive {
    /// Keep-alive every 15 seconds with an empty comment (`:\n`), on `timer`.
    ///
    /// ```
    /// # #[cfg(feature = "tokio")] {
    /// let keep_alive = ssewire::KeepAlive::new(ssewire::TokioTimer);
    /// assert_eq!(keep_alive.interval_duration(), std::time::Duration::from_secs(15));
    /// # }
    /// ```
    pub fn new(timer: impl Timer) -> Self {
        KeepAlive::from_parts(
            Arc::new(timer),
            Duration::from_secs(15),
            Bytes::from_static(b":\n\n"),
        )
    }

    /// Keep-alive on the tokio runtime (feature `tokio`): `KeepAlive::new(TokioTimer)`.
    ///
    /// ```
    /// let keep_alive = ssewire::KeepAlive::tokio();
    /// # let _ = keep_alive;
    /// ```
    #[cfg(feature = "tokio")]
    #[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
    pub fn tokio() -> Self {
        KeepAlive::new(crate::timer::TokioTimer)
    }

    fn from_parts(timer: Arc<dyn Timer>, interval: Duration, message: Bytes) -> Self {
        // A zero interval would make the timer spin; one millisecond is the floor. A
        // year is the ceiling, which keeps the tick arithmetic far from overflow.
        let interval = interval.clamp(Duration::from_millis(1), MAX_INTERVAL);
        KeepAlive {
            ticker: Arc::new(Ticker::new(timer, interval, message)),
        }
    }

    /// Sets the idle interval (default 15 s; clamped to between 1 ms and a year).
    ///
    /// ```
    /// # #[cfg(feature = "tokio")] {
    /// use std::time::Duration;
    /// let keep_alive = ssewire::KeepAlive::tokio().interval(Duration::from_secs(5));
    /// assert_eq!(keep_alive.interval_duration(), Duration::from_secs(5));
    /// # }
    /// ```
    pub fn interval(self, interval: Duration) -> Self {
        let t = &self.ticker;
        KeepAlive::from_parts(t.timer.clone(), interval, t.message.clone())
    }

    /// Sends `text` as the keep-alive comment (each line prefixed with `:`).
    ///
    /// ```
    /// # #[cfg(feature = "tokio")] {
    /// let keep_alive = ssewire::KeepAlive::tokio().comment("keep-alive");
    /// assert_eq!(&keep_alive.message()[..], b": keep-alive\n");
    /// # }
    /// ```
    pub fn comment(self, text: impl AsRef<str>) -> Self {
        let message = Event::new().comment(text).encode().into_bytes();
        self.message_bytes(message)
    }

    /// Sends `event` as the keep-alive instead of a comment. An event with data
    /// reaches the page's listeners, which lets a client detect a stalled stream.
    ///
    /// ```
    /// # #[cfg(feature = "tokio")] {
    /// use ssewire::{Event, EventType, KeepAlive};
    /// let keep_alive = KeepAlive::tokio().event(Event::new().event(EventType::from_static("ping")).data(""));
    /// assert_eq!(&keep_alive.message()[..], b"event: ping\ndata: \n\n");
    /// # }
    /// ```
    pub fn event(self, event: Event) -> Self {
        self.message_bytes(event.encode().into_bytes())
    }

    fn message_bytes(self, message: Bytes) -> Self {
        let t = &self.ticker;
        KeepAlive::from_parts(t.timer.clone(), t.interval, message)
    }

    /// The idle interval.
    ///
    /// ```
    /// # #[cfg(feature = "tokio")] {
    /// assert_eq!(ssewire::KeepAlive::tokio().interval_duration().as_secs(), 15);
    /// # }
    /// ```
    pub fn interval_duration(&self) -> Duration {
        self.ticker.interval
    }

    /// The bytes sent as keep-alive.
    ///
    /// ```
    /// # #[cfg(feature = "tokio")] {
    /// assert_eq!(&ssewire::KeepAlive::tokio().message()[..], b":\n\n");
    /// # }
    /// ```
    pub fn message(&self) -> &Bytes {
        &self.ticker.message
    }

    pub(crate) fn into_state(self) -> KeepAliveState {
        KeepAliveState {
            ticker: self.ticker,
            last_active: 0,
            registered: 0,
        }
    }
}

impl fmt::Debug for KeepAlive {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeepAlive")
            .field("interval", &self.ticker.interval)
            .field("message", &self.ticker.message)
            .finish_non_exhaustive()
    }
}

/// The shared timer: counts ticks of a quarter interval and wakes idle bodies.
struct Ticker {
    timer: Arc<dyn Timer>,
    interval: Duration,
    period: Duration,
    message: Bytes,
    /// Ticks since `epoch`, brought up to date whenever a body polls the timer.
    tick: AtomicU32,
    clock: Mutex<Clock>,
    waiters: Arc<Waiters>,
    wake_waiters: Waker,
}

struct Clock {
    epoch: Option<Instant>,
    sleep: Option<Sleep>,
}

/// The bodies waiting for the next tick. Wakes them all when the timer fires.
#[derive(Default)]
struct Waiters(Mutex<WaitList>);

#[derive(Default)]
struct WaitList {
    /// Bumped at every wake-up, so a body knows when it must register again.
    generation: u32,
    wakers: Vec<Waker>,
}

impl Wake for Waiters {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        let wakers = {
            let mut list = lock(&self.0);
            list.generation = list.generation.wrapping_add(1);
            std::mem::take(&mut list.wakers)
        };
        for waker in wakers {
            waker.wake();
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Ticker {
    fn new(timer: Arc<dyn Timer>, interval: Duration, message: Bytes) -> Self {
        let waiters = Arc::new(Waiters::default());
        Ticker {
            timer,
            interval,
            period: interval / TICKS_PER_INTERVAL,
            message,
            tick: AtomicU32::new(0),
            clock: Mutex::new(Clock {
                epoch: None,
                sleep: None,
            }),
            wake_waiters: Waker::from(waiters.clone()),
            waiters,
        }
    }

    /// Brings the tick count up to date, keeps the timer armed, and returns the tick.
    fn poll_tick(&self) -> u32 {
        let mut clock = lock(&self.clock);
        let mut cx = Context::from_waker(&self.wake_waiters);
        loop {
            if let Some(sleep) = clock.sleep.as_mut() {
                if sleep.as_mut().poll(&mut cx).is_pending() {
                    break;
                }
            }
            // First use, or the timer fired: re-read the clock (once per tick, not per
            // event) and sleep until the next tick boundary.
            let now = self.timer.now();
            let epoch = *clock.epoch.get_or_insert(now);
            let elapsed = now.saturating_duration_since(epoch);
            let period = self.period.as_nanos().max(1);
            let ticks = elapsed.as_nanos() / period;
            // Wrapping is fine: bodies compare ticks with wrapping arithmetic.
            self.tick.store(ticks as u32, Ordering::Release);
            let into_period = (elapsed.as_nanos() % period) as u64;
            let until_next = Duration::from_nanos(period as u64 - into_period);
            clock.sleep = Some(self.timer.sleep(until_next));
        }
        self.tick.load(Ordering::Acquire)
    }
}

/// A body's keep-alive state: 16 bytes.
pub(crate) struct KeepAliveState {
    ticker: Arc<Ticker>,
    /// The tick at which the body last went idle (plus one; 0 = not yet).
    last_active: u32,
    /// The wait-list generation the body's waker is registered in (plus one; 0 = none).
    registered: u32,
}

impl KeepAliveState {
    /// Called when the body has nothing to send. `was_active` says whether it sent
    /// something since the last call. Returns the keep-alive message when it is due;
    /// otherwise arranges for `cx` to be woken at the next tick.
    pub(crate) fn poll_idle(&mut self, cx: &Context<'_>, was_active: bool) -> Poll<Bytes> {
        // Register before looking at the timer: a tick that fires in between then
        // wakes this body, instead of emptying a list it is not yet on.
        {
            let mut list = lock(&self.ticker.waiters.0);
            let generation = list.generation.wrapping_add(1);
            if self.registered != generation {
                list.wakers.push(cx.waker().clone());
                self.registered = generation;
            }
        }
        let tick = self.ticker.poll_tick().wrapping_add(1);
        if was_active || self.last_active == 0 {
            self.last_active = tick;
        }
        if tick.wrapping_sub(self.last_active) > TICKS_PER_INTERVAL {
            // Keep-alives go out right at a tick, so the next one is due exactly one
            // interval later (activity at an unknown point of a tick counts from its end).
            self.last_active = tick.wrapping_sub(1);
            return Poll::Ready(self.ticker.message.clone());
        }
        Poll::Pending
    }
}

impl fmt::Debug for KeepAliveState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeepAliveState")
            .field("interval", &self.ticker.interval)
            .finish_non_exhaustive()
    }
}
