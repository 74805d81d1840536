//! The health of one page's Messenger sending: a circuit breaker per page, so that trouble
//! stays with its page.
//!
//! Graph failures that are the page's (throttling, its token, Meta's outages: see
//! [`messenger_graph::Blame`]) open the page's circuit: its messages wait, without calling
//! Graph, until the circuit half-opens and one attempt probes it. A success closes it. A
//! throttle, a restriction of the page or a credentials error opens it at once; outages after [`OPEN_AFTER`] failures in a
//! row. Other pages are not affected. The state is per process: each gateway instance learns a
//! page's trouble from its own calls (and from Graph's usage headers).
//!
//! A token that stopped working (Graph's 190, [`TokenProblem`]) is more than an open circuit:
//! the page *needs reauthorisation*. No probe can fix it, so none is made: the page's messages
//! are not leased (but once every [`REAUTH_SWEEP`], so that their expiry and the space's
//! `fallback_on_outage` still apply), until a token check finds the token valid again
//! ([`PageHealth::token_valid`]) or a new token is put in place
//! ([`PageHealth::token_replaced`]). Decision 0022.

use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use messenger_graph::{Blame, TokenProblem};
use messenger_model::Timestamp;

/// How often the messages of a page that needs reauthorisation are leased (and given back at
/// once, without calling Graph), so that their `expiresOn` and the space's
/// `fallback_on_outage` are applied on time.
pub const REAUTH_SWEEP: Duration = Duration::from_secs(60);

/// How soon a message given back for its page's reauthorisation is due again: it is not leased
/// before the page's next sweep or its new token, and then at once.
pub const REAUTH_RELEASE: Duration = Duration::from_secs(1);

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
    /// Why the page needs new credentials, while it does.
    pub reauth: Option<Reauth>,
}

/// A page whose token stopped working: why, and since when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reauth {
    /// What is wrong with the token.
    pub problem: TokenProblem,
    /// What Graph said (or the token check found).
    pub reason: String,
    /// Since when.
    pub since: Timestamp,
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
    reauth: Option<Reauth>,
    /// When the page's messages were last leased while it needs reauthorisation.
    last_sweep: Option<Timestamp>,
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
        if let Some(reauth) = &s.reauth {
            return Admission::Wait {
                until: now.add_duration(REAUTH_RELEASE),
                reason: format!(
                    "the page needs new credentials ({}): {}",
                    reauth.problem.as_str(),
                    reauth.problem.describe()
                ),
            };
        }
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
        if s.reauth.is_some() {
            // Only a token check or a new token ends a reauthorisation: this success may be of
            // a send that started before the token stopped working.
            return;
        }
        if s.open_until.is_some() {
            tracing::info!("a page's circuit closed: Graph answers again");
        }
        *s = State::default();
    }

    /// The page's token stopped working (`problem`, as Graph or a token check said in
    /// `reason`): its messages wait, without calling Graph, until [`PageHealth::token_valid`] or
    /// [`PageHealth::token_replaced`]. Returns whether the page needed none before (the caller
    /// logs each transition once).
    pub fn needs_reauth(&self, problem: TokenProblem, reason: &str, now: Timestamp) -> bool {
        let mut s = self.state();
        s.failing_since.get_or_insert(now);
        s.blame = Some(Blame::Credentials);
        s.reason = Some(reason.to_owned());
        let new = s.reauth.as_ref().is_none_or(|r| r.problem != problem);
        let since = s.reauth.as_ref().map_or(now, |r| r.since);
        s.reauth = Some(Reauth {
            problem,
            reason: reason.to_owned(),
            since,
        });
        s.last_sweep.get_or_insert(now);
        new
    }

    /// A token check found the page's token valid: a reauthorisation ends and the circuit
    /// closes, so its messages are leased and sent at once. Returns whether the page needed
    /// reauthorisation.
    pub fn token_valid(&self) -> bool {
        let mut s = self.state();
        let was = s.reauth.is_some();
        if was || s.blame == Some(Blame::Credentials) {
            *s = State::default();
        }
        was
    }

    /// A new token was put in place for the page (a configuration reload): as
    /// [`PageHealth::token_valid`], until a call with the new token says otherwise.
    pub fn token_replaced(&self) -> bool {
        self.token_valid()
    }

    /// Why the page needs new credentials, if it does.
    pub fn reauth(&self) -> Option<Reauth> {
        self.state().reauth.clone()
    }

    /// Whether a dispatch round may lease the page's messages at `now`: always, but while the
    /// page needs reauthorisation only once every [`REAUTH_SWEEP`] (so their expiry and the
    /// outage rule apply; they are given back without calling Graph).
    pub fn may_lease(&self, now: Timestamp) -> bool {
        let mut s = self.state();
        if s.reauth.is_none() {
            return true;
        }
        let due = s
            .last_sweep
            .is_none_or(|at| now.millis() - at.millis() >= millis(REAUTH_SWEEP));
        if due {
            s.last_sweep = Some(now);
        }
        due
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
            None if s.reauth.is_some() => CircuitState::Open,
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
            reauth: s.reauth.clone(),
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
    fn a_page_needing_reauth_waits_sweeps_once_a_minute_and_clears_on_a_valid_token() {
        let h = PageHealth::default();
        assert!(h.may_lease(T));
        assert!(h.needs_reauth(TokenProblem::PasswordChanged, "190/460", T));
        assert!(!h.needs_reauth(TokenProblem::PasswordChanged, "190/460", T.add_millis(5)));
        assert!(matches!(h.admit(T), Admission::Wait { .. }));
        // A success of a send under way before does not end it.
        h.succeeded();
        assert_eq!(
            h.reauth().map(|r| r.problem),
            Some(TokenProblem::PasswordChanged)
        );
        assert_eq!(h.status(T).state, CircuitState::Open);
        // Leased once per sweep, not more.
        assert!(!h.may_lease(T.add_millis(59_999)));
        assert!(h.may_lease(T.add_millis(60_000)));
        assert!(!h.may_lease(T.add_millis(60_001)));
        assert_eq!(
            h.failing_for(T.add_millis(1_000)),
            Some(Duration::from_secs(1))
        );
        assert!(h.token_valid());
        assert!(!h.token_valid());
        assert_eq!(h.admit(T), Admission::Go);
        assert!(h.may_lease(T));
        assert_eq!(h.status(T).state, CircuitState::Closed);
        assert!(h.needs_reauth(TokenProblem::Expired, "190/463", T));
        assert!(h.token_replaced());
        assert_eq!(h.reauth(), None);
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
