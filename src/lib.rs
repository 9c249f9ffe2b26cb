//! Server-Sent Events (`text/event-stream`) for any Rust HTTP stack.
//!
//! `ssewire` turns events into exactly the bytes the [WHATWG spec] says a browser's
//! `EventSource` reads, and a stream of them into a streaming HTTP body:
//!
//! - [`Event`]: a builder that can only make valid events (bad input is a typed
//!   [`EventError`], never a panic, never an injected field);
//! - [`Event::encode`] / [`Event::encode_to`]: the wire encoder (building and encoding
//!   a typical event costs one allocation, whatever the order of the setters;
//!   [`Event::encode_with_data_to`] writes data of any size into a reused buffer with
//!   one copy and no allocation); [`Event::attach_data`] keeps data you own as it is
//!   until the body writes it into its chunk ([`WithData`]: no allocation per event);
//!   [`EncodedEvent`] to encode once and send the same bytes to many clients;
//! - [`SseBody`]: any `Stream` of events or encoded events as a body (a `Stream` of
//!   `Bytes`, an `http_body::Body`, an axum response, an actix-web responder), with
//!   [`KeepAlive`], graceful shutdown and a maximum lifetime, and counters per
//!   [`StreamGroup`] (streams open, why they closed, events, bytes, latency);
//! - HTTP helpers: [`sse_response`], [`last_event_id`] / [`parse_last_event_id`] (and
//!   the `LastEventId` extractor for axum and actix-web), [`no_content_response`],
//!   [`accepts_event_stream`];
//! - [`Decoder`] and [`DecodeStream`]: the client side, a spec-exact incremental
//!   parser for response bodies from hyper, reqwest or anything that yields bytes;
//! - [`hub`] (feature `broadcast`): fan-out to many clients, each event encoded once,
//!   with bounded history and exact `Last-Event-ID` resumption.
//!
//! [WHATWG spec]: https://html.spec.whatwg.org/multipage/server-sent-events.html
//!
//! **One naming rule.** A value built for the wire ([`Event`]) has short setters named
//! after its wire field (`.data(..)`, `.event(..)`, `.id(..)`, `.retry(..)`,
//! `.comment(..)`, as in axum, warp and actix-web-lab) and getters named after what
//! they return (`event_type()`, `event_id()`, `reconnection_time()`). A configuration
//! ([`KeepAlive`], the options of [`SseBody`], [`Decoder`]'s limits, `hub::Config`)
//! has `with_*` setters and plain getters of the same name (`with_interval(d)` /
//! `interval()`), and its defaults are public `DEFAULT_*` constants. One concept has
//! one name everywhere: the spec's *reconnection time* (what `retry:` sets) is
//! `reconnection_time` on both sides of the wire, an *offset* is a byte position in
//! every error, and the last event id travels as an [`EventId`].
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
//!     SseBody::new(ticks).with_keep_alive(keep_alive)
//! }
//!
//! // One KeepAlive for the server: every body shares its timer wheel.
//! let app: Router = Router::new().route("/ticks", get(ticks)).with_state(KeepAlive::tokio());
//! # let _ = app;
//! # }
//! ```
//!
//! With `axum` or `actix`, the `LastEventId` extractor reads the request's
//! `Last-Event-ID` and answers 400 when it is malformed. Complete programs for axum,
//! actix-web and hyper are in `examples/` (`cargo run --example axum`).
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
//!     Ok(ssewire::sse_response(SseBody::new(events)))
//! }
//! // hyper::service::service_fn(handle), served by hyper or hyper-util.
//! # let _ = hyper::service::service_fn(handle);
//! # }
//! ```
//!
//! With feature `actix`, an actix-web handler returns the [`SseBody`] itself (it is a
//! `Responder` with the same headers). Any other framework: hand the body to its
//! streaming response, answer 200 and set the pairs of [`SSE_HEADERS`].
//!
//! # How the crate is built
//!
//! One concept per private module, re-exported flat here (the hub, with many small
//! types, is the one public module). The layout follows the data:
//!
//! - `event` (the builder), `fields` ([`EventType`], [`EventId`]), `data_writer`,
//!   `json`, `error` → `wire` and `scan` (the byte-level writer and the forbidden
//!   character scan) → [`EncodedEvent`];
//! - `body` ([`SseBody`]: coalescing, errors, shutdown, lifetime) with `keep_alive`
//!   (one timer wheel per [`KeepAlive`]) on a runtime-agnostic `timer` ([`Timer`]);
//! - `observe` ([`StreamGroup`], [`StreamStats`], [`CloseReason`]: the counters a
//!   body keeps when it opts in, and their `metrics` export), hooked into `body`;
//! - `headers` (response headers, `Accept`, `Last-Event-ID`) with the framework glue
//!   in `axum` and `actix`;
//! - `decode` (lines → fields → [`MessageEvent`]s, and [`DecodeStream`]);
//! - [`hub`] (config, history ring, resume planning, topic, subscriber, stats), with
//!   `sync` (the one poison-tolerant lock and waker list);
//! - `client` (feature `client`): the reconnecting client (a state machine over a
//!   `Transport` and a [`Timer`], on top of the [`Decoder`]);
//! - `broker` (feature `redis`): a node that feeds its local hub from a broker, the
//!   small `Broker` trait, and its Redis Streams implementation. The hub knows nothing
//!   of it.
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
//! - Output is UTF-8 with LF line ends only, no BOM, one space after each colon.
//!   Every event with an event type, an id or data ends with a blank line; an event of
//!   only comments and/or `retry` (and the keep-alive, `:\n`) ends with its last line,
//!   because a blank line after it makes some clients (Python's `httpx-sse`) report an
//!   empty event. A whole event always goes out in one chunk.
//! - Data is split at every CRLF, CR and LF, one `data: ` line per line; clients join
//!   them with LF, so CR and CRLF in data come back as LF. Empty data is one
//!   `data: ` line; a trailing newline keeps its empty line.
//! - An event type with CR or LF, or an id with CR, LF or NUL, is rejected when the
//!   event is built ([`EventError`] names the field and byte offset). The empty id
//!   ([`EventId::empty`]) is distinct from no id: it resets the client's last id.
//! - `retry` is written in whole milliseconds, at most 2^31 - 1 (the longest delay
//!   JavaScript timers take). Comments get a `:` on every line.
//!
//! # Keep-alive
//!
//! Proxies close connections that carry nothing for a while (nginx after 60 s by
//! default). [`KeepAlive`] sends the comment line `:\n` once a body has been idle for
//! between 1× and 2× its interval (15 s by default, [`KeepAlive::DEFAULT_INTERVAL`]).
//! Create it once (a `static` is fine: it belongs to no runtime) and clone it into
//! each body: an event costs nothing extra, and an idle body is woken once per
//! interval, whatever task polls it.
//!
//! # Resuming with `Last-Event-ID`
//!
//! Browsers reconnect on their own (after about 3 s, or the `retry` you set) and send
//! the last id they saw in the `Last-Event-ID` header. Read it with
//! [`last_event_id`], which decodes the raw UTF-8 bytes browsers send into an
//! [`EventId`], and start the stream after that id:
//!
//! ```
//! let mut headers = http::HeaderMap::new();
//! headers.insert(ssewire::LAST_EVENT_ID, http::HeaderValue::from_static("41"));
//! let last = ssewire::last_event_id(&headers)?; // Err: answer 400
//! assert_eq!(last, Some(ssewire::EventId::from(41u64)));
//! assert_eq!(last.and_then(|id| id.as_u64()), Some(41));
//! # Ok::<(), ssewire::LastEventIdError>(())
//! ```
//!
//! # Pitfalls
//!
//! - **Compression buffers the stream.** A gzip/brotli layer holds bytes until a
//!   block fills, so events stop arriving. tower-http's `CompressionLayer` skips
//!   `text/event-stream` by default; a custom predicate (or actix-web's `Compress`)
//!   brings the problem back. If you must compress, flush at every event.
//! - **Reverse proxies buffer too.** nginx buffers upstream responses;
//!   [`sse_response`] sets `X-Accel-Buffering: no`, which turns that off per
//!   response. Other proxies need `proxy_buffering off` or the like. nginx still holds
//!   the response *head* until the first body bytes arrive (over HTTP/2 even with
//!   `X-Accel-Buffering: no`): send a first chunk at once with
//!   [`SseBody::with_open_event`] if clients wait for the headers.
//! - **No `Connection`, `Keep-Alive` or `Transfer-Encoding` headers.** HTTP/2 forbids
//!   connection-specific headers (the `h2` crate refuses such a response, hyper strips
//!   them with a warning). The helpers here remove them; don't add them.
//! - **Events without data are dropped by browsers.** An event needs at least one
//!   `data` line to reach `onmessage`/`addEventListener`; `Event::new().data("")` is
//!   enough. (Its `id` and `retry` still take effect.)
//! - **Clients reconnect forever.** The end of the body, or any network error, makes
//!   a browser reconnect. Only a non-200 status (or a wrong content type) stops it:
//!   answer [`no_content_response`] (204) when there is nothing more to send. Never
//!   answer 204 to shed load: it stops the browser for good; use 429 or 503.
//! - **A client that stops reading is not "slow" to the hub.** The server stops
//!   polling a body whose socket is full, so the hub's lag policy never sees it; what
//!   bounds it is the server's socket: a TCP user timeout (`TCP_USER_TIMEOUT`) or a
//!   write timeout in your server, and the hub's history limits for memory.
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
//! | `axum` | `IntoResponse` for [`SseBody`], the `LastEventId` extractor (through `axum-core`; implies `http-body`) |
//! | `actix` | `Responder` for [`SseBody`], the `LastEventId` extractor (actix-web 4, no default features) |
//! | `broadcast` | the [`hub`] module: fan-out with replay (std only) |
//! | `redis` | `broker`: hubs on several nodes share topics through Redis Streams, with `Last-Event-ID` resumption on any node (redis-rs; implies `broadcast` and `tokio`) |
//! | `client` | `client::EventSource`: a reconnecting client that does what a browser's `EventSource` does (bring a `Transport`) |
//! | `client-hyper` / `client-hyper-rustls` / `client-reqwest` | transports for it on hyper-util's client (plain, or HTTPS with rustls) and on reqwest |
//! | `memchr` | SIMD search of long data lines (encoder and decoder) |
//! | `simdutf8` | SIMD UTF-8 validation in the decoder |
//! | `metrics` | the counters of every [`StreamGroup`] (and of the hub) as `ssewire_*` metrics of the `metrics` facade |
//! | `tracing` | `tracing` events: streams opened and closed (with the [`CloseReason`]), hub resume outcomes and lag actions, broker reconnects |
//!
//! None is on by default: the core depends only on `bytes`, `futures-core`,
//! `pin-project-lite`, `http` and `thiserror`.
// Without feature `broadcast` there is no `hub` module for the crate docs to link to.
#![cfg_attr(not(feature = "broadcast"), allow(rustdoc::broken_intra_doc_links))]
#![forbid(unsafe_code)]
#![deny(missing_docs, missing_debug_implementations, unreachable_pub)]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![doc(test(attr(deny(warnings))))]

#[cfg(feature = "actix")]
mod actix;
#[cfg(feature = "axum")]
mod axum;
mod body;
#[cfg(feature = "redis")]
#[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
pub mod broker;
#[cfg(feature = "client")]
#[cfg_attr(docsrs, doc(cfg(feature = "client")))]
pub mod client;
mod data_writer;
mod decode;
mod encoded;
mod error;
mod event;
mod fields;
mod headers;
#[cfg(feature = "broadcast")]
#[cfg_attr(docsrs, doc(cfg(feature = "broadcast")))]
pub mod hub;
#[cfg(feature = "json")]
mod json;
mod keep_alive;
mod limits;
mod observe;
mod scan;
#[cfg_attr(not(feature = "broadcast"), allow(dead_code))]
mod sync;
mod timer;
mod wire;

pub use body::{OutgoingEvent, SseBody, SseItem};
pub use data_writer::DataWriter;
pub use decode::{DecodeError, DecodeStream, DecodeStreamError, Decoded, Decoder, MessageEvent};
pub use encoded::EncodedEvent;
pub use error::{EventError, Field};
pub use event::{Event, IntoEventId, IntoEventType, WithData};
pub use fields::{EventId, EventType};
#[cfg(any(feature = "axum", feature = "actix"))]
#[cfg_attr(docsrs, doc(cfg(any(feature = "axum", feature = "actix"))))]
pub use headers::LastEventId;
pub use headers::{
    accepts_event_stream, last_event_id, last_event_id_with_limit, no_content_response,
    parse_last_event_id, set_sse_headers, sse_response, LastEventIdError,
    DEFAULT_LAST_EVENT_ID_LIMIT, LAST_EVENT_ID, SSE_HEADERS,
};
pub use keep_alive::KeepAlive;
pub use limits::{Cap, ConnectionLimiter, ConnectionPermit, Limits, Refused};
pub use observe::{CloseReason, DeliveryLatency, StreamGroup, StreamStats};
#[cfg(feature = "tokio")]
pub use timer::TokioTimer;
pub use timer::{Sleep, Timer};

/// The Rust snippets of `README.md`, compiled (and run, unless marked `no_run`) as
/// doctests so they cannot rot. They use features `axum`, `tokio`, `http-body`, `json`,
/// `broadcast` and `client-hyper`, so they are only collected when those are on (`cargo test` at the
/// repository root turns every feature on).
#[cfg(all(
    doctest,
    feature = "axum",
    feature = "tokio",
    feature = "http-body",
    feature = "json",
    feature = "broadcast",
    feature = "client-hyper"
))]
// The snippets define handlers nobody calls: allow that, and nothing else.
#[doc(test(attr(allow(dead_code))))]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
