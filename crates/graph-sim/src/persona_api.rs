//! Graph's personas endpoints: `POST /v{N}/{page}/personas`, `GET /v{N}/{page}/personas`
//! (cursor-paged), `GET /v{N}/{persona-id}` and `DELETE /v{N}/{persona-id}`, over the book in
//! [`crate::personas`].

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, Uri};
use axum::response::Response;
use bytes::Bytes;
use messenger_model::graph::Persona;
use serde_json::{json, Value};

use crate::faults::graph_failure;
use crate::graph_api::{self, authenticate, token_of, GraphFailure, QueryParams};
use crate::personas::{
    no_such_object, DEFAULT_PERSONA_LIMIT, MAX_PERSONA_LIMIT, MAX_PERSONA_NAME_CHARS,
};
use crate::send_api::form_to_json;
use crate::state::SimState;

fn answer(state: &SimState, result: Result<Value, GraphFailure>) -> Response {
    match result {
        Ok(v) => {
            let mut r = graph_api::json_ok(serde_json::to_vec(&v).unwrap_or_default());
            state.faults.add_usage(&mut r);
            r
        }
        Err(f) => f.into_response_with(&state.ids),
    }
}

/// Authenticates a personas call and applies the global faults.
pub(crate) async fn enter(
    state: &SimState,
    version: &str,
    node: &str,
    uri: &Uri,
    headers: &HeaderMap,
    body_token: Option<&str>,
) -> Result<Arc<str>, GraphFailure> {
    if !graph_api::is_version(version) {
        return Err(graph_api::unknown_path(uri.path()));
    }
    let query = QueryParams::parse(uri.query());
    let token = token_of(&query, headers, body_token);
    let page_id = authenticate(
        &state.config.tokens,
        token,
        query.appsecret_proof.as_deref(),
        node,
    )?;
    let triggered = state.faults.take(&[]);
    triggered.wait().await;
    if let Some(f) = triggered
        .fault
        .as_ref()
        .and_then(|f| graph_failure(f, &page_id))
    {
        return Err(f);
    }
    Ok(page_id)
}

/// `POST /{version}/{node}/personas` with `name` and `profile_picture_url` (JSON or form).
pub(crate) async fn create(
    State(state): State<Arc<SimState>>,
    Path((version, node)): Path<(String, String)>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    state.record(&method, &uri, &headers, &body);
    let result = create_inner(&state, &version, &node, &uri, &headers, &body).await;
    answer(&state, result)
}

async fn create_inner(
    state: &SimState,
    version: &str,
    node: &str,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Value, GraphFailure> {
    let fields: Value = serde_json::from_slice(body).unwrap_or_else(|_| form_to_json(body));
    let body_token = fields.get("access_token").and_then(Value::as_str);
    let page_id = enter(state, version, node, uri, headers, body_token).await?;
    let name = match fields.get("name") {
        Some(Value::String(n)) if !n.trim().is_empty() => n.clone(),
        Some(Value::String(_)) | None => {
            return Err(GraphFailure::param("(#100) The parameter name is required"))
        }
        Some(_) => return Err(GraphFailure::param("(#100) Param name must be a string")),
    };
    if name.chars().count() > MAX_PERSONA_NAME_CHARS {
        return Err(GraphFailure::param(format!(
            "(#100) Length of param name must be less than or equal to {MAX_PERSONA_NAME_CHARS}"
        )));
    }
    let picture = match fields.get("profile_picture_url") {
        Some(Value::String(u)) if !u.is_empty() => u.clone(),
        Some(Value::String(_)) | None => {
            return Err(GraphFailure::param(
                "(#100) The parameter profile_picture_url is required",
            ))
        }
        Some(_) => {
            return Err(GraphFailure::param(
                "(#100) Param profile_picture_url must be a string",
            ))
        }
    };
    let is_url = url::Url::parse(&picture)
        .ok()
        .is_some_and(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some());
    if !is_url {
        return Err(GraphFailure::param(
            "(#100) Param profile_picture_url must be a valid URL",
        ));
    }
    let persona = Persona {
        id: state.ids.new_numeric_id(),
        name,
        profile_picture_url: Some(picture),
    };
    let id = persona.id.clone();
    state.personas.insert(&page_id, persona);
    Ok(json!({ "id": id }))
}

/// `GET /{version}/{node}/personas?limit=&after=`.
pub(crate) async fn list(
    State(state): State<Arc<SimState>>,
    Path((version, node)): Path<(String, String)>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    state.record(&method, &uri, &headers, &Bytes::new());
    let result = list_inner(&state, &version, &node, &uri, &headers).await;
    answer(&state, result)
}

async fn list_inner(
    state: &SimState,
    version: &str,
    node: &str,
    uri: &Uri,
    headers: &HeaderMap,
) -> Result<Value, GraphFailure> {
    let page_id = enter(state, version, node, uri, headers, None).await?;
    let (mut limit, mut after) = (DEFAULT_PERSONA_LIMIT, None);
    for (k, v) in url::form_urlencoded::parse(uri.query().unwrap_or("").as_bytes()) {
        match k.as_ref() {
            "limit" => {
                limit = v
                    .parse::<usize>()
                    .ok()
                    .filter(|n| *n > 0)
                    .ok_or_else(|| GraphFailure::param("(#100) Param limit must be a number"))?
                    .min(MAX_PERSONA_LIMIT);
            }
            "after" => after = Some(v.into_owned()),
            _ => {}
        }
    }
    let all = state.personas.of_page(&page_id);
    let start = match &after {
        None => 0,
        Some(cursor) => all
            .iter()
            .position(|p| &p.id == cursor)
            .map(|i| i + 1)
            .ok_or_else(|| GraphFailure::param("(#100) Invalid after cursor"))?,
    };
    let page: Vec<&Persona> = all.iter().skip(start).take(limit).collect();
    if page.is_empty() {
        return Ok(json!({ "data": [] }));
    }
    let more = start + page.len() < all.len();
    let first = page.first().map(|p| p.id.clone());
    let last = page.last().map(|p| p.id.clone());
    let mut paging = json!({ "cursors": { "before": first, "after": last.clone() } });
    if more {
        paging["next"] = json!(format!(
            "https://graph.facebook.com/{version}/{page_id}/personas?limit={limit}&after={}",
            last.unwrap_or_default()
        ));
    }
    Ok(json!({ "data": page, "paging": paging }))
}

/// `DELETE /{version}/{persona-id}`.
pub(crate) async fn delete(
    State(state): State<Arc<SimState>>,
    Path((version, node)): Path<(String, String)>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    state.record(&method, &uri, &headers, &Bytes::new());
    let result: Result<Value, GraphFailure> = async {
        let page_id = enter(&state, &version, "me", &uri, &headers, None).await?;
        if state.personas.remove(&page_id, &node) {
            Ok(json!({ "success": true }))
        } else {
            Err(no_such_object("delete", &node))
        }
    }
    .await;
    answer(&state, result)
}
