//! The console's live figures: a background task samples the gateway's own counters every
//! second (messages accepted, and entering `sent`, `delivered`, `read`, `failed`, per space)
//! and the store's queue depths every few seconds, and keeps the last 15 minutes in memory.
//! `GET /console/api/spaces/{space}/live` answers them as JSON; no Prometheus is involved.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use messenger::Messenger;
use messenger_model::Timestamp;
use serde::Serialize;
use tokio_util::sync::CancellationToken;

/// How long the figures are kept: 15 minutes.
pub(crate) const WINDOW: Duration = Duration::from_secs(15 * 60);

/// How often the counters are sampled.
pub(crate) const TICK: Duration = Duration::from_secs(1);

/// Queue depths are read from the store every this many ticks.
const QUEUE_EVERY: u64 = 5;

/// One second of one space: how many messages did each thing.
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Point {
    /// When the second ended.
    pub(crate) t: Timestamp,
    /// Accepted (stored for sending).
    pub(crate) accepted: u64,
    /// Entered `sent`: the page's send rate.
    pub(crate) sent: u64,
    /// Entered `delivered`.
    pub(crate) delivered: u64,
    /// Entered `read`.
    pub(crate) read: u64,
    /// Entered `failed` or `expired`.
    pub(crate) failed: u64,
}

/// The store's queue depths at one instant (every space together).
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Depths {
    /// When they were read.
    pub(crate) t: Timestamp,
    /// Messages waiting to be sent.
    pub(crate) dispatch: u64,
    /// Meta webhook bodies waiting to be applied.
    pub(crate) webhook: u64,
    /// Events waiting for the business's webhook.
    pub(crate) forward: u64,
    /// Dead events.
    pub(crate) forward_dead: u64,
}

/// The cumulative counts of one space at the last sample.
#[derive(Debug, Clone, Copy, Default)]
struct Totals {
    accepted: u64,
    sent: u64,
    delivered: u64,
    read: u64,
    failed: u64,
}

#[derive(Default)]
struct Series {
    points: HashMap<String, VecDeque<Point>>,
    last: HashMap<String, Totals>,
    depths: VecDeque<Depths>,
}

/// The live figures. Cheap to clone.
#[derive(Clone, Default)]
pub struct Live {
    accepted: Arc<HashMap<String, AtomicU64>>,
    series: Arc<Mutex<Series>>,
}

impl std::fmt::Debug for Live {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Live({} spaces)", self.accepted.len())
    }
}

impl Live {
    /// Figures for the spaces `spaces`, empty.
    pub fn new<'a>(spaces: impl Iterator<Item = &'a str>) -> Self {
        Self {
            accepted: Arc::new(spaces.map(|s| (s.to_owned(), AtomicU64::new(0))).collect()),
            series: Arc::default(),
        }
    }

    /// Counts `n` messages of `space` accepted.
    pub fn accepted(&self, space: &str, n: usize) {
        if let Some(c) = self.accepted.get(space) {
            c.fetch_add(n as u64, Ordering::Relaxed);
        }
    }

    fn series(&self) -> std::sync::MutexGuard<'_, Series> {
        self.series.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Takes one sample of every space's counters at `now` (`counts` gives a space's status
    /// counts: [`Messenger::status_counts`]).
    fn sample(&self, counts: impl Fn(&str) -> messenger::StatusCounts, now: Timestamp) {
        let keep = (WINDOW.as_secs() / TICK.as_secs()).max(1) as usize;
        let mut series = self.series();
        for (space, accepted) in self.accepted.iter() {
            let c = counts(space);
            let totals = Totals {
                accepted: accepted.load(Ordering::Relaxed),
                sent: c.sent,
                delivered: c.delivered,
                read: c.read,
                failed: c.failed + c.expired,
            };
            let before = series.last.insert(space.clone(), totals);
            let Some(before) = before else { continue };
            let point = Point {
                t: now,
                accepted: totals.accepted.saturating_sub(before.accepted),
                sent: totals.sent.saturating_sub(before.sent),
                delivered: totals.delivered.saturating_sub(before.delivered),
                read: totals.read.saturating_sub(before.read),
                failed: totals.failed.saturating_sub(before.failed),
            };
            let points = series.points.entry(space.clone()).or_default();
            points.push_back(point);
            while points.len() > keep {
                points.pop_front();
            }
        }
    }

    fn push_depths(&self, depths: Depths) {
        let keep = (WINDOW.as_secs() / (TICK.as_secs() * QUEUE_EVERY)).max(1) as usize;
        let mut series = self.series();
        series.depths.push_back(depths);
        while series.depths.len() > keep {
            series.depths.pop_front();
        }
    }

    /// The last 15 minutes of `space`, oldest first.
    pub(crate) fn points(&self, space: &str) -> Vec<Point> {
        self.series()
            .points
            .get(space)
            .map(|p| p.iter().copied().collect())
            .unwrap_or_default()
    }

    /// The last 15 minutes of queue depths, oldest first.
    pub(crate) fn depths(&self) -> Vec<Depths> {
        self.series().depths.iter().copied().collect()
    }
}

/// Reads the queue depths; a depth the store cannot give is logged and left out (0).
async fn read_depths(messenger: &Messenger, now: Timestamp) -> Option<Depths> {
    let store = messenger.store();
    let (dispatch, webhook, events) = tokio::join!(
        store.unsent_count(),
        store.webhook_backlog(),
        store.event_counts()
    );
    match (dispatch, webhook, events) {
        (Ok(dispatch), Ok(webhook), Ok((forward, forward_dead))) => Some(Depths {
            t: now,
            dispatch,
            webhook,
            forward,
            forward_dead,
        }),
        (d, w, e) => {
            let error = [d.err(), w.err(), e.err()]
                .into_iter()
                .flatten()
                .next()
                .map(|e| messenger::error_chain(&e))
                .unwrap_or_default();
            tracing::warn!(%error, "console: reading the queue depths failed");
            None
        }
    }
}

/// Samples until `cancel`.
pub(crate) async fn run(live: Live, messenger: Messenger, cancel: CancellationToken) {
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut n: u64 = 0;
    loop {
        tokio::select! {
            () = cancel.cancelled() => return,
            _ = tick.tick() => {}
        }
        let now = messenger.now();
        live.sample(|s| messenger.status_counts(s), now);
        if n.is_multiple_of(QUEUE_EVERY) {
            if let Some(d) = read_depths(&messenger, now).await {
                live.push_depths(d);
            }
        }
        n = n.wrapping_add(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepted_counts_become_per_second_points() {
        let live = Live::new(["a", "b"].into_iter());
        let counts = |_: &str| messenger::StatusCounts::default();
        let t = |s: i64| Timestamp::from_millis(s * 1000);
        live.sample(counts, t(0));
        assert!(
            live.points("a").is_empty(),
            "the first sample is the baseline"
        );
        live.accepted("a", 3);
        live.accepted("nobody", 7);
        live.sample(counts, t(1));
        live.accepted("a", 1);
        live.sample(counts, t(2));
        let a: Vec<_> = live.points("a").iter().map(|p| (p.t, p.accepted)).collect();
        assert_eq!(a, [(t(1), 3), (t(2), 1)]);
        assert!(live.points("b").iter().all(|p| p.accepted == 0));
        assert!(live.points("nobody").is_empty());
        for i in 3..2000 {
            live.sample(counts, t(i));
        }
        assert_eq!(live.points("a").len(), 900, "15 minutes of seconds");
    }
}
