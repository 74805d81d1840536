//! `POST /apispaces/{space}/channels/facebook/actions`: a sender action (`typing_on`,
//! `typing_off`, `mark_seen`; on Instagram also `react` and `unreact` to a customer's message)
//! to a recipient addressed like a send's `to` (`fbMessengerId`, `instagramId`, `profileId`),
//! handed to Graph at once in a request of its own and never stored. 202 once Graph took it.

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use messenger::send::{action_name, parse_action, ActionRequest};
use messenger_graph::Blame;
use messenger_model::graph::SenderAction;
use messenger_model::To;
use serde_json::{json, Map, Value};

use super::auth::SpaceAccess;
use super::body::json_body;
use super::channels::{self, Connected};
use super::problem::{body_id_error, json_type, pointer_of, shorten, Problem, ProblemError};
use super::AppState;

/// The fields of an action request.
const FIELDS: [&str; 5] = ["to", "action", "personaId", "messageId", "reaction"];

/// The string fields of `to`, as a send request has them.
const TO_STRINGS: [&str; 9] = [
    "profileId",
    "fbMessengerId",
    "instagramId",
    "commentId",
    "phoneNumber",
    "mobileNumber",
    "email",
    "firstName",
    "lastName",
];

/// Checks an action body, naming every bad field.
fn action_request(body: Value) -> Result<ActionRequest, Problem> {
    let Value::Object(mut map) = body else {
        return Err(Problem::invalid(
            "",
            "field.type",
            format!(
                "the body must be an object {{\"to\": {{...}}, \"action\": \"typing_on\"}}, not {}",
                json_type(&body)
            ),
        ));
    };
    let mut errors: Vec<ProblemError> = map
        .keys()
        .filter(|k| !FIELDS.contains(&k.as_str()))
        .map(|k| {
            ProblemError::new(
                pointer_of(k),
                "field.unknown",
                format!(
                    "unknown field {:?}: an action request has to, action, personaId, \
                     messageId and reaction; Meta wants an action in a request of its own",
                    shorten(k)
                ),
            )
        })
        .collect();
    let to = match map.remove("to") {
        Some(Value::Object(to)) => check_to(to, &mut errors),
        None | Some(Value::Null) => {
            errors.push(ProblemError::new(
                "/to",
                "field.required",
                "to is required: who the action is for (profileId, fbMessengerId or instagramId)",
            ));
            None
        }
        Some(other) => {
            errors.push(ProblemError::new(
                "/to",
                "field.type",
                format!("to must be an object, not {}", json_type(&other)),
            ));
            None
        }
    };
    let names = "typing_on, typing_off, mark_seen, or (on Instagram) react or unreact";
    let action = match map.remove("action") {
        Some(Value::String(name)) => match parse_action(&name) {
            Some(a) => Some(a),
            None => {
                errors.push(ProblemError::new(
                    "/action",
                    "field.enum",
                    format!("unknown action {:?}: use {names}", shorten(&name)),
                ));
                None
            }
        },
        None | Some(Value::Null) => {
            errors.push(ProblemError::new(
                "/action",
                "field.required",
                format!("action is required: {names}"),
            ));
            None
        }
        Some(other) => {
            errors.push(ProblemError::new(
                "/action",
                "field.type",
                format!(
                    "action must be a string ({names}), not {}",
                    json_type(&other)
                ),
            ));
            None
        }
    };
    let persona_id = optional_string(&mut map, "personaId", &mut errors);
    if let Some(id) = &persona_id {
        if let Err(v) = messenger_validate::check_persona_id_at(id, "/personaId") {
            errors.push(ProblemError::from_violation("", &v));
        }
    }
    let message_id = optional_string(&mut map, "messageId", &mut errors);
    let reaction = optional_string(&mut map, "reaction", &mut errors);
    if persona_id.is_some() && action == Some(SenderAction::MarkSeen) {
        errors.push(ProblemError::new(
            "/personaId",
            "persona_id.not_with_mark_seen",
            "Meta takes a persona only with typing_on and typing_off: drop personaId for mark_seen",
        ));
    }
    let (Some(to), Some(action)) = (to, action) else {
        return Err(Problem::invalid_entries(errors));
    };
    let mut req = ActionRequest::new(to, action);
    req.persona_id = persona_id;
    req.message_id = message_id;
    req.reaction = reaction;
    // The rules of the request alone (reactions: messageId, reaction, no persona, not to
    // Messenger), as the facade holds every caller to them; a field already named (of the
    // wrong type) is not named twice.
    if let Err(violations) = req.check() {
        let named: Vec<String> = errors.iter().map(|e| e.path.clone()).collect();
        errors.extend(
            violations
                .iter()
                .filter(|v| !named.contains(&v.pointer))
                .map(|v| ProblemError::from_violation("", v)),
        );
    }
    if errors.is_empty() {
        Ok(req)
    } else {
        Err(Problem::invalid_entries(errors))
    }
}

/// The optional string field `name` (absent or null: `None`).
fn optional_string(
    map: &mut Map<String, Value>,
    name: &str,
    errors: &mut Vec<ProblemError>,
) -> Option<String> {
    match map.remove(name) {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s),
        Some(other) => {
            errors.push(ProblemError::new(
                pointer_of(name),
                "field.type",
                format!("{name} must be a string, not {}", json_type(&other)),
            ));
            None
        }
    }
}

/// `to` as a send has it: the known properties are strings (or null), others are kept.
fn check_to(to: Map<String, Value>, errors: &mut Vec<ProblemError>) -> Option<To> {
    let before = errors.len();
    for key in TO_STRINGS {
        match to.get(key) {
            None | Some(Value::Null | Value::String(_)) => {}
            Some(other) => errors.push(ProblemError::new(
                format!("/to/{key}"),
                "field.type",
                format!("to.{key} must be a string, not {}", json_type(other)),
            )),
        }
    }
    for key in ["profileId", "fbMessengerId", "instagramId"] {
        if let Some(Value::String(id)) = to.get(key) {
            errors.extend(body_id_error(&format!("/to/{key}"), id));
        }
    }
    for key in ["phoneNumber", "mobileNumber"] {
        if let Some(Value::String(phone)) = to.get(key) {
            let digits = phone.strip_prefix('+').unwrap_or(phone);
            if !(8..=15).contains(&digits.len()) || !digits.bytes().all(|b| b.is_ascii_digit()) {
                errors.push(ProblemError::new(
                    format!("/to/{key}"),
                    "phone.invalid",
                    format!("to.{key} must be an optional + and 8 to 15 digits"),
                ));
            }
        }
    }
    if errors.len() > before {
        return None;
    }
    match serde_json::from_value::<To>(Value::Object(to)) {
        Ok(to) => Some(to),
        Err(e) => {
            errors.push(ProblemError::new(
                "/to",
                "json.shape",
                format!("to is not a recipient: {e}"),
            ));
            None
        }
    }
}

/// The `result` label of `sender_actions_total` for an outcome.
fn result_label<T>(outcome: &Result<T, messenger::Error>) -> &'static str {
    match outcome {
        Ok(_) => "sent",
        Err(messenger::Error::ActionRefused(_)) => "refused",
        Err(messenger::Error::Graph(e)) => match e.kind().blame() {
            Blame::Pace | Blame::Platform | Blame::Credentials => "graph_unavailable",
            _ => "graph_refused",
        },
        Err(_) => "error",
    }
}

/// `POST /apispaces/{space}/channels/facebook/actions` with `{"to", "action", "personaId"?,
/// "messageId"?, "reaction"?}`.
///
/// The action goes out on Instagram, from the space's Instagram account, for `to.instagramId`,
/// for `react` / `unreact` (with `messageId`, the `mid` of the customer's message, and for
/// `react` a `reaction`: `love`, the only one Meta documents), and for a profile reached only by
/// an IGSID; on Messenger otherwise (`personaId` only there, with the typing actions).
///
/// 202 `{"action", "addressedBy", "channel"}` once Graph accepted the action. 400 for a bad body
/// (each field named: types, unknown fields, a reaction without `messageId` or with another
/// reaction, `messageId` or `reaction` with another action, `personaId` with `mark_seen` or on
/// Instagram, a reaction to `to.fbMessengerId`, `to.commentId`) and for an action that cannot be
/// sent now (`/problems/action-refused`: `to.unaddressable`, `window.closed`,
/// `channel.unsupported`); 422 `/problems/channel-not-connected` for `to.instagramId`,
/// `to.commentId`, `react` or `unreact` in a space with no Instagram account; Graph's refusals
/// as [`Problem::graph`] says.
pub(super) async fn send_action(
    State(state): State<AppState>,
    access: SpaceAccess,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, Problem> {
    let (_, value) = json_body(&headers, body, state.limits.profile).await?;
    channels::refuse(Connected::of(&state.messenger, &access.space).unconnected_action(&value))?;
    let req = action_request(value)?;
    let name = action_name(req.action);
    let outcome = state.messenger.send_action(&access.space, &req).await;
    state.metrics.sender_action(name, result_label(&outcome));
    let sent = outcome?;
    let body = json!({
        "action": name,
        "addressedBy": sent.source.describe(),
        "channel": sent.channel.as_str(),
    });
    Ok((StatusCode::ACCEPTED, Json(body)).into_response())
}
