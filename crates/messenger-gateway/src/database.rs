//! Opening the store named by `[database] url`: SQLite (the default, a file under `./data`) or
//! PostgreSQL through `messenger-store-sql` (migrations run on connect), or `memory://` (not
//! durable: for trying the gateway out).
//!
//! Each SQL backend is a cargo feature of the gateway (`sqlite`, `postgres`; both by default). A
//! URL of a backend left out of the build is a configuration error naming `database.url` and
//! the feature ([`check_backend`], where the configuration is checked), at start-up and again
//! here.

use std::path::Path;
use std::sync::Arc;

use crate::config::{check_backend, DatabaseConfig};
use messenger_store::{MemoryStore, Store, StoreError};

/// Connects to the store, creating a SQLite file's directory first, and runs migrations.
pub async fn open_store(db: &DatabaseConfig) -> Result<Arc<dyn Store>, StoreError> {
    let url = &db.url;
    let options = messenger_store_sql::SqlOptions {
        max_connections: db.max_connections,
        postgres_schema: db.schema.clone(),
        ..messenger_store_sql::SqlOptions::default()
    };
    check_backend(url.expose()).map_err(|problem| StoreError::Invalid {
        message: format!("database.url: {problem}"),
    })?;
    match url.scheme().as_deref() {
        Some("memory") => Ok(Arc::new(MemoryStore::new())),
        Some("sqlite") => {
            if let Some(dir) = sqlite_dir(url.expose()) {
                std::fs::create_dir_all(&dir).map_err(|e| StoreError::Unavailable {
                    message: format!("cannot create the database directory {}", dir.display()),
                    source: Some(Box::new(e)),
                })?;
            }
            messenger_store_sql::connect_with(url.expose(), &options).await
        }
        _ => messenger_store_sql::connect_with(url.expose(), &options).await,
    }
}

/// Connects to an existing store for a command beside the gateway (the `doctor`): `None` for a
/// SQLite file that does not exist yet (nothing was ever recorded, and the command does not
/// create the gateway's file) or a `memory://` store (a process of its own has nothing);
/// otherwise [`open_store`], whose migrations have nothing to do beside a gateway of this
/// version.
pub async fn open_existing_store(
    db: &DatabaseConfig,
) -> Result<Option<Arc<dyn Store>>, StoreError> {
    let url = db.url.expose();
    if url.starts_with("memory:") || sqlite_file(url).is_some_and(|f| !f.exists()) {
        return Ok(None);
    }
    open_store(db).await.map(Some)
}

/// The directory of a SQLite URL's file (`sqlite://./data/messenger.db?mode=rwc` ->
/// `./data`), if it has one to create.
fn sqlite_dir(url: &str) -> Option<std::path::PathBuf> {
    let file = sqlite_file(url)?;
    let parent = file.parent()?;
    (!parent.as_os_str().is_empty()).then(|| parent.to_path_buf())
}

/// The file of a SQLite URL (`sqlite://./data/messenger.db?mode=rwc` ->
/// `./data/messenger.db`), unless it names an in-memory database (`:memory:`, `mode=memory`).
pub(crate) fn sqlite_file(url: &str) -> Option<std::path::PathBuf> {
    let rest = url.strip_prefix("sqlite:")?;
    let rest = rest.strip_prefix("//").unwrap_or(rest);
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    if path.is_empty() || path == ":memory:" || query.split('&').any(|p| p == "mode=memory") {
        return None;
    }
    Some(Path::new(path).to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_directories() {
        assert_eq!(
            sqlite_dir("sqlite://./data/messenger.db?mode=rwc"),
            Some("./data".into())
        );
        assert_eq!(
            sqlite_dir("sqlite:///var/lib/m/m.db"),
            Some("/var/lib/m".into())
        );
        assert_eq!(sqlite_dir("sqlite::memory:"), None);
        assert_eq!(sqlite_dir("sqlite://m.db"), None);
        assert_eq!(sqlite_dir("postgres://db/m"), None);
        assert_eq!(
            sqlite_file("sqlite://./data/messenger.db?mode=rwc"),
            Some("./data/messenger.db".into())
        );
        assert_eq!(sqlite_file("sqlite:m.db"), Some("m.db".into()));
        assert_eq!(sqlite_file("sqlite://m.db?mode=memory&cache=shared"), None);
    }

    #[cfg(not(feature = "postgres"))]
    #[tokio::test]
    async fn opening_a_backend_left_out_is_a_config_error() {
        let db = DatabaseConfig {
            url: crate::config::DatabaseUrl::new("postgres://app:pw@db/m".to_owned()),
            schema: None,
            max_connections: 4,
        };
        let err = match open_store(&db).await {
            Err(e) => e.to_string(),
            Ok(_) => panic!("PostgreSQL is not compiled in"),
        };
        assert!(
            err.contains("database.url") && err.contains("`postgres` feature"),
            "{err}"
        );
        assert!(!err.contains("pw"), "{err}");
    }
}
