//! What one caller may ask of the gateway: each API space's request rate (a token bucket,
//! `spaces[].api_rate` per second up to `spaces[].api_burst`; every request costs one, and each
//! message of a batch one more), answered 429 with `Retry-After` past it; and caps on the
//! requests being served at once (in all, per space, and Meta's webhook apart: [`InFlight`]),
//! shed with 503 and `Retry-After`.
//!
//! The buckets are per instance: with N instances behind a balancer a space gets up to N times
//! its rate.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use messenger::Clock;
use messenger_model::Timestamp;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::problem::Problem;
use super::AppState;
use crate::config::SpaceConfig;

/// One space's bucket.
#[derive(Debug)]
struct Bucket {
    rate: f64,
    burst: f64,
    tokens: f64,
    at: Timestamp,
}

impl Bucket {
    /// Takes `cost` tokens (at most the burst: a full bucket admits anything), or says how long
    /// until there are enough.
    fn take(&mut self, cost: f64, now: Timestamp) -> Result<(), Duration> {
        // A clock set back refills nothing (and moves the bucket's time back with it).
        let elapsed_ms = now.millis().saturating_sub(self.at.millis()).max(0);
        // i64 to f64: exact for any span under 285,000 years.
        let elapsed = elapsed_ms as f64 / 1000.0;
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

/// The request-rate buckets of the spaces (a space without `api_rate` has none), on the
/// gateway's clock.
pub struct ApiQuotas {
    buckets: HashMap<String, Mutex<Option<Bucket>>>,
    clock: Clock,
}

impl std::fmt::Debug for ApiQuotas {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiQuotas")
            .field("buckets", &self.buckets)
            .finish_non_exhaustive()
    }
}

/// The full bucket of a space's `api_rate` and `api_burst`, if it has a rate.
fn bucket_of(s: &SpaceConfig, now: Timestamp) -> Option<Bucket> {
    let rate = s.api_rate?;
    let burst = f64::from(s.api_burst.unwrap_or(rate.max(1)));
    Some(Bucket {
        rate: f64::from(rate),
        burst,
        tokens: burst,
        at: now,
    })
}

impl ApiQuotas {
    /// The buckets of `spaces` (spaces without `api_rate` are not limited), refilled as
    /// `clock` moves.
    pub fn new(spaces: &[SpaceConfig], clock: Clock) -> Self {
        let now = clock();
        let buckets = spaces
            .iter()
            .map(|s| (s.id.clone(), Mutex::new(bucket_of(s, now))))
            .collect();
        Self { buckets, clock }
    }

    /// Takes the rates of `spaces` (a reload): a space whose rate or burst changed starts with
    /// a full bucket at its new rate; the others keep theirs. Spaces not configured at start are
    /// left alone (adding a space needs a restart).
    pub fn update(&self, spaces: &[SpaceConfig]) {
        let now = (self.clock)();
        for s in spaces {
            let Some(slot) = self.buckets.get(&s.id) else {
                continue;
            };
            let mut slot = slot.lock().unwrap_or_else(PoisonError::into_inner);
            let next = bucket_of(s, now);
            let same = match (slot.as_ref(), next.as_ref()) {
                (Some(a), Some(b)) => a.rate == b.rate && a.burst == b.burst,
                (None, None) => true,
                _ => false,
            };
            if !same {
                *slot = next;
            }
        }
    }

    /// Charges `space` for `cost` requests; a 429 problem with `Retry-After` when it is over
    /// its rate.
    pub fn charge(&self, space: &str, cost: usize) -> Result<(), Problem> {
        let Some(slot) = self.buckets.get(space) else {
            return Ok(());
        };
        let mut slot = slot.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(bucket) = slot.as_mut() else {
            return Ok(());
        };
        // usize to f64: exact for every cost a request can have (at most a batch's 5000).
        let cost = cost as f64;
        bucket.take(cost, (self.clock)()).map_err(|wait| {
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

/// The requests being served, capped so that no one caller can shut the others out: the API
/// as a whole (`server.max_in_flight`), and each space (`server.space_max_in_flight`) within
/// it. Meta's webhook is not counted here: its bodies have their own reading places
/// ([`super::body::UnverifiedReads`]), taken only once a body's first byte arrives, so that
/// connections which declare a body and send nothing hold no place at all. Probes and scrapes
/// are never capped.
#[derive(Debug, Clone)]
pub struct InFlight {
    api: Share,
    spaces: Arc<HashMap<String, Share>>,
    /// Paths naming no configured space share one space's share (they are refused before
    /// their body is read, but must not take the API's).
    unknown_space: Share,
}

/// One cap.
#[derive(Debug, Clone)]
struct Share {
    permits: Arc<Semaphore>,
    max: usize,
}

impl Share {
    fn new(max: usize) -> Self {
        Self {
            permits: Arc::new(Semaphore::new(max.max(1))),
            max: max.max(1),
        }
    }

    fn take(&self) -> Option<OwnedSemaphorePermit> {
        Arc::clone(&self.permits).try_acquire_owned().ok()
    }
}

/// Who a request's in-flight place is charged to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scope<'a> {
    /// `/healthz`, `/readyz`, `/metrics`, and Meta's webhook (`/webhooks/facebook`, the
    /// handshake and the events): not capped here.
    Uncapped,
    /// `/apispaces/{space}/...`.
    Space(&'a str),
    /// Everything else: the console, admin routes, the API's description.
    Api,
}

fn scope_of(path: &str) -> Scope<'_> {
    match path {
        "/healthz" | "/readyz" | "/metrics" | "/webhooks/facebook" => Scope::Uncapped,
        _ => match path.strip_prefix("/apispaces/") {
            Some(rest) => Scope::Space(rest.split('/').next().unwrap_or_default()),
            None => Scope::Api,
        },
    }
}

impl InFlight {
    /// At most `api` API requests at once, `space` of them for one of `spaces`.
    pub fn new(api: usize, space: usize, spaces: &[SpaceConfig]) -> Self {
        Self {
            api: Share::new(api),
            spaces: Arc::new(
                spaces
                    .iter()
                    .map(|s| (s.id.clone(), Share::new(space)))
                    .collect(),
            ),
            unknown_space: Share::new(space),
        }
    }

    /// The places a request to `path` takes, or the 503 answering it.
    fn admit(&self, path: &str) -> Result<Vec<OwnedSemaphorePermit>, Problem> {
        let full = |what: String| {
            Problem::unavailable(format!("{what}; retry in a second")).with_retry_after(1)
        };
        match scope_of(path) {
            Scope::Uncapped => Ok(Vec::new()),
            Scope::Space(space) => {
                let share = self.spaces.get(space).unwrap_or(&self.unknown_space);
                let own = share.take().ok_or_else(|| {
                    full(format!(
                        "this API space has its maximum of {} requests being served at once",
                        share.max
                    ))
                })?;
                let api = self.take_api().map_err(full)?;
                Ok(vec![own, api])
            }
            Scope::Api => self.take_api().map(|p| vec![p]).map_err(full),
        }
    }

    fn take_api(&self) -> Result<OwnedSemaphorePermit, String> {
        self.api.take().ok_or_else(|| {
            format!(
                "the gateway is serving its maximum of {} requests",
                self.api.max
            )
        })
    }
}

/// Serves the request if its scope has room (see [`InFlight`]), else 503 with `Retry-After: 1`
/// at once. The places are held until the answer is made.
pub async fn shed(State(state): State<AppState>, request: Request, next: Next) -> Response {
    match state.in_flight.admit(request.uri().path()) {
        Ok(_places) => next.run(request).await,
        Err(problem) => {
            state.metrics.shed();
            problem.into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_refills_at_its_rate_and_a_full_one_admits_any_batch() {
        let t0 = Timestamp::from_millis(1_000_000);
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
        assert!(b.take(10.0, t0.add_millis(500)).is_ok());
        // A batch larger than the burst empties a full bucket instead of never passing.
        let later = t0.add_millis(10_000);
        assert!(b.take(5000.0, later).is_ok());
        assert!(b.take(1.0, later).is_err());
    }

    #[test]
    fn each_space_and_the_webhook_have_their_own_share() {
        assert_eq!(scope_of("/healthz"), Scope::Uncapped);
        assert_eq!(scope_of("/webhooks/facebook"), Scope::Uncapped);
        assert_eq!(scope_of("/webhooks/facebook/quarantine"), Scope::Api);
        assert_eq!(scope_of("/apispaces/acme/messages"), Scope::Space("acme"));
        assert_eq!(scope_of("/console/api/messages"), Scope::Api);
        let spaces: Vec<SpaceConfig> = Vec::new();
        let f = InFlight::new(4, 2, &spaces);
        // An unknown space takes its own share, then the API's.
        let a1 = f.admit("/apispaces/x/messages").unwrap();
        let _a2 = f.admit("/apispaces/x/messages").unwrap();
        assert_eq!(f.admit("/apispaces/x/messages").unwrap_err().status, 503);
        // Two places of the API's four are left for the rest; the webhook is not counted.
        let _c = f.admit("/console").unwrap();
        let _w: Vec<_> = (0..10)
            .map(|_| f.admit("/webhooks/facebook").unwrap())
            .collect();
        let _d = f.admit("/openapi.json").unwrap();
        assert_eq!(f.admit("/openapi.json").unwrap_err().status, 503);
        assert!(f.admit("/healthz").is_ok(), "probes are never capped");
        drop(a1);
        assert!(f.admit("/openapi.json").is_ok());
    }
}
