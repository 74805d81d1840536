//! [`MemoryStore`]: every trait of the crate, in process memory.

mod connection;
mod erasure;
mod held;
mod ingest;
mod instagram;
mod messages;
mod outbox;
mod pacing;
mod profiles;
mod quarantine;
mod retention;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

use async_trait::async_trait;
use messenger_model::{Profile, Timestamp};

use crate::{MessageRecord, OptinToken, OutboxEvent, Store, StoreError};

/// A store in process memory: fast, complete, and gone when the process ends.
///
/// For tests, examples and single-process tools. It passes the same conformance kit as the
/// durable stores of `messenger-store-sql`. All state sits behind one mutex that is never held
/// across an `.await`.
///
/// ```
/// use messenger_model::Profile;
/// use messenger_store::{MemoryStore, ProfileStore};
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let store = MemoryStore::new();
/// store.merge_profile("space-a", Profile::new("alice").with_phone_number("+447700900123")).await?;
/// let found = store.find_by_phone_number("space-a", "+447700900123").await?;
/// assert_eq!(found[0].id, "alice");
/// assert!(store.get_profile("space-b", "alice").await?.is_none());
/// # Ok::<(), messenger_store::StoreError>(())
/// # }).unwrap();
/// ```
#[derive(Debug, Default)]
pub struct MemoryStore {
    state: Mutex<State>,
    closed: AtomicBool,
}

/// `(space, page id, psid)`.
type PsidKey = (String, String, String);

#[derive(Debug, Default)]
struct State {
    /// `(space, profile id)` -> profile, ordered so a space's profiles are a range.
    profiles: BTreeMap<(String, String), Profile>,
    /// Messenger ID links.
    links: HashMap<PsidKey, String>,
    /// Last inbound message per user.
    inbound: HashMap<PsidKey, Timestamp>,
    /// Messages by acceptance order.
    messages: BTreeMap<u64, MessageRecord>,
    next_seq: u64,
    /// Message id -> sequence.
    by_id: HashMap<String, u64>,
    /// `(space, created_at, id)` of every message: a space's messages newest first are a
    /// range read backwards (listings).
    by_time: BTreeSet<(String, Timestamp, String)>,
    /// `(space, idempotency key)` -> sequence.
    by_idempotency: HashMap<(String, String), u64>,
    /// `(space, Graph mid)` -> sequence.
    by_mid: HashMap<(String, String), u64>,
    /// Sequences of unsent messages.
    unsent: BTreeSet<u64>,
    /// Outbox events by id.
    events: BTreeMap<i64, OutboxEvent>,
    next_event: i64,
    /// `(space, target, event id)` -> outbox id.
    event_keys: HashMap<(String, String, String), i64>,
    /// Seen Meta event keys and when.
    seen: HashMap<String, Timestamp>,
    /// Opt-in tokens by token string.
    tokens: HashMap<String, OptinToken>,
    /// Verified Meta webhook bodies waiting to be applied.
    webhooks: ingest::Queue,
    /// Webhook events that could not be applied, oldest first.
    quarantine: Vec<crate::QuarantinedEvent>,
    /// Send buckets: bucket -> theoretical arrival time in microseconds.
    send_buckets: HashMap<String, i64>,
    /// Receipts held for sends recorded after them.
    held: held::Held,
    /// Erasure records, oldest first.
    erasures: Vec<crate::ErasureRecord>,
    /// When Meta's webhook last delivered each `(page, field)`.
    webhook_sightings: BTreeMap<(String, String), Timestamp>,
    /// Pages whose token an instance found stopped working.
    page_reauth: HashMap<String, crate::PageReauth>,
    /// Instagram Login tokens by account id.
    instagram_tokens: HashMap<String, crate::StoredToken>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// The state, or [`StoreError::Unavailable`] once closed.
    fn state(&self) -> Result<MutexGuard<'_, State>, StoreError> {
        if self.closed.load(Ordering::Acquire) {
            return Err(StoreError::Unavailable {
                message: "the memory store is closed".into(),
                source: None,
            });
        }
        // A panic while the lock was held cannot leave a half-applied change behind: every
        // operation validates before it mutates. So a poisoned lock is still usable.
        Ok(self.state.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

#[async_trait]
impl Store for MemoryStore {
    fn backend(&self) -> &'static str {
        "memory"
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.state().map(|_| ())
    }

    async fn close(&self) {
        self.closed.store(true, Ordering::Release);
    }
}

#[cfg(test)]
mod conformance_tests {
    use std::sync::Arc;

    use crate::conformance::TestStore;
    use crate::MemoryStore;

    async fn fresh() -> Option<TestStore> {
        Some(TestStore::new(Arc::new(MemoryStore::new())))
    }

    crate::conformance_tests!(fresh);

    #[tokio::test]
    async fn run_all_runs_every_case() {
        crate::conformance::run_all(&fresh).await;
    }
}
