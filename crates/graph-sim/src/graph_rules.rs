//! The checks Graph makes on a Send API request before it accepts it, with Meta's limits as
//! data, and Graph's wording for the refusals (`(#100) ...`).
//!
//! This is the simulator's own small copy of Meta's rules: the product's full rule set lives in
//! `messenger-validate`; the simulator stays independent of it so it can catch that crate's
//! mistakes rather than repeat them.

use messenger_model::graph::{
    Attachment, GraphSendRequest, Message, MessagingType, NotificationType, Recipient,
    SenderAction, Template,
};
use serde::Deserialize;

use crate::graph_api::{too_long, GraphFailure};

/// Maximum characters of `message.text`.
pub const MAX_TEXT_CHARS: usize = 2000;
/// Maximum number of quick replies.
pub const MAX_QUICK_REPLIES: usize = 13;
/// Maximum characters of a quick reply title.
pub const MAX_QUICK_REPLY_TITLE_CHARS: usize = 20;
/// Maximum characters of a quick reply or postback payload.
pub const MAX_PAYLOAD_CHARS: usize = 1000;
/// Maximum characters of `message.metadata`.
pub const MAX_METADATA_CHARS: usize = 1000;
/// Maximum characters of a button template's text.
pub const MAX_BUTTON_TEMPLATE_TEXT_CHARS: usize = 640;
/// Maximum elements of a generic template.
pub const MAX_GENERIC_ELEMENTS: usize = 10;
/// Maximum buttons of a button template or a generic element.
pub const MAX_BUTTONS: usize = 3;
/// Maximum characters of a button title.
pub const MAX_BUTTON_TITLE_CHARS: usize = 20;
/// Maximum characters of a generic element's title and subtitle.
pub const MAX_ELEMENT_TITLE_CHARS: usize = 80;
/// Maximum size of an attachment file (25 MB).
pub const MAX_ATTACHMENT_BYTES: usize = 25 * 1024 * 1024;

/// The message tags Graph accepts (as of 2026, after ACCOUNT_UPDATE, POST_PURCHASE_UPDATE and
/// CONFIRMED_EVENT_UPDATE were retired).
pub const ACCEPTED_TAGS: &[&str] = &["HUMAN_AGENT", "CUSTOMER_FEEDBACK"];

/// Tags Meta retired, with the date Graph started refusing them (for log messages and tests).
pub const RETIRED_TAGS: &[(&str, &str)] = &[
    ("NON_PROMOTIONAL_SUBSCRIPTION", "2020-03-04"),
    ("SHIPPING_UPDATE", "2020-03-04"),
    ("RESERVATION_UPDATE", "2020-03-04"),
    ("ISSUE_RESOLUTION", "2020-03-04"),
    ("APPOINTMENT_UPDATE", "2020-03-04"),
    ("GAME_EVENT", "2020-03-04"),
    ("TRANSPORTATION_UPDATE", "2020-03-04"),
    ("FEATURE_FUNCTIONALITY_UPDATE", "2020-03-04"),
    ("TICKET_UPDATE", "2020-03-04"),
    ("PAYMENT_UPDATE", "2020-03-04"),
    ("PERSONAL_FINANCE_UPDATE", "2020-03-04"),
    ("COMMUNITY_ALERT", "2020-03-04"),
    ("CONFIRMED_EVENT_REMINDER", "2020-03-04"),
    ("BUSINESS_PRODUCTIVITY", "2020-03-04"),
    ("PAIRING_UPDATE", "2020-03-04"),
    ("APPLICATION_UPDATE", "2020-03-04"),
    ("ACCOUNT_UPDATE", "2026"),
    ("POST_PURCHASE_UPDATE", "2026"),
    ("CONFIRMED_EVENT_UPDATE", "2026"),
];

/// Keys of `message` Graph knows beyond the model's fields.
const OTHER_MESSAGE_KEYS: &[&str] = &["attachments", "sticker_id"];

/// The Send API body as it arrives (JSON, or form fields with JSON values). Strings stay strings
/// so a bad enum value gets Graph's own refusal, not a parse error.
#[derive(Debug, Deserialize)]
pub(crate) struct WireSend {
    #[serde(default)]
    pub(crate) recipient: Option<WireRecipient>,
    #[serde(default)]
    pub(crate) messaging_type: Option<String>,
    #[serde(default)]
    pub(crate) tag: Option<String>,
    #[serde(default)]
    pub(crate) notification_type: Option<String>,
    #[serde(default)]
    pub(crate) sender_action: Option<String>,
    #[serde(default)]
    pub(crate) message: Option<Message>,
    #[serde(default)]
    pub(crate) persona_id: Option<String>,
    #[serde(default)]
    pub(crate) access_token: Option<String>,
    #[serde(default)]
    pub(crate) appsecret_proof: Option<String>,
    /// A sender action's payload (Instagram's `react`: `{message_id, reaction}`).
    #[serde(default)]
    pub(crate) payload: Option<serde_json::Value>,
}

/// The recipient as it arrives: the model's identifiers, and Instagram's `comment_id` (a private
/// reply).
#[derive(Debug, Deserialize)]
pub(crate) struct WireRecipient {
    #[serde(flatten)]
    pub(crate) base: Recipient,
    #[serde(default)]
    pub(crate) comment_id: Option<String>,
}

/// Whose rules a send is checked against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Platform {
    /// Messenger's: [`MAX_TEXT_CHARS`], [`crate::GraphSimBuilder::accepted_tags`], personas.
    Messenger,
    /// Instagram's ([`crate::instagram_rules`]): text in bytes, text-only quick replies,
    /// `HUMAN_AGENT` only, no personas, private replies and reactions.
    Instagram,
}

/// A send Graph accepted: the request, and what the model's request has no field for.
#[derive(Debug, Clone)]
pub(crate) struct CheckedSend {
    pub(crate) request: GraphSendRequest,
    /// Instagram's private reply: `recipient.comment_id`.
    pub(crate) comment_id: Option<String>,
    /// Instagram's `react` / `unreact` sender action.
    pub(crate) reaction: Option<crate::instagram_rules::ReactAction>,
}

/// Checks a Send API request the way Graph does for `platform` and returns it typed.
pub(crate) fn check_send(
    wire: WireSend,
    accepted_tags: &[String],
    platform: Platform,
) -> Result<CheckedSend, GraphFailure> {
    use crate::instagram_rules as ig;
    let Some(WireRecipient {
        base: recipient,
        comment_id,
    }) = wire.recipient
    else {
        return Err(GraphFailure::param(
            "(#100) The parameter recipient is required",
        ));
    };
    match platform {
        Platform::Messenger if comment_id.is_some() => {
            return Err(GraphFailure::param(
                "(#100) Param recipient[comment_id] names no comment this page can reply to",
            ))
        }
        Platform::Messenger => check_recipient(&recipient)?,
        Platform::Instagram => ig::check_recipient(&recipient, comment_id.as_deref())?,
    }

    let messaging_type = match wire.messaging_type.as_deref() {
        None => None,
        Some("RESPONSE") => Some(MessagingType::Response),
        Some("UPDATE") => Some(MessagingType::Update),
        Some("MESSAGE_TAG") => Some(MessagingType::MessageTag),
        Some(_) => {
            return Err(GraphFailure::param(
                "(#100) Param messaging_type must be one of {RESPONSE, UPDATE, MESSAGE_TAG}",
            ))
        }
    };
    let notification_type = match wire.notification_type.as_deref() {
        None => None,
        Some("REGULAR") => Some(NotificationType::Regular),
        Some("SILENT_PUSH") => Some(NotificationType::SilentPush),
        Some("NO_PUSH") => Some(NotificationType::NoPush),
        Some(_) => {
            return Err(GraphFailure::param(
                "(#100) Param notification_type must be one of {REGULAR, SILENT_PUSH, NO_PUSH}",
            ))
        }
    };
    let (sender_action, reaction) = match platform {
        Platform::Messenger => (
            messenger_sender_action(wire.sender_action.as_deref())?,
            None,
        ),
        Platform::Instagram => {
            ig::sender_action(wire.sender_action.as_deref(), wire.payload.as_ref())?
        }
    };
    let has_action = sender_action.is_some() || reaction.is_some();

    match (&wire.message, has_action) {
        (None, false) => {
            return Err(GraphFailure::param(
                "(#100) Must send either message or sender_action",
            ))
        }
        (Some(_), true) => {
            return Err(GraphFailure::param(
                "(#100) Cannot send both message and state at the same time.",
            ))
        }
        _ => {}
    }
    if has_action {
        check_sender_action_alone(
            sender_action.is_some_and(|a| a != SenderAction::MarkSeen),
            [
                ("messaging_type", wire.messaging_type.is_some()),
                ("tag", wire.tag.is_some()),
                ("notification_type", wire.notification_type.is_some()),
                ("persona_id", wire.persona_id.is_some()),
            ],
        )?;
    }

    match platform {
        Platform::Messenger => check_tag(messaging_type, wire.tag.as_deref(), accepted_tags)?,
        Platform::Instagram => {
            ig::check_persona(wire.persona_id.as_deref())?;
            check_tag(
                messaging_type,
                wire.tag.as_deref(),
                &ig::accepted_tags(accepted_tags),
            )?;
        }
    }
    if let Some(message) = &wire.message {
        check_message(message, platform)?;
    }

    Ok(CheckedSend {
        request: GraphSendRequest {
            recipient,
            messaging_type,
            tag: wire.tag,
            notification_type,
            sender_action,
            message: wire.message,
            persona_id: wire.persona_id,
            // Instagram's react/unreact payload is checked and kept as `reaction` below.
            payload: None,
        },
        comment_id,
        reaction,
    })
}

/// Messenger's sender actions.
fn messenger_sender_action(action: Option<&str>) -> Result<Option<SenderAction>, GraphFailure> {
    match action {
        None => Ok(None),
        Some("typing_on") => Ok(Some(SenderAction::TypingOn)),
        Some("typing_off") => Ok(Some(SenderAction::TypingOff)),
        Some("mark_seen") => Ok(Some(SenderAction::MarkSeen)),
        Some(_) => Err(GraphFailure::param(
            "(#100) Param sender_action must be one of {typing_on, typing_off, mark_seen}",
        )),
    }
}

/// Meta wants a sender action in a request of its own: only `recipient` and `sender_action`
/// (and a `persona_id` with the typing actions: `persona_allowed`).
/// `present` says which other fields the request has.
fn check_sender_action_alone(
    persona_allowed: bool,
    present: [(&str, bool); 4],
) -> Result<(), GraphFailure> {
    let refused = present
        .iter()
        .find(|(name, here)| *here && !(*name == "persona_id" && persona_allowed));
    match refused {
        Some((name, _)) => Err(GraphFailure::param(format!(
            "(#100) A sender_action request should only include sender_action and the              recipient: send {name} in a separate request"
        ))),
        None => Ok(()),
    }
}

fn check_recipient(r: &Recipient) -> Result<(), GraphFailure> {
    let ids = [
        r.id.is_some(),
        r.user_ref.is_some(),
        r.phone_number.is_some(),
        r.notification_messages_token.is_some(),
    ]
    .into_iter()
    .filter(|x| *x)
    .count();
    if ids == 0 {
        return Err(GraphFailure::param(
            "(#100) param recipient must be non-empty.",
        ));
    }
    if ids > 1 {
        return Err(GraphFailure::param(
            "(#100) Only one of id, user_ref, phone_number, notification_messages_token may be \
             set in param recipient",
        ));
    }
    if let Some(id) = &r.id {
        if id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) {
            return Err(GraphFailure::param(
                "(#100) Param recipient[id] must be a valid ID string (e.g., \"123\")",
            ));
        }
    }
    if let Some(p) = &r.phone_number {
        let digits = p.chars().filter(char::is_ascii_digit).count();
        if !(7..=15).contains(&digits) {
            return Err(GraphFailure::param("(#100) No matching user found").subcode(2_018_001));
        }
    }
    Ok(())
}

fn check_tag(
    kind: Option<MessagingType>,
    tag: Option<&str>,
    accepted: &[String],
) -> Result<(), GraphFailure> {
    match (kind, tag) {
        (Some(MessagingType::MessageTag), None) => Err(GraphFailure::param(
            "(#100) Param tag is required when messaging_type is MESSAGE_TAG",
        )),
        (Some(MessagingType::Response | MessagingType::Update), Some(_)) => Err(
            GraphFailure::param("(#100) Messaging type should be MESSAGE_TAG for tagged messages."),
        ),
        (_, Some(t)) if !accepted.iter().any(|a| a == t) => Err(GraphFailure::param(format!(
            "(#100) Param tag must be one of {{{}}}",
            accepted.join(", ")
        ))),
        _ => Ok(()),
    }
}

pub(crate) fn chars(s: &str) -> usize {
    s.chars().count()
}

fn check_message(m: &Message, platform: Platform) -> Result<(), GraphFailure> {
    if let Some(key) = m
        .extra
        .keys()
        .find(|k| !OTHER_MESSAGE_KEYS.contains(&k.as_str()))
    {
        return Err(GraphFailure::param(format!(
            "(#100) Invalid keys \"{key}\" were found in param \"message\"."
        )));
    }
    let has_attachments = !m.attachments.is_empty() || m.extra.contains_key("sticker_id");
    match (&m.text, &m.attachment) {
        (Some(_), Some(_)) => {
            return Err(GraphFailure::param(
                "(#100) Only one of text or attachment may be set in param message",
            ))
        }
        (None, None) if !has_attachments => {
            return Err(
                GraphFailure::param("(#100) param message must be non-empty.").subcode(2_018_034),
            )
        }
        _ => {}
    }
    if let Some(text) = &m.text {
        if text.is_empty() {
            return Err(
                GraphFailure::param("(#100) param message must be non-empty.").subcode(2_018_034),
            );
        }
        match platform {
            Platform::Messenger if chars(text) > MAX_TEXT_CHARS => {
                return Err(too_long("message[text]", MAX_TEXT_CHARS));
            }
            Platform::Instagram => crate::instagram_rules::check_text(text)?,
            Platform::Messenger => {}
        }
    }
    if let Some(meta) = &m.metadata {
        if chars(meta) > MAX_METADATA_CHARS {
            return Err(too_long("message[metadata]", MAX_METADATA_CHARS));
        }
    }
    if m.quick_replies.len() > MAX_QUICK_REPLIES {
        return Err(too_long("message[quick_replies]", MAX_QUICK_REPLIES));
    }
    for (i, q) in m.quick_replies.iter().enumerate() {
        if platform == Platform::Instagram {
            crate::instagram_rules::check_quick_reply(i, q)?;
        }
        if q.title.as_deref().map_or(0, chars) > MAX_QUICK_REPLY_TITLE_CHARS {
            return Err(too_long(
                &format!("message[quick_replies][{i}][title]"),
                MAX_QUICK_REPLY_TITLE_CHARS,
            ));
        }
        if q.payload.as_deref().map_or(0, chars) > MAX_PAYLOAD_CHARS {
            return Err(too_long(
                &format!("message[quick_replies][{i}][payload]"),
                MAX_PAYLOAD_CHARS,
            ));
        }
    }
    if let Some(a) = &m.attachment {
        check_attachment(a)?;
    }
    Ok(())
}

fn check_attachment(a: &Attachment) -> Result<(), GraphFailure> {
    if let Some(p) = a.media_payload() {
        if p.url.is_none() && p.attachment_id.is_none() {
            return Err(GraphFailure::param(
                "(#100) Param message[attachment][payload] must have a url or an attachment_id",
            ));
        }
        return Ok(());
    }
    let Attachment::Template(t) = a else {
        return Ok(());
    };
    match t {
        Template::Generic(g) => {
            if g.elements.is_empty() || g.elements.len() > MAX_GENERIC_ELEMENTS {
                return Err(GraphFailure::param(format!(
                    "(#100) Param message[attachment][payload][elements] must be an array with \
                     1 to {MAX_GENERIC_ELEMENTS} items"
                )));
            }
            for (i, e) in g.elements.iter().enumerate() {
                let at = format!("message[attachment][payload][elements][{i}]");
                if chars(&e.title) > MAX_ELEMENT_TITLE_CHARS {
                    return Err(too_long(&format!("{at}[title]"), MAX_ELEMENT_TITLE_CHARS));
                }
                if e.subtitle.as_deref().map_or(0, chars) > MAX_ELEMENT_TITLE_CHARS {
                    return Err(too_long(
                        &format!("{at}[subtitle]"),
                        MAX_ELEMENT_TITLE_CHARS,
                    ));
                }
                check_buttons(&at, &e.buttons, 0)?;
            }
        }
        Template::Button(b) => {
            if chars(&b.text) > MAX_BUTTON_TEMPLATE_TEXT_CHARS {
                return Err(too_long(
                    "message[attachment][payload][text]",
                    MAX_BUTTON_TEMPLATE_TEXT_CHARS,
                ));
            }
            check_buttons("message[attachment][payload]", &b.buttons, 1)?;
        }
        _ => {}
    }
    Ok(())
}

fn check_buttons(
    at: &str,
    buttons: &[messenger_model::graph::Button],
    min: usize,
) -> Result<(), GraphFailure> {
    if buttons.len() < min || buttons.len() > MAX_BUTTONS {
        return Err(GraphFailure::param(format!(
            "(#100) Param {at}[buttons] must be an array with {min} to {MAX_BUTTONS} items"
        )));
    }
    for (i, b) in buttons.iter().enumerate() {
        let v = serde_json::to_value(b).unwrap_or_default();
        let title = v.get("title").and_then(|t| t.as_str()).unwrap_or("");
        if chars(title) > MAX_BUTTON_TITLE_CHARS {
            return Err(too_long(
                &format!("{at}[buttons][{i}][title]"),
                MAX_BUTTON_TITLE_CHARS,
            ));
        }
        let payload = v.get("payload").and_then(|t| t.as_str()).unwrap_or("");
        if chars(payload) > MAX_PAYLOAD_CHARS {
            return Err(too_long(
                &format!("{at}[buttons][{i}][payload]"),
                MAX_PAYLOAD_CHARS,
            ));
        }
    }
    Ok(())
}

/// Graph's refusal of a body that does not have the Send API's shape: names the first field
/// that is wrong.
pub(crate) fn diagnose_shape(body: &serde_json::Value) -> GraphFailure {
    let Some(obj) = body.as_object() else {
        return GraphFailure::param("(#100) Invalid JSON for postbody");
    };
    if let Some(r) = obj.get("recipient") {
        match r.get("id") {
            Some(id) if !id.is_string() => {
                return GraphFailure::param(
                    "(#100) Param recipient[id] must be a valid ID string (e.g., \"123\")",
                )
            }
            _ => {}
        }
        if let Err(e) = serde_json::from_value::<Recipient>(r.clone()) {
            return GraphFailure::param(format!("(#100) Invalid parameter recipient: {e}"));
        }
    }
    if let Some(m) = obj.get("message") {
        if let Err(e) = serde_json::from_value::<Message>(m.clone()) {
            return GraphFailure::param(format!("(#100) Invalid parameter message: {e}"));
        }
    }
    for key in [
        "messaging_type",
        "tag",
        "notification_type",
        "sender_action",
        "persona_id",
    ] {
        if obj.get(key).is_some_and(|v| !v.is_string() && !v.is_null()) {
            return GraphFailure::param(format!("(#100) Param {key} must be a string"));
        }
    }
    GraphFailure::param("(#100) Invalid parameter")
}

#[cfg(test)]
mod tests;
