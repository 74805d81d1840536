//! Events for the business's webhook: signing (and, with the store's outbox, building them).

mod forward;
mod signing;

pub use forward::{
    default_retry_schedule, ForwardError, ForwardObserver, ForwardReport, Forwarder, Unrouted,
    WebhookTarget, DEFAULT_MAX_IN_FLIGHT, MAX_BATCH_SIZE, MAX_BATCH_WINDOW, MAX_IN_FLIGHT,
    MAX_TIMEOUT,
};
pub use signing::{sign_event, EventSignatures};
