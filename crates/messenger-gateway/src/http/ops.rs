//! Operations: `GET /healthz` (the process is up), `GET /readyz` (the store answers),
//! `GET /metrics` (OpenMetrics text, which Prometheus scrapes) and `GET /openapi.json` (the API's description).

use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use messenger::send::page::CircuitState;

use super::problem::Problem;
use super::AppState;

/// The OpenAPI document, checked in at `docs/openapi.json`.
pub(super) const OPENAPI_JSON: &str = include_str!("../../openapi.json");

/// `GET /healthz`: 200 while the process serves.
pub(super) async fn health() -> Response {
    Json(json!({"status": "ok"})).into_response()
}

/// The pages whose sending is paused or probed (circuit not closed), for `/readyz`.
fn paused_pages(state: &AppState) -> Vec<serde_json::Value> {
    let now = state.messenger.now();
    state
        .messenger
        .spaces()
        .filter_map(|space| {
            let status = space.health.status(now);
            (status.state != CircuitState::Closed).then(|| {
                json!({
                    "space": space.id,
                    "pageId": space.page_id,
                    "circuit": status.state.as_str(),
                    "trouble": status.blame.map(|b| b.as_str()),
                    "reason": status.reason,
                    "until": status.open_until,
                })
            })
        })
        .collect()
}

/// The pages whose token stopped working, for `/readyz`: each space, its page, why and since
/// when (decision 0022).
fn pages_needing_reauth(state: &AppState) -> Vec<serde_json::Value> {
    state
        .messenger
        .spaces()
        .filter_map(|space| {
            space.health.reauth().map(|r| {
                json!({
                    "space": space.id,
                    "pageId": space.page_id,
                    "problem": r.problem.as_str(),
                    "reason": r.problem.describe(),
                    "action": r.problem.remedy(),
                    "since": r.since,
                })
            })
        })
        .collect()
}

/// The Instagram accounts whose sending is paused or probed, or whose token stopped working
/// (an Instagram Login token refused, expired or of another account), for `/readyz`.
fn instagram_trouble(state: &AppState) -> (Vec<serde_json::Value>, Vec<serde_json::Value>) {
    let now = state.messenger.now();
    let (mut paused, mut reauth) = (Vec::new(), Vec::new());
    for space in state.messenger.spaces() {
        for account in &space.instagram {
            let status = account.health.status(now);
            if status.state != CircuitState::Closed {
                paused.push(json!({
                    "space": space.id,
                    "instagramAccountId": account.id,
                    "circuit": status.state.as_str(),
                    "trouble": status.blame.map(|b| b.as_str()),
                    "reason": status.reason,
                    "until": status.open_until,
                }));
            }
            if let Some(r) = account.health.reauth() {
                reauth.push(json!({
                    "space": space.id,
                    "instagramAccountId": account.id,
                    "login": account.connected_by.as_str(),
                    "problem": r.problem.as_str(),
                    "reason": r.reason,
                    "action": r.problem.remedy(),
                    "since": r.since,
                }));
            }
        }
    }
    (paused, reauth)
}

/// How long `/readyz` waits for the store: a database that does not answer within this is not
/// ready (its pool would otherwise keep the probe waiting for a connection).
const READY_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

/// `GET /readyz`: 200 when the store answers and its writes go through, 503 otherwise, naming
/// the cause (a full disk, an unreachable database) with `Retry-After`. The body lists the pages
/// whose sending is paused (`pages`): the gateway is still ready, since other pages send and
/// every request is still accepted. Instagram accounts are listed apart
/// (`pausedInstagramAccounts`, `instagramAccountsNeedingReauth`).
pub(super) async fn ready(State(state): State<AppState>) -> Response {
    let store = state.messenger.store();
    let pinged = tokio::time::timeout(READY_WAIT, store.ping()).await;
    match pinged {
        Ok(Ok(())) => {
            let (paused_accounts, accounts_reauth) = instagram_trouble(&state);
            Json(json!({
                "status": "ready",
                "store": store.backend(),
                "pausedPages": paused_pages(&state),
                "pagesNeedingReauth": pages_needing_reauth(&state),
                "pausedInstagramAccounts": paused_accounts,
                "instagramAccountsNeedingReauth": accounts_reauth,
            }))
            .into_response()
        }
        Ok(Err(e)) => {
            tracing::warn!(error = %messenger::error_chain(&e), "readiness: the store cannot serve");
            Problem::store_outage(&e, "it does not answer", |cause, _| {
                format!("the {} store cannot serve: {cause}", store.backend())
            })
            .into_response()
        }
        Err(_) => {
            tracing::warn!("readiness: the store did not answer in time");
            Problem::unavailable(format!(
                "the {} store did not answer within {} s",
                store.backend(),
                READY_WAIT.as_secs()
            ))
            .with_retry_after(5)
            .with_extension("cause", messenger_store_sql::Outage::Unreachable.as_str())
            .into_response()
        }
    }
}

/// `GET /metrics`: the Prometheus text exposition, with the queue depths read from the store
/// now (a depth the store cannot give keeps its last value, and the failure is logged).
pub(super) async fn metrics(State(state): State<AppState>) -> Response {
    let store = state.messenger.store();
    let (dispatch, webhook, events, quarantine, pending) = tokio::join!(
        store.unsent_count(),
        store.webhook_backlog(),
        store.event_counts(),
        store.quarantined_count(),
        store.pending_by_target()
    );
    state
        .metrics
        .store_failures(&messenger_store_sql::failure_counts());
    let now = state.messenger.now();
    for space in state.messenger.spaces() {
        state
            .metrics
            .page_circuit(&space.id, space.health.status(now).state);
        state
            .metrics
            .page_token(&space.id, space.health.reauth().map(|r| r.problem.as_str()));
        state
            .metrics
            .page_pacing(&space.id, &space.page_id, space.pacing.counts());
        // An Instagram account's pacing, labelled with the account as its `page`.
        for account in &space.instagram {
            state
                .metrics
                .page_pacing(&space.id, &account.id, account.pacing.counts());
        }
    }
    match pending {
        Ok(pending) => {
            for space in state.messenger.spaces() {
                let oldest = pending
                    .iter()
                    .find(|p| p.space == space.id && p.target == messenger::DEFAULT_EVENT_TARGET)
                    .map(|p| p.oldest);
                let age = oldest.map_or(0, |t| now.millis().saturating_sub(t.millis()));
                let age = std::time::Duration::from_millis(u64::try_from(age).unwrap_or(0));
                state.metrics.forward_oldest_pending(&space.id, age);
            }
        }
        Err(e) => {
            tracing::warn!(error = %messenger::error_chain(&e), "metrics: reading the forwarding lag failed")
        }
    }
    for (queue, depth) in [
        ("dispatch", dispatch),
        ("webhook", webhook),
        ("webhook_quarantine", quarantine),
    ] {
        match depth {
            Ok(n) => state.metrics.queue_depth(queue, n),
            Err(e) => {
                tracing::warn!(queue, error = %messenger::error_chain(&e), "metrics: reading a queue depth failed")
            }
        }
    }
    match events {
        Ok((pending, dead)) => {
            state.metrics.queue_depth("forward", pending);
            state.metrics.queue_depth("forward_dead", dead);
        }
        Err(e) => {
            tracing::warn!(queue = "forward", error = %messenger::error_chain(&e), "metrics: reading a queue depth failed")
        }
    }
    let mut r = (StatusCode::OK, state.metrics.render()).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/openmetrics-text; version=1.0.0; charset=utf-8"),
    );
    r
}

/// The code of the 403 answered for `/metrics` on the public listener when no key may read it.
pub const METRICS_CLOSED_CODE: &str = "metrics.closed";

/// `/metrics` on a listener that also serves the API (no `server.ops_listen`): only with
/// `Authorization: Bearer <key>`, the key being one of `server.metrics_keys` or an admin key
/// (Prometheus: `authorization: {credentials: <key>}` in the scrape config). With none
/// configured, 403 naming the keys to set.
pub(super) async fn metrics_access(
    State(state): State<AppState>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let readers = state.metrics_readers.load();
    if !readers.is_configured() {
        let detail = "the metrics are closed on this listener: set server.metrics_keys (or \
                      server.admin_keys) and scrape with Authorization: Bearer <key>, or serve \
                      them on server.ops_listen";
        return Problem::forbidden(detail)
            .with_errors(vec![super::problem::ProblemError::new(
                "",
                METRICS_CLOSED_CODE,
                detail,
            )])
            .into_response();
    }
    let key = match super::auth::bearer(request.headers()) {
        Ok(key) => key,
        Err(problem) => return problem.into_response(),
    };
    if !readers.accepts(key) {
        return Problem::forbidden("the key may not read the metrics").into_response();
    }
    next.run(request).await
}

/// `GET /openapi.json`.
pub(super) async fn openapi() -> Response {
    let mut r = (StatusCode::OK, OPENAPI_JSON).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}
