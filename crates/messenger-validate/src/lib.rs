//! messenger-validate (being built).
