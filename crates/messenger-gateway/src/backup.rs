//! `messenger-gateway backup` and `restore`: copies of the embedded SQLite database
//! (docs/operations.md, "Backups").
//!
//! - [`backup`] writes a consistent copy while the gateway serves (SQLite's `VACUUM INTO` in one
//!   read transaction; the gateway's writes go on meanwhile). It takes no lock: it is meant to
//!   run beside the gateway.
//! - [`restore`] puts a copy in place of the configured database: it holds the database's lock
//!   while it works (so no gateway runs on the file), checks the copy, and refuses to overwrite
//!   a database that exists. The gateway started on it takes back every lease in it, and each
//!   message that was under way when the copy was taken first waits for Meta's echoes, as after
//!   a crash.
//!
//! PostgreSQL has its own tools (`pg_dump`, point-in-time recovery); both commands refuse a
//! PostgreSQL URL, saying so.

use std::path::{Path, PathBuf};

use messenger_store_sql::CopyReport;

use crate::config::Config;
use crate::database::sqlite_file;
use crate::GatewayError;

/// Writes a consistent copy of the configured SQLite database to `to` (a new file).
pub async fn backup(config: &Config, to: &Path) -> Result<CopyReport, GatewayError> {
    let db = embedded_file(config)?;
    if !db.exists() {
        return Err(GatewayError::Backup {
            what: format!("there is no database at {} to back up", db.display()),
            source: None,
        });
    }
    messenger_store_sql::backup_sqlite(config.database.url.expose(), to)
        .await
        .map_err(|source| GatewayError::Backup {
            what: format!("cannot back up {} to {}", db.display(), to.display()),
            source: Some(source),
        })
}

/// Puts the copy `from` in place as the configured SQLite database, which must not exist.
pub async fn restore(config: &Config, from: &Path) -> Result<CopyReport, GatewayError> {
    let db = embedded_file(config)?;
    let _lock = crate::lock_database(config)?;
    let leftovers: Vec<PathBuf> = ["", "-wal", "-shm"]
        .iter()
        .map(|suffix| {
            let mut name = db.file_name().unwrap_or_default().to_os_string();
            name.push(suffix);
            db.with_file_name(name)
        })
        .filter(|p| p.exists())
        .collect();
    if !leftovers.is_empty() {
        return Err(GatewayError::Backup {
            what: format!(
                "{} exists: restore puts a copy where there is no database; move it (and its \
                 -wal and -shm files) away first",
                leftovers[0].display()
            ),
            source: None,
        });
    }
    let report = messenger_store_sql::check_sqlite_copy(from)
        .await
        .map_err(|source| GatewayError::Backup {
            what: format!(
                "{} is not a sound copy of a gateway's database",
                from.display()
            ),
            source: Some(source),
        })?;
    let mut name = db.file_name().unwrap_or_default().to_os_string();
    name.push(".restoring");
    let restoring = db.with_file_name(name);
    let io = |what: &str| {
        let what = format!("{what} ({} to {})", from.display(), db.display());
        move |e: std::io::Error| GatewayError::Backup {
            what,
            source: Some(messenger_store::StoreError::Unavailable {
                message: e.to_string(),
                source: Some(Box::new(e)),
            }),
        }
    };
    std::fs::copy(from, &restoring).map_err(io("cannot copy the backup"))?;
    std::fs::File::open(&restoring)
        .and_then(|f| f.sync_all())
        .map_err(io("cannot sync the restored copy"))?;
    std::fs::rename(&restoring, &db).map_err(io("cannot move the restored copy into place"))?;
    if let Some(dir) = db.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(io("cannot sync the database's directory"))?;
    }
    Ok(report)
}

/// The SQLite file `config.database` names, or why these commands do not apply.
fn embedded_file(config: &Config) -> Result<PathBuf, GatewayError> {
    sqlite_file(config.database.url.expose()).ok_or_else(|| GatewayError::Backup {
        what: "backup and restore are for the embedded SQLite database; back PostgreSQL up \
               with pg_dump or point-in-time recovery (docs/operations.md, \"Backups\")"
            .to_owned(),
        source: None,
    })
}
