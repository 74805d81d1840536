//! The second listener: `graph.instagram.com`, for accounts connected with Instagram Login.
//!
//! | method, path | answers |
//! |---|---|
//! | `POST /v{N}/me/messages`, `/v{N}/{account-id}/messages` | the Send API, Instagram's rules ([`super::send`]) |
//! | `GET /v{N}/me?fields=user_id,username` | `{"id": <app-scoped id>, "user_id", "username"}` (only the fields asked, and `id`) |
//! | `GET /v{N}/{IGSID}?fields=name,username,...` | a user's profile ([`super::profile`]) |
//! | `GET /refresh_access_token?grant_type=ig_refresh_token&access_token=T` | `{"access_token", "token_type": "bearer", "expires_in": 5184000}` |
//!
//! The token comes as on the Facebook host (`access_token`, `Authorization: Bearer`, the body).
//! A page token here is refused as Meta refuses it (`IGApiException` 100, `Unsupported request -
//! method type: post`); an expired Instagram token gets 190/463. `appsecret_proof` is optional;
//! when given it must be the HMAC of the token with the account's Instagram app secret.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, Uri};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use bytes::Bytes;
use messenger_model::Timestamp;
use serde_json::{Map, Value};

use crate::graph_api::{
    self, constant_time_eq, oauth_failure, token_of, GraphFailure, QueryParams,
    INSTAGRAM_ERROR_TYPE,
};
use crate::state::SimState;
use crate::{signature, InstagramHost, InstagramLogin};

use super::accounts::Account;

/// Seconds a refreshed token lives (60 days), as `expires_in` says.
const EXPIRES_IN_SECS: i64 = super::TOKEN_LIFETIME_MILLIS / 1000;

/// The fields `/me` has.
const ME_FIELDS: &[&str] = &["id", "user_id", "username"];

/// The Instagram host's routes.
pub(crate) fn router(state: Arc<SimState>) -> Router {
    Router::new()
        .route("/{version}/{node}/messages", post(send))
        .route("/refresh_access_token", get(refresh))
        .route("/{version}/{node}", get(node))
        .fallback(crate::send_api::fallback)
        .with_state(state)
}

/// Meta's refusal of a token used on the wrong host (a page token on the Instagram host, an
/// Instagram token on the Facebook host).
pub(crate) fn wrong_host(method: &str) -> GraphFailure {
    GraphFailure::new(
        100,
        INSTAGRAM_ERROR_TYPE,
        format!("Unsupported request - method type: {method}"),
    )
}

/// The account of a call on the Instagram host: its token works, its proof (if any) is right,
/// and `node` is `me` or the account (its id or app-scoped id).
fn authenticate(
    state: &SimState,
    token: Option<&str>,
    proof: Option<&str>,
    node: &str,
    method: &str,
) -> Result<Arc<Account>, GraphFailure> {
    let account = authenticate_token(state, token, proof, method)?;
    if is_self(&account, node) {
        Ok(account)
    } else {
        Err(no_such_node(node, method))
    }
}

/// Whether `node` names the account: `me`, its id or its app-scoped id.
fn is_self(account: &Account, node: &str) -> bool {
    let scoped = match &account.login {
        InstagramLogin::Instagram { app_scoped_id, .. } => Some(app_scoped_id.as_str()),
        InstagramLogin::Page(_) => None,
    };
    node == "me" || node == account.id || Some(node) == scoped
}

/// Graph's answer for a node the token cannot reach.
fn no_such_node(node: &str, method: &str) -> GraphFailure {
    GraphFailure::new(
        100,
        INSTAGRAM_ERROR_TYPE,
        format!(
            "Unsupported {method} request. Object with ID '{node}' does not exist, cannot be \
             loaded due to missing permissions, or does not support this operation."
        ),
    )
    .subcode(33)
}

/// The account of an Instagram token that works, its proof (if any) right.
fn authenticate_token(
    state: &SimState,
    token: Option<&str>,
    proof: Option<&str>,
    method: &str,
) -> Result<Arc<Account>, GraphFailure> {
    let Some(token) = token.filter(|t| !t.is_empty()) else {
        return Err(oauth_failure(
            "An active access token must be used to query information about the current user.",
        ));
    };
    let now = Timestamp::now().millis();
    let account = match state.instagram.account_of_token(token, now) {
        Some(found) => found?,
        None if state.config.tokens.contains_key(token) => return Err(wrong_host(method)),
        None => {
            return Err(oauth_failure(
                "Invalid OAuth access token - Cannot parse access token",
            ))
        }
    };
    let InstagramLogin::Instagram { app_secret, .. } = &account.login else {
        return Err(wrong_host(method));
    };
    if let Some(given) = proof.filter(|p| !p.is_empty()) {
        let expected = signature::appsecret_proof(app_secret, token);
        if !constant_time_eq(given.as_bytes(), expected.as_bytes()) {
            return Err(GraphFailure::new(
                100,
                INSTAGRAM_ERROR_TYPE,
                "Invalid appsecret_proof provided in the API argument",
            ));
        }
    }
    Ok(account)
}

/// `POST /{version}/{node}/messages`.
async fn send(
    State(state): State<Arc<SimState>>,
    Path((version, node)): Path<(String, String)>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    state.record(&method, &uri, &headers, &body);
    match send_inner(&state, &version, &node, &uri, &headers, &body).await {
        Ok(mut r) => {
            state.faults.add_usage(&mut r);
            r
        }
        Err(f) => f.into_response_with(&state.ids),
    }
}

async fn send_inner(
    state: &Arc<SimState>,
    version: &str,
    node: &str,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Response, GraphFailure> {
    if !graph_api::is_version(version) {
        return Err(graph_api::unknown_path(uri.path()));
    }
    let query = QueryParams::parse(uri.query());
    let parsed = crate::send_api::parse_body(headers, body);
    let (body_token, body_proof) = match &parsed {
        Ok(w) => (w.access_token.as_deref(), w.appsecret_proof.as_deref()),
        Err(_) => (None, None),
    };
    let token = token_of(&query, headers, body_token);
    let proof = query.appsecret_proof.as_deref().or(body_proof);
    let account = authenticate(state, token, proof, node, "post")?;
    let wire = parsed.map_err(GraphFailure::instagram)?;
    super::send::send(state, &account, InstagramHost::Instagram, wire).await
}

/// `GET /{version}/{node}`: `/me` (or the account), or `refresh_access_token` under a version.
async fn node(
    State(state): State<Arc<SimState>>,
    Path((version, node)): Path<(String, String)>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    state.record(&method, &uri, &headers, &Bytes::new());
    let result = if node == "refresh_access_token" && graph_api::is_version(&version) {
        refresh_inner(&state, &uri, &headers)
    } else {
        get_node(&state, &version, &node, &uri, &headers).await
    };
    graph_api::answer(&state.ids, result)
}

/// `GET /{version}/{node}`: the account itself, or one of its users' profile.
async fn get_node(
    state: &SimState,
    version: &str,
    node: &str,
    uri: &Uri,
    headers: &HeaderMap,
) -> Result<Value, GraphFailure> {
    if !graph_api::is_version(version) {
        return Err(graph_api::unknown_path(uri.path()));
    }
    let query = QueryParams::parse(uri.query());
    let token = token_of(&query, headers, None);
    let proof = query.appsecret_proof.as_deref();
    let account = authenticate_token(state, token, proof, "get")?;
    if is_self(&account, node) {
        me(&account, query.fields.as_deref())
    } else if state.instagram.is_user_of(&account.id, node) {
        super::profile::profile(state, &account, node, query.fields.as_deref()).await
    } else {
        Err(no_such_node(node, "get"))
    }
}

/// `/me`: the account's app-scoped `id`, and `user_id` and `username` when asked.
fn me(account: &Account, fields: Option<&str>) -> Result<Value, GraphFailure> {
    let InstagramLogin::Instagram {
        app_scoped_id,
        username,
        ..
    } = &account.login
    else {
        return Err(wrong_host("get"));
    };
    let fields: Vec<&str> = match fields {
        Some(f) if !f.trim().is_empty() => f.split(',').map(str::trim).collect(),
        _ => vec!["id"],
    };
    if let Some(bad) = fields.iter().find(|f| !ME_FIELDS.contains(f)) {
        return Err(GraphFailure::new(
            100,
            INSTAGRAM_ERROR_TYPE,
            format!("Tried accessing nonexisting field ({bad}) on node type (User)"),
        ));
    }
    let mut out = Map::new();
    out.insert("id".into(), Value::String(app_scoped_id.clone()));
    for f in fields {
        match f {
            "user_id" => out.insert(f.into(), Value::String(account.id.clone())),
            "username" => out.insert(f.into(), Value::String(username.clone())),
            _ => None,
        };
    }
    Ok(Value::Object(out))
}

/// `GET /refresh_access_token?grant_type=ig_refresh_token&access_token=T`.
async fn refresh(
    State(state): State<Arc<SimState>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    state.record(&method, &uri, &headers, &Bytes::new());
    let result = refresh_inner(&state, &uri, &headers);
    graph_api::answer(&state.ids, result)
}

fn refresh_inner(state: &SimState, uri: &Uri, headers: &HeaderMap) -> Result<Value, GraphFailure> {
    let grant = url::form_urlencoded::parse(uri.query().unwrap_or("").as_bytes())
        .find(|(k, _)| k == "grant_type")
        .map(|(_, v)| v.into_owned());
    if grant.as_deref() != Some("ig_refresh_token") {
        return Err(GraphFailure::new(
            100,
            INSTAGRAM_ERROR_TYPE,
            "(#100) Param grant_type must be ig_refresh_token",
        ));
    }
    let query = QueryParams::parse(uri.query());
    let Some(token) = token_of(&query, headers, None).filter(|t| !t.is_empty()) else {
        return Err(oauth_failure(
            "An active access token must be used to query information about the current user.",
        ));
    };
    if state.config.tokens.contains_key(token) {
        return Err(wrong_host("get"));
    }
    let now = Timestamp::now().millis();
    let fresh = state.ids.new_instagram_token();
    let (access_token, _) = state.instagram.refresh(token, fresh, now)?;
    Ok(serde_json::json!({
        "access_token": access_token,
        "token_type": "bearer",
        "expires_in": EXPIRES_IN_SECS,
    }))
}
