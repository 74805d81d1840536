//! A customer's data on request: erasure (GDPR article 17) and export (article 15), the
//! [`Erasure`] trait.
//!
//! Both start from a [`Subject`]: the profile and every identifier that names the customer in
//! one space. Export reads what names them page by page ([`Erasure::messages_naming`],
//! [`Erasure::events_naming`]), so a caller can stream a history of any size in bounded memory.
//! Erasure ([`Erasure::erase`]) goes through the same pages and, in short write transactions of
//! at most [`ERASURE_BATCH`] rows, redacts each message (an unsent one fails first, so it is
//! never sent), deletes each event and dead letter, deletes the quarantined Meta bodies that
//! name the customer's Messenger IDs or phone numbers, and last deletes the profile with its
//! Messenger ID links, opt-in tokens, last-inbound times, held receipt watermarks and Meta
//! dedupe keys, recording an [`ErasureRecord`] (no personal data) in the same transaction. The
//! profile goes last so that an erasure cut short is finished by calling it again: the
//! identifiers are still there to find the rest.

mod subject;

use async_trait::async_trait;
use messenger_model::Timestamp;
use serde::{Deserialize, Serialize};

use crate::{MessageRecord, OutboxEvent, StoreError};

pub use subject::Subject;

/// The most rows an erasure changes in one write transaction, and the page an export reads.
pub const ERASURE_BATCH: usize = 500;

/// The error code an unsent message gets when its customer's data is erased: it fails, and is
/// never sent.
pub const ERASED_CODE: &str = "customer.erased";

/// How many of each kind an erasure removed or redacted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ErasureCounts {
    /// Profiles deleted (0 or 1).
    pub profiles: u64,
    /// Messages redacted (an unsent one also failed).
    pub messages: u64,
    /// Events for the business's webhook deleted (pending or delivered).
    pub events: u64,
    /// Dead events deleted.
    pub dead_letters: u64,
    /// Quarantined Meta bodies deleted.
    pub quarantined: u64,
    /// Messenger ID links deleted.
    pub messenger_ids: u64,
    /// Opt-in tokens deleted (issued for the profile, or redeemed by one of its Messenger IDs).
    pub optin_tokens: u64,
}

/// What stays of an erasure: when, in which space, how much, under a random id. No profile
/// id, identifier or hash of one: the profile id may itself be personal (an e-mail address),
/// and a hash of a phone number is as good as the number to whoever tries them all. The
/// business keeps the `id` beside its own record of the request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ErasureRecord {
    /// A random id (UUID v4).
    pub id: String,
    /// The API space.
    pub space: String,
    /// When the erasure finished.
    pub erased_at: Timestamp,
    /// What it removed.
    pub counts: ErasureCounts,
}

/// One page of a scan: the items, and the cursor of the next page (`None`: the scan is done).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Page<T> {
    /// What this page found.
    pub items: Vec<T>,
    /// Pass as `after` for the next page; `None` when nothing follows.
    pub next: Option<i64>,
}

/// A customer's data on request (see the module's documentation).
#[async_trait]
pub trait Erasure: Send + Sync {
    /// The subject for `profile_id` of `space`: the stored profile (if any) and the Messenger
    /// IDs linked to it; `pages` are the space's pages (for quarantined bodies).
    async fn subject(
        &self,
        space: &str,
        profile_id: &str,
        pages: &[String],
    ) -> Result<Subject, StoreError>;

    /// Messages of the subject's space that name it ([`Subject::names_message`]) and are not
    /// redacted, in acceptance order, from after cursor `after` (`None`: the start), scanning
    /// at most `limit` candidates (1 to [`ERASURE_BATCH`]). Reads only.
    async fn messages_naming(
        &self,
        subject: &Subject,
        after: Option<i64>,
        limit: usize,
    ) -> Result<Page<MessageRecord>, StoreError>;

    /// Outbox events (pending, delivered or dead) of the subject's space about it
    /// ([`Subject::names_event`]), oldest first, paged like [`Erasure::messages_naming`].
    async fn events_naming(
        &self,
        subject: &Subject,
        after: Option<i64>,
        limit: usize,
    ) -> Result<Page<OutboxEvent>, StoreError>;

    /// Erases ([`MessageRecord::erase`]) the messages `ids` of `space` in one transaction;
    /// returns how many changed.
    async fn erase_messages(
        &self,
        space: &str,
        ids: &[String],
        now: Timestamp,
    ) -> Result<u64, StoreError>;

    /// Deletes the outbox events `ids` (store ids) of `space` in one transaction; returns how
    /// many were not dead and how many were dead.
    async fn delete_events(&self, space: &str, ids: &[i64]) -> Result<(u64, u64), StoreError>;

    /// Deletes up to `limit` quarantined Meta bodies that may be the subject's space's
    /// ([`Subject::owns_page`]) and name it ([`Subject::names_raw`]), in one transaction;
    /// returns how many.
    async fn erase_quarantined(&self, subject: &Subject, limit: usize) -> Result<u64, StoreError>;

    /// In one transaction: deletes the profile, its Messenger ID links (and any link of the
    /// space naming one of its PSIDs), the opt-in tokens issued for it or redeemed by one of
    /// its PSIDs, the last-inbound times and held receipt watermarks of its PSIDs in the space,
    /// and Meta's dedupe keys naming its PSIDs; then stores `record` with these counts added to
    /// it. Returns the record as stored.
    async fn forget_subject(
        &self,
        subject: &Subject,
        record: ErasureRecord,
    ) -> Result<ErasureRecord, StoreError>;

    /// Up to `limit` erasure records of `space`, newest first.
    async fn erasures(&self, space: &str, limit: usize) -> Result<Vec<ErasureRecord>, StoreError>;

    /// Erases everything `space` holds about `profile_id` (see the module's documentation) and
    /// returns the erasure's record. Calling it again finds nothing and records zeros.
    async fn erase(
        &self,
        space: &str,
        profile_id: &str,
        pages: &[String],
        now: Timestamp,
    ) -> Result<ErasureRecord, StoreError> {
        let subject = self.subject(space, profile_id, pages).await?;
        let mut counts = ErasureCounts::default();
        let mut after = None;
        loop {
            let page = self.messages_naming(&subject, after, ERASURE_BATCH).await?;
            let ids: Vec<String> = page.items.into_iter().map(|m| m.id).collect();
            if !ids.is_empty() {
                counts.messages += self.erase_messages(space, &ids, now).await?;
            }
            match page.next {
                Some(next) => after = Some(next),
                None => break,
            }
        }
        let mut after = None;
        loop {
            let page = self.events_naming(&subject, after, ERASURE_BATCH).await?;
            let ids: Vec<i64> = page.items.iter().map(|e| e.id).collect();
            if !ids.is_empty() {
                let (events, dead) = self.delete_events(space, &ids).await?;
                counts.events += events;
                counts.dead_letters += dead;
            }
            match page.next {
                Some(next) => after = Some(next),
                None => break,
            }
        }
        loop {
            let n = self.erase_quarantined(&subject, ERASURE_BATCH).await?;
            counts.quarantined += n;
            if n < ERASURE_BATCH as u64 {
                break;
            }
        }
        let record = ErasureRecord {
            id: uuid::Uuid::new_v4().to_string(),
            space: space.to_owned(),
            erased_at: now,
            counts,
        };
        self.forget_subject(&subject, record).await
    }
}

/// Checks an erasure or export page size: 1 to [`ERASURE_BATCH`].
pub fn check_page(limit: usize) -> Result<(), StoreError> {
    if limit == 0 || limit > ERASURE_BATCH {
        return Err(StoreError::invalid(format!(
            "an erasure page is 1 to {ERASURE_BATCH} rows, not {limit}"
        )));
    }
    Ok(())
}
