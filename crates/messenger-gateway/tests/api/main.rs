//! The gateway over real HTTP on loopback: graph-sim as Graph and as the SMS provider, SQLite
//! in a temporary directory. One test binary (linking is the slow part of a build).

mod harness;
#[path = "../common/key_rotation.rs"]
mod key_rotation;
#[path = "../common/raw_tcp.rs"]
mod raw_tcp;

mod actions;
mod admin;
mod auth;
mod backlog;
mod bounded_problems;
mod config;
mod connection;
mod customer_data;
mod deadline;
mod demo;
mod durability;
mod echoes;
mod exposure;
mod forward;
mod forward_isolation;
mod garbage;
mod id_caps;
mod inbound_kinds;
mod instagram;
mod instagram_actions;
mod instagram_config;
mod instagram_env;
mod instagram_send;
mod instagram_webhooks;
mod listing;
mod messages;
mod ops;
mod optin;
mod pacing;
mod page_trouble;
mod page_trouble_scale;
mod personas;
mod profile_pictures;
mod profiles;
mod quotas;
mod reload;
mod retention;
mod seeds;
mod shed;
mod threads;
mod webhook_corpus;
mod webhook_reads;
mod webhooks;
