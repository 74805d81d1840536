//! Dead-lettered events of the business's webhook: `GET /apispaces/{space}/webhooks/dead` and
//! `POST /apispaces/{space}/webhooks/dead/{eventId}/redrive`.

use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use messenger_store::OutboxEvent;
use serde_json::{json, Value};

use super::auth::{PathParams, SpaceRead};
use super::problem::{path_id, shorten, Problem, ProblemError};
use super::AppState;

/// The default and largest page of a list (dead events, quarantined events).
const DEFAULT_LIMIT: usize = 100;
const MAX_LIMIT: usize = 1000;

fn dead_event(e: &OutboxEvent) -> Value {
    json!({
        "eventId": e.envelope.event_id,
        "name": e.envelope.name,
        "target": e.target,
        "attempts": e.attempts,
        "lastError": e.last_error,
        "createdAt": e.created_at,
        "event": e.envelope,
    })
}

/// The `?limit=` of a list (1 to 1000, default 100); any other parameter is a 400.
pub(super) fn limit_query(query: Option<String>) -> Result<usize, Problem> {
    let mut limit = DEFAULT_LIMIT;
    for (name, value) in url::form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
        match (name.as_ref(), value.parse::<usize>()) {
            ("limit", Ok(n)) if (1..=MAX_LIMIT).contains(&n) => limit = n,
            ("limit", _) => {
                return Err(Problem::bad_request_entries(vec![ProblemError::new(
                    "",
                    "query.limit",
                    format!("limit must be 1 to {MAX_LIMIT}"),
                )]))
            }
            (other, _) => {
                return Err(Problem::bad_request_entries(vec![ProblemError::new(
                    "",
                    "query.unknown",
                    format!("unknown query parameter {:?} (use limit)", shorten(other)),
                )]))
            }
        }
    }
    Ok(limit)
}

/// `GET .../webhooks/dead?limit=`: dead events, oldest first.
pub(super) async fn list_dead(
    State(state): State<AppState>,
    access: SpaceRead,
    RawQuery(query): RawQuery,
) -> Result<Response, Problem> {
    let limit = limit_query(query)?;
    let dead = state
        .messenger
        .store()
        .list_dead(&access.space, limit)
        .await?;
    Ok(Json(dead.iter().map(dead_event).collect::<Vec<_>>()).into_response())
}

/// `POST .../webhooks/dead/{eventId}/redrive`: the event is pending again (202), or 404 when
/// there is no such dead event.
pub(super) async fn redrive(
    State(state): State<AppState>,
    access: SpaceRead,
    params: PathParams,
) -> Result<Response, Problem> {
    let event_id = path_id(&params, "eventId")?;
    let now = state.messenger.now();
    let n = state
        .messenger
        .store()
        .redrive(&access.space, event_id, now)
        .await?;
    if n == 0 {
        return Err(Problem::not_found(format!(
            "there is no dead event {:?} in this API space",
            shorten(event_id)
        )));
    }
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({"eventId": event_id, "redriven": n})),
    )
        .into_response())
}
