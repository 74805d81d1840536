//! Validation from the outside: every rule, snapshots of the violations for the seed examples,
//! and property tests that it never panics. One test binary (linking is the slow part of a
//! build).

mod rule_cases;

mod addressing;
mod never_panics;
mod rules;
mod snapshots;
