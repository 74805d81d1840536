//! The record of each page's connection to Meta shared by every instance on one store: when
//! Meta's signed webhook last delivered each field of a page ([`PageConnectionRecord`]), so the
//! connection doctor of any instance, and the `doctor` command (a process of its own), can say
//! whether Meta calls the webhook at all.
//!
//! Instances write it rarely (a page and field at most once a minute each, however many
//! webhooks arrive), so a row's time may lag the last delivery by that much.

use async_trait::async_trait;
use messenger_model::Timestamp;

use crate::StoreError;

/// The longest a page id or a field name may be (Meta's page ids are under 20 digits, its
/// field names under 40 characters).
pub const MAX_SIGHTING_KEY_LEN: usize = 128;

/// A signed delivery of Meta's webhook for `field` (`messages`, `message_echoes`, `standby`,
/// ...) of page `page_id`, seen `at`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookSighting {
    /// The page the delivery's entry named.
    pub page_id: String,
    /// The webhook field the event belongs to.
    pub field: String,
    /// When the delivery arrived.
    pub at: Timestamp,
}

impl WebhookSighting {
    /// A sighting of `field` of `page_id` at `at`.
    pub fn new(page_id: impl Into<String>, field: impl Into<String>, at: Timestamp) -> Self {
        Self {
            page_id: page_id.into(),
            field: field.into(),
            at,
        }
    }

    /// Checks the sighting: a page id and a field, neither empty nor longer than
    /// [`MAX_SIGHTING_KEY_LEN`] ([`StoreError::Invalid`] otherwise).
    pub fn validate(&self) -> Result<(), StoreError> {
        for (what, value) in [("page id", &self.page_id), ("field", &self.field)] {
            if value.is_empty() || value.len() > MAX_SIGHTING_KEY_LEN {
                return Err(StoreError::invalid(format!(
                    "a webhook sighting's {what} must have 1 to {MAX_SIGHTING_KEY_LEN} bytes"
                )));
            }
        }
        Ok(())
    }
}

/// Each page's connection to Meta as every instance saw it.
#[async_trait]
pub trait PageConnectionRecord: Send + Sync {
    /// Records `sightings`: each page and field keeps the latest time any instance recorded (an
    /// earlier time never replaces a later one). An invalid sighting
    /// ([`WebhookSighting::validate`]) fails the call before anything is recorded.
    async fn record_webhook_sightings(
        &self,
        sightings: &[WebhookSighting],
    ) -> Result<(), StoreError>;

    /// Every field of `page_id` ever recorded, with its latest time, ordered by field.
    async fn webhook_sightings(&self, page_id: &str) -> Result<Vec<WebhookSighting>, StoreError>;
}

/// Checks every sighting of a call ([`WebhookSighting::validate`]).
pub fn check_sightings(sightings: &[WebhookSighting]) -> Result<(), StoreError> {
    sightings.iter().try_for_each(WebhookSighting::validate)
}
