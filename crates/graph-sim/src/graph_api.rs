//! What every Graph endpoint shares: the `v{N}.{M}` path version, the access token and
//! `appsecret_proof` checks, and Graph's error answer (`{"error":{...}}`).

use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use messenger_model::graph::{GraphError, GraphErrorBody};

use std::collections::HashMap;
use std::sync::Arc;

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Mutex;

use crate::ids::Ids;
use crate::sync::lock;

/// A page's token, as the simulator checks it.
#[derive(Debug)]
pub(crate) struct PageAuth {
    pub(crate) page_id: Arc<str>,
    /// The `appsecret_proof` expected with this token, when an app secret is configured.
    pub(crate) proof: Option<String>,
    /// Whether it works, its expiry and permissions ([`crate::connection`]).
    pub(crate) state: TokenState,
}

/// The `type` of Instagram's errors.
pub(crate) const INSTAGRAM_ERROR_TYPE: &str = "IGApiException";

/// A Graph error answer: status, error object and extra headers (usage headers, ...).
#[derive(Debug, Clone)]
pub(crate) struct GraphFailure {
    pub(crate) status: StatusCode,
    pub(crate) body: Box<FailureBody>,
    pub(crate) headers: Vec<(String, String)>,
}

/// The body of a failure: Graph's error object, or any JSON (custom faults).
#[derive(Debug, Clone)]
pub(crate) enum FailureBody {
    Graph(GraphError),
    Raw(serde_json::Value),
}

impl GraphFailure {
    /// A Graph error with HTTP 400 and no subcode.
    pub(crate) fn new(code: i64, kind: &str, message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            body: Box::new(FailureBody::Graph(GraphError {
                message: message.into(),
                kind: Some(kind.to_owned()),
                code,
                ..GraphError::default()
            })),
            headers: Vec::new(),
        }
    }

    /// `(#100) ...` invalid parameter, `OAuthException` as Graph types it on the Send API.
    pub(crate) fn param(message: impl Into<String>) -> Self {
        Self::new(100, "OAuthException", message)
    }

    /// Types the error as Instagram does (`IGApiException`); a custom body stays as it is.
    pub(crate) fn instagram(mut self) -> Self {
        if let FailureBody::Graph(e) = self.body.as_mut() {
            e.kind = Some(INSTAGRAM_ERROR_TYPE.to_owned());
        }
        self
    }

    /// Sets the subcode.
    pub(crate) fn subcode(mut self, subcode: i64) -> Self {
        if let FailureBody::Graph(e) = self.body.as_mut() {
            e.error_subcode = Some(subcode);
        }
        self
    }

    /// Sets `is_transient`.
    pub(crate) fn transient(mut self, transient: bool) -> Self {
        if let FailureBody::Graph(e) = self.body.as_mut() {
            e.is_transient = Some(transient);
        }
        self
    }

    /// Sets the HTTP status.
    pub(crate) fn status(mut self, status: StatusCode) -> Self {
        self.status = status;
        self
    }

    /// Adds a header.
    pub(crate) fn header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.to_owned(), value.into()));
        self
    }

    /// The answer, with a fresh `fbtrace_id` from `ids`.
    pub(crate) fn into_response_with(self, ids: &Ids) -> Response {
        let body = match *self.body {
            FailureBody::Graph(mut error) => {
                if error.fbtrace_id.is_none() {
                    error.fbtrace_id = Some(ids.fbtrace_id());
                }
                serde_json::to_vec(&GraphErrorBody { error }).unwrap_or_default()
            }
            FailureBody::Raw(value) => serde_json::to_vec(&value).unwrap_or_default(),
        };
        let mut response = (self.status, body).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json; charset=UTF-8"),
        );
        for (name, value) in self.headers {
            if let (Ok(name), Ok(value)) = (
                header::HeaderName::from_bytes(name.as_bytes()),
                HeaderValue::from_str(&value),
            ) {
                headers.append(name, value);
            }
        }
        response
    }
}

/// A 200 JSON answer from already serialised bytes.
pub(crate) fn json_ok(body: Vec<u8>) -> Response {
    json_with_status(StatusCode::OK, body)
}

/// Graph's answer to a call: 200 with `result` as JSON, or the failure as Graph writes it
/// (its trace id from `ids`).
pub(crate) fn answer<T: serde::Serialize>(ids: &Ids, result: Result<T, GraphFailure>) -> Response {
    match result {
        Ok(v) => json_ok(serde_json::to_vec(&v).unwrap_or_default()),
        Err(f) => f.into_response_with(ids),
    }
}

/// A JSON answer with `status`.
pub(crate) fn json_with_status(status: StatusCode, body: Vec<u8>) -> Response {
    let mut response = (status, body).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=UTF-8"),
    );
    response
}

/// Whether `segment` is a Graph version Graph serves (`v21.0`, ... up to the newest,
/// [`messenger_model::graph::NEWEST_GRAPH_VERSION`]): an expired version is answered by the
/// oldest one still served, as Graph does; a version newer than the newest does not exist.
pub(crate) fn is_version(segment: &str) -> bool {
    use messenger_model::graph::{parse_graph_version, NEWEST_GRAPH_VERSION};
    let newest = parse_graph_version(NEWEST_GRAPH_VERSION);
    parse_graph_version(segment).is_some_and(|v| Some(v) <= newest)
}

/// Graph's answer to a path it does not know.
pub(crate) fn unknown_path(path: &str) -> GraphFailure {
    GraphFailure::new(
        2500,
        "OAuthException",
        format!("Unknown path components: {path}"),
    )
}

/// The query parameters Graph endpoints care about, parsed once.
#[derive(Debug, Default)]
pub(crate) struct QueryParams {
    pub(crate) access_token: Option<String>,
    pub(crate) appsecret_proof: Option<String>,
    pub(crate) fields: Option<String>,
}

impl QueryParams {
    /// Parses a query string (`None` gives no parameters).
    pub(crate) fn parse(query: Option<&str>) -> Self {
        let mut out = Self::default();
        if let Some(q) = query {
            for (k, v) in url::form_urlencoded::parse(q.as_bytes()) {
                match k.as_ref() {
                    "access_token" => out.access_token = Some(v.into_owned()),
                    "appsecret_proof" => out.appsecret_proof = Some(v.into_owned()),
                    "fields" => out.fields = Some(v.into_owned()),
                    _ => {}
                }
            }
        }
        out
    }
}

/// The access token of a request: `access_token` in the query, else `Authorization: Bearer`
/// (or Graph's older `OAuth` scheme), else the body's `access_token` field.
pub(crate) fn token_of<'a>(
    query: &'a QueryParams,
    headers: &'a HeaderMap,
    body_token: Option<&'a str>,
) -> Option<&'a str> {
    if let Some(t) = query.access_token.as_deref() {
        return Some(t);
    }
    if let Some(v) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        let v = v.trim();
        for scheme in ["Bearer ", "bearer ", "OAuth ", "oauth "] {
            if let Some(t) = v.strip_prefix(scheme) {
                return Some(t.trim());
            }
        }
    }
    body_token
}

/// Checks the token (and the `appsecret_proof` when an app secret is configured) and returns the
/// page id the token belongs to.
///
/// `node` is the path's node (`me` or a page id): a page id must be the token's page.
pub(crate) fn authenticate(
    tokens: &HashMap<String, PageAuth>,
    token: Option<&str>,
    proof: Option<&str>,
    node: &str,
) -> Result<Arc<str>, GraphFailure> {
    let Some(token) = token.filter(|t| !t.is_empty()) else {
        return Err(oauth_failure(
            "An active access token must be used to query information about the current user.",
        ));
    };
    let Some(page) = tokens.get(token) else {
        return Err(oauth_failure(
            "Invalid OAuth access token - Cannot parse access token",
        ));
    };
    if let Some(revoked) = page.state.failure() {
        return Err(revoked);
    }
    if let Some(expected) = &page.proof {
        match proof {
            None | Some("") => {
                return Err(GraphFailure::new(
                    100,
                    "GraphMethodException",
                    "API calls from the server require an appsecret_proof argument",
                ))
            }
            Some(given) if !constant_time_eq(given.as_bytes(), expected.as_bytes()) => {
                return Err(GraphFailure::new(
                    100,
                    "GraphMethodException",
                    "Invalid appsecret_proof provided in the API argument",
                ))
            }
            Some(_) => {}
        }
    }
    if node != "me" && node != &*page.page_id {
        return Err(GraphFailure::new(
            100,
            "GraphMethodException",
            format!(
                "Unsupported post request. Object with ID '{node}' does not exist, cannot be \
                 loaded due to missing permissions, or does not support this operation. Please \
                 read the Graph API documentation at https://developers.facebook.com/docs/graph-api"
            ),
        )
        .subcode(33));
    }
    Ok(page.page_id.clone())
}

/// Graph's 190 answer, with the `WWW-Authenticate` header Graph adds to OAuth errors.
pub(crate) fn oauth_failure(message: &str) -> GraphFailure {
    GraphFailure::new(190, "OAuthException", message).header(
        "www-authenticate",
        format!("OAuth \"Facebook Platform\" \"invalid_token\" \"{message}\""),
    )
}

/// Compares two byte strings without an early exit on the first difference.
pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions() {
        assert!(is_version("v19.0"));
        assert!(is_version("v2.11"));
        assert!(is_version("v27.0"));
        assert!(!is_version("v28.0"));
        assert!(!is_version("v19"));
        assert!(!is_version("19.0"));
        assert!(!is_version("v19.x"));
        assert!(!is_version("me"));
    }

    #[test]
    fn constant_time_comparison() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }
}

/// The permissions a page token has unless told otherwise: what a Messenger app is granted.
pub const DEFAULT_SCOPES: &[&str] = &[
    "pages_messaging",
    "pages_manage_metadata",
    "pages_show_list",
    "pages_read_engagement",
];

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

    /// When the token expires (seconds since the epoch; 0: never).
    pub(crate) fn expires_at(&self) -> i64 {
        self.expires_at.load(Ordering::Acquire)
    }

    /// The token's permissions.
    pub(crate) fn scopes(&self) -> Vec<String> {
        lock(&self.scopes).clone()
    }

    /// Graph's error object for a call with the token, when it is revoked.
    pub(crate) fn error(&self) -> Option<GraphError> {
        self.failure().and_then(|f| match *f.body {
            FailureBody::Graph(e) => Some(e),
            FailureBody::Raw(_) => None,
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

/// Graph's answer to a parameter longer than `max`.
pub(crate) fn too_long(param: &str, max: usize) -> GraphFailure {
    GraphFailure::param(format!(
        "(#100) Length of param {param} must be less than or equal to {max}"
    ))
}
