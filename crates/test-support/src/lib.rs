//! # messenger-test-support
//!
//! What the workspace's tests share, used only as a dev-dependency (`publish = false`; the
//! layer table in `xtask/src/layers.rs` keeps it out of every crate's normal dependencies):
//!
//! - [`ci`]: the rule for a test whose service (PostgreSQL, a browser driver) is missing: fail
//!   under `CI=true`, otherwise skip it and say so on the process's stderr;
//! - [`postgres`]: a fresh schema of the test PostgreSQL per test ([`postgres::TestSchema`]),
//!   dropped at the end even when the test panics;
//! - [`wait`]: waiting for a state, with a guard against hanging that is never a measure.
//!
//! ```no_run
//! # async fn f() {
//! use messenger_test_support::postgres::TestSchema;
//! // Skipped (None) only when the server is unreachable and CI is not "true".
//! let Some(schema) = TestSchema::create("store").await else { return };
//! let url = schema.url_with_search_path();
//! # let _ = url;
//! # }
//! ```

pub mod ci;
pub mod postgres;
pub mod wait;
