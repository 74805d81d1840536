//! Online backups of a SQLite store: [`backup_sqlite`] writes a consistent copy of the database
//! while a gateway keeps serving from it (`VACUUM INTO`, in one read transaction: WAL readers
//! neither block the writer nor see half a transaction), and [`check_sqlite_copy`] tells
//! whether a file is such a copy before it is restored.

use std::path::Path;
use std::str::FromStr;

use messenger_store::StoreError;
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{ConnectOptions, Connection};

use crate::error::db;

/// What a copy holds, as [`backup_sqlite`] wrote it or [`check_sqlite_copy`] found it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct CopyReport {
    /// The file's size in bytes.
    pub bytes: u64,
    /// Messages in it, every status.
    pub messages: u64,
    /// Messages in it not yet in a final status (queued, leased or waiting to retry).
    pub unsent: u64,
}

/// Writes a consistent copy of the SQLite database `url` names to `to` (which must not exist),
/// while other connections (a running gateway) go on reading and writing. The copy is written
/// beside `to` first and renamed into place once it is complete and synced, so `to` is never
/// half a copy. Nothing is written to the database itself, and no migration runs.
pub async fn backup_sqlite(url: &str, to: &Path) -> Result<CopyReport, StoreError> {
    if to.exists() {
        return Err(StoreError::invalid(format!(
            "{} exists already: a backup goes to a new file",
            to.display()
        )));
    }
    let options = SqliteConnectOptions::from_str(url)
        .map_err(|e| StoreError::invalid(format!("not a SQLite URL: {e}")))?
        .create_if_missing(false)
        .busy_timeout(std::time::Duration::from_secs(10));
    let mut conn = options
        .connect()
        .await
        .map_err(db("opening the SQLite database to back it up"))?;
    let partial = partial_path(to);
    let _ = std::fs::remove_file(&partial);
    let copied = sqlx::query("VACUUM INTO $1")
        .bind(partial.to_string_lossy().into_owned())
        .execute(&mut conn)
        .await
        .map_err(db("copying the SQLite database"));
    let _ = conn.close().await;
    if let Err(e) = copied {
        let _ = std::fs::remove_file(&partial);
        return Err(e);
    }
    sync_and_rename(&partial, to)?;
    check_sqlite_copy(to).await
}

/// Checks that `path` is a sound copy of a gateway's SQLite database: SQLite's `quick_check`
/// passes and the schema has the gateway's tables; says what it holds.
pub async fn check_sqlite_copy(path: &Path) -> Result<CopyReport, StoreError> {
    let bytes = std::fs::metadata(path)
        .map_err(|e| io_error("reading the copy", e))?
        .len();
    let mut conn = SqliteConnectOptions::new()
        .filename(path)
        .read_only(true)
        .create_if_missing(false)
        .connect()
        .await
        .map_err(db("opening the copy"))?;
    let checked = async {
        let check: String = sqlx::query_scalar("PRAGMA quick_check")
            .fetch_one(&mut conn)
            .await
            .map_err(db("checking the copy"))?;
        if check != "ok" {
            return Err(StoreError::Corrupt {
                what: format!("the copy fails SQLite's quick_check: {check}"),
                source: None,
            });
        }
        let counts: Result<(i64, i64), _> = sqlx::query_as(
            "SELECT COUNT(*), COUNT(*) FILTER (WHERE status IN ('processing', 'retrying')) \
             FROM messages",
        )
        .fetch_one(&mut conn)
        .await;
        let (messages, unsent) = counts.map_err(|_| {
            StoreError::invalid("the copy has no messages table: it is not a gateway's database")
        })?;
        Ok(CopyReport {
            bytes,
            messages: u64::try_from(messages).unwrap_or(0),
            unsent: u64::try_from(unsent).unwrap_or(0),
        })
    }
    .await;
    let _ = conn.close().await;
    checked
}

/// `<to>.partial`, where a copy is written before it is renamed to `to`.
fn partial_path(to: &Path) -> std::path::PathBuf {
    let mut name = to.file_name().unwrap_or_default().to_os_string();
    name.push(".partial");
    to.with_file_name(name)
}

/// Syncs `from`, renames it to `to` and syncs the directory, so the rename survives a crash.
pub(crate) fn sync_and_rename(from: &Path, to: &Path) -> Result<(), StoreError> {
    std::fs::File::open(from)
        .and_then(|f| f.sync_all())
        .map_err(|e| io_error("syncing the copy", e))?;
    std::fs::rename(from, to).map_err(|e| io_error("renaming the copy into place", e))?;
    if let Some(dir) = to.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| io_error("syncing the copy's directory", e))?;
    }
    Ok(())
}

fn io_error(what: &str, e: std::io::Error) -> StoreError {
    StoreError::Unavailable {
        message: what.to_owned(),
        source: Some(Box::new(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{SqlOptions, SqliteStore};
    use messenger_model::{SendRequest, Timestamp, To};
    use messenger_store::{MessageStore, NewMessage};

    #[tokio::test]
    async fn a_copy_holds_what_was_committed_and_is_checked() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("m.db").display());
        let store = SqliteStore::connect(&url, &SqlOptions::default())
            .await
            .unwrap();
        for i in 0..3 {
            let req = SendRequest::new(To::fb_messenger_id("1234")).body(format!("hi {i}"));
            let msg = NewMessage::new("space-a", "psid:1234", req, Timestamp::now());
            store.insert_message(msg).await.unwrap();
        }
        let to = dir.path().join("backup.db");
        let report = backup_sqlite(&url, &to).await.unwrap();
        assert_eq!((report.messages, report.unsent), (3, 3));
        assert!(report.bytes > 0);
        assert!(!partial_path(&to).exists());
        // A second backup to the same file is refused; the first is untouched.
        assert!(backup_sqlite(&url, &to).await.is_err());
        assert_eq!(check_sqlite_copy(&to).await.unwrap(), report);
        store.close_pools().await;

        let junk = dir.path().join("junk.db");
        std::fs::write(&junk, b"not a database at all, but long enough to look at").unwrap();
        assert!(check_sqlite_copy(&junk).await.is_err());
    }
}
