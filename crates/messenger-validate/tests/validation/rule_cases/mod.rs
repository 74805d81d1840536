//! The cases of `rules.rs`: for every violation code, a minimal input that produces it and
//! the nearest input that does not, and the helpers that build them. Instagram's cases are in
//! `instagram.rs`.

mod instagram;

use messenger_model::Timestamp;
use messenger_validate::{check_window, validate_json, Policy, Window};
use serde_json::{json, Value};

pub(crate) const DEL: &str = "\u{0}delete";

pub(crate) fn now() -> Timestamp {
    "2026-05-10T12:00:00Z".parse().unwrap()
}

pub(crate) fn policy() -> Policy {
    Policy {
        window: Window::Unchecked,
        customer_matching: false,
        now: now(),
    }
}

/// The base request (valid) with top-level fields replaced (or deleted with `DEL`).
pub(crate) fn r(patch: Value) -> Value {
    patched(
        json!({"to": {"fbMessengerId": "123"}, "body": "hi", "rules": ["fbMessenger"]}),
        patch,
    )
}

/// `base` with top-level fields replaced (or deleted with `DEL`).
pub(crate) fn patched(mut base: Value, patch: Value) -> Value {
    for (k, v) in patch.as_object().unwrap() {
        if v == DEL {
            base.as_object_mut().unwrap().remove(k);
        } else {
            base[k] = v.clone();
        }
    }
    base
}

/// A request with this Messenger custom body.
pub(crate) fn cb(message: Value) -> Value {
    r(json!({"customBody": {"fbMessenger": message}}))
}

/// A request whose custom body is this template.
pub(crate) fn tpl(payload: Value) -> Value {
    cb(json!({"attachment": {"type": "template", "payload": payload}}))
}

pub(crate) fn image(payload: Value) -> Value {
    cb(json!({"attachment": {"type": "image", "payload": payload}}))
}

pub(crate) fn part(p: Value) -> Value {
    r(json!({"body": DEL, "messageParts": [p]}))
}

pub(crate) fn s(n: usize) -> String {
    "é".repeat(n)
}

pub(crate) fn postback(title: &str, payload: &str) -> Value {
    json!({"type": "postback", "title": title, "payload": payload})
}

pub(crate) fn generic(elements: Vec<Value>) -> Value {
    json!({"template_type": "generic", "elements": elements})
}

pub(crate) fn element(title: &str) -> Value {
    json!({"title": title})
}

pub(crate) fn button_tpl(text: &str, buttons: Vec<Value>) -> Value {
    json!({"template_type": "button", "text": text, "buttons": buttons})
}

pub(crate) fn receipt(patch: Value) -> Value {
    let mut t = json!({
        "template_type": "receipt", "recipient_name": "Ann", "order_number": "1",
        "currency": "USD", "payment_method": "Visa", "summary": {"total_cost": 1}
    });
    for (k, v) in patch.as_object().unwrap() {
        t[k] = v.clone();
    }
    t
}

pub(crate) fn quick_replies(replies: Vec<Value>) -> Value {
    cb(json!({"text": "Pick", "quick_replies": replies}))
}

pub(crate) fn qr(n: usize) -> Vec<Value> {
    (0..n)
        .map(|i| json!({"content_type": "text", "title": format!("T{i}"), "payload": "P"}))
        .collect()
}

pub(crate) fn tagged(kind: Option<&str>, tag: Option<&str>) -> Value {
    let mut fb = json!({});
    if let Some(k) = kind {
        fb["messagingType"] = json!(k);
    }
    if let Some(t) = tag {
        fb["messageTag"] = json!(t);
    }
    r(json!({"channelOptions": {"fbMessenger": fb}}))
}

/// A request to a Messenger user with a phone number, with `deliveryTimeout` and `rules`.
pub(crate) fn timed(secs: u64, rules: Value) -> Value {
    r(json!({
        "to": {"fbMessengerId": "123", "mobileNumber": "+447700900123"},
        "channelOptions": {"fbMessenger": {"deliveryTimeout": secs}},
        "rules": rules,
    }))
}

/// The codes `validate_json` (and, when `window` is set, `check_window`) report.
pub(crate) fn codes(input: &Value, policy: &Policy, window: bool) -> Vec<&'static str> {
    match validate_json(input, policy) {
        Ok(req) if window => check_window(&req, policy)
            .err()
            .map(|v| v.code.as_str())
            .into_iter()
            .collect(),
        Ok(_) => Vec::new(),
        Err(e) => e.violations().iter().map(|v| v.code.as_str()).collect(),
    }
}

pub(crate) struct Case {
    pub code: &'static str,
    pub bad: Value,
    pub good: Value,
    pub policy: Policy,
    /// The policy for the good input, when it differs.
    pub good_policy: Option<Policy>,
    pub window: bool,
}

pub(crate) fn case(code: &'static str, bad: Value, good: Value) -> Case {
    Case {
        code,
        bad,
        good,
        policy: policy(),
        good_policy: None,
        window: false,
    }
}

pub(crate) fn closed(last: Option<&str>) -> Policy {
    Policy {
        window: Window::Closed {
            last_inbound: last.map(|s| s.parse().unwrap()),
        },
        ..policy()
    }
}

pub(crate) fn window_case(code: &'static str, bad: Value, good: Value, last: Option<&str>) -> Case {
    Case {
        code,
        bad,
        good,
        policy: closed(last),
        good_policy: None,
        window: true,
    }
}

pub(crate) fn cases() -> Vec<Case> {
    let mut all = messenger_cases();
    all.extend(instagram::cases());
    all
}

fn messenger_cases() -> Vec<Case> {
    let img = |url: &str| json!({"type": "image/png", "url": url});
    let mut many_bad_parts = Vec::new();
    for _ in 0..101 {
        many_bad_parts.push(img("ftp://example.com/a.png"));
    }
    let hundred_bad_parts = many_bad_parts[..100].to_vec();
    let phone_to = json!({"phoneNumber": "447123123123"});
    vec![
        case(
            "field.unknown",
            r(json!({"bodyy": "x"})),
            r(json!({"title": "x"})),
        ),
        case(
            "field.type",
            r(json!({"to": 5})),
            r(json!({"to": {"profileId": "p"}})),
        ),
        case(
            "field.type",
            r(json!({"channelOptions": {"fbMessenger": {"deliveryTimeout": "60"}}})),
            r(json!({"channelOptions": {"fbMessenger": {"deliveryTimeout": null}}})),
        ),
        case("field.required", r(json!({"to": DEL})), r(json!({}))),
        case(
            "field.required",
            part(json!({"url": "https://e.com/a"})),
            part(img("https://e.com/a")),
        ),
        case(
            "field.enum",
            tagged(Some("NOTIFY"), None),
            tagged(Some("UPDATE"), None),
        ),
        case(
            "field.enum",
            tpl(json!({"template_type": "airline_boardingpass"})),
            tpl(generic(vec![element("A")])),
        ),
        case("content.missing", r(json!({"body": DEL})), r(json!({}))),
        case(
            "content.missing_for_channel",
            r(
                json!({"to": {"fbMessengerId": "1", "mobileNumber": "447123123123"}, "body": DEL,
                     "customBody": {"fbMessenger": {"text": "x"}}, "rules": ["fbMessenger", "sms"]}),
            ),
            r(
                json!({"to": {"fbMessengerId": "1", "mobileNumber": "447123123123"},
                     "customBody": {"fbMessenger": {"text": "x"}}, "rules": ["fbMessenger", "sms"]}),
            ),
        ),
        case(
            "content.body_and_parts",
            r(json!({"messageParts": [{"type": "text/plain", "data": "x"}]})),
            part(json!({"type": "text/plain", "data": "x"})),
        ),
        case(
            "text.too_long",
            r(json!({"body": s(2001)})),
            r(json!({"body": s(2000)})),
        ),
        case(
            "text.too_long",
            part(json!({"type": "text/plain", "data": s(2001)})),
            part(json!({"type": "text/plain", "data": s(2001), "channels": ["sms"]})),
        ),
        case(
            "text.too_long",
            cb(json!({"text": s(2001)})),
            cb(json!({"text": s(2000)})),
        ),
        case("message.empty", cb(json!({})), cb(json!({"text": "x"}))),
        case(
            "message.text_and_attachment",
            cb(
                json!({"text": "x", "attachment": {"type": "image", "payload": {"url": "https://e.com/a"}}}),
            ),
            image(json!({"url": "https://e.com/a"})),
        ),
        case(
            "message.metadata_too_long",
            cb(json!({"text": "x", "metadata": s(1001)})),
            cb(json!({"text": "x", "metadata": s(1000)})),
        ),
        case(
            "quick_replies.too_many",
            quick_replies(qr(14)),
            quick_replies(qr(13)),
        ),
        case(
            "quick_replies.title_missing",
            quick_replies(vec![json!({"content_type": "text", "payload": "P"})]),
            quick_replies(vec![json!({"content_type": "user_email"})]),
        ),
        case(
            "quick_replies.title_too_long",
            quick_replies(vec![
                json!({"content_type": "text", "title": s(21), "payload": "P"}),
            ]),
            quick_replies(vec![
                json!({"content_type": "text", "title": s(20), "payload": "P"}),
            ]),
        ),
        case(
            "quick_replies.payload_missing",
            quick_replies(vec![json!({"content_type": "text", "title": "T"})]),
            quick_replies(vec![json!({"content_type": "user_phone_number"})]),
        ),
        case(
            "quick_replies.payload_too_long",
            quick_replies(vec![
                json!({"content_type": "text", "title": "T", "payload": s(1001)}),
            ]),
            quick_replies(vec![
                json!({"content_type": "text", "title": "T", "payload": s(1000)}),
            ]),
        ),
        case(
            "attachment.no_source",
            image(json!({})),
            image(json!({"attachment_id": "9"})),
        ),
        case(
            "attachment.url_and_id",
            image(json!({"url": "https://e.com/a", "attachment_id": "9"})),
            image(json!({"url": "https://e.com/a", "is_reusable": true})),
        ),
        case(
            "template.no_elements",
            tpl(generic(vec![])),
            tpl(generic(vec![element("A")])),
        ),
        case(
            "template.too_many_elements",
            tpl(generic(vec![element("A"); 11])),
            tpl(generic(vec![element("A"); 10])),
        ),
        case(
            "template.too_many_elements",
            tpl(receipt(
                json!({"elements": vec![json!({"title": "x", "price": 1}); 101]}),
            )),
            tpl(receipt(
                json!({"elements": vec![json!({"title": "x", "price": 1}); 100]}),
            )),
        ),
        case(
            "template.media_element_count",
            tpl(json!({"template_type": "media", "elements": [
                {"media_type": "image", "attachment_id": "1"}, {"media_type": "image", "attachment_id": "2"}]})),
            tpl(
                json!({"template_type": "media", "elements": [{"media_type": "image", "attachment_id": "1"}]}),
            ),
        ),
        case(
            "template.field_empty",
            tpl(receipt(json!({"recipient_name": ""}))),
            tpl(receipt(json!({}))),
        ),
        case(
            "template.title_too_long",
            tpl(generic(vec![element(&s(81))])),
            tpl(generic(vec![element(&s(80))])),
        ),
        case(
            "template.subtitle_too_long",
            tpl(generic(vec![json!({"title": "A", "subtitle": s(81)})])),
            tpl(generic(vec![json!({"title": "A", "subtitle": s(80)})])),
        ),
        case(
            "template.text_too_long",
            tpl(button_tpl(&s(641), vec![postback("Go", "GO")])),
            tpl(button_tpl(&s(640), vec![postback("Go", "GO")])),
        ),
        case(
            "template.no_buttons",
            tpl(button_tpl("Next?", vec![])),
            tpl(button_tpl("Next?", vec![postback("Go", "GO")])),
        ),
        case(
            "template.too_many_buttons",
            tpl(button_tpl("Next?", vec![postback("Go", "GO"); 4])),
            tpl(button_tpl("Next?", vec![postback("Go", "GO"); 3])),
        ),
        case(
            "button.title_empty",
            tpl(button_tpl("Next?", vec![postback("", "GO")])),
            tpl(button_tpl("Next?", vec![postback("x", "GO")])),
        ),
        case(
            "button.title_too_long",
            tpl(button_tpl("Next?", vec![postback(&s(21), "GO")])),
            tpl(button_tpl("Next?", vec![postback(&s(20), "GO")])),
        ),
        case(
            "button.payload_too_long",
            tpl(button_tpl("Next?", vec![postback("Go", &s(1001))])),
            tpl(button_tpl("Next?", vec![postback("Go", &s(1000))])),
        ),
        case(
            "url.invalid",
            part(img("example.com/a.png")),
            part(img("https://example.com/a.png")),
        ),
        case(
            "url.scheme",
            part(img("ftp://example.com/a.png")),
            part(img("http://example.com/a.png")),
        ),
        case(
            "url.scheme",
            tpl(button_tpl(
                "Next?",
                vec![json!({"type": "web_url", "title": "Go", "url": "javascript:x()"})],
            )),
            tpl(button_tpl(
                "Next?",
                vec![json!({"type": "web_url", "title": "Go", "url": "https://e.com"})],
            )),
        ),
        case(
            "url.scheme",
            image(json!({"url": "file:///etc/passwd"})),
            image(json!({"url": "https://e.com/a.png"})),
        ),
        case(
            "mime.invalid",
            part(json!({"type": "image", "url": "https://e.com/a"})),
            part(json!({"type": "image/png", "url": "https://e.com/a"})),
        ),
        case(
            "part.no_content",
            part(json!({"type": "image/png"})),
            part(img("https://e.com/a")),
        ),
        case(
            "part.url_and_data",
            part(json!({"type": "image/png", "url": "https://e.com/a", "data": "aGk="})),
            part(json!({"type": "image/png", "data": "aGk="})),
        ),
        case(
            "part.data_not_base64",
            part(json!({"type": "image/png", "data": "not base64!"})),
            part(json!({"type": "image/png", "data": "aGk="})),
        ),
        case(
            "part.too_large",
            part(json!({"type": "image/png", "url": "https://e.com/a", "size": 26_214_401})),
            part(json!({"type": "image/png", "url": "https://e.com/a", "size": 26_214_400})),
        ),
        case(
            "part.channel_unknown",
            part(json!({"type": "text/plain", "data": "x", "channels": ["email"]})),
            part(json!({"type": "text/plain", "data": "x", "channels": ["fbMessenger"]})),
        ),
        case("rules.empty", r(json!({"rules": []})), r(json!({}))),
        case("rules.empty", r(json!({"rules": DEL})), r(json!({}))),
        case(
            "rules.unknown",
            r(json!({"rules": ["fbMessenger", "whatsapp"]})),
            r(
                json!({"to": {"fbMessengerId": "1", "mobileNumber": "447123123123"}, "rules": ["fbMessenger", "sms"]}),
            ),
        ),
        case(
            "rules.repeated",
            r(json!({"rules": ["fbMessenger", "fbMessenger"]})),
            r(json!({"rules": ["fbMessenger"]})),
        ),
        case(
            "phone.invalid",
            r(json!({"to": {"profileId": "p", "phoneNumber": "12"}})),
            r(json!({"to": {"profileId": "p", "phoneNumber": "+447123123123"}})),
        ),
        case(
            "phone.invalid",
            r(json!({"to": {"profileId": "p", "mobileNumber": "07123 123123"}})),
            r(json!({"to": {"profileId": "p", "mobileNumber": "447123123123"}})),
        ),
        case(
            "phone.invalid",
            tpl(button_tpl(
                "Call?",
                vec![json!({"type": "phone_number", "title": "Call", "payload": "447123123123"})],
            )),
            tpl(button_tpl(
                "Call?",
                vec![json!({"type": "phone_number", "title": "Call", "payload": "+447123123123"})],
            )),
        ),
        case(
            "to.unaddressable",
            r(json!({"to": phone_to})),
            r(json!({"to": phone_to, "rules": ["fbMessenger", "sms"]})),
        ),
        Case {
            policy: Policy {
                customer_matching: true,
                ..policy()
            },
            ..case(
                "to.unaddressable",
                r(json!({"to": {"email": "a@example.com"}})),
                r(json!({"to": phone_to})),
            )
        },
        case(
            "expires_on.invalid",
            r(json!({"expiresOn": "tomorrow"})),
            r(json!({"expiresOn": "2026-01-31T12:00:00Z"})),
        ),
        case(
            "tag.unknown",
            tagged(Some("MESSAGE_TAG"), Some("HUMAN_AGENTS")),
            tagged(Some("MESSAGE_TAG"), Some("HUMAN_AGENT")),
        ),
        case(
            "tag.retired",
            tagged(Some("MESSAGE_TAG"), Some("ACCOUNT_UPDATE")),
            tagged(None, Some("HUMAN_AGENT")),
        ),
        case(
            "tag.missing",
            tagged(Some("MESSAGE_TAG"), None),
            tagged(Some("UPDATE"), None),
        ),
        case(
            "tag.requires_message_tag",
            tagged(Some("RESPONSE"), Some("HUMAN_AGENT")),
            tagged(Some("MESSAGE_TAG"), Some("HUMAN_AGENT")),
        ),
        case(
            "field.length",
            r(json!({"to": {"profileId": "p".repeat(257)}})),
            r(json!({"to": {"profileId": "p".repeat(256)}})),
        ),
        case(
            "field.length",
            r(json!({"to": {"fbMessengerId": "1".repeat(257)}})),
            r(json!({"to": {"fbMessengerId": "1".repeat(256)}})),
        ),
        case(
            "persona_id.invalid",
            r(json!({"channelOptions": {"fbMessenger": {"personaId": "alex"}}})),
            r(json!({"channelOptions": {"fbMessenger": {"personaId": "1234567890123456"}}})),
        ),
        window_case(
            "window.closed",
            tagged(Some("UPDATE"), None),
            tagged(Some("MESSAGE_TAG"), Some("HUMAN_AGENT")),
            Some("2026-05-08T12:00:00Z"),
        ),
        Case {
            good_policy: Some(closed(Some("2026-05-03T12:00:00Z"))),
            ..window_case(
                "window.tag_expired",
                tagged(Some("MESSAGE_TAG"), Some("HUMAN_AGENT")),
                tagged(Some("MESSAGE_TAG"), Some("HUMAN_AGENT")),
                Some("2026-05-03T11:59:59Z"),
            )
        },
        Case {
            good_policy: Some(closed(Some("2026-05-09T12:00:00Z"))),
            ..window_case(
                "window.tag_expired",
                tagged(None, Some("HUMAN_AGENT")),
                tagged(None, Some("HUMAN_AGENT")),
                None,
            )
        },
        case(
            "delivery_timeout.range",
            timed(0, json!(["fbMessenger", "sms"])),
            timed(604_800, json!(["fbMessenger", "sms"])),
        ),
        case(
            "delivery_timeout.range",
            timed(604_801, json!(["fbMessenger", "sms"])),
            timed(1, json!(["fbMessenger", "sms"])),
        ),
        case(
            "delivery_timeout.no_next_rule",
            timed(60, json!(["sms", "fbMessenger"])),
            timed(60, json!(["fbMessenger", "sms"])),
        ),
        case(
            "delivery_timeout.no_next_rule",
            timed(60, json!(["fbMessenger"])),
            r(json!({"rules": ["fbMessenger"]})),
        ),
        case(
            "violations.truncated",
            r(json!({"body": DEL, "messageParts": many_bad_parts})),
            r(json!({"body": DEL, "messageParts": hundred_bad_parts})),
        ),
    ]
}
