//! Starting a simulator: its builder and its routes. The running handle is [`crate::handle`],
//! the state the handlers share [`crate::state`].

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use axum::Router;
use tokio::sync::oneshot;

use crate::faults::FaultBook;
use crate::graph_api::PageAuth;
use crate::handle::{GraphSim, Server};
use crate::ids::Ids;
use crate::instagram_accounts::InstagramBook;
use crate::personas::PersonaBook;
use crate::state::{AutoReceipts, Config, SimState};
use crate::window::WindowBook;
use crate::{
    attachments, connection, control, persona_api, profile, send, send_api, signature, sms,
    SimError,
};
use crate::{InstagramLogin, InstagramShape};

/// Configures and starts a [`GraphSim`].
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), graph_sim::SimError> {
/// let sim = graph_sim::GraphSim::builder()
///     .page("PAGE_ID", "PAGE_TOKEN")
///     .start()
///     .await?;
/// assert!(sim.base_url().starts_with("http://127.0.0.1:"));
/// sim.shutdown().await;
/// # Ok(())
/// # }
/// ```
#[must_use = "a builder does nothing until started"]
pub struct GraphSimBuilder {
    pages: Vec<(String, String)>,
    app_secret: Option<String>,
    app_id: String,
    webhook_url: Option<String>,
    auto_receipts: Option<AutoReceipts>,
    echoes: bool,
    sms_accounts: Vec<(String, String)>,
    bind: SocketAddr,
    record_requests: bool,
    accepted_tags: Vec<String>,
    enforce_window: bool,
    instagram_accounts: Vec<(String, InstagramLogin)>,
    /// Where the Instagram host listens, if it is served.
    instagram_bind: Option<SocketAddr>,
    instagram_shape: InstagramShape,
    instagram_window: bool,
}

impl std::fmt::Debug for GraphSimBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Tokens and secrets stay out of Debug output.
        f.debug_struct("GraphSimBuilder")
            .field(
                "pages",
                &self.pages.iter().map(|(p, _)| p).collect::<Vec<_>>(),
            )
            .field("app_secret", &self.app_secret.as_ref().map(|_| "<set>"))
            .field("webhook_url", &self.webhook_url)
            .field("auto_receipts", &self.auto_receipts)
            .field(
                "sms_accounts",
                &self.sms_accounts.iter().map(|(a, _)| a).collect::<Vec<_>>(),
            )
            .field("bind", &self.bind)
            .field("record_requests", &self.record_requests)
            .field("accepted_tags", &self.accepted_tags)
            .field("enforce_window", &self.enforce_window)
            .field("instagram_accounts", &self.instagram_accounts)
            .field("instagram_bind", &self.instagram_bind)
            .field("instagram_shape", &self.instagram_shape)
            .field("instagram_window", &self.instagram_window)
            .finish()
    }
}

impl Default for GraphSimBuilder {
    fn default() -> Self {
        Self {
            pages: Vec::new(),
            app_secret: None,
            app_id: crate::connection::DEFAULT_APP_ID.to_owned(),
            webhook_url: None,
            auto_receipts: None,
            echoes: false,
            sms_accounts: Vec::new(),
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            record_requests: true,
            accepted_tags: crate::graph_rules::ACCEPTED_TAGS
                .iter()
                .map(|t| (*t).to_owned())
                .collect(),
            enforce_window: false,
            instagram_accounts: Vec::new(),
            instagram_bind: None,
            instagram_shape: InstagramShape::Messaging,
            instagram_window: true,
        }
    }
}

impl GraphSimBuilder {
    /// Adds a page and its page access token (call once per page; a page may have several
    /// tokens).
    pub fn page(mut self, page_id: impl Into<String>, token: impl Into<String>) -> Self {
        self.pages.push((page_id.into(), token.into()));
        self
    }

    /// Sets the app secret: every Graph call must then carry a correct `appsecret_proof`, and
    /// webhook posts are signed with it.
    pub fn app_secret(mut self, secret: impl Into<String>) -> Self {
        self.app_secret = Some(secret.into());
        self
    }

    /// The app's id (default [`crate::connection::DEFAULT_APP_ID`]): `debug_token` is asked
    /// with `{app_id}|{app_secret}`, and `subscribed_apps` names it.
    pub fn app_id(mut self, app_id: impl Into<String>) -> Self {
        self.app_id = app_id.into();
        self
    }

    /// Where Meta-side events (webhooks) are posted.
    pub fn webhook_url(mut self, url: impl Into<String>) -> Self {
        self.webhook_url = Some(url.into());
        self
    }

    /// Posts delivery (and read) events after each successful send.
    pub fn auto_receipts(mut self, receipts: AutoReceipts) -> Self {
        self.auto_receipts = Some(receipts);
        self
    }

    /// Posts a message echo after each successful send, as Meta does for a page subscribed to
    /// `message_echoes`: `sender` is the page, `message.is_echo` is true and `message.metadata`
    /// is the send's metadata. Like Meta, it posts again (for up to two minutes) while the
    /// receiver does not answer 2xx.
    pub fn echoes(mut self, on: bool) -> Self {
        self.echoes = on;
        self
    }

    /// Adds a Twilio account (SID and auth token) for the SMS API.
    pub fn sms_account(mut self, account_sid: impl Into<String>, token: impl Into<String>) -> Self {
        self.sms_accounts.push((account_sid.into(), token.into()));
        self
    }

    /// The address to listen on (default `127.0.0.1:0`, a free port).
    pub fn bind(mut self, addr: SocketAddr) -> Self {
        self.bind = addr;
        self
    }

    /// Whether to keep every request and sent message for inspection (default `true`). Turn it
    /// off for benchmarks; [`GraphSim::sent_count`] still counts.
    pub fn record_requests(mut self, record: bool) -> Self {
        self.record_requests = record;
        self
    }

    /// Replaces the message tags the Send API accepts (default
    /// [`crate::graph_rules::ACCEPTED_TAGS`], Meta's list as of 2026), e.g. to simulate Graph
    /// before a retirement.
    pub fn accepted_tags<I, S>(mut self, tags: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.accepted_tags = tags.into_iter().map(Into::into).collect();
        self
    }

    /// Enforces the messaging window as Meta does (default off): a send to a PSID who has not
    /// written within 24 hours (7 days with `HUMAN_AGENT` or `CUSTOMER_FEEDBACK`) is refused
    /// with error 10, subcode 2018278. Inbound messages, postbacks and opt-ins posted by the
    /// simulator open the window; see also [`GraphSim::set_last_inbound`].
    pub fn enforce_window(mut self, enforce: bool) -> Self {
        self.enforce_window = enforce;
        self
    }

    /// Adds an Instagram professional account: `account_id` is its id (the `user_id` of `/me`
    /// and the `entry.id` of its webhooks), `login` how it is connected (linked to a page, or
    /// with its own Instagram token for the Instagram host). See [`crate::instagram`].
    pub fn instagram_account(
        mut self,
        account_id: impl Into<String>,
        login: InstagramLogin,
    ) -> Self {
        self.instagram_accounts.push((account_id.into(), login));
        self
    }

    /// Also serves `graph.instagram.com` (Instagram Login) on a second free port of the same
    /// address: [`GraphSim::instagram_url`].
    pub fn instagram_host(mut self, on: bool) -> Self {
        self.instagram_bind = on.then(|| SocketAddr::new(self.bind.ip(), 0));
        self
    }

    /// Serves `graph.instagram.com` on this address.
    pub fn instagram_bind(mut self, addr: SocketAddr) -> Self {
        self.instagram_bind = Some(addr);
        self
    }

    /// Where Instagram direct-message events (messages, echoes, reads) go in their entry: in
    /// `messaging[]` (the default) or in `changes[]`; [`GraphSim::set_instagram_shape`] changes
    /// it while running.
    pub fn instagram_shape(mut self, shape: InstagramShape) -> Self {
        self.instagram_shape = shape;
        self
    }

    /// Enforces Instagram's window (default on, as on Instagram a conversation starts only when
    /// the user writes): 24 hours after the user's last message, 7 days with `HUMAN_AGENT`;
    /// otherwise `IGApiException` 10, subcode 2534022.
    pub fn instagram_window(mut self, enforce: bool) -> Self {
        self.instagram_window = enforce;
        self
    }

    /// Binds the socket(s) and starts serving on tokio tasks.
    pub async fn start(self) -> Result<GraphSim, SimError> {
        let listener = bind(self.bind).await?;
        let addr = listener.local_addr().map_err(SimError::LocalAddr)?;
        let instagram = match self.instagram_bind {
            Some(at) => {
                let listener = bind(at).await?;
                let addr = listener.local_addr().map_err(SimError::LocalAddr)?;
                Some((listener, addr))
            }
            None => None,
        };
        let state = Arc::new(self.into_state(addr)?);
        let mut servers = vec![serve(listener, router(state.clone()), &state)];
        tracing::info!(%addr, "graph-sim listening");
        let instagram_addr = instagram.map(|(listener, at)| {
            let app = crate::instagram::host::router(state.clone());
            servers.push(serve(listener, app, &state));
            tracing::info!(addr = %at, "graph-sim's graph.instagram.com listening");
            at
        });
        Ok(GraphSim::new(state, addr, instagram_addr, servers))
    }

    fn into_state(self, addr: SocketAddr) -> Result<SimState, SimError> {
        for (account, login) in &self.instagram_accounts {
            if let InstagramLogin::Page(page) = login {
                if !self.pages.iter().any(|(p, _)| p == page) {
                    return Err(SimError::InstagramSetup(format!(
                        "account {account} is linked to page {page}, which is not configured"
                    )));
                }
            }
        }
        let instagram = InstagramBook::new(
            self.instagram_accounts,
            self.instagram_shape,
            messenger_model::Timestamp::now().millis(),
        )?;
        let proof_for = |token: &str| {
            self.app_secret
                .as_deref()
                .map(|s| signature::appsecret_proof(s, token))
        };
        let tokens = self
            .pages
            .iter()
            .map(|(page, token)| {
                (
                    token.clone(),
                    PageAuth {
                        page_id: Arc::from(page.as_str()),
                        proof: proof_for(token),
                        state: crate::connection::TokenState::default(),
                    },
                )
            })
            .collect();
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .user_agent("facebookexternalua")
            .build()
            .map_err(SimError::HttpClient)?;
        Ok(SimState {
            config: Config {
                tokens,
                app_secret: self.app_secret,
                app_id: self.app_id,
                webhook_url: self.webhook_url,
                auto_receipts: self.auto_receipts,
                echoes: self.echoes,
                record_requests: self.record_requests,
                sms_accounts: self.sms_accounts.into_iter().collect(),
                accepted_tags: self.accepted_tags,
            },
            ids: Ids::new(addr),
            sent_count: AtomicU64::new(0),
            connections: crate::records::ConnectionStats::default(),
            faults: FaultBook::default(),
            window: WindowBook::new(self.enforce_window, self.instagram_window),
            requests: Mutex::new(Vec::new()),
            sent: Mutex::new(Vec::new()),
            actions: Mutex::new(Vec::new()),
            personas: PersonaBook::default(),
            threads: crate::thread_owners::ThreadBook::default(),
            profiles: Mutex::new(HashMap::new()),
            uploads: Mutex::new(Vec::new()),
            attachment_ids: Mutex::new(HashSet::new()),
            sms: Mutex::new(Vec::new()),
            webhook_posts: Mutex::new(Vec::new()),
            never_delivered: Mutex::new(HashSet::new()),
            subscriptions: crate::state::Subscriptions::default(),
            instagram,
            instagram_sent: Mutex::new(Vec::new()),
            instagram_actions: Mutex::new(Vec::new()),
            http,
        })
    }
}

impl GraphSim {
    /// A builder with no pages, no app secret, no webhook URL, listening on a free port.
    pub fn builder() -> GraphSimBuilder {
        GraphSimBuilder::default()
    }
}

/// The routes: Graph's Send API, attachment upload and node reads, Twilio's Messages API, and
/// the simulator's own control API (`/_sim/...`).
fn router(state: Arc<SimState>) -> Router {
    Router::new()
        .route("/{version}/{node}/messages", post(send::send))
        .route("/{version}/debug_token", get(connection::debug_token))
        .route(
            "/{version}/{node}/pass_thread_control",
            post(crate::threads::control),
        )
        .route(
            "/{version}/{node}/take_thread_control",
            post(crate::threads::control),
        )
        .route(
            "/{version}/{node}/release_thread_control",
            post(crate::threads::control),
        )
        .route(
            "/{version}/{node}/request_thread_control",
            post(crate::threads::control),
        )
        .route("/{version}/{node}/thread_owner", get(crate::threads::owner))
        .route(
            "/{version}/{node}/subscribed_apps",
            get(connection::subscribed_apps).post(connection::subscribe_app),
        )
        .route(
            "/{version}/{node}/message_attachments",
            post(attachments::upload).layer(DefaultBodyLimit::disable()),
        )
        .route(
            "/{version}/{node}/personas",
            post(persona_api::create).get(persona_api::list),
        )
        .route(
            "/{version}/{node}",
            get(profile::get_node).delete(persona_api::delete),
        )
        .route(
            "/2010-04-01/Accounts/{account}/Messages.json",
            post(sms::create_message),
        )
        .route(
            "/2010-04-01/Accounts/{account}/Messages/{message}",
            get(sms::fetch_message),
        )
        .merge(control::routes())
        .fallback(send_api::fallback)
        .layer(axum::middleware::from_fn_with_state(
            Arc::clone(&state),
            count_in_flight,
        ))
        .with_state(state)
}

/// Binds a listening socket.
async fn bind(addr: SocketAddr) -> Result<tokio::net::TcpListener, SimError> {
    tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| SimError::Bind { addr, source })
}

/// Serves `app` on `listener` on a tokio task, counting connections in `state`, until the
/// server's shutdown sender is used or dropped.
fn serve(listener: tokio::net::TcpListener, app: Router, state: &Arc<SimState>) -> Server {
    let (tx, rx) = oneshot::channel::<()>();
    let counting = Arc::clone(state);
    let task = tokio::spawn(async move {
        use axum::serve::ListenerExt;
        let listener = listener.tap_io(move |tcp| {
            // Small request/response pairs: never wait for Nagle.
            let _ = tcp.set_nodelay(true);
            counting.connections.accepted();
        });
        let served = axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = rx.await;
            })
            .await;
        if let Err(e) = served {
            tracing::warn!(error = %e, "graph-sim server stopped with an error");
        }
    });
    Server { shutdown: tx, task }
}

/// Counts the requests being answered (every route), keeping the most at once.
async fn count_in_flight(
    axum::extract::State(state): axum::extract::State<Arc<SimState>>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let _answering = state.connections.request();
    next.run(request).await
}
