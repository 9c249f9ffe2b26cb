//! What the server records about each request.

use super::*;

/// One request the server answered.
#[derive(Debug)]
pub struct Hit {
    pub path: String,
    pub query: HashMap<String, String>,
    pub version: Version,
    /// The raw `Last-Event-ID` bytes, as they came over the wire.
    pub last_event_id_raw: Option<Vec<u8>>,
    /// What `ssewire::last_event_id` made of them.
    pub last_event_id: Result<Option<String>, String>,
    pub status: StatusCode,
    pub at: Instant,
    /// Data frames sent, and how many of them were keep-alive comments.
    pub frames: AtomicUsize,
    pub keep_alives: AtomicUsize,
    /// When the scenario's stream ended or failed (a planned drop), and how.
    pub dropped: Mutex<Option<(Instant, &'static str)>>,
}

impl Hit {
    pub fn run(&self) -> Option<&str> {
        self.query.get("run").map(String::as_str)
    }
}

/// Every request, in arrival order.
#[derive(Debug, Default)]
pub struct Log {
    pub(crate) hits: Mutex<Vec<Arc<Hit>>>,
}

impl Log {
    pub fn hits(&self) -> Vec<Arc<Hit>> {
        lock(&self.hits).clone()
    }

    /// The event-stream requests of one scenario run.
    pub fn run(&self, run: &str) -> Vec<Arc<Hit>> {
        self.hits()
            .into_iter()
            .filter(|h| h.path.starts_with("/sse/") && h.run() == Some(run))
            .collect()
    }
}
