//! The conformance kit against PostgreSQL: a fresh schema per case, dropped afterwards.

messenger_store::conformance_tests!(crate::support::postgres::test_store);
