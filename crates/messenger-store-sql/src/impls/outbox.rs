//! [`Outbox`](messenger_store::Outbox), [`WebhookInbox`](messenger_store::WebhookInbox) and
//! [`OptinTokens`](messenger_store::OptinTokens) for a SQL backend, written once for both.

/// Implements `Outbox`, `WebhookInbox` and `OptinTokens` for `$store` (database `$db`); `$skip`
/// is the suffix of the leasing select (`" FOR UPDATE SKIP LOCKED"` on PostgreSQL).
macro_rules! impl_outbox {
    ($store:ty, $db:ty, skip_locked = $skip:literal) => {
        #[async_trait::async_trait]
        impl messenger_store::Outbox for $store {
            async fn enqueue_event(
                &self,
                target: &str,
                envelope: messenger_model::EventEnvelope,
                now: messenger_model::Timestamp,
            ) -> Result<bool, messenger_store::StoreError> {
                let body = crate::rows::to_json("event envelope", &envelope)?;
                let done = sqlx::query(
                    "INSERT INTO outbox (space, target, event_id, envelope, state, attempts, \
                     next_attempt_at, created_at) VALUES ($1, $2, $3, $4, 'pending', 0, $5, $5) \
                     ON CONFLICT (space, target, event_id) DO NOTHING",
                )
                .bind(&envelope.api_space_id)
                .bind(target)
                .bind(&envelope.event_id)
                .bind(body)
                .bind(now.millis())
                .execute(self.writer())
                .await
                .map_err(crate::error::db("enqueueing an event"))?;
                Ok(done.rows_affected() == 1)
            }

            async fn lease_due_events_in(
                &self,
                scope: &messenger_store::EventScope,
                worker: &str,
                now: messenger_model::Timestamp,
                limit: usize,
                lease_for: std::time::Duration,
            ) -> Result<Vec<messenger_store::OutboxEvent>, messenger_store::StoreError> {
                if limit == 0 {
                    return Ok(Vec::new());
                }
                let expires_at = now.add_millis(messenger_store::implementors::lease_millis(lease_for));
                let mut select = sqlx::QueryBuilder::new("UPDATE outbox SET lease_holder = ");
                select.push_bind(worker);
                select.push(", lease_expires_at = ");
                select.push_bind(expires_at.millis());
                select.push(
                    ", attempts = attempts + 1 WHERE id IN (SELECT id FROM outbox \
                     WHERE state = 'pending' AND next_attempt_at <= ",
                );
                select.push_bind(now.millis());
                select.push(" AND (lease_expires_at IS NULL OR lease_expires_at <= ");
                select.push_bind(now.millis());
                select.push(")");
                match scope {
                    messenger_store::EventScope::Target { space, target } => {
                        select.push(" AND space = ");
                        select.push_bind(space);
                        select.push(" AND target = ");
                        select.push_bind(target);
                    }
                    messenger_store::EventScope::Except(pairs) => {
                        if !pairs.is_empty() {
                            select.push(" AND (space, target) NOT IN (VALUES ");
                            for (i, (space, target)) in pairs.iter().enumerate() {
                                select.push(if i == 0 { "(" } else { ", (" });
                                select.push_bind(space);
                                select.push(", ");
                                select.push_bind(target);
                                select.push(")");
                            }
                            select.push(")");
                        }
                    }
                    _ => {
                        return Err(messenger_store::StoreError::invalid(
                            "this event scope is not supported by this store",
                        ))
                    }
                }
                select.push(" ORDER BY id LIMIT ");
                select.push_bind(crate::rows::to_i64(limit));
                select.push(concat!($skip, ") RETURNING ", crate::rows::event_columns!()));
                let mut rows: Vec<crate::rows::EventRow> = select
                    .build_query_as()
                    .fetch_all(self.writer())
                    .await
                    .map_err(crate::error::db("leasing events"))?;
                rows.sort_by_key(|r| r.id);
                rows.into_iter()
                    .map(crate::rows::EventRow::into_event)
                    .collect()
            }

            async fn pending_by_target(
                &self,
            ) -> Result<Vec<messenger_store::PendingEvents>, messenger_store::StoreError> {
                let rows: Vec<(String, String, i64, i64)> = sqlx::query_as(
                    "SELECT space, target, COUNT(*), MIN(created_at) FROM outbox \
                     WHERE state = 'pending' GROUP BY space, target ORDER BY space, target",
                )
                .fetch_all(self.reader())
                .await
                .map_err(crate::error::db("counting pending events by target"))?;
                Ok(rows
                    .into_iter()
                    .map(|(space, target, count, oldest)| messenger_store::PendingEvents {
                        space,
                        target,
                        count: u64::try_from(count).unwrap_or(0),
                        oldest: messenger_model::Timestamp::from_millis(oldest),
                    })
                    .collect())
            }

            async fn mark_delivered(
                &self,
                ids: &[i64],
                _now: messenger_model::Timestamp,
            ) -> Result<u64, messenger_store::StoreError> {
                if ids.is_empty() {
                    return Ok(0);
                }
                let mut tx = self.begin_write().await?;
                let mut changed = 0;
                for id in ids {
                    changed += sqlx::query(
                        "UPDATE outbox SET state = 'delivered', lease_holder = NULL, \
                         lease_expires_at = NULL WHERE id = $1 AND state = 'pending'",
                    )
                    .bind(id)
                    .execute(&mut *tx)
                    .await
                    .map_err(crate::error::db("marking an event delivered"))?
                    .rows_affected();
                }
                self.commit(tx).await?;
                Ok(changed)
            }

            async fn mark_failed(
                &self,
                id: i64,
                worker: &str,
                error: &str,
                failure: messenger_store::EventFailure,
            ) -> Result<bool, messenger_store::StoreError> {
                let (state, next) = match failure {
                    messenger_store::EventFailure::RetryAt(at) => ("pending", Some(at.millis())),
                    messenger_store::EventFailure::Dead => ("dead", None),
                };
                let done = sqlx::query(
                    "UPDATE outbox SET lease_holder = NULL, lease_expires_at = NULL, \
                     last_error = $1, state = $2, \
                     next_attempt_at = COALESCE($3, next_attempt_at) \
                     WHERE id = $4 AND lease_holder = $5 AND state = 'pending'",
                )
                .bind(error)
                .bind(state)
                .bind(next)
                .bind(id)
                .bind(worker)
                .execute(self.writer())
                .await
                .map_err(crate::error::db("recording a failed delivery"))?;
                Ok(done.rows_affected() == 1)
            }

            async fn list_dead(
                &self,
                space: &str,
                limit: usize,
            ) -> Result<Vec<messenger_store::OutboxEvent>, messenger_store::StoreError> {
                let rows: Vec<crate::rows::EventRow> = sqlx::query_as(concat!(
                    "SELECT ",
                    crate::rows::event_columns!(),
                    " FROM outbox WHERE space = $1 AND state = 'dead' ORDER BY id LIMIT $2"
                ))
                .bind(space)
                .bind(crate::rows::to_i64(limit))
                .fetch_all(self.reader())
                .await
                .map_err(crate::error::db("listing dead events"))?;
                rows.into_iter()
                    .map(crate::rows::EventRow::into_event)
                    .collect()
            }

            async fn events_by_id(
                &self,
                space: &str,
                event_ids: &[String],
            ) -> Result<Vec<messenger_store::OutboxEvent>, messenger_store::StoreError> {
                if event_ids.is_empty() {
                    return Ok(Vec::new());
                }
                let mut select = sqlx::QueryBuilder::<$db>::new(concat!(
                    "SELECT ",
                    crate::rows::event_columns!(),
                    " FROM outbox WHERE space = "
                ));
                select.push_bind(space).push(" AND event_id IN (");
                let mut ids = select.separated(", ");
                for id in event_ids {
                    ids.push_bind(id.as_str());
                }
                select.push(") ORDER BY id");
                let rows: Vec<crate::rows::EventRow> = select
                    .build_query_as()
                    .fetch_all(self.reader())
                    .await
                    .map_err(crate::error::db("reading a message's events"))?;
                rows.into_iter()
                    .map(crate::rows::EventRow::into_event)
                    .collect()
            }

            async fn redrive(
                &self,
                space: &str,
                event_id: &str,
                now: messenger_model::Timestamp,
            ) -> Result<u64, messenger_store::StoreError> {
                let done = sqlx::query(
                    "UPDATE outbox SET state = 'pending', attempts = 0, next_attempt_at = $1, \
                     lease_holder = NULL, lease_expires_at = NULL \
                     WHERE space = $2 AND event_id = $3 AND state = 'dead'",
                )
                .bind(now.millis())
                .bind(space)
                .bind(event_id)
                .execute(self.writer())
                .await
                .map_err(crate::error::db("redriving an event"))?;
                Ok(done.rows_affected())
            }

            async fn event_counts(&self) -> Result<(u64, u64), messenger_store::StoreError> {
                let (pending, dead): (i64, i64) = sqlx::query_as(
                    "SELECT (SELECT COUNT(*) FROM outbox WHERE state = 'pending'), \
                     (SELECT COUNT(*) FROM outbox WHERE state = 'dead')",
                )
                .fetch_one(self.reader())
                .await
                .map_err(crate::error::db("counting outbox events"))?;
                Ok((
                    u64::try_from(pending).unwrap_or(0),
                    u64::try_from(dead).unwrap_or(0),
                ))
            }

            async fn purge_delivered(
                &self,
                before: messenger_model::Timestamp,
            ) -> Result<u64, messenger_store::StoreError> {
                let done = sqlx::query(
                    "DELETE FROM outbox WHERE state = 'delivered' AND created_at < $1",
                )
                .bind(before.millis())
                .execute(self.writer())
                .await
                .map_err(crate::error::db("purging delivered events"))?;
                Ok(done.rows_affected())
            }
        }

        #[async_trait::async_trait]
        impl messenger_store::WebhookInbox for $store {
            async fn mark_seen(
                &self,
                key: &str,
                now: messenger_model::Timestamp,
            ) -> Result<bool, messenger_store::StoreError> {
                let done = sqlx::query(
                    "INSERT INTO seen_events (key, seen_at) VALUES ($1, $2) \
                     ON CONFLICT (key) DO NOTHING",
                )
                .bind(key)
                .bind(now.millis())
                .execute(self.writer())
                .await
                .map_err(crate::error::db("marking an event seen"))?;
                Ok(done.rows_affected() == 1)
            }

            async fn is_seen(&self, key: &str) -> Result<bool, messenger_store::StoreError> {
                let found: Option<i64> =
                    sqlx::query_scalar("SELECT seen_at FROM seen_events WHERE key = $1")
                        .bind(key)
                        .fetch_optional(self.reader())
                        .await
                        .map_err(crate::error::db("reading seen events"))?;
                Ok(found.is_some())
            }

            async fn seen_among(
                &self,
                keys: &[String],
            ) -> Result<std::collections::HashSet<String>, messenger_store::StoreError> {
                let mut seen = std::collections::HashSet::new();
                for chunk in keys.chunks(crate::impls::settle::SETTLE_CHUNK) {
                    let mut select = sqlx::QueryBuilder::new("SELECT key FROM seen_events WHERE key IN (");
                    let mut list = select.separated(", ");
                    for key in chunk {
                        list.push_bind(key);
                    }
                    select.push(")");
                    let found: Vec<String> = select
                        .build_query_scalar()
                        .fetch_all(self.reader())
                        .await
                        .map_err(crate::error::db("reading seen events"))?;
                    seen.extend(found);
                }
                Ok(seen)
            }

            async fn purge_seen(
                &self,
                before: messenger_model::Timestamp,
            ) -> Result<u64, messenger_store::StoreError> {
                let done = sqlx::query("DELETE FROM seen_events WHERE seen_at < $1")
                    .bind(before.millis())
                    .execute(self.writer())
                    .await
                    .map_err(crate::error::db("purging seen events"))?;
                Ok(done.rows_affected())
            }
        }

        impl $store {
            /// The unexpired token of `space`; `fresh` reads through the writer pool, so a
            /// binding just written is seen.
            async fn read_optin_token(
                &self,
                space: &str,
                token: &str,
                now: messenger_model::Timestamp,
                fresh: bool,
            ) -> Result<Option<messenger_store::OptinToken>, messenger_store::StoreError> {
                let pool = if fresh { self.writer() } else { self.reader() };
                let row: Option<crate::rows::TokenRow> = sqlx::query_as(&format!(
                    "SELECT {} FROM optin_tokens WHERE token = $1 AND space = $2 \
                     AND expires_at > $3",
                    crate::rows::TokenRow::COLUMNS
                ))
                .bind(token)
                .bind(space)
                .bind(now.millis())
                .fetch_optional(pool)
                .await
                .map_err(crate::error::db("reading an opt-in token"))?;
                row.map(crate::rows::TokenRow::into_token).transpose()
            }
        }

        #[async_trait::async_trait]
        impl messenger_store::OptinTokens for $store {
            async fn put_optin_token(
                &self,
                token: messenger_store::OptinToken,
            ) -> Result<(), messenger_store::StoreError> {
                if token.token.is_empty() {
                    return Err(messenger_store::StoreError::invalid(
                        "an opt-in token must not be empty",
                    ));
                }
                let data = token
                    .data
                    .as_ref()
                    .map(|d| crate::rows::to_json("opt-in token data", d))
                    .transpose()?;
                let done = sqlx::query(
                    "INSERT INTO optin_tokens (token, space, profile_id, data, created_at, \
                     expires_at) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (token) DO NOTHING",
                )
                .bind(&token.token)
                .bind(&token.space)
                .bind(&token.profile_id)
                .bind(data)
                .bind(token.created_at.millis())
                .bind(token.expires_at.millis())
                .execute(self.writer())
                .await
                .map_err(crate::error::db("storing an opt-in token"))?;
                if done.rows_affected() == 0 {
                    return Err(messenger_store::StoreError::conflict(
                        "this opt-in token is already stored",
                    ));
                }
                Ok(())
            }

            async fn get_optin_token(
                &self,
                space: &str,
                token: &str,
                now: messenger_model::Timestamp,
            ) -> Result<Option<messenger_store::OptinToken>, messenger_store::StoreError> {
                self.read_optin_token(space, token, now, false).await
            }

            async fn redeem_optin_token(
                &self,
                space: &str,
                token: &str,
                page_id: &str,
                psid: &str,
                now: messenger_model::Timestamp,
            ) -> Result<messenger_store::Redemption, messenger_store::StoreError> {
                // Binds the token if it is unbound. Of two racing redemptions, the second waits
                // for the first's row lock and then finds the token bound (PostgreSQL
                // re-checks the condition on the updated row; SQLite writes one at a time).
                sqlx::query(
                    "UPDATE optin_tokens SET bound_page_id = $4, bound_psid = $5, bound_at = $3 \
                     WHERE token = $1 AND space = $2 AND expires_at > $3 AND bound_psid IS NULL",
                )
                .bind(token)
                .bind(space)
                .bind(now.millis())
                .bind(page_id)
                .bind(psid)
                .execute(self.writer())
                .await
                .map_err(crate::error::db("redeeming an opt-in token"))?;
                let Some(stored) = self.read_optin_token(space, token, now, true).await? else {
                    return Ok(messenger_store::Redemption::Unknown);
                };
                let ours = stored
                    .bound_to
                    .as_ref()
                    .is_some_and(|b| b.page_id == page_id && b.psid == psid);
                Ok(if ours {
                    messenger_store::Redemption::Redeemed(stored)
                } else {
                    messenger_store::Redemption::UsedByAnother(stored)
                })
            }

            async fn purge_expired_optin_tokens(
                &self,
                now: messenger_model::Timestamp,
            ) -> Result<u64, messenger_store::StoreError> {
                let done = sqlx::query("DELETE FROM optin_tokens WHERE expires_at <= $1")
                    .bind(now.millis())
                    .execute(self.writer())
                    .await
                    .map_err(crate::error::db("purging opt-in tokens"))?;
                Ok(done.rows_affected())
            }
        }
    };
}
pub(crate) use impl_outbox;
