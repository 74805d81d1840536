//! Messenger delivery deadlines ([`DeliveryDeadlines`]): a message sent on Messenger with a
//! `deliveryTimeout` that no receipt covered in time goes to its next rule, once.
//!
//! The deadline is part of the message ([`MessageRecord::delivery_deadline`]): set in the same
//! write that records `sent`, cleared by the write that records `delivered` or `read`. So it
//! survives restarts, and whichever instance runs claims it.

use async_trait::async_trait;
use messenger_model::Timestamp;

use crate::{MessageRecord, StoreError};

/// Claims passed delivery deadlines, across processes.
#[async_trait]
pub trait DeliveryDeadlines: Send + Sync {
    /// Claims up to `limit` messages (every space, earliest deadline first) whose delivery
    /// deadline is at or before `now`, and applies [`MessageRecord::miss_delivery_deadline`] to
    /// each in the same transaction: a message still `sent` goes back to the dispatch queue as
    /// `retrying`, due at `now`, to be sent by its next rule. Returns the messages reopened.
    ///
    /// Each deadline is claimed once: two callers, in one process or several sharing the
    /// database, never both get the same message, and a claimed deadline is gone.
    async fn claim_delivery_deadlines(
        &self,
        now: Timestamp,
        limit: usize,
    ) -> Result<Vec<MessageRecord>, StoreError>;
}
