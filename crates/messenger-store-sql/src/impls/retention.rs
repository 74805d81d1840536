//! [`Retention`](messenger_store::Retention) for a SQL backend, written once for both.
//!
//! Each call is one short write transaction over at most `limit` rows (the caller's batch,
//! at most `MAX_RETENTION_BATCH`), chosen by a partial index on the time the retention runs
//! from, oldest first. On PostgreSQL the batch is taken `FOR UPDATE SKIP LOCKED`, so two
//! instances purging at once take different rows and neither waits for the other (nor for a
//! worker holding a message); SQLite has one writer. Redaction loads the rows and applies
//! `MessageRecord::redact` in Rust, so the rule exists once.

/// Implements `Retention` for `$store` (database `$db`); `$skip_locked` is the lock suffix of
/// the select that takes a batch.
macro_rules! impl_retention {
    ($store:ty, $db:ty, skip_locked = $skip_locked:literal) => {
        impl $store {
            /// Appends `AND space ...` for `scope` to `q`.
            fn push_space_scope(
                q: &mut sqlx::QueryBuilder<'_, $db>,
                scope: &messenger_store::SpaceScope,
            ) {
                match scope {
                    messenger_store::SpaceScope::Only(space) => {
                        q.push(" AND space = ").push_bind(space.clone());
                    }
                    messenger_store::SpaceScope::Except(spaces) if spaces.is_empty() => {}
                    messenger_store::SpaceScope::Except(spaces) => {
                        q.push(" AND space NOT IN (");
                        let mut list = q.separated(", ");
                        for space in spaces {
                            list.push_bind(space.clone());
                        }
                        q.push(")");
                    }
                }
            }

            /// Ends a batch's select: the oldest `limit` rows by `order`, locked (skipping rows
            /// another transaction holds) where the backend locks rows.
            fn push_batch(q: &mut sqlx::QueryBuilder<'_, $db>, order: &str, limit: usize) {
                q.push(" ORDER BY ")
                    .push(order)
                    .push(" LIMIT ")
                    .push_bind(i64::try_from(limit).unwrap_or(i64::MAX))
                    .push($skip_locked);
            }

            /// Runs `q` (a complete statement) in its own write transaction; rows affected.
            async fn retention_statement(
                &self,
                mut q: sqlx::QueryBuilder<'_, $db>,
                what: &'static str,
            ) -> Result<u64, messenger_store::StoreError> {
                let mut tx = self.begin_write().await?;
                let done = q.build().execute(&mut *tx).await;
                let result = done
                    .map(|d| d.rows_affected())
                    .map_err(crate::error::db(what));
                self.finish(tx, result).await
            }

            /// Runs one batch statement in its own write transaction: `head` ends with the
            /// comparison of the time the limit runs from (`... < `); then `before`, the scope
            /// (when the table has spaces), the batch's order and limit, and the parenthesis
            /// closing the sub-select that chose the batch. Rows affected.
            async fn batch_statement(
                &self,
                head: &'static str,
                before: messenger_model::Timestamp,
                scope: Option<&messenger_store::SpaceScope>,
                order: &str,
                limit: usize,
                what: &'static str,
            ) -> Result<u64, messenger_store::StoreError> {
                messenger_store::implementors::check_batch(limit)?;
                let mut q = sqlx::QueryBuilder::<$db>::new(head);
                q.push_bind(before.millis());
                if let Some(scope) = scope {
                    Self::push_space_scope(&mut q, scope);
                }
                Self::push_batch(&mut q, order, limit);
                q.push(")");
                self.retention_statement(q, what).await
            }

            /// The oldest time in a one-column query's answer (`None`: no rows).
            async fn oldest_of(
                &self,
                sql: &'static str,
            ) -> Result<Option<messenger_model::Timestamp>, messenger_store::StoreError> {
                let found: Option<Option<i64>> = sqlx::query_scalar(sql)
                    .fetch_optional(self.reader())
                    .await
                    .map_err(crate::error::db("reading a table's oldest row"))?;
                Ok(found.flatten().map(messenger_model::Timestamp::from_millis))
            }

            async fn redact_in(
                tx: &mut sqlx::Transaction<'static, $db>,
                scope: &messenger_store::SpaceScope,
                settled_before: messenger_model::Timestamp,
                now: messenger_model::Timestamp,
                limit: usize,
            ) -> Result<u64, messenger_store::StoreError> {
                let mut q = sqlx::QueryBuilder::<$db>::new(concat!(
                    "SELECT ",
                    crate::rows::message_columns!(),
                    " FROM messages WHERE settled_at IS NOT NULL AND redacted_at IS NULL \
                     AND delivery_deadline IS NULL AND settled_at < "
                ));
                q.push_bind(settled_before.millis());
                Self::push_space_scope(&mut q, scope);
                Self::push_batch(&mut q, "settled_at", limit);
                let rows: Vec<crate::rows::MessageRow> = q
                    .build_query_as()
                    .fetch_all(&mut **tx)
                    .await
                    .map_err(crate::error::db("reading messages to redact"))?;
                let count = rows.len() as u64;
                for row in rows {
                    let mut m = row.into_record()?;
                    m.redact(now);
                    let error = m
                        .error
                        .as_ref()
                        .map(|e| crate::rows::to_json("message error", e))
                        .transpose()?;
                    sqlx::query(
                        "UPDATE messages SET request = $1, recipient_key = $2, \
                         sent_page_id = NULL, sent_psid = NULL, error = $3, redacted_at = $4, \
                         status_history = $5, rule_trace = $6 WHERE id = $7",
                    )
                    .bind(crate::rows::to_json("message request", &m.request)?)
                    .bind(&m.recipient_key)
                    .bind(error)
                    .bind(now.millis())
                    .bind(crate::rows::to_json("status history", &m.status_history)?)
                    .bind(crate::rows::to_json("rule trace", &m.rule_trace)?)
                    .bind(&m.id)
                    .execute(&mut **tx)
                    .await
                    .map_err(crate::error::db("redacting a message"))?;
                }
                Ok(count)
            }

            async fn purge_messages_in(
                tx: &mut sqlx::Transaction<'static, $db>,
                scope: &messenger_store::SpaceScope,
                settled_before: messenger_model::Timestamp,
                limit: usize,
            ) -> Result<u64, messenger_store::StoreError> {
                let mut q = sqlx::QueryBuilder::<$db>::new(
                    "SELECT seq, id FROM messages WHERE settled_at IS NOT NULL AND settled_at < ",
                );
                q.push_bind(settled_before.millis());
                Self::push_space_scope(&mut q, scope);
                Self::push_batch(&mut q, "settled_at", limit);
                let rows: Vec<(i64, String)> = q
                    .build_query_as()
                    .fetch_all(&mut **tx)
                    .await
                    .map_err(crate::error::db("reading messages to purge"))?;
                if rows.is_empty() {
                    return Ok(0);
                }
                let mut ids =
                    sqlx::QueryBuilder::<$db>::new("DELETE FROM graph_message_ids WHERE message_id IN (");
                let mut list = ids.separated(", ");
                for (_, id) in &rows {
                    list.push_bind(id.as_str());
                }
                ids.push(")");
                ids.build()
                    .execute(&mut **tx)
                    .await
                    .map_err(crate::error::db("purging Graph message ids"))?;
                let mut messages = sqlx::QueryBuilder::<$db>::new("DELETE FROM messages WHERE seq IN (");
                let mut list = messages.separated(", ");
                for (seq, _) in &rows {
                    list.push_bind(*seq);
                }
                messages.push(")");
                let done = messages
                    .build()
                    .execute(&mut **tx)
                    .await
                    .map_err(crate::error::db("purging messages"))?;
                Ok(done.rows_affected())
            }
        }

        #[async_trait::async_trait]
        impl messenger_store::Retention for $store {
            async fn redact_messages(
                &self,
                scope: &messenger_store::SpaceScope,
                settled_before: messenger_model::Timestamp,
                now: messenger_model::Timestamp,
                limit: usize,
            ) -> Result<u64, messenger_store::StoreError> {
                messenger_store::implementors::check_batch(limit)?;
                let mut tx = self.begin_write().await?;
                let result = Self::redact_in(&mut tx, scope, settled_before, now, limit).await;
                self.finish(tx, result).await
            }

            async fn purge_messages(
                &self,
                scope: &messenger_store::SpaceScope,
                settled_before: messenger_model::Timestamp,
                limit: usize,
            ) -> Result<u64, messenger_store::StoreError> {
                messenger_store::implementors::check_batch(limit)?;
                let mut tx = self.begin_write().await?;
                let result = Self::purge_messages_in(&mut tx, scope, settled_before, limit).await;
                self.finish(tx, result).await
            }

            async fn forget_idempotency_keys(
                &self,
                scope: &messenger_store::SpaceScope,
                created_before: messenger_model::Timestamp,
                limit: usize,
            ) -> Result<u64, messenger_store::StoreError> {
                self.batch_statement(
                    "UPDATE messages SET idempotency_key = NULL, request_hash = NULL \
                     WHERE seq IN (SELECT seq FROM messages WHERE idempotency_key IS NOT NULL \
                     AND created_at < ",
                    created_before,
                    Some(scope),
                    "created_at",
                    limit,
                    "forgetting idempotency keys",
                )
                .await
            }

            async fn purge_dead_events(
                &self,
                scope: &messenger_store::SpaceScope,
                created_before: messenger_model::Timestamp,
                limit: usize,
            ) -> Result<u64, messenger_store::StoreError> {
                self.batch_statement(
                    "DELETE FROM outbox WHERE id IN (SELECT id FROM outbox \
                     WHERE state = 'dead' AND created_at < ",
                    created_before,
                    Some(scope),
                    "created_at",
                    limit,
                    "purging dead events",
                )
                .await
            }

            async fn purge_quarantined(
                &self,
                quarantined_before: messenger_model::Timestamp,
                limit: usize,
            ) -> Result<u64, messenger_store::StoreError> {
                self.batch_statement(
                    "DELETE FROM webhook_quarantine WHERE seq IN (SELECT seq \
                     FROM webhook_quarantine WHERE quarantined_at < ",
                    quarantined_before,
                    None,
                    "quarantined_at",
                    limit,
                    "purging quarantined events",
                )
                .await
            }

            async fn purge_inbound_window(
                &self,
                before: messenger_model::Timestamp,
                limit: usize,
            ) -> Result<u64, messenger_store::StoreError> {
                self.batch_statement(
                    "DELETE FROM inbound_window WHERE (space, page_id, psid) IN \
                     (SELECT space, page_id, psid FROM inbound_window WHERE last_inbound_at < ",
                    before,
                    None,
                    "last_inbound_at",
                    limit,
                    "purging last-inbound times",
                )
                .await
            }

            async fn oldest_rows(
                &self,
            ) -> Result<
                Vec<(messenger_store::StoreTable, messenger_model::Timestamp)>,
                messenger_store::StoreError,
            > {
                use messenger_store::StoreTable;
                let mut oldest = Vec::new();
                for table in StoreTable::ALL {
                    // Each an index's first entry (or a small table's minimum).
                    let sql = match table {
                        StoreTable::Messages => {
                            "SELECT created_at FROM messages ORDER BY seq LIMIT 1"
                        }
                        StoreTable::Outbox => "SELECT created_at FROM outbox ORDER BY id LIMIT 1",
                        StoreTable::SeenEvents => "SELECT MIN(seen_at) FROM seen_events",
                        StoreTable::OptinTokens => "SELECT MIN(created_at) FROM optin_tokens",
                        StoreTable::WebhookQuarantine => {
                            "SELECT MIN(quarantined_at) FROM webhook_quarantine"
                        }
                        StoreTable::HeldReceipts => {
                            "SELECT MIN(h) FROM (SELECT MIN(held_at) AS h FROM held_receipt_mids \
                             UNION ALL SELECT MIN(held_at) AS h FROM held_watermarks) AS held"
                        }
                        StoreTable::InboundWindow => {
                            "SELECT MIN(last_inbound_at) FROM inbound_window"
                        }
                    };
                    if let Some(at) = self.oldest_of(sql).await? {
                        oldest.push((table, at));
                    }
                }
                Ok(oldest)
            }
        }
    };
}

pub(crate) use impl_retention;
