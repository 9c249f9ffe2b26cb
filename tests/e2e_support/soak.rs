//! Helpers of the soak test (`tests/soak.rs`): the process's memory and
//! file-descriptor limit from `/proc`, and a churning event-stream client that checks
//! every id it receives.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper_util::rt::TokioIo;

/// The resident set size of this process in KiB (`VmRSS` in `/proc/self/status`).
pub fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS in /proc/self/status")
}

/// The soft limit on open files (`Max open files` in `/proc/self/limits`).
pub fn nofile_limit() -> u64 {
    let limits = std::fs::read_to_string("/proc/self/limits").expect("/proc/self/limits");
    limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .and_then(|l| l.split_whitespace().nth(3))
        .and_then(|v| v.parse().ok())
        .unwrap_or(u64::MAX)
}

/// What all the clients saw, added up.
#[derive(Debug, Default)]
pub struct Totals {
    pub events: AtomicU64,
    pub sessions: AtomicU64,
    pub resets: AtomicU64,
    pub keep_alives: AtomicU64,
    pub failures: AtomicU64,
    /// The longest wait from connect to the response head, in ms.
    pub max_connect_ms: AtomicU64,
    /// The first few failures, for the message.
    pub first_failures: Mutex<Vec<String>>,
}

impl Totals {
    pub fn fail(&self, message: String) {
        self.failures.fetch_add(1, Ordering::SeqCst);
        let mut first = self
            .first_failures
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if first.len() < 10 {
            first.push(message);
        }
    }
}

/// A small deterministic random number generator (xorshift), one per client.
pub struct Rng(pub u64);

impl Rng {
    pub fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n.max(1)
    }
}

/// How one session ended.
pub enum SessionEnd {
    /// The client closed it on purpose (churn), after `events` events.
    Closed,
    /// The client has every event up to the last one.
    Finished,
}

/// One connection: GET `/events` (with `Last-Event-ID: last` when there is one),
/// read events, check that each id is the one after the previous (`last`), and stop
/// after `quota` events (closing abruptly, with a reset when `reset`) or once
/// `final_id` (when known) has arrived. Errors are the test's failures.
pub async fn session(
    addr: SocketAddr,
    last: &mut Option<u64>,
    quota: u64,
    reset: bool,
    final_id: &AtomicU64,
    totals: &Totals,
) -> Result<SessionEnd, String> {
    let started = std::time::Instant::now();
    let tcp = tokio::net::TcpStream::connect(addr)
        .await
        .map_err(|e| format!("connect: {e}"))?;
    if reset {
        // Closing sends RST instead of FIN: the harshest way for a client to go.
        tcp.set_zero_linger().map_err(|e| format!("linger: {e}"))?;
    }
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tcp))
        .await
        .map_err(|e| format!("handshake: {e}"))?;
    let conn = tokio::spawn(conn);
    let mut request = http::Request::get("/events").header("host", "soak");
    if let Some(id) = *last {
        request = request.header("last-event-id", id.to_string());
    }
    let response = sender
        .send_request(request.body(Empty::<Bytes>::new()).unwrap())
        .await
        .map_err(|e| format!("request: {e}"))?;
    if response.status() != 200 {
        return Err(format!("status {}", response.status()));
    }
    let waited = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    totals.max_connect_ms.fetch_max(waited, Ordering::Relaxed);
    totals.sessions.fetch_add(1, Ordering::Relaxed);
    let mut body = response.into_body();
    let mut buf: Vec<u8> = Vec::new();
    let mut got = 0;
    let end = 'read: loop {
        let frame = match tokio::time::timeout(Duration::from_secs(30), body.frame()).await {
            Err(_) => return Err(format!("no bytes for 30 s after id {last:?}")),
            Ok(None) => return Err(format!("the server ended the stream after id {last:?}")),
            Ok(Some(Err(e))) => return Err(format!("body error after id {last:?}: {e}")),
            Ok(Some(Ok(frame))) => frame,
        };
        let Ok(data) = frame.into_data() else {
            continue;
        };
        buf.extend_from_slice(&data);
        // Whole blocks only; a keep-alive is a comment line (with or without a
        // blank line after it).
        while let Some(end) = buf.windows(2).position(|w| w == b"\n\n") {
            let block: Vec<u8> = buf.drain(..end + 2).collect();
            let text = String::from_utf8(block).map_err(|e| format!("UTF-8: {e}"))?;
            let mut id = None;
            let mut data = None;
            for line in text.lines() {
                if line.starts_with(':') {
                    totals.keep_alives.fetch_add(1, Ordering::Relaxed);
                } else if let Some(v) = line.strip_prefix("id: ") {
                    id = Some(v.parse::<u64>().map_err(|e| format!("id {v:?}: {e}"))?);
                } else if let Some(v) = line.strip_prefix("data: ") {
                    data = Some(v.to_owned());
                } else if !line.is_empty() {
                    return Err(format!("unexpected line {line:?} (after id {last:?})"));
                }
            }
            let Some(data) = data else { continue };
            let id = id.ok_or_else(|| format!("an event without id: {text:?}"))?;
            if let Some(prev) = *last {
                if id != prev + 1 {
                    return Err(format!(
                        "id {id} after {prev}: {}",
                        if id <= prev { "duplicate" } else { "gap" }
                    ));
                }
            }
            if data != format!("tick {id}") {
                return Err(format!("id {id} carries {data:?}"));
            }
            *last = Some(id);
            got += 1;
            totals.events.fetch_add(1, Ordering::Relaxed);
            let fin = final_id.load(Ordering::SeqCst);
            if fin != 0 && id >= fin {
                break 'read SessionEnd::Finished;
            }
            if got >= quota {
                break 'read SessionEnd::Closed;
            }
        }
    };
    if reset {
        totals.resets.fetch_add(1, Ordering::Relaxed);
    }
    // Abrupt: no reading to the end, the connection is dropped where it stands.
    drop(body);
    drop(sender);
    conn.abort();
    Ok(end)
}

/// A client's life: sessions one after another, each resuming from the last id,
/// until it has the final event. `churn`: close after a random number of events;
/// otherwise one long session.
pub async fn client(
    addr: SocketAddr,
    seed: u64,
    churn: bool,
    final_id: Arc<AtomicU64>,
    totals: Arc<Totals>,
) {
    let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let mut last = None;
    loop {
        let quota = if churn { 10 + rng.below(70) } else { u64::MAX };
        let reset = rng.below(2) == 0;
        match session(addr, &mut last, quota, reset, &final_id, &totals).await {
            Ok(SessionEnd::Finished) => return,
            Ok(SessionEnd::Closed) => {
                // Reconnect soon, as a browser would after its `retry`.
                tokio::time::sleep(Duration::from_millis(rng.below(300))).await;
            }
            Err(e) => {
                totals.fail(format!("client {seed}: {e}"));
                return;
            }
        }
    }
}
