//! `[retention]` and `[spaces.retention]`: how long what grows with traffic is kept
//! (docs/store.md, "Retention"; decision 0020).

use std::time::Duration;

use super::check::Checker;
use super::raw::RawRetention;

/// One day.
const DAY: Duration = Duration::from_secs(24 * 3600);
/// The longest retention that can be set: ten years.
const MAX_DAYS: u64 = 3_650;
/// The largest retention batch (rows a transaction).
const MAX_BATCH: u64 = messenger_store::MAX_RETENTION_BATCH as u64;

/// `[retention]`: the limits of the store's tables that grow with traffic, and how the
/// housekeeping round purges them.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RetentionConfig {
    /// The limits of every space without its own (`[spaces.retention]`).
    pub defaults: SpaceRetention,
    /// How long a Meta webhook body that could not be applied stays in the quarantine
    /// (`quarantine_days`, default 30).
    pub quarantine: Duration,
    /// How long an event delivered to the business's webhook is kept (`delivered_events_days`,
    /// default 7).
    pub delivered_events: Duration,
    /// Rows one purge transaction takes (`batch_size`, 1 to 10,000; default 1000): small enough
    /// that a batch never holds the write lock long enough to slow sending.
    pub batch_size: usize,
}

/// The limits that can differ per space.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct SpaceRetention {
    /// How long a message's content (body, parts, custom body, recipient, metadata, the
    /// error's text) is kept after its last status change once it left the queue, before it
    /// is redacted (`message_content_days`, default 30).
    pub message_content: Duration,
    /// How long a message's row (id, statuses, Graph message ids) is kept after its last status
    /// change (`messages_days`, default 400; at least `message_content_days`).
    pub messages: Duration,
    /// How long an idempotency key answers a retry with the first message, from acceptance
    /// (`idempotency_keys_days`, default 30).
    pub idempotency_keys: Duration,
    /// How long a dead event (one the business's webhook never took) is kept for redrive, from
    /// when it was queued (`dead_letters_days`, default 30).
    pub dead_letters: Duration,
}

impl Default for SpaceRetention {
    fn default() -> Self {
        Self {
            message_content: 30 * DAY,
            messages: 400 * DAY,
            idempotency_keys: 30 * DAY,
            dead_letters: 30 * DAY,
        }
    }
}

impl Default for RetentionConfig {
    fn default() -> Self {
        Self {
            defaults: SpaceRetention::default(),
            quarantine: 30 * DAY,
            delivered_events: 7 * DAY,
            batch_size: 1_000,
        }
    }
}

/// A number of days in 1 to [`MAX_DAYS`].
fn days(c: &mut Checker<'_>, key: &str, value: Option<u64>, default: Duration) -> Duration {
    let default_days = default.as_secs() / DAY.as_secs();
    DAY * super::check::to_u32(c.range(key, value, default_days, 1, MAX_DAYS))
}

/// Checks the limits of `raw` (section `key`), each defaulting to `defaults`'s.
pub(crate) fn space_retention(
    c: &mut Checker<'_>,
    key: &str,
    raw: &RawRetention,
    defaults: &SpaceRetention,
) -> SpaceRetention {
    let k = |field: &str| format!("{key}.{field}");
    let message_content = days(
        c,
        &k("message_content_days"),
        raw.message_content_days,
        defaults.message_content,
    );
    let messages = days(c, &k("messages_days"), raw.messages_days, defaults.messages);
    if messages < message_content {
        c.issue(
            &k("messages_days"),
            format!(
                "{} is under message_content_days ({}): a message's row outlives its content",
                messages.as_secs() / DAY.as_secs(),
                message_content.as_secs() / DAY.as_secs()
            ),
        );
    }
    SpaceRetention {
        message_content,
        messages: messages.max(message_content),
        idempotency_keys: days(
            c,
            &k("idempotency_keys_days"),
            raw.idempotency_keys_days,
            defaults.idempotency_keys,
        ),
        dead_letters: days(
            c,
            &k("dead_letters_days"),
            raw.dead_letters_days,
            defaults.dead_letters,
        ),
    }
}

/// Checks `[retention]`.
pub(crate) fn retention(c: &mut Checker<'_>, raw: RawRetention) -> RetentionConfig {
    let base = RetentionConfig::default();
    let defaults = space_retention(c, "retention", &raw, &base.defaults);
    RetentionConfig {
        defaults,
        quarantine: days(
            c,
            "retention.quarantine_days",
            raw.quarantine_days,
            base.quarantine,
        ),
        delivered_events: days(
            c,
            "retention.delivered_events_days",
            raw.delivered_events_days,
            base.delivered_events,
        ),
        batch_size: usize::try_from(c.range(
            "retention.batch_size",
            raw.batch_size,
            base.batch_size as u64,
            1,
            MAX_BATCH,
        ))
        .unwrap_or(base.batch_size),
    }
}

/// Checks a space's `[spaces.retention]` (section `key`): the per-space limits, each
/// defaulting to `[retention]`'s (`defaults`).
pub(crate) fn space_section(
    c: &mut Checker<'_>,
    key: &str,
    raw: Option<RawRetention>,
    defaults: &SpaceRetention,
) -> SpaceRetention {
    let Some(raw) = raw else {
        return *defaults;
    };
    for (field, set) in [
        ("quarantine_days", raw.quarantine_days.is_some()),
        ("delivered_events_days", raw.delivered_events_days.is_some()),
        ("batch_size", raw.batch_size.is_some()),
    ] {
        if set {
            c.issue(
                &format!("{key}.{field}"),
                "is set for every space, in [retention], not per space",
            );
        }
    }
    space_retention(c, key, &raw, defaults)
}
