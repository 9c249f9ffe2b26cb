//! A reconnecting client that follows a stream like the browser's `EventSource`
//! (feature `client`; transports: `client-hyper`, `client-hyper-rustls`,
//! `client-reqwest`).
//!
//! [`EventSource`] is a `Stream` of [`Item`]s over any [`Transport`] and any
//! [`Timer`](crate::Timer). It implements the WHATWG processing model:
//!
//! - requests carry `Accept: text/event-stream` and `Cache-Control: no-cache`, plus
//!   `Last-Event-ID` once an id is known (or [seeded](Config::with_last_event_id));
//!   an empty `id:` resets it, and nothing is sent then;
//! - a 200 with `text/event-stream` opens the stream; **204 stops for good**;
//!   301/302/303/307/308 are followed (up to [`Config::max_redirects`]), dropping
//!   `Authorization`/`Cookie` when the origin changes; any other response fails with a
//!   [`ResponseError`] (status, headers, the start of the body) unless
//!   [`Config::with_retry_server_errors`] asks to retry 5xx and 429;
//! - after the body ends or the network fails, it waits the server's `retry:` (at
//!   least [`Config::min_reconnection_time`]) or [`Config::reconnection_time`], plus
//!   jitter, doubling while attempts keep failing, and reconnects;
//! - an [idle timeout](Config::idle_timeout) (no byte at all for that long) drops a
//!   half-open connection; there is no total timeout;
//! - memory is bounded by the decoder's limits: an oversized event is reported as
//!   [`Item::Skipped`] without being buffered.
//!
//! ```no_run
//! # #[cfg(feature = "client-hyper")]
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), ssewire::client::Error> {
//! use futures_util::StreamExt;
//! use ssewire::client::{Config, EventSource, Item};
//!
//! let mut source = EventSource::hyper("http://localhost:3000/events".parse().unwrap())
//!     .with_config(Config::new().with_retry_server_errors(true));
//! while let Some(item) = source.next().await {
//!     match item? {
//!         Item::Event(event) => println!("{}", event.data()),
//!         Item::Retrying(retry) => eprintln!("{}; again in {:?}", retry.cause, retry.delay),
//!         _ => {}
//!     }
//! }
//! // The server answered 204: done.
//! # Ok(()) }
//! # #[cfg(not(feature = "client-hyper"))] fn main() {}
//! ```

mod backoff;
mod config;
mod error;
#[cfg(feature = "client-hyper")]
mod hyper;
mod item;
mod poll;
mod request;
#[cfg(feature = "client-reqwest")]
mod reqwest;
mod response;
mod source;
mod transport;

pub use config::Config;
pub use error::{Error, ResponseError, RetryCause};
#[cfg(feature = "client-hyper")]
#[cfg_attr(docsrs, doc(cfg(feature = "client-hyper")))]
pub use hyper::HyperTransport;
pub use item::{Item, Open, ReadyState, Retrying, Stats};
#[cfg(feature = "client-reqwest")]
#[cfg_attr(docsrs, doc(cfg(feature = "client-reqwest")))]
pub use reqwest::ReqwestTransport;
pub use source::EventSource;
pub use transport::{BodyStream, BoxError, ResponseFuture, Transport};
