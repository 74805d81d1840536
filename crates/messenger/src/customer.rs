//! A customer's data on request: erasure (GDPR article 17) and the subject an export reads
//! (article 15). The store does the work ([`messenger_store::Erasure`]); the facade adds the
//! space's page and the clock, and logs the erasure without naming the customer.

use messenger_store::{ErasureRecord, Subject};

use crate::{Error, Messenger};

impl Messenger {
    /// Who `profile_id` is in space `space_id`: the stored profile (if any) and every
    /// identifier naming the customer there, to read their messages and events by
    /// ([`messenger_store::Erasure::messages_naming`], [`messenger_store::Erasure::events_naming`]). An unknown space is
    /// [`Error::UnknownSpace`].
    pub async fn customer(&self, space_id: &str, profile_id: &str) -> Result<Subject, Error> {
        let space = self.space(space_id)?;
        let pages = [space.page_id.clone()];
        Ok(self.store().subject(space_id, profile_id, &pages).await?)
    }

    /// Erases everything space `space_id` holds about `profile_id` ([`messenger_store::Erasure::erase`]): the
    /// profile, its Messenger IDs, opt-in tokens and times, and every message, event, dead
    /// letter and quarantined Meta body naming it. Returns the erasure's record, which names no
    /// customer; a second call finds nothing and returns zeros.
    pub async fn erase_customer(
        &self,
        space_id: &str,
        profile_id: &str,
    ) -> Result<ErasureRecord, Error> {
        let space = self.space(space_id)?;
        let pages = [space.page_id.clone()];
        let record = self
            .store()
            .erase(space_id, profile_id, &pages, self.now())
            .await?;
        let c = &record.counts;
        tracing::info!(
            space = %space_id,
            erasure = %record.id,
            profiles = c.profiles,
            messages = c.messages,
            events = c.events,
            dead_letters = c.dead_letters,
            quarantined = c.quarantined,
            messenger_ids = c.messenger_ids,
            optin_tokens = c.optin_tokens,
            "a customer's data was erased"
        );
        Ok(record)
    }
}
