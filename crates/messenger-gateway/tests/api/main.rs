//! The gateway over real HTTP on loopback: graph-sim as Graph and as the SMS provider, SQLite
//! in a temporary directory. One test binary (linking is the slow part of a build).

mod harness;

mod admin;
mod auth;
mod config;
mod demo;
mod durability;
mod forward;
mod forward_isolation;
mod garbage;
mod inbound_kinds;
mod messages;
mod ops;
mod optin;
mod page_trouble;
mod page_trouble_scale;
mod profiles;
mod quotas;
mod seeds;
mod webhook_corpus;
mod webhook_reads;
mod webhooks;
