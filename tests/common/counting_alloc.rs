//! The one counting allocator of the tests and the benches: the system allocator,
//! plus counts of allocation calls, bytes requested and bytes still live.
//!
//! - Per thread, on from the first [`count_on_this_thread`] or [`thread_stats`] call
//!   (tests that run in parallel each see only their own thread's allocations).
//! - Process-wide, only inside a [`count`] window (single-threaded use: the benches'
//!   allocation and idle-memory rows, which also see what runtime threads allocate).
//!
//! While neither is on, a call costs two relaxed loads more than the system allocator,
//! the same for every library, so the timed benchmark runs are not skewed toward
//! libraries that allocate less.
//!
//! Used with `#[path]` from tests/allocations.rs, tests/decode_memory.rs and
//! benches/common/mod.rs, each of which installs it as its `#[global_allocator]`.

#![allow(dead_code)] // each user takes the part it needs

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::AtomicBool;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::atomic::{AtomicI64, AtomicU64};

/// The counting allocator: `#[global_allocator] static A: CountingAlloc = CountingAlloc;`.
pub struct CountingAlloc;

/// What the allocator saw.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AllocStats {
    /// Calls to `alloc`, `alloc_zeroed` and `realloc` (a realloc is one more trip to
    /// the allocator, in place or not).
    pub allocs: u64,
    /// Bytes requested by those calls.
    pub bytes: u64,
    /// Bytes allocated and not freed (net heap growth).
    pub live: i64,
}

impl AllocStats {
    const ZERO: AllocStats = AllocStats {
        allocs: 0,
        bytes: 0,
        live: 0,
    };

    fn since(self, start: AllocStats) -> AllocStats {
        AllocStats {
            allocs: self.allocs - start.allocs,
            bytes: self.bytes - start.bytes,
            live: self.live - start.live,
        }
    }
}

thread_local! {
    // `const` initialisation and a `Copy` type: reading it never allocates.
    static THREAD: Cell<AllocStats> = const { Cell::new(AllocStats::ZERO) };
}

static THREAD_ON: AtomicBool = AtomicBool::new(false);
static GLOBAL_ON: AtomicBool = AtomicBool::new(false);
static GLOBAL_ALLOCS: AtomicU64 = AtomicU64::new(0);
static GLOBAL_BYTES: AtomicU64 = AtomicU64::new(0);
static GLOBAL_LIVE: AtomicI64 = AtomicI64::new(0);

#[inline(always)]
fn record(allocs: u64, bytes: u64, live: i64) {
    if THREAD_ON.load(Relaxed) {
        // `try_with`: during thread teardown the slot may be gone; such calls are not ours.
        let _ = THREAD.try_with(|s| {
            let mut v = s.get();
            v.allocs += allocs;
            v.bytes += bytes;
            v.live += live;
            s.set(v);
        });
    }
    if GLOBAL_ON.load(Relaxed) {
        GLOBAL_ALLOCS.fetch_add(allocs, Relaxed);
        GLOBAL_BYTES.fetch_add(bytes, Relaxed);
        GLOBAL_LIVE.fetch_add(live, Relaxed);
    }
}

// SAFETY: every method forwards to `System` with the caller's arguments unchanged;
// the counting touches only a thread-local `Cell` and atomics, and never allocates.
unsafe impl GlobalAlloc for CountingAlloc {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        record(1, layout.size() as u64, layout.size() as i64);
        unsafe { System.alloc(layout) }
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        record(1, layout.size() as u64, layout.size() as i64);
        unsafe { System.alloc_zeroed(layout) }
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        record(1, new_size as u64, new_size as i64 - layout.size() as i64);
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        record(0, 0, -(layout.size() as i64));
        unsafe { System.dealloc(ptr, layout) }
    }
}

/// What this thread allocated since per-thread counting was turned on (by the first
/// call of this function or of [`count_on_this_thread`], in any thread).
pub fn thread_stats() -> AllocStats {
    THREAD_ON.store(true, Relaxed);
    THREAD.with(Cell::get)
}

/// Runs `f` and returns what this thread allocated meanwhile.
pub fn count_on_this_thread<R>(f: impl FnOnce() -> R) -> (R, AllocStats) {
    let start = thread_stats();
    let out = std::hint::black_box(f());
    (out, thread_stats().since(start))
}

/// Runs `f` with the process-wide counters on, and returns what every thread
/// allocated meanwhile (single-threaded use only: one window at a time).
pub fn count<R>(f: impl FnOnce() -> R) -> (R, AllocStats) {
    GLOBAL_ALLOCS.store(0, Relaxed);
    GLOBAL_BYTES.store(0, Relaxed);
    GLOBAL_LIVE.store(0, Relaxed);
    GLOBAL_ON.store(true, Relaxed);
    let out = f();
    GLOBAL_ON.store(false, Relaxed);
    let stats = AllocStats {
        allocs: GLOBAL_ALLOCS.load(Relaxed),
        bytes: GLOBAL_BYTES.load(Relaxed),
        live: GLOBAL_LIVE.load(Relaxed),
    };
    (out, stats)
}
