//! The configuration of an [`SseBody`]: `with_*` setters and their getters.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use futures_core::Stream;

use super::extras::{Lifetime, OnError};
use super::item::{ErrorOf, SseItem};
use super::sse_body::SseBody;
use crate::event::Event;
use crate::keep_alive::KeepAlive;
use crate::observe::{Observer, StreamGroup};
use crate::timer::Timer;

impl<S> SseBody<S>
where
    S: Stream,
    S::Item: SseItem,
{
    /// Sends keep-alives while the stream is idle (see [`KeepAlive`] for when).
    ///
    /// ```
    /// # #[cfg(feature = "tokio")] {
    /// let keep_alive = ssewire::KeepAlive::tokio(); // make once, clone per body
    /// let body = ssewire::SseBody::new(futures_util::stream::pending::<ssewire::Event>())
    ///     .with_keep_alive(keep_alive.clone());
    /// assert!(body.keep_alive().is_some());
    /// # }
    /// ```
    pub fn with_keep_alive(mut self, keep_alive: KeepAlive) -> Self {
        self.keep_alive = Some(keep_alive.into_state());
        self
    }

    /// The keep-alive, if one is set.
    ///
    /// ```
    /// let body = ssewire::SseBody::new(futures_util::stream::empty::<ssewire::Event>());
    /// assert!(body.keep_alive().is_none());
    /// ```
    pub fn keep_alive(&self) -> Option<KeepAlive> {
        self.keep_alive.as_ref().map(KeepAlive::from_state)
    }

    /// Bounds how many bytes of ready events are coalesced into one chunk (default
    /// [`DEFAULT_MAX_CHUNK_SIZE`](Self::DEFAULT_MAX_CHUNK_SIZE), 64 KiB): an event that
    /// would overflow the chunk starts the next one. A single larger event still goes
    /// out whole, in its own chunk (and without a copy). At least 1.
    ///
    /// ```
    /// let body = ssewire::SseBody::new(futures_util::stream::empty::<ssewire::Event>())
    ///     .with_max_chunk_size(16 * 1024);
    /// assert_eq!(body.max_chunk_size(), 16 * 1024);
    /// ```
    pub fn with_max_chunk_size(mut self, bytes: usize) -> Self {
        self.max_chunk = u32::try_from(bytes).unwrap_or(u32::MAX).max(1);
        self
    }

    /// The bound for coalescing ready events into one chunk.
    ///
    /// ```
    /// let body = ssewire::SseBody::new(futures_util::stream::empty::<ssewire::Event>());
    /// assert_eq!(body.max_chunk_size(), 64 * 1024);
    /// ```
    pub fn max_chunk_size(&self) -> usize {
        self.max_chunk as usize
    }

    /// Sends `event` first, right after the headers, before the stream has anything.
    /// Useful to set `retry` up front, and because some HTTP/2 proxies forward the
    /// headers only together with the first body bytes.
    ///
    /// ```
    /// use std::time::Duration;
    /// use futures_util::StreamExt;
    /// use ssewire::{Event, SseBody};
    ///
    /// # futures_executor::block_on(async {
    /// let mut body = SseBody::new(futures_util::stream::pending::<Event>())
    ///     .with_open_event(Event::new().retry(Duration::from_secs(5)).comment("welcome"));
    /// let first = body.next().await.unwrap().unwrap();
    /// assert_eq!(&first[..], b"retry: 5000\n: welcome\n"); // no data: no blank line
    /// # });
    /// ```
    pub fn with_open_event(mut self, event: Event) -> Self {
        self.extras_mut().opening = Some(event.encode().into_bytes());
        self
    }

    /// Ends the body cleanly when `signal` completes (for graceful server shutdown),
    /// after sending the [`with_farewell`](SseBody::with_farewell) event if one is set.
    /// Events not sent by then are dropped.
    ///
    /// ```
    /// use futures_util::StreamExt;
    /// use ssewire::{Event, SseBody};
    ///
    /// # futures_executor::block_on(async {
    /// let mut body = SseBody::new(futures_util::stream::pending::<Event>())
    ///     .with_shutdown_signal(std::future::ready(()))
    ///     .with_farewell(Event::new().event(ssewire::EventType::from_static("bye")).data(""));
    /// assert_eq!(&body.next().await.unwrap().unwrap()[..], b"event: bye\ndata: \n\n");
    /// assert!(body.next().await.is_none());
    /// # });
    /// ```
    pub fn with_shutdown_signal(
        mut self,
        signal: impl Future<Output = ()> + Send + 'static,
    ) -> Self {
        self.extras_mut().shutdown = Some(Box::pin(signal));
        self
    }

    /// Ends the body cleanly after `lifetime` plus a random part of `jitter`, after
    /// sending the [`with_farewell`](SseBody::with_farewell) event if one is set.
    /// Browsers then reconnect (with `Last-Event-ID`); the jitter keeps a fleet of
    /// clients from reconnecting all at once. The clock starts when the body is first
    /// polled for events (after the [`with_open_event`](SseBody::with_open_event)
    /// chunk, if any).
    ///
    /// ```
    /// # #[cfg(feature = "tokio")] {
    /// use std::time::Duration;
    /// let body = ssewire::SseBody::new(futures_util::stream::pending::<ssewire::Event>())
    ///     .with_max_lifetime(ssewire::TokioTimer, Duration::from_secs(600), Duration::from_secs(60));
    /// # let _ = body;
    /// # }
    /// ```
    pub fn with_max_lifetime(
        mut self,
        timer: impl Timer,
        lifetime: Duration,
        jitter: Duration,
    ) -> Self {
        self.extras_mut().lifetime = Some(Lifetime::Configured {
            timer: Arc::new(timer),
            lifetime,
            jitter,
        });
        self
    }

    /// The event sent when the body ends through
    /// [`with_shutdown_signal`](SseBody::with_shutdown_signal) or
    /// [`with_max_lifetime`](SseBody::with_max_lifetime).
    ///
    /// ```
    /// let body = ssewire::SseBody::new(futures_util::stream::pending::<ssewire::Event>())
    ///     .with_farewell(ssewire::Event::new().comment("server restarting"));
    /// # let _ = body;
    /// ```
    pub fn with_farewell(mut self, event: Event) -> Self {
        self.extras_mut().farewell = Some(event.encode().into_bytes());
        self
    }

    /// Turns an error from the stream into a last event, after which the body ends
    /// cleanly (see [Errors](SseBody#errors)). Replaces
    /// [`with_error_observer`](SseBody::with_error_observer) and
    /// [`with_abort_on_error`](SseBody::with_abort_on_error).
    ///
    /// ```
    /// use futures_util::StreamExt;
    /// use ssewire::{Event, EventType, SseBody};
    ///
    /// # futures_executor::block_on(async {
    /// let events = futures_util::stream::iter([
    ///     Ok(Event::with_data("1")),
    ///     Err("database gone"),
    /// ]);
    /// let mut body = SseBody::new(events).with_error_handler(|err| {
    ///     Event::new().event(EventType::from_static("error")).data(err)
    /// });
    /// let chunk = body.next().await.unwrap().unwrap();
    /// assert_eq!(&chunk[..], b"data: 1\n\nevent: error\ndata: database gone\n\n");
    /// assert!(body.next().await.is_none());
    /// # });
    /// ```
    pub fn with_error_handler(
        mut self,
        to_event: impl FnMut(ErrorOf<S>) -> Event + Send + 'static,
    ) -> Self {
        self.extras_mut().on_error = OnError::Event(Box::new(to_event));
        self
    }

    /// Keeps the default (the events before an error are sent, then the body ends
    /// cleanly) and hands the error to `observe`, e.g. to log it (see
    /// [Errors](SseBody#errors)). Replaces
    /// [`with_error_handler`](SseBody::with_error_handler) and
    /// [`with_abort_on_error`](SseBody::with_abort_on_error).
    ///
    /// ```
    /// use futures_util::StreamExt;
    /// use ssewire::{Event, SseBody};
    ///
    /// # futures_executor::block_on(async {
    /// let events = futures_util::stream::iter([Ok(Event::with_data("1")), Err("database gone")]);
    /// let mut body = SseBody::new(events)
    ///     .with_error_observer(|err| eprintln!("event stream failed: {err}"));
    /// assert_eq!(&body.next().await.unwrap().unwrap()[..], b"data: 1\n\n");
    /// assert!(body.next().await.is_none()); // a clean end
    /// # });
    /// ```
    pub fn with_error_observer(mut self, observe: impl FnMut(ErrorOf<S>) + Send + 'static) -> Self {
        self.extras_mut().on_error = OnError::End(Some(Box::new(observe)));
        self
    }

    /// Makes the body yield a stream error as its own error, after the events before
    /// it. Servers answer a body error by aborting the response (hyper resets the
    /// HTTP/2 stream or closes the HTTP/1.1 connection), which can discard the last
    /// chunks before they reach the client (see [Errors](SseBody#errors)). Replaces
    /// [`with_error_handler`](SseBody::with_error_handler) and
    /// [`with_error_observer`](SseBody::with_error_observer).
    ///
    /// ```
    /// use futures_util::StreamExt;
    /// use ssewire::{Event, SseBody};
    ///
    /// # futures_executor::block_on(async {
    /// let events = futures_util::stream::iter([Ok(Event::with_data("1")), Err("boom")]);
    /// let mut body = SseBody::new(events).with_abort_on_error();
    /// assert_eq!(&body.next().await.unwrap().unwrap()[..], b"data: 1\n\n");
    /// assert_eq!(body.next().await.unwrap().unwrap_err(), "boom");
    /// assert!(body.next().await.is_none());
    /// # });
    /// ```
    pub fn with_abort_on_error(mut self) -> Self {
        self.extras_mut().on_error = OnError::Abort;
        self
    }

    /// Counts this body in `group` (see [`StreamGroup`] and
    /// [`StreamStats`](crate::StreamStats)): it opens at the body's first poll (when
    /// the server starts sending it, right after the response head; a body dropped
    /// before that is not counted), and closes when the body is dropped, with the
    /// first [`CloseReason`](crate::CloseReason) it met (`ClientGone` if none: the
    /// server dropped it while it was still streaming). Every chunk handed to the
    /// server counts its events and bytes. A body without a group pays one counter
    /// increment per event (3 instructions; +0.4 % on a W1 event).
    ///
    /// ```
    /// use futures_util::StreamExt;
    /// use ssewire::{CloseReason, Event, SseBody, StreamGroup};
    ///
    /// # futures_executor::block_on(async {
    /// let group = StreamGroup::new("feed");
    /// let mut body = SseBody::new(futures_util::stream::pending::<Event>())
    ///     .with_open_event(Event::new().comment("hi"))
    ///     .with_group(&group);
    /// body.next().await; // the opening event: the stream is open
    /// drop(body); // the client went away
    /// let stats = group.stats();
    /// assert_eq!((stats.open, stats.closed_by(CloseReason::ClientGone)), (0, 1));
    /// # });
    /// ```
    pub fn with_group(mut self, group: &StreamGroup) -> Self {
        self.extras_mut().observer = Some(Observer::new(group));
        self
    }

    /// The [`StreamGroup`] the body counts in, if any.
    ///
    /// ```
    /// let group = ssewire::StreamGroup::new("feed");
    /// let body = ssewire::SseBody::new(futures_util::stream::empty::<ssewire::Event>());
    /// assert!(body.group().is_none());
    /// assert_eq!(body.with_group(&group).group().map(|g| g.label()), Some("feed"));
    /// ```
    pub fn group(&self) -> Option<&StreamGroup> {
        self.extras
            .as_deref()
            .and_then(|extras| extras.observer.as_ref())
            .map(Observer::group)
    }
}

/// Connection limits (see [`ConnectionLimiter`](crate::ConnectionLimiter)).
impl<S> SseBody<S>
where
    S: Stream,
    S::Item: SseItem,
{
    /// Keeps `permit` (a [`ConnectionLimiter`](crate::ConnectionLimiter)'s place)
    /// exactly as long as the body: the server drops the body when the response ends
    /// or the client goes away (closed, reset, timed out), and the place is free again.
    /// A body holds one permit; a second call gives the first one back.
    ///
    /// ```
    /// use ssewire::{ConnectionLimiter, Event, Limits, SseBody};
    ///
    /// let limiter = ConnectionLimiter::new(Limits::new().with_max_per_key(1));
    /// let body = SseBody::new(futures_util::stream::pending::<Event>())
    ///     .with_permit(limiter.try_acquire("alice")?);
    /// assert!(body.permit().is_some());
    /// assert!(limiter.try_acquire("alice").is_err());
    /// drop(body); // the client went away
    /// assert!(limiter.try_acquire("alice").is_ok());
    /// # Ok::<(), ssewire::Refused>(())
    /// ```
    pub fn with_permit(mut self, permit: crate::limits::ConnectionPermit) -> Self {
        self.extras_mut().permit = Some(permit);
        self
    }

    /// The permit the body holds, if any.
    ///
    /// ```
    /// let body = ssewire::SseBody::new(futures_util::stream::empty::<ssewire::Event>());
    /// assert!(body.permit().is_none());
    /// ```
    pub fn permit(&self) -> Option<&crate::limits::ConnectionPermit> {
        self.extras.as_deref().and_then(|x| x.permit.as_ref())
    }
}
