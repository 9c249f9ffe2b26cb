//! The README's framework recipes cannot rot: each is, word for word, the part of a
//! compiled example between its `// README recipe: begin` and `// README recipe: end`
//! markers (`cargo test` builds every example).

fn recipe(example: &str) -> String {
    let path = format!("{}/../examples/{example}", env!("CARGO_MANIFEST_DIR"));
    let source = std::fs::read_to_string(&path).unwrap();
    let begin = "// README recipe: begin\n";
    let start = source.find(begin).expect("a begin marker") + begin.len();
    let end = source.find("// README recipe: end").expect("an end marker");
    source[start..end].to_owned()
}

fn readme() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md")).unwrap()
}

fn check(example: &str) {
    // `no_run`: the README's doctests compile the recipe but do not start a server;
    // the actix recipe is `ignore` there (the root package has no actix-web), and is
    // compiled as examples/actix.rs instead.
    let fence = if example == "actix.rs" {
        "rust,ignore"
    } else {
        "rust,no_run"
    };
    let block = format!("```{fence}\n{}```\n", recipe(example));
    assert!(
        readme().contains(&block),
        "README.md must show examples/{example} between its markers, as a rust block:\n{block}"
    );
}

#[test]
fn readme_axum_recipe_is_examples_axum() {
    check("axum.rs");
}

#[test]
fn readme_actix_recipe_is_examples_actix() {
    check("actix.rs");
}

#[test]
fn readme_hyper_recipe_is_examples_hyper() {
    check("hyper.rs");
}

/// Every recipe sets the same headers, through `SSE_HEADERS`: the README says so, and
/// `tests/http_frameworks.rs` checks it on the wire.
#[test]
fn every_recipe_names_the_sse_headers() {
    for example in ["axum.rs", "actix.rs", "hyper.rs"] {
        assert!(
            recipe(example).contains("`ssewire::SSE_HEADERS`"),
            "{example}"
        );
    }
}

// The recipes' handlers themselves, called with the `Last-Event-ID` a client chose.

#[allow(dead_code)] // `main` is the example's, not the test's
#[path = "../examples/axum.rs"]
mod axum_example;

#[allow(dead_code)] // `main` is the example's, not the test's
#[path = "../examples/actix.rs"]
mod actix_example;

#[allow(dead_code)] // `main` is the example's, not the test's
#[path = "../examples/hyper.rs"]
mod hyper_example;

use std::convert::Infallible;

use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use ssewire::{EventId, KeepAlive, LastEventId};

/// The `tick` numbers of a recipe's body (up to three), and whether the body ended.
async fn ticks<E: std::fmt::Debug>(
    body: impl Stream<Item = Result<Bytes, E>>,
) -> (Vec<String>, bool) {
    let mut body = std::pin::pin!(body);
    let mut ticks = Vec::new();
    while ticks.len() < 3 {
        let Some(chunk) = body.next().await else {
            return (ticks, true);
        };
        let chunk = String::from_utf8(chunk.unwrap().to_vec()).unwrap();
        ticks.extend(
            chunk
                .lines()
                .filter_map(|line| line.strip_prefix("data: tick "))
                .map(str::to_owned),
        );
    }
    (ticks, false)
}

/// The last id of the ticks, and the one before it, as a client may send them back.
const LAST: &str = "18446744073709551615";
const BEFORE_LAST: &str = "18446744073709551614";

async fn axum_ticks(last: &str) -> (Vec<String>, bool) {
    use axum::extract::State;
    let last = LastEventId(Some(EventId::new(last).unwrap()));
    ticks(axum_example::events(State(KeepAlive::tokio()), last).await).await
}

async fn actix_ticks(last: &str) -> (Vec<String>, bool) {
    use actix_web::web::Data;
    let last = LastEventId(Some(EventId::new(last).unwrap()));
    ticks(actix_example::events(Data::new(KeepAlive::tokio()), last).await).await
}

/// The hyper recipe behind a real hyper server (over an in-memory pipe).
async fn hyper_ticks(last: &str) -> (Vec<String>, bool) {
    use hyper_util::rt::TokioIo;
    let (client, server) = tokio::io::duplex(64 * 1024);
    tokio::spawn(async move {
        let service =
            hyper::service::service_fn(|req| hyper_example::handle(req, KeepAlive::tokio()));
        let _ = hyper::server::conn::http1::Builder::new()
            .serve_connection(TokioIo::new(server), service)
            .await;
    });
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(client))
        .await
        .unwrap();
    tokio::spawn(conn);
    let request = http::Request::get("/events")
        .header("host", "localhost")
        .header("last-event-id", last)
        .body(http_body_util::Empty::<Bytes>::new())
        .unwrap();
    let response = sender
        .send_request(request)
        .await
        .expect("a response, not a panic");
    assert_eq!(response.status(), 200);
    let frames = http_body_util::BodyStream::new(response.into_body());
    let chunks = frames.filter_map(|frame| async move {
        match frame {
            Ok(frame) => frame.into_data().ok().map(Ok::<_, Infallible>),
            Err(err) => panic!("the body failed (did the handler panic?): {err}"),
        }
    });
    ticks(chunks).await
}

/// A client chooses its `Last-Event-ID`: the largest tick number must neither make the
/// recipes overflow (a panic in a debug build, a silent restart at 0 in release) nor
/// let their tick counter run past the last number.
#[tokio::test(start_paused = true)]
async fn recipes_survive_the_largest_last_event_id() {
    let start_over = (vec!["0".to_owned(), "1".to_owned(), "2".to_owned()], false);
    let last_tick = (vec![LAST.to_owned()], true);
    assert_eq!(axum_ticks(LAST).await, start_over, "axum");
    assert_eq!(axum_ticks(BEFORE_LAST).await, last_tick, "axum");
    assert_eq!(actix_ticks(LAST).await, start_over, "actix");
    assert_eq!(actix_ticks(BEFORE_LAST).await, last_tick, "actix");
    assert_eq!(hyper_ticks(LAST).await, start_over, "hyper");
    assert_eq!(hyper_ticks(BEFORE_LAST).await, last_tick, "hyper");
    // An ordinary id still resumes after it.
    let resumed = (
        vec!["42".to_owned(), "43".to_owned(), "44".to_owned()],
        false,
    );
    assert_eq!(axum_ticks("41").await, resumed, "axum");
    assert_eq!(actix_ticks("41").await, resumed, "actix");
    assert_eq!(hyper_ticks("41").await, resumed, "hyper");
}
