//! Opening the store named by `[database] url`: SQLite (the default, a file under `./data`) or
//! PostgreSQL through `messenger-store-sql` (migrations run on connect), or `memory://` (not
//! durable: for trying the gateway out).
//!
//! Each SQL backend is a cargo feature of the gateway (`sqlite`, `postgres`; both by default). A
//! URL of a backend left out of the build is a configuration error naming `database.url` and
//! the feature ([`check_backend`]), at start-up and again here.

use std::path::Path;
use std::sync::Arc;

use messenger_store::{MemoryStore, Store, StoreError};
use messenger_store_sql::Backend;

use crate::config::DatabaseConfig;

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

/// Whether this build can open the store `url` names: `memory://`, or a SQL backend whose cargo
/// feature is compiled in. The error is the problem with `database.url` (never the URL itself):
/// an unknown scheme, or the feature (`sqlite`, `postgres`) to build the gateway with.
pub(crate) fn check_backend(url: &str) -> Result<(), String> {
    const SCHEMES: &str = "must start with sqlite:, postgres:, postgresql: or memory:";
    let Some((scheme, _)) = url.split_once(':') else {
        return Err(SCHEMES.to_owned());
    };
    if scheme.eq_ignore_ascii_case("memory") {
        return Ok(());
    }
    match Backend::from_url(url) {
        Some(backend) if backend.is_compiled() => Ok(()),
        Some(backend) => Err(format!(
            "{backend} is not compiled into this gateway; build it with the `{}` feature \
             (`cargo build -p messenger-gateway --features {}`)",
            backend.feature(),
            backend.feature()
        )),
        None => Err(SCHEMES.to_owned()),
    }
}

/// The directory of a SQLite URL's file (`sqlite://./data/messenger.db?mode=rwc` ->
/// `./data`), if it has one to create.
fn sqlite_dir(url: &str) -> Option<std::path::PathBuf> {
    let rest = url.strip_prefix("sqlite:")?;
    let rest = rest.strip_prefix("//").unwrap_or(rest);
    let path = rest.split('?').next().unwrap_or_default();
    if path.is_empty() || path == ":memory:" {
        return None;
    }
    let parent = Path::new(path).parent()?;
    (!parent.as_os_str().is_empty()).then(|| parent.to_path_buf())
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
    }

    #[test]
    fn backends_left_out_of_the_build_are_named_with_their_feature() {
        assert_eq!(check_backend("memory://"), Ok(()));
        assert!(check_backend("mysql://db/m").is_err());
        for (url, compiled, feature) in [
            (
                "sqlite://./data/m.db",
                cfg!(feature = "sqlite"),
                "`sqlite` feature",
            ),
            (
                "postgres://db/m",
                cfg!(feature = "postgres"),
                "`postgres` feature",
            ),
            (
                "postgresql://db/m",
                cfg!(feature = "postgres"),
                "`postgres` feature",
            ),
        ] {
            match check_backend(url) {
                Ok(()) => assert!(compiled, "{url}"),
                Err(problem) => {
                    assert!(!compiled, "{url}: {problem}");
                    assert!(problem.contains(feature), "{problem}");
                    assert!(
                        !problem.contains("db/m"),
                        "the URL is not repeated: {problem}"
                    );
                }
            }
        }
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
