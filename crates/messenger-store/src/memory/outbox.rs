//! [`Outbox`], [`WebhookInbox`] and [`OptinTokens`] for [`MemoryStore`].

use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;
use messenger_model::{EventEnvelope, Timestamp};

use super::MemoryStore;
use crate::implementors::lease_millis;
use crate::{
    EventFailure, EventScope, EventState, Lease, OptinToken, OptinTokens, Outbox, OutboxEvent,
    PendingEvents, Redemption, StoreError, TokenBinding, WebhookInbox,
};

#[async_trait]
impl Outbox for MemoryStore {
    async fn enqueue_event(
        &self,
        target: &str,
        envelope: EventEnvelope,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let mut state = self.state()?;
        let key = (
            envelope.api_space_id.clone(),
            target.to_owned(),
            envelope.event_id.clone(),
        );
        if state.event_keys.contains_key(&key) {
            return Ok(false);
        }
        state.next_event += 1;
        let id = state.next_event;
        state.event_keys.insert(key, id);
        let event = OutboxEvent {
            id,
            space: envelope.api_space_id.clone(),
            target: target.to_owned(),
            envelope,
            state: EventState::Pending,
            attempts: 0,
            next_attempt_at: now,
            last_error: None,
            created_at: now,
            lease: None,
        };
        state.events.insert(id, event);
        Ok(true)
    }

    async fn lease_due_events_in(
        &self,
        scope: &EventScope,
        worker: &str,
        now: Timestamp,
        limit: usize,
        lease_for: Duration,
    ) -> Result<Vec<OutboxEvent>, StoreError> {
        let mut state = self.state()?;
        let expires_at = now.add_millis(lease_millis(lease_for));
        let due = state.events.values_mut().filter(|e| {
            e.state == EventState::Pending
                && e.next_attempt_at <= now
                && e.lease.as_ref().is_none_or(|l| l.expires_at <= now)
                && scope.contains(&e.space, &e.target)
        });
        let mut leased = Vec::new();
        for event in due.take(limit) {
            event.lease = Some(Lease {
                holder: worker.to_owned(),
                expires_at,
            });
            event.attempts = event.attempts.saturating_add(1);
            leased.push(event.clone());
        }
        Ok(leased)
    }

    async fn pending_by_target(&self) -> Result<Vec<PendingEvents>, StoreError> {
        let state = self.state()?;
        let mut by_target: BTreeMap<(&str, &str), (u64, Timestamp)> = BTreeMap::new();
        for e in state
            .events
            .values()
            .filter(|e| e.state == EventState::Pending)
        {
            let entry = by_target
                .entry((e.space.as_str(), e.target.as_str()))
                .or_insert((0, e.created_at));
            entry.0 += 1;
            entry.1 = entry.1.min(e.created_at);
        }
        Ok(by_target
            .into_iter()
            .map(|((space, target), (count, oldest))| PendingEvents {
                space: space.to_owned(),
                target: target.to_owned(),
                count,
                oldest,
            })
            .collect())
    }

    async fn mark_delivered(&self, ids: &[i64], _now: Timestamp) -> Result<u64, StoreError> {
        let mut state = self.state()?;
        let mut changed = 0;
        for id in ids {
            if let Some(e) = state.events.get_mut(id) {
                if e.state == EventState::Pending {
                    e.state = EventState::Delivered;
                    e.lease = None;
                    changed += 1;
                }
            }
        }
        Ok(changed)
    }

    async fn mark_failed(
        &self,
        id: i64,
        worker: &str,
        error: &str,
        failure: EventFailure,
    ) -> Result<bool, StoreError> {
        let mut state = self.state()?;
        let Some(e) = state.events.get_mut(&id) else {
            return Ok(false);
        };
        let held = e.lease.as_ref().is_some_and(|l| l.holder == worker);
        if !held || e.state != EventState::Pending {
            return Ok(false);
        }
        e.lease = None;
        e.last_error = Some(error.to_owned());
        match failure {
            EventFailure::RetryAt(at) => e.next_attempt_at = at,
            EventFailure::Dead => e.state = EventState::Dead,
        }
        Ok(true)
    }

    async fn list_dead(&self, space: &str, limit: usize) -> Result<Vec<OutboxEvent>, StoreError> {
        let state = self.state()?;
        Ok(state
            .events
            .values()
            .filter(|e| e.space == space && e.state == EventState::Dead)
            .take(limit)
            .cloned()
            .collect())
    }

    async fn events_by_id(
        &self,
        space: &str,
        event_ids: &[String],
    ) -> Result<Vec<OutboxEvent>, StoreError> {
        let state = self.state()?;
        Ok(state
            .events
            .values()
            .filter(|e| e.space == space && event_ids.contains(&e.envelope.event_id))
            .cloned()
            .collect())
    }

    async fn redrive(
        &self,
        space: &str,
        event_id: &str,
        now: Timestamp,
    ) -> Result<u64, StoreError> {
        let mut state = self.state()?;
        let mut redriven = 0;
        for e in state.events.values_mut() {
            if e.space == space && e.envelope.event_id == event_id && e.state == EventState::Dead {
                e.state = EventState::Pending;
                e.attempts = 0;
                e.next_attempt_at = now;
                redriven += 1;
            }
        }
        Ok(redriven)
    }

    async fn event_counts(&self) -> Result<(u64, u64), StoreError> {
        let state = self.state()?;
        let count =
            |wanted: EventState| state.events.values().filter(|e| e.state == wanted).count() as u64;
        Ok((count(EventState::Pending), count(EventState::Dead)))
    }

    async fn purge_delivered(&self, before: Timestamp) -> Result<u64, StoreError> {
        let mut state = self.state()?;
        let gone: Vec<i64> = state
            .events
            .values()
            .filter(|e| e.state == EventState::Delivered && e.created_at < before)
            .map(|e| e.id)
            .collect();
        for id in &gone {
            if let Some(e) = state.events.remove(id) {
                state
                    .event_keys
                    .remove(&(e.space, e.target, e.envelope.event_id));
            }
        }
        Ok(gone.len() as u64)
    }
}

#[async_trait]
impl WebhookInbox for MemoryStore {
    async fn mark_seen(&self, key: &str, now: Timestamp) -> Result<bool, StoreError> {
        let mut state = self.state()?;
        if state.seen.contains_key(key) {
            return Ok(false);
        }
        state.seen.insert(key.to_owned(), now);
        Ok(true)
    }

    async fn is_seen(&self, key: &str) -> Result<bool, StoreError> {
        Ok(self.state()?.seen.contains_key(key))
    }

    async fn purge_seen(&self, before: Timestamp) -> Result<u64, StoreError> {
        let mut state = self.state()?;
        let len = state.seen.len();
        state.seen.retain(|_, at| *at >= before);
        Ok((len - state.seen.len()) as u64)
    }
}

#[async_trait]
impl OptinTokens for MemoryStore {
    async fn put_optin_token(&self, token: OptinToken) -> Result<(), StoreError> {
        if token.token.is_empty() {
            return Err(StoreError::invalid("an opt-in token must not be empty"));
        }
        let mut state = self.state()?;
        if state.tokens.contains_key(&token.token) {
            return Err(StoreError::conflict("this opt-in token is already stored"));
        }
        let token = OptinToken {
            bound_to: None,
            ..token
        };
        state.tokens.insert(token.token.clone(), token);
        Ok(())
    }

    async fn redeem_optin_token(
        &self,
        space: &str,
        token: &str,
        page_id: &str,
        psid: &str,
        now: Timestamp,
    ) -> Result<Redemption, StoreError> {
        let mut state = self.state()?;
        let Some(stored) = state
            .tokens
            .get_mut(token)
            .filter(|t| t.space == space && t.expires_at > now)
        else {
            return Ok(Redemption::Unknown);
        };
        let binding = stored.bound_to.get_or_insert_with(|| TokenBinding {
            page_id: page_id.to_owned(),
            psid: psid.to_owned(),
            at: now,
        });
        Ok(if binding.page_id == page_id && binding.psid == psid {
            Redemption::Redeemed(stored.clone())
        } else {
            Redemption::UsedByAnother(stored.clone())
        })
    }

    async fn get_optin_token(
        &self,
        space: &str,
        token: &str,
        now: Timestamp,
    ) -> Result<Option<OptinToken>, StoreError> {
        let state = self.state()?;
        Ok(state
            .tokens
            .get(token)
            .filter(|t| t.space == space && t.expires_at > now)
            .cloned())
    }

    async fn purge_expired_optin_tokens(&self, now: Timestamp) -> Result<u64, StoreError> {
        let mut state = self.state()?;
        let len = state.tokens.len();
        state.tokens.retain(|_, t| t.expires_at > now);
        Ok((len - state.tokens.len()) as u64)
    }
}
