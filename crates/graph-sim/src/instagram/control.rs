//! The control API's Instagram routes (listed in [`crate::control`]): users, what they do,
//! tokens, the webhook shape and what each account sent.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::state::SimState;
use crate::SimError;

use super::script::{actions_of, new_user, sent_by, user_comments, user_reads, user_writes};
use super::InstagramShape;

type St = State<Arc<SimState>>;

pub(crate) fn routes() -> Router<Arc<SimState>> {
    Router::new()
        .route("/_sim/instagram/shape", put(set_shape))
        .route("/_sim/instagram/tokens/{token}/age", post(age_token))
        .route("/_sim/instagram/comments/{comment}/time", put(comment_time))
        .route("/_sim/instagram/{account}/users", post(create_user))
        .route(
            "/_sim/instagram/{account}/users/{igsid}/last-message",
            put(last_message),
        )
        .route("/_sim/instagram/{account}/messages", post(message))
        .route("/_sim/instagram/{account}/reads", post(read))
        .route("/_sim/instagram/{account}/comments", post(comment))
        .route("/_sim/instagram/{account}/sent", get(sent))
        .route("/_sim/instagram/{account}/actions", get(actions))
}

/// A simulator error as the control API answers it: 404 for what it does not know, 502 when the
/// webhook receiver could not be reached.
fn failure(e: &SimError) -> Response {
    let status = match e {
        SimError::UnknownInstagram { .. } => StatusCode::NOT_FOUND,
        SimError::NoWebhookUrl => StatusCode::CONFLICT,
        _ => StatusCode::BAD_GATEWAY,
    };
    (status, Json(json!({ "error": e.to_string() }))).into_response()
}

/// The shape named (the current one when none is), or a 400 naming the field.
fn shape_of(name: Option<&str>, state: &SimState) -> Result<InstagramShape, String> {
    match name {
        None => Ok(state.instagram.shape()),
        Some("messaging") => Ok(InstagramShape::Messaging),
        Some("changes") => Ok(InstagramShape::Changes),
        Some(other) => Err(format!("shape must be messaging or changes, not {other}")),
    }
}

fn bad_request(error: &str) -> Response {
    (StatusCode::BAD_REQUEST, Json(json!({ "error": error }))).into_response()
}

#[derive(Debug, Deserialize)]
struct ShapeRequest {
    shape: String,
}

async fn set_shape(State(state): St, Json(req): Json<ShapeRequest>) -> Response {
    match shape_of(Some(&req.shape), &state) {
        Ok(shape) => {
            state.instagram.set_shape(shape);
            StatusCode::NO_CONTENT.into_response()
        }
        Err(e) => bad_request(&e),
    }
}

#[derive(Debug, Deserialize)]
struct AgeRequest {
    seconds: u64,
}

async fn age_token(
    State(state): St,
    Path(token): Path<String>,
    Json(req): Json<AgeRequest>,
) -> Response {
    let by = i64::try_from(Duration::from_secs(req.seconds).as_millis()).unwrap_or(i64::MAX / 2);
    match state.instagram.age(&token, by) {
        Some(t) => Json(json!({
            "account_id": t.account_id,
            "issued_at_millis": t.issued_at_millis,
            "expires_at_millis": t.expires_at_millis,
        }))
        .into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

#[derive(Debug, Deserialize)]
struct AtRequest {
    at_millis: i64,
}

async fn comment_time(
    State(state): St,
    Path(comment): Path<String>,
    Json(req): Json<AtRequest>,
) -> StatusCode {
    if state.instagram.set_comment_time(&comment, req.at_millis) {
        StatusCode::NO_CONTENT
    } else {
        StatusCode::NOT_FOUND
    }
}

async fn create_user(State(state): St, Path(account): Path<String>) -> Response {
    match new_user(&state, &account) {
        Ok(igsid) => (StatusCode::CREATED, Json(json!({ "igsid": igsid }))).into_response(),
        Err(e) => failure(&e),
    }
}

async fn last_message(
    State(state): St,
    Path((account, igsid)): Path<(String, String)>,
    Json(req): Json<AtRequest>,
) -> Response {
    if !state.instagram.is_user_of(&account, &igsid) {
        return failure(&SimError::UnknownInstagram {
            kind: "user",
            id: igsid,
        });
    }
    state.window.set_inbound(&account, &igsid, req.at_millis);
    StatusCode::NO_CONTENT.into_response()
}

/// What a user does: who, the text or the `mid`, the shape, the media.
#[derive(Debug, Deserialize)]
struct UserAct {
    igsid: String,
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    mid: Option<String>,
    #[serde(default)]
    shape: Option<String>,
    #[serde(default)]
    media_id: Option<String>,
}

fn missing(field: &str) -> Response {
    bad_request(&format!("{field} is required"))
}

async fn message(
    State(state): St,
    Path(account): Path<String>,
    Json(req): Json<UserAct>,
) -> Response {
    let shape = match shape_of(req.shape.as_deref(), &state) {
        Ok(s) => s,
        Err(e) => return bad_request(&e),
    };
    let Some(text) = req.text else {
        return missing("text");
    };
    match user_writes(&state, &account, &req.igsid, &text, shape).await {
        Ok(p) => Json(json!({"mid": p.id, "status": p.status})).into_response(),
        Err(e) => failure(&e),
    }
}

async fn read(State(state): St, Path(account): Path<String>, Json(req): Json<UserAct>) -> Response {
    let shape = match shape_of(req.shape.as_deref(), &state) {
        Ok(s) => s,
        Err(e) => return bad_request(&e),
    };
    let Some(mid) = req.mid else {
        return missing("mid");
    };
    match user_reads(&state, &account, &req.igsid, &mid, shape).await {
        Ok(status) => Json(json!({ "status": status })).into_response(),
        Err(e) => failure(&e),
    }
}

async fn comment(
    State(state): St,
    Path(account): Path<String>,
    Json(req): Json<UserAct>,
) -> Response {
    let Some(text) = req.text else {
        return missing("text");
    };
    let media = req.media_id.as_deref();
    match user_comments(&state, &account, &req.igsid, &text, media).await {
        Ok(p) => Json(json!({"comment_id": p.id, "status": p.status})).into_response(),
        Err(e) => failure(&e),
    }
}

async fn sent(State(state): St, Path(account): Path<String>) -> Json<Value> {
    Json(Value::Array(
        sent_by(&state, &account)
            .iter()
            .map(|s| {
                json!({
                    "mid": s.mid,
                    "account_id": s.account_id,
                    "host": s.host.as_str(),
                    "recipient_id": s.recipient_id,
                    "comment_id": s.comment_id,
                    "at_millis": s.at_millis,
                    "request": s.request,
                })
            })
            .collect(),
    ))
}

async fn actions(State(state): St, Path(account): Path<String>) -> Json<Value> {
    Json(Value::Array(
        actions_of(&state, &account)
            .iter()
            .map(|a| {
                json!({
                    "account_id": a.account_id,
                    "recipient_id": a.recipient_id,
                    "action": a.action,
                    "message_id": a.message_id,
                    "reaction": a.reaction,
                    "at_millis": a.at_millis,
                })
            })
            .collect(),
    ))
}
