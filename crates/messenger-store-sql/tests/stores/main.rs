//! The SQL stores from the outside: the conformance kit against each backend, a SQLite store
//! through a crash, several instances on one PostgreSQL. One test binary (linking is the slow
//! part of a build); each module is compiled only with its backend's feature.

#[cfg(feature = "postgres")]
mod support;

mod erasure_bytes;
mod legacy_traces;
#[cfg(feature = "postgres")]
mod postgres_conformance;
#[cfg(feature = "postgres")]
mod postgres_instances;
#[cfg(feature = "postgres")]
mod postgres_receipt_race;
#[cfg(feature = "postgres")]
mod postgres_retention;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod reworded_migrations;
#[cfg(feature = "sqlite")]
mod sqlite_conformance;
#[cfg(feature = "sqlite")]
mod sqlite_crash;
#[cfg(feature = "sqlite")]
mod sqlite_wal;
