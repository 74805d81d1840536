//! [`MessageStore`](messenger_store::MessageStore) for a SQL backend, written once for both.
//!
//! Changes load the row (locked), apply the rules of `messenger_store::MessageRecord` in Rust,
//! and write the row back in the same transaction, so every backend applies the same rules.

/// Implements `MessageStore` for `$store` (database `$db`); `$lock` as for profiles.
macro_rules! impl_message_store {
    ($store:ty, $db:ty, lock = $lock:literal) => {
        impl $store {
            /// The message `id` of `space`, locked for this transaction.
            async fn load_message_locked(
                tx: &mut sqlx::Transaction<'static, $db>,
                space: &str,
                id: &str,
            ) -> Result<messenger_store::MessageRecord, messenger_store::StoreError> {
                let row: Option<crate::rows::MessageRow> = sqlx::query_as(concat!(
                    "SELECT ",
                    crate::rows::message_columns!(),
                    " FROM messages WHERE id = $1 AND space = $2",
                    $lock
                ))
                .bind(id)
                .bind(space)
                .fetch_optional(&mut **tx)
                .await
                .map_err(crate::error::db("reading a message"))?;
                row.ok_or_else(|| messenger_store::StoreError::not_found("message", id))?
                    .into_record()
            }

            /// Writes the mutable part of a message back.
            async fn save_message_state(
                tx: &mut sqlx::Transaction<'static, $db>,
                m: &messenger_store::MessageRecord,
            ) -> Result<(), messenger_store::StoreError> {
                let s = crate::rows::MessageState::of(m)?;
                sqlx::query(crate::rows::UPDATE_MESSAGE_STATE)
                    .bind(s.status)
                    .bind(s.status_history)
                    .bind(s.rule_trace)
                    .bind(s.graph_message_ids)
                    .bind(s.channel)
                    .bind(s.error)
                    .bind(s.sent_at)
                    .bind(s.sent_page_id)
                    .bind(s.sent_psid)
                    .bind(s.next_attempt_at)
                    .bind(s.attempts)
                    .bind(s.lease_holder)
                    .bind(s.lease_expires_at)
                    .bind(s.delivery_deadline)
                    .bind(s.settled_at)
                    .bind(&m.id)
                    .execute(&mut **tx)
                    .await
                    .map_err(crate::error::db("writing a message"))?;
                Ok(())
            }

            /// Records Graph message id `mid` of message `id` in `tx`: a no-op when it is already
            /// the message's, a conflict when it is another message's.
            async fn record_graph_message_id(
                tx: &mut sqlx::Transaction<'static, $db>,
                space: &str,
                id: &str,
                mid: &str,
            ) -> Result<(), messenger_store::StoreError> {
                let inserted = sqlx::query(
                    "INSERT INTO graph_message_ids (space, mid, message_id) VALUES ($1, $2, $3) \
                     ON CONFLICT (space, mid) DO NOTHING",
                )
                .bind(space)
                .bind(mid)
                .bind(id)
                .execute(&mut **tx)
                .await
                .map_err(crate::error::db("recording a Graph message id"))?
                .rows_affected();
                if inserted == 0 {
                    let owner: Option<String> = sqlx::query_scalar(
                        "SELECT message_id FROM graph_message_ids WHERE space = $1 AND mid = $2",
                    )
                    .bind(space)
                    .bind(mid)
                    .fetch_optional(&mut **tx)
                    .await
                    .map_err(crate::error::db("reading a Graph message id"))?;
                    if owner.as_deref() != Some(id) {
                        return Err(messenger_store::StoreError::conflict(format!(
                            "Graph message id {mid:?} belongs to another message"
                        )));
                    }
                }
                Ok(())
            }

            /// Inserts `rows` in one transaction: all or none.
            async fn insert_rows(
                &self,
                mut rows: Vec<crate::rows::NewMessageRow>,
            ) -> Result<Vec<messenger_store::InsertOutcome>, messenger_store::StoreError> {
                let mut tx = self.begin_write().await?;
                let inserted = match (rows.pop(), rows.is_empty()) {
                    (Some(row), true) => Self::insert_one(&mut tx, row).await.map(|o| vec![o]),
                    (Some(row), false) => {
                        rows.push(row);
                        Self::insert_many(&mut tx, rows).await
                    }
                    (None, _) => Ok(Vec::new()),
                };
                self.finish(tx, inserted).await
            }

            /// Inserts a group of single messages (see [`crate::group`]) in one transaction;
            /// when that fails, each in its own, so a bad message fails only itself.
            async fn insert_group(
                self,
                rows: Vec<crate::rows::NewMessageRow>,
            ) -> Vec<Result<messenger_store::InsertOutcome, messenger_store::StoreError>> {
                if rows.len() > 1 {
                    if let Ok(outcomes) = self.insert_rows(rows.clone()).await {
                        return outcomes.into_iter().map(Ok).collect();
                    }
                }
                let mut results = Vec::with_capacity(rows.len());
                for row in rows {
                    results.push(self.insert_rows(vec![row]).await.and_then(|mut o| {
                        o.pop().ok_or_else(|| {
                            messenger_store::StoreError::invalid("an insert stored nothing")
                        })
                    }));
                }
                results
            }

            /// Inserts one message in `tx`, honouring its idempotency key.
            async fn insert_one(
                tx: &mut sqlx::Transaction<'static, $db>,
                row: crate::rows::NewMessageRow,
            ) -> Result<messenger_store::InsertOutcome, messenger_store::StoreError> {
                let inserted = sqlx::query(crate::rows::INSERT_MESSAGE)
                    .bind(&row.id)
                    .bind(&row.space)
                    .bind(row.recipient_key)
                    .bind(row.request)
                    .bind(row.idempotency_key.as_deref())
                    .bind(row.request_hash)
                    .bind(row.status_history)
                    .bind(row.created_at)
                    .bind(row.next_attempt_at)
                    .execute(&mut **tx)
                    .await
                    .map_err(|e| match crate::error::db_error("inserting a message", e) {
                        messenger_store::StoreError::Conflict { .. } => {
                            messenger_store::StoreError::conflict(format!(
                                "message id {:?} is already used",
                                row.id
                            ))
                        }
                        other => other,
                    })?
                    .rows_affected();
                if inserted == 1 {
                    return Ok(messenger_store::InsertOutcome::Inserted { id: row.id });
                }
                let existing: crate::rows::MessageRow = sqlx::query_as(concat!(
                    "SELECT ",
                    crate::rows::message_columns!(),
                    " FROM messages WHERE space = $1 AND idempotency_key = $2"
                ))
                .bind(&row.space)
                .bind(row.idempotency_key.as_deref())
                .fetch_one(&mut **tx)
                .await
                .map_err(crate::error::db("reading an idempotent message"))?;
                Ok(messenger_store::InsertOutcome::Existing(Box::new(
                    existing.into_record()?,
                )))
            }
            /// Inserts many messages in `tx` with multi-row `INSERT`s of
            /// [`INSERT_CHUNK`](crate::rows::INSERT_CHUNK) rows, honouring idempotency keys
            /// (within the batch too: a later row with a taken key is skipped by the same
            /// `ON CONFLICT`). Outcomes are in input order.
            async fn insert_many(
                tx: &mut sqlx::Transaction<'static, $db>,
                rows: Vec<crate::rows::NewMessageRow>,
            ) -> Result<Vec<messenger_store::InsertOutcome>, messenger_store::StoreError> {
                let mut outcomes = Vec::with_capacity(rows.len());
                for chunk in rows.chunks(crate::rows::INSERT_CHUNK) {
                    let mut insert = sqlx::QueryBuilder::<$db>::new(crate::rows::INSERT_MANY_HEAD);
                    insert.push_values(chunk, |mut b, row| {
                        b.push_bind(row.id.as_str())
                            .push_bind(row.space.as_str())
                            .push_bind(row.recipient_key.as_str())
                            .push_bind(row.request.as_str())
                            .push_bind(row.idempotency_key.as_deref())
                            .push_bind(row.request_hash.as_deref())
                            .push("'processing'")
                            .push_bind(row.status_history.as_str())
                            .push("'[]', '[]'")
                            .push_bind(row.created_at)
                            .push_bind(row.next_attempt_at)
                            .push("0");
                    });
                    insert.push(crate::rows::INSERT_MANY_TAIL);
                    let inserted: Vec<String> = insert
                        .build_query_scalar()
                        .fetch_all(&mut **tx)
                        .await
                        .map_err(|e| match crate::error::db_error("inserting messages", e) {
                            messenger_store::StoreError::Conflict { .. } => {
                                messenger_store::StoreError::conflict(
                                    "a message id of the batch is already used",
                                )
                            }
                            other => other,
                        })?;
                    let inserted: std::collections::HashSet<String> =
                        inserted.into_iter().collect();
                    for row in chunk {
                        if inserted.contains(&row.id) {
                            outcomes.push(messenger_store::InsertOutcome::Inserted {
                                id: row.id.clone(),
                            });
                            continue;
                        }
                        let existing: crate::rows::MessageRow = sqlx::query_as(concat!(
                            "SELECT ",
                            crate::rows::message_columns!(),
                            " FROM messages WHERE space = $1 AND idempotency_key = $2"
                        ))
                        .bind(&row.space)
                        .bind(row.idempotency_key.as_deref())
                        .fetch_one(&mut **tx)
                        .await
                        .map_err(crate::error::db("reading an idempotent message"))?;
                        outcomes.push(messenger_store::InsertOutcome::Existing(Box::new(
                            existing.into_record()?,
                        )));
                    }
                }
                Ok(outcomes)
            }
        }

        #[async_trait::async_trait]
        impl messenger_store::MessageStore for $store {
            async fn insert_message(
                &self,
                message: messenger_store::NewMessage,
            ) -> Result<messenger_store::InsertOutcome, messenger_store::StoreError> {
                let row = crate::rows::NewMessageRow::of(message)?;
                let store = self.clone();
                self.inserts
                    .submit(row, move |rows| store.insert_group(rows))
                    .await
            }

            async fn insert_messages(
                &self,
                messages: Vec<messenger_store::NewMessage>,
            ) -> Result<Vec<messenger_store::InsertOutcome>, messenger_store::StoreError> {
                if messages.is_empty() {
                    return Ok(Vec::new());
                }
                let rows = messages
                    .into_iter()
                    .map(crate::rows::NewMessageRow::of)
                    .collect::<Result<Vec<_>, _>>()?;
                self.insert_rows(rows).await
            }

            async fn get_message(
                &self,
                space: &str,
                id: &str,
            ) -> Result<Option<messenger_store::MessageRecord>, messenger_store::StoreError> {
                let row: Option<crate::rows::MessageRow> = sqlx::query_as(concat!(
                    "SELECT ",
                    crate::rows::message_columns!(),
                    " FROM messages WHERE id = $1 AND space = $2"
                ))
                .bind(id)
                .bind(space)
                .fetch_optional(self.reader())
                .await
                .map_err(crate::error::db("reading a message"))?;
                row.map(crate::rows::MessageRow::into_record).transpose()
            }

            async fn list_messages(
                &self,
                space: &str,
                query: &messenger_store::MessageQuery,
            ) -> Result<Vec<messenger_store::MessageRecord>, messenger_store::StoreError> {
                let mut select = sqlx::QueryBuilder::<$db>::new(concat!(
                    "SELECT ",
                    crate::rows::message_columns!(),
                    " FROM messages WHERE space = "
                ));
                select.push_bind(space);
                if let Some(status) = query.status {
                    select.push(" AND status = ").push_bind(status.as_str());
                }
                if let Some(channel) = query.channel {
                    select.push(" AND channel = ").push_bind(channel.as_str());
                }
                if let Some(key) = &query.recipient_key {
                    select.push(" AND recipient_key = ").push_bind(key.as_str());
                }
                if let Some(since) = query.since {
                    select.push(" AND created_at >= ").push_bind(since.millis());
                }
                if let Some(until) = query.until {
                    select.push(" AND created_at < ").push_bind(until.millis());
                }
                if let Some(after) = &query.after {
                    // The row value is the index bound; the plain column bound helps planners
                    // that do not take row values as one.
                    select
                        .push(" AND created_at <= ")
                        .push_bind(after.created_at.millis())
                        .push(" AND (created_at, id) < (")
                        .push_bind(after.created_at.millis())
                        .push(", ")
                        .push_bind(after.id.as_str())
                        .push(")");
                }
                let limit = i64::try_from(query.effective_limit()).unwrap_or(i64::MAX);
                select
                    .push(" ORDER BY created_at DESC, id DESC LIMIT ")
                    .push_bind(limit);
                let rows: Vec<crate::rows::MessageRow> = select
                    .build_query_as()
                    .fetch_all(self.reader())
                    .await
                    .map_err(crate::error::db("listing messages"))?;
                rows.into_iter()
                    .map(crate::rows::MessageRow::into_record)
                    .collect()
            }

            async fn find_by_idempotency_key(
                &self,
                space: &str,
                key: &str,
            ) -> Result<Option<messenger_store::MessageRecord>, messenger_store::StoreError> {
                let row: Option<crate::rows::MessageRow> = sqlx::query_as(concat!(
                    "SELECT ",
                    crate::rows::message_columns!(),
                    " FROM messages WHERE space = $1 AND idempotency_key = $2"
                ))
                .bind(space)
                .bind(key)
                .fetch_optional(self.reader())
                .await
                .map_err(crate::error::db("reading a message by idempotency key"))?;
                row.map(crate::rows::MessageRow::into_record).transpose()
            }

            async fn find_by_graph_message_id(
                &self,
                space: &str,
                mid: &str,
            ) -> Result<Option<messenger_store::MessageRecord>, messenger_store::StoreError> {
                let row: Option<crate::rows::MessageRow> = sqlx::query_as(concat!(
                    "SELECT ",
                    crate::rows::message_columns!(),
                    " FROM messages WHERE space = $1 AND id = (SELECT message_id \
                     FROM graph_message_ids WHERE space = $1 AND mid = $2)"
                ))
                .bind(space)
                .bind(mid)
                .fetch_optional(self.reader())
                .await
                .map_err(crate::error::db("finding a message by Graph id"))?;
                row.map(crate::rows::MessageRow::into_record).transpose()
            }

            async fn update_status(
                &self,
                space: &str,
                id: &str,
                update: messenger_store::StatusUpdate,
            ) -> Result<messenger_store::StatusOutcome, messenger_store::StoreError> {
                let mut tx = self.begin_write().await?;
                let mut message = Self::load_message_locked(&mut tx, space, id).await?;
                let applied = message.apply_status(update);
                if applied {
                    Self::save_message_state(&mut tx, &message).await?;
                    self.commit(tx).await?;
                } else {
                    Self::rollback(tx).await?;
                }
                Ok(messenger_store::StatusOutcome { applied, message })
            }

            async fn append_rule_trace(
                &self,
                space: &str,
                id: &str,
                entries: Vec<messenger_model::RuleTraceEntry>,
            ) -> Result<(), messenger_store::StoreError> {
                let mut tx = self.begin_write().await?;
                let mut message = Self::load_message_locked(&mut tx, space, id).await?;
                if entries.is_empty() {
                    return Self::rollback(tx).await;
                }
                message.rule_trace.extend(entries);
                Self::save_message_state(&mut tx, &message).await?;
                self.commit(tx).await
            }

            async fn add_graph_message_id(
                &self,
                space: &str,
                id: &str,
                mid: &str,
            ) -> Result<(), messenger_store::StoreError> {
                let mut tx = self.begin_write().await?;
                let mut message = Self::load_message_locked(&mut tx, space, id).await?;
                if let Err(e) = Self::record_graph_message_id(&mut tx, space, id, mid).await {
                    Self::rollback(tx).await?;
                    return Err(e);
                }
                if message.add_graph_message_id(mid) {
                    Self::save_message_state(&mut tx, &message).await?;
                }
                self.commit(tx).await
            }

            async fn settle_messages(
                &self,
                settlements: Vec<messenger_store::Settlement>,
            ) -> Result<Vec<messenger_store::StatusOutcome>, messenger_store::StoreError> {
                self.settle_all(settlements).await
            }

            async fn apply_watermark(
                &self,
                space: &str,
                recipient: &messenger_store::MessengerRecipient,
                status: messenger_model::MessageStatus,
                watermark: messenger_model::Timestamp,
                at: messenger_model::Timestamp,
            ) -> Result<Vec<messenger_store::MessageRecord>, messenger_store::StoreError> {
                messenger_store::implementors::check_receipt_status(status)?;
                let mut tx = self.begin_write().await?;
                let rows: Vec<crate::rows::MessageRow> = sqlx::query_as(concat!(
                    "SELECT ",
                    crate::rows::message_columns!(),
                    " FROM messages WHERE space = $1 AND sent_page_id = $2 AND sent_psid = $3 \
                     AND sent_at <= $4 AND status IN ('sent', 'delivered') ORDER BY seq",
                    $lock
                ))
                .bind(space)
                .bind(&recipient.page_id)
                .bind(&recipient.psid)
                .bind(watermark.millis())
                .fetch_all(&mut *tx)
                .await
                .map_err(crate::error::db("reading messages for a watermark"))?;
                let mut changed = Vec::new();
                for row in rows {
                    let mut message = row.into_record()?;
                    if !message.watermark_applies(recipient, status, watermark) {
                        continue;
                    }
                    let update = messenger_store::StatusUpdate::new(status, at)
                        .reason(format!("watermark {watermark}"));
                    if message.apply_status(update) {
                        Self::save_message_state(&mut tx, &message).await?;
                        changed.push(message);
                    }
                }
                self.commit(tx).await?;
                Ok(changed)
            }
        }
    };
}
pub(crate) use impl_message_store;
