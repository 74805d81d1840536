//! Thread control (Meta's handover protocol): each conversation's owner app, the endpoints that
//! move it (`POST /v{N}/me/pass_thread_control`, `take_thread_control`,
//! `release_thread_control`, `request_thread_control`) and read it (`GET
//! /v{N}/me/thread_owner?recipient=`), and the Send API's refusal of a send to a conversation
//! another app controls: HTTP 400, `(#10) Message failed to send because another app is
//! controlling this thread now.`, code 10, subcode 2018300, as Meta answers it.
//!
//! A conversation nobody owns is idle: any app may send. The simulated app is the one of
//! [`crate::GraphSimBuilder::app_id`]; tests make another app the owner with
//! [`crate::GraphSim::set_thread_owner`].

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, Uri};
use axum::response::Response;
use bytes::Bytes;
use messenger_model::graph::{ThreadControlRequest, MAX_THREAD_METADATA_CHARS};
use serde_json::json;

use crate::graph_api::{self, GraphFailure};
use crate::persona_api::enter;
use crate::state::SimState;
use crate::thread_owners::another_app_controls;

/// `POST /{version}/{node}/{action}_thread_control` with `recipient` (and `target_app_id` for a
/// pass), `metadata` optional.
pub(crate) async fn control(
    State(state): State<Arc<SimState>>,
    Path((version, node)): Path<(String, String)>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    state.record(&method, &uri, &headers, &body);
    let edge = uri.path().rsplit('/').next().unwrap_or_default().to_owned();
    let result = match enter(&state, &version, &node, &uri, &headers, None).await {
        Ok(page) => control_on(&state, &page, &edge, &uri, &body),
        Err(f) => Err(f),
    };
    graph_api::answer(&state.ids, result)
}

fn control_on(
    state: &SimState,
    page: &str,
    edge: &str,
    uri: &Uri,
    body: &[u8],
) -> Result<serde_json::Value, GraphFailure> {
    let req: ThreadControlRequest = serde_json::from_slice(body).map_err(|e| {
        GraphFailure::param(format!(
            "(#100) The request body is not a thread control request: {e}"
        ))
    })?;
    let Some(psid) = req.recipient.id.clone().filter(|p| !p.is_empty()) else {
        return Err(GraphFailure::param(
            "(#100) The parameter recipient is required",
        ));
    };
    if req
        .metadata
        .as_ref()
        .is_some_and(|m| m.chars().count() > MAX_THREAD_METADATA_CHARS)
    {
        return Err(GraphFailure::param(format!(
            "(#100) Param metadata must be at most {MAX_THREAD_METADATA_CHARS} characters"
        )));
    }
    let us = state.config.app_id.as_str();
    let owner = state.threads.owner(page, &psid);
    match edge {
        "pass_thread_control" => {
            let Some(target) = req.target_app_id.filter(|t| !t.is_empty()) else {
                return Err(GraphFailure::param(
                    "(#100) The parameter target_app_id is required",
                ));
            };
            if owner.as_deref().is_some_and(|o| o != us) {
                return Err(another_app_controls());
            }
            state.threads.set(page, &psid, Some(target));
        }
        "take_thread_control" => state.threads.set(page, &psid, Some(us.to_owned())),
        "release_thread_control" => {
            if owner.as_deref().is_some_and(|o| o != us) {
                return Err(another_app_controls());
            }
            state.threads.set(page, &psid, None);
        }
        "request_thread_control" => {}
        _ => return Err(graph_api::unknown_path(uri.path())),
    }
    Ok(json!({"success": true}))
}

/// `GET /{version}/{node}/thread_owner?recipient=<PSID>`.
pub(crate) async fn owner(
    State(state): State<Arc<SimState>>,
    Path((version, node)): Path<(String, String)>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    state.record(&method, &uri, &headers, &Bytes::new());
    let result = match enter(&state, &version, &node, &uri, &headers, None).await {
        Ok(page) => owner_of(&state, &page, &uri),
        Err(f) => Err(f),
    };
    graph_api::answer(&state.ids, result)
}

fn owner_of(state: &SimState, page: &str, uri: &Uri) -> Result<serde_json::Value, GraphFailure> {
    let psid = uri
        .query()
        .unwrap_or_default()
        .split('&')
        .find_map(|kv| kv.strip_prefix("recipient="))
        .filter(|p| !p.is_empty())
        .ok_or_else(|| GraphFailure::param("(#100) The parameter recipient is required"))?;
    Ok(match state.threads.owner(page, psid) {
        Some(app) => json!({"data": [{"thread_owner": {"app_id": app}}]}),
        None => json!({"data": []}),
    })
}
