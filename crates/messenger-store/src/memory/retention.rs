//! [`Retention`] for [`MemoryStore`].

use async_trait::async_trait;
use messenger_model::Timestamp;

use super::MemoryStore;
use crate::retention::{check_batch, purgeable, redactable};
use crate::{EventState, MessageRecord, Retention, SpaceScope, StoreError, StoreTable};

/// The sequences of up to `limit` messages that `take` accepts, the longest settled first.
fn oldest_settled(
    messages: &std::collections::BTreeMap<u64, MessageRecord>,
    limit: usize,
    take: impl Fn(&MessageRecord) -> bool,
) -> Vec<u64> {
    let mut found: Vec<(Timestamp, u64)> = messages
        .iter()
        .filter(|(_, m)| take(m))
        .filter_map(|(seq, m)| Some((m.settled_at()?, *seq)))
        .collect();
    found.sort_unstable();
    found.into_iter().take(limit).map(|(_, seq)| seq).collect()
}

/// The keys of the first `limit` entries that `take` accepts, in the map's order.
fn first_keys<'a, K: Clone + 'a, V: 'a>(
    entries: impl Iterator<Item = (&'a K, &'a V)>,
    limit: usize,
    take: impl Fn(&V) -> bool,
) -> Vec<K> {
    entries
        .filter(|(_, v)| take(v))
        .map(|(k, _)| k.clone())
        .take(limit)
        .collect()
}

#[async_trait]
impl Retention for MemoryStore {
    async fn redact_messages(
        &self,
        scope: &SpaceScope,
        settled_before: Timestamp,
        now: Timestamp,
        limit: usize,
    ) -> Result<u64, StoreError> {
        check_batch(limit)?;
        let mut state = self.state()?;
        let seqs = oldest_settled(&state.messages, limit, |m| {
            redactable(m, scope, settled_before)
        });
        for seq in &seqs {
            if let Some(m) = state.messages.get_mut(seq) {
                m.redact(now);
            }
        }
        Ok(seqs.len() as u64)
    }

    async fn purge_messages(
        &self,
        scope: &SpaceScope,
        settled_before: Timestamp,
        limit: usize,
    ) -> Result<u64, StoreError> {
        check_batch(limit)?;
        let mut state = self.state()?;
        let seqs = oldest_settled(&state.messages, limit, |m| {
            purgeable(m, scope, settled_before)
        });
        for seq in &seqs {
            let Some(m) = state.messages.remove(seq) else {
                continue;
            };
            state.by_id.remove(&m.id);
            state
                .by_time
                .remove(&(m.space.clone(), m.created_at, m.id.clone()));
            if let Some(k) = &m.idempotency {
                state
                    .by_idempotency
                    .remove(&(m.space.clone(), k.key.clone()));
            }
            for mid in &m.graph_message_ids {
                state.by_mid.remove(&(m.space.clone(), mid.clone()));
            }
            state.unsent.remove(seq);
        }
        Ok(seqs.len() as u64)
    }

    async fn forget_idempotency_keys(
        &self,
        scope: &SpaceScope,
        created_before: Timestamp,
        limit: usize,
    ) -> Result<u64, StoreError> {
        check_batch(limit)?;
        let mut state = self.state()?;
        let seqs = first_keys(state.messages.iter(), limit, |m| {
            m.idempotency.is_some() && m.created_at < created_before && scope.contains(&m.space)
        });
        for seq in &seqs {
            let Some(m) = state.messages.get_mut(seq) else {
                continue;
            };
            let space = m.space.clone();
            if let Some(k) = m.idempotency.take() {
                state.by_idempotency.remove(&(space, k.key));
            }
        }
        Ok(seqs.len() as u64)
    }

    async fn purge_dead_events(
        &self,
        scope: &SpaceScope,
        created_before: Timestamp,
        limit: usize,
    ) -> Result<u64, StoreError> {
        check_batch(limit)?;
        let mut state = self.state()?;
        let gone = first_keys(state.events.iter(), limit, |e| {
            e.state == EventState::Dead && e.created_at < created_before && scope.contains(&e.space)
        });
        for id in &gone {
            if let Some(e) = state.events.remove(id) {
                state
                    .event_keys
                    .remove(&(e.space, e.target, e.envelope.event_id));
            }
        }
        Ok(gone.len() as u64)
    }

    async fn purge_quarantined(
        &self,
        quarantined_before: Timestamp,
        limit: usize,
    ) -> Result<u64, StoreError> {
        check_batch(limit)?;
        let mut state = self.state()?;
        let mut taken = 0;
        state.quarantine.retain(|q| {
            let go = taken < limit && q.quarantined_at < quarantined_before;
            taken += usize::from(go);
            !go
        });
        Ok(taken as u64)
    }

    async fn purge_inbound_window(
        &self,
        before: Timestamp,
        limit: usize,
    ) -> Result<u64, StoreError> {
        check_batch(limit)?;
        let mut state = self.state()?;
        let gone = first_keys(state.inbound.iter(), limit, |at| *at < before);
        for k in &gone {
            state.inbound.remove(k);
        }
        Ok(gone.len() as u64)
    }

    async fn oldest_rows(&self) -> Result<Vec<(StoreTable, Timestamp)>, StoreError> {
        let state = self.state()?;
        let oldest = |table: StoreTable| -> Option<Timestamp> {
            match table {
                StoreTable::Messages => state.messages.values().next().map(|m| m.created_at),
                StoreTable::Outbox => state.events.values().next().map(|e| e.created_at),
                StoreTable::SeenEvents => state.seen.values().copied().min(),
                StoreTable::OptinTokens => state.tokens.values().map(|t| t.created_at).min(),
                StoreTable::WebhookQuarantine => {
                    state.quarantine.iter().map(|q| q.quarantined_at).min()
                }
                StoreTable::HeldReceipts => state.held.oldest(),
                StoreTable::InboundWindow => state.inbound.values().copied().min(),
            }
        };
        Ok(StoreTable::ALL
            .into_iter()
            .filter_map(|t| Some((t, oldest(t)?)))
            .collect())
    }
}
