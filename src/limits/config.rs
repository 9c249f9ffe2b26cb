//! [`Limits`]: the caps and the `Retry-After` a refusal asks for.

use std::time::Duration;

use super::refused::{Cap, Refused};

/// The caps of a [`ConnectionLimiter`](crate::ConnectionLimiter), and how long a
/// refused client is asked to wait. Setters start with `with_`; the getters of the
/// same names read them back. With no cap set, every connection is admitted (and
/// counted).
///
/// ```
/// use ssewire::Limits;
///
/// let limits = Limits::new().with_max_connections(5_000).with_max_per_key(3);
/// assert_eq!(limits.max_connections(), Some(5_000));
/// assert_eq!(limits.max_per_key(), Some(3));
/// assert_eq!(limits.retry_after(), Limits::DEFAULT_RETRY_AFTER);
/// assert_eq!(limits.retry_jitter(), Limits::DEFAULT_RETRY_JITTER);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[must_use]
pub struct Limits {
    max_connections: Option<usize>,
    max_per_key: Option<usize>,
    retry_after: Duration,
    retry_jitter: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits::new()
    }
}

impl Limits {
    /// The default least `Retry-After` of a refusal: 5 seconds.
    ///
    /// ```
    /// assert_eq!(ssewire::Limits::DEFAULT_RETRY_AFTER.as_secs(), 5);
    /// ```
    pub const DEFAULT_RETRY_AFTER: Duration = Duration::from_secs(5);
    /// The default random part added to [`Limits::DEFAULT_RETRY_AFTER`]: up to 5
    /// seconds, so that refused clients do not all come back at the same second.
    ///
    /// ```
    /// assert_eq!(ssewire::Limits::DEFAULT_RETRY_JITTER.as_secs(), 5);
    /// ```
    pub const DEFAULT_RETRY_JITTER: Duration = Duration::from_secs(5);

    /// No cap, and the default `Retry-After` (5 s plus up to 5 s of jitter).
    ///
    /// ```
    /// let limits = ssewire::Limits::new();
    /// assert_eq!((limits.max_connections(), limits.max_per_key()), (None, None));
    /// ```
    pub const fn new() -> Self {
        Limits {
            max_connections: None,
            max_per_key: None,
            retry_after: Self::DEFAULT_RETRY_AFTER,
            retry_jitter: Self::DEFAULT_RETRY_JITTER,
        }
    }

    /// At most `max` connections open at once, whatever their key; past it,
    /// [`Cap::Global`] refuses with `503 Service Unavailable`.
    ///
    /// ```
    /// assert_eq!(ssewire::Limits::new().with_max_connections(100).max_connections(), Some(100));
    /// ```
    pub const fn with_max_connections(mut self, max: usize) -> Self {
        self.max_connections = Some(max);
        self
    }

    /// At most `max` connections open at once for one key; past it, [`Cap::PerKey`]
    /// refuses with `429 Too Many Requests`.
    ///
    /// ```
    /// assert_eq!(ssewire::Limits::new().with_max_per_key(2).max_per_key(), Some(2));
    /// ```
    pub const fn with_max_per_key(mut self, max: usize) -> Self {
        self.max_per_key = Some(max);
        self
    }

    /// The least time a refused client is asked to wait (`Retry-After`, in whole
    /// seconds, rounded up).
    ///
    /// ```
    /// use std::time::Duration;
    /// let limits = ssewire::Limits::new().with_retry_after(Duration::from_secs(30));
    /// assert_eq!(limits.retry_after(), Duration::from_secs(30));
    /// ```
    pub const fn with_retry_after(mut self, after: Duration) -> Self {
        self.retry_after = after;
        self
    }

    /// A random part, up to `jitter`, added to each refusal's `Retry-After`.
    ///
    /// ```
    /// use std::time::Duration;
    /// let limits = ssewire::Limits::new().with_retry_jitter(Duration::ZERO);
    /// assert_eq!(limits.retry_jitter(), Duration::ZERO);
    /// ```
    pub const fn with_retry_jitter(mut self, jitter: Duration) -> Self {
        self.retry_jitter = jitter;
        self
    }

    /// The cap on connections open at once, if any.
    ///
    /// ```
    /// assert_eq!(ssewire::Limits::new().max_connections(), None);
    /// ```
    pub const fn max_connections(&self) -> Option<usize> {
        self.max_connections
    }

    /// The cap on connections open at once for one key, if any.
    ///
    /// ```
    /// assert_eq!(ssewire::Limits::new().max_per_key(), None);
    /// ```
    pub const fn max_per_key(&self) -> Option<usize> {
        self.max_per_key
    }

    /// The least `Retry-After` of a refusal.
    ///
    /// ```
    /// assert_eq!(ssewire::Limits::new().retry_after(), ssewire::Limits::DEFAULT_RETRY_AFTER);
    /// ```
    pub const fn retry_after(&self) -> Duration {
        self.retry_after
    }

    /// The most random time added to a refusal's `Retry-After`.
    ///
    /// ```
    /// assert_eq!(ssewire::Limits::new().retry_jitter(), ssewire::Limits::DEFAULT_RETRY_JITTER);
    /// ```
    pub const fn retry_jitter(&self) -> Duration {
        self.retry_jitter
    }

    /// A refusal by `cap` (whose limit is `limit`), with this `Retry-After`.
    pub(crate) fn refuse(&self, cap: Cap, limit: usize) -> Refused {
        Refused::new(cap, limit, self.retry_after, self.retry_jitter)
    }
}
