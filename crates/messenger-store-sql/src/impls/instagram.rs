//! [`InstagramTokens`](messenger_store::InstagramTokens) for a SQL backend, written once for
//! both: table `instagram_tokens`, one row per account, each save an upsert that keeps the
//! token issued latest (`ON CONFLICT ... DO UPDATE ... WHERE excluded.issued_at >= ...`), so
//! instances saving in any order leave the latest, and clears the refresh failure it replaces.

/// Implements `InstagramTokens` for `$store`.
macro_rules! impl_instagram_tokens {
    ($store:ty) => {
        #[async_trait::async_trait]
        impl messenger_store::InstagramTokens for $store {
            async fn save_instagram_token(
                &self,
                account_id: &str,
                token: &str,
                issued_at: messenger_model::Timestamp,
                expires_at: messenger_model::Timestamp,
            ) -> Result<bool, messenger_store::StoreError> {
                messenger_store::implementors::check_instagram_token(
                    account_id, token, issued_at, expires_at,
                )?;
                let done = sqlx::query(
                    "INSERT INTO instagram_tokens (account_id, token, issued_at, expires_at) \
                     VALUES ($1, $2, $3, $4) \
                     ON CONFLICT (account_id) DO UPDATE SET token = excluded.token, \
                     issued_at = excluded.issued_at, expires_at = excluded.expires_at, \
                     refresh_failure = NULL, refresh_failed_at = NULL \
                     WHERE excluded.issued_at >= instagram_tokens.issued_at",
                )
                .bind(account_id)
                .bind(token)
                .bind(issued_at.millis())
                .bind(expires_at.millis())
                .execute(self.writer())
                .await
                .map_err(crate::error::db("saving an Instagram token"))?;
                Ok(done.rows_affected() > 0)
            }

            async fn instagram_token(
                &self,
                account_id: &str,
            ) -> Result<Option<messenger_store::StoredToken>, messenger_store::StoreError> {
                let row: Option<(String, i64, i64, Option<String>, Option<i64>)> = sqlx::query_as(
                    "SELECT token, issued_at, expires_at, refresh_failure, \
                         refresh_failed_at FROM instagram_tokens WHERE account_id = $1",
                )
                .bind(account_id)
                .fetch_optional(self.reader())
                .await
                .map_err(crate::error::db("reading an Instagram token"))?;
                Ok(
                    row.map(|(token, issued_at, expires_at, reason, failed_at)| {
                        messenger_store::StoredToken {
                            token,
                            issued_at: messenger_model::Timestamp::from_millis(issued_at),
                            expires_at: messenger_model::Timestamp::from_millis(expires_at),
                            refresh_failure: reason.zip(failed_at).map(|(reason, at)| {
                                messenger_store::RefreshFailure {
                                    reason,
                                    at: messenger_model::Timestamp::from_millis(at),
                                }
                            }),
                        }
                    }),
                )
            }

            async fn record_instagram_refresh_failure(
                &self,
                account_id: &str,
                reason: &str,
                at: messenger_model::Timestamp,
            ) -> Result<bool, messenger_store::StoreError> {
                messenger_store::implementors::check_instagram_account_id(account_id)?;
                let reason = messenger_store::implementors::refresh_failure_reason(reason);
                let done = sqlx::query(
                    "UPDATE instagram_tokens SET refresh_failure = $2, refresh_failed_at = $3 \
                     WHERE account_id = $1",
                )
                .bind(account_id)
                .bind(reason)
                .bind(at.millis())
                .execute(self.writer())
                .await
                .map_err(crate::error::db(
                    "recording an Instagram token refresh failure",
                ))?;
                Ok(done.rows_affected() > 0)
            }
        }
    };
}
pub(crate) use impl_instagram_tokens;
