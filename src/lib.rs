//! Server-Sent Events (`text/event-stream`) for any Rust HTTP stack.
//!
//! (Crate documentation: see the end of this session's work.)
#![forbid(unsafe_code)]
#![deny(missing_docs, missing_debug_implementations, unreachable_pub)]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![doc(test(attr(deny(warnings))))]

#[cfg(feature = "axum")]
mod axum_response;
mod body;
mod data_writer;
mod encoded;
mod error;
mod event;
mod fields;
#[cfg(feature = "json")]
mod json;
mod keep_alive;
mod last_event_id;
mod response;
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
pub use last_event_id::{
    last_event_id, last_event_id_with_limit, LastEventIdError, DEFAULT_LAST_EVENT_ID_LIMIT,
    LAST_EVENT_ID,
};
pub use response::{
    accepts_event_stream, no_content_response, set_sse_headers, sse_response, SSE_HEADERS,
};
#[cfg(feature = "tokio")]
pub use timer::TokioTimer;
pub use timer::{Sleep, Timer};
