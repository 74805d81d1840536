//! Dispatching stored messages: lease, try each rule in order ([`attempt`]), record statuses,
//! Graph message ids and the rule trace, queue events ([`record`]).
//!
//! A round leases up to `limit` due messages and runs each one's attempt in a task of its own.
//! That matters on a small connection pool: an attempt's store calls (its profile, the 24-hour
//! window, a release) each hold a pooled connection while they run, and a future that is not
//! polled keeps its connection (and, inside a transaction, its row locks) for as long as it is
//! not polled. Spawned, every attempt makes progress on its own while the round records the
//! sends that have finished, so the round never waits for a connection that one of its own
//! paused attempts holds.

mod attempt;
mod channel;
mod record;

use messenger_model::{MessageStatus, Timestamp};
use messenger_store::{MessageRecord, Settlement};
use tokio::task::JoinSet;

use crate::{Error, Messenger};

use attempt::Outcome;

/// What one dispatch round did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DispatchReport {
    /// Messages leased.
    pub leased: usize,
    /// Sent (on some channel).
    pub sent: usize,
    /// Released to be tried again later.
    pub retrying: usize,
    /// Failed on every rule.
    pub failed: usize,
    /// Given back untouched because their page's send rate could not take them soon; leased
    /// again when it can (docs/decisions/0011).
    pub deferred: usize,
    /// Expired before they could be sent.
    pub expired: usize,
    /// Left leased because recording how they ended failed even after retrying (the store was
    /// unreachable): their leases expire and the next holder checks Meta's echoes before sending
    /// again. Counted also in the round's error.
    pub unrecorded: usize,
}

impl DispatchReport {
    fn count(&mut self, status: MessageStatus) {
        match status {
            MessageStatus::Sent => self.sent += 1,
            MessageStatus::Retrying => self.retrying += 1,
            MessageStatus::Failed => self.failed += 1,
            MessageStatus::Expired => self.expired += 1,
            _ => {}
        }
    }
}

/// How long a round waits, after one of its attempts finished, for others to finish and be
/// recorded in the same group (at most; none when the round has nothing else running).
const SETTLE_GATHER: std::time::Duration = std::time::Duration::from_millis(20);

/// What a spawned attempt hands back to its round.
enum Finished {
    /// A final status to record with the others that finish at about the same time.
    Settle(Box<Settlement>, record::Deadline),
    /// Recorded by the task itself (released to be retried).
    Recorded(MessageStatus),
    /// Given back untouched, its page being booked.
    Deferred,
    /// Recording failed even after retrying; the lease is left to expire.
    Unrecorded(Error),
}

impl Messenger {
    /// Leases up to `limit` due messages for `worker` and sends them concurrently (the store
    /// hands out at most one message per recipient at a time, so per-recipient order holds).
    ///
    /// Messages that end (sent, failed, expired) are recorded in groups as they finish: what
    /// finishes within 20 ms of the first (or has finished when the previous group is recorded)
    /// goes into one
    /// [`settle_and_queue`](messenger_store::Store::settle_and_queue) call, so a sent message is
    /// recorded right after its send and the store sees one transaction per group, not three
    /// per message. A failed recording is retried (alone) until shortly before the lease ends;
    /// only then is the message left leased, and whoever leases it next waits for Meta's echoes
    /// before sending it again (decision 0005).
    ///
    /// A message whose attempt could not read what it needed (the store failed before anything
    /// was sent) is given back at once, to be tried again in a second, rather than left leased.
    ///
    /// Returns the round's report, or the first error when some message could not be recorded.
    pub async fn dispatch_due(&self, worker: &str, limit: usize) -> Result<DispatchReport, Error> {
        let now = self.now();
        // No more of a space than its page (and its Instagram accounts) can send within the
        // pacing horizon (none while they are known to be booked beyond it). A page that needs
        // new credentials is leased only at its sweeps (decision 0022).
        // A space's Instagram accounts add theirs: one outlet's trouble does not hold back the
        // messages the others can send.
        let caps: Vec<(String, usize)> = self
            .spaces()
            .map(|s| {
                let outlets = std::iter::once(s.page_outlet())
                    .chain(s.instagram.iter().map(|a| s.instagram_outlet(a)));
                let cap = outlets
                    .filter(|o| o.health.may_lease(now))
                    .map(|o| o.pacing.lease_cap(now))
                    .fold(0usize, usize::saturating_add);
                (s.id.clone(), cap)
            })
            .collect();
        let leased = self
            .inner
            .store
            .lease_due_capped(worker, now, limit, self.inner.lease_for, &caps)
            .await?;
        let mut report = DispatchReport {
            leased: leased.len(),
            ..DispatchReport::default()
        };
        let mut tasks = JoinSet::new();
        for record in leased {
            let this = self.clone();
            let worker = worker.to_owned();
            // Boxed: the attempt's future is several kilobytes, and a task's future is moved
            // (copied) into the task and its stage several times; a box moves as a pointer.
            tasks.spawn(Box::pin(async move {
                this.attempt_and_release(&worker, record).await
            }));
        }
        let mut first_error = None;
        while let Some(joined) = tasks.join_next().await {
            // What finishes within SETTLE_GATHER of the first joins its group: a round's sends
            // leave at their page's pace, spread over up to a quarter of a second, and each group
            // is a transaction (a commit, a WAL flush) of its own.
            let mut group = vec![joined];
            let until = tokio::time::Instant::now() + SETTLE_GATHER;
            while !tasks.is_empty() {
                match tokio::time::timeout_at(until, tasks.join_next()).await {
                    Ok(Some(more)) => group.push(more),
                    Ok(None) | Err(_) => break,
                }
            }
            let mut settlements = Vec::with_capacity(group.len());
            for finished in group {
                match finished {
                    Ok(Finished::Settle(s, deadline)) => settlements.push((*s, deadline)),
                    Ok(Finished::Recorded(status)) => report.count(status),
                    Ok(Finished::Deferred) => report.deferred += 1,
                    Ok(Finished::Unrecorded(e)) => {
                        report.unrecorded += 1;
                        first_error.get_or_insert(e);
                    }
                    Err(join) => {
                        // A panic in an attempt: its message stays leased until the lease
                        // expires, then goes through the echo check.
                        tracing::error!(worker, error = %join, "a send attempt panicked");
                        report.unrecorded += 1;
                    }
                }
            }
            for (settled, status) in self.settle_group(settlements).await {
                match settled {
                    Ok(()) => report.count(status),
                    Err(e) => {
                        report.unrecorded += 1;
                        first_error.get_or_insert(e);
                    }
                }
            }
        }
        match first_error {
            Some(e) => Err(e),
            None => Ok(report),
        }
    }

    /// The earliest time a page that leasing now leaves out, its pace being booked through the
    /// horizon, may be leased again; `None` when no page is held back. A worker with nothing to
    /// lease sleeps no longer than this, so a booked page's backlog resumes on time.
    pub fn pacing_reopens_at(&self) -> Option<Timestamp> {
        let now = self.now();
        self.spaces()
            .flat_map(|s| {
                let accounts: Vec<_> = s.instagram.iter().map(|a| a.pacing.clone()).collect();
                std::iter::once(s.pacing.clone()).chain(accounts)
            })
            .filter_map(|p| p.reopens_at(now))
            .min()
    }

    /// Sends one leased message, rule by rule, and records how it ended; returns the status it
    /// ends in (`processing` when its page's pace deferred it: it is queued again, untouched).
    pub async fn deliver(
        &self,
        worker: &str,
        record: MessageRecord,
    ) -> Result<MessageStatus, Error> {
        match self.attempt_and_release(worker, record).await {
            Finished::Recorded(status) => Ok(status),
            Finished::Deferred => Ok(MessageStatus::Processing),
            Finished::Unrecorded(e) => Err(e),
            Finished::Settle(settlement, deadline) => {
                let status = settlement.update.status;
                self.settle_group(vec![(*settlement, deadline)])
                    .await
                    .pop()
                    .map_or(Ok(status), |(settled, status)| settled.map(|()| status))
            }
        }
    }

    /// One message's attempt; a release (retry later) is recorded here, in the message's own
    /// task, and a final status is handed back to be settled with the round's others.
    async fn attempt_and_release(&self, worker: &str, record: MessageRecord) -> Finished {
        let deadline = record::Deadline::for_lease(self);
        let space = record.space.clone();
        let id = record.id.clone();
        match self.attempt(record).await {
            Outcome::Settle(settlement) => Finished::Settle(settlement, deadline),
            Outcome::Defer(until) => match self
                .record_defer(worker, &space, &id, until, deadline)
                .await
            {
                Ok(()) => Finished::Deferred,
                Err(e) => Finished::Unrecorded(e),
            },
            Outcome::Release(release) => {
                match self
                    .record_release(worker, &space, &id, release, deadline)
                    .await
                {
                    Ok(()) => Finished::Recorded(MessageStatus::Retrying),
                    Err(e) => Finished::Unrecorded(e),
                }
            }
        }
    }
}
