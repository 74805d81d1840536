//! The send pipeline: accepting a request (validate, resolve, check the rules, store) and
//! dispatching stored messages (lease, send rule by rule, record, emit events); and sender
//! actions, which are sent at once and never stored.

mod accept;
mod action;
mod deadline;
mod dispatch;
mod fallback;
mod outlet;
pub mod pacing;
pub mod page;
mod rules;

pub use crate::send_tag::SendTag;
pub use accept::{Accepted, AcceptedBatch, Idempotency};
pub use action::{action_name, parse_action, ActionRequest, ActionSent, MESSAGE_ID_MAX_CHARS};
pub use dispatch::DispatchReport;
pub use rules::RuleDecision;
