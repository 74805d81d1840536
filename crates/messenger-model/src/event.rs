//! Events for the business's webhook (docs/design.md §6): names and the envelope.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::Timestamp;

/// The name of an outbound event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum EventName {
    /// A message went out.
    #[serde(rename = "message.sent")]
    MessageSent,
    /// A message reached the recipient's device.
    #[serde(rename = "message.delivered")]
    MessageDelivered,
    /// The recipient read a message.
    #[serde(rename = "message.read")]
    MessageRead,
    /// No channel could send a message.
    #[serde(rename = "message.failed")]
    MessageFailed,
    /// A message expired before it could be sent.
    #[serde(rename = "message.expired")]
    MessageExpired,
    /// A customer wrote to the page.
    #[serde(rename = "message.inbound")]
    MessageInbound,
    /// A customer opted in through a Messenger plugin.
    #[serde(rename = "facebook.optin")]
    FacebookOptin,
    /// A customer reacted to a message, or took a reaction back.
    #[serde(rename = "message.reaction")]
    MessageReaction,
    /// A customer edited a message they sent.
    #[serde(rename = "message.edited")]
    MessageEdited,
    /// A customer rated a message the page sent (thumbs up or down).
    #[serde(rename = "message.feedback")]
    MessageFeedback,
    /// A customer came through a referral: an `m.me` link, an ad, the chat plugin.
    #[serde(rename = "facebook.referral")]
    FacebookReferral,
    /// The conversation's thread control moved between apps, or the page's app roles changed.
    #[serde(rename = "facebook.handover")]
    FacebookHandover,
    /// The page sent a message without the gateway: a person in the Page inbox or Meta
    /// Business Suite, or another app (Meta's message echo).
    #[serde(rename = "message.echo")]
    MessageEcho,
    /// A customer unsent (deleted) a message they sent (Instagram's `is_deleted`).
    #[serde(rename = "message.deleted")]
    MessageDeleted,
    /// Someone commented on one of the Instagram account's posts, reels or live videos: the
    /// business may answer privately (`to.commentId`).
    #[serde(rename = "instagram.comment")]
    InstagramComment,
}

impl EventName {
    /// All event names.
    pub const ALL: [EventName; 15] = [
        Self::MessageSent,
        Self::MessageDelivered,
        Self::MessageRead,
        Self::MessageFailed,
        Self::MessageExpired,
        Self::MessageInbound,
        Self::FacebookOptin,
        Self::MessageReaction,
        Self::MessageEdited,
        Self::MessageFeedback,
        Self::FacebookReferral,
        Self::FacebookHandover,
        Self::MessageEcho,
        Self::MessageDeleted,
        Self::InstagramComment,
    ];

    /// The wire name (`"message.sent"`).
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::MessageSent => "message.sent",
            Self::MessageDelivered => "message.delivered",
            Self::MessageRead => "message.read",
            Self::MessageFailed => "message.failed",
            Self::MessageExpired => "message.expired",
            Self::MessageInbound => "message.inbound",
            Self::FacebookOptin => "facebook.optin",
            Self::MessageReaction => "message.reaction",
            Self::MessageEdited => "message.edited",
            Self::MessageFeedback => "message.feedback",
            Self::FacebookReferral => "facebook.referral",
            Self::FacebookHandover => "facebook.handover",
            Self::MessageEcho => "message.echo",
            Self::MessageDeleted => "message.deleted",
            Self::InstagramComment => "instagram.comment",
        }
    }

    /// Parses a wire name.
    ///
    /// ```
    /// use messenger_model::EventName;
    /// assert_eq!(EventName::parse("message.reaction"), Some(EventName::MessageReaction));
    /// assert_eq!(EventName::parse("message.reacted"), None);
    /// for name in EventName::ALL {
    ///     assert_eq!(EventName::parse(name.as_str()), Some(name));
    ///     let json = serde_json::to_value(name).unwrap();
    ///     assert_eq!(json, name.as_str());
    /// }
    /// ```
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|n| n.as_str() == s)
    }
}

impl std::fmt::Display for EventName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The envelope every event to the business's webhook travels in.
///
/// ```
/// use messenger_model::{EventEnvelope, EventName, Timestamp};
/// let e = EventEnvelope {
///     event_id: "evt-1".into(),
///     api_space_id: "space-a".into(),
///     name: EventName::MessageSent,
///     payload: serde_json::json!({"messageId": "m-1"}),
///     revision: 1,
///     timestamp: Timestamp::from_millis(0),
/// };
/// assert_eq!(serde_json::to_value(&e).unwrap()["name"], "message.sent");
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EventEnvelope {
    /// Stable id of this event: redeliveries carry the same one, so the receiver can dedupe.
    pub event_id: String,
    /// The API space the event belongs to.
    pub api_space_id: String,
    /// What happened.
    pub name: EventName,
    /// The event's data (message id, status, metadata, inbound content...).
    pub payload: Value,
    /// Revision of the subject (a message's status change count), so receivers can order events.
    pub revision: u32,
    /// When the event happened.
    pub timestamp: Timestamp,
}
