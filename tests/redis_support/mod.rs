//! Shared by the Redis tests: a `redis-server` of their own on a free loopback port
//! (killed, restarted, paused at will), nodes with short timeouts, and readers that
//! collect what a subscriber received.
#![allow(dead_code)]

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use ssewire::broker::{Node, NodeConfig, NodeSubscriber, RedisBroker, RedisConfig};
use ssewire::hub::Config as HubConfig;
use ssewire::EventId;

/// Whether `redis-server` can run here. Missing: the test fails under CI (`CI=true`),
/// and is skipped (with a message) elsewhere.
pub fn redis_available() -> bool {
    let found = Command::new("redis-server")
        .arg("--version")
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|status| status.success());
    if !found {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "redis-server is missing (apt-get install redis-server): the Redis tests must run in CI"
        );
        eprintln!("skipped: redis-server is not installed");
    }
    found
}

/// One `redis-server` process, in its own temp directory.
pub struct RedisServer {
    pub port: u16,
    dir: PathBuf,
    aof: bool,
    child: Option<Child>,
}

impl RedisServer {
    /// Without persistence (`--save '' --appendonly no`).
    pub fn start() -> Self {
        Self::start_with(false)
    }

    /// With an append-only file fsynced at every write.
    pub fn start_with_aof() -> Self {
        Self::start_with(true)
    }

    fn start_with(aof: bool) -> Self {
        let port = free_port();
        let dir = std::env::temp_dir().join(format!("ssewire-redis-{}-{port}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        let mut server = RedisServer {
            port,
            dir,
            aof,
            child: None,
        };
        server.launch();
        server
    }

    fn launch(&mut self) {
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--daemonize", "no", "--protected-mode", "no"])
            .args(["--appendonly", if self.aof { "yes" } else { "no" }])
            .args(["--appendfsync", "always"])
            .arg("--dir")
            .arg(&self.dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server starts");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if matches!(self.try_cmd(&["PING"]), Ok(Resp::Text(pong)) if pong == "PONG") {
                return;
            }
            assert!(Instant::now() < deadline, "redis-server did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Runs one command (`["XTRIM", "k", "MAXLEN", "1"]`) on a fresh connection.
    pub fn try_cmd(&self, args: &[&str]) -> std::io::Result<Resp> {
        resp_command(self.port, args)
    }

    /// Runs one command; panics if Redis cannot be reached.
    pub fn cmd(&self, args: &[&str]) -> Resp {
        self.try_cmd(args).expect("redis command")
    }

    /// SIGKILL: nothing is saved beyond what the AOF already has.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts it again on the same port and directory (reloading the AOF, if any).
    pub fn restart(&mut self) {
        self.kill();
        self.launch();
    }

    /// Every id in the topic's stream, in order.
    pub fn stream_ids(&self, stream: &str) -> Vec<String> {
        let Resp::Array(entries) = self.cmd(&["XRANGE", stream, "-", "+"]) else {
            panic!("XRANGE answers an array");
        };
        entries
            .into_iter()
            .map(|entry| match entry {
                Resp::Array(mut pair) => match pair.remove(0) {
                    Resp::Text(id) => id,
                    other => panic!("{other:?}"),
                },
                other => panic!("{other:?}"),
            })
            .collect()
    }
}

/// A RESP2 reply (the tests' own tiny client: no Redis crate among the
/// dev-dependencies).
#[derive(Debug, PartialEq)]
pub enum Resp {
    Text(String),
    Int(i64),
    Nil,
    Error(String),
    Array(Vec<Resp>),
}

impl Resp {
    pub fn text(&self) -> &str {
        match self {
            Resp::Text(text) => text,
            other => panic!("not text: {other:?}"),
        }
    }
}

fn resp_command(port: u16, args: &[&str]) -> std::io::Result<Resp> {
    use std::io::{BufRead, BufReader, Write};
    let stream = std::net::TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    let mut request = format!("*{}\r\n", args.len());
    for arg in args {
        request.push_str(&format!("${}\r\n{arg}\r\n", arg.len()));
    }
    (&stream).write_all(request.as_bytes())?;
    fn read(reader: &mut BufReader<&std::net::TcpStream>) -> std::io::Result<Resp> {
        let mut line = String::new();
        reader.read_line(&mut line)?;
        let line = line.trim_end_matches("\r\n");
        if line.is_empty() {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        let (kind, rest) = line.split_at(1);
        let number = || rest.parse::<i64>().unwrap_or(-1);
        Ok(match kind {
            "+" => Resp::Text(rest.to_owned()),
            "-" => Resp::Error(rest.to_owned()),
            ":" => Resp::Int(number()),
            "$" if number() < 0 => Resp::Nil,
            "$" => {
                let mut bytes = vec![0; number() as usize + 2];
                std::io::Read::read_exact(reader, &mut bytes)?;
                bytes.truncate(bytes.len() - 2);
                Resp::Text(String::from_utf8_lossy(&bytes).into_owned())
            }
            "*" if number() < 0 => Resp::Nil,
            "*" => {
                let mut items = Vec::new();
                for _ in 0..number() {
                    items.push(read(reader)?);
                }
                Resp::Array(items)
            }
            _ => Resp::Error(format!("unexpected reply {line}")),
        })
    }
    read(&mut BufReader::new(&stream))
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .expect("a free port")
}

/// A node with short timeouts, so that fault tests finish quickly.
pub fn node(url: &str) -> Node<RedisBroker> {
    node_with(url, HubConfig::new().with_history(1000), NodeConfig::new())
}

pub fn node_with(url: &str, hub: HubConfig, config: NodeConfig) -> Node<RedisBroker> {
    let broker = RedisBroker::new(
        RedisConfig::new(url)
            .with_timeout(Duration::from_millis(800))
            .with_max_backoff(Duration::from_millis(200))
            .with_block(Duration::from_secs(2)),
    )
    .expect("broker");
    Node::with_config(
        broker,
        hub,
        config
            .with_linger(Duration::from_millis(200))
            .with_resume_timeout(Duration::from_secs(5)),
    )
}

/// One event as a client parses it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Received {
    pub event: Option<String>,
    pub id: Option<String>,
    pub data: String,
}

impl Received {
    pub fn is_history_lost(&self) -> bool {
        self.event.as_deref() == Some("history-lost")
    }
}

fn parse(bytes: &[u8]) -> Received {
    let text = std::str::from_utf8(bytes).expect("utf-8");
    let mut received = Received {
        event: None,
        id: None,
        data: String::new(),
    };
    let mut lines = Vec::new();
    for line in text.lines() {
        if let Some(value) = line.strip_prefix("event: ") {
            received.event = Some(value.to_owned());
        } else if let Some(value) = line.strip_prefix("id: ") {
            received.id = Some(value.to_owned());
        } else if let Some(value) = line.strip_prefix("data: ") {
            lines.push(value);
        }
    }
    received.data = lines.join("\n");
    received
}

/// The next event, or `None` if the stream ended; panics after `within`.
pub async fn next(subscriber: &mut NodeSubscriber, within: Duration) -> Option<Received> {
    let item = tokio::time::timeout(within, subscriber.next())
        .await
        .expect("an event in time")?;
    Some(parse(item.as_bytes()))
}

/// Reads until `count` events (or the end of the stream).
pub async fn take(subscriber: &mut NodeSubscriber, count: usize) -> Vec<Received> {
    let mut out = Vec::new();
    while out.len() < count {
        match next(subscriber, Duration::from_secs(15)).await {
            Some(event) => out.push(event),
            None => break,
        }
    }
    out
}

/// Reads until the event with id `last` arrived.
pub async fn take_until(subscriber: &mut NodeSubscriber, last: &str) -> Vec<Received> {
    let mut out = Vec::new();
    loop {
        match next(subscriber, Duration::from_secs(15)).await {
            Some(event) => {
                let done = event.id.as_deref() == Some(last);
                out.push(event);
                if done {
                    return out;
                }
            }
            None => panic!("stream ended before {last}: got {out:?}"),
        }
    }
}

pub fn ids(events: &[Received]) -> Vec<String> {
    events.iter().filter_map(|event| event.id.clone()).collect()
}

pub fn id(text: &str) -> EventId {
    EventId::new(text).expect("id")
}

/// Nothing arrives for `for_`: the stream neither yields nor ends.
pub async fn quiet(subscriber: &mut NodeSubscriber, for_: Duration) -> bool {
    tokio::time::timeout(for_, subscriber.next()).await.is_err()
}
