//! A hub: topics by name, with one configuration.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::AtomicUsize;
use std::sync::{Arc, Mutex, MutexGuard};

use crate::encoded::EncodedEvent;
use crate::event::Event;
use crate::sync::lock;

use super::config::Config;
use super::stats::Stats;
use super::topic::Topic;

/// Topics by name (chat rooms, tenants, ...) with one [`Config`].
///
/// `Hub` is cheap to clone (all clones are the same hub): put it in your application
/// state. A topic is created the first time it is named and lives until it is
/// [removed](Hub::remove) or the hub is dropped. Its subscribers' streams end once
/// every handle to it is gone (the hub's and the [`Topic`]s you cloned from it) and
/// they have received what was published before, or when the hub is
/// [closed](Hub::close).
///
/// Topic names from requests (`/rooms/{name}`) let clients create topics, each with
/// its own history: check such names against what exists ([`Hub::get`]) or against
/// your own rules before calling [`Hub::topic`].
///
/// ```
/// use ssewire::{hub::Hub, Event};
///
/// let hub = Hub::default();
/// let lobby = hub.topic("lobby");
/// let _subscriber = lobby.subscribe(None);
/// lobby.publish(Event::with_data("welcome"));
/// assert!(hub.get("lobby").is_some());
/// assert!(hub.get("attic").is_none());
/// assert_eq!(hub.stats().events_published, 1);
/// assert_eq!(hub.stats().subscribers, 1);
/// ```
#[derive(Clone, Default)]
pub struct Hub {
    inner: Arc<HubInner>,
}

#[derive(Default)]
struct HubInner {
    config: Config,
    topics: Mutex<Topics>,
    /// Subscribers alive across every topic, for [`Config::with_max_subscribers`].
    open: Arc<AtomicUsize>,
}

#[derive(Default)]
struct Topics {
    by_name: HashMap<Box<str>, Topic>,
    /// Set by [`Hub::close`], with its farewell: topics created later start closed.
    closed: Option<Option<EncodedEvent>>,
}

impl Hub {
    /// A hub whose topics use `config`.
    ///
    /// ```
    /// let hub = ssewire::hub::Hub::new(ssewire::hub::Config::new().with_history(100));
    /// assert_eq!(hub.config().history(), 100);
    /// ```
    pub fn new(config: Config) -> Self {
        Hub {
            inner: Arc::new(HubInner {
                config,
                topics: Mutex::default(),
                open: Arc::default(),
            }),
        }
    }

    /// The configuration every topic of this hub uses.
    ///
    /// ```
    /// assert_eq!(ssewire::hub::Hub::default().config().history(), 1024);
    /// ```
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// The topic called `name`, created if it does not exist yet.
    ///
    /// ```
    /// let hub = ssewire::hub::Hub::default();
    /// let a = hub.topic("a");
    /// a.publish(ssewire::Event::with_data("x"));
    /// assert_eq!(hub.topic("a").stats().events_published, 1); // the same topic
    /// ```
    pub fn topic(&self, name: &str) -> Topic {
        let mut topics = self.topics();
        if let Some(topic) = topics.by_name.get(name) {
            return topic.clone();
        }
        let topic = Topic::with_name(self.inner.config, Some(name), Arc::clone(&self.inner.open));
        if let Some(farewell) = &topics.closed {
            topic.close_encoded(farewell.clone());
        }
        topics.by_name.insert(name.into(), topic.clone());
        topic
    }

    /// The topic called `name`, if it exists.
    ///
    /// ```
    /// let hub = ssewire::hub::Hub::default();
    /// assert!(hub.get("a").is_none());
    /// hub.topic("a");
    /// assert!(hub.get("a").is_some());
    /// ```
    pub fn get(&self, name: &str) -> Option<Topic> {
        self.topics().by_name.get(name).cloned()
    }

    /// Removes the topic called `name` from the hub and returns it. Its history and
    /// its counters leave the hub (read [`Topic::stats`] first if you export them);
    /// its subscribers end once no handle to it is left. Naming it again creates a
    /// new, empty topic.
    ///
    /// ```
    /// let hub = ssewire::hub::Hub::default();
    /// hub.topic("a");
    /// assert!(hub.remove("a").is_some());
    /// assert!(hub.get("a").is_none());
    /// ```
    pub fn remove(&self, name: &str) -> Option<Topic> {
        self.topics().by_name.remove(name)
    }

    /// The names of the topics that exist now, in no particular order.
    ///
    /// ```
    /// let hub = ssewire::hub::Hub::default();
    /// hub.topic("a");
    /// assert_eq!(hub.topic_names(), vec!["a".to_string()]);
    /// ```
    pub fn topic_names(&self) -> Vec<String> {
        self.topics()
            .by_name
            .keys()
            .map(|name| name.to_string())
            .collect()
    }

    /// Publishes `event` on the topic called `name` (created if needed); shorthand for
    /// `hub.topic(name).publish(event)`. Returns the event's position (its id with
    /// [`IdPolicy::Assign`](super::IdPolicy::Assign)).
    ///
    /// ```
    /// let hub = ssewire::hub::Hub::new(ssewire::hub::Config::new().with_first_id(1));
    /// assert_eq!(hub.publish("a", ssewire::Event::with_data("x")), 1);
    /// ```
    pub fn publish(&self, name: &str, event: Event) -> u64 {
        self.topic(name).publish(event)
    }

    /// Closes every topic, now and later: graceful shutdown. Every subscriber
    /// receives what it was owed, then `farewell` (encoded once for all), then its
    /// stream ends; see [`Topic::close`], which this calls on each topic. Topics named
    /// after the close are created closed, so a client that reconnects during the
    /// shutdown gets the farewell and an end at once. Closing again changes nothing.
    ///
    /// Call it when the server is asked to stop, e.g. in the future given to axum's
    /// `with_graceful_shutdown`, so that open event streams end and the server can
    /// exit (see `examples/chat.rs`).
    ///
    /// ```
    /// use futures_util::StreamExt;
    /// use ssewire::{hub::Hub, Event, EventType};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let hub = Hub::default();
    /// let mut subscriber = hub.topic("news").subscribe(None);
    /// hub.close(Some(Event::new().event(EventType::from_static("bye")).data("")));
    /// assert_eq!(subscriber.next().await.unwrap().as_ref(), b"event: bye\ndata: \n\n");
    /// assert!(subscriber.next().await.is_none());
    /// assert!(hub.topic("later").is_closed());
    /// # }
    /// ```
    pub fn close(&self, farewell: Option<Event>) {
        let farewell = farewell.map(Event::encode);
        let topics: Vec<Topic> = {
            let mut topics = self.topics();
            if topics.closed.is_some() {
                return;
            }
            topics.closed = Some(farewell.clone());
            topics.by_name.values().cloned().collect()
        };
        // Outside the registry lock, as in `stats`.
        for topic in &topics {
            topic.close_encoded(farewell.clone());
        }
    }

    /// The counters of all the topics that exist now, added up (the history fields
    /// are summed too). [`Stats::topics`] is the number of topics.
    ///
    /// ```
    /// let hub = ssewire::hub::Hub::default();
    /// hub.publish("a", ssewire::Event::with_data("x"));
    /// hub.publish("b", ssewire::Event::with_data("y"));
    /// let stats = hub.stats();
    /// assert_eq!((stats.topics, stats.events_published), (2, 2));
    /// ```
    pub fn stats(&self) -> Stats {
        // Copy the handles out, so no topic lock is taken under the registry lock.
        let topics: Vec<Topic> = self.topics().by_name.values().cloned().collect();
        let mut total = Stats::default();
        for topic in &topics {
            total.add(&topic.stats());
        }
        total.topics = topics.len() as u64;
        total
    }

    fn topics(&self) -> MutexGuard<'_, Topics> {
        lock(&self.inner.topics)
    }
}

impl fmt::Debug for Hub {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Hub")
            .field("config", &self.inner.config)
            .field("topics", &self.topics().by_name.len())
            .finish()
    }
}
