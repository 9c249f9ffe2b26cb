//! Keep-alive for idle bodies: the public configuration ([`KeepAlive`]) and the timer
//! wheel its clones share.

mod config;
#[cfg(test)]
mod tests;
mod wheel;

pub use config::KeepAlive;
pub(crate) use wheel::KeepAliveState;
