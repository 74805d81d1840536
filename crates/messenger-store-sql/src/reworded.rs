//! Migrations whose comments were reworded after release.
//!
//! sqlx records a checksum (SHA-384) of every migration it applies, and refuses to start when
//! an embedded migration's text no longer matches what a database recorded. A comment reworded
//! after release, the SQL unchanged, would therefore lock every existing database out. Each such
//! rewording is listed in [`REWORDED`] with the checksum of the text as first released; before
//! migrating, the store replaces exactly that recorded checksum with the current one. A recorded
//! checksum that matches neither is left alone, so sqlx still refuses a migration whose SQL
//! really changed.

use std::future::Future;

use sqlx::migrate::Migrator;

use messenger_store::StoreError;

use crate::error::db;

/// A migration whose text changed after release without changing what it does.
// A one-backend build reads only its own backend's checksum.
#[cfg_attr(not(all(feature = "sqlite", feature = "postgres")), allow(dead_code))]
pub(crate) struct Reworded {
    /// The migration's version (its file name's number).
    pub(crate) version: i64,
    /// SHA-384 of the SQLite file as first released, in hex.
    pub(crate) sqlite: &'static str,
    /// SHA-384 of the PostgreSQL file as first released, in hex.
    pub(crate) postgres: &'static str,
}

/// Every rewording, oldest first.
pub(crate) const REWORDED: &[Reworded] = &[
    // The message listing: the first line of its comment named where the work was tracked.
    Reworded {
        version: 20260106000000,
        sqlite: "9c07df61e23ffd402b0686611f52d45968b633d1cb2eaf00a921c26eba565bd0\
                 42c9499dc1847e07bb8d578f81d6f26d",
        postgres: "6021df40db2d980a6b3f32962258a1e0dad7e31edc4dfeaf88e09647fd796f56\
                   6b474a2844a5832937b53439187c5d86",
    },
];

const REPAIR: &str =
    "UPDATE _sqlx_migrations SET checksum = $1 WHERE version = $2 AND checksum = $3";

/// The (version, released checksum, current checksum) of every rewording for one backend.
fn repairs<'m>(
    migrator: &'m Migrator,
    released: impl Fn(&Reworded) -> &'static str + 'm,
) -> impl Iterator<Item = (i64, Vec<u8>, &'m [u8])> + 'm {
    REWORDED.iter().filter_map(move |r| {
        let current = migrator.iter().find(|m| m.version == r.version)?;
        let released = hex::decode(released(r)).ok()?;
        Some((r.version, released, &*current.checksum))
    })
}

/// When the migrations table exists (`exists`), runs `update(version, released, current)` for
/// every rewording of one backend, logging each recorded checksum it brought up to date.
async fn bring_up_to_date<F, Fut>(
    migrator: &Migrator,
    released: impl Fn(&Reworded) -> &'static str,
    exists: impl Future<Output = Result<bool, sqlx::Error>>,
    update: F,
) -> Result<(), StoreError>
where
    F: Fn(i64, Vec<u8>, Vec<u8>) -> Fut,
    Fut: Future<Output = Result<u64, sqlx::Error>>,
{
    if !exists.await.map_err(db("reading the applied migrations"))? {
        return Ok(());
    }
    for (version, released, current) in repairs(migrator, released) {
        let rows = update(version, released, current.to_vec())
            .await
            .map_err(db("updating a reworded migration's checksum"))?;
        if rows > 0 {
            tracing::info!(
                version,
                "recorded checksum of a reworded migration brought up to date"
            );
        }
    }
    Ok(())
}

/// Brings the recorded checksums of reworded migrations up to date in a SQLite database.
#[cfg(feature = "sqlite")]
pub(crate) async fn repair_sqlite(
    pool: &sqlx::SqlitePool,
    migrator: &Migrator,
) -> Result<(), StoreError> {
    let exists = async {
        let sql =
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'";
        let table: Option<String> = sqlx::query_scalar(sql).fetch_optional(pool).await?;
        Ok(table.is_some())
    };
    bring_up_to_date(
        migrator,
        |r| r.sqlite,
        exists,
        |version, released, current| async move {
            let repair = sqlx::query(REPAIR)
                .bind(current)
                .bind(version)
                .bind(released);
            Ok(repair.execute(pool).await?.rows_affected())
        },
    )
    .await
}

/// Brings the recorded checksums of reworded migrations up to date in a PostgreSQL schema (the
/// connection's `search_path`).
#[cfg(feature = "postgres")]
pub(crate) async fn repair_postgres(
    pool: &sqlx::PgPool,
    migrator: &Migrator,
) -> Result<(), StoreError> {
    let sql = "SELECT to_regclass('_sqlx_migrations') IS NOT NULL";
    let exists = sqlx::query_scalar::<_, bool>(sql).fetch_one(pool);
    bring_up_to_date(
        migrator,
        |r| r.postgres,
        exists,
        |version, released, current| async move {
            let repair = sqlx::query(REPAIR)
                .bind(current)
                .bind(version)
                .bind(released);
            Ok(repair.execute(pool).await?.rows_affected())
        },
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_released_checksum_is_a_sha384() {
        for r in REWORDED {
            for released in [r.sqlite, r.postgres] {
                let bytes = hex::decode(released).expect("hex");
                assert_eq!(bytes.len(), 48, "SHA-384 of version {}", r.version);
            }
        }
    }
}
