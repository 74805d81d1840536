//! Sending on one channel: Messenger or Instagram (the message's Graph sends, with attachment
//! uploads, through the page or the Instagram account: [`Outlet`]) or SMS, and the [`Turn`] each ends in (sent, refused, or the channel's trouble); what follows
//! from it is [`fallback`](crate::send::fallback)'s to say.

use std::time::Duration;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use messenger_graph::rates::SendKind;
use messenger_graph::{AttachmentUpload, Blame, ErrorKind};
use messenger_model::graph::Recipient;
use messenger_model::{
    plan_graph_sends, plan_instagram_sends, MessageError, ModelError, PlannedSend, RuleCause,
    Timestamp,
};
use messenger_store::MessageRecord;

use crate::addressing::MessengerAddress;
use crate::send::fallback::Turn;
use crate::send::outlet::Outlet;
use crate::send::pacing::Slots;
use crate::sms::SmsMessage;
use crate::InstagramAccount;
use crate::{Messenger, Space};

/// How one channel attempt ended: a turn of the rule, or nothing done.
pub(super) enum Attempt {
    /// The rule's turn ended (sent, refused, or to be retried); [`fallback::after`](crate::send::fallback::after) says what
    /// follows.
    Ended(Turn),
    /// Nothing was sent: the page's send bucket is booked; give the message back untouched, due
    /// at this time.
    Deferred(Timestamp),
}

impl From<Turn> for Attempt {
    fn from(turn: Turn) -> Self {
        Self::Ended(turn)
    }
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
        ErrorKind::PageRestricted => "graph.page_restricted",
        _ => "graph.permanent",
    };
    MessageError {
        code: code.to_owned(),
        message: e.to_string(),
    }
}

impl Messenger {
    /// How a Graph failure ends the Messenger turn.
    ///
    /// Only the recipient or the request are reasons to try the next rule
    /// ([`messenger_graph::Blame`], decision 0010): a failure of the page (throttled, its token,
    /// Meta down) is recorded on the page's circuit, and the message waits for the page to
    /// recover, retrying for as long as it has (until its `expiresOn`); the outage rule
    /// ([`after_page_trouble`](crate::send::fallback::after_page_trouble)) may hand it on instead.
    pub(super) fn after_graph_failure(
        &self,
        outlet: &Outlet<'_>,
        record: &MessageRecord,
        err: &messenger_graph::Error,
        now: Timestamp,
    ) -> Turn {
        let error = graph_error(err);
        let blame = err.kind().blame();
        if blame == Blame::Pace {
            outlet.pacing.was_throttled();
        }
        if let Some(problem) = messenger_graph::TokenProblem::of_error(err) {
            // The token stopped working: no retry helps until it is fixed (decision 0022).
            outlet.token_stopped(problem, &err.to_string(), now);
            return Turn::trouble(
                now.add_duration(crate::send::page::REAUTH_RELEASE),
                MessageError {
                    code: error.code,
                    message: format!(
                        "{} (the page needs new credentials: {})",
                        error.message,
                        problem.as_str()
                    ),
                },
            );
        }
        let reopens = outlet
            .health
            .failed(blame, &error.code, err.retry_after(), now);
        if blame.next_rule_may_help() {
            return Turn::refused(RuleCause::RecipientError, error);
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
        Turn::trouble(
            reopens.map_or(at, |r| r.max(at)),
            MessageError {
                code: error.code,
                message: format!("{} (the page's trouble: {})", error.message, blame.as_str()),
            },
        )
    }

    /// Sends the message's Graph sends on Messenger that an earlier attempt did not, pushing
    /// each new Graph message id onto `new_mids` (the caller records them).
    pub(super) async fn send_messenger(
        &self,
        space: &Space,
        record: &MessageRecord,
        address: &MessengerAddress,
        new_mids: &mut Vec<String>,
        now: Timestamp,
    ) -> Attempt {
        let plan = plan_graph_sends(&record.request, &address.recipient);
        let recipient = address.recipient.id.clone();
        self.send_plan(&space.page_outlet(), record, plan, recipient, new_mids, now)
            .await
    }

    /// Sends the message's Graph sends on Instagram from `account` to `recipient` (an IGSID, or
    /// a comment for a private reply) that an earlier attempt did not, pushing each new Graph
    /// message id onto `new_mids`.
    pub(super) async fn send_instagram(
        &self,
        space: &Space,
        account: &InstagramAccount,
        record: &MessageRecord,
        recipient: &Recipient,
        new_mids: &mut Vec<String>,
        now: Timestamp,
    ) -> Attempt {
        let outlet = space.instagram_outlet(account);
        let plan = plan_instagram_sends(&record.request, recipient);
        if recipient.comment_id.is_some() && record.graph_message_ids.is_empty() {
            // A private reply: the account's hourly allowance first (one reply per comment,
            // Meta counts them apart from the account's other sends).
            match self.reserve_private_reply(&outlet, account, now).await {
                Slots::Go(at) => {
                    if let Some(at) = at.first() {
                        let wait = at.millis().saturating_sub(self.now().millis());
                        let wait = u64::try_from(wait).unwrap_or(0);
                        tokio::time::sleep(Duration::from_millis(wait)).await;
                    }
                }
                Slots::Defer(until) => return Attempt::Deferred(until),
            }
        }
        let to = recipient.id.clone();
        self.send_plan(&outlet, record, plan, to, new_mids, now)
            .await
    }

    /// Sends what of `plan` an earlier attempt did not, through `outlet`, at its pace; `to` is
    /// the recipient id as far as known (Graph's answer may name it).
    async fn send_plan(
        &self,
        outlet: &Outlet<'_>,
        record: &MessageRecord,
        plan: Result<Vec<PlannedSend>, ModelError>,
        mut to: Option<String>,
        new_mids: &mut Vec<String>,
        now: Timestamp,
    ) -> Attempt {
        let plan = match plan {
            Ok(plan) => plan,
            Err(e) => {
                let error = MessageError {
                    code: "content.missing_for_channel".into(),
                    message: e.to_string(),
                };
                return Turn::refused(RuleCause::NoContent, error).into();
            }
        };
        // Sends that went out on an earlier attempt are not repeated.
        let done = record.graph_message_ids.len();
        let kinds: Vec<SendKind> = plan
            .iter()
            .skip(done)
            .map(|p| SendKind::of(&p.request))
            .collect();
        let slots = match self.reserve_slots(outlet, &kinds).await {
            Slots::Go(slots) => slots,
            Slots::Defer(until) => return Attempt::Deferred(until),
        };
        let mut sends = done;
        let mut last_request = now;
        for ((part, mut planned), slot) in plan.into_iter().enumerate().skip(done).zip(slots) {
            // Tag the send, so Meta's echo says which message and part it was (a custom body's
            // own metadata is left alone).
            if let Some(message) = planned.request.message.as_mut() {
                message.metadata.get_or_insert_with(|| {
                    crate::send_tag::SendTag::new(record.id.clone(), part).to_string()
                });
            }
            if let Some(upload) = planned.upload.take() {
                let Ok(data) = STANDARD.decode(upload.data_base64.as_bytes()) else {
                    let error = MessageError {
                        code: "part.data_not_base64".into(),
                        message: format!("messageParts[{}].data is not base64", upload.part_index),
                    };
                    return Turn::refused(RuleCause::RecipientError, error).into();
                };
                match outlet
                    .transport
                    .upload_attachment(&AttachmentUpload::from_inline(&upload, data))
                    .await
                {
                    Ok(id) => planned.set_attachment_id(id),
                    Err(e) => return self.after_graph_failure(outlet, record, &e, now).into(),
                }
            }
            self.wait_for_slot(outlet, SendKind::of(&planned.request), slot)
                .await;
            outlet.pacing.sent();
            last_request = self.now();
            match outlet.transport.send(&planned.request).await {
                Ok(response) => {
                    outlet.health.succeeded();
                    if let Some(mid) = response.message_id {
                        sends += 1;
                        new_mids.push(mid);
                    }
                    if response.recipient_id.is_some() {
                        to = response.recipient_id;
                    }
                }
                Err(e) => return self.after_graph_failure(outlet, record, &e, now).into(),
            }
        }
        Turn::sent(sends, to, None, last_request).into()
    }

    /// Sends `text` to `number` by the space's SMS provider.
    pub(super) async fn send_sms(
        &self,
        space: &Space,
        record: &MessageRecord,
        number: &str,
        text: String,
        now: Timestamp,
    ) -> Turn {
        let Some(provider) = &space.sms else {
            let error = MessageError {
                code: "sms.not_configured".into(),
                message: "the space has no SMS provider".into(),
            };
            return Turn::refused(RuleCause::NotConfigured, error);
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
            Ok(receipt) => Turn::sent(1, None, Some(receipt.provider_id), started),
            Err(e) if e.is_retryable() && record.attempts < self.inner.retry.max_attempts => {
                let backoff = self
                    .inner
                    .retry
                    .backoff(record.attempts, &mut rand::thread_rng());
                let error = MessageError {
                    code: "sms.transient".into(),
                    message: e.to_string(),
                };
                Turn::trouble(now.add_duration(backoff), error)
            }
            Err(e) => {
                let error = MessageError {
                    code: "sms.rejected".into(),
                    message: e.to_string(),
                };
                Turn::refused(RuleCause::RecipientError, error)
            }
        }
    }
}
