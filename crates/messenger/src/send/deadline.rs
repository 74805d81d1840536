//! Messenger delivery deadlines (`channelOptions.fbMessenger.deliveryTimeout`, decision 0012):
//! a message Messenger has not delivered in time goes to its next rule.
//!
//! The deadline is written by the store with `sent` and cleared with `delivered` or `read`
//! ([`MessageRecord::delivery_deadline`](messenger_store::MessageRecord::delivery_deadline));
//! here it is only claimed, by whichever process runs [`Messenger::fire_delivery_deadlines`].

use crate::{Error, Messenger};

impl Messenger {
    /// Claims up to `limit` passed delivery deadlines (every space) and puts each message back
    /// in the dispatch queue, due now, to be sent by the rule after `fbMessenger`; its rule
    /// trace says "no delivery receipt within N s". The store claims each deadline once across
    /// processes ([`DeliveryDeadlines`](messenger_store::DeliveryDeadlines)). Returns how many
    /// messages were reopened; call it again at once when that is `limit`.
    ///
    /// ```no_run
    /// # async fn f(messenger: messenger::Messenger) -> Result<(), messenger::Error> {
    /// // A background task of each process, every half second or so:
    /// while messenger.fire_delivery_deadlines(100).await? == 100 {}
    /// messenger.dispatch_due("worker-1", 32).await?;
    /// # Ok(()) }
    /// ```
    pub async fn fire_delivery_deadlines(&self, limit: usize) -> Result<usize, Error> {
        let reopened = self
            .inner
            .store
            .claim_delivery_deadlines(self.now(), limit)
            .await?;
        for message in &reopened {
            tracing::info!(
                space = %message.space,
                message = %message.id,
                timeout_secs = message.request.delivery_timeout_secs().unwrap_or(0),
                "no delivery receipt in time: the message goes to its next rule"
            );
        }
        Ok(reopened.len())
    }
}
