//! [`PageConnectionRecord`](messenger_store::PageConnectionRecord) for a SQL backend, written
//! once for both: table `webhook_sightings`, one row per page and field, each upsert keeping the
//! later time (`ON CONFLICT ... DO UPDATE ... WHERE excluded.last_seen_at > ...`), so instances
//! recording in any order leave the latest; and table `page_reauth`, one row per page whose
//! token an instance found stopped working.

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

            async fn record_page_reauth(
                &self,
                reauth: &messenger_store::PageReauth,
            ) -> Result<(), messenger_store::StoreError> {
                reauth.validate()?;
                sqlx::query(
                    "INSERT INTO page_reauth (page_id, problem, reason, since, instance) \
                     VALUES ($1, $2, $3, $4, $5) \
                     ON CONFLICT (page_id) DO UPDATE SET problem = excluded.problem, \
                     reason = excluded.reason, instance = excluded.instance, \
                     since = CASE WHEN excluded.since < page_reauth.since \
                     THEN excluded.since ELSE page_reauth.since END",
                )
                .bind(&reauth.page_id)
                .bind(&reauth.problem)
                .bind(&reauth.reason)
                .bind(reauth.since.millis())
                .bind(&reauth.instance)
                .execute(self.writer())
                .await
                .map_err(crate::error::db("recording a page's token state"))?;
                Ok(())
            }

            async fn clear_page_reauth(
                &self,
                page_id: &str,
            ) -> Result<bool, messenger_store::StoreError> {
                let done = sqlx::query("DELETE FROM page_reauth WHERE page_id = $1")
                    .bind(page_id)
                    .execute(self.writer())
                    .await
                    .map_err(crate::error::db("clearing a page's token state"))?;
                Ok(done.rows_affected() > 0)
            }

            async fn page_reauth(
                &self,
                page_id: &str,
            ) -> Result<Option<messenger_store::PageReauth>, messenger_store::StoreError> {
                let row: Option<(String, String, i64, String)> = sqlx::query_as(
                    "SELECT problem, reason, since, instance FROM page_reauth WHERE page_id = $1",
                )
                .bind(page_id)
                .fetch_optional(self.reader())
                .await
                .map_err(crate::error::db("reading a page's token state"))?;
                Ok(row.map(
                    |(problem, reason, since, instance)| messenger_store::PageReauth {
                        page_id: page_id.to_owned(),
                        problem,
                        reason,
                        since: messenger_model::Timestamp::from_millis(since),
                        instance,
                    },
                ))
            }
        }
    };
}
pub(crate) use impl_page_connection_record;
