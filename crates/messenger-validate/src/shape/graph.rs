//! The structural pass over a Graph `message` object (`customBody.fbMessenger`). Fields Graph
//! has and the model does not know are passed through, so only known fields are checked here.

use serde_json::{Map, Value};

use super::json::{array, number, one_of, required, required_array, string, type_error};
use crate::report::{child, index, truncate, Report};
use crate::ViolationCode;

const CONTENT_TYPES: &[&str] = &["text", "user_phone_number", "user_email"];
const ATTACHMENT_TYPES: &[&str] = &["image", "audio", "video", "file", "template"];
/// Instagram's attachment types: Messenger's, the `like_heart` sticker and `MEDIA_SHARE`.
const INSTAGRAM_ATTACHMENT_TYPES: &[&str] = &[
    "image",
    "audio",
    "video",
    "file",
    "template",
    "like_heart",
    "MEDIA_SHARE",
];
const TEMPLATE_TYPES: &[&str] = &["generic", "button", "media", "receipt"];
const BUTTON_TYPES: &[&str] = &["web_url", "postback", "phone_number"];

fn object<'v>(
    report: &mut Report,
    v: &'v Value,
    at: &str,
    what: &str,
) -> Option<&'v Map<String, Value>> {
    match v {
        Value::Object(o) => Some(o),
        other => {
            type_error(report, at, what, other);
            None
        }
    }
}

/// A required object field (`null` is a type error).
fn required_object<'v>(
    report: &mut Report,
    map: &'v Map<String, Value>,
    at: &str,
    key: &str,
) -> Option<&'v Map<String, Value>> {
    match map.get(key) {
        None => {
            required(report, at, key);
            None
        }
        Some(v) => object(report, v, &child(at, key), "an object"),
    }
}

/// Each element of an array field, as an object, with its pointer.
fn each_object<'v>(
    report: &mut Report,
    items: &'v [Value],
    at: &str,
    mut f: impl FnMut(&mut Report, &'v Map<String, Value>, &str),
) {
    for (i, item) in items.iter().enumerate() {
        if report.is_full() {
            return report.mark_truncated();
        }
        let at = index(at, i);
        if let Some(o) = object(report, item, &at, "an object") {
            f(report, o, &at);
        }
    }
}

/// Checks the JSON shape of a Graph `message` object at `at`, for Messenger or (with
/// `instagram`) for Instagram, which also takes `like_heart`, `MEDIA_SHARE` and `attachments`.
pub(crate) fn check_message_shape(report: &mut Report, v: &Value, at: &str, instagram: bool) {
    let Some(msg) = object(report, v, at, "an object (a Graph message)") else {
        return;
    };
    string(report, msg, at, "text", false);
    string(report, msg, at, "metadata", false);
    if let Some(replies) = array(report, msg, at, "quick_replies") {
        each_object(report, replies, &child(at, "quick_replies"), |r, qr, at| {
            if let Some(ct) = string(r, qr, at, "content_type", true) {
                one_of(
                    r,
                    &child(at, "content_type"),
                    ct,
                    CONTENT_TYPES,
                    "content_type",
                );
            }
            for key in ["title", "payload", "image_url"] {
                string(r, qr, at, key, false);
            }
        });
    }
    let types = if instagram {
        INSTAGRAM_ATTACHMENT_TYPES
    } else {
        ATTACHMENT_TYPES
    };
    match msg.get("attachment") {
        None | Some(Value::Null) => {}
        Some(a) => check_attachment(report, a, &child(at, "attachment"), types),
    }
    if instagram {
        if let Some(list) = array(report, msg, at, "attachments") {
            let at = child(at, "attachments");
            for (i, a) in list.iter().enumerate() {
                if report.is_full() {
                    return report.mark_truncated();
                }
                check_attachment(report, a, &index(&at, i), types);
            }
        }
    }
}

fn check_attachment(report: &mut Report, v: &Value, at: &str, types: &[&str]) {
    let Some(att) = object(report, v, at, "an object (an attachment)") else {
        return;
    };
    let kind = string(report, att, at, "type", true);
    if let Some(kind) = kind {
        one_of(report, &child(at, "type"), kind, types, "attachment type");
    }
    if kind == Some("like_heart") {
        return;
    }
    let Some(payload) = required_object(report, att, at, "payload") else {
        return;
    };
    let at = child(at, "payload");
    match kind {
        Some("template") => check_template(report, payload, &at),
        Some("MEDIA_SHARE") => {
            string(report, payload, &at, "id", true);
        }
        Some(_) => {
            string(report, payload, &at, "url", false);
            string(report, payload, &at, "attachment_id", false);
            if let Some(b) = payload.get("is_reusable") {
                if !matches!(b, Value::Bool(_) | Value::Null) {
                    type_error(report, &child(&at, "is_reusable"), "true or false", b);
                }
            }
        }
        None => {}
    }
}

fn check_template(report: &mut Report, t: &Map<String, Value>, at: &str) {
    let Some(kind) = string(report, t, at, "template_type", true) else {
        return;
    };
    if !TEMPLATE_TYPES.contains(&kind) {
        return report.push(
            ViolationCode::FieldEnum,
            child(at, "template_type"),
            format!(
                "template_type {:?} is not supported: this product sends {} templates",
                truncate(kind),
                TEMPLATE_TYPES.join(", ")
            ),
            Some(kind),
        );
    }
    match kind {
        "generic" => {
            string(report, t, at, "image_aspect_ratio", false);
            if let Some(els) = required_array(report, t, at, "elements") {
                each_object(report, els, &child(at, "elements"), |r, e, at| {
                    string(r, e, at, "title", true);
                    string(r, e, at, "subtitle", false);
                    string(r, e, at, "image_url", false);
                    let buttons = array(r, e, at, "buttons");
                    check_buttons(r, buttons, at);
                });
            }
        }
        "button" => {
            string(report, t, at, "text", true);
            let buttons = required_array(report, t, at, "buttons");
            check_buttons(report, buttons, at);
        }
        "media" => {
            if let Some(els) = required_array(report, t, at, "elements") {
                each_object(report, els, &child(at, "elements"), |r, e, at| {
                    string(r, e, at, "media_type", true);
                    string(r, e, at, "url", false);
                    string(r, e, at, "attachment_id", false);
                    let buttons = array(r, e, at, "buttons");
                    check_buttons(r, buttons, at);
                });
            }
        }
        _ => check_receipt(report, t, at),
    }
}

fn check_receipt(report: &mut Report, t: &Map<String, Value>, at: &str) {
    for key in [
        "recipient_name",
        "order_number",
        "currency",
        "payment_method",
    ] {
        string(report, t, at, key, true);
    }
    for key in ["order_url", "timestamp", "merchant_name"] {
        string(report, t, at, key, false);
    }
    if let Some(els) = array(report, t, at, "elements") {
        each_object(report, els, &child(at, "elements"), |r, e, at| {
            string(r, e, at, "title", true);
            number(r, e, at, "price", true);
            number(r, e, at, "quantity", false);
            for key in ["subtitle", "currency", "image_url"] {
                string(r, e, at, key, false);
            }
        });
    }
    match t.get("address") {
        None | Some(Value::Null) => {}
        Some(v) => {
            let at = child(at, "address");
            if let Some(a) = object(report, v, &at, "an object") {
                for key in ["street_1", "city", "postal_code", "state", "country"] {
                    string(report, a, &at, key, true);
                }
                string(report, a, &at, "street_2", false);
            }
        }
    }
    if let Some(s) = required_object(report, t, at, "summary") {
        let at = child(at, "summary");
        number(report, s, &at, "total_cost", true);
        for key in ["subtotal", "shipping_cost", "total_tax"] {
            number(report, s, &at, key, false);
        }
    }
    if let Some(adj) = array(report, t, at, "adjustments") {
        each_object(report, adj, &child(at, "adjustments"), |r, a, at| {
            string(r, a, at, "name", true);
            number(r, a, at, "amount", true);
        });
    }
}

fn check_buttons(report: &mut Report, buttons: Option<&[Value]>, at: &str) {
    let Some(buttons) = buttons else {
        return;
    };
    each_object(report, buttons, &child(at, "buttons"), |r, b, at| {
        let Some(kind) = string(r, b, at, "type", true) else {
            return;
        };
        match kind {
            "web_url" => {
                string(r, b, at, "title", true);
                string(r, b, at, "url", true);
                string(r, b, at, "webview_height_ratio", false);
            }
            "postback" | "phone_number" => {
                string(r, b, at, "title", true);
                string(r, b, at, "payload", true);
            }
            other => r.push(
                ViolationCode::FieldEnum,
                child(at, "type"),
                format!(
                    "button type {:?} is not supported: this product sends {} buttons",
                    truncate(other),
                    BUTTON_TYPES.join(", ")
                ),
                Some(other),
            ),
        }
    });
}
