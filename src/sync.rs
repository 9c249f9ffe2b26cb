//! The crate's synchronisation helpers: a poison-tolerant lock and a list of wakers.

use std::sync::{Mutex, MutexGuard, PoisonError};
use std::task::Waker;

/// Locks `mutex`, also when a thread panicked while holding it.
///
/// Every critical section in this crate leaves its data consistent (nothing that can
/// panic runs between two related updates), so a poisoned lock is still usable, and
/// one panicking task must not take every other connection down with it.
#[inline]
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Where a waiter's waker sits in a [`WakerList`], kept by the waiter.
///
/// Lets the waiter replace its waker when it is polled again (with the same or
/// another waker: no lost wake-up, no duplicate) and remove it when it goes away.
#[derive(Debug)]
pub(crate) struct WaitSlot {
    /// The list's generation when the slot was taken: a slot from an older
    /// generation was emptied by [`WakerList::take`].
    generation: u64,
    index: u32,
}

impl WaitSlot {
    const NONE: u32 = u32::MAX;

    /// A slot that holds no waker.
    #[inline]
    pub(crate) const fn new() -> Self {
        WaitSlot {
            generation: 0,
            index: Self::NONE,
        }
    }
}

/// Wakers of tasks waiting for the same thing, each registered at most once.
///
/// Register with [`WakerList::register`] while holding the lock that guards the
/// awaited state; [`WakerList::take`] every waker when it changes, and wake them
/// after releasing the lock ([`Wakers::wake`]). Wakers that a call displaces are
/// returned, to be dropped after the lock too (dropping a waker can drop a task).
#[derive(Debug)]
pub(crate) struct WakerList {
    wakers: Vec<Option<Waker>>,
    /// Emptied slots, for reuse.
    free: Vec<usize>,
    /// Bumped by every `take` (which invalidates every slot).
    generation: u64,
}

impl Default for WakerList {
    fn default() -> Self {
        WakerList {
            wakers: Vec::new(),
            free: Vec::new(),
            generation: 1,
        }
    }
}

/// Wakers taken from a [`WakerList`], to wake once the lock is released.
#[derive(Debug, Default)]
#[must_use = "wake them"]
pub(crate) struct Wakers(Vec<Option<Waker>>);

impl Wakers {
    /// Wakes every waker.
    #[inline]
    pub(crate) fn wake(self) {
        for waker in self.0.into_iter().flatten() {
            waker.wake();
        }
    }
}

impl WakerList {
    /// Registers `waker` in `slot` (replacing the waker registered there, if any).
    /// Returns a replaced waker, for the caller to drop once the lock is released.
    #[inline]
    pub(crate) fn register(&mut self, slot: &mut WaitSlot, waker: &Waker) -> Option<Waker> {
        if slot.generation == self.generation && slot.index != WaitSlot::NONE {
            if let Some(registered) = self.wakers.get_mut(slot.index as usize) {
                return match registered {
                    Some(old) if old.will_wake(waker) => None,
                    _ => registered.replace(waker.clone()),
                };
            }
        }
        let index = match self.free.pop() {
            Some(index) if index < self.wakers.len() => {
                self.wakers[index] = Some(waker.clone());
                index
            }
            _ => {
                if self.wakers.len() == self.wakers.capacity() {
                    // Grow by an eighth, not double: this list is the only memory a
                    // waiter costs.
                    self.wakers.reserve_exact(8.max(self.wakers.len() / 8));
                }
                self.wakers.push(Some(waker.clone()));
                self.wakers.len() - 1
            }
        };
        match u32::try_from(index) {
            Ok(index) if index != WaitSlot::NONE => {
                slot.generation = self.generation;
                slot.index = index;
            }
            // Four billion waiters: this slot cannot be remembered, so the waker
            // stays (harmlessly) in the list until the next `take`.
            _ => slot.index = WaitSlot::NONE,
        }
        None
    }

    /// Empties `slot`; returns its waker, for the caller to drop once the lock is
    /// released.
    #[inline]
    pub(crate) fn unregister(&mut self, slot: &mut WaitSlot) -> Option<Waker> {
        let index = std::mem::replace(&mut slot.index, WaitSlot::NONE);
        if slot.generation != self.generation || index == WaitSlot::NONE {
            return None;
        }
        let old = self.wakers.get_mut(index as usize)?.take();
        if old.is_some() {
            self.free.push(index as usize);
        }
        old
    }

    /// Takes every registered waker (every slot becomes empty).
    #[inline]
    pub(crate) fn take(&mut self) -> Wakers {
        if self.wakers.is_empty() {
            return Wakers::default();
        }
        self.generation += 1;
        // The same tasks will most likely wait again: room for all of them.
        let room = Vec::with_capacity(self.wakers.len().saturating_sub(self.free.len()));
        self.free.clear();
        Wakers(std::mem::replace(&mut self.wakers, room))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::task::Wake;

    struct Count(AtomicUsize);
    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }
    fn counter() -> (Arc<Count>, Waker) {
        let count = Arc::new(Count(AtomicUsize::new(0)));
        (count.clone(), Waker::from(count))
    }
    fn woken(count: &Count) -> usize {
        count.0.load(Ordering::SeqCst)
    }

    #[test]
    fn a_slot_holds_one_waker_and_the_newest_wins() {
        let mut list = WakerList::default();
        let mut slot = WaitSlot::new();
        let (first, first_waker) = counter();
        let (second, second_waker) = counter();
        assert!(list.register(&mut slot, &first_waker).is_none());
        assert!(list.register(&mut slot, &first_waker).is_none()); // same: kept
        let displaced = list.register(&mut slot, &second_waker);
        assert!(displaced.is_some());
        list.take().wake();
        assert_eq!((woken(&first), woken(&second)), (0, 1));
    }

    #[test]
    fn take_empties_every_slot_and_slots_are_reused() {
        let mut list = WakerList::default();
        let (count, waker) = counter();
        let mut a = WaitSlot::new();
        let mut b = WaitSlot::new();
        let _ = list.register(&mut a, &waker);
        let _ = list.register(&mut b, &waker);
        assert!(list.unregister(&mut a).is_some());
        assert!(list.unregister(&mut a).is_none());
        let mut c = WaitSlot::new();
        let _ = list.register(&mut c, &waker); // reuses a's slot
        assert_eq!(list.wakers.len(), 2);
        list.take().wake();
        assert_eq!(woken(&count), 2);
        // Old slots are stale: unregistering them touches nothing.
        assert!(list.unregister(&mut b).is_none());
        list.take().wake();
        assert_eq!(woken(&count), 2);
    }

    #[test]
    fn lock_survives_poison() {
        let mutex = Arc::new(Mutex::new(1));
        let poisoner = Arc::clone(&mutex);
        let _ = std::thread::spawn(move || {
            let _guard = poisoner.lock().unwrap();
            panic!("poison");
        })
        .join();
        assert!(mutex.is_poisoned());
        *lock(&mutex) += 1;
        assert_eq!(*lock(&mutex), 2);
    }
}
