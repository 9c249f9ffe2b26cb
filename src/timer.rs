//! The small runtime abstraction the body needs for keep-alive and lifetimes.

use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, Instant};

/// A boxed sleep future, as returned by [`Timer::sleep`].
///
/// ```
/// use std::time::Duration;
/// let sleep: ssewire::Sleep = Box::pin(async {});
/// futures_executor::block_on(sleep);
/// # let _ = Duration::ZERO;
/// ```
pub type Sleep = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;

/// A source of time and sleeps, so the crate works on any async runtime.
///
/// The crate ships `TokioTimer` (feature `tokio`); for another
/// runtime, implement the two methods:
///
/// ```
/// use std::time::{Duration, Instant};
/// use ssewire::{Sleep, Timer};
///
/// /// A timer for a runtime whose sleep is `my_runtime_sleep`.
/// #[derive(Debug)]
/// struct MyTimer;
///
/// impl Timer for MyTimer {
///     fn sleep(&self, duration: Duration) -> Sleep {
///         Box::pin(my_runtime_sleep(duration))
///     }
///     fn now(&self) -> Instant {
///         Instant::now()
///     }
/// }
/// # async fn my_runtime_sleep(_: Duration) {}
/// let _keep_alive = ssewire::KeepAlive::new(MyTimer);
/// ```
pub trait Timer: Send + Sync + 'static {
    /// A future that completes after `duration`.
    ///
    /// ```
    /// # #[cfg(feature = "tokio")]
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// use ssewire::Timer;
    /// ssewire::TokioTimer.sleep(std::time::Duration::from_millis(1)).await;
    /// # }
    /// # #[cfg(not(feature = "tokio"))] fn main() {}
    /// ```
    fn sleep(&self, duration: Duration) -> Sleep;

    /// The current time, on the same clock as [`Timer::sleep`].
    ///
    /// ```
    /// # #[cfg(feature = "tokio")] {
    /// use ssewire::Timer;
    /// let before = ssewire::TokioTimer.now();
    /// assert!(ssewire::TokioTimer.now() >= before);
    /// # }
    /// ```
    fn now(&self) -> Instant;
}

/// The [`Timer`] of the tokio runtime (feature `tokio`). It follows tokio's clock, so
/// it also works with `tokio::time::pause()` in tests.
///
/// ```
/// # #[cfg(feature = "tokio")] {
/// let keep_alive = ssewire::KeepAlive::new(ssewire::TokioTimer);
/// # let _ = keep_alive;
/// # }
/// ```
#[cfg(feature = "tokio")]
#[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
#[derive(Debug, Clone, Copy, Default)]
pub struct TokioTimer;

#[cfg(feature = "tokio")]
impl Timer for TokioTimer {
    fn sleep(&self, duration: Duration) -> Sleep {
        Box::pin(tokio::time::sleep(duration))
    }

    fn now(&self) -> Instant {
        tokio::time::Instant::now().into_std()
    }
}
