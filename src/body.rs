//! The stream adapter: any stream of events becomes a `text/event-stream` body.

use std::convert::Infallible;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use futures_core::Stream;
use pin_project_lite::pin_project;

use crate::encoded::EncodedEvent;
use crate::event::Event;
use crate::keep_alive::{KeepAlive, KeepAliveState};
use crate::timer::{Sleep, Timer};

/// One item for the body: an [`Event`] to encode, or an [`EncodedEvent`] whose bytes
/// are sent as they are.
///
/// ```
/// use ssewire::{Event, OutgoingEvent};
/// let item = OutgoingEvent::from(Event::with_data("x").encode());
/// assert!(matches!(item, OutgoingEvent::Encoded(_)));
/// ```
#[derive(Debug, Clone)]
pub enum OutgoingEvent {
    /// An event, encoded by the body.
    Event(Event),
    /// Bytes already encoded, sent without a copy.
    Encoded(EncodedEvent),
}

impl From<Event> for OutgoingEvent {
    fn from(event: Event) -> Self {
        OutgoingEvent::Event(event)
    }
}

impl From<EncodedEvent> for OutgoingEvent {
    fn from(event: EncodedEvent) -> Self {
        OutgoingEvent::Encoded(event)
    }
}

impl OutgoingEvent {
    fn encoded_len(&self) -> usize {
        match self {
            OutgoingEvent::Event(event) => event.encoded_len(),
            OutgoingEvent::Encoded(encoded) => encoded.len(),
        }
    }

    fn encode_to(&self, buf: &mut BytesMut) {
        match self {
            OutgoingEvent::Event(event) => event.encode_to(buf),
            OutgoingEvent::Encoded(encoded) => buf.extend_from_slice(encoded.as_ref()),
        }
    }

    fn into_bytes(self) -> Bytes {
        match self {
            OutgoingEvent::Event(event) => event.encode().into_bytes(),
            OutgoingEvent::Encoded(encoded) => encoded.into_bytes(),
        }
    }
}

/// What a stream fed to [`SseBody`] may yield: an [`Event`] or [`EncodedEvent`], or a
/// `Result` of either.
///
/// Implement it for your own message type to stream it without a `map`:
///
/// ```
/// use std::convert::Infallible;
/// use ssewire::{Event, OutgoingEvent, SseItem};
///
/// struct Price(u64);
///
/// impl SseItem for Price {
///     type Error = Infallible;
///     fn into_outgoing(self) -> Result<OutgoingEvent, Infallible> {
///         Ok(Event::new().id(self.0).data(self.0.to_string()).into())
///     }
/// }
/// let body = ssewire::SseBody::new(futures_util::stream::iter([Price(1), Price(2)]));
/// # let _ = body;
/// ```
pub trait SseItem {
    /// The error the body reports when the stream yields one.
    type Error;

    /// The event to send, or the stream's error.
    ///
    /// ```
    /// use ssewire::SseItem;
    /// let item: Result<ssewire::Event, &str> = Err("gone");
    /// assert_eq!(item.into_outgoing().unwrap_err(), "gone");
    /// ```
    ///
    /// # Errors
    ///
    /// The stream's own error, which ends the body (see [`SseBody::on_error`]).
    fn into_outgoing(self) -> Result<OutgoingEvent, Self::Error>;
}

impl SseItem for Event {
    type Error = Infallible;
    fn into_outgoing(self) -> Result<OutgoingEvent, Infallible> {
        Ok(OutgoingEvent::Event(self))
    }
}

impl SseItem for EncodedEvent {
    type Error = Infallible;
    fn into_outgoing(self) -> Result<OutgoingEvent, Infallible> {
        Ok(OutgoingEvent::Encoded(self))
    }
}

impl SseItem for OutgoingEvent {
    type Error = Infallible;
    fn into_outgoing(self) -> Result<OutgoingEvent, Infallible> {
        Ok(self)
    }
}

impl<T: SseItem<Error = Infallible>, E> SseItem for Result<T, E> {
    type Error = E;
    fn into_outgoing(self) -> Result<OutgoingEvent, E> {
        match self {
            Ok(item) => match item.into_outgoing() {
                Ok(event) => Ok(event),
                Err(never) => match never {},
            },
            Err(e) => Err(e),
        }
    }
}

type ErrorOf<S> = <<S as Stream>::Item as SseItem>::Error;

/// Default bound for coalescing ready events into one chunk.
const DEFAULT_MAX_CHUNK: u32 = 64 * 1024;

/// Events at least this large go out alone, without a copy: coalescing them would cost
/// more (a copy of every byte) than it saves (a few bytes of chunk framing).
const ALONE_FROM: usize = 1024;

pin_project! {
    /// A `text/event-stream` body made from a stream of events.
    ///
    /// It is a [`Stream`] of `Result<Bytes, E>` chunks, which axum's
    /// `Body::from_stream`, actix-web's `HttpResponse::streaming`, warp, and most other
    /// frameworks take as is. With feature `http-body` it is also an
    /// [`http_body::Body`], and with feature `axum` an axum response.
    ///
    /// ```
    /// use futures_util::StreamExt;
    /// use ssewire::{Event, SseBody};
    ///
    /// # futures_executor::block_on(async {
    /// let events = futures_util::stream::iter(vec![Event::with_data("a"), Event::with_data("b")]);
    /// let mut body = SseBody::new(events);
    /// // Both events were ready, so they arrive as one chunk.
    /// let chunk = body.next().await.unwrap().unwrap();
    /// assert_eq!(&chunk[..], b"data: a\n\ndata: b\n\n");
    /// assert!(body.next().await.is_none());
    /// # });
    /// ```
    ///
    /// # Behaviour
    ///
    /// - **No added latency.** Events that are ready together are coalesced into one
    ///   chunk (up to [`max_chunk_size`](SseBody::max_chunk_size), 64 KiB by
    ///   default); the body never waits for more. Events of 1 KiB or more, and an
    ///   event that is alone, go out in their own chunk without a copy, so an
    ///   [`EncodedEvent`] shared between many bodies is sent as the very same bytes.
    /// - **Errors.** An error from the stream is returned after the events before it,
    ///   and ends the body. Servers answer a body error by aborting the response
    ///   (hyper resets the HTTP/2 stream, or closes the HTTP/1.1 connection), which can
    ///   discard the last chunks before they reach the client; the browser then
    ///   reconnects without them. When those events matter, use
    ///   [`on_error`](SseBody::on_error): the error becomes a last event and the body
    ///   ends cleanly. Once ended, the body stays ended.
    /// - **Disconnects.** When the client goes away, the server drops the body, and
    ///   with it the stream, at once.
    /// - **Keep-alive** ([`keep_alive`](SseBody::keep_alive)), **an opening chunk**
    ///   ([`open_with`](SseBody::open_with)), **graceful shutdown**
    ///   ([`shutdown_on`](SseBody::shutdown_on)) and **a maximum lifetime**
    ///   ([`max_lifetime`](SseBody::max_lifetime)) are opt-in.
    ///
    /// The body is `Send` when the stream and its error are; it never needs `Sync`.
    #[must_use = "a body does nothing unless it is polled"]
    pub struct SseBody<S>
    where
        S: Stream,
        S::Item: SseItem,
    {
        #[pin]
        stream: S,
        buf: BytesMut,
        max_chunk: u32,
        state: State,
        error: Option<ErrorOf<S>>,
        keep_alive: Option<KeepAliveState>,
        extras: Option<Box<Extras<ErrorOf<S>>>>,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Streaming; `true` when something was sent since the body was last idle.
    Streaming {
        active: bool,
    },
    /// The stream ended or failed; what is left is `error`, then the end.
    Ending,
    Done,
}

/// The options few bodies use, kept out of line so an idle body stays small.
struct Extras<E> {
    /// An event taken from the stream that did not fit in the last chunk.
    held: Option<OutgoingEvent>,
    opening: Option<Bytes>,
    farewell: Option<Bytes>,
    shutdown: Option<Pin<Box<dyn Future<Output = ()> + Send>>>,
    lifetime: Option<Lifetime>,
    on_error: Option<Box<dyn FnMut(E) -> Event + Send>>,
}

enum Lifetime {
    Configured {
        timer: Arc<dyn Timer>,
        lifetime: Duration,
        jitter: Duration,
    },
    Running(Sleep),
}

impl<E> Default for Extras<E> {
    fn default() -> Self {
        Extras {
            held: None,
            opening: None,
            farewell: None,
            shutdown: None,
            lifetime: None,
            on_error: None,
        }
    }
}

impl<E> Extras<E> {
    /// Whether the shutdown signal fired or the lifetime is over.
    fn poll_stop(&mut self, cx: &mut Context<'_>) -> bool {
        if let Some(signal) = self.shutdown.as_mut() {
            if signal.as_mut().poll(cx).is_ready() {
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
                return true;
            }
        }
        false
    }
}

/// A uniformly spread duration in `[0, max)`, from std's per-process random hash keys.
fn random_up_to(max: Duration) -> Duration {
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

impl<S> SseBody<S>
where
    S: Stream,
    S::Item: SseItem,
{
    /// A body that sends every event of `stream`.
    ///
    /// The stream may yield [`Event`]s, [`EncodedEvent`]s, `Result`s of either, or
    /// any [`SseItem`].
    ///
    /// ```
    /// use ssewire::{Event, SseBody};
    ///
    /// let plain = SseBody::new(futures_util::stream::iter([Event::with_data("x")]));
    /// let fallible = SseBody::new(futures_util::stream::iter([
    ///     Ok::<_, std::io::Error>(Event::with_data("x")),
    /// ]));
    /// # let _ = (plain, fallible);
    /// ```
    pub fn new(stream: S) -> Self {
        SseBody {
            stream,
            buf: BytesMut::new(),
            max_chunk: DEFAULT_MAX_CHUNK,
            state: State::Streaming { active: true },
            error: None,
            keep_alive: None,
            extras: None,
        }
    }

    /// Sends keep-alives while the stream is idle (see [`KeepAlive`]).
    ///
    /// ```
    /// # #[cfg(feature = "tokio")] {
    /// let keep_alive = ssewire::KeepAlive::tokio(); // make once, clone per body
    /// let body = ssewire::SseBody::new(futures_util::stream::pending::<ssewire::Event>())
    ///     .keep_alive(keep_alive.clone());
    /// # let _ = body;
    /// # }
    /// ```
    pub fn keep_alive(mut self, keep_alive: KeepAlive) -> Self {
        self.keep_alive = Some(keep_alive.into_state());
        self
    }

    /// Bounds how many bytes of ready events are coalesced into one chunk (default
    /// 64 KiB): an event that would overflow the chunk starts the next one. A single
    /// larger event still goes out whole, in its own chunk (and without a copy).
    ///
    /// ```
    /// let body = ssewire::SseBody::new(futures_util::stream::empty::<ssewire::Event>())
    ///     .max_chunk_size(16 * 1024);
    /// # let _ = body;
    /// ```
    pub fn max_chunk_size(mut self, bytes: usize) -> Self {
        self.max_chunk = u32::try_from(bytes).unwrap_or(u32::MAX).max(1);
        self
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
    ///     .open_with(Event::new().retry(Duration::from_secs(5)).comment("welcome"));
    /// let first = body.next().await.unwrap().unwrap();
    /// assert_eq!(&first[..], b"retry: 5000\n: welcome\n");
    /// # });
    /// ```
    pub fn open_with(mut self, event: Event) -> Self {
        self.extras_mut().opening = Some(event.encode().into_bytes());
        self
    }

    /// Ends the body cleanly when `signal` completes (for graceful server shutdown),
    /// after sending the [`farewell`](SseBody::farewell) event if one is set. Events
    /// not sent by then are dropped.
    ///
    /// ```
    /// use futures_util::StreamExt;
    /// use ssewire::{Event, SseBody};
    ///
    /// # futures_executor::block_on(async {
    /// let mut body = SseBody::new(futures_util::stream::pending::<Event>())
    ///     .shutdown_on(std::future::ready(()))
    ///     .farewell(Event::new().event(ssewire::EventType::from_static("bye")).data(""));
    /// assert_eq!(&body.next().await.unwrap().unwrap()[..], b"event: bye\ndata: \n\n");
    /// assert!(body.next().await.is_none());
    /// # });
    /// ```
    pub fn shutdown_on(mut self, signal: impl Future<Output = ()> + Send + 'static) -> Self {
        self.extras_mut().shutdown = Some(Box::pin(signal));
        self
    }

    /// Ends the body cleanly after `lifetime` plus a random part of `jitter`, after
    /// sending the [`farewell`](SseBody::farewell) event if one is set. Browsers then
    /// reconnect (with `Last-Event-ID`); the jitter keeps a fleet of clients from
    /// reconnecting all at once. The clock starts when the body is first polled for
    /// events (after the [`open_with`](SseBody::open_with) chunk, if any).
    ///
    /// ```
    /// # #[cfg(feature = "tokio")] {
    /// use std::time::Duration;
    /// let body = ssewire::SseBody::new(futures_util::stream::pending::<ssewire::Event>())
    ///     .max_lifetime(ssewire::TokioTimer, Duration::from_secs(600), Duration::from_secs(60));
    /// # let _ = body;
    /// # }
    /// ```
    pub fn max_lifetime(mut self, timer: impl Timer, lifetime: Duration, jitter: Duration) -> Self {
        self.extras_mut().lifetime = Some(Lifetime::Configured {
            timer: Arc::new(timer),
            lifetime,
            jitter,
        });
        self
    }

    /// The event sent when the body ends through [`shutdown_on`](SseBody::shutdown_on)
    /// or [`max_lifetime`](SseBody::max_lifetime).
    ///
    /// ```
    /// let body = ssewire::SseBody::new(futures_util::stream::pending::<ssewire::Event>())
    ///     .farewell(ssewire::Event::new().comment("server restarting"));
    /// # let _ = body;
    /// ```
    pub fn farewell(mut self, event: Event) -> Self {
        self.extras_mut().farewell = Some(event.encode().into_bytes());
        self
    }

    /// Turns an error from the stream into a last event, after which the body ends
    /// cleanly, instead of ending the body with the error (which makes servers abort
    /// the response).
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
    /// let mut body = SseBody::new(events).on_error(|err| {
    ///     Event::new().event(EventType::from_static("error")).data(err)
    /// });
    /// let chunk = body.next().await.unwrap().unwrap();
    /// assert_eq!(&chunk[..], b"data: 1\n\nevent: error\ndata: database gone\n\n");
    /// assert!(body.next().await.is_none());
    /// # });
    /// ```
    pub fn on_error(mut self, to_event: impl FnMut(ErrorOf<S>) -> Event + Send + 'static) -> Self {
        self.extras_mut().on_error = Some(Box::new(to_event));
        self
    }

    /// Whether the body has ended (it then yields nothing more).
    ///
    /// ```
    /// let body = ssewire::SseBody::new(futures_util::stream::empty::<ssewire::Event>());
    /// assert!(!body.is_ended()); // not polled yet
    /// ```
    pub fn is_ended(&self) -> bool {
        self.state == State::Done
    }

    fn extras_mut(&mut self) -> &mut Extras<ErrorOf<S>> {
        self.extras.get_or_insert_with(Box::default)
    }
}

impl<S> Stream for SseBody<S>
where
    S: Stream,
    S::Item: SseItem,
{
    type Item = Result<Bytes, ErrorOf<S>>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let mut this = self.project();
        let active = match *this.state {
            State::Done => return Poll::Ready(None),
            State::Ending => {
                *this.state = State::Done;
                return Poll::Ready(this.error.take().map(Err));
            }
            State::Streaming { active } => active,
        };

        if let Some(extras) = this.extras.as_deref_mut() {
            if let Some(opening) = extras.opening.take() {
                *this.state = State::Streaming { active: true };
                return Poll::Ready(Some(Ok(opening)));
            }
            if extras.poll_stop(cx) {
                *this.state = State::Done;
                return Poll::Ready(extras.farewell.take().map(Ok));
            }
        }

        // Take every event that is ready, up to the chunk bound. The first is encoded
        // on its own, without a copy; only a second one starts coalescing.
        let max_chunk = *this.max_chunk as usize;
        let mut single: Option<Bytes> = None;
        let mut ended = false;
        // An event that overflowed the last chunk opens this one.
        if let Some(held) = this.extras.as_deref_mut().and_then(|x| x.held.take()) {
            single = Some(held.into_bytes());
        }
        while !matches!(&single, Some(first) if first.len() >= max_chunk.min(ALONE_FROM)) {
            let event = match this.stream.as_mut().poll_next(cx) {
                Poll::Pending => break,
                Poll::Ready(None) => {
                    ended = true;
                    break;
                }
                Poll::Ready(Some(item)) => match item.into_outgoing() {
                    Ok(event) => event,
                    Err(err) => {
                        ended = true;
                        match this.extras.as_deref_mut().and_then(|x| x.on_error.as_mut()) {
                            Some(to_event) => OutgoingEvent::Event(to_event(err)),
                            None => {
                                *this.error = Some(err);
                                break;
                            }
                        }
                    }
                },
            };
            match single.take() {
                None if this.buf.is_empty() => single = Some(event.into_bytes()),
                first => {
                    if let Some(first) = first {
                        this.buf.reserve(first.len() + event.encoded_len() + 4096);
                        this.buf.extend_from_slice(&first);
                    }
                    let queued = this.buf.len();
                    event.encode_to(this.buf);
                    let added = this.buf.len() - queued;
                    if (this.buf.len() > max_chunk || added >= ALONE_FROM) && !ended {
                        // It overflows the chunk, or is large enough to go alone: it
                        // opens the next chunk instead. (Checked after the copy, which
                        // only goes to waste once per chunk.)
                        this.buf.truncate(queued);
                        this.extras.get_or_insert_with(Box::default).held = Some(event);
                        break;
                    }
                }
            }
            let len = single.as_ref().map_or(this.buf.len(), Bytes::len);
            if ended || len >= max_chunk || (single.is_some() && len >= ALONE_FROM) {
                break;
            }
        }

        let chunk = match single {
            Some(chunk) => Some(chunk),
            None if !this.buf.is_empty() => Some(this.buf.split().freeze()),
            None => None,
        };
        if ended {
            *this.state = State::Ending;
        }
        if let Some(chunk) = chunk {
            if !ended {
                *this.state = State::Streaming { active: true };
            }
            return Poll::Ready(Some(Ok(chunk)));
        }
        if ended {
            *this.state = State::Done;
            return Poll::Ready(this.error.take().map(Err));
        }

        // Idle: let go of the coalescing buffer (it may hold up to a chunk's worth of
        // capacity), so that an idle body stays small; then a keep-alive may be due.
        if this.buf.capacity() > 0 {
            *this.buf = BytesMut::new();
        }
        *this.state = State::Streaming { active: false };
        if let Some(keep_alive) = this.keep_alive.as_mut() {
            if let Poll::Ready(message) = keep_alive.poll_idle(cx, active) {
                return Poll::Ready(Some(Ok(message)));
            }
        }
        Poll::Pending
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        match self.state {
            State::Done => (0, Some(0)),
            State::Ending => (0, Some(1)),
            State::Streaming { .. } => (0, None),
        }
    }
}

impl<S> SseBody<S>
where
    S: Stream<Item = Event>,
{
    /// Same as [`SseBody::new`], for a stream of plain events; reads well where the
    /// stream type is inferred.
    ///
    /// ```
    /// let body = ssewire::SseBody::from_events(futures_util::stream::iter([
    ///     ssewire::Event::with_data("hello"),
    /// ]));
    /// # let _ = body;
    /// ```
    pub fn from_events(stream: S) -> Self {
        SseBody::new(stream)
    }
}

impl<S> fmt::Debug for SseBody<S>
where
    S: Stream,
    S::Item: SseItem,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SseBody")
            .field("state", &self.state)
            .field("buffered", &self.buf.len())
            .field("max_chunk", &self.max_chunk)
            .field("keep_alive", &self.keep_alive)
            .finish_non_exhaustive()
    }
}

#[cfg(feature = "http-body")]
impl<S> http_body::Body for SseBody<S>
where
    S: Stream,
    S::Item: SseItem,
{
    type Data = Bytes;
    type Error = ErrorOf<S>;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, Self::Error>>> {
        self.poll_next(cx)
            .map(|item| item.map(|chunk| chunk.map(http_body::Frame::data)))
    }

    fn is_end_stream(&self) -> bool {
        self.state == State::Done
    }

    fn size_hint(&self) -> http_body::SizeHint {
        if self.state == State::Done {
            http_body::SizeHint::with_exact(0)
        } else {
            http_body::SizeHint::default()
        }
    }
}
