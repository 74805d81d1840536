//! Durable dispatch: `workers` tasks loop over [`Messenger::dispatch_due`], one maintenance
//! task recovers expired leases and purges old records, and one claims passed Messenger
//! delivery deadlines ([`Messenger::fire_delivery_deadlines`]).
//!
//! All state is in the store, so a restarted gateway resumes by itself, and several instances
//! on one PostgreSQL share the work through the store's leases (no message is sent twice; one
//! recipient's messages leave in order). An idle worker sleeps `poll_interval` or until an
//! accepted message wakes it. When Graph reports a usage above `usage_pause_percent` for a page,
//! that page alone is paused (its circuit opens, see `messenger::send::page`) until Graph says
//! access is regained; the other pages keep sending. On shutdown each worker finishes its
//! current round, so no lease is left behind.

use std::sync::Arc;
use std::time::Duration;

use messenger::Messenger;
use messenger_model::Timestamp;
use tokio::sync::Notify;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::config::DispatchConfig;
use crate::metrics::Metrics;

/// How long seen webhook events, delivered outbox events and such are kept.
const RETENTION: Duration = Duration::from_secs(7 * 24 * 3600);

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
        let now = Timestamp::now();
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
        while !self.cancel.is_cancelled() {
            self.pause_busy_pages();
            // A round runs to its end even when shutdown begins: its leases are then settled.
            match self
                .messenger
                .dispatch_due(&id, self.config.batch_size)
                .await
            {
                Ok(report) => {
                    self.metrics.dispatch(&report);
                    if report.leased > 0 {
                        tracing::debug!(worker = %id, ?report, "dispatch round");
                    } else {
                        tokio::select! {
                            () = self.wake.notified() => {}
                            () = tokio::time::sleep(self.config.poll_interval) => {}
                            () = self.cancel.cancelled() => {}
                        }
                    }
                }
                Err(e) => {
                    self.metrics.dispatch_error();
                    tracing::error!(worker = %id, error = %messenger::error_chain(&e), "dispatch round failed");
                    self.sleep(self.config.poll_interval.max(Duration::from_secs(1)))
                        .await;
                }
            }
        }
        tracing::debug!(worker = %id, "dispatch worker stopped");
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

    /// Recovers expired leases and purges what is no longer needed.
    async fn tidy(&self) {
        let store = self.messenger.store();
        let now = Timestamp::now();
        let retention = i64::try_from(RETENTION.as_millis()).unwrap_or(i64::MAX);
        let before = now.add_millis(-retention);
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
        if let Err(e) = store.purge_seen(before).await {
            tracing::warn!(error = %messenger::error_chain(&e), "purging seen webhook events failed");
        }
        if let Err(e) = store.purge_expired_optin_tokens(now).await {
            tracing::warn!(error = %messenger::error_chain(&e), "purging expired opt-in tokens failed");
        }
        if let Err(e) = store.purge_delivered(before).await {
            tracing::warn!(error = %messenger::error_chain(&e), "purging delivered events failed");
        }
    }
}
