//! What the Send API's routes share on both hosts (`graph.facebook.com`'s `/me/messages` and
//! Instagram Login's): the body as Meta takes it (JSON or form), attachment ids, the success
//! answer, and Graph's answer to a path it does not know.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, HeaderMap, Method, Uri};
use axum::response::Response;
use bytes::Bytes;
use messenger_model::graph::{Attachment, GraphSendRequest};
use serde::Serialize;

use crate::graph_api::{self, GraphFailure};
use crate::graph_rules::{self, WireSend};
use crate::state::SimState;
use crate::sync::lock;

/// The success answer.
#[derive(Serialize)]
pub(crate) struct SendAnswer<'a> {
    pub(crate) recipient_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) message_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) attachment_id: Option<&'a str>,
}

/// How a body was encoded.
enum BodyKind {
    Json,
    Form,
}

fn body_kind(headers: &HeaderMap, body: &[u8]) -> BodyKind {
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let looks_like_json = || body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{');
    if ct.starts_with("application/x-www-form-urlencoded") {
        BodyKind::Form
    } else if ct.starts_with("application/json") || looks_like_json() {
        BodyKind::Json
    } else {
        BodyKind::Form
    }
}

/// Form fields as a JSON object: values of `recipient` and `message` (and any value that looks
/// like a JSON object) are parsed as JSON, as Graph does.
pub(crate) fn form_to_json(body: &[u8]) -> serde_json::Value {
    let mut map = serde_json::Map::new();
    for (k, v) in url::form_urlencoded::parse(body) {
        let value = if v.trim_start().starts_with('{') || v.trim_start().starts_with('[') {
            serde_json::from_str(&v).unwrap_or_else(|_| serde_json::Value::String(v.into_owned()))
        } else {
            serde_json::Value::String(v.into_owned())
        };
        map.insert(k.into_owned(), value);
    }
    serde_json::Value::Object(map)
}

/// Parses a Send API body (JSON or form), with Graph's refusal when it has the wrong shape.
pub(crate) fn parse_body(headers: &HeaderMap, body: &[u8]) -> Result<WireSend, GraphFailure> {
    match body_kind(headers, body) {
        BodyKind::Json => serde_json::from_slice::<WireSend>(body).map_err(|_| {
            match serde_json::from_slice::<serde_json::Value>(body) {
                Ok(v) => graph_rules::diagnose_shape(&v),
                Err(_) => GraphFailure::param("(#100) Invalid JSON for postbody"),
            }
        }),
        BodyKind::Form => {
            let v = form_to_json(body);
            serde_json::from_value::<WireSend>(v.clone())
                .map_err(|_| graph_rules::diagnose_shape(&v))
        }
    }
}

/// A send by `attachment_id` must name an attachment Graph knows.
pub(crate) fn check_attachment_id(
    state: &SimState,
    request: &GraphSendRequest,
) -> Result<(), GraphFailure> {
    let id = request
        .message
        .as_ref()
        .and_then(|m| m.attachment.as_ref())
        .and_then(Attachment::media_payload)
        .and_then(|p| p.attachment_id.as_deref());
    match id {
        Some(id) if !lock(&state.attachment_ids).contains(id) => Err(GraphFailure::param(format!(
            "(#100) Attachment with id {id} does not exist or cannot be used"
        ))
        .subcode(2_018_047)),
        _ => Ok(()),
    }
}

/// For a media attachment by URL with `is_reusable: true`, Graph keeps it and answers its id.
pub(crate) fn reusable_attachment_id(
    state: &SimState,
    request: &GraphSendRequest,
) -> Option<String> {
    let attachment = request.message.as_ref()?.attachment.as_ref()?;
    let payload = attachment.media_payload()?;
    if payload.is_reusable != Some(true) || payload.url.is_none() {
        return None;
    }
    let id = state.ids.new_numeric_id();
    lock(&state.attachment_ids).insert(id.clone());
    Some(id)
}

/// Any other path: Graph's unknown-path error.
pub(crate) async fn fallback(
    State(state): State<Arc<SimState>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    state.record(&method, &uri, &headers, &body);
    tracing::debug!(%method, path = uri.path(), "unknown path");
    graph_api::unknown_path(uri.path()).into_response_with(&state.ids)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_values_that_are_json_are_parsed() {
        let v = form_to_json(b"recipient=%7B%22id%22%3A%221%22%7D&messaging_type=RESPONSE");
        assert_eq!(v["recipient"]["id"], "1");
        assert_eq!(v["messaging_type"], "RESPONSE");
    }
}
