//! [`Forwarder`]: delivers the outbox's events to each API space's webhook (docs/design.md §6).
//!
//! Each space's webhook is a *target* with its own schedule (decision 0014): it leases only its
//! own due events from the store (oldest first), batches them per its [`WebhookTarget`], and has
//! at most `max_in_flight` signed POSTs under way; a target whose requests fail pauses its own
//! leasing for a while. So a receiver that is slow, failing or hanging until its timeout delays
//! only its own events. Outcomes are recorded per event: 2xx delivered; 400 dead at once;
//! anything else retried on the target's schedule, then dead. Dead events are listed with
//! [`Forwarder::dead_letters`] and made pending again with [`Forwarder::redrive`].
//! `docs/webhooks.md` is the receiver's side of the contract.

mod batch;
mod concurrency;
mod delivery;
mod lane;
mod post;
mod target;

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use messenger_model::Timestamp;
use messenger_store::{EventFailure, EventScope, OutboxEvent, Store, StoreError};
use reqwest::Client;

use self::lane::Lane;
pub use self::target::{
    default_retry_schedule, Unrouted, WebhookTarget, DEFAULT_MAX_IN_FLIGHT, MAX_BATCH_SIZE,
    MAX_BATCH_WINDOW, MAX_IN_FLIGHT, MAX_TIMEOUT,
};
use crate::DEFAULT_EVENT_TARGET;

/// Added to every lease beyond the time the work under it can take.
const LEASE_MARGIN: Duration = Duration::from_secs(30);
/// The longest pause of a target (or of the settling of unrouted events) after failures.
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

/// What one round (or, in [`Forwarder::run`], one step of one target) of the [`Forwarder`]
/// did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ForwardReport {
    /// Events leased from the store.
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
        self.leased += other.leased;
        self.posts += other.posts;
        self.delivered += other.delivered;
        self.retried += other.retried;
        self.dead += other.dead;
        self.dropped += other.dropped;
    }
}

/// Hears what [`Forwarder::run`] does, target by target (for metrics). Called from the
/// forwarder's tasks: keep each call short and never block.
pub trait ForwardObserver: Send + Sync {
    /// What one step did: requests to `space`'s target that finished, or events leased; with
    /// `space` `None`, events of spaces without a webhook that were settled.
    fn report(&self, space: Option<&str>, report: &ForwardReport);
    /// A step that failed (the store); the target (or, `None`, the settling of events without
    /// a webhook) pauses and tries again.
    fn error(&self, space: Option<&str>, error: &ForwardError);
    /// The requests now under way to `space`'s target.
    fn in_flight(&self, space: &str, requests: usize);
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
    lanes: Arc<Vec<Arc<Lane>>>,
    /// The events no target takes: every `(space, default target)` of `lanes` excepted.
    others: Arc<EventScope>,
    poll_interval: Duration,
    lease_limit: usize,
    unrouted: Unrouted,
    observer: Option<Arc<dyn ForwardObserver>>,
}

impl fmt::Debug for Forwarder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let spaces: Vec<&str> = self.lanes.iter().map(|l| l.space.as_str()).collect();
        f.debug_struct("Forwarder")
            .field("store", &self.store.backend())
            .field("spaces", &spaces)
            .field("poll_interval", &self.poll_interval)
            .field("lease_limit", &self.lease_limit)
            .field("unrouted", &self.unrouted)
            .finish_non_exhaustive()
    }
}

impl Forwarder {
    /// A forwarder for the events in `store`, posting each space's events to its target
    /// (`targets` is keyed by API space id). Checks every target.
    ///
    /// Defaults: at most 500 events leased per step of a target, a 500 ms pause when idle,
    /// events of spaces without a target dropped ([`Unrouted::Drop`]).
    pub fn new(
        store: Arc<dyn Store>,
        targets: HashMap<String, WebhookTarget>,
    ) -> Result<Self, ForwardError> {
        let mut lanes = Vec::with_capacity(targets.len());
        for (space, target) in targets {
            let url = target.check(&space)?;
            lanes.push(Arc::new(Lane::new(space, target, url)));
        }
        lanes.sort_by(|a, b| a.space.cmp(&b.space));
        let others = EventScope::Except(
            lanes
                .iter()
                .map(|l| (l.space.clone(), DEFAULT_EVENT_TARGET.to_owned()))
                .collect(),
        );
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
            lanes: Arc::new(lanes),
            others: Arc::new(others),
            poll_interval: Duration::from_millis(500),
            lease_limit: MAX_BATCH_SIZE,
            unrouted: Unrouted::Drop,
            observer: None,
        })
    }

    /// How long a target with nothing to do waits before it looks at the store again.
    #[must_use = "a builder method returns the changed value and does nothing on its own"]
    pub fn poll_interval(mut self, interval: Duration) -> Self {
        self.poll_interval = interval;
        self
    }

    /// How many events one step of one target leases at most (at least 1).
    #[must_use = "a builder method returns the changed value and does nothing on its own"]
    pub fn lease_limit(mut self, limit: usize) -> Self {
        self.lease_limit = limit.max(1);
        self
    }

    /// What to do with events of spaces that have no target.
    #[must_use = "a builder method returns the changed value and does nothing on its own"]
    pub fn unrouted(mut self, policy: Unrouted) -> Self {
        self.unrouted = policy;
        self
    }

    /// Tells `observer` what [`run`](Forwarder::run) does, target by target.
    #[must_use = "a builder method returns the changed value and does nothing on its own"]
    pub fn observer(mut self, observer: Arc<dyn ForwardObserver>) -> Self {
        self.observer = Some(observer);
        self
    }

    /// The longest lease a target takes on its events: its batch window, plus two of its
    /// timeouts (a request, and a wait for a free slot), plus a margin. A worker that dies
    /// holding events delays them by at most this.
    pub fn lease_for(&self) -> Duration {
        self.lanes
            .iter()
            .map(|l| l.lease_for())
            .max()
            .unwrap_or(LEASE_MARGIN)
    }

    /// Events held in memory waiting for their batch to fill (or for a free request slot).
    pub fn waiting(&self) -> usize {
        self.lanes.iter().map(|l| l.waiting()).sum()
    }

    /// One round at `now` as `worker`, over every target at once, waiting for its requests:
    /// settles events of spaces without a target, then each target leases its due events (as
    /// many as its `max_in_flight` batches hold), posts every batch that is ready (full, or its
    /// oldest event has waited the window) and records each outcome. Events of a filling batch
    /// stay leased in memory until a later round. ([`run`](Forwarder::run) does not work in
    /// rounds: each target runs on its own.)
    pub async fn run_once(
        &self,
        worker: &str,
        now: Timestamp,
    ) -> Result<ForwardReport, ForwardError> {
        let started = Instant::now();
        let settled = self.settle_unrouted(worker, now).await;
        let rounds = futures::future::join_all(
            self.lanes
                .iter()
                .map(|lane| lane::round(self, lane, worker, now, started, false)),
        )
        .await;
        let mut report = ForwardReport::default();
        let mut first_error = None;
        for result in std::iter::once(settled).chain(rounds) {
            match result {
                Ok(r) => report.add(r),
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        if let Some(e) = first_error {
            return Err(e.into());
        }
        report.waiting = self.waiting();
        Ok(report)
    }

    /// Posts every event waiting for a batch now, windows notwithstanding (at shutdown, so they
    /// are not left leased until the lease lapses).
    pub async fn flush(&self, now: Timestamp) -> Result<ForwardReport, ForwardError> {
        let started = Instant::now();
        let rounds = futures::future::join_all(
            self.lanes
                .iter()
                .map(|lane| lane::round(self, lane, "", now, started, true)),
        )
        .await;
        let mut report = ForwardReport::default();
        for r in rounds {
            report.add(r?);
        }
        report.waiting = self.waiting();
        Ok(report)
    }

    /// Runs with the system clock until `shutdown` completes: one task per target, each leasing
    /// its own events whenever it has a free request slot (no pause while work is waiting, the
    /// poll interval when idle), with at most its `max_in_flight` requests under way, and a
    /// growing pause (up to 30 s) of that target alone while its requests fail or the store
    /// does; plus one task settling events of spaces without a target. At shutdown, requests
    /// under way are finished, not cancelled, and waiting batches are flushed.
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
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let mut tasks = tokio::task::JoinSet::new();
        for lane in self.lanes.iter() {
            tasks.spawn(lane::run(
                self.clone(),
                Arc::clone(lane),
                worker.clone(),
                stopped.clone(),
            ));
        }
        tasks.spawn(self.clone().run_unrouted(worker.clone(), stopped));
        shutdown.await;
        let _ = stop.send(true);
        while let Some(done) = tasks.join_next().await {
            if let Err(e) = done {
                tracing::error!(worker = %worker, error = %e, "a webhook forwarding task failed");
            }
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

    /// The pause after `failures` failures in a row: the poll interval doubling, at most 30 s.
    fn error_pause(&self, failures: u32) -> Duration {
        self.poll_interval
            .saturating_mul(1 << failures.min(6))
            .clamp(self.poll_interval, MAX_ERROR_PAUSE.max(self.poll_interval))
    }

    fn observe(&self, space: Option<&str>, report: &ForwardReport) {
        if let Some(o) = &self.observer {
            o.report(space, report);
        }
    }

    fn observe_error(&self, space: Option<&str>, error: &ForwardError) {
        if let Some(o) = &self.observer {
            o.error(space, error);
        }
    }

    /// Settles events of spaces without a webhook until `stop`, a step every ten poll
    /// intervals (1 to 60 s; such events are rare: queued before a webhook was removed).
    async fn run_unrouted(self, worker: String, mut stop: tokio::sync::watch::Receiver<bool>) {
        let every = self
            .poll_interval
            .saturating_mul(10)
            .clamp(Duration::from_secs(1), Duration::from_secs(60));
        let mut failures = 0u32;
        while !*stop.borrow() {
            let pause = match self.settle_unrouted(&worker, Timestamp::now()).await {
                Ok(report) => {
                    failures = 0;
                    if report.leased > 0 {
                        self.observe(None, &report);
                    }
                    if report.leased >= self.lease_limit {
                        Duration::ZERO
                    } else {
                        every
                    }
                }
                Err(e) => {
                    failures = failures.saturating_add(1);
                    let e = ForwardError::Store(e);
                    tracing::warn!(worker = %worker, error = %crate::error::chain(&e), "settling events without a webhook failed");
                    self.observe_error(None, &e);
                    self.error_pause(failures).max(every)
                }
            };
            tokio::select! {
                changed = stop.changed() => if changed.is_err() { break },
                () = tokio::time::sleep(pause) => {}
            }
        }
    }

    /// Leases events nobody forwards and settles them per the [`Unrouted`] policy.
    async fn settle_unrouted(
        &self,
        worker: &str,
        now: Timestamp,
    ) -> Result<ForwardReport, StoreError> {
        let events = self
            .store
            .lease_due_events_in(&self.others, worker, now, self.lease_limit, LEASE_MARGIN)
            .await?;
        let mut report = ForwardReport {
            leased: events.len(),
            ..ForwardReport::default()
        };
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
}

/// `d` in milliseconds, saturating.
fn duration_millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

fn elapsed_millis(started: Instant) -> i64 {
    duration_millis(started.elapsed())
}
