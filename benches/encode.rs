//! Building one event and getting its wire bytes: ssewire against axum, warp and
//! actix-web-lab, plus a copy-and-scan floor, on the three workloads of the encoder
//! issue (W1: 1,000,000 small typed events; W2: 100,000 events of 16 lines x 64 B;
//! W3: 2,000 events of one 64 KiB line).
//!
//! ```text
//! cargo bench -p ssewire-benches --bench encode
//! ```
//!
//! First divan prints its per-event timings (one divan iteration = one event; the
//! samples of a workload add up to exactly its event count). Then a summary times
//! samples of a tenth of each workload again, the contenders interleaved sample by
//! sample (so load from elsewhere on the machine hits all alike), counts allocations
//! over a full workload pass, checks the ratios against the targets and prints the
//! README table. `SSEWIRE_BENCH_ROUNDS` sets the samples per contender (default 20);
//! `SSEWIRE_BENCH_NO_SUMMARY=1` skips the summary.
//!
//! Each library gets the same inputs: the data as a `&str` prepared once, the event
//! type `tick`, and a `u64` counter for the id (`common::make` builds the events).
//! Each takes them through its cheapest public path to wire bytes:
//! - ssewire: `Event::new().event(TICK).id(n).data(s).encode().into_bytes()`, and
//!   the same with the header set after the data (`.data(s).event(TICK).id(n)`),
//!   which must cost the same; `Event::encode_to` into one reused buffer (the event
//!   built the same way); and `Event::encode_with_data_to` into one reused buffer (the
//!   header built per event, the data given at write time).
//! - axum: `Event::default().event("tick").id(id_str).data(s)` (the id formatted on
//!   the stack: axum takes `AsRef<str>`), through `Sse::new(stream).into_response()`
//!   and the response body's `poll_frame` (axum's `finalize` is private).
//! - warp: `Event::default().event("tick").id(n.to_string()).data(s)` and
//!   `Bytes::from(event.to_string())`, exactly what `warp::sse::reply` does per event,
//!   minus its boxed body.
//! - actix-web-lab: `Data::new(s).event(ByteString::from_static("tick"))
//!   .id(n.to_string())` through `Sse::from_stream` and
//!   `MessageBody::poll_next` (its per-event encoder is private).
//! - floor: copy the data into a reused buffer and count CR/LF in it with `memchr2`
//!   (vectorized); no framing, no allocation.
//!
//! Every event's bytes are dropped inside the timed region, as a server would after
//! writing them. Allocations are counted by a global allocator that is the system's
//! plus counters, switched on only while counting (one relaxed load per call
//! otherwise), so the timed runs are not slowed in proportion to allocations.
//!
//! `main` first allocates and frees 8 MiB (`common::warm_malloc`), so that glibc
//! serves every contender's 64 KiB blocks (W3) from its heap, not from fresh `mmap`s.
//!
//! The bench package turns on ssewire's feature `memchr` by default (it pays on W3);
//! `--no-default-features` measures without it. `SSEWIRE_BENCH_ONLY=W1:ssewire`
//! (a workload, then a contender's first word) runs one full pass of one contender
//! and exits, for `valgrind --tool=callgrind`.

use std::convert::Infallible;
use std::hint::black_box;
use std::pin::Pin;
use std::task::Poll;

use bytes::Bytes;
use divan::Bencher;

mod common;
use common::{make, noop_cx, sink, Workload};

#[global_allocator]
static ALLOC: common::CountingAlloc = common::CountingAlloc;

/// Something that turns the next event of a workload into wire bytes.
trait Contender: Sized {
    const NAME: &'static str;
    const IS_PEER: bool = true;
    fn new(w: &'static Workload) -> Self;
    /// The next event's wire bytes (None for the floor, which frames nothing).
    fn next_bytes(&mut self) -> Option<Bytes>;
    /// One event, bytes dropped; returns a length so the work can't be optimized out.
    #[inline(always)]
    fn one(&mut self) -> usize {
        match self.next_bytes() {
            Some(b) => sink(b.len()),
            None => 0,
        }
    }
}

// ---- ssewire ----------------------------------------------------------------------

struct Ssewire {
    w: &'static Workload,
    n: u64,
}

impl Contender for Ssewire {
    const NAME: &'static str = "ssewire";
    const IS_PEER: bool = false;
    fn new(w: &'static Workload) -> Self {
        Ssewire { w, n: 0 }
    }
    #[inline(always)]
    fn next_bytes(&mut self) -> Option<Bytes> {
        self.n += 1;
        Some(make::ssewire(self.w, self.n).encode().into_bytes())
    }
}

/// ssewire with the header fields set after the data (`.data(s).event(TICK).id(n)`):
/// the same bytes, and since the encoder writes the header into room kept in front of
/// the data whatever the order, the same cost (issue 9: order must not matter).
const HEADER_LAST_TICK: ssewire::EventType = ssewire::EventType::from_static("tick");

struct SsewireHeaderLast {
    w: &'static Workload,
    n: u64,
}

impl Contender for SsewireHeaderLast {
    const NAME: &'static str = "ssewire, header last";
    const IS_PEER: bool = false;
    fn new(w: &'static Workload) -> Self {
        SsewireHeaderLast { w, n: 0 }
    }
    #[inline(always)]
    fn next_bytes(&mut self) -> Option<Bytes> {
        use ssewire::Event;
        self.n += 1;
        let data = black_box(self.w.data);
        let event = if self.w.typed {
            Event::new().data(data).event(HEADER_LAST_TICK).id(self.n)
        } else {
            Event::new().data(data)
        };
        Some(event.encode().into_bytes())
    }
}

/// ssewire's `Event::encode_to` into one reused buffer (what a server that frames its
/// own writes does): the event is built as in `Ssewire`, then appended to a buffer
/// that is cleared, not freed, between events.
struct SsewireEncodeTo {
    w: &'static Workload,
    n: u64,
    buf: bytes::BytesMut,
}

impl Contender for SsewireEncodeTo {
    const NAME: &'static str = "ssewire encode_to";
    const IS_PEER: bool = false;
    fn new(w: &'static Workload) -> Self {
        SsewireEncodeTo {
            w,
            n: 0,
            buf: bytes::BytesMut::new(),
        }
    }
    fn next_bytes(&mut self) -> Option<Bytes> {
        self.one();
        Some(Bytes::copy_from_slice(&self.buf))
    }
    #[inline(always)]
    fn one(&mut self) -> usize {
        self.n += 1;
        self.buf.clear();
        make::ssewire(self.w, self.n).encode_to(&mut self.buf);
        sink(black_box(&self.buf).len())
    }
}

/// ssewire's `Event::encode_with_data_to` into one reused buffer: the header built
/// per event as in `Ssewire`, the data given at write time (one copy, however large),
/// through `WithData::encode_to` (the same code, `common::make::ssewire_attached`).
struct SsewireWithDataTo {
    w: &'static Workload,
    n: u64,
    buf: bytes::BytesMut,
}

impl Contender for SsewireWithDataTo {
    const NAME: &'static str = "ssewire encode_with_data_to";
    const IS_PEER: bool = false;
    fn new(w: &'static Workload) -> Self {
        SsewireWithDataTo {
            w,
            n: 0,
            buf: bytes::BytesMut::new(),
        }
    }
    fn next_bytes(&mut self) -> Option<Bytes> {
        self.one();
        Some(Bytes::copy_from_slice(&self.buf))
    }
    #[inline(always)]
    fn one(&mut self) -> usize {
        self.n += 1;
        self.buf.clear();
        make::ssewire_attached(self.w, self.n).encode_to(&mut self.buf);
        sink(black_box(&self.buf).len())
    }
}

// ---- axum -------------------------------------------------------------------------

/// The workload's events, made on demand, as a stream (no boxing, no channel).
struct AxumEvents {
    w: &'static Workload,
    n: u64,
}

impl futures_util::Stream for AxumEvents {
    type Item = Result<axum::response::sse::Event, Infallible>;
    #[inline(always)]
    fn poll_next(
        mut self: Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> Poll<Option<Self::Item>> {
        self.n += 1;
        Poll::Ready(Some(Ok(make::axum(self.w, self.n))))
    }
}

struct Axum {
    body: axum::body::Body,
}

impl Contender for Axum {
    const NAME: &'static str = "axum 0.8";
    fn new(w: &'static Workload) -> Self {
        use axum::response::sse::Sse;
        use axum::response::IntoResponse;
        Axum {
            body: Sse::new(AxumEvents { w, n: 0 }).into_response().into_body(),
        }
    }
    #[inline(always)]
    fn next_bytes(&mut self) -> Option<Bytes> {
        use http_body::Body as _;
        match Pin::new(&mut self.body).poll_frame(&mut noop_cx()) {
            Poll::Ready(Some(Ok(frame))) => frame.into_data().ok(),
            _ => unreachable!("the axum body is always ready"),
        }
    }
}

// ---- warp -------------------------------------------------------------------------

struct Warp {
    w: &'static Workload,
    n: u64,
}

impl Contender for Warp {
    const NAME: &'static str = "warp 0.4";
    fn new(w: &'static Workload) -> Self {
        Warp { w, n: 0 }
    }
    #[inline(always)]
    fn next_bytes(&mut self) -> Option<Bytes> {
        self.n += 1;
        // What `warp::sse::reply` does with each event.
        Some(Bytes::from(make::warp(self.w, self.n).to_string()))
    }
}

// ---- actix-web-lab ----------------------------------------------------------------

struct ActixEvents {
    w: &'static Workload,
    n: u64,
}

impl futures_util::Stream for ActixEvents {
    type Item = Result<actix_web_lab::sse::Event, Infallible>;
    #[inline(always)]
    fn poll_next(
        mut self: Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> Poll<Option<Self::Item>> {
        self.n += 1;
        Poll::Ready(Some(Ok(make::actix(self.w, self.n))))
    }
}

struct ActixWebLab {
    body: actix_web_lab::sse::Sse<ActixEvents>,
}

impl Contender for ActixWebLab {
    const NAME: &'static str = "actix-web-lab 0.29";
    fn new(w: &'static Workload) -> Self {
        ActixWebLab {
            body: actix_web_lab::sse::Sse::from_stream(ActixEvents { w, n: 0 }),
        }
    }
    #[inline(always)]
    fn next_bytes(&mut self) -> Option<Bytes> {
        use actix_web::body::MessageBody;
        match Pin::new(&mut self.body).poll_next(&mut noop_cx()) {
            Poll::Ready(Some(Ok(bytes))) => Some(bytes),
            _ => unreachable!("the actix-web-lab body is always ready"),
        }
    }
}

// ---- floor ------------------------------------------------------------------------

struct Floor {
    w: &'static Workload,
    buf: Vec<u8>,
}

impl Contender for Floor {
    const NAME: &'static str = "floor: copy + memchr2 scan";
    const IS_PEER: bool = false;
    fn new(w: &'static Workload) -> Self {
        Floor {
            w,
            buf: Vec::with_capacity(w.data.len()),
        }
    }
    fn next_bytes(&mut self) -> Option<Bytes> {
        None
    }
    #[inline(always)]
    fn one(&mut self) -> usize {
        self.buf.clear();
        self.buf
            .extend_from_slice(black_box(self.w.data).as_bytes());
        let breaks = memchr::memchr2_iter(b'\n', b'\r', &self.buf).count();
        sink(black_box(&self.buf).len() + breaks)
    }
}

// ---- divan ------------------------------------------------------------------------

// One divan iteration is one event; sample_count x sample_size is the workload size.

#[divan::bench(types = [Ssewire, SsewireHeaderLast, SsewireEncodeTo, SsewireWithDataTo, Axum, Warp, ActixWebLab, Floor], sample_count = 10, sample_size = 100_000)]
fn w1_tick_id_64b<C: Contender>(bencher: Bencher) {
    let mut c = C::new(common::w1());
    bencher.bench_local(|| c.one());
}

#[divan::bench(types = [Ssewire, SsewireHeaderLast, SsewireEncodeTo, SsewireWithDataTo, Axum, Warp, ActixWebLab, Floor], sample_count = 10, sample_size = 10_000)]
fn w2_16_lines_x_64b<C: Contender>(bencher: Bencher) {
    let mut c = C::new(common::w2());
    bencher.bench_local(|| c.one());
}

#[divan::bench(types = [Ssewire, SsewireHeaderLast, SsewireEncodeTo, SsewireWithDataTo, Axum, Warp, ActixWebLab, Floor], sample_count = 10, sample_size = 200)]
fn w3_one_64kib_line<C: Contender>(bencher: Bencher) {
    let mut c = C::new(common::w3());
    bencher.bench_local(|| c.one());
}

// ---- checks, summary --------------------------------------------------------------

fn check<C: Contender>() {
    for w in common::workloads() {
        let mut c = C::new(w);
        for n in 1..=3 {
            if let Some(bytes) = c.next_bytes() {
                common::check_event(C::NAME, w, n, &bytes);
            }
        }
    }
}

struct Row {
    name: &'static str,
    peer: bool,
    t: common::Timing,
    allocs: f64,
    alloc_bytes: f64,
}

/// One summary sample: a tenth of the workload, on a contender that lives across samples.
fn sample<C: Contender>(w: &'static Workload) -> impl FnMut() {
    let mut c = C::new(w);
    move || {
        for _ in 0..w.events / 10 {
            c.one();
        }
    }
}

fn allocs<C: Contender>(w: &'static Workload) -> (f64, f64) {
    let mut c = C::new(w);
    c.one(); // a first event may set up buffers that later ones reuse
    let ((), stats) = common::count(|| {
        for _ in 0..w.events {
            c.one();
        }
    });
    (
        stats.allocs as f64 / w.events as f64,
        stats.bytes as f64 / w.events as f64,
    )
}

fn measure(w: &'static Workload, rounds: usize) -> Vec<Row> {
    let mut s0 = sample::<Ssewire>(w);
    let mut s1 = sample::<Axum>(w);
    let mut s2 = sample::<Warp>(w);
    let mut s3 = sample::<ActixWebLab>(w);
    let mut s4 = sample::<Floor>(w);
    let mut s5 = sample::<SsewireHeaderLast>(w);
    let mut s6 = sample::<SsewireEncodeTo>(w);
    let mut s7 = sample::<SsewireWithDataTo>(w);
    // One unmeasured sample each to warm caches and the allocator.
    for s in [
        &mut s0 as &mut dyn FnMut(),
        &mut s1,
        &mut s2,
        &mut s3,
        &mut s4,
        &mut s5,
        &mut s6,
        &mut s7,
    ] {
        s();
    }
    let t = common::interleaved(
        rounds,
        w.events / 10,
        &mut [
            &mut s0, &mut s1, &mut s2, &mut s3, &mut s4, &mut s5, &mut s6, &mut s7,
        ],
    );
    let a = [
        allocs::<Ssewire>(w),
        allocs::<Axum>(w),
        allocs::<Warp>(w),
        allocs::<ActixWebLab>(w),
        allocs::<Floor>(w),
        allocs::<SsewireHeaderLast>(w),
        allocs::<SsewireEncodeTo>(w),
        allocs::<SsewireWithDataTo>(w),
    ];
    let names = [
        (Ssewire::NAME, Ssewire::IS_PEER),
        (Axum::NAME, Axum::IS_PEER),
        (Warp::NAME, Warp::IS_PEER),
        (ActixWebLab::NAME, ActixWebLab::IS_PEER),
        (Floor::NAME, Floor::IS_PEER),
        (SsewireHeaderLast::NAME, SsewireHeaderLast::IS_PEER),
        (SsewireEncodeTo::NAME, SsewireEncodeTo::IS_PEER),
        (SsewireWithDataTo::NAME, SsewireWithDataTo::IS_PEER),
    ];
    names
        .iter()
        .zip(t)
        .zip(a)
        .map(|((&(name, peer), t), (allocs, alloc_bytes))| Row {
            name,
            peer,
            t,
            allocs,
            alloc_bytes,
        })
        .collect()
}

fn summary() {
    let rounds = common::rounds();
    println!();
    println!(
        "== summary: {rounds} interleaved samples of a tenth of each workload; \
         ns/event of the fastest sample (median in parentheses) =="
    );
    let mut table = String::new();
    table.push_str(
        "| workload | library | ns/event | allocs/event | time vs ssewire |\n\
         |---|---|---:|---:|---:|\n",
    );
    let mut verdicts = Vec::new();
    for w in common::workloads() {
        let rows = measure(w, rounds);
        let ours = rows[0].t;
        let fastest_peer = rows
            .iter()
            .filter(|r| r.peer)
            .min_by(|a, b| a.t.min.total_cmp(&b.t.min))
            .expect("peers");
        let floor = rows.iter().find(|r| r.name == Floor::NAME).expect("floor");
        for r in &rows {
            println!(
                "{} {:<28} {:>9} ({:>9}) ns/event {:>6.2} allocs/event {:>8.0} B/event  {:>5.2}x ssewire",
                w.name,
                r.name,
                fmt_ns(r.t.min),
                fmt_ns(r.t.median),
                r.allocs,
                r.alloc_bytes,
                r.t.min / ours.min
            );
            table.push_str(&format!(
                "| {} | {} | {} | {:.2} | {:.2}x |\n",
                w.name,
                r.name,
                fmt_ns(r.t.min),
                r.allocs,
                r.t.min / ours.min
            ));
        }
        let speedup = fastest_peer.t.min / ours.min;
        let speedup_median = fastest_peer.t.median / ours.median;
        let vs_floor = ours.min / floor.t.min;
        let vs_floor_median = ours.median / floor.t.median;
        let (target, ok) = match w.name {
            "W1" => (
                "target >= 2.5x faster than the fastest peer",
                speedup >= 2.5,
            ),
            "W2" => (
                "target >= 1.8x faster than the fastest peer",
                speedup >= 1.8,
            ),
            _ => ("target: within 1.1x of the floor", vs_floor <= 1.1),
        };
        for name in [SsewireEncodeTo::NAME, SsewireWithDataTo::NAME] {
            if let Some(to) = rows.iter().find(|r| r.name == name) {
                verdicts.push(format!(
                    "{}: {name} (reused buffer) is {:.2}x faster than the fastest peer, \
                     {:.2}x the floor [medians: {:.2}x]",
                    w.name,
                    fastest_peer.t.min / to.t.min,
                    to.t.min / floor.t.min,
                    to.t.median / floor.t.median,
                ));
            }
        }
        verdicts.push(format!(
            "{}: ssewire is {:.2}x faster than the fastest peer ({}) [medians: {:.2}x], \
             {:.2}x the floor [medians: {:.2}x]; {} -> {}",
            w.name,
            speedup,
            fastest_peer.name,
            speedup_median,
            vs_floor,
            vs_floor_median,
            target,
            if ok { "met" } else { "MISSED" }
        ));
    }
    println!();
    for v in &verdicts {
        println!("{v}");
    }
    println!();
    println!("README table:");
    println!();
    print!("{table}");
}

fn fmt_ns(ns: f64) -> String {
    if ns >= 1000.0 {
        format!("{:.0}", ns)
    } else {
        format!("{:.1}", ns)
    }
}

/// `SSEWIRE_BENCH_ONLY=W1:ssewire` (workload, then a contender's name up to its
/// first space, then optionally a number of events) runs one pass of that one
/// contender and exits: for profilers such as `valgrind --tool=callgrind`, whose
/// instruction counts don't depend on load. `W1:ssewire:0` measures the set-up alone.
fn only(spec: &str) {
    let mut parts = spec.splitn(3, ':');
    let wl = parts.next().unwrap_or("");
    let lib = parts.next().unwrap_or("");
    // An optional third part sets the number of events (0 measures the set-up).
    let events: Option<u64> = parts.next().map(|n| n.parse().expect("a number of events"));
    let w = common::workloads()
        .into_iter()
        .find(|w| w.name.eq_ignore_ascii_case(wl))
        .unwrap_or_else(|| panic!("no workload {wl:?}"));
    let events = events.unwrap_or(w.events);
    fn go<C: Contender>(w: &'static Workload, events: u64) {
        let mut c = C::new(w);
        let mut total = 0;
        for _ in 0..events {
            total += c.one();
        }
        println!("{} {}: {events} events, {total} bytes", w.name, C::NAME);
    }
    let first_word = |name: &str| name.split(' ').next().unwrap_or("").to_owned();
    match lib {
        l if l == first_word(Ssewire::NAME) => go::<Ssewire>(w, events),
        "ssewire-header-last" => go::<SsewireHeaderLast>(w, events),
        "ssewire-encode-to" => go::<SsewireEncodeTo>(w, events),
        "ssewire-with-data-to" => go::<SsewireWithDataTo>(w, events),
        l if l == first_word(Axum::NAME) => go::<Axum>(w, events),
        l if l == first_word(Warp::NAME) => go::<Warp>(w, events),
        l if l == first_word(ActixWebLab::NAME) => go::<ActixWebLab>(w, events),
        l if l == first_word(Floor::NAME).trim_end_matches(':') => go::<Floor>(w, events),
        _ => panic!("no contender {lib:?}"),
    }
}

fn main() {
    common::warm_malloc();
    if let Ok(spec) = std::env::var("SSEWIRE_BENCH_ONLY") {
        only(&spec);
        return;
    }
    check::<Ssewire>();
    check::<SsewireHeaderLast>();
    check::<SsewireEncodeTo>();
    check::<SsewireWithDataTo>();
    check::<Axum>();
    check::<Warp>();
    check::<ActixWebLab>();
    println!("all libraries write the same events for W1, W2 and W3 (checked)");

    let args: Vec<String> = std::env::args().collect();
    divan::main();
    let listing = args.iter().any(|a| a == "--list" || a == "--test");
    if !listing && std::env::var_os("SSEWIRE_BENCH_NO_SUMMARY").is_none() {
        summary();
    }
}
