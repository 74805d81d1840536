//! Instagram's own send rules, applied beside Graph's common checks ([`crate::graph_rules`]) to
//! every Instagram send: what differs from Messenger's.
//!
//! - `recipient` is an IGSID (`id`) or a comment (`comment_id`, a private reply); no phone
//!   number, `user_ref` or marketing token;
//! - `message.text` is at most [`MAX_TEXT_BYTES`] bytes of UTF-8 (Messenger counts characters);
//! - quick replies are text only (at most 13, titles of at most 20 characters, as Messenger's);
//! - [`INSTAGRAM_TAGS`] is the only tag; no `persona_id`;
//! - sender actions add `react` / `unreact` with `payload: {message_id, reaction}`.
//!
//! Every refusal is Graph's `(#100)`; the Instagram send path types it `IGApiException`.

use messenger_model::graph::{QuickReply, QuickReplyContentType, Recipient, SenderAction};
use serde_json::Value;

use crate::graph_api::too_long;
use crate::graph_api::GraphFailure;

/// Maximum bytes (UTF-8) of an Instagram `message.text`.
pub const MAX_TEXT_BYTES: usize = 1000;

/// The only message tag Instagram takes: a human reply up to 7 days after the user's last
/// message.
pub const INSTAGRAM_TAGS: &[&str] = &["HUMAN_AGENT"];

/// Instagram's `react` / `unreact` sender action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ReactAction {
    /// `react` (true) or `unreact`.
    pub(crate) react: bool,
    /// The message reacted to.
    pub(crate) message_id: String,
    /// The reaction (`love`), for `react`.
    pub(crate) reaction: Option<String>,
}

/// Exactly one of `id` (an IGSID) and `comment_id`.
pub(crate) fn check_recipient(r: &Recipient, comment_id: Option<&str>) -> Result<(), GraphFailure> {
    let unsupported = [
        ("user_ref", r.user_ref.is_some()),
        ("phone_number", r.phone_number.is_some()),
        (
            "notification_messages_token",
            r.notification_messages_token.is_some(),
        ),
    ];
    if let Some((field, _)) = unsupported.iter().find(|(_, here)| *here) {
        return Err(GraphFailure::param(format!(
            "(#100) Param recipient[{field}] is not supported on Instagram: send to an IGSID \
             (recipient[id]) or reply to a comment (recipient[comment_id])"
        )));
    }
    match (r.id.as_deref(), comment_id) {
        (None, None) => Err(GraphFailure::param(
            "(#100) param recipient must be non-empty.",
        )),
        (Some(_), Some(_)) => Err(GraphFailure::param(
            "(#100) Only one of id, comment_id may be set in param recipient",
        )),
        (Some(id), None) if id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) => {
            Err(GraphFailure::param(
                "(#100) Param recipient[id] must be a valid ID string (e.g., \"123\")",
            ))
        }
        (None, Some("")) => Err(GraphFailure::param(
            "(#100) Param recipient[comment_id] must be a valid ID string",
        )),
        _ => Ok(()),
    }
}

/// Instagram's sender actions: Messenger's three, and `react` / `unreact` with their payload.
pub(crate) fn sender_action(
    action: Option<&str>,
    payload: Option<&Value>,
) -> Result<(Option<SenderAction>, Option<ReactAction>), GraphFailure> {
    let react = match action {
        None => return Ok((None, None)),
        Some("typing_on") => return Ok((Some(SenderAction::TypingOn), None)),
        Some("typing_off") => return Ok((Some(SenderAction::TypingOff), None)),
        Some("mark_seen") => return Ok((Some(SenderAction::MarkSeen), None)),
        Some("react") => true,
        Some("unreact") => false,
        Some(_) => {
            return Err(GraphFailure::param(
                "(#100) Param sender_action must be one of {typing_on, typing_off, mark_seen, \
                 react, unreact}",
            ))
        }
    };
    let field = |name: &str| {
        payload
            .and_then(|p| p.get(name))
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    let Some(message_id) = field("message_id") else {
        return Err(GraphFailure::param(
            "(#100) Param payload[message_id] is required with sender_action react or unreact",
        ));
    };
    let reaction = field("reaction");
    if react && reaction.is_none() {
        return Err(GraphFailure::param(
            "(#100) Param payload[reaction] is required with sender_action react",
        ));
    }
    Ok((
        None,
        Some(ReactAction {
            react,
            message_id,
            reaction,
        }),
    ))
}

/// Instagram has no personas.
pub(crate) fn check_persona(persona_id: Option<&str>) -> Result<(), GraphFailure> {
    match persona_id {
        Some(_) => Err(GraphFailure::param(
            "(#100) Param persona_id is not supported on Instagram",
        )),
        None => Ok(()),
    }
}

/// The tags of Graph's accepted list that Instagram takes.
pub(crate) fn accepted_tags(accepted: &[String]) -> Vec<String> {
    accepted
        .iter()
        .filter(|t| INSTAGRAM_TAGS.contains(&t.as_str()))
        .cloned()
        .collect()
}

/// At most [`MAX_TEXT_BYTES`] bytes.
pub(crate) fn check_text(text: &str) -> Result<(), GraphFailure> {
    if text.len() > MAX_TEXT_BYTES {
        return Err(too_long("message[text]", MAX_TEXT_BYTES));
    }
    Ok(())
}

/// Text quick replies only (the phone and e-mail ones were disabled on 2026-10-05).
pub(crate) fn check_quick_reply(index: usize, q: &QuickReply) -> Result<(), GraphFailure> {
    if q.content_type != QuickReplyContentType::Text {
        return Err(GraphFailure::param(format!(
            "(#100) Param message[quick_replies][{index}][content_type] must be text on Instagram"
        )));
    }
    Ok(())
}
