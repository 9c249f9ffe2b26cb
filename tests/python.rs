//! End to end, with Python SSE clients from PyPI that nobody here wrote: `httpx-sse`
//! 0.4.3 (with `httpx`; used by Python LLM and MCP clients) and `sseclient-py` 1.9.0,
//! reading ssewire's real servers (axum, and the hyper server of the browser tests)
//! through `tests/python/clients.py`.
//!
//! `#[ignore]`d because they need the venv with the pinned clients:
//!
//! ```text
//! python3 -m venv tests/python/.venv
//! tests/python/.venv/bin/pip install -r tests/python/requirements.txt
//! cargo test --test python -- --ignored
//! ```
//!
//! A missing venv fails the test with the install command; it never skips.
//!
//! httpx-sse dispatches an event for every blank line once it has seen an id (issue
//! #11, item 4), so a keep-alive or a comment-only event that ends with a blank line
//! (`:\n\n`) reaches its users as an empty `message` event: the tests that send
//! keep-alives after an id check that it reports exactly the events sent.

mod e2e_support;

use std::time::Duration;

use serde_json::{json, Value};

use e2e_support::python::{run_client, PyServer, PY_KEEP_ALIVE};
use e2e_support::*;

const RUN: Duration = Duration::from_secs(60);

fn events(out: &Value) -> Vec<Value> {
    out["events"].as_array().expect("events").clone()
}

/// Compares event by event, with the first difference in the message.
fn assert_same(client: &str, got: &[Value], want: &[Value]) {
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(
            g == w,
            "{client}: event #{i} differs\n got: {}\nwant: {}\nall got: {}",
            shorten(g),
            shorten(w),
            shorten(&Value::Array(got.to_vec()))
        );
    }
    assert_eq!(
        got.len(),
        want.len(),
        "{client}: reported {} events, {} were sent; got: {}",
        got.len(),
        want.len(),
        shorten(&Value::Array(got.to_vec()))
    );
}

/// The control, with bytes rather than a server: the check below tells the two
/// keep-alive shapes apart. After `id: 1`, `data: x`, a keep-alive `:` followed by a
/// blank line is one phantom event in httpx-sse; a lone `:` line is nothing. Passes
/// today (it tests the client, not ssewire).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs tests/python/.venv (see tests/python/requirements.txt)"]
async fn httpx_sse_reports_a_phantom_event_for_a_blank_line_after_an_id() {
    let with_blank = run_client(
        json!({ "client": "httpx-sse", "raw": ["id: 1\ndata: x\n\n", ":\n\n", ":\n\n"] }),
        RUN,
    )
    .await;
    assert_eq!(events(&with_blank).len(), 3, "{}", shorten(&with_blank));
    assert_eq!(
        events(&with_blank)[1],
        json!({ "type": "message", "data": "", "id": "1", "retry": null })
    );
    let lone = run_client(
        json!({ "client": "httpx-sse", "raw": ["id: 1\ndata: x\n\n", ":\n", ":\n"] }),
        RUN,
    )
    .await;
    assert_eq!(
        events(&lone),
        [json!({ "type": "message", "data": "x", "id": "1", "retry": null })]
    );
    // sseclient-py never dispatches a block without data: one event either way.
    for raw in [[":\n\n", ":\n\n"], [":\n", ":\n"]] {
        let out = run_client(
            json!({ "client": "sseclient-py", "raw": ["id: 1\ndata: x\n\n", raw[0], raw[1]] }),
            RUN,
        )
        .await;
        assert_eq!(events(&out).len(), 1, "{}", shorten(&out));
    }
}

/// Issue #11, item 4, against ssewire's server: `id: 1`, `data: x`, then ten
/// keep-alive intervals of silence: each client reports exactly one event.
///
/// The keep-alive is a lone comment line (`:\n`): were it `:\n\n`, httpx-sse would
/// report one empty `message` event per keep-alive, and this test would fail.
async fn phantom(client: &str) {
    let server = PyServer::start().await;
    let out = run_client(
        json!({ "client": client, "url": server.url("/phantom") }),
        RUN,
    )
    .await;
    let keep_alives = server
        .tap
        .keep_alives
        .load(std::sync::atomic::Ordering::SeqCst);
    assert!(
        keep_alives >= 5,
        "only {keep_alives} keep-alives were sent (interval {PY_KEEP_ALIVE:?})"
    );
    assert_eq!(out["end"], "eof");
    // Both clients report the id as "1" (the last id, and the block's own id).
    let want = json!({ "type": "message", "data": "x", "id": "1", "retry": null });
    assert_same(
        &format!("{client} after {keep_alives} keep-alives"),
        &events(&out),
        &[want],
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs tests/python/.venv (see tests/python/requirements.txt)"]
async fn httpx_sse_sees_no_phantom_event_from_keep_alives() {
    phantom("httpx-sse").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs tests/python/.venv (see tests/python/requirements.txt)"]
async fn sseclient_py_sees_no_phantom_event_from_keep_alives() {
    phantom("sseclient-py").await;
}

/// The Python content scenario from the axum server: multi-line data, ids (numeric,
/// unicode, empty), event types, retry, a comment in an event and a comment-only
/// event, keep-alive pauses, unicode, CR/CRLF in data, 64 KiB on one line.
///
/// httpx-sse: a keep-alive ended by a blank line, or a comment-only event with one,
/// would each be a phantom event there, and fail this test.
async fn content(client: &str) {
    let server = PyServer::start().await;
    let (_, expected) = e2e_support::python::py_scenario();
    let out = run_client(
        json!({ "client": client, "url": server.url("/content"), "stop_type": "done" }),
        RUN,
    )
    .await;
    assert_eq!(out["end"], "stop");
    let want: Vec<Value> = expected
        .iter()
        .map(|e| match client {
            "httpx-sse" => e.httpx_sse(),
            _ => e.sseclient_py(),
        })
        .collect();
    assert_same(client, &events(&out), &want);
    let keep_alives = server
        .tap
        .keep_alives
        .load(std::sync::atomic::Ordering::SeqCst);
    assert!(keep_alives >= 6, "only {keep_alives} keep-alives were sent");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs tests/python/.venv (see tests/python/requirements.txt)"]
async fn httpx_sse_every_event_arrives_as_sent() {
    content("httpx-sse").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs tests/python/.venv (see tests/python/requirements.txt)"]
async fn sseclient_py_every_event_arrives_as_sent() {
    content("sseclient-py").await;
}

/// The browser tests' content scenario from their hyper server (`/sse/events`: 1 MiB
/// on one line, an id-only event, keep-alive pauses), read by each Python client.
/// httpx-sse reports the id-only block as an event with empty data (it dispatches
/// any block once an id is known); sseclient-py skips it, as browsers do.
///
/// httpx-sse: a keep-alive ended by a blank line would be a phantom event there, and
/// fail this test.
async fn hyper_content(client: &str) {
    let scenario = content_scenario();
    let server = Server::start(Transport::Http1).await;
    let out = run_client(
        json!({ "client": client, "url": server.url("/sse/events"), "stop_type": "done" }),
        RUN,
    )
    .await;
    let mut want: Vec<Value> = Vec::new();
    for e in &scenario.expected {
        if client == "httpx-sse" && e.data == "after an id-only event" {
            want.push(json!({ "type": "message", "data": "", "id": "id-only", "retry": null }));
        }
        want.push(match client {
            "httpx-sse" => {
                json!({ "type": e.ty, "data": e.data, "id": e.last_event_id, "retry": null })
            }
            _ => json!({ "type": e.ty, "data": e.data, "id": e.own_id, "retry": null }),
        });
    }
    assert_same(client, &events(&out), &want);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs tests/python/.venv (see tests/python/requirements.txt)"]
async fn httpx_sse_reads_the_hyper_server() {
    hyper_content("httpx-sse").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "end-to-end: needs tests/python/.venv (see tests/python/requirements.txt)"]
async fn sseclient_py_reads_the_hyper_server() {
    hyper_content("sseclient-py").await;
}
