//! The send request's types, field for field as docs/design.md §4 lists them (camelCase on the
//! wire).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::graph::{Message, MessagingType};
use crate::{ModelError, Timestamp};

/// A channel the product can send on; the values of a request's `rules`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Channel {
    /// Facebook Messenger.
    #[serde(rename = "fbMessenger")]
    FbMessenger,
    /// SMS, through the space's SMS provider.
    #[serde(rename = "sms")]
    Sms,
    /// Instagram Direct, through the Messenger Platform's Send API for an Instagram professional
    /// account; the recipient is an Instagram-scoped ID (IGSID). See
    /// `docs/decisions/0026-instagram-is-a-channel-of-the-one-request.md`.
    #[serde(rename = "instagram")]
    Instagram,
}

impl Channel {
    /// All channels.
    pub const ALL: [Channel; 3] = [Channel::FbMessenger, Channel::Sms, Channel::Instagram];

    /// The channel id as written in `rules` (`"fbMessenger"`).
    pub const fn as_str(self) -> &'static str {
        match self {
            Channel::FbMessenger => "fbMessenger",
            Channel::Sms => "sms",
            Channel::Instagram => "instagram",
        }
    }

    /// Parses a channel id.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == s)
    }
}

impl std::fmt::Display for Channel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Who the message is for. Every field is optional; which one is used is decided by addressing
/// (docs/design.md §4). Properties the model does not know are kept in [`To::other`].
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct To {
    /// A stored profile's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile_id: Option<String>,
    /// The recipient's page-scoped Messenger ID (PSID).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fb_messenger_id: Option<String>,
    /// The recipient's Instagram-scoped ID (IGSID), taken from an Instagram webhook. Instagram
    /// has no phone-number matching: a recipient is reached there by this or by a profile that
    /// holds one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instagram_id: Option<String>,
    /// An Instagram comment to answer with a private reply: one message per comment, within 7
    /// days of the comment, sent on the `instagram` rule (the comment's id comes with the
    /// `instagram.comment` event).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment_id: Option<String>,
    /// Which of the space's Instagram accounts to send from (its id as Instagram webhooks and
    /// the `instagram.comment` event carry it): the account `instagramId` is scoped to, or whose
    /// media `commentId` is on. Without it, the space's first account (the profile's IGSID: the
    /// first account it holds one for).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instagram_account_id: Option<String>,
    /// Phone number in international format (Messenger customer matching, SMS).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone_number: Option<String>,
    /// Mobile number in international format (SMS).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mobile_number: Option<String>,
    /// E-mail address (kept on the profile).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// First name (customer matching; kept on the profile).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    /// Last name (customer matching; kept on the profile).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    /// Any other properties, kept as given.
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

/// One part of a multi-part message: a text, or media by URL or inline (base64) data.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MessagePart {
    /// A name (file name for inline data).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// MIME type (`text/plain`, `image/png`, ...).
    #[serde(rename = "type")]
    pub mime_type: String,
    /// Where the content is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Inline content: the text itself for `text/*`, base64 otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<String>,
    /// Size in bytes, when the sender states it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    /// Channels this part is for; empty means all.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub channels: Vec<Channel>,
}

/// Messenger's options: the envelope of the Graph send.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FbMessengerOptions {
    /// Graph's `messaging_type`; defaults to `RESPONSE`, or `MESSAGE_TAG` when a tag is set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub messaging_type: Option<MessagingType>,
    /// Graph's `tag` (a message tag name, checked against Meta's current policy).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_tag: Option<String>,
    /// Graph's `persona_id`: a persona of the page (a human agent's name and picture) every
    /// Graph send of the message is sent as.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub persona_id: Option<String>,
    /// How long Messenger has, in seconds after the message was sent, to report it delivered
    /// (a `delivery` or `read` receipt) before the next rule sends it (1 to 604800; only with a
    /// rule after `fbMessenger`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivery_timeout: Option<u64>,
}

/// Instagram's options: the envelope of the Send API call for an Instagram professional
/// account. There is no persona: Instagram has none that the reference documents.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InstagramOptions {
    /// Graph's `messaging_type`; defaults to `RESPONSE`, or `MESSAGE_TAG` when a tag is set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub messaging_type: Option<MessagingType>,
    /// Graph's `tag`: on Instagram only `HUMAN_AGENT` (a person's reply up to 7 days after the
    /// user's last message).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_tag: Option<String>,
    /// How long Instagram has, in seconds after the message was sent, to report it *read*
    /// before the next rule sends it (1 to 604800; only with a rule after `instagram`).
    /// Instagram sends no delivery receipts, so only a read ends the wait.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivery_timeout: Option<u64>,
}

/// SMS options.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SmsOptions {
    /// Sender id or number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// Whether characters outside GSM-7 may be sent (as UCS-2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_unicode: Option<bool>,
}

/// Per-channel options.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChannelOptions {
    /// Messenger's options.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fb_messenger: Option<FbMessengerOptions>,
    /// SMS options.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sms: Option<SmsOptions>,
    /// Instagram's options.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instagram: Option<InstagramOptions>,
}

/// Per-channel custom bodies, passed to the channel as they are.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CustomBody {
    /// A Graph Send API `message` object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fb_messenger: Option<Message>,
    /// A Graph Send API `message` object for Instagram (the same shape; Instagram takes fewer
    /// kinds and a few of its own: the `like_heart` sticker, `MEDIA_SHARE`, several images).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instagram: Option<Message>,
}

/// A send request of the Enterprise Communications API.
///
/// ```
/// use messenger_model::{Channel, SendRequest, To};
/// let req = SendRequest::new(To::profile("alice"))
///     .body("Your order has shipped")
///     .rules([Channel::FbMessenger, Channel::Sms])
///     .message_tag("HUMAN_AGENT");
/// let json = serde_json::to_string(&req).unwrap();
/// assert_eq!(SendRequest::from_json(json.as_bytes()).unwrap(), req);
/// ```
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SendRequest {
    /// The recipient.
    pub to: To,
    /// Plain text, adapted per channel.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// A title, for channels that have one (Messenger has none; it is not sent there).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// The parts of a multi-part message, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub message_parts: Vec<MessagePart>,
    /// Per-channel options.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel_options: Option<ChannelOptions>,
    /// Per-channel custom bodies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_body: Option<CustomBody>,
    /// Channels in order of preference.
    #[serde(default)]
    pub rules: Vec<Channel>,
    /// After this instant the message is not sent (status `expired`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_on: Option<Timestamp>,
    /// Echoed on every event about this message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Value>,
    /// Groups messages of one conversation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conversation_id: Option<String>,
}

impl SendRequest {
    /// Parses a request from JSON bytes. A syntax error says where (line and column).
    pub fn from_json(bytes: &[u8]) -> Result<Self, ModelError> {
        serde_json::from_slice(bytes).map_err(ModelError::from_json)
    }

    /// The Messenger options, if any were given.
    pub fn fb_messenger_options(&self) -> Option<&FbMessengerOptions> {
        self.channel_options.as_ref()?.fb_messenger.as_ref()
    }

    /// `channelOptions.fbMessenger.deliveryTimeout`: how long Messenger has to deliver, in
    /// seconds, before the next rule is used.
    pub fn delivery_timeout_secs(&self) -> Option<u64> {
        self.fb_messenger_options()?.delivery_timeout
    }

    /// The `deliveryTimeout` of `channel`'s options: Messenger's (time to a delivery or read
    /// receipt) or Instagram's (time to a read); no other channel has one.
    pub fn delivery_timeout_on(&self, channel: Channel) -> Option<u64> {
        match channel {
            Channel::FbMessenger => self.delivery_timeout_secs(),
            Channel::Instagram => self.instagram_options()?.delivery_timeout,
            _ => None,
        }
    }

    /// The Messenger custom body, if one was given.
    pub fn fb_messenger_custom_body(&self) -> Option<&Message> {
        self.custom_body.as_ref()?.fb_messenger.as_ref()
    }

    /// The Instagram options, if any were given.
    pub fn instagram_options(&self) -> Option<&InstagramOptions> {
        self.channel_options.as_ref()?.instagram.as_ref()
    }

    /// The Instagram custom body, if one was given.
    pub fn instagram_custom_body(&self) -> Option<&Message> {
        self.custom_body.as_ref()?.instagram.as_ref()
    }
}
