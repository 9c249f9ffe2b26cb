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
