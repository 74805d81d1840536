//! The send pipeline: accepting a request (validate, resolve, check the rules, store) and
//! dispatching stored messages (lease, send rule by rule, record, emit events).

mod accept;
mod dispatch;
mod rules;

pub use accept::{Accepted, Idempotency};
pub use dispatch::DispatchReport;
pub use rules::RuleDecision;
