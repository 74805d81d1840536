//! Sending on one channel: Messenger (the message's Graph sends, with attachment uploads) or
//! SMS, and how a failure there ends the channel's attempt (retry later, or try the next rule).

use std::time::Duration;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use messenger_graph::{AttachmentUpload, ErrorKind};
use messenger_model::{plan_graph_sends, MessageError, Timestamp};
use messenger_store::MessageRecord;

use crate::addressing::MessengerAddress;
use crate::sms::SmsMessage;
use crate::{Messenger, Space};

/// How one channel attempt ended.
pub(super) enum Attempt {
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
    pub(super) fn retry_or_reject(
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
    pub(super) async fn send_messenger(
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
                    crate::send::SendTag::new(record.id.clone(), part).to_string()
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

    pub(super) async fn send_sms(
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
