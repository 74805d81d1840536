//! What a customer does around the messages, and changes of who owns the conversation: reactions,
//! edits, response feedback, referrals and handovers, each forwarded to the business as an event
//! of its own (`message.reaction`, `message.edited`, `message.feedback`, `facebook.referral`,
//! `facebook.handover`).
//!
//! The sender is resolved to a profile as for an inbound message (a referral's `ref` may be an
//! opt-in token); an event that came in `standby` (another app owns the thread) carries
//! `"standby": true`. Event ids are the kind and the event's dedupe key, so a redelivery queues
//! nothing new.

use messenger_model::webhook::{
    Handover, HandoverKind, MessageEdit, MessagingEvent, Reaction, Referral, ResponseFeedback,
};
use messenger_model::EventName;
use serde_json::{json, Value};

use super::apply::Occurrence;
use crate::{Error, Messenger, Space};

/// The wire word for a handover kind (`pass`, `take`, `request`, `app_roles`).
fn handover_kind(kind: HandoverKind) -> &'static str {
    match kind {
        HandoverKind::PassThreadControl => "pass",
        HandoverKind::TakeThreadControl => "take",
        HandoverKind::RequestThreadControl => "request",
        HandoverKind::AppRoles => "app_roles",
        // A kind the model learns later: its field name says what it is.
        other => other.field(),
    }
}

/// An id Meta sent as a number or a string, as text (exact above 2^53).
pub(super) fn id_text(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) if n.is_u64() || n.is_i64() => Some(n.to_string()),
        _ => None,
    }
}

/// Adds `fields` to the object `payload`.
pub(super) fn extend(payload: &mut Value, fields: Value) {
    if let (Some(into), Value::Object(from)) = (payload.as_object_mut(), fields) {
        into.extend(from);
    }
}

/// What a customer's event about a message adds to the sender's fields.
struct AboutMessage<'a> {
    /// The event id's prefix (`reaction`, `edit`, `feedback`).
    kind: &'static str,
    name: EventName,
    /// The event's own fields.
    fields: Value,
    /// A mid that may be one of our sent messages (then `messageId` is added).
    ours: Option<&'a str>,
    /// Whether the event opens the 24-hour window.
    opens_window: bool,
}

impl Messenger {
    /// The id of our message whose Graph message id is `mid`, if it is one of ours.
    pub(super) async fn our_message_id(
        &self,
        space: &Space,
        mid: Option<&str>,
    ) -> Result<Option<String>, Error> {
        let Some(mid) = mid else {
            return Ok(None);
        };
        Ok(self
            .inner
            .store
            .find_by_graph_message_id(&space.id, mid)
            .await?
            .map(|m| m.id))
    }

    /// Queues a customer event: marks it `standby` when it came in `standby`.
    pub(super) async fn emit_customer_event(
        &self,
        space: &Space,
        prefix: &str,
        event: &MessagingEvent,
        seen: Occurrence,
        name: EventName,
        mut payload: Value,
    ) -> Result<bool, Error> {
        if seen.standby {
            payload["standby"] = Value::Bool(true);
        }
        let event_id = format!("{prefix}.{}", event.dedupe_key());
        self.emit(space, event_id, name, payload, 1).await?;
        Ok(true)
    }

    /// A reaction (or its removal) to a message: `message.reaction`, with our `messageId` when
    /// the message reacted to is one we sent. A reaction (not its removal) opens the window, as
    /// Meta counts it among the user's actions.
    pub(super) async fn apply_reaction(
        &self,
        space: &Space,
        event: &MessagingEvent,
        seen: Occurrence,
        reaction: &Reaction,
    ) -> Result<bool, Error> {
        let about = AboutMessage {
            kind: "reaction",
            name: EventName::MessageReaction,
            fields: json!({
                "reaction": reaction.reaction,
                "emoji": reaction.emoji,
                "action": reaction.action,
                "mid": reaction.mid,
            }),
            ours: reaction.mid.as_deref(),
            opens_window: reaction.action.as_deref() != Some("unreact"),
        };
        self.emit_about_message(space, event, seen, about).await
    }

    /// An edit of a message the customer sent: `message.edited` with the original message's
    /// `mid`, the new text and `numEdit`.
    pub(super) async fn apply_edit(
        &self,
        space: &Space,
        event: &MessagingEvent,
        seen: Occurrence,
        edit: &MessageEdit,
    ) -> Result<bool, Error> {
        let about = AboutMessage {
            kind: "edit",
            name: EventName::MessageEdited,
            fields: json!({"mid": edit.mid, "text": edit.text, "numEdit": edit.num_edit}),
            ours: None,
            opens_window: false,
        };
        self.emit_about_message(space, event, seen, about).await
    }

    /// Thumbs up or down under a message the page sent: `message.feedback`, with our
    /// `messageId` when it is one we sent.
    pub(super) async fn apply_feedback(
        &self,
        space: &Space,
        event: &MessagingEvent,
        seen: Occurrence,
        feedback: &ResponseFeedback,
    ) -> Result<bool, Error> {
        let about = AboutMessage {
            kind: "feedback",
            name: EventName::MessageFeedback,
            fields: json!({"feedback": feedback.feedback, "mid": feedback.mid}),
            ours: feedback.mid.as_deref(),
            opens_window: false,
        };
        self.emit_about_message(space, event, seen, about).await
    }

    /// Emits an event a customer caused about a message: the sender's fields (its profile
    /// resolved like an inbound message's), `about.fields`, and our `messageId` when
    /// `about.ours` is the mid of a message we sent. `false` when the event names no sender.
    async fn emit_about_message(
        &self,
        space: &Space,
        event: &MessagingEvent,
        seen: Occurrence,
        about: AboutMessage<'_>,
    ) -> Result<bool, Error> {
        let Some(psid) = event.sender_id() else {
            return Ok(false);
        };
        let resolved = self.profile_for(space, psid, None).await?;
        if about.opens_window {
            self.inner
                .store
                .record_inbound(&space.id, &space.page_id, psid, seen.at)
                .await?;
        }
        let mut payload = resolved.payload(space, psid, seen.at);
        extend(&mut payload, about.fields);
        if let Some(id) = self.our_message_id(space, about.ours).await? {
            payload["messageId"] = Value::String(id);
        }
        self.emit_customer_event(space, about.kind, event, seen, about.name, payload)
            .await
    }

    /// A referral (an `m.me` link with `ref`, an ad, the chat plugin): `facebook.referral`. The
    /// sender is resolved like an inbound message's, the `ref` redeemed when it is one of our
    /// opt-in tokens, and the window opens (Meta counts the referral as the user's action). A
    /// chat-plugin guest without a PSID gets an event with its `userRef` and no profile.
    pub(super) async fn apply_referral(
        &self,
        space: &Space,
        event: &MessagingEvent,
        seen: Occurrence,
        referral: &Referral,
    ) -> Result<bool, Error> {
        let fields = json!({
            "ref": referral.data_ref,
            "source": referral.source,
            "type": referral.kind,
            "details": referral.extra,
        });
        let mut payload = match event.sender_id() {
            Some(psid) => {
                let resolved = self
                    .profile_for(space, psid, referral.data_ref.as_deref())
                    .await?;
                self.inner
                    .store
                    .record_inbound(&space.id, &space.page_id, psid, seen.at)
                    .await?;
                let mut payload = resolved.payload(space, psid, seen.at);
                payload["data"] = resolved.data.clone().unwrap_or(Value::Null);
                payload
            }
            None => {
                let Some(user_ref) = event.sender.as_ref().and_then(|s| s.user_ref.as_deref())
                else {
                    return Ok(false);
                };
                json!({"channel": messenger_model::Channel::FbMessenger, "pageId": space.page_id, "userRef": user_ref, "timestamp": seen.at})
            }
        };
        extend(&mut payload, fields);
        self.emit_customer_event(
            space,
            "referral",
            event,
            seen,
            EventName::FacebookReferral,
            payload,
        )
        .await
    }

    /// A `messaging_handovers` event: `facebook.handover` with the kind (`pass`, `take`,
    /// `request`, `app_roles`), the previous and new owner app ids and the metadata. The user's
    /// profile is named when one is linked (none is created for a handover).
    pub(super) async fn apply_handover(
        &self,
        space: &Space,
        event: &MessagingEvent,
        seen: Occurrence,
        handover: &Handover,
    ) -> Result<bool, Error> {
        let psid = event.sender_id();
        let profile_id = match psid {
            Some(psid) => self
                .inner
                .store
                .find_by_messenger_id(&space.id, &space.page_id, psid)
                .await?
                .map(|p| p.id),
            None => None,
        };
        let app_roles = (handover.kind == HandoverKind::AppRoles)
            .then(|| Value::Object(handover.extra.clone()));
        let payload = json!({
            "channel": messenger_model::Channel::FbMessenger,
            "profileId": profile_id,
            "fbMessengerId": psid,
            "pageId": space.page_id,
            "kind": handover_kind(handover.kind),
            "previousOwnerAppId": handover.previous_owner_app_id,
            "newOwnerAppId": handover.new_owner_app_id,
            "requestedOwnerAppId": id_text(handover.extra.get("requested_owner_app_id")),
            "metadata": handover.metadata,
            "appRoles": app_roles,
            "timestamp": seen.at,
        });
        self.emit_customer_event(
            space,
            "handover",
            event,
            seen,
            EventName::FacebookHandover,
            payload,
        )
        .await
    }
}
