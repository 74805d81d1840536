//! [`Erasure`](messenger_store::Erasure) for a SQL backend, written once for both.
//!
//! Scans read through the reader pool, narrowed by `LIKE` on the JSON text (each identifier as
//! JSON writes it; a superset, checked row by row in Rust with the rules of
//! `messenger_store::Subject`), in pages by the table's sequence. Changes are short write
//! transactions over the ids a page found, so an erasure of a long history never holds the
//! writer for long.

/// Appends `column IN (values)` to `q`, or a false condition when `values` is empty.
pub(crate) fn push_in_list<'a, DB: sqlx::Database>(
    q: &mut sqlx::QueryBuilder<'a, DB>,
    column: &str,
    values: impl IntoIterator<Item = String>,
) where
    String: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
{
    let values: Vec<String> = values.into_iter().collect();
    if values.is_empty() {
        q.push("1 = 0");
        return;
    }
    q.push(column).push(" IN (");
    let mut list = q.separated(", ");
    for v in values {
        list.push_bind(v);
    }
    q.push(")");
}

/// Appends `(1 = 0 OR column LIKE p1 ESCAPE '\' OR ...)`: each of `patterns` against each
/// of `columns`.
pub(crate) fn push_like_any<'a, DB: sqlx::Database>(
    q: &mut sqlx::QueryBuilder<'a, DB>,
    columns: &[&str],
    patterns: &[String],
) where
    String: sqlx::Encode<'a, DB> + sqlx::Type<DB>,
{
    q.push("(1 = 0");
    for pattern in patterns {
        for column in columns {
            q.push(" OR ")
                .push(*column)
                .push(" LIKE ")
                .push_bind(pattern.clone())
                .push(" ESCAPE '\\'");
        }
    }
    q.push(")");
}

/// `s` as a `LIKE` pattern matching any text containing it (escape character `\`).
pub(crate) fn like_containing(s: &str) -> String {
    let escaped = s
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("%{escaped}%")
}

/// A scan's page from the `rows` it read (at most `limit`): each converted, those `keep` keeps,
/// and the last row's `key` as the next cursor when the page was full.
pub(crate) fn page_of<R, T>(
    rows: Vec<R>,
    limit: usize,
    key: fn(&R) -> i64,
    convert: fn(R) -> Result<T, messenger_store::StoreError>,
    keep: impl Fn(&T) -> bool,
) -> Result<messenger_store::Page<T>, messenger_store::StoreError> {
    let next = (rows.len() >= limit)
        .then(|| rows.last().map(key))
        .flatten();
    let mut items = Vec::new();
    for row in rows {
        let item = convert(row)?;
        if keep(&item) {
            items.push(item);
        }
    }
    Ok(messenger_store::Page { items, next })
}

/// Implements `Erasure` for `$store` (database `$db`); `$lock` is the row-lock suffix of a
/// select-for-update, `$contains` the head and tail of "a bytes column contains a bound value"
/// (`raw` the column).
macro_rules! impl_erasure {
    ($store:ty, $db:ty, lock = $lock:literal, contains = ($head:literal, $tail:literal)) => {
        impl $store {
            /// Writes an erased message's content columns back (its state is written by
            /// `save_message_state`).
            async fn save_erased_content(
                tx: &mut sqlx::Transaction<'static, $db>,
                m: &messenger_store::MessageRecord,
            ) -> Result<(), messenger_store::StoreError> {
                sqlx::query(
                    "UPDATE messages SET request = $1, recipient_key = $2, redacted_at = $3, \
                     idempotency_key = $4, request_hash = $5 WHERE id = $6",
                )
                .bind(crate::rows::to_json("message request", &m.request)?)
                .bind(&m.recipient_key)
                .bind(m.redacted_at.map(messenger_model::Timestamp::millis))
                .bind(m.idempotency.as_ref().map(|k| k.key.as_str()))
                .bind(m.idempotency.as_ref().map(|k| k.request_hash.as_str()))
                .bind(&m.id)
                .execute(&mut **tx)
                .await
                .map_err(crate::error::db("erasing a message"))?;
                Ok(())
            }

            async fn forget_in(
                tx: &mut sqlx::Transaction<'static, $db>,
                subject: &messenger_store::Subject,
                counts: &mut messenger_store::ErasureCounts,
            ) -> Result<(), messenger_store::StoreError> {
                use crate::impls::erasure::push_in_list;
                let space = subject.space.clone();
                let psids = || subject.psids().map(str::to_owned);
                counts.profiles += sqlx::query("DELETE FROM profiles WHERE space = $1 AND id = $2")
                    .bind(&space)
                    .bind(&subject.profile_id)
                    .execute(&mut **tx)
                    .await
                    .map_err(crate::error::db("erasing a profile"))?
                    .rows_affected();
                let mut q =
                    sqlx::QueryBuilder::<$db>::new("DELETE FROM messenger_links WHERE space = ");
                q.push_bind(space.clone())
                    .push(" AND (profile_id = ")
                    .push_bind(subject.profile_id.clone())
                    .push(" OR ");
                push_in_list(&mut q, "psid", psids());
                q.push(")");
                counts.messenger_ids += q
                    .build()
                    .execute(&mut **tx)
                    .await
                    .map_err(crate::error::db("erasing Messenger ID links"))?
                    .rows_affected();
                let mut q =
                    sqlx::QueryBuilder::<$db>::new("DELETE FROM optin_tokens WHERE space = ");
                q.push_bind(space.clone())
                    .push(" AND (profile_id = ")
                    .push_bind(subject.profile_id.clone())
                    .push(" OR ");
                push_in_list(&mut q, "bound_psid", psids());
                q.push(")");
                counts.optin_tokens += q
                    .build()
                    .execute(&mut **tx)
                    .await
                    .map_err(crate::error::db("erasing opt-in tokens"))?
                    .rows_affected();
                for table in ["inbound_window", "held_watermarks"] {
                    let mut q = sqlx::QueryBuilder::<$db>::new("DELETE FROM ");
                    q.push(table)
                        .push(" WHERE space = ")
                        .push_bind(space.clone())
                        .push(" AND ");
                    push_in_list(&mut q, "psid", psids());
                    q.build()
                        .execute(&mut **tx)
                        .await
                        .map_err(crate::error::db("erasing a customer's Messenger times"))?;
                }
                for psid in subject.psids() {
                    sqlx::query("DELETE FROM seen_events WHERE key LIKE $1 ESCAPE '\\'")
                        .bind(crate::impls::erasure::like_containing(psid))
                        .execute(&mut **tx)
                        .await
                        .map_err(crate::error::db("erasing Meta dedupe keys"))?;
                }
                Ok(())
            }
        }

        #[async_trait::async_trait]
        impl messenger_store::Erasure for $store {
            async fn subject(
                &self,
                space: &str,
                profile_id: &str,
                pages: &[String],
            ) -> Result<messenger_store::Subject, messenger_store::StoreError> {
                use messenger_store::ProfileStore;
                let profile = self.get_profile(space, profile_id).await?;
                let links: Vec<(String, String)> = sqlx::query_as(
                    "SELECT page_id, psid FROM messenger_links \
                     WHERE space = $1 AND profile_id = $2 ORDER BY page_id, psid",
                )
                .bind(space)
                .bind(profile_id)
                .fetch_all(self.reader())
                .await
                .map_err(crate::error::db("reading a profile's Messenger IDs"))?;
                Ok(messenger_store::Subject::new(
                    space, profile_id, profile, links, pages,
                ))
            }

            async fn messages_naming(
                &self,
                subject: &messenger_store::Subject,
                after: Option<i64>,
                limit: usize,
            ) -> Result<
                messenger_store::Page<messenger_store::MessageRecord>,
                messenger_store::StoreError,
            > {
                messenger_store::implementors::check_page(limit)?;
                let mut q = sqlx::QueryBuilder::<$db>::new(concat!(
                    "SELECT ",
                    crate::rows::message_columns!(),
                    " FROM messages WHERE redacted_at IS NULL AND space = "
                ));
                q.push_bind(subject.space.clone())
                    .push(" AND seq > ")
                    .push_bind(after.unwrap_or(i64::MIN))
                    .push(" AND (");
                crate::impls::erasure::push_like_any(
                    &mut q,
                    &["request", "recipient_key"],
                    &subject.like_patterns(),
                );
                q.push(" OR ");
                crate::impls::erasure::push_in_list(
                    &mut q,
                    "sent_psid",
                    subject.psids().map(str::to_owned),
                );
                q.push(") ORDER BY seq LIMIT ")
                    .push_bind(crate::rows::to_i64(limit));
                let rows: Vec<crate::rows::MessageRow> = q
                    .build_query_as()
                    .fetch_all(self.reader())
                    .await
                    .map_err(crate::error::db("reading a customer's messages"))?;
                crate::impls::erasure::page_of(
                    rows,
                    limit,
                    |r| r.seq,
                    crate::rows::MessageRow::into_record,
                    |m| subject.names_message(m),
                )
            }

            async fn events_naming(
                &self,
                subject: &messenger_store::Subject,
                after: Option<i64>,
                limit: usize,
            ) -> Result<
                messenger_store::Page<messenger_store::OutboxEvent>,
                messenger_store::StoreError,
            > {
                messenger_store::implementors::check_page(limit)?;
                let mut q = sqlx::QueryBuilder::<$db>::new(concat!(
                    "SELECT ",
                    crate::rows::event_columns!(),
                    " FROM outbox WHERE space = "
                ));
                q.push_bind(subject.space.clone())
                    .push(" AND id > ")
                    .push_bind(after.unwrap_or(i64::MIN))
                    .push(" AND ");
                crate::impls::erasure::push_like_any(
                    &mut q,
                    &["envelope"],
                    &subject.like_patterns(),
                );
                q.push(" ORDER BY id LIMIT ")
                    .push_bind(crate::rows::to_i64(limit));
                let rows: Vec<crate::rows::EventRow> = q
                    .build_query_as()
                    .fetch_all(self.reader())
                    .await
                    .map_err(crate::error::db("reading a customer's events"))?;
                crate::impls::erasure::page_of(
                    rows,
                    limit,
                    |r| r.id,
                    crate::rows::EventRow::into_event,
                    |e| subject.names_event(&e.envelope),
                )
            }

            async fn erase_messages(
                &self,
                space: &str,
                ids: &[String],
                now: messenger_model::Timestamp,
            ) -> Result<u64, messenger_store::StoreError> {
                if ids.is_empty() {
                    return Ok(0);
                }
                let mut tx = self.begin_write().await?;
                let result = async {
                    let mut q = sqlx::QueryBuilder::<$db>::new(concat!(
                        "SELECT ",
                        crate::rows::message_columns!(),
                        " FROM messages WHERE space = "
                    ));
                    q.push_bind(space.to_owned()).push(" AND ");
                    crate::impls::erasure::push_in_list(&mut q, "id", ids.iter().cloned());
                    q.push($lock);
                    let rows: Vec<crate::rows::MessageRow> = q
                        .build_query_as()
                        .fetch_all(&mut *tx)
                        .await
                        .map_err(crate::error::db("reading messages to erase"))?;
                    let mut changed = 0;
                    for row in rows {
                        let mut m = row.into_record()?;
                        if m.erase(now) {
                            Self::save_message_state(&mut tx, &m).await?;
                            Self::save_erased_content(&mut tx, &m).await?;
                            changed += 1;
                        }
                    }
                    Ok(changed)
                }
                .await;
                self.finish(tx, result).await
            }

            async fn delete_events(
                &self,
                space: &str,
                ids: &[i64],
            ) -> Result<(u64, u64), messenger_store::StoreError> {
                if ids.is_empty() {
                    return Ok((0, 0));
                }
                let mut q = sqlx::QueryBuilder::<$db>::new("DELETE FROM outbox WHERE space = ");
                q.push_bind(space.to_owned()).push(" AND id IN (");
                let mut list = q.separated(", ");
                for id in ids {
                    list.push_bind(*id);
                }
                q.push(") RETURNING state");
                let mut tx = self.begin_write().await?;
                let states: Result<Vec<String>, _> = q
                    .build_query_scalar()
                    .fetch_all(&mut *tx)
                    .await
                    .map_err(crate::error::db("erasing events"));
                let states = self.finish(tx, states).await?;
                let dead = states.iter().filter(|s| s.as_str() == "dead").count() as u64;
                Ok((states.len() as u64 - dead, dead))
            }

            async fn erase_quarantined(
                &self,
                subject: &messenger_store::Subject,
                limit: usize,
            ) -> Result<u64, messenger_store::StoreError> {
                messenger_store::implementors::check_page(limit)?;
                let needles = subject.raw_needles();
                if needles.is_empty() {
                    return Ok(0);
                }
                let mut pages: Vec<String> = subject.pages.clone();
                pages.extend(subject.messenger_ids.iter().filter_map(|(p, _)| p.clone()));
                let mut q = sqlx::QueryBuilder::<$db>::new(
                    "DELETE FROM webhook_quarantine WHERE seq IN (SELECT seq \
                     FROM webhook_quarantine WHERE (page_id IS NULL OR ",
                );
                crate::impls::erasure::push_in_list(&mut q, "page_id", pages);
                q.push(") AND (1 = 0");
                for needle in needles {
                    q.push(" OR ").push($head).push_bind(needle).push($tail);
                }
                q.push(") ORDER BY seq LIMIT ")
                    .push_bind(crate::rows::to_i64(limit))
                    .push(")");
                let mut tx = self.begin_write().await?;
                let done = q
                    .build()
                    .execute(&mut *tx)
                    .await
                    .map(|d| d.rows_affected())
                    .map_err(crate::error::db("erasing quarantined webhook events"));
                self.finish(tx, done).await
            }

            async fn forget_subject(
                &self,
                subject: &messenger_store::Subject,
                mut record: messenger_store::ErasureRecord,
            ) -> Result<messenger_store::ErasureRecord, messenger_store::StoreError> {
                let mut tx = self.begin_write().await?;
                let result = async {
                    Self::forget_in(&mut tx, subject, &mut record.counts).await?;
                    sqlx::query(
                        "INSERT INTO erasures (id, space, erased_at, counts) \
                         VALUES ($1, $2, $3, $4)",
                    )
                    .bind(&record.id)
                    .bind(&record.space)
                    .bind(record.erased_at.millis())
                    .bind(crate::rows::to_json("erasure counts", &record.counts)?)
                    .execute(&mut *tx)
                    .await
                    .map_err(crate::error::db("recording an erasure"))?;
                    Ok(())
                }
                .await;
                self.finish(tx, result).await?;
                self.after_erasure().await;
                Ok(record)
            }

            async fn erasures(
                &self,
                space: &str,
                limit: usize,
            ) -> Result<Vec<messenger_store::ErasureRecord>, messenger_store::StoreError> {
                let rows: Vec<(String, String, i64, String)> = sqlx::query_as(
                    "SELECT id, space, erased_at, counts FROM erasures WHERE space = $1 \
                     ORDER BY erased_at DESC, id DESC LIMIT $2",
                )
                .bind(space)
                .bind(crate::rows::to_i64(limit))
                .fetch_all(self.reader())
                .await
                .map_err(crate::error::db("listing erasures"))?;
                rows.into_iter()
                    .map(|(id, space, at, counts)| {
                        Ok(messenger_store::ErasureRecord {
                            id,
                            space,
                            erased_at: messenger_model::Timestamp::from_millis(at),
                            counts: crate::rows::from_json("erasure counts", &counts)?,
                        })
                    })
                    .collect()
            }
        }
    };
}

pub(crate) use impl_erasure;
