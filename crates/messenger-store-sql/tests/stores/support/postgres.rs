//! PostgreSQL stores for the tests, each in a fresh schema of the test server
//! ([`TestSchema`]: the server's URL, the skip rule outside CI and the schema dropped at the
//! end come from messenger-test-support).

use std::sync::Arc;

use messenger_store::conformance::TestStore;
use messenger_store_sql::{PostgresStore, SqlOptions};
use messenger_test_support::postgres::TestSchema;

/// A store in a fresh schema, with the schema's guard (the schema is dropped with it), or
/// `None` when the server is unreachable outside CI.
pub(crate) async fn store_in_fresh_schema(
    options: SqlOptions,
) -> Option<(PostgresStore, TestSchema)> {
    let schema = TestSchema::create("store").await?;
    let store = PostgresStore::connect(schema.server_url(), &in_schema(&schema, options))
        .await
        .expect("the store connects to its test schema");
    Some((store, schema))
}

/// `options` for a store in `schema` (another instance on the same schema, as another gateway
/// process has).
pub(crate) fn in_schema(schema: &TestSchema, options: SqlOptions) -> SqlOptions {
    SqlOptions {
        postgres_schema: Some(schema.name().to_owned()),
        ..options
    }
}

/// A conformance-kit store in a fresh schema, dropped after the case.
pub(crate) async fn test_store() -> Option<TestStore> {
    let (store, schema) = store_in_fresh_schema(SqlOptions::default()).await?;
    let closing = store.clone();
    Some(TestStore::new(Arc::new(store)).with_cleanup(async move {
        closing.close_pool().await;
        drop(schema);
    }))
}
