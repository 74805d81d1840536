//! The retention pass of the housekeeping round (docs/store.md, "Retention"; decision 0020):
//! every store table that grows with traffic is held to its limit from `[retention]` and
//! `[spaces.retention]`.
//!
//! Every instance runs it after recovering leases, every `dispatch.recover_interval`. Each step
//! is a store call over at most `retention.batch_size` rows in one short transaction, repeated
//! while a call takes a full batch, up to [`MAX_BATCHES`] calls a step per round (the rest waits
//! for the next round), resting after each full batch, so a backlog of expired rows never
//! holds the write lock for long nor most of the time: on SQLite (one writer) a batch is at most
//! [`SINGLE_WRITER_BATCH`] rows and the rest [`SINGLE_WRITER_REST`] times as long as it took,
//! so a send waits for one short batch at most; on PostgreSQL the batches are taken
//! `FOR UPDATE SKIP LOCKED` (instances purging at once take different rows, and sends never
//! wait for them) and the rest is as long as the batch took.
//!
//! Spaces with their own limits are purged one by one; every other space together with the
//! defaults (a space removed from the configuration keeps the defaults too).

use std::sync::Arc;

use messenger_model::Timestamp;
use messenger_store::{SpaceScope, Store, StoreError, StoreTable};

use crate::config::{Config, RetentionConfig, SpaceRetention};

/// The longest rest between two batches of a step.
const MAX_REST: std::time::Duration = std::time::Duration::from_secs(1);

/// Store calls per step and round at most (with the default batch of 1000, 100,000 rows).
pub const MAX_BATCHES: usize = 100;

/// The most rows a batch takes on a store with one writer (SQLite), whatever
/// `retention.batch_size` says: every send waits while a batch holds the writer.
pub const SINGLE_WRITER_BATCH: usize = 200;

/// How many times as long as a batch took a purge rests after it on a store with one writer:
/// it holds the writer at most a fifth of the time, and the sends queued behind a batch
/// drain before the next.
pub const SINGLE_WRITER_REST: u32 = 4;

/// How a pass takes its batches on `store`: the rows per call and how long to rest after a
/// full batch, as a multiple of the time it took. A store with one writer (SQLite) takes small
/// batches and rests long; a store whose batches lock only their own rows (PostgreSQL,
/// `SKIP LOCKED`) takes `batch_size` and rests as long as each took.
pub fn pace_for(store: &dyn Store, batch_size: usize) -> (usize, u32) {
    if store.backend() == "sqlite" {
        (batch_size.min(SINGLE_WRITER_BATCH), SINGLE_WRITER_REST)
    } else {
        (batch_size, 1)
    }
}

/// What a retention pass did to a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetentionAction {
    /// Its content was removed; the row stays (messages).
    Redacted,
    /// The row was deleted.
    Deleted,
    /// A key on it was forgotten (a message's idempotency key).
    KeyForgotten,
}

impl RetentionAction {
    /// The action's metric label.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Redacted => "redacted",
            Self::Deleted => "deleted",
            Self::KeyForgotten => "key_forgotten",
        }
    }
}

/// What one pass did: rows per table and action, the steps that failed, and each table's
/// oldest row afterwards.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct RetentionReport {
    /// `(table, action, rows)`, for every step that touched rows.
    pub rows: Vec<(&'static str, RetentionAction, u64)>,
    /// The steps that failed (each also logged), by what they do.
    pub failed: Vec<&'static str>,
    /// Each table's oldest row after the pass (tables with rows only).
    pub oldest: Vec<(StoreTable, Timestamp)>,
}

impl RetentionReport {
    /// The rows of `table` that had `action`.
    pub fn count(&self, table: &str, action: RetentionAction) -> u64 {
        self.rows
            .iter()
            .filter(|(t, a, _)| *t == table && *a == action)
            .map(|(_, _, n)| n)
            .sum()
    }
}

/// The limits of a gateway: `[retention]` and each space's own.
#[derive(Debug, Clone)]
pub struct RetentionPolicy {
    config: RetentionConfig,
    /// Spaces whose limits differ from the defaults.
    own: Vec<(String, SpaceRetention)>,
}

fn before(now: Timestamp, keep: std::time::Duration) -> Timestamp {
    now.add_millis(-i64::try_from(keep.as_millis()).unwrap_or(i64::MAX))
}

impl RetentionPolicy {
    /// The policy of `config`.
    pub fn new(config: &Config) -> Self {
        let own = config
            .spaces
            .iter()
            .filter(|s| s.retention != config.retention.defaults)
            .map(|s| (s.id.clone(), s.retention))
            .collect();
        Self {
            config: config.retention.clone(),
            own,
        }
    }

    /// The groups purged together: each space with its own limits, then every other space.
    fn groups(&self) -> Vec<(SpaceScope, SpaceRetention)> {
        let mut groups: Vec<_> = self
            .own
            .iter()
            .map(|(id, r)| (SpaceScope::Only(id.clone()), *r))
            .collect();
        let others = self.own.iter().map(|(id, _)| id.clone()).collect();
        groups.push((SpaceScope::Except(others), self.config.defaults));
        groups
    }

    /// Runs one pass at `now` over `store`.
    pub async fn run(&self, store: &Arc<dyn Store>, now: Timestamp) -> RetentionReport {
        let (batch, rest_factor) = pace_for(store.as_ref(), self.config.batch_size);
        let mut pass = Pass {
            report: RetentionReport::default(),
            batch,
            rest_factor,
        };
        for (scope, limits) in self.groups() {
            let content = before(now, limits.message_content);
            pass.step(
                "messages",
                RetentionAction::Redacted,
                "redacting messages",
                || store.redact_messages(&scope, content, now, batch),
            )
            .await;
            let rows = before(now, limits.messages);
            pass.step(
                "messages",
                RetentionAction::Deleted,
                "purging messages",
                || store.purge_messages(&scope, rows, batch),
            )
            .await;
            let keys = before(now, limits.idempotency_keys);
            let what = "forgetting idempotency keys";
            pass.step("messages", RetentionAction::KeyForgotten, what, || {
                store.forget_idempotency_keys(&scope, keys, batch)
            })
            .await;
            let dead = before(now, limits.dead_letters);
            pass.step(
                "outbox",
                RetentionAction::Deleted,
                "purging dead events",
                || store.purge_dead_events(&scope, dead, batch),
            )
            .await;
        }
        let quarantined = before(now, self.config.quarantine);
        let what = "purging quarantined events";
        pass.step("webhook_quarantine", RetentionAction::Deleted, what, || {
            store.purge_quarantined(quarantined, batch)
        })
        .await;
        let inbound = before(now, INBOUND_KEPT);
        let what = "purging last-inbound times";
        pass.step("inbound_window", RetentionAction::Deleted, what, || {
            store.purge_inbound_window(inbound, batch)
        })
        .await;
        self.unbatched(store, now, &mut pass).await;
        match store.oldest_rows().await {
            Ok(oldest) => pass.report.oldest = oldest,
            Err(e) => pass.failed("reading the oldest rows", &e),
        }
        pass.report
    }

    /// The purges whose store calls take no batch size (each one statement over rows that
    /// expire steadily, a round's worth at a time): delivered events, seen Meta keys, expired
    /// opt-in tokens, held receipts.
    async fn unbatched(&self, store: &Arc<dyn Store>, now: Timestamp, pass: &mut Pass) {
        let delivered = before(now, self.config.delivered_events);
        let steps: [(&'static str, &'static str, Result<u64, StoreError>); 4] = [
            (
                "outbox",
                "purging delivered events",
                store.purge_delivered(delivered).await,
            ),
            (
                "seen_events",
                "purging seen webhook events",
                store
                    .purge_seen(messenger::webhook::forget_seen_before(now))
                    .await,
            ),
            (
                "optin_tokens",
                "purging expired opt-in tokens",
                store.purge_expired_optin_tokens(now).await,
            ),
            (
                "held_receipts",
                "purging held receipts",
                store
                    .purge_held_receipts(now.add_millis(-messenger_store::HOLD_FOR_MILLIS))
                    .await,
            ),
        ];
        for (table, what, result) in steps {
            match result {
                Ok(n) => pass.count(table, RetentionAction::Deleted, n),
                Err(e) => pass.failed(what, &e),
            }
        }
    }
}

/// How long a Messenger user's last inbound time is kept: a week, the longest window a
/// message may answer in (Messenger's human-agent tag), so the 24-hour check never misses one.
pub const INBOUND_KEPT: std::time::Duration = std::time::Duration::from_secs(7 * 24 * 3600);

struct Pass {
    report: RetentionReport,
    batch: usize,
    /// A full batch is followed by a rest this many times as long as it took.
    rest_factor: u32,
}

impl Pass {
    fn count(&mut self, table: &'static str, action: RetentionAction, n: u64) {
        if n > 0 {
            self.report.rows.push((table, action, n));
        }
    }

    fn failed(&mut self, what: &'static str, e: &StoreError) {
        tracing::warn!(error = %messenger::error_chain(e), "{what} failed");
        self.report.failed.push(what);
    }

    /// Calls `call` while it does a full batch (at most [`MAX_BATCHES`] times).
    async fn step<F, Fut>(
        &mut self,
        table: &'static str,
        action: RetentionAction,
        what: &'static str,
        call: F,
    ) where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = Result<u64, StoreError>>,
    {
        let mut total = 0;
        for _ in 0..MAX_BATCHES {
            let started = std::time::Instant::now();
            match call().await {
                Ok(n) => {
                    total += n;
                    if n < self.batch as u64 {
                        break;
                    }
                    // Rest (at most a second): sends waiting for the writer go first, and
                    // the purge has it at most 1 / (1 + rest_factor) of the time.
                    let rest = started.elapsed().saturating_mul(self.rest_factor);
                    tokio::time::sleep(rest.min(MAX_REST)).await;
                }
                Err(e) => {
                    self.failed(what, &e);
                    break;
                }
            }
        }
        self.count(table, action, total);
    }
}

#[cfg(all(test, feature = "sqlite"))]
mod tests {
    use super::*;

    #[tokio::test]
    async fn one_writer_takes_small_batches_and_rests_long() {
        let memory = messenger_store::MemoryStore::new();
        assert_eq!(pace_for(&memory, 1000), (1000, 1));
        let sqlite = messenger_store_sql::SqliteStore::connect(
            "sqlite::memory:",
            &messenger_store_sql::SqlOptions::default(),
        )
        .await
        .unwrap();
        assert_eq!(
            pace_for(&sqlite, 1000),
            (SINGLE_WRITER_BATCH, SINGLE_WRITER_REST)
        );
        assert_eq!(pace_for(&sqlite, 50), (50, SINGLE_WRITER_REST));
        sqlite.close_pools().await;
    }
}
