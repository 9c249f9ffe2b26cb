//! End to end, in a real browser: headless Chromium (Debian's `chromium`, driven by
//! playwright-core from `tests/e2e/chromium.mjs`) reads event streams that a hyper
//! server sends with ssewire's body adapter, over HTTP/1.1 and over HTTP/2 (TLS), and
//! one stream from an actix-web server (feature `actix`).
//!
//! The Chromium tests are `#[ignore]`d because they need tools outside cargo; run them
//! with
//!
//! ```text
//! apt-get install -y chromium chromium-driver   # and Node.js >= 20
//! npm ci --prefix tests/e2e
//! cargo test --all-features --test browser -- --ignored
//! ```
//!
//! When Chromium, Node or `tests/e2e/node_modules` is missing they fail, saying what
//! to install; they never skip. Screenshots of the demo go to `target/e2e/`.

mod e2e_support;

#[allow(dead_code)] // `main` and its helpers are the example's, not the test's
#[path = "../examples/demo.rs"]
mod demo;

use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};

use e2e_support::*;

/// Runs `chromium.mjs` for one page that is done when `wait_for` holds, and returns
/// the final line: `{result, responses, console}`.
async fn visit(url: &str, wait_for: &str, tls: bool, linger: Duration) -> Value {
    require_node_modules(&["playwright-core"]);
    let mut job = chromium_job(url, wait_for, Duration::from_secs(20), tls);
    job["lingerMs"] = json!(linger.as_millis() as u64);
    let mut run = NodeRun::spawn("chromium.mjs", &job);
    let step = run.next(Duration::from_secs(40)).await;
    assert_eq!(step["step"], "wait", "{}", shorten(&step));
    run.finish(Duration::from_secs(20) + linger).await
}

/// What a browser delivers: the type, the data and the persistent lastEventId.
fn check_content(client: &str, result: &Value, scenario: &Scenario) {
    let got = without_time(&result["events"], &["type", "data", "lastEventId"]);
    assert_events(
        client,
        &got,
        &scenario.expected,
        |e| json!({ "type": e.ty, "data": e.data, "lastEventId": e.last_event_id }),
    );
    assert_eq!(
        result["errors"],
        json!([]),
        "{client}: no error, no reconnect"
    );
    assert_eq!(
        result["opens"].as_array().map(Vec::len),
        Some(1),
        "{client}: one connection"
    );
}

/// The event-stream responses Chromium saw: 200, the SSE headers, and no
/// connection-specific headers.
fn check_browser_headers(out: &Value, expect_status: &[u64]) {
    let responses = out["responses"].as_array().expect("responses");
    assert_eq!(
        responses
            .iter()
            .map(|r| r["status"].as_u64().unwrap_or(0))
            .collect::<Vec<_>>(),
        expect_status,
        "the EventSource responses Chromium saw: {}",
        shorten(&out["responses"])
    );
    for r in responses.iter().filter(|r| r["status"] == 200) {
        let h = &r["headers"];
        assert_eq!(h["content-type"], "text/event-stream", "{}", shorten(r));
        assert_eq!(h["cache-control"], "no-cache", "{}", shorten(r));
        assert_eq!(h["x-accel-buffering"], "no", "{}", shorten(r));
        for forbidden in ["connection", "keep-alive", "content-length"] {
            assert!(
                h.get(forbidden).is_none(),
                "`{forbidden}` on an event stream: {}",
                shorten(r)
            );
        }
    }
}

async fn content(transport: Transport) {
    let _one = ONE_AT_A_TIME.lock().await;
    let scenario = content_scenario();
    let server = Server::start(transport).await;
    let url = server.page_url("/sse/events", &scenario.types);
    let tls = transport == Transport::Tls;
    let out = visit(&url, "window.__sse.done", tls, Duration::ZERO).await;
    let result = &out["result"];

    check_content("Chromium", result, &scenario);
    check_browser_headers(&out, &[200]);

    let hits: Vec<_> = server
        .log
        .hits()
        .into_iter()
        .filter(|h| h.path == "/sse/events")
        .collect();
    assert_eq!(hits.len(), 1, "one event-stream request");
    let version = if tls {
        http::Version::HTTP_2
    } else {
        http::Version::HTTP_11
    };
    assert_eq!(hits[0].version, version);
    assert_eq!(result["protocol"], if tls { "h2" } else { "http/1.1" });
    // The stream paused three times for 4.5 keep-alive intervals, so the server
    // sent keep-alive comments on this very connection; the page still got exactly
    // the events above and nothing else: they did not surface.
    let keep_alives = hits[0]
        .keep_alives
        .load(std::sync::atomic::Ordering::Relaxed);
    assert!(
        keep_alives >= 6,
        "only {keep_alives} keep-alive comments were sent"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs chromium, node and `npm ci --prefix tests/e2e`"]
async fn http1_every_event_arrives_as_sent() {
    content(Transport::Http1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs chromium, node and `npm ci --prefix tests/e2e`"]
async fn http2_every_event_arrives_as_sent() {
    content(Transport::Tls).await;
}

async fn resume(transport: Transport, run: &str) {
    let _one = ONE_AT_A_TIME.lock().await;
    let server = Server::start(transport).await;
    let url = server.page_url(&format!("/sse/resume?run={run}&ids=unicode"), &["done"]);
    let tls = transport == Transport::Tls;
    let out = visit(&url, "window.__sse.done", tls, Duration::ZERO).await;
    let result = &out["result"];

    // Every event exactly once, in order, with its id.
    let ids = resume_ids(true);
    let got = without_time(&result["events"], &["type", "data", "lastEventId"]);
    let want = resume_expected(true);
    assert_eq!(got, want, "Chromium's events across two drops");
    // Two drops, two reconnections (each an `error` while CONNECTING), three opens.
    let states = ready_states(&result["errors"]);
    assert_eq!(
        states,
        [json!(0), json!(0)],
        "errors: {}",
        shorten(&result["errors"])
    );
    assert_eq!(result["opens"].as_array().map(Vec::len), Some(3));
    check_browser_headers(&out, &[200, 200, 200]);

    let hits = server.log.run(run);
    assert_eq!(hits.len(), 3, "three connections");
    let version = if tls {
        http::Version::HTTP_2
    } else {
        http::Version::HTTP_11
    };
    assert!(hits.iter().all(|h| h.version == version));
    // No Last-Event-ID on the first request; then the last id received, as raw
    // UTF-8 bytes, which ssewire::last_event_id decodes.
    assert_eq!(hits[0].last_event_id_raw, None);
    assert_eq!(hits[0].last_event_id, Ok(None));
    for (hit, id) in hits[1..].iter().zip([&ids[2], &ids[5]]) {
        assert!(!id.is_ascii());
        assert_eq!(
            hit.last_event_id_raw.as_deref(),
            Some(id.as_bytes()),
            "raw Last-Event-ID"
        );
        assert_eq!(
            hit.last_event_id.as_ref().map(Option::as_deref),
            Ok(Some(id.as_str()))
        );
    }
    // The reconnection waited the `retry` the server sent: 700 ms after the clean
    // end, then 1600 ms after the abort (and not Chromium's default of 3 s).
    assert_reconnects_waited_for_retry(run, &hits);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs chromium, node and `npm ci --prefix tests/e2e`"]
async fn http1_reconnects_after_retry_and_resumes_from_last_event_id() {
    resume(Transport::Http1, "chromium-h1").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs chromium, node and `npm ci --prefix tests/e2e`"]
async fn http2_reconnects_after_retry_and_resumes_from_last_event_id() {
    resume(Transport::Tls, "chromium-h2").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs chromium, node and `npm ci --prefix tests/e2e`"]
async fn http1_answering_204_stops_reconnecting() {
    let _one = ONE_AT_A_TIME.lock().await;
    let server = Server::start(Transport::Http1).await;
    let run = "chromium-204";
    let url = server.page_url(&format!("/sse/stop?run={run}"), &[]);
    // Wait until the EventSource is CLOSED, then stay 2 s (over six `retry`s).
    let linger = Duration::from_secs(2);
    let out = visit(&url, "window.__es.readyState === 2", false, linger).await;
    let result = &out["result"];

    let got = without_time(&result["events"], &["type", "data", "lastEventId"]);
    assert_eq!(
        got,
        [json!({ "type": "message", "data": "before 204", "lastEventId": "s1" })]
    );
    // The clean end made it reconnect (CONNECTING); the 204 closed it for good.
    let states = ready_states(&result["errors"]);
    assert_eq!(
        states,
        [json!(0), json!(2)],
        "errors: {}",
        shorten(&result["errors"])
    );
    check_browser_headers(&out, &[200, 204]);

    let hits = server.log.run(run);
    assert_eq!(hits.len(), 2, "one reconnection, then none after the 204");
    assert_eq!(hits[1].status, http::StatusCode::NO_CONTENT);
    assert_eq!(hits[1].last_event_id, Ok(Some("s1".to_owned())));
    let (dropped, _) = hits[0]
        .dropped
        .lock()
        .unwrap()
        .expect("the first stream ended");
    let delay = hits[1].at.duration_since(dropped);
    assert!(
        delay + Duration::from_millis(50) >= STOP_RETRY
            && delay < STOP_RETRY + Duration::from_secs(1)
    );
}

/// The actix-web integration in a browser: an actix server (its own runtime, on a
/// thread) serves the recorder page and a stream that reads `LastEventId` and returns
/// an `SseBody`. The stream ends cleanly after the third and the sixth event; Chromium
/// reconnects after `retry`, sends the non-ASCII id it saw last as raw UTF-8, and
/// gets every event exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs chromium, node and `npm ci --prefix tests/e2e`"]
async fn actix_server_streams_and_resumes_from_last_event_id() {
    use actix_web::{web, App, HttpResponse, HttpServer};
    use ssewire::{Event, EventId, EventType, LastEventId, SseBody};
    use std::sync::{Arc, Mutex};

    type Seen = Arc<Mutex<Vec<Option<EventId>>>>;

    async fn page() -> HttpResponse {
        HttpResponse::Ok()
            .content_type("text/html; charset=utf-8")
            .body(RECORDER_PAGE)
    }

    async fn events(
        seen: web::Data<Seen>,
        LastEventId(last): LastEventId,
    ) -> SseBody<impl futures_util::Stream<Item = Event>> {
        const DONE: EventType = EventType::from_static("done");
        seen.lock().unwrap().push(last.clone());
        let ids = resume_ids(true);
        let start = match &last {
            Some(last) => {
                ids.iter()
                    .position(|id| last.as_text() == Some(id))
                    .unwrap()
                    + 1
            }
            None => 0,
        };
        // A clean end after the third and the sixth event.
        let end = [3, 6, 8].into_iter().find(|&end| end > start).unwrap();
        let events = (start..end).map(move |i| {
            let event = Event::new().id(EventId::new(ids[i].clone()).unwrap());
            let event = if i == 7 { event.event(DONE) } else { event };
            event.data(RESUME_DATA[i])
        });
        let open = Event::new().retry(Duration::from_millis(300));
        SseBody::new(futures_util::stream::iter(
            std::iter::once(open).chain(events),
        ))
    }

    let _one = ONE_AT_A_TIME.lock().await;
    let seen = Seen::default();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let state = seen.clone();
    std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            HttpServer::new(move || {
                App::new()
                    .app_data(web::Data::new(state.clone()))
                    .route("/page", web::get().to(page))
                    .route("/sse/actix", web::get().to(events))
            })
            .workers(1)
            .disable_signals()
            .listen(listener)
            .unwrap()
            .run()
            .await
        })
    });

    let url = format!("http://{addr}/page?src=%2Fsse%2Factix&types=done");
    let out = visit(&url, "window.__sse.done", false, Duration::ZERO).await;
    let result = &out["result"];
    let got = without_time(&result["events"], &["type", "data", "lastEventId"]);
    assert_eq!(
        got,
        resume_expected(true),
        "Chromium's events from actix-web"
    );
    assert_eq!(
        ready_states(&result["errors"]),
        [json!(0), json!(0)],
        "two clean ends, two reconnections: {}",
        shorten(&result["errors"])
    );
    check_browser_headers(&out, &[200, 200, 200]);
    let ids = resume_ids(true);
    let seen = seen.lock().unwrap().clone();
    assert_eq!(
        seen,
        [
            None,
            Some(EventId::new(ids[2].clone()).unwrap()),
            Some(EventId::new(ids[5].clone()).unwrap()),
        ],
        "the Last-Event-ID actix-web handed to the handler"
    );
}

/// The demo example, running its own `app()`, on a runtime of its own: stopping it
/// drops the runtime and with it every connection, as if the process was killed.
struct DemoServer {
    addr: std::net::SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl DemoServer {
    fn start(addr: std::net::SocketAddr) -> DemoServer {
        let listener =
            std::net::TcpListener::bind(addr).unwrap_or_else(|e| panic!("bind {addr}: {e}"));
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                let serve = axum::serve(listener, demo::app());
                tokio::select! {
                    result = std::future::IntoFuture::into_future(serve) => result.expect("demo server"),
                    _ = stopped => {}
                }
            });
            drop(rt);
        });
        DemoServer {
            addr,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    fn stop(mut self) {
        let _ = self.stop.take().unwrap().send(());
        self.thread
            .take()
            .unwrap()
            .join()
            .expect("demo server thread");
    }
}

/// The demo page in Chromium: live events of each type show in the page
/// (screenshot in target/e2e/demo.png); after a server restart the page reconnects
/// and the counter resumes from Last-Event-ID with no gap and no repeat
/// (target/e2e/demo-resumed.png).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs chromium, node and `npm ci --prefix tests/e2e`"]
async fn demo_shows_live_events_and_resumes_after_a_restart() {
    let _one = ONE_AT_A_TIME.lock().await;
    require_node_modules(&["playwright-core"]);
    let server = DemoServer::start("127.0.0.1:0".parse().unwrap());
    let addr = server.addr;
    let shots = screenshot_dir();
    let (live_png, resumed_png) = (shots.join("demo.png"), shots.join("demo-resumed.png"));
    for png in [&live_png, &resumed_png] {
        let _ = std::fs::remove_file(png);
    }
    const DOM: &str = "const $ = (id) => document.getElementById(id); \
        const counters = $('counters').dataset.all.split(' ').filter(Boolean).map(Number); \
        const state = { counters, clock: $('clock').textContent, counter: $('counter').textContent, \
          lastId: $('last-id').textContent, message: $('message').textContent, \
          status: $('status').textContent, connections: Number($('connections').dataset.count), \
          rows: document.querySelectorAll('#log tr').length };";
    let job = json!({
        "chromium": chromium(),
        "url": format!("http://{addr}/"),
        "steps": [
            {
                "name": "live",
                "timeoutMs": 15_000,
                "screenshot": live_png,
                "waitFor": format!("(() => {{ {DOM} return state.counters.length >= 3 \
                    && /^\\d\\d:\\d\\d:\\d\\d UTC$/.test(state.clock) \
                    && state.message.split('\\n').length === 3 && state.status === 'open' \
                    && state.rows >= 7 && state; }})()"),
            },
            {
                "name": "reconnecting",
                "timeoutMs": 10_000,
                "waitFor": format!("(() => {{ {DOM} return state.status === 'reconnecting…' && state; }})()"),
            },
            {
                "name": "resumed",
                "timeoutMs": 15_000,
                "screenshot": resumed_png,
                "waitFor": format!("(() => {{ {DOM} const m = /was (\\d+),/.exec(state.message); \
                    return state.connections === 2 && state.status === 'open' && m \
                    && state.counters.includes(Number(m[1]) + 2) && state; }})()"),
            },
        ],
        "result": format!("(() => {{ {DOM} return state; }})()"),
    });
    let mut run = NodeRun::spawn("chromium.mjs", &job);

    let live = run.next(Duration::from_secs(40)).await;
    assert_eq!(live["step"], "live");
    let live = &live["value"];
    eprintln!("demo, live: {}", shorten(live));
    assert!(
        live["message"]
            .as_str()
            .unwrap()
            .starts_with("Hello! Connected at "),
        "{live}"
    );
    let first: Vec<u64> = serde_json::from_value(live["counters"].clone()).unwrap();
    assert_eq!(first[..3], [1, 2, 3], "the counter starts at 1");
    assert_eq!(
        live["lastId"], live["counter"],
        "a counter's id is its value"
    );

    // Kill the server (every connection with it); the page notices and retries.
    server.stop();
    let reconnecting = run.next(Duration::from_secs(15)).await;
    assert_eq!(reconnecting["step"], "reconnecting");
    let seen_before: Vec<u64> =
        serde_json::from_value(reconnecting["value"]["counters"].clone()).unwrap();
    // Down for longer than the demo's 1 s `retry`: at least one reconnection is
    // refused, and the browser keeps trying.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let server = DemoServer::start(addr);

    let resumed = run.next(Duration::from_secs(20)).await;
    assert_eq!(resumed["step"], "resumed");
    let out = run.finish(Duration::from_secs(20)).await;
    server.stop();
    let state = &out["result"];
    eprintln!("demo, resumed: {}", shorten(state));

    // Every counter exactly once, in order, across the restart.
    let counters: Vec<u64> = serde_json::from_value(state["counters"].clone()).unwrap();
    let n = counters.len() as u64;
    assert_eq!(
        counters,
        (1..=n).collect::<Vec<_>>(),
        "counters across the restart"
    );
    let last_before = *seen_before.last().unwrap();
    let message = state["message"].as_str().unwrap();
    assert!(
        message.starts_with("Welcome back! Connected at ")
            && message.contains(&format!(
                "The last counter you saw was {last_before},\nso the counter resumes at {}.",
                last_before + 1
            )),
        "the restarted server resumed from the browser's Last-Event-ID: {message:?}"
    );
    assert_eq!(state["connections"], 2);
    for png in [&live_png, &resumed_png] {
        let bytes = std::fs::read(png).unwrap_or_else(|e| panic!("{}: {e}", png.display()));
        assert!(
            bytes.starts_with(b"\x89PNG") && bytes.len() > 10_000,
            "{} is not a screenshot",
            png.display()
        );
    }
}

/// The response as bytes on the wire (no browser involved): the SSE headers, no
/// `Connection` or `Keep-Alive` (even when the request asks for keep-alive), no
/// `Content-Length`; keep-alive comments between the events.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http1_response_on_the_wire_has_no_connection_header() {
    let server = Server::start(Transport::Http1).await;
    let (head, body) = raw_get(
        &server,
        "/sse/events",
        &["Connection: keep-alive"],
        Some("event: done"),
    )
    .await;
    let lines: Vec<&str> = head.lines().collect();
    assert_eq!(lines[0], "HTTP/1.1 200 OK");
    let names: Vec<String> = lines[1..]
        .iter()
        .filter_map(|l| l.split_once(':'))
        .map(|(n, _)| n.trim().to_ascii_lowercase())
        .collect();
    for required in [
        "content-type",
        "cache-control",
        "x-accel-buffering",
        "transfer-encoding",
    ] {
        assert!(names.iter().any(|n| n == required), "no {required}: {head}");
    }
    for forbidden in ["connection", "keep-alive", "content-length"] {
        assert!(
            !names.iter().any(|n| n == forbidden),
            "{forbidden} in {head}"
        );
    }
    assert!(
        head.contains("content-type: text/event-stream\r\n"),
        "{head}"
    );
    // Keep-alive comments (`:` alone on its line, with no blank line after it).
    let keep_alives = body.split('\n').filter(|line| *line == ":").count();
    assert!(keep_alives >= 3, "{keep_alives} keep-alives in the body");
    assert!(body.contains("\n: a comment in an event\n"));

    let (head, _) = raw_get(&server, "/sse/stop?run=raw", &["Last-Event-ID: s1"], None).await;
    assert!(head.starts_with("HTTP/1.1 204 No Content\r\n"), "{head}");
    assert!(
        !head.to_ascii_lowercase().contains("\nconnection:"),
        "{head}"
    );
}

/// GETs `path` over a fresh TCP connection; returns the head and the de-chunked
/// body read until `until` appears (or nothing, when `until` is `None`).
async fn raw_get(
    server: &Server,
    path: &str,
    headers: &[&str],
    until: Option<&str>,
) -> (String, String) {
    let mut tcp = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    let mut request = format!(
        "GET {path} HTTP/1.1\r\nHost: {}\r\nAccept: text/event-stream\r\n",
        server.addr
    );
    for h in headers {
        request.push_str(h);
        request.push_str("\r\n");
    }
    request.push_str("\r\n");
    tcp.write_all(request.as_bytes()).await.unwrap();
    let mut reader = BufReader::new(tcp);
    let mut head = String::new();
    loop {
        let mut line = String::new();
        assert!(
            reader.read_line(&mut line).await.unwrap() > 0,
            "connection closed in the head"
        );
        head.push_str(&line);
        if line == "\r\n" {
            break;
        }
    }
    let Some(until) = until else {
        return (head, String::new());
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut body = Vec::new();
    while !String::from_utf8_lossy(&body).contains(until) {
        assert!(Instant::now() < deadline, "no {until:?} within 10 s");
        let mut size = String::new();
        reader.read_line(&mut size).await.unwrap();
        let size = usize::from_str_radix(size.trim(), 16).expect("chunk size");
        let mut chunk = vec![0; size + 2];
        reader.read_exact(&mut chunk).await.unwrap();
        assert_eq!(&chunk[size..], b"\r\n");
        body.extend_from_slice(&chunk[..size]);
    }
    (head, String::from_utf8(body).expect("UTF-8 body"))
}
