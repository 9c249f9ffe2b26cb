//! How a subscription starts: after the client's `Last-Event-ID`, with a backlog,
//! or with its history lost.

use super::ring::Located;

/// How a subscription started: what a handler can check before it builds the response.
///
/// Returned by [`Subscriber::resume`](super::Subscriber::resume); see the [module docs](super#resuming-the-handoff).
///
/// ```
/// use ssewire::{hub::{Config, Resume, Topic}, Event, EventId};
///
/// let topic = Topic::new(Config::new().with_first_id(1));
/// topic.publish(Event::with_data("a"));
/// match topic.subscribe(Some(&EventId::from_u64(1))).resume() {
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
    /// (see [`Topic::subscribe_with_backlog`](super::Topic::subscribe_with_backlog)),
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
    /// `history-lost` event ([`Subscriber::HISTORY_LOST`](super::Subscriber::HISTORY_LOST)), then goes on as a new
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
    /// let topic = ssewire::hub::Topic::new(ssewire::hub::Config::new());
    /// assert!(topic.subscribe(None).resume().is_new());
    /// ```
    pub fn is_new(&self) -> bool {
        matches!(self, Resume::New { .. })
    }

    /// Whether the client resumes exactly after its `Last-Event-ID`.
    ///
    /// ```
    /// let topic = ssewire::hub::Topic::new(ssewire::hub::Config::new().with_first_id(1));
    /// topic.publish(ssewire::Event::with_data("x"));
    /// let id = ssewire::EventId::from_u64(1);
    /// assert!(topic.subscribe(Some(&id)).resume().is_exact());
    /// ```
    pub fn is_exact(&self) -> bool {
        matches!(self, Resume::Exact { .. })
    }

    /// Whether the client's history was lost (it gets a `history-lost` event first).
    ///
    /// ```
    /// let topic = ssewire::hub::Topic::new(ssewire::hub::Config::new());
    /// let id = ssewire::EventId::from_static("not-ours");
    /// assert!(topic.subscribe(Some(&id)).resume().is_history_lost());
    /// ```
    pub fn is_history_lost(&self) -> bool {
        matches!(self, Resume::HistoryLost { .. })
    }
}

/// Why a client's history was lost ([`Resume::HistoryLost`]).
///
/// ```
/// use ssewire::{hub::{Config, LostReason, Resume, Topic}, Event, EventId};
///
/// let topic = Topic::new(Config::new().with_first_id(1).with_history(1));
/// topic.publish(Event::with_data("a")); // id 1
/// topic.publish(Event::with_data("b")); // id 2, pushed out of the history by 3
/// topic.publish(Event::with_data("c")); // id 3
///
/// // The client saw 1. Starting live, it will never get 2 and 3:
/// let live = topic.subscribe(Some(&EventId::from_u64(1))).resume();
/// assert_eq!(live, Resume::HistoryLost { reason: LostReason::Expired { missed: 2 } });
/// // With a backlog it also gets what is left (3), and only 2 is missed:
/// let backlog = topic.subscribe_with_backlog(Some(&EventId::from_u64(1)), usize::MAX).resume();
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
    /// topic, not written exactly as the topic wrote it, from before
    /// [`Topic::clear_history`](super::Topic::clear_history), or (with
    /// [`IdPolicy::Keep`](super::IdPolicy::Keep)) no longer in the history.
    Unknown,
}

/// Where a new subscriber starts (`next`), given where its `Last-Event-ID` led, the
/// history's `front` and `head`, and the `backlog` it asked for.
pub(super) fn plan(located: Located, front: u64, head: u64, backlog: usize) -> (u64, Resume) {
    let backlog_start = head
        .saturating_sub(u64::try_from(backlog).unwrap_or(u64::MAX))
        .max(front);
    match located {
        Located::NoId => (
            backlog_start,
            Resume::New {
                backlog: head - backlog_start,
            },
        ),
        Located::Found(next) => (
            next,
            Resume::Exact {
                replayed: head - next,
            },
        ),
        Located::Expired(wanted) => {
            let missed = backlog_start - wanted;
            let reason = LostReason::Expired { missed };
            (backlog_start, Resume::HistoryLost { reason })
        }
        Located::Unknown => {
            let reason = LostReason::Unknown;
            (backlog_start, Resume::HistoryLost { reason })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_subscribers_start_at_the_head_or_with_their_backlog() {
        assert_eq!(
            plan(Located::NoId, 10, 20, 0),
            (20, Resume::New { backlog: 0 })
        );
        assert_eq!(
            plan(Located::NoId, 10, 20, 3),
            (17, Resume::New { backlog: 3 })
        );
        assert_eq!(
            plan(Located::NoId, 10, 20, usize::MAX),
            (10, Resume::New { backlog: 10 })
        );
    }

    #[test]
    fn found_ids_replay_exactly_what_follows_them() {
        assert_eq!(
            plan(Located::Found(15), 10, 20, 3),
            (15, Resume::Exact { replayed: 5 })
        );
        assert_eq!(
            plan(Located::Found(20), 10, 20, 0),
            (20, Resume::Exact { replayed: 0 })
        );
    }

    #[test]
    fn expired_ids_count_every_event_the_client_will_not_get() {
        let lost = |missed| Resume::HistoryLost {
            reason: LostReason::Expired { missed },
        };
        // Wanted 5; the history starts at 10, the head is 20.
        assert_eq!(plan(Located::Expired(5), 10, 20, 0), (20, lost(15)));
        assert_eq!(plan(Located::Expired(5), 10, 20, 4), (16, lost(11)));
        assert_eq!(plan(Located::Expired(5), 10, 20, usize::MAX), (10, lost(5)));
    }

    #[test]
    fn unknown_ids_start_as_new_subscribers_would() {
        let unknown = Resume::HistoryLost {
            reason: LostReason::Unknown,
        };
        assert_eq!(plan(Located::Unknown, 10, 20, 0), (20, unknown));
        assert_eq!(plan(Located::Unknown, 10, 20, 2), (18, unknown));
    }
}
