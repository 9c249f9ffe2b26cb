//! The body's calls into its [`StreamGroup`](crate::StreamGroup), if it has one: each
//! is one `Option` check on the extras the body already has at hand, so a body
//! without a group pays (next to) nothing. The counting itself is in
//! `crate::observe`.
//!
//! When: the first poll opens the stream (`observe_poll`); every chunk handed to the
//! server (`observe_chunk`, `observe_keep_alive`); the reason the body ends
//! (`observe_end`, `observe_stream_end`, and `Extras::poll_stop` for shutdown and
//! lifetime); and the drop of the extras, which closes the stream (with
//! `CloseReason::ClientGone` when nothing ended it before).

use bytes::Bytes;

use super::extras::Extras;
use crate::observe::{CloseReason, Observer};

type ExtrasSlot<E> = Option<Box<Extras<E>>>;

#[inline]
fn observer<E>(extras: &mut ExtrasSlot<E>) -> Option<&mut Observer> {
    extras.as_deref_mut().and_then(|x| x.observer.as_mut())
}

impl<E> Extras<E> {
    /// At the start of each poll (the first one opens the stream).
    #[inline]
    pub(super) fn observe_poll(&mut self) {
        if let Some(observer) = self.observer.as_mut() {
            observer.poll();
        }
    }

    /// The body will end for `reason`.
    pub(super) fn observe_end(&mut self, reason: CloseReason) {
        if let Some(observer) = self.observer.as_mut() {
            observer.end(reason);
        }
    }

    /// The opening event, taken and counted.
    pub(super) fn take_opening(&mut self) -> Option<Bytes> {
        let opening = self.opening.take()?;
        if let Some(observer) = self.observer.as_mut() {
            observer.chunk(1, opening.len());
        }
        Some(opening)
    }

    /// The farewell, taken and counted.
    pub(super) fn take_farewell(&mut self) -> Option<Bytes> {
        let farewell = self.farewell.take()?;
        if let Some(observer) = self.observer.as_mut() {
            observer.chunk(1, farewell.len());
        }
        Some(farewell)
    }
}

/// A chunk of `events` events handed to the server.
#[inline]
pub(super) fn observe_chunk<E>(extras: &mut ExtrasSlot<E>, events: u32, chunk: &Bytes) {
    if let Some(observer) = observer(extras) {
        observer.chunk(events, chunk.len());
    }
}

/// A keep-alive handed to the server.
#[inline]
pub(super) fn observe_keep_alive<E>(extras: &mut ExtrasSlot<E>, message: &Bytes) {
    if let Some(observer) = observer(extras) {
        observer.keep_alive(message.len());
    }
}

/// The stream failed (whatever the error option then does).
#[cold]
pub(super) fn observe_error<E>(extras: &mut ExtrasSlot<E>) {
    if let Some(observer) = observer(extras) {
        observer.end(CloseReason::Error);
    }
}

/// The stream ended (after an error, the error's reason stays).
pub(super) fn observe_stream_end<E>(extras: &mut ExtrasSlot<E>) {
    if let Some(observer) = observer(extras) {
        observer.stream_ended();
    }
}
