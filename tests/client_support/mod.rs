//! A scripted fake transport for the client's tests (no network).
#![allow(dead_code)]

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use futures_util::{stream, StreamExt};
use ssewire::client::{BodyStream, BoxError, EventSource, Item, ResponseFuture, Transport};

/// What the fake answers to one request.
pub enum Reply {
    /// A response: status, headers, body chunks, and whether the body then ends
    /// (`true`) or stays open forever.
    Response(u16, Vec<(&'static str, String)>, Vec<Bytes>, bool),
    /// A body from a channel: ends when the sender is dropped.
    Channel(tokio::sync::mpsc::UnboundedReceiver<Bytes>),
    /// A transport error (connection refused).
    Error(&'static str),
    /// The response head never comes.
    Hang,
}

/// A stream response that ends after `chunks`.
pub fn stream(chunks: &[&str]) -> Reply {
    Reply::Response(200, event_stream(), to_bytes(chunks), true)
}

/// A stream response that stays open after `chunks`.
pub fn open(chunks: &[&str]) -> Reply {
    Reply::Response(200, event_stream(), to_bytes(chunks), false)
}

pub fn status(code: u16, headers: &[(&'static str, &str)], body: &str) -> Reply {
    Reply::Response(
        code,
        headers.iter().map(|(k, v)| (*k, v.to_string())).collect(),
        to_bytes(&[body]),
        true,
    )
}

fn event_stream() -> Vec<(&'static str, String)> {
    vec![("content-type", "text/event-stream".into())]
}

fn to_bytes(chunks: &[&str]) -> Vec<Bytes> {
    chunks
        .iter()
        .filter(|c| !c.is_empty())
        .map(|c| Bytes::copy_from_slice(c.as_bytes()))
        .collect()
}

/// The fake: answers from its script (then 204), records every request.
#[derive(Clone, Default)]
pub struct Fake {
    script: Arc<Mutex<VecDeque<Reply>>>,
    requests: Arc<Mutex<Vec<http::Request<()>>>>,
}

impl Fake {
    pub fn new(script: impl IntoIterator<Item = Reply>) -> Self {
        Fake {
            script: Arc::new(Mutex::new(script.into_iter().collect())),
            requests: Arc::default(),
        }
    }

    pub fn requests(&self) -> Vec<http::Request<()>> {
        self.requests
            .lock()
            .unwrap()
            .iter()
            .map(|r| {
                let mut copy = http::Request::new(());
                *copy.uri_mut() = r.uri().clone();
                *copy.headers_mut() = r.headers().clone();
                copy
            })
            .collect()
    }

    /// The `Last-Event-ID` of each request (`None`: not sent).
    pub fn last_event_ids(&self) -> Vec<Option<String>> {
        self.requests()
            .iter()
            .map(|r| {
                r.headers()
                    .get("last-event-id")
                    .map(|v| v.to_str().unwrap().to_owned())
            })
            .collect()
    }

    pub fn source(&self, uri: &str) -> EventSource {
        EventSource::new(uri.parse().unwrap(), self.clone(), ssewire::TokioTimer)
    }
}

impl Transport for Fake {
    fn send(&self, request: http::Request<()>) -> ResponseFuture {
        self.requests.lock().unwrap().push(request);
        let reply = self
            .script
            .lock()
            .unwrap()
            .pop_front()
            .unwrap_or_else(|| status(204, &[], ""));
        Box::pin(async move {
            let (code, headers, body): (u16, Vec<(&str, String)>, BodyStream) = match reply {
                Reply::Response(code, headers, chunks, ends) => {
                    let chunks = stream::iter(chunks.into_iter().map(Ok::<_, BoxError>));
                    let body: BodyStream = if ends {
                        Box::pin(chunks)
                    } else {
                        Box::pin(chunks.chain(stream::pending()))
                    };
                    (code, headers, body)
                }
                Reply::Channel(mut rx) => {
                    let body = stream::poll_fn(move |cx| rx.poll_recv(cx).map(|o| o.map(Ok)));
                    (200, event_stream(), Box::pin(body))
                }
                Reply::Error(message) => return Err(message.into()),
                Reply::Hang => std::future::pending().await,
            };
            let mut response = http::Response::new(body);
            *response.status_mut() = http::StatusCode::from_u16(code).unwrap();
            for (k, v) in headers {
                response.headers_mut().insert(k, v.parse().unwrap());
            }
            Ok(response)
        })
    }
}

/// One line per item: `open <last-event-id>`, `event <type> <id> <data>`,
/// `retry <cause> <delay ms>`, `skipped <error>`, `error <error>`; `end` at the end.
pub async fn run(source: &mut EventSource, limit: usize) -> Vec<String> {
    let mut out = vec![];
    while out.len() < limit {
        let Some(item) = source.next().await else {
            out.push("end".into());
            break;
        };
        out.push(match item {
            Ok(Item::Open(open)) => format!("open {}", open.last_event_id),
            Ok(Item::Event(e)) => format!(
                "event {} {} {}",
                e.event_type(),
                e.last_event_id(),
                e.data()
            ),
            Ok(Item::Retrying(r)) => format!("retry {} {}", r.cause, r.delay.as_millis()),
            Ok(Item::Skipped(e)) => format!("skipped {e}"),
            Ok(_) => "other".into(),
            Err(e) => format!("error {e}"),
        });
    }
    out
}
