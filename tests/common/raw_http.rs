//! A raw HTTP/1.1 client for tests that look at the response head as sent: open a
//! connection, read the head, then read the body, close or reset (`#[path]`-included).
#![allow(dead_code)]

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

pub const WAIT: Duration = Duration::from_secs(20);

/// A response head read off a raw HTTP/1.1 connection, and the connection.
pub struct Opened {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    /// What followed the head in the same reads (the start of the body).
    pub rest: Vec<u8>,
    pub stream: TcpStream,
}

impl Opened {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Closes the connection with a TCP reset (SO_LINGER 0) instead of a FIN.
    pub fn reset(self) {
        self.stream.set_zero_linger().unwrap();
        drop(self.stream);
    }

    /// Reads the body until `text` has arrived (or fails after [`WAIT`]); returns all
    /// of the body read so far.
    pub async fn read_until(&mut self, text: &str) -> String {
        let start = Instant::now();
        loop {
            let seen = String::from_utf8_lossy(&self.rest).into_owned();
            if seen.contains(text) {
                return seen;
            }
            assert!(start.elapsed() < WAIT, "{text:?} never came: {seen:?}");
            let mut buf = [0u8; 4096];
            let n = tokio::time::timeout(WAIT, self.stream.read(&mut buf))
                .await
                .expect("the stream stalled")
                .unwrap();
            assert!(n > 0, "the stream ended before {text:?}: {seen:?}");
            self.rest.extend_from_slice(&buf[..n]);
        }
    }
}

/// Sends `GET path` with `headers` on a new connection and reads the response head.
pub async fn open(addr: SocketAddr, headers: &[(&str, &str)], path: &str) -> Opened {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let mut request = format!("GET {path} HTTP/1.1\r\nhost: test\r\naccept: text/event-stream\r\n");
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    let end = loop {
        if let Some(end) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
            break end;
        }
        let mut buf = [0u8; 4096];
        let n = tokio::time::timeout(WAIT, stream.read(&mut buf))
            .await
            .expect("no response head")
            .unwrap();
        assert!(n > 0, "connection closed before the head");
        raw.extend_from_slice(&buf[..n]);
    };
    let head = String::from_utf8(raw[..end].to_vec()).unwrap();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers = lines
        .map(|line| {
            let (name, value) = line.split_once(':').unwrap();
            (name.trim().to_owned(), value.trim().to_owned())
        })
        .collect();
    Opened {
        status,
        headers,
        rest: raw[end + 4..].to_vec(),
        stream,
    }
}

pub async fn wait_for(what: &str, mut check: impl FnMut() -> bool) {
    let start = Instant::now();
    while !check() {
        assert!(start.elapsed() < WAIT, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}
