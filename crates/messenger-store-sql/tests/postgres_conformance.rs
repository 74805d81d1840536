//! The conformance kit against PostgreSQL: a fresh schema per case, dropped afterwards.

mod support;

messenger_store::conformance_tests!(support::postgres::test_store);
