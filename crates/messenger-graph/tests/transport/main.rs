//! `GraphClient` and `RetryingTransport` against graph-sim over loopback HTTP. One test binary
//! (linking is the slow part of a build).

mod common;

mod client;
mod connection;
mod errors;
mod http2;
mod instagram;
mod personas;
mod retry;
