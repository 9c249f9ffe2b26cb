//! Server-Sent Events (`text/event-stream`) for any Rust HTTP stack.
//!
//! (Crate documentation: see the end of this session's work.)
#![forbid(unsafe_code)]
#![deny(missing_docs, missing_debug_implementations, unreachable_pub)]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![doc(test(attr(deny(warnings))))]

mod body;
mod data_writer;
mod encoded;
mod error;
mod event;
mod fields;
#[cfg(feature = "json")]
mod json;
mod keep_alive;
mod scan;
mod timer;
mod wire;

pub use body::{SseBody, SseItem};
pub use data_writer::DataWriter;
pub use encoded::EncodedEvent;
pub use error::{EventError, Field};
pub use event::Event;
pub use fields::{EventId, EventType};
pub use keep_alive::KeepAlive;
#[cfg(feature = "tokio")]
pub use timer::TokioTimer;
pub use timer::{Sleep, Timer};
