//! The health of one page's Messenger sending: a circuit breaker per page, so that trouble
//! stays with its page.
//!
//! Graph failures that are the page's (throttling, its token, Meta's outages: see
//! [`messenger_graph::Blame`]) open the page's circuit: its messages wait, without calling
//! Graph, until the circuit half-opens and one attempt probes it. A success closes it. A
//! throttle, a restriction of the page or a credentials error opens it at once; outages after [`OPEN_AFTER`] failures in a
//! row. Other pages are not affected. The state is per process: each gateway instance learns a
//! page's trouble from its own calls (and from Graph's usage headers).

use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use messenger_graph::Blame;
use messenger_model::Timestamp;

/// Outage failures in a row that open a page's circuit.
pub const OPEN_AFTER: u32 = 5;
/// The first time a circuit stays open; it doubles with each failed probe up to [`MAX_OPEN`].
pub const FIRST_OPEN: Duration = Duration::from_secs(5);
/// The longest time a circuit stays open before a probe.
pub const MAX_OPEN: Duration = Duration::from_secs(60);
/// A probe that has not reported within this time (its message never reached Graph) no longer
/// holds the others back.
const PROBE_TIMEOUT_MILLIS: i64 = 30_000;

/// Whether a page's messages may call Graph now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Admission {
    /// Send.
    Go,
    /// Wait until `until`: the page's circuit is open (or a probe is in flight).
    Wait {
        /// When to try again.
        until: Timestamp,
        /// Why, for the message's status and rule trace.
        reason: String,
    },
}

/// The circuit's state, for `/readyz`, metrics and logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CircuitState {
    /// Sending normally.
    Closed,
    /// Waiting; no message of the page calls Graph.
    Open,
    /// One attempt probes the page.
    HalfOpen,
}

impl CircuitState {
    /// `closed`, `open`, `half_open`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Closed => "closed",
            Self::Open => "open",
            Self::HalfOpen => "half_open",
        }
    }
}

/// A page's health as reported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageStatus {
    /// The circuit.
    pub state: CircuitState,
    /// What opened it (the last page failure), while it is not closed.
    pub reason: Option<String>,
    /// What kind of trouble (`pace`, `credentials`, `platform`), while it is not closed.
    pub blame: Option<Blame>,
    /// Until when it stays open.
    pub open_until: Option<Timestamp>,
    /// Since when the page's sends have been failing (reset by a success).
    pub failing_since: Option<Timestamp>,
}

#[derive(Debug, Default)]
struct State {
    failures: u32,
    opened: u32,
    open_until: Option<Timestamp>,
    /// When the half-open probe started, while it runs.
    probing: Option<Timestamp>,
    reason: Option<String>,
    blame: Option<Blame>,
    failing_since: Option<Timestamp>,
}

/// One page's circuit breaker. Shared by the clones of its [`crate::Space`].
#[derive(Debug, Default)]
pub struct PageHealth {
    state: Mutex<State>,
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

impl PageHealth {
    fn state(&self) -> MutexGuard<'_, State> {
        // Every update leaves the state whole, so a poisoned lock is still usable.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether a message of the page may call Graph at `now`. Past an open circuit's time, the
    /// first caller probes (half-open) and the others wait a second for its result.
    pub fn admit(&self, now: Timestamp) -> Admission {
        let mut s = self.state();
        let Some(until) = s.open_until else {
            return Admission::Go;
        };
        let reason = s.reason.clone().unwrap_or_default();
        if now < until {
            return Admission::Wait {
                until,
                reason: format!("the page's sending is paused until {until}: {reason}"),
            };
        }
        if s.probing
            .is_some_and(|at| now.millis() - at.millis() < PROBE_TIMEOUT_MILLIS)
        {
            return Admission::Wait {
                until: now.add_millis(1_000),
                reason: format!("a probe of the paused page is in flight: {reason}"),
            };
        }
        s.probing = Some(now);
        Admission::Go
    }

    /// Graph answered a send of the page (with success, or an error about the recipient or the
    /// request): the circuit closes.
    pub fn succeeded(&self) {
        let mut s = self.state();
        if s.open_until.is_some() {
            tracing::info!("a page's circuit closed: Graph answers again");
        }
        *s = State::default();
    }

    /// A send of the page failed for `blame`, `retry_after` being Graph's hint; returns when the
    /// page may be tried again, if its circuit is open now.
    pub fn failed(
        &self,
        blame: Blame,
        reason: &str,
        retry_after: Option<Duration>,
        now: Timestamp,
    ) -> Option<Timestamp> {
        if blame.next_rule_may_help() {
            self.succeeded();
            return None;
        }
        let mut s = self.state();
        s.failures += 1;
        s.failing_since.get_or_insert(now);
        s.reason = Some(reason.to_owned());
        s.blame = Some(blame);
        let open_now = s.probing.is_some()
            || matches!(blame, Blame::Pace | Blame::Credentials | Blame::Restricted)
            || s.failures >= OPEN_AFTER;
        s.probing = None;
        if !open_now {
            return None;
        }
        let backoff = FIRST_OPEN
            .saturating_mul(1 << s.opened.min(4))
            .min(MAX_OPEN);
        s.opened += 1;
        let wait = retry_after.map_or(backoff, |hint| hint.clamp(FIRST_OPEN, MAX_OPEN));
        let until = now.add_millis(millis(wait));
        s.open_until = Some(s.open_until.map_or(until, |u| u.max(until)));
        s.open_until
    }

    /// Graph's usage headers say the page is near its limit: pause it until `until`.
    pub fn throttle(&self, until: Timestamp, reason: &str) {
        let mut s = self.state();
        s.open_until = Some(s.open_until.map_or(until, |u| u.max(until)));
        s.reason = Some(reason.to_owned());
        s.blame = Some(Blame::Pace);
    }

    /// How long the page's sends have been failing, at `now` (none while they succeed).
    pub fn failing_for(&self, now: Timestamp) -> Option<Duration> {
        let since = self.state().failing_since?;
        Some(Duration::from_millis(
            u64::try_from(now.millis().saturating_sub(since.millis())).unwrap_or(0),
        ))
    }

    /// The page's health at `now`.
    pub fn status(&self, now: Timestamp) -> PageStatus {
        let s = self.state();
        let state = match s.open_until {
            None => CircuitState::Closed,
            Some(until) if now < until => CircuitState::Open,
            Some(_) => CircuitState::HalfOpen,
        };
        let open = state != CircuitState::Closed;
        PageStatus {
            state,
            reason: s.reason.clone().filter(|_| open),
            blame: s.blame.filter(|_| open),
            open_until: s.open_until,
            failing_since: s.failing_since,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: Timestamp = Timestamp::from_millis(1_000_000);

    #[test]
    fn outages_open_after_five_failures_and_a_probe_closes() {
        let h = PageHealth::default();
        for _ in 0..OPEN_AFTER - 1 {
            assert_eq!(h.failed(Blame::Platform, "503", None, T), None);
            assert_eq!(h.admit(T), Admission::Go);
        }
        let until = h.failed(Blame::Platform, "503", None, T).expect("open");
        assert_eq!(until, T.add_millis(5_000));
        assert!(matches!(
            h.admit(T.add_millis(4_999)),
            Admission::Wait { .. }
        ));
        assert_eq!(h.status(T).state, CircuitState::Open);
        // Half-open: one probe goes, the others wait for it.
        assert_eq!(h.admit(until), Admission::Go);
        assert!(matches!(h.admit(until), Admission::Wait { .. }));
        // A probe that never reports stops holding the others back after 30 s.
        assert_eq!(h.admit(until.add_millis(30_000)), Admission::Go);
        // The probe fails: open again, for twice as long.
        let again = h.failed(Blame::Platform, "503", None, until).expect("open");
        assert_eq!(again, until.add_millis(10_000));
        assert_eq!(h.failing_for(again), Some(Duration::from_millis(15_000)));
        // The next probe succeeds: closed, and the failures forgotten.
        assert_eq!(h.admit(again), Admission::Go);
        h.succeeded();
        assert_eq!(h.status(again).state, CircuitState::Closed);
        assert_eq!(h.failing_for(again), None);
    }

    #[test]
    fn throttles_and_token_errors_open_at_once_recipient_errors_never() {
        let h = PageHealth::default();
        assert_eq!(h.failed(Blame::Recipient, "551", None, T), None);
        assert_eq!(h.failed(Blame::Request, "100", None, T), None);
        assert_eq!(h.admit(T), Admission::Go);
        let until = h.failed(Blame::Pace, "613", Some(Duration::from_secs(30)), T);
        assert_eq!(until, Some(T.add_millis(30_000)), "Graph's hint is kept");
        let s = h.status(T);
        assert_eq!((s.state, s.blame), (CircuitState::Open, Some(Blame::Pace)));
        let other = PageHealth::default();
        assert!(other.failed(Blame::Credentials, "190", None, T).is_some());
        assert_eq!(other.status(T).reason.as_deref(), Some("190"));
    }
}
