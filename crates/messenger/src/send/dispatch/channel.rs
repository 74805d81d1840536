//! Sending on one channel: Messenger (the message's Graph sends, with attachment uploads) or
//! SMS, and how a failure there ends the channel's attempt (retry later, or try the next rule).

use std::time::Duration;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use messenger_graph::rates::SendKind;
use messenger_graph::{AttachmentUpload, Blame, ErrorKind};
use messenger_model::{plan_graph_sends, MessageError, Timestamp};
use messenger_store::MessageRecord;

use crate::addressing::MessengerAddress;
use crate::send::pacing::Slots;
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
        /// When it was sent: the start of its last request. Meta can accept a send, and post a
        /// receipt whose watermark covers it, before its answer reaches us; a watermark is
        /// never earlier than the request that made the message.
        at: Timestamp,
    },
    Rejected(MessageError),
    Retry {
        at: Timestamp,
        error: MessageError,
    },
    /// Nothing was sent: the page's send bucket is booked; give the message back untouched, due
    /// at this time.
    Deferred(Timestamp),
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
    /// How a Graph failure ends the Messenger attempt.
    ///
    /// Only the recipient or the request are reasons to try the next rule
    /// ([`messenger_graph::Blame`]): a
    /// failure of the page (throttled, its token, Meta down) is recorded on the page's circuit,
    /// and the message waits for the page to recover, retrying for as long as it has (until its
    /// `expiresOn`), unless the space lets messages use their next rule after the page has been
    /// failing for `fallback_on_outage`.
    pub(super) fn retry_or_reject(
        &self,
        space: &Space,
        record: &MessageRecord,
        err: &messenger_graph::Error,
        now: Timestamp,
    ) -> Attempt {
        let error = graph_error(err);
        let blame = err.kind().blame();
        if blame == Blame::Pace {
            space.pacing.was_throttled();
        }
        let reopens = space
            .health
            .failed(blame, &error.code, err.retry_after(), now);
        if blame.next_rule_may_help() {
            return Attempt::Rejected(error);
        }
        if let Some(after) = space.fallback_on_outage {
            if space.health.failing_for(now).is_some_and(|d| d >= after) {
                return Attempt::Rejected(MessageError {
                    code: error.code,
                    message: format!(
                        "{} (Messenger has been failing for the page for over {} s: next rule)",
                        error.message,
                        after.as_secs()
                    ),
                });
            }
        }
        let elapsed = Duration::from_millis(
            u64::try_from(now.millis().saturating_sub(record.created_at.millis())).unwrap_or(0),
        );
        // Past the retry schedule, the page's trouble is still not the message's: keep waiting at
        // the schedule's longest pause.
        let delay = self
            .inner
            .retry
            .delay_for(record.attempts, err, elapsed)
            .unwrap_or(self.inner.retry.max_backoff.max(Duration::from_secs(1)));
        let at = now.add_duration(delay);
        Attempt::Retry {
            at: reopens.map_or(at, |r| r.max(at)),
            error: MessageError {
                code: error.code,
                message: format!("{} (the page's trouble: {})", error.message, blame.as_str()),
            },
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
        let kinds: Vec<SendKind> = plan
            .iter()
            .skip(done)
            .map(|p| SendKind::of(&p.request))
            .collect();
        let slots = match self.reserve_slots(space, &kinds).await {
            Slots::Go(slots) => slots,
            Slots::Defer(until) => return Attempt::Deferred(until),
        };
        let mut sends = done;
        let mut psid = address.recipient.id.clone();
        let mut last_request = now;
        for ((part, mut planned), slot) in plan.into_iter().enumerate().skip(done).zip(slots) {
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
                    Err(e) => return self.retry_or_reject(space, record, &e, now),
                }
            }
            self.wait_for_slot(space, SendKind::of(&planned.request), slot)
                .await;
            space.pacing.sent();
            last_request = self.now();
            match space.transport.send(&planned.request).await {
                Ok(response) => {
                    space.health.succeeded();
                    if let Some(mid) = response.message_id {
                        sends += 1;
                        new_mids.push(mid);
                    }
                    if response.recipient_id.is_some() {
                        psid = response.recipient_id;
                    }
                }
                Err(e) => return self.retry_or_reject(space, record, &e, now),
            }
        }
        Attempt::Sent {
            sends,
            psid,
            provider_id: None,
            at: last_request,
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
        let started = self.now();
        match provider.send(&message).await {
            Ok(receipt) => Attempt::Sent {
                sends: 1,
                psid: None,
                provider_id: Some(receipt.provider_id),
                at: started,
            },
            Err(e) if e.is_retryable() && record.attempts < self.inner.retry.max_attempts => {
                let backoff = self
                    .inner
                    .retry
                    .backoff(record.attempts, &mut rand::thread_rng());
                Attempt::Retry {
                    at: now.add_duration(backoff),
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
