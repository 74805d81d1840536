//! `messenger-gateway`: the HTTP service of the Messenger channel.
//!
//! - `messenger-gateway serve --config FILE [--log-format json]`: serve until SIGTERM/SIGINT,
//!   then shut down gracefully.
//! - `messenger-gateway migrate --config FILE`: create or upgrade the database schema, then exit.
//! - `messenger-gateway backup --config FILE --to PATH`: a consistent copy of the SQLite
//!   database, while the gateway serves; `restore --config FILE --from PATH` puts one in place.
//! - `messenger-gateway demo`: the whole product with simulated Meta, SMS provider and business.
//! - `messenger-gateway doctor --config FILE`: each page's connection to Meta (token, webhook
//!   subscription, Graph version), each finding with what to do; `subscribe --config FILE`
//!   posts the app's webhook subscription with the fields the configuration needs.
//! - `messenger-gateway hash-key < key`: the SHA-256 digest of a key, for `keys_sha256` and
//!   `server.admin_keys_sha256`.
//!
//! `MESSENGER__*` environment variables override the file (see `docs/configuration.md`);
//! `RUST_LOG` sets the log filter (default `info`).

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand, ValueEnum};
use messenger_gateway::config::{key_is_acceptable, Config, KeyDigest};
use messenger_gateway::{lock_database, open_store, Gateway, GatewayError};
use tracing_subscriber::EnvFilter;

/// mimalloc rather than the system's allocator: a dispatched message makes many small,
/// short-lived allocations (rows, JSON, HTTP), and glibc's malloc and free took about 15 % of
/// the gateway's CPU in a dispatch profile (docs/performance.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "messenger-gateway",
    version,
    about = "The Messenger channel's HTTP service"
)]
struct Cli {
    /// Log format.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the HTTP API and dispatch messages until SIGTERM or SIGINT.
    Serve {
        /// The TOML configuration file.
        #[arg(long)]
        config: PathBuf,
    },
    /// Create or upgrade the database schema, then exit.
    Migrate {
        /// The TOML configuration file.
        #[arg(long)]
        config: PathBuf,
    },
    /// Write a consistent copy of the SQLite database to a new file, while the gateway serves.
    #[cfg(feature = "sqlite")]
    Backup {
        /// The TOML configuration file (its `database.url` names the database).
        #[arg(long)]
        config: PathBuf,
        /// The copy to write (must not exist).
        #[arg(long)]
        to: PathBuf,
    },
    /// Put a copy made by `backup` in place as the SQLite database (which must not exist; no
    /// gateway may run on it meanwhile).
    #[cfg(feature = "sqlite")]
    Restore {
        /// The TOML configuration file (its `database.url` names where the copy goes).
        #[arg(long)]
        config: PathBuf,
        /// The copy to restore.
        #[arg(long)]
        from: PathBuf,
    },
    /// Check each page's connection to Meta: its token (valid, expiry, permissions), the app's
    /// webhook subscription against the fields the configuration needs, the Graph version.
    /// Prints the report; exits 1 when something is broken.
    Doctor {
        /// The TOML configuration file.
        #[arg(long)]
        config: PathBuf,
    },
    /// Subscribe the app to each page's webhook with the fields the configuration needs
    /// (`POST /{page}/subscribed_apps`).
    Subscribe {
        /// The TOML configuration file.
        #[arg(long)]
        config: PathBuf,
    },
    /// Read a key from stdin (one trailing newline is dropped) and print its SHA-256 digest in
    /// lowercase hex, for `keys_sha256` and `server.admin_keys_sha256`.
    HashKey,
    /// Walk through the product with simulated Meta, SMS provider and business (no account
    /// needed): opt-in, send, receipts, reply, SMS fallback.
    #[cfg(feature = "demo")]
    Demo {
        /// Where the demo's SQLite file goes.
        #[arg(long, default_value = "./data")]
        data_dir: PathBuf,
        /// Keep serving after the walk-through (the console at /console) until Ctrl-C.
        #[arg(long)]
        serve: bool,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

fn init_logs(format: LogFormat, default_level: &str) {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_level));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().flatten_event(true).init(),
    }
}

/// Reloads the configuration file on every SIGHUP (a reload that fails changes nothing and is
/// logged with every problem of the file). Runs until aborted.
async fn reload_on_hangup(gateway: Arc<messenger_gateway::GatewayHandle>) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut hangups = match signal(SignalKind::hangup()) {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGHUP: reload with POST /ops/reload");
                return;
            }
        };
        while hangups.recv().await.is_some() {
            tracing::info!(
                target: messenger_gateway::http::reload::LOG_TARGET,
                "SIGHUP received: reloading the configuration file"
            );
            if let Err(e) = gateway.reload().await {
                tracing::error!(
                    target: messenger_gateway::http::reload::LOG_TARGET,
                    error = %messenger::error_chain(&e),
                    "configuration reload refused: nothing changed"
                );
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = gateway;
        std::future::pending::<()>().await;
    }
}

/// Resolves when SIGTERM or SIGINT arrives.
async fn shutdown_signal() -> Result<(), GatewayError> {
    let io = |source| GatewayError::Io {
        what: "cannot listen for signals",
        source,
    };
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut term = signal(SignalKind::terminate()).map_err(io)?;
        tokio::select! {
            _ = term.recv() => tracing::info!("SIGTERM received"),
            r = tokio::signal::ctrl_c() => { r.map_err(io)?; tracing::info!("SIGINT received") }
        }
    }
    #[cfg(not(unix))]
    {
        tokio::signal::ctrl_c().await.map_err(io)?;
        tracing::info!("Ctrl-C received");
    }
    Ok(())
}

/// `hash-key`: stdin to its digest on stdout, nothing else. Refuses an empty key, and one the
/// configuration would refuse as a plain key (so a digest never hides a weak key).
fn hash_key() -> ExitCode {
    let mut input = String::new();
    if let Err(e) = std::io::stdin().read_to_string(&mut input) {
        eprintln!("messenger-gateway hash-key: cannot read the key from stdin: {e}");
        return ExitCode::FAILURE;
    }
    let key = input
        .strip_suffix('\n')
        .map(|k| k.strip_suffix('\r').unwrap_or(k))
        .unwrap_or(&input);
    if key.is_empty() {
        eprintln!("messenger-gateway hash-key: the key is empty; write it to stdin");
        return ExitCode::FAILURE;
    }
    if !key_is_acceptable(key) {
        eprintln!(
            "messenger-gateway hash-key: a key must be at least 16 visible ASCII characters \
             (no spaces); use a random one"
        );
        return ExitCode::FAILURE;
    }
    let mut out = std::io::stdout().lock();
    match writeln!(out, "{}", KeyDigest::of(key).to_hex()).and_then(|()| out.flush()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("messenger-gateway hash-key: cannot write the digest: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Command) -> Result<(), GatewayError> {
    match command {
        // Handled in main, without a runtime.
        Command::HashKey => Ok(()),
        Command::Serve { config: path } => {
            let config = Config::load(&path)?;
            let gateway = Arc::new(Gateway::builder(config).config_file(path).start().await?);
            let reloads = tokio::spawn(reload_on_hangup(Arc::clone(&gateway)));
            let signal = shutdown_signal().await;
            reloads.abort();
            let _ = reloads.await;
            match Arc::try_unwrap(gateway) {
                Ok(gateway) => gateway.shutdown().await,
                Err(_) => tracing::error!("the gateway is still in use; stopping without grace"),
            }
            signal
        }
        #[cfg(feature = "demo")]
        Command::Demo { data_dir, serve } => if serve {
            messenger_gateway::demo::serve(&data_dir).await
        } else {
            messenger_gateway::demo::run(&data_dir).await
        }
        .map_err(|e| GatewayError::Demo(Box::new(e))),
        #[cfg(feature = "sqlite")]
        Command::Backup { config, to } => {
            let config = Config::load(&config)?;
            let report = messenger_gateway::backup::backup(&config, &to).await?;
            tracing::info!(
                to = %to.display(),
                bytes = report.bytes,
                messages = report.messages,
                unsent = report.unsent,
                "backup written"
            );
            Ok(())
        }
        #[cfg(feature = "sqlite")]
        Command::Restore { config, from } => {
            let config = Config::load(&config)?;
            let report = messenger_gateway::backup::restore(&config, &from).await?;
            tracing::info!(
                from = %from.display(),
                bytes = report.bytes,
                messages = report.messages,
                unsent = report.unsent,
                "backup restored; start the gateway on it"
            );
            Ok(())
        }
        Command::Doctor { config } => {
            let config = Config::load(&config)?;
            // The webhook's last deliveries, as the running instances recorded them (the store
            // is only read); a store that cannot be opened leaves the doctor with none.
            let store = match messenger_gateway::open_existing_store(&config.database).await {
                Ok(store) => store,
                Err(e) => {
                    tracing::warn!(
                        error = %messenger::error_chain(&e),
                        "the database could not be opened: the webhook's recorded deliveries are not shown"
                    );
                    None
                }
            };
            let report = connections(&config, store.clone())?.diagnose().await;
            if let Some(store) = store {
                store.close().await;
            }
            print!("{}", report.render());
            let broken = report
                .pages
                .iter()
                .filter(|p| {
                    p.findings.iter().any(|f| {
                        f.severity == messenger_gateway::connection::doctor::Severity::Problem
                    })
                })
                .count()
                + usize::from(report.version.iter().any(|f| {
                    f.severity == messenger_gateway::connection::doctor::Severity::Problem
                }));
            match broken {
                0 => Ok(()),
                count => Err(GatewayError::Connection {
                    what: "doctor",
                    count,
                }),
            }
        }
        Command::Subscribe { config } => {
            let config = Config::load(&config)?;
            let mut failed = 0;
            for (page, posted) in connections(&config, None)?.subscribe().await {
                match posted {
                    Ok(fields) => println!("page {page}: subscribed to {}", fields.join(", ")),
                    Err(e) => {
                        failed += 1;
                        println!("page {page}: the subscription failed: {e}");
                    }
                }
            }
            match failed {
                0 => Ok(()),
                count => Err(GatewayError::Connection {
                    what: "subscribe",
                    count,
                }),
            }
        }
        Command::Migrate { config } => {
            let config = Config::load(&config)?;
            tracing::info!(database = %config.database.url.redacted(), "running migrations");
            // Not beside a running gateway on the same SQLite file.
            let _lock = lock_database(&config)?;
            let store = open_store(&config.database)
                .await
                .map_err(GatewayError::Store)?;
            store.close().await;
            tracing::info!("the database schema is up to date");
            Ok(())
        }
    }
}

/// Each page's connection, for `doctor` and `subscribe`, reading the webhook's recorded
/// deliveries from `store` when given.
fn connections(
    config: &Config,
    store: Option<Arc<dyn messenger_store::Store>>,
) -> Result<messenger_gateway::connection::PageConnections, GatewayError> {
    messenger_gateway::connection::PageConnections::new(config, store).map_err(|source| {
        GatewayError::Graph {
            space: "*".into(),
            source,
        }
    })
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if matches!(cli.command, Command::HashKey) {
        return hash_key();
    }
    // The demo prints its own story; its logs would only get in the way.
    #[cfg(feature = "demo")]
    let level = if matches!(cli.command, Command::Demo { .. }) {
        "warn"
    } else {
        "info"
    };
    #[cfg(not(feature = "demo"))]
    let level = "info";
    init_logs(cli.log_format, level);
    // Every client connection is a file descriptor: take what the hard limit allows.
    #[cfg(feature = "demo")]
    let serves = matches!(cli.command, Command::Serve { .. } | Command::Demo { .. });
    #[cfg(not(feature = "demo"))]
    let serves = matches!(cli.command, Command::Serve { .. });
    if serves {
        messenger_gateway::listener::raise_open_file_limit();
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("messenger-gateway: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli.command)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // The whole chain, one cause per line; no secret is ever in these messages.
            let mut message = format!("messenger-gateway: {e}");
            let mut source = std::error::Error::source(&e);
            while let Some(s) = source {
                message.push_str(&format!("\n  caused by: {s}"));
                source = s.source();
            }
            tracing::error!("{message}");
            ExitCode::FAILURE
        }
    }
}
