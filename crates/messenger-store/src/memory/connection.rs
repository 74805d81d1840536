//! [`PageConnectionRecord`] for [`MemoryStore`]: the sightings in a map, under the store's lock.

use async_trait::async_trait;

use super::MemoryStore;
use crate::connection::check_sightings;
use crate::{PageConnectionRecord, PageReauth, StoreError, WebhookSighting};

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

    async fn record_page_reauth(&self, reauth: &PageReauth) -> Result<(), StoreError> {
        reauth.validate()?;
        let mut state = self.state()?;
        let since = state
            .page_reauth
            .get(&reauth.page_id)
            .map_or(reauth.since, |r| r.since.min(reauth.since));
        state.page_reauth.insert(
            reauth.page_id.clone(),
            PageReauth {
                since,
                ..reauth.clone()
            },
        );
        Ok(())
    }

    async fn clear_page_reauth(&self, page_id: &str) -> Result<bool, StoreError> {
        Ok(self.state()?.page_reauth.remove(page_id).is_some())
    }

    async fn page_reauth(&self, page_id: &str) -> Result<Option<PageReauth>, StoreError> {
        Ok(self.state()?.page_reauth.get(page_id).cloned())
    }
}
