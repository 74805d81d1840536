//! A database migrated by a release whose migration comments were reworded later still opens:
//! the store brings the recorded checksum of a reworded migration up to date before migrating,
//! and still refuses a migration whose recorded checksum is neither the released nor the
//! current one.

use sha2::{Digest, Sha384};

/// The reworded migration (the message listing) and the SHA-384 of each backend's file as
/// first released, in hex.
const VERSION: i64 = 20260106000000;
#[cfg(feature = "sqlite")]
const RELEASED_SQLITE: &str = "9c07df61e23ffd402b0686611f52d45968b633d1cb2eaf00a921c26eba565bd0\
                               42c9499dc1847e07bb8d578f81d6f26d";
#[cfg(feature = "postgres")]
const RELEASED_POSTGRES: &str = "6021df40db2d980a6b3f32962258a1e0dad7e31edc4dfeaf88e09647fd796f56\
                                 6b474a2844a5832937b53439187c5d86";

/// The SHA-384 of the migration file shipped now: what sqlx records when it applies it (the
/// checksum is the digest of the file's bytes, so the released value above is that of the
/// released file).
fn current(backend: &str) -> Vec<u8> {
    let path = format!(
        "{}/migrations/{backend}/{VERSION}_message_listing.sql",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read(&path).expect("the migration file");
    Sha384::digest(text).to_vec()
}

#[cfg(feature = "sqlite")]
mod sqlite {
    use super::*;
    use messenger_store_sql::{SqlOptions, SqliteStore};
    use sqlx::sqlite::SqlitePool;

    async fn recorded(url: &str) -> Vec<u8> {
        let pool = SqlitePool::connect(url).await.expect("open");
        let sum: Vec<u8> =
            sqlx::query_scalar("SELECT checksum FROM _sqlx_migrations WHERE version = $1")
                .bind(VERSION)
                .fetch_one(&pool)
                .await
                .expect("the recorded checksum");
        pool.close().await;
        sum
    }

    async fn record(url: &str, checksum: Vec<u8>) {
        let pool = SqlitePool::connect(url).await.expect("open");
        sqlx::query("UPDATE _sqlx_migrations SET checksum = $1 WHERE version = $2")
            .bind(checksum)
            .bind(VERSION)
            .execute(&pool)
            .await
            .expect("recording a checksum");
        pool.close().await;
    }

    async fn open(url: &str) -> Result<(), messenger_store::StoreError> {
        let store = SqliteStore::connect(url, &SqlOptions::default()).await?;
        store.close_pools().await;
        Ok(())
    }

    #[tokio::test]
    async fn a_database_of_the_released_text_opens_and_records_the_current_one() {
        let dir = tempfile::tempdir().expect("tempdir");
        let url = format!("sqlite://{}", dir.path().join("m.db").display());
        open(&url).await.expect("a fresh database");
        assert_eq!(
            recorded(&url).await,
            current("sqlite"),
            "sqlx records the file's SHA-384"
        );

        record(&url, hex::decode(RELEASED_SQLITE).expect("hex")).await;
        open(&url)
            .await
            .expect("a database migrated by the released text opens");
        assert_eq!(recorded(&url).await, current("sqlite"));

        record(&url, vec![7; 48]).await;
        let refused = open(&url)
            .await
            .expect_err("a checksum of neither text is refused");
        assert!(format!("{refused:?}").contains("migration"), "{refused:?}");
    }
}

#[cfg(feature = "postgres")]
mod postgres {
    use super::*;
    use messenger_store_sql::{PostgresStore, SqlOptions};
    use messenger_test_support::postgres::TestSchema;

    async fn open(schema: &TestSchema) -> Result<(), messenger_store::StoreError> {
        let options = SqlOptions {
            postgres_schema: Some(schema.name().to_owned()),
            ..SqlOptions::default()
        };
        let store = PostgresStore::connect(schema.server_url(), &options).await?;
        store.close_pool().await;
        Ok(())
    }

    async fn recorded_is(schema: &TestSchema, checksum: &[u8]) -> bool {
        let sql = format!(
            "SELECT COUNT(*) FROM _sqlx_migrations WHERE version = {VERSION} \
             AND checksum = '\\x{}'::bytea",
            hex::encode(checksum)
        );
        schema.count(&sql).await == 1
    }

    async fn record(schema: &TestSchema, checksum: &[u8]) {
        schema
            .execute(&format!(
                "UPDATE _sqlx_migrations SET checksum = '\\x{}'::bytea WHERE version = {VERSION}",
                hex::encode(checksum)
            ))
            .await;
    }

    #[tokio::test]
    async fn a_schema_of_the_released_text_opens_and_records_the_current_one() {
        let Some(schema) = TestSchema::create("reworded").await else {
            return;
        };
        open(&schema).await.expect("a fresh schema");
        assert!(
            recorded_is(&schema, &current("postgres")).await,
            "sqlx records the file's SHA-384"
        );

        record(&schema, &hex::decode(RELEASED_POSTGRES).expect("hex")).await;
        open(&schema)
            .await
            .expect("a schema migrated by the released text opens");
        assert!(recorded_is(&schema, &current("postgres")).await);

        record(&schema, &[7; 48]).await;
        let refused = open(&schema)
            .await
            .expect_err("a checksum of neither text is refused");
        assert!(format!("{refused:?}").contains("migration"), "{refused:?}");
    }
}
