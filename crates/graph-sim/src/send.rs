//! The Send API: `POST /v{N}/me/messages` and `POST /v{N}/{page-id}/messages`.
//!
//! This is the hot path of the Graph client benchmark: the body is parsed once, locks are held
//! only to append a record, and nothing is logged above debug.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, Method, Uri};
use axum::response::Response;
use bytes::Bytes;
use messenger_model::graph::{Attachment, GraphSendRequest, Recipient};
use messenger_model::Timestamp;
use serde::Serialize;

use crate::faults::graph_failure;
use crate::graph_api::{self, authenticate, token_of, GraphFailure, QueryParams};
use crate::graph_rules::{self, Platform, WireSend};
use crate::handle::GraphSim;
use crate::records::{SentAction, SentMessage};
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

/// `POST /{version}/{node}/messages`.
pub(crate) async fn send(
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
        Err(f) => {
            tracing::debug!(path = uri.path(), "send refused");
            f.into_response_with(&state.ids)
        }
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
    let parsed = parse_body(headers, body);
    let (body_token, body_proof) = match &parsed {
        Ok(w) => (w.access_token.as_deref(), w.appsecret_proof.as_deref()),
        Err(_) => (None, None),
    };
    let token = token_of(&query, headers, body_token);
    if token.is_some_and(|t| state.instagram.is_token(t)) {
        return Err(crate::instagram::host::wrong_host("post"));
    }
    let proof = query.appsecret_proof.as_deref().or(body_proof);
    let page_id = authenticate(&state.config.tokens, token, proof, node)?;
    let parsed = parsed?;
    if let Some(account) = crate::instagram::send::account_for_page_send(state, &page_id, &parsed) {
        let host = crate::InstagramHost::Facebook;
        return crate::instagram::send::send(state, &account, host, parsed).await;
    }
    let request =
        graph_rules::check_send(parsed, &state.config.accepted_tags, Platform::Messenger)?.request;
    check_attachment_id(state, &request)?;
    if let Some(persona) = &request.persona_id {
        if !state.personas.knows(&page_id, persona) {
            return Err(GraphFailure::param(format!(
                "(#100) Param persona_id must be a persona of the page: {persona} is not"
            )));
        }
    }
    state.window.check(
        &page_id,
        &request,
        Platform::Messenger,
        Timestamp::now().millis(),
    )?;

    let recipient_id = resolve_recipient(&page_id, &request.recipient);
    state
        .threads
        .check_send(&page_id, &recipient_id, &state.config.app_id)?;
    let mut keys: [&str; 2] = [&recipient_id, ""];
    if let Some(p) = &request.recipient.phone_number {
        keys[1] = p;
    }
    let triggered = state.faults.take(&keys);
    triggered.wait().await;
    if let Some(f) = triggered
        .fault
        .as_ref()
        .and_then(|f| graph_failure(f, &page_id))
    {
        return Err(f);
    }

    if let Some(action) = request.sender_action {
        state.record_action(|| SentAction {
            page_id: page_id.to_string(),
            recipient_id: recipient_id.clone(),
            action,
            persona_id: request.persona_id.clone(),
            at_millis: Timestamp::now().millis(),
        });
        let answer = SendAnswer {
            recipient_id: &recipient_id,
            message_id: None,
            attachment_id: None,
        };
        return Ok(graph_api::json_ok(
            serde_json::to_vec(&answer).unwrap_or_default(),
        ));
    }

    let mid = state.ids.new_mid();
    let attachment_id = reusable_attachment_id(state, &request);
    let answer = SendAnswer {
        recipient_id: &recipient_id,
        message_id: Some(&mid),
        attachment_id: attachment_id.as_deref(),
    };
    let out = serde_json::to_vec(&answer).unwrap_or_default();
    let at_millis = Timestamp::now().millis();
    if state.config.echoes {
        crate::webhook::schedule_echo(
            state.clone(),
            page_id.to_string(),
            recipient_id.clone(),
            mid.clone(),
            &request,
        );
    }
    let delivers = !lock(&state.never_delivered).contains(&recipient_id);
    if let Some(receipts) = state.config.auto_receipts.filter(|_| delivers) {
        crate::webhook::schedule_receipts(
            state.clone(),
            receipts,
            page_id.to_string(),
            recipient_id.clone(),
            mid.clone(),
        );
    }
    state.record_sent(|| SentMessage {
        mid,
        page_id: page_id.to_string(),
        recipient: request.recipient.clone(),
        recipient_id,
        request,
        at_millis,
    });
    Ok(graph_api::json_ok(out))
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

/// The PSID a recipient resolves to: its `id`, or a stable synthetic PSID for a phone number
/// (customer matching), `user_ref` or marketing token.
fn resolve_recipient(page_id: &str, r: &Recipient) -> String {
    if let Some(id) = &r.id {
        return id.clone();
    }
    if let Some(p) = &r.phone_number {
        return synthetic_psid(page_id, "phone", &normalize_phone(p));
    }
    if let Some(u) = &r.user_ref {
        return synthetic_psid(page_id, "user_ref", u);
    }
    if let Some(t) = &r.notification_messages_token {
        return synthetic_psid(page_id, "token", t);
    }
    String::new()
}

impl GraphSim {
    /// The PSID the simulator answers for a phone-number recipient of `page_id` (customer
    /// matching). Stable across runs.
    pub fn psid_for_phone(page_id: &str, phone_number: &str) -> String {
        synthetic_psid(page_id, "phone", &normalize_phone(phone_number))
    }
}

/// A phone number reduced to `+` and digits.
pub(crate) fn normalize_phone(p: &str) -> String {
    let digits: String = p.chars().filter(char::is_ascii_digit).collect();
    format!("+{digits}")
}

/// A 16-digit PSID derived from the page and an identifier; the same inputs give the same PSID.
pub(crate) fn synthetic_psid(page_id: &str, kind: &str, value: &str) -> String {
    let digest = crate::signature::hmac_sha256(
        b"graph-sim psid",
        format!("{page_id}|{kind}|{value}").as_bytes(),
    );
    let mut n = [0u8; 8];
    n.copy_from_slice(&digest[..8]);
    let n = u64::from_be_bytes(n) % 9_000_000_000_000_000 + 1_000_000_000_000_000;
    n.to_string()
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
    fn synthetic_psids_are_stable_16_digit_numbers() {
        let a = synthetic_psid("P", "phone", "+447700900123");
        assert_eq!(a.len(), 16);
        assert!(a.bytes().all(|b| b.is_ascii_digit()));
        assert_eq!(a, synthetic_psid("P", "phone", "+447700900123"));
        assert_ne!(a, synthetic_psid("Q", "phone", "+447700900123"));
        assert_eq!(normalize_phone("+44 7700-900 123"), "+447700900123");
    }

    #[test]
    fn form_values_that_are_json_are_parsed() {
        let v = form_to_json(b"recipient=%7B%22id%22%3A%221%22%7D&messaging_type=RESPONSE");
        assert_eq!(v["recipient"]["id"], "1");
        assert_eq!(v["messaging_type"], "RESPONSE");
    }
}
