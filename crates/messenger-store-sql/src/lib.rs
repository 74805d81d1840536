//! messenger-store-sql (being built).
