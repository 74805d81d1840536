//! Receipts that arrive before the send they cover is recorded: [`HeldReceipts`],
//! [`HeldReceipt`] and [`apply_held`].
//!
//! Meta can post a delivery or read receipt within milliseconds of accepting a send, while the
//! sending worker is still waiting for Meta's answer or recording it. Applied at that moment, the
//! receipt changes nothing: the mid it names is not yet stored, and the message is not yet `sent`
//! to the recipient its watermark covers. Without a memory of it, the message would stay `sent`
//! for ever and the business would never hear `message.delivered` or `message.read`.
//!
//! So every receipt is also *held*: its watermark per recipient and status (raised, never
//! lowered), and each named mid that no message carries yet. When a send is then recorded, the
//! held receipts that cover it are applied in the same unit of work, after the `sent` change, and
//! each change produces its event as a live receipt would. Held receipts are forgotten after a
//! horizon ([`HeldReceipts::purge_held_receipts`]): only a send recorded within moments of its
//! receipt needs one.

use async_trait::async_trait;
use messenger_model::{Channel, MessageStatus, Timestamp};

use crate::{MessageRecord, StatusUpdate, StoreError};

/// A receipt held for a message recorded as sent after it arrived.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HeldReceipt {
    /// A delivery receipt named this mid before any message carried it.
    Delivered {
        /// The Graph message id.
        mid: String,
        /// When Meta says it was delivered.
        at: Timestamp,
    },
    /// The highest watermark of this status received for the message's recipient.
    Watermark {
        /// `delivered` or `read`.
        status: MessageStatus,
        /// Every message to the recipient sent at or before this instant has `status`.
        watermark: Timestamp,
        /// When Meta says it happened.
        at: Timestamp,
    },
}

/// Receipts kept for sends that are recorded after them. See the module documentation.
///
/// A store holds receipts in [`Store::apply_receipts`](crate::Store::apply_receipts) and applies
/// them in [`Store::settle_and_queue`](crate::Store::settle_and_queue); the durable stores do
/// both inside those operations' transactions.
#[async_trait]
pub trait HeldReceipts: Send + Sync {
    /// Holds `held`, receipts of `space` for `recipient` ([`held_from`] makes them from a
    /// receipt): a watermark raises the one held for the recipient and its status (never lowers
    /// it), a delivery keeps its mid. `now` is when they were held (for the purge).
    async fn hold_receipt(
        &self,
        space: &str,
        recipient: &crate::MessengerRecipient,
        held: &[HeldReceipt],
        now: Timestamp,
    ) -> Result<(), StoreError>;

    /// The held receipts that may cover `message`: a delivery for each of its Graph message ids
    /// that was held, then its recipient's held watermarks (delivery before read). Empty for a
    /// message with no Messenger recipient.
    async fn held_receipts_for(
        &self,
        message: &MessageRecord,
    ) -> Result<Vec<HeldReceipt>, StoreError>;

    /// Forgets the receipts held since before `before`. Returns how many.
    async fn purge_held_receipts(&self, before: Timestamp) -> Result<u64, StoreError>;
}

/// How long a held receipt is kept: a send is recorded within seconds of Meta accepting it, so
/// an hour covers a slow database and a worker's lease running out.
pub const HOLD_FOR_MILLIS: i64 = 60 * 60 * 1000;

/// The status changes the `held` receipts make to `message` (in order, each as it applies after
/// the ones before it). Only a message sent on Messenger is covered: by a held delivery when it
/// carries the mid, by a held watermark as a live one would cover it
/// ([`MessageRecord::watermark_applies`]). `message` itself is not changed.
pub fn held_updates(message: &MessageRecord, held: &[HeldReceipt]) -> Vec<StatusUpdate> {
    let mut updates = Vec::new();
    if message.channel != Some(Channel::FbMessenger) {
        return updates;
    }
    let Some(recipient) = message.sent_to.clone() else {
        return updates;
    };
    let mut message = message.clone();
    for receipt in held {
        let update = match receipt {
            HeldReceipt::Delivered { mid, at } => {
                if !message.graph_message_ids.iter().any(|m| m == mid) {
                    continue;
                }
                StatusUpdate::new(MessageStatus::Delivered, *at)
                    .reason(format!("delivery receipt for {mid}"))
            }
            HeldReceipt::Watermark {
                status,
                watermark,
                at,
            } => {
                if !message.watermark_applies(&recipient, *status, *watermark) {
                    continue;
                }
                StatusUpdate::new(*status, *at).reason(format!("watermark {watermark}"))
            }
        };
        if message.apply_status(update.clone()) {
            updates.push(update);
        }
    }
    updates
}

/// Applies the `held` receipts that cover `message` ([`held_updates`]), returning a snapshot
/// after each change, for its event.
pub fn apply_held(message: &mut MessageRecord, held: &[HeldReceipt]) -> Vec<MessageRecord> {
    let mut changes = Vec::new();
    for update in held_updates(message, held) {
        if message.apply_status(update) {
            changes.push(message.clone());
        }
    }
    changes
}

/// What a receipt leaves held: its watermark, and a delivery for each of `unknown_mids`.
pub fn held_from(receipt: &crate::Receipt, unknown_mids: &[String]) -> Vec<HeldReceipt> {
    let mut held: Vec<HeldReceipt> = unknown_mids
        .iter()
        .map(|mid| HeldReceipt::Delivered {
            mid: mid.clone(),
            at: receipt.at,
        })
        .collect();
    held.push(HeldReceipt::Watermark {
        status: receipt.status,
        watermark: receipt.watermark,
        at: receipt.at,
    });
    held
}
