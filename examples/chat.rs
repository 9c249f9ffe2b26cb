//! A chat room: many browsers share one feed through a `Hub`, and a browser that
//! reconnects resumes exactly where it was.
//!
//! ```text
//! cargo run --example chat                # http://127.0.0.1:3001/
//! PORT=8080 cargo run --example chat      # another port
//! ```
//!
//! Open the page in several tabs or browsers and talk. Things to try:
//!
//! - **"Drop every connection"** ends every open event stream on the server. Each
//!   browser reconnects by itself (after the 1.5 s `retry` the server sets), sends the
//!   id of the last message it got as `Last-Event-ID`, and receives exactly the
//!   messages it missed: post a few while the others are reconnecting.
//! - **Restart the server** (Ctrl-C or SIGTERM, run again): the server closes the hub,
//!   so every open stream receives a `shutdown` event and ends, and the server exits
//!   at once (graceful shutdown does not wait for event streams forever). Browsers
//!   reconnect with an id the new server never issued, get a `history-lost` event,
//!   and reload the room.
//! - The footer shows the hub's counters (`/stats`).
//!
//! Each message is encoded once and the same bytes go to every browser; a browser
//! that cannot keep up is disconnected and resumes from the history when it
//! reconnects (the hub's default policy).

use std::time::Duration;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use ssewire::hub::{Config, Hub};
use ssewire::{Event, EventType, KeepAlive, LastEventId};
use tokio::sync::watch;

/// The farewell every open stream receives when the server stops.
const SHUTDOWN: EventType = EventType::from_static("shutdown");

/// How many recent messages a new visitor sees.
const BACKLOG: usize = 50;
const MAX_NAME: usize = 40;
const MAX_TEXT: usize = 1000;

#[derive(Clone)]
struct App {
    hub: Hub,
    keep_alive: KeepAlive,
    /// Bumped to end every open event stream (the "drop" button).
    kick: watch::Sender<u64>,
}

#[tokio::main]
async fn main() {
    let port = match std::env::var("PORT") {
        Err(_) => 3001,
        Ok(text) => match text.parse::<u16>() {
            Ok(port) => port,
            Err(_) => {
                eprintln!("PORT must be a port number (0 to 65535), not {text:?}");
                std::process::exit(2);
            }
        },
    };
    let listener = match tokio::net::TcpListener::bind(("127.0.0.1", port)).await {
        Ok(listener) => listener,
        Err(e) => {
            eprintln!("cannot listen on 127.0.0.1:{port}: {e}");
            std::process::exit(1);
        }
    };
    let app = App {
        hub: Hub::new(Config::new().with_history(1000)),
        keep_alive: KeepAlive::tokio(),
        kick: watch::channel(0).0,
    };
    let hub = app.hub.clone();
    let router = Router::new()
        .route("/", get(page))
        .route("/events", get(events))
        .route("/send", post(send))
        .route("/drop", post(drop_connections))
        .route("/stats", get(stats))
        .with_state(app);
    let addr = listener
        .local_addr()
        .expect("a bound listener has an address");
    println!("ssewire chat: open http://{addr}/ in several browsers (Ctrl-C stops the server)");
    let served = axum::serve(listener, router)
        .with_graceful_shutdown(shutdown_signal(hub))
        .await;
    if let Err(e) = served {
        eprintln!("server error: {e}");
        std::process::exit(1);
    }
    println!("stopped");
}

/// Waits for Ctrl-C or SIGTERM (what `docker stop` and systemd send), then closes
/// the hub: every open event stream gets the farewell and ends, so the graceful
/// shutdown that follows has no response left to wait for.
async fn shutdown_signal(hub: Hub) {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
    println!("stopping: closing every event stream");
    // Browsers come back after `retry`, once the server is up again.
    let farewell = Event::new()
        .event(SHUTDOWN)
        .retry(Duration::from_secs(3))
        .data("the server is restarting");
    hub.close(Some(farewell));
}

/// The event stream: every browser subscribes to the one "room" topic.
/// A browser sends Last-Event-ID only when it reconnects; a malformed one is a 400.
async fn events(State(app): State<App>, LastEventId(last_id): LastEventId) -> Response {
    let subscriber = app
        .hub
        .topic("room")
        .subscribe_with_backlog(last_id.as_ref(), BACKLOG);
    if let Some(id) = &last_id {
        println!("reconnect after id {id}: {:?}", subscriber.resume());
    }
    let mut kicked = app.kick.subscribe();
    subscriber
        .into_body()
        // Reconnect quickly after a drop (browsers wait 3 to 5 s by default).
        .with_open_event(Event::new().retry(Duration::from_millis(1500)))
        .with_keep_alive(app.keep_alive.clone())
        .with_shutdown_signal(async move {
            let _ = kicked.changed().await;
        })
        .into_response()
}

/// `POST /send` with `{"name": "...", "text": "..."}`.
async fn send(State(app): State<App>, body: String) -> Response {
    let message: serde_json::Value = match serde_json::from_str(&body) {
        Ok(value) => value,
        Err(e) => return (StatusCode::BAD_REQUEST, format!("bad JSON: {e}")).into_response(),
    };
    let field = |key: &str, max: usize| -> Result<String, String> {
        let text = message[key].as_str().unwrap_or("").trim();
        if text.is_empty() || text.chars().count() > max {
            return Err(format!("{key} must have 1 to {max} characters"));
        }
        Ok(text.to_owned())
    };
    let (name, text) = match (field("name", MAX_NAME), field("text", MAX_TEXT)) {
        (Ok(name), Ok(text)) => (name, text),
        (Err(e), _) | (_, Err(e)) => return (StatusCode::BAD_REQUEST, e).into_response(),
    };
    let event = match Event::new().json_data(&serde_json::json!({ "name": name, "text": text })) {
        Ok(event) => event,
        Err(e) => return (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    };
    let id = app.hub.publish("room", event);
    (StatusCode::OK, id.to_string()).into_response()
}

/// Ends every open event stream; browsers reconnect and resume.
async fn drop_connections(State(app): State<App>) -> StatusCode {
    app.kick.send_modify(|n| *n += 1);
    StatusCode::NO_CONTENT
}

async fn stats(State(app): State<App>) -> impl IntoResponse {
    let s = app.hub.topic("room").stats();
    (
        [(header::CONTENT_TYPE, "application/json")],
        serde_json::json!({
            "subscribers": s.subscribers,
            "published": s.events_published,
            "sent": s.events_sent,
            "bytes_published": s.bytes_published,
            "bytes_sent": s.bytes_sent,
            "resumed": s.resumed,
            "history_lost": s.history_lost,
            "disconnected_for_lag": s.disconnected_for_lag,
        })
        .to_string(),
    )
}

async fn page() -> Html<&'static str> {
    Html(PAGE)
}

const PAGE: &str = r##"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>ssewire chat</title>
<style>
  body { font: 15px/1.4 system-ui, sans-serif; max-width: 46rem; margin: 2rem auto; padding: 0 1rem; }
  #log { border: 1px solid #ccc; border-radius: 6px; height: 24rem; overflow-y: auto; padding: .5rem; }
  .msg .id { color: #999; font-size: 80%; margin-right: .4rem; }
  .msg .name { font-weight: 600; margin-right: .4rem; }
  .notice { color: #a60; font-style: italic; }
  form { display: flex; gap: .5rem; margin-top: .5rem; }
  #text { flex: 1; }
  #status.open { color: #080; } #status.closed { color: #a00; }
  footer { color: #777; font-size: 85%; margin-top: 1rem; }
</style>
</head>
<body>
<h1>ssewire chat</h1>
<p>Status: <span id="status">connecting…</span>
   <button id="drop" type="button">Drop every connection</button></p>
<div id="log"></div>
<form id="form">
  <input id="name" placeholder="name" size="10" maxlength="40" required>
  <input id="text" placeholder="say something" maxlength="1000" required autocomplete="off">
  <button>Send</button>
</form>
<footer id="stats"></footer>
<script>
const log = document.getElementById("log");
const statusEl = document.getElementById("status");
const nameEl = document.getElementById("name");
nameEl.value = localStorage.getItem("chat-name") || "guest" + Math.floor(Math.random() * 1000);
let lastId = null;

function line(className, parts) {
  const div = document.createElement("div");
  div.className = className;
  for (const [cls, text] of parts) {
    const span = document.createElement("span");
    span.className = cls;
    span.textContent = text;   // never innerHTML: messages are untrusted
    div.appendChild(span);
  }
  const atBottom = log.scrollTop + log.clientHeight >= log.scrollHeight - 5;
  log.appendChild(div);
  if (atBottom) log.scrollTop = log.scrollHeight;
}

const source = new EventSource("/events");
source.onopen = () => {
  statusEl.textContent = lastId === null ? "connected" : "reconnected: the server resumes after #" + lastId;
  statusEl.className = "open";
};
source.onerror = () => {
  statusEl.textContent = "disconnected, reconnecting…";
  statusEl.className = "closed";
};
source.onmessage = (e) => {
  const m = JSON.parse(e.data);
  lastId = e.lastEventId;
  line("msg", [["id", "#" + e.lastEventId], ["name", m.name + ":"], ["text", m.text]]);
};
source.addEventListener("shutdown", (e) => {
  line("notice", [["", e.data]]);
});
source.addEventListener("history-lost", (e) => {
  // The server cannot give us what we missed (it restarted, or we were away too
  // long): start over with the recent messages that follow.
  log.replaceChildren();
  const info = JSON.parse(e.data);
  line("notice", [["", info.reason === "expired"
      ? info.missed + " messages were missed while you were away"
      : "the server restarted: history reloaded"]]);
});

document.getElementById("form").onsubmit = async (e) => {
  e.preventDefault();
  const text = document.getElementById("text");
  localStorage.setItem("chat-name", nameEl.value);
  const response = await fetch("/send", {
    method: "POST",
    body: JSON.stringify({ name: nameEl.value, text: text.value }),
  });
  if (response.ok) text.value = ""; else alert(await response.text());
};
document.getElementById("drop").onclick = () => fetch("/drop", { method: "POST" });

async function stats() {
  try {
    const s = await (await fetch("/stats")).json();
    document.getElementById("stats").textContent =
      `${s.subscribers} connected · ${s.published} messages published, ${s.sent} delivered · ` +
      `${s.resumed} exact resumes · ${s.history_lost} history lost`;
  } catch (_) {}
}
stats();
setInterval(stats, 2000);
</script>
</body>
</html>
"##;
