//! [`DeliveryDeadlines`](messenger_store::DeliveryDeadlines) for a SQL backend, written once for
//! both.
//!
//! A claim is one transaction: select the passed deadlines (the partial index
//! `messages_delivery_deadline` holds only messages that have one), earliest first, apply the
//! rule of [`MessageRecord::miss_delivery_deadline`](messenger_store::MessageRecord::miss_delivery_deadline)
//! in Rust and write each message back with its deadline cleared. On PostgreSQL the select ends
//! in `FOR UPDATE SKIP LOCKED`, so instances claiming at the same moment take disjoint messages,
//! and a row committed meanwhile is read again with its deadline gone; on SQLite the write
//! transaction is exclusive. Either way a deadline is claimed once.

/// Implements `DeliveryDeadlines` for `$store` (database `$db`); `$skip` is the suffix of the
/// claiming select (`" FOR UPDATE SKIP LOCKED"` on PostgreSQL).
macro_rules! impl_delivery_deadlines {
    ($store:ty, $db:ty, skip_locked = $skip:literal) => {
        #[async_trait::async_trait]
        impl messenger_store::DeliveryDeadlines for $store {
            async fn claim_delivery_deadlines(
                &self,
                now: messenger_model::Timestamp,
                limit: usize,
            ) -> Result<Vec<messenger_store::MessageRecord>, messenger_store::StoreError> {
                if limit == 0 {
                    return Ok(Vec::new());
                }
                let mut tx = self.begin_write().await?;
                let result = async {
                    let rows: Vec<crate::rows::MessageRow> = sqlx::query_as(concat!(
                        "SELECT ",
                        crate::rows::message_columns!(),
                        " FROM messages WHERE delivery_deadline IS NOT NULL \
                         AND delivery_deadline <= $1 ORDER BY delivery_deadline, seq LIMIT $2",
                        $skip
                    ))
                    .bind(now.millis())
                    .bind(crate::rows::to_i64(limit))
                    .fetch_all(&mut *tx)
                    .await
                    .map_err(crate::error::db("reading passed delivery deadlines"))?;
                    let mut reopened = Vec::with_capacity(rows.len());
                    for row in rows {
                        let mut message = row.into_record()?;
                        let due = message.miss_delivery_deadline(now);
                        Self::save_message_state(&mut tx, &message).await?;
                        if due {
                            reopened.push(message);
                        }
                    }
                    Ok(reopened)
                }
                .await;
                self.finish(tx, result).await
            }
        }
    };
}
pub(crate) use impl_delivery_deadlines;
