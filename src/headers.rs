//! HTTP on `http` types: the response headers of an event stream, the 204 that stops
//! reconnects, `Accept` negotiation and the `Last-Event-ID` request header. The
//! framework integrations (`axum`, `actix`) build on these.

mod accept;
mod constants;
#[cfg(any(feature = "axum", feature = "actix"))]
mod extractor;
mod last_event_id;
mod response;

pub use accept::accepts_event_stream;
pub use constants::{DEFAULT_LAST_EVENT_ID_LIMIT, LAST_EVENT_ID, SSE_HEADERS};
#[cfg(any(feature = "axum", feature = "actix"))]
pub use extractor::LastEventId;
#[cfg(feature = "actix")]
pub(crate) use last_event_id::from_values;
pub use last_event_id::{
    last_event_id, last_event_id_with_limit, parse_last_event_id, LastEventIdError,
};
pub use response::{no_content_response, set_sse_headers, sse_response};
