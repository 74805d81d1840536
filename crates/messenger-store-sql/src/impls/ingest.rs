//! [`WebhookQueue`](messenger_store::WebhookQueue) for a SQL backend, written once for both.

/// Bodies per multi-row insert (3 binds each: well under both backends' bind limits).
pub(crate) const ENQUEUE_CHUNK: usize = 500;

/// Implements `WebhookQueue` for `$store`; `$skip` is the suffix of the leasing select
/// (`" FOR UPDATE SKIP LOCKED"` on PostgreSQL), `$contains` the condition "`body` contains the
/// bytes bound as `$2`".
macro_rules! impl_webhook_queue {
    ($store:ty, skip_locked = $skip:literal, contains = $contains:literal) => {
        #[async_trait::async_trait]
        impl messenger_store::WebhookQueue for $store {
            async fn enqueue_webhooks(
                &self,
                bodies: Vec<Vec<u8>>,
                received_at: messenger_model::Timestamp,
            ) -> Result<Vec<i64>, messenger_store::StoreError> {
                if bodies.is_empty() {
                    return Ok(Vec::new());
                }
                let at = received_at.millis();
                let mut tx = self.begin_write().await?;
                let mut ids = Vec::with_capacity(bodies.len());
                // Multi-row inserts: one statement per chunk, not per body.
                for chunk in bodies.chunks(crate::impls::ingest::ENQUEUE_CHUNK) {
                    let mut insert = sqlx::QueryBuilder::new(
                        "INSERT INTO webhook_queue (body, received_at, next_attempt_at) ",
                    );
                    insert.push_values(chunk, |mut b, body| {
                        b.push_bind(body.as_slice()).push_bind(at).push_bind(at);
                    });
                    insert.push(" RETURNING id");
                    let inserted: Result<Vec<i64>, _> =
                        insert.build_query_scalar().fetch_all(&mut *tx).await;
                    match inserted {
                        // Ids grow in insertion order: sorted, they are in input order.
                        Ok(mut chunk_ids) => {
                            chunk_ids.sort_unstable();
                            ids.extend(chunk_ids);
                        }
                        Err(e) => {
                            Self::rollback(tx).await?;
                            return Err(crate::error::db_error("queueing webhook bodies", e));
                        }
                    }
                }
                self.commit(tx).await?;
                Ok(ids)
            }

            async fn lease_webhooks(
                &self,
                worker: &str,
                now: messenger_model::Timestamp,
                limit: usize,
                lease_for: std::time::Duration,
            ) -> Result<Vec<messenger_store::QueuedWebhook>, messenger_store::StoreError> {
                if limit == 0 {
                    return Ok(Vec::new());
                }
                let expires_at =
                    now.add_millis(messenger_store::implementors::lease_millis(lease_for));
                let mut rows: Vec<(i64, Vec<u8>, i64, i64)> = sqlx::query_as(concat!(
                    "UPDATE webhook_queue SET lease_holder = $1, lease_expires_at = $2, \
                     attempts = attempts + 1 WHERE id IN (\
                       SELECT id FROM webhook_queue WHERE next_attempt_at <= $3 \
                       AND (lease_expires_at IS NULL OR lease_expires_at <= $3) \
                       ORDER BY id LIMIT $4",
                    $skip,
                    ") RETURNING id, body, received_at, attempts"
                ))
                .bind(worker)
                .bind(expires_at.millis())
                .bind(now.millis())
                .bind(crate::rows::to_i64(limit))
                .fetch_all(self.writer())
                .await
                .map_err(crate::error::db("leasing webhook bodies"))?;
                rows.sort_by_key(|r| r.0);
                Ok(rows
                    .into_iter()
                    .map(
                        |(id, body, received_at, attempts)| messenger_store::QueuedWebhook {
                            id,
                            body,
                            received_at: messenger_model::Timestamp::from_millis(received_at),
                            attempts: u32::try_from(attempts).unwrap_or(u32::MAX),
                        },
                    )
                    .collect())
            }

            async fn complete_webhooks(
                &self,
                ids: &[i64],
            ) -> Result<u64, messenger_store::StoreError> {
                if ids.is_empty() {
                    return Ok(0);
                }
                let mut removed = 0;
                for chunk in ids.chunks(crate::impls::settle::SETTLE_CHUNK) {
                    let mut delete =
                        sqlx::QueryBuilder::new("DELETE FROM webhook_queue WHERE id IN (");
                    let mut list = delete.separated(", ");
                    for id in chunk {
                        list.push_bind(*id);
                    }
                    delete.push(")");
                    removed += delete
                        .build()
                        .execute(self.writer())
                        .await
                        .map_err(crate::error::db("removing applied webhook bodies"))?
                        .rows_affected();
                }
                Ok(removed)
            }

            async fn release_webhook(
                &self,
                id: i64,
                worker: &str,
                retry_at: messenger_model::Timestamp,
            ) -> Result<bool, messenger_store::StoreError> {
                let done = sqlx::query(
                    "UPDATE webhook_queue SET lease_holder = NULL, lease_expires_at = NULL, \
                     next_attempt_at = $1 WHERE id = $2 AND lease_holder = $3",
                )
                .bind(retry_at.millis())
                .bind(id)
                .bind(worker)
                .execute(self.writer())
                .await
                .map_err(crate::error::db("releasing a webhook body"))?;
                Ok(done.rows_affected() == 1)
            }

            async fn webhook_backlog(&self) -> Result<u64, messenger_store::StoreError> {
                let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM webhook_queue")
                    .fetch_one(self.reader())
                    .await
                    .map_err(crate::error::db("counting webhook bodies"))?;
                Ok(u64::try_from(n).unwrap_or(0))
            }

            async fn webhook_queued_mentioning(
                &self,
                needle: &[u8],
                received_by: messenger_model::Timestamp,
            ) -> Result<bool, messenger_store::StoreError> {
                if needle.is_empty() {
                    return Err(messenger_store::StoreError::invalid("an empty needle"));
                }
                let (found,): (bool,) = sqlx::query_as(concat!(
                    "SELECT EXISTS (SELECT 1 FROM webhook_queue WHERE received_at <= $1 AND ",
                    $contains,
                    ")"
                ))
                .bind(received_by.millis())
                .bind(needle)
                .fetch_one(self.reader())
                .await
                .map_err(crate::error::db("searching the webhook queue"))?;
                Ok(found)
            }

            async fn recover_webhook_leases_of(
                &self,
                holder_prefix: &str,
            ) -> Result<u64, messenger_store::StoreError> {
                messenger_store::implementors::check_holder_prefix(holder_prefix)?;
                // substr/length rather than LIKE: an instance id may contain % or _.
                let done = sqlx::query(
                    "UPDATE webhook_queue SET lease_holder = NULL, lease_expires_at = NULL \
                     WHERE lease_holder IS NOT NULL \
                     AND substr(lease_holder, 1, length($1)) = $1",
                )
                .bind(holder_prefix)
                .execute(self.writer())
                .await
                .map_err(crate::error::db(
                    "recovering an instance's own webhook leases",
                ))?;
                Ok(done.rows_affected())
            }

            async fn recover_all_webhook_leases(&self) -> Result<u64, messenger_store::StoreError> {
                let done = sqlx::query(
                    "UPDATE webhook_queue SET lease_holder = NULL, lease_expires_at = NULL \
                     WHERE lease_holder IS NOT NULL",
                )
                .execute(self.writer())
                .await
                .map_err(crate::error::db("recovering every webhook lease"))?;
                Ok(done.rows_affected())
            }
        }
    };
}

pub(crate) use impl_webhook_queue;
