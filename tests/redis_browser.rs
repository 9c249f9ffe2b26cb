//! The flagship end-to-end test: headless Chromium → nginx (default proxy buffering,
//! round-robin) → two `examples/cluster.rs` nodes on one Redis. Events are published
//! on both nodes; the node serving the browser is killed; the browser reconnects
//! through nginx to the other node with `Last-Event-ID`, and its page ends with every
//! event exactly once, in the stream's order.
//!
//! Needs redis-server, nginx, Chromium and `npm ci --prefix tests/e2e`; run with
//! `cargo test -p ssewire-tests --features redis --test redis_browser -- --ignored`.

mod e2e_support;
mod example_support;
mod redis_support;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use e2e_support::{chromium, require_node_modules, NodeRun};
use redis_support::{redis_available, RedisServer};
use serde_json::{json, Value};

/// A child process killed (by its own handle) when dropped.
struct Process(Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .expect("a free port")
}

/// The `cluster` example (feature `redis` of the examples package), built now.
fn cluster_binary() -> PathBuf {
    let args = ["-p", "ssewire-examples", "--features", "redis"];
    example_support::build_example("cluster", &args, |command| {
        command.output().expect("cargo runs")
    })
}

fn wait_for_port(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "nothing listens on {port}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn start_node(binary: &Path, redis: &RedisServer, port: u16, name: &str) -> Process {
    let child = Command::new(binary)
        .env("REDIS_URL", redis.url())
        .env("PORT", port.to_string())
        .env("NODE_NAME", name)
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("cluster node starts");
    wait_for_port(port);
    Process(child)
}

/// nginx in the foreground, one process, its files in a temp dir: round-robin over
/// the two nodes, proxy buffering left at its default (on; the SSE response's
/// `X-Accel-Buffering: no` turns it off for the stream).
fn start_nginx(port: u16, upstreams: [u16; 2]) -> (Process, PathBuf) {
    // The e2e support's nginx proxies to one upstream; this test needs two.
    let nginx = e2e_support::nginx::nginx_binary();
    let dir = std::env::temp_dir().join(format!("ssewire-nginx-{}-{port}", std::process::id()));
    std::fs::create_dir_all(dir.join("logs")).unwrap();
    let d = dir.display();
    let config = format!(
        "daemon off;\nmaster_process off;\nworker_processes 1;\npid {d}/nginx.pid;\n\
         error_log {d}/logs/error.log;\nevents {{ worker_connections 256; }}\n\
         http {{\n  access_log {d}/logs/access.log;\n\
           client_body_temp_path {d}/body; proxy_temp_path {d}/proxy;\n\
           fastcgi_temp_path {d}/fastcgi; uwsgi_temp_path {d}/uwsgi; scgi_temp_path {d}/scgi;\n\
           upstream nodes {{ server 127.0.0.1:{a}; server 127.0.0.1:{b}; }}\n\
           server {{\n    listen 127.0.0.1:{port};\n\
             location / {{\n      proxy_pass http://nodes;\n\
               proxy_http_version 1.1;\n      proxy_set_header Connection \"\";\n    }}\n  }}\n}}\n",
        a = upstreams[0],
        b = upstreams[1],
    );
    let conf = dir.join("nginx.conf");
    std::fs::write(&conf, config).unwrap();
    let child = Command::new(nginx)
        .arg("-p")
        .arg(&dir)
        .arg("-c")
        .arg(&conf)
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("nginx starts");
    wait_for_port(port);
    (Process(child), dir)
}

async fn publish(port: u16, data: &str) -> String {
    // A tiny HTTP/1.1 client: the dev-dependencies have hyper, but this is shorter.
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    let request = format!(
        "POST /publish/news?event=update HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{data}",
        data.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    response
        .split("\r\n\r\n")
        .nth(1)
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs redis-server, nginx, Chromium and npm packages (CI runs it with --ignored)"]
async fn browser_resumes_on_the_other_node_through_nginx() {
    if !redis_available() {
        return;
    }
    require_node_modules(&["playwright-core"]);
    let redis = RedisServer::start();
    let binary = cluster_binary();
    let ports = [free_port(), free_port()];
    let mut nodes = [
        Some(start_node(&binary, &redis, ports[0], "node-a")),
        Some(start_node(&binary, &redis, ports[1], "node-b")),
    ];
    let front = free_port();
    let (_nginx, nginx_dir) = start_nginx(front, ports);

    let job = json!({
        "chromium": chromium(),
        "url": format!("http://127.0.0.1:{front}/"),
        "steps": [
            { "name": "connected", "waitFor": "window.servedBy", "timeoutMs": 30000 },
            { "name": "first", "waitFor": "(window.received || []).length >= 10 && window.servedBy", "timeoutMs": 30000 },
            { "name": "all", "waitFor": "(window.received || []).length >= 20", "timeoutMs": 60000 },
        ],
        "result": "({ received: window.received, servedBy: window.servedBy })",
        "lingerMs": 1500,
    });
    let mut browser = NodeRun::spawn("chromium.mjs", &job);
    // Once the page is connected (it got the `node` event), publish 10 events
    // alternately on both nodes.
    let _ = browser.next(Duration::from_secs(60)).await;
    let mut published = Vec::new();
    for i in 0..10 {
        published.push(publish(ports[i % 2], &format!("event {i}")).await);
    }
    let first = browser.next(Duration::from_secs(60)).await;
    let serving = first["value"]
        .as_str()
        .expect("the serving node's name")
        .to_owned();
    let (killed, survivor) = if serving == "node-a" { (0, 1) } else { (1, 0) };
    // Kill the node that serves the browser (SIGKILL: no goodbye on the connection).
    drop(nodes[killed].take());
    // Published while the browser is away: it must get them through resumption.
    for i in 10..20 {
        published.push(publish(ports[survivor], &format!("event {i}")).await);
    }
    let _ = browser.next(Duration::from_secs(90)).await;
    let result = browser.finish(Duration::from_secs(30)).await;
    let received: Vec<Value> = result["result"]["received"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let ids: Vec<&str> = received.iter().filter_map(|e| e["id"].as_str()).collect();
    let stream = redis.stream_ids("ssewire:{news}");
    assert_eq!(
        stream, published,
        "the stream holds what was published, in order"
    );
    assert_eq!(
        ids, stream,
        "every event exactly once, in the stream's order"
    );
    let datas: Vec<&str> = received.iter().filter_map(|e| e["data"].as_str()).collect();
    let expected: Vec<String> = (0..20).map(|i| format!("event {i}")).collect();
    assert_eq!(datas, expected);
    let survivor_name = ["node-a", "node-b"][survivor];
    assert_eq!(
        received.last().unwrap()["node"],
        survivor_name,
        "resumed on the other node"
    );
    let _ = std::fs::remove_dir_all(nginx_dir);
}
