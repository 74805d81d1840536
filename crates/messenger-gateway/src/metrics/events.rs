//! Event metrics: Meta's webhook posts and their events, and forwarding to the business's
//! webhooks.

use std::sync::atomic::AtomicU64;
use std::time::Duration;

use messenger::events::ForwardReport;
use messenger::webhook::WebhookReport;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use super::{registered, Labels1, Metrics};

/// The families of events in (Meta's webhooks) and out (forwarding).
pub(super) struct Events {
    webhook_requests: Family<Labels1, Counter>,
    webhook_events: Family<Labels1, Counter>,
    forward_events: Family<Labels1, Counter>,
    forward_posts: Counter,
    forward_errors: Counter,
    forward_in_flight: Family<Labels1, Gauge>,
    forward_oldest_pending: Family<Labels1, Gauge<f64, AtomicU64>>,
}

impl Events {
    pub(super) fn register(registry: &mut Registry) -> Self {
        Self {
            webhook_requests: registered(
                registry,
                "webhook_requests",
                "Meta webhook posts by result (ok, bad_signature, malformed, error)",
                Family::default(),
            ),
            webhook_events: registered(
                registry,
                "webhook_events",
                "Meta webhook events by result (applied, duplicate, ignored, quarantined)",
                Family::default(),
            ),
            forward_events: registered(
                registry,
                "forward_events",
                "Events to the business's webhooks by outcome (delivered, retried, dead, dropped)",
                Family::default(),
            ),
            forward_posts: registered(
                registry,
                "forward_posts",
                "HTTP requests made to the business's webhooks",
                Counter::default(),
            ),
            forward_errors: registered(
                registry,
                "forward_errors",
                "Forwarding rounds that failed",
                Counter::default(),
            ),
            forward_in_flight: registered(
                registry,
                "forward_in_flight",
                "Requests to each space's webhook under way on this instance",
                Family::default(),
            ),
            forward_oldest_pending: registered(
                registry,
                "forward_oldest_pending_seconds",
                "Age of each space's oldest event not yet delivered to its webhook, read from \
                 the store at each scrape (0: none pending)",
                Family::default(),
            ),
        }
    }
}

impl Metrics {
    /// Records a Meta webhook post's result.
    pub fn webhook_request(&self, result: &'static str) {
        self.inner
            .events
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
                .events
                .webhook_events
                .get_or_create(&[("result", result.to_owned())])
                .inc_by(n as u64);
        }
    }

    /// Records a forwarding round.
    pub fn forward(&self, report: &ForwardReport) {
        let events = &self.inner.events;
        for (outcome, n) in [
            ("delivered", report.delivered),
            ("retried", report.retried),
            ("dead", report.dead),
            ("dropped", report.dropped),
        ] {
            if n > 0 {
                events
                    .forward_events
                    .get_or_create(&[("outcome", outcome.to_owned())])
                    .inc_by(n as u64);
            }
        }
        events.forward_posts.inc_by(report.posts as u64);
    }

    /// Records a failed forwarding round.
    pub fn forward_error(&self) {
        self.inner.events.forward_errors.inc();
    }

    /// Sets the requests under way to `space`'s webhook.
    pub fn forward_in_flight(&self, space: &str, requests: usize) {
        self.inner
            .events
            .forward_in_flight
            .get_or_create(&[("space", space.to_owned())])
            .set(i64::try_from(requests).unwrap_or(i64::MAX));
    }

    /// Sets the age of `space`'s oldest pending event (zero: none).
    pub fn forward_oldest_pending(&self, space: &str, age: Duration) {
        self.inner
            .events
            .forward_oldest_pending
            .get_or_create(&[("space", space.to_owned())])
            .set(age.as_secs_f64());
    }
}
