//! The body adapter in the path: each library's SSE response body over a stream of
//! the workload's events (W1/W2/W3 of the encoder issue), driven to completion the
//! way a server drives it (poll, take the chunk, drop it after "writing"), with and
//! without keep-alive; then the heap held by 10,000 idle bodies with keep-alive.
//!
//! ```text
//! cargo bench -p ssewire-benches --bench body
//! ```
//!
//! The stream is the same for everyone: `common::Gen`, a stream that is always ready
//! and builds event n on demand with the library's own builder (`common::make`),
//! like a channel that never runs dry. Every body is polled with the runtime's
//! context entered (tokio current-thread runtime, time enabled), so keep-alive timers
//! are real tokio timers; none fires during a run (15 s intervals).
//!
//! - ssewire: `SseBody::new(stream)` (`.with_keep_alive(ka.clone())` with one
//!   `KeepAlive::tokio()` made up front), drained through `http_body::Body::poll_frame`
//!   as hyper does. It coalesces events that are ready together into chunks of up
//!   to 64 KiB, which is its default; the row "one event per chunk" sets
//!   `max_chunk_size(1)` to show the cost without that. The rows "+ group" count
//!   every body in one shared `StreamGroup` (`.with_group(&group)`, issue 14), to
//!   show what the counters cost next to the same body without them. The row
//!   "attach_data" builds the same events with `Event::attach_data(data)` (the data
//!   kept as the `&str` every library is lent, copied once into the chunk) instead
//!   of `Event::data(data)` (copied into the event's own buffer, then into the chunk).
//! - axum: `Sse::new(stream)` (`.keep_alive(KeepAlive::default())`),
//!   `into_response().into_body()`, drained through `poll_frame`.
//! - warp: `warp::sse::reply(stream).into_response().into_body()`, `poll_frame`.
//! - actix-web-lab: `Sse::from_stream(stream)`, drained through
//!   `MessageBody::poll_next` as actix-web's dispatcher does.
//!
//! `main` first allocates and frees 8 MiB (`common::warm_malloc`; see there why).
//!
//! After divan's table, a summary times every body again (`SSEWIRE_BENCH_ROUNDS`
//! interleaved samples per contender, default 20, one sample = one body over a tenth
//! of the workload), counts allocations and chunks per event over a full pass, and
//! prints the README tables; `SSEWIRE_BENCH_NO_SUMMARY=1` skips it, and
//! `SSEWIRE_BENCH_ONLY="W1:ssewire SseBody"` drains one body over a whole workload
//! and exits (for `valgrind --tool=callgrind`).
//!
//! Memory: 10,000 bodies over `futures_util::stream::pending()` (a zero-sized stream
//! that is never ready), each with keep-alive, each polled once, all held in one
//! `Vec`. Heap per body = (heap in use while they are held, counted by the global
//! allocator) / 10,000: the `Vec` slot (the body itself for ssewire, a boxed body for
//! axum), everything the bodies allocated, and their share of what the keep-alive
//! shares between them.

use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Buf;

mod common;
use common::{make, Gen, Workload};

#[global_allocator]
static ALLOC: common::CountingAlloc = common::CountingAlloc;

// ---- draining bodies ----------------------------------------------------------------

/// What one drain saw.
#[derive(Clone, Copy, Debug, Default)]
struct Drained {
    chunks: u64,
    bytes: u64,
}

fn drain_http<B>(mut body: B, keep: Option<&mut Vec<u8>>) -> Drained
where
    B: http_body::Body + Unpin,
    B::Error: std::fmt::Debug,
{
    let mut cx = common::noop_cx();
    let mut seen = Drained::default();
    let mut keep = keep;
    loop {
        match Pin::new(&mut body).poll_frame(&mut cx) {
            Poll::Ready(Some(Ok(frame))) => {
                if let Ok(data) = frame.into_data() {
                    seen.chunks += 1;
                    seen.bytes += data.remaining() as u64;
                    if let Some(keep) = keep.as_deref_mut() {
                        keep.extend_from_slice(data.chunk());
                    }
                    // The chunk is dropped here, as after a write.
                }
            }
            Poll::Ready(Some(Err(e))) => panic!("body error: {e:?}"),
            Poll::Ready(None) => return seen,
            Poll::Pending => panic!("an always-ready stream's body returned Pending"),
        }
    }
}

fn drain_actix<B>(mut body: B, keep: Option<&mut Vec<u8>>) -> Drained
where
    B: actix_web::body::MessageBody + Unpin,
    B::Error: std::fmt::Debug,
{
    let mut cx = common::noop_cx();
    let mut seen = Drained::default();
    let mut keep = keep;
    loop {
        match Pin::new(&mut body).poll_next(&mut cx) {
            Poll::Ready(Some(Ok(data))) => {
                seen.chunks += 1;
                seen.bytes += data.len() as u64;
                if let Some(keep) = keep.as_deref_mut() {
                    keep.extend_from_slice(&data);
                }
            }
            Poll::Ready(Some(Err(e))) => panic!("body error: {e:?}"),
            Poll::Ready(None) => return seen,
            Poll::Pending => panic!("an always-ready stream's body returned Pending"),
        }
    }
}

// ---- the contenders -------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Lib {
    Ssewire,
    SsewireAttached,
    SsewireKeepAlive,
    SsewireOnePerChunk,
    SsewireGroup,
    SsewireOnePerChunkGroup,
    Axum,
    AxumKeepAlive,
    Warp,
    ActixWebLab,
}

const LIBS: [Lib; 10] = [
    Lib::Ssewire,
    Lib::SsewireAttached,
    Lib::SsewireKeepAlive,
    Lib::SsewireOnePerChunk,
    Lib::SsewireGroup,
    Lib::SsewireOnePerChunkGroup,
    Lib::Axum,
    Lib::AxumKeepAlive,
    Lib::Warp,
    Lib::ActixWebLab,
];

impl Lib {
    fn name(self) -> &'static str {
        match self {
            Lib::Ssewire => "ssewire SseBody",
            Lib::SsewireAttached => "ssewire SseBody, attach_data",
            Lib::SsewireKeepAlive => "ssewire SseBody + keep-alive",
            Lib::SsewireOnePerChunk => "ssewire SseBody, one event per chunk",
            Lib::SsewireGroup => "ssewire SseBody + group",
            Lib::SsewireOnePerChunkGroup => "ssewire SseBody + group, one event per chunk",
            Lib::Axum => "axum 0.8 Sse",
            Lib::AxumKeepAlive => "axum 0.8 Sse + keep-alive",
            Lib::Warp => "warp 0.4 sse::reply",
            Lib::ActixWebLab => "actix-web-lab 0.29 Sse",
        }
    }

    fn is_peer(self) -> bool {
        matches!(self, Lib::Axum | Lib::Warp | Lib::ActixWebLab)
    }

    /// Builds a body over `count` events of `w` and drains it.
    fn run(
        self,
        w: &'static Workload,
        count: u64,
        ka: &ssewire::KeepAlive,
        keep: Option<&mut Vec<u8>>,
    ) -> Drained {
        match self {
            Lib::SsewireAttached => {
                let events = Gen::new(count, move |n| make::ssewire_attached(w, n));
                drain_http(ssewire::SseBody::new(events), keep)
            }
            Lib::Ssewire
            | Lib::SsewireKeepAlive
            | Lib::SsewireOnePerChunk
            | Lib::SsewireGroup
            | Lib::SsewireOnePerChunkGroup => {
                let mut body = ssewire::SseBody::new(Gen::new(count, move |n| make::ssewire(w, n)));
                if self == Lib::SsewireKeepAlive {
                    body = body.with_keep_alive(ka.clone());
                }
                if matches!(self, Lib::SsewireOnePerChunk | Lib::SsewireOnePerChunkGroup) {
                    body = body.with_max_chunk_size(1);
                }
                if matches!(self, Lib::SsewireGroup | Lib::SsewireOnePerChunkGroup) {
                    body = body.with_group(group());
                }
                drain_http(body, keep)
            }
            Lib::Axum | Lib::AxumKeepAlive => {
                use axum::response::sse::{KeepAlive, Sse};
                use axum::response::IntoResponse;
                let events = Gen::new(count, move |n| Ok::<_, Infallible>(make::axum(w, n)));
                let response = if self == Lib::AxumKeepAlive {
                    Sse::new(events)
                        .keep_alive(KeepAlive::default())
                        .into_response()
                } else {
                    Sse::new(events).into_response()
                };
                drain_http(response.into_body(), keep)
            }
            Lib::Warp => {
                use warp::Reply;
                let events = Gen::new(count, move |n| Ok::<_, Infallible>(make::warp(w, n)));
                drain_http(warp::sse::reply(events).into_response().into_body(), keep)
            }
            Lib::ActixWebLab => {
                let events = Gen::new(count, move |n| Ok::<_, Infallible>(make::actix(w, n)));
                drain_actix(actix_web_lab::sse::Sse::from_stream(events), keep)
            }
        }
    }
}

/// Every body writes the workload's events, in order (comments such as keep-alives
/// would be skipped, but none is due in a run).
fn check(ka: &ssewire::KeepAlive) {
    for w in common::workloads() {
        for lib in LIBS {
            let mut out = Vec::new();
            lib.run(w, 3, ka, Some(&mut out));
            let events = common::parse_all(&out);
            assert_eq!(events.len(), 3, "{} on {}", lib.name(), w.name);
            for (i, event) in events.iter().enumerate() {
                let n = i as u64 + 1;
                let want = common::Parsed {
                    event: w.typed.then(|| common::TICK.to_owned()),
                    id: w.typed.then(|| n.to_string()),
                    data: w.data.to_owned(),
                };
                assert!(
                    *event == want,
                    "{} wrote a different event {n} on {}",
                    lib.name(),
                    w.name
                );
            }
        }
    }
}

// ---- divan ------------------------------------------------------------------------

// One divan iteration drains one body over a tenth of the workload.

fn divan_run(bencher: divan::Bencher, w: &'static Workload, lib: Lib) {
    let ka = ssewire::KeepAlive::tokio();
    bencher
        .counter(divan::counter::ItemsCount::new(w.events / 10))
        .bench_local(|| lib.run(w, w.events / 10, &ka, None).bytes);
}

#[divan::bench(args = LIBS.map(Lib::name), sample_count = 10, sample_size = 1)]
fn w1_tick_id_64b(bencher: divan::Bencher, name: &str) {
    let _rt = runtime_guard();
    divan_run(bencher, common::w1(), lib_named(name));
}

#[divan::bench(args = LIBS.map(Lib::name), sample_count = 10, sample_size = 1)]
fn w2_16_lines_x_64b(bencher: divan::Bencher, name: &str) {
    let _rt = runtime_guard();
    divan_run(bencher, common::w2(), lib_named(name));
}

#[divan::bench(args = LIBS.map(Lib::name), sample_count = 10, sample_size = 1)]
fn w3_one_64kib_line(bencher: divan::Bencher, name: &str) {
    let _rt = runtime_guard();
    divan_run(bencher, common::w3(), lib_named(name));
}

fn lib_named(name: &str) -> Lib {
    LIBS.into_iter()
        .find(|l| l.name() == name)
        .expect("known contender")
}

/// The one `StreamGroup` the "+ group" rows count in (as a server's endpoint would).
fn group() -> &'static ssewire::StreamGroup {
    static GROUP: std::sync::OnceLock<ssewire::StreamGroup> = std::sync::OnceLock::new();
    GROUP.get_or_init(|| ssewire::StreamGroup::new("bench"))
}

// ---- the tokio runtime every body is polled in --------------------------------------

fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: std::sync::OnceLock<tokio::runtime::Runtime> = std::sync::OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .expect("tokio runtime")
    })
}

fn runtime_guard() -> tokio::runtime::EnterGuard<'static> {
    runtime().enter()
}

// ---- summary: speed --------------------------------------------------------------------

struct Row {
    lib: Lib,
    t: common::Timing,
    allocs: f64,
    chunks: f64,
}

fn measure(w: &'static Workload, rounds: usize, ka: &ssewire::KeepAlive) -> Vec<Row> {
    let count = w.events / 10;
    let mut samples: Vec<Box<dyn FnMut()>> = LIBS
        .iter()
        .map(|&lib| {
            let ka = ka.clone();
            Box::new(move || {
                lib.run(w, count, &ka, None);
            }) as Box<dyn FnMut()>
        })
        .collect();
    for s in samples.iter_mut() {
        s(); // warm-up
    }
    let mut refs: Vec<&mut dyn FnMut()> = samples
        .iter_mut()
        .map(|s| &mut **s as &mut dyn FnMut())
        .collect();
    let timings = common::interleaved(rounds, count, &mut refs);
    LIBS.iter()
        .zip(timings)
        .map(|(&lib, t)| {
            let (drained, stats) = common::count(|| lib.run(w, w.events, ka, None));
            Row {
                lib,
                t,
                allocs: stats.allocs as f64 / w.events as f64,
                chunks: drained.chunks as f64 / w.events as f64,
            }
        })
        .collect()
}

fn fmt_ns(ns: f64) -> String {
    if ns >= 1000.0 {
        format!("{ns:.0}")
    } else {
        format!("{ns:.1}")
    }
}

fn speed_summary(ka: &ssewire::KeepAlive) -> String {
    let rounds = common::rounds();
    println!();
    println!(
        "== bodies: {rounds} interleaved samples (one body over a tenth of the workload) \
         per contender; ns/event of the fastest sample (median in parentheses) =="
    );
    let mut table = String::from(
        "| workload | body | ns/event | allocs/event | chunks/event | time vs ssewire |\n\
         |---|---|---:|---:|---:|---:|\n",
    );
    let mut verdicts = Vec::new();
    for w in common::workloads() {
        let rows = measure(w, rounds, ka);
        let get = |lib: Lib| rows.iter().find(|r| r.lib == lib).expect("row");
        let ours = get(Lib::Ssewire);
        for r in &rows {
            println!(
                "{} {:<38} {:>9} ({:>9}) ns/event {:>6.2} allocs/event {:>7.4} chunks/event {:>5.2}x ssewire",
                w.name,
                r.lib.name(),
                fmt_ns(r.t.min),
                fmt_ns(r.t.median),
                r.allocs,
                r.chunks,
                r.t.min / ours.t.min
            );
            table.push_str(&format!(
                "| {} | {} | {} | {:.2} | {:.3} | {:.2}x |\n",
                w.name,
                r.lib.name(),
                fmt_ns(r.t.min),
                r.allocs,
                r.chunks,
                r.t.min / ours.t.min
            ));
        }
        let fastest = rows
            .iter()
            .filter(|r| r.lib.is_peer())
            .min_by(|a, b| a.t.min.total_cmp(&b.t.min))
            .expect("peers");
        let speedup = fastest.t.min / ours.t.min;
        let speedup_median = fastest.t.median / ours.t.median;
        let attached = get(Lib::SsewireAttached);
        let speedup_attached = fastest.t.min / attached.t.min;
        let single = get(Lib::SsewireOnePerChunk);
        let group_cost = get(Lib::SsewireGroup).t.min / ours.t.min - 1.0;
        let group_cost_median = get(Lib::SsewireGroup).t.median / ours.t.median - 1.0;
        let single_group = get(Lib::SsewireOnePerChunkGroup);
        let group_single_cost = single_group.t.min / single.t.min - 1.0;
        let group_single_cost_median = single_group.t.median / single.t.median - 1.0;
        let ka_ours = get(Lib::SsewireKeepAlive).t.min / ours.t.min - 1.0;
        let ka_ours_median = get(Lib::SsewireKeepAlive).t.median / ours.t.median - 1.0;
        let ka_axum = get(Lib::AxumKeepAlive).t.min / get(Lib::Axum).t.min - 1.0;
        let ka_axum_median = get(Lib::AxumKeepAlive).t.median / get(Lib::Axum).t.median - 1.0;
        let mut line = format!(
            "{}: ssewire is {:.2}x faster than the fastest peer body ({}) [medians {:.2}x]; \
             {:.2}x with attach_data [medians {:.2}x]; \
             {:.2}x with one event per chunk; keep-alive costs ssewire {:+.1}% [medians {:+.1}%], \
             axum {:+.1}% [medians {:+.1}%]",
            w.name,
            speedup,
            fastest.lib.name(),
            speedup_median,
            speedup_attached,
            fastest.t.median / attached.t.median,
            fastest.t.min / single.t.min,
            ka_ours * 100.0,
            ka_ours_median * 100.0,
            ka_axum * 100.0,
            ka_axum_median * 100.0,
        );
        line.push_str(&format!(
            "; a StreamGroup costs {:+.1}% [medians {:+.1}%], with one event per chunk \
             {:+.1}% [medians {:+.1}%]",
            group_cost * 100.0,
            group_cost_median * 100.0,
            group_single_cost * 100.0,
            group_single_cost_median * 100.0,
        ));
        if w.name == "W1" {
            line.push_str(&format!(
                "; targets: >= 2.5x -> {} (Event), {} (attach_data), keep-alive <= 3% -> {}",
                if speedup >= 2.5 { "met" } else { "MISSED" },
                if speedup_attached >= 2.5 {
                    "met"
                } else {
                    "MISSED"
                },
                if ka_ours <= 0.03 { "met" } else { "MISSED" }
            ));
        }
        verdicts.push(line);
    }
    println!();
    for v in &verdicts {
        println!("{v}");
    }
    table
}

// ---- summary: memory ------------------------------------------------------------------

const IDLE_BODIES: usize = 10_000;

/// Heap per idle body: `IDLE_BODIES` bodies made by `make`, each polled once (it must
/// return `Pending`), all held; returns (bytes per body, allocations per body).
fn idle_heap<B>(
    mut make: impl FnMut() -> B,
    mut poll_once: impl FnMut(&mut B, &mut Context<'_>) -> bool,
) -> (f64, f64) {
    let mut cx = common::noop_cx();
    // Everything allocated while the bodies are made and polled counts, including
    // what they share (ssewire's keep-alive timer, started by the first poll; the
    // list of waiting bodies); the runtime and the `KeepAlive` handle exist before.
    let (bodies, stats) = common::count(|| {
        let mut bodies = Vec::with_capacity(IDLE_BODIES);
        for _ in 0..IDLE_BODIES {
            let mut body = make();
            assert!(
                !poll_once(&mut body, &mut cx),
                "an idle body must be pending"
            );
            bodies.push(body);
        }
        bodies
    });
    drop(bodies);
    (
        stats.live as f64 / IDLE_BODIES as f64,
        stats.allocs as f64 / IDLE_BODIES as f64,
    )
}

fn memory_summary() -> String {
    println!();
    println!("== memory: {IDLE_BODIES} idle bodies with keep-alive, each polled once, all held ==");
    let ka = ssewire::KeepAlive::tokio();
    let pending_ssewire = || futures_util::stream::pending::<ssewire::Event>();
    let ours = idle_heap(
        || ssewire::SseBody::new(pending_ssewire()).with_keep_alive(ka.clone()),
        |b, cx| {
            use http_body::Body;
            Pin::new(b).poll_frame(cx).is_ready()
        },
    );
    let axum = idle_heap(
        || {
            use axum::response::sse::{KeepAlive, Sse};
            use axum::response::IntoResponse;
            let events =
                futures_util::stream::pending::<Result<axum::response::sse::Event, Infallible>>();
            Sse::new(events)
                .keep_alive(KeepAlive::default())
                .into_response()
                .into_body()
        },
        |b, cx| {
            use http_body::Body;
            Pin::new(b).poll_frame(cx).is_ready()
        },
    );
    let size_ours =
        std::mem::size_of::<ssewire::SseBody<futures_util::stream::Pending<ssewire::Event>>>();
    let size_axum = std::mem::size_of::<axum::body::Body>();
    println!(
        "ssewire SseBody + keep-alive: {:.1} B of heap per idle body ({:.2} allocations; the body itself is {size_ours} B, held inline)",
        ours.0, ours.1
    );
    println!(
        "axum 0.8 Sse + keep-alive:    {:.1} B of heap per idle body ({:.2} allocations; axum::body::Body is {size_axum} B, boxing the rest)",
        axum.0, axum.1
    );
    println!(
        "ssewire holds {:.2}x less; goal <= 96 B -> {}",
        axum.0 / ours.0,
        if ours.0 <= 96.0 { "met" } else { "MISSED" }
    );
    format!(
        "| idle body with keep-alive | heap per body | allocations per body |\n\
         |---|---:|---:|\n\
         | ssewire SseBody | {:.0} B | {:.2} |\n\
         | axum 0.8 Sse | {:.0} B | {:.2} |\n",
        ours.0, ours.1, axum.0, axum.1
    )
}

fn main() {
    common::warm_malloc();
    let _rt = runtime_guard();
    let ka = ssewire::KeepAlive::tokio();
    // `SSEWIRE_BENCH_ONLY=W1:ssewire SseBody` (a workload, then a row's full name):
    // drain one body over the whole workload and exit, for profilers such as
    // `valgrind --tool=callgrind`.
    if let Ok(spec) = std::env::var("SSEWIRE_BENCH_ONLY") {
        let (wl, lib) = spec.split_once(':').unwrap_or((&spec, ""));
        let w = common::workloads()
            .into_iter()
            .find(|w| w.name.eq_ignore_ascii_case(wl))
            .unwrap_or_else(|| panic!("no workload {wl:?}"));
        let lib = lib_named(lib);
        let seen = lib.run(w, w.events, &ka, None);
        println!("{} {}: {} events, {seen:?}", w.name, lib.name(), w.events);
        return;
    }
    check(&ka);
    println!("all bodies write the same events for W1, W2 and W3 (checked)");

    let args: Vec<String> = std::env::args().collect();
    divan::main();
    let listing = args.iter().any(|a| a == "--list" || a == "--test");
    if listing || std::env::var_os("SSEWIRE_BENCH_NO_SUMMARY").is_some() {
        return;
    }
    let speed = speed_summary(&ka);
    let memory = memory_summary();
    println!();
    println!("README tables:");
    println!();
    print!("{speed}");
    println!();
    print!("{memory}");
}
