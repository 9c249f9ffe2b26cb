//! A subscriber: a position in a topic's history, read as a stream of events.

use std::fmt;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures_core::stream::FusedStream;
use futures_core::Stream;

use crate::body::SseBody;
use crate::encoded::EncodedEvent;
use crate::fields::EventType;

use super::cursor::{Batch, Cursor};
use super::notice::{Notice, HISTORY_LOST, LAGGED};
use super::resume::{LostReason, Resume};
use super::shared::{Shared, Start, Step};
use super::telemetry::LagAction;

/// One client's view of a [`Topic`](super::Topic): a stream of the topic's events,
/// starting where [`Topic::subscribe`](super::Topic::subscribe) put it.
///
/// It is a `Stream<Item = EncodedEvent>`: each event is the topic's shared encoded
/// bytes (a reference count, no copy), which [`SseBody`] sends as they are. Turn it
/// into a response body with [`Subscriber::into_body`]. It ends when the topic is
/// closed ([`Topic::close`](super::Topic::close), or every
/// [`Topic`](super::Topic) handle dropped) and everything published before has been
/// received, or when it lags under [`LagPolicy::Disconnect`](super::LagPolicy::Disconnect).
///
/// Dropping it (the server drops the body when the client goes away) removes it
/// from the topic at once.
///
/// ```
/// use futures_util::StreamExt;
/// use ssewire::{hub::{Config, Topic}, Event};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let topic = Topic::new(Config::new().with_first_id(1));
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
    /// How it started, and whether its stream has ended.
    status: Status,
    /// An event to send before anything else (`history-lost`), boxed so an idle
    /// subscriber stays small.
    opening: Option<Box<EncodedEvent>>,
    /// Events taken from the ring and not handed out yet (only while catching up).
    batch: Option<Box<Batch>>,
}

/// A [`Resume`] and the "ended" and "ended for lag" flags in eight bytes (a
/// subscriber's size is most of what an idle client costs): the kind in the top two
/// bits, the flags in the next two, the count below (saturated at 2^60 - 1, which no
/// real count reaches).
#[derive(Clone, Copy)]
struct Status(u64);

impl Status {
    const KIND: u64 = 3 << 62;
    const ENDED: u64 = 1 << 61;
    /// Ended for lagging (`LagPolicy::Disconnect`), set with [`Status::ENDED`].
    const LAG_ENDED: u64 = 1 << 60;
    const COUNT: u64 = Self::LAG_ENDED - 1;
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
        Status(kind | count.min(Self::COUNT))
    }

    fn resume(self) -> Resume {
        let count = self.0 & Self::COUNT;
        match self.0 & Self::KIND {
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

    fn ended(self) -> bool {
        self.0 & Self::ENDED != 0
    }

    fn end(&mut self) {
        self.0 |= Self::ENDED;
    }

    fn lag_ended(self) -> bool {
        self.0 & Self::LAG_ENDED != 0
    }

    fn end_for_lag(&mut self) {
        self.0 |= Self::ENDED | Self::LAG_ENDED;
    }
}

impl Subscriber {
    /// The type of the event sent when a subscriber skips ahead under
    /// [`LagPolicy::SkipAhead`](super::LagPolicy::SkipAhead): `lagged`, with data
    /// `{"missed":N}`.
    ///
    /// ```
    /// assert_eq!(ssewire::hub::Subscriber::LAGGED.as_str(), "lagged");
    /// ```
    pub const LAGGED: EventType = LAGGED;

    /// The type of the first event of a [`Resume::HistoryLost`] subscriber:
    /// `history-lost`, with data `{"reason":"expired","missed":N}` or
    /// `{"reason":"unknown"}`.
    ///
    /// ```
    /// assert_eq!(ssewire::hub::Subscriber::HISTORY_LOST.as_str(), "history-lost");
    /// ```
    pub const HISTORY_LOST: EventType = HISTORY_LOST;

    /// Wraps a new subscription; its notice, if any, is encoded here, outside the
    /// topic's lock.
    pub(super) fn new(shared: Arc<Shared>, start: Start) -> Self {
        let opening = start.notice.map(|(notice, id)| Box::new(notice.encode(id)));
        Subscriber {
            shared,
            cursor: start.cursor,
            status: Status::pack(start.resume),
            opening,
            batch: None,
        }
    }

    /// How the subscription started: new, resumed exactly, or history lost.
    ///
    /// ```
    /// use ssewire::{hub::{Config, LostReason, Resume, Topic}, EventId};
    /// let topic = Topic::new(Config::new());
    /// let subscriber = topic.subscribe(Some(&EventId::from_static("from-another-server")));
    /// assert_eq!(subscriber.resume(), Resume::HistoryLost { reason: LostReason::Unknown });
    /// ```
    pub fn resume(&self) -> Resume {
        self.status.resume()
    }

    /// The position of the next event this subscriber will receive (with
    /// [`IdPolicy::Assign`](super::IdPolicy::Assign), its id).
    ///
    /// ```
    /// let topic = ssewire::hub::Topic::new(ssewire::hub::Config::new().with_first_id(10));
    /// assert_eq!(topic.subscribe(None).next_position(), 10);
    /// ```
    pub fn next_position(&self) -> u64 {
        let held = self.batch.as_deref().map_or(0, Batch::remaining);
        self.cursor.next - held as u64
    }

    /// A `text/event-stream` body that sends this subscriber's events: return it from
    /// a handler (with feature `axum` it is a response; with `http-body`, a body for
    /// hyper), or chain [`SseBody`] options such as
    /// [`with_keep_alive`](SseBody::with_keep_alive). Same as `SseBody::new(subscriber)`.
    ///
    /// ```
    /// let topic = ssewire::hub::Topic::new(ssewire::hub::Config::new());
    /// let body = topic.subscribe(None).into_body().with_max_chunk_size(16 * 1024);
    /// # let _ = body;
    /// ```
    pub fn into_body(self) -> SseBody<Self> {
        SseBody::new(self)
    }
}

impl Stream for Subscriber {
    type Item = EncodedEvent;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if let Some(event) = this.opening.take() {
            this.shared.count_sent(event.len());
            return Poll::Ready(Some(*event));
        }
        if let Some(event) = this.batch.as_mut().and_then(|batch| batch.pop()) {
            return Poll::Ready(Some(event));
        }
        if this.status.ended() {
            if this.status.lag_ended() {
                // The stream ends in this poll: a body with a group counts it as
                // closed for lag (see `observe::lag`), also after a farewell.
                crate::observe::lag::note();
            }
            return Poll::Ready(None);
        }
        match this
            .shared
            .poll(&mut this.cursor, cx.waker(), &mut this.batch)
        {
            Step::Event(event) => Poll::Ready(Some(event)),
            Step::Lagged { missed, id } => {
                this.shared.telemetry.lag(LagAction::SkipAhead, missed);
                // Built and encoded here, without the topic's lock.
                let event = Notice::Lagged { missed }.encode(id);
                this.shared.count_sent(event.len());
                Poll::Ready(Some(event))
            }
            Step::End(farewell) => {
                this.status.end();
                this.batch = None;
                Poll::Ready(farewell)
            }
            Step::LagEnd { farewell, missed } => {
                this.shared.telemetry.lag(LagAction::Disconnect, missed);
                this.status.end_for_lag();
                this.batch = None;
                if farewell.is_none() {
                    // The stream ends in this very poll: a body with a group counts
                    // it as closed for lag (see `observe::lag`).
                    crate::observe::lag::note();
                }
                Poll::Ready(farewell)
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
        self.status.ended()
            && self.opening.is_none()
            && self
                .batch
                .as_deref()
                .is_none_or(|batch| batch.remaining() == 0)
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
            .field("ended", &self.status.ended())
            .field("lag_policy", &self.shared.config.lag_policy())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_packs_every_resume_and_the_end() {
        let cases = [
            Resume::New { backlog: 0 },
            Resume::New { backlog: 7 },
            Resume::Exact { replayed: 3 },
            Resume::HistoryLost {
                reason: LostReason::Expired { missed: 5 },
            },
            Resume::HistoryLost {
                reason: LostReason::Unknown,
            },
        ];
        for resume in cases {
            let mut status = Status::pack(resume);
            assert_eq!((status.resume(), status.ended()), (resume, false));
            status.end();
            assert_eq!((status.resume(), status.ended()), (resume, true));
            assert!(!status.lag_ended());
            let mut lagged = Status::pack(resume);
            lagged.end_for_lag();
            assert_eq!(
                (lagged.resume(), lagged.ended(), lagged.lag_ended()),
                (resume, true, true)
            );
        }
        let huge = Status::pack(Resume::Exact { replayed: u64::MAX });
        assert_eq!(
            huge.resume(),
            Resume::Exact {
                replayed: Status::COUNT
            }
        );
        assert!(!huge.ended());
    }

    /// A subscriber that falls behind under `LagPolicy::Disconnect` on a topic that
    /// was closed with a farewell gets the farewell, then ends: its body must still
    /// close for lag (as `hub::Stats::disconnected_for_lag` counts it), whether the
    /// farewell shares the last chunk or goes out alone (1 KiB or more).
    #[test]
    fn a_lag_disconnect_after_a_farewell_closes_the_body_for_lag() {
        use crate::hub::{Config, LagPolicy, Topic};
        use crate::{CloseReason, Event, StreamGroup};

        for farewell in ["bye".to_owned(), "x".repeat(2048)] {
            let group = StreamGroup::new("lag-farewell");
            let topic = Topic::new(
                Config::new()
                    .with_max_lag(1)
                    .with_lag_policy(LagPolicy::Disconnect),
            );
            let mut body = topic.subscribe(None).into_body().with_group(&group);
            for n in 0..5 {
                topic.publish(Event::with_data(n.to_string()));
            }
            topic.close(Some(Event::with_data(farewell.clone())));
            let chunks: Vec<_> = futures_executor::block_on_stream(&mut body).collect();
            let last = chunks.last().unwrap().as_ref().unwrap();
            assert!(last.ends_with(format!("{farewell}\n\n").as_bytes()));
            drop(body);
            assert_eq!(topic.stats().disconnected_for_lag, 1);
            let stats = group.stats();
            assert_eq!(
                (stats.closed, stats.closed_by(CloseReason::Lag)),
                (1, 1),
                "farewell of {} bytes: {stats:?}",
                farewell.len()
            );
        }
    }
}
