//! How far behind each space's sending is, and the bound on it: a space may hold at most
//! `spaces[].max_backlog_secs` seconds of its page's `send_rate` in unsent messages; a send that
//! would leave more is refused with 429 and a `Retry-After` saying when its page will have sent
//! enough to make room (decision 0017).
//!
//! The counts come from the store (every instance's messages, so the bound holds across
//! instances), read once a second by [`run`]; between two reads, what this instance accepted is
//! added to the last count, so a burst cannot slip past the bound before the next read.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use messenger::send::pacing::PacingCounts;
use messenger::send::page::CircuitState;
use messenger::Messenger;
use tokio_util::sync::CancellationToken;

use crate::config::SpaceConfig;
use crate::metrics::Metrics;
use crate::shed::{Second, Shedder};

/// How often the counts are read from the store.
pub const REFRESH: Duration = Duration::from_secs(1);

/// One space's bound and its last known backlog.
#[derive(Debug)]
struct SpaceBacklog {
    /// The page's text send rate, messages a second (a reload may change it).
    rate: AtomicU64,
    /// The most unsent messages the space may hold: `rate` x `max_backlog_secs`.
    cap: AtomicU64,
    /// Unsent messages: the store's last count plus what this instance accepted since.
    unsent: AtomicU64,
}

/// A send the space's backlog has no room for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Full {
    /// Unsent messages the space holds.
    pub unsent: u64,
    /// The most it may hold.
    pub cap: u64,
    /// The page's send rate it drains at.
    pub rate: u64,
    /// Seconds until the page has sent enough for this send to fit.
    pub retry_after_secs: u32,
}

/// Every space's backlog bound, shared by the HTTP handlers and [`run`].
#[derive(Debug, Default, Clone)]
pub struct Backlogs {
    spaces: Arc<HashMap<String, SpaceBacklog>>,
}

impl Backlogs {
    /// The bounds of `spaces`, with nothing counted yet.
    pub fn new(spaces: &[SpaceConfig]) -> Self {
        let spaces = spaces
            .iter()
            .map(|s| {
                let (rate, cap) = bounds(s);
                let backlog = SpaceBacklog {
                    rate: AtomicU64::new(rate),
                    cap: AtomicU64::new(cap),
                    unsent: AtomicU64::new(0),
                };
                (s.id.clone(), backlog)
            })
            .collect();
        Self {
            spaces: Arc::new(spaces),
        }
    }

    /// Takes room for `count` new messages of `space`, or says when there will be some. A
    /// space without a bound (not configured here) always has room.
    pub fn admit(&self, space: &str, count: u64) -> Result<(), Full> {
        let Some(b) = self.spaces.get(space) else {
            return Ok(());
        };
        let (rate, cap) = (
            b.rate.load(Ordering::Relaxed),
            b.cap.load(Ordering::Relaxed),
        );
        let mut unsent = b.unsent.load(Ordering::Relaxed);
        loop {
            let after = unsent.saturating_add(count);
            if after > cap {
                let excess = after - cap;
                let secs = excess.div_ceil(rate).max(1);
                return Err(Full {
                    unsent,
                    cap,
                    rate,
                    retry_after_secs: u32::try_from(secs).unwrap_or(u32::MAX),
                });
            }
            match b.unsent.compare_exchange_weak(
                unsent,
                after,
                Ordering::Relaxed,
                Ordering::Relaxed,
            ) {
                Ok(_) => return Ok(()),
                Err(now) => unsent = now,
            }
        }
    }

    /// Gives back room taken by [`Backlogs::admit`] for messages that were not stored after all
    /// (the request failed, or was an idempotent replay).
    pub fn release(&self, space: &str, count: u64) {
        if let Some(b) = self.spaces.get(space) {
            let _ = b
                .unsent
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| {
                    Some(n.saturating_sub(count))
                });
        }
    }

    /// Takes the rates and `max_backlog_secs` of `spaces` (a reload); spaces not configured at
    /// start are left alone (adding a space needs a restart).
    pub fn set_bounds(&self, spaces: &[SpaceConfig]) {
        for s in spaces {
            if let Some(b) = self.spaces.get(&s.id) {
                let (rate, cap) = bounds(s);
                b.rate.store(rate, Ordering::Relaxed);
                b.cap.store(cap, Ordering::Relaxed);
            }
        }
    }

    /// Sets every space's count from the store's (`(space, unsent)`; a space not listed has
    /// none).
    pub fn set_counts(&self, counts: &[(String, u64)]) {
        let counts: HashMap<&str, u64> = counts.iter().map(|(s, n)| (s.as_str(), *n)).collect();
        for (space, b) in self.spaces.iter() {
            let n = counts.get(space.as_str()).copied().unwrap_or(0);
            b.unsent.store(n, Ordering::Relaxed);
        }
    }
}

/// A space's drain rate and its cap: `send_rate` x `max_backlog_secs`.
fn bounds(s: &SpaceConfig) -> (u64, u64) {
    let rate = u64::from(s.send_rate.max(1));
    (rate, rate.saturating_mul(s.max_backlog.as_secs().max(1)))
}

/// What [`run`] keeps up to date each second.
#[derive(Debug, Clone)]
pub struct Watch {
    /// Every space's bound on its backlog.
    pub backlogs: Backlogs,
    /// The spaces this instance sheds while it falls behind.
    pub shedder: Shedder,
    /// Where a change of a space's shed state is shown.
    pub metrics: Metrics,
}

/// Reads every space's unsent messages from the store each [`REFRESH`] until `cancel`, and
/// decides from the last second's sends which spaces this instance sheds ([`crate::shed`]).
pub async fn run(watch: Watch, messenger: Messenger, cancel: CancellationToken) {
    let mut tick = tokio::time::interval(REFRESH);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut before: HashMap<String, PacingCounts> = HashMap::new();
    loop {
        tokio::select! {
            () = cancel.cancelled() => return,
            _ = tick.tick() => {}
        }
        let counts = match messenger.store().unsent_by_space().await {
            Ok(counts) => counts,
            Err(e) => {
                tracing::warn!(error = %messenger::error_chain(&e), "counting unsent messages per space failed");
                continue;
            }
        };
        watch.backlogs.set_counts(&counts);
        let unsent: HashMap<&str, u64> = counts.iter().map(|(s, n)| (s.as_str(), *n)).collect();
        let now = messenger.now();
        // A space seen for the first time has no last second yet: it is left out.
        let seconds: Vec<Second> = messenger
            .spaces()
            .filter_map(|space| {
                let counts = space.pacing.counts();
                let last = before.insert(space.id.clone(), counts)?;
                Some(Second {
                    space: space.id.clone(),
                    sent: counts.sends - last.sends,
                    late: counts.late - last.late,
                    troubled: counts.throttled > last.throttled
                        || space.health.status(now).state != CircuitState::Closed,
                    unsent: unsent.get(space.id.as_str()).copied().unwrap_or(0),
                })
            })
            .collect();
        for (space, shed) in watch.shedder.tick(&seconds) {
            watch.metrics.space_shedding(&space, shed);
            if shed {
                tracing::warn!(%space, "sending falls behind: new messages of this space are refused (429) while it accepts more than its page sends");
            } else {
                tracing::info!(%space, "sending keeps up again: this space's new messages are accepted");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn backlogs(rate: u64, cap: u64) -> Backlogs {
        let b = SpaceBacklog {
            rate: AtomicU64::new(rate),
            cap: AtomicU64::new(cap),
            unsent: AtomicU64::new(0),
        };
        Backlogs {
            spaces: Arc::new(HashMap::from([("a".to_owned(), b)])),
        }
    }

    #[test]
    fn room_is_taken_up_to_the_cap_and_the_wait_is_what_the_page_must_send() {
        let b = backlogs(10, 100);
        assert_eq!(b.admit("a", 60), Ok(()));
        assert_eq!(b.admit("a", 40), Ok(()));
        // 100 held: one more waits for the page to send 1 (a tenth of a second: 1 s).
        let full = b.admit("a", 1).unwrap_err();
        assert_eq!(
            (full.unsent, full.cap, full.retry_after_secs),
            (100, 100, 1)
        );
        // 25 more need 25 sent: 3 s at 10 a second.
        assert_eq!(b.admit("a", 25).unwrap_err().retry_after_secs, 3);
        b.release("a", 30);
        assert_eq!(b.admit("a", 25), Ok(()));
        // The store's count replaces the estimate; other spaces are not bounded here.
        b.set_counts(&[("other".to_owned(), 5)]);
        assert_eq!(b.admit("a", 100), Ok(()));
        assert_eq!(b.admit("unknown", u64::MAX), Ok(()));
    }

    #[test]
    fn a_batch_larger_than_the_cap_is_refused_even_when_empty() {
        let b = backlogs(250, 1000);
        let full = b.admit("a", 5000).unwrap_err();
        assert_eq!(full.retry_after_secs, 16);
    }
}
