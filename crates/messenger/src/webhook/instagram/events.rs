//! What an Instagram event does: the customer's messages (text, media, story replies, story
//! mentions, shares, unsupported ones) and postbacks become `message.inbound` and open the
//! window for the account and IGSID; reactions `message.reaction`; unsent messages
//! `message.deleted`; referrals `facebook.referral`; handovers `facebook.handover`; echoes of
//! messages someone else sent `message.echo`; comments `instagram.comment`. Every payload says
//! `"channel": "instagram"` and names the account (`instagramAccountId`) and the customer's IGSID
//! (`instagramId`).
//!
//! The customer's profile is `ig-{account}-{igsid}`, created at their first event with the IGSID
//! in its `instagramIds` (as Messenger's `fb-{page}-{psid}`). Media (story mentions, shares) is
//! forwarded as Meta's CDN URL, never stored.

use messenger_model::webhook::{
    EventKind, HandoverKind, InstagramComment, InstagramEvent, InstagramKind, MessagingEvent,
};
use messenger_model::{Channel, EventName, Profile, Timestamp};
use serde_json::{json, Value};

use super::super::apply::{EchoTarget, Occurrence};
use super::super::echoes::SentBy;
use super::super::interactions::{extend, id_text};
use crate::{Error, Messenger, Space};

/// The profile an Instagram customer resolved to, and how.
struct IgCustomer {
    profile_id: String,
    created: bool,
}

/// The sender's fields of an Instagram customer event.
fn customer_fields(
    customer: &IgCustomer,
    account_id: &str,
    igsid: &str,
    at: Timestamp,
    standby: bool,
) -> Value {
    let mut payload = json!({
        "channel": Channel::Instagram,
        "profileId": customer.profile_id,
        "instagramId": igsid,
        "instagramAccountId": account_id,
        "linkedBy": if customer.created { "new-profile" } else { "existing-profile" },
        "timestamp": at,
    });
    if standby {
        payload["standby"] = Value::Bool(true);
    }
    payload
}

/// The id of the profile Messenger creates for `igsid` of `account_id`.
fn profile_id(account_id: &str, igsid: &str) -> String {
    format!("ig-{account_id}-{igsid}")
}

/// What a message adds to `message.inbound`: Meta's fields, and its Instagram kind.
fn message_fields(kind: &InstagramKind, event: &MessagingEvent) -> Value {
    let message = event.message.as_ref();
    let mut fields = json!({
        "kind": kind.name(),
        "mid": message.and_then(|m| m.mid.as_deref()),
        "text": message.and_then(|m| m.text.as_deref()),
        "attachments": message.map(|m| &m.attachments),
        "quickReply": message.and_then(|m| m.quick_reply.as_ref()).map(|q| &q.payload),
        "replyTo": message.and_then(|m| m.reply_to.as_ref()).map(|r| &r.mid),
    });
    match kind {
        InstagramKind::StoryReply { url, story_id } => {
            fields["story"] = json!({"url": url, "id": story_id});
        }
        InstagramKind::StoryMention { url } => fields["story"] = json!({"url": url}),
        InstagramKind::Share { share_kind, url } => {
            fields["share"] = json!({"type": share_kind, "url": url});
        }
        InstagramKind::Unsupported => fields["unsupported"] = Value::Bool(true),
        _ => {}
    }
    if let Some(referral) = &event.referral {
        fields["ref"] = json!(referral.data_ref);
    }
    fields
}

impl Messenger {
    /// The profile of `igsid` of `account_id`: found, or created with the IGSID.
    async fn instagram_customer(
        &self,
        space: &Space,
        account_id: &str,
        igsid: &str,
    ) -> Result<IgCustomer, Error> {
        let id = profile_id(account_id, igsid);
        let store = &self.inner.store;
        if store.get_profile(&space.id, &id).await?.is_some() {
            return Ok(IgCustomer {
                profile_id: id,
                created: false,
            });
        }
        let profile = Profile::new(id.clone()).with_instagram_id(account_id, igsid);
        store.merge_profile(&space.id, profile).await?;
        Ok(IgCustomer {
            profile_id: id,
            created: true,
        })
    }

    /// Queues a customer event about `igsid`: its sender fields, `fields`, and the id
    /// `{prefix}.{event key}`; opens the window first when `opens_window`.
    #[allow(clippy::too_many_arguments)]
    async fn emit_instagram(
        &self,
        space: &Space,
        event: &InstagramEvent,
        igsid: &str,
        seen: Occurrence,
        (prefix, name): (&str, EventName),
        opens_window: bool,
        fields: Value,
    ) -> Result<bool, Error> {
        let account_id = &event.account_id;
        let customer = self.instagram_customer(space, account_id, igsid).await?;
        if opens_window {
            self.inner
                .store
                .record_inbound(&space.id, account_id, igsid, seen.at)
                .await?;
        }
        let mut payload = customer_fields(&customer, account_id, igsid, seen.at, seen.standby);
        extend(&mut payload, fields);
        let event_id = format!("{prefix}.{}", event.dedupe_key());
        self.emit(space, event_id, name, payload, 1).await?;
        Ok(true)
    }

    /// Applies one Instagram event the processing loop did not take as a receipt or leave
    /// alone; returns whether it did anything (`false`: an event without the ids it needs).
    pub(in crate::webhook) async fn apply_instagram(
        &self,
        space: &Space,
        event: &InstagramEvent,
        seen: Occurrence,
        echo: Option<Box<EchoTarget>>,
    ) -> Result<bool, Error> {
        if let Some(target) = echo {
            return self.apply_echo(space, *target).await;
        }
        let e = &event.event;
        let Some(igsid) = (match event.kind {
            InstagramKind::Echo => e.recipient_id(),
            _ => e.sender_id(),
        }) else {
            return Ok(false);
        };
        let inbound = ("inbound", EventName::MessageInbound);
        match &event.kind {
            InstagramKind::Message
            | InstagramKind::StoryReply { .. }
            | InstagramKind::StoryMention { .. }
            | InstagramKind::Share { .. }
            | InstagramKind::Unsupported => {
                let fields = message_fields(&event.kind, e);
                self.emit_instagram(space, event, igsid, seen, inbound, true, fields)
                    .await
            }
            InstagramKind::Postback => {
                let Some(postback) = &e.postback else {
                    return Ok(false);
                };
                let fields = json!({
                    "kind": "postback",
                    "postback": {"title": postback.title, "payload": postback.payload, "mid": postback.mid},
                    "ref": postback.referral.as_ref().and_then(|r| r.data_ref.as_deref()),
                });
                self.emit_instagram(space, event, igsid, seen, inbound, true, fields)
                    .await
            }
            InstagramKind::Deleted => {
                let mid = e.message.as_ref().and_then(|m| m.mid.as_deref());
                let fields = json!({
                    "mid": mid,
                    "messageId": self.our_message_id(space, mid).await?,
                });
                let name = ("deleted", EventName::MessageDeleted);
                self.emit_instagram(space, event, igsid, seen, name, false, fields)
                    .await
            }
            InstagramKind::Reaction => {
                let Some(reaction) = &e.reaction else {
                    return Ok(false);
                };
                let mut fields = json!({
                    "reaction": reaction.reaction,
                    "emoji": reaction.emoji,
                    "action": reaction.action,
                    "mid": reaction.mid,
                });
                if let Some(id) = self.our_message_id(space, reaction.mid.as_deref()).await? {
                    fields["messageId"] = Value::String(id);
                }
                let opens = reaction.action.as_deref() != Some("unreact");
                let name = ("reaction", EventName::MessageReaction);
                self.emit_instagram(space, event, igsid, seen, name, opens, fields)
                    .await
            }
            InstagramKind::Referral => {
                let Some(referral) = &e.referral else {
                    return Ok(false);
                };
                let fields = json!({
                    "ref": referral.data_ref,
                    "source": referral.source,
                    "type": referral.kind,
                    "details": referral.extra,
                });
                let name = ("referral", EventName::FacebookReferral);
                self.emit_instagram(space, event, igsid, seen, name, true, fields)
                    .await
            }
            InstagramKind::Handover => {
                self.apply_instagram_handover(space, event, igsid, seen)
                    .await
            }
            InstagramKind::Echo => {
                let (EventKind::Echo(echo), Some(sent_by)) = (
                    e.kind(),
                    e.message.as_ref().and_then(|m| self.sent_by_another(m)),
                ) else {
                    return Ok(false);
                };
                let (sent_by, app_id) = match sent_by {
                    SentBy::Inbox => ("inbox", None),
                    SentBy::App(id) => ("app", Some(id)),
                };
                let fields = json!({
                    "sentBy": sent_by,
                    "appId": app_id,
                    "mid": echo.mid,
                    "text": echo.text,
                    "attachments": echo.attachments,
                    "metadata": echo.metadata,
                });
                let name = ("echo", EventName::MessageEcho);
                self.emit_instagram(space, event, igsid, seen, name, false, fields)
                    .await
            }
            // Reads are receipts (`instagram_step`); kinds the model learns later wait for code.
            _ => Ok(false),
        }
    }

    /// `facebook.handover` for an Instagram thread: the kind, the owner apps and the metadata;
    /// the profile is named when the IGSID has one (none is created for a handover).
    async fn apply_instagram_handover(
        &self,
        space: &Space,
        event: &InstagramEvent,
        igsid: &str,
        seen: Occurrence,
    ) -> Result<bool, Error> {
        let Some(handover) = &event.event.handover else {
            return Ok(false);
        };
        let id = profile_id(&event.account_id, igsid);
        let profile_id = self
            .inner
            .store
            .get_profile(&space.id, &id)
            .await?
            .map(|p| p.id);
        let kind = match handover.kind {
            HandoverKind::PassThreadControl => "pass",
            HandoverKind::TakeThreadControl => "take",
            HandoverKind::RequestThreadControl => "request",
            HandoverKind::AppRoles => "app_roles",
            other => other.field(),
        };
        let mut payload = json!({
            "channel": Channel::Instagram,
            "profileId": profile_id,
            "instagramId": igsid,
            "instagramAccountId": event.account_id,
            "kind": kind,
            "previousOwnerAppId": handover.previous_owner_app_id,
            "newOwnerAppId": handover.new_owner_app_id,
            "requestedOwnerAppId": id_text(handover.extra.get("requested_owner_app_id")),
            "metadata": handover.metadata,
            "timestamp": seen.at,
        });
        if seen.standby {
            payload["standby"] = Value::Bool(true);
        }
        let event_id = format!("handover.{}", event.dedupe_key());
        self.emit(space, event_id, EventName::FacebookHandover, payload, 1)
            .await?;
        Ok(true)
    }

    /// `instagram.comment`: someone commented on the media of one of the space's accounts. The
    /// account's own comments (its replies) are left alone. The commenter's profile is named
    /// when their IGSID has one; none is created (a comment is not a conversation).
    pub(in crate::webhook) async fn apply_comment(
        &self,
        space: &Space,
        comment: &InstagramComment,
        seen: Occurrence,
    ) -> Result<bool, Error> {
        if comment.from_id.as_deref() == Some(comment.account_id.as_str()) {
            return Ok(false);
        }
        let profile_id = match comment.from_id.as_deref() {
            Some(igsid) => self
                .inner
                .store
                .get_profile(&space.id, &profile_id(&comment.account_id, igsid))
                .await?
                .map(|p| p.id),
            None => None,
        };
        let payload = json!({
            "channel": Channel::Instagram,
            "instagramAccountId": comment.account_id,
            "commentId": comment.id,
            "field": comment.field,
            "profileId": profile_id,
            "instagramId": comment.from_id,
            "username": comment.from_username,
            "text": comment.text,
            "mediaId": comment.media_id,
            "mediaProductType": comment.media_product_type,
            "parentId": comment.parent_id,
            "timestamp": seen.at,
        });
        let event_id = format!("comment.{}", comment.id);
        self.emit(space, event_id, EventName::InstagramComment, payload, 1)
            .await?;
        Ok(true)
    }
}
