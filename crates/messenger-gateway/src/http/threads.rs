//! Thread control (Meta's handover protocol) on a customer's conversation, through the space's
//! Graph client: `POST /apispaces/{space}/channels/facebook/threads/{fbMessengerId}/pass`
//! (`{"targetAppId", "metadata"?}`), `/take`, `/release` and `/request` (`{"metadata"?}` or no
//! body), and `GET .../threads/{fbMessengerId}/owner`. Nothing is stored: Graph keeps the
//! owner, and `facebook.handover` events tell the business when the conversation moves.
//!
//! Answers: 200 `{"fbMessengerId", "action", "targetAppId"?}` once Graph did it, 200
//! `{"fbMessengerId", "ownerAppId"}` for the owner (`null`: idle); 400 naming a bad PSID, app id
//! or metadata; Graph's refusals as [`Problem::graph`] says (another app controlling the
//! conversation is Graph's 10/2018300, 422).

use axum::body::Body;
use axum::extract::{MatchedPath, State};
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use axum::Json;
use messenger_model::graph::{ThreadAction, MAX_THREAD_METADATA_CHARS};
use serde_json::{json, Map, Value};

use super::auth::{PathParams, SpaceAccess};
use super::body::json_body;
use super::problem::{json_type, pointer_of, shorten, Problem, ProblemError};
use super::AppState;

/// The longest PSID or app id taken (Graph ids are decimal, about 16 digits).
const MAX_ID_DIGITS: usize = 32;

fn is_id(s: &str) -> bool {
    !s.is_empty() && s.len() <= MAX_ID_DIGITS && s.bytes().all(|b| b.is_ascii_digit())
}

/// The `{fbMessengerId}` of the path, checked.
fn psid(params: &PathParams) -> Result<String, Problem> {
    let id = params.get("fbMessengerId")?;
    if is_id(id) {
        Ok(id.to_owned())
    } else {
        Err(Problem::bad_request(
            "fbMessengerId.invalid",
            format!("fbMessengerId must be 1 to {MAX_ID_DIGITS} digits (a PSID)"),
        ))
    }
}

/// A checked thread-control body: the target app of a pass, and the metadata.
struct ControlBody {
    target_app_id: Option<String>,
    metadata: Option<String>,
}

/// Checks a body of `action` (`pass` needs `targetAppId`), naming every bad field.
fn control_body(body: Option<Value>, pass: bool) -> Result<ControlBody, Problem> {
    let mut map = match body {
        None if !pass => Map::new(),
        None => {
            return Err(Problem::invalid(
                "/targetAppId",
                "field.required",
                "targetAppId is required: the app the conversation goes to",
            ))
        }
        Some(Value::Object(map)) => map,
        Some(other) => {
            return Err(Problem::invalid(
                "",
                "field.type",
                format!("the body must be an object, not {}", json_type(&other)),
            ))
        }
    };
    let allowed: &[&str] = if pass {
        &["targetAppId", "metadata"]
    } else {
        &["metadata"]
    };
    let mut errors: Vec<ProblemError> = map
        .keys()
        .filter(|k| !allowed.contains(&k.as_str()))
        .map(|k| {
            ProblemError::new(
                pointer_of(k),
                "field.unknown",
                format!(
                    "unknown field {:?}: this request takes {}",
                    shorten(k),
                    allowed.join(" and ")
                ),
            )
        })
        .collect();
    let target_app_id = if pass {
        match map.remove("targetAppId") {
            Some(Value::String(id)) if is_id(&id) => Some(id),
            Some(Value::String(_)) => {
                errors.push(ProblemError::new(
                    "/targetAppId",
                    "targetAppId.invalid",
                    format!("targetAppId must be an app id: 1 to {MAX_ID_DIGITS} digits"),
                ));
                None
            }
            None | Some(Value::Null) => {
                errors.push(ProblemError::new(
                    "/targetAppId",
                    "field.required",
                    "targetAppId is required: the app the conversation goes to",
                ));
                None
            }
            Some(other) => {
                errors.push(ProblemError::new(
                    "/targetAppId",
                    "field.type",
                    format!(
                        "targetAppId must be a string of digits, not {}",
                        json_type(&other)
                    ),
                ));
                None
            }
        }
    } else {
        None
    };
    let metadata = match map.remove("metadata") {
        None | Some(Value::Null) => None,
        Some(Value::String(m)) if m.chars().count() <= MAX_THREAD_METADATA_CHARS => Some(m),
        Some(Value::String(_)) => {
            errors.push(ProblemError::new(
                "/metadata",
                "metadata.too_long",
                format!("metadata is at most {MAX_THREAD_METADATA_CHARS} characters"),
            ));
            None
        }
        Some(other) => {
            errors.push(ProblemError::new(
                "/metadata",
                "field.type",
                format!("metadata must be a string, not {}", json_type(&other)),
            ));
            None
        }
    };
    if errors.is_empty() {
        Ok(ControlBody {
            target_app_id,
            metadata,
        })
    } else {
        Err(Problem::invalid_entries(errors))
    }
}

/// Whether the request has no body at all (no type and no length, or a zero length).
fn no_body(headers: &HeaderMap) -> bool {
    let length = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .map(str::trim);
    match length {
        Some(l) => l == "0",
        None => headers.get(header::CONTENT_TYPE).is_none(),
    }
}

/// `POST .../threads/{fbMessengerId}/pass` with `{"targetAppId", "metadata"?}`, and `/take`,
/// `/release`, `/request` with `{"metadata"?}` or no body: the action is the path's last
/// segment.
pub(super) async fn control(
    State(state): State<AppState>,
    access: SpaceAccess,
    params: PathParams,
    path: MatchedPath,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, Problem> {
    let psid = psid(&params)?;
    let verb = path.as_str().rsplit('/').next().unwrap_or_default();
    let pass = verb == "pass";
    let value = if no_body(&headers) {
        None
    } else {
        Some(json_body(&headers, body, state.limits.profile).await?.1)
    };
    let checked = control_body(value, pass)?;
    let action = match (verb, checked.target_app_id.clone()) {
        ("pass", Some(target_app_id)) => ThreadAction::Pass { target_app_id },
        ("take", _) => ThreadAction::Take,
        ("release", _) => ThreadAction::Release,
        ("request", _) => ThreadAction::Request,
        _ => return Err(Problem::not_found("no such thread control")),
    };
    state
        .messenger
        .thread_control(&access.space, &psid, &action, checked.metadata.as_deref())
        .await?;
    let mut answer = json!({"fbMessengerId": psid, "action": action.as_str()});
    if let Some(target) = checked.target_app_id {
        answer["targetAppId"] = Value::String(target);
    }
    Ok(Json(answer).into_response())
}

/// `GET .../threads/{fbMessengerId}/owner`: `{"fbMessengerId", "ownerAppId"}` (`null`: idle).
pub(super) async fn owner(
    State(state): State<AppState>,
    access: SpaceAccess,
    params: PathParams,
) -> Result<Response, Problem> {
    let psid = psid(&params)?;
    let owner = state.messenger.thread_owner(&access.space, &psid).await?;
    Ok(Json(json!({"fbMessengerId": psid, "ownerAppId": owner})).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn codes(body: Value, pass: bool) -> Vec<(String, String)> {
        match control_body(Some(body), pass) {
            Ok(_) => Vec::new(),
            Err(p) => p.errors.into_iter().map(|e| (e.path, e.code)).collect(),
        }
    }

    #[test]
    fn bodies_are_checked_field_by_field() {
        assert!(codes(json!({"targetAppId": "263902037430900"}), true).is_empty());
        assert!(codes(json!({"metadata": "hi"}), false).is_empty());
        assert_eq!(
            codes(
                json!({"targetAppId": "app-1", "metadata": "x".repeat(1001)}),
                true
            ),
            [
                ("/targetAppId".to_owned(), "targetAppId.invalid".to_owned()),
                ("/metadata".to_owned(), "metadata.too_long".to_owned()),
            ]
        );
        assert_eq!(
            codes(json!({"targetAppId": "1"}), false),
            [("/targetAppId".to_owned(), "field.unknown".to_owned())]
        );
        assert_eq!(
            codes(json!({}), true),
            [("/targetAppId".to_owned(), "field.required".to_owned())]
        );
        assert!(control_body(None, false).is_ok());
        assert!(control_body(None, true).is_err());
    }
}
