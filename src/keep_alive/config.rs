//! [`KeepAlive`]: what to send on an idle stream, and how often.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;

use super::wheel::{KeepAliveState, Wheel};
use crate::event::Event;
use crate::timer::Timer;

/// Keep-alive for idle SSE bodies: after an interval without output, the body sends a
/// comment line (or an event of your choosing), so proxies and load balancers don't
/// close the connection as idle (nginx closes after 60 s by default).
///
/// # When a keep-alive goes out
///
/// Only between whole events, never before the body has been idle for one interval,
/// never after the body ended. **A keep-alive goes out after between 1× and 2× the
/// interval without output** (give or take 1/16 of the interval of timer rounding:
/// later with tokio, which rounds up; up to that much earlier with a [`Timer`](crate::Timer)
/// whose sleeps can end early);
/// while a body stays idle, one goes out every interval. So pick an interval of at
/// most half the idle timeout of the proxies in front of you: the default 15 s suits
/// nginx's 60 s.
///
/// The default keep-alive is the lone comment line `:\n`, with no blank line after
/// it: every client ignores it, and none sees an empty event (some, such as Python's
/// `httpx-sse`, dispatch one for a blank line after a comment).
///
/// # Cost
///
/// All bodies given clones of one `KeepAlive` share a timer wheel. Sending events
/// costs nothing extra (the body sets one flag per chunk; no clock is read per event).
/// An idle body is woken once per interval, when its keep-alive is due, and holds
/// 16 bytes of keep-alive state plus a 16-byte waker slot in the wheel. So make one
/// `KeepAlive` (at startup, or in a `static`) and clone it into each response.
///
/// # Any runtime, any task
///
/// A `KeepAlive` belongs to no runtime: each body arms its timers in the runtime that
/// polls it, so one `KeepAlive` in a `static` or `OnceLock` serves any number of
/// runtimes one after the other (the usual shape of a test suite with many
/// `#[tokio::test]`s). A body keeps sending keep-alives whichever task or waker polls
/// it (`now_or_never`, `select_all`, a move to another task). The clock is the
/// [`Timer`]'s, so tokio's paused clock works in tests.
///
/// ```
/// # #[cfg(feature = "tokio")] {
/// use std::time::Duration;
/// use ssewire::KeepAlive;
///
/// let keep_alive = KeepAlive::tokio()          // needs feature "tokio"
///     .with_interval(Duration::from_secs(20))
///     .with_comment("ping");
/// // For every connection:
/// let body = ssewire::SseBody::new(futures_util::stream::empty::<ssewire::Event>())
///     .with_keep_alive(keep_alive.clone());
/// # let _ = body;
/// # }
/// ```
#[derive(Clone)]
#[must_use = "a KeepAlive does nothing until it is given to a body"]
pub struct KeepAlive {
    wheel: Arc<Wheel>,
}

impl KeepAlive {
    /// The default interval: 15 seconds.
    ///
    /// ```
    /// assert_eq!(ssewire::KeepAlive::DEFAULT_INTERVAL.as_secs(), 15);
    /// ```
    pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(15);

    /// The shortest interval (1 ms): shorter ones are raised to it.
    ///
    /// ```
    /// assert_eq!(ssewire::KeepAlive::MIN_INTERVAL.as_millis(), 1);
    /// ```
    pub const MIN_INTERVAL: Duration = Duration::from_millis(1);

    /// The longest interval (a year): longer ones are lowered to it.
    ///
    /// ```
    /// assert_eq!(ssewire::KeepAlive::MAX_INTERVAL.as_secs(), 365 * 24 * 60 * 60);
    /// ```
    pub const MAX_INTERVAL: Duration = Duration::from_secs(365 * 24 * 60 * 60);

    /// The default keep-alive: a lone empty comment line, `:\n`.
    ///
    /// ```
    /// assert_eq!(ssewire::KeepAlive::DEFAULT_MESSAGE, b":\n");
    /// ```
    pub const DEFAULT_MESSAGE: &'static [u8] = b":\n";

    /// Keep-alive every [`DEFAULT_INTERVAL`](Self::DEFAULT_INTERVAL) with the
    /// [`DEFAULT_MESSAGE`](Self::DEFAULT_MESSAGE) `:\n`, on `timer`.
    ///
    /// ```
    /// # #[cfg(feature = "tokio")] {
    /// let keep_alive = ssewire::KeepAlive::new(ssewire::TokioTimer);
    /// assert_eq!(keep_alive.interval(), ssewire::KeepAlive::DEFAULT_INTERVAL);
    /// # }
    /// ```
    pub fn new(timer: impl Timer) -> Self {
        KeepAlive::from_parts(
            Arc::new(timer),
            Self::DEFAULT_INTERVAL,
            Bytes::from_static(Self::DEFAULT_MESSAGE),
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
        let interval = interval.clamp(Self::MIN_INTERVAL, Self::MAX_INTERVAL);
        KeepAlive {
            wheel: Arc::new(Wheel::new(timer, interval, message)),
        }
    }

    /// Sets the idle interval (default 15 s; clamped to between 1 ms and a year).
    ///
    /// ```
    /// # #[cfg(feature = "tokio")] {
    /// use std::time::Duration;
    /// let keep_alive = ssewire::KeepAlive::tokio().with_interval(Duration::from_secs(5));
    /// assert_eq!(keep_alive.interval(), Duration::from_secs(5));
    /// # }
    /// ```
    pub fn with_interval(self, interval: Duration) -> Self {
        let w = &self.wheel;
        KeepAlive::from_parts(w.timer().clone(), interval, w.message.clone())
    }

    /// Sends `text` as the keep-alive: comment lines (`: text`, one per line of
    /// `text`), with no blank line after them.
    ///
    /// ```
    /// # #[cfg(feature = "tokio")] {
    /// let keep_alive = ssewire::KeepAlive::tokio().with_comment("keep-alive");
    /// assert_eq!(&keep_alive.message()[..], b": keep-alive\n");
    /// # }
    /// ```
    pub fn with_comment(self, text: impl AsRef<str>) -> Self {
        let encoded = Event::new().comment(text).encode().into_bytes();
        // Comment lines only: drop the blank line that closes the event, if any
        // (a comment's own last line never ends in a blank line: it starts with `:`).
        let lines = if encoded.ends_with(b"\n\n") {
            encoded.slice(..encoded.len() - 1)
        } else {
            encoded
        };
        self.with_message(lines)
    }

    /// Sends `event` as the keep-alive instead of a comment, encoded as any event (with
    /// its blank line). An event with data reaches the page's listeners, which lets a
    /// client detect a stalled stream.
    ///
    /// ```
    /// # #[cfg(feature = "tokio")] {
    /// use ssewire::{Event, EventType, KeepAlive};
    /// let ping = Event::new().event(EventType::from_static("ping")).data("");
    /// let keep_alive = KeepAlive::tokio().with_event(ping);
    /// assert_eq!(&keep_alive.message()[..], b"event: ping\ndata: \n\n");
    /// # }
    /// ```
    pub fn with_event(self, event: Event) -> Self {
        self.with_message(event.encode().into_bytes())
    }

    fn with_message(self, message: Bytes) -> Self {
        let w = &self.wheel;
        KeepAlive::from_parts(w.timer().clone(), w.interval, message)
    }

    /// The idle interval.
    ///
    /// ```
    /// # #[cfg(feature = "tokio")] {
    /// assert_eq!(ssewire::KeepAlive::tokio().interval().as_secs(), 15);
    /// # }
    /// ```
    pub fn interval(&self) -> Duration {
        self.wheel.interval
    }

    /// The bytes sent as keep-alive.
    ///
    /// ```
    /// # #[cfg(feature = "tokio")] {
    /// assert_eq!(&ssewire::KeepAlive::tokio().message()[..], b":\n");
    /// # }
    /// ```
    pub fn message(&self) -> &Bytes {
        &self.wheel.message
    }

    pub(crate) fn into_state(self) -> KeepAliveState {
        KeepAliveState::New(self.wheel)
    }

    pub(crate) fn from_state(state: &KeepAliveState) -> Self {
        KeepAlive {
            wheel: state.wheel().clone(),
        }
    }
}

impl fmt::Debug for KeepAlive {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeepAlive")
            .field("interval", &self.wheel.interval)
            .field("message", &self.wheel.message)
            .finish_non_exhaustive()
    }
}
