//! ssewire's showcase: a page that shows server-sent events as they arrive.
//!
//! ```text
//! cargo run --example demo                  # then open http://127.0.0.1:3000/
//! PORT=8080 cargo run --example demo        # another port
//! KEEP_ALIVE_MS=500 cargo run --example demo  # keep-alive every 0.5 s (default 15 s)
//! ```
//!
//! The page (plain HTML and JavaScript, served from this file) opens an `EventSource`
//! on `/events` and shows three kinds of events:
//!
//! - `clock`: the server's time, every second (a named event type);
//! - `counter`: a count with an `id`, every second;
//! - `message` (the default type): a three-line message on connect and every ten
//!   counts.
//!
//! Stop the server (Ctrl-C) and start it again: the browser reconnects after the
//! `retry` the server sent (one second), sends `Last-Event-ID` with the last counter
//! it saw, and the counter carries on from there with no gap and no repeat.
//!
//! The page also draws a small live panel from the server's own counters (an
//! `ssewire::StreamGroup` shared by every `/events` body, read at `/stats` once a
//! second): the streams open now and a sparkline of events sent per second. The same
//! counters are at `/metrics` in the Prometheus text format (`ssewire_*` names, label
//! `group="demo"`), through the `metrics` facade and `metrics-exporter-prometheus`.
//!
//! While a stream is idle the server sends a keep-alive comment every `KEEP_ALIVE_MS`
//! milliseconds (default 15 000), so that a proxy in front of it (nginx closes a
//! stream after `proxy_read_timeout`, 60 s by default) does not close it. The demo's
//! own events come every second, so the keep-alive shows only once they stop: try
//! it behind a proxy with a short read timeout and a shorter `KEEP_ALIVE_MS`.

use std::sync::OnceLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::body::Body;
use axum::http::{HeaderMap, Response};
use axum::response::{Html, IntoResponse};
use axum::routing::get;
use axum::Router;
use futures_util::stream::{self, Stream, StreamExt};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use ssewire::{DeliveryLatency, Event, EventType, KeepAlive, SseBody, StreamGroup};

const CLOCK: EventType = EventType::from_static("clock");
const COUNTER: EventType = EventType::from_static("counter");

/// How long a browser waits before it reconnects (its default is about 3 s).
const RETRY: Duration = Duration::from_secs(1);

/// The keep-alive interval when `KEEP_ALIVE_MS` is not set.
pub const DEFAULT_KEEP_ALIVE: Duration = Duration::from_secs(15);

/// The keep-alive interval: `KEEP_ALIVE_MS` (milliseconds, at least 1), else
/// [`DEFAULT_KEEP_ALIVE`].
pub fn keep_alive_from_env() -> Result<Duration, String> {
    match std::env::var("KEEP_ALIVE_MS") {
        Err(_) => Ok(DEFAULT_KEEP_ALIVE),
        Ok(text) => match text.trim().parse::<u64>() {
            Ok(ms) if ms > 0 => Ok(Duration::from_millis(ms)),
            _ => Err(format!(
                "KEEP_ALIVE_MS must be a number of milliseconds (1 or more), not {text:?}"
            )),
        },
    }
}

#[tokio::main]
async fn main() {
    let port = match std::env::var("PORT") {
        Err(_) => 3000,
        Ok(text) => match text.parse::<u16>() {
            Ok(port) => port,
            Err(_) => {
                eprintln!("PORT must be a port number (0 to 65535), not {text:?}");
                std::process::exit(2);
            }
        },
    };
    let keep_alive = match keep_alive_from_env() {
        Ok(interval) => interval,
        Err(message) => {
            eprintln!("{message}");
            std::process::exit(2);
        }
    };
    let listener = match tokio::net::TcpListener::bind(("127.0.0.1", port)).await {
        Ok(listener) => listener,
        Err(e) => {
            eprintln!("cannot listen on 127.0.0.1:{port}: {e}");
            std::process::exit(1);
        }
    };
    let addr = listener
        .local_addr()
        .expect("a bound listener has an address");
    println!(
        "ssewire demo: open http://{addr}/ in a browser (Ctrl-C stops the server); \
         keep-alive every {} ms",
        keep_alive.as_millis()
    );
    if let Err(e) = axum::serve(listener, app_with_keep_alive(keep_alive)).await {
        eprintln!("server error: {e}");
        std::process::exit(1);
    }
}

/// The page at `/` and its event stream at `/events`, with the default keep-alive.
pub fn app() -> Router {
    app_with_keep_alive(DEFAULT_KEEP_ALIVE)
}

/// The page at `/`, its event stream at `/events` (whose idle streams send a
/// keep-alive comment every `interval`), the counters of those streams at `/stats`
/// (JSON, for the page) and `/metrics` (Prometheus).
pub fn app_with_keep_alive(interval: Duration) -> Router {
    // One `KeepAlive` for the app, cloned into each body (the clones share a timer).
    let keep_alive = KeepAlive::tokio().with_interval(interval);
    // The recorder first: a group takes its metric handles from it when it is made.
    let prometheus = prometheus();
    // One group for every `/events` body: the counters the panel and /metrics show.
    let group = StreamGroup::new("demo");
    let stats = group.clone();
    Router::new()
        .route("/", get(|| async { Html(PAGE) }))
        .route(
            "/events",
            get(move |headers: HeaderMap| events(headers, keep_alive.clone(), group.clone())),
        )
        .route("/stats", get(move || async move { stats_json(&stats) }))
        .route(
            "/metrics",
            get(move || async move {
                let text = prometheus.render();
                ([("content-type", "text/plain; version=0.0.4")], text).into_response()
            }),
        )
}

/// The process's Prometheus recorder, installed on first use (the `metrics` facade
/// takes one global recorder; if another is installed already, this one still
/// renders, but sees nothing).
fn prometheus() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            // Histogram buckets (seconds) from the crate's own latency buckets.
            let bounds = DeliveryLatency::BOUNDS.map(|bound| bound.as_secs_f64());
            let recorder = PrometheusBuilder::new()
                .set_buckets_for_metric(
                    Matcher::Full("ssewire_delivery_latency_seconds".into()),
                    &bounds,
                )
                .expect("bounds are not empty")
                .build_recorder();
            let handle = recorder.handle();
            let _ = metrics::set_global_recorder(recorder);
            handle
        })
        .clone()
}

/// The counters the page's panel draws, as JSON.
fn stats_json(group: &StreamGroup) -> Response<Body> {
    let stats = group.stats();
    let json = serde_json::json!({
        "open": stats.open,
        "opened": stats.opened,
        "closed": stats.closed,
        "events": stats.events,
        "bytes": stats.bytes,
        "keep_alives": stats.keep_alives,
    });
    ([("content-type", "application/json")], json.to_string()).into_response()
}

/// The event stream. A reconnecting browser sends the id of the last counter it saw
/// in `Last-Event-ID` (raw UTF-8, which `ssewire::last_event_id` decodes); anything
/// that is not one of our counters starts over at 1.
async fn events(headers: HeaderMap, keep_alive: KeepAlive, group: StreamGroup) -> Response<Body> {
    let last_seen = ssewire::last_event_id(&headers)
        .ok()
        .flatten()
        .and_then(|id| id.as_u64());
    // `SseBody` is a stream of `Bytes` chunks, which axum's `Body` takes as is;
    // `sse_response` adds the status and headers (and never `Connection`).
    let body = SseBody::new(events_after(last_seen))
        .with_keep_alive(keep_alive)
        .with_group(&group);
    ssewire::sse_response(Body::from_stream(body))
}

/// A welcome message, then every second a clock tick and the next counter.
pub fn events_after(last_seen: Option<u64>) -> impl Stream<Item = Event> + Send {
    // A client picks its own id: after the largest counter there is, start over.
    let first = last_seen.and_then(|n| n.checked_add(1)).unwrap_or(1);
    let welcome = match last_seen {
        Some(n) => format!(
            "Welcome back! Connected at {}.\nThe last counter you saw was {n},\nso the counter resumes at {first}.",
            clock()
        ),
        None => format!(
            "Hello! Connected at {}.\nThis message has three lines\nand arrives as one event.",
            clock()
        ),
    };
    // No id on the welcome: the browser's last event id stays the last counter.
    let welcome = Event::new().retry(RETRY).data(welcome);

    let ticks = stream::unfold(
        (tokio::time::interval(Duration::from_secs(1)), first),
        |(mut interval, n)| async move {
            interval.tick().await;
            // Events that are ready together go out in one chunk.
            let mut batch = vec![
                Event::new().event(COUNTER).id(n).data(n.to_string()),
                Event::new().event(CLOCK).data(clock()),
            ];
            if n % 10 == 0 {
                batch.push(Event::with_data(format!(
                    "Counter reached {n}.\nThis message has three lines\nand arrives as one event."
                )));
            }
            Some((
                stream::iter(batch),
                (interval, n.checked_add(1).unwrap_or(1)),
            ))
        },
    )
    .flatten();
    stream::once(async move { welcome }).chain(ticks)
}

/// The time of day, UTC, as `HH:MM:SS UTC`.
fn clock() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    format!(
        "{:02}:{:02}:{:02} UTC",
        secs / 3600 % 24,
        secs / 60 % 60,
        secs % 60
    )
}

const PAGE: &str = r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>ssewire demo</title>
<style>
  :root { font-family: system-ui, sans-serif; color: #1d2330; background: #f3f5f9; }
  body { max-width: 960px; margin: 1.5rem auto; padding: 0 1rem; }
  header { display: flex; align-items: center; gap: .8rem; }
  h1 { margin: 0; font-size: 1.6rem; }
  h2 { font-size: 1rem; margin: 1.4rem 0 .5rem; }
  code { background: #e6eaf1; padding: 0 .25rem; border-radius: .2rem; }
  #status { padding: .15rem .7rem; border-radius: 1rem; font-size: .9rem; }
  #status.open { background: #c9efd2; color: #14582a; }
  #status.connecting { background: #ffe7ad; color: #664600; }
  #status.closed { background: #f5c8c8; color: #761212; }
  #connections { color: #556; font-size: .9rem; }
  .cards { display: grid; grid-template-columns: 1fr 1fr 1.4fr; gap: 1rem; margin-top: 1rem; }
  .card { background: #fff; border-radius: .6rem; padding: .9rem 1rem; box-shadow: 0 1px 3px #0002; }
  .card h3 { margin: 0 0 .5rem; font-size: .75rem; text-transform: uppercase; letter-spacing: .06em; color: #667; }
  .big { font-size: 2rem; font-variant-numeric: tabular-nums; }
  #message { white-space: pre-wrap; margin: 0; font: inherit; }
  #counters { font-variant-numeric: tabular-nums; word-spacing: .2rem; }
  table { width: 100%; border-collapse: collapse; background: #fff; border-radius: .6rem; box-shadow: 0 1px 3px #0002; }
  th, td { text-align: left; padding: .3rem .6rem; border-bottom: 1px solid #edf0f5; font-size: .85rem; vertical-align: top; }
  td:last-child { white-space: pre-wrap; font-family: ui-monospace, monospace; }
  #panel { display: flex; align-items: center; gap: 1.2rem; margin-top: 1rem; }
  #panel .card { display: flex; align-items: center; gap: 1rem; }
  #sparkline { width: 240px; height: 40px; background: #f7f9fc; border-radius: .3rem; }
  #sparkline polyline { fill: none; stroke: #2b6cd4; stroke-width: 1.5; }
</style>
</head>
<body>
<header>
  <h1>ssewire demo</h1>
  <span id="status" class="connecting">connecting…</span>
  <span id="connections" data-count="0"></span>
</header>
<p>This page opens an <code>EventSource</code> on <code>/events</code>. Stop the server
and start it again: the browser reconnects, sends <code>Last-Event-ID</code>, and the
counter carries on where it stopped.</p>
<div class="cards">
  <section class="card"><h3><code>clock</code> events</h3><div id="clock" class="big">–</div></section>
  <section class="card"><h3><code>counter</code> events, with ids</h3><div id="counter" class="big">–</div>
    <div>lastEventId: <code id="last-id">–</code></div></section>
  <section class="card"><h3><code>message</code> events, multi-line</h3><pre id="message">–</pre></section>
</div>
<h2>Server counters <small>(<code>/stats</code>; also <code>/metrics</code> for Prometheus)</small></h2>
<div id="panel">
  <section class="card"><h3>streams open</h3><div id="open-streams" class="big">–</div></section>
  <section class="card"><h3>events sent / s</h3>
    <svg id="sparkline" viewBox="0 0 240 40" preserveAspectRatio="none"><polyline points=""></polyline></svg>
    <div id="rate" class="big">–</div></section>
</div>
<h2>Counter values received</h2>
<div id="counters" data-all=""></div>
<h2>Latest events</h2>
<table>
  <thead><tr><th>received</th><th>type</th><th>lastEventId</th><th>data</th></tr></thead>
  <tbody id="log"></tbody>
</table>
<script>
"use strict";
const $ = (id) => document.getElementById(id);
const counters = [];
let connections = 0;
const source = new EventSource("/events");

function setStatus(text, className) {
  $("status").textContent = text;
  $("status").className = className;
}

function show(event) {
  const row = document.createElement("tr");
  for (const text of [new Date().toLocaleTimeString(), event.type, event.lastEventId, event.data]) {
    const cell = document.createElement("td");
    cell.textContent = text;
    row.append(cell);
  }
  $("log").prepend(row);
  while ($("log").rows.length > 10) $("log").lastElementChild.remove();
}

source.addEventListener("clock", (event) => {
  $("clock").textContent = event.data;
  show(event);
});
source.addEventListener("counter", (event) => {
  $("counter").textContent = event.data;
  $("last-id").textContent = event.lastEventId;
  counters.push(Number(event.data));
  $("counters").dataset.all = counters.join(" ");
  $("counters").textContent = (counters.length > 40 ? "… " : "") + counters.slice(-40).join(" ");
  show(event);
});
source.addEventListener("message", (event) => {
  $("message").textContent = event.data;
  show(event);
});
source.addEventListener("open", () => {
  connections += 1;
  $("connections").dataset.count = connections;
  $("connections").textContent = connections > 1 ? `connection #${connections}` : "";
  setStatus("open", "open");
});
// The live panel: the server's counters once a second; events/s from the difference.
const rates = [];
let lastEvents = null;
async function pollStats() {
  try {
    const stats = await (await fetch("/stats")).json();
    $("open-streams").textContent = stats.open;
    if (lastEvents !== null) rates.push(Math.max(0, stats.events - lastEvents));
    lastEvents = stats.events;
    while (rates.length > 60) rates.shift();
    $("rate").textContent = rates.length ? rates[rates.length - 1] : "–";
    const top = Math.max(1, ...rates);
    const points = rates.map((r, i) => `${(i * 240 / 59).toFixed(1)},${(38 - r * 36 / top).toFixed(1)}`);
    document.querySelector('#sparkline polyline').setAttribute("points", points.join(" "));
  } catch (_) {
    $("open-streams").textContent = "?"; // the server is down; the next poll retries
  }
}
pollStats();
setInterval(pollStats, 1000);

source.addEventListener("error", () => {
  // The browser reconnects by itself unless the server answered something other
  // than an event stream (a 204, say).
  if (source.readyState === EventSource.CONNECTING) setStatus("reconnecting…", "connecting");
  else setStatus("closed", "closed");
});
</script>
</body>
</html>
"#;
