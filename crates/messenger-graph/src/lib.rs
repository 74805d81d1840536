//! messenger-graph (being built).
