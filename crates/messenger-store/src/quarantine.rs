//! Meta webhook events the product could not understand: the [`Quarantine`].
//!
//! A body Meta signed is never refused (a refused body is redelivered, and a webhook that keeps
//! failing gets the app unsubscribed from every page). What cannot be applied (a body that is not
//! JSON, an event whose shape the model cannot read, an event kind the product does not know) is
//! kept here instead, for an operator to read and delete. Nothing is lost and nothing blocks the
//! events after it.

use async_trait::async_trait;
use messenger_model::Timestamp;

use crate::StoreError;

/// One quarantined event (or whole body, when it could not be split into events).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuarantinedEvent {
    /// A stable key: the same event quarantined again (a redelivery) has the same key and is
    /// stored once.
    pub key: String,
    /// Why it could not be applied (a parse error, `unknown event kind`...).
    pub reason: String,
    /// The page the entry named, when it named one.
    pub page_id: Option<String>,
    /// The event's bytes as Meta sent them (JSON, or the whole body when it is not JSON).
    pub raw: Vec<u8>,
    /// When the gateway received the body.
    pub received_at: Timestamp,
    /// When it was quarantined.
    pub quarantined_at: Timestamp,
}

/// Keeps webhook events that could not be applied.
#[async_trait]
pub trait Quarantine: Send + Sync {
    /// Stores `events`; one whose key is already stored is skipped. Returns how many were new.
    async fn quarantine(&self, events: Vec<QuarantinedEvent>) -> Result<u64, StoreError>;

    /// Up to `limit` quarantined events, oldest first.
    async fn list_quarantined(&self, limit: usize) -> Result<Vec<QuarantinedEvent>, StoreError>;

    /// Deletes the event with `key`; returns whether there was one.
    async fn delete_quarantined(&self, key: &str) -> Result<bool, StoreError>;

    /// How many events are quarantined (for `/metrics`).
    async fn quarantined_count(&self) -> Result<u64, StoreError>;
}
