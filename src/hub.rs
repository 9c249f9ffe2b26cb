//! Fan-out: one event, encoded once, to every subscriber, with `Last-Event-ID` replay
//! (feature `broadcast`).
//!
//! A [`Topic`] is one feed. A publisher hands it an [`Event`](crate::Event); the topic gives the event
//! its id, encodes it **once**, and keeps the encoded bytes in a bounded **history**.
//! Every [`Subscriber`] reads the very same `Bytes` from that history (a reference
//! count, never a copy or a second encode) and is a `Stream` of
//! [`EncodedEvent`](crate::EncodedEvent)s, so
//! [`Subscriber::into_body`] makes it an [`SseBody`](crate::SseBody) that a handler
//! returns as is. A [`Hub`] holds topics by name (chat rooms, tenants, ...) with one
//! configuration, [`Config`]. Everything is in this module, behind feature `broadcast`.
//!
//! ```
//! use ssewire::{hub::{Config, Hub}, Event, EventId};
//! use futures_util::StreamExt;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let hub = Hub::new(Config::new().with_first_id(1));
//! let news = hub.topic("news");
//!
//! // A handler: subscribe with the client's Last-Event-ID (None on a first visit)
//! // and return the body. Here we read the subscriber directly instead.
//! let mut alice = news.subscribe(None);
//!
//! news.publish(Event::with_data("hello"));      // gets id 1, encoded once
//! news.publish(Event::with_data("world"));      // id 2
//!
//! let first = alice.next().await.unwrap(); // the shared encoded bytes
//! assert_eq!(first.as_ref(), b"id: 1\ndata: hello\n\n");
//!
//! // Bob was away and comes back having seen id 1: he gets exactly what he missed.
//! let mut bob = news.subscribe(Some(&EventId::from_u64(1)));
//! assert!(bob.resume().is_exact());
//! let missed = bob.next().await.unwrap();
//! assert_eq!(missed.as_ref(), b"id: 2\ndata: world\n\n");
//! # }
//! ```
//!
//! In a server (axum here, with features `axum` and `tokio`; with hyper, return
//! [`sse_response`](crate::sse_response)`(subscriber.into_body())`):
//!
//! ```
//! # #[cfg(all(feature = "axum", feature = "tokio"))] {
//! use axum::{extract::State, http::HeaderMap, routing::get, Router};
//! use ssewire::hub::{Hub, Subscriber};
//! use ssewire::{EventId, KeepAlive, SseBody};
//!
//! #[derive(Clone)]
//! struct App {
//!     hub: Hub,
//!     keep_alive: KeepAlive, // one shared timer for every body
//! }
//!
//! async fn events(State(app): State<App>, headers: HeaderMap) -> SseBody<Subscriber> {
//!     // A malformed header counts as none (the client then gets no replay).
//!     let last_id: Option<EventId> =
//!         ssewire::last_event_id(&headers).ok().flatten();
//!     let subscriber = app.hub.topic("chat").subscribe(last_id.as_ref());
//!     subscriber.into_body().with_keep_alive(app.keep_alive)
//! }
//!
//! let state = App { hub: Hub::default(), keep_alive: KeepAlive::tokio() };
//! let app: Router = Router::new().route("/events", get(events)).with_state(state);
//! # let _ = app;
//! # }
//! ```
//!
//! # One history, many readers
//!
//! A topic keeps its recent events in one ring of encoded events, bounded by a count
//! ([`Config::with_history`]), by bytes ([`Config::with_history_bytes`]) and
//! optionally by age ([`Config::with_history_age`]). That ring is both the replay
//! history and every subscriber's queue: a subscriber is only a position in it, plus
//! the few events it took from the ring and has not sent yet (up to 16 at a time, at
//! most 64 KiB besides the one it is sending). So a subscriber costs a few dozen bytes
//! whether it is idle, busy or stalled, and the memory of a topic is bounded by its
//! history limits and that small batch per subscriber, however many subscribers it
//! has. Delivering an event to a subscriber costs a lock, a reference-count increment
//! and a comparison: no per-subscriber encoding, and nothing proportional to the
//! history's length.
//!
//! [`Topic::publish`] is a plain function that never waits for subscribers: it
//! appends to the ring under a short lock and wakes the subscribers that are waiting.
//! A slow or stalled client therefore never blocks the publisher or anyone else.
//!
//! # Slow subscribers
//!
//! A subscriber is *lagging* when it is more than [`Config::with_max_lag`] events
//! behind the newest event (counting only events published since it subscribed, so a
//! long replay does not count), or when the next event it needs has already left the
//! history. It notices when it is next polled; until then it holds nothing but its
//! batch (see above). Then the [`LagPolicy`] applies:
//!
//! - [`LagPolicy::Disconnect`] (the default): the subscriber's stream ends, so the
//!   response ends. The browser reconnects with its `Last-Event-ID` and, if the events
//!   it needs are still in the history, resumes exactly where it was. The default
//!   `max_lag` is half the history, which leaves that room.
//! - [`LagPolicy::SkipAhead`]: the subscriber drops everything it had not received,
//!   gets one `lagged` event (below), and goes on with live events.
//!
//! # Ids
//!
//! With [`IdPolicy::Assign`] (the default) the topic sets every event's id to its
//! position, a number that grows by one per event (any id the event had is replaced).
//! Positions start from [`Config::with_first_id`], by default the current time in
//! microseconds since the Unix epoch: a server that restarts then starts above every id
//! it issued before (unless it published more than a million events per second), so a
//! client coming back with an id from the previous run is told its history was lost
//! instead of being resumed from the wrong place. With [`IdPolicy::Keep`] the events
//! keep the ids the publisher gave them, and a `Last-Event-ID` is looked up among the
//! ids in the history (an event without an id cannot be resumed from; give every
//! event a unique id).
//!
//! # Resuming: the handoff
//!
//! [`Topic::subscribe`] takes the client's `Last-Event-ID`. Under the same lock that
//! publishers take to append, it looks the id up and sets the subscriber's position
//! right after it. There is no separate "replay, then switch to live" step that events
//! could slip through: replayed and live events are read from the same ring, in
//! order, so the subscriber receives exactly the events after its id, each once, even
//! while events are being published during the subscription.
//!
//! What happened is in [`Subscriber::resume`], which a handler can read before it
//! builds the response (to log it, or to send a full snapshot first):
//!
//! - [`Resume::New`]: no `Last-Event-ID`; the subscriber starts with the next event
//!   (or with the last few, see [`Topic::subscribe_with_backlog`]).
//! - [`Resume::Exact`]: the id was found; the events after it follow, then live ones.
//! - [`Resume::HistoryLost`]: the events after the id are gone (older than the
//!   history, see [`LostReason::Expired`]) or the id is not one this topic issued
//!   ([`LostReason::Unknown`]). The subscriber sends a `history-lost` event first,
//!   then goes on as a new subscriber would (with its backlog, if any). It never
//!   skips events silently: for an expired id the event says exactly how many
//!   events the client will not get.
//!
//! # Events the hub sends itself
//!
//! | event type | when | `data` |
//! |---|---|---|
//! | `lagged` ([`Subscriber::LAGGED`]) | [`LagPolicy::SkipAhead`] skipped events | `{"missed":N}` |
//! | `history-lost` ([`Subscriber::HISTORY_LOST`]) | first event of a [`Resume::HistoryLost`] subscriber | `{"reason":"expired","missed":N}` or `{"reason":"unknown"}` |
//!
//! `N` is exact: the next event the client receives is `N + 1` positions after the
//! last one it had, so every gap in what a client sees is announced with its size.
//! Both events carry as `id` the id of the event just before the next one the
//! subscriber will receive (when that event has an id), so that if the client
//! reconnects it resumes from there and is not told the same news twice. In a page:
//! `source.addEventListener("history-lost", () => reloadEverything())`.
//!
//! # Graceful shutdown
//!
//! A server waits for open responses before it exits, and an event stream is never
//! done by itself. [`Hub::close`] (or [`Topic::close`] for one topic) ends every
//! subscriber: each receives what it was owed, then an optional farewell event, then
//! its stream ends. Subscribers that come after the close get the farewell and end at
//! once. Call it in the future you give to axum's `with_graceful_shutdown`:
//!
//! ```
//! # #[cfg(feature = "axum")] {
//! use ssewire::{hub::Hub, Event, EventType};
//!
//! async fn shutdown_signal(hub: Hub) {
//!     let _ = tokio::signal::ctrl_c().await;
//!     hub.close(Some(Event::new().event(EventType::from_static("shutdown")).data("")));
//! }
//! // axum::serve(listener, app).with_graceful_shutdown(shutdown_signal(hub.clone()))
//! # let _ = shutdown_signal(Hub::default());
//! # }
//! ```
//!
//! # Starting over: `clear_history`
//!
//! [`Topic::clear_history`] forgets the history and every id issued so far, while
//! current subscribers go on: for a relay whose upstream lost continuity, so that
//! clients coming back are told their history was lost instead of resuming across a
//! gap.
//!
//! # Counters
//!
//! [`Topic::stats`] and [`Hub::stats`] return a [`Stats`]: subscribers now,
//! subscribed and unsubscribed totals, events published, events and bytes handed to
//! subscribers, lagged and disconnected-for-lag totals, exact and lost resumptions,
//! and the history's current size. A subscriber is counted out the moment it is
//! dropped, which is when the server drops the response body of a client that went
//! away.
//!
//! # Caps
//!
//! [`Config::with_max_subscribers`] (across the hub) and
//! [`Config::with_max_topic_subscribers`] (per topic) bound the subscribers open at
//! once; [`Topic::try_subscribe`] admits a client within them or returns a
//! [`Refused`](crate::Refused) to answer with `503` and `Retry-After`
//! ([`Topic::subscribe`] is never refused, but counts). For a cap per user or per
//! address, add a [`ConnectionLimiter`](crate::ConnectionLimiter) and keep its permit
//! in the body ([`SseBody::with_permit`](crate::SseBody::with_permit)). Authorize the
//! client for the topic before subscribing: the topic comes from the route and the
//! authenticated user, never from the `Last-Event-ID`, which only positions the
//! subscriber within the topic it is given.
//!
//! # Runtime
//!
//! The hub uses only `std` (a `Mutex` held for short, bounded sections, and the
//! standard `Waker`), so it works on any executor.
//!

mod config;
mod cursor;
mod notice;
mod registry;
mod resume;
mod ring;
mod shared;
mod stats;
mod subscriber;
mod telemetry;
mod topic;

pub use config::{Config, IdPolicy, LagPolicy};
pub use registry::Hub;
pub use resume::{LostReason, Resume};
pub use stats::Stats;
pub use subscriber::Subscriber;
pub use topic::Topic;
