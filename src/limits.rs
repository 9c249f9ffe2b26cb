//! Connection limits: a global cap and a per-key cap on open event streams, and the
//! typed refusal ([`Refused`]) to answer with `429` or `503` and `Retry-After`.
//!
//! The types are documented on [`ConnectionLimiter`], which has the whole picture.

mod config;
mod limiter;
mod refused;
#[cfg(test)]
mod tests;

pub use config::Limits;
#[cfg(feature = "broadcast")]
pub(crate) use limiter::{refuse_over, take_place};
pub use limiter::{ConnectionLimiter, ConnectionPermit};
pub use refused::{Cap, Refused};
