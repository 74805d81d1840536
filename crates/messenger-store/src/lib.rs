//! messenger-store (being built).
