//! Python SSE clients from PyPI (`httpx-sse`, `sseclient-py`, pinned in
//! `tests/python/requirements.txt`, in the venv `tests/python/.venv`) run by
//! `tests/python/clients.py`, and the axum server they read (used by
//! `tests/python.rs`).

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::stream::{self, StreamExt};
use http_body_util::BodyExt;
use serde_json::{json, Value};
use ssewire::{Event, EventId, KeepAlive, SseBody};

/// `tests/python`: the client script and the venv.
pub const PYTHON_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/python");

const PYTHON_HINT: &str = "the Python client tests need the venv with the pinned clients:\n    \
     python3 -m venv tests/python/.venv\n    \
     tests/python/.venv/bin/pip install -r tests/python/requirements.txt\n\
     (SSEWIRE_PYTHON points the tests at another interpreter that has them)";

/// The venv's Python (`SSEWIRE_PYTHON` overrides), checked to import both clients.
pub fn python() -> String {
    let python = std::env::var("SSEWIRE_PYTHON").unwrap_or_else(|_| {
        Path::new(PYTHON_DIR)
            .join(".venv/bin/python")
            .display()
            .to_string()
    });
    let out = Command::new(&python)
        .args(["-c", "import httpx, httpx_sse, sseclient"])
        .output()
        .unwrap_or_else(|e| panic!("cannot run {python}: {e}\n{PYTHON_HINT}"));
    assert!(
        out.status.success(),
        "{python} cannot import the clients: {}\n{PYTHON_HINT}",
        String::from_utf8_lossy(&out.stderr)
    );
    python
}

/// Runs `clients.py` with `job`; returns its JSON line. Panics with the script's
/// output if it fails or takes longer than `timeout`.
pub async fn run_client(job: Value, timeout: Duration) -> Value {
    let python = python();
    tokio::task::spawn_blocking(move || {
        let mut child = Command::new(&python)
            .arg(Path::new(PYTHON_DIR).join("clients.py"))
            .arg(job.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {python}: {e}\n{PYTHON_HINT}"));
        // Read both pipes as the script writes (its output can be over a MiB).
        let drain = |mut pipe: Box<dyn std::io::Read + Send>| {
            std::thread::spawn(move || {
                let mut text = Vec::new();
                let _ = pipe.read_to_end(&mut text);
                String::from_utf8_lossy(&text).into_owned()
            })
        };
        let stdout = drain(Box::new(child.stdout.take().expect("piped")));
        let stderr = drain(Box::new(child.stderr.take().expect("piped")));
        let deadline = Instant::now() + timeout;
        let mut timed_out = false;
        while child.try_wait().expect("wait for python").is_none() {
            if Instant::now() > deadline {
                // Only our own child, by its handle.
                let _ = child.kill();
                timed_out = true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let status = child.wait().expect("python status");
        let stdout = stdout.join().unwrap_or_default();
        let stderr = stderr.join().unwrap_or_default();
        let cut = |s: &str| s.chars().take(3000).collect::<String>();
        assert!(
            !timed_out,
            "clients.py ran over {timeout:?} for {}\nstdout: {}\nstderr: {}",
            job["client"],
            cut(&stdout),
            cut(&stderr)
        );
        let value: Value = serde_json::from_str(stdout.trim()).unwrap_or_else(|e| {
            panic!(
                "clients.py printed no JSON ({e}): {}\nstderr: {}",
                cut(&stdout),
                cut(&stderr)
            )
        });
        assert!(
            status.success() && value.get("error").is_none(),
            "clients.py failed for {}: {}",
            job["client"],
            super::shorten(&value)
        );
        value
    })
    .await
    .expect("python runner")
}

/// The keep-alive interval of the Python test server.
pub const PY_KEEP_ALIVE: Duration = Duration::from_millis(100);

/// One event as sent, with what each client must report for it.
#[derive(Clone, Debug)]
pub struct PyExpected {
    pub ty: String,
    pub data: String,
    /// The id of the event's own block (sseclient-py reports this).
    pub own_id: Option<String>,
    /// The last event id so far (httpx-sse reports this).
    pub last_id: String,
    /// The block's retry in milliseconds.
    pub retry: Option<u64>,
}

impl PyExpected {
    /// As httpx-sse reports it.
    pub fn httpx_sse(&self) -> Value {
        json!({ "type": self.ty, "data": self.data, "id": self.last_id, "retry": self.retry })
    }

    /// As sseclient-py reports it.
    pub fn sseclient_py(&self) -> Value {
        json!({
            "type": self.ty,
            "data": self.data,
            "id": self.own_id,
            "retry": self.retry.map(|r| r.to_string()),
        })
    }
}

pub enum PyStep {
    Send(Event),
    Pause(Duration),
}

/// The Python content scenario: every field and kind of data the clients must
/// rebuild, keep-alive pauses after ids were seen, a comment-only event; ends with an
/// event of type `done`, then the body ends.
pub fn py_scenario() -> (Vec<PyStep>, Vec<PyExpected>) {
    let mut steps = Vec::new();
    let mut expected = Vec::new();
    let mut last_id = String::new();
    let mut send = |steps: &mut Vec<PyStep>,
                    event: Event,
                    ty: &str,
                    data: &str,
                    own_id: Option<&str>,
                    retry: Option<u64>| {
        if let Some(id) = own_id {
            last_id = id.to_owned();
        }
        expected.push(PyExpected {
            ty: ty.to_owned(),
            data: data.to_owned(),
            own_id: own_id.map(str::to_owned),
            last_id: last_id.clone(),
            retry,
        });
        steps.push(PyStep::Send(event));
    };
    let pause = || PyStep::Pause(PY_KEEP_ALIVE * 9 / 2);
    let ev = |ty: &str| Event::new().try_event(ty).unwrap();

    // retry, id and data in one block.
    send(
        &mut steps,
        Event::new()
            .retry(Duration::from_millis(1500))
            .id(1u64)
            .data("hello"),
        "message",
        "hello",
        Some("1"),
        Some(1500),
    );
    // Multi-line data; lines that look like fields or comments stay data.
    let lines = "line one\nkey: value\n: not a comment\nid: 9\nline five";
    send(
        &mut steps,
        ev("multi").data(lines),
        "multi",
        lines,
        None,
        None,
    );
    // Idle, after an id was seen: keep-alive comments only.
    steps.push(pause());
    // CRLF, lone CR and mixed line ends arrive as LF, split into data lines.
    send(
        &mut steps,
        ev("crlf").data("crlf\r\nbecomes\r\nlf"),
        "crlf",
        "crlf\nbecomes\nlf",
        None,
        None,
    );
    send(
        &mut steps,
        ev("cr").data("lone\rcr\r\rtwice"),
        "cr",
        "lone\ncr\n\ntwice",
        None,
        None,
    );
    send(
        &mut steps,
        ev("mixed").data("a\r\n\rb\n"),
        "mixed",
        "a\n\nb\n",
        None,
        None,
    );
    // Unicode in type, id and data.
    let text = "héllo wörld — 日本語 — 🎉 ∑";
    send(
        &mut steps,
        ev("ünïcödé").try_id("ïd-✓").unwrap().data(text),
        "ünïcödé",
        text,
        Some("ïd-✓"),
        None,
    );
    // A comment inside an event does not disturb it.
    send(
        &mut steps,
        Event::new()
            .comment("a comment in an event")
            .data("commented"),
        "message",
        "commented",
        None,
        None,
    );
    // A comment-only event: no client reports anything for it.
    steps.push(PyStep::Send(Event::new().comment("just a comment")));
    steps.push(pause());
    // Empty data is an event with data "".
    send(&mut steps, Event::new().data(""), "message", "", None, None);
    // Leading spaces and a tab survive; a trailing newline keeps its empty line.
    let spaced = "  two leading spaces\n\tand a tab\ntrailing  ";
    send(
        &mut steps,
        ev("spaces").data(spaced),
        "spaces",
        spaced,
        None,
        None,
    );
    send(
        &mut steps,
        Event::new().data("trailing newline\n"),
        "message",
        "trailing newline\n",
        None,
        None,
    );
    // An empty id resets the last event id.
    send(
        &mut steps,
        Event::new().id(EventId::empty()).data("id reset"),
        "message",
        "id reset",
        Some(""),
        None,
    );
    // A retry of its own.
    send(
        &mut steps,
        Event::new()
            .retry(Duration::from_millis(250))
            .data("new retry"),
        "message",
        "new retry",
        None,
        Some(250),
    );
    // 64 KiB of data on one line, more than one read.
    let big: String = super::one_mib()[..64 * 1024].to_owned();
    send(
        &mut steps,
        ev("big").id(2u64).data(&big),
        "big",
        &big,
        Some("2"),
        None,
    );
    steps.push(pause());
    send(
        &mut steps,
        ev("done").id(3u64).data("end"),
        "done",
        "end",
        Some("3"),
        None,
    );
    (steps, expected)
}

/// Counts of what the Python test server sent.
#[derive(Debug, Default)]
pub struct PyTap {
    pub keep_alives: AtomicUsize,
}

/// An axum server on a random loopback port:
///
/// - `/content`: [`py_scenario`], keep-alive every [`PY_KEEP_ALIVE`];
/// - `/phantom`: `id: 1`, `data: x`, then keep-alives only for ten intervals, then
///   the body ends.
pub struct PyServer {
    pub addr: SocketAddr,
    pub tap: Arc<PyTap>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for PyServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl PyServer {
    pub async fn start() -> PyServer {
        use axum::routing::get;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().unwrap();
        let tap = Arc::new(PyTap::default());
        let keep_alive = KeepAlive::tokio().with_interval(PY_KEEP_ALIVE);
        let (t1, k1) = (tap.clone(), keep_alive.clone());
        let (t2, k2) = (tap.clone(), keep_alive);
        let app = axum::Router::new()
            .route(
                "/content",
                get(move || {
                    let (tap, keep_alive) = (t1.clone(), k1.clone());
                    async move {
                        let (steps, _) = py_scenario();
                        let events = stream::iter(steps)
                            .then(|step| async move {
                                match step {
                                    PyStep::Send(event) => Some(event),
                                    PyStep::Pause(d) => {
                                        tokio::time::sleep(d).await;
                                        None
                                    }
                                }
                            })
                            .filter_map(|e| async move { e.map(Ok::<_, Infallible>) });
                        respond(
                            SseBody::new(events).with_keep_alive(keep_alive.clone()),
                            &keep_alive,
                            tap,
                        )
                    }
                }),
            )
            .route(
                "/phantom",
                get(move || {
                    let (tap, keep_alive) = (t2.clone(), k2.clone());
                    async move {
                        let first = Event::new().id(1u64).data("x");
                        let events = stream::once(async move { Ok::<_, Infallible>(first) }).chain(
                            stream::once(async {
                                tokio::time::sleep(PY_KEEP_ALIVE * 10 + PY_KEEP_ALIVE / 2).await;
                                None
                            })
                            .filter_map(|e: Option<Result<Event, Infallible>>| async move { e }),
                        );
                        respond(
                            SseBody::new(events).with_keep_alive(keep_alive.clone()),
                            &keep_alive,
                            tap,
                        )
                    }
                }),
            );
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        PyServer { addr, tap, task }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
}

fn respond<B>(body: B, keep_alive: &KeepAlive, tap: Arc<PyTap>) -> axum::response::Response
where
    B: hyper::body::Body<Data = bytes::Bytes> + Send + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let keep_alive_bytes = keep_alive.message().clone();
    let body = body.map_frame(move |frame| {
        if frame.data_ref() == Some(&keep_alive_bytes) {
            tap.keep_alives.fetch_add(1, Ordering::SeqCst);
        }
        frame
    });
    ssewire::sse_response(axum::body::Body::new(body))
}
