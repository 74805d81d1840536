//! graph-sim (being built).
