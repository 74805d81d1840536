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
//! | `page_needs_reauth` | `space` | 1 while the space's page token does not work (Graph's 190, or a token check) and its messages wait for new credentials; `/readyz`'s `pagesNeedingReauth` and the log say why (decision 0022) |
//! | `page_sends_total` | `space`, `page` | Graph sends made for the page by this instance (its rate: sends a second) |
//! | `page_throttled_total` | `space`, `page` | Graph sends of the page that Meta throttled (613, 4, 17, 32, ...) |
//! | `page_deferred_total` | `space`, `page` | messages given back to the queue because the page's send bucket was booked |
//! | `page_bucket_wait_seconds_total` | `space`, `page` | time sends waited for their slot in the page's send bucket |
//! | `store_failures_total` | `operation`, `kind` (`unavailable`, `backend`) | SQL store operations that failed, by the operation the error names (`leasing messages`, `starting a transaction`, ...): read at each scrape from the store's own count, so failures that were retried and then succeeded count too |
//! | `sender_actions_total` | `action` (`typing_on`, `typing_off`, `mark_seen`), `result` (`sent`, `refused`, `graph_refused`, `graph_unavailable`, `error`) | sender actions asked for through the API: `refused` by the gateway (nobody to address, window closed), `graph_refused` by Graph for the recipient or the request, `graph_unavailable` when Graph throttled or failed |
//! | `retention_rows_total` | `table` (`messages`, `outbox`, `seen_events`, `optin_tokens`, `webhook_quarantine`, `held_receipts`, `inbound_window`), `action` (`redacted`, `deleted`, `key_forgotten`) | rows past their retention (docs/store.md, "Retention"): messages whose content was redacted, rows deleted, idempotency keys forgotten |
//! | `store_oldest_row_seconds` | `table` (as above) | age of each table's oldest row, as of this instance's last housekeeping round (0: empty) |
//! | `queue_depth` | `queue` (`dispatch`, `webhook`, `webhook_quarantine`, `forward`, `forward_dead`) | read from the store at each scrape: messages not yet sent, Meta webhook bodies not yet applied, quarantined Meta events, events not yet delivered, dead events |

mod dispatch;
mod events;
mod http;
mod labels;
mod pages;
mod retention;
mod store;

pub use labels::method_label;

use std::sync::Arc;

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::registry::{Metric, Registry};

type Labels1 = [(&'static str, String); 1];
type Labels2 = [(&'static str, String); 2];
type Labels3 = [(&'static str, String); 3];
type Seconds = Counter<f64, std::sync::atomic::AtomicU64>;

/// Registers `metric` as `name` with `help`, and returns it to be kept (a clone shares the
/// registered one).
fn registered<M: Metric + Clone>(registry: &mut Registry, name: &str, help: &str, metric: M) -> M {
    registry.register(name, help, metric.clone());
    metric
}

/// The gateway's metrics. Cheap to clone.
///
/// Each group of families lives with the methods that record it: `http` (requests,
/// connections, shedding), `dispatch` (accepted messages, send attempts, sender actions),
/// `events` (Meta's webhooks, forwarding), `pages` (circuits, pacing, Graph usage) and
/// `store` (queue depths, store failures) and `retention` (rows past their retention, each
/// table's oldest row).
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
    http: http::Http,
    dispatch: dispatch::Dispatch,
    events: events::Events,
    pages: pages::Pages,
    store: store::Store,
    retention: retention::Retention,
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
        let http = http::Http::register(&mut registry);
        let dispatch = dispatch::Dispatch::register(&mut registry);
        let events = events::Events::register(&mut registry);
        let pages = pages::Pages::register(&mut registry);
        let store = store::Store::register(&mut registry);
        let retention = retention::Retention::register(&mut registry);
        Self {
            inner: Arc::new(Inner {
                registry,
                http,
                dispatch,
                events,
                pages,
                store,
                retention,
            }),
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
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use axum::http::Method;
    use messenger::DispatchReport;

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
                late: 3,
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
