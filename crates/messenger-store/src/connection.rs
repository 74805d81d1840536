//! The record of each page's connection to Meta shared by every instance on one store
//! ([`PageConnectionRecord`]): when Meta's signed webhook last delivered each field of a page,
//! so the connection doctor of any instance, and the `doctor` command (a process of its own),
//! can say whether Meta calls the webhook at all; and a page whose token an instance found
//! stopped working ([`PageReauth`]), so they can say which instance holds its messages.
//!
//! Instances write it rarely: a page and field at most once a minute each, however many
//! webhooks arrive (so a time may lag the last delivery by that much), and a page's token state
//! when it changes.

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

/// A page whose token an instance found stopped working: its messages wait there for new
/// credentials (`needs_reauth`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageReauth {
    /// The page.
    pub page_id: String,
    /// What is wrong with the token (messenger-graph's `TokenProblem` name: `password_changed`,
    /// `expired`, ...).
    pub problem: String,
    /// What Graph said, or the token check found.
    pub reason: String,
    /// Since when.
    pub since: Timestamp,
    /// The instance that found it.
    pub instance: String,
}

impl PageReauth {
    /// Checks the record: a page id and a problem of 1 to [`MAX_SIGHTING_KEY_LEN`] bytes
    /// ([`StoreError::Invalid`] otherwise).
    pub fn validate(&self) -> Result<(), StoreError> {
        for (what, value) in [("page id", &self.page_id), ("problem", &self.problem)] {
            if value.is_empty() || value.len() > MAX_SIGHTING_KEY_LEN {
                return Err(StoreError::invalid(format!(
                    "a page reauthorisation's {what} must have 1 to {MAX_SIGHTING_KEY_LEN} bytes"
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

    /// Records that `reauth.page_id`'s token stopped working, replacing what was recorded for
    /// the page but keeping the earlier `since` (the page has waited since then).
    async fn record_page_reauth(&self, reauth: &PageReauth) -> Result<(), StoreError>;

    /// Forgets that `page_id`'s token stopped working (it works again, or a new one is in
    /// place); returns whether something was recorded.
    async fn clear_page_reauth(&self, page_id: &str) -> Result<bool, StoreError>;

    /// What is recorded of `page_id`'s token having stopped working, if anything.
    async fn page_reauth(&self, page_id: &str) -> Result<Option<PageReauth>, StoreError>;
}

/// Checks every sighting of a call ([`WebhookSighting::validate`]).
pub fn check_sightings(sightings: &[WebhookSighting]) -> Result<(), StoreError> {
    sightings.iter().try_for_each(WebhookSighting::validate)
}
