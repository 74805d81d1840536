//! [`Quarantine`] for [`MemoryStore`].

use async_trait::async_trait;

use super::MemoryStore;
use crate::{Quarantine, QuarantinedEvent, StoreError};

#[async_trait]
impl Quarantine for MemoryStore {
    async fn quarantine(&self, events: Vec<QuarantinedEvent>) -> Result<u64, StoreError> {
        let mut state = self.state()?;
        let mut added = 0;
        for event in events {
            if !state.quarantine.iter().any(|q| q.key == event.key) {
                state.quarantine.push(event);
                added += 1;
            }
        }
        Ok(added)
    }

    async fn list_quarantined(&self, limit: usize) -> Result<Vec<QuarantinedEvent>, StoreError> {
        Ok(self
            .state()?
            .quarantine
            .iter()
            .take(limit)
            .cloned()
            .collect())
    }

    async fn delete_quarantined(&self, key: &str) -> Result<bool, StoreError> {
        let mut state = self.state()?;
        let before = state.quarantine.len();
        state.quarantine.retain(|q| q.key != key);
        Ok(state.quarantine.len() < before)
    }

    async fn quarantined_count(&self) -> Result<u64, StoreError> {
        Ok(self.state()?.quarantine.len() as u64)
    }
}
