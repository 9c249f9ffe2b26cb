//! Decoding `text/event-stream`: ssewire's `Decoder` and `DecodeStream` against
//! eventsource-stream (the decoder under reqwest-eventsource), sse-stream (the one
//! under rmcp, the MCP SDK) and russe (actix-web-lab's, a tokio-util codec).
//!
//! ```text
//! cargo bench -p ssewire-benches --bench decode
//! ```
//!
//! Workloads, each a stream cut into 16 KiB chunks as a network read would deliver
//! it, every event fully consumed (type, data as text, last event ID):
//! - `small`: 20,000 events `event: tick` + `id: <n>` + one 64-byte `data` line;
//! - `multiline`: 2,000 events of 16 `data` lines of 64 bytes;
//! - `large`: 32 events of one 64 KiB `data` line (each spans several chunks).
//!
//! Contenders:
//! - `ssewire_decoder`: `Decoder::feed` + `next_event` (the sans-IO core);
//! - `ssewire_stream`: `DecodeStream` over a `Stream` of chunks;
//! - `eventsource_stream`: `EventStream::new(stream)`;
//! - `sse_stream`: `SseByteStream::new(stream)`;
//! - `russe`: `tokio_util::codec::Decoder::decode` on a `BytesMut` the chunks are
//!   appended to (its codec core, without a `FramedRead`).
//!
//! Streams are polled to completion with a no-op waker (the chunk stream is always
//! ready). Before timing, every contender's events are checked to be the same.
//!
//! Divan prints the time per whole workload with events/s and bytes/s; a summary
//! follows with ns/event, GB/s and each peer's time divided by ssewire's (above 1:
//! ssewire is faster), from interleaved rounds so that load from elsewhere hits all
//! alike (median, or the best round with `SSEWIRE_DECODE_STAT=best`;
//! `SSEWIRE_DECODE_ROUNDS`, default 15; `SSEWIRE_BENCH_NO_SUMMARY=1` skips it,
//! `SSEWIRE_DECODE_SUMMARY_ONLY=1` skips divan and prints only the summary). Peers
//! that are streams are compared with `DecodeStream`, the codec with `Decoder`.
//! `SSEWIRE_DECODE_ONLY` runs one contender for callgrind (see `callgrind_mode`).

use std::convert::Infallible;
use std::hint::black_box;
use std::pin::Pin;
use std::sync::OnceLock;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use divan::counter::{BytesCount, ItemsCount};
use divan::Bencher;
use futures_util::{stream, Stream};

const CHUNK: usize = 16 * 1024;

struct Workload {
    name: &'static str,
    events: usize,
    chunks: Vec<Bytes>,
    bytes: usize,
}

fn data_line(n: usize, len: usize) -> String {
    // JSON-looking ASCII of exactly `len` bytes.
    let head = format!("{{\"seq\":{n},\"text\":\"");
    let mut s = head.clone();
    while s.len() < len - 2 {
        s.push(char::from(b'a' + (s.len() % 26) as u8));
    }
    s.push_str("\"}");
    s
}

fn workload(name: &'static str, events: usize, one: impl Fn(usize) -> String) -> Workload {
    let mut wire = Vec::new();
    for n in 0..events {
        wire.extend_from_slice(one(n).as_bytes());
    }
    let bytes = wire.len();
    let wire = Bytes::from(wire);
    let chunks = (0..bytes)
        .step_by(CHUNK)
        .map(|at| wire.slice(at..(at + CHUNK).min(bytes)))
        .collect();
    Workload {
        name,
        events,
        chunks,
        bytes,
    }
}

fn workloads() -> &'static [Workload; 3] {
    static W: OnceLock<[Workload; 3]> = OnceLock::new();
    W.get_or_init(|| {
        [
            workload("small", 20_000, |n| {
                format!("event: tick\nid: {n}\ndata: {}\n\n", data_line(n, 64))
            }),
            workload("multiline", 2_000, |n| {
                let mut s = String::new();
                for line in 0..16 {
                    s.push_str("data: ");
                    s.push_str(&data_line(n * 16 + line, 64));
                    s.push('\n');
                }
                s.push('\n');
                s
            }),
            workload("large", 32, |n| {
                format!("data: {}\n\n", data_line(n, 64 * 1024))
            }),
        ]
    })
}

// ---- the contenders -----------------------------------------------------------------

/// What each contender reports per event, to check they agree.
#[derive(Debug, PartialEq, Eq, Clone)]
struct Seen {
    event_type: String,
    data_len: usize,
    data_hash: u64,
    id: String,
}

fn hash(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    })
}

/// Consumes one event as an application would: type, data and id as text.
#[inline(always)]
fn consume(event_type: &str, data: &str, id: &str) -> usize {
    black_box(event_type).len() + black_box(data).len() + black_box(id).len()
}

fn chunk_stream(w: &Workload) -> impl Stream<Item = Result<Bytes, Infallible>> + '_ {
    stream::iter(w.chunks.iter().cloned().map(Ok))
}

/// Polls a ready-only stream to its end.
fn drain<S: Stream>(s: S, mut each: impl FnMut(S::Item)) {
    let mut s = std::pin::pin!(s);
    let mut cx = Context::from_waker(std::task::Waker::noop());
    loop {
        match Pin::as_mut(&mut s).poll_next(&mut cx) {
            Poll::Ready(Some(item)) => each(item),
            Poll::Ready(None) => return,
            Poll::Pending => unreachable!("the chunk stream is always ready"),
        }
    }
}

fn ssewire_decoder(w: &Workload, mut each: impl FnMut(&str, &str, &str)) {
    let mut decoder = ssewire::Decoder::new();
    for chunk in &w.chunks {
        decoder.feed(chunk.clone());
        while let Some(e) = decoder.next_event().expect("within limits") {
            each(e.event_type(), e.data(), e.last_event_id());
        }
    }
}

fn ssewire_stream(w: &Workload, mut each: impl FnMut(&str, &str, &str)) {
    drain(ssewire::DecodeStream::new(chunk_stream(w)), |e| {
        let e = e.expect("no error");
        each(e.event_type(), e.data(), e.last_event_id());
    });
}

fn eventsource_stream(w: &Workload, mut each: impl FnMut(&str, &str, &str)) {
    drain(eventsource_stream::EventStream::new(chunk_stream(w)), |e| {
        let e = e.expect("no error");
        each(&e.event, &e.data, &e.id);
    });
}

fn sse_stream(w: &Workload, mut each: impl FnMut(&str, &str, &str)) {
    drain(sse_stream::SseByteStream::new(chunk_stream(w)), |e| {
        let e = e.expect("no error");
        if let Some(data) = &e.data {
            each(
                e.event.as_deref().unwrap_or("message"),
                data,
                e.id.as_deref().unwrap_or(""),
            );
        }
    });
}

fn russe(w: &Workload, mut each: impl FnMut(&str, &str, &str)) {
    use tokio_util::codec::Decoder as _;
    let mut decoder = russe::Decoder::default();
    let mut buf = BytesMut::new();
    for chunk in &w.chunks {
        buf.extend_from_slice(chunk);
        while let Some(e) = decoder.decode(&mut buf).expect("no error") {
            if let russe::Event::Message(m) = e {
                each(
                    m.event.as_deref().unwrap_or("message"),
                    &m.data,
                    m.id.as_deref().unwrap_or(""),
                );
            }
        }
    }
}

type Run = fn(&Workload, &mut dyn FnMut(&str, &str, &str));

const CONTENDERS: [(&str, Run); 5] = [
    ("ssewire Decoder", |w, f| ssewire_decoder(w, f)),
    ("ssewire DecodeStream", |w, f| ssewire_stream(w, f)),
    ("eventsource-stream 0.2", |w, f| eventsource_stream(w, f)),
    ("sse-stream 0.3", |w, f| sse_stream(w, f)),
    ("russe 0.3 (codec)", |w, f| russe(w, f)),
];

fn one_pass(run: Run, w: &Workload) -> usize {
    let mut total = 0;
    run(w, &mut |t, d, i| total += consume(t, d, i));
    total
}

fn check_agreement() {
    for w in workloads() {
        let mut reference: Option<Vec<Seen>> = None;
        for (name, run) in CONTENDERS {
            let mut seen = Vec::new();
            run(w, &mut |t, d, i| {
                seen.push(Seen {
                    event_type: t.to_owned(),
                    data_len: d.len(),
                    data_hash: hash(d),
                    id: i.to_owned(),
                })
            });
            assert_eq!(seen.len(), w.events, "{name} on {}", w.name);
            match &reference {
                None => reference = Some(seen),
                Some(r) => assert!(r == &seen, "{name} disagrees with ssewire on {}", w.name),
            }
        }
    }
}

/// The floor of the `large` workload: the work every decoder does on it, in separate
/// passes and nothing else. It finds the line ends (`memchr2`), checks the UTF-8
/// (`simdutf8`), and copies each line, which spans chunks, into a buffer of its own,
/// as a decoder that hands out the line must. It parses no field and builds no
/// event. A decoder faster than this would have to fuse the passes.
fn three_pass_floor(w: &Workload) -> usize {
    let mut line: Vec<u8> = Vec::new();
    let mut room = 0;
    let mut total = 0;
    let take = |piece: &[u8], line: &mut Vec<u8>, room: usize| {
        assert!(simdutf8::basic::from_utf8(piece).is_ok(), "ASCII workload");
        if line.capacity() == 0 {
            line.reserve(room);
        }
        line.extend_from_slice(piece);
    };
    for chunk in &w.chunks {
        let mut rest = &chunk[..];
        while let Some(end) = memchr::memchr2(b'\n', b'\r', rest) {
            take(&rest[..end], &mut line, room);
            room = room.max(line.len());
            // The line goes with its event: the next one starts a buffer of its own.
            total += black_box(std::mem::take(&mut line)).len();
            rest = &rest[end + 1..];
        }
        take(rest, &mut line, room);
    }
    total
}

// ---- divan --------------------------------------------------------------------------

fn bench(bencher: Bencher, run: Run, w: usize) {
    let w = &workloads()[w];
    bencher
        .counter(ItemsCount::new(w.events))
        .counter(BytesCount::new(w.bytes))
        .bench(|| one_pass(run, w));
}

const ARGS: [usize; 3] = [0, 1, 2];

fn workload_name(i: &usize) -> &'static str {
    workloads()[*i].name
}

macro_rules! contender_bench {
    ($fn:ident, $idx:expr) => {
        #[divan::bench(args = ARGS, sample_count = 20, sample_size = 1, max_time = 1)]
        fn $fn(bencher: Bencher, w: usize) {
            let _ = workload_name;
            bench(bencher, CONTENDERS[$idx].1, w);
        }
    };
}

contender_bench!(ssewire_decoder_, 0);
contender_bench!(ssewire_decode_stream, 1);
contender_bench!(eventsource_stream_, 2);
contender_bench!(sse_stream_, 3);
contender_bench!(russe_codec, 4);

// ---- summary ------------------------------------------------------------------------

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn summary() {
    let rounds: usize = std::env::var("SSEWIRE_DECODE_ROUNDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(15);
    // On a shared machine, other jobs only ever add time: the best round is then the
    // steadier figure (`SSEWIRE_DECODE_STAT=best`).
    let best = std::env::var("SSEWIRE_DECODE_STAT").is_ok_and(|s| s == "best");
    let stat = if best { "best" } else { "median" };
    println!();
    println!("decode summary: {stat} of {rounds} interleaved rounds, 16 KiB chunks");
    println!("| workload | decoder | ns/event | GB/s | its time ÷ ssewire's |");
    println!("|---|---|---:|---:|---:|");
    for w in workloads() {
        let mut times: Vec<Vec<Duration>> = vec![Vec::new(); CONTENDERS.len()];
        let large = w.name == "large";
        let mut floor = Vec::new();
        for _ in 0..rounds {
            for (i, (_, run)) in CONTENDERS.iter().enumerate() {
                let start = Instant::now();
                black_box(one_pass(*run, w));
                times[i].push(start.elapsed());
            }
            if large {
                let start = Instant::now();
                black_box(three_pass_floor(w));
                floor.push(start.elapsed());
            }
        }
        let medians: Vec<Duration> = times
            .into_iter()
            .map(|v| {
                if best {
                    v.into_iter().min().unwrap_or_default()
                } else {
                    median(v)
                }
            })
            .collect();
        // Peers are compared with the ssewire entry of the same shape: streams with
        // `DecodeStream`, the codec with `Decoder`.
        for (i, (name, _)) in CONTENDERS.iter().enumerate() {
            let t = medians[i];
            let ns_per_event = t.as_nanos() as f64 / w.events as f64;
            let gbps = w.bytes as f64 / t.as_secs_f64() / 1e9;
            let base = match i {
                0 | 4 => medians[0],
                _ => medians[1],
            };
            let ratio = match i {
                0 | 1 => "1".to_owned(),
                _ => format!("{:.2}", t.as_secs_f64() / base.as_secs_f64()),
            };
            println!(
                "| {} ({} events, {:.1} MB) | {name} | {ns_per_event:.0} | {gbps:.2} | {ratio} |",
                w.name,
                w.events,
                w.bytes as f64 / 1e6
            );
        }
        if large {
            let t = if best {
                floor.into_iter().min().unwrap_or_default()
            } else {
                median(floor)
            };
            println!(
                "| {} | floor: line search + UTF-8 check + copy, alone | {:.0} | {:.2} | {:.2} |",
                w.name,
                t.as_nanos() as f64 / w.events as f64,
                w.bytes as f64 / t.as_secs_f64() / 1e9,
                t.as_secs_f64() / medians[1].as_secs_f64()
            );
        }
    }
}

/// Allocates and frees 8 MiB once, before anything is measured. glibc's malloc starts
/// with a small heap and a low mmap threshold: until a large block has been freed, every
/// allocation over 128 KiB is an `mmap` + `munmap` pair (page faults each time), and the
/// heap is trimmed back after each large free. Freeing one 8 MiB block raises the
/// dynamic mmap threshold and the trim threshold, so that every contender runs on a
/// warm heap, as a long-running client does. Without it, whichever contender runs first
/// pays the growth (peer rows 5–8× slower in the encode benches).
fn warm_malloc() {
    let block = black_box(vec![1u8; 8 << 20]);
    drop(block);
}

/// One contender on one workload, `passes` times, in a function of its own so that
/// `valgrind --tool=callgrind --toggle-collect=*measured_passes*` counts exactly the
/// decoding (see [`callgrind_mode`]).
#[inline(never)]
fn measured_passes(run: Run, w: &Workload, passes: usize) -> usize {
    (0..passes).map(|_| one_pass(run, w)).sum()
}

/// `SSEWIRE_DECODE_ONLY=<contender index>:<workload index>[:passes]`: runs just that
/// (after one unmeasured pass) and exits, for instruction counts:
///
/// ```text
/// SSEWIRE_DECODE_ONLY=0:0 valgrind --tool=callgrind --toggle-collect='*measured_passes*' \
///     target/release/deps/decode-<hash>
/// ```
///
/// Contenders: 0 ssewire `Decoder`, 1 `DecodeStream`, 2 eventsource-stream, 3 sse-stream,
/// 4 russe; workloads: 0 small, 1 multiline, 2 large. Divide the count by the events
/// of the workload times `passes`.
fn callgrind_mode() -> bool {
    let Ok(only) = std::env::var("SSEWIRE_DECODE_ONLY") else {
        return false;
    };
    let parts: Vec<usize> = only.split(':').filter_map(|p| p.parse().ok()).collect();
    let (c, w) = (parts[0], &workloads()[parts[1]]);
    let passes = parts.get(2).copied().unwrap_or(1);
    let run = CONTENDERS[c].1;
    black_box(one_pass(run, w));
    black_box(measured_passes(run, w, passes));
    println!(
        "{} on {}: {} events x {passes} passes",
        CONTENDERS[c].0, w.name, w.events
    );
    true
}

fn main() {
    warm_malloc();
    if callgrind_mode() {
        return;
    }
    check_agreement();
    println!("all five decoders return the same events on every workload (checked)");
    let args: Vec<String> = std::env::args().collect();
    if std::env::var_os("SSEWIRE_DECODE_SUMMARY_ONLY").is_none() {
        divan::main();
    }
    let listing = args.iter().any(|a| a == "--list" || a == "--test");
    if !listing && std::env::var_os("SSEWIRE_BENCH_NO_SUMMARY").is_none() {
        summary();
    }
}
