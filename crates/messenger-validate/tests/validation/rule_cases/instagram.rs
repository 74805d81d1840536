//! Instagram Direct's cases: for each rule of the channel, a minimal input that breaks it and
//! the nearest input that does not.

use serde_json::{json, Value};

use super::{case, patched, r, Case, DEL};

/// A valid request to an Instagram user, with top-level fields replaced (or deleted).
pub(crate) fn ig(patch: Value) -> Value {
    patched(
        r(json!({"to": {"instagramId": "IGSID-1"}, "rules": ["instagram"]})),
        patch,
    )
}

/// An Instagram request whose custom body is `message`.
pub(crate) fn igcb(message: Value) -> Value {
    ig(json!({"customBody": {"instagram": message}}))
}

pub(crate) fn ig_options(options: Value) -> Value {
    ig(json!({"channelOptions": {"instagram": options}}))
}

pub(crate) fn ig_part(part: Value) -> Value {
    ig(json!({"body": DEL, "messageParts": [part]}))
}

fn att(kind: &str, payload: Value) -> Value {
    json!({"attachment": {"type": kind, "payload": payload}})
}

fn tpl(payload: Value) -> Value {
    att("template", payload)
}

pub(crate) fn cases() -> Vec<Case> {
    let url = json!({"url": "https://example.com/a.jpg"});
    let postback = json!({"type": "postback", "title": "Yes", "payload": "Y"});
    let call = json!({"type": "phone_number", "title": "Call", "payload": "+447700900123"});
    let qr = |n: usize, title: &str| -> Value {
        let replies: Vec<Value> = (0..n)
            .map(|i| json!({"content_type": "text", "title": title, "payload": format!("P{i}")}))
            .collect();
        igcb(json!({"text": "Pick", "quick_replies": replies}))
    };
    vec![
        // Text is counted in bytes: 500 two-byte characters fit, 501 do not.
        case(
            "text.too_long",
            ig(json!({"body": "é".repeat(501)})),
            ig(json!({"body": "é".repeat(500)})),
        ),
        case(
            "text.too_long",
            igcb(json!({"text": "x".repeat(1001)})),
            igcb(json!({"text": "x".repeat(1000)})),
        ),
        case(
            "text.too_long",
            ig_part(json!({"type": "text/plain", "data": "€".repeat(334)})),
            ig_part(json!({"type": "text/plain", "data": "€".repeat(333)})),
        ),
        case("quick_replies.too_many", qr(14, "T"), qr(13, "T")),
        case(
            "quick_replies.title_too_long",
            qr(1, &"t".repeat(21)),
            qr(1, &"t".repeat(20)),
        ),
        case(
            "channel.unsupported",
            igcb(
                json!({"text": "Your e-mail?", "quick_replies": [{"content_type": "user_email"}]}),
            ),
            qr(1, "Yes"),
        ),
        case(
            "channel.unsupported",
            ig_options(json!({"personaId": "1234"})),
            ig_options(json!({"messagingType": "RESPONSE"})),
        ),
        case(
            "delivery_timeout.no_next_rule",
            ig(
                json!({"channelOptions": {"instagram": {"deliveryTimeout": 60}}, "rules": ["instagram"], "to": {"instagramId": "I"}}),
            ),
            ig(
                json!({"channelOptions": {"instagram": {"deliveryTimeout": 60}}, "rules": ["instagram", "sms"], "to": {"instagramId": "I", "phoneNumber": "+447700900123"}}),
            ),
        ),
        case(
            "delivery_timeout.range",
            ig(
                json!({"channelOptions": {"instagram": {"deliveryTimeout": 0}}, "rules": ["instagram", "sms"], "to": {"instagramId": "I", "phoneNumber": "+447700900123"}}),
            ),
            ig(
                json!({"channelOptions": {"instagram": {"deliveryTimeout": 604800}}, "rules": ["instagram", "sms"], "to": {"instagramId": "I", "phoneNumber": "+447700900123"}}),
            ),
        ),
        case(
            "channel.unsupported",
            igcb(tpl(
                json!({"template_type": "media", "elements": [{"media_type": "image", "url": "https://example.com/a.jpg"}]}),
            )),
            igcb(tpl(
                json!({"template_type": "generic", "elements": [{"title": "A", "image_url": "https://example.com/a.jpg", "buttons": [postback]}]}),
            )),
        ),
        case(
            "channel.unsupported",
            igcb(tpl(
                json!({"template_type": "button", "text": "Reach us", "buttons": [call]}),
            )),
            igcb(tpl(
                json!({"template_type": "button", "text": "Reach us", "buttons": [postback]}),
            )),
        ),
        // Messenger refuses Instagram's own attachments.
        case(
            "channel.unsupported",
            r(
                json!({"customBody": {"fbMessenger": {"attachment": {"type": "image", "payload": {"url": "https://example.com/a.jpg"}}, "attachments": [att("image", url.clone())["attachment"]]}}}),
            ),
            r(json!({"customBody": {"fbMessenger": att("image", url.clone())}})),
        ),
        case(
            "template.too_many_buttons",
            igcb(tpl(
                json!({"template_type": "button", "text": "Pick", "buttons": [postback, postback, postback, postback]}),
            )),
            igcb(tpl(
                json!({"template_type": "button", "text": "Pick", "buttons": [postback, postback, postback]}),
            )),
        ),
        case(
            "template.no_buttons",
            igcb(tpl(
                json!({"template_type": "button", "text": "Pick", "buttons": []}),
            )),
            igcb(tpl(
                json!({"template_type": "button", "text": "Pick", "buttons": [postback]}),
            )),
        ),
        case(
            "template.no_elements",
            igcb(tpl(json!({"template_type": "generic", "elements": []}))),
            igcb(tpl(
                json!({"template_type": "generic", "elements": [{"title": "A"}]}),
            )),
        ),
        case(
            "media.type_unsupported",
            ig_part(json!({"type": "image/webp", "url": "https://example.com/a.webp"})),
            ig_part(json!({"type": "image/png", "url": "https://example.com/a.png"})),
        ),
        case(
            "media.type_unsupported",
            ig_part(json!({"type": "application/zip", "url": "https://example.com/a.zip"})),
            ig_part(json!({"type": "application/pdf", "url": "https://example.com/a.pdf"})),
        ),
        case(
            "part.too_large",
            ig_part(
                json!({"type": "image/jpeg", "url": "https://example.com/a.jpg", "size": 8 * 1024 * 1024 + 1}),
            ),
            ig_part(
                json!({"type": "image/jpeg", "url": "https://example.com/a.jpg", "size": 8 * 1024 * 1024}),
            ),
        ),
        case(
            "part.too_large",
            ig_part(
                json!({"type": "video/mp4", "url": "https://example.com/a.mp4", "size": 25 * 1024 * 1024 + 1}),
            ),
            ig_part(
                json!({"type": "video/mp4", "url": "https://example.com/a.mp4", "size": 25 * 1024 * 1024}),
            ),
        ),
        case(
            "attachments.not_image",
            igcb(
                json!({"attachments": [att("image", url.clone())["attachment"], att("video", json!({"url": "https://example.com/a.mp4"}))["attachment"]]}),
            ),
            igcb(
                json!({"attachments": [att("image", url.clone())["attachment"], att("image", json!({"attachment_id": "98765"}))["attachment"]]}),
            ),
        ),
        case(
            "message.text_and_attachment",
            igcb(json!({"text": "Look", "attachments": [att("image", url.clone())["attachment"]]})),
            igcb(json!({"attachments": [att("image", url.clone())["attachment"]]})),
        ),
        case(
            "field.required",
            igcb(att("MEDIA_SHARE", json!({}))),
            igcb(att("MEDIA_SHARE", json!({"id": "17900000000000001"}))),
        ),
        case(
            "field.enum",
            r(json!({"customBody": {"fbMessenger": {"attachment": {"type": "like_heart"}}}})),
            igcb(json!({"attachment": {"type": "like_heart"}})),
        ),
        case(
            "tag.not_for_channel",
            ig_options(json!({"messagingType": "MESSAGE_TAG", "messageTag": "CUSTOMER_FEEDBACK"})),
            ig_options(json!({"messagingType": "MESSAGE_TAG", "messageTag": "HUMAN_AGENT"})),
        ),
        case(
            "tag.retired",
            ig_options(json!({"messagingType": "MESSAGE_TAG", "messageTag": "ACCOUNT_UPDATE"})),
            ig_options(json!({"messagingType": "MESSAGE_TAG", "messageTag": "HUMAN_AGENT"})),
        ),
        case(
            "tag.missing",
            ig_options(json!({"messagingType": "MESSAGE_TAG"})),
            ig_options(json!({"messagingType": "RESPONSE"})),
        ),
        case(
            "to.unaddressable",
            ig(json!({"to": {"phoneNumber": "+447700900123"}})),
            ig(json!({"to": {"profileId": "alice", "phoneNumber": "+447700900123"}})),
        ),
        case(
            "field.length",
            ig(json!({"to": {"instagramId": "i".repeat(257)}})),
            ig(json!({"to": {"instagramId": "i".repeat(256)}})),
        ),
        case(
            "content.missing_for_channel",
            r(
                json!({"body": DEL, "customBody": {"fbMessenger": {"text": "hi"}}, "rules": ["fbMessenger", "instagram"], "to": {"profileId": "alice"}}),
            ),
            r(
                json!({"body": DEL, "customBody": {"fbMessenger": {"text": "hi"}, "instagram": {"text": "hi"}}, "rules": ["fbMessenger", "instagram"], "to": {"profileId": "alice"}}),
            ),
        ),
    ]
}
