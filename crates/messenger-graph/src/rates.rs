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
//! An Instagram professional account has figures of its own, from the same page of Meta's
//! (its Instagram table): 300 Send API calls a second for text, links, reactions and stickers,
//! 10 for audio and video, and 750 private replies to comments on posts and reels an hour
//! (throttling answers 80002, or 2534013 for private replies). A gateway paces each account
//! below them by the same margin as a page ([`DEFAULT_INSTAGRAM_SEND_RATE`],
//! [`DEFAULT_INSTAGRAM_MEDIA_SEND_RATE`], [`DEFAULT_INSTAGRAM_PRIVATE_REPLIES_PER_HOUR`]).
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

/// Meta's Send API calls per second per Instagram professional account for text, links,
/// reactions and stickers.
pub const META_INSTAGRAM_SEND_RATE: u32 = 300;
/// Meta's Send API calls per second per Instagram professional account for audio or video.
pub const META_INSTAGRAM_MEDIA_SEND_RATE: u32 = 10;
/// Meta's private replies per hour per Instagram professional account, to comments on posts and
/// reels (during a live broadcast Meta allows more; the gateway does not count those apart).
pub const META_INSTAGRAM_PRIVATE_REPLIES_PER_HOUR: u32 = 750;

/// The product's default pace for an Instagram account's [`SendKind::Standard`] sends: below
/// [`META_INSTAGRAM_SEND_RATE`] as [`DEFAULT_SEND_RATE`] is below a page's.
pub const DEFAULT_INSTAGRAM_SEND_RATE: u32 = 250;
/// The product's default pace for an Instagram account's [`SendKind::Media`] sends: below
/// [`META_INSTAGRAM_MEDIA_SEND_RATE`] as [`DEFAULT_MEDIA_SEND_RATE`] is below a page's.
pub const DEFAULT_INSTAGRAM_MEDIA_SEND_RATE: u32 = 8;
/// The product's default pace for an Instagram account's private replies, per hour: five
/// sixths of [`META_INSTAGRAM_PRIVATE_REPLIES_PER_HOUR`], the margin of [`DEFAULT_SEND_RATE`].
pub const DEFAULT_INSTAGRAM_PRIVATE_REPLIES_PER_HOUR: u32 = 625;

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

    /// Meta's rate for this kind on an Instagram account (calls per second per account).
    pub const fn instagram_meta_rate(self) -> u32 {
        match self {
            Self::Standard => META_INSTAGRAM_SEND_RATE,
            Self::Media => META_INSTAGRAM_MEDIA_SEND_RATE,
        }
    }

    /// The product's default pace for this kind on an Instagram account (calls per second per
    /// account).
    pub const fn instagram_default_rate(self) -> u32 {
        match self {
            Self::Standard => DEFAULT_INSTAGRAM_SEND_RATE,
            Self::Media => DEFAULT_INSTAGRAM_MEDIA_SEND_RATE,
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

    /// An Instagram account is paced below Meta's figures by the margin a page is: the same
    /// fraction of Meta's figure (within a call, by rounding down).
    #[test]
    fn instagram_accounts_keep_the_margin_of_a_page() {
        let same_margin = |ours: u32, meta: u32, page_ours: u32, page_meta: u32| {
            assert!(ours < meta, "{ours} below {meta}");
            let want = u64::from(meta) * u64::from(page_ours) / u64::from(page_meta);
            assert_eq!(u64::from(ours), want, "{ours} of {meta}");
        };
        for kind in [SendKind::Standard, SendKind::Media] {
            same_margin(
                kind.instagram_default_rate(),
                kind.instagram_meta_rate(),
                kind.default_rate(),
                kind.meta_rate(),
            );
        }
        same_margin(
            DEFAULT_INSTAGRAM_PRIVATE_REPLIES_PER_HOUR,
            META_INSTAGRAM_PRIVATE_REPLIES_PER_HOUR,
            DEFAULT_SEND_RATE,
            META_SEND_RATE,
        );
    }
}
