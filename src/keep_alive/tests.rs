//! Unit tests of the timer wheel: sizes, tick arithmetic, and a sleep fired early.

use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, Instant};

use bytes::Bytes;

use super::wheel::{lock, KeepAliveState, Wheel};
use crate::timer::{Sleep, Timer};

#[test]
fn a_bodys_keep_alive_state_is_16_bytes() {
    assert_eq!(std::mem::size_of::<Option<KeepAliveState>>(), 16);
}

#[test]
fn ticks_round_down_and_up() {
    struct NoTimer;
    impl Timer for NoTimer {
        fn sleep(&self, _: Duration) -> Sleep {
            Box::pin(std::future::pending())
        }
        fn now(&self) -> Instant {
            Instant::now()
        }
    }
    let wheel = Wheel::new(Arc::new(NoTimer), Duration::from_secs(16), Bytes::new());
    let epoch = Instant::now();
    assert_eq!(wheel.ticks(epoch, epoch), (0, 0));
    assert_eq!(wheel.ticks(epoch, epoch + Duration::from_secs(1)), (1, 1));
    assert_eq!(
        wheel.ticks(epoch, epoch + Duration::from_millis(1500)),
        (1, 2)
    );
    // A clock that goes back counts as no time at all.
    assert_eq!(wheel.ticks(epoch + Duration::from_secs(5), epoch), (0, 0));
}

/// A clock and sleeps driven by hand.
#[derive(Default)]
struct Manual {
    offset: Mutex<Duration>,
    sleeps: Mutex<Vec<Arc<ManualSleep>>>,
    /// While set, every new sleep is over at once (a coarse timer, or a runtime that is
    /// shutting down).
    instant: Mutex<bool>,
}

#[derive(Default)]
struct ManualSleep {
    done: Mutex<bool>,
    waker: Mutex<Option<Waker>>,
}

impl ManualSleep {
    /// Completes the sleep, as a runtime does when it fires it or shuts down.
    fn fire(&self) {
        *lock(&self.done) = true;
        if let Some(w) = lock(&self.waker).take() {
            w.wake();
        }
    }
}

struct ManualTimer(Arc<Manual>, Instant);

impl Timer for ManualTimer {
    fn sleep(&self, _: Duration) -> Sleep {
        let sleep = Arc::new(ManualSleep::default());
        *lock(&sleep.done) = *lock(&self.0.instant);
        lock(&self.0.sleeps).push(sleep.clone());
        Box::pin(std::future::poll_fn(move |cx| {
            if *lock(&sleep.done) {
                Poll::Ready(())
            } else {
                *lock(&sleep.waker) = Some(cx.waker().clone());
                Poll::Pending
            }
        }))
    }
    fn now(&self) -> Instant {
        self.1 + *lock(&self.0.offset)
    }
}

#[derive(Default)]
struct Count(std::sync::atomic::AtomicUsize);

impl Wake for Count {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }
}

/// A sleep that completes early (its runtime shut down) wakes the bucket, which
/// is then checked against the clock, found not due, and armed again with a new
/// sleep; the keep-alive still goes out when it is due.
#[test]
fn a_sleep_fired_early_is_replaced_and_nothing_goes_out_early() {
    let manual = Arc::new(Manual::default());
    let timer = ManualTimer(manual.clone(), Instant::now());
    let wheel = Arc::new(Wheel::new(
        Arc::new(timer),
        Duration::from_secs(16),
        Bytes::from_static(b":\n"),
    ));
    let count = Arc::new(Count::default());
    let waker = Waker::from(count.clone());
    let cx = Context::from_waker(&waker);
    let mut state = KeepAliveState::New(wheel);
    let mut active = false;
    assert!(state.poll_idle(&cx, &mut active).is_pending());
    assert_eq!(lock(&manual.sleeps).len(), 1);

    // The runtime that armed it shuts down: the sleep completes at once.
    *lock(&manual.offset) = Duration::from_secs(3);
    let first = lock(&manual.sleeps)[0].clone();
    first.fire();
    assert_eq!(count.0.load(std::sync::atomic::Ordering::SeqCst), 1);
    assert!(
        state.poll_idle(&cx, &mut active).is_pending(),
        "not due yet"
    );
    assert_eq!(lock(&manual.sleeps).len(), 2, "armed again");

    // Due: the new sleep fires, the keep-alive goes out.
    *lock(&manual.offset) = Duration::from_secs(16);
    let second = lock(&manual.sleeps)[1].clone();
    second.fire();
    assert_eq!(count.0.load(std::sync::atomic::Ordering::SeqCst), 2);
    assert_eq!(
        state.poll_idle(&cx, &mut active),
        Poll::Ready(Bytes::from_static(b":\n"))
    );
    assert!(state.poll_idle(&cx, &mut active).is_pending());
}

fn manual_wheel() -> (Arc<Manual>, Arc<Wheel>) {
    let manual = Arc::new(Manual::default());
    let timer = ManualTimer(manual.clone(), Instant::now());
    let wheel = Wheel::new(
        Arc::new(timer),
        Duration::from_secs(16),
        Bytes::from_static(b":\n"),
    );
    (manual, Arc::new(wheel))
}

/// An idle body's keep-alive state, polled by hand or as an executor would.
struct Body {
    state: KeepAliveState,
    active: bool,
    count: Arc<Count>,
    waker: Waker,
    /// Wakes already answered with a poll.
    seen: usize,
}

impl Body {
    fn new(wheel: &Arc<Wheel>) -> Self {
        let count = Arc::new(Count::default());
        Body {
            state: KeepAliveState::New(wheel.clone()),
            active: false,
            waker: Waker::from(count.clone()),
            count,
            seen: 0,
        }
    }

    fn wakes(&self) -> usize {
        self.count.0.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// One poll, whether or not the body was woken.
    fn poll(&mut self) -> Poll<Bytes> {
        self.state
            .poll_idle(&Context::from_waker(&self.waker), &mut self.active)
    }

    /// Polls once for each wake not yet answered, as an executor would, and returns
    /// the keep-alives sent. Panics if the body keeps waking itself (a busy loop).
    fn run(&mut self) -> Vec<Bytes> {
        let mut sent = Vec::new();
        for _ in 0..10 {
            if self.wakes() == self.seen {
                return sent;
            }
            self.seen = self.wakes();
            if let Poll::Ready(message) = self.poll() {
                sent.push(message);
            }
        }
        panic!("the body keeps waking itself: {} wakes", self.wakes());
    }
}

fn set_clock(manual: &Manual, secs: f64) {
    *lock(&manual.offset) = Duration::from_secs_f64(secs);
}

/// A sleep fires a tick early (a coarse timer rounding down), and the sleep that
/// replaces it is over at once: the keep-alive goes out on the wake of the first
/// sleep, instead of the body waiting with its waker nowhere (no keep-alive ever).
#[test]
fn a_replacement_sleep_over_at_once_does_not_lose_the_body() {
    let (manual, wheel) = manual_wheel();
    let mut body = Body::new(&wheel);
    assert!(body.poll().is_pending());
    assert_eq!(lock(&manual.sleeps).len(), 1);

    set_clock(&manual, 15.0);
    *lock(&manual.instant) = true;
    let first = lock(&manual.sleeps)[0].clone();
    first.fire();
    assert_eq!(body.wakes(), 1);
    assert_eq!(
        body.run(),
        [Bytes::from_static(b":\n")],
        "the keep-alive goes out on the wake of the sleep that fired"
    );
    assert_eq!(body.wakes(), 1, "and nothing else woke it");
}

/// A body left waiting in a bucket whose new sleep was over at once (so that nothing
/// spins) keeps its waker in its slot: the wheel wakes it once it finds the bucket due
/// (here when another body registers).
#[test]
fn a_body_whose_sleep_is_over_at_once_is_woken_when_its_bucket_is_due() {
    let (manual, wheel) = manual_wheel();
    let mut body = Body::new(&wheel);
    assert!(body.poll().is_pending());

    // Fired 13 s early, and the timer cannot sleep at all for now.
    set_clock(&manual, 3.0);
    *lock(&manual.instant) = true;
    let first = lock(&manual.sleeps)[0].clone();
    first.fire();
    assert_eq!(body.run(), Vec::<Bytes>::new(), "not due: nothing early");
    assert_eq!(body.wakes(), 1);

    *lock(&manual.instant) = false;
    set_clock(&manual, 20.0);
    let mut other = Body::new(&wheel);
    assert!(other.poll().is_pending());
    assert_eq!(body.wakes(), 2, "woken by the wheel");
    assert_eq!(body.run(), [Bytes::from_static(b":\n")]);
}

/// A timer whose every sleep is over at once (a runtime shutting down) must not make
/// a body spin or send keep-alives early: polled every second (the worst case: polled
/// for other reasons), it sends one keep-alive per 15-16 s (at most one tick early) and
/// is woken at most once per keep-alive.
#[test]
fn sleeps_that_are_always_over_at_once_make_no_busy_loop() {
    let (manual, wheel) = manual_wheel();
    *lock(&manual.instant) = true;
    let mut body = Body::new(&wheel);
    assert!(body.poll().is_pending());
    assert!(body.run().is_empty());
    let mut sent = Vec::new();
    for second in 1..=160 {
        set_clock(&manual, f64::from(second));
        if let Poll::Ready(message) = body.poll() {
            sent.push(second);
            assert_eq!(message, Bytes::from_static(b":\n"));
        }
        assert!(body.run().is_empty(), "a second keep-alive at {second} s");
    }
    assert!(sent.len() >= 9, "keep-alives at {sent:?} s");
    let mut last = 0;
    for &at in &sent {
        assert!(at - last >= 15, "keep-alives at {sent:?} s: one early");
        last = at;
    }
    assert!(body.wakes() <= sent.len(), "{} wakes", body.wakes());
}
