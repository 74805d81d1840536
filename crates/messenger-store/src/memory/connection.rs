//! [`PageConnectionRecord`] for [`MemoryStore`]: the sightings in a map, under the store's lock.

use async_trait::async_trait;

use super::MemoryStore;
use crate::connection::check_sightings;
use crate::{PageConnectionRecord, StoreError, WebhookSighting};

#[async_trait]
impl PageConnectionRecord for MemoryStore {
    async fn record_webhook_sightings(
        &self,
        sightings: &[WebhookSighting],
    ) -> Result<(), StoreError> {
        check_sightings(sightings)?;
        let mut state = self.state()?;
        for s in sightings {
            let at = state
                .webhook_sightings
                .entry((s.page_id.clone(), s.field.clone()))
                .or_insert(s.at);
            *at = (*at).max(s.at);
        }
        Ok(())
    }

    async fn webhook_sightings(&self, page_id: &str) -> Result<Vec<WebhookSighting>, StoreError> {
        let state = self.state()?;
        Ok(state
            .webhook_sightings
            .iter()
            .filter(|((page, _), _)| page == page_id)
            .map(|((page, field), at)| WebhookSighting::new(page.clone(), field.clone(), *at))
            .collect())
    }
}
