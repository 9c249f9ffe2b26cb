//! The demo's `/metrics` over a real socket: the Prometheus text parses (`# HELP`,
//! `# TYPE`, `name{labels} value`), every `ssewire_*` stream metric is there with the
//! demo's `group` label, and the open-streams gauge follows a client that connects and
//! then goes away. Also the `/stats` JSON the page's live panel reads.

#[allow(dead_code)] // `main` and its helpers are the example's, not the test's
#[path = "../examples/demo.rs"]
mod demo;

use std::collections::HashMap;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const WAIT: Duration = Duration::from_secs(20);

/// One sample line: name, labels, value.
#[derive(Debug, Clone, PartialEq)]
struct Sample {
    name: String,
    labels: HashMap<String, String>,
    value: f64,
}

/// What a scrape holds: HELP and TYPE per metric family, and the samples.
#[derive(Debug, Default)]
struct Scrape {
    help: HashMap<String, String>,
    types: HashMap<String, String>,
    samples: Vec<Sample>,
}

impl Scrape {
    /// The value of `name` with label `group="demo"` (and `extra` labels).
    fn value(&self, name: &str, extra: &[(&str, &str)]) -> Option<f64> {
        self.samples
            .iter()
            .find(|s| {
                s.name == name
                    && s.labels.get("group").map(String::as_str) == Some("demo")
                    && extra
                        .iter()
                        .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
            })
            .map(|s| s.value)
    }
}

/// A small parser of the Prometheus text format (version 0.0.4): comments `# HELP
/// name text` and `# TYPE name kind`, samples `name{k="v",...} value`; panics on
/// anything else.
fn parse(text: &str) -> Scrape {
    let mut scrape = Scrape::default();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        if let Some(rest) = line.strip_prefix("# HELP ") {
            let (name, help) = rest.split_once(' ').expect("HELP name text");
            scrape.help.insert(name.to_owned(), help.to_owned());
        } else if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').expect("TYPE name kind");
            assert!(
                ["counter", "gauge", "histogram", "summary", "untyped"].contains(&kind),
                "{line}"
            );
            scrape.types.insert(name.to_owned(), kind.to_owned());
        } else if line.starts_with('#') {
            continue;
        } else {
            let (series, value) = line.rsplit_once(' ').expect("name value");
            let value: f64 = value
                .parse()
                .unwrap_or_else(|_| panic!("bad value: {line}"));
            let (name, labels) = match series.split_once('{') {
                None => (series, HashMap::new()),
                Some((name, labels)) => {
                    let labels = labels.strip_suffix('}').expect("closing brace");
                    let labels = labels
                        .split(',')
                        .filter(|pair| !pair.is_empty())
                        .map(|pair| {
                            let (k, v) = pair.split_once('=').expect("label k=v");
                            let v = v.strip_prefix('"').and_then(|v| v.strip_suffix('"'));
                            (k.to_owned(), v.expect("quoted label value").to_owned())
                        })
                        .collect();
                    (name, labels)
                }
            };
            assert!(
                name.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':'),
                "bad name: {line}"
            );
            scrape.samples.push(Sample {
                name: name.to_owned(),
                labels,
                value,
            });
        }
    }
    scrape
}

/// GET `path`, the whole response (the server closes with `Connection: close`).
async fn get(addr: std::net::SocketAddr, path: &str) -> String {
    let mut socket = TcpStream::connect(addr).await.unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n");
    socket.write_all(request.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    tokio::time::timeout(WAIT, socket.read_to_end(&mut response))
        .await
        .expect("response in time")
        .unwrap();
    let response = String::from_utf8(response).unwrap();
    let (head, body) = response.split_once("\r\n\r\n").expect("head and body");
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    body.to_owned()
}

async fn scrape(addr: std::net::SocketAddr) -> Scrape {
    parse(&get(addr, "/metrics").await)
}

async fn wait_for_open(addr: std::net::SocketAddr, open: f64) -> Scrape {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let scrape = scrape(addr).await;
        if scrape.value("ssewire_streams_open", &[]) == Some(open) {
            return scrape;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "open never {open}: {scrape:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_metrics_parse_and_follow_the_streams() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, demo::app()).await.unwrap() });

    // A client reads the first event, then stays.
    let mut client = TcpStream::connect(addr).await.unwrap();
    client
        .write_all(b"GET /events HTTP/1.1\r\nHost: test\r\n\r\n")
        .await
        .unwrap();
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    while !String::from_utf8_lossy(&seen).contains("data: Hello!") {
        let n = tokio::time::timeout(WAIT, client.read(&mut buf))
            .await
            .expect("the welcome event")
            .unwrap();
        assert!(n > 0, "closed early");
        seen.extend_from_slice(&buf[..n]);
    }

    let scrape = wait_for_open(addr, 1.0).await;
    for (name, kind) in [
        ("ssewire_streams_open", "gauge"),
        ("ssewire_streams_opened_total", "counter"),
        ("ssewire_events_sent_total", "counter"),
        ("ssewire_bytes_sent_total", "counter"),
        ("ssewire_delivery_latency_seconds", "histogram"),
    ] {
        assert_eq!(
            scrape.types.get(name).map(String::as_str),
            Some(kind),
            "{name}"
        );
        assert!(scrape.help.contains_key(name), "no HELP for {name}");
    }
    assert_eq!(scrape.value("ssewire_streams_opened_total", &[]), Some(1.0));
    assert!(scrape.value("ssewire_events_sent_total", &[]) >= Some(1.0));
    assert!(scrape.value("ssewire_bytes_sent_total", &[]) >= Some(10.0));
    let latency_count = scrape.value("ssewire_delivery_latency_seconds_count", &[]);
    assert!(latency_count >= Some(1.0), "{scrape:?}");

    // The page's panel reads the same counters.
    let stats: serde_json::Value = serde_json::from_str(&get(addr, "/stats").await).unwrap();
    assert_eq!(stats["open"], 1);
    assert!(stats["events"].as_u64().unwrap() >= 1);

    // The client goes away: the gauge returns to zero, the close is counted.
    drop(client);
    let scrape = wait_for_open(addr, 0.0).await;
    let gone = scrape.value("ssewire_streams_closed_total", &[("reason", "client_gone")]);
    assert_eq!(gone, Some(1.0), "{scrape:?}");
}

/// A client picks its own `Last-Event-ID`: the largest counter there is starts the
/// counter over instead of overflowing it (a panic in the handler, in a debug build),
/// and so does counting past it.
#[tokio::test(start_paused = true)]
async fn the_largest_last_event_ids_start_the_counter_over() {
    use futures_util::StreamExt;

    let text =
        |event: ssewire::Event| String::from_utf8(event.encode().as_bytes().to_vec()).unwrap();
    let events: Vec<_> = demo::events_after(Some(u64::MAX))
        .take(2)
        .map(text)
        .collect()
        .await;
    assert!(
        events[0].contains("so the counter resumes at 1."),
        "{}",
        events[0]
    );
    assert!(
        events[1].starts_with("event: counter\nid: 1\n"),
        "{}",
        events[1]
    );

    // The clock event follows each counter.
    let events: Vec<_> = demo::events_after(Some(u64::MAX - 1))
        .take(4)
        .map(text)
        .collect()
        .await;
    let max = format!("event: counter\nid: {}\n", u64::MAX);
    assert!(events[1].starts_with(&max), "{}", events[1]);
    assert!(
        events[3].starts_with("event: counter\nid: 1\n"),
        "{}",
        events[3]
    );
}

#[test]
fn the_parser_reads_the_text_format() {
    let scrape = parse(
        "# HELP x_total Things.\n# TYPE x_total counter\nx_total{group=\"demo\",reason=\"a\"} 3\n\
         # TYPE y gauge\ny 1.5\n",
    );
    assert_eq!(scrape.types["x_total"], "counter");
    assert_eq!(scrape.help["x_total"], "Things.");
    assert_eq!(scrape.value("x_total", &[("reason", "a")]), Some(3.0));
    assert_eq!(scrape.samples[1].value, 1.5);
}
