//! The simulator's one error type.

/// What can go wrong when starting the simulator or posting webhooks from it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SimError {
    /// The listening socket could not be bound.
    #[error("cannot bind the simulator to {addr}")]
    Bind {
        /// The address asked for.
        addr: std::net::SocketAddr,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The bound socket's address could not be read.
    #[error("cannot read the simulator's local address")]
    LocalAddr(#[source] std::io::Error),
    /// A webhook post was asked for, but no webhook URL is configured.
    #[error("no webhook URL configured: call GraphSimBuilder::webhook_url")]
    NoWebhookUrl,
    /// The webhook receiver could not be reached (connection refused, timeout, ...).
    #[error("webhook post to the receiver failed")]
    WebhookPost(#[source] reqwest::Error),
    /// An event could not be serialised (never expected for the model's types).
    #[error("cannot serialise the webhook body")]
    Json(#[source] serde_json::Error),
    /// Another app's thread control was refused as Graph refuses it: the conversation is
    /// controlled by a third app.
    #[error("thread control by app {app_id} refused: {message}")]
    ThreadControl {
        /// The app that asked.
        app_id: String,
        /// Graph's message.
        message: String,
    },
    /// An Instagram account, user or comment the simulator does not know.
    #[error("unknown Instagram {kind}: {id}")]
    UnknownInstagram {
        /// `account`, `user` (IGSID) or `comment`.
        kind: &'static str,
        /// The id given.
        id: String,
    },
    /// The builder's Instagram accounts contradict each other (two accounts on one page, a
    /// token or an account given twice).
    #[error("Instagram setup: {0}")]
    InstagramSetup(String),
    /// The HTTP client for webhooks could not be built.
    #[error("cannot build the webhook HTTP client")]
    HttpClient(#[source] reqwest::Error),
}
