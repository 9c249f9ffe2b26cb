//! A subscriber: a position in a topic's history, read as a stream of events.

use std::convert::Infallible;
use std::fmt;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures_core::stream::FusedStream;
use futures_core::Stream;

use crate::body::SseBody;
use crate::encoded::EncodedEvent;
use crate::event::Event;
use crate::fields::EventType;

use super::topic::{Batch, Cursor, Shared, Step};

/// How a subscription started: what a handler can check before it builds the response.
///
/// Returned by [`Subscriber::resume`]; see the [module docs](crate::Hub#resuming-the-handoff).
///
/// ```
/// use ssewire::{Event, HubConfig, Resume, Topic};
///
/// let topic = Topic::new(HubConfig::new().with_first_id(1));
/// topic.publish(Event::with_data("a"));
/// match topic.subscribe(Some("1")).resume() {
///     Resume::New { .. } => println!("first visit"),
///     Resume::Exact { replayed } => println!("resumed, {replayed} events to catch up"),
///     Resume::HistoryLost { reason } => println!("history lost: {reason:?}"),
///     _ => {}
/// }
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Resume {
    /// No `Last-Event-ID`: the subscriber starts with the `backlog` most recent events
    /// (see [`Topic::subscribe_with_backlog`](crate::Topic::subscribe_with_backlog)),
    /// then live events.
    New {
        /// Events from the history it starts with.
        backlog: u64,
    },
    /// The id was found: the subscriber gets exactly the events published after it
    /// (`replayed` of them were in the history when it subscribed), then live events.
    Exact {
        /// Events after the id that were in the history when it subscribed.
        replayed: u64,
    },
    /// The events after the id cannot be given. The subscriber first sends a
    /// `history-lost` event ([`Subscriber::HISTORY_LOST`]), then goes on as a new
    /// subscriber would (with its backlog, if any).
    HistoryLost {
        /// Why.
        reason: LostReason,
    },
}

impl Resume {
    /// Whether the client came without a `Last-Event-ID`.
    ///
    /// ```
    /// let topic = ssewire::Topic::new(ssewire::HubConfig::new());
    /// assert!(topic.subscribe(None).resume().is_new());
    /// ```
    pub fn is_new(&self) -> bool {
        matches!(self, Resume::New { .. })
    }

    /// Whether the client resumes exactly after its `Last-Event-ID`.
    ///
    /// ```
    /// let topic = ssewire::Topic::new(ssewire::HubConfig::new().with_first_id(1));
    /// topic.publish(ssewire::Event::with_data("x"));
    /// assert!(topic.subscribe(Some("1")).resume().is_exact());
    /// ```
    pub fn is_exact(&self) -> bool {
        matches!(self, Resume::Exact { .. })
    }

    /// Whether the client's history was lost (it gets a `history-lost` event first).
    ///
    /// ```
    /// let topic = ssewire::Topic::new(ssewire::HubConfig::new());
    /// assert!(topic.subscribe(Some("not-ours")).resume().is_history_lost());
    /// ```
    pub fn is_history_lost(&self) -> bool {
        matches!(self, Resume::HistoryLost { .. })
    }
}

/// Why a client's history was lost ([`Resume::HistoryLost`]).
///
/// ```
/// use ssewire::{Event, HubConfig, LostReason, Resume, Topic};
///
/// let topic = Topic::new(HubConfig::new().with_first_id(1).with_history(1));
/// topic.publish(Event::with_data("a")); // id 1
/// topic.publish(Event::with_data("b")); // id 2, pushed out of the history by 3
/// topic.publish(Event::with_data("c")); // id 3
///
/// // The client saw 1. Starting live, it will never get 2 and 3:
/// let live = topic.subscribe(Some("1")).resume();
/// assert_eq!(live, Resume::HistoryLost { reason: LostReason::Expired { missed: 2 } });
/// // With a backlog it also gets what is left (3), and only 2 is missed:
/// let backlog = topic.subscribe_with_backlog(Some("1"), usize::MAX).resume();
/// assert_eq!(backlog, Resume::HistoryLost { reason: LostReason::Expired { missed: 1 } });
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum LostReason {
    /// The id was issued by this topic, but the events right after it have left the
    /// history (count, bytes or age limit).
    Expired {
        /// How many events published after the id this subscriber will not receive:
        /// those that left the history, plus any older ones that its backlog
        /// leaves out (none with a backlog of `usize::MAX`). The next event it
        /// receives is exactly `missed + 1` positions after the client's id.
        missed: u64,
    },
    /// The id is not one this topic can find: from before a restart, from another
    /// topic, malformed, or (with [`IdPolicy::Keep`](crate::IdPolicy::Keep)) no longer
    /// in the history.
    Unknown,
}

/// One client's view of a [`Topic`](crate::Topic): a stream of the topic's events,
/// starting where [`Topic::subscribe`](crate::Topic::subscribe) put it.
///
/// It is a `Stream<Item = Result<Event, Infallible>>` that yields each event as the
/// topic's shared encoded bytes (`Event::from(EncodedEvent)`, no copy), so
/// [`SseBody`] sends those very bytes when an event is alone in its chunk.
/// Turn it into a response body with [`Subscriber::into_body`]. It ends when the topic
/// is closed (every [`Topic`](crate::Topic) handle dropped) and everything published
/// before has been received, or when it lags under [`LagPolicy::Disconnect`](crate::LagPolicy::Disconnect).
///
/// Dropping it (the server drops the body when the client goes away) removes it
/// from the topic at once.
///
/// ```
/// use futures_util::StreamExt;
/// use ssewire::{Event, HubConfig, Topic};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let topic = Topic::new(HubConfig::new().with_first_id(1));
/// let mut body = topic.subscribe(None).into_body();
/// topic.publish(Event::with_data("one"));
/// topic.publish(Event::with_data("two"));
/// let chunk = body.next().await.unwrap().unwrap();
/// assert_eq!(&chunk[..], b"id: 1\ndata: one\n\nid: 2\ndata: two\n\n");
/// # }
/// ```
#[must_use = "a Subscriber receives nothing unless it is polled, e.g. as a body"]
pub struct Subscriber {
    shared: Arc<Shared>,
    cursor: Cursor,
    resume: PackedResume,
    /// An event to send before anything else (`history-lost`), boxed so an idle
    /// subscriber stays small.
    opening: Option<Box<Event>>,
    /// Events taken from the ring and not handed out yet (only while catching up).
    batch: Option<Box<Batch>>,
}

/// A [`Resume`] in eight bytes: the kind in the top two bits, the count below
/// (saturated at 2^62 - 1, which no real count reaches).
#[derive(Clone, Copy)]
struct PackedResume(u64);

impl PackedResume {
    const COUNT: u64 = (1 << 62) - 1;
    const NEW: u64 = 0;
    const EXACT: u64 = 1 << 62;
    const EXPIRED: u64 = 2 << 62;
    const UNKNOWN: u64 = 3 << 62;

    fn pack(resume: Resume) -> Self {
        let (kind, count) = match resume {
            Resume::New { backlog } => (Self::NEW, backlog),
            Resume::Exact { replayed } => (Self::EXACT, replayed),
            Resume::HistoryLost {
                reason: LostReason::Expired { missed },
            } => (Self::EXPIRED, missed),
            Resume::HistoryLost {
                reason: LostReason::Unknown,
            } => (Self::UNKNOWN, 0),
        };
        PackedResume(kind | count.min(Self::COUNT))
    }

    fn unpack(self) -> Resume {
        let count = self.0 & Self::COUNT;
        match self.0 & !Self::COUNT {
            Self::NEW => Resume::New { backlog: count },
            Self::EXACT => Resume::Exact { replayed: count },
            Self::EXPIRED => Resume::HistoryLost {
                reason: LostReason::Expired { missed: count },
            },
            _ => Resume::HistoryLost {
                reason: LostReason::Unknown,
            },
        }
    }
}

impl Subscriber {
    /// The type of the event sent when a subscriber skips ahead under
    /// [`LagPolicy::SkipAhead`](crate::LagPolicy::SkipAhead): `lagged`, with data
    /// `{"missed":N}`.
    ///
    /// ```
    /// assert_eq!(ssewire::Subscriber::LAGGED.as_str(), "lagged");
    /// ```
    pub const LAGGED: EventType = EventType::from_static("lagged");

    /// The type of the first event of a [`Resume::HistoryLost`] subscriber:
    /// `history-lost`, with data `{"reason":"expired","missed":N}` or
    /// `{"reason":"unknown"}`.
    ///
    /// ```
    /// assert_eq!(ssewire::Subscriber::HISTORY_LOST.as_str(), "history-lost");
    /// ```
    pub const HISTORY_LOST: EventType = EventType::from_static("history-lost");

    pub(super) fn new(
        shared: Arc<Shared>,
        cursor: Cursor,
        resume: Resume,
        opening: Option<Event>,
    ) -> Self {
        Subscriber {
            shared,
            cursor,
            resume: PackedResume::pack(resume),
            opening: opening.map(Box::new),
            batch: None,
        }
    }

    /// How the subscription started: new, resumed exactly, or history lost.
    ///
    /// ```
    /// use ssewire::{HubConfig, LostReason, Resume, Topic};
    /// let topic = Topic::new(HubConfig::new());
    /// let subscriber = topic.subscribe(Some("from-another-server"));
    /// assert_eq!(subscriber.resume(), Resume::HistoryLost { reason: LostReason::Unknown });
    /// ```
    pub fn resume(&self) -> Resume {
        self.resume.unpack()
    }

    /// The position of the next event this subscriber will receive (with
    /// [`IdPolicy::Assign`](crate::IdPolicy::Assign), its id).
    ///
    /// ```
    /// let topic = ssewire::Topic::new(ssewire::HubConfig::new().with_first_id(10));
    /// assert_eq!(topic.subscribe(None).next_position(), 10);
    /// ```
    pub fn next_position(&self) -> u64 {
        let held = self.batch.as_deref().map_or(0, Batch::remaining);
        self.cursor.next - held as u64
    }

    /// A `text/event-stream` body that sends this subscriber's events: return it from
    /// a handler (with feature `axum` it is a response; with `http-body`, a body for
    /// hyper), or chain [`SseBody`] options such as
    /// [`keep_alive`](SseBody::keep_alive). Same as `SseBody::new(subscriber)`.
    ///
    /// ```
    /// let topic = ssewire::Topic::new(ssewire::HubConfig::new());
    /// let body = topic.subscribe(None).into_body().max_chunk_size(16 * 1024);
    /// # let _ = body;
    /// ```
    pub fn into_body(self) -> SseBody<Self> {
        SseBody::new(self)
    }
}

impl Stream for Subscriber {
    type Item = Result<EncodedEvent, Infallible>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if let Some(event) = this.opening.take() {
            this.shared.count_sent(event.encoded_len());
            return Poll::Ready(Some(Ok(event.encode())));
        }
        if let Some(event) = this.batch.as_mut().and_then(|batch| batch.pop()) {
            return Poll::Ready(Some(Ok(event)));
        }
        if this.cursor.ended {
            return Poll::Ready(None);
        }
        match this
            .shared
            .poll(&mut this.cursor, cx.waker(), &mut this.batch)
        {
            Step::Event(event) => Poll::Ready(Some(Ok(event))),
            Step::Lagged(event) => Poll::Ready(Some(Ok(event.encode()))),
            Step::Disconnect | Step::End => {
                this.cursor.ended = true;
                this.batch = None;
                Poll::Ready(None)
            }
            Step::Pending => {
                this.batch = None; // idle: hold no memory beyond the subscriber itself
                Poll::Pending
            }
        }
    }
}

impl FusedStream for Subscriber {
    fn is_terminated(&self) -> bool {
        self.cursor.ended
            && self.opening.is_none()
            && self
                .batch
                .as_deref()
                .map_or(true, |batch| batch.remaining() == 0)
    }
}

impl Drop for Subscriber {
    fn drop(&mut self) {
        self.shared.leave(&mut self.cursor);
    }
}

impl fmt::Debug for Subscriber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Subscriber")
            .field("next_position", &self.next_position())
            .field("resume", &self.resume())
            .field("ended", &self.cursor.ended)
            .field("lag_policy", &self.shared.config().lag_policy())
            .finish_non_exhaustive()
    }
}
