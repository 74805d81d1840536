//! The facade in-process, against graph-sim over loopback HTTP: the whole flow, echoes, receipts,
//! every inbound kind, and the forwarder to a business's endpoint. One test binary (linking is
//! the slow part of a build).

mod common;

mod echo;
mod flow;
mod forward;
mod inbound_kinds;
mod instagram;
mod instagram_actions;
mod instagram_kinds;
mod instagram_tokens;
mod reauth;
mod receipts;
mod replay;
