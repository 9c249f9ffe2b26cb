//! A feed: where a broker's tail delivers one topic's entries on this node.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use tokio::sync::watch;

use crate::event::Event;
use crate::fields::EventId;
use crate::hub::{Hub, Topic};

use super::Epoch;

/// Where a [`Broker`](super::Broker)'s tail delivers one topic's entries on this node:
/// the local [`Topic`] that fans them out, and what the node knows of the topic's
/// epoch. Made by [`Node`](super::Node); a broker only calls its methods.
///
/// The local topic always holds a contiguous slice of the broker's log, from the
/// position given at [`Feed::start`]: that is what lets a node replay a
/// `Last-Event-ID` from memory, and merge a broker read with live events.
#[derive(Clone)]
pub struct Feed {
    inner: Arc<Inner>,
}

struct Inner {
    name: Box<str>,
    hub: Hub,
    state: Mutex<State>,
    started: watch::Sender<bool>,
    resets: AtomicU64,
}

struct State {
    topic: Topic,
    epoch: Option<Epoch>,
}

impl Feed {
    pub(super) fn new(hub: Hub, name: &str) -> Self {
        let topic = hub.topic(name);
        Feed {
            inner: Arc::new(Inner {
                name: name.into(),
                hub,
                state: Mutex::new(State { topic, epoch: None }),
                started: watch::Sender::new(false),
                resets: AtomicU64::new(0),
            }),
        }
    }

    /// The topic's name.
    pub fn topic(&self) -> &str {
        &self.inner.name
    }

    /// The epoch the node's local history belongs to (`None` before the first).
    pub fn epoch(&self) -> Option<Epoch> {
        self.lock().epoch.clone()
    }

    /// The broker fixed the position it tails from, in `epoch`: entries after it (and
    /// only those) will be [pushed](Feed::push). Resumptions wait for this.
    pub fn start(&self, epoch: Option<Epoch>) {
        self.lock().epoch = epoch;
        self.inner.started.send_replace(true);
    }

    /// The next entry of the log, in `epoch`. An entry from another epoch than the
    /// feed's first [resets](Feed::reset) the feed.
    pub fn push(&self, id: EventId, event: Event, epoch: Option<&Epoch>) {
        // Under the feed's lock, so that a reset never splits the local history.
        let mut state = self.lock();
        {
            if let Some(epoch) = epoch {
                match &state.epoch {
                    Some(known) if known != epoch => {
                        self.replace_topic(&mut state, Some(epoch.clone()));
                    }
                    Some(_) => {}
                    // The first epoch this feed sees: nothing of another epoch is
                    // in its history, so there is nothing to forget.
                    None => state.epoch = Some(epoch.clone()),
                }
            }
        }
        state.topic.publish(event.id(id));
    }

    /// The broker cannot prove this node saw every entry (its position vanished, the
    /// epoch changed): end the local subscribers (browsers reconnect with their
    /// `Last-Event-ID`, and resume or get `history-lost`), forget the local history,
    /// and go on in `epoch`.
    pub fn reset(&self, epoch: Option<Epoch>) {
        let mut state = self.lock();
        self.replace_topic(&mut state, epoch);
    }

    /// How many times the feed was reset.
    pub fn resets(&self) -> u64 {
        self.inner.resets.load(Ordering::Relaxed)
    }

    pub(super) fn local_topic(&self) -> Topic {
        self.lock().topic.clone()
    }

    pub(super) fn is_started(&self) -> bool {
        *self.inner.started.borrow()
    }

    pub(super) async fn wait_started(&self) {
        let mut started = self.inner.started.subscribe();
        // The sender lives in `self`, so this cannot fail.
        let _ = started.wait_for(|started| *started).await;
    }

    /// A resumption read the broker in `epoch`: a feed that has no epoch yet (it
    /// started before the topic's first entry, and its tail has not delivered one)
    /// takes it, so an entry of any other epoch resets it later. Whether the local
    /// history now belongs to `epoch`.
    pub(super) fn adopt_epoch(&self, epoch: &Option<Epoch>) -> bool {
        let mut state = self.lock();
        if state.epoch.is_none() {
            state.epoch.clone_from(epoch);
        }
        state.epoch == *epoch
    }

    /// Resets only if the local history still belongs to `seen` (a resumption found
    /// another epoch in the broker).
    pub(super) fn reset_if(&self, seen: &Option<Epoch>, now: Option<Epoch>) {
        let mut state = self.lock();
        if &state.epoch == seen {
            self.replace_topic(&mut state, now);
        }
    }

    fn replace_topic(&self, state: &mut State, epoch: Option<Epoch>) {
        self.inner.resets.fetch_add(1, Ordering::Relaxed);
        // Dropping the last handles closes the old topic: its subscribers end.
        self.inner.hub.remove(&self.inner.name);
        state.topic = self.inner.hub.topic(&self.inner.name);
        state.epoch = epoch;
    }

    pub(super) fn same(&self, other: &Feed) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }

    pub(super) fn close(&self) {
        self.inner.hub.remove(&self.inner.name);
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.inner
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

impl fmt::Debug for Feed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Feed")
            .field("topic", &self.inner.name)
            .field("epoch", &self.epoch())
            .field("started", &self.is_started())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use futures_util::StreamExt;

    use super::*;
    use crate::hub::{Config, IdPolicy};

    fn id(text: &str) -> EventId {
        EventId::new(text).unwrap()
    }

    #[tokio::test]
    async fn another_epoch_ends_the_local_subscribers_and_starts_afresh() {
        let hub = Hub::new(Config::new().with_id_policy(IdPolicy::Keep));
        let feed = Feed::new(hub, "t");
        feed.start(Some(Epoch::new("e1")));
        let mut old = feed.local_topic().subscribe(None);
        feed.push(id("1-0"), Event::with_data("a"), Some(&Epoch::new("e1")));
        assert!(old.next().await.is_some());
        feed.push(id("2-0"), Event::with_data("b"), Some(&Epoch::new("e2")));
        assert!(old.next().await.is_none(), "the old topic is closed");
        assert_eq!(feed.epoch(), Some(Epoch::new("e2")));
        assert_eq!(feed.resets(), 1);
        // The new local history holds only the new epoch's entry.
        assert!(feed
            .local_topic()
            .subscribe(Some(&id("2-0")))
            .resume()
            .is_exact());
        assert!(feed
            .local_topic()
            .subscribe(Some(&id("1-0")))
            .resume()
            .is_history_lost());
    }

    #[tokio::test]
    async fn the_first_epoch_is_adopted_without_a_reset() {
        let hub = Hub::new(Config::new().with_id_policy(IdPolicy::Keep));
        let feed = Feed::new(hub, "t");
        feed.start(None);
        feed.push(id("1-0"), Event::with_data("a"), Some(&Epoch::new("e1")));
        assert_eq!((feed.epoch(), feed.resets()), (Some(Epoch::new("e1")), 0));
        feed.reset_if(&Some(Epoch::new("other")), None);
        assert_eq!(feed.resets(), 0, "reset_if only resets the epoch it saw");
        feed.reset_if(&Some(Epoch::new("e1")), None);
        assert_eq!((feed.epoch(), feed.resets()), (None, 1));
    }
}
