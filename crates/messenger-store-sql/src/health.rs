//! Whether a store's writes go through: the last write that failed for an [`Outage`] (a full
//! disk, a lost connection) and whether a write has gone through since. A database that still
//! answers reads may refuse every write (SQLite on a full disk), so readiness asks this besides
//! pinging.

use std::sync::{Mutex, PoisonError};

use messenger_model::Timestamp;
use messenger_store::StoreError;

use crate::error::{Outage, OutageMark};

/// A write that failed for an outage and has not been followed by one that went through.
#[derive(Debug, Clone, Copy)]
struct Failing {
    outage: Outage,
    what: &'static str,
    since: Timestamp,
}

/// The write health of one store.
#[derive(Debug, Default)]
pub(crate) struct WriteHealth {
    failing: Mutex<Option<Failing>>,
}

impl WriteHealth {
    /// Notes how a write ended: an outage marks the store failing (from the first such failure
    /// on), any other error changes nothing.
    pub(crate) fn note_failure(&self, what: &'static str, e: &StoreError) {
        if let Some(outage) = Outage::of(e) {
            let mut failing = self.lock();
            match failing.as_mut() {
                // Keep the first time, name the latest cause.
                Some(f) => {
                    f.outage = outage;
                    f.what = what;
                }
                None => {
                    tracing::warn!(
                        cause = outage.as_str(),
                        operation = what,
                        "the store's writes fail"
                    );
                    *failing = Some(Failing {
                        outage,
                        what,
                        since: Timestamp::now(),
                    });
                }
            }
        }
    }

    /// A write that stored something went through: the store writes again.
    pub(crate) fn note_success(&self) {
        if let Some(f) = self.lock().take() {
            tracing::info!(
                cause = f.outage.as_str(),
                since_ms = f.since.millis(),
                "the store's writes go through again"
            );
        }
    }

    /// `Ok` unless the last write that failed for an outage has not been followed by one that
    /// went through; then an [`StoreError::Unavailable`] naming the outage.
    pub(crate) fn check(&self) -> Result<(), StoreError> {
        match *self.lock() {
            None => Ok(()),
            Some(f) => Err(StoreError::Unavailable {
                message: format!("writes fail since {} ({}: {})", f.since, f.what, f.outage),
                source: Some(Box::new(OutageMark(f.outage))),
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Failing>> {
        self.failing.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
