//! The HTTP/1.1 server shared by the loopback and idle benches: one hyper 1 connection
//! per accepted socket, the same for every contender (only the response body differs),
//! with the hyper settings chosen by a `SERVER_HYPER` string, so that the settings that
//! change what a connection costs can be measured one by one.
//!
//! `SERVER_HYPER` is a comma-separated list (empty or `default`: hyper's defaults):
//!
//! - `auto`: `hyper_util::server::conn::auto::Builder` (HTTP/1.1 and HTTP/2 by
//!   preface) instead of `hyper::server::conn::http1::Builder`;
//! - `writev=false` / `writev=true`: `http1::Builder::writev`;
//! - `max_buf=N`: `http1::Builder::max_buf_size(N)` (at least 8192);
//! - `half_close`: `http1::Builder::half_close(true)`;
//! - `no_date`: `http1::Builder::auto_date_header(false)`;
//! - `timer`: give hyper a tokio timer (then its 30 s header-read timeout is armed);
//! - `hrt_off`: `header_read_timeout(None)` (with `timer`);
//! - `max_headers=N`: `http1::Builder::max_headers(N)`;
//! - `workers=N`: the server's tokio runtime gets N worker threads (the default is
//!   one per core the process may run on);
//! - `arena=N`: the server runs with `MALLOC_ARENA_MAX=N` (glibc), set by the client
//!   when it starts the server process (see [`HyperConf::server_env`]).
#![allow(dead_code)]

use std::convert::Infallible;
use std::time::Duration;

use tokio::net::TcpListener;

/// The parsed `SERVER_HYPER` string.
#[derive(Clone, Debug, Default)]
pub struct HyperConf {
    pub auto: bool,
    pub writev: Option<bool>,
    pub max_buf: Option<usize>,
    pub half_close: bool,
    pub no_date: bool,
    pub timer: bool,
    pub hrt_off: bool,
    pub max_headers: Option<usize>,
    pub workers: Option<usize>,
    pub arena: Option<usize>,
}

impl HyperConf {
    pub fn parse(text: &str) -> HyperConf {
        let mut conf = HyperConf::default();
        for item in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let (key, value) = item.split_once('=').unwrap_or((item, ""));
            let number = || -> usize {
                value
                    .parse()
                    .unwrap_or_else(|_| panic!("SERVER_HYPER: {key} needs a number, got {value:?}"))
            };
            match key {
                "default" => {}
                "auto" => conf.auto = true,
                "writev" => conf.writev = Some(value != "false"),
                "max_buf" => conf.max_buf = Some(number()),
                "half_close" => conf.half_close = true,
                "no_date" => conf.no_date = true,
                "timer" => conf.timer = true,
                "hrt_off" => conf.hrt_off = true,
                "max_headers" => conf.max_headers = Some(number()),
                "workers" => conf.workers = Some(number()),
                "arena" => conf.arena = Some(number()),
                other => panic!("SERVER_HYPER: unknown setting {other:?}"),
            }
        }
        conf
    }

    /// The configuration of this (server) process, from `SERVER_HYPER`.
    pub fn from_env() -> HyperConf {
        HyperConf::parse(&std::env::var("SERVER_HYPER").unwrap_or_default())
    }

    /// Environment variables the server process must be started with.
    pub fn server_env(&self) -> Vec<(&'static str, String)> {
        match self.arena {
            Some(n) => vec![("MALLOC_ARENA_MAX", n.to_string())],
            None => Vec::new(),
        }
    }

    /// The server's tokio runtime.
    pub fn runtime(&self) -> tokio::runtime::Runtime {
        let mut builder = tokio::runtime::Builder::new_multi_thread();
        if let Some(n) = self.workers {
            builder.worker_threads(n);
        }
        builder.enable_all().build().expect("runtime")
    }

    fn http1(&self, builder: &mut hyper::server::conn::http1::Builder) {
        if let Some(v) = self.writev {
            builder.writev(v);
        }
        if let Some(n) = self.max_buf {
            builder.max_buf_size(n);
        }
        if self.half_close {
            builder.half_close(true);
        }
        if self.no_date {
            builder.auto_date_header(false);
        }
        if self.timer {
            builder.timer(hyper_util::rt::TokioTimer::new());
        }
        if self.hrt_off {
            builder.header_read_timeout(None::<Duration>);
        }
        if let Some(n) = self.max_headers {
            builder.max_headers(n);
        }
    }
}

/// Serves every connection with HTTP/1.1 (hyper 1), answering any request with
/// `make()`'s body as `text/event-stream`.
pub async fn serve<B, F>(listener: TcpListener, conf: HyperConf, make: F)
where
    F: Fn() -> B + Clone + Send + Sync + 'static,
    B: http_body::Body<Data = bytes::Bytes> + Send + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let mut http1 = hyper::server::conn::http1::Builder::new();
    conf.http1(&mut http1);
    let mut auto =
        hyper_util::server::conn::auto::Builder::new(hyper_util::rt::TokioExecutor::new());
    if conf.auto {
        let mut h1 = auto.http1();
        if let Some(v) = conf.writev {
            h1.writev(v);
        }
        if let Some(n) = conf.max_buf {
            h1.max_buf_size(n);
        }
        if conf.half_close {
            h1.half_close(true);
        }
        if conf.timer {
            h1.timer(hyper_util::rt::TokioTimer::new());
        }
        if conf.hrt_off {
            h1.header_read_timeout(None::<Duration>);
        }
    }
    let auto = std::sync::Arc::new(auto);
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let _ = stream.set_nodelay(true);
        let make = make.clone();
        let service = hyper::service::service_fn(move |_request| {
            let body = make();
            async move {
                let mut response = hyper::Response::new(body);
                response.headers_mut().insert(
                    hyper::header::CONTENT_TYPE,
                    hyper::header::HeaderValue::from_static("text/event-stream"),
                );
                Ok::<_, Infallible>(response)
            }
        });
        let io = hyper_util::rt::TokioIo::new(stream);
        if conf.auto {
            let auto = auto.clone();
            tokio::spawn(async move {
                let _ = auto.serve_connection(io, service).await;
            });
        } else {
            let connection = http1.serve_connection(io, service);
            if std::env::var_os("SERVER_SIZES").is_some() {
                static ONCE: std::sync::Once = std::sync::Once::new();
                ONCE.call_once(|| {
                    eprintln!(
                        "hyper http1 connection future: {} bytes (the task holds it)",
                        std::mem::size_of_val(&connection)
                    );
                });
            }
            tokio::spawn(async move {
                let _ = connection.await;
            });
        }
    }
}

// ---- reading another process ---------------------------------------------------------

/// CPU time of a process from `/proc/<pid>/stat`: (user, system).
pub fn cpu_times(pid: u32) -> (Duration, Duration) {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("read stat");
    // Fields after the command name (which may hold spaces): utime is the 14th field of
    // the line and stime the 15th.
    let rest = &stat[stat.rfind(')').expect("stat format") + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| -> Duration {
        // USER_HZ is 100 on Linux for every architecture this runs on.
        Duration::from_millis(fields[i].parse::<u64>().expect("cpu ticks") * 10)
    };
    (ticks(11), ticks(12))
}

/// Resident set size of a process in bytes, from `/proc/<pid>/status`.
pub fn rss(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("read status");
    let line = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .expect("VmRSS");
    let kib: u64 = line
        .split_whitespace()
        .nth(1)
        .and_then(|v| v.parse().ok())
        .expect("VmRSS value");
    kib * 1024
}

/// The number in environment variable `name`, or `default` when it is not set (a value
/// that does not parse stops the bench: a typo must not measure the default).
pub fn env_number<T: std::str::FromStr>(name: &str, default: T) -> T {
    match std::env::var(name) {
        Ok(v) => v
            .parse()
            .unwrap_or_else(|_| panic!("{name} must be a number, got {v:?}")),
        Err(_) => default,
    }
}

/// Raises the open-files limit to `need` (thousands of sockets), or says why not.
pub fn raise_nofile(need: u64) {
    match rlimit::increase_nofile_limit(need) {
        Ok(got) if got >= need => {}
        Ok(got) => eprintln!("warning: open-files limit is {got}, {need} wanted"),
        Err(e) => eprintln!("warning: cannot raise the open-files limit: {e}"),
    }
}

/// The loopback address a server process just started listens on: it prints its port
/// as the first line of its stdout.
pub fn read_port(child: &mut std::process::Child) -> std::net::SocketAddr {
    use std::io::BufRead;
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("read port");
    let port: u16 = line.trim().parse().expect("port");
    std::net::SocketAddr::from(([127, 0, 0, 1], port))
}
