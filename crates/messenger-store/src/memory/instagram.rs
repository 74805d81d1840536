//! [`InstagramTokens`] for [`MemoryStore`]: one token per account in a map, under the store's
//! lock.

use async_trait::async_trait;
use messenger_model::Timestamp;

use super::MemoryStore;
use crate::instagram::{check_instagram_account_id, check_instagram_token, refresh_failure_reason};
use crate::{InstagramTokens, RefreshFailure, StoreError, StoredToken};

#[async_trait]
impl InstagramTokens for MemoryStore {
    async fn save_instagram_token(
        &self,
        account_id: &str,
        token: &str,
        issued_at: Timestamp,
        expires_at: Timestamp,
    ) -> Result<bool, StoreError> {
        check_instagram_token(account_id, token, issued_at, expires_at)?;
        let mut state = self.state()?;
        if state
            .instagram_tokens
            .get(account_id)
            .is_some_and(|stored| stored.issued_at > issued_at)
        {
            return Ok(false);
        }
        state.instagram_tokens.insert(
            account_id.to_owned(),
            StoredToken {
                token: token.to_owned(),
                issued_at,
                expires_at,
                refresh_failure: None,
            },
        );
        Ok(true)
    }

    async fn instagram_token(&self, account_id: &str) -> Result<Option<StoredToken>, StoreError> {
        Ok(self.state()?.instagram_tokens.get(account_id).cloned())
    }

    async fn record_instagram_refresh_failure(
        &self,
        account_id: &str,
        reason: &str,
        at: Timestamp,
    ) -> Result<bool, StoreError> {
        check_instagram_account_id(account_id)?;
        let mut state = self.state()?;
        let Some(stored) = state.instagram_tokens.get_mut(account_id) else {
            return Ok(false);
        };
        stored.refresh_failure = Some(RefreshFailure {
            reason: refresh_failure_reason(reason).to_owned(),
            at,
        });
        Ok(true)
    }
}
