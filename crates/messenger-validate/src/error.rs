//! The crate's error type: typed violations, each with a stable code and a JSON pointer.

use std::fmt;

use serde::{Serialize, Serializer};

/// Which rule a request breaks. The string form ([`ViolationCode::as_str`]) is stable: clients
/// may match on it, and the gateway returns it as `errors[].code`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum ViolationCode {
    /// A field the request does not know (`field.unknown`).
    FieldUnknown,
    /// A field of the wrong JSON type (`field.type`).
    FieldType,
    /// A required field is missing (`field.required`).
    FieldRequired,
    /// A value that is not one of the allowed ones (`field.enum`).
    FieldEnum,
    /// The JSON does not have the request's shape, in a way the structural pass did not name
    /// (`json.shape`).
    JsonShape,
    /// No `body`, `messageParts` or `customBody.fbMessenger` (`content.missing`).
    ContentMissing,
    /// A channel of `rules` has nothing to send (`content.missing_for_channel`).
    ContentMissingForChannel,
    /// `body` and `messageParts` together (`content.body_and_parts`).
    ContentBodyAndParts,
    /// A text longer than its channel takes: Messenger 2000 characters, Instagram 1000 bytes of
    /// UTF-8 (`text.too_long`).
    TextTooLong,
    /// A Graph message with neither text nor attachment (`message.empty`).
    MessageEmpty,
    /// A Graph message with both text and attachment (`message.text_and_attachment`).
    MessageTextAndAttachment,
    /// A Graph message's `metadata` longer than 1000 characters (`message.metadata_too_long`).
    MessageMetadataTooLong,
    /// More than 13 quick replies (`quick_replies.too_many`).
    QuickRepliesTooMany,
    /// A text quick reply without a title (`quick_replies.title_missing`).
    QuickReplyTitleMissing,
    /// A quick reply title longer than 20 characters (`quick_replies.title_too_long`).
    QuickReplyTitleTooLong,
    /// A text quick reply without a payload (`quick_replies.payload_missing`).
    QuickReplyPayloadMissing,
    /// A quick reply payload longer than 1000 characters (`quick_replies.payload_too_long`).
    QuickReplyPayloadTooLong,
    /// Media with neither `url` nor `attachment_id` (`attachment.no_source`).
    AttachmentNoSource,
    /// Media with both `url` and `attachment_id` (`attachment.url_and_id`).
    AttachmentUrlAndId,
    /// A template without elements (`template.no_elements`).
    TemplateNoElements,
    /// Too many template elements: generic > 10, receipt > 100 (`template.too_many_elements`).
    TemplateTooManyElements,
    /// A media template without exactly one element (`template.media_element_count`).
    TemplateMediaElementCount,
    /// A required template text is empty (`template.field_empty`).
    TemplateFieldEmpty,
    /// A generic element title longer than 80 characters (`template.title_too_long`).
    TemplateTitleTooLong,
    /// A generic element subtitle longer than 80 characters (`template.subtitle_too_long`).
    TemplateSubtitleTooLong,
    /// A button template text longer than 640 characters (`template.text_too_long`).
    TemplateTextTooLong,
    /// A button template without buttons (`template.no_buttons`).
    TemplateNoButtons,
    /// More than 3 buttons (`template.too_many_buttons`).
    TemplateTooManyButtons,
    /// A button with an empty title (`button.title_empty`).
    ButtonTitleEmpty,
    /// A button title longer than 20 characters (`button.title_too_long`).
    ButtonTitleTooLong,
    /// A postback payload longer than 1000 characters (`button.payload_too_long`).
    ButtonPayloadTooLong,
    /// Not an absolute URL (`url.invalid`).
    UrlInvalid,
    /// A URL whose scheme is not http or https (`url.scheme`).
    UrlScheme,
    /// A MIME type that is not `type/subtype` (`mime.invalid`).
    MimeInvalid,
    /// A message part with neither `url` nor `data` (`part.no_content`).
    PartNoContent,
    /// A message part with both `url` and `data` (`part.url_and_data`).
    PartUrlAndData,
    /// Inline data of a non-text part that is not base64 (`part.data_not_base64`).
    PartDataNotBase64,
    /// A part larger than its channel's attachment limit: Messenger 25 MB, Instagram 8 MB for an
    /// image and 25 MB for a video or audio clip (`part.too_large`).
    PartTooLarge,
    /// A part's `channels` names an unknown channel (`part.channel_unknown`).
    PartChannelUnknown,
    /// `rules` missing or empty (`rules.empty`).
    RulesEmpty,
    /// `rules` names an unknown channel (`rules.unknown`).
    RulesUnknown,
    /// A channel repeated in `rules` (`rules.repeated`).
    RulesRepeated,
    /// A phone number that is not international format (`phone.invalid`).
    PhoneInvalid,
    /// No channel of `rules` can address `to` (`to.unaddressable`).
    ToUnaddressable,
    /// An id longer than [`crate::limits::ID_MAX_CHARS`] (`field.length`): `to.profileId`,
    /// `to.fbMessengerId`.
    FieldLength,
    /// `expiresOn` that is not RFC 3339 (`expires_on.invalid`).
    ExpiresOnInvalid,
    /// A message tag Meta never had (`tag.unknown`).
    TagUnknown,
    /// A message tag Meta has retired (`tag.retired`).
    TagRetired,
    /// `MESSAGE_TAG` without a tag (`tag.missing`).
    TagMissing,
    /// A tag with a messaging type other than `MESSAGE_TAG` (`tag.requires_message_tag`).
    TagRequiresMessageTag,
    /// A `personaId` that is not a Graph id: 1 to 32 digits (`persona_id.invalid`).
    PersonaIdInvalid,
    /// The 24-hour window is closed and the send is not an accepted tagged one (`window.closed`).
    WindowClosed,
    /// A tag's own window (HUMAN_AGENT: 7 days) has passed (`window.tag_expired`).
    WindowTagExpired,
    /// A `deliveryTimeout` outside 1 to 604800 seconds (`delivery_timeout.range`).
    DeliveryTimeoutRange,
    /// A `deliveryTimeout` with no rule after `fbMessenger` to use when it passes
    /// (`delivery_timeout.no_next_rule`).
    DeliveryTimeoutNoNextRule,
    /// A feature the channel does not offer: a persona or a delivery timeout on Instagram,
    /// Instagram's sticker, post share or several images on Messenger, a media or receipt
    /// template, a call button or a phone/e-mail quick reply on Instagram
    /// (`channel.unsupported`).
    ChannelUnsupported,
    /// A media format the channel does not take (Instagram: png, jpeg, gif images; mp4, ogg,
    /// avi, mov, webm videos; aac, m4a, wav, mp4 audio; pdf files) (`media.type_unsupported`).
    MediaTypeUnsupported,
    /// A message tag Meta accepts on another channel but not on this one (Instagram takes
    /// only `HUMAN_AGENT`) (`tag.not_for_channel`).
    TagNotForChannel,
    /// An entry of Instagram's `attachments` (several in one send) that is not an image
    /// (`attachments.not_image`).
    AttachmentsNotImage,
    /// More violations than the cap; the rest were not listed (`violations.truncated`).
    ViolationsTruncated,
}

impl ViolationCode {
    /// Every code, in the order of the documentation.
    pub const ALL: [ViolationCode; 60] = [
        Self::FieldUnknown,
        Self::FieldType,
        Self::FieldRequired,
        Self::FieldEnum,
        Self::JsonShape,
        Self::ContentMissing,
        Self::ContentMissingForChannel,
        Self::ContentBodyAndParts,
        Self::TextTooLong,
        Self::MessageEmpty,
        Self::MessageTextAndAttachment,
        Self::MessageMetadataTooLong,
        Self::QuickRepliesTooMany,
        Self::QuickReplyTitleMissing,
        Self::QuickReplyTitleTooLong,
        Self::QuickReplyPayloadMissing,
        Self::QuickReplyPayloadTooLong,
        Self::AttachmentNoSource,
        Self::AttachmentUrlAndId,
        Self::TemplateNoElements,
        Self::TemplateTooManyElements,
        Self::TemplateMediaElementCount,
        Self::TemplateFieldEmpty,
        Self::TemplateTitleTooLong,
        Self::TemplateSubtitleTooLong,
        Self::TemplateTextTooLong,
        Self::TemplateNoButtons,
        Self::TemplateTooManyButtons,
        Self::ButtonTitleEmpty,
        Self::ButtonTitleTooLong,
        Self::ButtonPayloadTooLong,
        Self::UrlInvalid,
        Self::UrlScheme,
        Self::MimeInvalid,
        Self::PartNoContent,
        Self::PartUrlAndData,
        Self::PartDataNotBase64,
        Self::PartTooLarge,
        Self::PartChannelUnknown,
        Self::RulesEmpty,
        Self::RulesUnknown,
        Self::RulesRepeated,
        Self::PhoneInvalid,
        Self::ToUnaddressable,
        Self::FieldLength,
        Self::ExpiresOnInvalid,
        Self::TagUnknown,
        Self::TagRetired,
        Self::TagMissing,
        Self::TagRequiresMessageTag,
        Self::PersonaIdInvalid,
        Self::WindowClosed,
        Self::WindowTagExpired,
        Self::DeliveryTimeoutRange,
        Self::DeliveryTimeoutNoNextRule,
        Self::ChannelUnsupported,
        Self::MediaTypeUnsupported,
        Self::TagNotForChannel,
        Self::AttachmentsNotImage,
        Self::ViolationsTruncated,
    ];

    /// The stable string form, e.g. `"text.too_long"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::FieldUnknown => "field.unknown",
            Self::FieldType => "field.type",
            Self::FieldRequired => "field.required",
            Self::FieldEnum => "field.enum",
            Self::JsonShape => "json.shape",
            Self::ContentMissing => "content.missing",
            Self::ContentMissingForChannel => "content.missing_for_channel",
            Self::ContentBodyAndParts => "content.body_and_parts",
            Self::TextTooLong => "text.too_long",
            Self::MessageEmpty => "message.empty",
            Self::MessageTextAndAttachment => "message.text_and_attachment",
            Self::MessageMetadataTooLong => "message.metadata_too_long",
            Self::QuickRepliesTooMany => "quick_replies.too_many",
            Self::QuickReplyTitleMissing => "quick_replies.title_missing",
            Self::QuickReplyTitleTooLong => "quick_replies.title_too_long",
            Self::QuickReplyPayloadMissing => "quick_replies.payload_missing",
            Self::QuickReplyPayloadTooLong => "quick_replies.payload_too_long",
            Self::AttachmentNoSource => "attachment.no_source",
            Self::AttachmentUrlAndId => "attachment.url_and_id",
            Self::TemplateNoElements => "template.no_elements",
            Self::TemplateTooManyElements => "template.too_many_elements",
            Self::TemplateMediaElementCount => "template.media_element_count",
            Self::TemplateFieldEmpty => "template.field_empty",
            Self::TemplateTitleTooLong => "template.title_too_long",
            Self::TemplateSubtitleTooLong => "template.subtitle_too_long",
            Self::TemplateTextTooLong => "template.text_too_long",
            Self::TemplateNoButtons => "template.no_buttons",
            Self::TemplateTooManyButtons => "template.too_many_buttons",
            Self::ButtonTitleEmpty => "button.title_empty",
            Self::ButtonTitleTooLong => "button.title_too_long",
            Self::ButtonPayloadTooLong => "button.payload_too_long",
            Self::UrlInvalid => "url.invalid",
            Self::UrlScheme => "url.scheme",
            Self::MimeInvalid => "mime.invalid",
            Self::PartNoContent => "part.no_content",
            Self::PartUrlAndData => "part.url_and_data",
            Self::PartDataNotBase64 => "part.data_not_base64",
            Self::PartTooLarge => "part.too_large",
            Self::PartChannelUnknown => "part.channel_unknown",
            Self::RulesEmpty => "rules.empty",
            Self::RulesUnknown => "rules.unknown",
            Self::RulesRepeated => "rules.repeated",
            Self::PhoneInvalid => "phone.invalid",
            Self::ToUnaddressable => "to.unaddressable",
            Self::FieldLength => "field.length",
            Self::ExpiresOnInvalid => "expires_on.invalid",
            Self::TagUnknown => "tag.unknown",
            Self::TagRetired => "tag.retired",
            Self::TagMissing => "tag.missing",
            Self::TagRequiresMessageTag => "tag.requires_message_tag",
            Self::PersonaIdInvalid => "persona_id.invalid",
            Self::WindowClosed => "window.closed",
            Self::WindowTagExpired => "window.tag_expired",
            Self::DeliveryTimeoutRange => "delivery_timeout.range",
            Self::DeliveryTimeoutNoNextRule => "delivery_timeout.no_next_rule",
            Self::ChannelUnsupported => "channel.unsupported",
            Self::MediaTypeUnsupported => "media.type_unsupported",
            Self::TagNotForChannel => "tag.not_for_channel",
            Self::AttachmentsNotImage => "attachments.not_image",
            Self::ViolationsTruncated => "violations.truncated",
        }
    }

    /// Parses the string form.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == s)
    }
}

impl fmt::Display for ViolationCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for ViolationCode {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// One broken rule: which rule, where in the request, why, and the offending value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Violation {
    /// The rule.
    pub code: ViolationCode,
    /// RFC 6901 JSON pointer to the offending field (`""` is the whole request), e.g.
    /// `/customBody/fbMessenger/quick_replies/13`.
    pub pointer: String,
    /// What is wrong and how to fix it, in a sentence.
    pub message: String,
    /// The offending value, cut to about 100 characters. Never a secret: requests carry none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.pointer.is_empty() {
            write!(f, "{} (at the root): {}", self.code, self.message)
        } else {
            write!(f, "{} at {}: {}", self.code, self.pointer, self.message)
        }
    }
}

/// Every violation found in one request, in document order (at most
/// [`crate::limits::MAX_VIOLATIONS`], then one `violations.truncated`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
#[serde(transparent)]
pub struct Violations(Vec<Violation>);

impl Violations {
    /// Wraps a list.
    pub fn new(list: Vec<Violation>) -> Self {
        Self(list)
    }

    /// The violations.
    pub fn as_slice(&self) -> &[Violation] {
        &self.0
    }

    /// The violations, owned.
    pub fn into_vec(self) -> Vec<Violation> {
        self.0
    }

    /// Whether any violation has this code.
    pub fn contains(&self, code: ViolationCode) -> bool {
        self.0.iter().any(|v| v.code == code)
    }
}

impl std::ops::Deref for Violations {
    type Target = [Violation];

    fn deref(&self) -> &[Violation] {
        &self.0
    }
}

impl IntoIterator for Violations {
    type Item = Violation;
    type IntoIter = std::vec::IntoIter<Violation>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl<'a> IntoIterator for &'a Violations {
    type Item = &'a Violation;
    type IntoIter = std::slice::Iter<'a, Violation>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

impl From<Vec<Violation>> for Violations {
    fn from(list: Vec<Violation>) -> Self {
        Self(list)
    }
}

impl fmt::Display for Violations {
    /// The count and the first three violations.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.0.len();
        write!(f, "{n} violation{}", if n == 1 { "" } else { "s" })?;
        for (i, v) in self.0.iter().take(3).enumerate() {
            write!(f, "{}{v}", if i == 0 { ": " } else { "; " })?;
        }
        if n > 3 {
            write!(f, "; and {} more", n - 3)?;
        }
        Ok(())
    }
}

impl std::error::Error for Violations {}

/// What validation can fail with. Transport errors (Graph, HTTP) live in other crates; this one
/// only says what is wrong with the input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ValidateError {
    /// The request breaks one or more rules; the source lists them all.
    #[error("invalid request ({} violation{})", .0.len(), if .0.len() == 1 { "" } else { "s" })]
    Invalid(#[source] Violations),
}

impl ValidateError {
    /// The violations.
    pub fn violations(&self) -> &[Violation] {
        match self {
            Self::Invalid(v) => v.as_slice(),
        }
    }

    /// The violations, owned.
    pub fn into_violations(self) -> Violations {
        match self {
            Self::Invalid(v) => v,
        }
    }
}

impl From<Violations> for ValidateError {
    fn from(v: Violations) -> Self {
        Self::Invalid(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_and_parse_back() {
        let mut seen = std::collections::HashSet::new();
        for code in ViolationCode::ALL {
            assert!(seen.insert(code.as_str()), "duplicate {code}");
            assert_eq!(ViolationCode::parse(code.as_str()), Some(code));
        }
        assert_eq!(ViolationCode::parse("nope"), None);
    }

    #[test]
    fn display_lists_the_first_three() {
        let v = |p: &str| Violation {
            code: ViolationCode::TextTooLong,
            pointer: p.into(),
            message: "too long".into(),
            value: None,
        };
        let all = Violations::new(vec![v("/a"), v("/b"), v("/c"), v("/d"), v("")]);
        let s = all.to_string();
        assert!(
            s.starts_with("5 violations: text.too_long at /a: too long;"),
            "{s}"
        );
        assert!(s.ends_with("and 2 more"), "{s}");
        assert_eq!(
            v("").to_string(),
            "text.too_long (at the root): too long".to_string()
        );
        let e = ValidateError::from(Violations::new(vec![v("/a")]));
        assert_eq!(e.to_string(), "invalid request (1 violation)");
        assert!(std::error::Error::source(&e).is_some());
    }
}
