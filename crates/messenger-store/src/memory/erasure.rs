//! [`Erasure`] for [`MemoryStore`].

use async_trait::async_trait;
use messenger_model::Timestamp;

use super::MemoryStore;
use crate::erasure::check_page;
use crate::{
    Erasure, ErasureRecord, EventState, MessageRecord, OutboxEvent, Page, StoreError, Subject,
};

/// A page of the first `limit` of `candidates` (ascending keys): those `take` keeps, and the
/// last key as the next cursor when the page was full.
fn page_of<K: Copy + Into<i64>, T>(
    candidates: impl Iterator<Item = (K, T)>,
    limit: usize,
    take: impl Fn(&T) -> bool,
) -> Page<T> {
    let mut items = Vec::new();
    let mut scanned = 0;
    let mut last = None;
    for (key, item) in candidates.take(limit) {
        scanned += 1;
        last = Some(key.into());
        if take(&item) {
            items.push(item);
        }
    }
    Page {
        items,
        next: if scanned == limit { last } else { None },
    }
}

#[async_trait]
impl Erasure for MemoryStore {
    async fn subject(
        &self,
        space: &str,
        profile_id: &str,
        pages: &[String],
    ) -> Result<Subject, StoreError> {
        let state = self.state()?;
        let profile = state
            .profiles
            .get(&(space.to_owned(), profile_id.to_owned()))
            .cloned();
        let mut links: Vec<(String, String)> = state
            .links
            .iter()
            .filter(|((s, _, _), id)| s == space && id.as_str() == profile_id)
            .map(|((_, page, psid), _)| (page.clone(), psid.clone()))
            .collect();
        links.sort();
        Ok(Subject::new(space, profile_id, profile, links, pages))
    }

    async fn messages_naming(
        &self,
        subject: &Subject,
        after: Option<i64>,
        limit: usize,
    ) -> Result<Page<MessageRecord>, StoreError> {
        check_page(limit)?;
        let state = self.state()?;
        let from = after.map_or(0, |a| u64::try_from(a).unwrap_or(0).saturating_add(1));
        // Candidates: the space's messages (a scan of the store, as SQL scans the space).
        let candidates = state
            .messages
            .range(from..)
            .filter(|(_, m)| m.space == subject.space)
            .map(|(seq, m)| (i64::try_from(*seq).unwrap_or(i64::MAX), m.clone()));
        Ok(page_of(candidates, limit, |m| subject.names_message(m)))
    }

    async fn events_naming(
        &self,
        subject: &Subject,
        after: Option<i64>,
        limit: usize,
    ) -> Result<Page<OutboxEvent>, StoreError> {
        check_page(limit)?;
        let state = self.state()?;
        let candidates = state
            .events
            .range(after.map_or(i64::MIN, |a| a.saturating_add(1))..)
            .filter(|(_, e)| e.space == subject.space)
            .map(|(id, e)| (*id, e.clone()));
        Ok(page_of(candidates, limit, |e| {
            subject.names_event(&e.envelope)
        }))
    }

    async fn erase_messages(
        &self,
        space: &str,
        ids: &[String],
        now: Timestamp,
    ) -> Result<u64, StoreError> {
        let mut state = self.state()?;
        let mut changed = 0;
        for id in ids {
            let Some(seq) = state.by_id.get(id).copied() else {
                continue;
            };
            let Some(m) = state.messages.get_mut(&seq).filter(|m| m.space == space) else {
                continue;
            };
            let key = m.idempotency.as_ref().map(|k| k.key.clone());
            if !m.erase(now) {
                continue;
            }
            changed += 1;
            if let Some(key) = key {
                state.by_idempotency.remove(&(space.to_owned(), key));
            }
            state.unsent.remove(&seq);
        }
        Ok(changed)
    }

    async fn delete_events(&self, space: &str, ids: &[i64]) -> Result<(u64, u64), StoreError> {
        let mut state = self.state()?;
        let (mut events, mut dead) = (0, 0);
        for id in ids {
            if state.events.get(id).is_none_or(|e| e.space != space) {
                continue;
            }
            if let Some(e) = state.events.remove(id) {
                if e.state == EventState::Dead {
                    dead += 1;
                } else {
                    events += 1;
                }
                state
                    .event_keys
                    .remove(&(e.space, e.target, e.envelope.event_id));
            }
        }
        Ok((events, dead))
    }

    async fn erase_quarantined(&self, subject: &Subject, limit: usize) -> Result<u64, StoreError> {
        check_page(limit)?;
        let mut state = self.state()?;
        let mut taken = 0;
        state.quarantine.retain(|q| {
            let go = taken < limit
                && subject.owns_page(q.page_id.as_deref())
                && subject.names_raw(&q.raw);
            taken += usize::from(go);
            !go
        });
        Ok(taken as u64)
    }

    async fn forget_subject(
        &self,
        subject: &Subject,
        mut record: ErasureRecord,
    ) -> Result<ErasureRecord, StoreError> {
        let mut state = self.state()?;
        let space = subject.space.as_str();
        let psids: Vec<&str> = subject.psids().collect();
        let counts = &mut record.counts;
        counts.profiles += u64::from(
            state
                .profiles
                .remove(&(space.to_owned(), subject.profile_id.clone()))
                .is_some(),
        );
        let before = state.links.len();
        state.links.retain(|(s, _, psid), id| {
            s != space || (id != &subject.profile_id && !psids.contains(&psid.as_str()))
        });
        counts.messenger_ids += (before - state.links.len()) as u64;
        let before = state.tokens.len();
        state.tokens.retain(|_, t| {
            let bound = t
                .bound_to
                .as_ref()
                .is_some_and(|b| psids.contains(&b.psid.as_str()));
            t.space != space || (t.profile_id != subject.profile_id && !bound)
        });
        counts.optin_tokens += (before - state.tokens.len()) as u64;
        state
            .inbound
            .retain(|(s, _, psid), _| s != space || !psids.contains(&psid.as_str()));
        state.held.forget_psids(space, &psids);
        state
            .seen
            .retain(|key, _| !psids.iter().any(|p| key.contains(p)));
        state.erasures.push(record.clone());
        Ok(record)
    }

    async fn erasures(&self, space: &str, limit: usize) -> Result<Vec<ErasureRecord>, StoreError> {
        let state = self.state()?;
        Ok(state
            .erasures
            .iter()
            .rev()
            .filter(|r| r.space == space)
            .take(limit)
            .cloned()
            .collect())
    }
}
