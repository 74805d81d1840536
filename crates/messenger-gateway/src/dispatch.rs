//! Durable dispatch: `workers` tasks loop over [`Messenger::dispatch_due`] (each with up to
//! [`ROUNDS_IN_FLIGHT`] rounds under way: a round that outlives [`ROUND_OVERLAP`] is left to finish
//! while the worker leases the next; a round that ends lets the worker lease at once), one
//! maintenance
//! task recovers expired leases and purges old records, and one claims passed Messenger
//! delivery deadlines ([`Messenger::fire_delivery_deadlines`]).
//!
//! All state is in the store, so a restarted gateway resumes by itself, and several instances
//! on one PostgreSQL share the work through the store's leases (no message is sent twice; one
//! recipient's messages leave in order). An idle worker sleeps `poll_interval` or until an
//! accepted message wakes it. When Graph reports a usage above `usage_pause_percent` for a page,
//! that page alone is paused (its circuit opens, see `messenger::send::page`) until Graph says
//! access is regained; the other pages keep sending. On shutdown each worker finishes its
//! rounds under way, so no lease is left behind.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use messenger::Messenger;
use tokio::sync::Notify;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::config::DispatchConfig;
use crate::metrics::Metrics;
use crate::retention::RetentionPolicy;

/// How long a worker waits for its new round before it leases the next one beside it (sooner
/// when one of its rounds ends): a round's messages may wait up to the pacing horizon for their
/// pages' slots, and Meta takes 100-500 ms per send, so a worker that waited for each round would
/// lease a few times a second.
const ROUND_OVERLAP: Duration = Duration::from_millis(50);

/// Rounds of one worker under way at once (each of up to `batch_size` messages). With Meta
/// answering in 200 ms, a busy page's message is under way for about half a second (its slot,
/// the send, the record): ten pages at 250 a second keep over a thousand messages under way, and
/// four rounds per worker (the default 4 workers x 64) held them 15 % below their rate; eight
/// keep them at it (docs/performance.md, "The `pages` scenario").
const ROUNDS_IN_FLIGHT: usize = 8;

/// What a round answers.
type RoundResult = Result<messenger::DispatchReport, messenger::Error>;

/// The longest single pause for Graph usage (then usage is looked at again).
const MAX_USAGE_PAUSE: Duration = Duration::from_secs(60);

/// The pause when Graph reports high usage without saying when access is regained.
const DEFAULT_USAGE_PAUSE: Duration = Duration::from_secs(5);

/// How often passed delivery deadlines are looked for (a deadline fires within this of its
/// time, plus a dispatch round).
const DEADLINE_CHECK_INTERVAL: Duration = Duration::from_millis(500);

/// Deadlines claimed per store call.
const DEADLINE_CLAIM_LIMIT: usize = 100;

/// What the background tasks share.
pub(crate) struct Dispatcher {
    pub messenger: Messenger,
    pub metrics: Metrics,
    pub config: DispatchConfig,
    pub wake: Arc<Notify>,
    pub cancel: CancellationToken,
    pub instance_id: String,
    /// What the housekeeping round purges ([`crate::retention`]).
    pub retention: RetentionPolicy,
}

impl Dispatcher {
    /// Starts the workers and the maintenance task.
    pub(crate) fn spawn(self) -> Vec<JoinHandle<()>> {
        let this = Arc::new(self);
        let mut tasks: Vec<JoinHandle<()>> = (0..this.config.workers)
            .map(|i| tokio::spawn(Arc::clone(&this).worker(i)))
            .collect();
        tasks.push(tokio::spawn(Arc::clone(&this).maintenance()));
        tasks.push(tokio::spawn(Arc::clone(&this).delivery_deadlines()));
        tasks
    }

    /// Sleeps `d`, returning early on shutdown.
    async fn sleep(&self, d: Duration) {
        tokio::select! {
            () = tokio::time::sleep(d) => {}
            () = self.cancel.cancelled() => {}
        }
    }

    /// Pauses each page whose Graph usage is over the threshold, until Graph says access is
    /// regained (at most a minute, then usage is looked at again).
    fn pause_busy_pages(&self) {
        let now = self.messenger.now();
        for space in self.messenger.spaces() {
            let Some(usage) = space.transport.usage() else {
                continue;
            };
            let percent = usage.max_percent();
            self.metrics.graph_usage(&space.id, percent);
            if percent > self.config.usage_pause_percent {
                let wait = usage
                    .regain_access_after()
                    .unwrap_or(DEFAULT_USAGE_PAUSE)
                    .min(MAX_USAGE_PAUSE);
                let until = now.add_millis(i64::try_from(wait.as_millis()).unwrap_or(i64::MAX));
                if space
                    .health
                    .status(now)
                    .open_until
                    .is_none_or(|u| u < until)
                {
                    tracing::warn!(
                        space = %space.id,
                        percent,
                        pause_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
                        "Graph usage is high: pausing the page"
                    );
                    self.metrics.dispatch_paused();
                }
                space.health.throttle(
                    until,
                    &format!("Graph reports {percent}% of the page's rate limit used"),
                );
            }
        }
    }

    async fn worker(self: Arc<Self>, index: usize) {
        let id = format!("{}/dispatch-{index}", self.instance_id);
        tracing::debug!(worker = %id, "dispatch worker started");
        // This worker's rounds under way, oldest first; each signals `finished` as it ends.
        let mut running: VecDeque<JoinHandle<RoundResult>> = VecDeque::new();
        let finished = Arc::new(Notify::new());
        // Whether the last round seen to end took a whole `batch_size`: then more is likely due,
        // and the next round is leased beside a slow one. A round that took less took all that
        // was due; the next is leased when it ends, when its recipients' next messages are due.
        let mut full = false;
        while !self.cancel.is_cancelled() {
            self.pause_busy_pages();
            self.reap(&id, &mut running).await;
            if running.len() >= ROUNDS_IN_FLIGHT {
                tokio::select! {
                    () = finished.notified() => {}
                    () = self.cancel.cancelled() => {}
                }
                continue;
            }
            // A round runs to its end even when shutdown begins: its leases are then settled.
            running.push_back(tokio::spawn({
                let (messenger, id) = (self.messenger.clone(), id.clone());
                let (limit, finished) = (self.config.batch_size, Arc::clone(&finished));
                async move {
                    let result = messenger.dispatch_due(&id, limit).await;
                    finished.notify_one();
                    result
                }
            }));
            // Until a round ends, or (after a full round) the new one has run ROUND_OVERLAP:
            // its messages wait for their pages' slots or for Graph, and the next round is
            // leased beside it.
            if full {
                tokio::select! {
                    () = finished.notified() => {}
                    () = tokio::time::sleep(ROUND_OVERLAP) => {}
                }
            } else {
                finished.notified().await;
            }
            let (newest, others) = self.reap(&id, &mut running).await;
            if let Some(leased) = newest {
                full = leased >= self.config.batch_size;
            }
            // Idle only when the new round found nothing and no other round ended meanwhile
            // (one that did may have made its recipients' next messages due after the lease).
            if (newest, others) == (Some(0), 0) {
                self.idle(&finished, running.is_empty()).await;
            }
        }
        for round in running {
            self.finish_round(&id, round.await).await;
        }
        tracing::debug!(worker = %id, "dispatch worker stopped");
    }

    /// Counts the rounds of `running` that have ended and drops them; returns what the newest
    /// round leased when it is one of them, and how many of the others ended.
    async fn reap(
        &self,
        id: &str,
        running: &mut VecDeque<JoinHandle<RoundResult>>,
    ) -> (Option<usize>, usize) {
        let newest = running.len().saturating_sub(1);
        let (mut newest_leased, mut others) = (None, 0);
        let mut still = VecDeque::with_capacity(running.len());
        for (i, round) in running.drain(..).enumerate() {
            if round.is_finished() {
                let leased = self.finish_round(id, round.await).await;
                if i == newest {
                    newest_leased = leased;
                } else {
                    others += 1;
                }
            } else {
                still.push_back(round);
            }
        }
        *running = still;
        (newest_leased, others)
    }

    /// Counts a finished round; returns how many messages it leased (`None`: it failed, and the
    /// worker has slept a while).
    async fn finish_round(
        &self,
        id: &str,
        joined: Result<RoundResult, tokio::task::JoinError>,
    ) -> Option<usize> {
        match joined {
            Ok(Ok(report)) => {
                self.metrics.dispatch(&report);
                if report.leased > 0 {
                    tracing::debug!(worker = %id, ?report, "dispatch round");
                }
                Some(report.leased)
            }
            Ok(Err(e)) => {
                self.metrics.dispatch_error();
                tracing::error!(worker = %id, error = %messenger::error_chain(&e), "dispatch round failed");
                self.sleep(self.config.poll_interval.max(Duration::from_secs(1)))
                    .await;
                None
            }
            Err(join) => {
                self.metrics.dispatch_error();
                tracing::error!(worker = %id, error = %join, "a dispatch round panicked");
                None
            }
        }
    }

    /// Nothing was due: sleeps until a message is accepted, one of this worker's rounds ends
    /// (`alone` false: some are under way), `poll_interval` passes, or a page held back by its
    /// pace may be leased again.
    async fn idle(&self, finished: &Notify, alone: bool) {
        let mut wait = self.config.poll_interval;
        if let Some(reopens) = self.messenger.pacing_reopens_at() {
            let ms = reopens
                .millis()
                .saturating_sub(self.messenger.now().millis())
                .max(1);
            wait = wait.min(Duration::from_millis(u64::try_from(ms).unwrap_or(1)));
        }
        tokio::select! {
            () = self.wake.notified() => {}
            () = finished.notified(), if !alone => {}
            () = tokio::time::sleep(wait) => {}
            () = self.cancel.cancelled() => {}
        }
    }

    async fn maintenance(self: Arc<Self>) {
        while !self.cancel.is_cancelled() {
            self.sleep(self.config.recover_interval).await;
            if self.cancel.is_cancelled() {
                break;
            }
            self.tidy().await;
        }
    }

    /// Claims passed Messenger delivery deadlines every [`DEADLINE_CHECK_INTERVAL`] (decision
    /// 0012): each reopened message is due at once, so the workers are woken to send it by its
    /// next rule.
    async fn delivery_deadlines(self: Arc<Self>) {
        while !self.cancel.is_cancelled() {
            self.sleep(DEADLINE_CHECK_INTERVAL).await;
            loop {
                if self.cancel.is_cancelled() {
                    return;
                }
                match self
                    .messenger
                    .fire_delivery_deadlines(DEADLINE_CLAIM_LIMIT)
                    .await
                {
                    Ok(0) => break,
                    Ok(n) => {
                        self.wake.notify_waiters();
                        if n < DEADLINE_CLAIM_LIMIT {
                            break;
                        }
                    }
                    Err(e) => {
                        tracing::warn!(error = %messenger::error_chain(&e), "claiming delivery deadlines failed");
                        break;
                    }
                }
            }
        }
    }

    /// Recovers expired leases and holds every table to its retention.
    async fn tidy(&self) {
        let store = self.messenger.store();
        let now = self.messenger.now();
        match store.recover_expired_leases(now).await {
            Ok(0) => {}
            Ok(n) => {
                self.metrics.leases_recovered(n);
                tracing::info!(leases = n, "recovered expired leases");
            }
            Err(e) => {
                tracing::warn!(error = %messenger::error_chain(&e), "recovering expired leases failed")
            }
        }
        let report = self.retention.run(store, now).await;
        self.metrics.retention(&report, now);
    }
}
