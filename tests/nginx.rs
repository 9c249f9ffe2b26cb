//! End to end through a real reverse proxy: Debian's nginx, with its default
//! `proxy_buffering on`, in front of ssewire servers, reached over HTTP/1.1 and over
//! HTTP/2 (TLS, ALPN `h2`). Each test starts its own nginx from a generated config in
//! a temporary directory (see `tests/e2e_support/nginx.rs`).
//!
//! - Events go through one by one: the server produces event n+1 only after the
//!   client has received event n through nginx (thanks to `X-Accel-Buffering: no`);
//!   without that header nginx holds them (the control).
//! - Keep-alive comments hold an otherwise idle stream open past nginx's
//!   `proxy_read_timeout` (2 s here); without keep-alives nginx closes it.
//! - Headless Chromium's `EventSource`, reconnecting through nginx, resumes from
//!   `Last-Event-ID`.
//!
//! `#[ignore]`d because they need nginx (and Chromium, Node for the browser ones):
//!
//! ```text
//! apt-get install -y nginx chromium chromium-driver
//! npm ci --prefix tests/e2e
//! cargo test --test nginx -- --ignored
//! ```
//!
//! A missing tool fails the test with the install command; it never skips.

mod e2e_support;

#[allow(dead_code)] // `main` and its helpers are the example's, not the test's
#[path = "../examples/demo.rs"]
mod demo;

use std::sync::atomic::Ordering;
use std::time::Duration;

use serde_json::{json, Value};
use ssewire::Event;

use e2e_support::nginx::{
    page_url_via, ChannelServer, Next, Nginx, NginxOptions, Received, SseClient, Via,
};
use e2e_support::*;

/// Generous: nothing here waits this long unless something is wrong.
const WAIT: Duration = Duration::from_secs(10);

/// nginx's `proxy_read_timeout` in the keep-alive tests.
const READ_TIMEOUT: Duration = Duration::from_secs(2);

fn event(n: u64) -> Event {
    Event::new().id(n).data(format!("event {n}"))
}

fn received(n: u64) -> Received {
    Received {
        id: Some(n.to_string()),
        data: format!("event {n}"),
    }
}

fn check_head(client: &SseClient, via: Via) {
    assert_eq!(client.status, 200);
    let version = match via {
        Via::Http1 => http::Version::HTTP_11,
        Via::Http2 => http::Version::HTTP_2,
    };
    assert_eq!(client.version, version);
    assert_eq!(client.headers["content-type"], "text/event-stream");
}

/// Lockstep: the test hands the server event n+1 only once the client has read
/// event n through nginx. A proxy that held even one event would stall the test
/// (the wait fails after 10 s).
async fn one_by_one(via: Via) {
    let server = ChannelServer::start().await;
    let nginx = Nginx::start(
        server.addr,
        NginxOptions {
            read_timeout: Duration::from_secs(60),
        },
    )
    .await;
    let plan = server.plan(None, true);
    // Event 1 before the request: nginx sends the response head only with the
    // first body bytes (over HTTP/2 even with `X-Accel-Buffering: no`).
    plan.events.send(event(1)).unwrap();
    let mut client = SseClient::get(&nginx, via, "/stream").await;
    check_head(&client, via);
    for n in 1..=20 {
        if n > 1 {
            plan.events.send(event(n)).unwrap();
        }
        let got = client.event(WAIT).await;
        assert_eq!(got, received(n), "event {n} through nginx ({via:?})");
        // Nothing else came with it: the next event does not exist yet.
        assert_eq!(plan.tap.frames.load(Ordering::SeqCst), n as usize);
    }
    drop(plan.events);
    assert!(
        matches!(client.next(WAIT).await, Next::End),
        "the stream ends when the server ends it"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs nginx (apt-get install -y nginx)"]
async fn http1_events_arrive_one_by_one_through_nginx() {
    one_by_one(Via::Http1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs nginx (apt-get install -y nginx)"]
async fn http2_events_arrive_one_by_one_through_nginx() {
    one_by_one(Via::Http2).await;
}

/// The control: the same stream without `X-Accel-Buffering: no` is held by nginx's
/// buffer: three events sent, and after 3 s the client has nothing (not even the
/// response head: nginx sends it with the first buffered bytes); everything arrives
/// when the response ends. This is what the header in `ssewire::sse_response`
/// prevents.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs nginx (apt-get install -y nginx)"]
async fn without_x_accel_buffering_nginx_holds_the_events() {
    let server = ChannelServer::start().await;
    let nginx = Nginx::start(
        server.addr,
        NginxOptions {
            read_timeout: Duration::from_secs(60),
        },
    )
    .await;
    let plan = server.plan(None, false);
    for n in 1..=3 {
        plan.events.send(event(n)).unwrap();
    }
    // The client, in a task: it reports each event, then how the stream ended.
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let origin = nginx.http_origin.clone();
    let reader = {
        let nginx = &nginx;
        async move {
            // `get` returns once the head is in; the head is held as well.
            let mut client = SseClient::get(nginx, Via::Http1, "/stream").await;
            check_head(&client, Via::Http1);
            loop {
                let next = client.next(WAIT * 2).await;
                let end = !matches!(next, Next::Event(_));
                let _ = tx.send(next);
                if end {
                    break;
                }
            }
        }
    };
    let mut reader = Box::pin(reader);
    let early = tokio::time::timeout(Duration::from_secs(3), async {
        tokio::select! {
            _ = &mut reader => None,
            got = rx.recv() => got,
        }
    })
    .await;
    assert!(
        early.is_err(),
        "without X-Accel-Buffering: no, nginx ({origin}) should buffer the stream; got {early:?}"
    );
    // The server did send them (ready together, in one chunk).
    assert!(plan.tap.frames.load(Ordering::SeqCst) >= 1);
    drop(plan.events);
    tokio::time::timeout(WAIT, &mut reader)
        .await
        .expect("the buffered response arrives once it ends");
    let mut got = Vec::new();
    while let Ok(next) = rx.try_recv() {
        got.push(next);
    }
    assert_eq!(got.len(), 4, "{got:?}");
    for (n, next) in (1..=3).zip(&got) {
        assert!(
            matches!(next, Next::Event(e) if *e == received(n)),
            "{got:?}"
        );
    }
    assert!(matches!(got[3], Next::End), "{got:?}");
}

/// An idle stream with a keep-alive every 500 ms stays open for three of nginx's
/// 2 s read timeouts, and an event sent after the idle time still arrives.
async fn keep_alive_holds(via: Via) {
    let server = ChannelServer::start().await;
    let nginx = Nginx::start(
        server.addr,
        NginxOptions {
            read_timeout: READ_TIMEOUT,
        },
    )
    .await;
    let plan = server.plan(Some(Duration::from_millis(500)), true);
    plan.events.send(event(1)).unwrap();
    let mut client = SseClient::get(&nginx, via, "/stream").await;
    check_head(&client, via);
    assert_eq!(client.event(WAIT).await, received(1));

    // Idle for three read timeouts: the client sees no event and no end.
    let idle = client.next(READ_TIMEOUT * 3).await;
    assert!(
        matches!(idle, Next::Timeout),
        "the idle stream must stay open through nginx ({via:?}); got {idle:?}\nnginx error.log:\n{}",
        nginx.error_log()
    );
    let keep_alives = plan.tap.keep_alives.load(Ordering::SeqCst);
    assert!(
        keep_alives >= 6,
        "the server sent {keep_alives} keep-alives in 6 s"
    );
    // The comments went through nginx too (a proxy may not drop them).
    assert!(
        client.comments >= 6,
        "{} keep-alive comments reached the client",
        client.comments
    );

    plan.events.send(event(2)).unwrap();
    assert_eq!(client.event(WAIT).await, received(2), "after the idle time");
    assert!(
        !nginx.error_log().contains("upstream timed out"),
        "{}",
        nginx.error_log()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs nginx (apt-get install -y nginx)"]
async fn http1_keep_alives_hold_an_idle_stream_open_past_proxy_read_timeout() {
    keep_alive_holds(Via::Http1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs nginx (apt-get install -y nginx)"]
async fn http2_keep_alives_hold_an_idle_stream_open_past_proxy_read_timeout() {
    keep_alive_holds(Via::Http2).await;
}

/// The control: the same idle stream with no keep-alive is closed by nginx once its
/// read timeout passes ("upstream timed out" in its error log).
async fn no_keep_alive_is_closed(via: Via) {
    let server = ChannelServer::start().await;
    let nginx = Nginx::start(
        server.addr,
        NginxOptions {
            read_timeout: READ_TIMEOUT,
        },
    )
    .await;
    let plan = server.plan(None, true);
    plan.events.send(event(1)).unwrap();
    let mut client = SseClient::get(&nginx, via, "/stream").await;
    assert_eq!(client.event(WAIT).await, received(1));
    let closed = client.next(READ_TIMEOUT + WAIT).await;
    assert!(
        matches!(closed, Next::End | Next::Error(_)),
        "nginx should close the idle stream ({via:?}); got {closed:?}"
    );
    eprintln!("{via:?}: without keep-alive the client saw {closed:?}");
    assert!(
        nginx.error_log().contains("upstream timed out"),
        "{}",
        nginx.error_log()
    );
    assert_eq!(plan.tap.keep_alives.load(Ordering::SeqCst), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs nginx (apt-get install -y nginx)"]
async fn http1_without_keep_alive_nginx_closes_the_idle_stream() {
    no_keep_alive_is_closed(Via::Http1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs nginx (apt-get install -y nginx)"]
async fn http2_without_keep_alive_nginx_closes_the_idle_stream() {
    no_keep_alive_is_closed(Via::Http2).await;
}

/// Chromium loads the recording page through nginx and reads the resumption
/// scenario (`/sse/resume`, non-ASCII ids) through it: the stream ends cleanly once and
/// is cut once, and each time the browser reconnects through nginx with the last id
/// in `Last-Event-ID`, which reaches the server byte for byte; every event arrives
/// exactly once, in order.
async fn chromium_resumes(via: Via, run: &str) {
    let _one = ONE_AT_A_TIME.lock().await;
    require_node_modules(&["playwright-core"]);
    let server = Server::start(Transport::Http1).await;
    let nginx = Nginx::start(
        server.addr,
        NginxOptions {
            read_timeout: Duration::from_secs(60),
        },
    )
    .await;
    let url = page_url_via(
        nginx.origin(via),
        &format!("/sse/resume?run={run}&ids=unicode"),
        &["done"],
    );
    let tls = via == Via::Http2;
    let job = chromium_job(&url, "window.__sse.done", Duration::from_secs(30), tls);
    let mut node = NodeRun::spawn("chromium.mjs", &job);
    let step = node.next(Duration::from_secs(60)).await;
    assert_eq!(step["step"], "wait", "{}", shorten(&step));
    let out = node.finish(Duration::from_secs(20)).await;
    let result = &out["result"];

    let got = without_time(&result["events"], &["type", "data", "lastEventId"]);
    assert_eq!(
        got,
        resume_expected(true),
        "Chromium's events through nginx ({via:?}) across two drops\nnginx error.log:\n{}",
        nginx.error_log()
    );
    assert_eq!(
        ready_states(&result["errors"]),
        [json!(0), json!(0)],
        "two drops, two reconnections: {}",
        shorten(&result["errors"])
    );
    assert_eq!(result["opens"].as_array().map(Vec::len), Some(3));
    let protocol = if tls { "h2" } else { "http/1.1" };
    assert_eq!(result["protocol"], protocol, "page protocol through nginx");
    let statuses: Vec<Value> = out["responses"]
        .as_array()
        .expect("responses")
        .iter()
        .map(|r| r["status"].clone())
        .collect();
    assert_eq!(statuses, [json!(200), json!(200), json!(200)]);

    // The server saw three requests (nginx speaks HTTP/1.0 to it by default), the
    // last two with the raw UTF-8 id Chromium sent through nginx.
    let ids = resume_ids(true);
    let hits = server.log.run(run);
    assert_eq!(hits.len(), 3, "three connections");
    assert!(hits.iter().all(|h| h.version == http::Version::HTTP_10));
    assert_eq!(hits[0].last_event_id_raw, None);
    for (hit, id) in hits[1..].iter().zip([&ids[2], &ids[5]]) {
        assert_eq!(
            hit.last_event_id_raw.as_deref(),
            Some(id.as_bytes()),
            "raw Last-Event-ID through nginx"
        );
        assert_eq!(
            hit.last_event_id.as_ref().map(Option::as_deref),
            Ok(Some(id.as_str()))
        );
    }
    assert_reconnects_waited_for_retry(run, &hits);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs nginx, chromium, node and `npm ci --prefix tests/e2e`"]
async fn http1_chromium_resumes_through_nginx_with_last_event_id() {
    chromium_resumes(Via::Http1, "nginx-h1").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs nginx, chromium, node and `npm ci --prefix tests/e2e`"]
async fn http2_chromium_resumes_through_nginx_with_last_event_id() {
    chromium_resumes(Via::Http2, "nginx-h2").await;
}

/// The demo (`examples/demo.rs`) behind nginx with a 2 s read timeout: its live
/// events come through one by one, well before nginx's buffer could fill.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs nginx (apt-get install -y nginx)"]
async fn demo_streams_through_nginx() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = demo::app_with_keep_alive(Duration::from_millis(500));
    let serve = tokio::spawn(async move { axum::serve(listener, app).await });
    let nginx = Nginx::start(
        addr,
        NginxOptions {
            read_timeout: READ_TIMEOUT,
        },
    )
    .await;
    for via in [Via::Http1, Via::Http2] {
        let mut client = SseClient::get(&nginx, via, "/events").await;
        check_head(&client, via);
        let welcome = client.event(WAIT).await;
        assert!(
            welcome.data.starts_with("Hello! Connected at "),
            "{welcome:?}"
        );
        // Counters 1, 2, 3 with their clock ticks, each within a few seconds: a
        // buffering proxy would hold these ~60-byte events for minutes.
        let mut counters = Vec::new();
        while counters.len() < 3 {
            let got = client.event(WAIT).await;
            if let Some(id) = got.id {
                assert_eq!(id, got.data);
                counters.push(id.parse::<u64>().unwrap());
            }
        }
        assert_eq!(counters, [1, 2, 3], "{via:?}");
    }
    serve.abort();
}
