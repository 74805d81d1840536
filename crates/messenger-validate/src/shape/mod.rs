//! The structural pass over raw JSON: every known field has the right JSON type, required ones
//! are there, enumerations hold a known value, unknown fields are named. Its errors point at the
//! exact field, where serde would give one message for the first problem only.
//!
//! It walks only the known structure (opaque parts such as `metadata` and `to`'s extra
//! properties are not entered), so its depth is bounded whatever the input.

mod graph;
mod json;

use messenger_model::{Channel, Timestamp};
use serde_json::{Map, Value};

use crate::report::{child, index, truncate, Report};
use crate::ViolationCode;
use json::{array, boolean, one_of, string, type_error, u64_field, unknown_keys};

/// Top-level fields of a send request.
const REQUEST_FIELDS: &[&str] = &[
    "to",
    "body",
    "title",
    "messageParts",
    "channelOptions",
    "customBody",
    "rules",
    "expiresOn",
    "metadata",
    "conversationId",
];
const TO_STRINGS: &[&str] = &[
    "profileId",
    "fbMessengerId",
    "instagramId",
    "commentId",
    "instagramAccountId",
    "phoneNumber",
    "mobileNumber",
    "email",
    "firstName",
    "lastName",
];
const PART_FIELDS: &[&str] = &["name", "type", "url", "data", "size", "channels"];
const CHANNEL_KEYS: &[&str] = &["fbMessenger", "sms", "instagram"];
const FB_OPTION_FIELDS: &[&str] = &[
    "messagingType",
    "messageTag",
    "personaId",
    "deliveryTimeout",
];
const MESSAGING_TYPES: &[&str] = &["RESPONSE", "UPDATE", "MESSAGE_TAG"];
const SMS_OPTION_FIELDS: &[&str] = &["from", "allowUnicode"];
const INSTAGRAM_OPTION_FIELDS: &[&str] = &["messagingType", "messageTag", "deliveryTimeout"];
/// Messenger's options that Instagram does not have, and why.
const NOT_ON_INSTAGRAM: &[(&str, &str)] = &[(
    "personaId",
    "Instagram has no personas: a send goes out as the Instagram account itself",
)];

/// Checks the JSON shape of a send request.
pub(crate) fn check_request_shape(report: &mut Report, v: &Value) {
    let Some(root) = v.as_object() else {
        return type_error(report, "", "a JSON object (the send request)", v);
    };
    unknown_keys(report, root, "", REQUEST_FIELDS, "a send request");
    match root.get("to") {
        None => report.push(
            ViolationCode::FieldRequired,
            "/to",
            "to is required: who the message is for",
            None,
        ),
        Some(Value::Object(to)) => {
            for key in TO_STRINGS {
                string(report, to, "/to", key, false);
            }
        }
        Some(other) => type_error(report, "/to", "an object", other),
    }
    for key in ["body", "title", "conversationId"] {
        string(report, root, "", key, false);
    }
    if let Some(parts) = array(report, root, "", "messageParts") {
        for (i, part) in parts.iter().enumerate() {
            if report.is_full() {
                return report.mark_truncated();
            }
            check_part(report, part, &index("/messageParts", i));
        }
    }
    check_channel_options(report, root);
    check_custom_body(report, root);
    check_rules(report, root);
    if let Some(s) = string(report, root, "", "expiresOn", false) {
        if s.parse::<Timestamp>().is_err() {
            report.push(
                ViolationCode::ExpiresOnInvalid,
                "/expiresOn",
                "expiresOn must be an RFC 3339 date-time with a zone, e.g. 2026-01-31T12:00:00Z",
                Some(s),
            );
        }
    }
}

fn check_part(report: &mut Report, v: &Value, at: &str) {
    let Some(part) = v.as_object() else {
        return type_error(report, at, "an object (a message part)", v);
    };
    unknown_keys(report, part, at, PART_FIELDS, "a message part");
    string(report, part, at, "type", true);
    for key in ["name", "url", "data"] {
        string(report, part, at, key, false);
    }
    u64_field(report, part, at, "size", "a non-negative integer (bytes)");
    let Some(channels) = array(report, part, at, "channels") else {
        return;
    };
    let at = child(at, "channels");
    for (i, c) in channels.iter().enumerate() {
        match c {
            Value::String(s) if Channel::parse(s).is_some() => {}
            Value::String(s) => report.push(
                ViolationCode::PartChannelUnknown,
                index(&at, i),
                format!(
                    "unknown channel {:?}: parts can be meant for {}",
                    truncate(s),
                    channel_list("or")
                ),
                Some(s),
            ),
            other => type_error(report, &index(&at, i), "a string (a channel id)", other),
        }
    }
}

/// Every channel id, as a list in words: `fbMessenger, sms and instagram`.
fn channel_list(last: &str) -> String {
    let ids = Channel::ALL.map(Channel::as_str);
    match ids.split_last() {
        Some((tail, [])) => (*tail).to_owned(),
        Some((tail, head)) => format!("{} {last} {tail}", head.join(", ")),
        None => String::new(),
    }
}

fn nullable_object<'v>(
    report: &mut Report,
    map: &'v Map<String, Value>,
    at: &str,
    key: &str,
) -> Option<&'v Map<String, Value>> {
    match map.get(key) {
        None | Some(Value::Null) => None,
        Some(Value::Object(o)) => Some(o),
        Some(other) => {
            type_error(report, &child(at, key), "an object", other);
            None
        }
    }
}

fn check_channel_options(report: &mut Report, root: &Map<String, Value>) {
    let Some(opts) = nullable_object(report, root, "", "channelOptions") else {
        return;
    };
    let at = "/channelOptions";
    unknown_keys(report, opts, at, CHANNEL_KEYS, "channelOptions (channels)");
    if let Some(fb) = nullable_object(report, opts, at, "fbMessenger") {
        let at = "/channelOptions/fbMessenger";
        unknown_keys(report, fb, at, FB_OPTION_FIELDS, "Messenger's options");
        envelope(report, fb, at);
        string(report, fb, at, "personaId", false);
        u64_field(
            report,
            fb,
            at,
            "deliveryTimeout",
            "a whole number of seconds",
        );
    }
    if let Some(ig) = nullable_object(report, opts, at, "instagram") {
        let at = "/channelOptions/instagram";
        for (key, why) in NOT_ON_INSTAGRAM {
            if let Some(v) = ig.get(*key) {
                report.push(
                    ViolationCode::ChannelUnsupported,
                    child(at, key),
                    format!("{key} is Messenger's only: {why}"),
                    Some(&v.to_string()),
                );
            }
        }
        // The other keys, without their values (only the names are reported).
        let others: Map<String, Value> = ig
            .keys()
            .filter(|k| !NOT_ON_INSTAGRAM.iter().any(|(n, _)| n == k))
            .map(|k| (k.clone(), Value::Null))
            .collect();
        unknown_keys(
            report,
            &others,
            at,
            INSTAGRAM_OPTION_FIELDS,
            "Instagram's options",
        );
        envelope(report, ig, at);
        u64_field(
            report,
            ig,
            at,
            "deliveryTimeout",
            "a whole number of seconds",
        );
    }
    if let Some(sms) = nullable_object(report, opts, at, "sms") {
        let at = "/channelOptions/sms";
        unknown_keys(report, sms, at, SMS_OPTION_FIELDS, "SMS options");
        string(report, sms, at, "from", false);
        boolean(report, sms, at, "allowUnicode");
    }
}

fn check_custom_body(report: &mut Report, root: &Map<String, Value>) {
    let Some(custom) = nullable_object(report, root, "", "customBody") else {
        return;
    };
    unknown_keys(
        report,
        custom,
        "/customBody",
        &["fbMessenger", "instagram"],
        "customBody (channels)",
    );
    for (key, instagram) in [("fbMessenger", false), ("instagram", true)] {
        match custom.get(key) {
            None | Some(Value::Null) => {}
            Some(msg) => {
                graph::check_message_shape(report, msg, &child("/customBody", key), instagram)
            }
        }
    }
}

fn check_rules(report: &mut Report, root: &Map<String, Value>) {
    let Some(rules) = array(report, root, "", "rules") else {
        return;
    };
    for (i, rule) in rules.iter().enumerate() {
        if report.is_full() {
            return report.mark_truncated();
        }
        match rule {
            Value::String(s) if Channel::parse(s).is_some() => {}
            Value::String(s) => report.push(
                ViolationCode::RulesUnknown,
                index("/rules", i),
                format!(
                    "unknown channel {:?}: this product sends on {}",
                    truncate(s),
                    channel_list("and")
                ),
                Some(s),
            ),
            other => type_error(
                report,
                &index("/rules", i),
                "a string (a channel id)",
                other,
            ),
        }
    }
}

/// A channel's `messagingType` (one of Graph's) and `messageTag` (a string) at `at`.
fn envelope(report: &mut Report, options: &Map<String, Value>, at: &str) {
    if let Some(kind) = string(report, options, at, "messagingType", false) {
        one_of(
            report,
            &child(at, "messagingType"),
            kind,
            MESSAGING_TYPES,
            "messagingType",
        );
    }
    string(report, options, at, "messageTag", false);
}
