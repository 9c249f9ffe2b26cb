//! The body options few bodies use, kept out of line (one box, made on first use) so
//! that an idle body stays small: the opening and farewell chunks, the shutdown
//! signal, the maximum lifetime, what to do with a stream error, and an event held
//! over for the next chunk.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::Context;
use std::time::Duration;

use bytes::Bytes;

use super::item::OutgoingEvent;
use crate::event::Event;
use crate::observe::{CloseReason, Observer};
use crate::timer::{Sleep, Timer};

pub(super) struct Extras<E> {
    /// An event taken from the stream that did not fit in the last chunk.
    pub(super) held: Option<OutgoingEvent>,
    pub(super) opening: Option<Bytes>,
    pub(super) farewell: Option<Bytes>,
    pub(super) shutdown: Option<Pin<Box<dyn Future<Output = ()> + Send>>>,
    pub(super) lifetime: Option<Lifetime>,
    pub(super) on_error: OnError<E>,
    /// The body's [`StreamGroup`](crate::StreamGroup), if it has one (see `hooks`).
    pub(super) observer: Option<Observer>,
    /// A connection limiter's place, given back when the body is dropped.
    pub(super) permit: Option<crate::limits::ConnectionPermit>,
}

pub(super) enum Lifetime {
    Configured {
        timer: Arc<dyn Timer>,
        lifetime: Duration,
        jitter: Duration,
    },
    Running(Sleep),
}

/// What a stream error does to the body.
pub(super) enum OnError<E> {
    /// The default: the events before it are sent, then the body ends cleanly; the
    /// observer, if any, gets the error.
    End(Option<Box<dyn FnMut(E) + Send>>),
    /// The handler turns it into a last event, then the body ends cleanly.
    Event(Box<dyn FnMut(E) -> Event + Send>),
    /// The body yields it, and the server aborts the response.
    Abort,
}

impl<E> Default for Extras<E> {
    fn default() -> Self {
        Extras {
            held: None,
            opening: None,
            farewell: None,
            shutdown: None,
            lifetime: None,
            on_error: OnError::End(None),
            observer: None,
            permit: None,
        }
    }
}

impl<E> Extras<E> {
    /// Whether the shutdown signal fired or the lifetime is over.
    #[inline]
    pub(super) fn poll_stop(&mut self, cx: &mut Context<'_>) -> bool {
        if self.shutdown.is_none() && self.lifetime.is_none() {
            return false; // the common case for extras: no stop configured
        }
        self.poll_stop_slow(cx)
    }

    fn poll_stop_slow(&mut self, cx: &mut Context<'_>) -> bool {
        if let Some(signal) = self.shutdown.as_mut() {
            if signal.as_mut().poll(cx).is_ready() {
                self.observe_end(CloseReason::Shutdown);
                return true;
            }
        }
        if let Some(Lifetime::Configured {
            timer,
            lifetime,
            jitter,
        }) = &self.lifetime
        {
            let total = lifetime.saturating_add(random_up_to(*jitter));
            self.lifetime = Some(Lifetime::Running(timer.sleep(total)));
        }
        if let Some(Lifetime::Running(sleep)) = self.lifetime.as_mut() {
            if sleep.as_mut().poll(cx).is_ready() {
                self.observe_end(CloseReason::Lifetime);
                return true;
            }
        }
        false
    }
}

/// A uniformly spread duration in `[0, max)`, from std's per-process random hash keys.
pub(crate) fn random_up_to(max: Duration) -> Duration {
    use std::hash::{BuildHasher, Hasher};
    let nanos = max.as_nanos();
    if nanos == 0 {
        return Duration::ZERO;
    }
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u64(0x5eed);
    let r = u128::from(hasher.finish()) % nanos;
    Duration::from_nanos(u64::try_from(r).unwrap_or(u64::MAX))
}
