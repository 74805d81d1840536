//! Meta's send rates per page, as data: how many Send API calls a second a page may make, by
//! the kind of message, and the product's defaults below them.
//!
//! From Meta's Messenger rate-limits page (updated March 2026): a page may make about 300 Send
//! API calls a second for text, links, templates, images, reactions and stickers, and 10 a
//! second for audio and video; over a rolling 24 hours, 200 calls for each engaged user (people
//! the business can message). Past these, Graph throttles (errors 613, 4, 17, 32: see
//! [`crate::Blame::Pace`]) or restricts the page (10/1893063). A gateway paces each page a little
//! below Meta's figures ([`DEFAULT_SEND_RATE`], [`DEFAULT_MEDIA_SEND_RATE`]), so that clock skew
//! and Meta's own counting never tip a page over.
//!
//! ```
//! use messenger_graph::rates::{SendKind, DEFAULT_MEDIA_SEND_RATE, DEFAULT_SEND_RATE};
//! use messenger_model::graph::{GraphSendRequest, Message, Recipient};
//!
//! let text = GraphSendRequest::message(Recipient::psid("1"), Message::text("hi"));
//! assert_eq!(SendKind::of(&text), SendKind::Standard);
//! assert_eq!(SendKind::Standard.default_rate(), DEFAULT_SEND_RATE);
//! assert_eq!(SendKind::Media.default_rate(), DEFAULT_MEDIA_SEND_RATE);
//! ```

use messenger_model::graph::{Attachment, GraphSendRequest};

/// Meta's Send API calls per second per page for text, links, templates, images, reactions and
/// stickers.
pub const META_SEND_RATE: u32 = 300;
/// Meta's Send API calls per second per page for messages carrying audio or video.
pub const META_MEDIA_SEND_RATE: u32 = 10;
/// Meta's Send API calls per rolling 24 hours per page, for each engaged user.
pub const META_DAILY_SENDS_PER_ENGAGED_USER: u32 = 200;

/// The product's default pace for [`SendKind::Standard`] sends: below [`META_SEND_RATE`].
pub const DEFAULT_SEND_RATE: u32 = 250;
/// The product's default pace for [`SendKind::Media`] sends: below [`META_MEDIA_SEND_RATE`].
pub const DEFAULT_MEDIA_SEND_RATE: u32 = 8;

/// Which of a page's send rates a Send API call counts against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SendKind {
    /// Text, links, templates, images, files, sender actions: [`META_SEND_RATE`].
    Standard,
    /// A message with an audio or video attachment: [`META_MEDIA_SEND_RATE`].
    Media,
}

impl SendKind {
    /// The kind of one Send API call.
    pub fn of(request: &GraphSendRequest) -> Self {
        match request.message.as_ref().and_then(|m| m.attachment.as_ref()) {
            Some(Attachment::Audio(_) | Attachment::Video(_)) => Self::Media,
            _ => Self::Standard,
        }
    }

    /// Meta's rate for this kind (calls per second per page).
    pub const fn meta_rate(self) -> u32 {
        match self {
            Self::Standard => META_SEND_RATE,
            Self::Media => META_MEDIA_SEND_RATE,
        }
    }

    /// The product's default pace for this kind (calls per second per page).
    pub const fn default_rate(self) -> u32 {
        match self {
            Self::Standard => DEFAULT_SEND_RATE,
            Self::Media => DEFAULT_MEDIA_SEND_RATE,
        }
    }

    /// `standard` or `media`, for keys and metric labels.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Standard => "standard",
            Self::Media => "media",
        }
    }
}

#[cfg(test)]
mod tests {
    use messenger_model::graph::{Message, Recipient};

    use super::*;

    #[test]
    fn audio_and_video_are_media_the_rest_standard() {
        let with = |kind: &str| {
            let m: Message = serde_json::from_value(serde_json::json!({
                "attachment": {"type": kind, "payload": {"url": "https://example.com/x"}}
            }))
            .expect("a media message");
            SendKind::of(&GraphSendRequest::message(Recipient::psid("1"), m))
        };
        assert_eq!(with("audio"), SendKind::Media);
        assert_eq!(with("video"), SendKind::Media);
        assert_eq!(with("image"), SendKind::Standard);
        assert_eq!(with("file"), SendKind::Standard);
        let text = GraphSendRequest::message(Recipient::psid("1"), Message::text("hi"));
        assert_eq!(SendKind::of(&text), SendKind::Standard);
        for kind in [SendKind::Standard, SendKind::Media] {
            assert!(
                kind.default_rate() < kind.meta_rate(),
                "{kind:?} paced below Meta"
            );
        }
    }
}
