//! [`Forwarder`]: delivers the outbox's events to each API space's webhook (docs/design.md §6).
//!
//! Every round leases due events from the store, groups them by space, batches them per the
//! space's [`WebhookTarget`], POSTs each batch signed with the space's secret, and records the
//! outcome: 2xx delivered; 400 dead at once; anything else retried on the target's schedule, then
//! dead. Dead events are listed with [`Forwarder::dead_letters`] and made pending again with
//! [`Forwarder::redrive`]. `docs/webhooks.md` is the receiver's side of the contract.

mod batch;
mod post;
mod target;

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::pin::pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use futures::{FutureExt, StreamExt};
use messenger_model::{EventEnvelope, Timestamp};
use messenger_store::{EventFailure, OutboxEvent, Store, StoreError};
use reqwest::{Client, Url};

use self::batch::{Batch, Buffers, Held};
use self::post::Outcome;
pub use self::target::{
    default_retry_schedule, Unrouted, WebhookTarget, MAX_BATCH_SIZE, MAX_BATCH_WINDOW, MAX_TIMEOUT,
};
use crate::DEFAULT_EVENT_TARGET;

/// Added to every lease beyond the time the work under it can take.
const LEASE_MARGIN: Duration = Duration::from_secs(30);
/// The longest pause of [`Forwarder::run`] after failing rounds.
const MAX_ERROR_PAUSE: Duration = Duration::from_secs(30);
/// `last_error` of events of spaces without a webhook, with [`Unrouted::DeadLetter`].
const NO_WEBHOOK: &str = "no webhook configured for this space";

/// What can go wrong in the [`Forwarder`]. A receiver's failure is not an error: it is an
/// outcome, counted in the [`ForwardReport`] and recorded on the event.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ForwardError {
    /// A space's [`WebhookTarget`] is not usable (the reason never repeats the URL or secret).
    #[error("webhook target of space {space:?}: {reason}")]
    InvalidTarget {
        /// The space (at most 64 characters of its id).
        space: String,
        /// What is wrong.
        reason: String,
    },
    /// The HTTP client could not be built (TLS backend); the source is the client's error.
    #[error("cannot build the HTTP client")]
    Client(#[source] Box<dyn std::error::Error + Send + Sync + 'static>),
    /// The store failed; events leased in this round are taken again when their lease lapses.
    #[error("store error")]
    Store(#[from] StoreError),
}

/// What one round of the [`Forwarder`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ForwardReport {
    /// Events leased from the store in this round.
    pub leased: usize,
    /// HTTP requests made (one per batch).
    pub posts: usize,
    /// Events the receiver accepted (2xx).
    pub delivered: usize,
    /// Events that failed and are due again later on their schedule.
    pub retried: usize,
    /// Events that became dead (400, schedule exhausted, or no webhook with
    /// [`Unrouted::DeadLetter`]).
    pub dead: usize,
    /// Events of spaces without a webhook, marked delivered without sending ([`Unrouted::Drop`]).
    pub dropped: usize,
    /// Events held (leased, not sent) after this round, waiting for their batch to fill.
    pub waiting: usize,
}

impl ForwardReport {
    fn add(&mut self, other: Self) {
        self.posts += other.posts;
        self.delivered += other.delivered;
        self.retried += other.retried;
        self.dead += other.dead;
        self.dropped += other.dropped;
    }
}

/// A space's target with its parsed URL.
#[derive(Debug)]
struct Route {
    target: WebhookTarget,
    url: Url,
}

/// Delivers the outbox's events to each API space's webhook.
///
/// Cheap to clone; clones share the HTTP client and the events waiting for a batch. Several
/// forwarders (on several instances) may work on one store: the store's leases keep them from
/// sending the same event at once.
///
/// ```
/// use std::{collections::HashMap, sync::Arc, time::Duration};
/// use messenger::events::{Forwarder, WebhookTarget};
/// use messenger_model::{EventEnvelope, EventName, Timestamp};
/// use messenger_store::{MemoryStore, Outbox, Store};
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
/// let targets = HashMap::from([(
///     "space-a".to_owned(),
///     WebhookTarget::new("https://example.com/hooks/comapi", "webhook-secret")
///         .batch(100, Duration::from_secs(5)),
/// )]);
/// let forwarder = Forwarder::new(store.clone(), targets)?;
///
/// // An event of a space without a webhook is dropped (the default `Unrouted::Drop`).
/// let now = Timestamp::now();
/// let envelope = EventEnvelope {
///     event_id: "evt-1".into(),
///     api_space_id: "space-b".into(),
///     name: EventName::MessageSent,
///     payload: serde_json::json!({"messageId": "m-1"}),
///     revision: 1,
///     timestamp: now,
/// };
/// store.enqueue_event(messenger::DEFAULT_EVENT_TARGET, envelope, now).await?;
/// let report = forwarder.run_once("worker-1", now).await?;
/// assert_eq!((report.dropped, report.posts), (1, 0));
///
/// // In a service: `tokio::spawn(forwarder.run("worker-1", shutdown_signal))`.
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # }).unwrap();
/// ```
#[derive(Clone)]
pub struct Forwarder {
    store: Arc<dyn Store>,
    client: Client,
    routes: Arc<HashMap<String, Route>>,
    buffers: Arc<Mutex<Buffers>>,
    poll_interval: Duration,
    lease_limit: usize,
    concurrency: usize,
    unrouted: Unrouted,
}

impl fmt::Debug for Forwarder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut spaces: Vec<&String> = self.routes.keys().collect();
        spaces.sort();
        f.debug_struct("Forwarder")
            .field("store", &self.store.backend())
            .field("spaces", &spaces)
            .field("poll_interval", &self.poll_interval)
            .field("lease_limit", &self.lease_limit)
            .field("concurrency", &self.concurrency)
            .field("unrouted", &self.unrouted)
            .finish()
    }
}

impl Forwarder {
    /// A forwarder for the events in `store`, posting each space's events to its target
    /// (`targets` is keyed by API space id). Checks every target.
    ///
    /// Defaults: 64 events leased per round, 16 requests at once, a 500 ms pause when idle,
    /// events of spaces without a target dropped ([`Unrouted::Drop`]).
    pub fn new(
        store: Arc<dyn Store>,
        targets: HashMap<String, WebhookTarget>,
    ) -> Result<Self, ForwardError> {
        let mut routes = HashMap::with_capacity(targets.len());
        for (space, target) in targets {
            let url = target.check(&space)?;
            routes.insert(space, Route { target, url });
        }
        let client = Client::builder()
            .use_rustls_tls()
            .redirect(reqwest::redirect::Policy::none())
            .pool_idle_timeout(Duration::from_secs(90))
            .user_agent(concat!("messenger-forwarder/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ForwardError::Client(Box::new(e)))?;
        Ok(Self {
            store,
            client,
            routes: Arc::new(routes),
            buffers: Arc::default(),
            poll_interval: Duration::from_millis(500),
            lease_limit: 64,
            concurrency: 16,
            unrouted: Unrouted::Drop,
        })
    }

    /// How long [`Forwarder::run`] pauses when a round found less than a full lease of work.
    #[must_use = "a builder method returns the changed value and does nothing on its own"]
    pub fn poll_interval(mut self, interval: Duration) -> Self {
        self.poll_interval = interval;
        self
    }

    /// How many events one round leases (at least 1).
    #[must_use = "a builder method returns the changed value and does nothing on its own"]
    pub fn lease_limit(mut self, limit: usize) -> Self {
        self.lease_limit = limit.max(1);
        self
    }

    /// How many requests one round makes at once (at least 1).
    #[must_use = "a builder method returns the changed value and does nothing on its own"]
    pub fn concurrency(mut self, requests: usize) -> Self {
        self.concurrency = requests.max(1);
        self
    }

    /// What to do with events of spaces that have no target.
    #[must_use = "a builder method returns the changed value and does nothing on its own"]
    pub fn unrouted(mut self, policy: Unrouted) -> Self {
        self.unrouted = policy;
        self
    }

    /// How long events are leased: the longest batch window, plus the longest timeout for each
    /// wave of concurrent requests a round can need, plus a margin. A worker that dies holding
    /// events delays them by at most this.
    pub fn lease_for(&self) -> Duration {
        let window = self
            .routes
            .values()
            .filter(|r| r.target.waits())
            .map(|r| r.target.batch_window)
            .max()
            .unwrap_or_default();
        let timeout = self
            .routes
            .values()
            .map(|r| r.target.timeout)
            .max()
            .unwrap_or_default();
        let waves = self
            .lease_limit
            .div_ceil(self.concurrency)
            .saturating_add(1);
        let waves = u32::try_from(waves).unwrap_or(u32::MAX);
        window
            .saturating_add(timeout.saturating_mul(waves))
            .saturating_add(LEASE_MARGIN)
    }

    /// Events held in memory waiting for their batch to fill.
    pub fn waiting(&self) -> usize {
        self.buffers().waiting()
    }

    /// One round at `now` as `worker`: leases due events, settles those of spaces without a
    /// target, posts every batch that is ready (full, or its oldest event has waited the
    /// window) and records each outcome. Events of a filling batch stay leased in memory until
    /// a later round.
    pub async fn run_once(
        &self,
        worker: &str,
        now: Timestamp,
    ) -> Result<ForwardReport, ForwardError> {
        let started = Instant::now();
        let leased = self
            .store
            .lease_due_events(worker, now, self.lease_limit, self.lease_for())
            .await?;
        let mut report = ForwardReport {
            leased: leased.len(),
            ..ForwardReport::default()
        };
        let mut routed: HashMap<String, Vec<Held>> = HashMap::new();
        let mut unrouted = Vec::new();
        for event in leased {
            if event.target == DEFAULT_EVENT_TARGET && self.routes.contains_key(&event.space) {
                routed.entry(event.space.clone()).or_default().push(Held {
                    event,
                    worker: worker.to_owned(),
                });
            } else {
                unrouted.push(event);
            }
        }
        let settled = self.settle_unrouted(worker, unrouted, now).await;
        let sent = self.send(routed, now, started, false).await;
        report.add(settled?);
        let sent = sent?;
        report.add(sent);
        report.waiting = sent.waiting;
        Ok(report)
    }

    /// Posts every event waiting for a batch now, windows notwithstanding (at shutdown, so they
    /// are not left leased until the lease lapses).
    pub async fn flush(&self, now: Timestamp) -> Result<ForwardReport, ForwardError> {
        self.send(HashMap::new(), now, Instant::now(), true).await
    }

    /// Runs rounds with the system clock until `shutdown` completes: no pause while rounds
    /// lease a full [`lease_limit`](Forwarder::lease_limit), the poll interval otherwise, and a
    /// growing pause (up to 30 s) while the store fails. A round in progress is finished, not
    /// cancelled; then waiting batches are flushed.
    ///
    /// ```no_run
    /// # async fn f(forwarder: messenger::events::Forwarder) {
    /// let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    /// let task = tokio::spawn(forwarder.run("gateway-1/forwarder", async {
    ///     let _ = stopped.await;
    /// }));
    /// // ... later:
    /// let _ = stop.send(());
    /// task.await.unwrap();
    /// # }
    /// ```
    pub async fn run(self, worker: impl Into<String>, shutdown: impl Future<Output = ()>) {
        let worker = worker.into();
        let mut shutdown = pin!(shutdown);
        let mut failures = 0u32;
        loop {
            let pause = match self.run_once(&worker, Timestamp::now()).await {
                Ok(report) if report.leased >= self.lease_limit => Duration::ZERO,
                Ok(_) => {
                    failures = 0;
                    self.poll_interval
                }
                Err(e) => {
                    failures = failures.saturating_add(1);
                    tracing::warn!(worker = %worker, error = %crate::error::chain(&e), "webhook forwarding round failed");
                    self.poll_interval
                        .saturating_mul(1 << failures.min(6))
                        .clamp(self.poll_interval, MAX_ERROR_PAUSE.max(self.poll_interval))
                }
            };
            if pause.is_zero() {
                failures = 0;
                if shutdown.as_mut().now_or_never().is_some() {
                    break;
                }
                tokio::task::yield_now().await;
                continue;
            }
            tokio::select! {
                () = shutdown.as_mut() => break,
                () = tokio::time::sleep(pause) => {}
            }
        }
        if let Err(e) = self.flush(Timestamp::now()).await {
            tracing::warn!(worker = %worker, error = %crate::error::chain(&e), "flushing waiting webhook batches failed");
        }
    }

    /// Dead events of `space`, oldest first, at most `limit` (the store's `list_dead`).
    pub async fn dead_letters(
        &self,
        space: &str,
        limit: usize,
    ) -> Result<Vec<OutboxEvent>, ForwardError> {
        Ok(self.store.list_dead(space, limit).await?)
    }

    /// Makes the dead event `event_id` of `space` pending again at `now` with a fresh schedule
    /// (the store's `redrive`). Returns how many were redriven (0: no such dead event).
    pub async fn redrive(
        &self,
        space: &str,
        event_id: &str,
        now: Timestamp,
    ) -> Result<u64, ForwardError> {
        Ok(self.store.redrive(space, event_id, now).await?)
    }

    fn buffers(&self) -> MutexGuard<'_, Buffers> {
        // The buffers hold no invariant a panic elsewhere could break halfway.
        self.buffers.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Settles events nobody will deliver, per the [`Unrouted`] policy.
    async fn settle_unrouted(
        &self,
        worker: &str,
        events: Vec<OutboxEvent>,
        now: Timestamp,
    ) -> Result<ForwardReport, StoreError> {
        let mut report = ForwardReport::default();
        if events.is_empty() {
            return Ok(report);
        }
        let mut per_space: HashMap<&str, usize> = HashMap::new();
        for e in &events {
            *per_space.entry(e.space.as_str()).or_default() += 1;
        }
        match self.unrouted {
            Unrouted::Drop => {
                let ids: Vec<i64> = events.iter().map(|e| e.id).collect();
                self.store.mark_delivered(&ids, now).await?;
                report.dropped = ids.len();
                for (space, count) in per_space {
                    tracing::info!(space, count, "no webhook configured: events dropped");
                }
            }
            Unrouted::DeadLetter => {
                for e in &events {
                    let failure = EventFailure::Dead;
                    if self
                        .store
                        .mark_failed(e.id, worker, NO_WEBHOOK, failure)
                        .await?
                    {
                        report.dead += 1;
                    }
                }
                for (space, count) in per_space {
                    tracing::warn!(space, count, "no webhook configured: events dead-lettered");
                }
            }
        }
        Ok(report)
    }

    /// Buffers `new`, then posts every ready batch, up to `concurrency` at once.
    async fn send(
        &self,
        new: HashMap<String, Vec<Held>>,
        now: Timestamp,
        started: Instant,
        flush: bool,
    ) -> Result<ForwardReport, ForwardError> {
        let (plan, waiting) = {
            let mut buffers = self.buffers();
            let plan = buffers.plan(new, |s| self.routes.get(s).map(|r| &r.target), now, flush);
            (plan, buffers.waiting())
        };
        if plan.lapsed > 0 {
            tracing::warn!(
                count = plan.lapsed,
                "leases of events waiting for a batch lapsed; they will be leased again"
            );
        }
        let results: Vec<Result<ForwardReport, StoreError>> = futures::stream::iter(plan.batches)
            .map(|b| self.deliver(b, now, started))
            .buffer_unordered(self.concurrency)
            .collect()
            .await;
        let mut report = ForwardReport {
            waiting,
            ..ForwardReport::default()
        };
        let mut first_error = None;
        for result in results {
            match result {
                Ok(r) => report.add(r),
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        match first_error {
            Some(e) => Err(e.into()),
            None => Ok(report),
        }
    }

    /// Posts one batch and records the outcome on each of its events.
    async fn deliver(
        &self,
        batch: Batch,
        now: Timestamp,
        started: Instant,
    ) -> Result<ForwardReport, StoreError> {
        let mut report = ForwardReport::default();
        let Some(route) = self.routes.get(&batch.space) else {
            return Ok(report);
        };
        let target = &route.target;
        let space = batch.space.as_str();
        let sent_at = now.add_millis(elapsed_millis(started));
        // Post only events whose lease outlasts the request, so nobody else can have them.
        let must_hold_until = sent_at.add_millis(duration_millis(target.timeout));
        let (events, lapsing): (Vec<Held>, Vec<Held>) = batch
            .events
            .into_iter()
            .partition(|h| !h.lapsed(must_hold_until));
        if !lapsing.is_empty() {
            tracing::warn!(
                space,
                count = lapsing.len(),
                "leases run out before a webhook request could finish; left to be leased again"
            );
        }
        if events.is_empty() {
            return Ok(report);
        }
        let envelopes: Vec<&EventEnvelope> = events.iter().map(|h| &h.event.envelope).collect();
        let body = if target.batch_size == 1 && envelopes.len() == 1 {
            serde_json::to_vec(envelopes[0])
        } else {
            serde_json::to_vec(&envelopes)
        };
        let outcome = match body {
            Ok(body) => {
                report.posts = 1;
                let unix_seconds = sent_at.millis().div_euclid(1000);
                post::post(&self.client, &route.url, target, body, unix_seconds).await
            }
            Err(e) => Outcome::Refused(format!("the event could not be serialized: {e}")),
        };
        let done_at = now.add_millis(elapsed_millis(started));
        match outcome {
            Outcome::Delivered => {
                let ids: Vec<i64> = events.iter().map(|h| h.event.id).collect();
                self.store.mark_delivered(&ids, done_at).await?;
                report.delivered = ids.len();
                tracing::debug!(space, count = ids.len(), "events delivered to the webhook");
            }
            Outcome::Refused(error) => {
                for h in &events {
                    let applied = self
                        .store
                        .mark_failed(h.event.id, &h.worker, &error, EventFailure::Dead)
                        .await?;
                    report.dead += usize::from(applied);
                }
                tracing::warn!(space, count = events.len(), error = %error, "webhook refused events; dead-lettered");
            }
            Outcome::Failed(error) => {
                for h in &events {
                    let retry = usize::try_from(h.event.attempts.saturating_sub(1))
                        .ok()
                        .and_then(|i| target.schedule.get(i));
                    let failure = match retry {
                        Some(delay) => {
                            EventFailure::RetryAt(done_at.add_millis(duration_millis(*delay)))
                        }
                        None => EventFailure::Dead,
                    };
                    let dead = failure == EventFailure::Dead;
                    if self
                        .store
                        .mark_failed(h.event.id, &h.worker, &error, failure)
                        .await?
                    {
                        if dead {
                            report.dead += 1;
                        } else {
                            report.retried += 1;
                        }
                    }
                }
                tracing::warn!(space, count = events.len(), error = %error, "webhook delivery failed");
            }
        }
        Ok(report)
    }
}

/// `d` in milliseconds, saturating.
fn duration_millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

fn elapsed_millis(started: Instant) -> i64 {
    duration_millis(started.elapsed())
}
