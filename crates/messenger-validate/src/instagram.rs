//! Instagram Direct's rules over a typed send request and a Graph `message` for Instagram:
//! text in bytes, text-only quick replies, the generic and button templates, media types and
//! sizes, the `like_heart` sticker, several images in one send, `MEDIA_SHARE`, and
//! `HUMAN_AGENT` as the only tag. The limits are in [`crate::limits`], the tags in
//! [`crate::tags`].

use messenger_model::graph::{
    Attachment, Button, Message, MessagingType, QuickReply, QuickReplyContentType, Template,
};
use messenger_model::{is_text_mime, part_is_for, Channel, MessagePart, SendRequest};

use crate::format::{base64_decoded_len, check_url};
use crate::limits::{
    INSTAGRAM_BUTTON_TEMPLATE_MAX_BUTTONS, INSTAGRAM_IMAGE_MAX_BYTES, INSTAGRAM_MEDIA_TYPES,
    INSTAGRAM_QUICK_REPLIES_MAX, INSTAGRAM_QUICK_REPLY_TITLE_MAX_CHARS, INSTAGRAM_TEXT_MAX_BYTES,
    INSTAGRAM_VIDEO_AUDIO_MAX_BYTES,
};
use crate::message::{check_quick_reply_count, check_source, field_empty};
use crate::report::{index, longer_than, Report};
use crate::tags::{check_instagram_tag_at, tag_needs_message_tag_type, INSTAGRAM_TAG_POINTER};
use crate::ViolationCode;

/// Where Instagram's messaging type lives in a request.
const TYPE_POINTER: &str = "/channelOptions/instagram/messagingType";
/// Where the Instagram custom body lives in a request.
pub(crate) const CUSTOM_BODY_POINTER: &str = "/customBody/instagram";

/// Instagram's rules over a request whose `rules` include `instagram`.
pub(crate) fn check_request(report: &mut Report, req: &SendRequest) {
    if !req.rules.contains(&Channel::Instagram) {
        return;
    }
    let custom = req.instagram_custom_body();
    if custom.is_none() {
        if let Some(body) = &req.body {
            text_bytes(report, "/body", body, "body is sent to Instagram as text");
        }
        for (i, part) in req.message_parts.iter().enumerate() {
            if report.is_full() {
                return report.mark_truncated();
            }
            if part_is_for(part, Channel::Instagram) {
                check_part(report, &index("/messageParts", i), part);
            }
        }
    }
    check_options(report, req);
    if let Some(msg) = custom {
        check_message(report, msg, CUSTOM_BODY_POINTER);
    }
}

fn text_bytes(report: &mut Report, at: &str, text: &str, what: &str) {
    if text.len() > INSTAGRAM_TEXT_MAX_BYTES {
        report.push(
            ViolationCode::TextTooLong,
            at,
            format!(
                "{what}, which takes at most {INSTAGRAM_TEXT_MAX_BYTES} bytes of UTF-8 (not \
                 characters: this text is {} bytes)",
                text.len()
            ),
            Some(text),
        );
    }
}

/// The kind of attachment (`image`, `video`, `audio`, `file`) Instagram sends a MIME type as,
/// or `None` when Instagram does not take the type.
pub(crate) fn media_kind(mime_type: &str) -> Option<&'static str> {
    let mime = mime_type.split(';').next().unwrap_or("").trim();
    INSTAGRAM_MEDIA_TYPES
        .iter()
        .find(|(_, types)| types.iter().any(|t| t.eq_ignore_ascii_case(mime)))
        .map(|(kind, _)| *kind)
}

fn check_part(report: &mut Report, at: &str, part: &MessagePart) {
    if is_text_mime(&part.mime_type) {
        if let (None, Some(data)) = (&part.url, &part.data) {
            text_bytes(
                report,
                &format!("{at}/data"),
                data,
                "a text part is sent to Instagram as text",
            );
        }
        return;
    }
    let Some(kind) = media_kind(&part.mime_type) else {
        let accepted: Vec<&str> = INSTAGRAM_MEDIA_TYPES
            .iter()
            .flat_map(|(_, t)| t.iter().copied())
            .collect();
        return report.push(
            ViolationCode::MediaTypeUnsupported,
            format!("{at}/type"),
            format!(
                "Instagram does not take {} media; it takes {}",
                part.mime_type,
                accepted.join(", ")
            ),
            Some(&part.mime_type),
        );
    };
    let max = match kind {
        "image" => Some(INSTAGRAM_IMAGE_MAX_BYTES),
        "video" | "audio" => Some(INSTAGRAM_VIDEO_AUDIO_MAX_BYTES),
        // The reference gives no size for Instagram's PDF files.
        _ => None,
    };
    let Some(max) = max else { return };
    let inline = part.data.as_deref().and_then(base64_decoded_len);
    for (pointer, size) in [("data", inline), ("size", part.size)] {
        if let Some(size) = size.filter(|s| *s > max) {
            report.push(
                ViolationCode::PartTooLarge,
                format!("{at}/{pointer}"),
                format!(
                    "the part is {size} bytes; Instagram takes {kind} attachments up to {max} \
                     bytes ({} MB)",
                    max / (1024 * 1024)
                ),
                Some(&size.to_string()),
            );
        }
    }
}

fn check_options(report: &mut Report, req: &SendRequest) {
    for (id, pointer) in [
        (req.to.instagram_id.as_deref(), "/to/instagramId"),
        (req.to.comment_id.as_deref(), "/to/commentId"),
        (
            req.to.instagram_account_id.as_deref(),
            "/to/instagramAccountId",
        ),
    ] {
        if let Some(Err(v)) = id.map(|id| crate::check_id_at(id, pointer)) {
            report.add(v);
        }
    }
    let Some(opts) = req.instagram_options() else {
        return;
    };
    let tag = opts.message_tag.as_deref();
    match (opts.messaging_type, tag) {
        (Some(MessagingType::MessageTag), None) | (_, Some("")) => report.push(
            ViolationCode::TagMissing,
            INSTAGRAM_TAG_POINTER,
            "messagingType MESSAGE_TAG needs a messageTag (Instagram accepts HUMAN_AGENT: a \
             person replying within 7 days of the user's last message)",
            None,
        ),
        (Some(kind @ (MessagingType::Response | MessagingType::Update)), Some(_)) => {
            tag_needs_message_tag_type(report, kind, TYPE_POINTER);
        }
        _ => {}
    }
    if let Some(tag) = tag.filter(|t| !t.is_empty()) {
        if let Err(v) = check_instagram_tag_at(tag, INSTAGRAM_TAG_POINTER) {
            report.add(v);
        }
    }
    if let Some(secs) = opts.delivery_timeout {
        // Instagram has no delivery receipts: the wait ends with a read.
        crate::deadline::check_delivery_timeout(report, req, Channel::Instagram, secs);
    }
}

fn unsupported(report: &mut Report, at: String, message: String, value: Option<&str>) {
    report.push(ViolationCode::ChannelUnsupported, at, message, value);
}

/// Checks a Graph `message` object the way Instagram takes it.
pub(crate) fn check_message(report: &mut Report, msg: &Message, at: &str) {
    let several = !msg.attachments.is_empty();
    let kinds = [msg.text.is_some(), msg.attachment.is_some(), several];
    match kinds.iter().filter(|k| **k).count() {
        0 => report.push(
            ViolationCode::MessageEmpty,
            at,
            "an Instagram message needs text, attachment or attachments",
            None,
        ),
        1 => {}
        _ => report.push(
            ViolationCode::MessageTextAndAttachment,
            at,
            "an Instagram message takes one of text, attachment or attachments",
            None,
        ),
    }
    if let Some(text) = &msg.text {
        text_bytes(report, &format!("{at}/text"), text, "Instagram text");
    }
    if let Some(attachment) = &msg.attachment {
        check_attachment(report, attachment, &format!("{at}/attachment"));
    }
    let list = format!("{at}/attachments");
    for (i, a) in msg.attachments.iter().enumerate() {
        if report.is_full() {
            return report.mark_truncated();
        }
        let at = index(&list, i);
        match a {
            Attachment::Image(p) => check_source(
                report,
                p.url.as_deref(),
                p.attachment_id.as_deref(),
                &format!("{at}/payload"),
            ),
            other => report.push(
                ViolationCode::AttachmentsNotImage,
                format!("{at}/type"),
                format!(
                    "several attachments in one send must all be images, not {}: send it as \
                     its own message",
                    other.type_name()
                ),
                Some(other.type_name()),
            ),
        }
    }
    check_quick_replies(report, &msg.quick_replies, &format!("{at}/quick_replies"));
}

fn check_attachment(report: &mut Report, a: &Attachment, at: &str) {
    let payload = format!("{at}/payload");
    match a {
        Attachment::Image(p)
        | Attachment::Video(p)
        | Attachment::Audio(p)
        | Attachment::File(p) => check_source(
            report,
            p.url.as_deref(),
            p.attachment_id.as_deref(),
            &payload,
        ),
        Attachment::LikeHeart => {}
        Attachment::MediaShare(share) => {
            if share.id.trim().is_empty() {
                report.push(
                    ViolationCode::FieldRequired,
                    format!("{payload}/id"),
                    "MEDIA_SHARE needs the id of a post of the business's own Instagram account",
                    None,
                );
            } else if let Err(v) = crate::check_id_at(&share.id, &format!("{payload}/id")) {
                report.add(v);
            }
        }
        Attachment::Template(Template::Generic(g)) => {
            let at = format!("{payload}/elements");
            if g.elements.is_empty() {
                report.push(
                    ViolationCode::TemplateNoElements,
                    at.as_str(),
                    "a generic template (carousel) needs at least one element",
                    None,
                );
            }
            for (i, e) in g.elements.iter().enumerate() {
                if report.is_full() {
                    return report.mark_truncated();
                }
                let at = index(&at, i);
                if e.title.trim().is_empty() {
                    field_empty(report, format!("{at}/title"), "a generic element title");
                }
                if let Some(url) = &e.image_url {
                    check_url(report, format!("{at}/image_url"), url);
                }
                if let Some(url) = e
                    .default_action
                    .as_ref()
                    .and_then(|a| a.get("url"))
                    .and_then(|u| u.as_str())
                {
                    check_url(report, format!("{at}/default_action/url"), url);
                }
                check_buttons(report, &e.buttons, &format!("{at}/buttons"));
            }
        }
        Attachment::Template(Template::Button(b)) => {
            if b.text.trim().is_empty() {
                field_empty(
                    report,
                    format!("{payload}/text"),
                    "a button template's text",
                );
            }
            let at = format!("{payload}/buttons");
            if b.buttons.is_empty() {
                report.push(
                    ViolationCode::TemplateNoButtons,
                    at.as_str(),
                    format!(
                        "an Instagram button template needs 1 to \
                         {INSTAGRAM_BUTTON_TEMPLATE_MAX_BUTTONS} buttons"
                    ),
                    None,
                );
            } else if b.buttons.len() > INSTAGRAM_BUTTON_TEMPLATE_MAX_BUTTONS {
                report.push(
                    ViolationCode::TemplateTooManyButtons,
                    index(&at, INSTAGRAM_BUTTON_TEMPLATE_MAX_BUTTONS),
                    format!(
                        "{} buttons; an Instagram button template takes at most \
                         {INSTAGRAM_BUTTON_TEMPLATE_MAX_BUTTONS}",
                        b.buttons.len()
                    ),
                    None,
                );
            }
            check_buttons(report, &b.buttons, &at);
        }
        Attachment::Template(t) => {
            let kind = match t {
                Template::Media(_) => "media",
                Template::Receipt(_) => "receipt",
                _ => "this",
            };
            unsupported(
                report,
                format!("{payload}/template_type"),
                format!(
                    "Instagram has no {kind} template; it takes the generic (carousel) and \
                     button templates"
                ),
                Some(kind),
            );
        }
    }
}

/// Instagram's template buttons: `web_url` and `postback` only, each with a title. The
/// reference gives no title or payload length for Instagram, so none is applied.
fn check_buttons(report: &mut Report, buttons: &[Button], at: &str) {
    for (i, b) in buttons.iter().enumerate() {
        if report.is_full() {
            return report.mark_truncated();
        }
        let at = index(at, i);
        if b.title().trim().is_empty() {
            report.push(
                ViolationCode::ButtonTitleEmpty,
                format!("{at}/title"),
                "a button needs a title",
                None,
            );
        }
        match b {
            Button::WebUrl { url, .. } => check_url(report, format!("{at}/url"), url),
            Button::Postback { .. } => {}
            Button::PhoneNumber { .. } => unsupported(
                report,
                format!("{at}/type"),
                "Instagram has no call button; it takes web_url and postback buttons".into(),
                Some("phone_number"),
            ),
        }
    }
}

fn check_quick_replies(report: &mut Report, replies: &[QuickReply], at: &str) {
    check_quick_reply_count(
        report,
        replies.len(),
        at,
        INSTAGRAM_QUICK_REPLIES_MAX,
        "Instagram",
    );
    for (i, qr) in replies.iter().enumerate() {
        if report.is_full() {
            return report.mark_truncated();
        }
        let at = index(at, i);
        if qr.content_type != QuickReplyContentType::Text {
            unsupported(
                report,
                format!("{at}/content_type"),
                "Instagram's quick replies are text only (its phone-number and e-mail quick \
                 replies were disabled on 2026-10-05)"
                    .into(),
                None,
            );
            continue;
        }
        match qr.title.as_deref() {
            None | Some("") => report.push(
                ViolationCode::QuickReplyTitleMissing,
                format!("{at}/title"),
                "a text quick reply needs a title",
                None,
            ),
            Some(t) if longer_than(t, INSTAGRAM_QUICK_REPLY_TITLE_MAX_CHARS) => report.push(
                ViolationCode::QuickReplyTitleTooLong,
                format!("{at}/title"),
                format!(
                    "an Instagram quick reply title takes at most \
                     {INSTAGRAM_QUICK_REPLY_TITLE_MAX_CHARS} characters"
                ),
                Some(t),
            ),
            Some(_) => {}
        }
        if qr.payload.as_deref().is_none_or(str::is_empty) {
            report.push(
                ViolationCode::QuickReplyPayloadMissing,
                format!("{at}/payload"),
                "a text quick reply needs a payload (returned in the webhook when tapped)",
                None,
            );
        }
    }
}
