//! Rules over a Graph `message` object, the way Graph applies them: text, quick replies, media
//! attachments, templates and buttons.

use messenger_model::graph::{
    Attachment, Button, ButtonTemplate, GenericTemplate, MediaTemplate, Message, QuickReply,
    QuickReplyContentType, ReceiptTemplate, Template,
};
use serde_json::Value;

use crate::format::{check_phone, check_url};
use crate::limits::{
    BUTTONS_MAX, BUTTON_TEMPLATE_MIN_BUTTONS, BUTTON_TEMPLATE_TEXT_MAX_CHARS,
    BUTTON_TITLE_MAX_CHARS, GENERIC_ELEMENTS_MAX, GENERIC_SUBTITLE_MAX_CHARS,
    GENERIC_TITLE_MAX_CHARS, MEDIA_TEMPLATE_ELEMENTS, MESSAGE_METADATA_MAX_CHARS,
    POSTBACK_PAYLOAD_MAX_CHARS, QUICK_REPLIES_MAX, QUICK_REPLY_PAYLOAD_MAX_CHARS,
    QUICK_REPLY_TITLE_MAX_CHARS, RECEIPT_ELEMENTS_MAX, TEXT_MAX_CHARS,
};
use crate::report::{index, longer_than, Report};
use crate::ViolationCode;

pub(crate) fn check_message(report: &mut Report, msg: &Message, at: &str) {
    match (&msg.text, &msg.attachment) {
        (None, None) => report.push(
            ViolationCode::MessageEmpty,
            at,
            "a Messenger message needs text or attachment",
            None,
        ),
        (Some(_), Some(_)) => report.push(
            ViolationCode::MessageTextAndAttachment,
            at,
            "a Messenger message takes text or attachment, not both",
            None,
        ),
        _ => {}
    }
    if let Some(text) = &msg.text {
        if longer_than(text, TEXT_MAX_CHARS) {
            report.push(
                ViolationCode::TextTooLong,
                format!("{at}/text"),
                format!("Messenger text takes at most {TEXT_MAX_CHARS} characters"),
                Some(text),
            );
        }
    }
    if !msg.attachments.is_empty() {
        report.push(
            ViolationCode::ChannelUnsupported,
            format!("{at}/attachments"),
            "several attachments in one send are Instagram's only: send each on Messenger as \
             its own message (one messageParts entry each)",
            None,
        );
    }
    if let Some(attachment) = &msg.attachment {
        let at = format!("{at}/attachment");
        match attachment {
            Attachment::Template(t) => check_template(report, t, &format!("{at}/payload")),
            Attachment::LikeHeart | Attachment::MediaShare(_) => report.push(
                ViolationCode::ChannelUnsupported,
                format!("{at}/type"),
                format!(
                    "attachment type {} is Instagram's only; Messenger takes image, audio, \
                     video, file and template",
                    attachment.type_name()
                ),
                Some(attachment.type_name()),
            ),
            media => {
                if let Some(p) = media.media_payload() {
                    let at = format!("{at}/payload");
                    check_source(report, p.url.as_deref(), p.attachment_id.as_deref(), &at);
                }
            }
        }
    }
    check_quick_replies(report, &msg.quick_replies, &format!("{at}/quick_replies"));
    if let Some(meta) = &msg.metadata {
        if longer_than(meta, MESSAGE_METADATA_MAX_CHARS) {
            report.push(
                ViolationCode::MessageMetadataTooLong,
                format!("{at}/metadata"),
                format!("message metadata takes at most {MESSAGE_METADATA_MAX_CHARS} characters"),
                Some(meta),
            );
        }
    }
}

/// More than `max` quick replies at `at` (the channel's limit).
pub(crate) fn check_quick_reply_count(
    report: &mut Report,
    count: usize,
    at: &str,
    max: usize,
    channel: &str,
) {
    if count > max {
        report.push(
            ViolationCode::QuickRepliesTooMany,
            index(at, max),
            format!("{count} quick replies; {channel} takes at most {max}"),
            None,
        );
    }
}

fn check_quick_replies(report: &mut Report, replies: &[QuickReply], at: &str) {
    check_quick_reply_count(report, replies.len(), at, QUICK_REPLIES_MAX, "Messenger");
    for (i, qr) in replies.iter().enumerate() {
        if report.is_full() {
            return report.mark_truncated();
        }
        let at = index(at, i);
        let text = qr.content_type == QuickReplyContentType::Text;
        match &qr.title {
            Some(t) if longer_than(t, QUICK_REPLY_TITLE_MAX_CHARS) => report.push(
                ViolationCode::QuickReplyTitleTooLong,
                format!("{at}/title"),
                format!(
                    "a quick reply title takes at most {QUICK_REPLY_TITLE_MAX_CHARS} characters"
                ),
                Some(t),
            ),
            Some(t) if text && t.is_empty() => title_missing(report, &at),
            None if text => title_missing(report, &at),
            _ => {}
        }
        match &qr.payload {
            Some(p) if longer_than(p, QUICK_REPLY_PAYLOAD_MAX_CHARS) => report.push(
                ViolationCode::QuickReplyPayloadTooLong,
                format!("{at}/payload"),
                format!(
                    "a quick reply payload takes at most {QUICK_REPLY_PAYLOAD_MAX_CHARS} characters"
                ),
                Some(p),
            ),
            None if text => report.push(
                ViolationCode::QuickReplyPayloadMissing,
                format!("{at}/payload"),
                "a text quick reply needs a payload (it comes back in the webhook)",
                None,
            ),
            _ => {}
        }
        if let Some(url) = &qr.image_url {
            check_url(report, format!("{at}/image_url"), url);
        }
    }
}

fn title_missing(report: &mut Report, at: &str) {
    report.push(
        ViolationCode::QuickReplyTitleMissing,
        format!("{at}/title"),
        "a text quick reply needs a title",
        None,
    );
}

/// Media by `url` xor `attachment_id`.
pub(crate) fn check_source(report: &mut Report, url: Option<&str>, id: Option<&str>, at: &str) {
    match (url, id) {
        (None, None) => report.push(
            ViolationCode::AttachmentNoSource,
            at,
            "media needs url or attachment_id",
            None,
        ),
        (Some(_), Some(_)) => report.push(
            ViolationCode::AttachmentUrlAndId,
            at,
            "media takes url or attachment_id, not both",
            None,
        ),
        (Some(url), None) => check_url(report, format!("{at}/url"), url),
        (None, Some(_)) => {}
    }
}

fn check_template(report: &mut Report, t: &Template, at: &str) {
    match t {
        Template::Generic(g) => check_generic(report, g, at),
        Template::Button(b) => check_button_template(report, b, at),
        Template::Media(m) => check_media_template(report, m, at),
        Template::Receipt(r) => check_receipt(report, r, at),
    }
}

pub(crate) fn field_empty(report: &mut Report, at: String, what: &str) {
    report.push(
        ViolationCode::TemplateFieldEmpty,
        at,
        format!("{what} must not be empty"),
        None,
    );
}

fn too_many_elements(report: &mut Report, at: &str, n: usize, max: usize, kind: &str) {
    report.push(
        ViolationCode::TemplateTooManyElements,
        index(at, max),
        format!("{n} elements; a {kind} template takes at most {max}"),
        None,
    );
}

fn check_generic(report: &mut Report, g: &GenericTemplate, at: &str) {
    let at = format!("{at}/elements");
    if g.elements.is_empty() {
        report.push(
            ViolationCode::TemplateNoElements,
            at.as_str(),
            "a generic template needs at least one element",
            None,
        );
    } else if g.elements.len() > GENERIC_ELEMENTS_MAX {
        too_many_elements(
            report,
            &at,
            g.elements.len(),
            GENERIC_ELEMENTS_MAX,
            "generic",
        );
    }
    for (i, e) in g.elements.iter().enumerate() {
        if report.is_full() {
            return report.mark_truncated();
        }
        let at = index(&at, i);
        if e.title.trim().is_empty() {
            field_empty(report, format!("{at}/title"), "a generic element title");
        } else if longer_than(&e.title, GENERIC_TITLE_MAX_CHARS) {
            report.push(
                ViolationCode::TemplateTitleTooLong,
                format!("{at}/title"),
                format!(
                    "a generic element title takes at most {GENERIC_TITLE_MAX_CHARS} characters"
                ),
                Some(&e.title),
            );
        }
        if let Some(s) = &e.subtitle {
            if longer_than(s, GENERIC_SUBTITLE_MAX_CHARS) {
                report.push(
                    ViolationCode::TemplateSubtitleTooLong,
                    format!("{at}/subtitle"),
                    format!(
                        "a generic element subtitle takes at most {GENERIC_SUBTITLE_MAX_CHARS} \
                         characters"
                    ),
                    Some(s),
                );
            }
        }
        if let Some(url) = &e.image_url {
            check_url(report, format!("{at}/image_url"), url);
        }
        if let Some(Value::String(url)) = e.default_action.as_ref().and_then(|a| a.get("url")) {
            check_url(report, format!("{at}/default_action/url"), url);
        }
        check_buttons(report, &e.buttons, &format!("{at}/buttons"), 0);
    }
}

fn check_button_template(report: &mut Report, b: &ButtonTemplate, at: &str) {
    if b.text.trim().is_empty() {
        field_empty(report, format!("{at}/text"), "a button template's text");
    } else if longer_than(&b.text, BUTTON_TEMPLATE_TEXT_MAX_CHARS) {
        report.push(
            ViolationCode::TemplateTextTooLong,
            format!("{at}/text"),
            format!(
                "a button template's text takes at most {BUTTON_TEMPLATE_TEXT_MAX_CHARS} characters"
            ),
            Some(&b.text),
        );
    }
    check_buttons(
        report,
        &b.buttons,
        &format!("{at}/buttons"),
        BUTTON_TEMPLATE_MIN_BUTTONS,
    );
}

fn check_media_template(report: &mut Report, m: &MediaTemplate, at: &str) {
    let at = format!("{at}/elements");
    if m.elements.len() != MEDIA_TEMPLATE_ELEMENTS {
        report.push(
            ViolationCode::TemplateMediaElementCount,
            at.as_str(),
            format!(
                "{} elements; a media template takes exactly {MEDIA_TEMPLATE_ELEMENTS}",
                m.elements.len()
            ),
            None,
        );
    }
    for (i, e) in m.elements.iter().enumerate().take(MEDIA_TEMPLATE_ELEMENTS) {
        let at = index(&at, i);
        if !matches!(e.media_type.as_str(), "image" | "video") {
            report.push(
                ViolationCode::FieldEnum,
                format!("{at}/media_type"),
                "media_type must be image or video",
                Some(&e.media_type),
            );
        }
        check_source(report, e.url.as_deref(), e.attachment_id.as_deref(), &at);
        check_buttons(report, &e.buttons, &format!("{at}/buttons"), 0);
    }
}

fn check_receipt(report: &mut Report, r: &ReceiptTemplate, at: &str) {
    for (name, value) in [
        ("recipient_name", &r.recipient_name),
        ("order_number", &r.order_number),
        ("currency", &r.currency),
        ("payment_method", &r.payment_method),
    ] {
        if value.trim().is_empty() {
            field_empty(
                report,
                format!("{at}/{name}"),
                &format!("a receipt's {name}"),
            );
        }
    }
    if let Some(url) = &r.order_url {
        check_url(report, format!("{at}/order_url"), url);
    }
    let at_el = format!("{at}/elements");
    if r.elements.len() > RECEIPT_ELEMENTS_MAX {
        too_many_elements(
            report,
            &at_el,
            r.elements.len(),
            RECEIPT_ELEMENTS_MAX,
            "receipt",
        );
    }
    for (i, e) in r.elements.iter().enumerate() {
        if report.is_full() {
            return report.mark_truncated();
        }
        let at = index(&at_el, i);
        if e.title.trim().is_empty() {
            field_empty(report, format!("{at}/title"), "a receipt element title");
        }
        if let Some(url) = &e.image_url {
            check_url(report, format!("{at}/image_url"), url);
        }
    }
}

fn check_buttons(report: &mut Report, buttons: &[Button], at: &str, min: usize) {
    if buttons.len() < min {
        report.push(
            ViolationCode::TemplateNoButtons,
            at,
            format!("a button template needs {min} to {BUTTONS_MAX} buttons"),
            None,
        );
    } else if buttons.len() > BUTTONS_MAX {
        report.push(
            ViolationCode::TemplateTooManyButtons,
            index(at, BUTTONS_MAX),
            format!(
                "{} buttons; at most {BUTTONS_MAX} are allowed",
                buttons.len()
            ),
            None,
        );
    }
    for (i, b) in buttons.iter().enumerate() {
        if report.is_full() {
            return report.mark_truncated();
        }
        check_button(report, b, &index(at, i));
    }
}

fn check_button(report: &mut Report, b: &Button, at: &str) {
    let title = b.title();
    if title.trim().is_empty() {
        report.push(
            ViolationCode::ButtonTitleEmpty,
            format!("{at}/title"),
            "a button needs a title",
            None,
        );
    } else if longer_than(title, BUTTON_TITLE_MAX_CHARS) {
        report.push(
            ViolationCode::ButtonTitleTooLong,
            format!("{at}/title"),
            format!("a button title takes at most {BUTTON_TITLE_MAX_CHARS} characters"),
            Some(title),
        );
    }
    match b {
        Button::WebUrl { url, .. } => check_url(report, format!("{at}/url"), url),
        Button::Postback { payload, .. } => {
            if longer_than(payload, POSTBACK_PAYLOAD_MAX_CHARS) {
                report.push(
                    ViolationCode::ButtonPayloadTooLong,
                    format!("{at}/payload"),
                    format!(
                        "a postback payload takes at most {POSTBACK_PAYLOAD_MAX_CHARS} characters"
                    ),
                    Some(payload),
                );
            }
        }
        Button::PhoneNumber { payload, .. } => {
            check_phone(report, format!("{at}/payload"), payload, true)
        }
    }
}
