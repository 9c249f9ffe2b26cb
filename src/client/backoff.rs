//! How long to wait before the next attempt.

use std::hash::{BuildHasher, Hasher};
use std::time::{Duration, SystemTime};

use http::HeaderMap;

use super::config::Config;

/// Exponential backoff over the reconnection time, with jitter.
#[derive(Debug)]
pub(crate) struct Backoff {
    /// Attempts in a row that failed.
    failures: u32,
    rng: u64,
}

impl Backoff {
    pub(crate) fn new() -> Self {
        // A random seed from std's per-process hasher keys: no dependency, no unsafe.
        let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
        hasher.write_u64(0x5EED);
        Backoff {
            failures: 0,
            rng: hasher.finish() | 1,
        }
    }

    pub(crate) fn failures(&self) -> u32 {
        self.failures
    }

    /// Records the end of an attempt: a healthy one resets the streak, a failed one
    /// extends it. Returns the failures in a row.
    pub(crate) fn record(&mut self, healthy: bool) -> u32 {
        if healthy {
            self.failures = 0;
        } else {
            self.failures = self.failures.saturating_add(1);
        }
        self.failures
    }

    /// The wait before the next attempt. `server` is the server's `retry:` value, if
    /// any; `retry_after` a `Retry-After` to honour.
    pub(crate) fn delay(
        &mut self,
        config: &Config,
        server: Option<Duration>,
        retry_after: Option<Duration>,
    ) -> Duration {
        // What the server asks for is believed up to a cap: these come off the network.
        let cap = config.max_server_delay();
        let base = match server {
            Some(time) => time.min(cap).max(config.min_reconnection_time()),
            None => config.reconnection_time(),
        };
        let exponent = self.failures.saturating_sub(1).min(20);
        let backed_off = base
            .saturating_mul(1 << exponent)
            .min(config.max_reconnection_time().max(base));
        let delay = match retry_after {
            Some(after) => backed_off.max(after.min(cap)),
            None => backed_off,
        };
        // Saturating: with `Duration::MAX` as the cap, the jitter must not overflow.
        let jitter =
            Duration::try_from_secs_f64(delay.as_secs_f64() * config.jitter() * self.next_unit())
                .unwrap_or(Duration::MAX);
        delay.saturating_add(jitter)
    }

    /// A pseudo-random number in [0, 1) (xorshift64*).
    fn next_unit(&mut self) -> f64 {
        let mut x = self.rng;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.rng = x;
        (x.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// `Retry-After` as delta-seconds or an HTTP date.
pub(crate) fn retry_after(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let value = headers
        .get(http::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let date = httpdate::parse_http_date(value).ok()?;
    Some(date.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exact() -> Config {
        Config::new().with_jitter(0.0)
    }

    #[test]
    fn doubles_while_failing_and_resets_when_healthy() {
        let config = exact().with_reconnection_time(Duration::from_secs(1));
        let mut b = Backoff::new();
        let mut seen = vec![];
        for _ in 0..8 {
            b.record(false);
            seen.push(b.delay(&config, None, None).as_secs());
        }
        assert_eq!(seen, [1, 2, 4, 8, 16, 32, 60, 60]);
        b.record(true);
        assert_eq!(b.delay(&config, None, None), Duration::from_secs(1));
    }

    #[test]
    fn server_time_has_a_floor_and_retry_after_wins() {
        let config = exact();
        let mut b = Backoff::new();
        b.record(true);
        assert_eq!(
            b.delay(&config, Some(Duration::ZERO), None),
            Config::DEFAULT_MIN_RECONNECTION_TIME
        );
        assert_eq!(
            b.delay(&config, Some(Duration::from_millis(700)), None),
            Duration::from_millis(700)
        );
        assert_eq!(
            b.delay(&config, None, Some(Duration::from_secs(120))),
            Duration::from_secs(120)
        );
    }

    #[test]
    fn server_values_are_capped_and_never_overflow() {
        // A `Retry-After` of u64::MAX seconds used to panic ("overflow when adding
        // durations") in release builds too.
        let huge = Duration::from_secs(u64::MAX);
        let mut b = Backoff::new();
        b.record(false);
        let config = Config::new();
        let cap = Config::DEFAULT_MAX_SERVER_DELAY;
        for _ in 0..100 {
            for (server, after) in [
                (Some(huge), None),
                (None, Some(huge)),
                (Some(huge), Some(huge)),
            ] {
                let d = b.delay(&config, server, after);
                assert!(
                    d >= cap && d <= cap.mul_f64(1.0 + Config::DEFAULT_JITTER),
                    "{d:?}"
                );
            }
        }
        // Without a cap (browser behaviour), the wait saturates instead of panicking.
        let uncapped = Config::new()
            .with_max_server_delay(Duration::MAX)
            .with_jitter(1.0);
        for _ in 0..100 {
            assert!(b.delay(&uncapped, None, Some(huge)) >= huge);
            assert!(b.delay(&uncapped, Some(Duration::MAX), None) >= huge);
        }
    }

    #[test]
    fn jitter_stays_within_its_fraction() {
        let config = Config::new().with_jitter(0.5);
        let mut b = Backoff::new();
        b.record(true);
        let base = Config::DEFAULT_RECONNECTION_TIME;
        let delays: Vec<_> = (0..200).map(|_| b.delay(&config, None, None)).collect();
        assert!(delays.iter().all(|d| *d >= base && *d <= base.mul_f64(1.5)));
        assert!(delays.iter().any(|d| *d != delays[0]), "jitter varies");
    }

    #[test]
    fn parses_retry_after_seconds_and_dates() {
        let mut headers = HeaderMap::new();
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(784_111_777);
        headers.insert("retry-after", "7".parse().unwrap());
        assert_eq!(retry_after(&headers, now), Some(Duration::from_secs(7)));
        headers.insert(
            "retry-after",
            "Sun, 06 Nov 1994 08:49:47 GMT".parse().unwrap(),
        );
        assert_eq!(retry_after(&headers, now), Some(Duration::from_secs(10)));
        headers.insert("retry-after", "soon".parse().unwrap());
        assert_eq!(retry_after(&headers, now), None);
    }
}
