//! The simulator: its builder, the running handle, the shared state and what it records.

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderMap, Method, Uri};
use axum::routing::{get, post};
use axum::Router;
use bytes::Bytes;
use messenger_model::graph::Persona;
use messenger_model::{Timestamp, UserProfile};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::faults::{FaultBook, FaultRule, UsageHeaders};
use crate::personas::PersonaBook;
use crate::records::{RecordedRequest, SentAction, SentMessage, Upload};
use crate::sms::SmsMessage;
use crate::webhook::WebhookPost;
use crate::window::WindowBook;
use crate::{attachments, control, personas, profile, send, signature, sms, SimError};

/// Locks a mutex, carrying on with the data if another thread panicked while holding it.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Receipts the simulated user's phone sends after each successful send.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AutoReceipts {
    /// Post a delivery event (watermark = the time it is posted, `mids` = the message) this long
    /// after the send.
    pub delivery: Option<Duration>,
    /// Post a read event (watermark = the time it is posted) this long after the send.
    pub read: Option<Duration>,
}

/// A page's token, as the simulator checks it.
#[derive(Debug)]
pub(crate) struct PageAuth {
    pub(crate) page_id: Arc<str>,
    /// The `appsecret_proof` expected with this token, when an app secret is configured.
    pub(crate) proof: Option<String>,
}

/// What the builder fixed; never changes while running.
pub(crate) struct Config {
    /// Token -> page.
    pub(crate) tokens: HashMap<String, PageAuth>,
    pub(crate) app_secret: Option<String>,
    pub(crate) webhook_url: Option<String>,
    pub(crate) auto_receipts: Option<AutoReceipts>,
    /// Post a message echo (`is_echo`, with the message's `metadata`) after each send.
    pub(crate) echoes: bool,
    pub(crate) record_requests: bool,
    /// Account SID -> auth token.
    pub(crate) sms_accounts: HashMap<String, String>,
    /// The tags the Send API accepts.
    pub(crate) accepted_tags: Vec<String>,
}

/// Everything the handlers share.
pub(crate) struct SimState {
    pub(crate) config: Config,
    nonce: String,
    next_id: AtomicU64,
    sent_count: AtomicU64,
    pub(crate) faults: FaultBook,
    pub(crate) window: WindowBook,
    requests: Mutex<Vec<RecordedRequest>>,
    sent: Mutex<Vec<SentMessage>>,
    /// Sender actions accepted (kept when recording is on).
    pub(crate) actions: Mutex<Vec<SentAction>>,
    /// Every page's personas.
    pub(crate) personas: PersonaBook,
    pub(crate) profiles: Mutex<HashMap<String, UserProfile>>,
    pub(crate) uploads: Mutex<Vec<Upload>>,
    /// Attachment ids Graph knows (uploads and reusable sends).
    pub(crate) attachment_ids: Mutex<HashSet<String>>,
    pub(crate) sms: Mutex<Vec<SmsMessage>>,
    pub(crate) webhook_posts: Mutex<Vec<WebhookPost>>,
    /// PSIDs whose phone never reports a delivery or read (auto receipts skip them): a customer
    /// who does not open Messenger.
    pub(crate) never_delivered: Mutex<HashSet<String>>,
    pub(crate) http: reqwest::Client,
}

impl SimState {
    /// A number unique within this simulator.
    pub(crate) fn next_id(&self) -> u64 {
        self.next_id.fetch_add(1, Ordering::Relaxed)
    }

    /// A fresh Graph message id.
    pub(crate) fn new_mid(&self) -> String {
        format!("m_{}{:010x}", self.nonce, self.next_id())
    }

    /// A fresh numeric id (attachment ids, like Graph's).
    pub(crate) fn new_numeric_id(&self) -> String {
        let base = u64::from_str_radix(&self.nonce[..8], 16).unwrap_or(1) % 9_000_000 + 1_000_000;
        format!("{base}{:09}", self.next_id())
    }

    /// A fresh `fbtrace_id`.
    pub(crate) fn fbtrace_id(&self) -> String {
        format!("A{}{:06x}", &self.nonce[..8], self.next_id())
    }

    /// 32 hex digits unique to this simulator and call (Twilio SIDs).
    pub(crate) fn new_hex32(&self) -> String {
        let n = self.next_id();
        let digest = signature::hmac_sha256(self.nonce.as_bytes(), &n.to_be_bytes());
        hex::encode(&digest[..16])
    }

    /// Keeps a request, if recording is on.
    pub(crate) fn record(&self, method: &Method, uri: &Uri, headers: &HeaderMap, body: &Bytes) {
        if !self.config.record_requests {
            return;
        }
        let recorded = RecordedRequest {
            method: method.as_str().to_owned(),
            path: uri.path().to_owned(),
            query: uri.query().map(str::to_owned),
            headers: headers
                .iter()
                .map(|(n, v)| {
                    (
                        n.as_str().to_ascii_lowercase(),
                        String::from_utf8_lossy(v.as_bytes()).into_owned(),
                    )
                })
                .collect(),
            body: body.clone(),
            timestamp: Timestamp::now(),
        };
        lock(&self.requests).push(recorded);
    }

    /// A copy of the accepted sends.
    pub(crate) fn sent_snapshot(&self) -> Vec<SentMessage> {
        lock(&self.sent).clone()
    }

    /// Keeps an accepted sender action, if recording is on.
    pub(crate) fn record_action(&self, make: impl FnOnce() -> SentAction) {
        if self.config.record_requests {
            let action = make();
            lock(&self.actions).push(action);
        }
    }

    /// Counts a sent message and keeps it, if recording is on.
    pub(crate) fn record_sent(&self, make: impl FnOnce() -> SentMessage) {
        self.sent_count.fetch_add(1, Ordering::Relaxed);
        if self.config.record_requests {
            let sent = make();
            lock(&self.sent).push(sent);
        }
    }
}

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
    webhook_url: Option<String>,
    auto_receipts: Option<AutoReceipts>,
    echoes: bool,
    sms_accounts: Vec<(String, String)>,
    bind: SocketAddr,
    record_requests: bool,
    accepted_tags: Vec<String>,
    enforce_window: bool,
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
            .finish()
    }
}

impl Default for GraphSimBuilder {
    fn default() -> Self {
        Self {
            pages: Vec::new(),
            app_secret: None,
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

    /// Binds the socket and starts serving on a tokio task.
    pub async fn start(self) -> Result<GraphSim, SimError> {
        let listener = tokio::net::TcpListener::bind(self.bind)
            .await
            .map_err(|source| SimError::Bind {
                addr: self.bind,
                source,
            })?;
        let addr = listener.local_addr().map_err(SimError::LocalAddr)?;
        let state = Arc::new(self.into_state(addr)?);
        let app = router(state.clone());
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            use axum::serve::ListenerExt;
            let listener = listener.tap_io(|tcp| {
                // Small request/response pairs: never wait for Nagle.
                let _ = tcp.set_nodelay(true);
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
        tracing::info!(%addr, "graph-sim listening");
        Ok(GraphSim {
            state,
            addr,
            base_url: format!("http://{addr}"),
            shutdown: Some(tx),
            task: Some(task),
        })
    }

    fn into_state(self, addr: SocketAddr) -> Result<SimState, SimError> {
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
                    },
                )
            })
            .collect();
        let started = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos();
        let nonce_src = format!("{started}:{addr}:{}", std::process::id());
        let nonce = hex::encode(&signature::hmac_sha256(b"graph-sim", nonce_src.as_bytes())[..6]);
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .user_agent("facebookexternalua")
            .build()
            .map_err(SimError::HttpClient)?;
        Ok(SimState {
            config: Config {
                tokens,
                app_secret: self.app_secret,
                webhook_url: self.webhook_url,
                auto_receipts: self.auto_receipts,
                echoes: self.echoes,
                record_requests: self.record_requests,
                sms_accounts: self.sms_accounts.into_iter().collect(),
                accepted_tags: self.accepted_tags,
            },
            nonce,
            next_id: AtomicU64::new(1),
            sent_count: AtomicU64::new(0),
            faults: FaultBook::default(),
            window: WindowBook::new(self.enforce_window),
            requests: Mutex::new(Vec::new()),
            sent: Mutex::new(Vec::new()),
            actions: Mutex::new(Vec::new()),
            personas: PersonaBook::default(),
            profiles: Mutex::new(HashMap::new()),
            uploads: Mutex::new(Vec::new()),
            attachment_ids: Mutex::new(HashSet::new()),
            sms: Mutex::new(Vec::new()),
            webhook_posts: Mutex::new(Vec::new()),
            never_delivered: Mutex::new(HashSet::new()),
            http,
        })
    }
}

/// The routes: Graph's Send API, attachment upload and node reads, Twilio's Messages API, and
/// the simulator's own control API (`/_sim/...`).
fn router(state: Arc<SimState>) -> Router {
    Router::new()
        .route("/{version}/{node}/messages", post(send::send))
        .route(
            "/{version}/{node}/message_attachments",
            post(attachments::upload).layer(DefaultBodyLimit::disable()),
        )
        .route(
            "/{version}/{node}/personas",
            post(personas::create).get(personas::list),
        )
        .route(
            "/{version}/{node}",
            get(profile::get_node).delete(personas::delete),
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
        .fallback(send::fallback)
        .with_state(state)
}

/// A running simulator. Dropping it stops the server; [`GraphSim::shutdown`] also waits for it.
pub struct GraphSim {
    pub(crate) state: Arc<SimState>,
    addr: SocketAddr,
    base_url: String,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for GraphSim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GraphSim")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl GraphSim {
    /// A builder with no pages, no app secret, no webhook URL, listening on a free port.
    pub fn builder() -> GraphSimBuilder {
        GraphSimBuilder::default()
    }

    /// `http://127.0.0.1:PORT`: point the Graph client (and the SMS client) here.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Every request received so far (empty when recording is off).
    pub fn requests(&self) -> Vec<RecordedRequest> {
        lock(&self.state.requests).clone()
    }

    /// Every message the Send API accepted, in order (empty when recording is off).
    pub fn sent_messages(&self) -> Vec<SentMessage> {
        self.state.sent_snapshot()
    }

    /// How many messages the Send API accepted (counted even when recording is off).
    pub fn sent_count(&self) -> u64 {
        self.state.sent_count.load(Ordering::Relaxed)
    }

    /// Adds a fault rule (after the existing ones).
    pub fn fault(&self, rule: FaultRule) {
        self.state.faults.add(rule);
    }

    /// Sends these usage headers (`X-App-Usage`, `X-Page-Usage`, `X-Business-Use-Case-Usage`)
    /// with every successful Graph answer, as Graph does when an app nears its limits; `None`
    /// stops them. Rate-limit faults still carry their own.
    pub fn set_usage_headers(&self, usage: Option<UsageHeaders>) {
        self.state.faults.set_usage(usage);
    }

    /// The user `psid` never opens Messenger: auto receipts ([`AutoReceipts`]) post no delivery
    /// and no read for sends to them (echoes still come; `post_delivery` still works).
    pub fn never_deliver_to(&self, psid: impl Into<String>) {
        lock(&self.state.never_delivered).insert(psid.into());
    }

    /// Undoes [`GraphSim::never_deliver_to`]: later sends to `psid` get auto receipts again.
    pub fn deliver_to(&self, psid: &str) {
        lock(&self.state.never_delivered).remove(psid);
    }

    /// Removes every fault rule.
    pub fn clear_faults(&self) {
        self.state.faults.clear();
    }

    /// Sets what `GET /{psid}` answers for `psid`.
    pub fn set_user_profile(&self, psid: impl Into<String>, profile: UserProfile) {
        lock(&self.state.profiles).insert(psid.into(), profile);
    }

    /// Sets when `psid` last wrote to `page_id` (milliseconds since the epoch), for the window
    /// check of [`GraphSimBuilder::enforce_window`]; may move it backwards.
    pub fn set_last_inbound(&self, page_id: &str, psid: &str, at_millis: i64) {
        self.state.window.set_inbound(page_id, psid, at_millis);
    }

    /// Every sender action the Send API accepted, in order (empty when recording is off).
    pub fn sender_actions(&self) -> Vec<SentAction> {
        lock(&self.state.actions).clone()
    }

    /// The personas of `page_id`, in the order they were created.
    pub fn personas(&self, page_id: &str) -> Vec<Persona> {
        self.state.personas.of_page(page_id)
    }

    /// Every attachment uploaded so far.
    pub fn uploads(&self) -> Vec<Upload> {
        lock(&self.state.uploads).clone()
    }

    /// Every SMS the Twilio API accepted.
    pub fn sms_messages(&self) -> Vec<SmsMessage> {
        lock(&self.state.sms).clone()
    }

    /// Every webhook post made so far (by the `post_*` methods and auto receipts), with the
    /// receiver's answer (empty when recording is off).
    pub fn webhook_posts(&self) -> Vec<WebhookPost> {
        lock(&self.state.webhook_posts).clone()
    }

    /// Forgets recorded requests, sent messages and actions, uploads, SMS and webhook posts (the
    /// counter in [`GraphSim::sent_count`] too). Faults, profiles and personas stay.
    pub fn reset_records(&self) {
        lock(&self.state.requests).clear();
        lock(&self.state.sent).clear();
        lock(&self.state.actions).clear();
        lock(&self.state.uploads).clear();
        lock(&self.state.sms).clear();
        lock(&self.state.webhook_posts).clear();
        self.state.sent_count.store(0, Ordering::Relaxed);
    }

    /// The PSID the simulator answers for a phone-number recipient of `page_id` (customer
    /// matching). Stable across runs.
    pub fn psid_for_phone(page_id: &str, phone_number: &str) -> String {
        send::synthetic_psid(page_id, "phone", &send::normalize_phone(phone_number))
    }

    /// Stops accepting connections and waits (at most 5 s) for open requests to finish.
    pub async fn shutdown(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            let abort = task.abort_handle();
            if tokio::time::timeout(Duration::from_secs(5), task)
                .await
                .is_err()
            {
                abort.abort();
            }
        }
    }
}
