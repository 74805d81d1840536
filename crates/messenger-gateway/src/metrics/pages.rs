//! Page metrics: each page's sending circuit, its pacing counters and Graph's reported usage.

use messenger::send::pacing::PacingCounts;
use messenger::send::page::CircuitState;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use super::{registered, Labels1, Labels2, Metrics, Seconds};

/// The page families.
pub(super) struct Pages {
    circuit: Family<Labels2, Gauge>,
    needs_reauth: Family<Labels1, Gauge>,
    sends: Family<Labels2, Counter>,
    late: Family<Labels2, Counter>,
    shedding: Family<Labels1, Gauge>,
    throttled: Family<Labels2, Counter>,
    deferred: Family<Labels2, Counter>,
    bucket_wait: Family<Labels2, Seconds>,
    graph_usage: Family<Labels1, Gauge>,
}

impl Pages {
    pub(super) fn register(registry: &mut Registry) -> Self {
        Self {
            needs_reauth: registered(
                registry,
                "page_needs_reauth",
                "1 while a page's token does not work and its messages wait for new \
                 credentials (the log and /readyz say why), 0 otherwise; read at each scrape",
                Family::default(),
            ),
            graph_usage: registered(
                registry,
                "graph_usage_percent",
                "Graph's latest reported rate-limit usage per space (highest figure)",
                Family::default(),
            ),
            circuit: registered(
                registry,
                "page_circuit",
                "Each page's sending circuit, read at each scrape: 1 for the state it is in \
                 (closed, open: paused, half_open: one attempt probes), 0 for the others",
                Family::default(),
            ),
            sends: registered(
                registry,
                "page_sends",
                "Graph sends made for each page by this instance, read at each scrape",
                Family::default(),
            ),
            late: registered(
                registry,
                "page_late_sends",
                "Graph sends of each page that left more than 50 ms after their slot: this \
                 instance could not keep to the page's pace",
                Family::default(),
            ),
            shedding: registered(
                registry,
                "space_shedding",
                "1 while this instance refuses a space's new messages because its sending falls \
                 behind and the space accepts more than its page sends, else 0",
                Family::default(),
            ),
            throttled: registered(
                registry,
                "page_throttled",
                "Graph sends of each page that Meta throttled, read at each scrape",
                Family::default(),
            ),
            deferred: registered(
                registry,
                "page_deferred",
                "Messages given back to the queue because their page's send bucket was booked",
                Family::default(),
            ),
            bucket_wait: registered(
                registry,
                "page_bucket_wait_seconds",
                "Time sends waited for their slot in their page's send bucket",
                Family::default(),
            ),
        }
    }
}

impl Metrics {
    /// Records a page's circuit state (1 for the state it is in, 0 for the others).
    pub fn page_circuit(&self, space: &str, state: CircuitState) {
        for s in [
            CircuitState::Closed,
            CircuitState::Open,
            CircuitState::HalfOpen,
        ] {
            self.inner
                .pages
                .circuit
                .get_or_create(&[
                    ("space", space.to_owned()),
                    ("state", s.as_str().to_owned()),
                ])
                .set(i64::from(s == state));
        }
    }

    /// Records whether a space's page needs new credentials (`problem`, when it does).
    pub fn page_token(&self, space: &str, problem: Option<&str>) {
        self.inner
            .pages
            .needs_reauth
            .get_or_create(&[("space", space.to_owned())])
            .set(i64::from(problem.is_some()));
    }

    /// Brings a page's pacing counters up to the facade's own (which only grow).
    pub fn page_pacing(&self, space: &str, page: &str, counts: PacingCounts) {
        let pages = &self.inner.pages;
        let labels = [("space", space.to_owned()), ("page", page.to_owned())];
        for (family, total) in [
            (&pages.sends, counts.sends),
            (&pages.late, counts.late),
            (&pages.throttled, counts.throttled),
            (&pages.deferred, counts.deferred),
        ] {
            let counter = family.get_or_create(&labels);
            let seen = counter.get();
            if total > seen {
                counter.inc_by(total - seen);
            }
        }
        let waited = pages.bucket_wait.get_or_create(&labels);
        #[allow(clippy::cast_precision_loss)] // microseconds: exact far beyond a process's life
        let total = counts.waited_micros as f64 / 1e6;
        let seen = waited.get();
        if total > seen {
            waited.inc_by(total - seen);
        }
    }

    /// Records whether this instance sheds a space's new messages.
    pub fn space_shedding(&self, space: &str, shedding: bool) {
        self.inner
            .pages
            .shedding
            .get_or_create(&[("space", space.to_owned())])
            .set(i64::from(shedding));
    }

    /// Records Graph's usage for a space.
    pub fn graph_usage(&self, space: &str, percent: u32) {
        self.inner
            .pages
            .graph_usage
            .get_or_create(&[("space", space.to_owned())])
            .set(i64::from(percent));
    }
}
