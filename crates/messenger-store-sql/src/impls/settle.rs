//! [`settle_messages`](messenger_store::MessageStore::settle_messages) for a SQL backend, written
//! once for both: the end of many send attempts in one transaction and few statements.
//!
//! Per call: one select of every message (locked, in acceptance order, as receipts lock them),
//! one multi-row insert of the Graph message ids, and one multi-row update writing each changed
//! message back once; the rules are applied in Rust as for the single operations. Dispatch
//! settles whole groups of sends this way: a handful of statements per group instead of a
//! dozen per message.

/// Ids per select, and Graph ids per insert (well under both backends' bind limits).
pub(crate) const SETTLE_CHUNK: usize = 500;

/// The multi-row form of [`UPDATE_MESSAGE_STATE`](crate::rows::UPDATE_MESSAGE_STATE): the rows
/// of `v` (id first, then the state in [`MessageState`](crate::rows::MessageState) order) go
/// between head and tail. Both backends take `WITH ... UPDATE ... FROM`.
pub(crate) const UPDATE_STATES_HEAD: &str = "WITH v (id, status, status_history, rule_trace, \
     graph_message_ids, channel, error, sent_at, sent_page_id, sent_psid, next_attempt_at, \
     attempts, lease_holder, lease_expires_at, delivery_deadline, settled_at) AS (";

/// See [`UPDATE_STATES_HEAD`]. The ids follow again as a list, closed by `)`: the join alone
/// leaves PostgreSQL to estimate how many rows match, and with statistics taken while the table
/// was small (autoanalyze lags a fast-growing queue) it joins by a sequential scan of the whole
/// table; the list makes the unique index on `id` the obvious path at any table size.
pub(crate) const UPDATE_STATES_TAIL: &str = ") UPDATE messages SET status = v.status, \
     status_history = v.status_history, rule_trace = v.rule_trace, \
     graph_message_ids = v.graph_message_ids, channel = v.channel, error = v.error, \
     sent_at = v.sent_at, sent_page_id = v.sent_page_id, sent_psid = v.sent_psid, \
     next_attempt_at = v.next_attempt_at, attempts = v.attempts, \
     lease_holder = v.lease_holder, lease_expires_at = v.lease_expires_at, \
     delivery_deadline = v.delivery_deadline, settled_at = v.settled_at \
     FROM v WHERE messages.id = v.id AND messages.id IN (";

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
                let result = Self::settle_in(&mut tx, settlements).await;
                self.finish(tx, result).await
            }

            async fn settle_in(
                tx: &mut sqlx::Transaction<'static, $db>,
                settlements: Vec<messenger_store::Settlement>,
            ) -> Result<Vec<messenger_store::StatusOutcome>, messenger_store::StoreError> {
                let ids: Vec<&str> = settlements.iter().map(|s| s.id.as_str()).collect();
                let mut messages: std::collections::HashMap<String, _> =
                    Self::load_messages_locked(tx, &ids, "reading messages to settle")
                        .await?
                        .into_iter()
                        .map(|m| (m.id.clone(), m))
                        .collect();
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
                // Messages to write back, each once, in their final state.
                let mut changed_ids: Vec<String> = Vec::new();
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
                    if (changed || applied) && !changed_ids.contains(&message.id) {
                        changed_ids.push(message.id.clone());
                    }
                    outcomes.push(messenger_store::StatusOutcome {
                        applied,
                        message: message.clone(),
                    });
                }
                let changed: Vec<&messenger_store::MessageRecord> = changed_ids
                    .iter()
                    .filter_map(|id| messages.get(id))
                    .collect();
                for chunk in changed.chunks(crate::impls::settle::SETTLE_CHUNK) {
                    match chunk {
                        [one] => Self::save_message_state(tx, one).await?,
                        many => Self::save_message_states(tx, many).await?,
                    }
                }
                Ok(outcomes)
            }

            /// The messages `ids` (any space), locked for this transaction, in acceptance order.
            async fn load_messages_locked(
                tx: &mut sqlx::Transaction<'static, $db>,
                ids: &[&str],
                what: &'static str,
            ) -> Result<Vec<messenger_store::MessageRecord>, messenger_store::StoreError> {
                let mut messages = Vec::with_capacity(ids.len());
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
                        .map_err(crate::error::db(what))?;
                    for row in rows {
                        messages.push(row.into_record()?);
                    }
                }
                Ok(messages)
            }

            /// Writes the mutable part of several messages back with one statement.
            async fn save_message_states(
                tx: &mut sqlx::Transaction<'static, $db>,
                messages: &[&messenger_store::MessageRecord],
            ) -> Result<(), messenger_store::StoreError> {
                let states = messages
                    .iter()
                    .map(|m| crate::rows::MessageState::of(m).map(|s| (m.id.as_str(), s)))
                    .collect::<Result<Vec<_>, _>>()?;
                let mut update =
                    sqlx::QueryBuilder::<$db>::new(crate::impls::settle::UPDATE_STATES_HEAD);
                update.push_values(states, |mut b, (id, s)| {
                    b.push_bind(id)
                        .push_bind(s.status)
                        .push_bind(s.status_history)
                        .push_bind(s.rule_trace)
                        .push_bind(s.graph_message_ids)
                        .push_bind(s.channel)
                        .push_bind(s.error)
                        .push_bind(s.sent_at)
                        .push_bind(s.sent_page_id)
                        .push_bind(s.sent_psid)
                        .push_bind(s.next_attempt_at)
                        .push_bind(s.attempts)
                        .push_bind(s.lease_holder)
                        .push_bind(s.lease_expires_at)
                        .push_bind(s.delivery_deadline)
                        .push_bind(s.settled_at);
                });
                update.push(crate::impls::settle::UPDATE_STATES_TAIL);
                let mut ids = update.separated(", ");
                for m in messages {
                    ids.push_bind(m.id.as_str());
                }
                update.push(")");
                update
                    .build()
                    .execute(&mut **tx)
                    .await
                    .map_err(crate::error::db("writing messages"))?;
                Ok(())
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
