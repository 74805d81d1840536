//! Processing Meta's webhook events: opt-ins link or create profiles, inbound messages open the
//! window and become `message.inbound`, receipts move messages to delivered/read, echoes are
//! ignored, redeliveries are recognised.

use messenger_model::webhook::{EventKind, MessagingEvent, WebhookPayload};
use messenger_model::{EventName, MessageStatus, Profile, Timestamp};
use messenger_store::{MessengerRecipient, StatusUpdate};
use serde_json::{json, Value};

use super::{verify_signature, SignatureError};
use crate::optin::TokenError;
use crate::{Error, Messenger, Space};

/// Why a webhook body was refused before anything was processed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WebhookError {
    /// The signature is missing or wrong (answer 401/403; Meta will redeliver).
    #[error(transparent)]
    Signature(#[from] SignatureError),
    /// The facade has no app secret to check signatures with.
    #[error("no Facebook app secret is configured: webhook signatures cannot be checked")]
    NoAppSecret,
    /// The body is not a webhook payload (400).
    #[error("malformed webhook body: {0}")]
    Malformed(#[from] messenger_model::ModelError),
    /// Processing failed (500: Meta redelivers, and what was applied is not applied twice).
    #[error(transparent)]
    Processing(#[from] Error),
}

/// What a webhook batch did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WebhookReport {
    /// Events applied.
    pub applied: usize,
    /// Events seen before (redeliveries), skipped.
    pub duplicates: usize,
    /// Events of pages no space owns, or kinds the product ignores (echoes, reactions, ...).
    pub ignored: usize,
}

/// How a PSID got its profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Link {
    Token,
    Existing,
    Created,
}

impl Link {
    fn as_str(self) -> &'static str {
        match self {
            Self::Token => "token",
            Self::Existing => "existing-profile",
            Self::Created => "new-profile",
        }
    }
}

impl Messenger {
    /// Checks `X-Hub-Signature-256` on the raw body, parses it and processes it.
    pub async fn handle_webhook(
        &self,
        body: &[u8],
        signature: Option<&str>,
    ) -> Result<WebhookReport, WebhookError> {
        self.verify_webhook(body, signature)?;
        let payload = WebhookPayload::from_json(body)?;
        Ok(self.process_webhook(&payload).await?)
    }

    /// Checks `X-Hub-Signature-256` on the raw body (constant time).
    pub fn verify_webhook(&self, body: &[u8], signature: Option<&str>) -> Result<(), WebhookError> {
        let secret = self
            .inner
            .app_secret
            .as_deref()
            .ok_or(WebhookError::NoAppSecret)?;
        Ok(verify_signature(secret, signature, body)?)
    }

    /// Applies verified webhook bodies that the gateway queued (see
    /// `messenger_store::WebhookQueue`): leases up to `limit`, oldest first, applies each and
    /// removes it. A body that fails to apply (the store is down) is handed back and tried again
    /// in 5 s; one that does not parse is logged and dropped (its signature was checked, so Meta
    /// sent it that way and a redelivery would not be better).
    pub async fn apply_queued_webhooks(
        &self,
        worker: &str,
        limit: usize,
    ) -> Result<WebhookReport, Error> {
        let store = &self.inner.store;
        let now = self.now();
        let leased = store
            .lease_webhooks(worker, now, limit, std::time::Duration::from_secs(60))
            .await?;
        let mut report = WebhookReport::default();
        let mut done = Vec::with_capacity(leased.len());
        for queued in leased {
            let payload = match WebhookPayload::from_json(&queued.body) {
                Ok(p) => p,
                Err(e) => {
                    tracing::warn!(id = queued.id, error = %e, "dropping a queued webhook body that does not parse");
                    done.push(queued.id);
                    continue;
                }
            };
            match self.process_webhook(&payload).await {
                Ok(r) => {
                    report.applied += r.applied;
                    report.duplicates += r.duplicates;
                    report.ignored += r.ignored;
                    done.push(queued.id);
                }
                Err(e) => {
                    tracing::warn!(id = queued.id, attempts = queued.attempts, error = %e, "applying a webhook body failed; will retry");
                    store
                        .release_webhook(queued.id, worker, now.add_millis(5_000))
                        .await?;
                }
            }
        }
        store.complete_webhooks(&done).await?;
        Ok(report)
    }

    /// Processes a parsed (and already verified) webhook payload, event by event. Every step is
    /// idempotent and each event is remembered once applied, so a redelivered batch changes
    /// nothing, and a batch that failed half-way can be processed again.
    pub async fn process_webhook(&self, payload: &WebhookPayload) -> Result<WebhookReport, Error> {
        let mut report = WebhookReport::default();
        for entry in &payload.entry {
            let Some(space) = self.space_for_page(&entry.id) else {
                tracing::warn!(page_id = %entry.id, events = entry.messaging.len(), "webhook entry for a page no space owns");
                report.ignored += entry.messaging.len();
                continue;
            };
            for event in &entry.messaging {
                let key = format!("{}:{}:{}", space.id, space.page_id, event.dedupe_key());
                if self.inner.store.is_seen(&key).await? {
                    report.duplicates += 1;
                    continue;
                }
                if self.apply_event(space, event).await? {
                    report.applied += 1;
                } else {
                    report.ignored += 1;
                }
                self.inner.store.mark_seen(&key, self.now()).await?;
            }
        }
        Ok(report)
    }

    async fn apply_event(&self, space: &Space, event: &MessagingEvent) -> Result<bool, Error> {
        let at = Timestamp::from_millis(event.timestamp);
        match event.kind() {
            EventKind::Optin(optin) => {
                let Some(psid) = event.sender_id() else {
                    // The checkbox plugin's opt-in has a user_ref and no PSID yet.
                    let payload = json!({"pageId": space.page_id, "userRef": optin.user_ref, "ref": optin.data_ref});
                    self.emit(
                        space,
                        format!("optin.{}", event.dedupe_key()),
                        EventName::FacebookOptin,
                        payload,
                        1,
                    )
                    .await?;
                    return Ok(true);
                };
                let (profile, link, token_error, data) = self
                    .profile_for(space, psid, optin.data_ref.as_deref())
                    .await?;
                self.inner
                    .store
                    .record_inbound(&space.id, &space.page_id, psid, at)
                    .await?;
                let payload = json!({
                    "profileId": profile.id,
                    "fbMessengerId": psid,
                    "pageId": space.page_id,
                    "linkedBy": link.as_str(),
                    "tokenError": token_error,
                    "data": data,
                    "timestamp": at,
                });
                self.emit(
                    space,
                    format!("optin.{}", event.dedupe_key()),
                    EventName::FacebookOptin,
                    payload,
                    1,
                )
                .await?;
                Ok(true)
            }
            EventKind::Message(message) => {
                let token = event.referral.as_ref().and_then(|r| r.data_ref.as_deref());
                let content = json!({
                    "mid": message.mid,
                    "text": message.text,
                    "attachments": message.attachments,
                    "quickReply": message.quick_reply.as_ref().map(|q| &q.payload),
                    "replyTo": message.reply_to.as_ref().map(|r| &r.mid),
                });
                self.apply_inbound(space, event, token, content).await
            }
            EventKind::Postback(postback) => {
                let token = postback
                    .referral
                    .as_ref()
                    .and_then(|r| r.data_ref.as_deref());
                let content = json!({
                    "postback": {"title": postback.title, "payload": postback.payload, "mid": postback.mid},
                });
                self.apply_inbound(space, event, token, content).await
            }
            EventKind::Delivery(receipt) => {
                let Some(psid) = event.sender_id() else {
                    return Ok(false);
                };
                for mid in &receipt.mids {
                    if let Some(message) = self
                        .inner
                        .store
                        .find_by_graph_message_id(&space.id, mid)
                        .await?
                    {
                        let update = StatusUpdate::new(MessageStatus::Delivered, at)
                            .reason(format!("delivery receipt for {mid}"));
                        let outcome = self
                            .inner
                            .store
                            .update_status(&space.id, &message.id, update)
                            .await?;
                        if outcome.applied {
                            self.emit_status(space, &outcome.message).await?;
                        }
                    }
                }
                self.apply_watermark(space, psid, MessageStatus::Delivered, receipt.watermark, at)
                    .await?;
                Ok(true)
            }
            EventKind::Read(receipt) => {
                let Some(psid) = event.sender_id() else {
                    return Ok(false);
                };
                self.apply_watermark(space, psid, MessageStatus::Read, receipt.watermark, at)
                    .await?;
                Ok(true)
            }
            EventKind::Echo(echo) => self.apply_echo(space, event, echo).await,
            EventKind::Referral(_) | EventKind::Reaction(_) | EventKind::Unknown => Ok(false),
        }
    }

    /// The user wrote (a message or a postback): find or create their profile (redeeming a
    /// `ref` token if one came along), open the window, and queue `message.inbound` with
    /// `content` (the message's or postback's fields) added to the sender's details.
    async fn apply_inbound(
        &self,
        space: &Space,
        event: &MessagingEvent,
        token: Option<&str>,
        content: Value,
    ) -> Result<bool, Error> {
        let Some(psid) = event.sender_id() else {
            return Ok(false);
        };
        let at = Timestamp::from_millis(event.timestamp);
        let (profile, link, _, _) = self.profile_for(space, psid, token).await?;
        self.inner
            .store
            .record_inbound(&space.id, &space.page_id, psid, at)
            .await?;
        let mut payload = json!({
            "profileId": profile.id,
            "fbMessengerId": psid,
            "pageId": space.page_id,
            "linkedBy": link.as_str(),
            "timestamp": at,
        });
        if let (Some(fields), Value::Object(extra)) = (payload.as_object_mut(), content) {
            fields.extend(extra);
        }
        let event_id = format!("inbound.{}", event.dedupe_key());
        self.emit(space, event_id, EventName::MessageInbound, payload, 1)
            .await?;
        Ok(true)
    }

    /// A message echo (the page's own send, reported by Meta): when its metadata carries our
    /// send tag ([`crate::send::SendTag`]), the Graph message id is recorded for that part, and a
    /// message whose every part is now confirmed becomes `sent`. This is how a send interrupted
    /// by a crash after Graph accepted it is recognised instead of being sent again. Echoes of
    /// anything else (sends from other tools, the inbox) are ignored.
    async fn apply_echo(
        &self,
        space: &Space,
        event: &MessagingEvent,
        echo: &messenger_model::webhook::InboundMessage,
    ) -> Result<bool, Error> {
        let (Some(tag), Some(mid), Some(psid)) = (
            echo.metadata
                .as_deref()
                .and_then(crate::send::SendTag::parse),
            echo.mid.as_deref(),
            event.recipient_id(),
        ) else {
            return Ok(false);
        };
        let store = &self.inner.store;
        let Some(message) = store.get_message(&space.id, &tag.message_id).await? else {
            return Ok(false);
        };
        if !message.is_unsent() || tag.part != message.graph_message_ids.len() {
            return Ok(false);
        }
        store
            .add_graph_message_id(&space.id, &message.id, mid)
            .await?;
        let recipient = messenger_model::graph::Recipient::psid(psid);
        let parts =
            messenger_model::plan_graph_sends(&message.request, &recipient).map_or(0, |p| p.len());
        if tag.part + 1 < parts {
            return Ok(true);
        }
        let now = self.now();
        store
            .append_rule_trace(
                &space.id,
                &message.id,
                vec![crate::send::trace(
                    messenger_model::Channel::FbMessenger,
                    messenger_model::RuleOutcome::Used,
                    "sent: confirmed by Meta's message echo",
                    now,
                )],
            )
            .await?;
        let update = StatusUpdate::new(MessageStatus::Sent, now)
            .channel(messenger_model::Channel::FbMessenger)
            .sent_to(space.page_id.clone(), psid)
            .reason("confirmed by Meta's message echo");
        let outcome = store.update_status(&space.id, &message.id, update).await?;
        if outcome.applied {
            self.emit_status(space, &outcome.message).await?;
        }
        Ok(true)
    }

    async fn apply_watermark(
        &self,
        space: &Space,
        psid: &str,
        status: MessageStatus,
        watermark: i64,
        at: Timestamp,
    ) -> Result<(), Error> {
        let recipient = MessengerRecipient::new(space.page_id.clone(), psid);
        let changed = self
            .inner
            .store
            .apply_watermark(
                &space.id,
                &recipient,
                status,
                Timestamp::from_millis(watermark),
                at,
            )
            .await?;
        for message in &changed {
            self.emit_status(space, message).await?;
        }
        Ok(())
    }

    /// The profile a PSID belongs to: the one its valid token names (linked now), the one it is
    /// already linked to, or a new one. Fills the `facebook` section from Graph when it is empty.
    async fn profile_for(
        &self,
        space: &Space,
        psid: &str,
        token: Option<&str>,
    ) -> Result<(Profile, Link, Option<String>, Option<Value>), Error> {
        let store = &self.inner.store;
        let (redeemed, token_error) = match token {
            Some(t) => match self.redeem_token(space, t).await? {
                Ok(found) => (Some(found), None),
                Err(e) => (None, Some(e.to_string())),
            },
            None => (None, None),
        };
        let (profile, link, data) = if let Some((profile_id, data)) = redeemed {
            (
                store
                    .link_messenger_id(&space.id, &profile_id, &space.page_id, psid)
                    .await?,
                Link::Token,
                data,
            )
        } else if let Some(existing) = store
            .find_by_messenger_id(&space.id, &space.page_id, psid)
            .await?
        {
            (existing, Link::Existing, None)
        } else {
            let id = format!("fb-{}-{psid}", space.page_id);
            store
                .merge_profile(&space.id, Profile::new(id.clone()))
                .await?;
            (
                store
                    .link_messenger_id(&space.id, &id, &space.page_id, psid)
                    .await?,
                Link::Created,
                None,
            )
        };
        let profile = if profile.facebook.is_none() {
            match space.transport.user_profile(psid).await {
                Ok(user) => store
                    .set_facebook_profile(&space.id, &profile.id, user.into())
                    .await?
                    .unwrap_or(profile),
                Err(e) => {
                    tracing::warn!(space = %space.id, error = %e, "could not fetch the user profile from Graph");
                    profile
                }
            }
        } else {
            profile
        };
        Ok((profile, link, token_error, data))
    }

    /// Checks a `data-ref` token and finds the profile it stands for.
    async fn redeem_token(
        &self,
        space: &Space,
        token: &str,
    ) -> Result<Result<(String, Option<Value>), TokenError>, Error> {
        let now = self.now();
        let id = match self.inner.tokens.verify(token, now) {
            Ok(id) => id,
            Err(e) => return Ok(Err(e)),
        };
        Ok(
            match self
                .inner
                .store
                .get_optin_token(&space.id, &id.0, now)
                .await?
            {
                Some(stored) => Ok((stored.profile_id, stored.data)),
                None => Err(TokenError::Unknown),
            },
        )
    }
}
