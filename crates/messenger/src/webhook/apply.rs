//! Applying one Meta webhook event that is not a receipt: opt-ins link or create profiles,
//! inbound messages and postbacks open the window and become `message.inbound`, echoes of our own
//! sends confirm them. Reactions, edits, response feedback, referrals and handovers are in
//! [`super::interactions`]; receipts are applied in groups by [`super::process`].

use messenger_model::webhook::{EventKind, MessagingEvent};
use messenger_model::{EventName, MessageStatus, Profile, Timestamp};
use messenger_store::{MessageRecord, Redemption, Settlement, StatusUpdate};
use serde_json::{json, Value};

use crate::optin::TokenError;
use crate::send_tag::SendTag;
use crate::{Error, Messenger, Space};

/// When an event happened, and whether it came in `standby` (another app owns the thread).
#[derive(Debug, Clone, Copy)]
pub(super) struct Occurrence {
    /// The event's `timestamp`, or when Meta did not say, its entry's `time` (or the time it was
    /// processed).
    pub at: Timestamp,
    /// It came in the entry's `standby` array.
    pub standby: bool,
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

/// An echo that confirms a send not recorded yet (see [`Messenger::echo_target`]).
pub(super) struct EchoTarget {
    message: MessageRecord,
    part: usize,
    mid: String,
    psid: String,
    /// The Instagram account that sent it; `None`: the space's page (Messenger).
    instagram: Option<String>,
}

impl EchoTarget {
    /// The same echo, of a send by Instagram account `account_id` to the IGSID `psid` holds.
    pub(super) fn on_instagram(mut self, account_id: &str) -> Self {
        self.instagram = Some(account_id.to_owned());
        self
    }
}

impl Messenger {
    /// Applies one event that is not a receipt; returns whether it did anything (`false`: a kind
    /// the product reads but does not act on, or an event without the ids it needs).
    pub(super) async fn apply_event(
        &self,
        space: &Space,
        event: &MessagingEvent,
        seen: Occurrence,
    ) -> Result<bool, Error> {
        let at = seen.at;
        match event.kind() {
            EventKind::Optin(optin) => {
                let Some(psid) = event.sender_id() else {
                    // The checkbox plugin's opt-in has a user_ref and no PSID yet.
                    let payload = json!({"channel": messenger_model::Channel::FbMessenger, "pageId": space.page_id, "userRef": optin.user_ref, "ref": optin.data_ref});
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
                let resolved = self
                    .profile_for(space, psid, optin.data_ref.as_deref())
                    .await?;
                self.inner
                    .store
                    .record_inbound(&space.id, &space.page_id, psid, at)
                    .await?;
                let mut payload = resolved.payload(space, psid, at);
                payload["data"] = resolved.data.clone().unwrap_or(Value::Null);
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
                self.apply_inbound(space, event, seen, token, content).await
            }
            EventKind::Postback(postback) => {
                let token = postback
                    .referral
                    .as_ref()
                    .and_then(|r| r.data_ref.as_deref());
                let content = json!({
                    "postback": {"title": postback.title, "payload": postback.payload, "mid": postback.mid},
                });
                self.apply_inbound(space, event, seen, token, content).await
            }
            EventKind::Echo(echo) => match self.echo_target(space, event).await? {
                Some(target) => self.apply_echo(space, target).await,
                None => match self.sent_by_another(echo) {
                    Some(sent_by) => {
                        self.apply_foreign_echo(space, event, seen, echo, sent_by)
                            .await
                    }
                    None => Ok(false),
                },
            },
            // Receipts with a sender are applied in groups (`apply_receipts`); without one they
            // name no conversation.
            EventKind::Delivery(_) | EventKind::Read(_) => Ok(false),
            EventKind::Reaction(reaction) => {
                self.apply_reaction(space, event, seen, reaction).await
            }
            EventKind::Edit(edit) => self.apply_edit(space, event, seen, edit).await,
            EventKind::Feedback(feedback) => {
                self.apply_feedback(space, event, seen, feedback).await
            }
            EventKind::Referral(referral) => {
                self.apply_referral(space, event, seen, referral).await
            }
            EventKind::Handover(handover) => {
                self.apply_handover(space, event, seen, handover).await
            }
            // Quarantined before they get here (`process_events`).
            EventKind::Unknown => Ok(false),
        }
    }

    /// The user wrote (a message or a postback): find or create their profile (redeeming a
    /// `ref` token if one came along), open the window, and queue `message.inbound` with
    /// `content` (the message's or postback's fields) added to the sender's details.
    async fn apply_inbound(
        &self,
        space: &Space,
        event: &MessagingEvent,
        seen: Occurrence,
        token: Option<&str>,
        content: Value,
    ) -> Result<bool, Error> {
        let Some(psid) = event.sender_id() else {
            return Ok(false);
        };
        let at = seen.at;
        let resolved = self.profile_for(space, psid, token).await?;
        self.inner
            .store
            .record_inbound(&space.id, &space.page_id, psid, at)
            .await?;
        let mut payload = resolved.payload(space, psid, at);
        if seen.standby {
            // Another app owns the conversation: the business sees the message, marked so.
            payload["standby"] = Value::Bool(true);
        }
        if let (Some(fields), Value::Object(extra)) = (payload.as_object_mut(), content) {
            fields.extend(extra);
        }
        let event_id = format!("inbound.{}", event.dedupe_key());
        self.emit(space, event_id, EventName::MessageInbound, payload, 1)
            .await?;
        Ok(true)
    }

    /// The send a message echo (the page's own send, reported by Meta) can still confirm: when
    /// its metadata carries our send tag ([`SendTag`]) naming a message that is not sent yet and
    /// whose next part is the one echoed. `None` for every other echo: sends from other tools or
    /// the inbox, and (the common case) echoes of sends already recorded. Statuses only move
    /// forward, so an echo found to change nothing never will.
    pub(super) async fn echo_target(
        &self,
        space: &Space,
        event: &MessagingEvent,
    ) -> Result<Option<EchoTarget>, Error> {
        let EventKind::Echo(echo) = event.kind() else {
            return Ok(None);
        };
        let (Some(tag), Some(mid), Some(psid)) = (
            echo.metadata.as_deref().and_then(SendTag::parse),
            echo.mid.as_deref(),
            event.recipient_id(),
        ) else {
            return Ok(None);
        };
        let Some(message) = self
            .inner
            .store
            .get_message(&space.id, &tag.message_id)
            .await?
        else {
            return Ok(None);
        };
        if !message.is_unsent() || tag.part != message.graph_message_ids.len() {
            return Ok(None);
        }
        Ok(Some(EchoTarget {
            message,
            part: tag.part,
            mid: mid.to_owned(),
            psid: psid.to_owned(),
            instagram: None,
        }))
    }

    /// Records what an echo confirms: the Graph message id of that part, and when every part is
    /// confirmed, the message becomes `sent` (with its event, in one store call). This is how a
    /// send interrupted by a crash after Graph accepted it is recognised instead of being sent
    /// again. An Instagram echo records the send on `instagram`, to the account and IGSID.
    pub(super) async fn apply_echo(
        &self,
        space: &Space,
        target: EchoTarget,
    ) -> Result<bool, Error> {
        let EchoTarget {
            message,
            part,
            mid,
            psid,
            instagram,
        } = target;
        let store = &self.inner.store;
        let recipient = messenger_model::graph::Recipient::psid(&psid);
        let (channel, from) = match instagram {
            Some(account) => (messenger_model::Channel::Instagram, account),
            None => (messenger_model::Channel::FbMessenger, space.page_id.clone()),
        };
        let parts = match channel {
            messenger_model::Channel::Instagram => {
                messenger_model::plan_instagram_sends(&message.request, &recipient)
            }
            _ => messenger_model::plan_graph_sends(&message.request, &recipient),
        }
        .map_or(0, |p| p.len());
        if part + 1 < parts {
            store
                .add_graph_message_id(&space.id, &message.id, &mid)
                .await?;
            return Ok(true);
        }
        let now = self.now();
        let update = StatusUpdate::new(MessageStatus::Sent, now)
            .channel(channel)
            .sent_to(from, psid)
            .reason("confirmed by Meta's message echo");
        let settlement = Settlement::new(space.id.clone(), message.id, update)
            .graph_message_ids([mid])
            .rule_trace(vec![messenger_model::RuleTraceEntry::new(
                channel,
                messenger_model::RuleOutcome::Used,
                messenger_model::RuleCause::EchoConfirmed,
                "",
                now,
            )]);
        store
            .settle_and_queue(vec![settlement], &|m| self.status_event(m), now)
            .await?;
        Ok(true)
    }

    /// The profile a PSID belongs to: the one its valid token names (linked now), the one it is
    /// already linked to, or a new one. Fills the `facebook` section from Graph when it is empty.
    ///
    /// A token is bound to the first PSID that redeems it ([`messenger_store::Redemption`]):
    /// redeemed again by that PSID it links again; redeemed by another, it is refused with
    /// [`TokenError::Used`] and never moves a link.
    pub(super) async fn profile_for(
        &self,
        space: &Space,
        psid: &str,
        token: Option<&str>,
    ) -> Result<Resolved, Error> {
        let store = &self.inner.store;
        let (redeemed, token_error) = match token {
            Some(t) => match self.redeem_token(space, t, psid).await? {
                Ok(found) => (Some(found), None),
                Err(e) => (None, Some(e)),
            },
            None => (None, None),
        };
        let mut moved_from = None;
        let (profile, link, data) = if let Some((profile_id, data)) = redeemed {
            let linked = store
                .link_messenger_id(&space.id, &profile_id, &space.page_id, psid)
                .await?;
            moved_from = linked.moved_from;
            (linked.profile, Link::Token, data)
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
            let linked = store
                .link_messenger_id(&space.id, &id, &space.page_id, psid)
                .await?;
            moved_from = linked.moved_from;
            (linked.profile, Link::Created, None)
        };
        if let Some(from) = &moved_from {
            tracing::info!(space = %space.id, profile = %profile.id, moved_from = %from, "a Messenger ID moved to another profile");
        }
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
        Ok(Resolved {
            profile,
            link,
            token_error,
            data,
            moved_from,
        })
    }

    /// Checks a `data-ref` token and redeems it for `psid`: the profile it stands for and its
    /// data, or why not.
    async fn redeem_token(
        &self,
        space: &Space,
        token: &str,
        psid: &str,
    ) -> Result<Result<(String, Option<Value>), TokenError>, Error> {
        let now = self.now();
        let id = match self.inner.tokens.verify(token, now) {
            Ok(id) => id,
            Err(e) => return Ok(Err(e)),
        };
        let redemption = self
            .inner
            .store
            .redeem_optin_token(&space.id, &id.0, &space.page_id, psid, now)
            .await?;
        Ok(match redemption {
            Redemption::Redeemed(stored) => Ok((stored.profile_id, stored.data)),
            Redemption::UsedByAnother(_) => {
                tracing::warn!(space = %space.id, "a data-ref token bound to another Messenger user was replayed");
                Err(TokenError::Used)
            }
            _ => Err(TokenError::Unknown),
        })
    }
}

/// The profile an event's sender resolved to, and how.
pub(super) struct Resolved {
    profile: Profile,
    link: Link,
    token_error: Option<TokenError>,
    /// The redeemed token's data, if a token was redeemed.
    pub(super) data: Option<Value>,
    moved_from: Option<String>,
}

impl Resolved {
    /// The sender's fields of a `facebook.optin`, `message.inbound` (or other customer event)
    /// payload.
    pub(super) fn payload(&self, space: &Space, psid: &str, at: Timestamp) -> Value {
        json!({
            "channel": messenger_model::Channel::FbMessenger,
            "profileId": self.profile.id,
            "fbMessengerId": psid,
            "pageId": space.page_id,
            "linkedBy": self.link.as_str(),
            "tokenError": self.token_error.map(TokenError::code),
            "movedFrom": self.moved_from,
            "timestamp": at,
        })
    }
}
