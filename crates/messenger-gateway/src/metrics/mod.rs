//! Prometheus metrics (`GET /metrics`, text exposition format), all prefixed
//! `messenger_gateway_`:
//!
//! | metric | labels | what |
//! |---|---|---|
//! | `http_requests_total` | `route`, `method`, `status` | requests answered (`route` is the path template or `unmatched`; `method` a standard method or `other`: never the client's own text) |
//! | `http_request_duration_seconds` | `route`, `method` | latency histogram |
//! | `connections_open` | | client connections open on this instance's listeners |
//! | `connections_refused_total` | `reason` (`total`, `per_client`) | connections answered 503 and closed at a cap (`server.max_connections`, `server.max_connections_per_client`) |
//! | `connections_closed_total` | `reason` (`header_timeout`, `idle_timeout`) | connections the gateway closed by a timer |
//! | `messages_accepted_total` | `space`, `kind` (`single`, `batch`) | messages stored for dispatch |
//! | `dispatch_sends_total` | `outcome` (`sent`, `retrying`, `failed`, `expired`, `deferred`) | ends of send attempts; `deferred`: given back untouched because the page's send rate was booked |
//! | `dispatch_errors_total` | | dispatch rounds that failed (store errors) |
//! | `dispatch_paused_total` | | pauses because Graph's usage was over the threshold |
//! | `requests_shed_total` | | requests answered 503 because `server.max_in_flight` were being served |
//! | `leases_recovered_total` | | expired leases cleared |
//! | `webhook_requests_total` | `result` (`ok`, `bad_signature`, `malformed`, `error`) | Meta webhook posts |
//! | `webhook_events_total` | `result` (`applied`, `duplicate`, `ignored`, `quarantined`) | events in them; `quarantined`: events (or whole bodies) that could not be applied, kept in the quarantine |
//! | `graph_usage_percent` | `space` | Graph's latest reported rate-limit usage |
//! | `forward_events_total` | `outcome` (`delivered`, `retried`, `dead`, `dropped`) | events to the business's webhooks |
//! | `forward_posts_total` | | HTTP requests made to the business's webhooks |
//! | `forward_errors_total` | | forwarding steps that failed (store errors) |
//! | `forward_in_flight` | `space` | requests to the space's webhook under way on this instance (at most its `max_in_flight`) |
//! | `forward_oldest_pending_seconds` | `space` | read from the store at each scrape: age of the space's oldest event not yet delivered (0: none); the forwarding lag |
//! | `page_circuit` | `space`, `state` (`closed`, `open`, `half_open`) | 1 for the state each page's sending circuit is in: `open` while it is paused (throttled, its token, Meta failing), `half_open` while one attempt probes it |
//! | `page_sends_total` | `space`, `page` | Graph sends made for the page by this instance (its rate: sends a second) |
//! | `page_throttled_total` | `space`, `page` | Graph sends of the page that Meta throttled (613, 4, 17, 32, ...) |
//! | `page_deferred_total` | `space`, `page` | messages given back to the queue because the page's send bucket was booked |
//! | `page_bucket_wait_seconds_total` | `space`, `page` | time sends waited for their slot in the page's send bucket |
//! | `store_failures_total` | `operation`, `kind` (`unavailable`, `backend`) | SQL store operations that failed, by the operation the error names (`leasing messages`, `starting a transaction`, ...): read at each scrape from the store's own count, so failures that were retried and then succeeded count too |
//! | `sender_actions_total` | `action` (`typing_on`, `typing_off`, `mark_seen`), `result` (`sent`, `refused`, `graph_refused`, `graph_unavailable`, `error`) | sender actions asked for through the API: `refused` by the gateway (nobody to address, window closed), `graph_refused` by Graph for the recipient or the request, `graph_unavailable` when Graph throttled or failed |
//! | `queue_depth` | `queue` (`dispatch`, `webhook`, `webhook_quarantine`, `forward`, `forward_dead`) | read from the store at each scrape: messages not yet sent, Meta webhook bodies not yet applied, quarantined Meta events, events not yet delivered, dead events |

mod labels;

pub use labels::method_label;

use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::Duration;

use axum::http::Method;
use messenger::events::ForwardReport;
use messenger::webhook::WebhookReport;
use messenger::DispatchReport;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

type Labels1 = [(&'static str, String); 1];
type Labels2 = [(&'static str, String); 2];
type Labels3 = [(&'static str, String); 3];
type Seconds = Counter<f64, std::sync::atomic::AtomicU64>;

fn latency_histogram() -> Histogram {
    // 1 ms to ~16 s.
    Histogram::new(exponential_buckets(0.001, 2.0, 15))
}

/// The gateway's metrics. Cheap to clone.
#[derive(Clone)]
pub struct Metrics {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

struct Inner {
    registry: Registry,
    connections_open: Gauge,
    connections_refused: Family<Labels1, Counter>,
    connections_closed: Family<Labels1, Counter>,
    http_requests: Family<Labels3, Counter>,
    http_duration: Family<Labels2, Histogram>,
    accepted: Family<Labels2, Counter>,
    sends: Family<Labels1, Counter>,
    dispatch_errors: Counter,
    dispatch_paused: Counter,
    requests_shed: Counter,
    leases_recovered: Counter,
    webhook_requests: Family<Labels1, Counter>,
    webhook_events: Family<Labels1, Counter>,
    graph_usage: Family<Labels1, Gauge>,
    forward_events: Family<Labels1, Counter>,
    forward_posts: Counter,
    forward_errors: Counter,
    forward_in_flight: Family<Labels1, Gauge>,
    forward_oldest_pending: Family<Labels1, Gauge<f64, AtomicU64>>,
    queue_depth: Family<Labels1, Gauge>,
    page_circuit: Family<Labels2, Gauge>,
    store_failures: Family<Labels2, Counter>,
    sender_actions: Family<Labels2, Counter>,
    page_sends: Family<Labels2, Counter>,
    page_throttled: Family<Labels2, Counter>,
    page_deferred: Family<Labels2, Counter>,
    page_bucket_wait: Family<Labels2, Seconds>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// A fresh registry with every metric registered.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("messenger_gateway");
        let http_requests = Family::<Labels3, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests answered, by route template, method and status",
            http_requests.clone(),
        );
        let http_duration =
            Family::<Labels2, Histogram>::new_with_constructor(latency_histogram as fn() -> _);
        registry.register(
            "http_request_duration_seconds",
            "HTTP request latency, by route template and method",
            http_duration.clone(),
        );
        let connections_open = Gauge::default();
        registry.register(
            "connections_open",
            "Client connections open on this instance's listeners",
            connections_open.clone(),
        );
        let connections_refused = Family::<Labels1, Counter>::default();
        registry.register(
            "connections_refused",
            "Connections answered 503 and closed at a cap, by reason (total, per_client)",
            connections_refused.clone(),
        );
        let connections_closed = Family::<Labels1, Counter>::default();
        registry.register(
            "connections_closed",
            "Connections closed by a timer, by reason (header_timeout, idle_timeout)",
            connections_closed.clone(),
        );
        let accepted = Family::<Labels2, Counter>::default();
        registry.register(
            "messages_accepted",
            "Messages stored for dispatch, by space and kind (single, batch)",
            accepted.clone(),
        );
        let sends = Family::<Labels1, Counter>::default();
        registry.register(
            "dispatch_sends",
            "Send attempts by outcome (sent, retrying, failed, expired)",
            sends.clone(),
        );
        let dispatch_errors = Counter::default();
        registry.register(
            "dispatch_errors",
            "Dispatch rounds that failed",
            dispatch_errors.clone(),
        );
        let requests_shed = Counter::default();
        registry.register(
            "requests_shed",
            "Requests answered 503 because server.max_in_flight requests were being served",
            requests_shed.clone(),
        );
        let dispatch_paused = Counter::default();
        registry.register(
            "dispatch_paused",
            "Worker pauses because Graph's usage was over the threshold",
            dispatch_paused.clone(),
        );
        let leases_recovered = Counter::default();
        registry.register(
            "leases_recovered",
            "Expired leases cleared",
            leases_recovered.clone(),
        );
        let webhook_requests = Family::<Labels1, Counter>::default();
        registry.register(
            "webhook_requests",
            "Meta webhook posts by result (ok, bad_signature, malformed, error)",
            webhook_requests.clone(),
        );
        let webhook_events = Family::<Labels1, Counter>::default();
        registry.register(
            "webhook_events",
            "Meta webhook events by result (applied, duplicate, ignored, quarantined)",
            webhook_events.clone(),
        );
        let graph_usage = Family::<Labels1, Gauge>::default();
        registry.register(
            "graph_usage_percent",
            "Graph's latest reported rate-limit usage per space (highest figure)",
            graph_usage.clone(),
        );
        let forward_events = Family::<Labels1, Counter>::default();
        registry.register(
            "forward_events",
            "Events to the business's webhooks by outcome (delivered, retried, dead, dropped)",
            forward_events.clone(),
        );
        let forward_posts = Counter::default();
        registry.register(
            "forward_posts",
            "HTTP requests made to the business's webhooks",
            forward_posts.clone(),
        );
        let forward_errors = Counter::default();
        registry.register(
            "forward_errors",
            "Forwarding rounds that failed",
            forward_errors.clone(),
        );
        let forward_in_flight = Family::<Labels1, Gauge>::default();
        registry.register(
            "forward_in_flight",
            "Requests to each space's webhook under way on this instance",
            forward_in_flight.clone(),
        );
        let forward_oldest_pending = Family::<Labels1, Gauge<f64, AtomicU64>>::default();
        registry.register(
            "forward_oldest_pending_seconds",
            "Age of each space's oldest event not yet delivered to its webhook, read from the \
             store at each scrape (0: none pending)",
            forward_oldest_pending.clone(),
        );
        let queue_depth = Family::<Labels1, Gauge>::default();
        registry.register(
            "queue_depth",
            "Items waiting, read from the store at each scrape (dispatch: messages not yet sent; \
             webhook: Meta webhook bodies not yet applied; forward: events not yet delivered; \
             forward_dead: dead events)",
            queue_depth.clone(),
        );
        let page_circuit = Family::<Labels2, Gauge>::default();
        registry.register(
            "page_circuit",
            "Each page's sending circuit, read at each scrape: 1 for the state it is in \
             (closed, open: paused, half_open: one attempt probes), 0 for the others",
            page_circuit.clone(),
        );
        let store_failures = Family::<Labels2, Counter>::default();
        registry.register(
            "store_failures",
            "SQL store operations that failed, by operation and kind (unavailable: no \
             connection; backend: the database refused the statement)",
            store_failures.clone(),
        );
        let sender_actions = Family::<Labels2, Counter>::default();
        registry.register(
            "sender_actions",
            "Sender actions asked for through the API, by action and result (sent, refused, \
             graph_refused, graph_unavailable, error)",
            sender_actions.clone(),
        );
        let page_sends = Family::<Labels2, Counter>::default();
        registry.register(
            "page_sends",
            "Graph sends made for each page by this instance, read at each scrape",
            page_sends.clone(),
        );
        let page_throttled = Family::<Labels2, Counter>::default();
        registry.register(
            "page_throttled",
            "Graph sends of each page that Meta throttled, read at each scrape",
            page_throttled.clone(),
        );
        let page_deferred = Family::<Labels2, Counter>::default();
        registry.register(
            "page_deferred",
            "Messages given back to the queue because their page's send bucket was booked",
            page_deferred.clone(),
        );
        let page_bucket_wait = Family::<Labels2, Seconds>::default();
        registry.register(
            "page_bucket_wait_seconds",
            "Time sends waited for their slot in their page's send bucket",
            page_bucket_wait.clone(),
        );
        Self {
            inner: Arc::new(Inner {
                registry,
                connections_open,
                connections_refused,
                connections_closed,
                http_requests,
                http_duration,
                accepted,
                sends,
                dispatch_errors,
                dispatch_paused,
                requests_shed,
                leases_recovered,
                webhook_requests,
                webhook_events,
                graph_usage,
                forward_events,
                forward_posts,
                forward_errors,
                forward_in_flight,
                forward_oldest_pending,
                queue_depth,
                page_circuit,
                store_failures,
                sender_actions,
                page_sends,
                page_throttled,
                page_deferred,
                page_bucket_wait,
            }),
        }
    }

    /// Sets the depth of queue `queue` (`dispatch`, `webhook`, `forward`, `forward_dead`).
    pub fn queue_depth(&self, queue: &'static str, depth: u64) {
        self.inner
            .queue_depth
            .get_or_create(&[("queue", queue.to_owned())])
            .set(i64::try_from(depth).unwrap_or(i64::MAX));
    }

    /// Brings `store_failures_total` up to the store's own counts (which only grow).
    pub fn store_failures(&self, counts: &[messenger_store_sql::FailureCount]) {
        for f in counts {
            let counter = self.inner.store_failures.get_or_create(&[
                ("operation", f.operation.to_owned()),
                ("kind", f.kind.as_str().to_owned()),
            ]);
            let seen = counter.get();
            if f.count > seen {
                counter.inc_by(f.count - seen);
            }
        }
    }

    /// The text exposition (`# EOF` terminated).
    pub fn render(&self) -> String {
        let mut out = String::new();
        if encode(&mut out, &self.inner.registry).is_err() {
            tracing::warn!("encoding metrics failed");
        }
        out
    }

    /// Records an answered request. `route` must come from the route table (a template) or be
    /// `unmatched`; the method is labelled by [`method_label`].
    pub fn http_request(&self, route: &str, method: &Method, status: u16, elapsed: Duration) {
        let method = method_label(method);
        self.inner
            .http_requests
            .get_or_create(&[
                ("route", route.to_owned()),
                ("method", method.to_owned()),
                ("status", status.to_string()),
            ])
            .inc();
        self.inner
            .http_duration
            .get_or_create(&[("route", route.to_owned()), ("method", method.to_owned())])
            .observe(elapsed.as_secs_f64());
    }

    /// A client connection was taken.
    pub fn connection_opened(&self) {
        self.inner.connections_open.inc();
    }

    /// A client connection ended.
    pub fn connection_ended(&self) {
        self.inner.connections_open.dec();
    }

    /// A connection was refused at a cap (`total`, `per_client`).
    pub fn connection_refused(&self, reason: &'static str) {
        self.inner
            .connections_refused
            .get_or_create(&[("reason", reason.to_owned())])
            .inc();
    }

    /// A connection was closed by a timer (`header_timeout`, `idle_timeout`).
    pub fn connection_closed(&self, reason: &'static str) {
        self.inner
            .connections_closed
            .get_or_create(&[("reason", reason.to_owned())])
            .inc();
    }

    /// Records accepted messages.
    pub fn accepted(&self, space: &str, kind: &'static str, n: usize) {
        self.inner
            .accepted
            .get_or_create(&[("space", space.to_owned()), ("kind", kind.to_owned())])
            .inc_by(n as u64);
    }

    /// Records a dispatch round.
    pub fn dispatch(&self, report: &DispatchReport) {
        for (outcome, n) in [
            ("sent", report.sent),
            ("retrying", report.retrying),
            ("failed", report.failed),
            ("expired", report.expired),
            ("deferred", report.deferred),
        ] {
            if n > 0 {
                self.inner
                    .sends
                    .get_or_create(&[("outcome", outcome.to_owned())])
                    .inc_by(n as u64);
            }
        }
    }

    /// Records a sender action's result.
    pub fn sender_action(&self, action: &'static str, result: &'static str) {
        self.inner
            .sender_actions
            .get_or_create(&[("action", action.to_owned()), ("result", result.to_owned())])
            .inc();
    }

    /// Records a failed dispatch round.
    pub fn dispatch_error(&self) {
        self.inner.dispatch_errors.inc();
    }

    /// Records a request shed for load.
    pub fn shed(&self) {
        self.inner.requests_shed.inc();
    }

    /// Records a pause for Graph usage.
    pub fn dispatch_paused(&self) {
        self.inner.dispatch_paused.inc();
    }

    /// Records recovered leases.
    pub fn leases_recovered(&self, n: u64) {
        self.inner.leases_recovered.inc_by(n);
    }

    /// Records a Meta webhook post's result.
    pub fn webhook_request(&self, result: &'static str) {
        self.inner
            .webhook_requests
            .get_or_create(&[("result", result.to_owned())])
            .inc();
    }

    /// Records what a webhook batch did.
    pub fn webhook_events(&self, report: &WebhookReport) {
        for (result, n) in [
            ("applied", report.applied),
            ("duplicate", report.duplicates),
            ("ignored", report.ignored),
            ("quarantined", report.quarantined),
        ] {
            self.inner
                .webhook_events
                .get_or_create(&[("result", result.to_owned())])
                .inc_by(n as u64);
        }
    }

    /// Records a forwarding round.
    pub fn forward(&self, report: &ForwardReport) {
        for (outcome, n) in [
            ("delivered", report.delivered),
            ("retried", report.retried),
            ("dead", report.dead),
            ("dropped", report.dropped),
        ] {
            if n > 0 {
                self.inner
                    .forward_events
                    .get_or_create(&[("outcome", outcome.to_owned())])
                    .inc_by(n as u64);
            }
        }
        self.inner.forward_posts.inc_by(report.posts as u64);
    }

    /// Records a failed forwarding round.
    pub fn forward_error(&self) {
        self.inner.forward_errors.inc();
    }

    /// Sets the requests under way to `space`'s webhook.
    pub fn forward_in_flight(&self, space: &str, requests: usize) {
        self.inner
            .forward_in_flight
            .get_or_create(&[("space", space.to_owned())])
            .set(i64::try_from(requests).unwrap_or(i64::MAX));
    }

    /// Sets the age of `space`'s oldest pending event (zero: none).
    pub fn forward_oldest_pending(&self, space: &str, age: Duration) {
        self.inner
            .forward_oldest_pending
            .get_or_create(&[("space", space.to_owned())])
            .set(age.as_secs_f64());
    }

    /// Records a page's circuit state (1 for the state it is in, 0 for the others).
    pub fn page_circuit(&self, space: &str, state: messenger::send::page::CircuitState) {
        use messenger::send::page::CircuitState;
        for s in [
            CircuitState::Closed,
            CircuitState::Open,
            CircuitState::HalfOpen,
        ] {
            self.inner
                .page_circuit
                .get_or_create(&[
                    ("space", space.to_owned()),
                    ("state", s.as_str().to_owned()),
                ])
                .set(i64::from(s == state));
        }
    }

    /// Brings a page's pacing counters up to the facade's own (which only grow).
    pub fn page_pacing(
        &self,
        space: &str,
        page: &str,
        counts: messenger::send::pacing::PacingCounts,
    ) {
        let labels = [("space", space.to_owned()), ("page", page.to_owned())];
        for (family, total) in [
            (&self.inner.page_sends, counts.sends),
            (&self.inner.page_throttled, counts.throttled),
            (&self.inner.page_deferred, counts.deferred),
        ] {
            let counter = family.get_or_create(&labels);
            let seen = counter.get();
            if total > seen {
                counter.inc_by(total - seen);
            }
        }
        let waited = self.inner.page_bucket_wait.get_or_create(&labels);
        #[allow(clippy::cast_precision_loss)] // microseconds: exact far beyond a process's life
        let total = counts.waited_micros as f64 / 1e6;
        let seen = waited.get();
        if total > seen {
            waited.inc_by(total - seen);
        }
    }

    /// Records Graph's usage for a space.
    pub fn graph_usage(&self, space: &str, percent: u32) {
        self.inner
            .graph_usage
            .get_or_create(&[("space", space.to_owned())])
            .set(i64::from(percent));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_prometheus_text() {
        let m = Metrics::new();
        m.http_request("/healthz", &Method::GET, 200, Duration::from_millis(3));
        m.dispatch(&DispatchReport {
            leased: 2,
            sent: 2,
            ..DispatchReport::default()
        });
        m.page_pacing(
            "a",
            "P",
            messenger::send::pacing::PacingCounts {
                sends: 5,
                throttled: 1,
                deferred: 2,
                waited_micros: 1_500_000,
            },
        );
        let text = m.render();
        assert!(
            text.contains("messenger_gateway_page_sends_total{space=\"a\",page=\"P\"} 5"),
            "{text}"
        );
        assert!(
            text.contains(
                "messenger_gateway_page_bucket_wait_seconds_total{space=\"a\",page=\"P\"} 1.5"
            ),
            "{text}"
        );
        assert!(text.contains(
            "messenger_gateway_http_requests_total{route=\"/healthz\",method=\"GET\",status=\"200\"} 1"
        ), "{text}");
        assert!(text.contains("messenger_gateway_dispatch_sends_total{outcome=\"sent\"} 2"));
        assert!(text.ends_with("# EOF\n"));
    }
}
