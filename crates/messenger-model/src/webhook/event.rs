//! One messaging event and its kinds.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// A sender or recipient.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Party {
    /// PSID (sender) or page id (recipient).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The checkbox plugin's `user_ref` (sender of a checkbox opt-in).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_ref: Option<String>,
}

/// One messaging event. Exactly one of the kind fields is normally set; [`MessagingEvent::kind`]
/// says which.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct MessagingEvent {
    /// Who sent it (absent for checkbox opt-ins).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sender: Option<Party>,
    /// Who received it (the page, for inbound events).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recipient: Option<Party>,
    /// When it happened (milliseconds since the epoch).
    #[serde(default)]
    pub timestamp: i64,
    /// A message (or the echo of the page's own).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<InboundMessage>,
    /// A postback button tap.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postback: Option<Postback>,
    /// An opt-in through a plugin.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub optin: Option<Optin>,
    /// A delivery receipt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivery: Option<DeliveryReceipt>,
    /// A read receipt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read: Option<ReadReceipt>,
    /// A referral (m.me link, ad, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub referral: Option<Referral>,
    /// A reaction to a message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reaction: Option<Reaction>,
    /// Fields of event kinds the model does not know, kept.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Which kind an event is, borrowed from it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum EventKind<'a> {
    /// A message from the user.
    Message(&'a InboundMessage),
    /// The echo of a message the page sent.
    Echo(&'a InboundMessage),
    /// A postback.
    Postback(&'a Postback),
    /// An opt-in.
    Optin(&'a Optin),
    /// A delivery receipt.
    Delivery(&'a DeliveryReceipt),
    /// A read receipt.
    Read(&'a ReadReceipt),
    /// A referral.
    Referral(&'a Referral),
    /// A reaction.
    Reaction(&'a Reaction),
    /// Something the model does not know (kept in `extra`).
    Unknown,
}

impl MessagingEvent {
    /// Which kind this event is.
    pub fn kind(&self) -> EventKind<'_> {
        if let Some(m) = &self.message {
            return if m.is_echo {
                EventKind::Echo(m)
            } else {
                EventKind::Message(m)
            };
        }
        if let Some(p) = &self.postback {
            return EventKind::Postback(p);
        }
        if let Some(o) = &self.optin {
            return EventKind::Optin(o);
        }
        if let Some(d) = &self.delivery {
            return EventKind::Delivery(d);
        }
        if let Some(r) = &self.read {
            return EventKind::Read(r);
        }
        if let Some(r) = &self.reaction {
            return EventKind::Reaction(r);
        }
        if let Some(r) = &self.referral {
            return EventKind::Referral(r);
        }
        EventKind::Unknown
    }

    /// The sender's PSID, if the event has one.
    pub fn sender_id(&self) -> Option<&str> {
        self.sender.as_ref()?.id.as_deref()
    }

    /// The recipient's id (the page, for inbound events).
    pub fn recipient_id(&self) -> Option<&str> {
        self.recipient.as_ref()?.id.as_deref()
    }

    /// A key that is the same for every redelivery of this event and differs between events: the
    /// `mid` for messages and echoes, else the sender, timestamp and kind (as Meta advises).
    pub fn dedupe_key(&self) -> String {
        let kind = match self.kind() {
            EventKind::Message(m) | EventKind::Echo(m) if m.mid.is_some() => {
                return format!("mid:{}", m.mid.as_deref().unwrap_or_default());
            }
            EventKind::Message(_) | EventKind::Echo(_) => "message",
            EventKind::Postback(_) => "postback",
            EventKind::Optin(_) => "optin",
            EventKind::Delivery(d) => {
                return format!(
                    "delivery:{}:{}",
                    self.sender_id().unwrap_or("-"),
                    d.watermark
                )
            }
            EventKind::Read(r) => {
                return format!("read:{}:{}", self.sender_id().unwrap_or("-"), r.watermark)
            }
            EventKind::Referral(_) => "referral",
            EventKind::Reaction(_) => "reaction",
            EventKind::Unknown => "unknown",
        };
        let who = self
            .sender
            .as_ref()
            .and_then(|s| s.id.as_deref().or(s.user_ref.as_deref()))
            .or_else(|| self.optin.as_ref().and_then(|o| o.user_ref.as_deref()))
            .unwrap_or("-");
        format!("{kind}:{who}:{}", self.timestamp)
    }
}

/// A message in a webhook (from the user, or an echo).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct InboundMessage {
    /// Graph's message id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mid: Option<String>,
    /// Text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// Attachments.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<InboundAttachment>,
    /// The quick reply tapped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quick_reply: Option<QuickReplyPayload>,
    /// The message this one replies to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_to: Option<ReplyTo>,
    /// True for the echo of a message the page sent.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub is_echo: bool,
    /// The app that sent an echoed message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_id: Option<Value>,
    /// The metadata of an echoed message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<String>,
    /// Other fields, kept.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// An attachment of an inbound message.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct InboundAttachment {
    /// `image`, `audio`, `video`, `file`, `location`, `fallback`, ...
    #[serde(default, rename = "type")]
    pub kind: String,
    /// The payload (`url`, `coordinates`, ...), as Meta sends it.
    #[serde(default)]
    pub payload: Value,
}

/// The payload of a tapped quick reply.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct QuickReplyPayload {
    /// The developer-defined payload.
    #[serde(default)]
    pub payload: String,
}

/// The message replied to.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ReplyTo {
    /// Its mid.
    #[serde(default)]
    pub mid: String,
}

/// A postback.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Postback {
    /// Graph's id of the postback.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mid: Option<String>,
    /// The button's title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// The button's payload.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload: Option<String>,
    /// A referral that came with it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub referral: Option<Referral>,
}

/// An opt-in (Send to Messenger plugin, checkbox plugin, marketing messages).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Optin {
    /// The plugin's `data-ref`.
    #[serde(default, rename = "ref", skip_serializing_if = "Option::is_none")]
    pub data_ref: Option<String>,
    /// The checkbox plugin's `user_ref`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_ref: Option<String>,
    /// Other fields (`type`, `notification_messages_token`, ...), kept.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A delivery receipt.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct DeliveryReceipt {
    /// The delivered messages (may be missing).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mids: Vec<String>,
    /// Every message sent before this time (milliseconds) was delivered.
    #[serde(default)]
    pub watermark: i64,
}

/// A read receipt.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ReadReceipt {
    /// Every message sent before this time (milliseconds) was read.
    #[serde(default)]
    pub watermark: i64,
}

/// A referral.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Referral {
    /// The `ref` parameter.
    #[serde(default, rename = "ref", skip_serializing_if = "Option::is_none")]
    pub data_ref: Option<String>,
    /// `SHORTLINK`, `ADS`, ...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// `OPEN_THREAD`, ...
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Other fields, kept.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A reaction.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Reaction {
    /// The message reacted to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mid: Option<String>,
    /// `react` or `unreact`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    /// The emoji.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub emoji: Option<String>,
    /// The reaction's name (`love`, `smile`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reaction: Option<String>,
}
