//! [`settle_messages`](messenger_store::MessageStore::settle_messages) for a SQL backend, written
//! once for both: the end of many send attempts in one transaction and few statements.
//!
//! Per call: one select of every message (locked, in acceptance order, as receipts lock them),
//! one multi-row insert of the Graph message ids, then one update per message; the rules are
//! applied in Rust as for the single operations. Dispatch settles whole groups of sends this
//! way, so the store sees about one statement per message instead of a dozen.

/// Ids per select, and Graph ids per insert (well under both backends' bind limits).
pub(crate) const SETTLE_CHUNK: usize = 500;

/// Implements `settle_all` (the body of `settle_messages`) for `$store` (database `$db`);
/// `$lock` as for messages.
macro_rules! impl_settle {
    ($store:ty, $db:ty, lock = $lock:literal) => {
        impl $store {
            /// Settles every settlement in one transaction: all of them, or none on error.
            async fn settle_all(
                &self,
                settlements: Vec<messenger_store::Settlement>,
            ) -> Result<Vec<messenger_store::StatusOutcome>, messenger_store::StoreError> {
                if settlements.is_empty() {
                    return Ok(Vec::new());
                }
                let mut tx = self.begin_write().await?;
                match Self::settle_in(&mut tx, settlements).await {
                    Ok(outcomes) => {
                        Self::commit(tx).await?;
                        Ok(outcomes)
                    }
                    Err(e) => {
                        Self::rollback(tx).await?;
                        Err(e)
                    }
                }
            }

            async fn settle_in(
                tx: &mut sqlx::Transaction<'static, $db>,
                settlements: Vec<messenger_store::Settlement>,
            ) -> Result<Vec<messenger_store::StatusOutcome>, messenger_store::StoreError> {
                let mut messages = std::collections::HashMap::with_capacity(settlements.len());
                let ids: Vec<&str> = settlements.iter().map(|s| s.id.as_str()).collect();
                for chunk in ids.chunks(crate::impls::settle::SETTLE_CHUNK) {
                    let mut select = sqlx::QueryBuilder::<$db>::new(concat!(
                        "SELECT ",
                        crate::rows::message_columns!(),
                        " FROM messages WHERE id IN ("
                    ));
                    let mut list = select.separated(", ");
                    for id in chunk {
                        list.push_bind(*id);
                    }
                    select.push(") ORDER BY seq");
                    select.push($lock);
                    let rows: Vec<crate::rows::MessageRow> = select
                        .build_query_as()
                        .fetch_all(&mut **tx)
                        .await
                        .map_err(crate::error::db("reading messages to settle"))?;
                    for row in rows {
                        let message = row.into_record()?;
                        messages.insert(message.id.clone(), message);
                    }
                }
                // A message of another space is "not found", as everywhere.
                for s in &settlements {
                    if !messages.get(&s.id).is_some_and(|m| m.space == s.space) {
                        return Err(messenger_store::StoreError::not_found("message", &s.id));
                    }
                }
                let mids: Vec<(&str, &str, &str)> = settlements
                    .iter()
                    .flat_map(|s| {
                        s.graph_message_ids
                            .iter()
                            .map(move |mid| (s.space.as_str(), mid.as_str(), s.id.as_str()))
                    })
                    .collect();
                for chunk in mids.chunks(crate::impls::settle::SETTLE_CHUNK) {
                    Self::record_graph_message_ids(tx, chunk).await?;
                }
                let mut outcomes = Vec::with_capacity(settlements.len());
                for s in settlements {
                    let Some(message) = messages.get_mut(&s.id) else {
                        return Err(messenger_store::StoreError::not_found("message", &s.id));
                    };
                    let mut changed = false;
                    for mid in &s.graph_message_ids {
                        changed |= message.add_graph_message_id(mid);
                    }
                    if !s.rule_trace.is_empty() {
                        message.rule_trace.extend(s.rule_trace);
                        changed = true;
                    }
                    let applied = message.apply_status(s.update);
                    if changed || applied {
                        Self::save_message_state(tx, message).await?;
                    }
                    outcomes.push(messenger_store::StatusOutcome {
                        applied,
                        message: message.clone(),
                    });
                }
                Ok(outcomes)
            }

            /// Records `(space, mid, message id)` triples with one insert; a mid already
            /// recorded is fine when it is the same message's, a conflict otherwise.
            async fn record_graph_message_ids(
                tx: &mut sqlx::Transaction<'static, $db>,
                mids: &[(&str, &str, &str)],
            ) -> Result<(), messenger_store::StoreError> {
                let mut insert = sqlx::QueryBuilder::<$db>::new(
                    "INSERT INTO graph_message_ids (space, mid, message_id) ",
                );
                insert.push_values(mids, |mut b, (space, mid, id)| {
                    b.push_bind(*space).push_bind(*mid).push_bind(*id);
                });
                insert.push(
                    " ON CONFLICT (space, mid) DO NOTHING RETURNING space, mid, message_id",
                );
                let inserted: Vec<(String, String, String)> = insert
                    .build_query_as()
                    .fetch_all(&mut **tx)
                    .await
                    .map_err(crate::error::db("recording Graph message ids"))?;
                let inserted: std::collections::HashMap<(String, String), String> = inserted
                    .into_iter()
                    .map(|(space, mid, id)| ((space, mid), id))
                    .collect();
                for (space, mid, id) in mids {
                    // Recorded just now, maybe for another message of this very call.
                    let owner = match inserted.get(&((*space).to_owned(), (*mid).to_owned())) {
                        Some(owner) => Some(owner.clone()),
                        None => sqlx::query_scalar(
                        "SELECT message_id FROM graph_message_ids WHERE space = $1 AND mid = $2",
                    )
                        .bind(*space)
                        .bind(*mid)
                        .fetch_optional(&mut **tx)
                        .await
                        .map_err(crate::error::db("reading a Graph message id"))?,
                    };
                    if owner.as_deref() != Some(*id) {
                        return Err(messenger_store::StoreError::conflict(format!(
                            "Graph message id {mid:?} belongs to another message"
                        )));
                    }
                }
                Ok(())
            }
        }
    };
}
pub(crate) use impl_settle;
