//! The conformance kit against PostgreSQL: a fresh schema per case, dropped afterwards.

#![cfg(feature = "postgres")]

mod support;

messenger_store::conformance_tests!(support::postgres::test_store);
