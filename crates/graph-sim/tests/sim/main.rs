//! graph-sim from the outside, over real HTTP: one test binary (linking is the slow part of a
//! build), a module per API.
//!
//! - [`send`]: the Send API: tokens, `appsecret_proof`, Graph's request checks, answers and what
//!   the simulator records.
//! - [`attachments_profile`]: attachment upload and the user profile API.
//! - [`personas`]: sender actions and personas.
//! - [`faults`]: scripted faults: each kind's status, body and headers; scopes and counts.
//! - [`window`]: the messaging window, when the simulator enforces it.
//! - [`webhook`]: Meta's side of webhooks, checked by a receiver as the product's endpoint must.
//! - [`sms`]: Twilio's Messages API.
//! - [`control`]: the `/_sim/` control API, as a script drives a simulator process.
//! - [`instagram`]: Instagram Direct: both hosts, tokens, rules, private replies, webhooks.

mod common;

mod attachments_profile;
mod control;
mod faults;
mod instagram;
mod personas;
mod send;
mod sms;
mod webhook;
mod window;
