//! Retention metrics, recorded after each housekeeping round: rows redacted, deleted or whose
//! key was forgotten per table, and each table's oldest row. Their labels are a closed set:
//! the table names of `messenger_store::StoreTable` (with `held_receipts`) and the actions of
//! [`RetentionAction`].

use std::sync::atomic::AtomicU64;

use messenger_model::Timestamp;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use super::{registered, Labels1, Labels2, Metrics};
use crate::retention::{RetentionAction, RetentionReport};

/// The retention families.
pub(super) struct Retention {
    rows: Family<Labels2, Counter>,
    oldest: Family<Labels1, Gauge<f64, AtomicU64>>,
}

impl Retention {
    pub(super) fn register(registry: &mut Registry) -> Self {
        Self {
            rows: registered(
                registry,
                "retention_rows",
                "Rows past their retention, by table and action (redacted: content removed, the \
                 row kept; deleted; key_forgotten: an idempotency key)",
                Family::default(),
            ),
            oldest: registered(
                registry,
                "store_oldest_row_seconds",
                "Age of each table's oldest row, as of this instance's last housekeeping round \
                 (0: the table is empty)",
                Family::default(),
            ),
        }
    }
}

impl Metrics {
    /// Counts `n` rows of `table` that a retention pass redacted, deleted or forgot a key of.
    pub fn retention_rows(&self, table: &'static str, action: RetentionAction, n: u64) {
        if n > 0 {
            self.inner
                .retention
                .rows
                .get_or_create(&[
                    ("table", table.to_owned()),
                    ("action", action.as_str().to_owned()),
                ])
                .inc_by(n);
        }
    }

    /// Records a retention pass at `now`: its rows, and each table's oldest row (zero for the
    /// tables it found empty).
    pub fn retention(&self, report: &RetentionReport, now: Timestamp) {
        for (table, action, n) in &report.rows {
            self.retention_rows(table, *action, *n);
        }
        for table in messenger_store::StoreTable::ALL {
            let age_ms = report
                .oldest
                .iter()
                .find(|(t, _)| *t == table)
                .map_or(0, |(_, at)| now.millis().saturating_sub(at.millis()).max(0));
            self.inner
                .retention
                .oldest
                .get_or_create(&[("table", table.as_str().to_owned())])
                .set(age_ms as f64 / 1000.0);
        }
    }
}
