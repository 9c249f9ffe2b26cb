//! The server: hyper with ssewire's body adapter and HTTP helpers on a random
//! loopback port, and its routes.

use super::*;

/// How the test server is reached.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transport {
    /// Plain HTTP/1.1.
    Http1,
    /// TLS with a fresh self-signed certificate, ALPN `h2` then `http/1.1`: browsers
    /// speak HTTP/2 only over TLS.
    Tls,
}

/// The keep-alive interval of the test server: short, so that the pauses in the
/// scenarios fill with keep-alive comments.
pub const KEEP_ALIVE: Duration = Duration::from_millis(100);

/// A running test server. Dropping it stops accepting connections.
pub struct Server {
    pub addr: SocketAddr,
    /// `http://127.0.0.1:PORT` or `https://127.0.0.1:PORT`.
    pub origin: String,
    pub log: Arc<Log>,
    accept: JoinHandle<()>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

pub(crate) struct Shared {
    log: Arc<Log>,
    keep_alive: KeepAlive,
}

impl Server {
    /// Binds 127.0.0.1 on a random port and serves the scenarios.
    pub async fn start(transport: Transport) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().unwrap();
        let log = Arc::new(Log::default());
        let shared = Arc::new(Shared {
            log: log.clone(),
            keep_alive: KeepAlive::tokio().with_interval(KEEP_ALIVE),
        });
        let tls = match transport {
            Transport::Http1 => None,
            Transport::Tls => Some(tls_acceptor()),
        };
        let accept = tokio::spawn(async move {
            loop {
                let Ok((tcp, _)) = listener.accept().await else {
                    continue;
                };
                let shared = shared.clone();
                let tls = tls.clone();
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |req| {
                        let shared = shared.clone();
                        async move { Ok::<_, Infallible>(route(req, &shared)) }
                    });
                    let builder =
                        hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
                    // Connection errors (a browser going away mid-stream, a planned
                    // drop) are part of the scenarios; the clients report what matters.
                    match tls {
                        None => {
                            let _ = builder.serve_connection(TokioIo::new(tcp), service).await;
                        }
                        Some(acceptor) => {
                            let Ok(stream) = acceptor.accept(tcp).await else {
                                return;
                            };
                            let _ = builder
                                .serve_connection(TokioIo::new(stream), service)
                                .await;
                        }
                    }
                });
            }
        });
        let scheme = if transport == Transport::Tls {
            "https"
        } else {
            "http"
        };
        Server {
            addr,
            origin: format!("{scheme}://{addr}"),
            log,
            accept,
        }
    }

    /// The URL of the recording page, reading `src` with an `EventSource` that listens
    /// for the given named types (besides `message`) and closes on `done`.
    pub fn page_url(&self, src: &str, types: &[&str]) -> String {
        format!(
            "{}/page?src={}&types={}",
            self.origin,
            percent_encode(src),
            percent_encode(&types.join(","))
        )
    }

    pub fn url(&self, path_and_query: &str) -> String {
        format!("{}{}", self.origin, path_and_query)
    }
}

pub(crate) fn percent_encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~/".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

pub(crate) fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
                match u8::from_str_radix(hex, 16) {
                    Ok(b) => {
                        out.push(b);
                        i += 3;
                    }
                    Err(_) => {
                        out.push(b'%');
                        i += 1;
                    }
                }
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

pub(crate) fn parse_query(query: Option<&str>) -> HashMap<String, String> {
    query
        .unwrap_or("")
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

pub(crate) fn route(req: Request<Incoming>, shared: &Shared) -> Response<Body> {
    let path = req.uri().path().to_owned();
    let query = parse_query(req.uri().query());
    let raw = req
        .headers()
        .get(ssewire::LAST_EVENT_ID)
        .map(|v| v.as_bytes().to_vec());
    let last_event_id = ssewire::last_event_id(req.headers())
        .map(|id| id.map(|id| id.to_string()))
        .map_err(|e| e.to_string());
    let mut hit = Hit {
        path: path.clone(),
        query,
        version: req.version(),
        last_event_id_raw: raw,
        last_event_id,
        status: StatusCode::OK,
        at: Instant::now(),
        frames: AtomicUsize::new(0),
        keep_alives: AtomicUsize::new(0),
        dropped: Mutex::new(None),
    };
    let resume_from = hit.last_event_id.clone().ok().flatten();

    enum Answer {
        Page,
        Events,
        Resume(bool),
        Stop,
        NotFound,
    }
    let answer = match path.as_str() {
        "/page" => Answer::Page,
        "/sse/events" => Answer::Events,
        "/sse/resume" => {
            Answer::Resume(hit.query.get("ids").map(String::as_str) == Some("unicode"))
        }
        "/sse/stop" => Answer::Stop,
        _ => Answer::NotFound,
    };
    if matches!(answer, Answer::Stop) && resume_from.is_some() {
        hit.status = StatusCode::NO_CONTENT;
    }
    if matches!(answer, Answer::NotFound) {
        hit.status = StatusCode::NOT_FOUND;
    }
    let hit = Arc::new(hit);
    lock(&shared.log.hits).push(hit.clone());

    match answer {
        Answer::Page => {
            let mut res = Response::new(full(RECORDER_PAGE));
            res.headers_mut().insert(
                http::header::CONTENT_TYPE,
                "text/html; charset=utf-8".parse().unwrap(),
            );
            res
        }
        Answer::NotFound => {
            let mut res = Response::new(full("not found"));
            *res.status_mut() = StatusCode::NOT_FOUND;
            res
        }
        Answer::Events => {
            let steps = content_scenario().steps;
            let events = play(steps)
                .map(Ok::<_, Infallible>)
                .chain(stream::pending());
            sse(
                SseBody::new(events).with_keep_alive(shared.keep_alive.clone()),
                &hit,
                &shared.keep_alive,
            )
        }
        Answer::Resume(unicode) => {
            let ids = resume_ids(unicode);
            let start = resume_from
                .and_then(|id| ids.iter().position(|known| *known == id))
                .map_or(0, |i| i + 1);
            let events = resume_stream(ids, start, hit.clone());
            // The planned drop stands for a network failure: the server must cut the
            // connection, not end the body cleanly (the default for a stream error).
            sse(
                SseBody::new(events)
                    .with_keep_alive(shared.keep_alive.clone())
                    .with_abort_on_error(),
                &hit,
                &shared.keep_alive,
            )
        }
        Answer::Stop if hit.status == StatusCode::NO_CONTENT => ssewire::no_content_response(),
        Answer::Stop => {
            let dropped = hit.clone();
            let event = Event::new()
                .id(EventId::new("s1").unwrap())
                .retry(STOP_RETRY)
                .data("before 204");
            let events =
                stream::iter([Ok::<_, Infallible>(event)]).chain(stream::poll_fn(move |_| {
                    *lock(&dropped.dropped) = Some((Instant::now(), "end"));
                    std::task::Poll::Ready(None)
                }));
            sse(SseBody::new(events), &hit, &shared.keep_alive)
        }
    }
}

pub(crate) fn full(text: &'static str) -> Body {
    Full::new(Bytes::from_static(text.as_bytes()))
        .map_err(|never| match never {})
        .boxed_unsync()
}

/// An SSE response through `ssewire::sse_response`, whose body is the `SseBody`
/// itself (its `http_body::Body` impl), with a tap that counts frames and keep-alives.
pub(crate) fn sse<B>(body: B, hit: &Arc<Hit>, keep_alive: &KeepAlive) -> Response<Body>
where
    B: hyper::body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    let tap = hit.clone();
    let keep_alive_bytes = keep_alive.message().clone();
    let body = body
        .map_frame(move |frame| {
            if let Some(data) = frame.data_ref() {
                tap.frames.fetch_add(1, Ordering::Relaxed);
                if *data == keep_alive_bytes {
                    tap.keep_alives.fetch_add(1, Ordering::Relaxed);
                }
            }
            frame
        })
        .map_err(Into::into)
        .boxed_unsync();
    ssewire::sse_response(body)
}
