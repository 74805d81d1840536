//! One messaging event and its kinds.

use serde::ser::SerializeMap;
use serde::{Deserialize, Serialize, Serializer};
use serde_json::{Map, Value};

use super::edit::{MessageEdit, ResponseFeedback};
use super::handover::{Handover, HandoverBody, HandoverKind};
use super::lenient;

/// A sender or recipient.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Party {
    /// PSID (sender) or page id (recipient). A number from Meta is kept exactly as its text.
    #[serde(
        default,
        deserialize_with = "lenient::opt_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub id: Option<String>,
    /// The checkbox plugin's `user_ref` (sender of a checkbox opt-in).
    #[serde(
        default,
        deserialize_with = "lenient::opt_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub user_ref: Option<String>,
}

/// One messaging event (an element of `entry[].messaging[]` or `entry[].standby[]`). Exactly one
/// of the kind fields is normally set; [`MessagingEvent::kind`] says which.
///
/// Parsing is lenient: `timestamp` and the watermarks accept an integer, a float with no fraction,
/// a string of digits or `null`; ids accept a string or an integer (kept exactly as its text).
/// A value of any other shape is an error for this event only (see
/// [`UnparsedEvent`](crate::webhook::UnparsedEvent)).
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(try_from = "WireEvent")]
pub struct MessagingEvent {
    /// Who sent it (absent for checkbox opt-ins and app role changes).
    pub sender: Option<Party>,
    /// Who received it (the page, for inbound events).
    pub recipient: Option<Party>,
    /// When it happened (milliseconds since the epoch). **0 means "Meta did not say"** (the field
    /// was absent or `null`); use [`MessagingEvent::occurred_at_or`] to fall back to the time of
    /// receipt.
    pub timestamp: i64,
    /// A message (or the echo of the page's own).
    pub message: Option<InboundMessage>,
    /// A postback button tap.
    pub postback: Option<Postback>,
    /// An opt-in through a plugin.
    pub optin: Option<Optin>,
    /// A delivery receipt.
    pub delivery: Option<DeliveryReceipt>,
    /// A read receipt.
    pub read: Option<ReadReceipt>,
    /// A referral (m.me link, ad, ...).
    pub referral: Option<Referral>,
    /// A reaction to a message.
    pub reaction: Option<Reaction>,
    /// An edit of a message the user sent (`message_edit`).
    pub message_edit: Option<MessageEdit>,
    /// Thumbs up or down under a message the page sent (`response_feedback`).
    pub response_feedback: Option<ResponseFeedback>,
    /// A `messaging_handovers` event (`pass_thread_control`, `take_thread_control`,
    /// `request_thread_control` or `app_roles`); written back under the field its kind names.
    pub handover: Option<Handover>,
    /// Fields of event kinds the model does not know, kept (`policy_enforcement`,
    /// `account_linking`, ...).
    pub extra: Map<String, Value>,
}

/// [`MessagingEvent`] as it comes from Meta: the handover bodies under their own fields.
#[derive(Deserialize)]
struct WireEvent {
    #[serde(default)]
    sender: Option<Party>,
    #[serde(default)]
    recipient: Option<Party>,
    #[serde(default, deserialize_with = "lenient::millis")]
    timestamp: i64,
    #[serde(default)]
    message: Option<InboundMessage>,
    #[serde(default)]
    postback: Option<Postback>,
    #[serde(default)]
    optin: Option<Optin>,
    #[serde(default)]
    delivery: Option<DeliveryReceipt>,
    #[serde(default)]
    read: Option<ReadReceipt>,
    #[serde(default)]
    referral: Option<Referral>,
    #[serde(default)]
    reaction: Option<Reaction>,
    #[serde(default)]
    message_edit: Option<MessageEdit>,
    #[serde(default)]
    response_feedback: Option<ResponseFeedback>,
    #[serde(flatten)]
    extra: Map<String, Value>,
}

impl TryFrom<WireEvent> for MessagingEvent {
    type Error = String;

    /// Takes the first handover field present (in [`HandoverKind::ALL`] order) out of `extra`;
    /// any other stays there as Meta sent it.
    fn try_from(w: WireEvent) -> Result<Self, String> {
        let mut extra = w.extra;
        let mut handover = None;
        for &kind in HandoverKind::ALL {
            let Some(body) = extra.get(kind.field()) else {
                continue;
            };
            if body.is_null() {
                continue;
            }
            let body =
                HandoverBody::deserialize(body).map_err(|e| format!("{}: {e}", kind.field()))?;
            extra.remove(kind.field());
            handover = Some(Handover::read(kind, body));
            break;
        }
        Ok(MessagingEvent {
            sender: w.sender,
            recipient: w.recipient,
            timestamp: w.timestamp,
            message: w.message,
            postback: w.postback,
            optin: w.optin,
            delivery: w.delivery,
            read: w.read,
            referral: w.referral,
            reaction: w.reaction,
            message_edit: w.message_edit,
            response_feedback: w.response_feedback,
            handover,
            extra,
        })
    }
}

impl Serialize for MessagingEvent {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        fn field<M: SerializeMap, T: Serialize>(
            map: &mut M,
            key: &str,
            value: Option<&T>,
        ) -> Result<(), M::Error> {
            match value {
                Some(v) => map.serialize_entry(key, v),
                None => Ok(()),
            }
        }
        let mut map = serializer.serialize_map(None)?;
        field(&mut map, "sender", self.sender.as_ref())?;
        field(&mut map, "recipient", self.recipient.as_ref())?;
        map.serialize_entry("timestamp", &self.timestamp)?;
        field(&mut map, "message", self.message.as_ref())?;
        field(&mut map, "postback", self.postback.as_ref())?;
        field(&mut map, "optin", self.optin.as_ref())?;
        field(&mut map, "delivery", self.delivery.as_ref())?;
        field(&mut map, "read", self.read.as_ref())?;
        field(&mut map, "referral", self.referral.as_ref())?;
        field(&mut map, "reaction", self.reaction.as_ref())?;
        field(&mut map, "message_edit", self.message_edit.as_ref())?;
        field(
            &mut map,
            "response_feedback",
            self.response_feedback.as_ref(),
        )?;
        if let Some(h) = &self.handover {
            map.serialize_entry(h.kind.field(), h)?;
        }
        for (k, v) in &self.extra {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
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
    /// An edit of the user's message (`message_edit`).
    Edit(&'a MessageEdit),
    /// Thumbs up or down under the page's message (`response_feedback`).
    Feedback(&'a ResponseFeedback),
    /// A `messaging_handovers` event (thread control or app roles).
    Handover(&'a Handover),
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
        if let Some(e) = &self.message_edit {
            return EventKind::Edit(e);
        }
        if let Some(f) = &self.response_feedback {
            return EventKind::Feedback(f);
        }
        if let Some(h) = &self.handover {
            return EventKind::Handover(h);
        }
        EventKind::Unknown
    }

    /// When the event happened (milliseconds since the epoch): [`MessagingEvent::timestamp`] if
    /// Meta gave one (> 0), else `fallback` (typically the time the webhook was received).
    ///
    /// ```
    /// use messenger_model::webhook::MessagingEvent;
    /// let mut e = MessagingEvent::default();
    /// assert_eq!(e.occurred_at_or(42), 42);
    /// e.timestamp = 1_764_400_000_000;
    /// assert_eq!(e.occurred_at_or(42), 1_764_400_000_000);
    /// ```
    pub fn occurred_at_or(&self, fallback: i64) -> i64 {
        if self.timestamp > 0 {
            self.timestamp
        } else {
            fallback
        }
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
    /// Reactions, edits and feedback also name the message they are about (and the reaction's
    /// action, the edit's count), so two of them by one user in one millisecond differ.
    /// Handovers are keyed by their kind's field, the user (or, for app roles, the page), the new
    /// owner and the timestamp. When Meta gave no timestamp (0), a hash of the event's JSON is
    /// appended, so two such events of one user differ unless they are the same bytes.
    pub fn dedupe_key(&self) -> String {
        let key = self.base_dedupe_key();
        if self.timestamp == 0 && !key.starts_with("mid:") {
            let json = serde_json::to_vec(self).unwrap_or_default();
            return format!("{key}:{:016x}", fnv1a(&json));
        }
        key
    }

    fn base_dedupe_key(&self) -> String {
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
            EventKind::Reaction(r) => {
                let action = r.action.as_deref().unwrap_or("-");
                return self.keyed_by_target("reaction", r.mid.as_deref(), action);
            }
            EventKind::Edit(e) => {
                return self.keyed_by_target("edit", e.mid.as_deref(), &e.num_edit.to_string());
            }
            EventKind::Feedback(f) => {
                return self.keyed_by_target("feedback", f.mid.as_deref(), "-");
            }
            EventKind::Handover(h) => {
                let who = self.sender_id().or(self.recipient_id()).unwrap_or("-");
                let owner = h.new_owner_app_id.as_deref().unwrap_or("-");
                return format!("{}:{who}:{owner}:{}", h.kind.field(), self.timestamp);
            }
            EventKind::Unknown => "unknown",
        };
        format!("{kind}:{}:{}", self.who(), self.timestamp)
    }

    /// `kind:who:timestamp:mid:detail`, for the kinds about one of the conversation's messages.
    fn keyed_by_target(&self, kind: &str, mid: Option<&str>, detail: &str) -> String {
        let mid = mid.unwrap_or("-");
        format!("{kind}:{}:{}:{mid}:{detail}", self.who(), self.timestamp)
    }

    /// Who the event is from: the sender's PSID or user ref, or the opt-in's user ref.
    fn who(&self) -> &str {
        self.sender
            .as_ref()
            .and_then(|s| s.id.as_deref().or(s.user_ref.as_deref()))
            .or_else(|| self.optin.as_ref().and_then(|o| o.user_ref.as_deref()))
            .unwrap_or("-")
    }
}

/// 64-bit FNV-1a: a stable hash (the same across builds and runs), unlike std's `DefaultHasher`.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// A message in a webhook (from the user, or an echo).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct InboundMessage {
    /// Graph's message id.
    #[serde(
        default,
        deserialize_with = "lenient::opt_text",
        skip_serializing_if = "Option::is_none"
    )]
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
    #[serde(
        default,
        deserialize_with = "lenient::opt_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub metadata: Option<String>,
    /// Other fields, kept.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// An attachment of an inbound message.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct InboundAttachment {
    /// `image`, `audio`, `video`, `file`, `location`, `fallback`, `sticker`, ...
    #[serde(default, rename = "type", deserialize_with = "lenient::text")]
    pub kind: String,
    /// The payload (`url`, `coordinates`, `sticker_id`, ...), as Meta sends it.
    #[serde(default)]
    pub payload: Value,
    /// Other fields (`title`, `url` of a fallback, ...), kept.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl InboundAttachment {
    /// The sticker's id: `payload.sticker_id` (of a 2026 `sticker` attachment, or of an older
    /// `image` one), as text, exact for numbers above 2^53.
    ///
    /// ```
    /// use messenger_model::webhook::InboundAttachment;
    /// let a: InboundAttachment = serde_json::from_str(
    ///     r#"{"type":"sticker","payload":{"url":"https://x/s.png","sticker_id":369239263222822}}"#,
    /// ).unwrap();
    /// assert_eq!(a.sticker_id().as_deref(), Some("369239263222822"));
    /// ```
    pub fn sticker_id(&self) -> Option<String> {
        match self.payload.get("sticker_id")? {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) if n.is_i64() || n.is_u64() => Some(n.to_string()),
            _ => None,
        }
    }
}

/// The payload of a tapped quick reply.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct QuickReplyPayload {
    /// The developer-defined payload.
    #[serde(default, deserialize_with = "lenient::text")]
    pub payload: String,
}

/// The message replied to.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ReplyTo {
    /// Its mid.
    #[serde(default, deserialize_with = "lenient::text")]
    pub mid: String,
}

/// A postback.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Postback {
    /// Graph's id of the postback.
    #[serde(
        default,
        deserialize_with = "lenient::opt_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub mid: Option<String>,
    /// The button's title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// The button's payload (absent for postbacks delivered on `standby`).
    #[serde(
        default,
        deserialize_with = "lenient::opt_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub payload: Option<String>,
    /// A referral that came with it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub referral: Option<Referral>,
}

/// An opt-in (Send to Messenger plugin, checkbox plugin, marketing messages).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Optin {
    /// The plugin's `data-ref`.
    #[serde(
        default,
        rename = "ref",
        deserialize_with = "lenient::opt_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub data_ref: Option<String>,
    /// The checkbox plugin's `user_ref`.
    #[serde(
        default,
        deserialize_with = "lenient::opt_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub user_ref: Option<String>,
    /// Other fields (`type`, `notification_messages_token`, ...), kept.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A delivery receipt.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct DeliveryReceipt {
    /// The delivered messages (may be missing).
    #[serde(
        default,
        deserialize_with = "lenient::text_list",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub mids: Vec<String>,
    /// Every message sent before this time (milliseconds) was delivered (0: Meta did not say).
    #[serde(default, deserialize_with = "lenient::millis")]
    pub watermark: i64,
}

/// A read receipt.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ReadReceipt {
    /// Every message sent before this time (milliseconds) was read (0: Meta did not say).
    #[serde(default, deserialize_with = "lenient::millis")]
    pub watermark: i64,
}

/// A referral.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Referral {
    /// The `ref` parameter.
    #[serde(
        default,
        rename = "ref",
        deserialize_with = "lenient::opt_text",
        skip_serializing_if = "Option::is_none"
    )]
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
    #[serde(
        default,
        deserialize_with = "lenient::opt_text",
        skip_serializing_if = "Option::is_none"
    )]
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
