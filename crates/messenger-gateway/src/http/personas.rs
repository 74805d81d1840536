//! The page's personas (named senders for human agents), through the space's Graph client:
//! `POST /apispaces/{space}/channels/facebook/personas` (201 + the persona),
//! `GET .../personas?limit=&cursor=` (a page of them, `Next-Cursor` when there are more) and
//! `DELETE .../personas/{personaId}` (204; 404 when Graph does not know it). Nothing is stored
//! here: Graph keeps the personas.

use axum::body::Body;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use messenger_graph::ErrorKind;
use messenger_model::graph::{NewPersona, Persona};
use messenger_validate::limits::PERSONA_NAME_MAX_CHARS;
use serde_json::{json, Value};

use super::auth::{PathParams, SpaceAccess};
use super::body::json_body;
use super::problem::{json_type, pointer_of, shorten, Problem, ProblemError};
use super::profiles::NEXT_CURSOR;
use super::AppState;

/// The longest picture URL taken.
const MAX_URL_CHARS: usize = 2048;
/// The longest cursor taken back (Graph's cursors are base64 of a few dozen bytes).
const MAX_CURSOR_CHARS: usize = 512;
/// Personas per page when the query names no `limit`.
const DEFAULT_LIMIT: u32 = 25;
/// The most personas per page.
const MAX_LIMIT: u32 = 100;

/// A persona as the API answers it (camelCase).
fn persona_json(p: &Persona) -> Value {
    json!({"id": p.id, "name": p.name, "profilePictureUrl": p.profile_picture_url})
}

/// White space as JSON Schema's (ECMAScript's) `\s` has it, so "not blank" means what the
/// document's `pattern` says.
fn is_schema_space(c: char) -> bool {
    matches!(
        c,
        '\t' | '\n' | '\u{b}' | '\u{c}' | '\r' | ' ' | '\u{a0}' | '\u{1680}' | '\u{2000}'
            ..='\u{200a}'
                | '\u{2028}'
                | '\u{2029}'
                | '\u{202f}'
                | '\u{205f}'
                | '\u{3000}'
                | '\u{feff}'
    )
}

/// An https URL as the document's pattern has it: `https://`, a host of letters, digits, `.`
/// and `-`, an optional port, then a path of visible ASCII; and one the URL parser takes.
fn https_url_ok(u: &str) -> bool {
    let Some(rest) = u.strip_prefix("https://") else {
        return false;
    };
    let (authority, path) = rest.find('/').map_or((rest, ""), |i| rest.split_at(i));
    let (host, port) = authority
        .split_once(':')
        .map_or((authority, None), |(h, p)| (h, Some(p)));
    let host_ok = !host.is_empty()
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-');
    let port_ok =
        port.is_none_or(|p| (1..=5).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_digit()));
    let path_ok = path.bytes().all(|b| b.is_ascii_graphic());
    host_ok && port_ok && path_ok && url::Url::parse(u).is_ok_and(|p| p.host().is_some())
}

fn required_string<'v>(
    map: &'v serde_json::Map<String, Value>,
    key: &str,
    what: &str,
    errors: &mut Vec<ProblemError>,
) -> Option<&'v str> {
    match map.get(key) {
        Some(Value::String(s)) if !s.chars().all(is_schema_space) => Some(s),
        Some(Value::String(_)) | None | Some(Value::Null) => {
            errors.push(ProblemError::new(
                pointer_of(key),
                "field.required",
                format!("{key} is required: {what}"),
            ));
            None
        }
        Some(other) => {
            errors.push(ProblemError::new(
                pointer_of(key),
                "field.type",
                format!("{key} must be a string, not {}", json_type(other)),
            ));
            None
        }
    }
}

/// Checks a persona body `{"name", "profilePictureUrl"}`, naming every bad field.
fn new_persona(body: &Value) -> Result<NewPersona, Problem> {
    let Value::Object(map) = body else {
        return Err(Problem::invalid(
            "",
            "field.type",
            format!(
                "the body must be an object {{\"name\", \"profilePictureUrl\"}}, not {}",
                json_type(body)
            ),
        ));
    };
    let mut errors: Vec<ProblemError> = map
        .keys()
        .filter(|k| !matches!(k.as_str(), "name" | "profilePictureUrl"))
        .map(|k| {
            ProblemError::new(
                pointer_of(k),
                "field.unknown",
                format!(
                    "unknown field {:?} (a persona has name and profilePictureUrl)",
                    shorten(k)
                ),
            )
        })
        .collect();
    let name = required_string(map, "name", "the name shown with the messages", &mut errors);
    if let Some(n) = name {
        if n.chars().count() > PERSONA_NAME_MAX_CHARS {
            errors.push(ProblemError::new(
                "/name",
                "field.length",
                format!("name takes at most {PERSONA_NAME_MAX_CHARS} characters (Meta's limit)"),
            ));
        }
    }
    let url = required_string(
        map,
        "profilePictureUrl",
        "an https URL of the persona's picture",
        &mut errors,
    );
    if let Some(u) = url {
        if u.chars().count() > MAX_URL_CHARS {
            errors.push(ProblemError::new(
                "/profilePictureUrl",
                "url.invalid",
                format!("profilePictureUrl takes at most {MAX_URL_CHARS} characters"),
            ));
        } else if !u.starts_with("https://") {
            errors.push(ProblemError::new(
                "/profilePictureUrl",
                "url.scheme",
                "profilePictureUrl must be an https URL",
            ));
        } else if !https_url_ok(u) {
            errors.push(ProblemError::new(
                "/profilePictureUrl",
                "url.invalid",
                "profilePictureUrl must be https://, a host (letters, digits, . and -), an \
                 optional port and a path of visible ASCII (percent-encode the rest)",
            ));
        }
    }
    match (name, url) {
        (Some(name), Some(url)) if errors.is_empty() => {
            Ok(NewPersona::new(name.trim_matches(is_schema_space), url))
        }
        _ => Err(Problem::invalid_entries(errors)),
    }
}

/// `POST /apispaces/{space}/channels/facebook/personas`: 201 with the persona Graph created.
pub(super) async fn create(
    State(state): State<AppState>,
    access: SpaceAccess,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, Problem> {
    let (_, value) = json_body(&headers, body, state.limits.profile).await?;
    let persona = new_persona(&value)?;
    let created = state
        .messenger
        .create_persona(&access.space, &persona)
        .await?;
    let mut response = (StatusCode::CREATED, Json(persona_json(&created))).into_response();
    if let Ok(loc) = HeaderValue::from_str(&format!(
        "/apispaces/{}/channels/facebook/personas/{}",
        access.space, created.id
    )) {
        response
            .headers_mut()
            .insert(axum::http::header::LOCATION, loc);
    }
    Ok(response)
}

/// `GET /apispaces/{space}/channels/facebook/personas?limit=&cursor=`: a JSON array of
/// personas; `Next-Cursor` when Graph has more (pass it back as `cursor`).
pub(super) async fn list(
    State(state): State<AppState>,
    access: SpaceAccess,
    RawQuery(query): RawQuery,
) -> Result<Response, Problem> {
    let (mut limit, mut cursor) = (DEFAULT_LIMIT, None);
    let mut errors = Vec::new();
    for (name, value) in url::form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
        match name.as_ref() {
            "limit" => match value.parse::<u32>() {
                Ok(n) if (1..=MAX_LIMIT).contains(&n) => limit = n,
                _ => errors.push(ProblemError::new(
                    "",
                    "query.limit",
                    format!("limit must be 1 to {MAX_LIMIT}"),
                )),
            },
            "cursor" => {
                let ok = !value.is_empty()
                    && value.len() <= MAX_CURSOR_CHARS
                    && value.bytes().all(|b| b.is_ascii_graphic());
                if ok {
                    cursor = Some(value.into_owned());
                } else {
                    errors.push(ProblemError::new(
                        "",
                        "query.cursor",
                        "cursor is not one this API gave: pass the Next-Cursor header of the \
                         previous page as it is",
                    ));
                }
            }
            other => errors.push(ProblemError::new(
                "",
                "query.unknown",
                format!(
                    "unknown query parameter {:?} (use limit, cursor)",
                    shorten(other)
                ),
            )),
        }
    }
    if !errors.is_empty() {
        return Err(Problem::bad_request_entries(errors));
    }
    let page = match state
        .messenger
        .personas(&access.space, cursor.as_deref(), limit)
        .await
    {
        // Graph refuses a cursor it did not make ("Invalid after cursor"): the cursor came
        // from the client, not from a Next-Cursor of this API, so it is the client's error.
        Err(messenger::Error::Graph(e))
            if cursor.is_some() && e.kind() == ErrorKind::InvalidParameter =>
        {
            return Err(Problem::bad_request_entries(vec![ProblemError::new(
                "",
                "query.cursor",
                "cursor is not one this API gave: pass the Next-Cursor header of the previous \
                 page as it is",
            )]));
        }
        other => other?,
    };
    let body: Vec<Value> = page.data.iter().map(persona_json).collect();
    let mut response = Json(body).into_response();
    if let Some(next) = page
        .next_cursor()
        .and_then(|c| HeaderValue::from_str(c).ok())
    {
        response.headers_mut().insert(NEXT_CURSOR, next);
    }
    Ok(response)
}

/// `DELETE /apispaces/{space}/channels/facebook/personas/{personaId}`: 204, or 404 when Graph
/// has no such persona for the space's page.
pub(super) async fn delete(
    State(state): State<AppState>,
    access: SpaceAccess,
    params: PathParams,
) -> Result<Response, Problem> {
    let id = params.get("personaId")?;
    if let Err(v) = messenger_validate::check_persona_id_at(id, "") {
        return Err(Problem::bad_request(v.code.as_str(), v.message));
    }
    match state.messenger.delete_persona(&access.space, id).await {
        Ok(()) => Ok(StatusCode::NO_CONTENT.into_response()),
        Err(messenger::Error::Graph(e)) if e.kind() == ErrorKind::InvalidRecipient => {
            Err(Problem::not_found(format!(
                "the page of this API space has no persona {id:?} (Graph answered: {e})"
            )))
        }
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn codes(body: Value) -> Vec<(String, String)> {
        new_persona(&body)
            .unwrap_err()
            .errors
            .into_iter()
            .map(|e| (e.path, e.code))
            .collect()
    }

    #[test]
    fn persona_bodies() {
        let ok =
            new_persona(&json!({"name": " Alex ", "profilePictureUrl": "https://x.example/a.png"}))
                .unwrap();
        assert_eq!(ok.name, "Alex");
        let pair = |p: &str, c: &str| (p.to_owned(), c.to_owned());
        assert_eq!(
            codes(json!({})),
            [
                pair("/name", "field.required"),
                pair("/profilePictureUrl", "field.required")
            ]
        );
        assert_eq!(
            codes(
                json!({"name": "x".repeat(51), "profilePictureUrl": "http://x.example/a.png", "n": 1})
            ),
            [
                pair("/n", "field.unknown"),
                pair("/name", "field.length"),
                pair("/profilePictureUrl", "url.scheme")
            ]
        );
        assert_eq!(
            codes(json!({"name": 5, "profilePictureUrl": "https://a b"})),
            [
                pair("/name", "field.type"),
                pair("/profilePictureUrl", "url.invalid")
            ]
        );
        assert_eq!(
            codes(json!({"name": "\u{feff}", "profilePictureUrl": "https://x.example/ü"})),
            [
                pair("/name", "field.required"),
                pair("/profilePictureUrl", "url.invalid")
            ]
        );
        assert!(https_url_ok("https://cdn.example.com:8443/p/a.png?x=1"));
        assert!(!https_url_ok("https://:80/a"));
        assert_eq!(codes(json!([])), [pair("", "field.type")]);
    }
}
