//! `POST /apispaces/{space}/channels/facebook/actions`: a sender action (`typing_on`,
//! `typing_off`, `mark_seen`) to a recipient addressed like a send's `to`, handed to Graph at
//! once in a request of its own and never stored. 202 once Graph took it.

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use messenger::send::{action_name, parse_action};
use messenger_graph::Blame;
use messenger_model::graph::SenderAction;
use messenger_model::To;
use serde_json::{json, Map, Value};

use super::auth::SpaceAccess;
use super::body::json_body;
use super::problem::{body_id_error, json_type, pointer_of, shorten, Problem, ProblemError};
use super::AppState;

/// The fields of an action request.
const FIELDS: [&str; 3] = ["to", "action", "personaId"];

/// The string fields of `to`, as a send request has them.
const TO_STRINGS: [&str; 7] = [
    "profileId",
    "fbMessengerId",
    "phoneNumber",
    "mobileNumber",
    "email",
    "firstName",
    "lastName",
];

/// A checked action request.
struct ActionRequest {
    to: To,
    action: SenderAction,
    persona_id: Option<String>,
}

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
                    "unknown field {:?}: an action request has to, action and personaId; \
                     Meta wants an action in a request of its own",
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
                "to is required: who the action is for (profileId or fbMessengerId)",
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
    let names = "typing_on, typing_off or mark_seen";
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
    let persona_id = match map.remove("personaId") {
        None | Some(Value::Null) => None,
        Some(Value::String(id)) => {
            if let Err(v) = messenger_validate::check_persona_id_at(&id, "/personaId") {
                errors.push(ProblemError::from_violation("", &v));
            }
            Some(id)
        }
        Some(other) => {
            errors.push(ProblemError::new(
                "/personaId",
                "field.type",
                format!("personaId must be a string, not {}", json_type(&other)),
            ));
            None
        }
    };
    if persona_id.is_some() && action == Some(SenderAction::MarkSeen) {
        errors.push(ProblemError::new(
            "/personaId",
            "persona_id.not_with_mark_seen",
            "Meta takes a persona only with typing_on and typing_off: drop personaId for mark_seen",
        ));
    }
    match (to, action) {
        (Some(to), Some(action)) if errors.is_empty() => Ok(ActionRequest {
            to,
            action,
            persona_id,
        }),
        _ => Err(Problem::invalid_entries(errors)),
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
    for key in ["profileId", "fbMessengerId"] {
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

/// `POST /apispaces/{space}/channels/facebook/actions` with `{"to", "action", "personaId"?}`.
///
/// 202 `{"action", "addressedBy"}` once Graph accepted the action. 400 for a bad body (each
/// field named) and for an action that cannot be sent now (`/problems/action-refused`:
/// `to.unaddressable`, `window.closed`); Graph's refusals as [`Problem::graph`] says.
pub(super) async fn send_action(
    State(state): State<AppState>,
    access: SpaceAccess,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, Problem> {
    let (_, value) = json_body(&headers, body, state.limits.profile).await?;
    let req = action_request(value)?;
    let name = action_name(req.action);
    let outcome = state
        .messenger
        .send_action(
            &access.space,
            &req.to,
            req.action,
            req.persona_id.as_deref(),
        )
        .await;
    state.metrics.sender_action(name, result_label(&outcome));
    let sent = outcome?;
    let body = json!({"action": name, "addressedBy": sent.source.describe()});
    Ok((StatusCode::ACCEPTED, Json(body)).into_response())
}
