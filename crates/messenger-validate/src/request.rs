//! Rules over a typed send request (docs/design.md §4): content, parts, rules, addressing, the
//! Messenger envelope and tag policy. The custom body goes to [`crate::message`].

use messenger_model::graph::MessagingType;
use messenger_model::{is_text_mime, part_is_for, Channel, MessagePart, SendRequest};

use crate::format::{base64_decoded_len, check_phone, check_url, is_mime_type};
use crate::limits::{ATTACHMENT_MAX_BYTES, TEXT_MAX_CHARS};
use crate::report::{index, longer_than, Report};
use crate::tags::{check_tag_at, tag_missing, tag_needs_message_tag_type, TAG_POINTER};
use crate::{Policy, ViolationCode};

/// Where the messaging type lives in a request.
pub(crate) const TYPE_POINTER: &str = "/channelOptions/fbMessenger/messagingType";
/// Where the persona lives in a request.
pub(crate) const PERSONA_POINTER: &str = "/channelOptions/fbMessenger/personaId";
/// Where the Messenger custom body lives in a request.
pub(crate) const CUSTOM_BODY_POINTER: &str = "/customBody/fbMessenger";

/// Whether Messenger may receive this request's content: it is in `rules`, or `rules` is empty
/// (already a violation; the content is then checked as if it were, to report everything).
fn goes_to_messenger(req: &SendRequest) -> bool {
    req.rules.is_empty() || req.rules.contains(&Channel::FbMessenger)
}

pub(crate) fn check_request(report: &mut Report, req: &SendRequest, policy: &Policy) {
    // In the order of the request's fields (docs/design.md §4).
    check_to(report, req, policy);
    check_content(report, req);
    check_parts(report, req);
    check_messenger_options(report, req);
    if let Some(custom) = req.fb_messenger_custom_body() {
        crate::message::check_message(report, custom, CUSTOM_BODY_POINTER);
    }
    crate::instagram::check_request(report, req);
    check_rules(report, req);
}

fn check_content(report: &mut Report, req: &SendRequest) {
    let custom = req.fb_messenger_custom_body().is_some();
    let parts = !req.message_parts.is_empty();
    let body = req.body.is_some();
    if !custom && !parts && !body && req.instagram_custom_body().is_none() {
        report.push(
            ViolationCode::ContentMissing,
            "",
            "nothing to send: give body, messageParts or a customBody (fbMessenger, instagram)",
            None,
        );
        return;
    }
    if body && parts {
        report.push(
            ViolationCode::ContentBodyAndParts,
            "/body",
            "body and messageParts cannot be used together: put the text in a text/plain part, \
             or drop the parts",
            None,
        );
    }
    for (i, channel) in req.rules.iter().enumerate() {
        let has = match channel {
            Channel::FbMessenger => {
                custom
                    || body
                    || req
                        .message_parts
                        .iter()
                        .any(|p| part_is_for(p, Channel::FbMessenger))
            }
            Channel::Sms => {
                body || req
                    .message_parts
                    .iter()
                    .any(|p| part_is_for(p, Channel::Sms))
            }
            Channel::Instagram => {
                req.instagram_custom_body().is_some()
                    || body
                    || req
                        .message_parts
                        .iter()
                        .any(|p| part_is_for(p, Channel::Instagram))
            }
        };
        if !has {
            let what = match channel {
                Channel::FbMessenger => {
                    "body, a messageParts entry for it or customBody.fbMessenger"
                }
                Channel::Sms => {
                    "body or a messageParts entry for it (customBody.fbMessenger is \
                                 Messenger's only)"
                }
                Channel::Instagram => "body, a messageParts entry for it or customBody.instagram",
            };
            report.push(
                ViolationCode::ContentMissingForChannel,
                index("/rules", i),
                format!("nothing to send on {channel}: give {what}"),
                Some(channel.as_str()),
            );
        }
    }
    if let Some(text) = &req.body {
        if !custom && goes_to_messenger(req) && longer_than(text, TEXT_MAX_CHARS) {
            report.push(
                ViolationCode::TextTooLong,
                "/body",
                format!(
                    "body is sent to Messenger as text, which takes at most {TEXT_MAX_CHARS} \
                     characters"
                ),
                Some(text),
            );
        }
    }
}

fn check_parts(report: &mut Report, req: &SendRequest) {
    let messenger = goes_to_messenger(req) && req.fb_messenger_custom_body().is_none();
    for (i, part) in req.message_parts.iter().enumerate() {
        if report.is_full() {
            return report.mark_truncated();
        }
        check_part(report, &index("/messageParts", i), part, messenger);
    }
}

fn check_part(report: &mut Report, at: &str, part: &MessagePart, messenger_gets_parts: bool) {
    let for_messenger = messenger_gets_parts && part_is_for(part, Channel::FbMessenger);
    let text = is_text_mime(&part.mime_type);
    if !is_mime_type(&part.mime_type) {
        report.push(
            ViolationCode::MimeInvalid,
            format!("{at}/type"),
            "not a MIME type: expected type/subtype, e.g. text/plain or image/png",
            Some(&part.mime_type),
        );
    }
    match (&part.url, &part.data) {
        (None, None) => report.push(
            ViolationCode::PartNoContent,
            at,
            "a message part needs url or data",
            None,
        ),
        (Some(_), Some(_)) => report.push(
            ViolationCode::PartUrlAndData,
            at,
            "a message part takes url or data, not both",
            None,
        ),
        (Some(url), None) => check_url(report, format!("{at}/url"), url),
        (None, Some(data)) if text => {
            if for_messenger && longer_than(data, TEXT_MAX_CHARS) {
                report.push(
                    ViolationCode::TextTooLong,
                    format!("{at}/data"),
                    format!(
                        "a text part is sent to Messenger as text, which takes at most \
                         {TEXT_MAX_CHARS} characters"
                    ),
                    Some(data),
                );
            }
        }
        (None, Some(data)) => match base64_decoded_len(data) {
            None => report.push(
                ViolationCode::PartDataNotBase64,
                format!("{at}/data"),
                "inline data of a non-text part must be base64 (standard alphabet, padded, no \
                 line breaks, no data: prefix)",
                Some(data),
            ),
            Some(size) if for_messenger && size > ATTACHMENT_MAX_BYTES => {
                too_large(report, format!("{at}/data"), size)
            }
            Some(_) => {}
        },
    }
    if let Some(size) = part.size {
        if for_messenger && !text && size > ATTACHMENT_MAX_BYTES {
            too_large(report, format!("{at}/size"), size);
        }
    }
}

fn too_large(report: &mut Report, pointer: String, size: u64) {
    report.push(
        ViolationCode::PartTooLarge,
        pointer,
        format!(
            "the part is {size} bytes; Messenger takes attachments up to {ATTACHMENT_MAX_BYTES} \
             bytes (25 MB)"
        ),
        Some(&size.to_string()),
    );
}

fn check_rules(report: &mut Report, req: &SendRequest) {
    if req.rules.is_empty() {
        report.push(
            ViolationCode::RulesEmpty,
            "/rules",
            "rules is missing or empty: list the channels to try, in order, e.g. \
             [\"fbMessenger\", \"sms\"]",
            None,
        );
        return;
    }
    for (i, channel) in req.rules.iter().enumerate() {
        if req.rules[..i].contains(channel) {
            report.push(
                ViolationCode::RulesRepeated,
                index("/rules", i),
                format!("{channel} is already in rules; each channel is tried once"),
                Some(channel.as_str()),
            );
        }
    }
}

fn non_empty(s: &Option<String>) -> bool {
    s.as_deref().is_some_and(|s| !s.trim().is_empty())
}

fn check_to(report: &mut Report, req: &SendRequest, policy: &Policy) {
    let to = &req.to;
    if let Some(n) = &to.phone_number {
        check_phone(report, "/to/phoneNumber", n, false);
    }
    if let Some(n) = &to.mobile_number {
        check_phone(report, "/to/mobileNumber", n, false);
    }
    for (pointer, id) in [
        ("/to/profileId", &to.profile_id),
        ("/to/fbMessengerId", &to.fb_messenger_id),
    ] {
        if let Some(Err(v)) = id.as_deref().map(|id| crate::check_id_at(id, pointer)) {
            report.add(v);
        }
    }
    if req.rules.is_empty() {
        return;
    }
    let profile = non_empty(&to.profile_id);
    let reachable = req.rules.iter().any(|c| match c {
        Channel::FbMessenger => {
            profile
                || non_empty(&to.fb_messenger_id)
                || (policy.customer_matching && non_empty(&to.phone_number))
        }
        Channel::Sms => profile || non_empty(&to.phone_number) || non_empty(&to.mobile_number),
        Channel::Instagram => profile || non_empty(&to.instagram_id) || non_empty(&to.comment_id),
    });
    if !reachable {
        let matching = if non_empty(&to.phone_number) && req.rules.contains(&Channel::FbMessenger) {
            " (sending to Messenger by phone number needs customer matching, which Meta has \
             suspended and this space has not enabled)"
        } else {
            ""
        };
        report.push(
            ViolationCode::ToUnaddressable,
            "/to",
            format!(
                "no channel in rules can reach this recipient{matching}: give profileId, \
                 fbMessengerId (Messenger), instagramId (Instagram, which has no phone-number \
                 matching), or phoneNumber / mobileNumber (SMS)"
            ),
            None,
        );
    }
}

fn check_messenger_options(report: &mut Report, req: &SendRequest) {
    let Some(opts) = req.fb_messenger_options() else {
        return;
    };
    let tag = opts.message_tag.as_deref();
    match (opts.messaging_type, tag) {
        (Some(MessagingType::MessageTag), None) | (_, Some("")) => report.add(tag_missing()),
        (Some(kind @ (MessagingType::Response | MessagingType::Update)), Some(_)) => {
            tag_needs_message_tag_type(report, kind, TYPE_POINTER);
        }
        _ => {}
    }
    if let Some(tag) = tag.filter(|t| !t.is_empty()) {
        if let Err(v) = check_tag_at(tag, TAG_POINTER) {
            report.add(v);
        }
    }
    if let Some(persona) = opts.persona_id.as_deref() {
        if let Err(v) = crate::persona::check_persona_id_at(persona, PERSONA_POINTER) {
            report.add(v);
        }
    }
    if let Some(secs) = opts.delivery_timeout {
        crate::deadline::check_delivery_timeout(report, req, Channel::FbMessenger, secs);
    }
}
