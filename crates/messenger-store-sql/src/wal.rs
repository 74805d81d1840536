//! SQLite's write-ahead log kept off the writer's commits: a checkpoint on a timer from a
//! reader connection, and bounds on the log file.
//!
//! By default SQLite checkpoints inside the commit that takes the log past 1,000 pages: that
//! commit copies every page of the log into the database file and syncs it, while every other
//! write waits for the one writer connection (8 % of the gateway's CPU in a dispatch profile,
//! docs/performance.md). Here a task checkpoints every [`CHECKPOINT_EVERY`] from a reader
//! connection (`PASSIVE`: it never blocks the writer), and the writer's own automatic
//! checkpoint only comes at [`WRITER_AUTOCHECKPOINT_PAGES`], a backstop for a log the timer
//! cannot finish: under writes that never pause, a passive checkpoint copies what was in the log
//! when it started while the writer appends more, so the log could only restart from its
//! beginning at a quiet moment. The writer's checkpoint runs between its transactions, catches
//! up with the log, and lets the next write start it again from the beginning; the file is cut
//! back to [`WAL_SIZE_LIMIT`] whenever it restarts (`journal_size_limit`). So the log stays
//! under about `WRITER_AUTOCHECKPOINT_PAGES` pages plus one transaction, whatever the load.

use std::time::Duration;

use sqlx::SqlitePool;

/// How often the log is checkpointed from a reader connection.
pub(crate) const CHECKPOINT_EVERY: Duration = Duration::from_secs(1);

/// Pages of log after which the writer checkpoints in its own commit (SQLite's default is
/// 1,000): 16 MiB with 4 KiB pages.
pub(crate) const WRITER_AUTOCHECKPOINT_PAGES: u32 = 4096;

/// Bytes the log file is cut back to when it restarts from its beginning.
pub(crate) const WAL_SIZE_LIMIT: u64 = 16 * 1024 * 1024;

/// The task checkpointing the log; it ends when the pool is closed or this is dropped (the
/// last clone of the store gone).
#[derive(Debug)]
pub(crate) struct Checkpointer {
    task: tokio::task::JoinHandle<()>,
}

impl Checkpointer {
    /// Starts checkpointing the log of the database `reader` reads, every
    /// [`CHECKPOINT_EVERY`].
    pub(crate) fn start(reader: SqlitePool) -> Self {
        let task = tokio::spawn(async move {
            let mut ticks = tokio::time::interval(CHECKPOINT_EVERY);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            // The first tick is at once: nothing to checkpoint yet.
            ticks.tick().await;
            loop {
                ticks.tick().await;
                if reader.is_closed() {
                    return;
                }
                // A failure (the disk full, the pool closing) is left to the next tick; the
                // writer's own checkpoint still bounds the log meanwhile.
                if let Err(e) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
                    .execute(&reader)
                    .await
                {
                    tracing::debug!(error = %e, "a WAL checkpoint failed");
                }
            }
        });
        Self { task }
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        self.task.abort();
    }
}
