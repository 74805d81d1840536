//! When and how long to wait before calling Graph again: exponential backoff with jitter,
//! bounded by a number of attempts and by a deadline; Graph's own hints win.

mod transport;

use std::future::Future;
use std::time::{Duration, Instant};

use rand::Rng;

pub use transport::RetryingTransport;

use crate::Error;

/// How the backoff delay is randomised, so that many senders do not retry in lockstep.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Jitter {
    /// No randomness: exactly the exponential backoff.
    None,
    /// "Full jitter": uniform between zero and the exponential backoff.
    #[default]
    Full,
    /// "Decorrelated jitter": uniform between the initial backoff and three times the previous
    /// attempt's exponential backoff, capped by the maximum.
    Decorrelated,
}

/// A retry policy: which failures to retry, how many times, how long to wait, until when.
///
/// Only retryable errors ([`Error::is_retryable`]: rate limits and transient failures) are
/// retried. A rate limit's or a `Retry-After` hint ([`Error::retry_after`]) is used as the delay
/// when present; otherwise the delay is `initial_backoff * multiplier^(attempt - 1)`, capped at
/// `max_backoff`, with [`Jitter`].
///
/// Retrying a send whose outcome is unknown (a timeout, a broken connection) can deliver the
/// message twice: Graph has no idempotency key. That is the price of not losing it.
///
/// ```
/// use std::time::Duration;
/// use messenger_graph::{Error, ErrorKind, Jitter, RetryPolicy};
///
/// let policy = RetryPolicy {
///     max_attempts: 3,
///     initial_backoff: Duration::from_millis(100),
///     max_backoff: Duration::from_secs(2),
///     multiplier: 2.0,
///     jitter: Jitter::None,
///     deadline: Some(Duration::from_secs(10)),
/// };
/// let transient = Error::other(ErrorKind::Transient, "503");
/// assert_eq!(policy.delay_for(1, &transient, Duration::ZERO), Some(Duration::from_millis(100)));
/// assert_eq!(policy.delay_for(2, &transient, Duration::ZERO), Some(Duration::from_millis(200)));
/// assert_eq!(policy.delay_for(3, &transient, Duration::ZERO), None); // attempts exhausted
/// let permanent = Error::other(ErrorKind::UserUnavailable, "551");
/// assert_eq!(policy.delay_for(1, &permanent, Duration::ZERO), None);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included (1 = never retry).
    pub max_attempts: u32,
    /// The delay before the first retry (before jitter).
    pub initial_backoff: Duration,
    /// The longest backoff delay (Graph's own retry hints may be longer).
    pub max_backoff: Duration,
    /// Growth of the delay per attempt (values below 1 count as 1).
    pub multiplier: f64,
    /// How the delay is randomised.
    pub jitter: Jitter,
    /// Time from the first attempt after which no new attempt starts. An attempt under way is
    /// not cut short (its outcome would be unknown); the client's request timeout bounds it.
    pub deadline: Option<Duration>,
}

impl Default for RetryPolicy {
    /// 4 attempts, 250 ms doubling up to 10 s, full jitter, 30 s deadline.
    fn default() -> Self {
        Self {
            max_attempts: 4,
            initial_backoff: Duration::from_millis(250),
            max_backoff: Duration::from_secs(10),
            multiplier: 2.0,
            jitter: Jitter::Full,
            deadline: Some(Duration::from_secs(30)),
        }
    }
}

impl RetryPolicy {
    /// A policy that never retries.
    pub fn never() -> Self {
        Self {
            max_attempts: 1,
            ..Self::default()
        }
    }

    /// How long to wait after `attempt` attempts (1 after the first failure) ended in `error`,
    /// `elapsed` after the first attempt started; `None` to give up: the error is not
    /// retryable, the attempts are exhausted, or the wait would pass the deadline.
    pub fn delay_for(&self, attempt: u32, error: &Error, elapsed: Duration) -> Option<Duration> {
        self.delay_with_rng(attempt, error, elapsed, &mut rand::thread_rng())
    }

    /// [`RetryPolicy::delay_for`] with a given random number generator.
    pub fn delay_with_rng<R: Rng + ?Sized>(
        &self,
        attempt: u32,
        error: &Error,
        elapsed: Duration,
        rng: &mut R,
    ) -> Option<Duration> {
        if !error.is_retryable() || attempt >= self.max_attempts {
            return None;
        }
        let delay = error
            .retry_after()
            .unwrap_or_else(|| self.backoff(attempt, rng));
        if let Some(deadline) = self.deadline {
            match elapsed.checked_add(delay) {
                Some(next_start) if next_start < deadline => {}
                _ => return None,
            }
        }
        Some(delay)
    }

    /// The jittered backoff after `attempt` attempts (no hint, no deadline).
    pub fn backoff<R: Rng + ?Sized>(&self, attempt: u32, rng: &mut R) -> Duration {
        let ceiling = self.ceiling(attempt);
        match self.jitter {
            Jitter::None => ceiling,
            Jitter::Full => uniform(rng, Duration::ZERO, ceiling),
            Jitter::Decorrelated => {
                let previous = if attempt <= 1 {
                    self.initial_backoff.min(self.max_backoff)
                } else {
                    self.ceiling(attempt - 1)
                };
                let upper = previous.saturating_mul(3).min(self.max_backoff);
                let lower = self.initial_backoff.min(upper);
                uniform(rng, lower, upper)
            }
        }
    }

    /// `initial_backoff * multiplier^(attempt - 1)`, capped at `max_backoff`.
    fn ceiling(&self, attempt: u32) -> Duration {
        let multiplier = if self.multiplier.is_finite() && self.multiplier > 1.0 {
            self.multiplier
        } else {
            1.0
        };
        let exponent = i32::try_from(attempt.saturating_sub(1)).unwrap_or(i32::MAX);
        let secs = self.initial_backoff.as_secs_f64() * multiplier.powi(exponent);
        let cap = self.max_backoff;
        if !secs.is_finite() || secs >= cap.as_secs_f64() {
            cap
        } else {
            Duration::from_secs_f64(secs.max(0.0))
        }
    }

    /// Runs `op` until it succeeds, fails with an error a retry cannot fix, or the policy gives
    /// up; returns the last result.
    ///
    /// ```no_run
    /// # async fn demo(client: messenger_graph::GraphClient) -> Result<(), messenger_graph::Error> {
    /// use messenger_graph::{RetryPolicy, Transport};
    /// use messenger_model::graph::{GraphSendRequest, Message, Recipient};
    ///
    /// let req = GraphSendRequest::message(Recipient::psid("123"), Message::text("hi"));
    /// let sent = RetryPolicy::default().run(|| client.send(&req)).await?;
    /// println!("{:?}", sent.message_id);
    /// # Ok(()) }
    /// ```
    pub async fn run<T, F, Fut>(&self, mut op: F) -> Result<T, Error>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, Error>>,
    {
        let started = Instant::now();
        let mut attempt = 0u32;
        loop {
            attempt = attempt.saturating_add(1);
            let error = match op().await {
                Ok(value) => return Ok(value),
                Err(e) => e,
            };
            let Some(delay) = self.delay_for(attempt, &error, started.elapsed()) else {
                return Err(error);
            };
            tracing::debug!(
                attempt,
                delay_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
                kind = error.kind().as_str(),
                error = %error,
                "retrying Graph call"
            );
            tokio::time::sleep(delay).await;
        }
    }
}

/// Uniform in `[lower, upper]` (`lower` when the range is empty).
fn uniform<R: Rng + ?Sized>(rng: &mut R, lower: Duration, upper: Duration) -> Duration {
    if upper <= lower {
        return lower;
    }
    let lo = u64::try_from(lower.as_nanos()).unwrap_or(u64::MAX);
    let hi = u64::try_from(upper.as_nanos()).unwrap_or(u64::MAX);
    Duration::from_nanos(rng.gen_range(lo..=hi))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;
    use proptest::prelude::*;
    use rand::rngs::StdRng;
    use rand::SeedableRng;
    use std::sync::atomic::{AtomicU32, Ordering};

    fn transient() -> Error {
        Error::other(ErrorKind::Transient, "temporary")
    }

    fn policy(jitter: Jitter) -> RetryPolicy {
        RetryPolicy {
            max_attempts: 10,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(5),
            multiplier: 2.0,
            jitter,
            deadline: None,
        }
    }

    #[test]
    fn exponential_without_jitter_is_capped() {
        let p = policy(Jitter::None);
        let mut rng = StdRng::seed_from_u64(1);
        let delays: Vec<_> = (1..=8)
            .map(|a| p.backoff(a, &mut rng).as_millis())
            .collect();
        assert_eq!(delays, [100, 200, 400, 800, 1600, 3200, 5000, 5000]);
        assert_eq!(p.backoff(u32::MAX, &mut rng), Duration::from_secs(5));
    }

    #[test]
    fn never_retries_permanent_errors() {
        let p = policy(Jitter::None);
        for kind in [
            ErrorKind::OutsideWindow,
            ErrorKind::UserUnavailable,
            ErrorKind::InvalidRecipient,
            ErrorKind::InvalidParameter,
            ErrorKind::Auth,
            ErrorKind::Permanent,
        ] {
            assert_eq!(
                p.delay_for(1, &Error::other(kind, "x"), Duration::ZERO),
                None
            );
        }
    }

    #[test]
    fn retry_hint_wins_over_backoff() {
        let p = policy(Jitter::Full);
        let body = br#"{"error":{"message":"limit","code":613}}"#;
        let mut h = reqwest::header::HeaderMap::new();
        h.insert(
            "retry-after",
            reqwest::header::HeaderValue::from_static("42"),
        );
        let e = Error::from_answer(400, &h, body);
        assert_eq!(
            p.delay_for(1, &e, Duration::ZERO),
            Some(Duration::from_secs(42))
        );
    }

    #[test]
    fn deadline_stops_retries() {
        let p = RetryPolicy {
            deadline: Some(Duration::from_secs(1)),
            ..policy(Jitter::None)
        };
        assert_eq!(
            p.delay_for(1, &transient(), Duration::from_millis(850)),
            Some(Duration::from_millis(100))
        );
        assert_eq!(
            p.delay_for(1, &transient(), Duration::from_millis(900)),
            None
        );
        assert_eq!(p.delay_for(1, &transient(), Duration::MAX), None);
    }

    #[test]
    fn weird_multipliers_do_not_panic() {
        for m in [f64::NAN, f64::INFINITY, -3.0, 0.0, 0.5, 1e308] {
            let p = RetryPolicy {
                multiplier: m,
                ..policy(Jitter::Decorrelated)
            };
            let mut rng = StdRng::seed_from_u64(7);
            for a in [0, 1, 2, 100, u32::MAX] {
                assert!(p.backoff(a, &mut rng) <= p.max_backoff);
            }
        }
    }

    proptest! {
        #[test]
        fn backoff_stays_within_bounds(
            attempt in 0u32..200,
            initial_ms in 0u64..10_000,
            max_ms in 0u64..120_000,
            multiplier in 0.5f64..10.0,
            seed in any::<u64>(),
            jitter in prop_oneof![Just(Jitter::None), Just(Jitter::Full), Just(Jitter::Decorrelated)],
        ) {
            let p = RetryPolicy {
                max_attempts: 1000,
                initial_backoff: Duration::from_millis(initial_ms),
                max_backoff: Duration::from_millis(max_ms),
                multiplier,
                jitter,
                deadline: None,
            };
            let mut rng = StdRng::seed_from_u64(seed);
            let d = p.backoff(attempt, &mut rng);
            prop_assert!(d <= p.max_backoff);
            let ceiling = p.ceiling(attempt);
            match jitter {
                Jitter::None => prop_assert_eq!(d, ceiling),
                Jitter::Full => prop_assert!(d <= ceiling),
                Jitter::Decorrelated => {
                    prop_assert!(d >= p.initial_backoff.min(p.max_backoff));
                }
            }
        }

        #[test]
        fn delay_never_passes_deadline_or_attempts(
            attempt in 1u32..20,
            max_attempts in 1u32..10,
            elapsed_ms in 0u64..5_000,
            deadline_ms in 0u64..5_000,
            seed in any::<u64>(),
        ) {
            let p = RetryPolicy {
                max_attempts,
                deadline: Some(Duration::from_millis(deadline_ms)),
                ..policy(Jitter::Full)
            };
            let mut rng = StdRng::seed_from_u64(seed);
            let elapsed = Duration::from_millis(elapsed_ms);
            if let Some(d) = p.delay_with_rng(attempt, &transient(), elapsed, &mut rng) {
                prop_assert!(attempt < max_attempts);
                prop_assert!(elapsed + d < Duration::from_millis(deadline_ms));
            }
        }
    }

    fn fast(max_attempts: u32) -> RetryPolicy {
        RetryPolicy {
            max_attempts,
            initial_backoff: Duration::from_millis(1),
            max_backoff: Duration::from_millis(2),
            multiplier: 2.0,
            jitter: Jitter::Full,
            deadline: None,
        }
    }

    #[tokio::test]
    async fn run_retries_transient_until_success() {
        let calls = AtomicU32::new(0);
        let out = fast(5)
            .run(|| async {
                if calls.fetch_add(1, Ordering::SeqCst) < 2 {
                    Err(transient())
                } else {
                    Ok("done")
                }
            })
            .await;
        assert_eq!(out.ok(), Some("done"));
        assert_eq!(calls.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn run_gives_up_after_max_attempts_with_last_error() {
        let calls = AtomicU32::new(0);
        let out: Result<(), Error> = fast(3)
            .run(|| async {
                calls.fetch_add(1, Ordering::SeqCst);
                Err(transient())
            })
            .await;
        assert_eq!(out.map_err(|e| e.kind()), Err(ErrorKind::Transient));
        assert_eq!(calls.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn run_does_not_retry_permanent() {
        let calls = AtomicU32::new(0);
        let out: Result<(), Error> = fast(5)
            .run(|| async {
                calls.fetch_add(1, Ordering::SeqCst);
                Err(Error::other(ErrorKind::UserUnavailable, "551"))
            })
            .await;
        assert!(out.is_err());
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }
}
