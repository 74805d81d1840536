//! [`MessageStore`] and [`DispatchQueue`] for [`MemoryStore`].

use std::collections::HashSet;
use std::ops::Bound;
use std::time::Duration;

use async_trait::async_trait;
use messenger_model::{MessageStatus, RuleTraceEntry, Timestamp};

use super::{MemoryStore, State};
use crate::implementors::{check_receipt_status, lease_millis, space_cap};
use crate::{
    DeliveryDeadlines, DispatchQueue, InsertOutcome, Lease, MessageQuery, MessageRecord,
    MessageStore, MessengerRecipient, NewMessage, Retry, StatusOutcome, StatusUpdate, StoreError,
};

impl State {
    /// The sequence of message `id` if it belongs to `space`.
    fn seq_of(&self, space: &str, id: &str) -> Option<u64> {
        let seq = *self.by_id.get(id)?;
        let record = self.messages.get(&seq)?;
        (record.space == space).then_some(seq)
    }

    /// The message `id` of `space`, for changing, or [`StoreError::NotFound`].
    fn message_mut(&mut self, space: &str, id: &str) -> Result<&mut MessageRecord, StoreError> {
        self.seq_of(space, id)
            .and_then(|seq| self.messages.get_mut(&seq))
            .ok_or_else(|| StoreError::not_found("message", id))
    }

    /// Inserts one validated message whose id is known to be free.
    fn insert_one(&mut self, message: NewMessage) -> InsertOutcome {
        if let Some(k) = &message.idempotency {
            let existing = self
                .by_idempotency
                .get(&(message.space.clone(), k.key.clone()))
                .and_then(|seq| self.messages.get(seq));
            if let Some(existing) = existing {
                return InsertOutcome::Existing(Box::new(existing.clone()));
            }
        }
        let seq = self.next_seq;
        self.next_seq += 1;
        let record = message.into_record();
        if let Some(k) = &record.idempotency {
            self.by_idempotency
                .insert((record.space.clone(), k.key.clone()), seq);
        }
        self.by_id.insert(record.id.clone(), seq);
        self.by_time
            .insert((record.space.clone(), record.created_at, record.id.clone()));
        self.unsent.insert(seq);
        let id = record.id.clone();
        self.messages.insert(seq, record);
        InsertOutcome::Inserted { id }
    }

    /// Keeps the unsent index in step with a record's status.
    fn reindex(&mut self, seq: u64) {
        let unsent = self
            .messages
            .get(&seq)
            .is_some_and(MessageRecord::is_unsent);
        if unsent {
            self.unsent.insert(seq);
        } else {
            self.unsent.remove(&seq);
        }
    }
}

fn duplicate_id(id: &str) -> StoreError {
    StoreError::conflict(format!("message id {id:?} is already used"))
}

#[async_trait]
impl MessageStore for MemoryStore {
    async fn insert_message(&self, message: NewMessage) -> Result<InsertOutcome, StoreError> {
        message.validate()?;
        let mut state = self.state()?;
        if state.by_id.contains_key(&message.id) {
            return Err(duplicate_id(&message.id));
        }
        Ok(state.insert_one(message))
    }

    async fn insert_messages(
        &self,
        messages: Vec<NewMessage>,
    ) -> Result<Vec<InsertOutcome>, StoreError> {
        let mut state = self.state()?;
        // Check everything first: the batch is stored whole or not at all.
        let mut ids = HashSet::with_capacity(messages.len());
        for m in &messages {
            m.validate()?;
            if state.by_id.contains_key(&m.id) || !ids.insert(m.id.as_str()) {
                return Err(duplicate_id(&m.id));
            }
        }
        Ok(messages.into_iter().map(|m| state.insert_one(m)).collect())
    }

    async fn get_message(
        &self,
        space: &str,
        id: &str,
    ) -> Result<Option<MessageRecord>, StoreError> {
        let state = self.state()?;
        Ok(state
            .seq_of(space, id)
            .and_then(|seq| state.messages.get(&seq))
            .cloned())
    }

    async fn list_messages(
        &self,
        space: &str,
        query: &MessageQuery,
    ) -> Result<Vec<MessageRecord>, StoreError> {
        let state = self.state()?;
        let low = (
            space.to_owned(),
            Timestamp::from_millis(i64::MIN),
            String::new(),
        );
        let high = match &query.after {
            Some(after) => Bound::Excluded((space.to_owned(), after.created_at, after.id.clone())),
            None => Bound::Included((
                space.to_owned(),
                Timestamp::from_millis(i64::MAX),
                String::new(),
            )),
        };
        let limit = query.effective_limit();
        let mut found = Vec::with_capacity(limit.min(64));
        for (s, _, id) in state.by_time.range((Bound::Included(low), high)).rev() {
            if s != space {
                continue;
            }
            let record = state.by_id.get(id).and_then(|seq| state.messages.get(seq));
            if let Some(record) = record.filter(|r| query.matches(r)) {
                found.push(record.clone());
                if found.len() >= limit {
                    break;
                }
            }
        }
        Ok(found)
    }

    async fn find_by_idempotency_key(
        &self,
        space: &str,
        key: &str,
    ) -> Result<Option<MessageRecord>, StoreError> {
        let state = self.state()?;
        Ok(state
            .by_idempotency
            .get(&(space.to_owned(), key.to_owned()))
            .and_then(|seq| state.messages.get(seq))
            .cloned())
    }

    async fn find_by_graph_message_id(
        &self,
        space: &str,
        mid: &str,
    ) -> Result<Option<MessageRecord>, StoreError> {
        let state = self.state()?;
        Ok(state
            .by_mid
            .get(&(space.to_owned(), mid.to_owned()))
            .and_then(|seq| state.messages.get(seq))
            .cloned())
    }

    async fn update_status(
        &self,
        space: &str,
        id: &str,
        update: StatusUpdate,
    ) -> Result<StatusOutcome, StoreError> {
        let mut state = self.state()?;
        let seq = state
            .seq_of(space, id)
            .ok_or_else(|| StoreError::not_found("message", id))?;
        let record = state.message_mut(space, id)?;
        let applied = record.apply_status(update);
        let message = record.clone();
        state.reindex(seq);
        Ok(StatusOutcome { applied, message })
    }

    async fn append_rule_trace(
        &self,
        space: &str,
        id: &str,
        entries: Vec<RuleTraceEntry>,
    ) -> Result<(), StoreError> {
        let mut state = self.state()?;
        state.message_mut(space, id)?.rule_trace.extend(entries);
        Ok(())
    }

    async fn add_graph_message_id(
        &self,
        space: &str,
        id: &str,
        mid: &str,
    ) -> Result<(), StoreError> {
        let mut state = self.state()?;
        let seq = state
            .seq_of(space, id)
            .ok_or_else(|| StoreError::not_found("message", id))?;
        let key = (space.to_owned(), mid.to_owned());
        match state.by_mid.get(&key) {
            Some(owner) if *owner != seq => {
                return Err(StoreError::conflict(format!(
                    "Graph message id {mid:?} belongs to another message"
                )))
            }
            _ => {}
        }
        state.message_mut(space, id)?.add_graph_message_id(mid);
        state.by_mid.insert(key, seq);
        Ok(())
    }

    async fn apply_watermark(
        &self,
        space: &str,
        recipient: &MessengerRecipient,
        status: MessageStatus,
        watermark: Timestamp,
        at: Timestamp,
    ) -> Result<Vec<MessageRecord>, StoreError> {
        check_receipt_status(status)?;
        let mut state = self.state()?;
        let mut changed = Vec::new();
        for record in state.messages.values_mut() {
            if record.space == space && record.watermark_applies(recipient, status, watermark) {
                let update = StatusUpdate::new(status, at).reason(format!("watermark {watermark}"));
                if record.apply_status(update) {
                    changed.push(record.clone());
                }
            }
        }
        Ok(changed)
    }
}

#[async_trait]
impl DispatchQueue for MemoryStore {
    async fn lease_due(
        &self,
        worker: &str,
        now: Timestamp,
        limit: usize,
        lease_for: Duration,
    ) -> Result<Vec<MessageRecord>, StoreError> {
        self.lease_due_capped(worker, now, limit, lease_for, &[])
            .await
    }

    async fn lease_due_capped(
        &self,
        worker: &str,
        now: Timestamp,
        limit: usize,
        lease_for: Duration,
        caps: &[(String, usize)],
    ) -> Result<Vec<MessageRecord>, StoreError> {
        let mut state = self.state()?;
        let expires_at = now.add_millis(lease_millis(lease_for));
        let mut heads_seen: HashSet<(&str, &str)> = HashSet::new();
        // Each space's due heads, oldest first, spaces in the order of their oldest.
        let mut by_space: Vec<(&str, Vec<u64>)> = Vec::new();
        for seq in &state.unsent {
            let Some(m) = state.messages.get(seq) else {
                continue;
            };
            // Only the oldest unsent message of a recipient may go.
            if !heads_seen.insert((&m.space, &m.recipient_key)) {
                continue;
            }
            let free = m.lease.as_ref().is_none_or(|l| l.expires_at <= now);
            if free && m.next_attempt_at <= now {
                let cap = limit.min(space_cap(caps, &m.space));
                match by_space.iter_mut().find(|(s, _)| *s == m.space) {
                    Some((_, seqs)) if seqs.len() >= cap => {}
                    Some((_, seqs)) => seqs.push(*seq),
                    None if cap > 0 => by_space.push((&m.space, vec![*seq])),
                    None => {}
                }
            }
        }
        // Spaces take turns: each one's oldest, then each one's second oldest, ...
        let mut due = Vec::new();
        let mut rank = 0;
        while due.len() < limit && by_space.iter().any(|(_, seqs)| seqs.len() > rank) {
            for (_, seqs) in &by_space {
                if let Some(seq) = seqs.get(rank) {
                    if due.len() < limit {
                        due.push(*seq);
                    }
                }
            }
            rank += 1;
        }
        due.sort_unstable();
        let mut leased = Vec::with_capacity(due.len());
        for seq in due {
            if let Some(m) = state.messages.get_mut(&seq) {
                m.lease = Some(Lease {
                    holder: worker.to_owned(),
                    expires_at,
                });
                m.attempts = m.attempts.saturating_add(1);
                leased.push(m.clone());
            }
        }
        Ok(leased)
    }

    async fn extend_lease(
        &self,
        space: &str,
        id: &str,
        worker: &str,
        now: Timestamp,
        until: Timestamp,
    ) -> Result<bool, StoreError> {
        let mut state = self.state()?;
        let record = state.message_mut(space, id)?;
        if !record.is_unsent() || !record.is_leased_by(worker, now) {
            return Ok(false);
        }
        record.lease = Some(Lease {
            holder: worker.to_owned(),
            expires_at: until,
        });
        Ok(true)
    }

    async fn release(
        &self,
        space: &str,
        id: &str,
        worker: &str,
        retry: Retry,
    ) -> Result<bool, StoreError> {
        let mut state = self.state()?;
        Ok(state.message_mut(space, id)?.release(worker, retry))
    }

    async fn defer(
        &self,
        space: &str,
        id: &str,
        worker: &str,
        until: Timestamp,
    ) -> Result<bool, StoreError> {
        let mut state = self.state()?;
        Ok(state.message_mut(space, id)?.defer(worker, until))
    }

    async fn recover_expired_leases(&self, now: Timestamp) -> Result<u64, StoreError> {
        Ok(clear_unsent_leases(&mut *self.state()?, |l| {
            l.expires_at <= now
        }))
    }

    async fn recover_leases_of(&self, holder_prefix: &str) -> Result<u64, StoreError> {
        crate::dispatch::check_holder_prefix(holder_prefix)?;
        Ok(clear_unsent_leases(&mut *self.state()?, |l| {
            l.holder.starts_with(holder_prefix)
        }))
    }

    async fn recover_all_leases(&self) -> Result<u64, StoreError> {
        Ok(clear_unsent_leases(&mut *self.state()?, |_| true))
    }

    async fn unsent_count(&self) -> Result<u64, StoreError> {
        Ok(self.state()?.unsent.len() as u64)
    }

    async fn unsent_by_space(&self) -> Result<Vec<(String, u64)>, StoreError> {
        let state = self.state()?;
        let mut counts: std::collections::BTreeMap<&str, u64> = std::collections::BTreeMap::new();
        for m in state
            .unsent
            .iter()
            .filter_map(|seq| state.messages.get(seq))
        {
            *counts.entry(m.space.as_str()).or_default() += 1;
        }
        Ok(counts.into_iter().map(|(s, n)| (s.to_owned(), n)).collect())
    }
}

/// Clears the leases of unsent messages that `which` picks; returns how many.
fn clear_unsent_leases(state: &mut State, which: impl Fn(&Lease) -> bool) -> u64 {
    let State {
        messages, unsent, ..
    } = state;
    let mut cleared = 0;
    for seq in unsent.iter() {
        if let Some(m) = messages.get_mut(seq) {
            if m.lease.as_ref().is_some_and(&which) {
                m.lease = None;
                cleared += 1;
            }
        }
    }
    cleared
}

#[async_trait]
impl DeliveryDeadlines for MemoryStore {
    async fn claim_delivery_deadlines(
        &self,
        now: Timestamp,
        limit: usize,
    ) -> Result<Vec<MessageRecord>, StoreError> {
        let mut state = self.state()?;
        let mut due: Vec<(Timestamp, u64)> = state
            .messages
            .iter()
            .filter_map(|(seq, m)| m.delivery_deadline.filter(|d| *d <= now).map(|d| (d, *seq)))
            .collect();
        due.sort_unstable();
        due.truncate(limit);
        let mut reopened = Vec::new();
        for (_, seq) in due {
            let Some(m) = state.messages.get_mut(&seq) else {
                continue;
            };
            if m.miss_delivery_deadline(now) {
                reopened.push(m.clone());
            }
            state.reindex(seq);
        }
        Ok(reopened)
    }
}
