//! The Send API: `POST /v{N}/me/messages` and `POST /v{N}/{page-id}/messages`.
//!
//! This is the hot path of the Graph client benchmark: the body is parsed once, locks are held
//! only to append a record, and nothing is logged above debug.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, Uri};
use axum::response::Response;
use bytes::Bytes;
use messenger_model::graph::Recipient;
use messenger_model::Timestamp;

use crate::faults::graph_failure;
use crate::graph_api::{self, authenticate, token_of, GraphFailure, QueryParams};
use crate::graph_rules::{self, Platform};
use crate::records::{SentAction, SentMessage};
use crate::send_api::{check_attachment_id, parse_body, reusable_attachment_id, SendAnswer};
use crate::state::SimState;
use crate::sync::lock;

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
}
