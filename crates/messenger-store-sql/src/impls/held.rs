//! [`HeldReceipts`](messenger_store::HeldReceipts) for a SQL backend, written once for both, and
//! the steps of the receipt and settle transactions that hold and apply them.
//!
//! A receipt and a send to the same recipient can be recorded by two transactions at once. Both
//! write the recipient's `held_watermarks` row first (a receipt raises its watermarks, a send
//! only touches the row), before they read messages or held receipts. On PostgreSQL the row lock
//! makes the second wait for the first to commit; its following statements then see what the
//! first wrote, so either the receipt finds the message sent or the send finds the receipt held.
//! SQLite's write transactions are exclusive, so the question does not arise there. Rows are
//! written in key order, so two transactions never wait for each other's rows in a circle.

use std::collections::{BTreeMap, HashMap};

use messenger_model::{MessageStatus, Timestamp};
use messenger_store::{HeldReceipt, MessengerRecipient};

/// A recipient's row of `held_watermarks`: `(space, page id, psid)`.
pub(crate) type RecipientKey = (String, String, String);

/// The watermarks held for a recipient, in milliseconds (0: none).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, sqlx::FromRow)]
pub(crate) struct Watermarks {
    pub delivered_watermark: i64,
    pub delivered_at: i64,
    pub read_watermark: i64,
    pub read_at: i64,
}

impl Watermarks {
    /// Raises the watermark of `status` to `watermark` (with its time) when higher.
    pub(crate) fn raise(&mut self, status: MessageStatus, watermark: Timestamp, at: Timestamp) {
        let (held, held_at) = match status {
            MessageStatus::Delivered => (&mut self.delivered_watermark, &mut self.delivered_at),
            MessageStatus::Read => (&mut self.read_watermark, &mut self.read_at),
            _ => return,
        };
        if watermark.millis() > *held {
            *held = watermark.millis();
            *held_at = at.millis();
        }
    }

    /// The held watermarks as receipts, delivery first.
    pub(crate) fn receipts(&self) -> impl Iterator<Item = HeldReceipt> + '_ {
        [
            (
                MessageStatus::Delivered,
                self.delivered_watermark,
                self.delivered_at,
            ),
            (MessageStatus::Read, self.read_watermark, self.read_at),
        ]
        .into_iter()
        .filter(|(_, watermark, _)| *watermark > 0)
        .map(|(status, watermark, at)| HeldReceipt::Watermark {
            status,
            watermark: Timestamp::from_millis(watermark),
            at: Timestamp::from_millis(at),
        })
    }
}

/// The key of `recipient` in `space`.
pub(crate) fn recipient_key(space: &str, recipient: &MessengerRecipient) -> RecipientKey {
    (
        space.to_owned(),
        recipient.page_id.clone(),
        recipient.psid.clone(),
    )
}

/// The receipts held for `message`: a delivery for each of its mids in `mids` (held deliveries,
/// `(space, mid)` -> delivered at), then the watermarks `marks` holds for its recipient.
pub(crate) fn held_for(
    message: &messenger_store::MessageRecord,
    mids: &HashMap<(String, String), Timestamp>,
    marks: Option<&Watermarks>,
) -> Vec<HeldReceipt> {
    let mut held: Vec<HeldReceipt> = message
        .graph_message_ids
        .iter()
        .filter_map(|mid| {
            let at = mids.get(&(message.space.clone(), mid.clone()))?;
            Some(HeldReceipt::Delivered {
                mid: mid.clone(),
                at: *at,
            })
        })
        .collect();
    held.extend(marks.into_iter().flat_map(Watermarks::receipts));
    held
}

/// What a batch of receipts holds, per recipient in key order: the highest watermarks.
pub(crate) fn watermarks_of(
    receipts: &[messenger_store::Receipt],
) -> BTreeMap<RecipientKey, Watermarks> {
    let mut held: BTreeMap<RecipientKey, Watermarks> = BTreeMap::new();
    for r in receipts {
        held.entry(recipient_key(&r.space, &r.recipient))
            .or_default()
            .raise(r.status, r.watermark, r.at);
    }
    held
}

/// Implements `HeldReceipts` for `$store` (database `$db`), and the steps the receipt and settle
/// transactions take: `hold_watermarks_in`, `hold_mids_in`, `held_mids_in`.
macro_rules! impl_held_receipts {
    ($store:ty, $db:ty) => {
        #[async_trait::async_trait]
        impl messenger_store::HeldReceipts for $store {
            async fn hold_receipt(
                &self,
                space: &str,
                recipient: &messenger_store::MessengerRecipient,
                held: &[messenger_store::HeldReceipt],
                now: messenger_model::Timestamp,
            ) -> Result<(), messenger_store::StoreError> {
                let mut marks = crate::impls::held::Watermarks::default();
                let mut mids = Vec::new();
                for receipt in held {
                    match receipt {
                        messenger_store::HeldReceipt::Delivered { mid, at } => {
                            mids.push((space, mid.as_str(), *at));
                        }
                        messenger_store::HeldReceipt::Watermark {
                            status,
                            watermark,
                            at,
                        } => marks.raise(*status, *watermark, *at),
                    }
                }
                let key = crate::impls::held::recipient_key(space, recipient);
                let mut tx = self.begin_write().await?;
                let result = async {
                    Self::hold_watermarks_in(&mut tx, &[(key, marks)], now).await?;
                    Self::hold_mids_in(&mut tx, &mids, now).await
                }
                .await;
                self.finish(tx, result).await
            }

            async fn held_receipts_for(
                &self,
                message: &messenger_store::MessageRecord,
            ) -> Result<Vec<messenger_store::HeldReceipt>, messenger_store::StoreError> {
                let Some(to) = &message.sent_to else {
                    return Ok(Vec::new());
                };
                let marks: Option<crate::impls::held::Watermarks> = sqlx::query_as(
                    "SELECT delivered_watermark, delivered_at, read_watermark, read_at \
                     FROM held_watermarks WHERE space = $1 AND page_id = $2 AND psid = $3",
                )
                .bind(&message.space)
                .bind(&to.page_id)
                .bind(&to.psid)
                .fetch_optional(self.reader())
                .await
                .map_err(crate::error::db("reading held watermarks"))?;
                let pairs: Vec<(&str, &str)> = message
                    .graph_message_ids
                    .iter()
                    .map(|mid| (message.space.as_str(), mid.as_str()))
                    .collect();
                let mut conn = self
                    .reader()
                    .acquire()
                    .await
                    .map_err(crate::error::db("reading held mids"))?;
                let mids = Self::held_mids_in(&mut conn, &pairs).await?;
                Ok(crate::impls::held::held_for(message, &mids, marks.as_ref()))
            }

            async fn purge_held_receipts(
                &self,
                before: messenger_model::Timestamp,
            ) -> Result<u64, messenger_store::StoreError> {
                let mut tx = self.begin_write().await?;
                let result = async {
                    let mut purged = 0;
                    for table in ["held_receipt_mids", "held_watermarks"] {
                        purged += sqlx::query(&format!("DELETE FROM {table} WHERE held_at < $1"))
                            .bind(before.millis())
                            .execute(&mut *tx)
                            .await
                            .map_err(crate::error::db("purging held receipts"))?
                            .rows_affected();
                    }
                    Ok(purged)
                }
                .await;
                self.finish(tx, result).await
            }
        }

        impl $store {
            /// Raises the held watermarks of each recipient in `rows` (in key order; a row of
            /// zeros only takes the recipient's row lock), and returns what is held for each
            /// afterwards. A new row is held from `now`; a raised one from `now` again.
            async fn hold_watermarks_in(
                tx: &mut sqlx::Transaction<'static, $db>,
                rows: &[(
                    crate::impls::held::RecipientKey,
                    crate::impls::held::Watermarks,
                )],
                now: messenger_model::Timestamp,
            ) -> Result<
                std::collections::HashMap<
                    crate::impls::held::RecipientKey,
                    crate::impls::held::Watermarks,
                >,
                messenger_store::StoreError,
            > {
                let mut held = std::collections::HashMap::with_capacity(rows.len());
                for chunk in rows.chunks(crate::impls::settle::SETTLE_CHUNK) {
                    let mut upsert = sqlx::QueryBuilder::<$db>::new(
                        "INSERT INTO held_watermarks (space, page_id, psid, delivered_watermark, \
                         delivered_at, read_watermark, read_at, held_at) ",
                    );
                    upsert.push_values(chunk, |mut b, ((space, page, psid), m)| {
                        b.push_bind(space)
                            .push_bind(page)
                            .push_bind(psid)
                            .push_bind(m.delivered_watermark)
                            .push_bind(m.delivered_at)
                            .push_bind(m.read_watermark)
                            .push_bind(m.read_at)
                            .push_bind(now.millis());
                    });
                    upsert.push(crate::impls::held::RAISE_WATERMARKS);
                    let returned: Vec<(String, String, String, i64, i64, i64, i64)> = upsert
                        .build_query_as()
                        .fetch_all(&mut **tx)
                        .await
                        .map_err(crate::error::db("holding receipt watermarks"))?;
                    for (space, page, psid, dw, da, rw, ra) in returned {
                        let marks = crate::impls::held::Watermarks {
                            delivered_watermark: dw,
                            delivered_at: da,
                            read_watermark: rw,
                            read_at: ra,
                        };
                        held.insert((space, page, psid), marks);
                    }
                }
                Ok(held)
            }

            /// Holds deliveries of mids no message carries yet: `(space, mid, delivered at)`.
            async fn hold_mids_in(
                tx: &mut sqlx::Transaction<'static, $db>,
                mids: &[(&str, &str, messenger_model::Timestamp)],
                now: messenger_model::Timestamp,
            ) -> Result<(), messenger_store::StoreError> {
                for chunk in mids.chunks(crate::impls::settle::SETTLE_CHUNK) {
                    let mut insert = sqlx::QueryBuilder::<$db>::new(
                        "INSERT INTO held_receipt_mids (space, mid, delivered_at, held_at) ",
                    );
                    insert.push_values(chunk, |mut b, (space, mid, at)| {
                        b.push_bind(*space)
                            .push_bind(*mid)
                            .push_bind(at.millis())
                            .push_bind(now.millis());
                    });
                    insert.push(" ON CONFLICT (space, mid) DO NOTHING");
                    insert
                        .build()
                        .execute(&mut **tx)
                        .await
                        .map_err(crate::error::db("holding receipt mids"))?;
                }
                Ok(())
            }

            /// Applies the receipts held for the messages `outcomes` made `sent` on Messenger
            /// (`marks`: their recipients' held watermarks, read when this transaction took the
            /// recipients' rows) and writes the changed messages back. Returns a snapshot after
            /// each change, for its event, in order.
            async fn apply_held_in(
                tx: &mut sqlx::Transaction<'static, $db>,
                outcomes: &[messenger_store::StatusOutcome],
                marks: &std::collections::HashMap<
                    crate::impls::held::RecipientKey,
                    crate::impls::held::Watermarks,
                >,
            ) -> Result<Vec<messenger_store::MessageRecord>, messenger_store::StoreError> {
                // Each message once, as the last settlement of it left it.
                let mut sent: Vec<&messenger_store::MessageRecord> = Vec::new();
                for o in outcomes.iter().rev() {
                    let m = &o.message;
                    if o.applied
                        && m.status == messenger_model::MessageStatus::Sent
                        && m.sent_to.is_some()
                        && !sent.iter().any(|s| s.id == m.id)
                    {
                        sent.push(m);
                    }
                }
                sent.reverse();
                if sent.is_empty() {
                    return Ok(Vec::new());
                }
                let pairs: Vec<(&str, &str)> = sent
                    .iter()
                    .flat_map(|m| {
                        m.graph_message_ids
                            .iter()
                            .map(|mid| (m.space.as_str(), mid.as_str()))
                    })
                    .collect();
                let mids = Self::held_mids_in(&mut **tx, &pairs).await?;
                let mut changes = Vec::new();
                let mut changed = Vec::new();
                for message in sent {
                    let key = message
                        .sent_to
                        .as_ref()
                        .map(|to| crate::impls::held::recipient_key(&message.space, to));
                    let marks = key.and_then(|k| marks.get(&k));
                    let held = crate::impls::held::held_for(message, &mids, marks);
                    let mut message = message.clone();
                    let snapshots = messenger_store::implementors::apply_held(&mut message, &held);
                    if !snapshots.is_empty() {
                        changes.extend(snapshots);
                        changed.push(message);
                    }
                }
                let changed: Vec<&messenger_store::MessageRecord> = changed.iter().collect();
                for chunk in changed.chunks(crate::impls::settle::SETTLE_CHUNK) {
                    match chunk {
                        [one] => Self::save_message_state(tx, one).await?,
                        many => Self::save_message_states(tx, many).await?,
                    }
                }
                Ok(changes)
            }

            /// The held deliveries among `(space, mid)` pairs: pair -> delivered at.
            async fn held_mids_in(
                conn: &mut <$db as sqlx::Database>::Connection,
                pairs: &[(&str, &str)],
            ) -> Result<
                std::collections::HashMap<(String, String), messenger_model::Timestamp>,
                messenger_store::StoreError,
            > {
                let mut held = std::collections::HashMap::new();
                for chunk in pairs.chunks(crate::impls::settle::SETTLE_CHUNK) {
                    let mut select = sqlx::QueryBuilder::<$db>::new(
                        "SELECT space, mid, delivered_at FROM held_receipt_mids \
                         WHERE (space, mid) IN (",
                    );
                    select.push_values(chunk, |mut b, (space, mid)| {
                        b.push_bind(*space).push_bind(*mid);
                    });
                    select.push(")");
                    let rows: Vec<(String, String, i64)> = select
                        .build_query_as()
                        .fetch_all(&mut *conn)
                        .await
                        .map_err(crate::error::db("reading held mids"))?;
                    held.extend(rows.into_iter().map(|(space, mid, at)| {
                        ((space, mid), messenger_model::Timestamp::from_millis(at))
                    }));
                }
                Ok(held)
            }
        }
    };
}
pub(crate) use impl_held_receipts;

/// The conflict clause of `hold_watermarks_in`: each watermark only rises, keeping its time
/// with it; `held_at` moves when one rose. Returns the row as it is afterwards.
pub(crate) const RAISE_WATERMARKS: &str = " ON CONFLICT (space, page_id, psid) DO UPDATE SET \
     delivered_at = CASE WHEN excluded.delivered_watermark > held_watermarks.delivered_watermark \
       THEN excluded.delivered_at ELSE held_watermarks.delivered_at END, \
     delivered_watermark = CASE \
       WHEN excluded.delivered_watermark > held_watermarks.delivered_watermark \
       THEN excluded.delivered_watermark ELSE held_watermarks.delivered_watermark END, \
     read_at = CASE WHEN excluded.read_watermark > held_watermarks.read_watermark \
       THEN excluded.read_at ELSE held_watermarks.read_at END, \
     read_watermark = CASE WHEN excluded.read_watermark > held_watermarks.read_watermark \
       THEN excluded.read_watermark ELSE held_watermarks.read_watermark END, \
     held_at = CASE WHEN excluded.delivered_watermark > held_watermarks.delivered_watermark \
       OR excluded.read_watermark > held_watermarks.read_watermark \
       THEN excluded.held_at ELSE held_watermarks.held_at END \
     RETURNING space, page_id, psid, delivered_watermark, delivered_at, read_watermark, read_at";
