//! The client side: an incremental, spec-exact decoder for `text/event-stream`.
//!
//! [`Decoder`] implements the WHATWG "interpreting an event stream" algorithm (HTML
//! Living Standard, 9.2.6) on bytes that arrive in chunks of any size;
//! [`DecodeStream`] runs it over a stream of chunks (a response body).
//!
//! How it is built, one concept per module, each depending only on those above it:
//!
//! - `text`: valid UTF-8 in `Bytes`, short labels inline, and the one rule for when
//!   a decoded value may stay a slice of a larger buffer (so that a kept event never
//!   pins another event's memory);
//! - `error`: [`DecodeError`], a crossed limit;
//! - `message`: what comes out, [`MessageEvent`] and [`Decoded`], and
//!   `Event::from(&MessageEvent)` back to the encoder;
//! - `lines`: chunks in, complete lines out (a block-wise search for line breaks that
//!   also tells whether a line is ASCII, so ASCII skips UTF-8 validation; a line
//!   within one chunk is lent without a copy);
//! - `parser`: lines in, fields interpreted, events dispatched;
//! - `decoder`: [`Decoder`], the public sans-IO API joining `lines` and `parser`;
//! - `stream`: [`DecodeStream`] and [`DecodeStreamError`].
//!
//! State kept between chunks, and its bound:
//! - the start of a line whose end has not arrived (at most `max_line_size` bytes);
//! - the event being read: its data and type (at most `max_event_size` bytes);
//! - the last event ID (one line) and the reconnection time.
//!
//! After a limit is crossed the decoder reports it once, then skips the rest of that
//! event (up to its blank line) without buffering it, and goes on with the next.

mod decoder;
mod error;
mod lines;
mod message;
mod parser;
mod stream;
mod text;

pub use decoder::Decoder;
pub use error::DecodeError;
pub use message::{Decoded, MessageEvent};
pub use stream::{DecodeStream, DecodeStreamError};
