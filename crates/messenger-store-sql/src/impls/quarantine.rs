//! [`Quarantine`](messenger_store::Quarantine) for a SQL backend, written once for both.

/// A row of `webhook_quarantine`.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct QuarantineRow {
    pub key: String,
    pub reason: String,
    pub page_id: Option<String>,
    pub raw: Vec<u8>,
    pub received_at: i64,
    pub quarantined_at: i64,
}

impl QuarantineRow {
    pub(crate) fn into_event(self) -> messenger_store::QuarantinedEvent {
        messenger_store::QuarantinedEvent {
            key: self.key,
            reason: self.reason,
            page_id: self.page_id,
            raw: self.raw,
            received_at: messenger_model::Timestamp::from_millis(self.received_at),
            quarantined_at: messenger_model::Timestamp::from_millis(self.quarantined_at),
        }
    }
}

/// Implements `Quarantine` for `$store`.
macro_rules! impl_quarantine {
    ($store:ty) => {
        #[async_trait::async_trait]
        impl messenger_store::Quarantine for $store {
            async fn quarantine(
                &self,
                events: Vec<messenger_store::QuarantinedEvent>,
            ) -> Result<u64, messenger_store::StoreError> {
                if events.is_empty() {
                    return Ok(0);
                }
                let mut tx = self.begin_write().await?;
                let mut added = 0;
                for e in &events {
                    added += sqlx::query(
                        "INSERT INTO webhook_quarantine \
                         (key, reason, page_id, raw, received_at, quarantined_at) \
                         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (key) DO NOTHING",
                    )
                    .bind(&e.key)
                    .bind(&e.reason)
                    .bind(e.page_id.as_deref())
                    .bind(&e.raw)
                    .bind(e.received_at.millis())
                    .bind(e.quarantined_at.millis())
                    .execute(&mut *tx)
                    .await
                    .map_err(crate::error::db("quarantining a webhook event"))?
                    .rows_affected();
                }
                self.commit(tx).await?;
                Ok(added)
            }

            async fn list_quarantined(
                &self,
                limit: usize,
            ) -> Result<Vec<messenger_store::QuarantinedEvent>, messenger_store::StoreError> {
                let rows: Vec<crate::impls::quarantine::QuarantineRow> = sqlx::query_as(
                    "SELECT key, reason, page_id, raw, received_at, quarantined_at \
                     FROM webhook_quarantine ORDER BY seq LIMIT $1",
                )
                .bind(crate::rows::to_i64(limit))
                .fetch_all(self.reader())
                .await
                .map_err(crate::error::db("listing quarantined webhook events"))?;
                Ok(rows
                    .into_iter()
                    .map(crate::impls::quarantine::QuarantineRow::into_event)
                    .collect())
            }

            async fn delete_quarantined(
                &self,
                key: &str,
            ) -> Result<bool, messenger_store::StoreError> {
                let done = sqlx::query("DELETE FROM webhook_quarantine WHERE key = $1")
                    .bind(key)
                    .execute(self.writer())
                    .await
                    .map_err(crate::error::db("deleting a quarantined webhook event"))?;
                Ok(done.rows_affected() > 0)
            }

            async fn quarantined_count(&self) -> Result<u64, messenger_store::StoreError> {
                let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM webhook_quarantine")
                    .fetch_one(self.reader())
                    .await
                    .map_err(crate::error::db("counting quarantined webhook events"))?;
                Ok(u64::try_from(n).unwrap_or(0))
            }
        }
    };
}
pub(crate) use impl_quarantine;
