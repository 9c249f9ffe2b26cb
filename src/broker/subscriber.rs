//! A node's subscriber: the events read from the broker (a resumption's gap), then the
//! local topic's live events, merged by id.

use std::collections::VecDeque;
use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_core::Stream;

use crate::body::SseBody;
use crate::encoded::EncodedEvent;
use crate::hub::Subscriber;

use super::node::Lease;
use super::wire;

/// How a [`Node`](super::Node) subscription started.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum NodeResume {
    /// No `Last-Event-ID`: live events from now on.
    New,
    /// The id was in this node's local history: `replayed` events from memory.
    Local {
        /// Events replayed from the local history.
        replayed: u64,
    },
    /// The id was found in the broker's log: `replayed` events read from it, then live.
    Broker {
        /// Events read from the broker.
        replayed: u64,
    },
    /// The id cannot be resumed from (not found in the current epoch, or more than
    /// `max_replay` events behind): a `history-lost` event, then live events.
    HistoryLost,
}

/// The last id a resumption's gap covers, and the broker's order of ids.
pub(super) type Covered = (String, fn(&str, &str) -> bool);

/// One client's stream on a [`Node`](super::Node): the replayed events, then live ones,
/// each exactly once and in the log's order. A `Stream` of events like
/// [`Subscriber`] (which it wraps); [`NodeSubscriber::into_body`] makes the response
/// body.
#[must_use = "a NodeSubscriber receives nothing unless it is polled, e.g. as a body"]
pub struct NodeSubscriber {
    gap: VecDeque<EncodedEvent>,
    /// The last id the gap covers (the gap's last, or the client's own): live events
    /// up to it are duplicates, skipped until the first one after it.
    covered: Option<Covered>,
    live: Subscriber,
    resume: NodeResume,
    _lease: Lease,
}

impl NodeSubscriber {
    pub(super) fn new(
        gap: Vec<EncodedEvent>,
        covered: Option<Covered>,
        live: Subscriber,
        resume: NodeResume,
        lease: Lease,
    ) -> Self {
        NodeSubscriber {
            gap: gap.into(),
            covered,
            live,
            resume,
            _lease: lease,
        }
    }

    /// How the subscription started.
    pub fn resume(&self) -> NodeResume {
        self.resume
    }

    /// The response body (add a keep-alive with `.keep_alive(..)`).
    pub fn into_body(self) -> SseBody<Self> {
        SseBody::new(self)
    }
}

impl Stream for NodeSubscriber {
    type Item = EncodedEvent;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if let Some(event) = this.gap.pop_front() {
            return Poll::Ready(Some(event));
        }
        loop {
            let item = match Pin::new(&mut this.live).poll_next(cx) {
                Poll::Ready(Some(item)) => item,
                other => return other,
            };
            if let Some((last, follows)) = &this.covered {
                let duplicate = wire::id_of(item.as_bytes()).is_some_and(|id| !follows(id, last));
                if duplicate {
                    continue; // the client had it, or it came from the gap
                }
                this.covered = None;
            }
            return Poll::Ready(Some(item));
        }
    }
}

impl fmt::Debug for NodeSubscriber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NodeSubscriber")
            .field("resume", &self.resume)
            .field("gap", &self.gap.len())
            .finish_non_exhaustive()
    }
}
