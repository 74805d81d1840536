//! The user profile API: `GET /v{N}/{psid}?fields=first_name,last_name,...`, `GET /v{N}/me`
//! (the page behind the token) and `GET /v{N}/{persona-id}` (a persona of the page).
//!
//! Only the requested fields are answered, plus `id` as Graph always does. A PSID with no profile
//! set gets a name-only default; `locale`, `timezone` and `gender` are then absent, as they are
//! on Graph without the extra page permissions.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, Uri};
use axum::response::Response;
use bytes::Bytes;
use messenger_model::UserProfile;
use serde_json::{Map, Value};

use crate::faults::graph_failure;
use crate::graph_api::{self, authenticate, token_of, GraphFailure, QueryParams};
use crate::state::SimState;
use crate::sync::lock;

/// The fields a PSID node has.
pub const PROFILE_FIELDS: &[&str] = &[
    "id",
    "name",
    "first_name",
    "last_name",
    "profile_pic",
    "locale",
    "timezone",
    "gender",
];

/// Fields answered when the request names none.
const DEFAULT_FIELDS: &[&str] = &["first_name", "last_name", "profile_pic"];

/// `GET /{version}/{node}`.
pub(crate) async fn get_node(
    State(state): State<Arc<SimState>>,
    Path((version, node)): Path<(String, String)>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    state.record(&method, &uri, &headers, &Bytes::new());
    match get_inner(&state, &version, &node, &uri, &headers).await {
        Ok(v) => {
            let mut r = graph_api::json_ok(serde_json::to_vec(&v).unwrap_or_default());
            state.faults.add_usage(&mut r);
            r
        }
        Err(f) => f.into_response_with(&state.ids),
    }
}

async fn get_inner(
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
    if token.is_some_and(|t| state.instagram.is_token(t)) {
        return Err(crate::instagram::host::wrong_host("get"));
    }
    let page_id = authenticate(
        &state.config.tokens,
        token,
        query.appsecret_proof.as_deref(),
        "me",
    )?;
    if node == "me" || node == &*page_id {
        let mut page = Map::new();
        page.insert("name".into(), Value::String(format!("Page {page_id}")));
        page.insert("id".into(), Value::String(page_id.to_string()));
        return Ok(Value::Object(page));
    }
    if node.is_empty() || !node.bytes().all(|b| b.is_ascii_digit()) {
        return Err(graph_api::unknown_path(uri.path()));
    }
    if let Some(account) = state
        .instagram
        .account_of_page(&page_id)
        .filter(|a| state.instagram.is_user_of(&a.id, node))
    {
        let fields = query.fields.as_deref();
        return crate::instagram::profile::profile(state, &account, node, fields).await;
    }
    if let Some(persona) = state.personas.get(&page_id, node) {
        return serde_json::to_value(persona)
            .map_err(|_| GraphFailure::new(1, "OAuthException", "An unknown error occurred"));
    }

    let fields: Vec<&str> = match query.fields.as_deref() {
        Some(f) if !f.trim().is_empty() => f.split(',').map(str::trim).collect(),
        _ => DEFAULT_FIELDS.to_vec(),
    };
    if let Some(bad) = fields.iter().find(|f| !PROFILE_FIELDS.contains(f)) {
        return Err(GraphFailure::param(format!(
            "(#100) Tried accessing nonexisting field ({bad}) on node type (User)"
        )));
    }

    let triggered = state.faults.take(&[node]);
    triggered.wait().await;
    if let Some(f) = triggered
        .fault
        .as_ref()
        .and_then(|f| graph_failure(f, &page_id))
    {
        return Err(f);
    }

    let profile = lock(&state.profiles)
        .get(node)
        .cloned()
        .unwrap_or_else(|| default_profile(node));
    Ok(select(node, &profile, &fields))
}

/// The profile of a PSID nobody set: a name and a picture, nothing else.
fn default_profile(psid: &str) -> UserProfile {
    let tail: String = psid
        .chars()
        .rev()
        .take(4)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    UserProfile {
        id: Some(psid.to_owned()),
        first_name: Some("Test".to_owned()),
        last_name: Some(format!("User{tail}")),
        profile_pic: Some(format!(
            "https://platform-lookaside.fbsbx.com/platform/profilepic/?psid={psid}&width=1024"
        )),
        ..UserProfile::default()
    }
}

/// The requested fields of `profile` that have a value, and `id`.
fn select(psid: &str, profile: &UserProfile, fields: &[&str]) -> Value {
    let mut out = Map::new();
    let text = |v: &Option<String>| v.clone().map(Value::String);
    for f in fields {
        let value = match *f {
            "first_name" => text(&profile.first_name),
            "last_name" => text(&profile.last_name),
            "name" => match (&profile.first_name, &profile.last_name) {
                (Some(a), Some(b)) => Some(Value::String(format!("{a} {b}"))),
                (Some(a), None) | (None, Some(a)) => Some(Value::String(a.clone())),
                (None, None) => None,
            },
            "profile_pic" => text(&profile.profile_pic),
            "locale" => text(&profile.locale),
            "gender" => text(&profile.gender),
            "timezone" => profile.timezone.and_then(|t| {
                // Graph answers whole-hour offsets as integers.
                if t.fract() == 0.0 && t.abs() < 24.0 {
                    Some(Value::from(t as i64))
                } else {
                    serde_json::Number::from_f64(t).map(Value::Number)
                }
            }),
            _ => None,
        };
        if let Some(v) = value {
            out.insert((*f).to_owned(), v);
        }
    }
    out.insert("id".to_owned(), Value::String(psid.to_owned()));
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_requested_fields_with_values_and_id() {
        let p = UserProfile {
            first_name: Some("Ada".into()),
            last_name: Some("Lovelace".into()),
            timezone: Some(1.0),
            locale: None,
            ..UserProfile::default()
        };
        let v = select("123", &p, &["first_name", "timezone", "locale", "name"]);
        assert_eq!(
            v,
            serde_json::json!({"first_name":"Ada","timezone":1,"name":"Ada Lovelace","id":"123"})
        );
    }
}
