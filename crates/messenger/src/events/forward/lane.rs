//! A target's lane: one space's webhook with its own events, request slots and pauses.
//!
//! A lane leases only its target's due events (the store's `lease_due_events_in` with
//! [`EventScope::Target`]), never more than its free request slots can post, so the events it
//! holds are posted at once (or, for a filling batch, within the window). Its task in
//! [`Forwarder::run`](super::Forwarder::run) waits on its own requests only: a receiver that
//! hangs until the timeout holds that lane's slots and nothing else.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use messenger_model::Timestamp;
use messenger_store::{EventScope, StoreError};
use reqwest::Url;
use tokio::sync::watch;
use tokio::task::JoinSet;

use super::batch::{self, Batch, Held};
use super::concurrency::Concurrency;
use super::delivery::{self, Delivery};
use super::target::WebhookTarget;
use super::{ForwardError, ForwardReport, Forwarder, LEASE_MARGIN};
use crate::DEFAULT_EVENT_TARGET;

/// One target and what it holds.
pub(super) struct Lane {
    /// The API space.
    pub(super) space: String,
    /// Its webhook.
    pub(super) target: WebhookTarget,
    /// The webhook's parsed URL.
    pub(super) url: Url,
    /// Its events in the store.
    scope: EventScope,
    /// Events leased and not yet posted (a filling batch, or waiting for a free slot).
    waiting: Mutex<Vec<Held>>,
}

/// What one step of a lane took out.
struct Step {
    /// Batches to post now.
    batches: Vec<Batch>,
    /// Events leased in this step.
    leased: usize,
    /// Whether the lease was as large as asked (more may be due).
    full: bool,
    /// When the partial batch left waiting may go (`None`: nothing waits for a window).
    ready_at: Option<Timestamp>,
}

impl Lane {
    pub(super) fn new(space: String, target: WebhookTarget, url: Url) -> Self {
        let scope = EventScope::Target {
            space: space.clone(),
            target: DEFAULT_EVENT_TARGET.to_owned(),
        };
        Self {
            space,
            target,
            url,
            scope,
            waiting: Mutex::default(),
        }
    }

    /// How long this lane leases events: the window, a request, a wait for a free slot (one
    /// more request) and a margin.
    pub(super) fn lease_for(&self) -> Duration {
        let window = if self.target.waits() {
            self.target.batch_window
        } else {
            Duration::ZERO
        };
        window
            .saturating_add(self.target.timeout.saturating_mul(2))
            .saturating_add(LEASE_MARGIN)
    }

    /// Events leased and not yet posted.
    pub(super) fn waiting(&self) -> usize {
        self.held().len()
    }

    fn held(&self) -> MutexGuard<'_, Vec<Held>> {
        // The list holds no invariant a panic elsewhere could break halfway.
        self.waiting.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Leases as many due events as `room` batches hold (less what already waits, at most the
    /// forwarder's `lease_limit`; nothing with `lease` false) and takes out the batches ready at
    /// `now`, at most `room`.
    async fn step(
        &self,
        fwd: &Forwarder,
        worker: &str,
        now: Timestamp,
        room: usize,
        lease: bool,
        flush: bool,
    ) -> Result<Step, StoreError> {
        let want = room
            .saturating_mul(self.target.batch_size.max(1))
            .saturating_sub(self.waiting())
            .min(fwd.lease_limit);
        let leased = if lease && want > 0 {
            fwd.store
                .lease_due_events_in(&self.scope, worker, now, want, self.lease_for())
                .await?
        } else {
            Vec::new()
        };
        let count = leased.len();
        let mut held = self.held();
        held.extend(leased.into_iter().map(|event| Held {
            event,
            worker: worker.to_owned(),
        }));
        let plan = batch::take_ready(&mut held, &self.space, &self.target, now, flush, room);
        if plan.lapsed > 0 {
            tracing::warn!(
                space = %self.space,
                count = plan.lapsed,
                "leases of events waiting for a batch lapsed; they will be leased again"
            );
        }
        Ok(Step {
            batches: plan.batches,
            leased: count,
            full: want > 0 && count >= want,
            ready_at: batch::ready_at(&held, &self.target),
        })
    }
}

/// One round of `lane` for [`Forwarder::run_once`] (lease, post, wait for every request) or,
/// with `flush`, [`Forwarder::flush`] (post what waits, lease nothing).
pub(super) async fn round(
    fwd: &Forwarder,
    lane: &Arc<Lane>,
    worker: &str,
    now: Timestamp,
    started: Instant,
    flush: bool,
) -> Result<ForwardReport, StoreError> {
    let room = if flush {
        usize::MAX
    } else {
        lane.target.max_in_flight
    };
    let step = lane.step(fwd, worker, now, room, !flush, flush).await?;
    let mut report = ForwardReport {
        leased: step.leased,
        ..ForwardReport::default()
    };
    let deliveries = futures::future::join_all(step.batches.into_iter().map(|b| {
        delivery::deliver(
            Arc::clone(&fwd.store),
            fwd.client.clone(),
            Arc::clone(lane),
            b,
            now,
            started,
        )
    }))
    .await;
    for d in deliveries {
        report.add(d?.report);
    }
    Ok(report)
}

/// The task of `lane` in [`Forwarder::run`], until `stop` turns true; then it finishes its
/// requests and flushes its waiting batch.
pub(super) async fn run(
    fwd: Forwarder,
    lane: Arc<Lane>,
    worker: String,
    mut stop: watch::Receiver<bool>,
) {
    let mut concurrency = Concurrency::new(lane.target.max_in_flight);
    // Whether more events were due than the last step could take (the limit may grow).
    let mut backlogged = false;
    let mut last_step: Option<Instant> = None;
    let mut posts: JoinSet<Result<Delivery, StoreError>> = JoinSet::new();
    let mut pause_until: Option<Instant> = None;
    let mut failures = 0u32;
    loop {
        if *stop.borrow() {
            break;
        }
        let max = concurrency.limit();
        // Lease again at once when at most this many requests are under way (so leases come
        // in chunks), else at the next poll while a slot is free.
        let low_water = max / 2;
        let mut wait = fwd.poll_interval;
        let paused = pause_until.is_some_and(|until| Instant::now() < until);
        let polled = last_step.is_none_or(|at| at.elapsed() >= fwd.poll_interval);
        if !paused && (posts.len() <= low_water || (posts.len() < max && polled)) {
            last_step = Some(Instant::now());
            let now = Timestamp::now();
            let started = Instant::now();
            let room = max.saturating_sub(posts.len());
            match lane.step(&fwd, &worker, now, room, true, false).await {
                Ok(step) => {
                    if step.leased > 0 {
                        let leased = ForwardReport {
                            leased: step.leased,
                            ..ForwardReport::default()
                        };
                        fwd.observe(Some(&lane.space), &leased);
                    }
                    for b in step.batches {
                        posts.spawn(delivery::deliver(
                            Arc::clone(&fwd.store),
                            fwd.client.clone(),
                            Arc::clone(&lane),
                            b,
                            now,
                            started,
                        ));
                    }
                    backlogged = step.full || lane.waiting() > 0;
                    if step.full {
                        wait = Duration::ZERO;
                    }
                    if let Some(at) = step.ready_at {
                        let until = u64::try_from(at.millis() - Timestamp::now().millis())
                            .unwrap_or(0)
                            .max(1);
                        wait = wait.min(Duration::from_millis(until));
                    }
                }
                Err(e) => {
                    failures = failures.saturating_add(1);
                    pause_until = Some(Instant::now() + fwd.error_pause(failures));
                    let e = ForwardError::Store(e);
                    tracing::warn!(space = %lane.space, worker = %worker, error = %crate::error::chain(&e), "webhook forwarding step failed");
                    fwd.observe_error(Some(&lane.space), &e);
                }
            }
            set_in_flight(&fwd, &lane, posts.len());
        }
        if let Some(until) = pause_until {
            match until.checked_duration_since(Instant::now()) {
                Some(left) if !left.is_zero() => wait = wait.min(left),
                _ => pause_until = None,
            }
        }
        if wait.is_zero() && posts.len() <= low_water {
            tokio::task::yield_now().await;
            continue;
        }
        tokio::select! {
            Some(done) = posts.join_next(), if !posts.is_empty() => {
                let ok = settle(&fwd, &lane, done, &mut failures, &mut pause_until);
                if ok {
                    concurrency.succeeded(backlogged);
                } else {
                    concurrency.failed();
                }
                set_in_flight(&fwd, &lane, posts.len());
            }
            () = tokio::time::sleep(wait), if !wait.is_zero() => {}
            changed = stop.changed() => if changed.is_err() { break },
        }
    }
    while let Some(done) = posts.join_next().await {
        settle(&fwd, &lane, done, &mut failures, &mut pause_until);
    }
    set_in_flight(&fwd, &lane, 0);
    match round(&fwd, &lane, &worker, Timestamp::now(), Instant::now(), true).await {
        Ok(report) => fwd.observe(Some(&lane.space), &report),
        Err(e) => {
            let e = ForwardError::Store(e);
            tracing::warn!(space = %lane.space, error = %crate::error::chain(&e), "flushing a waiting webhook batch failed");
            fwd.observe_error(Some(&lane.space), &e);
        }
    }
}

fn set_in_flight(fwd: &Forwarder, lane: &Lane, requests: usize) {
    if let Some(o) = &fwd.observer {
        o.in_flight(&lane.space, requests);
    }
}

/// Takes in a finished request: reports it, and grows the lane's pause while its receiver
/// fails (any delivery resets it). Whether the receiver answered (anything but a failure).
fn settle(
    fwd: &Forwarder,
    lane: &Lane,
    done: Result<Result<Delivery, StoreError>, tokio::task::JoinError>,
    failures: &mut u32,
    pause_until: &mut Option<Instant>,
) -> bool {
    match done {
        Ok(Ok(d)) => {
            fwd.observe(Some(&lane.space), &d.report);
            if d.failed {
                *failures = failures.saturating_add(1);
                *pause_until = Some(Instant::now() + fwd.error_pause(*failures));
            } else if d.report.delivered > 0 {
                *failures = 0;
                *pause_until = None;
            }
            !d.failed
        }
        Ok(Err(e)) => {
            *failures = failures.saturating_add(1);
            *pause_until = Some(Instant::now() + fwd.error_pause(*failures));
            let e = ForwardError::Store(e);
            tracing::warn!(space = %lane.space, error = %crate::error::chain(&e), "recording a webhook delivery failed");
            fwd.observe_error(Some(&lane.space), &e);
            // The store's trouble, not the receiver's: the limit stays.
            true
        }
        Err(e) => {
            tracing::error!(space = %lane.space, error = %e, "a webhook delivery task failed");
            true
        }
    }
}
