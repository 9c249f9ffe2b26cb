//! Unit tests of the limiter: exact caps, jitter bounds, memory, threads.

use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use http::{Response, StatusCode};

use super::*;
use crate::sync::lock;

fn no_jitter() -> Limits {
    Limits::new().with_retry_jitter(Duration::ZERO)
}

#[test]
fn refuses_exactly_past_each_cap() {
    let limiter = ConnectionLimiter::new(no_jitter().with_max_connections(3).with_max_per_key(2));
    let a1 = limiter.try_acquire("a").unwrap();
    let _a2 = limiter.try_acquire("a").unwrap();
    let refused = limiter.try_acquire("a").unwrap_err();
    assert_eq!((refused.cap(), refused.limit()), (Cap::PerKey, 2));
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    let _b1 = limiter.try_acquire("b").unwrap();
    let refused = limiter.try_acquire("c").unwrap_err();
    assert_eq!((refused.cap(), refused.limit()), (Cap::Global, 3));
    assert_eq!(refused.status(), StatusCode::SERVICE_UNAVAILABLE);
    // A per-key refusal gave its global place back.
    assert_eq!(limiter.open(), 3);
    drop(a1);
    assert_eq!(limiter.open_for("a"), 1);
    let _c1 = limiter.try_acquire("c").unwrap();
    assert!(limiter.try_acquire("a").is_err()); // global again
}

#[test]
fn a_zero_cap_refuses_without_leaving_an_entry() {
    let limiter = ConnectionLimiter::new(no_jitter().with_max_per_key(0));
    assert_eq!(limiter.try_acquire(1u8).unwrap_err().cap(), Cap::PerKey);
    assert_eq!((limiter.open(), limiter.keys()), (0, 0));
}

#[test]
fn retry_after_is_whole_seconds_within_the_jitter() {
    let limits = Limits::new()
        .with_max_connections(0)
        .with_retry_after(Duration::from_millis(200))
        .with_retry_jitter(Duration::from_secs(3));
    let limiter = ConnectionLimiter::new(limits);
    for _ in 0..50 {
        let after = limiter.try_acquire(()).unwrap_err().retry_after();
        assert_eq!(after.subsec_nanos(), 0);
        assert!((1..=4).contains(&after.as_secs()), "{after:?}");
    }
    let response: Response<String> = limiter.try_acquire(()).unwrap_err().to_response();
    assert!(response
        .body()
        .starts_with("connection refused: the server's cap (0 open"));
}

#[test]
fn the_map_gives_memory_back() {
    let limiter = ConnectionLimiter::new(Limits::new().with_max_per_key(1));
    let permits: Vec<_> = (0..10_000u32)
        .map(|k| limiter.try_acquire(k).unwrap())
        .collect();
    assert_eq!(limiter.keys(), 10_000);
    drop(permits);
    assert_eq!(limiter.keys(), 0);
    assert!(lock(&limiter.inner.per_key).capacity() <= 128);
}

#[test]
fn permits_are_send_sync_and_debug() {
    fn check<T: Send + Sync + fmt::Debug>() {}
    check::<ConnectionPermit>();
    check::<ConnectionLimiter<String>>();
    check::<Refused>();
    let limiter = ConnectionLimiter::new(Limits::new().with_max_per_key(1));
    let permit = limiter.try_acquire(5u8).unwrap();
    assert_eq!(
        format!("{permit:?}"),
        "ConnectionPermit { keyed: true, .. }"
    );
}

/// Many threads acquire and release at once: never more than the caps are open,
/// and everything returns to zero.
#[test]
fn concurrent_acquire_and_release_stays_within_the_caps() {
    const GLOBAL: usize = 12;
    const PER_KEY: usize = 3;
    let limiter = ConnectionLimiter::new(
        no_jitter()
            .with_max_connections(GLOBAL)
            .with_max_per_key(PER_KEY),
    );
    let stop = Arc::new(AtomicBool::new(false));
    let live = Arc::new(AtomicUsize::new(0));
    let live_per_key: Arc<Vec<AtomicUsize>> =
        Arc::new((0..4).map(|_| AtomicUsize::new(0)).collect());
    let threads: Vec<_> = (0..16)
        .map(|t| {
            let limiter = limiter.clone();
            let (live, per_key, stop) = (live.clone(), live_per_key.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut admitted = 0u32;
                let mut i = 0usize;
                while !stop.load(Ordering::Relaxed) || admitted == 0 {
                    let key = (t + i) % 4;
                    i += 1;
                    if let Ok(permit) = limiter.try_acquire(key) {
                        admitted += 1;
                        let now = live.fetch_add(1, Ordering::SeqCst) + 1;
                        let mine = per_key[key].fetch_add(1, Ordering::SeqCst) + 1;
                        assert!(now <= GLOBAL, "{now} open");
                        assert!(mine <= PER_KEY, "{mine} open for {key}");
                        std::thread::yield_now();
                        per_key[key].fetch_sub(1, Ordering::SeqCst);
                        live.fetch_sub(1, Ordering::SeqCst);
                        drop(permit);
                    }
                }
                admitted
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    stop.store(true, Ordering::Relaxed);
    let admitted: u32 = threads.into_iter().map(|t| t.join().unwrap()).sum();
    assert!(admitted >= 16);
    assert_eq!((limiter.open(), limiter.keys()), (0, 0));
}

/// A huge `Retry-After` (here the largest `Duration`, whose seconds are `u64::MAX`
/// and which has a fraction) is answered with the most whole seconds there are: the
/// rounding up must neither overflow (a panic in debug builds) nor wrap to 0 s.
#[test]
fn a_huge_retry_after_saturates_instead_of_overflowing() {
    let limits = no_jitter()
        .with_max_connections(0)
        .with_retry_after(Duration::MAX);
    let refused = ConnectionLimiter::new(limits).try_acquire(()).unwrap_err();
    assert_eq!(refused.retry_after(), Duration::from_secs(u64::MAX));
    // With jitter too: the sum saturates as well.
    let limits = Limits::new()
        .with_max_connections(0)
        .with_retry_after(Duration::from_secs(u64::MAX))
        .with_retry_jitter(Duration::MAX);
    let refused = ConnectionLimiter::new(limits).try_acquire(()).unwrap_err();
    assert_eq!(refused.retry_after(), Duration::from_secs(u64::MAX));
    let response: Response<String> = refused.to_response();
    assert_eq!(
        response.headers()["retry-after"],
        u64::MAX.to_string().as_str()
    );
}

/// A key whose hashing can be held up, to stop an admission inside the limiter.
#[derive(Clone)]
struct SlowKey {
    name: &'static str,
    /// While `Some(false)`, hashing this key sets it to `Some(true)` and waits until
    /// it is cleared, or at most 500 ms: long enough for the test's next step, and a
    /// way out when the limiter (rightly) makes that step wait for this admission.
    gate: Arc<(std::sync::Mutex<Option<bool>>, std::sync::Condvar)>,
}

impl SlowKey {
    fn new(name: &'static str) -> Self {
        SlowKey {
            name,
            gate: Arc::default(),
        }
    }
}

impl PartialEq for SlowKey {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
    }
}

impl Eq for SlowKey {}

impl std::hash::Hash for SlowKey {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        let (held, changed) = &*self.gate;
        let mut held = held.lock().unwrap();
        if *held == Some(false) {
            *held = Some(true); // inside: tell the test
            changed.notify_all();
            let (_held, _) = changed
                .wait_timeout_while(held, Duration::from_millis(500), |h| *h == Some(true))
                .unwrap();
        }
        self.name.hash(state);
    }
}

/// A connection refused by its key's cap must not take one of the server's places,
/// not even for a moment: while it is being refused, another key is admitted if the
/// server is not full (it was refused with `Cap::Global`, a 503 saying the server's
/// cap was reached with only one connection of two open).
#[test]
fn a_per_key_refusal_never_makes_another_key_refused_globally() {
    let limiter = ConnectionLimiter::new(no_jitter().with_max_connections(2).with_max_per_key(1));
    let alice = SlowKey::new("alice");
    let _open = limiter.try_acquire(alice.clone()).unwrap();
    // A second connection of alice's, stopped while the limiter hashes her key.
    *alice.gate.0.lock().unwrap() = Some(false);
    let refused = std::thread::spawn({
        let (limiter, alice) = (limiter.clone(), alice.clone());
        move || limiter.try_acquire(alice).map(drop)
    });
    {
        let (held, changed) = &*alice.gate;
        let held = held.lock().unwrap();
        drop(changed.wait_while(held, |h| *h != Some(true)).unwrap());
    }
    let bob = limiter.try_acquire(SlowKey::new("bob"));
    *alice.gate.0.lock().unwrap() = None; // let alice's attempt go on
    alice.gate.1.notify_all();
    assert_eq!(refused.join().unwrap().unwrap_err().cap(), Cap::PerKey);
    let bob = bob.map_err(|refused| refused.to_string());
    assert!(bob.is_ok(), "one of two open, yet: {bob:?}");
    assert_eq!((limiter.open(), limiter.keys()), (2, 2));
}
