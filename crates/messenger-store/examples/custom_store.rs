//! A custom store: every call counted around [`MemoryStore`], and checked with the conformance
//! kit (`messenger_store::conformance`) exactly as the SQL backends check themselves.
//!
//! A wrapper like this is where a deployment adds metrics, tracing or caching in front of any
//! backend; a new backend implements the same traits on its own storage and runs the same kit.
//! Every case of the kit runs on a fresh `CountingStore`; a case that fails panics, so the
//! example exits non-zero. Run it with
//! `cargo run -p messenger-store --features conformance --example custom_store`.

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use messenger_model::{
    EventEnvelope, FacebookProfile, MessageStatus, Profile, RuleTraceEntry, Timestamp,
};
use messenger_store::conformance::{self, TestStore};
use messenger_store::{
    DeliveryDeadlines, DispatchQueue, Erasure, ErasureRecord, EventFailure, EventScope,
    HeldReceipt, HeldReceipts, InsertOutcome, InstagramTokens, Linked, MemoryStore, MessageQuery,
    MessageRecord, MessageStore, MessengerRecipient, NewMessage, OptinToken, OptinTokens, Outbox,
    OutboxEvent, Pace, Page, PageConnectionRecord, PageReauth, PendingEvents, ProfileQuery,
    ProfileStore, Quarantine, QuarantinedEvent, QueuedWebhook, Receipt, Redemption, Reservation,
    Retention, Retry, SendPacing, Settlement, SpaceScope, StatusEvents, StatusOutcome,
    StatusUpdate, Store, StoreError, StoreTable, StoredToken, Subject, WebhookInbox, WebhookQueue,
    WebhookSighting,
};

/// Calls per store method, shared by every store the example makes.
type Counts = Arc<Mutex<BTreeMap<&'static str, u64>>>;

/// A [`Store`] that counts each call, then hands it to the memory store.
struct CountingStore {
    inner: MemoryStore,
    counts: Counts,
}

impl CountingStore {
    fn count(&self, method: &'static str) {
        let mut counts = self.counts.lock().unwrap_or_else(PoisonError::into_inner);
        *counts.entry(method).or_default() += 1;
    }
}

#[async_trait]
impl ProfileStore for CountingStore {
    async fn get_profile(&self, space: &str, id: &str) -> Result<Option<Profile>, StoreError> {
        self.count("get_profile");
        self.inner.get_profile(space, id).await
    }

    async fn merge_profile(&self, space: &str, update: Profile) -> Result<Profile, StoreError> {
        self.count("merge_profile");
        self.inner.merge_profile(space, update).await
    }

    async fn replace_profile(&self, space: &str, profile: Profile) -> Result<Profile, StoreError> {
        self.count("replace_profile");
        self.inner.replace_profile(space, profile).await
    }

    async fn delete_profile(&self, space: &str, id: &str) -> Result<bool, StoreError> {
        self.count("delete_profile");
        self.inner.delete_profile(space, id).await
    }

    async fn find_by_messenger_id(
        &self,
        space: &str,
        page_id: &str,
        psid: &str,
    ) -> Result<Option<Profile>, StoreError> {
        self.count("find_by_messenger_id");
        self.inner.find_by_messenger_id(space, page_id, psid).await
    }

    async fn find_profiles(
        &self,
        space: &str,
        query: &ProfileQuery,
    ) -> Result<Vec<Profile>, StoreError> {
        self.count("find_profiles");
        self.inner.find_profiles(space, query).await
    }

    async fn find_by_phone_number(
        &self,
        space: &str,
        phone: &str,
    ) -> Result<Vec<Profile>, StoreError> {
        self.count("find_by_phone_number");
        self.inner.find_by_phone_number(space, phone).await
    }

    async fn link_messenger_id(
        &self,
        space: &str,
        profile_id: &str,
        page_id: &str,
        psid: &str,
    ) -> Result<Linked, StoreError> {
        self.count("link_messenger_id");
        self.inner
            .link_messenger_id(space, profile_id, page_id, psid)
            .await
    }

    async fn set_facebook_profile(
        &self,
        space: &str,
        profile_id: &str,
        facebook: FacebookProfile,
    ) -> Result<Option<Profile>, StoreError> {
        self.count("set_facebook_profile");
        self.inner
            .set_facebook_profile(space, profile_id, facebook)
            .await
    }

    async fn record_inbound(
        &self,
        space: &str,
        page_id: &str,
        psid: &str,
        at: Timestamp,
    ) -> Result<(), StoreError> {
        self.count("record_inbound");
        self.inner.record_inbound(space, page_id, psid, at).await
    }

    async fn last_inbound(
        &self,
        space: &str,
        page_id: &str,
        psid: &str,
    ) -> Result<Option<Timestamp>, StoreError> {
        self.count("last_inbound");
        self.inner.last_inbound(space, page_id, psid).await
    }
}

#[async_trait]
impl MessageStore for CountingStore {
    async fn insert_message(&self, message: NewMessage) -> Result<InsertOutcome, StoreError> {
        self.count("insert_message");
        self.inner.insert_message(message).await
    }

    async fn insert_messages(
        &self,
        messages: Vec<NewMessage>,
    ) -> Result<Vec<InsertOutcome>, StoreError> {
        self.count("insert_messages");
        self.inner.insert_messages(messages).await
    }

    async fn list_messages(
        &self,
        space: &str,
        query: &MessageQuery,
    ) -> Result<Vec<MessageRecord>, StoreError> {
        self.count("list_messages");
        self.inner.list_messages(space, query).await
    }

    async fn get_message(
        &self,
        space: &str,
        id: &str,
    ) -> Result<Option<MessageRecord>, StoreError> {
        self.count("get_message");
        self.inner.get_message(space, id).await
    }

    async fn find_by_idempotency_key(
        &self,
        space: &str,
        key: &str,
    ) -> Result<Option<MessageRecord>, StoreError> {
        self.count("find_by_idempotency_key");
        self.inner.find_by_idempotency_key(space, key).await
    }

    async fn find_by_graph_message_id(
        &self,
        space: &str,
        mid: &str,
    ) -> Result<Option<MessageRecord>, StoreError> {
        self.count("find_by_graph_message_id");
        self.inner.find_by_graph_message_id(space, mid).await
    }

    async fn update_status(
        &self,
        space: &str,
        id: &str,
        update: StatusUpdate,
    ) -> Result<StatusOutcome, StoreError> {
        self.count("update_status");
        self.inner.update_status(space, id, update).await
    }

    async fn append_rule_trace(
        &self,
        space: &str,
        id: &str,
        entries: Vec<RuleTraceEntry>,
    ) -> Result<(), StoreError> {
        self.count("append_rule_trace");
        self.inner.append_rule_trace(space, id, entries).await
    }

    async fn add_graph_message_id(
        &self,
        space: &str,
        id: &str,
        mid: &str,
    ) -> Result<(), StoreError> {
        self.count("add_graph_message_id");
        self.inner.add_graph_message_id(space, id, mid).await
    }

    async fn settle_messages(
        &self,
        settlements: Vec<Settlement>,
    ) -> Result<Vec<StatusOutcome>, StoreError> {
        self.count("settle_messages");
        self.inner.settle_messages(settlements).await
    }

    async fn apply_watermark(
        &self,
        space: &str,
        recipient: &MessengerRecipient,
        status: MessageStatus,
        watermark: Timestamp,
        at: Timestamp,
    ) -> Result<Vec<MessageRecord>, StoreError> {
        self.count("apply_watermark");
        self.inner
            .apply_watermark(space, recipient, status, watermark, at)
            .await
    }
}

#[async_trait]
impl DeliveryDeadlines for CountingStore {
    async fn claim_delivery_deadlines(
        &self,
        now: Timestamp,
        limit: usize,
    ) -> Result<Vec<MessageRecord>, StoreError> {
        self.count("claim_delivery_deadlines");
        self.inner.claim_delivery_deadlines(now, limit).await
    }
}

#[async_trait]
impl DispatchQueue for CountingStore {
    async fn lease_due(
        &self,
        worker: &str,
        now: Timestamp,
        limit: usize,
        lease_for: Duration,
    ) -> Result<Vec<MessageRecord>, StoreError> {
        self.count("lease_due");
        self.inner.lease_due(worker, now, limit, lease_for).await
    }

    async fn extend_lease(
        &self,
        space: &str,
        id: &str,
        worker: &str,
        now: Timestamp,
        until: Timestamp,
    ) -> Result<bool, StoreError> {
        self.count("extend_lease");
        self.inner.extend_lease(space, id, worker, now, until).await
    }

    async fn release(
        &self,
        space: &str,
        id: &str,
        worker: &str,
        retry: Retry,
    ) -> Result<bool, StoreError> {
        self.count("release");
        self.inner.release(space, id, worker, retry).await
    }

    async fn defer(
        &self,
        space: &str,
        id: &str,
        worker: &str,
        until: Timestamp,
    ) -> Result<bool, StoreError> {
        self.count("defer");
        self.inner.defer(space, id, worker, until).await
    }

    async fn recover_expired_leases(&self, now: Timestamp) -> Result<u64, StoreError> {
        self.count("recover_expired_leases");
        self.inner.recover_expired_leases(now).await
    }

    async fn recover_leases_of(&self, holder_prefix: &str) -> Result<u64, StoreError> {
        self.count("recover_leases_of");
        self.inner.recover_leases_of(holder_prefix).await
    }

    async fn recover_all_leases(&self) -> Result<u64, StoreError> {
        self.count("recover_all_leases");
        self.inner.recover_all_leases().await
    }

    async fn unsent_count(&self) -> Result<u64, StoreError> {
        self.count("unsent_count");
        self.inner.unsent_count().await
    }

    async fn unsent_by_space(&self) -> Result<Vec<(String, u64)>, StoreError> {
        self.count("unsent_by_space");
        self.inner.unsent_by_space().await
    }
}

#[async_trait]
impl Outbox for CountingStore {
    async fn enqueue_event(
        &self,
        target: &str,
        envelope: EventEnvelope,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        self.count("enqueue_event");
        self.inner.enqueue_event(target, envelope, now).await
    }

    async fn lease_due_events(
        &self,
        worker: &str,
        now: Timestamp,
        limit: usize,
        lease_for: Duration,
    ) -> Result<Vec<OutboxEvent>, StoreError> {
        self.count("lease_due_events");
        self.inner
            .lease_due_events(worker, now, limit, lease_for)
            .await
    }

    async fn lease_due_events_in(
        &self,
        scope: &EventScope,
        worker: &str,
        now: Timestamp,
        limit: usize,
        lease_for: Duration,
    ) -> Result<Vec<OutboxEvent>, StoreError> {
        self.count("lease_due_events_in");
        self.inner
            .lease_due_events_in(scope, worker, now, limit, lease_for)
            .await
    }

    async fn pending_by_target(&self) -> Result<Vec<PendingEvents>, StoreError> {
        self.count("pending_by_target");
        self.inner.pending_by_target().await
    }

    async fn mark_delivered(&self, ids: &[i64], now: Timestamp) -> Result<u64, StoreError> {
        self.count("mark_delivered");
        self.inner.mark_delivered(ids, now).await
    }

    async fn mark_failed(
        &self,
        id: i64,
        worker: &str,
        error: &str,
        failure: EventFailure,
    ) -> Result<bool, StoreError> {
        self.count("mark_failed");
        self.inner.mark_failed(id, worker, error, failure).await
    }

    async fn list_dead(&self, space: &str, limit: usize) -> Result<Vec<OutboxEvent>, StoreError> {
        self.count("list_dead");
        self.inner.list_dead(space, limit).await
    }

    async fn events_by_id(
        &self,
        space: &str,
        event_ids: &[String],
    ) -> Result<Vec<OutboxEvent>, StoreError> {
        self.count("events_by_id");
        self.inner.events_by_id(space, event_ids).await
    }

    async fn redrive(
        &self,
        space: &str,
        event_id: &str,
        now: Timestamp,
    ) -> Result<u64, StoreError> {
        self.count("redrive");
        self.inner.redrive(space, event_id, now).await
    }

    async fn purge_delivered(&self, before: Timestamp) -> Result<u64, StoreError> {
        self.count("purge_delivered");
        self.inner.purge_delivered(before).await
    }

    async fn event_counts(&self) -> Result<(u64, u64), StoreError> {
        self.count("event_counts");
        self.inner.event_counts().await
    }
}

#[async_trait]
impl WebhookInbox for CountingStore {
    async fn mark_seen(&self, key: &str, now: Timestamp) -> Result<bool, StoreError> {
        self.count("mark_seen");
        self.inner.mark_seen(key, now).await
    }

    async fn is_seen(&self, key: &str) -> Result<bool, StoreError> {
        self.count("is_seen");
        self.inner.is_seen(key).await
    }

    async fn seen_among(&self, keys: &[String]) -> Result<HashSet<String>, StoreError> {
        self.count("seen_among");
        self.inner.seen_among(keys).await
    }

    async fn purge_seen(&self, before: Timestamp) -> Result<u64, StoreError> {
        self.count("purge_seen");
        self.inner.purge_seen(before).await
    }
}

#[async_trait]
impl OptinTokens for CountingStore {
    async fn put_optin_token(&self, token: OptinToken) -> Result<(), StoreError> {
        self.count("put_optin_token");
        self.inner.put_optin_token(token).await
    }

    async fn get_optin_token(
        &self,
        space: &str,
        token: &str,
        now: Timestamp,
    ) -> Result<Option<OptinToken>, StoreError> {
        self.count("get_optin_token");
        self.inner.get_optin_token(space, token, now).await
    }

    async fn redeem_optin_token(
        &self,
        space: &str,
        token: &str,
        page_id: &str,
        psid: &str,
        now: Timestamp,
    ) -> Result<Redemption, StoreError> {
        self.count("redeem_optin_token");
        self.inner
            .redeem_optin_token(space, token, page_id, psid, now)
            .await
    }

    async fn purge_expired_optin_tokens(&self, now: Timestamp) -> Result<u64, StoreError> {
        self.count("purge_expired_optin_tokens");
        self.inner.purge_expired_optin_tokens(now).await
    }
}

#[async_trait]
impl Quarantine for CountingStore {
    async fn quarantine(&self, events: Vec<QuarantinedEvent>) -> Result<u64, StoreError> {
        self.count("quarantine");
        self.inner.quarantine(events).await
    }

    async fn list_quarantined(&self, limit: usize) -> Result<Vec<QuarantinedEvent>, StoreError> {
        self.count("list_quarantined");
        self.inner.list_quarantined(limit).await
    }

    async fn delete_quarantined(&self, key: &str) -> Result<bool, StoreError> {
        self.count("delete_quarantined");
        self.inner.delete_quarantined(key).await
    }

    async fn quarantined_count(&self) -> Result<u64, StoreError> {
        self.count("quarantined_count");
        self.inner.quarantined_count().await
    }
}

#[async_trait]
impl WebhookQueue for CountingStore {
    async fn enqueue_webhooks(
        &self,
        bodies: Vec<Vec<u8>>,
        received_at: Timestamp,
    ) -> Result<Vec<i64>, StoreError> {
        self.count("enqueue_webhooks");
        self.inner.enqueue_webhooks(bodies, received_at).await
    }

    async fn lease_webhooks(
        &self,
        worker: &str,
        now: Timestamp,
        limit: usize,
        lease_for: Duration,
    ) -> Result<Vec<QueuedWebhook>, StoreError> {
        self.count("lease_webhooks");
        self.inner
            .lease_webhooks(worker, now, limit, lease_for)
            .await
    }

    async fn complete_webhooks(&self, ids: &[i64]) -> Result<u64, StoreError> {
        self.count("complete_webhooks");
        self.inner.complete_webhooks(ids).await
    }

    async fn release_webhook(
        &self,
        id: i64,
        worker: &str,
        retry_at: Timestamp,
    ) -> Result<bool, StoreError> {
        self.count("release_webhook");
        self.inner.release_webhook(id, worker, retry_at).await
    }

    async fn webhook_backlog(&self) -> Result<u64, StoreError> {
        self.count("webhook_backlog");
        self.inner.webhook_backlog().await
    }

    async fn webhook_queued_mentioning(
        &self,
        needle: &[u8],
        received_by: Timestamp,
    ) -> Result<bool, StoreError> {
        self.count("webhook_queued_mentioning");
        self.inner
            .webhook_queued_mentioning(needle, received_by)
            .await
    }

    async fn recover_webhook_leases_of(&self, holder_prefix: &str) -> Result<u64, StoreError> {
        self.count("recover_webhook_leases_of");
        self.inner.recover_webhook_leases_of(holder_prefix).await
    }

    async fn recover_all_webhook_leases(&self) -> Result<u64, StoreError> {
        self.count("recover_all_webhook_leases");
        self.inner.recover_all_webhook_leases().await
    }
}

#[async_trait]
impl SendPacing for CountingStore {
    async fn reserve_sends(
        &self,
        bucket: &str,
        pace: Pace,
        sends: u32,
        now: Timestamp,
        horizon: Duration,
    ) -> Result<Reservation, StoreError> {
        self.count("reserve_sends");
        self.inner
            .reserve_sends(bucket, pace, sends, now, horizon)
            .await
    }
}

#[async_trait]
impl PageConnectionRecord for CountingStore {
    async fn record_webhook_sightings(
        &self,
        sightings: &[WebhookSighting],
    ) -> Result<(), StoreError> {
        self.count("record_webhook_sightings");
        self.inner.record_webhook_sightings(sightings).await
    }

    async fn webhook_sightings(&self, page_id: &str) -> Result<Vec<WebhookSighting>, StoreError> {
        self.count("webhook_sightings");
        self.inner.webhook_sightings(page_id).await
    }

    async fn record_page_reauth(&self, reauth: &PageReauth) -> Result<(), StoreError> {
        self.count("record_page_reauth");
        self.inner.record_page_reauth(reauth).await
    }

    async fn clear_page_reauth(&self, page_id: &str) -> Result<bool, StoreError> {
        self.count("clear_page_reauth");
        self.inner.clear_page_reauth(page_id).await
    }

    async fn page_reauth(&self, page_id: &str) -> Result<Option<PageReauth>, StoreError> {
        self.count("page_reauth");
        self.inner.page_reauth(page_id).await
    }
}

#[async_trait]
impl InstagramTokens for CountingStore {
    async fn save_instagram_token(
        &self,
        account_id: &str,
        token: &str,
        issued_at: Timestamp,
        expires_at: Timestamp,
    ) -> Result<bool, StoreError> {
        self.count("save_instagram_token");
        self.inner
            .save_instagram_token(account_id, token, issued_at, expires_at)
            .await
    }

    async fn instagram_token(&self, account_id: &str) -> Result<Option<StoredToken>, StoreError> {
        self.count("instagram_token");
        self.inner.instagram_token(account_id).await
    }

    async fn record_instagram_refresh_failure(
        &self,
        account_id: &str,
        reason: &str,
        at: Timestamp,
    ) -> Result<bool, StoreError> {
        self.count("record_instagram_refresh_failure");
        self.inner
            .record_instagram_refresh_failure(account_id, reason, at)
            .await
    }
}

#[async_trait]
impl Retention for CountingStore {
    async fn redact_messages(
        &self,
        scope: &SpaceScope,
        settled_before: Timestamp,
        now: Timestamp,
        limit: usize,
    ) -> Result<u64, StoreError> {
        self.count("redact_messages");
        self.inner
            .redact_messages(scope, settled_before, now, limit)
            .await
    }

    async fn purge_messages(
        &self,
        scope: &SpaceScope,
        settled_before: Timestamp,
        limit: usize,
    ) -> Result<u64, StoreError> {
        self.count("purge_messages");
        self.inner
            .purge_messages(scope, settled_before, limit)
            .await
    }

    async fn forget_idempotency_keys(
        &self,
        scope: &SpaceScope,
        created_before: Timestamp,
        limit: usize,
    ) -> Result<u64, StoreError> {
        self.count("forget_idempotency_keys");
        self.inner
            .forget_idempotency_keys(scope, created_before, limit)
            .await
    }

    async fn purge_dead_events(
        &self,
        scope: &SpaceScope,
        created_before: Timestamp,
        limit: usize,
    ) -> Result<u64, StoreError> {
        self.count("purge_dead_events");
        self.inner
            .purge_dead_events(scope, created_before, limit)
            .await
    }

    async fn purge_quarantined(&self, before: Timestamp, limit: usize) -> Result<u64, StoreError> {
        self.count("purge_quarantined");
        self.inner.purge_quarantined(before, limit).await
    }

    async fn purge_inbound_window(
        &self,
        before: Timestamp,
        limit: usize,
    ) -> Result<u64, StoreError> {
        self.count("purge_inbound_window");
        self.inner.purge_inbound_window(before, limit).await
    }

    async fn oldest_rows(&self) -> Result<Vec<(StoreTable, Timestamp)>, StoreError> {
        self.count("oldest_rows");
        self.inner.oldest_rows().await
    }
}

#[async_trait]
impl HeldReceipts for CountingStore {
    async fn hold_receipt(
        &self,
        space: &str,
        recipient: &MessengerRecipient,
        held: &[HeldReceipt],
        now: Timestamp,
    ) -> Result<(), StoreError> {
        self.count("hold_receipt");
        self.inner.hold_receipt(space, recipient, held, now).await
    }

    async fn held_receipts_for(
        &self,
        message: &MessageRecord,
    ) -> Result<Vec<HeldReceipt>, StoreError> {
        self.count("held_receipts_for");
        self.inner.held_receipts_for(message).await
    }

    async fn purge_held_receipts(&self, before: Timestamp) -> Result<u64, StoreError> {
        self.count("purge_held_receipts");
        self.inner.purge_held_receipts(before).await
    }
}

#[async_trait]
impl Erasure for CountingStore {
    async fn subject(
        &self,
        space: &str,
        profile_id: &str,
        pages: &[String],
    ) -> Result<Subject, StoreError> {
        self.count("subject");
        self.inner.subject(space, profile_id, pages).await
    }

    async fn messages_naming(
        &self,
        subject: &Subject,
        after: Option<i64>,
        limit: usize,
    ) -> Result<Page<MessageRecord>, StoreError> {
        self.count("messages_naming");
        self.inner.messages_naming(subject, after, limit).await
    }

    async fn events_naming(
        &self,
        subject: &Subject,
        after: Option<i64>,
        limit: usize,
    ) -> Result<Page<OutboxEvent>, StoreError> {
        self.count("events_naming");
        self.inner.events_naming(subject, after, limit).await
    }

    async fn erase_messages(
        &self,
        space: &str,
        ids: &[String],
        now: Timestamp,
    ) -> Result<u64, StoreError> {
        self.count("erase_messages");
        self.inner.erase_messages(space, ids, now).await
    }

    async fn delete_events(&self, space: &str, ids: &[i64]) -> Result<(u64, u64), StoreError> {
        self.count("delete_events");
        self.inner.delete_events(space, ids).await
    }

    async fn erase_quarantined(&self, subject: &Subject, limit: usize) -> Result<u64, StoreError> {
        self.count("erase_quarantined");
        self.inner.erase_quarantined(subject, limit).await
    }

    async fn forget_subject(
        &self,
        subject: &Subject,
        record: ErasureRecord,
    ) -> Result<ErasureRecord, StoreError> {
        self.count("forget_subject");
        self.inner.forget_subject(subject, record).await
    }

    async fn erasures(&self, space: &str, limit: usize) -> Result<Vec<ErasureRecord>, StoreError> {
        self.count("erasures");
        self.inner.erasures(space, limit).await
    }
}

#[async_trait]
impl Store for CountingStore {
    fn backend(&self) -> &'static str {
        self.count("backend");
        self.inner.backend()
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.count("ping");
        self.inner.ping().await
    }

    async fn close(&self) {
        self.count("close");
        self.inner.close().await
    }

    async fn settle_and_queue(
        &self,
        settlements: Vec<Settlement>,
        events: &StatusEvents<'_>,
        now: Timestamp,
    ) -> Result<Vec<StatusOutcome>, StoreError> {
        self.count("settle_and_queue");
        self.inner.settle_and_queue(settlements, events, now).await
    }

    async fn apply_receipts(
        &self,
        receipts: Vec<Receipt>,
        events: &StatusEvents<'_>,
        seen: &[String],
        now: Timestamp,
    ) -> Result<Vec<MessageRecord>, StoreError> {
        self.count("apply_receipts");
        self.inner.apply_receipts(receipts, events, seen, now).await
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let counts = Counts::default();
    let factory = {
        let counts = counts.clone();
        move || {
            let counts = counts.clone();
            async move {
                let store = CountingStore {
                    inner: MemoryStore::new(),
                    counts,
                };
                Some(TestStore::new(Arc::new(store)))
            }
        }
    };
    // Panics (and so exits non-zero) at the first case the store fails.
    conformance::run_all(&factory).await;

    let counts = counts.lock().unwrap_or_else(PoisonError::into_inner);
    let total: u64 = counts.values().sum();
    println!(
        "CountingStore passed all {} conformance cases: {total} store calls",
        conformance::cases::ALL.len()
    );
    for (method, n) in counts.iter() {
        println!("{n:>6}  {method}");
    }
}
