//! Status changes and the events they produce, recorded as one unit: [`Receipt`],
//! [`QueuedEvent`], [`StatusEvents`] and the one-by-one fallbacks behind
//! [`Store::settle_and_queue`](crate::Store::settle_and_queue) and
//! [`Store::apply_receipts`](crate::Store::apply_receipts).
//!
//! When a message's status changes (a send settled, a receipt arrived), the business is owed an
//! event. Writing the change and queueing the event in two transactions leaves a gap: a crash
//! between them and the event is never sent, because replaying the change changes nothing. The
//! durable stores close the gap by doing both in one transaction; the caller says which event a
//! changed message produces with a [`StatusEvents`] function.

use messenger_model::{EventEnvelope, MessageStatus, Timestamp};

use crate::implementors::{check_receipt_status, held_from, held_updates};
use crate::{
    MessageRecord, MessengerRecipient, Settlement, StatusOutcome, StatusUpdate, Store, StoreError,
};

/// A Messenger delivery or read receipt, as Meta's `delivery` and `read` webhook events carry it.
///
/// ```
/// use messenger_model::{MessageStatus, Timestamp};
/// use messenger_store::{MessengerRecipient, Receipt};
/// let to = MessengerRecipient::new("page-1", "psid-1");
/// let at = Timestamp::from_millis(2_000);
/// let r = Receipt::delivered("space-a", to, Timestamp::from_millis(1_500), at).mids(["m_1"]);
/// assert_eq!(r.status, MessageStatus::Delivered);
/// assert_eq!(r.mids, ["m_1"]);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Receipt {
    /// The API space.
    pub space: String,
    /// The page and PSID the receipt is about.
    pub recipient: MessengerRecipient,
    /// `delivered` or `read`.
    pub status: MessageStatus,
    /// Every message sent to `recipient` at or before this instant has reached `status`.
    pub watermark: Timestamp,
    /// Graph message ids named by a delivery receipt: these messages are delivered whatever the
    /// watermark says.
    pub mids: Vec<String>,
    /// When Meta says it happened (the status history's time).
    pub at: Timestamp,
}

impl Receipt {
    /// A delivery receipt with a watermark and no mids.
    pub fn delivered(
        space: impl Into<String>,
        recipient: MessengerRecipient,
        watermark: Timestamp,
        at: Timestamp,
    ) -> Self {
        Self::new(space, recipient, MessageStatus::Delivered, watermark, at)
    }

    /// A read receipt.
    pub fn read(
        space: impl Into<String>,
        recipient: MessengerRecipient,
        watermark: Timestamp,
        at: Timestamp,
    ) -> Self {
        Self::new(space, recipient, MessageStatus::Read, watermark, at)
    }

    fn new(
        space: impl Into<String>,
        recipient: MessengerRecipient,
        status: MessageStatus,
        watermark: Timestamp,
        at: Timestamp,
    ) -> Self {
        Self {
            space: space.into(),
            recipient,
            status,
            watermark,
            mids: Vec::new(),
            at,
        }
    }

    /// Sets the Graph message ids the receipt names.
    #[must_use = "a builder method returns the changed value and does nothing on its own"]
    pub fn mids<I, S>(mut self, mids: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.mids = mids.into_iter().map(Into::into).collect();
        self
    }

    /// Checks what every store requires: `delivered` or `read`, and mids only on deliveries.
    pub fn validate(&self) -> Result<(), StoreError> {
        check_receipt_status(self.status)?;
        if !self.mids.is_empty() && self.status != MessageStatus::Delivered {
            return Err(StoreError::invalid("only delivery receipts name mids"));
        }
        Ok(())
    }

    /// The status change a named mid makes.
    pub fn mid_update(&self, mid: &str) -> StatusUpdate {
        StatusUpdate::new(MessageStatus::Delivered, self.at)
            .reason(format!("delivery receipt for {mid}"))
    }

    /// The status change the watermark makes.
    pub fn watermark_update(&self) -> StatusUpdate {
        StatusUpdate::new(self.status, self.at).reason(format!("watermark {}", self.watermark))
    }
}

/// An event for the business's webhook, to be queued in the outbox for `target`.
#[derive(Debug, Clone, PartialEq)]
pub struct QueuedEvent {
    /// The receiving webhook (see [`Outbox`](crate::Outbox)).
    pub target: String,
    /// The event.
    pub envelope: EventEnvelope,
}

/// Which event a message whose status just changed produces (`None`: none, e.g. the space does
/// not subscribe to it). It sees the message as the change left it. The store calls it inside
/// the transaction that records the change, so it must not block or do I/O.
pub type StatusEvents<'a> = dyn Fn(&MessageRecord) -> Option<QueuedEvent> + Send + Sync + 'a;

/// [`Store::settle_and_queue`](crate::Store::settle_and_queue) without a shared transaction:
/// settles, then queues the events of the messages whose status changed.
pub(crate) async fn settle_then_queue<S: Store + ?Sized>(
    store: &S,
    settlements: Vec<Settlement>,
    events: &StatusEvents<'_>,
    now: Timestamp,
) -> Result<Vec<StatusOutcome>, StoreError> {
    let outcomes = store.settle_messages(settlements).await?;
    for outcome in outcomes.iter().filter(|o| o.applied) {
        queue(store, events(&outcome.message), now).await?;
        apply_held_one_by_one(store, &outcome.message, events, now).await?;
    }
    Ok(outcomes)
}

/// [`Store::apply_receipts`](crate::Store::apply_receipts) without a shared transaction: each
/// receipt with the single operations, then the events, then the seen keys (in that order, so a
/// failure part-way leaves the keys unmarked and the receipts can be applied again).
pub(crate) async fn apply_one_by_one<S: Store + ?Sized>(
    store: &S,
    receipts: Vec<Receipt>,
    events: &StatusEvents<'_>,
    seen: &[String],
    now: Timestamp,
) -> Result<Vec<MessageRecord>, StoreError> {
    for receipt in &receipts {
        receipt.validate()?;
    }
    let mut changed = Vec::new();
    for receipt in receipts {
        let mut unknown = Vec::new();
        for mid in &receipt.mids {
            let Some(message) = store.find_by_graph_message_id(&receipt.space, mid).await? else {
                unknown.push(mid.clone());
                continue;
            };
            let outcome = store
                .update_status(&receipt.space, &message.id, receipt.mid_update(mid))
                .await?;
            if outcome.applied {
                queue(store, events(&outcome.message), now).await?;
                changed.push(outcome.message);
            }
        }
        let moved = store
            .apply_watermark(
                &receipt.space,
                &receipt.recipient,
                receipt.status,
                receipt.watermark,
                receipt.at,
            )
            .await?;
        for message in moved {
            queue(store, events(&message), now).await?;
            changed.push(message);
        }
        let held = held_from(&receipt, &unknown);
        store
            .hold_receipt(&receipt.space, &receipt.recipient, &held, now)
            .await?;
    }
    for key in seen {
        store.mark_seen(key, now).await?;
    }
    Ok(changed)
}

/// Applies the receipts held for `message`, just settled, with the single operations, queueing
/// each change's event.
async fn apply_held_one_by_one<S: Store + ?Sized>(
    store: &S,
    message: &MessageRecord,
    events: &StatusEvents<'_>,
    now: Timestamp,
) -> Result<(), StoreError> {
    let held = store.held_receipts_for(message).await?;
    if held.is_empty() {
        return Ok(());
    }
    for update in held_updates(message, &held) {
        let outcome = store
            .update_status(&message.space, &message.id, update)
            .await?;
        if outcome.applied {
            queue(store, events(&outcome.message), now).await?;
        }
    }
    Ok(())
}

async fn queue<S: Store + ?Sized>(
    store: &S,
    event: Option<QueuedEvent>,
    now: Timestamp,
) -> Result<(), StoreError> {
    if let Some(QueuedEvent { target, envelope }) = event {
        store.enqueue_event(&target, envelope, now).await?;
    }
    Ok(())
}
