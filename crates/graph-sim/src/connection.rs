//! A page's connection to the app, as Graph keeps it: each token's state (valid, revoked with
//! one of error 190's subcodes, its expiry and permissions), answered by `GET /debug_token`,
//! and the app's webhook subscription to each page, `GET`/`POST /{page-id}/subscribed_apps`.
//!
//! A revoked token fails every Graph call made with it, with Graph's 190 and the subcode
//! ([`TokenState`]); restoring it makes it work again (a checkpoint passed, an account
//! confirmed).

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};

use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, Uri};
use axum::response::Response;
use bytes::Bytes;
use messenger_model::graph::{
    DebugTokenResponse, GraphError, SubscribedApp, SubscribedApps, TokenDebug,
};
use serde_json::json;

use crate::graph_api::{self, authenticate, oauth_failure, token_of, GraphFailure, QueryParams};
use crate::state::SimState;
use crate::sync::lock;

/// The app id graph-sim answers with unless the builder sets one.
pub const DEFAULT_APP_ID: &str = "100000000000001";

/// The permissions a page token has unless told otherwise: what a Messenger app is granted.
pub const DEFAULT_SCOPES: &[&str] = &[
    "pages_messaging",
    "pages_manage_metadata",
    "pages_show_list",
    "pages_read_engagement",
];

/// The webhook fields a page is subscribed to unless told otherwise: none (the app has not
/// subscribed yet).
const NO_SUBSCRIPTION: &[String] = &[];

/// One token's state, beside its page (shared by every request that uses it).
#[derive(Debug)]
pub(crate) struct TokenState {
    /// 0: the token works; -1: revoked without a subcode; otherwise error 190's subcode.
    revoked: AtomicI64,
    /// When it expires (seconds since the epoch; 0: never).
    expires_at: AtomicI64,
    scopes: Mutex<Vec<String>>,
}

impl Default for TokenState {
    fn default() -> Self {
        Self {
            revoked: AtomicI64::new(0),
            expires_at: AtomicI64::new(0),
            scopes: Mutex::new(DEFAULT_SCOPES.iter().map(|s| (*s).to_owned()).collect()),
        }
    }
}

impl TokenState {
    /// Revokes the token: every call with it answers 190 with `subcode` (none: no subcode).
    pub(crate) fn revoke(&self, subcode: Option<i64>) {
        let value = subcode.filter(|s| *s > 0).unwrap_or(-1);
        self.revoked.store(value, Ordering::Release);
    }

    /// Makes the token work again.
    pub(crate) fn restore(&self) {
        self.revoked.store(0, Ordering::Release);
    }

    pub(crate) fn set_expires_at(&self, secs: i64) {
        self.expires_at.store(secs, Ordering::Release);
    }

    pub(crate) fn set_scopes(&self, scopes: Vec<String>) {
        *lock(&self.scopes) = scopes;
    }

    /// Graph's answer for a call made with the token, when it is revoked.
    pub(crate) fn failure(&self) -> Option<GraphFailure> {
        match self.revoked.load(Ordering::Acquire) {
            0 => None,
            -1 => Some(oauth_failure(
                "Error validating access token: The session has been invalidated.",
            )),
            subcode => Some(oauth_failure(message_for(subcode)).subcode(subcode)),
        }
    }

    fn error(&self) -> Option<GraphError> {
        self.failure().and_then(|f| match *f.body {
            graph_api::FailureBody::Graph(e) => Some(e),
            graph_api::FailureBody::Raw(_) => None,
        })
    }
}

/// Graph's message for error 190 with `subcode`.
fn message_for(subcode: i64) -> &'static str {
    match subcode {
        458 => "Error validating access token: The user has not authorized application.",
        459 => {
            "Error validating access token: You cannot access the app till you log in to \
                www.facebook.com and follow the instructions given."
        }
        460 => {
            "Error validating access token: The session has been invalidated because the \
                user changed their password or Facebook has changed the session for security \
                reasons."
        }
        463 => "Error validating access token: Session has expired.",
        464 => {
            "Error validating access token: Sessions for the user are not allowed because \
                the user is not a confirmed user."
        }
        467 => {
            "Error validating access token: The user is enrolled in a blocking, logged-in \
                checkpoint."
        }
        492 => {
            "Error validating access token: The user is not an admin, editor, or moderator \
                of the page."
        }
        _ => "Error validating access token: The session is invalid.",
    }
}

/// Each page's webhook fields the app is subscribed to.
#[derive(Debug, Default)]
pub(crate) struct Subscriptions {
    fields: Mutex<HashMap<String, Vec<String>>>,
}

impl Subscriptions {
    pub(crate) fn of(&self, page_id: &str) -> Vec<String> {
        lock(&self.fields)
            .get(page_id)
            .cloned()
            .unwrap_or_else(|| NO_SUBSCRIPTION.to_vec())
    }

    pub(crate) fn set(&self, page_id: &str, fields: Vec<String>) {
        lock(&self.fields).insert(page_id.to_owned(), fields);
    }
}

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
    let expires_at = page.state.expires_at.load(Ordering::Acquire);
    Ok(TokenDebug {
        app_id: Some(app_id.to_owned()),
        kind: Some("PAGE".into()),
        is_valid: error.is_none(),
        expires_at: Some(expires_at),
        data_access_expires_at: None,
        profile_id: Some(page.page_id.to_string()),
        user_id: None,
        scopes: lock(&page.state.scopes).clone(),
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
    match answer {
        Ok(apps) => graph_api::json_ok(serde_json::to_vec(&apps).unwrap_or_default()),
        Err(f) => f.into_response_with(&state.ids),
    }
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
        if let Some(bad) = fields.iter().find(|f| !KNOWN_FIELDS.contains(&f.as_str())) {
            return Err(GraphFailure::param(format!(
                "(#100) Param subscribed_fields must be one of {{{}}} - got \"{bad}\"",
                KNOWN_FIELDS.join(", ")
            )));
        }
        state.subscriptions.set(&page_id, fields);
        Ok(())
    });
    match answer {
        Ok(()) => {
            graph_api::json_ok(serde_json::to_vec(&json!({"success": true})).unwrap_or_default())
        }
        Err(f) => f.into_response_with(&state.ids),
    }
}

/// The page fields graph-sim accepts in a subscription: Messenger's and a few others of the
/// page object.
const KNOWN_FIELDS: &[&str] = &[
    "messages",
    "messaging_postbacks",
    "messaging_optins",
    "message_deliveries",
    "message_reads",
    "message_echoes",
    "messaging_referrals",
    "message_reactions",
    "message_edits",
    "messaging_handovers",
    "standby",
    "response_feedback",
    "messaging_account_linking",
    "messaging_feedback",
    "messaging_game_plays",
    "messaging_policy_enforcement",
    "message_template_status_update",
    "feed",
];

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
