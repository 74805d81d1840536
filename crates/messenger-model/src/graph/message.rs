//! The Send API `message` object: text or attachment, quick replies, metadata.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::Template;

/// A Graph `message`. Fields Graph adds later are kept in [`Message::extra`] and passed on.
///
/// ```
/// use messenger_model::graph::{Message, QuickReply};
/// let m = Message::text("Pick a color:")
///     .with_quick_reply(QuickReply::text("Red", "PICK_RED"));
/// assert_eq!(serde_json::to_value(&m).unwrap()["quick_replies"][0]["title"], "Red");
/// ```
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Message {
    /// Text (UTF-8, at most 2000 characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// An attachment (media or template).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attachment: Option<Attachment>,
    /// Several attachments in one send: Instagram's several images in one message (generally
    /// available since 2026-05-06). Messenger has no such field. Meta's pages give no maximum
    /// count that the product's reference confirms, so none is enforced here.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<Attachment>,
    /// Quick replies (at most 13).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub quick_replies: Vec<QuickReply>,
    /// Developer metadata, returned in the echo (at most 1000 characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<String>,
    /// Fields the model does not know, passed through.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Message {
    /// A text message.
    pub fn text(text: impl Into<String>) -> Self {
        Self {
            text: Some(text.into()),
            ..Self::default()
        }
    }

    /// An attachment message.
    pub fn attachment(attachment: Attachment) -> Self {
        Self {
            attachment: Some(attachment),
            ..Self::default()
        }
    }

    /// Several images in one Instagram message (`attachments`).
    ///
    /// ```
    /// use messenger_model::graph::{MediaPayload, Message};
    /// let m = Message::images([MediaPayload::url("https://example.com/a.png"), MediaPayload::url("https://example.com/b.png")]);
    /// let v = serde_json::to_value(&m).unwrap();
    /// assert_eq!(v["attachments"][1]["type"], "image");
    /// ```
    pub fn images(images: impl IntoIterator<Item = MediaPayload>) -> Self {
        Self {
            attachments: images.into_iter().map(Attachment::Image).collect(),
            ..Self::default()
        }
    }

    /// A template message.
    pub fn template(template: Template) -> Self {
        Self::attachment(Attachment::Template(template))
    }

    /// Adds a quick reply.
    #[must_use = "a builder method returns the changed value and does nothing on its own"]
    pub fn with_quick_reply(mut self, reply: QuickReply) -> Self {
        self.quick_replies.push(reply);
        self
    }

    /// Sets the metadata.
    #[must_use = "a builder method returns the changed value and does nothing on its own"]
    pub fn with_metadata(mut self, metadata: impl Into<String>) -> Self {
        self.metadata = Some(metadata.into());
        self
    }
}

/// An attachment: media by URL or attachment id, or a template.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "payload", rename_all = "lowercase")]
pub enum Attachment {
    /// An image.
    Image(MediaPayload),
    /// An audio clip.
    Audio(MediaPayload),
    /// A video.
    Video(MediaPayload),
    /// Any other file.
    File(MediaPayload),
    /// A structured template.
    Template(Template),
    /// Instagram's heart sticker (`{"type":"like_heart"}`, no payload); the only sticker
    /// documented for Instagram. Messenger does not take it.
    #[serde(rename = "like_heart")]
    LikeHeart,
    /// Instagram: share one of the business's own posts (`MEDIA_SHARE` with the post's id).
    /// Messenger does not take it.
    #[serde(rename = "MEDIA_SHARE")]
    MediaShare(MediaSharePayload),
}

impl Attachment {
    /// The media attachment kind Graph uses for a MIME type: `image/*`, `video/*`, `audio/*` map
    /// to those; anything else is a `file`.
    pub fn for_mime_type(mime_type: &str, payload: MediaPayload) -> Self {
        let top = mime_type.split('/').next().unwrap_or("").trim();
        match top.to_ascii_lowercase().as_str() {
            "image" => Self::Image(payload),
            "video" => Self::Video(payload),
            "audio" => Self::Audio(payload),
            _ => Self::File(payload),
        }
    }

    /// The media payload, for media attachments.
    pub fn media_payload(&self) -> Option<&MediaPayload> {
        match self {
            Self::Image(p) | Self::Audio(p) | Self::Video(p) | Self::File(p) => Some(p),
            Self::Template(_) | Self::LikeHeart | Self::MediaShare(_) => None,
        }
    }

    /// The media payload, mutable, for media attachments.
    pub fn media_payload_mut(&mut self) -> Option<&mut MediaPayload> {
        match self {
            Self::Image(p) | Self::Audio(p) | Self::Video(p) | Self::File(p) => Some(p),
            Self::Template(_) | Self::LikeHeart | Self::MediaShare(_) => None,
        }
    }

    /// Graph's attachment type name (`"image"`, `"template"`, ...).
    pub const fn type_name(&self) -> &'static str {
        match self {
            Self::Image(_) => "image",
            Self::Audio(_) => "audio",
            Self::Video(_) => "video",
            Self::File(_) => "file",
            Self::Template(_) => "template",
            Self::LikeHeart => "like_heart",
            Self::MediaShare(_) => "MEDIA_SHARE",
        }
    }
}

/// The payload of a media attachment.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct MediaPayload {
    /// Where Graph fetches the media from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// An uploaded attachment's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attachment_id: Option<String>,
    /// Ask Graph to keep the media for reuse (the response carries an `attachment_id`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_reusable: Option<bool>,
}

impl MediaPayload {
    /// Media by URL.
    pub fn url(url: impl Into<String>) -> Self {
        Self {
            url: Some(url.into()),
            ..Self::default()
        }
    }

    /// Media by uploaded attachment id.
    pub fn attachment_id(id: impl Into<String>) -> Self {
        Self {
            attachment_id: Some(id.into()),
            ..Self::default()
        }
    }
}

/// The payload of an Instagram `MEDIA_SHARE` attachment: the id of a post the business owns
/// (Meta refuses other accounts' posts).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct MediaSharePayload {
    /// The post's id.
    pub id: String,
}

impl MediaSharePayload {
    /// A share of the post `id`.
    pub fn post(id: impl Into<String>) -> Self {
        Self { id: id.into() }
    }
}

/// What a quick reply asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QuickReplyContentType {
    /// A text button.
    Text,
    /// The user's phone number.
    UserPhoneNumber,
    /// The user's e-mail.
    UserEmail,
}

/// A quick reply button.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuickReply {
    /// What it asks for.
    pub content_type: QuickReplyContentType,
    /// Button title (text replies; at most 20 characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Sent back in the webhook (at most 1000 characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload: Option<String>,
    /// An icon.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_url: Option<String>,
}

impl QuickReply {
    /// A text quick reply.
    pub fn text(title: impl Into<String>, payload: impl Into<String>) -> Self {
        Self {
            content_type: QuickReplyContentType::Text,
            title: Some(title.into()),
            payload: Some(payload.into()),
            image_url: None,
        }
    }
}
