//! [`SseBody`]: the stream adapter that turns any stream of events into a
//! `text/event-stream` body, and its polling (coalescing, keep-alive, the end).

use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{Bytes, BytesMut};
use futures_core::Stream;
use pin_project_lite::pin_project;

use super::extras::{Extras, OnError};
use super::hooks::{observe_chunk, observe_error, observe_keep_alive, observe_stream_end};
use super::item::{Chunk, ErrorOf, OutgoingEvent, SseItem};
use crate::keep_alive::KeepAliveState;

/// Events at least this large go out alone, without a copy: coalescing them would cost
/// more (a copy of every byte) than it saves (a few bytes of chunk framing).
pub(super) const ALONE_FROM: usize = 1024;

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
    ///   [`EncodedEvent`](crate::EncodedEvent) shared between many bodies is sent as
    ///   the very same bytes. A [`WithData`](crate::WithData) is copied into the chunk
    ///   whatever its size (its data has to be copied once anyway), so large ones
    ///   coalesce too.
    /// - **Disconnects.** When the client goes away, the server drops the body, and
    ///   with it the stream, at once.
    /// - **Keep-alive** ([`with_keep_alive`](SseBody::with_keep_alive)), **an opening
    ///   event** ([`with_open_event`](SseBody::with_open_event)), **graceful shutdown**
    ///   ([`with_shutdown_signal`](SseBody::with_shutdown_signal)) and **a maximum
    ///   lifetime** ([`with_max_lifetime`](SseBody::with_max_lifetime)) are opt-in.
    ///
    /// # Errors
    ///
    /// **By default, an error from the stream ends the body cleanly, and the error
    /// itself goes nowhere**: the events before it are sent (and flushed), then the
    /// body ends as if the stream had ended. The client sees a normal end of stream; a
    /// browser reconnects (after its retry delay) and resumes with `Last-Event-ID`.
    /// Choose what happens instead:
    ///
    /// | option | the client gets | you get the error |
    /// |---|---|---|
    /// | default | the events before the error, then a clean end | no |
    /// | [`with_error_observer(f)`](SseBody::with_error_observer) | the same | `f(error)` (log it) |
    /// | [`with_error_handler(f)`](SseBody::with_error_handler) | those events, then the event `f(error)`, then a clean end | in `f` |
    /// | [`with_abort_on_error()`](SseBody::with_abort_on_error) | a transport error: hyper resets the HTTP/2 stream or closes the HTTP/1.1 connection, and chunks not yet written are lost | from the server, which gets it as the body's error |
    ///
    /// Once ended, the body stays ended.
    ///
    /// The body is `Send` when the stream and its error are; it never needs `Sync`.
    #[must_use = "a body does nothing unless it is polled"]
    pub struct SseBody<S>
    where
        S: Stream,
        S::Item: SseItem,
    {
        #[pin]
        pub(super) stream: S,
        pub(super) buf: BytesMut,
        pub(super) max_chunk: u32,
        pub(super) state: State,
        pub(super) error: Option<ErrorOf<S>>,
        pub(super) keep_alive: Option<KeepAliveState>,
        pub(super) extras: Option<Box<Extras<ErrorOf<S>>>>,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum State {
    /// Streaming; `active` is set whenever a chunk goes out, and cleared by the
    /// keep-alive when it checks for idleness (once per interval).
    Streaming {
        active: bool,
    },
    /// The stream ended or failed; what is left is `error`, then the end.
    Ending,
    Done,
}

impl<S> SseBody<S>
where
    S: Stream,
    S::Item: SseItem,
{
    /// The default bound for coalescing ready events into one chunk: 64 KiB.
    ///
    /// ```
    /// type Body = ssewire::SseBody<futures_util::stream::Empty<ssewire::Event>>;
    /// assert_eq!(Body::DEFAULT_MAX_CHUNK_SIZE, 64 * 1024);
    /// ```
    pub const DEFAULT_MAX_CHUNK_SIZE: usize = 64 * 1024;

    /// A body that sends every event of `stream`.
    ///
    /// The stream may yield [`Event`](crate::Event)s,
    /// [`EncodedEvent`](crate::EncodedEvent)s, [`OutgoingEvent`]s,
    /// [`WithData`](crate::WithData)s (written straight into the chunk: no
    /// allocation while events are coalesced, but one for an event that opens a chunk
    /// of its own, as after an idle spell or when the chunk before it is full),
    /// `Result`s of any of them, or any [`SseItem`].
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
            max_chunk: Self::DEFAULT_MAX_CHUNK_SIZE as u32,
            state: State::Streaming { active: true },
            error: None,
            keep_alive: None,
            extras: None,
        }
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

    pub(super) fn extras_mut(&mut self) -> &mut Extras<ErrorOf<S>> {
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
        match *this.state {
            State::Done => return Poll::Ready(None),
            State::Ending => {
                // The error handler's event, when it did not fit in the last chunk.
                if let Some(held) = this.extras.as_deref_mut().and_then(|x| x.held.take()) {
                    let chunk = held.into_bytes();
                    observe_chunk(this.extras, 1, &chunk);
                    return Poll::Ready(Some(Ok(chunk)));
                }
                *this.state = State::Done;
                return Poll::Ready(this.error.take().map(Err));
            }
            State::Streaming { .. } => {}
        }

        if let Some(extras) = this.extras.as_deref_mut() {
            extras.observe_poll();
            if let Some(opening) = extras.take_opening() {
                *this.state = State::Streaming { active: true };
                return Poll::Ready(Some(Ok(opening)));
            }
            if extras.poll_stop(cx) {
                *this.state = State::Done;
                return Poll::Ready(extras.take_farewell().map(Ok));
            }
        }

        // Take every event that is ready, up to the chunk bound. The first is sent on
        // its own, without a copy; only a second one starts coalescing. Whether an
        // event fits is decided from its length, before anything is copied.
        let max_chunk = *this.max_chunk as usize;
        let mut single: Option<Bytes> = None;
        let mut ended = false;
        // Events in the chunk, for the group (`with_group`).
        let mut events = 0u32;
        // An event that did not fit in the last chunk opens this one.
        if let Some(held) = this.extras.as_deref_mut().and_then(|x| x.held.take()) {
            single = Some(held.into_bytes());
            events += 1;
        }
        while !matches!(&single, Some(first) if first.len() >= max_chunk.min(ALONE_FROM)) {
            let event: OutgoingEvent = match this.stream.as_mut().poll_next(cx) {
                Poll::Pending => break,
                Poll::Ready(None) => {
                    ended = true;
                    break;
                }
                Poll::Ready(Some(item)) => match item.hand_over(&mut Chunk {
                    buf: this.buf,
                    single: &mut single,
                    max_chunk,
                }) {
                    Ok(Some(event)) => event,
                    Ok(None) => {
                        // Written into the chunk already.
                        events += 1;
                        if this.buf.len() >= max_chunk {
                            break;
                        }
                        continue;
                    }
                    Err(err) => {
                        ended = true;
                        observe_error(this.extras);
                        let on_error = this.extras.as_deref_mut().map(|x| &mut x.on_error);
                        match on_error {
                            Some(OnError::Event(to_event)) => to_event(err).into(),
                            Some(OnError::Abort) => {
                                *this.error = Some(err);
                                break;
                            }
                            Some(OnError::End(Some(observe))) => {
                                observe(err);
                                break;
                            }
                            Some(OnError::End(None)) | None => break,
                        }
                    }
                },
            };
            events += 1;
            if single.is_none() && this.buf.is_empty() {
                single = Some(event.into_bytes());
            } else {
                let queued = single.as_ref().map_or(this.buf.len(), Bytes::len);
                // The cheap upper bound settles the common case; the exact length
                // (which counts the id's digits) only near a limit.
                let bound = event.max_encoded_len();
                let len = if queued.saturating_add(bound) <= max_chunk && bound < ALONE_FROM {
                    bound
                } else {
                    event.encoded_len()
                };
                if queued.saturating_add(len) > max_chunk || len >= ALONE_FROM {
                    // It overflows the chunk, or is large enough to go alone: it
                    // opens the next chunk instead, uncopied (after a stream error,
                    // the error handler's event is the body's last chunk).
                    this.extras.get_or_insert_with(Box::default).held = Some(event);
                    events -= 1;
                    break;
                }
                if let Some(first) = single.take() {
                    this.buf.reserve(first.len() + len + 4096);
                    this.buf.extend_from_slice(&first);
                }
                event.encode_to(this.buf);
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
            observe_stream_end(this.extras);
        }
        if let Some(chunk) = chunk {
            if !ended {
                *this.state = State::Streaming { active: true };
            }
            observe_chunk(this.extras, events, &chunk);
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
        if let Some(keep_alive) = this.keep_alive.as_mut() {
            if let State::Streaming { active } = this.state {
                if let Poll::Ready(message) = keep_alive.poll_idle(cx, active) {
                    observe_keep_alive(this.extras, &message);
                    return Poll::Ready(Some(Ok(message)));
                }
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

#[cfg(test)]
mod tests {
    use super::*;

    /// An idle body must stay small (issue 11: at most 96 B of heap per idle body
    /// with keep-alive, the body itself included).
    #[test]
    fn the_body_is_64_bytes() {
        type Body = SseBody<futures_util::stream::Pending<crate::Event>>;
        assert_eq!(std::mem::size_of::<Body>(), 64);
    }
}
