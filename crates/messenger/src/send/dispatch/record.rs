//! Recording how attempts ended: final statuses settled in groups with their events, releases
//! written step by step. A recording that fails is retried (with a doubling pause) until
//! shortly before the message's lease ends: a send that reached Meta must be recorded, or the
//! message would be sent again.

use std::future::Future;
use std::time::Duration;

use messenger_model::{Channel, EventName, MessageStatus};
use messenger_store::{MessageRecord, QueuedEvent, Settlement, StoreError};
use serde_json::json;
use tokio::time::Instant;

use super::attempt::Release;
use crate::{Error, Messenger};

/// The first pause before retrying a recording; it doubles up to [`MAX_PAUSE`].
const FIRST_PAUSE: Duration = Duration::from_millis(50);
const MAX_PAUSE: Duration = Duration::from_secs(2);

/// Until when a recording may be retried: three quarters into the lease, so the message is
/// still ours when the last try lands.
#[derive(Debug, Clone, Copy)]
pub(super) struct Deadline(Instant);

impl Deadline {
    /// The deadline for a message leased just now.
    pub(super) fn for_lease(messenger: &Messenger) -> Self {
        Self(Instant::now() + messenger.inner.lease_for * 3 / 4)
    }
}

/// Whether a store error may go away by itself (an unreachable database, a pool with no free
/// connection, a serialization failure); a missing message or corrupt data will not.
fn worth_retrying(e: &StoreError) -> bool {
    matches!(
        e,
        StoreError::Unavailable { .. } | StoreError::Backend { .. }
    )
}

/// Runs `op` until it succeeds, fails for good, or `deadline` passes; logs each failure with
/// `what` and the message.
async fn with_retries<T, F, Fut>(
    what: &'static str,
    message: &str,
    deadline: Deadline,
    mut op: F,
) -> Result<T, StoreError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, StoreError>>,
{
    let mut pause = FIRST_PAUSE;
    loop {
        match op().await {
            Ok(v) => return Ok(v),
            Err(e) if worth_retrying(&e) && Instant::now() + pause < deadline.0 => {
                tracing::warn!(
                    message,
                    error = %crate::error::chain(&e),
                    retry_in_ms = u64::try_from(pause.as_millis()).unwrap_or(u64::MAX),
                    "{what} failed; retrying"
                );
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(MAX_PAUSE);
            }
            Err(e) => {
                tracing::error!(
                    message,
                    error = %crate::error::chain(&e),
                    "{what} failed; leaving the message leased (the next holder checks Meta's echoes before sending again)"
                );
                return Err(e);
            }
        }
    }
}

impl Messenger {
    /// Settles final statuses with their events: the whole group in one store call (one
    /// transaction in the durable stores); when that fails, each alone, retried until its
    /// deadline, so one bad message does not hold back the others. Returns each message's
    /// result and the status it was settled in, in order.
    pub(super) async fn settle_group(
        &self,
        settlements: Vec<(Settlement, Deadline)>,
    ) -> Vec<(Result<(), Error>, MessageStatus)> {
        let store = &self.inner.store;
        let events = |m: &MessageRecord| self.status_event(m);
        let n = settlements.len();
        if n > 1 {
            let all: Vec<Settlement> = settlements.iter().map(|(s, _)| s.clone()).collect();
            match store.settle_and_queue(all, &events, self.now()).await {
                Ok(outcomes) if outcomes.len() == n => {
                    return settlements
                        .into_iter()
                        .map(|(s, _)| (Ok(()), s.update.status))
                        .collect();
                }
                Ok(_) => tracing::warn!(
                    messages = n,
                    "the store answered a group of settlements with the wrong number of outcomes; recording them one by one"
                ),
                Err(e) => tracing::warn!(
                    error = %crate::error::chain(&e),
                    messages = n,
                    "recording a group of sends failed; recording them one by one"
                ),
            }
        }
        let mut results = Vec::with_capacity(n);
        for (settlement, deadline) in settlements {
            let status = settlement.update.status;
            let id = settlement.id.clone();
            let settled = with_retries("recording a send attempt", &id, deadline, || async {
                let outcomes = store
                    .settle_and_queue(vec![settlement.clone()], &events, self.now())
                    .await?;
                if outcomes.len() == 1 {
                    Ok(())
                } else {
                    Err(StoreError::invalid(
                        "the store answered a settlement with no outcome",
                    ))
                }
            })
            .await;
            results.push((settled.map_err(Error::from), status));
        }
        results
    }

    /// Records a release: the attempt's Graph message ids, its rule trace entries, then the
    /// release itself; each step retried on its own until `deadline`, so a step that succeeded
    /// is not repeated (no rule trace entry twice).
    pub(super) async fn record_release(
        &self,
        worker: &str,
        space: &str,
        id: &str,
        release: Release,
        deadline: Deadline,
    ) -> Result<(), Error> {
        let store = &self.inner.store;
        let Release {
            graph_message_ids,
            rule_trace,
            retry,
        } = release;
        for mid in &graph_message_ids {
            with_retries("recording a Graph message id", id, deadline, || {
                store.add_graph_message_id(space, id, mid)
            })
            .await?;
        }
        if !rule_trace.is_empty() {
            with_retries("recording the rule trace", id, deadline, || {
                store.append_rule_trace(space, id, rule_trace.clone())
            })
            .await?;
        }
        with_retries("releasing a message to retry it", id, deadline, || {
            store.release(space, id, worker, retry.clone())
        })
        .await?;
        Ok(())
    }

    /// Gives a message back untouched, due at `until` (its page is booked), retried until
    /// `deadline`; counted on the page.
    pub(super) async fn record_defer(
        &self,
        worker: &str,
        space: &str,
        id: &str,
        until: messenger_model::Timestamp,
        deadline: Deadline,
    ) -> Result<(), Error> {
        let store = &self.inner.store;
        with_retries(
            "deferring a message to its page's pace",
            id,
            deadline,
            || store.defer(space, id, worker, until),
        )
        .await?;
        if let Ok(space) = self.space(space) {
            space.pacing.was_deferred();
        }
        Ok(())
    }

    /// The event a message whose status just changed produces (`message.sent`,
    /// `message.delivered`, ...), if its space subscribes to it: what the store queues together
    /// with the change ([`Store::settle_and_queue`](messenger_store::Store::settle_and_queue),
    /// [`Store::apply_receipts`](messenger_store::Store::apply_receipts)).
    pub(crate) fn status_event(&self, message: &MessageRecord) -> Option<QueuedEvent> {
        self.inner
            .status_counts
            .record(&message.space, message.status);
        let space = self.space(&message.space).ok()?;
        let space = &*space;
        let name = match message.status {
            MessageStatus::Sent => EventName::MessageSent,
            MessageStatus::Delivered => EventName::MessageDelivered,
            MessageStatus::Read => EventName::MessageRead,
            MessageStatus::Failed => EventName::MessageFailed,
            MessageStatus::Expired => EventName::MessageExpired,
            MessageStatus::Processing | MessageStatus::Retrying => return None,
        };
        // Receipts are of the channel that sent to `sent_to` (Messenger's page, or one of the
        // space's Instagram accounts): a late one for a message its next rule sent after a
        // missed delivery deadline still reports that channel's delivery or read.
        let channel = match (&message.status, &message.sent_to) {
            (MessageStatus::Delivered | MessageStatus::Read, Some(to)) => {
                Some(if space.instagram_account(&to.page_id).is_some() {
                    Channel::Instagram
                } else {
                    Channel::FbMessenger
                })
            }
            _ => message.channel,
        };
        let payload = json!({
            "messageId": message.id,
            "status": message.status,
            "channel": channel,
            "to": message.request.to,
            "graphMessageIds": message.graph_message_ids,
            "error": message.error,
            "metadata": message.request.metadata,
            "conversationId": message.request.conversation_id,
        });
        // A status entered a second time (`sent` again by the next rule after a missed
        // delivery deadline) is another event, with an id of its own.
        let times = message
            .status_history
            .iter()
            .filter(|c| c.status == message.status)
            .count();
        let event_id = if times > 1 {
            format!("{}.{}.{times}", message.id, message.status)
        } else {
            format!("{}.{}", message.id, message.status)
        };
        self.event(space, event_id, name, payload, message.revision())
    }
}
