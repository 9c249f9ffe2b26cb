//! Server-Sent Events (`text/event-stream`) for any Rust HTTP stack.
//!
//! `ssewire` turns events into exactly the bytes the [WHATWG spec] says a browser's
//! `EventSource` reads, and a stream of them into a streaming HTTP body:
//!
//! - [`Event`]: a builder that can only make valid events (bad input is a typed
//!   [`EventError`], never a panic, never an injected field);
//! - [`Event::encode`] / [`Event::encode_to`]: the wire encoder (building and encoding
//!   a typical event costs one allocation; `encode_to` into your buffer adds none);
//!   [`EncodedEvent`] to encode once and send the same bytes to many clients;
//! - [`SseBody`]: any `Stream` of events as a body (a `Stream` of `Bytes`, an
//!   `http_body::Body`, an axum response), with [`KeepAlive`], graceful shutdown and
//!   a maximum lifetime;
//! - HTTP helpers: [`sse_response`], [`last_event_id`], [`no_content_response`],
//!   [`accepts_event_stream`];
//! - [`Decoder`] and [`DecodeStream`]: the client side, a spec-exact incremental
//!   parser for response bodies from hyper, reqwest or anything that yields bytes;
//! - `Hub` (feature `broadcast`): fan-out to many clients, each event encoded once,
//!   with bounded history and exact `Last-Event-ID` resumption.
//!
//! [WHATWG spec]: https://html.spec.whatwg.org/multipage/server-sent-events.html
//!
//! # Quick start: axum
//!
//! With features `axum` and `tokio`, a handler returns the body:
//!
//! ```
//! # #[cfg(all(feature = "axum", feature = "tokio"))] {
//! use std::time::Duration;
//! use axum::{extract::State, routing::get, Router};
//! use futures_util::{Stream, StreamExt};
//! use ssewire::{Event, EventType, KeepAlive, SseBody};
//!
//! const TICK: EventType = EventType::from_static("tick");
//!
//! async fn ticks(State(keep_alive): State<KeepAlive>) -> SseBody<impl Stream<Item = Event>> {
//!     let ticks = futures_util::stream::iter(0u64..).then(|n| async move {
//!         tokio::time::sleep(Duration::from_secs(1)).await;
//!         Event::new().event(TICK).id(n).data(format!("tick {n}"))
//!     });
//!     SseBody::from_events(ticks).keep_alive(keep_alive)
//! }
//!
//! // One KeepAlive for the server: every body shares its timer.
//! let app: Router = Router::new().route("/ticks", get(ticks)).with_state(KeepAlive::tokio());
//! # let _ = app;
//! # }
//! ```
//!
//! # Quick start: hyper (or any framework taking a stream of `Bytes`)
//!
//! [`SseBody`] is a `Stream<Item = Result<Bytes, E>>`; with feature `http-body` it
//! is also an `http_body::Body`, so hyper serves it directly.
//! [`sse_response`] adds the right headers:
//!
//! ```
//! # #[cfg(feature = "http-body")] {
//! use std::convert::Infallible;
//! use ssewire::{Event, SseBody};
//!
//! async fn handle(
//!     _req: http::Request<hyper::body::Incoming>,
//! ) -> Result<http::Response<SseBody<impl futures_util::Stream<Item = Event>>>, Infallible> {
//!     let events = futures_util::stream::iter([Event::with_data("hello")]);
//!     Ok(ssewire::sse_response(SseBody::from_events(events)))
//! }
//! // hyper::service::service_fn(handle), served by hyper or hyper-util.
//! # let _ = hyper::service::service_fn(handle);
//! # }
//! ```
//!
//! For actix-web, `HttpResponse::Ok().content_type("text/event-stream")
//! .streaming(body)` takes the same body.
//!
//! # The wire format, and what this crate guarantees
//!
//! An event is a block of `field: value` lines ended by a blank line:
//!
//! ```text
//! event: tick
//! id: 7
//! data: first line
//! data: second line
//!
//! ```
//!
//! - Output is UTF-8 with LF line ends only, no BOM, one space after each colon, and
//!   every event ends with a blank line. A whole event always goes out in one chunk.
//! - Data is split at every CRLF, CR and LF, one `data: ` line per line; clients join
//!   them with LF, so CR and CRLF in data come back as LF. Empty data is one
//!   `data: ` line; a trailing newline keeps its empty line.
//! - An event type with CR or LF, or an id with CR, LF or NUL, is rejected when the
//!   event is built ([`EventError`] names the field and byte offset). The empty id
//!   ([`EventId::empty`]) is distinct from no id: it resets the client's last id.
//! - `retry` is written in whole milliseconds. Comments get a `:` on every line.
//!
//! # Keep-alive
//!
//! Proxies close connections that carry nothing for a while (nginx after 60 s by
//! default). [`KeepAlive`] sends a comment after 15 s (configurable) without output.
//! Create it once and clone it into each body: all clones share one timer, and an
//! event costs nothing extra.
//!
//! # Resuming with `Last-Event-ID`
//!
//! Browsers reconnect on their own (after about 3 s, or the `retry` you set) and send
//! the last id they saw in the `Last-Event-ID` header. Read it with
//! [`last_event_id`], which decodes the raw UTF-8 bytes browsers send, and start the
//! stream after that id:
//!
//! ```
//! let mut headers = http::HeaderMap::new();
//! headers.insert(ssewire::LAST_EVENT_ID, http::HeaderValue::from_static("41"));
//! let resume_after: Option<u64> = ssewire::last_event_id(&headers)
//!     .ok()
//!     .flatten()
//!     .and_then(|id| id.parse().ok());
//! assert_eq!(resume_after, Some(41));
//! ```
//!
//! # Pitfalls
//!
//! - **Compression buffers the stream.** A gzip/brotli layer holds bytes until a
//!   block fills, so events stop arriving. tower-http's `CompressionLayer` skips
//!   `text/event-stream` by default; a custom predicate brings the problem back.
//!   If you must compress, flush at every event.
//! - **Reverse proxies buffer too.** nginx buffers upstream responses;
//!   [`sse_response`] sets `X-Accel-Buffering: no`, which turns that off per
//!   response. Other proxies need `proxy_buffering off` or the like.
//! - **No `Connection` or `Keep-Alive` headers.** HTTP/2 forbids connection-specific
//!   headers (the `h2` crate refuses such a response, hyper strips them with a
//!   warning). The helpers here never set them; don't add them.
//! - **Events without data are dropped by browsers.** An event needs at least one
//!   `data` line to reach `onmessage`/`addEventListener`; `Event::new().data("")` is
//!   enough. (Its `id` and `retry` still take effect.)
//! - **Clients reconnect forever.** The end of the body, or any network error, makes
//!   a browser reconnect. Only a non-200 status (or a wrong content type) stops it:
//!   answer [`no_content_response`] (204) when there is nothing more to send.
//! - **Six connections per origin on HTTP/1.1.** Browsers share that limit across
//!   all tabs, so a page with several `EventSource`s, or several tabs, stalls. Use one
//!   stream per page with event types, or serve over HTTP/2 (about 100 streams).
//!
//! # Features
//!
//! | feature | what it adds |
//! |---|---|
//! | `json` | `Event::json_data` (serde + serde_json) |
//! | `tokio` | `TokioTimer`, `KeepAlive::tokio` |
//! | `http-body` | `http_body::Body` for [`SseBody`] |
//! | `axum` | `IntoResponse` for [`SseBody`] (through `axum-core`; implies `http-body`) |
//! | `broadcast` | `Hub`, `Topic`, `Subscriber`: fan-out with replay (std only) |
//!
//! None is on by default: the core depends only on `bytes`, `futures-core`,
//! `pin-project-lite`, `http` and `thiserror`.
#![forbid(unsafe_code)]
#![deny(missing_docs, missing_debug_implementations, unreachable_pub)]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![doc(test(attr(deny(warnings))))]

#[cfg(feature = "axum")]
mod axum_response;
mod body;
#[cfg(feature = "client")]
#[cfg_attr(docsrs, doc(cfg(feature = "client")))]
pub mod client;
mod data_writer;
mod decode;
mod decode_stream;
mod encoded;
mod error;
mod event;
mod fields;
#[cfg(feature = "broadcast")]
mod hub;
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
pub use decode::{DecodeError, Decoded, Decoder, MessageEvent};
pub use decode_stream::{DecodeStream, DecodeStreamError};
pub use encoded::EncodedEvent;
pub use error::{EventError, Field};
pub use event::Event;
pub use fields::{EventId, EventType};
#[cfg(feature = "broadcast")]
#[cfg_attr(docsrs, doc(cfg(feature = "broadcast")))]
pub use hub::{
    Hub, HubConfig, HubStats, IdPolicy, LagPolicy, LostReason, Resume, Subscriber, Topic,
};
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
