//! Store metrics, read from the store at each scrape: queue depths and failed operations.

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use super::{registered, Labels1, Labels2, Metrics};

/// The store families.
pub(super) struct Store {
    queue_depth: Family<Labels1, Gauge>,
    failures: Family<Labels2, Counter>,
}

impl Store {
    pub(super) fn register(registry: &mut Registry) -> Self {
        Self {
            queue_depth: registered(
                registry,
                "queue_depth",
                "Items waiting, read from the store at each scrape (dispatch: messages not yet \
                 sent; webhook: Meta webhook bodies not yet applied; forward: events not yet \
                 delivered; forward_dead: dead events)",
                Family::default(),
            ),
            failures: registered(
                registry,
                "store_failures",
                "SQL store operations that failed, by operation and kind (unavailable: no \
                 connection; backend: the database refused the statement)",
                Family::default(),
            ),
        }
    }
}

impl Metrics {
    /// Sets the depth of queue `queue` (`dispatch`, `webhook`, `forward`, `forward_dead`).
    pub fn queue_depth(&self, queue: &'static str, depth: u64) {
        self.inner
            .store
            .queue_depth
            .get_or_create(&[("queue", queue.to_owned())])
            .set(i64::try_from(depth).unwrap_or(i64::MAX));
    }

    /// Brings `store_failures_total` up to the store's own counts (which only grow).
    pub fn store_failures(&self, counts: &[messenger_store_sql::FailureCount]) {
        for f in counts {
            let counter = self.inner.store.failures.get_or_create(&[
                ("operation", f.operation.to_owned()),
                ("kind", f.kind.as_str().to_owned()),
            ]);
            let seen = counter.get();
            if f.count > seen {
                counter.inc_by(f.count - seen);
            }
        }
    }
}
