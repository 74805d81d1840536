//! # messenger-validate
//!
//! Every rule a sender of a Messenger or Instagram Direct message can break before Meta says so, checked over the
//! [`messenger_model`] types, with typed violations: a stable [`ViolationCode`], the RFC 6901
//! JSON pointer of the offending field, a message saying what to do, and the offending value.
//! Meta's limits ([`limits`]) and tag policy ([`tags`]) are data in one place each.
//!
//! The entry points:
//!
//! - [`validate_json`]: a raw request (`serde_json::Value`), as the gateway receives it: a
//!   structural pass (types, required and unknown fields, with exact pointers), then
//!   deserialization into [`SendRequest`], then [`validate_request`].
//! - [`validate_request`]: a typed request, e.g. one made with the builders. Collects every
//!   violation (up to [`limits::MAX_VIOLATIONS`]), not just the first.
//! - [`validate_graph_message`]: a Graph `message` object, the way Graph checks it.
//! - [`validate_instagram_message`]: a Graph `message` object, the way Instagram takes it.
//! - [`check_tag`] / [`check_instagram_tag`]: one message tag against Meta's current policy,
//!   for Messenger or for Instagram (which takes only `HUMAN_AGENT`).
//! - [`check_messenger_window`] / [`check_window`]: the messaging window rule.
//!
//! **The window is separate.** [`validate_request`] checks everything that makes a request
//! wrong whatever the moment. Whether Messenger takes it *now* depends on the recipient's
//! window ([`Window`]), which the caller knows; [`check_messenger_window`] answers that, per
//! channel, so the facade can skip Messenger and fall through to the next rule (SMS) instead of
//! refusing the request, and refuse it only when no rule is left.
//!
//! Validation never panics on any input and does bounded work: one pass over the input, and at
//! most [`limits::MAX_VIOLATIONS`] violations listed.
//!
//! This crate depends on `messenger-model`, serde, serde_json and thiserror only; it must never
//! depend on anything that does I/O (no tokio, no HTTP client, no database), nor on the crates
//! above it (graph, store, facade, gateway).
//!
//! ```
//! use messenger_validate::{validate_json, Policy, ViolationCode};
//!
//! let raw = serde_json::json!({
//!     "to": { "profileId": "alice" },
//!     "body": "Your order has shipped",
//!     "channelOptions": { "fbMessenger": { "messagingType": "MESSAGE_TAG", "messageTag": "SHIPPING_UPDATE" } },
//!     "rules": ["fbMessenger", "whatsapp"]
//! });
//! let err = validate_json(&raw, &Policy::default()).unwrap_err();
//! let v = &err.violations()[0];
//! assert_eq!(v.code, ViolationCode::RulesUnknown);
//! assert_eq!(v.pointer, "/rules/1");
//!
//! let fixed = serde_json::json!({
//!     "to": { "profileId": "alice" },
//!     "body": "Your order has shipped",
//!     "channelOptions": { "fbMessenger": { "messagingType": "MESSAGE_TAG", "messageTag": "SHIPPING_UPDATE" } },
//!     "rules": ["fbMessenger", "sms"]
//! });
//! let err = validate_json(&fixed, &Policy::default()).unwrap_err();
//! assert_eq!(err.violations()[0].code.as_str(), "tag.retired");
//! assert_eq!(err.violations()[0].pointer, "/channelOptions/fbMessenger/messageTag");
//! ```

mod deadline;
mod error;
mod format;
mod id;
mod instagram;
pub mod limits;
mod message;
mod persona;
mod report;
mod request;
mod shape;
pub mod tags;
mod window;

use messenger_model::graph::Message;
use messenger_model::SendRequest;
use serde::Deserialize;
use serde_json::Value;

pub use error::{ValidateError, Violation, ViolationCode, Violations};
pub use id::check_id_at;
pub use persona::check_persona_id_at;
pub use tags::{check_instagram_tag, check_tag, TagInfo, TagStatus};
pub use window::{check_instagram_window, check_messenger_window, check_window, Policy, Window};

use report::Report;

fn into_result(report: Report) -> Result<(), ValidateError> {
    let list = report.finish();
    if list.is_empty() {
        Ok(())
    } else {
        Err(ValidateError::Invalid(Violations::new(list)))
    }
}

/// Validates a raw send request and returns it typed.
///
/// First a structural pass over the JSON (each known field has the right type, required fields
/// are there, unknown top-level fields are `field.unknown`; `to` keeps unknown properties),
/// then deserialization (a failure the structural pass did not name is one `json.shape`
/// violation at `""`), then [`validate_request`]. Every violation found is returned.
///
/// The window is not checked here: see [`check_window`].
///
/// ```
/// use messenger_validate::{validate_json, Policy};
/// let raw = serde_json::json!({"to": {"fbMessengerId": "123"}, "body": "hi", "rules": ["fbMessenger"]});
/// let req = validate_json(&raw, &Policy::default()).unwrap();
/// assert_eq!(req.body.as_deref(), Some("hi"));
///
/// let bad = serde_json::json!({"to": 5, "bodyy": "hi", "rules": ["fbMessenger"]});
/// let err = validate_json(&bad, &Policy::default()).unwrap_err();
/// let found: Vec<_> = err.violations().iter().map(|v| (v.code.as_str(), v.pointer.as_str())).collect();
/// assert_eq!(found, [("field.unknown", "/bodyy"), ("field.type", "/to")]);
/// ```
pub fn validate_json(value: &Value, policy: &Policy) -> Result<SendRequest, ValidateError> {
    let mut report = Report::new();
    shape::check_request_shape(&mut report, value);
    match SendRequest::deserialize(value) {
        Ok(req) => {
            request::check_request(&mut report, &req, policy);
            into_result(report).map(|()| req)
        }
        Err(e) => {
            if report.is_empty() {
                report.push(
                    ViolationCode::JsonShape,
                    "",
                    format!("the JSON is not a send request: {e}"),
                    None,
                );
            }
            Err(ValidateError::Invalid(Violations::new(report.finish())))
        }
    }
}

/// Validates a typed send request: content, parts, rules, addressing, the Messenger options and
/// tag policy, and the custom body. Collects every violation (up to
/// [`limits::MAX_VIOLATIONS`]).
///
/// The window is not checked here: see [`check_window`].
///
/// ```
/// use messenger_model::{Channel, MessagePart, SendRequest, To};
/// use messenger_validate::{validate_request, Policy};
///
/// let ok = SendRequest::new(To::profile("alice"))
///     .part(MessagePart::url("image/png", "https://example.com/a.png"))
///     .rules([Channel::FbMessenger]);
/// assert!(validate_request(&ok, &Policy::default()).is_ok());
///
/// let bad = SendRequest::new(To::profile("alice"))
///     .part(MessagePart::url("image/png", "ftp://example.com/a.png"))
///     .message_tag("SHIPPING_UPDATE")
///     .rules([Channel::FbMessenger, Channel::FbMessenger]);
/// let codes: Vec<_> = validate_request(&bad, &Policy::default())
///     .unwrap_err()
///     .violations()
///     .iter()
///     .map(|v| v.code.as_str())
///     .collect();
/// assert_eq!(codes, ["url.scheme", "tag.retired", "rules.repeated"]);
/// ```
pub fn validate_request(req: &SendRequest, policy: &Policy) -> Result<(), ValidateError> {
    let mut report = Report::new();
    request::check_request(&mut report, req, policy);
    into_result(report)
}

/// Checks a Graph `message` object the way Graph does (text, quick replies, attachments,
/// templates, buttons, URLs). Pointers start with `pointer_prefix` (`"/customBody/fbMessenger"`
/// for a request's custom body, `"/message"` for a Send API body).
///
/// ```
/// use messenger_model::graph::{Message, QuickReply};
/// use messenger_validate::validate_graph_message;
///
/// let mut m = Message::text("Pick one");
/// for i in 0..14 {
///     m = m.with_quick_reply(QuickReply::text(format!("Option {i}"), "P"));
/// }
/// let v = validate_graph_message(&m, "/message");
/// assert_eq!(v[0].code.as_str(), "quick_replies.too_many");
/// assert_eq!(v[0].pointer, "/message/quick_replies/13");
/// ```
pub fn validate_graph_message(msg: &Message, pointer_prefix: &str) -> Vec<Violation> {
    let mut report = Report::new();
    message::check_message(&mut report, msg, pointer_prefix);
    report.finish()
}

/// Checks a Graph `message` object the way Instagram takes it: text of at most 1000 bytes,
/// one of text, `attachment` or `attachments` (several images), media by URL or id, the
/// `like_heart` sticker, `MEDIA_SHARE`, the generic and button templates with `web_url` and
/// `postback` buttons, text quick replies. Pointers start with `pointer_prefix`
/// (`"/customBody/instagram"` for a request's custom body).
///
/// ```
/// use messenger_model::graph::{Attachment, Message};
/// use messenger_validate::validate_instagram_message;
///
/// assert!(validate_instagram_message(&Message::attachment(Attachment::LikeHeart), "/message").is_empty());
/// let v = validate_instagram_message(&Message::text("é".repeat(501)), "/message");
/// assert_eq!(v[0].code.as_str(), "text.too_long");
/// assert_eq!(v[0].pointer, "/message/text");
/// ```
pub fn validate_instagram_message(msg: &Message, pointer_prefix: &str) -> Vec<Violation> {
    let mut report = Report::new();
    instagram::check_message(&mut report, msg, pointer_prefix);
    report.finish()
}

/// The crate README, whose example runs as a doctest (the README is what crates.io shows).
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
