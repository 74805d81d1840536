//! [`Store::settle_and_queue`](messenger_store::Store::settle_and_queue) and
//! [`Store::apply_receipts`](messenger_store::Store::apply_receipts) for a SQL backend, written
//! once for both: status changes, their events and the seen keys in one transaction.
//!
//! Receipts take a handful of statements per call, however many there are: one upsert holding
//! the recipients' watermarks (`impls::held`), one select resolving the named mids, one insert
//! holding the mids nobody carries yet, one locked select of the named messages, one locked
//! select of every message the watermarks can move (in acceptance order), then, after the rules
//! ran in Rust receipt by receipt ([`apply_rules`]), one multi-row update, one multi-row insert
//! into the outbox and one into `seen_events`. Settling with events adds the upsert of the
//! recipients' rows and one select of held mids, and applies what was held.

use std::collections::{HashMap, HashSet};

use messenger_store::{MessageRecord, Receipt};

/// Implements `settle_and_queue_all`, `apply_receipts_all` and `queue_events_in` for `$store`
/// (database `$db`); `$lock` as for messages. The `Store` impls call them.
macro_rules! impl_receipts {
    ($store:ty, $db:ty, lock = $lock:literal) => {
        impl $store {

            /// Ends `tx`: commits `result`'s work, or rolls it back and returns the error (the
            /// statement's, not the rollback's). Every multi-statement write of this crate's
            /// batch paths (settle, lease, receipts) ends this way.
            async fn finish<T>(
                &self,
                tx: sqlx::Transaction<'static, $db>,
                result: Result<T, messenger_store::StoreError>,
            ) -> Result<T, messenger_store::StoreError> {
                match result {
                    Ok(value) => {
                        self.commit(tx).await?;
                        Ok(value)
                    }
                    Err(e) => {
                        // A statement may fail for the same outage as a commit (SQLite spilling
                        // to a full disk, a connection cut mid-transaction).
                        self.health.note_failure("writing", &e);
                        if let Err(rollback) = Self::rollback(tx).await {
                            tracing::warn!(error = %rollback, "rolling back after an error failed");
                        }
                        Err(e)
                    }
                }
            }

            async fn settle_and_queue_all(
                &self,
                settlements: Vec<messenger_store::Settlement>,
                events: &messenger_store::StatusEvents<'_>,
                now: messenger_model::Timestamp,
            ) -> Result<Vec<messenger_store::StatusOutcome>, messenger_store::StoreError> {
                if settlements.is_empty() {
                    return Ok(Vec::new());
                }
                // The recipients of Messenger sends: their rows first (see `impls::held`).
                let recipients: std::collections::BTreeMap<_, _> = settlements
                    .iter()
                    .filter(|s| s.update.status == messenger_model::MessageStatus::Sent)
                    .filter_map(|s| {
                        let to = s.update.sent_to.as_ref()?;
                        let key = crate::impls::held::recipient_key(&s.space, to);
                        Some((key, crate::impls::held::Watermarks::default()))
                    })
                    .collect();
                let recipients: Vec<_> = recipients.into_iter().collect();
                let mut tx = self.begin_write().await?;
                let result = async {
                    let marks = Self::hold_watermarks_in(&mut tx, &recipients, now).await?;
                    let outcomes = Self::settle_in(&mut tx, settlements).await?;
                    let held = Self::apply_held_in(&mut tx, &outcomes, &marks).await?;
                    let queued: Vec<messenger_store::QueuedEvent> = outcomes
                        .iter()
                        .filter(|o| o.applied)
                        .map(|o| &o.message)
                        .chain(&held)
                        .filter_map(|m| events(m))
                        .collect();
                    Self::queue_events_in(&mut tx, &queued, now).await?;
                    Ok(outcomes)
                }
                .await;
                self.finish(tx, result).await
            }

            async fn apply_receipts_all(
                &self,
                receipts: Vec<messenger_store::Receipt>,
                events: &messenger_store::StatusEvents<'_>,
                seen: &[String],
                now: messenger_model::Timestamp,
            ) -> Result<Vec<messenger_store::MessageRecord>, messenger_store::StoreError> {
                for receipt in &receipts {
                    receipt.validate()?;
                }
                if receipts.is_empty() && seen.is_empty() {
                    return Ok(Vec::new());
                }
                let mut tx = self.begin_write().await?;
                let result = async {
                    let changed = Self::apply_receipts_in(&mut tx, &receipts, now).await?;
                    let queued: Vec<messenger_store::QueuedEvent> =
                        changed.iter().filter_map(|m| events(m)).collect();
                    Self::queue_events_in(&mut tx, &queued, now).await?;
                    Self::mark_seen_in(&mut tx, seen, now).await?;
                    Ok(changed)
                }
                .await;
                self.finish(tx, result).await
            }

            /// Applies the receipts in `tx` and holds them for sends recorded later (see
            /// `impls::held`); returns each change's snapshot, in order.
            async fn apply_receipts_in(
                tx: &mut sqlx::Transaction<'static, $db>,
                receipts: &[messenger_store::Receipt],
                now: messenger_model::Timestamp,
            ) -> Result<Vec<messenger_store::MessageRecord>, messenger_store::StoreError> {
                // The recipients' rows first, so a send recorded at the same time is ordered
                // against this transaction.
                let marks: Vec<_> = crate::impls::held::watermarks_of(receipts)
                    .into_iter()
                    .collect();
                Self::hold_watermarks_in(tx, &marks, now).await?;
                let owners = Self::receipt_mid_owners_in(tx, receipts).await?;
                let unknown: Vec<(&str, &str, messenger_model::Timestamp)> = receipts
                    .iter()
                    .flat_map(|r| {
                        r.mids
                            .iter()
                            .filter(|mid| !owners.contains_key(&(r.space.clone(), (*mid).clone())))
                            .map(|mid| (r.space.as_str(), mid.as_str(), r.at))
                    })
                    .collect();
                Self::hold_mids_in(tx, &unknown, now).await?;
                let mut loaded = Self::receipt_messages_in(tx, receipts, &owners).await?;
                let (changes, dirty) = crate::impls::receipts::apply_rules(receipts, &owners, &mut loaded);
                let dirty: Vec<&messenger_store::MessageRecord> = dirty
                    .iter()
                    .filter_map(|id| loaded.messages.get(id))
                    .collect();
                for chunk in dirty.chunks(crate::impls::settle::SETTLE_CHUNK) {
                    match chunk {
                        [one] => Self::save_message_state(tx, one).await?,
                        many => Self::save_message_states(tx, many).await?,
                    }
                }
                Ok(changes)
            }

            /// The messages the receipts' mids name: `(space, mid)` -> message id.
            async fn receipt_mid_owners_in(
                tx: &mut sqlx::Transaction<'static, $db>,
                receipts: &[messenger_store::Receipt],
            ) -> Result<
                std::collections::HashMap<(String, String), String>,
                messenger_store::StoreError,
            > {
                let pairs: std::collections::HashSet<(&str, &str)> = receipts
                    .iter()
                    .flat_map(|r| r.mids.iter().map(|m| (r.space.as_str(), m.as_str())))
                    .collect();
                let pairs: Vec<(&str, &str)> = pairs.into_iter().collect();
                let mut owners = std::collections::HashMap::new();
                for chunk in pairs.chunks(crate::impls::settle::SETTLE_CHUNK) {
                    let mut select = sqlx::QueryBuilder::<$db>::new(
                        "SELECT space, mid, message_id FROM graph_message_ids \
                         WHERE (space, mid) IN (",
                    );
                    select.push_values(chunk, |mut b, (space, mid)| {
                        b.push_bind(*space).push_bind(*mid);
                    });
                    select.push(")");
                    let rows: Vec<(String, String, String)> = select
                        .build_query_as()
                        .fetch_all(&mut **tx)
                        .await
                        .map_err(crate::error::db("resolving receipt mids"))?;
                    owners.extend(rows.into_iter().map(|(s, mid, id)| ((s, mid), id)));
                }
                Ok(owners)
            }

            /// Every message a receipt can change, locked, in acceptance order: those its mids
            /// name (`owners`), and the sent or delivered messages of its recipient.
            async fn receipt_messages_in(
                tx: &mut sqlx::Transaction<'static, $db>,
                receipts: &[messenger_store::Receipt],
                owners: &std::collections::HashMap<(String, String), String>,
            ) -> Result<crate::impls::receipts::Loaded, messenger_store::StoreError> {
                use std::collections::HashSet;
                let mut loaded = crate::impls::receipts::Loaded::default();
                let named: Vec<&str> = owners
                    .values()
                    .map(String::as_str)
                    .collect::<HashSet<_>>()
                    .into_iter()
                    .collect();
                let messages =
                    Self::load_messages_locked(tx, &named, "reading messages named by receipts")
                        .await?;
                loaded
                    .messages
                    .extend(messages.into_iter().map(|m| (m.id.clone(), m)));
                let recipients: HashSet<(&str, &str, &str)> = receipts
                    .iter()
                    .map(|r| {
                        let to = &r.recipient;
                        (r.space.as_str(), to.page_id.as_str(), to.psid.as_str())
                    })
                    .collect();
                let recipients: Vec<(&str, &str, &str)> = recipients.into_iter().collect();
                for chunk in recipients.chunks(crate::impls::settle::SETTLE_CHUNK) {
                    let mut select = sqlx::QueryBuilder::<$db>::new(concat!(
                        "SELECT ",
                        crate::rows::message_columns!(),
                        " FROM messages WHERE status IN ('sent', 'delivered') \
                         AND (space, sent_page_id, sent_psid) IN ("
                    ));
                    select.push_values(chunk, |mut b, (space, page, psid)| {
                        b.push_bind(*space).push_bind(*page).push_bind(*psid);
                    });
                    select.push(") ORDER BY seq");
                    select.push($lock);
                    let rows: Vec<crate::rows::MessageRow> = select
                        .build_query_as()
                        .fetch_all(&mut **tx)
                        .await
                        .map_err(crate::error::db("reading messages for watermarks"))?;
                    for row in rows {
                        loaded.add_sent(row.into_record()?);
                    }
                }
                Ok(loaded)
            }

            /// Queues events in `tx`, due at `now`; an event id already queued for the space and
            /// target is skipped, as by `enqueue_event`.
            async fn queue_events_in(
                tx: &mut sqlx::Transaction<'static, $db>,
                events: &[messenger_store::QueuedEvent],
                now: messenger_model::Timestamp,
            ) -> Result<(), messenger_store::StoreError> {
                let mut rows = Vec::with_capacity(events.len());
                for e in events {
                    let body = crate::rows::to_json("event envelope", &e.envelope)?;
                    rows.push((e, body));
                }
                for chunk in rows.chunks(crate::impls::settle::SETTLE_CHUNK) {
                    let mut insert = sqlx::QueryBuilder::<$db>::new(
                        "INSERT INTO outbox (space, target, event_id, envelope, state, attempts, \
                         next_attempt_at, created_at) ",
                    );
                    insert.push_values(chunk, |mut b, (e, body)| {
                        b.push_bind(&e.envelope.api_space_id)
                            .push_bind(&e.target)
                            .push_bind(&e.envelope.event_id)
                            .push_bind(body)
                            .push_bind("pending")
                            .push_bind(0_i64)
                            .push_bind(now.millis())
                            .push_bind(now.millis());
                    });
                    insert.push(" ON CONFLICT (space, target, event_id) DO NOTHING");
                    insert
                        .build()
                        .execute(&mut **tx)
                        .await
                        .map_err(crate::error::db("enqueueing events"))?;
                }
                Ok(())
            }

            /// Marks webhook keys seen in `tx`.
            async fn mark_seen_in(
                tx: &mut sqlx::Transaction<'static, $db>,
                keys: &[String],
                now: messenger_model::Timestamp,
            ) -> Result<(), messenger_store::StoreError> {
                for chunk in keys.chunks(crate::impls::settle::SETTLE_CHUNK) {
                    let mut insert =
                        sqlx::QueryBuilder::<$db>::new("INSERT INTO seen_events (key, seen_at) ");
                    insert.push_values(chunk, |mut b, key| {
                        b.push_bind(key).push_bind(now.millis());
                    });
                    insert.push(" ON CONFLICT (key) DO NOTHING");
                    insert
                        .build()
                        .execute(&mut **tx)
                        .await
                        .map_err(crate::error::db("marking events seen"))?;
                }
                Ok(())
            }
        }
    };
}
pub(crate) use impl_receipts;

/// The messages a batch of receipts can change, loaded and locked.
#[derive(Debug, Default)]
pub(crate) struct Loaded {
    /// By id.
    pub(crate) messages: HashMap<String, MessageRecord>,
    /// `(space, page, psid)` -> ids of its sent or delivered messages, in acceptance order.
    pub(crate) sent_to: HashMap<(String, String, String), Vec<String>>,
}

impl Loaded {
    /// Adds a sent or delivered message, read for its recipient's watermarks (it may already be
    /// loaded as named by a mid: both reads are the same row).
    pub(crate) fn add_sent(&mut self, message: MessageRecord) {
        if let Some(to) = &message.sent_to {
            let key = (message.space.clone(), to.page_id.clone(), to.psid.clone());
            self.sent_to
                .entry(key)
                .or_default()
                .push(message.id.clone());
        }
        self.messages.entry(message.id.clone()).or_insert(message);
    }
}

/// The rules, receipt by receipt, on the loaded messages: a named mid delivers its message, a
/// watermark moves the recipient's messages it covers. Returns a snapshot after each change, and
/// the ids of the changed messages in the order they first changed (each to be written once).
pub(crate) fn apply_rules(
    receipts: &[Receipt],
    owners: &HashMap<(String, String), String>,
    loaded: &mut Loaded,
) -> (Vec<MessageRecord>, Vec<String>) {
    let mut changes = Vec::new();
    let mut dirty: Vec<String> = Vec::new();
    let mut is_dirty: HashSet<String> = HashSet::new();
    let mut changed = |m: &MessageRecord| {
        if is_dirty.insert(m.id.clone()) {
            dirty.push(m.id.clone());
        }
        changes.push(m.clone());
    };
    for r in receipts {
        for mid in &r.mids {
            let Some(id) = owners.get(&(r.space.clone(), mid.clone())) else {
                continue;
            };
            if let Some(m) = loaded.messages.get_mut(id) {
                if m.space == r.space && m.apply_status(r.mid_update(mid)) {
                    changed(m);
                }
            }
        }
        let key = (
            r.space.clone(),
            r.recipient.page_id.clone(),
            r.recipient.psid.clone(),
        );
        for id in loaded.sent_to.get(&key).into_iter().flatten() {
            if let Some(m) = loaded.messages.get_mut(id) {
                if m.watermark_applies(&r.recipient, r.status, r.watermark)
                    && m.apply_status(r.watermark_update())
                {
                    changed(m);
                }
            }
        }
    }
    (changes, dirty)
}

/// Implements `Store` for `$store`: `backend()` is `$backend`, `ping()` runs `SELECT 1` on the
/// reading pool, `close()` calls the backend's `$close`, and the two combined operations use the
/// transactions of [`impl_receipts`].
macro_rules! impl_store {
    ($store:ty, backend = $backend:literal, close = $close:ident) => {
        #[async_trait::async_trait]
        impl messenger_store::Store for $store {
            fn backend(&self) -> &'static str {
                $backend
            }

            async fn ping(&self) -> Result<(), messenger_store::StoreError> {
                self.ping_store().await
            }

            async fn close(&self) {
                self.$close().await;
            }

            async fn settle_and_queue(
                &self,
                settlements: Vec<messenger_store::Settlement>,
                events: &messenger_store::StatusEvents<'_>,
                now: messenger_model::Timestamp,
            ) -> Result<Vec<messenger_store::StatusOutcome>, messenger_store::StoreError> {
                self.settle_and_queue_all(settlements, events, now).await
            }

            async fn apply_receipts(
                &self,
                receipts: Vec<messenger_store::Receipt>,
                events: &messenger_store::StatusEvents<'_>,
                seen: &[String],
                now: messenger_model::Timestamp,
            ) -> Result<Vec<messenger_store::MessageRecord>, messenger_store::StoreError> {
                self.apply_receipts_all(receipts, events, seen, now).await
            }
        }
    };
}
pub(crate) use impl_store;
