//! Events for the business's webhook: signing (and, with the store's outbox, building them).

mod signing;

pub use signing::{sign_event, EventSignatures};
