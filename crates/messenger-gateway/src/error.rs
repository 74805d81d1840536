//! The gateway's one error type.

/// Why the gateway could not start (or a command could not run).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GatewayError {
    /// The demo failed.
    #[error(transparent)]
    Demo(Box<dyn std::error::Error + Send + Sync>),
    /// The connection doctor found pages that cannot work as configured, or the subscription
    /// could not be posted (`messenger-gateway doctor`, `subscribe`).
    #[error("{what}: {count} page(s) need attention (see the report above)")]
    Connection {
        /// Which command.
        what: &'static str,
        /// How many pages.
        count: usize,
    },
    /// The configuration is invalid.
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    /// The store could not be opened or migrated.
    #[error("cannot open the store")]
    Store(#[source] messenger_store::StoreError),
    /// A Graph client could not be built from the configuration.
    #[error("cannot configure Graph for space {space:?}")]
    Graph {
        /// The space.
        space: String,
        /// Why.
        #[source]
        source: messenger_graph::Error,
    },
    /// The SMS provider could not be configured.
    #[error("cannot configure SMS for space {space:?}")]
    Sms {
        /// The space.
        space: String,
        /// Why.
        #[source]
        source: messenger::sms::SmsError,
    },
    /// The facade refused the assembled configuration.
    #[error("cannot assemble the Messenger pipeline")]
    Build(#[source] messenger::BuildError),
    /// A space's webhook could not be configured.
    #[error("cannot configure the webhook forwarder")]
    Forward(#[source] messenger::events::ForwardError),
    /// The SQLite database is another process's: one gateway owns a SQLite file while it runs.
    #[error(
        "the SQLite database {} is in use by another messenger-gateway process{}: one gateway \
         owns a SQLite file (stop it first, or run several instances on PostgreSQL)",
        path.display(),
        holder.map(|pid| format!(" (process {pid})")).unwrap_or_default()
    )]
    DatabaseInUse {
        /// The database file.
        path: std::path::PathBuf,
        /// The holder's process id, as it wrote it in the lock file.
        holder: Option<u32>,
    },
    /// The gateway's own files (the database's lock, the instance id in `server.state_dir`)
    /// could not be read or written.
    #[error("cannot keep the gateway's state in {}", path.display())]
    State {
        /// The file or directory.
        path: std::path::PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A backup or a restore could not be made.
    #[error("{what}")]
    Backup {
        /// What could not be done, naming the files.
        what: String,
        /// The store's error, when there is one.
        #[source]
        source: Option<messenger_store::StoreError>,
    },
    /// The listening socket could not be bound.
    #[error("cannot listen on {addr}")]
    Bind {
        /// The address.
        addr: std::net::SocketAddr,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A reload was asked of a gateway started from a configuration given in code, not read
    /// from a file: there is nothing to read again.
    #[error("the gateway was not started from a configuration file, so it has none to reload")]
    NoConfigFile,
    /// Another I/O failure (the local address, a signal handler).
    #[error("{what}")]
    Io {
        /// What was being done.
        what: &'static str,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}
