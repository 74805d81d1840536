//! The operator console (decision 0013): a few pages the gateway serves at
//! `/console` on its main listener, every asset embedded in the binary (no CDN, no external
//! font), and the JSON reads only the console needs.
//!
//! The pages are static shells (HTML, CSS, a small plain script without a build step); the
//! script signs in with a space key or an admin key, keeps it in the browser's session storage
//! and sends it as `Authorization: Bearer` to the API's own routes (the message listing, a
//! message, profiles, dead events and their redrive) and to:
//!
//! - `GET /console/api/session`: which spaces the key sees (`{"admin", "spaces"}`);
//! - `GET /console/api/spaces/{space}/messages/{id}`: a message with the request as accepted,
//!   where it went out (`sentTo`: the page or Instagram account and the customer's id there)
//!   and the events sent to the business about it, with their delivery attempts;
//! - `GET /console/api/spaces/{space}/profiles/{profileId}`: a profile with its Messenger link
//!   on the space's page and its Instagram IDs on the space's Instagram accounts, each with the
//!   last inbound message and whether the 24-hour window is open;
//! - `GET /console/api/spaces/{space}/live`: the last 15 minutes of the space's figures
//!   ([`crate::live`]), and the circuit of the page and of each Instagram account;
//! - `GET /console/api/spaces/{space}/connection`: the connection doctor's report for the
//!   space's page, asking Graph now ([`crate::connection`]), with whether the page waits for
//!   new credentials.
//!
//! Nothing is stored on the server for a session. These routes are not part of the public
//! API (they are not in the OpenAPI document and may change with the console).

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};

use crate::http::auth::{PathParams, SpaceRead};
use crate::http::problem::Problem;
use crate::http::{AppState, ListenerRole};
use crate::{live, picture};

/// The page shell.
const INDEX_HTML: &str = include_str!("assets/index.html");
/// The script.
const CONSOLE_JS: &str = include_str!("assets/console.js");
/// The style sheet.
const CONSOLE_CSS: &str = include_str!("assets/console.css");

/// The window of Messenger and Instagram alike: a page or an Instagram account may message a
/// user freely for 24 hours after their last message.
const WINDOW_MILLIS: i64 = 24 * 3600 * 1000;

/// The console's routes for a listener of `role`: on the main listener, where the API is
/// (docs/decisions/0013); none on the ops listener.
pub fn router_for(role: ListenerRole) -> Router<AppState> {
    if role == ListenerRole::Ops {
        Router::new()
    } else {
        router()
    }
}

/// The console's routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/console", get(page))
        .route("/console/", get(page))
        .route("/console/assets/console.js", get(script))
        .route("/console/assets/console.css", get(style))
        .route("/console/api/session", get(session))
        .route("/console/api/spaces/{space}/live", get(live_figures))
        .route("/console/api/spaces/{space}/connection", get(connection))
        .route("/console/api/spaces/{space}/messages/{id}", get(message))
        .route(
            "/console/api/spaces/{space}/profiles/{profileId}",
            get(profile),
        )
}

/// The console pages' Content-Security-Policy: everything from the gateway's own origin, and
/// images from there and from Meta's picture hosts only ([`crate::picture::img_src`]).
static CONTENT_SECURITY_POLICY: std::sync::LazyLock<HeaderValue> = std::sync::LazyLock::new(|| {
    let policy = format!(
        "default-src 'self'; img-src {}; object-src 'none'; base-uri 'none'; \
         frame-ancestors 'none'; form-action 'self'",
        picture::img_src()
    );
    HeaderValue::from_str(&policy)
        .unwrap_or_else(|_| HeaderValue::from_static("default-src 'self'"))
});

/// An embedded asset with its type and the headers that keep the page to its own origin.
fn asset(body: &'static str, content_type: &'static str) -> Response {
    let mut r = (StatusCode::OK, body).into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        CONTENT_SECURITY_POLICY.clone(),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    r
}

async fn page() -> Response {
    asset(INDEX_HTML, "text/html; charset=utf-8")
}

async fn script() -> Response {
    asset(CONSOLE_JS, "text/javascript; charset=utf-8")
}

async fn style() -> Response {
    asset(CONSOLE_CSS, "text/css; charset=utf-8")
}

/// `GET /console/api/session`: the spaces the key sees. A space key sees its space; an admin
/// key (when `server.admin_keys` is configured) sees every space.
async fn session(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, Problem> {
    let key = crate::http::auth::bearer(&headers)?;
    let owner = state.keys.load().space_of(key).map(str::to_owned);
    let admins = state.admin.load();
    let admin = admins.is_configured() && admins.accepts(key);
    let spaces: Vec<String> = match (owner, admin) {
        (_, true) => {
            let mut all: Vec<String> = state.messenger.spaces().map(|s| s.id.clone()).collect();
            all.sort();
            all
        }
        (Some(space), false) => vec![space],
        (None, false) => return Err(Problem::unauthorized("the key is not valid")),
    };
    Ok(Json(json!({"admin": admin, "spaces": spaces})).into_response())
}

/// `GET /console/api/spaces/{space}/messages/{id}`.
async fn message(
    State(state): State<AppState>,
    access: SpaceRead,
    params: PathParams,
) -> Result<Response, Problem> {
    let id = params.get("id")?;
    let store = state.messenger.store();
    let Some(record) = store.get_message(&access.space, id).await? else {
        return Err(Problem::not_found(format!(
            "there is no message {:?} in this API space",
            crate::http::problem::shorten(id)
        )));
    };
    // A status change's event id is `<message id>.<status>` (decision 0006).
    let event_ids: Vec<String> = messenger_model::MessageStatus::ALL
        .iter()
        .map(|s| format!("{}.{}", record.id, s.as_str()))
        .collect();
    let events = store.events_by_id(&access.space, &event_ids).await?;
    let events: Vec<Value> = events
        .iter()
        .map(|e| {
            json!({
                "eventId": e.envelope.event_id,
                "name": e.envelope.name,
                "target": e.target,
                "state": e.state.as_str(),
                "attempts": e.attempts,
                "lastError": e.last_error,
                "createdAt": e.created_at,
                "nextAttemptAt": e.next_attempt_at,
            })
        })
        .collect();
    Ok(Json(json!({
        "message": record.to_resource(),
        "sentTo": crate::http::listing::sent_to(&record),
        "request": record.request,
        "recipientKey": record.recipient_key,
        "attempts": record.attempts,
        "sentAt": record.sent_at,
        "events": events,
    }))
    .into_response())
}

/// `GET /console/api/spaces/{space}/profiles/{profileId}`.
async fn profile(
    State(state): State<AppState>,
    access: SpaceRead,
    params: PathParams,
) -> Result<Response, Problem> {
    let id = crate::http::problem::path_id(&params, "profileId")?;
    let store = state.messenger.store();
    let Some(profile) = store.get_profile(&access.space, id).await? else {
        return Err(Problem::not_found(format!(
            "there is no profile {:?} in this API space",
            crate::http::problem::shorten(id)
        )));
    };
    let space = state.messenger.space(&access.space)?;
    let now = state.messenger.now();
    let window = |last: Option<messenger_model::Timestamp>| {
        json!({
            "lastInboundAt": last,
            "windowOpen": last.is_some_and(|t| now.millis() - t.millis() < WINDOW_MILLIS),
            "windowClosesAt": last.map(|t| t.add_millis(WINDOW_MILLIS)),
        })
    };
    let mut links = Vec::new();
    if let Some(psid) = &profile.fb_messenger_id {
        let holder = store
            .find_by_messenger_id(&access.space, &space.page_id, psid)
            .await?;
        let last = store
            .last_inbound(&access.space, &space.page_id, psid)
            .await?;
        let mut link = json!({
            "pageId": space.page_id,
            "psid": psid,
            "linked": holder.is_some_and(|p| p.id == profile.id),
        });
        merge(&mut link, window(last));
        links.push(link);
    }
    // One IGSID per Instagram account (decision 0026); an account no longer connected to the
    // space is shown as such, without a window (nothing is sent from it).
    let mut instagram = Vec::new();
    for (account, igsid) in &profile.instagram_ids {
        let connected = space.instagram_account(account);
        let mut link = json!({
            "accountId": account,
            "igsid": igsid,
            "connected": connected.is_some(),
            "login": connected.map(|a| a.connected_by.as_str()),
        });
        if connected.is_some() {
            let last = store.last_inbound(&access.space, account, igsid).await?;
            merge(&mut link, window(last));
        }
        instagram.push(link);
    }
    Ok(
        Json(json!({"profile": profile, "messenger": links, "instagram": instagram}))
            .into_response(),
    )
}

/// Adds the fields of the object `more` to the object `into`.
fn merge(into: &mut Value, more: Value) {
    if let (Value::Object(into), Value::Object(more)) = (into, more) {
        into.extend(more);
    }
}

/// `GET /console/api/spaces/{space}/connection`: the doctor's report for the space's page (the
/// token, the webhook subscription, the Graph version, the webhook deliveries seen) and its
/// `needs_reauth` state.
async fn connection(State(state): State<AppState>, access: SpaceRead) -> Result<Response, Problem> {
    let space = state.messenger.space(&access.space)?;
    let reauth = space.health.reauth().map(|r| {
        json!({
            "problem": r.problem.as_str(),
            "reason": r.problem.describe(),
            "action": r.problem.remedy(),
            "since": r.since,
        })
    });
    let report = state
        .connections
        .diagnose_space(&access.space)
        .await
        .ok_or_else(|| Problem::not_found("the space has no page connection"))?;
    Ok(Json(json!({
        "space": access.space,
        "needsReauth": reauth,
        "lastCheck": state.connections.last_check(&access.space),
        "report": report,
    }))
    .into_response())
}

/// `GET /console/api/spaces/{space}/live`: the space's last 15 minutes, one point a second;
/// the queue depths (every space together) for an admin key only; the circuit of the page and
/// of each Instagram account.
async fn live_figures(
    State(state): State<AppState>,
    access: SpaceRead,
) -> Result<Response, Problem> {
    let space = state.messenger.space(&access.space)?;
    let now = state.messenger.now();
    let status = space.health.status(now);
    let closed = status.state == messenger::send::page::CircuitState::Closed;
    let queues = access.admin.then(|| state.live.depths());
    let accounts: Vec<Value> = space
        .instagram
        .iter()
        .map(|a| {
            let status = a.health.status(now);
            json!({
                "accountId": a.id,
                "login": a.connected_by.as_str(),
                "circuit": status.state.as_str(),
                "paused": status.state != messenger::send::page::CircuitState::Closed,
                "reason": status.reason,
                "until": status.open_until,
            })
        })
        .collect();
    Ok(Json(json!({
        "space": access.space,
        "intervalSeconds": live::TICK.as_secs(),
        "windowSeconds": live::WINDOW.as_secs(),
        "points": state.live.points(&access.space),
        "queues": queues,
        "pages": [{
            "pageId": space.page_id,
            "circuit": status.state.as_str(),
            "paused": !closed,
            "reason": status.reason,
            "until": status.open_until,
        }],
        "instagram": accounts,
    }))
    .into_response())
}
