//! `examples/follow.rs`, run as a program against a small raw-HTTP server: one JSON
//! line per event, a stderr line per reconnect, exit 0 on 204, 1 on a fatal error,
//! 2 on bad arguments.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

mod example_support;

/// Path of the `follow` example, built if needed.
fn follow_exe() -> &'static Path {
    static EXE: OnceLock<PathBuf> = OnceLock::new();
    EXE.get_or_init(|| {
        example_support::build_example("follow", &[], |command| command.output().unwrap())
    })
}

/// Serves `/events` (two events, then the body ends; 204 once Last-Event-ID is 2) and
/// 404 for anything else, one connection at a time.
async fn server() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut head = Vec::new();
            let mut buf = [0u8; 1024];
            while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                let n = socket.read(&mut buf).await.unwrap();
                if n == 0 {
                    break;
                }
                head.extend_from_slice(&buf[..n]);
            }
            let head = String::from_utf8_lossy(&head).to_ascii_lowercase();
            let response: &[u8] = if !head.starts_with("get /events ") {
                b"HTTP/1.1 404 Not Found\r\ncontent-type: text/plain\r\ncontent-length: 9\r\nconnection: close\r\n\r\nno stream"
            } else if head.contains("\r\nlast-event-id: 2\r\n") {
                b"HTTP/1.1 204 No Content\r\nconnection: close\r\n\r\n"
            } else {
                b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nconnection: close\r\n\r\n\
                  retry: 10\n\nid: 1\ndata: a\n\nid: 2\nevent: note\ndata: \"q\"\ndata: b\n\n"
            };
            socket.write_all(response).await.unwrap();
            socket.shutdown().await.unwrap();
        }
    });
    format!("http://{addr}")
}

async fn follow(args: &[&str]) -> Output {
    let exe = follow_exe();
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    tokio::task::spawn_blocking(move || Command::new(exe).args(args).output().unwrap())
        .await
        .unwrap()
}

#[tokio::test]
async fn prints_json_lines_reconnects_and_exits_0_on_204() {
    let base = server().await;
    let out = follow(&[&format!("{base}/events")]).await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let lines: Vec<Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(
        lines,
        [
            serde_json::json!({"type": "message", "data": "a", "id": "1"}),
            serde_json::json!({"type": "note", "data": "\"q\"\nb", "id": "2"}),
        ]
    );
    assert_eq!(stderr.matches("connected to").count(), 1, "{stderr}");
    assert_eq!(stderr.matches("reconnecting in").count(), 1, "{stderr}");
    assert!(stderr.contains("204"), "{stderr}");
}

#[tokio::test]
async fn a_fatal_error_exits_1_with_the_reason() {
    let base = server().await;
    let out = follow(&[&format!("{base}/nothing")]).await;
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("answered 404 Not Found: \"no stream\""),
        "{stderr}"
    );
    assert!(out.stdout.is_empty());
}

#[tokio::test]
async fn bad_arguments_exit_2() {
    assert_eq!(follow(&[]).await.status.code(), Some(2));
    assert_eq!(follow(&["not a url"]).await.status.code(), Some(2));
}

#[tokio::test]
async fn a_url_it_cannot_follow_is_a_bad_argument() {
    // Valid URIs, but not absolute http(s) URLs: usage errors, not fatal ones.
    for url in [
        "/events",
        "ftp://127.0.0.1/events",
        "mailto:someone@example.com",
    ] {
        let out = follow(&[url]).await;
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{url}: {stderr}");
        assert!(stderr.contains("usage: follow URL"), "{url}: {stderr}");
    }
}

#[cfg(unix)]
#[test]
fn an_argument_that_is_not_utf8_exits_2_without_a_panic() {
    use std::os::unix::ffi::OsStrExt;
    let bad = std::ffi::OsStr::from_bytes(b"http://127.0.0.1/\xff");
    let out = Command::new(follow_exe()).arg(bad).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}
