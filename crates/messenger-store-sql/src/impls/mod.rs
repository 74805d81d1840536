//! The store traits implemented once for both SQL backends, as macros instantiated by
//! `sqlite` and `postgres`.
//!
//! Both backends accept the same SQL (`$n` parameters, `ON CONFLICT`, `RETURNING`); the only
//! differences are passed in: the row-lock suffix of select-for-update (PostgreSQL locks rows;
//! SQLite's write transactions are exclusive) and `SKIP LOCKED` when leasing. Each backend type
//! provides `reader()`, `writer()` (pools), `begin_write()`, `commit()` and `rollback()`
//! (transactions that change nothing are rolled back explicitly, never just dropped).

pub(crate) mod connection;
pub(crate) mod deadlines;
pub(crate) mod dispatch;
pub(crate) mod erasure;
pub(crate) mod held;
pub(crate) mod ingest;
pub(crate) mod instagram;
pub(crate) mod messages;
pub(crate) mod outbox;
pub(crate) mod pacing;
pub(crate) mod profiles;
pub(crate) mod quarantine;
pub(crate) mod receipts;
pub(crate) mod retention;
pub(crate) mod settle;
