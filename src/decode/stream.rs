//! The decoder as a stream adapter: chunks of bytes in, events out.

use std::fmt;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use bytes::Bytes;
use futures_core::{FusedStream, Stream};
use pin_project_lite::pin_project;

use super::decoder::Decoder;
use super::error::DecodeError;
use super::message::MessageEvent;

/// An error from a [`DecodeStream`]: either the transport failed (the inner stream
/// returned an error), or the bytes broke a limit of the [`Decoder`].
///
/// ```
/// use ssewire::{DecodeError, DecodeStreamError};
///
/// fn should_reconnect<E>(err: &DecodeStreamError<E>) -> bool {
///     match err {
///         // The connection broke: reconnect with Last-Event-ID.
///         DecodeStreamError::Transport(_) => true,
///         // The server sent something over our limits: give up.
///         DecodeStreamError::Format(DecodeError::EventTooLarge { .. }) => false,
///         _ => false,
///     }
/// }
/// let reset = DecodeStreamError::Transport(std::io::Error::other("connection reset"));
/// assert!(should_reconnect(&reset));
///
/// let mut decoder = ssewire::Decoder::new().with_max_event_size(1);
/// decoder.feed("data: too big\n\n");
/// let too_big: DecodeStreamError<std::io::Error> = decoder.next_event().unwrap_err().into();
/// assert!(!should_reconnect(&too_big));
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeStreamError<E> {
    /// The inner stream (the connection, the response body) returned an error.
    #[error("reading the event stream failed")]
    Transport(#[source] E),
    /// The stream's bytes crossed a limit of the decoder. The offending event was
    /// skipped; the stream can be polled on.
    #[error(transparent)]
    Format(#[from] DecodeError),
}

impl<E> DecodeStreamError<E> {
    /// Whether the inner stream failed (as opposed to the decoder).
    ///
    /// ```
    /// let err: ssewire::DecodeStreamError<std::io::Error> =
    ///     ssewire::DecodeStreamError::Transport(std::io::Error::other("reset"));
    /// assert!(err.is_transport());
    /// ```
    pub fn is_transport(&self) -> bool {
        matches!(self, DecodeStreamError::Transport(_))
    }

    /// Whether the decoder rejected the bytes (a [`DecodeError`]).
    ///
    /// ```
    /// let mut decoder = ssewire::Decoder::new().with_max_line_size(2);
    /// decoder.feed("data: x\n");
    /// let err: ssewire::DecodeStreamError<std::io::Error> =
    ///     decoder.next_event().unwrap_err().into();
    /// assert!(err.is_format());
    /// ```
    pub fn is_format(&self) -> bool {
        matches!(self, DecodeStreamError::Format(_))
    }
}

pin_project! {
    /// A stream of [`MessageEvent`]s decoded from a stream of byte chunks: the body
    /// of a `text/event-stream` response.
    ///
    /// It takes any `Stream<Item = Result<B, E>>` where `B: Into<Bytes>`: a hyper
    /// body's `into_data_stream()` (from `http-body-util`), reqwest's
    /// `bytes_stream()`, a channel of `Bytes`. It yields each event as soon as its
    /// blank line arrives, and ends when the inner stream ends (an event the stream
    /// ended in the middle of is dropped, as browsers do). Errors say whether the
    /// transport failed or the decoder's limits were crossed
    /// ([`DecodeStreamError`]); after either, the stream can be polled on.
    ///
    /// Decoding a response body (here an in-memory one, sent in awkward pieces):
    ///
    /// ```
    /// use bytes::Bytes;
    /// use futures_util::{stream, StreamExt};
    /// use http_body_util::{BodyExt, StreamBody};
    /// use hyper::body::Frame;
    /// use ssewire::DecodeStream;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let pieces = ["event: tick\nid: 1\nda", "ta: 12:00\n\n: keep-alive\n\n", "data: {\"n\":2}\r", "\n\r\n"];
    /// let frames = pieces.map(|p| Ok::<_, std::io::Error>(Frame::data(Bytes::from(p))));
    /// let body = StreamBody::new(stream::iter(frames)); // an http_body::Body, like hyper's
    ///
    /// let mut events = DecodeStream::new(body.into_data_stream());
    /// let first = events.next().await.expect("an event")?;
    /// assert_eq!((first.event_type(), first.data(), first.last_event_id()), ("tick", "12:00", "1"));
    /// let second = events.next().await.expect("an event")?;
    /// assert_eq!((second.event_type(), second.data(), second.last_event_id()), ("message", "{\"n\":2}", "1"));
    /// assert!(events.next().await.is_none());
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// With a real server, through hyper's client (reqwest works the same way with
    /// `DecodeStream::new(response.bytes_stream())`), reconnecting with
    /// `Last-Event-ID` after the connection ends:
    ///
    /// ```no_run
    /// use bytes::Bytes;
    /// use futures_util::StreamExt;
    /// use http_body_util::{BodyExt, Empty};
    /// use hyper_util::{client::legacy::Client, rt::TokioExecutor};
    /// use ssewire::{DecodeStream, Decoder};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let client = Client::builder(TokioExecutor::new()).build_http::<Empty<Bytes>>();
    /// let mut decoder = Decoder::new().with_max_event_size(1 << 20);
    /// loop {
    ///     let mut request = http::Request::get("http://127.0.0.1:3000/events")
    ///         .header(http::header::ACCEPT, "text/event-stream");
    ///     if !decoder.last_event_id().is_empty() {
    ///         request = request.header("last-event-id", decoder.last_event_id());
    ///     }
    ///     let response = client.request(request.body(Empty::new())?).await?;
    ///     if response.status() != http::StatusCode::OK {
    ///         break; // 204 No Content: the server says stop
    ///     }
    ///     let mut events = DecodeStream::with_decoder(response.into_body().into_data_stream(), decoder);
    ///     while let Some(event) = events.next().await {
    ///         match event {
    ///             Ok(event) => println!("{}: {}", event.event_type(), event.data()),
    ///             Err(err) => eprintln!("{err}"),
    ///         }
    ///     }
    ///     decoder = events.into_decoder();
    ///     let wait = decoder.reconnection_time().unwrap_or(std::time::Duration::from_secs(3));
    ///     tokio::time::sleep(wait).await;
    /// }
    /// # Ok(())
    /// # }
    /// ```
    #[must_use = "streams do nothing unless polled"]
    pub struct DecodeStream<S> {
        #[pin]
        inner: S,
        decoder: Decoder,
        ended: bool,
    }
}

impl<S> DecodeStream<S> {
    /// Decodes `inner` with a new [`Decoder`] (default limits).
    ///
    /// ```
    /// use futures_util::stream;
    /// let chunks = stream::iter([Ok::<_, std::io::Error>("data: x\n\n")]);
    /// let events = ssewire::DecodeStream::new(chunks);
    /// assert_eq!(events.decoder().last_event_id(), "");
    /// ```
    pub fn new(inner: S) -> Self {
        DecodeStream::with_decoder(inner, Decoder::new())
    }

    /// Decodes `inner` with `decoder`: its limits, and the last event ID and
    /// reconnection time of a previous connection. `inner` is a new stream (the
    /// decoder is [`reset`](Decoder::reset)).
    ///
    /// ```
    /// use futures_util::{stream, StreamExt};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let decoder = ssewire::Decoder::new().with_last_event_id(7u64);
    /// let chunks = stream::iter([Ok::<_, std::io::Error>("data: x\n\n")]);
    /// let mut events = ssewire::DecodeStream::with_decoder(chunks, decoder);
    /// assert_eq!(events.next().await.unwrap().unwrap().last_event_id(), "7");
    /// # }
    /// ```
    pub fn with_decoder(inner: S, mut decoder: Decoder) -> Self {
        decoder.reset();
        DecodeStream {
            inner,
            decoder,
            ended: false,
        }
    }

    /// The decoder: its [`last_event_id`](Decoder::last_event_id) and
    /// [`reconnection_time`](Decoder::reconnection_time) are what a client needs to reconnect.
    ///
    /// ```
    /// use futures_util::{stream, StreamExt};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let chunks = stream::iter([Ok::<_, std::io::Error>("retry: 500\nid: a\ndata: x\n\n")]);
    /// let mut events = ssewire::DecodeStream::new(chunks);
    /// while events.next().await.is_some() {}
    /// assert_eq!(events.decoder().last_event_id(), "a");
    /// assert_eq!(events.decoder().reconnection_time(), Some(std::time::Duration::from_millis(500)));
    /// # }
    /// ```
    pub fn decoder(&self) -> &Decoder {
        &self.decoder
    }

    /// Gives the decoder back, for the next connection (see
    /// [`DecodeStream::with_decoder`]).
    ///
    /// ```
    /// use futures_util::stream;
    /// let chunks = stream::iter([Ok::<_, std::io::Error>("")]);
    /// let decoder = ssewire::DecodeStream::new(chunks).into_decoder();
    /// assert_eq!(decoder.reconnection_time(), None);
    /// ```
    pub fn into_decoder(self) -> Decoder {
        self.decoder
    }
}

impl<S, B, E> Stream for DecodeStream<S>
where
    S: Stream<Item = Result<B, E>>,
    B: Into<Bytes>,
{
    type Item = Result<MessageEvent, DecodeStreamError<E>>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let mut this = self.project();
        loop {
            match this.decoder.event_ready() {
                // Built in the value returned, not moved into it (see `Decoder::take_event`).
                Ok(true) => return Poll::Ready(Some(Ok(this.decoder.take_event()))),
                Ok(false) => {}
                Err(err) => return Poll::Ready(Some(Err(DecodeStreamError::Format(err)))),
            }
            if *this.ended {
                return Poll::Ready(None);
            }
            match ready!(this.inner.as_mut().poll_next(cx)) {
                Some(Ok(chunk)) => this.decoder.feed(chunk),
                Some(Err(err)) => return Poll::Ready(Some(Err(DecodeStreamError::Transport(err)))),
                None => {
                    // The end of the stream: an unfinished event is dropped, and the
                    // decoder is ready for the next connection.
                    *this.ended = true;
                    this.decoder.reset();
                    return Poll::Ready(None);
                }
            }
        }
    }
}

impl<S, B, E> FusedStream for DecodeStream<S>
where
    S: Stream<Item = Result<B, E>>,
    B: Into<Bytes>,
{
    /// True once the inner stream has ended and every event was taken.
    fn is_terminated(&self) -> bool {
        self.ended
    }
}

impl<S> fmt::Debug for DecodeStream<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DecodeStream")
            .field("decoder", &self.decoder)
            .field("ended", &self.ended)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::{stream, StreamExt};

    #[tokio::test]
    async fn transport_errors_and_format_errors_are_told_apart() {
        let chunks = stream::iter(vec![
            Ok(Bytes::from_static(b"data: 1\n\n")),
            Err("connection reset"),
            Ok(Bytes::from_static(b"data: 0123456789\n\ndata: 2\n\n")),
        ]);
        let decoder = Decoder::new().with_max_line_size(10);
        let got: Vec<_> = DecodeStream::with_decoder(chunks, decoder)
            .map(|r| r.map(|e| e.data().to_owned()))
            .collect()
            .await;
        assert_eq!(got.len(), 4);
        assert_eq!(got[0].as_ref().unwrap(), "1");
        assert!(matches!(
            got[1],
            Err(DecodeStreamError::Transport("connection reset"))
        ));
        assert!(matches!(
            got[2],
            Err(DecodeStreamError::Format(DecodeError::LineTooLong {
                limit: 10,
                offset: 9
            }))
        ));
        assert_eq!(got[3].as_ref().unwrap(), "2");
    }

    #[tokio::test]
    async fn an_unfinished_event_is_dropped_at_the_end() {
        let chunks = stream::iter([Ok::<_, ()>("id: 3\ndata: a\n\n"), Ok("id: 4\ndata: b\n")]);
        let mut events = DecodeStream::new(chunks);
        assert_eq!(events.next().await.unwrap().unwrap().data(), "a");
        assert!(!events.is_terminated());
        assert!(events.next().await.is_none());
        assert!(events.is_terminated());
        assert!(events.next().await.is_none());
        assert_eq!(events.decoder().last_event_id(), "3");
    }
}
