//! Meta's webhook bodies between "signature checked" and "applied": the [`WebhookQueue`].
//!
//! Meta wants a 200 within seconds and redelivers otherwise. The gateway checks the signature,
//! stores the raw body here (durable: a 200 means it will be applied even after a crash),
//! answers 200, and a worker applies the queued bodies in order. Applying is idempotent (events
//! are deduplicated by [`WebhookInbox`](crate::WebhookInbox)), so a body leased by a worker that
//! died is simply applied again by the next one.

use std::time::Duration;

use async_trait::async_trait;
use messenger_model::Timestamp;

use crate::StoreError;

/// A verified webhook body waiting to be applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueuedWebhook {
    /// Queue id, increasing in arrival order.
    pub id: i64,
    /// The raw body, exactly as Meta sent and signed it.
    pub body: Vec<u8>,
    /// When the gateway received it.
    pub received_at: Timestamp,
    /// How many times it was leased (this lease included).
    pub attempts: u32,
}

/// A durable queue of verified webhook bodies.
#[async_trait]
pub trait WebhookQueue: Send + Sync {
    /// Stores bodies in one transaction (all or none), in order; returns their ids.
    async fn enqueue_webhooks(
        &self,
        bodies: Vec<Vec<u8>>,
        received_at: Timestamp,
    ) -> Result<Vec<i64>, StoreError>;

    /// Leases up to `limit` due bodies, oldest first, for `lease_for`.
    async fn lease_webhooks(
        &self,
        worker: &str,
        now: Timestamp,
        limit: usize,
        lease_for: Duration,
    ) -> Result<Vec<QueuedWebhook>, StoreError>;

    /// Removes applied bodies; returns how many were removed.
    async fn complete_webhooks(&self, ids: &[i64]) -> Result<u64, StoreError>;

    /// Hands a body back, to be tried again at `retry_at`, if `worker` holds it.
    async fn release_webhook(
        &self,
        id: i64,
        worker: &str,
        retry_at: Timestamp,
    ) -> Result<bool, StoreError>;

    /// How many bodies wait (leased or not): the ingest backlog.
    async fn webhook_backlog(&self) -> Result<u64, StoreError>;

    /// Whether a body received at or before `received_by` and still queued (leased or not)
    /// contains `needle`, byte for byte. A send interrupted by a crash waits for Meta's echoes,
    /// which name the message: this says whether one has arrived and is still waiting to be
    /// applied (a worker that died holding it keeps it leased for a while). Scans the queue,
    /// which is short unless the appliers are far behind.
    async fn webhook_queued_mentioning(
        &self,
        needle: &[u8],
        received_by: Timestamp,
    ) -> Result<bool, StoreError>;

    /// Clears the leases of bodies whose holder starts with `holder_prefix`, expired or not, and
    /// returns how many (see `DispatchQueue::recover_leases_of`: an instance calls it when it
    /// starts, so bodies an earlier run of it held when it died are applied at once, not after
    /// their lease). An empty prefix is refused ([`StoreError::Invalid`]).
    async fn recover_webhook_leases_of(&self, holder_prefix: &str) -> Result<u64, StoreError>;

    /// Clears the lease of every body, whoever holds it, and returns how many: for a store one
    /// process owns, when it starts (see `DispatchQueue::recover_all_leases`).
    async fn recover_all_webhook_leases(&self) -> Result<u64, StoreError>;
}
