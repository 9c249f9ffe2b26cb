//! The timer wheel behind a [`KeepAlive`](crate::KeepAlive) and its clones: buckets of
//! idle bodies that are due at the same tick, each bucket with its own sleep.
//!
//! Design (issue 11, items 1-3):
//!
//! - Time is counted in ticks of 1/16 of the interval from the wheel's epoch. An idle
//!   body puts its waker into the bucket of the tick at which its keep-alive is due,
//!   and keeps only the bucket and its slot (16 bytes in the body).
//! - A bucket is armed with its own sleep, made (and polled once) by the body that
//!   opened it, in that body's runtime. When the sleep fires, the bucket wakes exactly
//!   the bodies in it: an idle body is woken once per interval, when it is due, and a
//!   body that never gets polled again (a stalled client) delays nobody else.
//! - A body polled with a new waker swaps it in its slot (`will_wake` check), so any
//!   waker works: `now_or_never`, `select_all`, a move to another task.
//! - A fired bucket is confirmed against the clock by the first body that sees it. A
//!   runtime that shuts down fires its sleeps early; the confirmation then finds the
//!   bucket not yet due and arms it again, with a sleep of the caller's runtime. No
//!   sleep is polled after it fired, so no sleep is ever polled after its runtime
//!   went away, and a `KeepAlive` works from any runtime.
//! - A new sleep that is over as soon as it is polled (a coarse timer that rounds
//!   down, or the caller's runtime shutting down too) wakes nobody, so that nothing
//!   spins. The confirmation then takes a bucket due within one tick as due (the
//!   keep-alive goes out at most one tick early); any other bucket keeps its bodies'
//!   wakers in their slots, and the wheel wakes them when it finds the bucket due
//!   (any registration or confirmation after its tick), or a body polled again arms
//!   it again. A timer that cannot sleep can schedule no wake; the only alternative
//!   would be a busy loop.
//! - Nothing here runs per event: the body sets one flag per chunk, and the clock is
//!   read only when a body registers (first idle poll, then once per interval).

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex, Weak};
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, Instant};

use bytes::Bytes;

pub(super) use crate::sync::lock;
use crate::timer::{Sleep, Timer};

/// Ticks per keep-alive interval: a body's deadline is rounded up to the next tick, so
/// a keep-alive can come up to 1/16 of the interval later than the exact deadline.
pub(crate) const TICKS_PER_INTERVAL: u32 = 16;

/// The state shared by a `KeepAlive` and its clones.
pub(crate) struct Wheel {
    timer: Arc<dyn Timer>,
    pub(crate) interval: Duration,
    period: Duration,
    pub(crate) message: Bytes,
    state: Mutex<WheelState>,
}

struct WheelState {
    /// The clock reading that is tick 0 (the first registration).
    epoch: Option<Instant>,
    /// Buckets not yet confirmed due, by tick.
    buckets: BTreeMap<u64, Armed>,
}

/// A bucket as the wheel holds it: weakly (bodies own their bucket), with its sleep.
struct Armed {
    bucket: Weak<Bucket>,
    /// Kept only so it can be dropped; never polled again after it was first polled.
    _sleep: Option<Sleep>,
}

/// Bodies due at the same tick.
pub(crate) struct Bucket {
    wheel: Arc<Wheel>,
    tick: u64,
    slots: Mutex<Slots>,
}

struct Slots {
    phase: Phase,
    /// One slot per body that joined; a slot is never reused within a bucket.
    wakers: Vec<Option<Waker>>,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Phase {
    /// The sleep has not fired.
    Waiting,
    /// The sleep fired (its bodies were woken), or was over as soon as it was polled
    /// (its bodies' wakers stay in their slots); not yet checked against the clock.
    Fired,
    /// Due: checked against the clock and removed from the wheel.
    Done,
}

/// The waker given to a bucket's sleep. Weak, so that a pending sleep keeps nothing
/// alive.
struct Trigger(Weak<Bucket>);

impl Wake for Trigger {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        if let Some(bucket) = self.0.upgrade() {
            let woken = {
                let mut slots = lock(&bucket.slots);
                if slots.phase != Phase::Waiting {
                    return;
                }
                slots.phase = Phase::Fired;
                slots.take_wakers()
            };
            woken.into_iter().for_each(Waker::wake);
        }
    }
}

impl Slots {
    fn take_wakers(&mut self) -> Vec<Waker> {
        self.wakers.iter_mut().filter_map(Option::take).collect()
    }

    /// Makes sure `waker` is the one in `slot`.
    fn put(&mut self, slot: u32, waker: &Waker) {
        if let Some(place) = self.wakers.get_mut(slot as usize) {
            match place {
                Some(w) if w.will_wake(waker) => {}
                _ => *place = Some(waker.clone()),
            }
        }
    }
}

/// Marks `bucket` due; its wakers go to `woken`.
fn finish(bucket: &Bucket, woken: &mut Vec<Waker>) {
    let mut slots = lock(&bucket.slots);
    slots.phase = Phase::Done;
    woken.extend(slots.take_wakers());
    slots.wakers = Vec::new();
}

impl Wheel {
    pub(crate) fn new(timer: Arc<dyn Timer>, interval: Duration, message: Bytes) -> Self {
        Wheel {
            timer,
            interval,
            period: (interval / TICKS_PER_INTERVAL).max(Duration::from_nanos(1)),
            message,
            state: Mutex::new(WheelState {
                epoch: None,
                buckets: BTreeMap::new(),
            }),
        }
    }

    pub(crate) fn timer(&self) -> &Arc<dyn Timer> {
        &self.timer
    }

    /// Ticks from the epoch to `now`, rounded down and up.
    pub(super) fn ticks(&self, epoch: Instant, now: Instant) -> (u64, u64) {
        let elapsed = now.saturating_duration_since(epoch).as_nanos();
        let period = self.period.as_nanos();
        let floor = elapsed / period;
        let ceil = floor + u128::from(!elapsed.is_multiple_of(period));
        let clamp = |t: u128| u64::try_from(t).unwrap_or(u64::MAX / 2);
        (clamp(floor), clamp(ceil))
    }

    /// Reads the clock, completes every bucket due by now (their wakers go to `woken`),
    /// and returns (epoch, now, the tick of now rounded up).
    fn advance(&self, st: &mut WheelState, woken: &mut Vec<Waker>) -> (Instant, Instant, u64) {
        let now = self.timer.now();
        let epoch = *st.epoch.get_or_insert(now);
        let (floor, ceil) = self.ticks(epoch, now);
        while let Some(entry) = st.buckets.first_entry() {
            if *entry.key() > floor {
                break;
            }
            let armed = entry.remove();
            if let Some(bucket) = armed.bucket.upgrade() {
                finish(&bucket, woken);
            }
        }
        (epoch, now, ceil)
    }

    /// Makes a sleep until `tick` for `bucket`, polled once so it is registered with
    /// the caller's runtime. Returns the sleep, or `None` if it is already over: then
    /// the bucket is `Fired` and nobody is woken (the caller decides, see `confirm`).
    fn arm(&self, bucket: &Arc<Bucket>, epoch: Instant, now: Instant) -> Option<Sleep> {
        let nanos = u128::from(bucket.tick) * self.period.as_nanos();
        let offset = Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX));
        let wait = match epoch.checked_add(offset) {
            Some(at) => at.saturating_duration_since(now),
            None => self.interval,
        };
        let mut sleep = self.timer.sleep(wait);
        let trigger = Waker::from(Arc::new(Trigger(Arc::downgrade(bucket))));
        match sleep.as_mut().poll(&mut Context::from_waker(&trigger)) {
            Poll::Pending => Some(sleep),
            Poll::Ready(()) => {
                lock(&bucket.slots).phase = Phase::Fired;
                None
            }
        }
    }

    /// Puts `waker` into the bucket of the first tick at least one interval from now.
    pub(crate) fn register(self: &Arc<Self>, waker: &Waker) -> (Arc<Bucket>, u32) {
        let mut woken = Vec::new();
        let registered = {
            let mut st = lock(&self.state);
            let (epoch, now, now_tick) = self.advance(&mut st, &mut woken);
            let tick = now_tick.saturating_add(u64::from(TICKS_PER_INTERVAL));
            let existing = st.buckets.get(&tick).and_then(|a| a.bucket.upgrade());
            let bucket = match existing {
                Some(bucket) => bucket,
                None => {
                    let bucket = Arc::new(Bucket {
                        wheel: self.clone(),
                        tick,
                        slots: Mutex::new(Slots {
                            phase: Phase::Waiting,
                            wakers: Vec::new(),
                        }),
                    });
                    let sleep = self.arm(&bucket, epoch, now);
                    st.buckets.insert(
                        tick,
                        Armed {
                            bucket: Arc::downgrade(&bucket),
                            _sleep: sleep,
                        },
                    );
                    bucket
                }
            };
            let slot = {
                let mut slots = lock(&bucket.slots);
                slots.wakers.push(Some(waker.clone()));
                u32::try_from(slots.wakers.len() - 1).unwrap_or(u32::MAX)
            };
            // Joined a bucket whose sleep fired early (its runtime shut down) or was
            // over at once: arm it again here, so that this body is not left waiting
            // on nothing (if this sleep is over at once too, see `confirm`).
            if lock(&bucket.slots).phase == Phase::Fired {
                self.rearm(&mut st, &bucket, epoch, now);
            }
            (bucket, slot)
        };
        woken.into_iter().for_each(Waker::wake);
        registered
    }

    /// Arms `bucket` again; `false` if the new sleep was over at once (the bucket is
    /// then `Fired`, with its wakers in place).
    fn rearm(
        &self,
        st: &mut WheelState,
        bucket: &Arc<Bucket>,
        epoch: Instant,
        now: Instant,
    ) -> bool {
        lock(&bucket.slots).phase = Phase::Waiting;
        let sleep = self.arm(bucket, epoch, now);
        let armed = sleep.is_some();
        if let Some(entry) = st.buckets.get_mut(&bucket.tick) {
            entry._sleep = sleep;
        }
        armed
    }

    /// Checks a fired bucket against the clock for the body in `slot`: `true` if it
    /// is due (now `Done`). Otherwise it fired early: `waker` goes into `slot` (before
    /// the new sleep is polled, so that its fire cannot miss it) and the bucket is
    /// armed again.
    ///
    /// If the new sleep is over at once, nobody is woken: a timer whose sleeps keep
    /// ending early cannot make a body spin. A bucket due within one tick is then
    /// taken as due (a coarse timer: the keep-alive goes out at most one tick early;
    /// the next bucket is a whole interval away, so this cannot repeat before then);
    /// any other bucket stays `Fired` with `waker` in `slot`, woken when the wheel
    /// finds it due (`advance`) or when a body joins it and arms it again.
    fn confirm(&self, bucket: &Arc<Bucket>, slot: u32, waker: &Waker) -> bool {
        let mut woken = Vec::new();
        let due = {
            let mut st = lock(&self.state);
            // Out of the slot while the bucket may turn out due: not woken for it.
            bucket.leave(slot);
            let (epoch, now, _) = self.advance(&mut st, &mut woken);
            let phase = {
                let mut slots = lock(&bucket.slots);
                if slots.phase != Phase::Done {
                    slots.put(slot, waker);
                }
                slots.phase
            };
            match phase {
                Phase::Done => true,
                // Armed again by another body in the meantime.
                Phase::Waiting => false,
                Phase::Fired => {
                    if self.rearm(&mut st, bucket, epoch, now) {
                        false
                    } else if bucket.tick <= self.ticks(epoch, now).0.saturating_add(1) {
                        st.buckets.remove(&bucket.tick);
                        bucket.leave(slot);
                        finish(bucket, &mut woken);
                        true
                    } else {
                        false
                    }
                }
            }
        };
        woken.into_iter().for_each(Waker::wake);
        due
    }
}

impl Bucket {
    /// The phase; while waiting, makes sure `waker` is the one in `slot`.
    fn check(&self, slot: u32, waker: &Waker) -> Phase {
        let mut slots = lock(&self.slots);
        if slots.phase == Phase::Waiting {
            slots.put(slot, waker);
        }
        slots.phase
    }

    fn leave(&self, slot: u32) {
        if let Some(place) = lock(&self.slots).wakers.get_mut(slot as usize) {
            *place = None;
        }
    }
}

/// A body's keep-alive state: 16 bytes.
pub(crate) enum KeepAliveState {
    /// Not polled idle yet.
    New(Arc<Wheel>),
    /// Waiting in `bucket`, at `slot`.
    Waiting { bucket: Arc<Bucket>, slot: u32 },
}

impl KeepAliveState {
    pub(crate) fn wheel(&self) -> &Arc<Wheel> {
        match self {
            KeepAliveState::New(wheel) => wheel,
            KeepAliveState::Waiting { bucket, .. } => &bucket.wheel,
        }
    }

    /// Called when the body has nothing to send. `active` is set by the body whenever
    /// it sends a chunk; it is cleared here when a deadline is checked. Returns the
    /// keep-alive message when it is due; otherwise `cx` will be woken when it is.
    pub(crate) fn poll_idle(&mut self, cx: &Context<'_>, active: &mut bool) -> Poll<Bytes> {
        let waker = cx.waker();
        let wheel = match self {
            KeepAliveState::New(wheel) => {
                // Idle from now on: the first keep-alive is one interval away.
                *active = false;
                let wheel = wheel.clone();
                self.wait_in(wheel.register(waker));
                return Poll::Pending;
            }
            KeepAliveState::Waiting { bucket, slot } => {
                match bucket.check(*slot, waker) {
                    Phase::Waiting => return Poll::Pending,
                    Phase::Fired => {
                        // Not due: `confirm` left `waker` in the slot.
                        if !bucket.wheel.confirm(bucket, *slot, waker) {
                            return Poll::Pending;
                        }
                    }
                    Phase::Done => {}
                }
                bucket.wheel.clone()
            }
        };
        // Due: whatever happens, the next check is one interval from now.
        self.wait_in(wheel.register(waker));
        if std::mem::take(active) {
            // Something was sent since the last check: not idle for long enough.
            Poll::Pending
        } else {
            Poll::Ready(wheel.message.clone())
        }
    }

    fn wait_in(&mut self, (bucket, slot): (Arc<Bucket>, u32)) {
        if let KeepAliveState::Waiting { bucket, slot } = self {
            bucket.leave(*slot);
        }
        *self = KeepAliveState::Waiting { bucket, slot };
    }
}

impl Drop for KeepAliveState {
    fn drop(&mut self) {
        if let KeepAliveState::Waiting { bucket, slot } = self {
            bucket.leave(*slot);
        }
    }
}

impl fmt::Debug for KeepAliveState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeepAliveState")
            .field("interval", &self.wheel().interval)
            .finish_non_exhaustive()
    }
}
