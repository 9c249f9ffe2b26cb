//! One feed: publish once, every subscriber reads the same encoded bytes.

use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::event::Event;
use crate::fields::EventId;
use crate::limits::Refused;

use super::config::Config;
use super::shared::Shared;
use super::stats::Stats;
use super::subscriber::Subscriber;

/// One feed of events: publish once, every subscriber gets the same encoded bytes.
///
/// Make one with [`Topic::new`], or get one by name from a [`Hub`](super::Hub).
/// Clones are handles to the same topic. When the last handle is dropped the topic
/// closes: its subscribers end after receiving everything published before (as
/// with [`Topic::close`]`(None)`). See the [module docs](super) for the history, the
/// lag policies and the resumption handoff.
///
/// ```
/// use futures_util::StreamExt;
/// use ssewire::{hub::{Config, Topic}, Event};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let topic = Topic::new(Config::new().with_first_id(100));
/// let mut subscriber = topic.subscribe(None);
/// let id = topic.publish(Event::with_data("hi"));
/// assert_eq!(id, 100);
/// let event = subscriber.next().await.unwrap();
/// assert_eq!(event.as_ref(), b"id: 100\ndata: hi\n\n");
/// drop(topic); // the last handle: the subscriber ends
/// assert!(subscriber.next().await.is_none());
/// # }
/// ```
pub struct Topic {
    shared: Arc<Shared>,
}

impl Topic {
    /// A topic on its own (not in a [`Hub`](super::Hub)).
    ///
    /// ```
    /// use ssewire::hub::{Config, Topic};
    /// let topic = Topic::new(Config::new().with_history(16));
    /// assert_eq!(topic.config().history(), 16);
    /// ```
    pub fn new(config: Config) -> Self {
        Self::with_name(config, None, Arc::default())
    }

    /// A topic named `name` (for the metrics and tracing label, see
    /// [`Config::with_topic_label`]) whose subscribers are counted in `open` (a hub's
    /// count, for [`Config::with_max_subscribers`]).
    pub(super) fn with_name(config: Config, name: Option<&str>, open: Arc<AtomicUsize>) -> Self {
        let first = config.first_id().unwrap_or_else(clock_micros);
        Topic {
            shared: Arc::new(Shared::new(config, first, name, open)),
        }
    }

    /// The topic's configuration.
    ///
    /// ```
    /// use ssewire::hub::{Config, Topic};
    /// assert_eq!(Topic::new(Config::default()).config().history(), Config::DEFAULT_HISTORY);
    /// ```
    pub fn config(&self) -> &Config {
        &self.shared.config
    }

    /// Publishes `event` to every subscriber and into the history, and returns its
    /// position (with [`IdPolicy::Assign`](super::IdPolicy::Assign), also its id).
    ///
    /// The event is encoded once; subscribers share the bytes. This never waits for a
    /// subscriber: it takes a short lock, appends, drops the events that leave the
    /// history, and wakes the subscribers that were waiting.
    ///
    /// With [`IdPolicy::Assign`](super::IdPolicy::Assign) the event's id is set to its
    /// position (an id it had is replaced). With
    /// [`IdPolicy::Keep`](super::IdPolicy::Keep) it keeps its id (an event without
    /// one cannot be resumed from).
    ///
    /// Once the topic is [closed](Topic::close), events are dropped: nothing is
    /// appended and no subscriber receives them; the position returned is the one
    /// the event would have had.
    ///
    /// ```
    /// use ssewire::{hub::{Config, Topic}, Event};
    /// let topic = Topic::new(Config::new().with_first_id(1));
    /// assert_eq!(topic.publish(Event::with_data("a")), 1);
    /// assert_eq!(topic.publish(Event::new().id(99u32).data("b")), 2); // id replaced by 2
    /// ```
    pub fn publish(&self, event: Event) -> u64 {
        self.shared.publish(event)
    }

    /// A subscriber that starts after `last_event_id` (the client's `Last-Event-ID`
    /// header, `None` on a first connection), or with the next event published when
    /// there is none.
    ///
    /// Check [`Subscriber::resume`] to see what happened: resumed exactly, or history
    /// lost (then the subscriber first sends a `history-lost` event, and goes on as a
    /// new subscriber). An empty id counts as none. Only an id this topic wrote
    /// matches, with the same text: `0160` or `+160` is not `160`.
    ///
    /// ```
    /// use ssewire::{hub::{Config, LostReason, Resume, Topic}, Event, EventId};
    ///
    /// let topic = Topic::new(Config::new().with_first_id(1).with_history(2));
    /// for text in ["a", "b", "c"] {
    ///     topic.publish(Event::with_data(text)); // ids 1, 2, 3; the history keeps 2 and 3
    /// }
    /// let seen = |n: u64| EventId::from_u64(n);
    /// assert_eq!(topic.subscribe(Some(&seen(2))).resume(), Resume::Exact { replayed: 1 });
    /// assert_eq!(
    ///     topic.subscribe(Some(&seen(0))).resume(), // 1 left the history; 2 and 3 are skipped
    ///     Resume::HistoryLost { reason: LostReason::Expired { missed: 3 } },
    /// );
    /// assert_eq!(
    ///     topic.subscribe(Some(&EventId::from_static("nonsense"))).resume(),
    ///     Resume::HistoryLost { reason: LostReason::Unknown },
    /// );
    /// ```
    pub fn subscribe(&self, last_event_id: Option<&EventId>) -> Subscriber {
        self.subscribe_with_backlog(last_event_id, 0)
    }

    /// Like [`Topic::subscribe`], but a subscriber that has no usable position (no
    /// `Last-Event-ID`, or its history was lost) starts with up to `backlog` of the
    /// most recent events in the history: the last messages of a chat, the latest
    /// value of a gauge. With `usize::MAX`, a client whose history expired gets
    /// everything still in the history after its gap.
    ///
    /// ```
    /// use futures_util::StreamExt;
    /// use ssewire::{hub::{Config, Resume, Topic}, Event};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let topic = Topic::new(Config::new().with_first_id(1));
    /// for text in ["a", "b", "c"] {
    ///     topic.publish(Event::with_data(text));
    /// }
    /// let mut newcomer = topic.subscribe_with_backlog(None, 2);
    /// assert_eq!(newcomer.resume(), Resume::New { backlog: 2 });
    /// let first = newcomer.next().await.unwrap();
    /// assert_eq!(first.as_ref(), b"id: 2\ndata: b\n\n");
    /// # }
    /// ```
    pub fn subscribe_with_backlog(
        &self,
        last_event_id: Option<&EventId>,
        backlog: usize,
    ) -> Subscriber {
        let last_event_id = last_event_id.filter(|id| !id.is_empty());
        let start = self.shared.subscribe(last_event_id, backlog);
        Subscriber::new(Arc::clone(&self.shared), start)
    }

    /// Like [`Topic::subscribe`], but within the caps of the configuration: at most
    /// [`Config::with_max_topic_subscribers`] on this topic and
    /// [`Config::with_max_subscribers`] across the hub (every subscriber counts,
    /// those made with [`Topic::subscribe`] too). Call it after the client is
    /// authenticated and authorized for this topic, before the response starts.
    ///
    /// # Errors
    ///
    /// [`Refused`] with [`Cap::Topic`](crate::Cap::Topic) or
    /// [`Cap::Global`](crate::Cap::Global) (both `503 Service Unavailable`) and the
    /// configured `Retry-After`: answer it with [`Refused::to_response`] (or return it
    /// from an axum handler).
    ///
    /// ```
    /// use ssewire::{hub::{Config, Topic}, Cap};
    ///
    /// let topic = Topic::new(Config::new().with_max_topic_subscribers(2));
    /// let first = topic.try_subscribe(None)?;
    /// let _second = topic.try_subscribe(None)?;
    /// let refused = topic.try_subscribe(None).unwrap_err();
    /// assert_eq!((refused.cap(), refused.limit()), (Cap::Topic, 2));
    /// assert_eq!(refused.status(), http::StatusCode::SERVICE_UNAVAILABLE);
    /// drop(first); // a client went away
    /// assert!(topic.try_subscribe(None).is_ok());
    /// # Ok::<(), ssewire::Refused>(())
    /// ```
    pub fn try_subscribe(&self, last_event_id: Option<&EventId>) -> Result<Subscriber, Refused> {
        self.try_subscribe_with_backlog(last_event_id, 0)
    }

    /// [`Topic::subscribe_with_backlog`] within the caps, as [`Topic::try_subscribe`].
    ///
    /// # Errors
    ///
    /// [`Refused`], as [`Topic::try_subscribe`].
    ///
    /// ```
    /// use ssewire::hub::{Config, Hub};
    ///
    /// let hub = Hub::new(Config::new().with_max_subscribers(1));
    /// let _alice = hub.topic("a").try_subscribe_with_backlog(None, 10)?;
    /// // The cap is across the hub: another topic is refused too.
    /// assert_eq!(hub.topic("b").try_subscribe_with_backlog(None, 10).unwrap_err().cap(), ssewire::Cap::Global);
    /// # Ok::<(), ssewire::Refused>(())
    /// ```
    pub fn try_subscribe_with_backlog(
        &self,
        last_event_id: Option<&EventId>,
        backlog: usize,
    ) -> Result<Subscriber, Refused> {
        let last_event_id = last_event_id.filter(|id| !id.is_empty());
        let start = self.shared.try_subscribe(last_event_id, backlog)?;
        Ok(Subscriber::new(Arc::clone(&self.shared), start))
    }

    /// Ends every subscriber, now and later: graceful shutdown.
    ///
    /// Each subscriber first receives what it was owed (the events published before
    /// the close that it had not received yet), then `farewell` if there is one, then
    /// its stream ends, and so does its response. A subscriber that comes **after**
    /// the close is treated the same way: it gets its replay (if its `Last-Event-ID`
    /// is found), the farewell, and ends. From the close on the topic takes no more
    /// events ([`Topic::publish`] drops them). Closing again changes nothing (the
    /// first farewell stays).
    ///
    /// The farewell is sent as it is: it is not in the history and gets no id from
    /// the topic. Leave its id unset so that a client that reconnects still sends the
    /// id of the last real event; a `retry` in it tells browsers when to come back:
    /// `Event::new().event(GOING_AWAY).retry(Duration::from_secs(5)).data("")`.
    ///
    /// ```
    /// use futures_util::StreamExt;
    /// use ssewire::{hub::{Config, Topic}, Event};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let topic = Topic::new(Config::new().with_first_id(1));
    /// let mut subscriber = topic.subscribe(None);
    /// topic.publish(Event::with_data("last news"));
    /// topic.close(Some(Event::new().event(ssewire::EventType::from_static("bye")).data("")));
    ///
    /// assert_eq!(subscriber.next().await.unwrap().as_ref(), b"id: 1\ndata: last news\n\n");
    /// assert_eq!(subscriber.next().await.unwrap().as_ref(), b"event: bye\ndata: \n\n");
    /// assert!(subscriber.next().await.is_none());
    ///
    /// let mut late = topic.subscribe(None); // after the close: the farewell, then the end
    /// assert_eq!(late.next().await.unwrap().as_ref(), b"event: bye\ndata: \n\n");
    /// assert!(late.next().await.is_none());
    /// assert!(topic.is_closed());
    /// # }
    /// ```
    pub fn close(&self, farewell: Option<Event>) {
        if !self.shared.is_closed() {
            self.shared.close(farewell.map(Event::encode));
        }
    }

    pub(super) fn close_encoded(&self, farewell: Option<crate::encoded::EncodedEvent>) {
        self.shared.close(farewell);
    }

    /// Whether the topic is closed ([`Topic::close`], or through
    /// [`Hub::close`](super::Hub::close)).
    ///
    /// ```
    /// let topic = ssewire::hub::Topic::new(ssewire::hub::Config::new());
    /// assert!(!topic.is_closed());
    /// topic.close(None);
    /// assert!(topic.is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        self.shared.is_closed()
    }

    /// Forgets the history: every `Last-Event-ID` issued before this call resumes
    /// as [`Resume::HistoryLost`](super::Resume::HistoryLost) with
    /// [`LostReason::Unknown`](super::LostReason::Unknown), and new subscribers get no
    /// backlog from before it. For a feed whose source lost continuity (a relay that
    /// reconnected to its upstream and cannot tell what it missed): clients then
    /// learn that they must reload instead of resuming across a gap.
    ///
    /// Current subscribers continue with the events published after the call. One
    /// that had not yet received some of the events from before it is lagging (its
    /// next event is no longer in the history): the [`LagPolicy`](super::LagPolicy)
    /// applies, so every gap is still announced. Positions go on where they were
    /// (with [`IdPolicy::Assign`](super::IdPolicy::Assign), ids keep growing); the
    /// counters are kept. Until the next event is published, a `history-lost` notice
    /// carries no id.
    ///
    /// ```
    /// use ssewire::{hub::{Config, IdPolicy, Resume, Topic}, Event, EventId};
    ///
    /// let topic = Topic::new(Config::new().with_id_policy(IdPolicy::Keep));
    /// topic.publish(Event::new().id(EventId::from_static("1700000000000-0")).data("a"));
    /// let seen = EventId::from_static("1700000000000-0");
    /// assert_eq!(topic.subscribe(Some(&seen)).resume(), Resume::Exact { replayed: 0 });
    ///
    /// topic.clear_history();
    /// assert!(topic.subscribe(Some(&seen)).resume().is_history_lost());
    /// assert_eq!(topic.stats().history_events, 0);
    /// ```
    pub fn clear_history(&self) {
        self.shared.clear_history();
    }

    /// This topic's counters (see [`Stats`]).
    ///
    /// ```
    /// use ssewire::{hub::{Config, Topic}, Event};
    /// let topic = Topic::new(Config::new());
    /// let subscriber = topic.subscribe(None);
    /// topic.publish(Event::with_data("abc"));
    /// let stats = topic.stats();
    /// assert_eq!((stats.subscribers, stats.events_published), (1, 1));
    /// assert_eq!(stats.history_bytes, stats.bytes_published);
    /// # drop(subscriber);
    /// ```
    pub fn stats(&self) -> Stats {
        self.shared.stats()
    }
}

impl Clone for Topic {
    fn clone(&self) -> Self {
        self.shared.handles.fetch_add(1, Ordering::Relaxed);
        Topic {
            shared: Arc::clone(&self.shared),
        }
    }
}

impl Drop for Topic {
    fn drop(&mut self) {
        if self.shared.handles.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.shared.close(None);
        }
    }
}

impl fmt::Debug for Topic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (next_position, events, bytes, subscribers) = self.shared.summary();
        f.debug_struct("Topic")
            .field("next_position", &next_position)
            .field("history_events", &events)
            .field("history_bytes", &bytes)
            .field("subscribers", &subscribers)
            .finish_non_exhaustive()
    }
}

/// Microseconds since the Unix epoch (1 if the clock is before it).
fn clock_micros() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .ok()
        .and_then(|since| u64::try_from(since.as_micros()).ok())
        .unwrap_or(1)
        .max(1)
}
