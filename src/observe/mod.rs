//! Observability: the counters only the body can get right.
//!
//! - `reason`: [`CloseReason`], why a stream closed;
//! - `stats`: [`StreamStats`], a snapshot, and [`DeliveryLatency`];
//! - `group`: [`StreamGroup`], the shared atomics (and, with feature `metrics`, the
//!   metric handles of `export`);
//! - `observer`: what one body keeps (in its boxed extras) and the hooks it calls;
//! - `lag`: how a body learns that its hub subscriber ended for lag.

mod group;
#[cfg(feature = "broadcast")]
pub(crate) mod lag;
mod observer;
mod reason;
mod stats;

#[cfg(feature = "metrics")]
pub(crate) mod export;

pub use group::StreamGroup;
pub(crate) use observer::Observer;
pub use reason::CloseReason;
pub use stats::{DeliveryLatency, StreamStats};
