//! Starting and stopping the gateway: the store, the facade with one Graph client per page, the
//! HTTP server and the background tasks.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use messenger::{Clock, Messenger};
use messenger_graph::{GraphClient, RetryPolicy};
use messenger_store::Store;
use tokio::net::TcpListener;
use tokio::sync::Notify;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::database::open_store;
use crate::dispatch::Dispatcher;
use crate::http::auth::ApiKeys;
use crate::http::reload::{Current, ReloadReport, Reloader};
use crate::http::{router_for, AppState, ListenerRole, Shared};
use crate::instance::{Instance, TakeBack};
use crate::metrics::Metrics;
use crate::GatewayError;

/// The gateway: [`Gateway::start`] runs it in this process.
///
/// ```no_run
/// # async fn f() -> Result<(), Box<dyn std::error::Error>> {
/// use messenger_gateway::{config::Config, Gateway};
/// let config = Config::load(std::path::Path::new("messenger.toml"))?;
/// let gateway = Gateway::start(config).await?;
/// println!("listening on {}", gateway.addr);
/// gateway.shutdown().await;
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct Gateway;

impl Gateway {
    /// Opens the store, binds `server.listen`, and starts serving and dispatching.
    pub async fn start(config: Config) -> Result<GatewayHandle, GatewayError> {
        Self::builder(config).start().await
    }

    /// A builder, to start on a listener or a store of the caller's.
    pub fn builder(config: Config) -> GatewayBuilder {
        GatewayBuilder {
            config,
            listener: None,
            store: None,
            config_file: None,
            clock: None,
        }
    }
}

/// Starts a gateway with parts supplied by the caller.
pub struct GatewayBuilder {
    config: Config,
    listener: Option<TcpListener>,
    store: Option<Arc<dyn Store>>,
    config_file: Option<std::path::PathBuf>,
    clock: Option<Clock>,
}

impl std::fmt::Debug for GatewayBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GatewayBuilder")
            .field("config", &self.config)
            .field("listener", &self.listener.is_some())
            .field("store", &self.store.as_ref().map(|s| s.backend()))
            .field("clock", &self.clock.is_some())
            .finish()
    }
}

impl GatewayBuilder {
    /// Serves on this listener instead of binding `server.listen` (tests bind first, to know
    /// the address before starting).
    #[must_use = "a builder method returns the changed value and does nothing on its own"]
    pub fn listener(mut self, listener: TcpListener) -> Self {
        self.listener = Some(listener);
        self
    }

    /// Uses this store instead of opening `database.url`.
    #[must_use = "a builder method returns the changed value and does nothing on its own"]
    pub fn store(mut self, store: Arc<dyn Store>) -> Self {
        self.store = Some(store);
        self
    }

    /// The clock every decision is taken at (default: the system clock): the facade's
    /// ([`messenger::MessengerBuilder::clock`]), the API's request rates, the console's and
    /// `/readyz`'s figures. Tests give one they move forward, instead of waiting for time.
    #[must_use = "a builder method returns the changed value and does nothing on its own"]
    pub fn clock(mut self, clock: Clock) -> Self {
        self.clock = Some(clock);
        self
    }

    /// The file the configuration was read from: a reload (SIGHUP, `POST /ops/reload`) reads
    /// it again. Without one, a reload answers that there is no file.
    #[must_use = "a builder method returns the changed value and does nothing on its own"]
    pub fn config_file(mut self, path: impl Into<std::path::PathBuf>) -> Self {
        self.config_file = Some(path.into());
        self
    }

    /// Starts everything.
    pub async fn start(self) -> Result<GatewayHandle, GatewayError> {
        let config = self.config;
        // What this process owns comes first: a second process on the same SQLite file is
        // refused before it touches the file.
        let (instance, store) = match self.store {
            Some(s) => (Instance::for_supplied_store(&config), s),
            None => {
                let instance = Instance::claim(&config)?;
                let store = open_store(&config.database)
                    .await
                    .map_err(GatewayError::Store)?;
                (instance, store)
            }
        };
        let (messenger, graph) = build_messenger(&config, Arc::clone(&store), self.clock)?;
        let forwarder = crate::forward::forwarder(&config, Arc::clone(&store))
            .map_err(GatewayError::Forward)?;
        let Listeners {
            main: listener,
            addr,
            ops: ops_listener,
            ops_addr,
        } = Listeners::bind(self.listener, &config).await?;
        let (next_forwarder, forwarders) = tokio::sync::mpsc::channel(1);
        let metrics = Metrics::new();
        take_back_leases(&store, &instance, &metrics).await;
        let wake = Arc::new(Notify::new());
        let cancel = CancellationToken::new();
        let webhooks_queued = Arc::new(Notify::new());
        let (ingest, committer) =
            crate::inbound::Ingest::start(Arc::clone(&store), Arc::clone(&webhooks_queued));
        let live = crate::live::Live::new(config.spaces.iter().map(|s| s.id.as_str()));
        let page_connections =
            crate::connection::PageConnections::new(&config, Some(Arc::clone(&store))).map_err(
                |source| GatewayError::Graph {
                    space: "*".into(),
                    source,
                },
            )?;
        let backlogs = crate::backlog::Backlogs::new(&config.spaces);
        let shedder = crate::shed::Shedder::new(&config.spaces);
        let state = AppState::new(Shared {
            messenger: messenger.clone(),
            keys: Current::new(ApiKeys::new(&config.spaces)),
            admin: Current::new(crate::http::reload::admin_keys(&config)),
            metrics_readers: Current::new(crate::http::reload::metrics_readers(&config)),
            reloader: Arc::new(Reloader::new(
                self.config_file,
                config.clone(),
                graph,
                Arc::clone(&store),
                next_forwarder,
            )),
            verify_token: config.facebook.verify_token.clone(),
            limits: config.server.limits,
            webhook_reads: crate::http::body::UnverifiedReads::new(&config.server.limits),
            large_batches: crate::http::body::LargeBodies::new(
                config.server.limits.large_batches,
                config.server.limits.space_large_batches,
                config.spaces.iter().map(|s| s.id.as_str()),
            ),
            metrics: metrics.clone(),
            wake: Arc::clone(&wake),
            ingest,
            quotas: crate::http::quota::ApiQuotas::new(&config.spaces, {
                let m = messenger.clone();
                Arc::new(move || m.now())
            }),
            in_flight: crate::http::quota::InFlight::new(
                config.server.max_in_flight,
                config.server.space_max_in_flight,
                &config.spaces,
            ),
            live: live.clone(),
            backlogs: backlogs.clone(),
            shedder: shedder.clone(),
            connections: page_connections.clone(),
        });
        let connections = &config.server.connections;
        let serve = |listener, role| {
            crate::listener::serve(
                listener,
                router_for(state.clone(), role, crate::console::router_for(role)),
                connections,
                metrics.clone(),
                &cancel,
            )
        };
        let (server, ops_server) = match ops_listener {
            None => (serve(listener, ListenerRole::Only), None),
            Some(ops) => (
                serve(listener, ListenerRole::Main),
                Some(serve(ops, ListenerRole::Ops)),
            ),
        };
        let tasks = Background {
            messenger: messenger.clone(),
            metrics,
            wake,
            cancel: cancel.clone(),
            instance_id: instance.id.clone(),
            committer,
            page_connections: page_connections.clone(),
            backlog: crate::backlog::Watch {
                backlogs,
                shedder,
                metrics: state.metrics.clone(),
            },
            live,
            webhooks_queued,
            forwarder,
            forwarders,
        }
        .spawn(&config);
        tracing::info!(
            %addr,
            ops_addr = ops_addr.map(|a| a.to_string()),
            store = store.backend(),
            spaces = config.spaces.len(),
            workers = config.dispatch.workers,
            instance = %instance.id,
            instance_origin = instance.origin,
            "gateway started"
        );
        Ok(GatewayHandle {
            addr,
            ops_addr,
            state,
            messenger,
            connections: page_connections,
            store,
            cancel,
            servers: [Some(server), ops_server].into_iter().flatten().collect(),
            tasks,
            grace: config.server.shutdown_grace,
            instance,
        })
    }
}

/// The listeners: the main one (given, or bound on `server.listen`) and the operations one
/// when `server.ops_listen` is set, with their addresses.
struct Listeners {
    main: TcpListener,
    addr: SocketAddr,
    ops: Option<TcpListener>,
    ops_addr: Option<SocketAddr>,
}

impl Listeners {
    async fn bind(given: Option<TcpListener>, config: &Config) -> Result<Self, GatewayError> {
        let bind = |addr: SocketAddr| async move {
            TcpListener::bind(addr)
                .await
                .map_err(|source| GatewayError::Bind { addr, source })
        };
        let address = |l: &TcpListener, what: &'static str| {
            l.local_addr()
                .map_err(|source| GatewayError::Io { what, source })
        };
        let main = match given {
            Some(l) => l,
            None => bind(config.server.listen).await?,
        };
        let addr = address(&main, "cannot read the listening address")?;
        let (ops, ops_addr) = match config.server.ops_listen {
            Some(at) => {
                let ops = bind(at).await?;
                let addr = address(&ops, "cannot read the operations listening address")?;
                (Some(ops), Some(addr))
            }
            None => (None, None),
        };
        Ok(Self {
            main,
            addr,
            ops,
            ops_addr,
        })
    }
}

/// What runs beside the listeners until shutdown: the dispatch workers and their maintenance,
/// the webhook ingest's committer and applier, the pages' token checks, the Instagram Login
/// tokens' refresh, the backlog watch, the console's live figures and the forwarder.
struct Background {
    messenger: Messenger,
    metrics: Metrics,
    wake: Arc<Notify>,
    cancel: CancellationToken,
    instance_id: String,
    committer: JoinHandle<()>,
    page_connections: crate::connection::PageConnections,
    backlog: crate::backlog::Watch,
    live: crate::live::Live,
    webhooks_queued: Arc<Notify>,
    forwarder: Option<messenger::events::Forwarder>,
    forwarders: tokio::sync::mpsc::Receiver<Option<messenger::events::Forwarder>>,
}

impl Background {
    fn spawn(self, config: &Config) -> Vec<JoinHandle<()>> {
        let Self {
            messenger,
            metrics,
            wake,
            cancel,
            instance_id,
            committer,
            page_connections,
            backlog,
            live,
            webhooks_queued,
            forwarder,
            forwarders,
        } = self;
        let mut tasks = Dispatcher {
            messenger: messenger.clone(),
            metrics: metrics.clone(),
            config: config.dispatch.clone(),
            wake: Arc::clone(&wake),
            cancel: cancel.clone(),
            instance_id: instance_id.clone(),
            retention: crate::retention::RetentionPolicy::new(config),
        }
        .spawn();
        tasks.push(committer);
        tasks.push(tokio::spawn(page_connections.clone().run(
            messenger.clone(),
            Arc::clone(&wake),
            cancel.clone(),
            instance_id.clone(),
        )));
        tasks.push(tokio::spawn(
            page_connections.record_sightings(cancel.clone()),
        ));
        tasks.push(tokio::spawn(crate::backlog::run(
            backlog,
            messenger.clone(),
            cancel.clone(),
        )));
        tasks.push(tokio::spawn(crate::live::run(
            live,
            messenger.clone(),
            cancel.clone(),
        )));
        tasks.push(tokio::spawn(crate::instagram::run(
            messenger.clone(),
            config.facebook.instagram_refresh_after,
            cancel.clone(),
        )));
        tasks.push(tokio::spawn(crate::inbound::run_applier(
            messenger,
            metrics.clone(),
            format!("{instance_id}/webhooks"),
            webhooks_queued,
            cancel.clone(),
        )));
        tasks.push(tokio::spawn(crate::forward::run(
            forwarder,
            forwarders,
            format!("{instance_id}/forwarder"),
            metrics,
            cancel,
        )));
        tasks
    }
}

/// Clears the leases an earlier run of this instance held when it died: every lease when it
/// owns the store (its SQLite file), else those held under its id. Nobody will settle them, so
/// the messages need not wait for them to expire. They still go through the echo check before
/// being sent again. Webhook bodies it held are freed too: they may carry the very echoes that
/// check waits for, and would otherwise sit out their 60-second lease while the check's grace
/// runs out. A failure here is logged and left to lease expiry.
async fn take_back_leases(store: &Arc<dyn Store>, instance: &Instance, metrics: &Metrics) {
    let prefix = format!("{}/", instance.id);
    let (messages, bodies) = match instance.take_back {
        TakeBack::Every => (
            store.recover_all_leases().await,
            store.recover_all_webhook_leases().await,
        ),
        TakeBack::Own => (
            store.recover_leases_of(&prefix).await,
            store.recover_webhook_leases_of(&prefix).await,
        ),
    };
    let whose = match instance.take_back {
        TakeBack::Every => "the leases of the SQLite file it owns (all of them)",
        TakeBack::Own => "the leases an earlier run of this instance held",
    };
    match messages {
        Ok(0) => {}
        Ok(n) => {
            metrics.leases_recovered(n);
            tracing::info!(leases = n, instance = %instance.id, "took back {whose}");
        }
        Err(e) => tracing::warn!(
            error = %messenger::error_chain(&e),
            "taking back {whose} failed; they will expire"
        ),
    }
    match bodies {
        Ok(0) => {}
        Ok(n) => tracing::info!(
            bodies = n,
            instance = %instance.id,
            "took back the webhook bodies being applied when the store's last holder died"
        ),
        Err(e) => tracing::warn!(
            error = %messenger::error_chain(&e),
            "taking back webhook bodies failed; their leases will expire"
        ),
    }
}

/// Assembles the facade: one Graph client per page (sharing one connection pool), the SMS
/// providers, the spaces' policies; and the Graph client the pages' clients are made from.
fn build_messenger(
    config: &Config,
    store: Arc<dyn Store>,
    clock: Option<Clock>,
) -> Result<(Messenger, GraphClient), GatewayError> {
    let fb = &config.facebook;
    let graph = |space: &str| {
        let space = space.to_owned();
        move |source| GatewayError::Graph { space, source }
    };
    let mut base = GraphClient::builder()
        .base_url(&fb.graph_base_url)
        .instagram_base_url(&fb.instagram_graph_base_url)
        .version(&fb.graph_version)
        .app_secret(fb.app_secret.expose())
        .http2_prior_knowledge(fb.graph_http2_prior_knowledge)
        .connections(fb.graph_connections);
    if let Some(secret) = &fb.instagram_app_secret {
        base = base.instagram_app_secret(secret.expose());
    }
    let base = base.build().map_err(graph("*"))?;
    let mut builder = Messenger::builder()
        .store(store)
        .app_secret(fb.app_secret.expose())
        .token_key(fb.token_key.expose().as_bytes().to_vec())
        .token_ttl(fb.token_ttl)
        .lease_for(config.dispatch.lease)
        .retry(RetryPolicy {
            max_attempts: config.dispatch.max_attempts,
            initial_backoff: config.dispatch.retry_initial,
            max_backoff: config.dispatch.retry_max,
            deadline: None,
            ..RetryPolicy::default()
        });
    if let Some(app_id) = &fb.app_id {
        builder = builder.app_id(app_id.clone());
    }
    if let Some(clock) = clock {
        builder = builder.clock(clock);
    }
    for s in &config.spaces {
        let ig_secret = fb.instagram_app_secret.as_ref();
        builder = builder.space(crate::spaces::build_space(s, &base, ig_secret)?);
    }
    Ok((builder.build().map_err(GatewayError::Build)?, base))
}

/// A running gateway.
pub struct GatewayHandle {
    /// The address it listens on.
    pub addr: SocketAddr,
    /// The operations listener's address, when `server.ops_listen` is set.
    pub ops_addr: Option<SocketAddr>,
    state: AppState,
    messenger: Messenger,
    connections: crate::connection::PageConnections,
    store: Arc<dyn Store>,
    cancel: CancellationToken,
    /// The main listener's server, and the ops listener's if any.
    servers: Vec<JoinHandle<()>>,
    tasks: Vec<JoinHandle<()>>,
    grace: Duration,
    /// The locks this process holds (its SQLite file, its instance id): released once the
    /// store is closed.
    instance: Instance,
}

impl std::fmt::Debug for GatewayHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GatewayHandle")
            .field("addr", &self.addr)
            .field("ops_addr", &self.ops_addr)
            .field("store", &self.store.backend())
            .finish_non_exhaustive()
    }
}

impl GatewayHandle {
    /// The facade the gateway runs (for in-process tools and tests).
    pub fn messenger(&self) -> &Messenger {
        &self.messenger
    }

    /// Each page's connection: token checks, webhook deliveries seen, the doctor; and
    /// [`PageConnections::token_replaced`](crate::connection::PageConnections::token_replaced)
    /// for a configuration reload that brings a page a new token.
    pub fn connections(&self) -> &crate::connection::PageConnections {
        &self.connections
    }

    /// Reads the configuration file again and applies what can change while the gateway runs
    /// (what SIGHUP and `POST /ops/reload` do; [`crate::http::reload`]). On an error nothing changed.
    pub async fn reload(&self) -> Result<ReloadReport, GatewayError> {
        self.state.reloader.reload(&self.state).await
    }

    /// Stops gracefully: stops accepting connections (on both listeners), lets open requests and each worker's
    /// current round finish (at most `server.shutdown_grace`), then closes the store. Work cut
    /// off by the grace period is safe: its leases expire and another worker takes it.
    pub async fn shutdown(self) {
        tracing::info!("gateway shutting down");
        self.cancel.cancel();
        // The state holds the webhook ingest's sender: the ingest's committer ends once the
        // servers and this handle have let go of it.
        drop(self.state);
        let mut all = self.tasks;
        all.extend(self.servers);
        let aborts: Vec<_> = all.iter().map(JoinHandle::abort_handle).collect();
        let joined = tokio::time::timeout(self.grace, futures::future::join_all(all)).await;
        if joined.is_err() {
            tracing::warn!(
                grace_secs = self.grace.as_secs(),
                "shutdown grace period over: stopping the rest (their leases will expire)"
            );
            for (i, a) in aborts.iter().enumerate() {
                if !a.is_finished() {
                    tracing::warn!(task = i, "still running at the end of the grace period");
                }
                a.abort();
            }
        }
        self.store.close().await;
        drop(self.instance);
        tracing::info!("gateway stopped");
    }
}
