//! Protecting an event stream: authenticate at connect, authorize the topic, cap the
//! connections, and keep secrets out of the logs.
//!
//! ```text
//! cargo run -p ssewire-examples --features auth --example auth   # http://127.0.0.1:3002/
//! ```
//!
//! A browser's `EventSource` cannot set headers (no `Authorization`), so there are two
//! sound ways to authenticate it, both checked **before the response starts** (an
//! error is then a plain 401/403, never a stream):
//!
//! 1. **A cookie session.** `POST /login` sets `session=...; HttpOnly; SameSite=Lax`
//!    and the browser sends it with the `EventSource` request (same origin: nothing
//!    to do). Cross-origin, the page must open `new EventSource(url, {
//!    withCredentials: true })`, the server must answer with
//!    `Access-Control-Allow-Origin: <that exact origin>` and
//!    `Access-Control-Allow-Credentials: true` (see [`ALLOWED_ORIGIN`]), and the
//!    cookie needs `SameSite=None; Secure` (so HTTPS). `SameSite=Lax` keeps other
//!    sites from opening the stream with the user's cookie.
//! 2. **A short-lived signed token in the query string**: the page gets one from an
//!    authenticated API call (`GET /token`, here with the cookie; in an app, the API's
//!    usual `Authorization`), then opens `/events/news?token=...`. The token is an
//!    HMAC-SHA256 over the user and an expiry ([`TOKEN_LIFETIME`], one minute): it
//!    only has to live long enough to connect. A URL ends up in access logs, proxy
//!    logs and browser history: the access log here ([`access_log_line`]) writes the
//!    path without the query, and so should every proxy in front (nginx: log `$uri`,
//!    not `$request` or `$request_uri`).
//!
//! Then, for every connection:
//!
//! - **Authorize the topic before subscribing.** The topic comes from the route and
//!   the authenticated user ([`may_read`]), never from `Last-Event-ID`: that header
//!   (client-controlled, and sent again on every reconnect) only positions the
//!   subscriber *inside* the topic it was given, so a replay can never cross into a
//!   topic the user may not read.
//! - **Cap the connections** per user and in total ([`ssewire::ConnectionLimiter`]),
//!   and the hub's subscribers: past a cap the client gets 429 or 503 with
//!   `Retry-After`, never 204.
//!
//! When a token expires, the browser's own reconnect (same URL, same token) gets a
//! 401 and `EventSource` gives up for good (any non-200 does): the page gets a fresh
//! token and opens a new `EventSource`. A new `EventSource` does not send
//! `Last-Event-ID`, so the page passes the last id it saw as `?last_id=`; the server
//! reads it like the header, in the topic the route names. The page at `/` does all
//! of that.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::extract::{Path, Request, State};
use axum::http::header::{
    ACCESS_CONTROL_ALLOW_CREDENTIALS, ACCESS_CONTROL_ALLOW_ORIGIN, CACHE_CONTROL, COOKIE, ORIGIN,
    SET_COOKIE, VARY, WWW_AUTHENTICATE,
};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use ring::hmac;
use ring::rand::{SecureRandom, SystemRandom};
use ssewire::hub::{Config, Hub};
use ssewire::{ConnectionLimiter, Event, EventId, KeepAlive, Limits};

/// How long a token lets its holder connect.
pub const TOKEN_LIFETIME: Duration = Duration::from_secs(60);
/// Another origin whose pages may open the stream with the user's cookie
/// (`withCredentials`); any other origin gets no CORS headers, so its page cannot
/// read the response.
pub const ALLOWED_ORIGIN: &str = "http://localhost:5173";
/// Streams one user may keep open at once (tabs, devices).
pub const MAX_PER_USER: usize = 3;
/// Streams open at once on this server.
pub const MAX_CONNECTIONS: usize = 10_000;

/// The server's state: the hub, the token key, the sessions, the limiter.
#[derive(Clone)]
pub struct App {
    pub hub: Hub,
    pub limiter: ConnectionLimiter<String>,
    key: hmac::Key,
    sessions: Arc<Mutex<HashMap<String, String>>>,
    rng: SystemRandom,
    keep_alive: KeepAlive,
}

impl App {
    /// A server whose tokens are signed with `secret` (in production: at least 32
    /// random bytes from your secret store, shared by every node).
    pub fn new(secret: &[u8], hub: Hub, limits: Limits) -> Self {
        App {
            hub,
            limiter: ConnectionLimiter::new(limits),
            key: hmac::Key::new(hmac::HMAC_SHA256, secret),
            sessions: Arc::default(),
            rng: SystemRandom::new(),
            keep_alive: KeepAlive::tokio(),
        }
    }

    /// A token that lets `user` connect until `expires` (seconds since the Unix
    /// epoch): `user.expires.signature`.
    pub fn sign_token(&self, user: &str, expires: u64) -> String {
        let tag = hmac::sign(&self.key, token_message(user, expires).as_bytes());
        format!("{user}.{expires}.{}", hex(tag.as_ref()))
    }

    /// The user a token names, if its signature is right and it has not expired.
    fn verify_token(&self, token: &str) -> Result<String, Denied> {
        let mut parts = token.splitn(3, '.');
        let (Some(user), Some(expires), Some(signature)) =
            (parts.next(), parts.next(), parts.next())
        else {
            return Err(Denied::BadToken);
        };
        let expires: u64 = expires.parse().map_err(|_| Denied::BadToken)?;
        let signature = unhex(signature).ok_or(Denied::BadToken)?;
        // Constant-time comparison, inside ring.
        hmac::verify(
            &self.key,
            token_message(user, expires).as_bytes(),
            &signature,
        )
        .map_err(|_| Denied::BadToken)?;
        if expires <= now_secs() {
            return Err(Denied::Expired);
        }
        Ok(user.to_owned())
    }

    /// Who is asking: the token in the query if there is one (a bad token is an
    /// error, never a fallback to the cookie), else the session cookie.
    fn authenticate(&self, headers: &HeaderMap, uri: &Uri) -> Result<String, Denied> {
        if let Some(token) = query_param(uri, "token") {
            return self.verify_token(token);
        }
        let session = session_cookie(headers).ok_or(Denied::NoCredentials)?;
        let sessions = self.sessions.lock().unwrap_or_else(|e| e.into_inner());
        sessions.get(session).cloned().ok_or(Denied::BadSession)
    }

    fn random_hex(&self, bytes: usize) -> String {
        let mut buf = vec![0u8; bytes];
        // SystemRandom only fails if the OS has no random source at all.
        self.rng.fill(&mut buf).expect("the OS random source");
        hex(&buf)
    }
}

/// Who may read what: everyone reads `news`; each user reads their own topic.
pub fn may_read(user: &str, topic: &str) -> bool {
    topic == "news" || topic == user
}

/// The routes: `/` (the page), `POST /login`, `GET /token`, `GET /events/{topic}`,
/// behind an access log that never writes a query string.
pub fn router(app: App) -> Router {
    Router::new()
        .route("/", get(page))
        .route("/login", post(login))
        .route("/token", get(token))
        .route("/events/{topic}", get(events))
        .layer(middleware::from_fn(access_log))
        .with_state(app)
}

/// Why a request was not let in (answered before any event).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Denied {
    NoCredentials,
    BadToken,
    Expired,
    BadSession,
    Forbidden,
}

impl IntoResponse for Denied {
    fn into_response(self) -> Response {
        let (status, text) = match self {
            Denied::NoCredentials => (StatusCode::UNAUTHORIZED, "log in, or pass ?token="),
            Denied::BadToken => (StatusCode::UNAUTHORIZED, "invalid token"),
            Denied::Expired => (StatusCode::UNAUTHORIZED, "token expired"),
            Denied::BadSession => (StatusCode::UNAUTHORIZED, "unknown session"),
            Denied::Forbidden => (StatusCode::FORBIDDEN, "not your topic"),
        };
        let mut response = (status, format!("{text}\n")).into_response();
        let headers = response.headers_mut();
        if status == StatusCode::UNAUTHORIZED {
            headers.insert(
                WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"events\""),
            );
        }
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
        response
    }
}

/// `GET /events/{topic}[?token=...][&last_id=...]`: authenticate, authorize the
/// topic, count the connection, then subscribe. Everything that can refuse happens
/// before the response starts.
async fn events(
    State(app): State<App>,
    Path(topic): Path<String>,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    let user = match app.authenticate(&headers, &uri) {
        Ok(user) => user,
        Err(denied) => return denied.into_response(),
    };
    // The topic is the route's, checked against the user: never taken from the id.
    if !may_read(&user, &topic) {
        return Denied::Forbidden.into_response();
    }
    let permit = match app.limiter.try_acquire(user) {
        Ok(permit) => permit,
        Err(refused) => return refused.into_response(), // 429 or 503, Retry-After
    };
    // Last-Event-ID (the browser's reconnect) or ?last_id= (a new EventSource after a
    // token refresh): a position inside this topic, nothing more. A malformed one
    // counts as none.
    let last_id: Option<EventId> = match ssewire::last_event_id(&headers).ok().flatten() {
        Some(id) => Some(id),
        None => query_param(&uri, "last_id").and_then(|text| EventId::new(text).ok()),
    };
    let subscriber = match app.hub.topic(&topic).try_subscribe(last_id.as_ref()) {
        Ok(subscriber) => subscriber,
        Err(refused) => return refused.into_response(),
    };
    let mut response = subscriber
        .into_body()
        .with_keep_alive(app.keep_alive.clone())
        .with_permit(permit)
        .into_response();
    allow_credentialed_origin(&headers, response.headers_mut());
    response
}

/// CORS for a page of [`ALLOWED_ORIGIN`] that opens the stream with
/// `withCredentials: true`: the exact origin (never `*` with credentials), and
/// `Vary: Origin` so that caches keep the answers apart.
fn allow_credentialed_origin(request: &HeaderMap, response: &mut HeaderMap) {
    response.insert(VARY, HeaderValue::from_static("origin"));
    if request
        .get(ORIGIN)
        .is_some_and(|origin| origin == ALLOWED_ORIGIN)
    {
        response.insert(
            ACCESS_CONTROL_ALLOW_ORIGIN,
            HeaderValue::from_static(ALLOWED_ORIGIN),
        );
        response.insert(
            ACCESS_CONTROL_ALLOW_CREDENTIALS,
            HeaderValue::from_static("true"),
        );
    }
}

/// `POST /login` with the body `user=NAME`: starts a session (no password in this
/// example: check one here). The cookie is `HttpOnly` (no script reads it) and
/// `SameSite=Lax` (other sites' requests do not carry it); behind HTTPS add
/// `Secure`, and for a cross-site page `SameSite=None; Secure`.
async fn login(State(app): State<App>, body: String) -> Response {
    let Some(user) = body.strip_prefix("user=").filter(|u| valid_user(u)) else {
        return (StatusCode::BAD_REQUEST, "user=NAME (a-z, 0-9, -)\n").into_response();
    };
    let session = app.random_hex(32);
    app.sessions
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(session.clone(), user.to_owned());
    let cookie = format!("session={session}; Path=/; HttpOnly; SameSite=Lax");
    let mut response = (StatusCode::NO_CONTENT, ()).into_response();
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(SET_COOKIE, value);
    }
    response
}

/// `GET /token`: a token for the logged-in user, valid for [`TOKEN_LIFETIME`].
async fn token(State(app): State<App>, headers: HeaderMap) -> Response {
    let Some(user) = session_cookie(&headers).and_then(|session| {
        let sessions = app.sessions.lock().unwrap_or_else(|e| e.into_inner());
        sessions.get(session).cloned()
    }) else {
        return Denied::NoCredentials.into_response();
    };
    let token = app.sign_token(&user, now_secs() + TOKEN_LIFETIME.as_secs());
    ([(CACHE_CONTROL, "no-store")], token).into_response()
}

/// Logs every request, without its query string (where tokens travel).
async fn access_log(request: Request, next: Next) -> Response {
    let method = request.method().clone();
    let uri = request.uri().clone();
    let response = next.run(request).await;
    // For an event stream this is logged when the response starts, not when it ends.
    eprintln!("{}", access_log_line(&method, &uri, response.status()));
    response
}

/// One access-log line: method, path (never the query) and status.
pub fn access_log_line(method: &Method, uri: &Uri, status: StatusCode) -> String {
    format!("{method} {} {}", uri.path(), status.as_u16())
}

fn token_message(user: &str, expires: u64) -> String {
    format!("sse-token|{user}|{expires}")
}

fn valid_user(user: &str) -> bool {
    !user.is_empty()
        && user.len() <= 32
        && user
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

fn session_cookie(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .find_map(|pair| pair.trim().strip_prefix("session="))
}

/// A query parameter's raw value (the values here are URL-safe: no decoding).
fn query_param<'a>(uri: &'a Uri, name: &str) -> Option<&'a str> {
    uri.query()?
        .split('&')
        .find_map(|pair| pair.strip_prefix(name)?.strip_prefix('='))
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_secs())
}

fn hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut out, b| {
            let _ = write!(out, "{b:02x}");
            out
        })
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

async fn page() -> Html<&'static str> {
    Html(PAGE)
}

const PAGE: &str = r#"<!doctype html>
<meta charset="utf-8">
<title>ssewire: authenticated event stream</title>
<form id="login"><input name="user" value="alice"> <button>Log in</button></form>
<p><button id="cookie">Stream news (cookie)</button>
<button id="token">Stream my topic (token)</button></p>
<pre id="log"></pre>
<script>
const log = (line) => { document.getElementById("log").textContent += line + "\n"; };
document.getElementById("login").onsubmit = async (e) => {
  e.preventDefault();
  const user = new FormData(e.target).get("user");
  const res = await fetch("/login", { method: "POST", body: "user=" + user });
  log(res.ok ? "logged in as " + user : "login failed");
};

// Keeps a stream open across refusals (429/503), expired tokens and restarts.
// EventSource gives up for good on any non-200 (readyState CLOSED); it only retries
// by itself after network errors and a clean end (readyState CONNECTING).
function follow(makeUrl, delay = 1000) {
  let lastId = "";
  const open = async () => {
    const source = new EventSource(await makeUrl(lastId));
    source.onopen = () => { delay = 1000; log("open"); };
    source.onmessage = (e) => { lastId = e.lastEventId; log(e.lastEventId + ": " + e.data); };
    source.onerror = () => {
      if (source.readyState !== EventSource.CLOSED) return; // retrying by itself
      source.close();
      const wait = delay / 2 + Math.random() * delay; // jitter
      delay = Math.min(delay * 2, 60000);
      log("refused or expired: again in " + Math.round(wait) + " ms");
      setTimeout(open, wait);
    };
  };
  open();
}

document.getElementById("cookie").onclick = () =>
  follow(async (lastId) => "/events/news" + (lastId ? "?last_id=" + encodeURIComponent(lastId) : ""));
document.getElementById("token").onclick = () =>
  follow(async (lastId) => {
    const token = await (await fetch("/token")).text();
    const user = token.split(".")[0];
    return "/events/" + user + "?token=" + encodeURIComponent(token)
      + (lastId ? "&last_id=" + encodeURIComponent(lastId) : "");
  });
</script>
"#;

#[tokio::main]
async fn main() {
    let listener = match tokio::net::TcpListener::bind(("127.0.0.1", 3002)).await {
        Ok(listener) => listener,
        Err(e) => {
            eprintln!("cannot listen on 127.0.0.1:3002: {e}");
            std::process::exit(1);
        }
    };
    // A fresh secret per run (every token dies with the server); in production, read
    // it from your secret store so that every node accepts the same tokens.
    let mut secret = [0u8; 32];
    SystemRandom::new()
        .fill(&mut secret)
        .expect("the OS random source");
    let hub = Hub::new(
        Config::new()
            .with_max_subscribers(MAX_CONNECTIONS)
            .with_max_topic_subscribers(MAX_CONNECTIONS),
    );
    let limits = Limits::new()
        .with_max_connections(MAX_CONNECTIONS)
        .with_max_per_key(MAX_PER_USER);
    let app = App::new(&secret, hub.clone(), limits);

    // Something to read: news for everyone, a private line per user.
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(2));
        for n in 0u64.. {
            tick.tick().await;
            hub.publish("news", Event::with_data(format!("news #{n}")));
            for user in ["alice", "bob"] {
                hub.publish(user, Event::with_data(format!("private to {user}: #{n}")));
            }
        }
    });
    eprintln!("http://127.0.0.1:3002/ (log in as alice or bob)");
    if let Err(e) = axum::serve(listener, router(app)).await {
        eprintln!("server error: {e}");
    }
}
