//! What one caller may ask of the gateway: each API space's request rate (a token bucket,
//! `spaces[].api_rate` per second up to `spaces[].api_burst`; every request costs one, and each
//! message of a batch one more), answered 429 with `Retry-After` past it; and a cap on the
//! requests being served at once (`server.max_in_flight`), shed with 503 and `Retry-After`.
//!
//! The buckets are per instance: with N instances behind a balancer a space gets up to N times
//! its rate.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tokio::sync::Semaphore;

use super::problem::Problem;
use super::AppState;
use crate::config::SpaceConfig;

/// One space's bucket.
#[derive(Debug)]
struct Bucket {
    rate: f64,
    burst: f64,
    tokens: f64,
    at: Instant,
}

impl Bucket {
    /// Takes `cost` tokens (at most the burst: a full bucket admits anything), or says how long
    /// until there are enough.
    fn take(&mut self, cost: f64, now: Instant) -> Result<(), Duration> {
        let elapsed = now.saturating_duration_since(self.at).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.rate).min(self.burst);
        self.at = now;
        let cost = cost.min(self.burst);
        if self.tokens >= cost {
            self.tokens -= cost;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((cost - self.tokens) / self.rate))
        }
    }
}

/// The request-rate buckets of the spaces that have an `api_rate`.
#[derive(Debug, Default)]
pub struct ApiQuotas {
    buckets: HashMap<String, Mutex<Bucket>>,
}

impl ApiQuotas {
    /// The buckets of `spaces` (spaces without `api_rate` are not limited).
    pub fn new(spaces: &[SpaceConfig]) -> Self {
        let now = Instant::now();
        let buckets = spaces
            .iter()
            .filter_map(|s| {
                let rate = s.api_rate?;
                let burst = f64::from(s.api_burst.unwrap_or(rate.max(1)));
                let bucket = Bucket {
                    rate: f64::from(rate),
                    burst,
                    tokens: burst,
                    at: now,
                };
                Some((s.id.clone(), Mutex::new(bucket)))
            })
            .collect();
        Self { buckets }
    }

    /// Charges `space` for `cost` requests; a 429 problem with `Retry-After` when it is over
    /// its rate.
    pub fn charge(&self, space: &str, cost: usize) -> Result<(), Problem> {
        let Some(bucket) = self.buckets.get(space) else {
            return Ok(());
        };
        let mut bucket = bucket.lock().unwrap_or_else(PoisonError::into_inner);
        // usize to f64: exact for every cost a request can have (at most a batch's 5000).
        let cost = cost as f64;
        bucket.take(cost, Instant::now()).map_err(|wait| {
            let secs = u32::try_from(wait.as_secs().saturating_add(1)).unwrap_or(u32::MAX);
            Problem::too_many_requests(format!(
                "this API space is over its request rate ({} per second, burst {}); retry in \
                 {secs} s",
                bucket.rate, bucket.burst
            ))
            .with_retry_after(secs)
        })
    }
}

/// The requests being served, capped.
#[derive(Debug, Clone)]
pub struct InFlight {
    permits: Arc<Semaphore>,
    max: usize,
}

impl InFlight {
    /// At most `max` requests at once.
    pub fn new(max: usize) -> Self {
        Self {
            permits: Arc::new(Semaphore::new(max)),
            max,
        }
    }
}

/// Serves the request if fewer than `server.max_in_flight` are being served, else 503 with
/// `Retry-After: 1` at once. Probes and scrapes are always served.
pub async fn shed(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if matches!(request.uri().path(), "/healthz" | "/readyz" | "/metrics") {
        return next.run(request).await;
    }
    let Ok(_permit) = state.in_flight.permits.clone().try_acquire_owned() else {
        state.metrics.shed();
        return Problem::unavailable(format!(
            "the gateway is serving its maximum of {} requests; retry in a second",
            state.in_flight.max
        ))
        .with_retry_after(1)
        .into_response();
    };
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_refills_at_its_rate_and_a_full_one_admits_any_batch() {
        let t0 = Instant::now();
        let mut b = Bucket {
            rate: 10.0,
            burst: 20.0,
            tokens: 20.0,
            at: t0,
        };
        assert!(b.take(15.0, t0).is_ok());
        let wait = b.take(10.0, t0).unwrap_err();
        assert_eq!(
            wait,
            Duration::from_millis(500),
            "5 missing at 10 per second"
        );
        assert!(b.take(10.0, t0 + Duration::from_millis(500)).is_ok());
        // A batch larger than the burst empties a full bucket instead of never passing.
        let later = t0 + Duration::from_secs(10);
        assert!(b.take(5000.0, later).is_ok());
        assert!(b.take(1.0, later).is_err());
    }
}
