//! Several nodes, one Redis: events published on any node reach every browser, and a
//! browser that reconnects to another node resumes where it was.
//!
//! ```text
//! redis-server --port 6379 --save '' &
//! PORT=3001 cargo run -p ssewire-examples --features redis --example cluster &
//! PORT=3002 cargo run -p ssewire-examples --features redis --example cluster &
//! curl -d 'hello from 3001' 'http://127.0.0.1:3001/publish/news?event=greeting'
//! curl -N http://127.0.0.1:3002/events/news      # or open http://127.0.0.1:3002/
//! ```
//!
//! Environment: `REDIS_URL` (default `redis://127.0.0.1:6379`), `PORT` (default 3000),
//! `NODE_NAME` (default `node-<port>`).
//!
//! - `GET /`: a page that shows a topic's events and which node served each one.
//! - `GET /events/{topic}`: the SSE stream; honours `Last-Event-ID`, keep-alive on. It
//!   opens with a `node` event (no id) naming the node that serves it.
//! - `POST /publish/{topic}?event=TYPE`: the request body is the data; answers `200`
//!   with the id Redis assigned, `503` with the reason when Redis is down, `400` for a
//!   bad event type.
//! - `GET /stats`: counters as JSON.
//!
//! Put nginx (or any load balancer) in front of two of them; see the README's
//! "Running several nodes".

use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, Response, StatusCode};
use axum::response::{Html, IntoResponse};
use axum::routing::{get, post};
use axum::Router;
use futures_util::stream;
use ssewire::broker::{Node, RedisBroker, RedisConfig};
use ssewire::{hub, Event, EventType, KeepAlive, SseBody};

/// How long a browser waits before it reconnects (its default is about 3 s).
const RETRY: Duration = Duration::from_secs(1);
const NODE_EVENT: EventType = EventType::from_static("node");

#[derive(Clone)]
struct App {
    node: Node<RedisBroker>,
    name: String,
    keep_alive: KeepAlive,
}

#[tokio::main]
async fn main() {
    let url = std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let port: u16 = match std::env::var("PORT").map(|text| text.parse()) {
        Err(_) => 3000,
        Ok(Ok(port)) => port,
        Ok(Err(_)) => {
            eprintln!("PORT must be a port number");
            std::process::exit(2);
        }
    };
    let name = std::env::var("NODE_NAME").unwrap_or_else(|_| format!("node-{port}"));
    let broker = match RedisBroker::new(RedisConfig::new(url.clone())) {
        Ok(broker) => broker,
        Err(error) => {
            eprintln!("bad REDIS_URL {url:?}: {error}");
            std::process::exit(2);
        }
    };
    let node = Node::new(broker, hub::Config::new().with_history(1000));
    let app = App {
        node,
        name: name.clone(),
        keep_alive: KeepAlive::tokio(),
    };
    let listener = match tokio::net::TcpListener::bind(("127.0.0.1", port)).await {
        Ok(listener) => listener,
        Err(error) => {
            eprintln!("cannot listen on 127.0.0.1:{port}: {error}");
            std::process::exit(1);
        }
    };
    let addr = listener.local_addr().expect("bound");
    println!("{name}: http://{addr}/ (Redis at {url})");
    if let Err(error) = axum::serve(listener, router(app)).await {
        eprintln!("server error: {error}");
        std::process::exit(1);
    }
}

fn router(app: App) -> Router {
    Router::new()
        .route("/", get(|| async { Html(PAGE) }))
        .route("/events/{topic}", get(events))
        .route("/publish/{topic}", post(publish))
        .route("/stats", get(stats))
        .with_state(app)
}

async fn events(
    State(app): State<App>,
    Path(topic): Path<String>,
    headers: HeaderMap,
) -> Response<Body> {
    // A malformed header counts as none (the client then starts live).
    let last_id = ssewire::last_event_id(&headers).ok().flatten();
    let hello = Event::new().event(NODE_EVENT).retry(RETRY).data(&app.name);
    match app.node.subscribe(&topic, last_id.as_ref()).await {
        Ok(subscriber) => {
            let body = subscriber
                .into_body()
                .with_open_event(hello)
                .with_keep_alive(app.keep_alive.clone());
            ssewire::sse_response(Body::from_stream(body))
        }
        Err(error) => {
            // Redis is needed to resume and is down: end the response (never an error
            // status, which would stop the EventSource for good); the browser retries
            // with the same Last-Event-ID after `retry`.
            let unavailable = Event::new()
                .retry(RETRY)
                .comment(format!("cannot resume now: {error}"));
            let body = SseBody::new(stream::iter([unavailable]));
            ssewire::sse_response(Body::from_stream(body))
        }
    }
}

/// The `event` parameter of a query string, percent-decoded.
fn event_param(query: Option<&str>) -> Option<String> {
    let value = query?
        .split('&')
        .find_map(|pair| pair.strip_prefix("event="))?;
    let mut bytes = Vec::with_capacity(value.len());
    let mut input = value.bytes();
    while let Some(byte) = input.next() {
        match byte {
            b'+' => bytes.push(b' '),
            b'%' => {
                let hex: Vec<u8> = input.by_ref().take(2).collect();
                let text = std::str::from_utf8(&hex).ok()?;
                bytes.push(u8::from_str_radix(text, 16).ok()?);
            }
            _ => bytes.push(byte),
        }
    }
    String::from_utf8(bytes).ok()
}

async fn publish(
    State(app): State<App>,
    Path(topic): Path<String>,
    RawQuery(query): RawQuery,
    data: Bytes,
) -> impl IntoResponse {
    let Ok(data) = std::str::from_utf8(&data) else {
        return (StatusCode::BAD_REQUEST, "the body must be UTF-8".to_owned());
    };
    let mut event = Event::with_data(data);
    if let Some(event_type) = event_param(query.as_deref()) {
        match EventType::new(event_type) {
            Ok(event_type) => event = event.event(event_type),
            Err(error) => return (StatusCode::BAD_REQUEST, error.to_string()),
        }
    }
    match app.node.publish(&topic, event).await {
        Ok(id) => (StatusCode::OK, id.to_string()),
        Err(error) => (StatusCode::SERVICE_UNAVAILABLE, error.to_string()),
    }
}

async fn stats(State(app): State<App>) -> impl IntoResponse {
    let node = app.node.stats();
    let redis = app.node.broker().stats();
    let hub = app.node.hub_stats();
    let json = serde_json::json!({
        "node": app.name,
        "published": node.published,
        "publish_errors": node.publish_errors,
        "new_subscribers": node.new_subscribers,
        "resumed_local": node.resumed_local,
        "resumed_broker": node.resumed_broker,
        "replayed_from_broker": node.replayed_from_broker,
        "history_lost": node.history_lost,
        "subscribe_errors": node.subscribe_errors,
        "followed_topics": node.followed,
        "resets": node.resets,
        "subscribers": hub.subscribers,
        "events_sent": hub.events_sent,
        "tail_connects": redis.tail_connects,
        "tail_errors": redis.tail_errors,
        "xreads": redis.reads,
        "entries_read": redis.entries_read,
        "unblocks": redis.unblocks,
    });
    ([("content-type", "application/json")], json.to_string())
}

const PAGE: &str = r#"<!doctype html>
<meta charset="utf-8">
<title>ssewire cluster</title>
<style>
  body { font: 15px system-ui, sans-serif; margin: 2em; max-width: 50em; }
  li { font-family: ui-monospace, monospace; }
  .node { color: #06c; } .lost { color: #c00; }
</style>
<h1>ssewire cluster</h1>
<p>Topic <input id="topic" value="news"> <button id="open">open</button>
   Status: <b id="status">closed</b>, served by <b id="served">?</b></p>
<p><input id="data" value="hello" size="30"> <button id="send">publish</button>
   <span id="answer"></span></p>
<ol id="events"></ol>
<script>
let source, servedBy = "?";
const $ = (id) => document.getElementById(id);
function show(text, cls) {
  const li = document.createElement("li");
  li.textContent = text;
  if (cls) li.className = cls;
  $("events").append(li);
}
function open() {
  if (source) source.close();
  source = new EventSource("/events/" + encodeURIComponent($("topic").value));
  source.onopen = () => { $("status").textContent = "open"; };
  source.onerror = () => { $("status").textContent = "reconnecting"; };
  source.addEventListener("node", (e) => {
    servedBy = window.servedBy = e.data;
    $("served").textContent = servedBy;
    show("connected to " + servedBy, "node");
  });
  source.addEventListener("history-lost", (e) => show("history lost: " + e.data, "lost"));
  const onEvent = (e) => {
    window.received = (window.received || []).concat([{ id: e.lastEventId, data: e.data, node: servedBy }]);
    show(`[${servedBy}] ${e.type} ${e.lastEventId}: ${e.data}`);
  };
  source.onmessage = onEvent;
  for (const type of ["greeting", "update"]) source.addEventListener(type, onEvent);
}
$("open").onclick = open;
$("send").onclick = async () => {
  const response = await fetch("/publish/" + encodeURIComponent($("topic").value), {
    method: "POST", body: $("data").value });
  $("answer").textContent = response.status + " " + await response.text();
};
open();
</script>
"#;
