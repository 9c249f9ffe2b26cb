//! How a body learns that its hub subscriber ended for lagging.
//!
//! The body is generic over its stream and cannot ask it why it ended. A subscriber
//! that ends for lag (`LagPolicy::Disconnect`) sets a flag of the current thread right
//! before its stream returns `None`; a body with a group clears the flag at the start
//! of each poll and reads it when its stream ends in that poll. Both happen in the same
//! synchronous call, so the flag cannot come from another body's subscriber (unless one
//! stream polls several subscribers and one of them ends for lag in the very poll in
//! which the whole stream ends).

use std::cell::Cell;

thread_local! {
    static LAG_ENDED: Cell<bool> = const { Cell::new(false) };
}

/// Called by a subscriber that ends for lagging.
pub(crate) fn note() {
    LAG_ENDED.with(|flag| flag.set(true));
}

#[inline]
pub(super) fn clear() {
    LAG_ENDED.with(|flag| flag.set(false));
}

pub(super) fn take() -> bool {
    LAG_ENDED.with(|flag| flag.replace(false))
}
