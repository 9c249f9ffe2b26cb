//! [`EventSource`]'s state machine: the `Stream` implementation.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use futures_core::{FusedStream, Stream};

use http::{HeaderMap, StatusCode, Uri};

use super::error::{Error, ResponseError, RetryCause};
use super::item::Item;
use super::request;
use super::source::{EventSource, State};
use super::transport::UnsupportedScheme;
use crate::{Sleep, Timer};

/// Whether the idle timeout ran out since `last` (re-arming the sleep lazily, so a
/// busy stream costs one `now()` per chunk and one timer per idle period).
fn idle_expired(
    timer: &dyn Timer,
    limit: Option<Duration>,
    idle: &mut Option<Sleep>,
    last: Instant,
    cx: &mut Context<'_>,
) -> bool {
    let Some(limit) = limit else {
        return false;
    };
    loop {
        let sleep = idle.get_or_insert_with(|| {
            timer.sleep(limit.saturating_sub(timer.now().saturating_duration_since(last)))
        });
        if sleep.as_mut().poll(cx).is_pending() {
            return false;
        }
        *idle = None;
        if timer.now().saturating_duration_since(last) >= limit {
            return true;
        }
    }
}

impl Stream for EventSource {
    type Item = Result<Item, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        loop {
            match &mut this.state {
                State::Start => {
                    if !request::is_absolute(&this.uri) {
                        let uri = this.uri.clone();
                        return this.fail(Error::InvalidUri(uri));
                    }
                    this.connect(this.uri.clone(), 0, false);
                }
                State::Connecting {
                    uri,
                    response,
                    started,
                    idle,
                    ..
                } => match response.as_mut().poll(cx) {
                    Poll::Pending => {
                        let limit = this.config.idle_timeout();
                        if idle_expired(&*this.timer, limit, idle, *started, cx) {
                            return this.retry(RetryCause::IdleTimeout, false);
                        }
                        return Poll::Pending;
                    }
                    Poll::Ready(Err(error)) => {
                        if error.is::<UnsupportedScheme>() {
                            let uri = uri.clone();
                            return this.fail(Error::UnsupportedScheme(uri));
                        }
                        return this.retry(RetryCause::Transport(error), false);
                    }
                    Poll::Ready(Ok(response)) => {
                        let State::Connecting {
                            uri,
                            redirects,
                            drop_credentials,
                            last_event_id,
                            ..
                        } = std::mem::replace(&mut this.state, State::Closed)
                        else {
                            unreachable!("matched above")
                        };
                        if let Some(poll) = this.on_response(
                            response,
                            uri,
                            redirects,
                            drop_credentials,
                            last_event_id,
                        ) {
                            return poll;
                        }
                    }
                },
                State::Streaming {
                    body,
                    opened,
                    last_byte,
                    idle,
                    events,
                } => {
                    match this.decoder.next_event() {
                        Ok(Some(event)) => {
                            *events += 1;
                            this.stats.events += 1;
                            return Poll::Ready(Some(Ok(Item::Event(event))));
                        }
                        Ok(None) => {}
                        Err(error) => return Poll::Ready(Some(Ok(Item::Skipped(error)))),
                    }
                    let cause = match body.as_mut().poll_next(cx) {
                        Poll::Ready(Some(Ok(chunk))) => {
                            if this.config.idle_timeout().is_some() {
                                *last_byte = this.timer.now();
                            }
                            this.stats.bytes += chunk.len() as u64;
                            this.decoder.feed(chunk);
                            continue;
                        }
                        Poll::Ready(Some(Err(error))) => RetryCause::Transport(error),
                        Poll::Ready(None) => RetryCause::EndOfStream,
                        Poll::Pending => {
                            let limit = this.config.idle_timeout();
                            if !idle_expired(&*this.timer, limit, idle, *last_byte, cx) {
                                return Poll::Pending;
                            }
                            RetryCause::IdleTimeout
                        }
                    };
                    let healthy = *events > 0
                        || this.timer.now().saturating_duration_since(*opened)
                            >= this.config.healthy_after();
                    return this.retry(cause, healthy);
                }
                State::ErrorBody {
                    error,
                    body,
                    buf,
                    last_byte,
                    idle,
                } => {
                    let limit = this.config.max_error_body();
                    let done = loop {
                        if buf.len() >= limit {
                            break true;
                        }
                        match body.as_mut().poll_next(cx) {
                            Poll::Ready(Some(Ok(chunk))) => {
                                let take = chunk.len().min(limit - buf.len());
                                buf.extend_from_slice(&chunk[..take]);
                                *last_byte = this.timer.now();
                            }
                            Poll::Ready(Some(Err(_)) | None) => break true,
                            Poll::Pending => {
                                let timeout = this.config.idle_timeout();
                                break idle_expired(&*this.timer, timeout, idle, *last_byte, cx);
                            }
                        }
                    };
                    if !done {
                        return Poll::Pending;
                    }
                    let mut error = std::mem::replace(
                        error,
                        Box::new(ResponseError {
                            uri: Uri::default(),
                            status: StatusCode::OK,
                            headers: HeaderMap::new(),
                            body: bytes::Bytes::new(),
                        }),
                    );
                    error.body = std::mem::take(buf).freeze();
                    return this.fail(Error::Response(error));
                }
                State::Waiting(sleep) => {
                    if sleep.as_mut().poll(cx).is_pending() {
                        return Poll::Pending;
                    }
                    this.connect(this.uri.clone(), 0, false);
                }
                State::Closed => return Poll::Ready(None),
            }
        }
    }
}

impl FusedStream for EventSource {
    fn is_terminated(&self) -> bool {
        matches!(self.state, State::Closed)
    }
}
