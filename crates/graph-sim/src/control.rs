//! The control API under `/_sim/`, so a simulator run as a separate process (the `graph-sim`
//! binary) can be scripted with curl, as the library API scripts an in-process one:
//!
//! | method, path | does |
//! |---|---|
//! | `GET /_sim/sent` | the accepted sends: `[{"mid","page_id","recipient_id","at_millis","request"}]` |
//! | `GET /_sim/sms` | the accepted SMS |
//! | `GET /_sim/uploads` | the uploaded attachments |
//! | `POST /_sim/inbound` | `{"page_id","psid","text"}`: posts an inbound message to the webhook |
//! | `POST /_sim/optin` | `{"page_id","psid","ref"?}`: posts an opt-in |
//! | `POST /_sim/delivery` | `{"page_id","psid","watermark"?,"mids"?}`: posts a delivery receipt |
//! | `POST /_sim/read` | `{"page_id","psid","watermark"?}`: posts a read receipt |
//! | `POST /_sim/faults` | `{"recipient"?,"times"?,"fault":{"kind":"rate_limit","code":4}}` (kinds: `rate_limit`, `server_error` {status}, `slow` {millis}, `user_unavailable`, `outside_window`, `invalid_recipient`, `token_expired`, `custom` {status, body, headers}) |
//! | `DELETE /_sim/faults` | clears the faults |
//! | `PUT /_sim/profiles/{psid}` | sets a user profile (Graph's field names) |
//! | `PUT /_sim/never-delivered/{psid}` | auto receipts skip sends to `psid` (`DELETE` undoes it) |
//! | `PUT /_sim/tokens/{token}/revoked` | `{"subcode"?}`: every call with the token answers 190 with the subcode (`DELETE` restores it) |
//! | `PUT /_sim/subscriptions/{page_id}` | `["messages", ...]`: the app's webhook fields for the page; `GET` lists them |
//! | `POST /_sim/instagram/{account}/users` | a new Instagram user of the account: `201 {"igsid"}` |
//! | `POST /_sim/instagram/{account}/messages` | `{"igsid","text","shape"?}`: the user writes (opens the window): `{"mid","status"}` |
//! | `POST /_sim/instagram/{account}/reads` | `{"igsid","mid","shape"?}`: the user reads `mid` (`messaging_seen`): `{"status"}` |
//! | `POST /_sim/instagram/{account}/comments` | `{"igsid","text","media_id"?}`: the user comments (a `comments` change): `{"comment_id","status"}` |
//! | `PUT /_sim/instagram/{account}/users/{igsid}/last-message` | `{"at_millis"}`: when the user last wrote (the window) |
//! | `PUT /_sim/instagram/comments/{comment_id}/time` | `{"at_millis"}`: when the comment was made (the private reply's 7 days) |
//! | `POST /_sim/instagram/tokens/{token}/age` | `{"seconds"}`: the Instagram token's issue and expiry move that far into the past: `{"account_id","issued_at_millis","expires_at_millis"}` |
//! | `PUT /_sim/instagram/shape` | `{"shape":"messaging"\|"changes"}`: where later direct-message events go |
//! | `GET /_sim/instagram/{account}/sent` | the account's sends: `[{"mid","account_id","host","recipient_id","comment_id","at_millis","request"}]` |
//! | `GET /_sim/instagram/{account}/actions` | the account's sender actions: `[{"recipient_id","action","message_id","reaction",...}]` |
//!
//! `shape` is `messaging` (`entry[].messaging[]`, the default) or `changes` (`entry[].changes[]`).
//! Unknown accounts and users answer 404.
//!
//! Webhook posts answer `{"status": <the receiver's HTTP status>}`. The control API has no
//! authentication: the simulator listens on loopback and is never deployed.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use messenger_model::webhook::{DeliveryReceipt, InboundMessage, Optin, ReadReceipt};
use messenger_model::{Timestamp, UserProfile};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::faults::{Fault, FaultRule, FaultScope};
use crate::state::SimState;
use crate::sync::lock;
use crate::webhook::{event_from_user, payload_of, post_payload};

type St = State<Arc<SimState>>;

/// The control routes (merged into the simulator's router).
pub(crate) fn routes() -> Router<Arc<SimState>> {
    Router::new()
        .route("/_sim/sent", get(sent))
        .route("/_sim/sms", get(sms))
        .route("/_sim/uploads", get(uploads))
        .route("/_sim/inbound", post(inbound))
        .route("/_sim/optin", post(optin))
        .route("/_sim/delivery", post(delivery))
        .route("/_sim/read", post(read))
        .route("/_sim/faults", post(add_fault).delete(clear_faults))
        .route("/_sim/profiles/{psid}", put(set_profile))
        .route(
            "/_sim/never-delivered/{psid}",
            put(never_deliver).delete(deliver_again),
        )
        .route(
            "/_sim/tokens/{token}/revoked",
            put(revoke_token).delete(restore_token),
        )
        .route(
            "/_sim/subscriptions/{page_id}",
            put(set_subscriptions).get(subscriptions),
        )
        .merge(crate::instagram::control::routes())
}

/// `{"subcode": 460}`: why a token is revoked.
#[derive(Debug, Default, Deserialize)]
struct Revocation {
    #[serde(default)]
    subcode: Option<i64>,
}

async fn revoke_token(
    State(state): St,
    Path(token): Path<String>,
    body: Option<Json<Revocation>>,
) -> StatusCode {
    let subcode = body.map(|Json(r)| r).unwrap_or_default().subcode;
    match state.config.tokens.get(&token) {
        Some(page) => {
            page.state.revoke(subcode);
            StatusCode::NO_CONTENT
        }
        None => StatusCode::NOT_FOUND,
    }
}

async fn restore_token(State(state): St, Path(token): Path<String>) -> StatusCode {
    match state.config.tokens.get(&token) {
        Some(page) => {
            page.state.restore();
            StatusCode::NO_CONTENT
        }
        None => StatusCode::NOT_FOUND,
    }
}

async fn set_subscriptions(
    State(state): St,
    Path(page_id): Path<String>,
    Json(fields): Json<Vec<String>>,
) -> StatusCode {
    state.subscriptions.set(&page_id, fields);
    StatusCode::NO_CONTENT
}

async fn subscriptions(State(state): St, Path(page_id): Path<String>) -> Json<Vec<String>> {
    Json(state.subscriptions.of(&page_id))
}

async fn never_deliver(State(state): St, Path(psid): Path<String>) -> StatusCode {
    lock(&state.never_delivered).insert(psid);
    StatusCode::NO_CONTENT
}

async fn deliver_again(State(state): St, Path(psid): Path<String>) -> StatusCode {
    lock(&state.never_delivered).remove(&psid);
    StatusCode::NO_CONTENT
}

async fn sent(State(state): St) -> Json<Value> {
    let sent = state.sent_snapshot();
    Json(Value::Array(
        sent.iter()
            .map(|m| {
                json!({
                    "mid": m.mid,
                    "page_id": m.page_id,
                    "recipient_id": m.recipient_id,
                    "at_millis": m.at_millis,
                    "request": m.request,
                })
            })
            .collect(),
    ))
}

async fn sms(State(state): St) -> Json<Value> {
    let all = lock(&state.sms).clone();
    Json(Value::Array(
        all.iter()
            .map(|m| {
                json!({
                    "sid": m.sid, "account_sid": m.account_sid, "to": m.to, "from": m.from,
                    "messaging_service_sid": m.messaging_service_sid, "body": m.body,
                    "num_segments": m.num_segments, "at_millis": m.at_millis,
                })
            })
            .collect(),
    ))
}

async fn uploads(State(state): St) -> Json<Value> {
    let all = lock(&state.uploads).clone();
    Json(Value::Array(
        all.iter()
            .map(|u| {
                json!({
                    "attachment_id": u.attachment_id, "page_id": u.page_id, "type": u.kind,
                    "filename": u.filename, "content_type": u.content_type, "len": u.len,
                    "url": u.url, "is_reusable": u.is_reusable,
                })
            })
            .collect(),
    ))
}

/// Who an event is from.
#[derive(Debug, Deserialize)]
struct UserEvent {
    page_id: String,
    psid: String,
    #[serde(default)]
    text: Option<String>,
    #[serde(default, rename = "ref")]
    data_ref: Option<String>,
    #[serde(default)]
    watermark: Option<i64>,
    #[serde(default)]
    mids: Vec<String>,
}

/// Posts the event and answers the receiver's status (502 when it could not be reached).
async fn post_and_answer(
    state: &SimState,
    page_id: &str,
    event: messenger_model::webhook::MessagingEvent,
) -> Response {
    match post_payload(state, &payload_of(page_id, event)).await {
        Ok(status) => Json(json!({ "status": status })).into_response(),
        Err(e) => (
            StatusCode::BAD_GATEWAY,
            Json(json!({ "error": e.to_string() })),
        )
            .into_response(),
    }
}

async fn inbound(State(state): St, Json(req): Json<UserEvent>) -> Response {
    let mut event = event_from_user(&req.page_id, &req.psid);
    event.message = Some(InboundMessage {
        mid: Some(state.ids.new_mid()),
        text: Some(req.text.unwrap_or_default()),
        ..InboundMessage::default()
    });
    post_and_answer(&state, &req.page_id, event).await
}

async fn optin(State(state): St, Json(req): Json<UserEvent>) -> Response {
    let mut event = event_from_user(&req.page_id, &req.psid);
    event.optin = Some(Optin {
        data_ref: req.data_ref,
        ..Optin::default()
    });
    post_and_answer(&state, &req.page_id, event).await
}

async fn delivery(State(state): St, Json(req): Json<UserEvent>) -> Response {
    let mut event = event_from_user(&req.page_id, &req.psid);
    event.delivery = Some(DeliveryReceipt {
        mids: req.mids,
        watermark: req.watermark.unwrap_or_else(|| Timestamp::now().millis()),
    });
    post_and_answer(&state, &req.page_id, event).await
}

async fn read(State(state): St, Json(req): Json<UserEvent>) -> Response {
    let mut event = event_from_user(&req.page_id, &req.psid);
    event.read = Some(ReadReceipt {
        watermark: req.watermark.unwrap_or_else(|| Timestamp::now().millis()),
    });
    post_and_answer(&state, &req.page_id, event).await
}

/// A fault as JSON.
#[derive(Debug, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum FaultSpec {
    RateLimit {
        code: i64,
    },
    ServerError {
        status: u16,
    },
    Slow {
        millis: u64,
    },
    UserUnavailable,
    OutsideWindow,
    InvalidRecipient,
    TokenExpired,
    Custom {
        status: u16,
        body: Value,
        #[serde(default)]
        headers: Vec<(String, String)>,
    },
}

#[derive(Debug, Deserialize)]
struct FaultRequest {
    #[serde(default)]
    recipient: Option<String>,
    fault: FaultSpec,
    #[serde(default)]
    times: Option<u32>,
}

async fn add_fault(State(state): St, Json(req): Json<FaultRequest>) -> StatusCode {
    let fault = match req.fault {
        FaultSpec::RateLimit { code } => Fault::RateLimit { code, usage: None },
        FaultSpec::ServerError { status } => Fault::ServerError { status },
        FaultSpec::Slow { millis } => Fault::Slow {
            delay: Duration::from_millis(millis),
        },
        FaultSpec::UserUnavailable => Fault::UserUnavailable,
        FaultSpec::OutsideWindow => Fault::OutsideWindow,
        FaultSpec::InvalidRecipient => Fault::InvalidRecipient,
        FaultSpec::TokenExpired => Fault::TokenExpired,
        FaultSpec::Custom {
            status,
            body,
            headers,
        } => Fault::Custom {
            status,
            body,
            headers,
        },
    };
    state.faults.add(FaultRule {
        scope: req
            .recipient
            .map_or(FaultScope::Global, FaultScope::Recipient),
        fault,
        times: req.times,
    });
    StatusCode::NO_CONTENT
}

async fn clear_faults(State(state): St) -> StatusCode {
    state.faults.clear();
    StatusCode::NO_CONTENT
}

async fn set_profile(
    State(state): St,
    Path(psid): Path<String>,
    Json(profile): Json<UserProfile>,
) -> StatusCode {
    lock(&state.profiles).insert(psid, profile);
    StatusCode::NO_CONTENT
}
