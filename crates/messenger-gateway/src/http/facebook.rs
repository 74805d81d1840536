//! The Facebook-facing routes: the metadata service that issues opt-in `data-ref` tokens
//! (`POST /apispaces/{space}/channels/facebook/state`), and Meta's webhook
//! (`GET /webhooks/facebook` handshake, `POST /webhooks/facebook` events).

use axum::body::Body;
use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Extension;
use messenger::webhook::{verify_subscription, WebhookError};
use serde_json::Value;

use super::auth::SpaceAccess;
use super::body::json_body;
use super::problem::{shorten, Problem, ProblemError};
use super::AppState;
use crate::client::ClientAddr;

/// The longest profile id the state service takes: the cap of every id a client names.
const MAX_PROFILE_ID: usize = messenger_validate::limits::ID_MAX_CHARS;

fn text(status: StatusCode, body: String) -> Response {
    let mut r = (status, body).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r
}

/// `POST /apispaces/{space}/channels/facebook/state` with `{"profileId", "data"?}`: 200
/// `text/plain` with a token for the Messenger plugin's `data-ref`. The token names no profile:
/// the profile and `data` stay server-side until an opt-in redeems it.
pub(super) async fn state_token(
    State(state): State<AppState>,
    access: SpaceAccess,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, Problem> {
    let (_, value) = json_body(&headers, body, state.limits.profile).await?;
    let Value::Object(mut map) = value else {
        return Err(Problem::invalid(
            "",
            "field.type",
            "the body must be an object: {\"profileId\": \"...\", \"data\": ...}",
        ));
    };
    let mut errors = Vec::new();
    for key in map
        .keys()
        .filter(|k| !matches!(k.as_str(), "profileId" | "data"))
    {
        errors.push(ProblemError::new(
            format!("/{}", key.replace('~', "~0").replace('/', "~1")),
            "field.unknown",
            format!("unknown field {:?} (use profileId and data)", shorten(key)),
        ));
    }
    let profile_id = match map.remove("profileId") {
        Some(Value::String(id)) if !id.is_empty() && id.chars().count() <= MAX_PROFILE_ID => {
            Some(id)
        }
        Some(Value::String(_)) => {
            errors.push(ProblemError::new(
                "/profileId",
                "field.length",
                format!("profileId must be 1 to {MAX_PROFILE_ID} characters"),
            ));
            None
        }
        Some(_) => {
            errors.push(ProblemError::new(
                "/profileId",
                "field.type",
                "profileId must be a string",
            ));
            None
        }
        None => {
            errors.push(ProblemError::new(
                "/profileId",
                "field.required",
                "profileId is required: the profile the opt-in will be linked to",
            ));
            None
        }
    };
    let data = map.remove("data").filter(|d| !d.is_null());
    let Some(profile_id) = profile_id.filter(|_| errors.is_empty()) else {
        return Err(Problem::invalid_entries(errors));
    };
    let token = state
        .messenger
        .issue_optin_token(&access.space, &profile_id, data)
        .await?;
    Ok(text(StatusCode::OK, token))
}

/// `GET /webhooks/facebook?hub.mode=subscribe&hub.verify_token=...&hub.challenge=...`: answers
/// the challenge when the token is the configured one, 403 otherwise.
pub(super) async fn handshake(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
) -> Response {
    let (mut mode, mut token, mut challenge) = (None, None, None);
    for (k, v) in url::form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
        match k.as_ref() {
            "hub.mode" => mode = Some(v.into_owned()),
            "hub.verify_token" => token = Some(v.into_owned()),
            "hub.challenge" => challenge = Some(v.into_owned()),
            _ => {}
        }
    }
    match verify_subscription(
        mode.as_deref(),
        token.as_deref(),
        challenge.as_deref(),
        state.verify_token.expose(),
    ) {
        Some(challenge) => text(StatusCode::OK, challenge.to_owned()),
        None => {
            tracing::warn!("webhook verification handshake refused");
            Problem::forbidden(
                "the verification request does not match: hub.mode must be subscribe and \
                 hub.verify_token the configured token",
            )
            .into_response()
        }
    }
}

/// `POST /webhooks/facebook`: Meta's events.
///
/// The body is read under [`super::body::UnverifiedReads`]'s limits (413, 408, 503 with
/// `Retry-After` when too many are being read). The `X-Hub-Signature-256` header is checked on
/// the raw bytes before anything else (403 on a missing or wrong signature). A signed body is
/// never refused, whatever its shape (Meta retries a refused body and, after hours of failures,
/// unsubscribes the app): it is stored in the webhook queue ([`crate::inbound::Ingest`], group
/// commit) and only then answered 200, so a 200 means the events are durable; a background task
/// applies them, and what it cannot apply goes to the quarantine. A failure to store is 503 and
/// Meta redelivers; redeliveries are recognised when applied.
pub(super) async fn receive(
    State(state): State<AppState>,
    client: Option<Extension<ClientAddr>>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, Problem> {
    let client = client.map(|Extension(ClientAddr(ip))| ip);
    let bytes = state.webhook_reads.read(client, &headers, body).await?;
    let signature = headers
        .get("x-hub-signature-256")
        .and_then(|v| v.to_str().ok());
    if let Err(e) = state.messenger.verify_webhook(&bytes, signature) {
        state.metrics.webhook_request("bad_signature");
        return Err(match e {
            WebhookError::NoAppSecret => {
                tracing::error!("no app secret: webhook signatures cannot be checked");
                Problem::internal()
            }
            other => {
                tracing::warn!(error = %messenger::error_chain(&other), "webhook refused: signature");
                Problem::forbidden(other.to_string())
            }
        });
    }
    state
        .connections
        .webhook()
        .record(&bytes, messenger_model::Timestamp::now());
    match state.ingest.enqueue(bytes).await {
        Ok(()) => {
            state.metrics.webhook_request("ok");
            Ok(text(StatusCode::OK, "EVENT_RECEIVED".to_owned()))
        }
        Err(e) => {
            state.metrics.webhook_request("error");
            tracing::error!(error = %messenger::error_chain(&e), "webhook body not stored; Meta will redeliver");
            Err(Problem::unavailable(
                "the event could not be stored; Meta will redeliver it",
            ))
        }
    }
}
