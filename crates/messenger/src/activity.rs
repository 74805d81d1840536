//! How many messages of each space entered each final or outward status since the process
//! started: [`StatusCounts`], read with [`Messenger::status_counts`](crate::Messenger::status_counts).
//!
//! Counted where a status change produces its event for the business (every change the store
//! applies, whether or not the space subscribes to the event), so the figures are the
//! process's own and cost no store read. A store transaction that is retried may count its
//! changes twice; the figures are for charts, not for billing.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};

use messenger_model::MessageStatus;

/// The statuses counted, in the order of [`StatusCounts`]'s fields.
const COUNTED: [MessageStatus; 5] = [
    MessageStatus::Sent,
    MessageStatus::Delivered,
    MessageStatus::Read,
    MessageStatus::Failed,
    MessageStatus::Expired,
];

/// Messages of one space that entered each status since the process started.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct StatusCounts {
    /// Entered `sent`.
    pub sent: u64,
    /// Entered `delivered`.
    pub delivered: u64,
    /// Entered `read`.
    pub read: u64,
    /// Entered `failed`.
    pub failed: u64,
    /// Entered `expired`.
    pub expired: u64,
}

/// The counters of every configured space.
#[derive(Debug, Default)]
pub(crate) struct StatusCounters {
    spaces: HashMap<String, [AtomicU64; 5]>,
}

impl StatusCounters {
    /// Counters for `spaces`, all at zero.
    pub(crate) fn new<'a>(spaces: impl Iterator<Item = &'a str>) -> Self {
        Self {
            spaces: spaces.map(|s| (s.to_owned(), Default::default())).collect(),
        }
    }

    /// Counts a message of `space` that entered `status` (other statuses are not counted).
    pub(crate) fn record(&self, space: &str, status: MessageStatus) {
        let slot = COUNTED.iter().position(|s| *s == status);
        if let (Some(counters), Some(i)) = (self.spaces.get(space), slot) {
            counters[i].fetch_add(1, Ordering::Relaxed);
        }
    }

    /// The counts of `space` (zeros for a space that is not configured).
    pub(crate) fn of(&self, space: &str) -> StatusCounts {
        let Some(c) = self.spaces.get(space) else {
            return StatusCounts::default();
        };
        let n = |i: usize| c[i].load(Ordering::Relaxed);
        StatusCounts {
            sent: n(0),
            delivered: n(1),
            read: n(2),
            failed: n(3),
            expired: n(4),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_per_space_and_status() {
        let c = StatusCounters::new(["a", "b"].into_iter());
        c.record("a", MessageStatus::Sent);
        c.record("a", MessageStatus::Sent);
        c.record("a", MessageStatus::Read);
        c.record("a", MessageStatus::Processing);
        c.record("b", MessageStatus::Failed);
        c.record("nobody", MessageStatus::Sent);
        assert_eq!(
            c.of("a"),
            StatusCounts {
                sent: 2,
                read: 1,
                ..StatusCounts::default()
            }
        );
        assert_eq!(c.of("b").failed, 1);
        assert_eq!(c.of("nobody"), StatusCounts::default());
    }
}
