//! A running simulator ([`GraphSim`]): its address, what it recorded, and the knobs a test turns
//! while it runs (faults, profiles, the window, receipts). Meta-side posts are in
//! [`crate::webhook`].

use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use messenger_model::graph::Persona;
use messenger_model::UserProfile;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

mod instagram;
mod webhook;

use crate::faults::{FaultRule, UsageHeaders};
use crate::records::{RecordedRequest, SentAction, SentMessage, SmsMessage, Upload, WebhookPost};
use crate::state::SimState;
use crate::sync::lock;

/// A running simulator. Dropping it stops the server(s); [`GraphSim::shutdown`] also waits for
/// them.
pub struct GraphSim {
    pub(crate) state: Arc<SimState>,
    addr: SocketAddr,
    base_url: String,
    instagram_url: Option<String>,
    servers: Vec<Server>,
}

/// One listener's server task and what stops it.
pub(crate) struct Server {
    pub(crate) shutdown: oneshot::Sender<()>,
    pub(crate) task: JoinHandle<()>,
}

impl std::fmt::Debug for GraphSim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GraphSim")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl GraphSim {
    /// The handle of a simulator serving `state` at `addr` (and the Instagram host at
    /// `instagram`) on `servers`.
    pub(crate) fn new(
        state: Arc<SimState>,
        addr: SocketAddr,
        instagram: Option<SocketAddr>,
        servers: Vec<Server>,
    ) -> Self {
        Self {
            state,
            addr,
            base_url: format!("http://{addr}"),
            instagram_url: instagram.map(|a| format!("http://{a}")),
            servers,
        }
    }

    /// `http://127.0.0.1:PORT` of the listener playing `graph.instagram.com`, when the builder
    /// asked for it ([`GraphSimBuilder::instagram_host`](crate::GraphSimBuilder::instagram_host)).
    pub fn instagram_url(&self) -> Option<&str> {
        self.instagram_url.as_deref()
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

    /// Every Messenger message the Send API accepted, in order (empty when recording is off);
    /// Instagram's are in [`GraphSim::instagram_sent`].
    pub fn sent_messages(&self) -> Vec<SentMessage> {
        self.state.sent_snapshot()
    }

    /// How many messages the Send API accepted, Messenger's and Instagram's (counted even when
    /// recording is off).
    pub fn sent_count(&self) -> u64 {
        self.state.sent_count.load(Ordering::Relaxed)
    }

    /// Connections accepted since the start: with HTTP/1.1, one for each request a client had
    /// under way at once; with HTTP/2 (the sim serves both, and h2c by prior knowledge), a
    /// client can keep all of them on one.
    pub fn connections_accepted(&self) -> u64 {
        self.state.connections.accepted_count()
    }

    /// The most requests the sim was answering at once since the start (every route).
    pub fn max_requests_in_flight(&self) -> u64 {
        self.state.connections.max_in_flight()
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

    /// The user `psid` never opens Messenger: auto receipts ([`AutoReceipts`](crate::AutoReceipts)) post no delivery
    /// and no read for sends to them (echoes still come; `post_delivery` still works).
    pub fn never_deliver_to(&self, psid: impl Into<String>) {
        lock(&self.state.never_delivered).insert(psid.into());
    }

    /// Undoes [`GraphSim::never_deliver_to`]: later sends to `psid` get auto receipts again.
    pub fn deliver_to(&self, psid: &str) {
        lock(&self.state.never_delivered).remove(psid);
    }

    /// Revokes `token`: every Graph call made with it answers error 190 with `subcode` (458
    /// app removed, 459 checkpoint, 460 password changed, 463 expired, 464 unconfirmed, 467
    /// invalid, 492 no role on the page; `None`: no subcode), and `debug_token` says it is not
    /// valid, why. Returns whether the token is known.
    pub fn revoke_token(&self, token: &str, subcode: Option<i64>) -> bool {
        self.token_state(token).map(|t| t.revoke(subcode)).is_some()
    }

    /// Makes a revoked `token` work again (the user passed the checkpoint, say).
    pub fn restore_token(&self, token: &str) -> bool {
        self.token_state(token).map(|t| t.restore()).is_some()
    }

    /// Sets when `token` expires, in seconds since the epoch (`0`: never, the default), as
    /// `debug_token` reports it.
    pub fn set_token_expiry(&self, token: &str, expires_at_secs: i64) -> bool {
        self.token_state(token)
            .map(|t| t.set_expires_at(expires_at_secs))
            .is_some()
    }

    /// Sets `token`'s permissions, as `debug_token` reports them (default
    /// [`crate::connection::DEFAULT_SCOPES`]).
    pub fn set_token_scopes<I, S>(&self, token: &str, scopes: I) -> bool
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let scopes = scopes.into_iter().map(Into::into).collect();
        self.token_state(token)
            .map(|t| t.set_scopes(scopes))
            .is_some()
    }

    /// The webhook fields the app is subscribed to for `page_id` (none until it subscribes).
    pub fn subscribed_fields(&self, page_id: &str) -> Vec<String> {
        self.state.subscriptions.of(page_id)
    }

    /// Sets the webhook fields the app is subscribed to for `page_id`, as if it had subscribed.
    pub fn set_subscribed_fields<I, S>(&self, page_id: &str, fields: I)
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let fields = fields.into_iter().map(Into::into).collect();
        self.state.subscriptions.set(page_id, fields);
    }

    fn token_state(&self, token: &str) -> Option<&crate::connection::TokenState> {
        self.state.config.tokens.get(token).map(|p| &p.state)
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
    /// check of [`GraphSimBuilder::enforce_window`](crate::GraphSimBuilder::enforce_window); may move it backwards.
    /// For Instagram, pass the account id and the IGSID
    /// ([`GraphSimBuilder::instagram_window`](crate::GraphSimBuilder::instagram_window)).
    pub fn set_last_inbound(&self, page_id: &str, psid: &str, at_millis: i64) {
        self.state.window.set_inbound(page_id, psid, at_millis);
    }

    /// Makes `app_id` the owner of `psid`'s conversation with `page_id` (`None`: idle), as if
    /// that app had taken it: the simulated app's sends to it are then refused with 10/2018300.
    pub fn set_thread_owner(&self, page_id: &str, psid: &str, app_id: Option<&str>) {
        self.state
            .threads
            .set(page_id, psid, app_id.map(str::to_owned));
    }

    /// The app that owns `psid`'s conversation with `page_id`, if any.
    pub fn thread_owner(&self, page_id: &str, psid: &str) -> Option<String> {
        self.state.threads.owner(page_id, psid)
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
        lock(&self.state.instagram_sent).clear();
        lock(&self.state.instagram_actions).clear();
        self.state.sent_count.store(0, Ordering::Relaxed);
    }

    /// Stops accepting connections and waits (at most 5 s) for open requests to finish.
    pub async fn shutdown(mut self) {
        let servers = std::mem::take(&mut self.servers);
        let mut tasks = Vec::with_capacity(servers.len());
        for server in servers {
            let _ = server.shutdown.send(());
            tasks.push(server.task);
        }
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        for task in tasks {
            let abort = task.abort_handle();
            if tokio::time::timeout_at(deadline, task).await.is_err() {
                abort.abort();
            }
        }
    }
}

impl GraphSim {
    /// The PSID the simulator answers for a phone-number recipient of `page_id` (customer
    /// matching). Stable across runs.
    pub fn psid_for_phone(page_id: &str, phone_number: &str) -> String {
        crate::send::synthetic_psid(
            page_id,
            "phone",
            &crate::send::normalize_phone(phone_number),
        )
    }
}
