//! [`PageConnectionRecord`](messenger_store::PageConnectionRecord) for a SQL backend, written
//! once for both: table `webhook_sightings`, one row per page and field, each upsert keeping the
//! later time (`ON CONFLICT ... DO UPDATE ... WHERE excluded.last_seen_at > ...`), so instances
//! recording in any order leave the latest.

/// Implements `PageConnectionRecord` for `$store`.
macro_rules! impl_page_connection_record {
    ($store:ty) => {
        #[async_trait::async_trait]
        impl messenger_store::PageConnectionRecord for $store {
            async fn record_webhook_sightings(
                &self,
                sightings: &[messenger_store::WebhookSighting],
            ) -> Result<(), messenger_store::StoreError> {
                messenger_store::implementors::check_sightings(sightings)?;
                if sightings.is_empty() {
                    return Ok(());
                }
                let mut tx = self.begin_write().await?;
                for s in sightings {
                    sqlx::query(
                        "INSERT INTO webhook_sightings (page_id, field, last_seen_at) \
                         VALUES ($1, $2, $3) \
                         ON CONFLICT (page_id, field) DO UPDATE \
                         SET last_seen_at = excluded.last_seen_at \
                         WHERE excluded.last_seen_at > webhook_sightings.last_seen_at",
                    )
                    .bind(&s.page_id)
                    .bind(&s.field)
                    .bind(s.at.millis())
                    .execute(&mut *tx)
                    .await
                    .map_err(crate::error::db("recording a webhook sighting"))?;
                }
                self.commit(tx).await
            }

            async fn webhook_sightings(
                &self,
                page_id: &str,
            ) -> Result<Vec<messenger_store::WebhookSighting>, messenger_store::StoreError> {
                let rows: Vec<(String, i64)> = sqlx::query_as(
                    "SELECT field, last_seen_at FROM webhook_sightings \
                     WHERE page_id = $1 ORDER BY field",
                )
                .bind(page_id)
                .fetch_all(self.reader())
                .await
                .map_err(crate::error::db("reading the webhook sightings"))?;
                Ok(rows
                    .into_iter()
                    .map(|(field, at)| {
                        messenger_store::WebhookSighting::new(
                            page_id,
                            field,
                            messenger_model::Timestamp::from_millis(at),
                        )
                    })
                    .collect())
            }
        }
    };
}
pub(crate) use impl_page_connection_record;
