//! The dispatch queue: leasing accepted messages for sending ([`DispatchQueue`]).
//!
//! A message is *due* when it is unsent (`processing` or `retrying`), its `next_attempt_at` has
//! come, nobody holds an unexpired lease on it, and it is the *head* of its recipient: no message
//! accepted earlier with the same `(space, recipient_key)` is still unsent. So a recipient has at
//! most one message in flight, and its messages leave in acceptance order; a head that is
//! retrying holds back the messages behind it until it is sent, fails or expires.

use std::time::Duration;

use async_trait::async_trait;
use messenger_model::Timestamp;

use crate::{MessageRecord, Retry, StoreError};

/// Converts a lease duration to milliseconds (saturating; at least 1 ms).
pub fn lease_millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis())
        .unwrap_or(i64::MAX)
        .max(1)
}

/// Refuses an empty lease holder prefix ([`DispatchQueue::recover_leases_of`],
/// [`WebhookQueue::recover_webhook_leases_of`](crate::WebhookQueue::recover_webhook_leases_of)):
/// it would take every instance's leases.
pub fn check_holder_prefix(holder_prefix: &str) -> Result<(), StoreError> {
    if holder_prefix.is_empty() {
        return Err(StoreError::invalid("an empty lease holder prefix"));
    }
    Ok(())
}

/// The cap of `space` in `caps` ([`DispatchQueue::lease_due_capped`]): `usize::MAX` when it is
/// not listed.
pub fn space_cap(caps: &[(String, usize)], space: &str) -> usize {
    caps.iter()
        .find(|(s, _)| s == space)
        .map_or(usize::MAX, |(_, cap)| *cap)
}

/// Hands due messages to sending workers, across processes.
#[async_trait]
pub trait DispatchQueue: Send + Sync {
    /// Leases up to `limit` due messages to `worker` until `now + lease_for`, and counts an
    /// attempt on each. Two callers never get the same message while its lease runs, and never
    /// two messages of one recipient at once.
    ///
    /// Spaces take turns: the limit is shared among the spaces that have due messages (each its
    /// oldest first), and only what some leave unused goes to the others, so a backlog in one
    /// space never holds back another space's messages.
    async fn lease_due(
        &self,
        worker: &str,
        now: Timestamp,
        limit: usize,
        lease_for: Duration,
    ) -> Result<Vec<MessageRecord>, StoreError>;

    /// [`DispatchQueue::lease_due`], with at most `cap` messages of each space listed in `caps`
    /// (`0`: none), so that a space is not leased beyond what its page can send soon (leasing
    /// more would only defer them again). Spaces not listed are not capped. A hint: a store that
    /// cannot cap may lease more (the default does), and the caller then gives the excess back
    /// ([`DispatchQueue::defer`]).
    async fn lease_due_capped(
        &self,
        worker: &str,
        now: Timestamp,
        limit: usize,
        lease_for: Duration,
        caps: &[(String, usize)],
    ) -> Result<Vec<MessageRecord>, StoreError> {
        let _ = caps;
        self.lease_due(worker, now, limit, lease_for).await
    }

    /// Extends `worker`'s unexpired lease on the message to `until`. Returns `false` when the
    /// worker does not hold it (any more).
    async fn extend_lease(
        &self,
        space: &str,
        id: &str,
        worker: &str,
        now: Timestamp,
        until: Timestamp,
    ) -> Result<bool, StoreError>;

    /// Gives a leased message back after a transient failure: it becomes `retrying`, due at
    /// `retry.at` ([`MessageRecord::release`]). Returns `false` (and changes nothing) when
    /// `worker` does not hold the lease or the message is no longer unsent. A message is
    /// completed by a status change instead ([`crate::MessageStore::update_status`]).
    async fn release(
        &self,
        space: &str,
        id: &str,
        worker: &str,
        retry: Retry,
    ) -> Result<bool, StoreError>;

    /// Gives a leased message back untouched, due at `until` ([`MessageRecord::defer`]): its
    /// page's pace could not take it soon, so it waits in the queue rather than in a worker. The
    /// attempt the lease counted is uncounted and no status changes. Returns `false` (and changes
    /// nothing) when `worker` does not hold the lease or the message is no longer unsent.
    async fn defer(
        &self,
        space: &str,
        id: &str,
        worker: &str,
        until: Timestamp,
    ) -> Result<bool, StoreError>;

    /// Clears leases that expired before `now` (their holders died or hung), so the messages
    /// are due again; returns how many. [`DispatchQueue::lease_due`] already ignores expired
    /// leases; this makes the state visible and tidy.
    async fn recover_expired_leases(&self, now: Timestamp) -> Result<u64, StoreError>;

    /// Clears the leases of unsent messages whose holder starts with `holder_prefix`, expired
    /// or not, and returns how many. A gateway instance calls it when it starts, with its own
    /// `instance_id/`: a lease held under that name belongs to an earlier run of the same
    /// instance that died, so nobody will ever settle it and there is no point waiting for it
    /// to expire. As with an expired lease, the attempt it counted stays counted, so whoever
    /// leases the message next first waits for Meta's echoes (a send may have gone out).
    /// An empty prefix is refused ([`StoreError::Invalid`]): it would take every instance's
    /// leases.
    async fn recover_leases_of(&self, holder_prefix: &str) -> Result<u64, StoreError>;

    /// Clears the lease of every unsent message, expired or not, whoever holds it, and returns
    /// how many. Only for a store that one process owns while it runs (a gateway holding its
    /// SQLite file's lock): when that process starts, every lease in the store was taken by an
    /// earlier run of it that died. As with [`DispatchQueue::recover_leases_of`], the attempts
    /// stay counted, so each message first waits for Meta's echoes.
    async fn recover_all_leases(&self) -> Result<u64, StoreError>;

    /// How many messages (every space) are accepted and not yet in a final status
    /// (`processing` or `retrying`): the depth of the dispatch queue, for metrics. Costs a count
    /// over the unsent messages, so call it per scrape, not per message.
    async fn unsent_count(&self) -> Result<u64, StoreError>;

    /// [`DispatchQueue::unsent_count`] per space: `(space, unsent)` for every space with at
    /// least one, in space order. What bounds a space's backlog; the same cost as
    /// `unsent_count`, so call it on a timer, not per request.
    async fn unsent_by_space(&self) -> Result<Vec<(String, u64)>, StoreError>;
}
