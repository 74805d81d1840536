//! The HTTP API (docs/design.md §3, docs/http-api.md) on axum. The route table [`ROUTES`] is
//! data: the router is built from it, and a test checks it against the OpenAPI document both
//! ways.

mod actions;
pub mod admin;
pub mod auth;
pub mod body;
mod channels;
mod customer_data;
mod facebook;
pub(crate) mod listing;
mod messages;
mod ops;
mod outage;
mod personas;
pub mod problem;
mod profiles;
mod quarantine;
pub mod quota;
pub mod reload;
mod threads;
mod webhooks;

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::Method;
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{on, MethodFilter, MethodRouter};
use axum::Router;
use messenger::Messenger;
use tokio::sync::Notify;

use crate::config::{BodyLimits, Secret};
use crate::metrics::Metrics;
use auth::ApiKeys;
use problem::Problem;
use reload::Current;

/// What every handler can reach. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Shared>,
}

/// The shared part of [`AppState`].
pub struct Shared {
    /// The facade.
    pub messenger: Messenger,
    /// Every space's API keys (replaced by a reload).
    pub keys: Current<ApiKeys>,
    /// The admin keys of the operations routes that change or reveal data (replaced by a
    /// reload).
    pub admin: Current<admin::AdminKeys>,
    /// Who may read `/metrics` on a listener that also serves the API (no `ops_listen`): the
    /// metrics keys and the admin keys (replaced by a reload).
    pub metrics_readers: Current<admin::AdminKeys>,
    /// Reads the configuration file again (SIGHUP, `POST /ops/reload`).
    pub reloader: Arc<reload::Reloader>,
    /// Meta's handshake token.
    pub verify_token: Secret,
    /// Body limits.
    pub limits: BodyLimits,
    /// Reads Meta's webhook bodies before their signature is checked (size, time, how many).
    pub webhook_reads: body::UnverifiedReads,
    /// Large batch bodies handled at once (`server.large_batches`).
    pub large_batches: body::LargeBodies,
    /// Metrics.
    pub metrics: Metrics,
    /// Signalled when messages are accepted, so an idle dispatch worker wakes at once.
    pub wake: Arc<Notify>,
    /// Where verified Meta webhook bodies are stored before the 200.
    pub ingest: crate::inbound::Ingest,
    /// Each space's request rate.
    pub quotas: quota::ApiQuotas,
    /// The requests being served, capped.
    pub in_flight: quota::InFlight,
    /// Each space's bound on unsent messages.
    pub backlogs: crate::backlog::Backlogs,
    /// The spaces this instance sheds while its sending falls behind.
    pub shedder: crate::shed::Shedder,
    /// The console's live figures.
    pub live: crate::live::Live,
    /// Each page's connection: token checks, the webhook deliveries seen, the doctor.
    pub connections: crate::connection::PageConnections,
}

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.inner
    }
}

impl AppState {
    /// The state for the router.
    pub fn new(shared: Shared) -> Self {
        Self {
            inner: Arc::new(shared),
        }
    }
}

/// What a route does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Endpoint {
    /// Send one message.
    SendMessage,
    /// Send a batch.
    SendBatch,
    /// A message's status.
    GetMessage,
    /// The Facebook metadata service (opt-in `data-ref` tokens).
    FacebookState,
    /// Find profiles.
    FindProfiles,
    /// Read a profile.
    GetProfile,
    /// Create or replace a profile.
    PutProfile,
    /// Merge into a profile.
    PatchProfile,
    /// Delete a profile.
    DeleteProfile,
    /// Dead-lettered events.
    ListDeadEvents,
    /// Redrive a dead event.
    RedriveDeadEvent,
    /// Meta's verification handshake.
    FacebookWebhookHandshake,
    /// Meta's events.
    FacebookWebhook,
    /// Liveness.
    Health,
    /// Readiness.
    Ready,
    /// Prometheus metrics.
    Metrics,
    /// The OpenAPI document.
    OpenApi,
    /// Quarantined Meta webhook events (admin).
    ListQuarantine,
    /// Delete a quarantined event (admin).
    DeleteQuarantined,
    /// Send a sender action (typing on/off, mark seen).
    SendAction,
    /// Create a persona of the space's page.
    CreatePersona,
    /// The page's personas.
    ListPersonas,
    /// Delete a persona.
    DeletePersona,
    /// List a space's messages, newest first.
    ListMessages,
    /// Erase a customer's data (decision 0019).
    EraseCustomer,
    /// Export a customer's data as one JSON document.
    ExportCustomer,
    /// Read the configuration file again (admin).
    ReloadConfig,
    /// Pass a conversation's thread control to another app.
    PassThread,
    /// Take a conversation's thread control.
    TakeThread,
    /// Release a conversation's thread control.
    ReleaseThread,
    /// Ask for a conversation's thread control.
    RequestThread,
    /// The app that owns a conversation.
    ThreadOwner,
}

/// Which listener serves a route. With `server.ops_listen` unset there is one listener and it
/// serves every route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Listener {
    /// The main listener (`server.listen`) only: the API and Meta's webhook.
    Main,
    /// The main listener and the ops listener: health probes (load balancers probe the main
    /// port) and the API's description.
    Both,
    /// The ops listener (`server.ops_listen`) only, when it is set: what the public port should
    /// not expose (metrics, admin routes).
    Ops,
}

/// The routes one listener serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ListenerRole {
    /// The only listener (no `server.ops_listen`): every route.
    Only,
    /// The main listener beside an ops listener.
    Main,
    /// The ops listener.
    Ops,
}

impl Listener {
    /// Whether a route of this listener is served by a listener of `role`.
    pub fn served_by(self, role: ListenerRole) -> bool {
        match (role, self) {
            (ListenerRole::Only, _) | (_, Listener::Both) => true,
            (ListenerRole::Main, l) => l == Listener::Main,
            (ListenerRole::Ops, l) => l == Listener::Ops,
        }
    }
}

/// One route: method, path template (axum and OpenAPI share the `{param}` syntax), what it
/// does and which listener serves it.
#[derive(Debug, Clone)]
pub struct Route {
    /// The method.
    pub method: Method,
    /// The path template.
    pub path: &'static str,
    /// The handler.
    pub endpoint: Endpoint,
    /// Where it is served.
    pub listener: Listener,
}

const fn route(method: Method, path: &'static str, endpoint: Endpoint) -> Route {
    Route {
        method,
        path,
        endpoint,
        listener: Listener::Main,
    }
}

/// A route of the operations listener (see [`Listener`]).
const fn route_on(
    listener: Listener,
    method: Method,
    path: &'static str,
    endpoint: Endpoint,
) -> Route {
    Route {
        method,
        path,
        endpoint,
        listener,
    }
}

/// Every route the gateway serves.
pub const ROUTES: &[Route] = &[
    route(
        Method::POST,
        "/apispaces/{space}/messages",
        Endpoint::SendMessage,
    ),
    route(
        Method::POST,
        "/apispaces/{space}/messages/batch",
        Endpoint::SendBatch,
    ),
    route(
        Method::GET,
        "/apispaces/{space}/messages/{id}",
        Endpoint::GetMessage,
    ),
    route(
        Method::POST,
        "/apispaces/{space}/channels/facebook/state",
        Endpoint::FacebookState,
    ),
    route(
        Method::GET,
        "/apispaces/{space}/profiles",
        Endpoint::FindProfiles,
    ),
    route(
        Method::GET,
        "/apispaces/{space}/profiles/{profileId}",
        Endpoint::GetProfile,
    ),
    route(
        Method::PUT,
        "/apispaces/{space}/profiles/{profileId}",
        Endpoint::PutProfile,
    ),
    route(
        Method::PATCH,
        "/apispaces/{space}/profiles/{profileId}",
        Endpoint::PatchProfile,
    ),
    route(
        Method::DELETE,
        "/apispaces/{space}/profiles/{profileId}",
        Endpoint::DeleteProfile,
    ),
    route(
        Method::GET,
        "/apispaces/{space}/webhooks/dead",
        Endpoint::ListDeadEvents,
    ),
    route(
        Method::POST,
        "/apispaces/{space}/webhooks/dead/{eventId}/redrive",
        Endpoint::RedriveDeadEvent,
    ),
    route(
        Method::GET,
        "/webhooks/facebook",
        Endpoint::FacebookWebhookHandshake,
    ),
    route(
        Method::POST,
        "/webhooks/facebook",
        Endpoint::FacebookWebhook,
    ),
    route_on(Listener::Both, Method::GET, "/healthz", Endpoint::Health),
    route_on(Listener::Both, Method::GET, "/readyz", Endpoint::Ready),
    route_on(Listener::Ops, Method::GET, "/metrics", Endpoint::Metrics),
    route_on(
        Listener::Both,
        Method::GET,
        "/openapi.json",
        Endpoint::OpenApi,
    ),
    route_on(
        Listener::Ops,
        Method::GET,
        "/webhooks/facebook/quarantine",
        Endpoint::ListQuarantine,
    ),
    route_on(
        Listener::Ops,
        Method::DELETE,
        "/webhooks/facebook/quarantine/{key}",
        Endpoint::DeleteQuarantined,
    ),
    // Sender actions and personas.
    route(
        Method::POST,
        "/apispaces/{space}/channels/facebook/actions",
        Endpoint::SendAction,
    ),
    route(
        Method::POST,
        "/apispaces/{space}/channels/facebook/personas",
        Endpoint::CreatePersona,
    ),
    route(
        Method::GET,
        "/apispaces/{space}/channels/facebook/personas",
        Endpoint::ListPersonas,
    ),
    route(
        Method::DELETE,
        "/apispaces/{space}/channels/facebook/personas/{personaId}",
        Endpoint::DeletePersona,
    ),
    route(
        Method::GET,
        "/apispaces/{space}/messages",
        Endpoint::ListMessages,
    ),
    route(
        Method::POST,
        "/apispaces/{space}/profiles/{profileId}/erasure",
        Endpoint::EraseCustomer,
    ),
    route(
        Method::GET,
        "/apispaces/{space}/profiles/{profileId}/export",
        Endpoint::ExportCustomer,
    ),
    route_on(
        Listener::Ops,
        Method::POST,
        "/ops/reload",
        Endpoint::ReloadConfig,
    ),
    route(
        Method::POST,
        "/apispaces/{space}/channels/facebook/threads/{fbMessengerId}/pass",
        Endpoint::PassThread,
    ),
    route(
        Method::POST,
        "/apispaces/{space}/channels/facebook/threads/{fbMessengerId}/take",
        Endpoint::TakeThread,
    ),
    route(
        Method::POST,
        "/apispaces/{space}/channels/facebook/threads/{fbMessengerId}/release",
        Endpoint::ReleaseThread,
    ),
    route(
        Method::POST,
        "/apispaces/{space}/channels/facebook/threads/{fbMessengerId}/request",
        Endpoint::RequestThread,
    ),
    route(
        Method::GET,
        "/apispaces/{space}/channels/facebook/threads/{fbMessengerId}/owner",
        Endpoint::ThreadOwner,
    ),
];

fn method_router(r: &Route) -> MethodRouter<AppState> {
    let filter = MethodFilter::try_from(r.method.clone()).unwrap_or(MethodFilter::GET);
    match r.endpoint {
        Endpoint::SendMessage => on(filter, messages::send),
        Endpoint::SendBatch => on(filter, messages::send_batch),
        Endpoint::GetMessage => on(filter, messages::get),
        Endpoint::FacebookState => on(filter, facebook::state_token),
        Endpoint::FindProfiles => on(filter, profiles::find),
        Endpoint::GetProfile => on(filter, profiles::get),
        Endpoint::PutProfile => on(filter, profiles::put),
        Endpoint::PatchProfile => on(filter, profiles::patch),
        Endpoint::DeleteProfile => on(filter, profiles::delete),
        Endpoint::ListDeadEvents => on(filter, webhooks::list_dead),
        Endpoint::RedriveDeadEvent => on(filter, webhooks::redrive),
        Endpoint::FacebookWebhookHandshake => on(filter, facebook::handshake),
        Endpoint::FacebookWebhook => on(filter, facebook::receive),
        Endpoint::Health => on(filter, ops::health),
        Endpoint::Ready => on(filter, ops::ready),
        Endpoint::Metrics => on(filter, ops::metrics),
        Endpoint::OpenApi => on(filter, ops::openapi),
        Endpoint::ListQuarantine => on(filter, quarantine::list),
        Endpoint::DeleteQuarantined => on(filter, quarantine::delete),
        Endpoint::SendAction => on(filter, actions::send_action),
        Endpoint::CreatePersona => on(filter, personas::create),
        Endpoint::ListPersonas => on(filter, personas::list),
        Endpoint::DeletePersona => on(filter, personas::delete),
        Endpoint::ListMessages => on(filter, listing::list),
        Endpoint::EraseCustomer => on(filter, customer_data::erase),
        Endpoint::ExportCustomer => on(filter, customer_data::export),
        Endpoint::ReloadConfig => on(filter, reload::reload),
        Endpoint::PassThread => on(filter, threads::control),
        Endpoint::TakeThread => on(filter, threads::control),
        Endpoint::ReleaseThread => on(filter, threads::control),
        Endpoint::RequestThread => on(filter, threads::control),
        Endpoint::ThreadOwner => on(filter, threads::owner),
    }
}

pub use ops::METRICS_CLOSED_CODE;

/// The code of the problem answered for a path no route matches.
pub const UNKNOWN_ROUTE_CODE: &str = "route.unknown";

async fn unknown_route() -> Problem {
    Problem::not_found("no such route; see /openapi.json").with_errors(vec![
        problem::ProblemError::new("", UNKNOWN_ROUTE_CODE, "no route has this path"),
    ])
}

async fn wrong_method() -> Problem {
    Problem::method_not_allowed(None)
}

/// The most characters of a client's own token (its method) a log line carries.
pub const MAX_LOGGED_TOKEN: usize = 32;

/// `token` cut to [`MAX_LOGGED_TOKEN`] characters, marked with `...` when cut.
///
/// ```
/// use messenger_gateway::http::bounded_token;
/// assert_eq!(bounded_token("GET"), "GET");
/// assert_eq!(bounded_token(&"X".repeat(4000)).len(), 35);
/// ```
pub fn bounded_token(token: &str) -> String {
    match token.char_indices().nth(MAX_LOGGED_TOKEN) {
        None => token.to_owned(),
        Some((cut, _)) => format!("{}...", &token[..cut]),
    }
}

/// Counts, times and logs every request by its route template (never the raw URI: queries
/// can carry tokens) and its method (a standard one, or `other` in the metrics; cut to
/// [`MAX_LOGGED_TOKEN`] characters in the log).
async fn observe(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let mut response = next.run(request).await;
    secure_headers(&mut response);
    let elapsed = started.elapsed();
    let status = response.status().as_u16();
    state.metrics.http_request(&route, &method, status, elapsed);
    let method = bounded_token(method.as_str());
    let latency_ms = elapsed.as_secs_f64() * 1000.0;
    // Probes and scrapes come every few seconds: keep them out of the info log.
    if matches!(route.as_str(), "/healthz" | "/readyz" | "/metrics") && status < 400 {
        tracing::debug!(target: "messenger_gateway::http", %method, %route, status, latency_ms, "request");
    } else {
        tracing::info!(target: "messenger_gateway::http", %method, %route, status, latency_ms, "request");
    }
    response
}

/// Headers every answer carries: `X-Content-Type-Options: nosniff`, and on JSON answers (API,
/// problems, the console's data) `Cache-Control: no-store`, so no cache between the client and
/// the gateway keeps a space's data.
fn secure_headers(response: &mut Response) {
    use axum::http::{header, HeaderValue};
    let headers = response.headers_mut();
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            let essence = v.split(';').next().unwrap_or_default().trim();
            essence.eq_ignore_ascii_case("application/json") || essence.ends_with("+json")
        });
    if json {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
}

/// The router of a listener of `role`: the routes of [`ROUTES`] it serves, and `beside` (the
/// console's pages on the main listener), all under the same shedding and request log.
pub fn router_for(state: AppState, role: ListenerRole, beside: Router<AppState>) -> Router {
    let mut router = Router::new();
    for r in ROUTES.iter().filter(|r| r.listener.served_by(role)) {
        let mut methods = method_router(r);
        // On the public listener, the metrics name every space and page and their volumes.
        if r.endpoint == Endpoint::Metrics && role == ListenerRole::Only {
            methods = methods.route_layer(middleware::from_fn_with_state(
                state.clone(),
                ops::metrics_access,
            ));
        }
        router = router.route(r.path, methods);
    }
    router
        .merge(beside)
        .fallback(unknown_route)
        .method_not_allowed_fallback(wrong_method)
        .layer(middleware::from_fn_with_state(state.clone(), quota::shed))
        .layer(middleware::from_fn_with_state(state.clone(), observe))
        .with_state(state)
}
