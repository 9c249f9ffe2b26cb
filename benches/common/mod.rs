//! Shared pieces of the benchmarks: the workloads, a counting allocator, a tiny
//! timing harness that interleaves the contenders, and a spec-following parser used
//! to check that every library really produced the same events.
#![allow(dead_code)]

use std::hint::black_box;
use std::task::{Context, Waker};
use std::time::{Duration, Instant};

/// The one WHATWG reference parser of the repository, shared with the tests.
#[path = "../../tests/common/spec_parser.rs"]
mod spec_parser;

// ---- counting allocator -----------------------------------------------------------

/// The one counting allocator of the repository, shared with the tests: its
/// process-wide [`count`] window is what the benches use.
#[path = "../../tests/common/counting_alloc.rs"]
mod counting_alloc;
pub use counting_alloc::{count, CountingAlloc};

// ---- allocator warm-up -------------------------------------------------------------

/// Allocates 8 MiB and frees it, before anything is timed.
///
/// glibc's malloc serves a large request with its own `mmap` until the first such
/// block is freed; then it raises its mmap threshold to that block's size (and its trim
/// threshold to twice that). Without this, a bench that allocates 64 KiB blocks (W3)
/// pays an `mmap`/`munmap` pair and fresh page faults per block for some libraries and
/// not others, depending on what happened to be allocated and freed before: the W3 peer
/// rows came out 5-8x slower in one run than in another (issue 15). After one 8 MiB
/// allocate-and-free, every block up to 8 MiB comes from the heap, for every contender
/// alike. Call it first thing in `main`.
pub fn warm_malloc() {
    let block: Vec<u8> = Vec::with_capacity(8 << 20);
    drop(black_box(block));
}

// ---- workloads --------------------------------------------------------------------

/// One of the three workloads of the encoder issue.
#[derive(Debug)]
pub struct Workload {
    pub name: &'static str,
    /// Events in one pass.
    pub events: u64,
    /// Whether each event carries `event: tick` and a decimal counter id.
    pub typed: bool,
    /// The data of every event (prepared once, lent to each library as `&str`).
    pub data: &'static str,
    /// How `data` should read back: its lines.
    pub lines: usize,
}

pub const TICK: &str = "tick";

/// `len` printable ASCII bytes, without CR or LF, varied so nothing is all-same.
fn line(len: usize, seed: usize) -> String {
    (0..len)
        .map(|i| char::from(b' ' + ((i * 7 + seed * 13) % 94) as u8 + 1))
        .collect()
}

/// W1: 1,000,000 events, `event: tick`, a decimal counter id, 64 bytes of one-line data.
pub fn w1() -> &'static Workload {
    static W: std::sync::OnceLock<Workload> = std::sync::OnceLock::new();
    W.get_or_init(|| Workload {
        name: "W1",
        events: 1_000_000,
        typed: true,
        data: Box::leak(line(64, 1).into_boxed_str()),
        lines: 1,
    })
}

/// W2: 100,000 events of 16 lines of 64 bytes (LF-separated), data only.
pub fn w2() -> &'static Workload {
    static W: std::sync::OnceLock<Workload> = std::sync::OnceLock::new();
    W.get_or_init(|| Workload {
        name: "W2",
        events: 100_000,
        typed: false,
        data: Box::leak(
            (0..16)
                .map(|i| line(64, i))
                .collect::<Vec<_>>()
                .join("\n")
                .into_boxed_str(),
        ),
        lines: 16,
    })
}

/// W3: 2,000 events of one 64 KiB line, data only.
pub fn w3() -> &'static Workload {
    static W: std::sync::OnceLock<Workload> = std::sync::OnceLock::new();
    W.get_or_init(|| Workload {
        name: "W3",
        events: 2_000,
        typed: false,
        data: Box::leak(line(64 * 1024, 3).into_boxed_str()),
        lines: 1,
    })
}

pub fn workloads() -> [&'static Workload; 3] {
    [w1(), w2(), w3()]
}

/// Formats `n` in decimal into `buf` without allocating.
pub fn fmt_u64(n: u64, buf: &mut [u8; 20]) -> &str {
    let mut i = buf.len();
    let mut n = n;
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    std::str::from_utf8(&buf[i..]).expect("digits are ASCII")
}

/// A context whose waker does nothing: the benched bodies are always ready, or
/// (for the memory bench) polled exactly once.
pub fn noop_cx() -> Context<'static> {
    Context::from_waker(Waker::noop())
}

// ---- checking that every library wrote the same events -----------------------------

/// One event as a spec-following client sees it (WHATWG "interpret an event stream").
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Parsed {
    pub event: Option<String>,
    pub id: Option<String>,
    pub data: String,
}

/// Parses a chunk that holds exactly one event followed by its blank line, with the
/// tests' WHATWG reference parser (`tests/common/spec_parser.rs`).
pub fn parse_one(bytes: &[u8]) -> Parsed {
    std::str::from_utf8(bytes).expect("SSE is UTF-8");
    assert!(
        bytes.ends_with(b"\n\n"),
        "event must end with a blank line: {:?}",
        String::from_utf8_lossy(bytes)
    );
    let parsed = spec_parser::parse(bytes);
    assert_eq!(parsed.blocks.len(), 1, "one event per chunk");
    let mut out = Parsed::default();
    for line in &parsed.blocks[0].lines {
        match line {
            spec_parser::Line::Field(name, value) if name == "event" => {
                out.event = Some(value.clone())
            }
            spec_parser::Line::Field(name, value) if name == "id" => out.id = Some(value.clone()),
            _ => {}
        }
    }
    out.data = parsed.blocks[0]
        .fired
        .as_ref()
        .map(|event| event.data.clone())
        .unwrap_or_default();
    out
}

/// Panics unless `bytes` is event number `n` (1-based) of workload `w`.
pub fn check_event(lib: &str, w: &Workload, n: u64, bytes: &[u8]) {
    let got = parse_one(bytes);
    let want = Parsed {
        event: w.typed.then(|| TICK.to_owned()),
        id: w.typed.then(|| n.to_string()),
        data: w.data.to_owned(),
    };
    assert!(
        got == want,
        "{lib} wrote a different event {n} for {}: {:?}",
        w.name,
        String::from_utf8_lossy(&bytes[..bytes.len().min(200)])
    );
}

// ---- timing harness used for the summary tables -------------------------------------

/// Per-event times of one contender: the fastest sample and the median sample.
#[derive(Clone, Copy, Debug)]
pub struct Timing {
    pub min: f64,
    pub median: f64,
}

/// Times `rounds` samples of each contender, where one sample runs `events` events,
/// interleaving the contenders sample by sample so that a noisy neighbour (this
/// machine has two cores, shared) hits everyone alike. Returns ns/event per
/// contender, in order.
pub fn interleaved(rounds: usize, events: u64, samples: &mut [&mut dyn FnMut()]) -> Vec<Timing> {
    let mut times = vec![Vec::with_capacity(rounds); samples.len()];
    for _ in 0..rounds {
        for (i, sample) in samples.iter_mut().enumerate() {
            let start = Instant::now();
            sample();
            times[i].push(start.elapsed());
        }
    }
    times
        .into_iter()
        .map(|mut t| {
            t.sort();
            let per_event = |d: Duration| d.as_nanos() as f64 / events as f64;
            Timing {
                min: per_event(t[0]),
                median: per_event(t[t.len() / 2]),
            }
        })
        .collect()
}

/// Samples per contender in the summaries (env `SSEWIRE_BENCH_ROUNDS`, default 20;
/// one sample is a tenth of the workload, so the default times each workload twice).
pub fn rounds() -> usize {
    std::env::var("SSEWIRE_BENCH_ROUNDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .filter(|&n| n > 0)
        .unwrap_or(20)
}

/// Keeps the optimizer from dropping work whose result is only a length.
#[inline(always)]
pub fn sink(len: usize) -> usize {
    black_box(len)
}

// ---- the workload's events, built the idiomatic way in each library ----------------

/// Event number `n` (1-based) of `w`, built with each library's own builder from the
/// same inputs: the data as a borrowed `&str`, the type `tick`, a `u64` counter.
pub mod make {
    use super::{fmt_u64, Workload, TICK};
    use std::hint::black_box;

    const SSEWIRE_TICK: ssewire::EventType = ssewire::EventType::from_static(TICK);

    #[inline(always)]
    pub fn ssewire(w: &Workload, n: u64) -> ssewire::Event {
        use ssewire::Event;
        let data = black_box(w.data);
        if w.typed {
            Event::new().event(SSEWIRE_TICK).id(n).data(data)
        } else {
            Event::new().data(data)
        }
    }

    /// The same event with the data attached, not copied into it (`attach_data`).
    #[inline(always)]
    pub fn ssewire_attached(w: &Workload, n: u64) -> ssewire::WithData<&'static str> {
        use ssewire::Event;
        let data = black_box(w.data);
        if w.typed {
            Event::new().event(SSEWIRE_TICK).id(n).attach_data(data)
        } else {
            Event::new().attach_data(data)
        }
    }

    /// axum takes `AsRef<str>` for the id, so it is formatted on the stack.
    #[inline(always)]
    pub fn axum(w: &Workload, n: u64) -> axum::response::sse::Event {
        use axum::response::sse::Event;
        let data = black_box(w.data);
        if w.typed {
            let mut id = [0u8; 20];
            Event::default()
                .event(TICK)
                .id(fmt_u64(n, &mut id))
                .data(data)
        } else {
            Event::default().data(data)
        }
    }

    /// warp takes `Into<String>` for every field.
    #[inline(always)]
    pub fn warp(w: &Workload, n: u64) -> warp::sse::Event {
        use warp::sse::Event;
        let data = black_box(w.data);
        if w.typed {
            Event::default().event(TICK).id(n.to_string()).data(data)
        } else {
            Event::default().data(data)
        }
    }

    /// actix-web-lab takes `Into<ByteString>`: the static type costs nothing, the id
    /// and the data are copied into owned strings.
    #[inline(always)]
    pub fn actix(w: &Workload, n: u64) -> actix_web_lab::sse::Event {
        use actix_web_lab::sse::Data;
        use bytestring::ByteString;
        let data = Data::new(black_box(w.data));
        if w.typed {
            data.event(ByteString::from_static(TICK))
                .id(n.to_string())
                .into()
        } else {
            data.into()
        }
    }
}

/// A stream of `count` events made on demand by `make(n)`, n = 1, 2, …; always ready,
/// like a channel that is never empty. No boxing, no allocation of its own.
pub struct Gen<F> {
    n: u64,
    count: u64,
    make: F,
}

impl<F> Gen<F> {
    pub fn new(count: u64, make: F) -> Self {
        Gen { n: 0, count, make }
    }
}

impl<T, F: FnMut(u64) -> T + Unpin> futures_util::Stream for Gen<F> {
    type Item = T;
    #[inline(always)]
    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> std::task::Poll<Option<T>> {
        if self.n == self.count {
            return std::task::Poll::Ready(None);
        }
        self.n += 1;
        let n = self.n;
        std::task::Poll::Ready(Some((self.make)(n)))
    }
}

/// Parses a whole `text/event-stream` (events separated by blank lines, comments
/// dropped) into events.
pub fn parse_all(bytes: &[u8]) -> Vec<Parsed> {
    let text = std::str::from_utf8(bytes).expect("SSE is UTF-8");
    let mut events = Vec::new();
    let mut rest = text;
    while let Some(end) = rest.find("\n\n") {
        let block = &rest[..end + 2];
        rest = &rest[end + 2..];
        if block.lines().all(|l| l.is_empty() || l.starts_with(':')) {
            continue; // a keep-alive or other comment-only block
        }
        events.push(parse_one(block.as_bytes()));
    }
    assert!(rest.is_empty(), "stream must end with a blank line");
    events
}
