//! # messenger-store
//!
//! Everything the Messenger channel must remember, behind traits: customer profiles and their
//! Messenger IDs ([`ProfileStore`]), accepted messages and their state ([`MessageStore`]), the
//! queue that hands messages to sending workers ([`DispatchQueue`]), the outbox of events for the
//! business's webhook ([`Outbox`]), Meta's webhook redeliveries ([`WebhookInbox`]), verified
//! webhook bodies waiting to be applied ([`WebhookQueue`]), Messenger delivery deadlines
//! ([`DeliveryDeadlines`]), each page's send buckets shared by every instance ([`SendPacing`]),
//! a space's messages listed by cursor ([`MessageStore::list_messages`]), webhook events that
//! could not be
//! applied ([`Quarantine`]), opt-in tokens ([`OptinTokens`]), receipts that arrived before
//! the send they cover was recorded ([`HeldReceipts`]), each page's connection to Meta
//! ([`PageConnectionRecord`]) and the Instagram Login tokens every instance sends with
//! ([`InstagramTokens`]); what is past its retention is redacted or
//! purged ([`Retention`]), and a customer's data is exported or erased on request
//! ([`Erasure`]). [`Store`] combines them, so the
//! pipeline takes one `Arc<dyn Store>`.
//!
//! This crate holds the traits, the rules every store applies (status transitions on
//! [`MessageRecord`], profile merging), an in-memory implementation ([`MemoryStore`], for tests and
//! single-process tools; it does not survive a restart) and, with the `conformance` feature, a
//! conformance test kit that any implementation runs against itself (`conformance` module and
//! the `conformance_tests!` macro). The durable stores (SQLite, PostgreSQL) live in
//! `messenger-store-sql`.
//!
//! It must never depend on a database driver, an HTTP stack or the Graph client: its
//! dependencies are the model, serde, async-trait, thiserror, tokio (sync only) and uuid.
//!
//! Every operation is scoped by API space: nothing of one space is visible from another.
//!
//! ```
//! use std::{sync::Arc, time::Duration};
//! use messenger_model::{Channel, MessageStatus, SendRequest, Timestamp, To};
//! use messenger_store::{MemoryStore, NewMessage, Store, StatusUpdate};
//!
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
//! let now = Timestamp::from_millis(1_000);
//! let req = SendRequest::new(To::fb_messenger_id("1234")).body("hi");
//! let msg = NewMessage::new("space-a", "psid:1234", req, now).idempotency("k1", "hash-1");
//! let id = store.insert_message(msg).await?.id().to_owned();
//!
//! // A sending worker leases it, sends it, and records the outcome.
//! let leased = store.lease_due("worker-1", now, 10, Duration::from_secs(30)).await?;
//! assert_eq!(leased[0].id, id);
//! let sent = StatusUpdate::new(MessageStatus::Sent, now.add_millis(200))
//!     .channel(Channel::FbMessenger)
//!     .sent_to("page-1", "1234");
//! assert!(store.update_status("space-a", &id, sent).await?.applied);
//! // A late receipt can never move the status backwards.
//! let back = StatusUpdate::new(MessageStatus::Processing, now.add_millis(300));
//! assert!(!store.update_status("space-a", &id, back).await?.applied);
//! # Ok::<(), messenger_store::StoreError>(())
//! # }).unwrap();
//! ```

#![cfg_attr(docsrs, feature(doc_cfg))]

mod connection;
mod deadlines;
mod dispatch;
mod erasure;
mod error;
mod held;
mod inbox;
mod ingest;
mod instagram;
mod listing;
mod memory;
mod messages;
mod outbox;
mod pacing;
mod profiles;
mod quarantine;
mod receipts;
mod record;
mod retention;

#[cfg(any(test, feature = "conformance"))]
#[cfg_attr(docsrs, doc(cfg(feature = "conformance")))]
pub mod conformance;

use async_trait::async_trait;
use messenger_model::Timestamp;

pub use connection::{PageConnectionRecord, PageReauth, WebhookSighting, MAX_SIGHTING_KEY_LEN};
pub use deadlines::DeliveryDeadlines;
pub use dispatch::DispatchQueue;
pub use erasure::{
    Erasure, ErasureCounts, ErasureRecord, Page, Subject, ERASED_CODE, ERASURE_BATCH,
};
pub use error::StoreError;
pub use held::{HeldReceipt, HeldReceipts, HOLD_FOR_MILLIS};
pub use inbox::{OptinToken, OptinTokens, Redemption, TokenBinding, WebhookInbox};
pub use ingest::{QueuedWebhook, WebhookQueue};
pub use instagram::{
    InstagramTokens, RefreshFailure, StoredToken, MAX_INSTAGRAM_ACCOUNT_ID_LEN,
    MAX_INSTAGRAM_TOKEN_LEN, MAX_REFRESH_FAILURE_LEN,
};
pub use listing::{MessagePosition, MessageQuery};
pub use memory::MemoryStore;
pub use messages::{new_message_id, InsertOutcome, MessageStore, NewMessage, Settlement};
pub use outbox::{EventFailure, EventScope, EventState, Outbox, OutboxEvent, PendingEvents};
pub use pacing::{Pace, Reservation, SendPacing};
pub use profiles::{Linked, ProfileQuery, ProfileStore};
pub use quarantine::{Quarantine, QuarantinedEvent};
pub use receipts::{QueuedEvent, Receipt, StatusEvents};
pub use record::{
    IdempotencyKey, Lease, MessageRecord, MessengerRecipient, Retry, StatusOutcome, StatusUpdate,
    REDACTED,
};
pub use retention::{Retention, SpaceScope, StoreTable, MAX_RETENTION_BATCH};

/// Helpers for implementors of the store traits: the checks and conversions every backend
/// applies the same way, so that a new backend behaves like [`MemoryStore`] and passes the
/// conformance kit. Code that only uses a store does not need them.
pub mod implementors {
    pub use crate::connection::check_sightings;
    pub use crate::dispatch::{check_holder_prefix, lease_millis, space_cap};
    pub use crate::erasure::check_page;
    pub use crate::held::{apply_held, held_from, held_updates};
    pub use crate::instagram::{
        check_instagram_account_id, check_instagram_token, refresh_failure_reason,
    };
    pub use crate::pacing::{horizon_micros, micros, reservation_bounds, reserve_slots};
    pub use crate::profiles::check_profile_id;
    pub use crate::record::{check_receipt_status, is_unsent, missed_deadline_reason};
    pub use crate::retention::{check_batch, purgeable, redactable};
}

/// All of the store traits in one object: what the pipeline and the gateway take as
/// `Arc<dyn Store>`.
#[async_trait]
pub trait Store:
    ProfileStore
    + MessageStore
    + DispatchQueue
    + Outbox
    + WebhookInbox
    + WebhookQueue
    + OptinTokens
    + Quarantine
    + DeliveryDeadlines
    + SendPacing
    + HeldReceipts
    + Retention
    + Erasure
    + PageConnectionRecord
    + InstagramTokens
{
    /// A short name of the backend (`memory`, `sqlite`, `postgres`), for logs and `/readyz`.
    fn backend(&self) -> &'static str;

    /// Checks that the backend answers (for `/readyz`).
    async fn ping(&self) -> Result<(), StoreError>;

    /// Closes connections gracefully, waiting for running operations. Operations after this
    /// fail with [`StoreError::Unavailable`].
    async fn close(&self);

    /// [`MessageStore::settle_messages`], and for every settlement whose status change applied,
    /// the event `events` gives for the changed message queued in the outbox (due at `now`).
    ///
    /// A settlement that makes a message `sent` on Messenger also applies the receipts held for
    /// it ([`HeldReceipts`]: they arrived before the send was recorded), each change with its
    /// event, after the `sent` event. The returned outcomes show the messages as the settlements
    /// left them.
    ///
    /// The durable stores do it all in one transaction, so a status change is never committed
    /// without its event. This default settles, then queues, one operation at a time.
    async fn settle_and_queue(
        &self,
        settlements: Vec<Settlement>,
        events: &StatusEvents<'_>,
        now: Timestamp,
    ) -> Result<Vec<StatusOutcome>, StoreError> {
        receipts::settle_then_queue(self, settlements, events, now).await
    }

    /// Applies receipts in order (each as [`MessageStore::find_by_graph_message_id`] plus
    /// [`MessageStore::update_status`] for its mids, then [`MessageStore::apply_watermark`]),
    /// queues the event `events` gives for each status change (a message changed twice gets two),
    /// and marks the `seen` keys ([`WebhookInbox::mark_seen`]). Returns the changed messages, as
    /// each change left them, in the order of the changes. An invalid receipt
    /// ([`Receipt::validate`]) fails the call before anything is applied. Every receipt is
    /// also held ([`HeldReceipts`]): its watermark, and the mids no message carries yet, wait
    /// for sends recorded after it.
    ///
    /// The durable stores do it all in one transaction with a handful of statements, however many
    /// receipts: this is how the webhook applier keeps up with Meta's receipts. This default
    /// applies them one operation at a time and marks the keys last.
    async fn apply_receipts(
        &self,
        receipts: Vec<Receipt>,
        events: &StatusEvents<'_>,
        seen: &[String],
        now: Timestamp,
    ) -> Result<Vec<MessageRecord>, StoreError> {
        receipts::apply_one_by_one(self, receipts, events, seen, now).await
    }
}

/// The crate README, whose example runs as a doctest (the README is what crates.io shows).
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
