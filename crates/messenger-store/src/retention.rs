//! How long what grows with traffic is kept: the [`Retention`] trait.
//!
//! A message's content (its request: body, parts, custom body, recipient, metadata; the
//! recipient key and the Messenger user it went to; the error's text) is kept for a while after
//! the message left the queue, then redacted: the row stays, with its id, statuses, rule trace,
//! Graph message ids, channel and times, so the business's records keep their ids and statuses
//! ([`MessageRecord::redact`]). The row itself goes much later. Dead events, quarantined Meta
//! bodies and idempotency keys have limits of their own. Every purge works in bounded batches,
//! one short transaction each, so it never holds the write lock long enough to slow sending;
//! on PostgreSQL a batch skips the rows another instance is purging (`FOR UPDATE SKIP LOCKED`).

use async_trait::async_trait;
use messenger_model::Timestamp;

use crate::{MessageRecord, StoreError};

/// Which spaces a retention pass covers: one space (with a retention of its own), or every
/// space but those listed (the default retention, for every space without one of its own).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SpaceScope {
    /// The one space.
    Only(String),
    /// Every space except these (an empty list: every space).
    Except(Vec<String>),
}

impl SpaceScope {
    /// Whether `space` is in the scope.
    pub fn contains(&self, space: &str) -> bool {
        match self {
            Self::Only(s) => s == space,
            Self::Except(list) => !list.iter().any(|s| s == space),
        }
    }
}

/// The store's tables that grow with traffic, by the names the SQL stores give them: a closed
/// set, used as a metric label.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum StoreTable {
    /// `messages` (rows; their content is redacted earlier), with `graph_message_ids` (one row
    /// per Graph send, deleted with its message).
    Messages,
    /// `outbox`: events for the business's webhook (delivered and dead ones purged).
    Outbox,
    /// `seen_events`: Meta's webhook dedupe keys.
    SeenEvents,
    /// `optin_tokens`.
    OptinTokens,
    /// `webhook_quarantine`: Meta bodies that could not be applied.
    WebhookQuarantine,
    /// `held_receipt_mids` and `held_watermarks`: receipts held for sends recorded after them.
    HeldReceipts,
    /// `inbound_window`: the last inbound message per Messenger user (24-hour window).
    InboundWindow,
}

impl StoreTable {
    /// Every table, in a fixed order.
    pub const ALL: [Self; 7] = [
        Self::Messages,
        Self::Outbox,
        Self::SeenEvents,
        Self::OptinTokens,
        Self::WebhookQuarantine,
        Self::HeldReceipts,
        Self::InboundWindow,
    ];

    /// The table's name (the metric label).
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Messages => "messages",
            Self::Outbox => "outbox",
            Self::SeenEvents => "seen_events",
            Self::OptinTokens => "optin_tokens",
            Self::WebhookQuarantine => "webhook_quarantine",
            Self::HeldReceipts => "held_receipts",
            Self::InboundWindow => "inbound_window",
        }
    }
}

/// The largest batch a retention call takes: a bigger `limit` is refused.
pub const MAX_RETENTION_BATCH: usize = 10_000;

/// Checks a retention batch size: 1 to [`MAX_RETENTION_BATCH`].
pub fn check_batch(limit: usize) -> Result<(), StoreError> {
    if limit == 0 || limit > MAX_RETENTION_BATCH {
        return Err(StoreError::invalid(format!(
            "a retention batch is 1 to {MAX_RETENTION_BATCH} rows, not {limit}"
        )));
    }
    Ok(())
}

/// Redacts and purges what is past its retention. Every method does at most `limit` rows (1 to
/// [`MAX_RETENTION_BATCH`]) in one transaction and returns how many it did: the caller calls
/// again while a call does a full batch. Times are the caller's, as everywhere.
#[async_trait]
pub trait Retention: Send + Sync {
    /// Redacts ([`MessageRecord::redact`], at `now`) up to `limit` messages of `scope` that are
    /// not redacted yet, have left the queue (not `processing` or `retrying`), have no delivery
    /// deadline pending, and whose last status change ([`MessageRecord::settled_at`]) is before
    /// `settled_before`; the oldest first.
    async fn redact_messages(
        &self,
        scope: &SpaceScope,
        settled_before: Timestamp,
        now: Timestamp,
        limit: usize,
    ) -> Result<u64, StoreError>;

    /// Deletes up to `limit` messages of `scope` that have left the queue and whose last status
    /// change is before `settled_before`, with their Graph message ids, the oldest first.
    async fn purge_messages(
        &self,
        scope: &SpaceScope,
        settled_before: Timestamp,
        limit: usize,
    ) -> Result<u64, StoreError>;

    /// Forgets the idempotency key (and request hash) of up to `limit` messages of `scope`
    /// accepted before `created_before`: a retry with that key is then a new message.
    async fn forget_idempotency_keys(
        &self,
        scope: &SpaceScope,
        created_before: Timestamp,
        limit: usize,
    ) -> Result<u64, StoreError>;

    /// Deletes up to `limit` dead outbox events of `scope` enqueued before `created_before`.
    async fn purge_dead_events(
        &self,
        scope: &SpaceScope,
        created_before: Timestamp,
        limit: usize,
    ) -> Result<u64, StoreError>;

    /// Deletes up to `limit` quarantined Meta events quarantined before `quarantined_before`.
    async fn purge_quarantined(
        &self,
        quarantined_before: Timestamp,
        limit: usize,
    ) -> Result<u64, StoreError>;

    /// Deletes up to `limit` last-inbound times (the 24-hour window) older than `before`.
    async fn purge_inbound_window(
        &self,
        before: Timestamp,
        limit: usize,
    ) -> Result<u64, StoreError>;

    /// The time of the oldest row of each table that has rows, in [`StoreTable::ALL`] order:
    /// for the append-only `messages` and `outbox`, the first row's acceptance or enqueueing
    /// time (an index's first entry, cheap at any size); for the others the earliest key's
    /// first sight, token's creation, quarantine, hold or inbound message.
    async fn oldest_rows(&self) -> Result<Vec<(StoreTable, Timestamp)>, StoreError>;
}

/// Helper for a record: whether [`Retention::redact_messages`] takes it.
pub fn redactable(m: &MessageRecord, scope: &SpaceScope, settled_before: Timestamp) -> bool {
    m.redacted_at.is_none()
        && m.delivery_deadline.is_none()
        && scope.contains(&m.space)
        && m.settled_at().is_some_and(|t| t < settled_before)
}

/// Helper for a record: whether [`Retention::purge_messages`] takes it.
pub fn purgeable(m: &MessageRecord, scope: &SpaceScope, settled_before: Timestamp) -> bool {
    scope.contains(&m.space) && m.settled_at().is_some_and(|t| t < settled_before)
}
