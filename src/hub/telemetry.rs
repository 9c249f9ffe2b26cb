//! The hub's metrics (feature `metrics`) and tracing events (feature `tracing`):
//! subscribers, publications, resume outcomes and lag policy actions. Without either
//! feature, [`Telemetry`] is empty and every call is a no-op.
//!
//! Metrics, labelled `topic` (the hub's topic name) only with
//! [`Config::with_topic_label`]: `ssewire_hub_events_published_total`,
//! `ssewire_hub_subscribers` (gauge), `ssewire_hub_resumes_total{outcome}` (`new`,
//! `exact`, `history_lost`), `ssewire_hub_lag_actions_total{action}` (`skip_ahead`,
//! `disconnect`).

use super::config::Config;
use super::resume::Resume;

/// What a lag policy did.
#[derive(Clone, Copy)]
pub(super) enum LagAction {
    SkipAhead,
    Disconnect,
}

impl LagAction {
    #[cfg(feature = "tracing")]
    fn as_str(self) -> &'static str {
        match self {
            LagAction::SkipAhead => "skip_ahead",
            LagAction::Disconnect => "disconnect",
        }
    }
}

#[cfg(any(feature = "metrics", feature = "tracing"))]
fn outcome(resume: &Resume) -> (usize, &'static str) {
    match resume {
        Resume::Exact { .. } => (1, "exact"),
        Resume::HistoryLost { .. } => (2, "history_lost"),
        _ => (0, "new"),
    }
}

pub(super) struct Telemetry {
    /// The topic's name, when the config asks for it.
    #[cfg(feature = "tracing")]
    topic: Option<Box<str>>,
    #[cfg(feature = "metrics")]
    metrics: HubMetrics,
}

#[cfg(feature = "metrics")]
struct HubMetrics {
    published: metrics::Counter,
    subscribers: metrics::Gauge,
    resumes: [metrics::Counter; 3],
    lag: [metrics::Counter; 2],
}

#[cfg(feature = "metrics")]
const PUBLISHED: &str = "ssewire_hub_events_published_total";
#[cfg(feature = "metrics")]
const SUBSCRIBERS: &str = "ssewire_hub_subscribers";
#[cfg(feature = "metrics")]
const RESUMES: &str = "ssewire_hub_resumes_total";
#[cfg(feature = "metrics")]
const LAG_ACTIONS: &str = "ssewire_hub_lag_actions_total";

#[cfg(feature = "metrics")]
impl HubMetrics {
    fn register(topic: Option<&str>) -> Self {
        use metrics::{describe_counter, describe_gauge, Label, Unit};
        describe_counter!(PUBLISHED, Unit::Count, "Events published to hub topics");
        describe_gauge!(SUBSCRIBERS, Unit::Count, "Hub subscribers alive");
        describe_counter!(
            RESUMES,
            Unit::Count,
            "Hub subscriptions by outcome (new, exact, history_lost)"
        );
        describe_counter!(
            LAG_ACTIONS,
            Unit::Count,
            "Lag policy actions on hub subscribers (skip_ahead, disconnect)"
        );
        let labels = |extra: Option<(&'static str, &'static str)>| {
            let mut labels: Vec<Label> = Vec::new();
            if let Some(topic) = topic {
                labels.push(Label::new("topic", topic.to_owned()));
            }
            if let Some((key, value)) = extra {
                labels.push(Label::new(key, value));
            }
            labels
        };
        HubMetrics {
            published: metrics::counter!(PUBLISHED, labels(None)),
            subscribers: metrics::gauge!(SUBSCRIBERS, labels(None)),
            resumes: ["new", "exact", "history_lost"]
                .map(|outcome| metrics::counter!(RESUMES, labels(Some(("outcome", outcome))))),
            lag: ["skip_ahead", "disconnect"]
                .map(|action| metrics::counter!(LAG_ACTIONS, labels(Some(("action", action))))),
        }
    }
}

impl Telemetry {
    #[cfg_attr(not(any(feature = "metrics", feature = "tracing")), allow(unused))]
    pub(super) fn new(config: &Config, name: Option<&str>) -> Self {
        let topic = name.filter(|_| config.topic_label());
        Telemetry {
            #[cfg(feature = "tracing")]
            topic: topic.map(Box::from),
            #[cfg(feature = "metrics")]
            metrics: HubMetrics::register(topic),
        }
    }

    #[inline]
    pub(super) fn published(&self) {
        #[cfg(feature = "metrics")]
        self.metrics.published.increment(1);
    }

    #[cfg_attr(not(any(feature = "metrics", feature = "tracing")), allow(unused))]
    pub(super) fn subscribed(&self, resume: &Resume) {
        #[cfg(any(feature = "metrics", feature = "tracing"))]
        let (index, outcome) = outcome(resume);
        #[cfg(feature = "metrics")]
        {
            self.metrics.subscribers.increment(1.0);
            self.metrics.resumes[index].increment(1);
        }
        #[cfg(feature = "tracing")]
        tracing::debug!(
            target: "ssewire::hub",
            topic = self.topic.as_deref(),
            outcome,
            "hub subscription: {outcome}"
        );
        #[cfg(all(feature = "metrics", not(feature = "tracing")))]
        let _ = outcome;
        #[cfg(all(feature = "tracing", not(feature = "metrics")))]
        let _ = index;
    }

    pub(super) fn left(&self) {
        #[cfg(feature = "metrics")]
        self.metrics.subscribers.decrement(1.0);
    }

    #[cfg_attr(not(any(feature = "metrics", feature = "tracing")), allow(unused))]
    pub(super) fn lag(&self, action: LagAction, missed: u64) {
        #[cfg(feature = "metrics")]
        self.metrics.lag[action as usize].increment(1);
        #[cfg(not(feature = "tracing"))]
        let _ = missed;
        #[cfg(feature = "tracing")]
        tracing::info!(
            target: "ssewire::hub",
            topic = self.topic.as_deref(),
            action = action.as_str(),
            missed,
            "hub subscriber lagged: {}",
            action.as_str()
        );
    }
}
