//! Sending metrics: messages accepted, how send attempts ended, dispatch rounds' failures and
//! pauses, recovered leases, sender actions.

use messenger::DispatchReport;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;

use super::{registered, Labels1, Labels2, Metrics};

/// The sending families.
pub(super) struct Dispatch {
    accepted: Family<Labels2, Counter>,
    sends: Family<Labels1, Counter>,
    errors: Counter,
    paused: Counter,
    leases_recovered: Counter,
    sender_actions: Family<Labels2, Counter>,
}

impl Dispatch {
    pub(super) fn register(registry: &mut Registry) -> Self {
        Self {
            accepted: registered(
                registry,
                "messages_accepted",
                "Messages stored for dispatch, by space and kind (single, batch)",
                Family::default(),
            ),
            sends: registered(
                registry,
                "dispatch_sends",
                "Send attempts by outcome (sent, retrying, failed, expired)",
                Family::default(),
            ),
            errors: registered(
                registry,
                "dispatch_errors",
                "Dispatch rounds that failed",
                Counter::default(),
            ),
            paused: registered(
                registry,
                "dispatch_paused",
                "Worker pauses because Graph's usage was over the threshold",
                Counter::default(),
            ),
            leases_recovered: registered(
                registry,
                "leases_recovered",
                "Expired leases cleared",
                Counter::default(),
            ),
            sender_actions: registered(
                registry,
                "sender_actions",
                "Sender actions asked for through the API, by action and result (sent, refused, \
                 graph_refused, graph_unavailable, error)",
                Family::default(),
            ),
        }
    }
}

impl Metrics {
    /// Records accepted messages.
    pub fn accepted(&self, space: &str, kind: &'static str, n: usize) {
        self.inner
            .dispatch
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
                    .dispatch
                    .sends
                    .get_or_create(&[("outcome", outcome.to_owned())])
                    .inc_by(n as u64);
            }
        }
    }

    /// Records a sender action's result.
    pub fn sender_action(&self, action: &'static str, result: &'static str) {
        self.inner
            .dispatch
            .sender_actions
            .get_or_create(&[("action", action.to_owned()), ("result", result.to_owned())])
            .inc();
    }

    /// Records a failed dispatch round.
    pub fn dispatch_error(&self) {
        self.inner.dispatch.errors.inc();
    }

    /// Records a pause for Graph usage.
    pub fn dispatch_paused(&self) {
        self.inner.dispatch.paused.inc();
    }

    /// Records recovered leases.
    pub fn leases_recovered(&self, n: u64) {
        self.inner.dispatch.leases_recovered.inc_by(n);
    }
}
