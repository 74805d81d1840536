//! Dispatching stored messages: lease, try each rule in order, record statuses, Graph message
//! ids and the rule trace, queue events.

use std::time::Duration;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use messenger_graph::{AttachmentType, AttachmentUpload, ErrorKind};
use messenger_model::{
    plan_graph_sends, Channel, EventName, MessageError, MessageStatus, Profile, RuleOutcome,
    RuleTraceEntry, Timestamp,
};
use messenger_store::{MessageRecord, Retry, StatusUpdate};
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

/// How one channel attempt ended.
enum Attempt {
    Sent {
        mids: Vec<String>,
        psid: Option<String>,
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
        let outcomes =
            futures::future::join_all(leased.into_iter().map(|m| self.deliver(worker, m))).await;
        for outcome in outcomes {
            match outcome? {
                MessageStatus::Sent => report.sent += 1,
                MessageStatus::Retrying => report.retrying += 1,
                MessageStatus::Failed => report.failed += 1,
                MessageStatus::Expired => report.expired += 1,
                _ => {}
            }
        }
        Ok(report)
    }

    /// Sends one leased message, rule by rule; returns the status it ends in.
    pub async fn deliver(
        &self,
        worker: &str,
        record: MessageRecord,
    ) -> Result<MessageStatus, Error> {
        let store = &self.inner.store;
        let now = self.now();
        let Ok(space) = self.space(&record.space) else {
            let error = MessageError {
                code: "space.unknown".into(),
                message: format!("API space {:?} is no longer configured", record.space),
            };
            store
                .update_status(
                    &record.space,
                    &record.id,
                    StatusUpdate::new(MessageStatus::Failed, now).error(error),
                )
                .await?;
            return Ok(MessageStatus::Failed);
        };
        if record.request.expires_on.is_some_and(|at| at <= now) {
            return self
                .finish(
                    space,
                    &record,
                    StatusUpdate::new(MessageStatus::Expired, now)
                        .reason("expiresOn passed before the message could be sent"),
                    Vec::new(),
                )
                .await;
        }
        let profile = match &record.request.to.profile_id {
            Some(id) => store.get_profile(&space.id, id).await?,
            None => None,
        };
        let mut entries: Vec<RuleTraceEntry> = Vec::new();
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
                    self.send_messenger(space, &record, &address, profile.as_ref(), now)
                        .await?
                }
                RuleDecision::Sms(address, text) => {
                    self.send_sms(space, &record, &address.number, text, now)
                        .await
                }
            };
            match attempt {
                Attempt::Sent { mids, psid } => {
                    entries.push(trace(
                        channel,
                        RuleOutcome::Used,
                        format!(
                            "sent ({} send{})",
                            mids.len().max(1),
                            if mids.len() > 1 { "s" } else { "" }
                        ),
                        now,
                    ));
                    let mut update =
                        StatusUpdate::new(MessageStatus::Sent, self.now()).channel(channel);
                    if let (Channel::FbMessenger, Some(psid)) = (channel, psid) {
                        update = update.sent_to(space.page_id.clone(), psid);
                    }
                    return self.finish(space, &record, update, entries).await;
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
                    store
                        .append_rule_trace(&space.id, &record.id, entries)
                        .await?;
                    let retry = Retry::at(at, now)
                        .reason(error.message.clone())
                        .error(error);
                    store.release(&space.id, &record.id, worker, retry).await?;
                    return Ok(MessageStatus::Retrying);
                }
            }
        }
        let error = last_error.unwrap_or_else(|| MessageError {
            code: "rules.exhausted".into(),
            message:
                "no rule could deliver the message: every channel was skipped (see the rule trace)"
                    .into(),
        });
        self.finish(
            space,
            &record,
            StatusUpdate::new(MessageStatus::Failed, now).error(error),
            entries,
        )
        .await
    }

    /// Records the final status and trace, and queues the event.
    async fn finish(
        &self,
        space: &Space,
        record: &MessageRecord,
        update: StatusUpdate,
        entries: Vec<RuleTraceEntry>,
    ) -> Result<MessageStatus, Error> {
        let store = &self.inner.store;
        if !entries.is_empty() {
            store
                .append_rule_trace(&space.id, &record.id, entries)
                .await?;
        }
        let status = update.status;
        let outcome = store.update_status(&space.id, &record.id, update).await?;
        if outcome.applied {
            self.emit_status(space, &outcome.message).await?;
        }
        Ok(status)
    }

    /// Queues the event for a message's current status.
    pub(crate) async fn emit_status(
        &self,
        space: &Space,
        message: &MessageRecord,
    ) -> Result<(), Error> {
        let name = match message.status {
            MessageStatus::Sent => EventName::MessageSent,
            MessageStatus::Delivered => EventName::MessageDelivered,
            MessageStatus::Read => EventName::MessageRead,
            MessageStatus::Failed => EventName::MessageFailed,
            MessageStatus::Expired => EventName::MessageExpired,
            MessageStatus::Processing | MessageStatus::Retrying => return Ok(()),
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
        self.emit(
            space,
            format!("{}.{}", message.id, message.status),
            name,
            payload,
            message.revision(),
        )
        .await
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

    async fn send_messenger(
        &self,
        space: &Space,
        record: &MessageRecord,
        address: &MessengerAddress,
        _profile: Option<&Profile>,
        now: Timestamp,
    ) -> Result<Attempt, Error> {
        let plan = match plan_graph_sends(&record.request, &address.recipient) {
            Ok(plan) => plan,
            Err(e) => {
                return Ok(Attempt::Rejected(MessageError {
                    code: "content.missing_for_channel".into(),
                    message: e.to_string(),
                }))
            }
        };
        // Sends that went out on an earlier attempt are not repeated.
        let done = record.graph_message_ids.len();
        let mut mids = record.graph_message_ids.clone();
        let mut psid = address.recipient.id.clone();
        for mut planned in plan.into_iter().skip(done) {
            if let Some(upload) = planned.upload.take() {
                let Ok(data) = STANDARD.decode(upload.data_base64.as_bytes()) else {
                    return Ok(Attempt::Rejected(MessageError {
                        code: "part.data_not_base64".into(),
                        message: format!("messageParts[{}].data is not base64", upload.part_index),
                    }));
                };
                let kind = AttachmentType::for_mime_type(&upload.mime_type);
                let name = upload
                    .file_name
                    .unwrap_or_else(|| format!("part-{}", upload.part_index));
                match space
                    .transport
                    .upload_attachment(&AttachmentUpload::new(kind, name, upload.mime_type, data))
                    .await
                {
                    Ok(id) => planned.set_attachment_id(id),
                    Err(e) => return Ok(self.retry_or_reject(record, &e, now)),
                }
            }
            match space.transport.send(&planned.request).await {
                Ok(response) => {
                    if let Some(mid) = response.message_id {
                        self.inner
                            .store
                            .add_graph_message_id(&space.id, &record.id, &mid)
                            .await?;
                        mids.push(mid);
                    }
                    if response.recipient_id.is_some() {
                        psid = response.recipient_id;
                    }
                }
                Err(e) => return Ok(self.retry_or_reject(record, &e, now)),
            }
        }
        Ok(Attempt::Sent { mids, psid })
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
                mids: vec![receipt.provider_id],
                psid: None,
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
