//! HTTP metrics: requests answered and their latency, client connections and load shedding.

use std::time::Duration;

use axum::http::Method;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

use super::{method_label, registered, Labels1, Labels2, Labels3, Metrics};

fn latency_histogram() -> Histogram {
    // 1 ms to ~16 s.
    Histogram::new(exponential_buckets(0.001, 2.0, 15))
}

/// The HTTP families.
pub(super) struct Http {
    requests: Family<Labels3, Counter>,
    duration: Family<Labels2, Histogram>,
    connections_open: Gauge,
    connections_refused: Family<Labels1, Counter>,
    connections_closed: Family<Labels1, Counter>,
    requests_shed: Counter,
}

impl Http {
    pub(super) fn register(registry: &mut Registry) -> Self {
        Self {
            requests: registered(
                registry,
                "http_requests",
                "HTTP requests answered, by route template, method and status",
                Family::default(),
            ),
            duration: registered(
                registry,
                "http_request_duration_seconds",
                "HTTP request latency, by route template and method",
                Family::new_with_constructor(latency_histogram as fn() -> _),
            ),
            connections_open: registered(
                registry,
                "connections_open",
                "Client connections open on this instance's listeners",
                Gauge::default(),
            ),
            connections_refused: registered(
                registry,
                "connections_refused",
                "Connections answered 503 and closed at a cap, by reason (total, per_client)",
                Family::default(),
            ),
            connections_closed: registered(
                registry,
                "connections_closed",
                "Connections closed by a timer, by reason (header_timeout, idle_timeout)",
                Family::default(),
            ),
            requests_shed: registered(
                registry,
                "requests_shed",
                "Requests answered 503 because server.max_in_flight requests were being served",
                Counter::default(),
            ),
        }
    }
}

impl Metrics {
    /// Records an answered request. `route` must come from the route table (a template) or be
    /// `unmatched`; the method is labelled by [`method_label`].
    pub fn http_request(&self, route: &str, method: &Method, status: u16, elapsed: Duration) {
        let method = method_label(method);
        let http = &self.inner.http;
        http.requests
            .get_or_create(&[
                ("route", route.to_owned()),
                ("method", method.to_owned()),
                ("status", status.to_string()),
            ])
            .inc();
        http.duration
            .get_or_create(&[("route", route.to_owned()), ("method", method.to_owned())])
            .observe(elapsed.as_secs_f64());
    }

    /// A client connection was taken.
    pub fn connection_opened(&self) {
        self.inner.http.connections_open.inc();
    }

    /// A client connection ended.
    pub fn connection_ended(&self) {
        self.inner.http.connections_open.dec();
    }

    /// A connection was refused at a cap (`total`, `per_client`).
    pub fn connection_refused(&self, reason: &'static str) {
        self.inner
            .http
            .connections_refused
            .get_or_create(&[("reason", reason.to_owned())])
            .inc();
    }

    /// A connection was closed by a timer (`header_timeout`, `idle_timeout`).
    pub fn connection_closed(&self, reason: &'static str) {
        self.inner
            .http
            .connections_closed
            .get_or_create(&[("reason", reason.to_owned())])
            .inc();
    }

    /// Records a request shed for load.
    pub fn shed(&self) {
        self.inner.http.requests_shed.inc();
    }
}
