//! Dispatching stored messages: lease, try each rule in order, record statuses, Graph message
//! ids and the rule trace, queue events.

use std::sync::Arc;
use std::time::Duration;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use futures::stream::{FuturesUnordered, StreamExt};
use messenger_graph::{AttachmentUpload, ErrorKind};
use messenger_model::{
    plan_graph_sends, Channel, EventName, MessageError, MessageStatus, RuleOutcome, RuleTraceEntry,
    Timestamp,
};
use messenger_store::{
    MessageRecord, QueuedEvent, Retry, Settlement, StatusOutcome, StatusUpdate, Store, StoreError,
};
use serde_json::json;

use super::rules::{trace, RuleDecision};
use crate::addressing::MessengerAddress;
use crate::sms::SmsMessage;
use crate::{Error, Messenger, Space};

/// What one dispatch round did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DispatchReport {
    /// Messages leased.
    pub leased: usize,
    /// Sent (on some channel).
    pub sent: usize,
    /// Released to be tried again later.
    pub retrying: usize,
    /// Failed on every rule.
    pub failed: usize,
    /// Expired before they could be sent.
    pub expired: usize,
}

/// Where delivering one leased message ended.
enum Step {
    /// In a final status, still to be recorded (with its Graph ids and rule trace).
    Settle(Box<Settlement>),
    /// Already recorded (released to be retried).
    Recorded(MessageStatus),
}

impl DispatchReport {
    fn count(&mut self, status: MessageStatus) {
        match status {
            MessageStatus::Sent => self.sent += 1,
            MessageStatus::Retrying => self.retrying += 1,
            MessageStatus::Failed => self.failed += 1,
            MessageStatus::Expired => self.expired += 1,
            _ => {}
        }
    }
}

/// Settles `one` (a single settlement) with its event and returns its outcome.
async fn settle_one(
    store: &Arc<dyn Store>,
    one: Vec<Settlement>,
    events: &messenger_store::StatusEvents<'_>,
    now: Timestamp,
) -> Result<StatusOutcome, StoreError> {
    store
        .settle_and_queue(one, events, now)
        .await?
        .pop()
        .ok_or_else(|| StoreError::invalid("the store answered a settlement with no outcome"))
}

/// How one channel attempt ended.
enum Attempt {
    Sent {
        /// How many sends the message took (Graph message ids, or the SMS).
        sends: usize,
        psid: Option<String>,
        /// The SMS provider's message id, kept in the rule trace for reconciliation.
        provider_id: Option<String>,
    },
    Rejected(MessageError),
    Retry {
        at: Timestamp,
        error: MessageError,
    },
}

fn graph_error(e: &messenger_graph::Error) -> MessageError {
    let code = match e.kind() {
        ErrorKind::RateLimited => "graph.rate_limited",
        ErrorKind::OutsideWindow => "graph.outside_window",
        ErrorKind::UserUnavailable => "graph.user_unavailable",
        ErrorKind::InvalidRecipient => "graph.invalid_recipient",
        ErrorKind::InvalidParameter => "graph.invalid_parameter",
        ErrorKind::Auth => "graph.auth",
        ErrorKind::Transient => "graph.transient",
        _ => "graph.permanent",
    };
    MessageError {
        code: code.to_owned(),
        message: e.to_string(),
    }
}

impl Messenger {
    /// Leases up to `limit` due messages for `worker` and sends them concurrently (the store
    /// hands out at most one message per recipient at a time, so per-recipient order holds).
    ///
    /// Messages that end (sent, failed, expired) are recorded in groups as they finish: whatever
    /// has finished when the previous group is recorded goes into one
    /// [`settle_messages`](messenger_store::MessageStore::settle_messages) call, so a sent
    /// message is recorded right after its send and the store sees one transaction per group,
    /// not three per message. Until it is recorded a sent message is still leased: after a crash
    /// it is sent again once its lease expires (at least once, as before).
    pub async fn dispatch_due(&self, worker: &str, limit: usize) -> Result<DispatchReport, Error> {
        let now = self.now();
        let leased = self
            .inner
            .store
            .lease_due(worker, now, limit, self.inner.lease_for)
            .await?;
        let mut report = DispatchReport {
            leased: leased.len(),
            ..DispatchReport::default()
        };
        let mut first_error = None;
        let mut finished = leased
            .into_iter()
            .map(|m| self.attempt(worker, m))
            .collect::<FuturesUnordered<_>>()
            .ready_chunks(limit.max(1));
        while let Some(group) = finished.next().await {
            let mut settlements = Vec::with_capacity(group.len());
            for step in group {
                match step {
                    Ok(Step::Settle(s)) => settlements.push(*s),
                    Ok(Step::Recorded(status)) => report.count(status),
                    Err(e) => {
                        first_error.get_or_insert(e);
                    }
                }
            }
            for settled in self.settle(settlements).await {
                match settled {
                    Ok(status) => report.count(status),
                    Err(e) => {
                        first_error.get_or_insert(e);
                    }
                }
            }
        }
        match first_error {
            Some(e) => Err(e),
            None => Ok(report),
        }
    }

    /// Records settlements and queues their events in one store call (one transaction in the
    /// durable stores); when that fails and there were several, each is recorded alone, so one
    /// bad message does not hold back the others. Returns each message's status (the one it was
    /// settled in) or error, in order.
    async fn settle(&self, settlements: Vec<Settlement>) -> Vec<Result<MessageStatus, Error>> {
        let store = &self.inner.store;
        let events = |m: &MessageRecord| self.status_event(m);
        let now = self.now();
        let statuses: Vec<MessageStatus> = settlements.iter().map(|s| s.update.status).collect();
        let outcomes = match settlements.len() {
            0 => return Vec::new(),
            1 => vec![settle_one(store, settlements, &events, now).await],
            n => match store
                .settle_and_queue(settlements.clone(), &events, now)
                .await
            {
                Ok(outcomes) if outcomes.len() == n => outcomes.into_iter().map(Ok).collect(),
                grouped => {
                    if let Err(e) = grouped {
                        tracing::warn!(error = %e, messages = n, "recording a group of sends failed; recording them one by one");
                    }
                    let mut one_by_one = Vec::with_capacity(n);
                    for s in settlements {
                        one_by_one.push(settle_one(store, vec![s], &events, now).await);
                    }
                    one_by_one
                }
            },
        };
        outcomes
            .into_iter()
            .zip(statuses)
            .map(|(outcome, status)| outcome.map(|_| status).map_err(Error::from))
            .collect()
    }

    /// Sends one leased message, rule by rule, and records how it ended; returns the status it
    /// ends in.
    pub async fn deliver(
        &self,
        worker: &str,
        record: MessageRecord,
    ) -> Result<MessageStatus, Error> {
        match self.attempt(worker, record).await? {
            Step::Recorded(status) => Ok(status),
            Step::Settle(settlement) => self
                .settle(vec![*settlement])
                .await
                .pop()
                .unwrap_or(Ok(MessageStatus::Processing)),
        }
    }

    /// Sends one leased message, rule by rule. A retry is recorded here; a final status is
    /// returned to be recorded (with the Graph message ids of the sends and the rule trace).
    async fn attempt(&self, worker: &str, record: MessageRecord) -> Result<Step, Error> {
        let store = &self.inner.store;
        let now = self.now();
        let Ok(space) = self.space(&record.space) else {
            let error = MessageError {
                code: "space.unknown".into(),
                message: format!("API space {:?} is no longer configured", record.space),
            };
            return Ok(Step::Settle(Box::new(Settlement::new(
                record.space,
                record.id,
                StatusUpdate::new(MessageStatus::Failed, now).error(error),
            ))));
        };
        if record.request.expires_on.is_some_and(|at| at <= now) {
            return Ok(Step::Settle(Box::new(Settlement::new(
                record.space,
                record.id,
                StatusUpdate::new(MessageStatus::Expired, now)
                    .reason("expiresOn passed before the message could be sent"),
            ))));
        }
        if was_interrupted(&record) && !self.inner.echo_grace.is_zero() {
            // The previous holder died mid-attempt: a send may have reached Meta without being
            // recorded. Give Meta's echoes (which carry our send tags) time to confirm it before
            // sending again.
            let at = now
                .add_millis(i64::try_from(self.inner.echo_grace.as_millis()).unwrap_or(i64::MAX));
            let reason = ECHO_WAIT;
            store
                .append_rule_trace(
                    &space.id,
                    &record.id,
                    vec![trace(
                        Channel::FbMessenger,
                        RuleOutcome::Skipped,
                        reason,
                        now,
                    )],
                )
                .await?;
            store
                .release(
                    &space.id,
                    &record.id,
                    worker,
                    Retry::at(at, now).reason(reason),
                )
                .await?;
            return Ok(Step::Recorded(MessageStatus::Retrying));
        }
        let profile = match &record.request.to.profile_id {
            Some(id) => store.get_profile(&space.id, id).await?,
            None => None,
        };
        let mut entries: Vec<RuleTraceEntry> = Vec::new();
        // Graph message ids of this attempt's sends, recorded with the outcome.
        let mut new_mids: Vec<String> = Vec::new();
        let mut last_error = None;
        for &channel in &record.request.rules {
            let decision = self
                .check_rule(space, &record.request, profile.as_ref(), channel, now)
                .await?;
            let attempt = match decision {
                RuleDecision::Skip(v) => {
                    entries.push(trace(channel, RuleOutcome::Skipped, v.message, now));
                    continue;
                }
                RuleDecision::Messenger(address) => {
                    self.send_messenger(space, &record, &address, &mut new_mids, now)
                        .await
                }
                RuleDecision::Sms(address, text) => {
                    self.send_sms(space, &record, &address.number, text, now)
                        .await
                }
            };
            match attempt {
                Attempt::Sent {
                    sends,
                    psid,
                    provider_id,
                } => {
                    let by = provider_id
                        .map(|id| format!("; provider message id {id}"))
                        .unwrap_or_default();
                    entries.push(trace(
                        channel,
                        RuleOutcome::Used,
                        format!(
                            "sent ({} send{}{by})",
                            sends.max(1),
                            if sends > 1 { "s" } else { "" }
                        ),
                        now,
                    ));
                    let mut update =
                        StatusUpdate::new(MessageStatus::Sent, self.now()).channel(channel);
                    if let (Channel::FbMessenger, Some(psid)) = (channel, psid) {
                        update = update.sent_to(space.page_id.clone(), psid);
                    }
                    return Ok(Step::Settle(Box::new(
                        Settlement::new(record.space, record.id, update)
                            .graph_message_ids(new_mids)
                            .rule_trace(entries),
                    )));
                }
                Attempt::Rejected(error) => {
                    entries.push(trace(
                        channel,
                        RuleOutcome::Failed,
                        format!("{}: {}", error.code, error.message),
                        now,
                    ));
                    last_error = Some(error);
                }
                Attempt::Retry { at, error } => {
                    entries.push(trace(
                        channel,
                        RuleOutcome::Failed,
                        format!("{} (will retry at {at})", error.code),
                        now,
                    ));
                    for mid in &new_mids {
                        store
                            .add_graph_message_id(&space.id, &record.id, mid)
                            .await?;
                    }
                    store
                        .append_rule_trace(&space.id, &record.id, entries)
                        .await?;
                    let retry = Retry::at(at, now)
                        .reason(error.message.clone())
                        .error(error);
                    store.release(&space.id, &record.id, worker, retry).await?;
                    return Ok(Step::Recorded(MessageStatus::Retrying));
                }
            }
        }
        let error = last_error.unwrap_or_else(|| MessageError {
            code: "rules.exhausted".into(),
            message:
                "no rule could deliver the message: every channel was skipped (see the rule trace)"
                    .into(),
        });
        Ok(Step::Settle(Box::new(
            Settlement::new(
                record.space,
                record.id,
                StatusUpdate::new(MessageStatus::Failed, now).error(error),
            )
            .graph_message_ids(new_mids)
            .rule_trace(entries),
        )))
    }

    /// The event a message whose status just changed produces (`message.sent`,
    /// `message.delivered`, ...), if its space subscribes to it: what the store queues together
    /// with the change ([`Store::settle_and_queue`], [`Store::apply_receipts`]).
    pub(crate) fn status_event(&self, message: &MessageRecord) -> Option<QueuedEvent> {
        let space = self.space(&message.space).ok()?;
        let name = match message.status {
            MessageStatus::Sent => EventName::MessageSent,
            MessageStatus::Delivered => EventName::MessageDelivered,
            MessageStatus::Read => EventName::MessageRead,
            MessageStatus::Failed => EventName::MessageFailed,
            MessageStatus::Expired => EventName::MessageExpired,
            MessageStatus::Processing | MessageStatus::Retrying => return None,
        };
        let payload = json!({
            "messageId": message.id,
            "status": message.status,
            "channel": message.channel,
            "to": message.request.to,
            "graphMessageIds": message.graph_message_ids,
            "error": message.error,
            "metadata": message.request.metadata,
            "conversationId": message.request.conversation_id,
        });
        self.event(
            space,
            format!("{}.{}", message.id, message.status),
            name,
            payload,
            message.revision(),
        )
    }

    fn retry_or_reject(
        &self,
        record: &MessageRecord,
        err: &messenger_graph::Error,
        now: Timestamp,
    ) -> Attempt {
        let error = graph_error(err);
        let elapsed = Duration::from_millis(
            u64::try_from(now.millis().saturating_sub(record.created_at.millis())).unwrap_or(0),
        );
        let retryable = err.is_retryable() || err.kind() == ErrorKind::Auth;
        let delay = if retryable {
            self.inner
                .retry
                .delay_for(record.attempts, err, elapsed)
                .or_else(|| {
                    // Auth errors are not retryable for a single call, but a page token can be fixed:
                    // keep the message and try again later, bounded by the attempts.
                    (err.kind() == ErrorKind::Auth
                        && record.attempts < self.inner.retry.max_attempts)
                        .then_some(Duration::from_secs(60))
                })
        } else {
            None
        };
        match delay {
            Some(d) => Attempt::Retry {
                at: now.add_millis(i64::try_from(d.as_millis()).unwrap_or(i64::MAX)),
                error,
            },
            None => Attempt::Rejected(error),
        }
    }

    /// Sends the message's Graph sends that an earlier attempt did not, pushing each new Graph
    /// message id onto `new_mids` (the caller records them).
    async fn send_messenger(
        &self,
        space: &Space,
        record: &MessageRecord,
        address: &MessengerAddress,
        new_mids: &mut Vec<String>,
        now: Timestamp,
    ) -> Attempt {
        let plan = match plan_graph_sends(&record.request, &address.recipient) {
            Ok(plan) => plan,
            Err(e) => {
                return Attempt::Rejected(MessageError {
                    code: "content.missing_for_channel".into(),
                    message: e.to_string(),
                })
            }
        };
        // Sends that went out on an earlier attempt are not repeated.
        let done = record.graph_message_ids.len();
        let mut sends = done;
        let mut psid = address.recipient.id.clone();
        for (part, mut planned) in plan.into_iter().enumerate().skip(done) {
            // Tag the send, so Meta's echo says which message and part it was (a custom body's
            // own metadata is left alone).
            if let Some(message) = planned.request.message.as_mut() {
                message.metadata.get_or_insert_with(|| {
                    super::SendTag::new(record.id.clone(), part).to_string()
                });
            }
            if let Some(upload) = planned.upload.take() {
                let Ok(data) = STANDARD.decode(upload.data_base64.as_bytes()) else {
                    return Attempt::Rejected(MessageError {
                        code: "part.data_not_base64".into(),
                        message: format!("messageParts[{}].data is not base64", upload.part_index),
                    });
                };
                match space
                    .transport
                    .upload_attachment(&AttachmentUpload::from_inline(&upload, data))
                    .await
                {
                    Ok(id) => planned.set_attachment_id(id),
                    Err(e) => return self.retry_or_reject(record, &e, now),
                }
            }
            match space.transport.send(&planned.request).await {
                Ok(response) => {
                    if let Some(mid) = response.message_id {
                        sends += 1;
                        new_mids.push(mid);
                    }
                    if response.recipient_id.is_some() {
                        psid = response.recipient_id;
                    }
                }
                Err(e) => return self.retry_or_reject(record, &e, now),
            }
        }
        Attempt::Sent {
            sends,
            psid,
            provider_id: None,
        }
    }

    async fn send_sms(
        &self,
        space: &Space,
        record: &MessageRecord,
        number: &str,
        text: String,
        now: Timestamp,
    ) -> Attempt {
        let Some(provider) = &space.sms else {
            return Attempt::Rejected(MessageError {
                code: "sms.not_configured".into(),
                message: "the space has no SMS provider".into(),
            });
        };
        let from = record
            .request
            .channel_options
            .as_ref()
            .and_then(|o| o.sms.as_ref())
            .and_then(|s| s.from.clone())
            .or_else(|| space.sms_from.clone());
        let message = SmsMessage {
            to: number.to_owned(),
            from,
            body: text,
        };
        match provider.send(&message).await {
            Ok(receipt) => Attempt::Sent {
                sends: 1,
                psid: None,
                provider_id: Some(receipt.provider_id),
            },
            Err(e) if e.is_retryable() && record.attempts < self.inner.retry.max_attempts => {
                let backoff = self
                    .inner
                    .retry
                    .backoff(record.attempts, &mut rand::thread_rng());
                Attempt::Retry {
                    at: now.add_millis(i64::try_from(backoff.as_millis()).unwrap_or(i64::MAX)),
                    error: MessageError {
                        code: "sms.transient".into(),
                        message: e.to_string(),
                    },
                }
            }
            Err(e) => Attempt::Rejected(MessageError {
                code: "sms.rejected".into(),
                message: e.to_string(),
            }),
        }
    }
}

/// Why a message waits after an interrupted attempt (also how such waits are counted).
const ECHO_WAIT: &str =
    "the previous attempt was interrupted; waiting for Meta's message echoes before sending again";

/// Whether an earlier lease of `record` ended without its holder recording anything (it died)
/// and that has not been waited for yet: every lease counts an attempt, every orderly release
/// records a `retrying` status, and every wait for echoes is such a release.
fn was_interrupted(record: &MessageRecord) -> bool {
    let retrying = record
        .status_history
        .iter()
        .filter(|c| c.status == MessageStatus::Retrying);
    let releases = retrying.clone().count();
    let waits = retrying
        .filter(|c| c.reason.as_deref() == Some(ECHO_WAIT))
        .count();
    let died = (record.attempts as usize).saturating_sub(1 + releases);
    died > waits
}
