//! [`WebhookQueue`] in memory.

use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;
use messenger_model::Timestamp;

use super::MemoryStore;
use crate::implementors::lease_millis;
use crate::{Lease, QueuedWebhook, StoreError, WebhookQueue};

/// The queued bodies, by id.
#[derive(Debug, Default)]
pub(super) struct Queue {
    next_id: i64,
    items: BTreeMap<i64, Item>,
}

#[derive(Debug)]
struct Item {
    webhook: QueuedWebhook,
    next_attempt_at: Timestamp,
    lease: Option<Lease>,
}

#[async_trait]
impl WebhookQueue for MemoryStore {
    async fn enqueue_webhooks(
        &self,
        bodies: Vec<Vec<u8>>,
        received_at: Timestamp,
    ) -> Result<Vec<i64>, StoreError> {
        let mut state = self.state()?;
        let queue = &mut state.webhooks;
        let mut ids = Vec::with_capacity(bodies.len());
        for body in bodies {
            queue.next_id += 1;
            let id = queue.next_id;
            queue.items.insert(
                id,
                Item {
                    webhook: QueuedWebhook {
                        id,
                        body,
                        received_at,
                        attempts: 0,
                    },
                    next_attempt_at: received_at,
                    lease: None,
                },
            );
            ids.push(id);
        }
        Ok(ids)
    }

    async fn lease_webhooks(
        &self,
        worker: &str,
        now: Timestamp,
        limit: usize,
        lease_for: Duration,
    ) -> Result<Vec<QueuedWebhook>, StoreError> {
        let mut state = self.state()?;
        let expires_at = now.add_millis(lease_millis(lease_for));
        let mut leased = Vec::new();
        for item in state.webhooks.items.values_mut() {
            if leased.len() >= limit {
                break;
            }
            let free = item.lease.as_ref().is_none_or(|l| l.expires_at <= now);
            if free && item.next_attempt_at <= now {
                item.lease = Some(Lease {
                    holder: worker.to_owned(),
                    expires_at,
                });
                item.webhook.attempts = item.webhook.attempts.saturating_add(1);
                leased.push(item.webhook.clone());
            }
        }
        Ok(leased)
    }

    async fn complete_webhooks(&self, ids: &[i64]) -> Result<u64, StoreError> {
        let mut state = self.state()?;
        Ok(ids
            .iter()
            .filter(|id| state.webhooks.items.remove(id).is_some())
            .count() as u64)
    }

    async fn release_webhook(
        &self,
        id: i64,
        worker: &str,
        retry_at: Timestamp,
    ) -> Result<bool, StoreError> {
        let mut state = self.state()?;
        match state.webhooks.items.get_mut(&id) {
            Some(item) if item.lease.as_ref().is_some_and(|l| l.holder == worker) => {
                item.lease = None;
                item.next_attempt_at = retry_at;
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn webhook_backlog(&self) -> Result<u64, StoreError> {
        Ok(self.state()?.webhooks.items.len() as u64)
    }

    async fn webhook_queued_mentioning(
        &self,
        needle: &[u8],
        received_by: Timestamp,
    ) -> Result<bool, StoreError> {
        if needle.is_empty() {
            return Err(StoreError::invalid("an empty needle"));
        }
        let state = self.state()?;
        Ok(state.webhooks.items.values().any(|item| {
            item.webhook.received_at <= received_by
                && item.webhook.body.windows(needle.len()).any(|w| w == needle)
        }))
    }

    async fn recover_webhook_leases_of(&self, holder_prefix: &str) -> Result<u64, StoreError> {
        crate::dispatch::check_holder_prefix(holder_prefix)?;
        self.clear_webhook_leases(|holder| holder.starts_with(holder_prefix))
    }

    async fn recover_all_webhook_leases(&self) -> Result<u64, StoreError> {
        self.clear_webhook_leases(|_| true)
    }
}

impl MemoryStore {
    /// Clears the leases of the bodies whose holder `which` picks; returns how many.
    fn clear_webhook_leases(&self, which: impl Fn(&str) -> bool) -> Result<u64, StoreError> {
        let mut state = self.state()?;
        let mut recovered = 0;
        for item in state.webhooks.items.values_mut() {
            if item.lease.as_ref().is_some_and(|l| which(&l.holder)) {
                item.lease = None;
                recovered += 1;
            }
        }
        Ok(recovered)
    }
}
