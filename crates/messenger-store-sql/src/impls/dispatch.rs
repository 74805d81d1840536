//! [`DispatchQueue`](messenger_store::DispatchQueue) for a SQL backend, written once for both.
//!
//! Leasing runs in one transaction. It first lists the spaces that have unsent messages (a loose
//! scan of the `messages_unsent_space` index: one index probe per space, whatever the backlog),
//! then leases from each space in turn, all of them with one `UPDATE ... WHERE seq IN (SELECT
//! ... LIMIT n UNION ALL SELECT ... LIMIT m ...) RETURNING` statement (one select per space; a
//! round of many spaces cost a statement per space before, which is most of a round's work when
//! each space's share is one or two messages): each space gets an equal share of the limit, and
//! what some leave unused goes to those that filled theirs (a second such statement). So a backlog in one space never delays another space's
//! messages. The inner select picks the space's due messages that are the head of their
//! recipient (the first unsent message of the same `(space, recipient_key)`), oldest first. The
//! head check is a correlated `MIN(seq)`, one probe of `messages_unsent_recipient` per candidate:
//! written as `NOT EXISTS`, PostgreSQL with statistics of an empty table turned it into an anti
//! join that scanned the whole space for every candidate (seconds per lease at 2,000 messages). On PostgreSQL it ends in
//! `FOR UPDATE SKIP LOCKED`: a row another worker is leasing right now is skipped, and the
//! messages behind it are not heads, so they are not taken either; a row leased and committed
//! meanwhile is re-checked against the new lease and dropped. On SQLite the statement runs alone
//! on the single writer connection, so it is atomic anyway.
//!
//! The one good plan for it walks the `messages_unsent_space` index in `seq` order and stops
//! after `n` heads, whatever the backlog. PostgreSQL picks it only while its statistics say the unsent
//! messages are many; statistics taken when they were few (autoanalyze lags a queue that grows by
//! thousands a second, and in steady state nearly every row is sent) make it collect every unsent
//! message with a bitmap scan and sort them, once per lease: seconds per lease with a large
//! backlog, the very moment dispatch must be fast. So on PostgreSQL the lease runs in a
//! transaction that first turns bitmap scans and explicit sorts off for itself (`$plan`).

/// Spaces leased from by one statement (SQLite takes at most 500 selects in a compound).
pub(crate) const LEASE_ARMS: usize = 100;

/// Implements `DispatchQueue` for `$store` on database `$db`; `$skip` is the suffix of the leasing select
/// (`" FOR UPDATE SKIP LOCKED"` on PostgreSQL), `$plan` a statement run before it in the same
/// transaction (empty: none).
macro_rules! impl_dispatch_queue {
    ($store:ty, $db:ty, skip_locked = $skip:literal, lease_plan = $plan:literal) => {
        impl $store {
            /// Leases, for each `(space, n)` of `wants`, up to `n` due heads of that space, oldest
            /// first, in `tx`: one statement for all of them (a `UNION ALL` of one select per
            /// space, each walking its space's part of the index as before), at most
            /// `LEASE_ARMS` spaces to a statement.
            async fn lease_in_spaces(
                tx: &mut sqlx::Transaction<'static, $db>,
                wants: &[(&str, usize)],
                worker: &str,
                now: messenger_model::Timestamp,
                expires_at: messenger_model::Timestamp,
            ) -> Result<Vec<crate::rows::MessageRow>, messenger_store::StoreError> {
                let mut rows = Vec::new();
                for chunk in wants.chunks(crate::impls::dispatch::LEASE_ARMS) {
                    let mut update = sqlx::QueryBuilder::<$db>::new(
                        "UPDATE messages SET lease_holder = ",
                    );
                    update.push_bind(worker);
                    update.push(", lease_expires_at = ");
                    update.push_bind(expires_at.millis());
                    update.push(", attempts = attempts + 1 WHERE seq IN (");
                    for (i, (space, n)) in chunk.iter().enumerate() {
                        if i > 0 {
                            update.push(" UNION ALL ");
                        }
                        update.push(
                            "SELECT seq FROM (SELECT c.seq FROM messages c \
                             WHERE c.status IN ('processing', 'retrying') AND c.space = ",
                        );
                        update.push_bind(*space);
                        update.push(
                            " AND c.next_attempt_at IS NOT NULL AND c.next_attempt_at <= ",
                        );
                        update.push_bind(now.millis());
                        update.push(" AND (c.lease_expires_at IS NULL OR c.lease_expires_at <= ");
                        update.push_bind(now.millis());
                        update.push(
                            ") AND c.seq = (SELECT MIN(e.seq) FROM messages e \
                             WHERE e.status IN ('processing', 'retrying') \
                             AND e.space = c.space AND e.recipient_key = c.recipient_key) \
                             ORDER BY c.seq LIMIT ",
                        );
                        update.push_bind(crate::rows::to_i64(*n));
                        update.push($skip);
                        update.push(format!(") AS s{i}"));
                    }
                    update.push(concat!(") RETURNING ", crate::rows::message_columns!()));
                    let got: Vec<crate::rows::MessageRow> = update
                        .build_query_as()
                        .fetch_all(&mut **tx)
                        .await
                        .map_err(crate::error::db("leasing messages"))?;
                    rows.extend(got);
                }
                Ok(rows)
            }
        }

        #[async_trait::async_trait]
        impl messenger_store::DispatchQueue for $store {
            async fn lease_due(
                &self,
                worker: &str,
                now: messenger_model::Timestamp,
                limit: usize,
                lease_for: std::time::Duration,
            ) -> Result<Vec<messenger_store::MessageRecord>, messenger_store::StoreError> {
                self.lease_due_capped(worker, now, limit, lease_for, &[]).await
            }

            async fn lease_due_capped(
                &self,
                worker: &str,
                now: messenger_model::Timestamp,
                limit: usize,
                lease_for: std::time::Duration,
                caps: &[(String, usize)],
            ) -> Result<Vec<messenger_store::MessageRecord>, messenger_store::StoreError> {
                if limit == 0 {
                    return Ok(Vec::new());
                }
                use messenger_store::implementors::space_cap;
                let expires_at = now.add_millis(messenger_store::implementors::lease_millis(lease_for));
                let mut tx = self.begin_write().await?;
                let result = async {
                    if !$plan.is_empty() {
                        sqlx::query($plan)
                            .execute(&mut *tx)
                            .await
                            .map_err(crate::error::db("planning the lease"))?;
                    }
                    let spaces: Vec<(String,)> = sqlx::query_as(
                        "WITH RECURSIVE s(space) AS (\
                           SELECT MIN(space) FROM messages \
                           WHERE status IN ('processing', 'retrying') \
                           AND next_attempt_at IS NOT NULL \
                           UNION ALL \
                           SELECT (SELECT MIN(m.space) FROM messages m \
                             WHERE m.status IN ('processing', 'retrying') \
                             AND m.next_attempt_at IS NOT NULL AND m.space > s.space) \
                           FROM s WHERE s.space IS NOT NULL) \
                         SELECT space FROM s WHERE space IS NOT NULL",
                    )
                    .fetch_all(&mut *tx)
                    .await
                    .map_err(crate::error::db("listing the spaces with unsent messages"))?;
                    let mut spaces: Vec<String> = spaces
                        .into_iter()
                        .map(|(s,)| s)
                        .filter(|s| space_cap(caps, s) > 0)
                        .collect();
                    // Start at a different space each millisecond, so that with more spaces than
                    // the limit every space still gets its turn.
                    if !spaces.is_empty() {
                        let start = usize::try_from(now.millis().rem_euclid(
                            i64::try_from(spaces.len()).unwrap_or(1),
                        ))
                        .unwrap_or(0);
                        spaces.rotate_left(start);
                    }
                    let share = (limit / spaces.len().max(1)).max(1);
                    let mut rows: Vec<crate::rows::MessageRow> = Vec::new();
                    // Spaces that took their whole share, with what their cap still allows.
                    let mut full: Vec<(&str, usize)> = Vec::new();
                    // Each space its share, in turn: as many spaces to a statement as the limit
                    // left can serve; the spaces after them only when some came back short.
                    let mut turn = spaces.iter();
                    loop {
                        let left = limit.saturating_sub(rows.len());
                        let mut wants: Vec<(&str, usize)> = Vec::new();
                        let mut planned = 0;
                        while planned < left {
                            let Some(space) = turn.next() else { break };
                            let want = share.min(left - planned).min(space_cap(caps, space));
                            wants.push((space.as_str(), want));
                            planned += want;
                        }
                        if wants.is_empty() {
                            break;
                        }
                        let got =
                            Self::lease_in_spaces(&mut tx, &wants, worker, now, expires_at).await?;
                        for &(space, want) in &wants {
                            let cap = space_cap(caps, space);
                            let n = got.iter().filter(|r| r.space == space).count();
                            if n == want && cap > want {
                                full.push((space, cap - want));
                            }
                        }
                        rows.extend(got);
                    }
                    // What some left unused, to those that filled their share, in turn.
                    let mut more = full.into_iter();
                    loop {
                        let left = limit.saturating_sub(rows.len());
                        let mut wants: Vec<(&str, usize)> = Vec::new();
                        let mut planned = 0;
                        while planned < left {
                            let Some((space, extra)) = more.next() else { break };
                            let want = extra.min(left - planned);
                            wants.push((space, want));
                            planned += want;
                        }
                        if wants.is_empty() {
                            break;
                        }
                        rows.extend(
                            Self::lease_in_spaces(&mut tx, &wants, worker, now, expires_at).await?,
                        );
                    }
                    Ok(rows)
                }
                .await;
                let mut rows = self.finish(tx, result).await?;
                rows.sort_by_key(|r| r.seq);
                rows.into_iter()
                    .map(crate::rows::MessageRow::into_record)
                    .collect()
            }

            async fn defer(
                &self,
                space: &str,
                id: &str,
                worker: &str,
                until: messenger_model::Timestamp,
            ) -> Result<bool, messenger_store::StoreError> {
                let done = sqlx::query(
                    "UPDATE messages SET lease_holder = NULL, lease_expires_at = NULL, \
                     next_attempt_at = $1, \
                     attempts = CASE WHEN attempts > 0 THEN attempts - 1 ELSE 0 END \
                     WHERE space = $2 AND id = $3 AND lease_holder = $4 \
                     AND status IN ('processing', 'retrying')",
                )
                .bind(until.millis())
                .bind(space)
                .bind(id)
                .bind(worker)
                .execute(self.writer())
                .await
                .map_err(crate::error::db("deferring a message"))?;
                Ok(done.rows_affected() > 0)
            }

            async fn extend_lease(
                &self,
                space: &str,
                id: &str,
                worker: &str,
                now: messenger_model::Timestamp,
                until: messenger_model::Timestamp,
            ) -> Result<bool, messenger_store::StoreError> {
                let mut tx = self.begin_write().await?;
                let message = Self::load_message_locked(&mut tx, space, id).await?;
                if !message.is_unsent() || !message.is_leased_by(worker, now) {
                    Self::rollback(tx).await?;
                    return Ok(false);
                }
                sqlx::query("UPDATE messages SET lease_expires_at = $1 WHERE id = $2")
                    .bind(until.millis())
                    .bind(id)
                    .execute(&mut *tx)
                    .await
                    .map_err(crate::error::db("extending a lease"))?;
                self.commit(tx).await?;
                Ok(true)
            }

            async fn release(
                &self,
                space: &str,
                id: &str,
                worker: &str,
                retry: messenger_store::Retry,
            ) -> Result<bool, messenger_store::StoreError> {
                let mut tx = self.begin_write().await?;
                let mut message = Self::load_message_locked(&mut tx, space, id).await?;
                if !message.release(worker, retry) {
                    Self::rollback(tx).await?;
                    return Ok(false);
                }
                Self::save_message_state(&mut tx, &message).await?;
                self.commit(tx).await?;
                Ok(true)
            }

            async fn recover_expired_leases(
                &self,
                now: messenger_model::Timestamp,
            ) -> Result<u64, messenger_store::StoreError> {
                let done = sqlx::query(
                    "UPDATE messages SET lease_holder = NULL, lease_expires_at = NULL \
                     WHERE status IN ('processing', 'retrying') AND lease_expires_at <= $1",
                )
                .bind(now.millis())
                .execute(self.writer())
                .await
                .map_err(crate::error::db("recovering expired leases"))?;
                Ok(done.rows_affected())
            }

            async fn recover_leases_of(
                &self,
                holder_prefix: &str,
            ) -> Result<u64, messenger_store::StoreError> {
                messenger_store::implementors::check_holder_prefix(holder_prefix)?;
                // substr/length rather than LIKE: an instance id may contain % or _.
                let done = sqlx::query(
                    "UPDATE messages SET lease_holder = NULL, lease_expires_at = NULL \
                     WHERE status IN ('processing', 'retrying') AND lease_holder IS NOT NULL \
                     AND substr(lease_holder, 1, length($1)) = $1",
                )
                .bind(holder_prefix)
                .execute(self.writer())
                .await
                .map_err(crate::error::db("recovering an instance's own leases"))?;
                Ok(done.rows_affected())
            }

            async fn recover_all_leases(&self) -> Result<u64, messenger_store::StoreError> {
                let done = sqlx::query(
                    "UPDATE messages SET lease_holder = NULL, lease_expires_at = NULL \
                     WHERE status IN ('processing', 'retrying') AND lease_holder IS NOT NULL",
                )
                .execute(self.writer())
                .await
                .map_err(crate::error::db("recovering every lease"))?;
                Ok(done.rows_affected())
            }

            async fn unsent_count(&self) -> Result<u64, messenger_store::StoreError> {
                let (n,): (i64,) = sqlx::query_as(
                    "SELECT COUNT(*) FROM messages WHERE status IN ('processing', 'retrying')",
                )
                .fetch_one(self.reader())
                .await
                .map_err(crate::error::db("counting unsent messages"))?;
                Ok(u64::try_from(n).unwrap_or(0))
            }

            async fn unsent_by_space(
                &self,
            ) -> Result<Vec<(String, u64)>, messenger_store::StoreError> {
                let rows: Vec<(String, i64)> = sqlx::query_as(
                    "SELECT space, COUNT(*) FROM messages \
                     WHERE status IN ('processing', 'retrying') GROUP BY space ORDER BY space",
                )
                .fetch_all(self.reader())
                .await
                .map_err(crate::error::db("counting unsent messages per space"))?;
                Ok(rows
                    .into_iter()
                    .map(|(space, n)| (space, u64::try_from(n).unwrap_or(0)))
                    .collect())
            }
        }
    };
}
pub(crate) use impl_dispatch_queue;
