//! `POST /apispaces/{space}/messages`, `POST .../messages/batch`, `GET .../messages/{id}`.
//!
//! A 201/202 is answered only once the facade has stored the message(s): from then on the
//! message survives a crash and is sent by whichever instance leases it.

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use messenger::Idempotency;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::auth::{PathParams, SpaceAccess, SpaceRead};
use super::body::json_body;
use super::problem::{path_id, shorten, Problem};
use super::AppState;

/// The most requests in one batch (docs/design.md §3).
pub(super) const MAX_BATCH_REQUESTS: usize = 5000;

/// The header a client sets to make a send safe to retry.
pub(super) const IDEMPOTENCY_KEY: &str = "idempotency-key";

/// The longest `Idempotency-Key` accepted.
const MAX_IDEMPOTENCY_KEY: usize = 255;

/// Set on an answer that replays the first response to an `Idempotency-Key`.
const IDEMPOTENT_REPLAYED: &str = "idempotent-replayed";

fn idempotency_key(headers: &HeaderMap) -> Result<Option<&str>, Problem> {
    let Some(value) = headers.get(IDEMPOTENCY_KEY) else {
        return Ok(None);
    };
    let key = value.to_str().ok().map(str::trim).filter(|k| {
        !k.is_empty() && k.len() <= MAX_IDEMPOTENCY_KEY && k.bytes().all(|b| b.is_ascii_graphic())
    });
    match key {
        Some(k) => Ok(Some(k)),
        None => Err(Problem::bad_request(
            "idempotency_key.invalid",
            format!("Idempotency-Key must be 1 to {MAX_IDEMPOTENCY_KEY} visible ASCII characters"),
        )),
    }
}

/// Room in the space's backlog for messages being accepted: given back unless kept (a failed
/// request, or a replay that stored nothing).
struct Room<'a> {
    state: &'a AppState,
    space: &'a str,
    count: u64,
    kept: bool,
}

impl<'a> Room<'a> {
    /// Takes room for `count` messages, or refuses: 429 with `Retry-After` while the backlog is
    /// full; 400 for a batch larger than the whole backlog, which never fits.
    fn take(state: &'a AppState, space: &'a str, count: usize) -> Result<Self, Problem> {
        let count = u64::try_from(count).unwrap_or(u64::MAX);
        if let Err(shed) = state.shedder.admit(space, count) {
            return Err(Problem::too_many_requests(format!(
                "this instance's sending is behind and this API space accepts more than its page \
                 sends: retry in {} s, when its unsent messages will have gone at the rate its \
                 page achieves",
                shed.retry_after_secs
            ))
            .with_retry_after(shed.retry_after_secs));
        }
        match state.backlogs.admit(space, count) {
            Ok(()) => Ok(Self {
                state,
                space,
                count,
                kept: false,
            }),
            Err(full) if count > full.cap => Err(Problem::invalid(
                "",
                "batch.over_backlog",
                format!(
                    "this batch of {count} is larger than the space's whole backlog ({} messages: \
                     max_backlog_secs at {} a second): split it",
                    full.cap, full.rate
                ),
            )),
            Err(full) => Err(Problem::too_many_requests(format!(
                "this API space's backlog is full: {} messages wait to be sent, at most {} \
                     ({} a second for max_backlog_secs); retry in {} s",
                full.unsent, full.cap, full.rate, full.retry_after_secs
            ))
            .with_retry_after(full.retry_after_secs)),
        }
    }

    /// Keeps the room when the messages were stored.
    fn keep(mut self, stored: bool) {
        self.kept = stored;
    }
}

impl Drop for Room<'_> {
    fn drop(&mut self) {
        if !self.kept {
            self.state.backlogs.release(self.space, self.count);
        }
    }
}

fn location(space: &str, id: &str) -> Option<HeaderValue> {
    HeaderValue::from_str(&format!("/apispaces/{space}/messages/{id}")).ok()
}

/// `POST /apispaces/{space}/messages`: validate, store, queue; 201 `{"id","status"}`.
///
/// With an `Idempotency-Key`, a replay (same key, same bytes) answers the first response again
/// (201, same body, `Idempotent-Replayed: true`); the same key with another body is 409.
pub(super) async fn send(
    State(state): State<AppState>,
    access: SpaceAccess,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, Problem> {
    let key = idempotency_key(&headers)?;
    let (bytes, value) = json_body(&headers, body, state.limits.message).await?;
    let connected = super::channels::Connected::of(&state.messenger, &access.space);
    super::channels::refuse(connected.unconnected(&value, ""))?;
    let hash = hex::encode(Sha256::digest(&bytes));
    let idempotency = key.map(|key| Idempotency {
        key,
        body_hash: &hash,
    });
    let room = Room::take(&state, &access.space, 1)?;
    let accepted = state
        .messenger
        .accept(&access.space, &value, idempotency)
        .await?;
    room.keep(!accepted.replayed);
    if !accepted.replayed {
        state.metrics.accepted(&access.space, "single", 1);
        state.live.accepted(&access.space, 1);
        state.wake.notify_one();
    }
    // The body of the first response: a replay answers exactly what the first request got.
    let body = json!({"id": accepted.id, "status": "processing"});
    let mut response = (StatusCode::CREATED, Json(body)).into_response();
    if let Some(loc) = location(&access.space, &accepted.id) {
        response.headers_mut().insert(header::LOCATION, loc);
    }
    if accepted.replayed {
        response
            .headers_mut()
            .insert(IDEMPOTENT_REPLAYED, HeaderValue::from_static("true"));
    }
    Ok(response)
}

/// `POST /apispaces/{space}/messages/batch`: a JSON array of up to 5000 send requests, all
/// stored or none; 202 `[{"index","messageId"}]`.
///
/// With an `Idempotency-Key`, as for a single send: a replay (same key, same bytes) answers the
/// first response again (202, same body, `Idempotent-Replayed: true`) and queues nothing; the
/// same key with another body is 409.
pub(super) async fn send_batch(
    State(state): State<AppState>,
    access: SpaceAccess,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, Problem> {
    let key = idempotency_key(&headers)?;
    // Held until the answer: the body, its parsed form and the stored batch all count.
    let _large = state.large_batches.admit(&access.space, &headers).await?;
    let (bytes, value) = json_body(&headers, body, state.limits.batch).await?;
    let hash = hex::encode(Sha256::digest(&bytes));
    let idempotency = key.map(|key| Idempotency {
        key,
        body_hash: &hash,
    });
    let Value::Array(requests) = value else {
        return Err(Problem::invalid(
            "",
            "field.type",
            "the batch body must be a JSON array of send requests",
        ));
    };
    if requests.is_empty() {
        return Err(Problem::invalid(
            "",
            "batch.empty",
            "the batch is empty: send 1 to 5000 requests",
        ));
    }
    if requests.len() > MAX_BATCH_REQUESTS {
        return Err(Problem::invalid(
            "",
            "batch.too_large",
            format!(
                "a batch holds at most {MAX_BATCH_REQUESTS} requests; this one has {}: split it",
                requests.len()
            ),
        ));
    }
    // A channel no account is connected for refuses the whole batch, naming each field.
    let connected = super::channels::Connected::of(&state.messenger, &access.space);
    super::channels::refuse(
        requests
            .iter()
            .enumerate()
            .flat_map(|(i, r)| connected.unconnected(r, &format!("/{i}")))
            .collect(),
    )?;
    // The request itself was charged when its key was checked; each further message counts.
    state
        .quotas
        .charge(&access.space, requests.len().saturating_sub(1))?;
    let room = Room::take(&state, &access.space, requests.len())?;
    let accepted = state
        .messenger
        .accept_batch(&access.space, &requests, idempotency)
        .await?;
    room.keep(!accepted.replayed);
    if !accepted.replayed {
        state
            .metrics
            .accepted(&access.space, "batch", accepted.ids.len());
        state.live.accepted(&access.space, accepted.ids.len());
        state.wake.notify_waiters();
        state.wake.notify_one();
    }
    let answer: Vec<Value> = accepted
        .ids
        .iter()
        .enumerate()
        .map(|(index, id)| json!({"index": index, "messageId": id}))
        .collect();
    let mut response = (StatusCode::ACCEPTED, Json(answer)).into_response();
    if accepted.replayed {
        response
            .headers_mut()
            .insert(IDEMPOTENT_REPLAYED, HeaderValue::from_static("true"));
    }
    Ok(response)
}

/// `GET /apispaces/{space}/messages/{id}`: the message resource.
pub(super) async fn get(
    State(state): State<AppState>,
    access: SpaceRead,
    params: PathParams,
) -> Result<Response, Problem> {
    let id = path_id(&params, "id")?;
    let stored = state.messenger.space(&access.space)?;
    match state.messenger.store().get_message(&stored.id, id).await? {
        Some(record) => {
            // As the listing shows it: with `sentTo`, the page or Instagram account it went out
            // from and the customer's id there.
            let mut resource = serde_json::to_value(record.to_resource()).unwrap_or_default();
            if let (Some(map), Some(sent_to)) =
                (resource.as_object_mut(), super::listing::sent_to(&record))
            {
                map.insert("sentTo".to_owned(), sent_to);
            }
            Ok(Json(resource).into_response())
        }
        None => Err(Problem::not_found(format!(
            "there is no message {:?} in this API space",
            shorten(id)
        ))),
    }
}
