//! End to end, with Node clients nobody here wrote: npm `eventsource` 4 (the WHATWG
//! `EventSource` for Node) and npm `eventsource-parser` 3 (fed by `fetch`, with the
//! reconnection loop in `tests/e2e/parser_client.mjs`), against a hyper server that
//! sends with ssewire's body adapter.
//!
//! `#[ignore]`d because they need Node; run them with
//!
//! ```text
//! npm ci --prefix tests/e2e
//! cargo test --all-features --test e2e_node -- --ignored
//! ```
//!
//! When Node or `tests/e2e/node_modules` is missing they fail, saying what to install.

mod e2e_support;

use std::time::Duration;

use serde_json::{json, Value};

use e2e_support::*;

async fn eventsource(job: Value) -> Value {
    require_node_modules(&["eventsource", "eventsource-parser"]);
    run_node("eventsource_client.mjs", job, Duration::from_secs(30)).await
}

async fn parser(job: Value) -> Value {
    require_node_modules(&["eventsource-parser"]);
    run_node("parser_client.mjs", job, Duration::from_secs(30)).await
}

/// Checks the reconnection delays the server saw against the `retry` values.
fn check_resume_hits(server: &Server, run: &str, ids: &[String]) {
    let hits = server.log.run(run);
    assert_eq!(hits.len(), 3, "three connections");
    assert_eq!(
        hits[0].last_event_id_raw, None,
        "no Last-Event-ID on the first request"
    );
    assert_eq!(hits[1].last_event_id, Ok(Some(ids[2].clone())));
    assert_eq!(hits[2].last_event_id, Ok(Some(ids[5].clone())));
    assert_reconnects_waited_for_retry(run, &hits);
}

/// npm `eventsource` rebuilds every event exactly. Its `lastEventId` is the id of
/// the event's own block, or "" (browsers keep the last id seen instead), and it
/// never reports an event without data.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs node and `npm ci --prefix tests/e2e`"]
async fn eventsource_every_event_arrives_as_sent() {
    let _one = ONE_AT_A_TIME.lock().await;
    let scenario = content_scenario();
    let server = Server::start(Transport::Http1).await;
    let out =
        eventsource(json!({ "url": server.url("/sse/events"), "types": scenario.types })).await;

    let got = without_time(&out["events"], &["type", "data", "lastEventId"]);
    assert_events(
        "eventsource",
        &got,
        &scenario.expected,
        |e| json!({ "type": e.ty, "data": e.data, "lastEventId": e.own_id.clone().unwrap_or_default() }),
    );
    assert_eq!(out["errors"], json!([]), "no error, no reconnect");
    assert_eq!(out["opens"].as_array().map(Vec::len), Some(1));
    let hits = server.log.hits();
    let keep_alives = hits[0]
        .keep_alives
        .load(std::sync::atomic::Ordering::Relaxed);
    assert!(
        keep_alives >= 6,
        "only {keep_alives} keep-alive comments were sent"
    );
}

/// `eventsource-parser` gives back every event with its own block's id, and every
/// keep-alive as a comment (never as an event).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs node and `npm ci --prefix tests/e2e`"]
async fn eventsource_parser_every_event_arrives_as_sent_and_keep_alives_as_comments() {
    let _one = ONE_AT_A_TIME.lock().await;
    let scenario = content_scenario();
    let server = Server::start(Transport::Http1).await;
    let out = parser(json!({ "url": server.url("/sse/events") })).await;

    let got = without_time(&out["events"], &["event", "id", "data"]);
    assert_events("eventsource-parser", &got, &scenario.expected, |e| {
        // The crate writes no `event:` line for the default type.
        let event = if e.ty == "message" {
            Value::Null
        } else {
            json!(e.ty)
        };
        json!({ "event": event, "id": e.own_id, "data": e.data })
    });
    assert_eq!(out["parseErrors"], json!([]));
    assert_eq!(out["retries"], json!([]));
    let conns = out["connections"].as_array().unwrap();
    assert_eq!(conns.len(), 1);
    assert_eq!(conns[0]["status"], 200);
    assert_eq!(conns[0]["contentType"], "text/event-stream");
    assert!(
        conns[0]["headers"].get("connection").is_none(),
        "{}",
        conns[0]
    );

    // Keep-alives are empty comments; the one explicit comment comes through too.
    let comments = out["comments"].as_array().unwrap();
    let keep_alives = comments.iter().filter(|c| *c == "").count();
    let explicit: Vec<_> = comments.iter().filter(|c| *c != "").collect();
    assert_eq!(explicit, scenario.comments, "explicit comments");
    let sent = server.log.hits()[0]
        .keep_alives
        .load(std::sync::atomic::Ordering::Relaxed);
    assert!(
        keep_alives >= 6 && keep_alives <= sent,
        "{keep_alives} keep-alives received, {sent} sent"
    );
}

/// npm `eventsource` reconnects after the `retry` the server sent, with
/// `Last-Event-ID`, and the server resumes: every event exactly once. (ASCII ids:
/// it sends the header through `fetch`, which cannot carry other characters.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs node and `npm ci --prefix tests/e2e`"]
async fn eventsource_reconnects_after_retry_and_resumes_from_last_event_id() {
    let _one = ONE_AT_A_TIME.lock().await;
    let server = Server::start(Transport::Http1).await;
    let run = "eventsource";
    let url = server.url(&format!("/sse/resume?run={run}&ids=ascii"));
    let out = eventsource(json!({ "url": url, "types": ["done"] })).await;

    let ids = resume_ids(false);
    let got = without_time(&out["events"], &["type", "data", "lastEventId"]);
    let want = resume_expected(false);
    assert_eq!(got, want, "eventsource's events across two drops");
    assert_eq!(
        ready_states(&out["errors"]),
        [json!(0), json!(0)],
        "{}",
        shorten(&out["errors"])
    );
    assert_eq!(out["opens"].as_array().map(Vec::len), Some(3));
    check_resume_hits(&server, run, &ids);
}

/// The same with the parser and a spec-style reconnection loop.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs node and `npm ci --prefix tests/e2e`"]
async fn eventsource_parser_reconnects_after_retry_and_resumes_from_last_event_id() {
    let _one = ONE_AT_A_TIME.lock().await;
    let server = Server::start(Transport::Http1).await;
    let run = "parser";
    let out =
        parser(json!({ "url": server.url(&format!("/sse/resume?run={run}&ids=ascii")) })).await;

    let ids = resume_ids(false);
    let got = without_time(&out["events"], &["event", "id", "data"]);
    let want: Vec<Value> = RESUME_DATA
        .iter()
        .zip(&ids)
        .enumerate()
        .map(|(i, (data, id))| {
            let event = if i == ids.len() - 1 {
                json!("done")
            } else {
                Value::Null
            };
            json!({ "event": event, "id": id, "data": data })
        })
        .collect();
    assert_eq!(got, want, "the parser's events across two drops");
    assert_eq!(
        out["retries"],
        json!([
            RETRY_FIRST.as_millis() as u64,
            RETRY_SECOND.as_millis() as u64
        ])
    );
    let conns = out["connections"].as_array().unwrap();
    let sent: Vec<_> = conns.iter().map(|c| c["lastEventId"].clone()).collect();
    assert_eq!(sent, [Value::Null, json!(ids[2]), json!(ids[5])]);
    assert_eq!(conns[0]["end"], "eof", "the first stream ends cleanly");
    assert!(
        conns[1]["end"].as_str().unwrap().starts_with("error"),
        "the second is cut: {}",
        conns[1]
    );
    check_resume_hits(&server, run, &ids);
}

/// npm `eventsource` stops for good when the server answers 204.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs node and `npm ci --prefix tests/e2e`"]
async fn eventsource_stops_reconnecting_on_204() {
    let _one = ONE_AT_A_TIME.lock().await;
    let server = Server::start(Transport::Http1).await;
    let run = "eventsource-204";
    let out = eventsource(json!({
        "url": server.url(&format!("/sse/stop?run={run}")),
        "lingerAfterCloseMs": 2000,
    }))
    .await;

    let got = without_time(&out["events"], &["type", "data", "lastEventId"]);
    assert_eq!(
        got,
        [json!({ "type": "message", "data": "before 204", "lastEventId": "s1" })]
    );
    assert_eq!(
        ready_states(&out["errors"]),
        [json!(0), json!(2)],
        "{}",
        shorten(&out["errors"])
    );
    assert_eq!(out["errors"][1]["code"], 204);
    let hits = server.log.run(run);
    assert_eq!(hits.len(), 2, "one reconnection, then none after the 204");
    assert_eq!(hits[1].status, http::StatusCode::NO_CONTENT);
    assert_eq!(hits[1].last_event_id, Ok(Some("s1".to_owned())));
}
