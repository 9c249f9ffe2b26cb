//! `examples/auth.rs` over a real socket: no, invalid or expired credentials get a
//! 401 (and another user's topic a 403) before any event; a valid token or a cookie
//! session gets the stream; a `Last-Event-ID` from another topic never replays that
//! topic; the per-user cap answers 429; the access log never holds the token.

use std::net::SocketAddr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::http::{Method, StatusCode, Uri};
use ssewire::hub::{Config, Hub};
use ssewire::{Event, Limits};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

#[path = "../examples/auth.rs"]
#[allow(dead_code)]
mod auth;

#[path = "common/raw_http.rs"]
mod raw_http;
use raw_http::{open, wait_for, Opened};

const SECRET: &[u8] = b"a test secret, thirty-two bytes!";

async fn serve(limits: Limits) -> (SocketAddr, auth::App) {
    let hub = Hub::new(Config::new().with_first_id(1));
    let app = auth::App::new(SECRET, hub, limits);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let router = auth::router(app.clone());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    (addr, app)
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn assert_denied(opened: &Opened, status: u16, text: &str) {
    assert_eq!(opened.status, status, "{:?}", opened.headers);
    assert_ne!(opened.header("content-type"), Some("text/event-stream"));
    assert_eq!(opened.header("cache-control"), Some("no-store"));
    let body = String::from_utf8_lossy(&opened.rest);
    assert!(body.contains(text), "{body:?}");
    assert!(!body.contains("data:"), "an event before auth: {body:?}");
}

fn assert_streaming(opened: &Opened) {
    assert_eq!(opened.status, 200, "{:?}", opened.headers);
    assert_eq!(opened.header("content-type"), Some("text/event-stream"));
}

/// `POST /login` with `user=NAME`; returns the `session=...` cookie pair.
async fn login(addr: SocketAddr, user: &str) -> String {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let body = format!("user={user}");
    let request = format!(
        "POST /login HTTP/1.1\r\nhost: test\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    assert!(response.starts_with("HTTP/1.1 204"), "{response}");
    let cookie = response
        .lines()
        .find_map(|l| l.strip_prefix("set-cookie: "))
        .expect("a session cookie");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    cookie.split(';').next().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_or_missing_credentials_are_refused_before_any_event() {
    let (addr, app) = serve(Limits::new()).await;
    app.hub.publish("news", Event::with_data("for members"));

    assert_denied(&open(addr, &[], "/events/news").await, 401, "log in");
    let valid = app.sign_token("alice", now() + 60);
    // Tampered: another user under alice's signature; a truncated signature; garbage.
    let forged = valid.replacen("alice", "bob", 1);
    let truncated = &valid[..valid.len() - 2];
    for token in [
        forged.as_str(),
        truncated,
        "nonsense",
        "alice.9999999999.zz",
    ] {
        let path = format!("/events/news?token={token}");
        assert_denied(&open(addr, &[], &path).await, 401, "invalid token");
    }
    let expired = app.sign_token("alice", now() - 1);
    let path = format!("/events/news?token={expired}");
    assert_denied(&open(addr, &[], &path).await, 401, "token expired");
    // A bad token is not saved by a good cookie.
    let cookie = login(addr, "alice").await;
    let opened = open(addr, &[("cookie", &cookie)], "/events/news?token=nonsense").await;
    assert_denied(&opened, 401, "invalid token");
    // Unknown session.
    let opened = open(addr, &[("cookie", "session=00ff")], "/events/news").await;
    assert_denied(&opened, 401, "unknown session");
    // Authenticated, but another user's topic.
    let path = format!("/events/bob?token={valid}");
    assert_denied(&open(addr, &[], &path).await, 403, "not your topic");
    let opened = open(addr, &[("cookie", &cookie)], "/events/bob").await;
    assert_denied(&opened, 403, "not your topic");
    assert_eq!(app.hub.stats().subscribed, 0, "nobody was subscribed");
    assert_eq!(app.limiter.open(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_valid_token_or_a_cookie_session_gets_the_stream() {
    let (addr, app) = serve(Limits::new()).await;
    let token = app.sign_token("alice", now() + 60);
    let mut by_token = open(addr, &[], &format!("/events/alice?token={token}")).await;
    assert_streaming(&by_token);

    let cookie = login(addr, "bob").await;
    let mut by_cookie = open(addr, &[("cookie", &cookie)], "/events/news").await;
    assert_streaming(&by_cookie);
    // Same origin needs no CORS; the allowed other origin gets credentialed CORS.
    assert_eq!(by_cookie.header("access-control-allow-origin"), None);
    let cors = open(
        addr,
        &[("cookie", &cookie), ("origin", auth::ALLOWED_ORIGIN)],
        "/events/news",
    )
    .await;
    assert_streaming(&cors);
    assert_eq!(
        cors.header("access-control-allow-origin"),
        Some(auth::ALLOWED_ORIGIN)
    );
    assert_eq!(
        cors.header("access-control-allow-credentials"),
        Some("true")
    );
    let other = open(
        addr,
        &[("cookie", &cookie), ("origin", "https://evil.example")],
        "/events/news",
    )
    .await;
    assert_eq!(other.header("access-control-allow-origin"), None);

    drop((cors, other));
    wait_for("two subscribers", || app.hub.stats().subscribers == 2).await;
    app.hub.publish("alice", Event::with_data("hello alice"));
    app.hub.publish("news", Event::with_data("hello everyone"));
    by_token.read_until("data: hello alice").await;
    by_cookie.read_until("data: hello everyone").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_last_event_id_from_another_topic_never_replays_it() {
    let (addr, app) = serve(Limits::new()).await;
    // Both topics number their events from 1: ids collide across topics.
    for n in 1..=3 {
        app.hub
            .publish("bob", Event::with_data(format!("bob secret {n}")));
    }
    for n in 1..=3 {
        app.hub
            .publish("alice", Event::with_data(format!("alice note {n}")));
    }
    let token = app.sign_token("alice", now() + 60);
    let path = format!("/events/alice?token={token}");

    // An id bob saw ("1"), sent by alice on her own topic: positions her in *her*
    // topic (after her event 1); bob's events stay in bob's topic.
    let mut resumed = open(addr, &[("last-event-id", "1")], &path).await;
    assert_streaming(&resumed);
    let seen = resumed.read_until("data: alice note 3").await;
    assert!(seen.contains("data: alice note 2"), "{seen:?}");
    assert!(!seen.contains("alice note 1"), "{seen:?}");
    // The same through ?last_id= (a new EventSource after a token refresh), and an
    // id that names the other topic.
    let mut by_query = open(addr, &[], &format!("{path}&last_id=1")).await;
    by_query.read_until("data: alice note 3").await;
    let mut named = open(addr, &[("last-event-id", "bob:2")], &path).await;
    assert_streaming(&named);
    let notice = named.read_until("event: history-lost").await;
    app.hub.publish("alice", Event::with_data("alice note 4"));
    app.hub.publish("bob", Event::with_data("bob secret 4"));
    for stream in [&mut resumed, &mut by_query, &mut named] {
        let seen = stream.read_until("data: alice note 4").await;
        assert!(!seen.contains("bob"), "bob's topic leaked: {seen:?}");
    }
    assert!(!notice.contains("bob secret"), "{notice:?}");
    // Alice cannot ask for bob's topic whatever the id.
    let path = format!("/events/bob?token={token}");
    assert_denied(
        &open(addr, &[("last-event-id", "1")], &path).await,
        403,
        "not your topic",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_per_user_cap_answers_429_and_a_closed_stream_frees_its_place() {
    let limits = Limits::new()
        .with_max_per_key(2)
        .with_retry_after(Duration::from_secs(4))
        .with_retry_jitter(Duration::ZERO);
    let (addr, app) = serve(limits).await;
    let token = app.sign_token("alice", now() + 60);
    let path = format!("/events/news?token={token}");
    let first = open(addr, &[], &path).await;
    let second = open(addr, &[], &path).await;
    assert_streaming(&first);
    assert_streaming(&second);
    let refused = open(addr, &[], &path).await;
    assert_eq!(refused.status, 429);
    assert_eq!(refused.header("retry-after"), Some("4"));
    // Another user is not affected.
    let bob = app.sign_token("bob", now() + 60);
    assert_streaming(&open(addr, &[], &format!("/events/news?token={bob}")).await);
    first.reset();
    wait_for("alice's place", || app.limiter.open_for("alice") == 1).await;
    assert_streaming(&open(addr, &[], &path).await);
}

#[test]
fn the_access_log_never_holds_the_query() {
    let uri: Uri = "/events/news?token=alice.123.abcdef&last_id=7"
        .parse()
        .unwrap();
    let line = auth::access_log_line(&Method::GET, &uri, StatusCode::OK);
    assert_eq!(line, "GET /events/news 200");
}
