//! The body: any stream of events as a `text/event-stream` body.
//!
//! - `item`: what a stream may yield ([`SseItem`]) and the [`OutgoingEvent`] it
//!   becomes;
//! - `sse_body`: [`SseBody`] and its polling (coalescing, keep-alive, the end);
//! - `options`: its `with_*` configuration;
//! - `extras`: the rarely used options, kept out of line;
//! - `hooks`: where the body tells its [`StreamGroup`](crate::StreamGroup) what it
//!   did (one call per chunk, one at the end; the drop is the group's own).

mod extras;
mod hooks;
mod item;
mod options;
mod sse_body;

pub(crate) use extras::random_up_to;
pub use item::{OutgoingEvent, SseItem};
pub use sse_body::SseBody;
