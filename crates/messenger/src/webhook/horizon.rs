//! The dedupe horizon: how long Meta's event ids are remembered, and so how old an event may be
//! and still be applied.
//!
//! Redeliveries are recognised by the event ids seen (`messenger_store::WebhookInbox`), and
//! those are forgotten after a while so that the table does not grow for ever. A signed body
//! captured by someone else would be applied again once its ids are forgotten, so an event whose
//! own `timestamp` is older than the horizon is never applied: it is quarantined as a replay
//! (Meta stops redelivering long before).

use std::time::Duration;

use messenger_model::Timestamp;

/// How long Meta's event ids are remembered, and the age past which an event is refused as a
/// replay: 7 days.
pub const DEDUPE_HORIZON: Duration = Duration::from_secs(7 * 24 * 3600);

/// How much longer than [`DEDUPE_HORIZON`] a seen id is kept. An id is remembered from when it
/// was applied by this side's clock, and an event's age is read from Meta's `timestamp`; the
/// allowance covers a clock that runs behind Meta's, so no event is both forgotten and young
/// enough to be applied.
pub const CLOCK_ALLOWANCE: Duration = Duration::from_secs(3600);

/// The reason a replayed event is quarantined with.
pub const REPLAY_REASON: &str = "older than the dedupe horizon (7 days): a replay";

/// Before when seen event ids may be forgotten, at `now` (for
/// [`WebhookInbox::purge_seen`](messenger_store::WebhookInbox::purge_seen)).
///
/// ```
/// use messenger::webhook::{forget_seen_before, DEDUPE_HORIZON};
/// use messenger_model::Timestamp;
///
/// let now = Timestamp::from_millis(10 * 24 * 3600 * 1000);
/// assert!(forget_seen_before(now) < Timestamp::from_millis(3 * 24 * 3600 * 1000));
/// # let _ = DEDUPE_HORIZON;
/// ```
pub fn forget_seen_before(now: Timestamp) -> Timestamp {
    back(now, DEDUPE_HORIZON + CLOCK_ALLOWANCE)
}

/// Whether an event that happened `at` (Meta's `timestamp`) is past the horizon at `now`.
///
/// ```
/// use messenger::webhook::past_horizon;
/// use messenger_model::Timestamp;
///
/// let day = 24 * 3600 * 1000;
/// let now = Timestamp::from_millis(100 * day);
/// assert!(past_horizon(Timestamp::from_millis(92 * day), now));
/// assert!(!past_horizon(Timestamp::from_millis(94 * day), now));
/// ```
pub fn past_horizon(at: Timestamp, now: Timestamp) -> bool {
    at < back(now, DEDUPE_HORIZON)
}

/// `t` moved back by `d` (saturating).
fn back(t: Timestamp, d: Duration) -> Timestamp {
    t.add_millis(-i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}
