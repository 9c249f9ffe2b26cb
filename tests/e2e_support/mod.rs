//! Shared by the end-to-end tests (`tests/browser.rs`, `tests/e2e_node.rs`): a real
//! hyper server that uses ssewire's body adapter and HTTP helpers on a random loopback
//! port (HTTP/1.1, or HTTP/1.1 + HTTP/2 over TLS), the scenarios it serves with the
//! events each client must receive, and a runner for the Node driver scripts in
//! `tests/e2e/`.
//!
//! The clients are real and nobody here wrote them: Debian's Chromium (driven by
//! playwright-core), npm `eventsource` 4 and npm `eventsource-parser` 3. A missing
//! tool makes the test fail with a message that says how to install it.
#![allow(dead_code, unused_imports)] // each test binary uses a different part

use std::collections::HashMap;
use std::convert::Infallible;
use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::stream::{self, Stream, StreamExt};
use http::{Request, Response, StatusCode, Version};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use serde_json::{json, Value};
use ssewire::{Event, EventId, EventType, KeepAlive, SseBody};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

type BoxError = Box<dyn std::error::Error + Send + Sync>;
type Body = UnsyncBoxBody<Bytes, BoxError>;

/// `tests/e2e`: the Node package with the driver scripts.
pub const E2E_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/e2e");

/// Where screenshots go: `target/e2e/`.
pub fn screenshot_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../target")
        .join("e2e")
}

/// One browser at a time: the timing checks must not compete with a second Chromium
/// for the machine's cores.
pub static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

mod checks;
mod chromium;
mod log;
mod node;
mod scenarios;
mod server;
mod tls;
mod tools;

// New real parts (nginx, Python clients, the soak's client).
pub mod nginx;
pub mod python;
pub mod soak;

pub use checks::*;
pub use chromium::*;
pub use log::*;
pub use node::*;
pub use scenarios::*;
pub use server::*;
pub(crate) use tls::*;
pub use tools::*;
