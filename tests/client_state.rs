//! The client's state machine against a scripted fake transport, on a paused tokio
//! clock: every behaviour of the browser's EventSource processing model, plus the
//! service extras (backoff, give-up, 5xx policy, idle timeout, limits).

mod client_support;

use std::time::Duration;

use client_support::{open, run, status, stream, Fake, Reply};
use futures_util::StreamExt;
use ssewire::client::{Config, Error, Item, ReadyState, RetryCause};

const URL: &str = "http://a.test/events";

fn exact() -> Config {
    Config::new().with_jitter(0.0)
}

#[tokio::test(start_paused = true)]
async fn first_request_has_accept_no_cache_and_no_last_event_id() {
    let fake = Fake::new([stream(&["data: x\n\n"])]);
    let mut source = fake.source(URL);
    let _ = run(&mut source, 2).await;
    let request = &fake.requests()[0];
    assert_eq!(request.uri(), URL);
    assert_eq!(request.headers()["accept"], "text/event-stream");
    assert_eq!(request.headers()["cache-control"], "no-cache");
    assert!(request.headers().get("last-event-id").is_none());
}

#[tokio::test(start_paused = true)]
async fn opens_on_200_event_stream_with_parameters_in_any_case() {
    let fake = Fake::new([Reply::Response(
        200,
        vec![("content-type", "Text/Event-Stream; charset=utf-8".into())],
        vec!["data: hi\n\n".into()],
        false,
    )]);
    let mut source = fake.source(URL);
    assert_eq!(source.ready_state(), ReadyState::Connecting);
    assert_eq!(run(&mut source, 2).await, ["open ", "event message  hi"]);
    assert_eq!(source.ready_state(), ReadyState::Open);
}

#[tokio::test(start_paused = true)]
async fn wrong_content_type_fails_for_good_with_a_typed_error() {
    let fake = Fake::new([status(200, &[("content-type", "text/html")], "<h1>hi</h1>")]);
    let mut source = fake.source(URL);
    let error = match source.next().await {
        Some(Err(Error::Response(error))) => error,
        other => panic!("{other:?}"),
    };
    assert_eq!(error.status(), 200);
    assert_eq!(error.content_type().unwrap(), "text/html");
    assert_eq!(error.body().as_ref(), b"<h1>hi</h1>");
    assert!(source.next().await.is_none());
    assert_eq!(source.ready_state(), ReadyState::Closed);
    assert_eq!(fake.requests().len(), 1);
}

#[tokio::test(start_paused = true)]
async fn status_500_fails_by_default_with_status_headers_and_a_bounded_body() {
    let body = "x".repeat(10_000);
    let fake = Fake::new([status(500, &[("x-trace", "abc")], &body)]);
    let mut source = fake
        .source(URL)
        .with_config(exact().with_max_error_body(100));
    let Some(Err(error)) = source.next().await else {
        panic!("expected an error")
    };
    let response = error.response().expect("a response error");
    assert_eq!(response.status(), 500);
    assert_eq!(response.headers()["x-trace"], "abc");
    assert_eq!(response.body().len(), 100);
    assert!(error
        .to_string()
        .starts_with("http://a.test/events answered 500"));
    assert!(source.next().await.is_none());
}

#[tokio::test(start_paused = true)]
async fn status_204_stops_for_good() {
    let fake = Fake::new([stream(&["id: 1\ndata: a\n\n"]), status(204, &[], "")]);
    let mut source = fake.source(URL).with_config(exact());
    assert_eq!(
        run(&mut source, 10).await,
        [
            "open ",
            "event message 1 a",
            "retry the server ended the stream 3000",
            "end"
        ]
    );
    assert_eq!(source.ready_state(), ReadyState::Closed);
    assert!(source.next().await.is_none());
    assert_eq!(fake.requests().len(), 2);
}

#[tokio::test(start_paused = true)]
async fn reconnects_after_end_of_body_with_last_event_id_and_default_time() {
    let fake = Fake::new([
        stream(&["id: 1\ndata: a\n\n", "id: 2\ndata: b\n\n"]),
        stream(&["id: 3\ndata: c\n\n"]),
    ]);
    let mut source = fake.source(URL).with_config(exact());
    let start = tokio::time::Instant::now();
    let items = run(&mut source, 20).await;
    assert_eq!(
        items,
        [
            "open ",
            "event message 1 a",
            "event message 2 b",
            "retry the server ended the stream 3000",
            "open 2",
            "event message 3 c",
            "retry the server ended the stream 3000",
            "end"
        ]
    );
    assert_eq!(start.elapsed(), Duration::from_secs(6));
    assert_eq!(
        fake.last_event_ids(),
        [None, Some("2".into()), Some("3".into())]
    );
    assert_eq!(source.stats().connects, 2);
    assert_eq!(source.stats().events, 3);
    assert_eq!(source.stats().retries, 2);
    assert_eq!(source.stats().requests, 3);
}

#[tokio::test(start_paused = true)]
async fn server_retry_is_honoured_with_a_floor_and_changes_apply() {
    let fake = Fake::new([
        stream(&["retry: 1500\ndata: a\n\n"]),
        stream(&["retry: 0\ndata: b\n\n"]),
        stream(&["retry: 20000\ndata: c\n\n"]),
    ]);
    let mut source = fake.source(URL).with_config(exact());
    let items = run(&mut source, 20).await;
    let delays: Vec<_> = items.iter().filter(|l| l.starts_with("retry")).collect();
    assert_eq!(
        delays,
        [
            "retry the server ended the stream 1500",
            "retry the server ended the stream 250",
            "retry the server ended the stream 20000"
        ]
    );
    assert_eq!(source.reconnection_time(), Duration::from_secs(20));
}

#[tokio::test(start_paused = true)]
async fn network_errors_back_off_exponentially_and_reset_after_a_healthy_connection() {
    let fake = Fake::new([
        Reply::Error("refused"),
        Reply::Error("refused"),
        Reply::Error("refused"),
        stream(&["data: ok\n\n"]),
        Reply::Error("refused"),
    ]);
    let config = exact().with_reconnection_time(Duration::from_secs(1));
    let mut source = fake.source(URL).with_config(config);
    let items = run(&mut source, 20).await;
    assert_eq!(
        items,
        [
            "retry transport error: refused 1000",
            "retry transport error: refused 2000",
            "retry transport error: refused 4000",
            "open ",
            "event message  ok",
            "retry the server ended the stream 1000",
            "retry transport error: refused 1000",
            "end"
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn a_connection_open_for_the_healthy_period_resets_the_backoff() {
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let fake = Fake::new([
        Reply::Error("refused"),
        Reply::Error("refused"),
        Reply::Channel(rx),
        Reply::Error("refused"),
    ]);
    let config = exact()
        .with_reconnection_time(Duration::from_secs(1))
        .with_idle_timeout(None);
    let mut source = fake.source(URL).with_config(config);
    let closer = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(60)).await;
        tx.send(": still here\n".into()).unwrap();
        drop(tx);
    });
    let items = run(&mut source, 20).await;
    closer.await.unwrap();
    assert_eq!(
        items,
        [
            "retry transport error: refused 1000",
            "retry transport error: refused 2000",
            "open ",
            "retry the server ended the stream 1000",
            "retry transport error: refused 1000",
            "end"
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn gives_up_after_max_attempts_in_a_row() {
    let fake = Fake::new([
        Reply::Error("refused"),
        Reply::Error("refused"),
        Reply::Error("refused"),
    ]);
    let config = exact().with_max_attempts(Some(3));
    let mut source = fake.source(URL).with_config(config);
    let items = run(&mut source, 20).await;
    assert_eq!(items.len(), 4);
    assert_eq!(
        items[2],
        "error gave up after 3 failed attempts; last: transport error: refused"
    );
    assert_eq!(items[3], "end");
    assert_eq!(fake.requests().len(), 3);
}

#[tokio::test(start_paused = true)]
async fn with_the_policy_503_and_429_are_retried_honouring_retry_after() {
    let fake = Fake::new([
        status(503, &[("retry-after", "30")], "busy"),
        status(429, &[], "slow down"),
        stream(&["data: a\n\n"]),
    ]);
    let config = exact()
        .with_reconnection_time(Duration::from_secs(1))
        .with_retry_server_errors(true);
    let mut source = fake.source(URL).with_config(config);
    let items = run(&mut source, 4).await;
    assert_eq!(
        items,
        [
            "retry status 503 Service Unavailable, Retry-After 30s 30000",
            "retry status 429 Too Many Requests 2000",
            "open ",
            "event message  a"
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn follows_redirects_keeping_last_event_id_and_restarts_from_the_original_url() {
    let fake = Fake::new([
        stream(&["id: 7\ndata: a\n\n"]),
        status(307, &[("location", "/moved")], ""),
        status(301, &[("location", "http://a.test:80/final?x=1")], ""),
        open(&["data: b\n\n"]),
    ]);
    let mut source = fake.source(URL).with_config(exact());
    let items = run(&mut source, 5).await;
    assert_eq!(items[3], "open 7");
    let uris: Vec<_> = fake
        .requests()
        .iter()
        .map(|r| r.uri().to_string())
        .collect();
    assert_eq!(
        uris,
        [
            URL,
            URL,
            "http://a.test/moved",
            "http://a.test:80/final?x=1"
        ]
    );
    assert_eq!(
        fake.last_event_ids(),
        [None, Some("7".into()), Some("7".into()), Some("7".into())]
    );
}

#[tokio::test(start_paused = true)]
async fn redirects_drop_credentials_across_origins_only() {
    let fake = Fake::new([
        status(302, &[("location", "/same")], ""),
        status(303, &[("location", "https://b.test/other")], ""),
        status(308, &[("location", "http://a.test/back")], ""),
        open(&[]),
    ]);
    let config = exact()
        .with_header(http::header::AUTHORIZATION, "Bearer t".parse().unwrap())
        .with_header(http::header::COOKIE, "s=1".parse().unwrap())
        .with_header("x-tenant".parse().unwrap(), "t1".parse().unwrap());
    let mut source = fake.source(URL).with_config(config);
    let _ = run(&mut source, 1).await;
    let requests = fake.requests();
    let auth: Vec<_> = requests
        .iter()
        .map(|r| r.headers().contains_key("authorization") && r.headers().contains_key("cookie"))
        .collect();
    assert_eq!(auth, [true, true, false, false]);
    assert!(requests.iter().all(|r| r.headers()["x-tenant"] == "t1"));
}

#[tokio::test(start_paused = true)]
async fn too_many_redirects_and_a_missing_location_fail() {
    let fake = Fake::new([
        status(302, &[("location", "/a")], ""),
        status(302, &[("location", "/b")], ""),
        status(302, &[("location", "/c")], ""),
    ]);
    let mut source = fake.source(URL).with_config(exact().with_max_redirects(2));
    assert_eq!(
        run(&mut source, 5).await,
        ["error more than 2 redirects", "end"]
    );

    let fake = Fake::new([status(301, &[], "")]);
    let mut source = fake.source(URL);
    assert!(matches!(
        source.next().await,
        Some(Err(Error::InvalidRedirect { .. }))
    ));
}

#[tokio::test(start_paused = true)]
async fn an_empty_id_resets_the_last_event_id_so_none_is_sent() {
    let fake = Fake::new([
        stream(&["id: 5\ndata: a\n\n"]),
        stream(&["id\ndata: b\n\n"]),
        stream(&["data: c\n\n"]),
    ]);
    let mut source = fake.source(URL).with_config(exact());
    let _ = run(&mut source, 20).await;
    assert_eq!(fake.last_event_ids(), [None, Some("5".into()), None, None]);
}

#[tokio::test(start_paused = true)]
async fn a_seeded_last_event_id_is_sent_on_the_first_request() {
    let fake = Fake::new([stream(&["data: a\n\n"])]);
    let config = exact().with_last_event_id(99u64);
    let mut source = fake.source(URL).with_config(config);
    assert_eq!(source.last_event_id(), "99");
    let items = run(&mut source, 20).await;
    assert_eq!(items[0], "open 99");
    assert_eq!(
        fake.last_event_ids(),
        [Some("99".into()), Some("99".into())]
    );
}

#[tokio::test(start_paused = true)]
async fn a_silent_connection_is_dropped_after_the_idle_timeout() {
    let fake = Fake::new([open(&["id: 1\ndata: a\n\n"]), open(&["data: b\n\n"])]);
    let config = exact().with_idle_timeout(Some(Duration::from_secs(10)));
    let mut source = fake.source(URL).with_config(config);
    let start = tokio::time::Instant::now();
    let items = run(&mut source, 5).await;
    assert_eq!(
        items,
        [
            "open ",
            "event message 1 a",
            "retry no data within the idle timeout 3000",
            "open 1",
            "event message 1 b"
        ]
    );
    assert_eq!(start.elapsed(), Duration::from_secs(13));
}

#[tokio::test(start_paused = true)]
async fn keep_alive_comments_hold_the_idle_timeout_off() {
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let fake = Fake::new([Reply::Channel(rx)]);
    let config = exact().with_idle_timeout(Some(Duration::from_secs(10)));
    let mut source = fake.source(URL).with_config(config);
    let sender = tokio::spawn(async move {
        // 70 minutes of keep-alives: an idle timeout, never a total timeout.
        for _ in 0..600 {
            tokio::time::sleep(Duration::from_secs(7)).await;
            tx.send(":\n".into()).unwrap();
        }
        tx.send("data: done\n\n".into()).unwrap();
        std::future::pending::<()>().await;
    });
    let items = run(&mut source, 2).await;
    assert_eq!(items, ["open ", "event message  done"]);
    assert_eq!(source.stats().bytes, 600 * 2 + 12);
    assert_eq!(source.stats().connects, 1);
    sender.abort();
}

#[tokio::test(start_paused = true)]
async fn a_response_head_that_never_comes_hits_the_idle_timeout() {
    let fake = Fake::new([Reply::Hang, open(&["data: a\n\n"])]);
    let config = exact().with_idle_timeout(Some(Duration::from_secs(5)));
    let mut source = fake.source(URL).with_config(config);
    let items = run(&mut source, 3).await;
    assert_eq!(
        items,
        [
            "retry no data within the idle timeout 3000",
            "open ",
            "event message  a"
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn an_oversized_line_is_skipped_without_buffering_and_the_stream_goes_on() {
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let fake = Fake::new([Reply::Channel(rx)]);
    let config = exact().with_max_line_size(1024);
    let mut source = fake.source(URL).with_config(config);
    tx.send("data: ".into()).unwrap();
    for _ in 0..1000 {
        tx.send(bytes::Bytes::from(vec![b'x'; 64 * 1024])).unwrap();
    }
    tx.send("\n\ndata: after\n\n".into()).unwrap();
    let items = run(&mut source, 3).await;
    assert_eq!(items[0], "open ");
    assert!(
        items[1].starts_with("skipped line too long: more than 1024 bytes"),
        "{items:?}"
    );
    assert_eq!(items[2], "event message  after");
}

#[tokio::test(start_paused = true)]
async fn each_connect_is_an_open_item_and_state_is_observable() {
    let fake = Fake::new([stream(&["data: a\n\n"]), stream(&["data: b\n\n"])]);
    let mut source = fake.source(URL).with_config(exact());
    let mut states = vec![];
    while let Some(item) = source.next().await {
        let label = match item.unwrap() {
            Item::Open(_) => "open",
            Item::Event(_) => "event",
            Item::Retrying(r) => {
                assert!(matches!(r.cause, RetryCause::EndOfStream));
                "retrying"
            }
            _ => "other",
        };
        states.push((label, source.ready_state()));
    }
    use ReadyState::*;
    assert_eq!(
        states,
        [
            ("open", Open),
            ("event", Open),
            ("retrying", Connecting),
            ("open", Open),
            ("event", Open),
            ("retrying", Connecting)
        ]
    );
    assert_eq!(source.ready_state(), Closed);
    let stats = source.stats();
    assert_eq!((stats.connects, stats.events, stats.bytes), (2, 2, 18));
}

#[tokio::test(start_paused = true)]
async fn hub_notices_like_lagged_and_history_lost_are_events_like_any_other() {
    let fake = Fake::new([stream(&[
        "event: lagged\ndata: {\"missed\":3}\n\n",
        "event: history-lost\nid: 9\ndata: \n\n",
    ])]);
    let mut source = fake.source(URL).with_config(exact());
    assert_eq!(
        run(&mut source, 3).await,
        [
            "open ",
            "event lagged  {\"missed\":3}",
            "event history-lost 9 "
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn close_stops_the_stream() {
    let fake = Fake::new([open(&["data: a\n\n"])]);
    let mut source = fake.source(URL);
    assert!(source.next().await.is_some());
    source.close();
    assert_eq!(source.ready_state(), ReadyState::Closed);
    assert!(source.next().await.is_none());
}

#[tokio::test(start_paused = true)]
async fn a_relative_uri_is_an_error() {
    let fake = Fake::new([]);
    let mut source = fake.source("/events");
    assert!(matches!(
        source.next().await,
        Some(Err(Error::InvalidUri(_)))
    ));
    assert!(fake.requests().is_empty());
}
