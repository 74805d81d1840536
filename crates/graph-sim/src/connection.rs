//! A page's connection to the app, as Graph keeps it: each token's state (valid, revoked with
//! one of error 190's subcodes, its expiry and permissions), answered by `GET /debug_token`,
//! and the app's webhook subscription to each page, `GET`/`POST /{page-id}/subscribed_apps`.
//!
//! A revoked token fails every Graph call made with it, with Graph's 190 and the subcode
//! (`graph_api::TokenState`); restoring it makes it work again (a checkpoint passed, an account
//! confirmed).

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, Uri};
use axum::response::Response;
use bytes::Bytes;
use messenger_model::graph::{
    DebugTokenResponse, GraphError, SubscribedApp, SubscribedApps, TokenDebug,
};
use serde_json::json;

pub(crate) use crate::graph_api::TokenState;
use crate::graph_api::{self, authenticate, oauth_failure, token_of, GraphFailure, QueryParams};
use crate::state::SimState;

/// The app id graph-sim answers with unless the builder sets one.
pub const DEFAULT_APP_ID: &str = "100000000000001";

/// The permissions a page token has unless told otherwise: what a Messenger app is granted.
pub use crate::graph_api::DEFAULT_SCOPES;

/// `GET /{version}/debug_token?input_token=...`, asked with the app's token
/// (`{app id}|{app secret}`).
pub(crate) async fn debug_token(
    State(state): State<Arc<SimState>>,
    Path(version): Path<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    state.record(&method, &uri, &headers, &Bytes::new());
    match debug_inner(&state, &version, &uri, &headers) {
        Ok(data) => {
            graph_api::json_ok(serde_json::to_vec(&DebugTokenResponse { data }).unwrap_or_default())
        }
        Err(f) => f.into_response_with(&state.ids),
    }
}

fn debug_inner(
    state: &SimState,
    version: &str,
    uri: &Uri,
    headers: &HeaderMap,
) -> Result<TokenDebug, GraphFailure> {
    if !graph_api::is_version(version) {
        return Err(graph_api::unknown_path(uri.path()));
    }
    let query = QueryParams::parse(uri.query());
    let app_token = token_of(&query, headers, None).unwrap_or("");
    let app_id = state.config.app_id.as_str();
    let expected = format!(
        "{app_id}|{}",
        state.config.app_secret.as_deref().unwrap_or("")
    );
    let app_ok = match state.config.app_secret {
        Some(_) => graph_api::constant_time_eq(app_token.as_bytes(), expected.as_bytes()),
        None => app_token.starts_with(&format!("{app_id}|")),
    };
    if !app_ok {
        return Err(oauth_failure(
            "Invalid OAuth access token - Cannot parse access token",
        ));
    }
    let input = url::form_urlencoded::parse(uri.query().unwrap_or("").as_bytes())
        .find(|(k, _)| k == "input_token")
        .map(|(_, v)| v.into_owned());
    let Some(input) = input.filter(|t| !t.is_empty()) else {
        return Err(GraphFailure::param(
            "(#100) The parameter input_token is required",
        ));
    };
    let Some(page) = state.config.tokens.get(&input) else {
        return Ok(TokenDebug {
            is_valid: false,
            error: Some(GraphError {
                code: 190,
                message: "Invalid OAuth access token.".into(),
                ..GraphError::default()
            }),
            ..TokenDebug::default()
        });
    };
    let error = page.state.error();
    let expires_at = page.state.expires_at();
    Ok(TokenDebug {
        app_id: Some(app_id.to_owned()),
        kind: Some("PAGE".into()),
        is_valid: error.is_none(),
        expires_at: Some(expires_at),
        data_access_expires_at: None,
        profile_id: Some(page.page_id.to_string()),
        user_id: None,
        scopes: page.state.scopes(),
        error,
    })
}

/// `GET /{version}/{page-id}/subscribed_apps`.
pub(crate) async fn subscribed_apps(
    State(state): State<Arc<SimState>>,
    Path((version, node)): Path<(String, String)>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    state.record(&method, &uri, &headers, &Bytes::new());
    let answer = page_of(&state, &version, &node, &uri, &headers).map(|page_id| {
        let fields = state.subscriptions.of(&page_id);
        let data = if fields.is_empty() {
            Vec::new()
        } else {
            vec![SubscribedApp {
                id: state.config.app_id.clone(),
                name: Some("graph-sim app".into()),
                subscribed_fields: fields,
            }]
        };
        SubscribedApps { data }
    });
    graph_api::answer(&state.ids, answer)
}

/// `POST /{version}/{page-id}/subscribed_apps?subscribed_fields=a,b`: replaces the app's
/// fields for the page (`{"success": true}`). Graph refuses a field it does not know.
pub(crate) async fn subscribe_app(
    State(state): State<Arc<SimState>>,
    Path((version, node)): Path<(String, String)>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    state.record(&method, &uri, &headers, &body);
    let answer = page_of(&state, &version, &node, &uri, &headers).and_then(|page_id| {
        let from_query = url::form_urlencoded::parse(uri.query().unwrap_or("").as_bytes())
            .chain(url::form_urlencoded::parse(&body))
            .find(|(k, _)| k == "subscribed_fields")
            .map(|(_, v)| v.into_owned());
        let Some(list) = from_query.filter(|l| !l.trim().is_empty()) else {
            return Err(GraphFailure::param(
                "(#100) The parameter subscribed_fields is required",
            ));
        };
        let fields: Vec<String> = list.split(',').map(|f| f.trim().to_owned()).collect();
        if let Some(bad) = fields.iter().find(|f| !known_field(f)) {
            return Err(GraphFailure::param(format!(
                "(#100) Param subscribed_fields must be a page webhook field - got \"{bad}\""
            )));
        }
        state.subscriptions.set(&page_id, fields);
        Ok(())
    });
    graph_api::answer(&state.ids, answer.map(|()| json!({"success": true})))
}

/// Page fields graph-sim accepts in a subscription besides Messenger's
/// ([`messenger_model::graph::MESSENGER_WEBHOOK_FIELDS`]).
const OTHER_FIELDS: &[&str] = &[
    "messaging_account_linking",
    "messaging_feedback",
    "messaging_game_plays",
    "messaging_policy_enforcement",
    "message_template_status_update",
    "feed",
];

/// Whether graph-sim accepts `field` in a subscription.
fn known_field(field: &str) -> bool {
    messenger_model::graph::MESSENGER_WEBHOOK_FIELDS
        .iter()
        .chain(OTHER_FIELDS)
        .any(|f| *f == field)
}

/// The page a `subscribed_apps` call is for, after the token checks (the token's page must be
/// the path's).
fn page_of(
    state: &SimState,
    version: &str,
    node: &str,
    uri: &Uri,
    headers: &HeaderMap,
) -> Result<Arc<str>, GraphFailure> {
    if !graph_api::is_version(version) {
        return Err(graph_api::unknown_path(uri.path()));
    }
    let query = QueryParams::parse(uri.query());
    let token = token_of(&query, headers, None);
    authenticate(
        &state.config.tokens,
        token,
        query.appsecret_proof.as_deref(),
        node,
    )
}
