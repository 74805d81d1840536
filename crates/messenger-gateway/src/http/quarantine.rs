//! The quarantine of Meta webhook events the gateway could not apply (admin, on the ops
//! listener when there is one): `GET /webhooks/facebook/quarantine?limit=` and
//! `DELETE /webhooks/facebook/quarantine/{key}`.

use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use messenger_store::QuarantinedEvent;
use serde_json::{json, Value};

use super::admin::AdminAccess;
use super::auth::PathParams;
use super::problem::{path_id, shorten, Problem};
use super::webhooks::limit_query;
use super::AppState;

/// An event as listed: its bytes as JSON when they are JSON (they nearly always are), else as
/// text (`rawText`, invalid UTF-8 replaced).
fn listed(e: &QuarantinedEvent) -> Value {
    let (raw, raw_text) = match serde_json::from_slice::<Value>(&e.raw) {
        Ok(v) => (v, Value::Null),
        Err(_) => (
            Value::Null,
            Value::String(String::from_utf8_lossy(&e.raw).into_owned()),
        ),
    };
    json!({
        "key": e.key,
        "reason": e.reason,
        "pageId": e.page_id,
        "receivedAt": e.received_at,
        "quarantinedAt": e.quarantined_at,
        "raw": raw,
        "rawText": raw_text,
    })
}

/// `GET /webhooks/facebook/quarantine?limit=`: quarantined events, oldest first.
pub(super) async fn list(
    State(state): State<AppState>,
    _admin: AdminAccess,
    RawQuery(query): RawQuery,
) -> Result<Response, Problem> {
    let limit = limit_query(query)?;
    let events = state.messenger.store().list_quarantined(limit).await?;
    Ok(Json(events.iter().map(listed).collect::<Vec<_>>()).into_response())
}

/// `DELETE /webhooks/facebook/quarantine/{key}`: 204, or 404 when there is no such event.
pub(super) async fn delete(
    State(state): State<AppState>,
    _admin: AdminAccess,
    params: PathParams,
) -> Result<Response, Problem> {
    let key = path_id(&params, "key")?;
    if state.messenger.store().delete_quarantined(key).await? {
        Ok(StatusCode::NO_CONTENT.into_response())
    } else {
        Err(Problem::not_found(format!(
            "there is no quarantined event {:?}",
            shorten(key)
        )))
    }
}
