//! Why a stream closed: [`CloseReason`].

use std::fmt;

/// Why a body of a [`StreamGroup`](crate::StreamGroup) closed, as counted by
/// [`StreamStats::closed_by`](crate::StreamStats::closed_by) (and, with feature
/// `metrics`, the `reason` label of `ssewire_streams_closed_total`).
///
/// A body closes when it is dropped; the reason is the first of these it saw:
///
/// ```
/// use ssewire::CloseReason;
/// assert_eq!(CloseReason::ClientGone.as_str(), "client_gone");
/// assert_eq!(CloseReason::ALL.len(), 6);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CloseReason {
    /// The stream of events ended (and the body sent everything before the end).
    Ended,
    /// The body was dropped while still streaming: the client went away (or the
    /// server dropped the connection, e.g. when it stopped without a shutdown signal).
    ClientGone,
    /// The stream yielded an error (whatever [the error option](crate::SseBody#errors)
    /// did with it).
    Error,
    /// The [shutdown signal](crate::SseBody::with_shutdown_signal) fired.
    Shutdown,
    /// The [maximum lifetime](crate::SseBody::with_max_lifetime) was over.
    Lifetime,
    /// A hub subscriber ended for lagging (`hub::LagPolicy::Disconnect`): its stream
    /// ended, and the body was polled by the thread the subscriber ended on (as it
    /// always is when the subscriber is the body's stream, or inside it).
    Lag,
}

impl CloseReason {
    /// Every reason, in the order of their [`index`](CloseReason::index).
    ///
    /// ```
    /// for (i, reason) in ssewire::CloseReason::ALL.iter().enumerate() {
    ///     assert_eq!(reason.index(), i);
    /// }
    /// ```
    pub const ALL: [CloseReason; 6] = [
        CloseReason::Ended,
        CloseReason::ClientGone,
        CloseReason::Error,
        CloseReason::Shutdown,
        CloseReason::Lifetime,
        CloseReason::Lag,
    ];

    /// The reason as a short, stable label: `ended`, `client_gone`, `error`,
    /// `shutdown`, `lifetime`, `lag`.
    ///
    /// ```
    /// assert_eq!(ssewire::CloseReason::Lifetime.as_str(), "lifetime");
    /// ```
    pub const fn as_str(self) -> &'static str {
        match self {
            CloseReason::Ended => "ended",
            CloseReason::ClientGone => "client_gone",
            CloseReason::Error => "error",
            CloseReason::Shutdown => "shutdown",
            CloseReason::Lifetime => "lifetime",
            CloseReason::Lag => "lag",
        }
    }

    /// Its position in [`CloseReason::ALL`].
    ///
    /// ```
    /// assert_eq!(ssewire::CloseReason::Ended.index(), 0);
    /// ```
    pub const fn index(self) -> usize {
        match self {
            CloseReason::Ended => 0,
            CloseReason::ClientGone => 1,
            CloseReason::Error => 2,
            CloseReason::Shutdown => 3,
            CloseReason::Lifetime => 4,
            CloseReason::Lag => 5,
        }
    }
}

impl fmt::Display for CloseReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
