//! The gateway's configuration: one TOML file plus environment overrides
//! (`MESSENGER__DATABASE__URL` style), checked as a whole before anything starts.
//!
//! A bad configuration stops start-up with every problem listed, each naming its key
//! (`spaces[1].page_id: missing`, `spaces[0].webhook.batch_size: 900 is over 500`). Secrets are
//! [`Secret`]s: they never show in `Debug` output or logs. `docs/configuration.md` documents
//! every setting.
//!
//! ```
//! use messenger_gateway::config::Config;
//! let toml = r#"
//!     [facebook]
//!     app_secret = "0123456789abcdef0123456789abcdef"
//!     verify_token = "a verify token of 16 or more"
//!     token_key = "a key of at least thirty-two bytes, shared by instances"
//!
//!     [[spaces]]
//!     id = "acme"
//!     page_id = "1234567890"
//!     page_token = "EAAB-page-token"
//!     keys = ["acme-key-0123456789abcdef"]
//! "#;
//! let config = Config::from_toml_str(toml, std::iter::empty()).unwrap();
//! assert_eq!(config.spaces[0].id, "acme");
//! assert!(!format!("{config:?}").contains("EAAB-page-token"));
//!
//! let err = Config::from_toml_str("[[spaces]]\nid = \"x\"", std::iter::empty()).unwrap_err();
//! assert!(err.to_string().contains("spaces[0].page_id: missing"));
//! ```

mod backend;
mod check;
mod env;
mod raw;
mod retention;
mod secret;

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use messenger_model::EventName;

pub(crate) use backend::check_backend;
pub use env::ENV_PREFIX;
pub use retention::{RetentionConfig, SpaceRetention};
pub use secret::{DatabaseUrl, KeyDigest, Secret};

/// The database used when none is configured: a SQLite file under `./data` (created).
pub const DEFAULT_DATABASE_URL: &str = "sqlite://./data/messenger.db?mode=rwc";

/// A space's default `max_backlog_secs`: an hour of its page's send rate (900,000 messages at
/// 250 a second), room for a campaign, never an unbounded queue (decision 0017).
pub const DEFAULT_MAX_BACKLOG_SECS: u64 = 3_600;

/// Whether `key` may be an API or admin key: at least 16 visible ASCII characters (no spaces).
/// Keys given as digests (`keys_sha256`) should be made from such keys too
/// (`messenger-gateway hash-key` refuses others).
///
/// ```
/// use messenger_gateway::config::key_is_acceptable;
/// assert!(key_is_acceptable("acme-key-0123456789abcdef"));
/// assert!(!key_is_acceptable("short"));
/// assert!(!key_is_acceptable("a key with spaces in it"));
/// ```
pub fn key_is_acceptable(key: &str) -> bool {
    key.len() >= check::MIN_API_KEY_CHARS && key.bytes().all(|b| b.is_ascii_graphic())
}

/// A checked configuration.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Config {
    /// `[server]`: where to listen, body limits, shutdown.
    pub server: ServerConfig,
    /// `[database]`: the store.
    pub database: DatabaseConfig,
    /// `[facebook]`: the Facebook app and Graph.
    pub facebook: FacebookConfig,
    /// `[dispatch]`: the sending workers.
    pub dispatch: DispatchConfig,
    /// `[[spaces]]`: the API spaces (at least one).
    pub spaces: Vec<SpaceConfig>,
    /// `[retention]`: how long what grows with traffic is kept.
    pub retention: RetentionConfig,
}

/// `[server]`.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ServerConfig {
    /// The address to listen on (default `0.0.0.0:8080`).
    pub listen: SocketAddr,
    /// A second address for the operations routes (`/healthz`, `/readyz`, `/metrics`,
    /// `/openapi.json`, and admin routes). When set, `/metrics` is served there only, not on
    /// `listen`. Default: none (everything on `listen`).
    pub ops_listen: Option<SocketAddr>,
    /// Keys of the operations routes that change or reveal data ([`crate::http::admin`]).
    /// Empty (the default) closes those routes.
    pub admin_keys: Vec<Secret>,
    /// The SHA-256 digests of more admin keys, so the file need not hold the keys.
    pub admin_keys_sha256: Vec<KeyDigest>,
    /// Body size limits per kind of route.
    pub limits: BodyLimits,
    /// Keys that may read `/metrics` on the main listener (besides the admin keys), when there
    /// is no `ops_listen`. Without `ops_listen`, `/metrics` needs one of these or an admin key.
    pub metrics_keys: Vec<Secret>,
    /// API requests served at once, all spaces together (the console and admin routes
    /// included; Meta's webhook and the probes not: the webhook has its own reading places,
    /// [`BodyLimits::webhook_concurrent_reads`]); past it, 503 with `Retry-After`
    /// (default 1024).
    pub max_in_flight: usize,
    /// API requests of one space served at once; past it, that space gets 503 with
    /// `Retry-After` while the others are served (default 256).
    pub space_max_in_flight: usize,
    /// Connections: timers, caps, who counts as a proxy.
    pub connections: ConnectionLimits,
    /// How long shutdown waits for requests and workers (default 30 s).
    pub shutdown_grace: Duration,
    /// This instance's name in lease holders and logs, when configured. Without one the gateway
    /// finds its own when it starts (decision 0018): on SQLite a random one (the process owns
    /// the file, so every lease in it is its own), on PostgreSQL a stable one kept in
    /// [`ServerConfig::state_dir`].
    pub instance_id: Option<String>,
    /// Where the gateway keeps its own state (on PostgreSQL without `instance_id`: its stable
    /// instance id; default `./data`, beside the default SQLite database).
    pub state_dir: std::path::PathBuf,
}

/// How the listener treats connections before, between and beside requests (docs/operations.md,
/// "Exposure").
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ConnectionLimits {
    /// How long a client may take to send a request's headers, from its first byte (or from
    /// the connection's start, for its first request); past it the connection is closed
    /// (default 10 s).
    pub header_read_timeout: Duration,
    /// How long a kept-alive connection may wait for its next request, or an HTTP/2
    /// connection stay without a stream; past it the connection is closed (default 60 s).
    pub idle_timeout: Duration,
    /// HTTP/2: how often the gateway pings a connection; one that does not answer within the
    /// same time is closed (default 20 s).
    pub http2_keep_alive_interval: Duration,
    /// HTTP/2: streams one connection may have open at once (default 100).
    pub http2_max_concurrent_streams: u32,
    /// Connections open at once; past it, new ones get a 503 and are closed while those open
    /// are served (default 4096; lowered to what the open-file limit allows).
    pub max_connections: usize,
    /// Connections open at once from one client address (default 256; never more than a
    /// quarter of `max_connections`). Connections from a trusted proxy are not counted per
    /// address: the proxy speaks for many clients.
    pub max_connections_per_client: usize,
    /// Networks of the proxies in front of the gateway: a request from one of them is
    /// attributed to the address its `X-Forwarded-For` names (default: none, the peer is the
    /// client).
    pub trusted_proxies: Vec<ipnet::IpNet>,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        Self {
            header_read_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            http2_keep_alive_interval: Duration::from_secs(20),
            http2_max_concurrent_streams: 100,
            max_connections: 4096,
            max_connections_per_client: 256,
            trusted_proxies: Vec::new(),
        }
    }
}

/// Largest request bodies, in bytes (a larger body gets 413), and how Meta's webhook bodies are
/// read before their signature is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct BodyLimits {
    /// `POST .../messages` (default 1 MiB).
    pub message: usize,
    /// `POST .../messages/batch` (default 10 MiB).
    pub batch: usize,
    /// Profiles, the Facebook state service and other small JSON bodies (default 64 KiB).
    pub profile: usize,
    /// `POST /webhooks/facebook` (default 1 MiB).
    pub webhook: usize,
    /// How long a webhook body may take to arrive, in total, before 408 (default 10 s).
    pub webhook_read_timeout: Duration,
    /// How many webhook bodies may be read (unverified) at once; past it, 503 at once
    /// (default 64). A read takes its place when the body's first byte arrives.
    pub webhook_concurrent_reads: usize,
    /// How many of those one client address may hold (default 8), so no address can take
    /// every place.
    pub webhook_reads_per_client: usize,
    /// How long a webhook body's first byte may take after the headers, before 408; the wait
    /// holds no reading place (default 2 s).
    pub webhook_first_byte_timeout: Duration,
    /// How many large batch bodies (over 1 MiB, or of unknown length) are handled at once
    /// (read, parsed, stored); others wait up to 30 s unread, then 503 with `Retry-After: 1`
    /// (default 2).
    /// Bounds the memory a flood of large batches can take.
    pub large_batches: usize,
    /// How many of those one space may have at once (default 1).
    pub space_large_batches: usize,
}

impl Default for BodyLimits {
    fn default() -> Self {
        Self {
            message: 1024 * 1024,
            batch: 10 * 1024 * 1024,
            profile: 64 * 1024,
            webhook: 1024 * 1024,
            webhook_read_timeout: Duration::from_secs(10),
            webhook_concurrent_reads: 64,
            webhook_reads_per_client: 8,
            webhook_first_byte_timeout: Duration::from_secs(2),
            large_batches: 2,
            space_large_batches: 1,
        }
    }
}

/// `[database]`.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct DatabaseConfig {
    /// `sqlite://...`, `postgres://...`, or `memory://` (not durable: for trying things out).
    pub url: DatabaseUrl,
    /// PostgreSQL: the schema to use (created if missing), so several deployments can share a
    /// database.
    pub schema: Option<String>,
    /// Connections in the pool (PostgreSQL; SQLite's readers). Default 4.
    pub max_connections: u32,
}

/// `[facebook]`.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct FacebookConfig {
    /// The app secret: checks `X-Hub-Signature-256` and signs `appsecret_proof`.
    pub app_secret: Secret,
    /// The token Meta echoes in the webhook verification handshake.
    pub verify_token: Secret,
    /// Where Graph is (default `https://graph.facebook.com`).
    pub graph_base_url: String,
    /// The Graph version (default: messenger-graph's current one).
    pub graph_version: String,
    /// Speak HTTP/2 to Graph from the first byte (`graph_http2_prior_knowledge`, default
    /// false): for a plaintext `http://` Graph that serves HTTP/2, such as graph-sim. Over
    /// `https`, Graph negotiates HTTP/2 by itself and every send is a stream on one connection.
    pub graph_http2_prior_knowledge: bool,
    /// Connections to Graph that sends spread over (`graph_connections`, 1 to 64; default
    /// [`messenger_graph::DEFAULT_CONNECTIONS`], 8): over HTTP/2 each carries at most the
    /// streams Graph allows at once, so this bounds sends a second at Graph's latency.
    pub graph_connections: usize,
    /// The key opt-in (`data-ref`) tokens are signed with; every instance needs the same one.
    pub token_key: Secret,
    /// How long an opt-in token is valid (default 30 days).
    pub token_ttl: Duration,
    /// The app's id (`app_id`, digits), for Graph's `debug_token`: with it the token checks
    /// report each page token's expiry and permissions; without it they only check that the
    /// token works (`GET /me`).
    pub app_id: Option<String>,
    /// How often each page's token is checked (`token_check_secs`, 1 to 86,400; default 3600);
    /// a page waiting for new credentials is checked every `min(this, 60 s)`.
    pub token_check: Duration,
    /// The Instagram app's secret (`instagram_app_secret`, 32 hex digits), for spaces that
    /// connect Instagram accounts with Instagram Login: it checks the signatures of their
    /// webhooks and signs their `appsecret_proof`. Required when any account uses that login.
    pub instagram_app_secret: Option<Secret>,
    /// Where Instagram Login's Graph is (`instagram_graph_base_url`, default
    /// `https://graph.instagram.com`).
    pub instagram_graph_base_url: String,
    /// How old an Instagram Login token gets before it is refreshed
    /// (`instagram_refresh_after_days`, 1 to 50; default 30): Meta refreshes a token once it
    /// is a day old, and it expires at 60 days.
    pub instagram_refresh_after: Duration,
}

/// `[dispatch]`.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct DispatchConfig {
    /// Sending workers in this instance (default 4: each keeps up to eight rounds under way,
    /// enough for 10 busy pages at 250 sends a second with Meta answering in 200 ms; see
    /// docs/performance.md).
    pub workers: usize,
    /// Messages one worker leases per round (default 64).
    pub batch_size: usize,
    /// How long an idle worker sleeps before looking again (default 500 ms); accepted messages
    /// wake a worker at once.
    pub poll_interval: Duration,
    /// How long a worker holds a leased message (default 60 s).
    pub lease: Duration,
    /// How often expired leases are recovered and old records purged (default 30 s).
    pub recover_interval: Duration,
    /// Attempts per message before it fails (default 10).
    pub max_attempts: u32,
    /// The delay before the first retry; it doubles per attempt (default 1 s).
    pub retry_initial: Duration,
    /// The longest delay between retries (default 5 min).
    pub retry_max: Duration,
    /// Above this Graph usage percentage, workers pause (default 90).
    pub usage_pause_percent: u32,
}

/// `[[spaces]]`: one API space.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct SpaceConfig {
    /// The space id (the `{space}` of the HTTP paths).
    pub id: String,
    /// The Facebook page it sends from.
    pub page_id: String,
    /// The page access token.
    pub page_token: Secret,
    /// The API keys (`Authorization: Bearer <key>`).
    pub keys: Vec<Secret>,
    /// The SHA-256 digests of more API keys (`keys_sha256`), so the file need not hold the
    /// keys; `keys` and `keys_sha256` together hold at least one.
    pub keys_sha256: Vec<KeyDigest>,
    /// Whether Messenger may address by phone number (default false).
    pub customer_matching: bool,
    /// Whether the 24-hour window is checked before sending (default true).
    pub window_check: bool,
    /// Once the page's Messenger sending has failed (throttled, its token, Meta down) for this
    /// long, messages use their next rule (`fallback_on_outage_secs`; unset: they wait).
    pub fallback_on_outage: Option<Duration>,
    /// Requests per second the space's keys may make (`api_rate`; each message of a batch
    /// counts); unset: not limited.
    pub api_rate: Option<u32>,
    /// How many requests may come at once before the rate applies (`api_burst`; default: the
    /// rate).
    pub api_burst: Option<u32>,
    /// Graph sends a second the page may make for text, templates, images and files, across
    /// every instance sharing the database (`send_rate`; default
    /// [`messenger_graph::rates::DEFAULT_SEND_RATE`], 250).
    pub send_rate: u32,
    /// Graph sends a second the page may make for audio and video (`media_send_rate`; default
    /// [`messenger_graph::rates::DEFAULT_MEDIA_SEND_RATE`], 8).
    pub media_send_rate: u32,
    /// How far behind the space's sending may fall, in seconds of its page's `send_rate`
    /// (`max_backlog_secs`, 1 to 86,400; default [`DEFAULT_MAX_BACKLOG_SECS`], an hour): a send
    /// that would leave more unsent messages than that is refused with 429 and a `Retry-After`
    /// saying when there will be room (decision 0017).
    pub max_backlog: Duration,
    /// How long the space's messages, their content, idempotency keys and dead events are kept
    /// (`[spaces.retention]`, each key defaulting to `[retention]`'s).
    pub retention: SpaceRetention,
    /// The business's webhook, if events are forwarded.
    pub webhook: Option<WebhookConfig>,
    /// The SMS provider, if the space has the SMS channel.
    pub sms: Option<SmsConfig>,
    /// The Instagram professional accounts the space sends from (`[[spaces.instagram]]`).
    pub instagram: Vec<InstagramAccountConfig>,
}

/// `[[spaces.instagram]]`: an Instagram professional account of a space.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct InstagramAccountConfig {
    /// The account's id as Instagram webhooks carry it (`account_id`: the `user_id` of
    /// Instagram Login's `/me`, not its app-scoped `id`).
    pub account_id: String,
    /// How it is connected (`login = "facebook"`, the default: through the space's page and
    /// its token; `"instagram"`: Instagram Login, with `token`).
    pub login: messenger::InstagramLogin,
    /// Instagram Login's user token (`token`); `None` with the Facebook login.
    pub token: Option<Secret>,
    /// Graph sends a second for text, templates, images and files (`send_rate`; default 250,
    /// below Meta's 300 per account).
    pub send_rate: u32,
    /// Graph sends a second for audio and video (`media_send_rate`; default 8, below Meta's 10).
    pub media_send_rate: u32,
    /// Private replies to comments an hour (`private_replies_per_hour`, 1 to 750; default
    /// 625, below Meta's 750).
    pub private_replies_per_hour: u32,
}

/// `[spaces.webhook]`: where a space's events go.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct WebhookConfig {
    /// The business's URL (http or https).
    pub url: String,
    /// Signs each delivery (`X-Comapi-Signature`, `X-Webhook-Signature`).
    pub secret: Secret,
    /// The events forwarded (default: all).
    pub subscriptions: Vec<EventName>,
    /// Events per delivery, 1 to 500 (default 1: each POST is one envelope object; with more,
    /// a JSON array).
    pub batch_size: usize,
    /// How long events may wait to fill a batch, at most 60 s (default 0: never wait).
    pub batch_window: Duration,
    /// The delays before each retry of a failed delivery; then the event is dead (default:
    /// docs/design.md §7's 5 s, 5 s, 30 s, ... 4 h x5).
    pub retry_schedule: Vec<Duration>,
    /// Each delivery's timeout, 1 to 60 s (default 10 s).
    pub timeout: Duration,
    /// The most deliveries (POSTs) to this webhook at once per instance, 1 to 256 (default
    /// 128; the forwarder starts at 8 and grows toward it while events wait); a slow or hanging
    /// webhook holds only these, never another space's.
    pub max_in_flight: usize,
}

/// `[spaces.sms]`: the SMS provider.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct SmsConfig {
    /// The provider's API (only `twilio`, or any service speaking its Messages API).
    pub provider: SmsProviderKind,
    /// Its base URL (default `https://api.twilio.com`).
    pub base_url: String,
    /// The account SID.
    pub account_sid: String,
    /// The account's auth token.
    pub auth_token: Secret,
    /// The default sender, if any.
    pub from: Option<String>,
}

/// SMS provider APIs the gateway speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SmsProviderKind {
    /// Twilio's Messages API.
    Twilio,
}

/// One problem in a configuration: the key (`spaces[1].page_id`, or an environment variable)
/// and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigIssue {
    /// Where: the dotted key, with `[i]` for list items.
    pub key: String,
    /// What is wrong, never echoing a secret.
    pub problem: String,
}

impl ConfigIssue {
    pub(crate) fn new(key: impl Into<String>, problem: impl Into<String>) -> Self {
        Self {
            key: key.into(),
            problem: problem.into(),
        }
    }
}

impl fmt::Display for ConfigIssue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.key, self.problem)
    }
}

/// Why a configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read the configuration file {}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The file is not valid TOML, or has a key the gateway does not know.
    #[error("the configuration is not valid TOML: {message}")]
    Syntax {
        /// The TOML parser's message (line, column, the key).
        message: String,
    },
    /// Values are missing or wrong: each issue names its key.
    #[error("the configuration is invalid:\n{}", issues.iter().map(|i| format!("  {i}")).collect::<Vec<_>>().join("\n"))]
    Invalid {
        /// Every problem found.
        issues: Vec<ConfigIssue>,
    },
}

impl ConfigError {
    /// The issues of an [`ConfigError::Invalid`] (empty for the other kinds).
    pub fn issues(&self) -> &[ConfigIssue] {
        match self {
            Self::Invalid { issues } => issues,
            _ => &[],
        }
    }
}

impl Config {
    /// Reads `path`, applies the process's `MESSENGER__*` environment variables, and checks the
    /// result.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::from_toml_str(&text, std::env::vars())
    }

    /// Parses TOML text, applies the `MESSENGER__*` variables among `env`, and checks the
    /// result.
    pub fn from_toml_str<I>(text: &str, env: I) -> Result<Self, ConfigError>
    where
        I: IntoIterator<Item = (String, String)>,
    {
        let mut raw: raw::RawConfig = toml::from_str(text).map_err(|e| ConfigError::Syntax {
            message: syntax_message(text, &e),
        })?;
        let mut issues = env::apply_env(&mut raw, env);
        let checked = check::check(raw, &mut issues);
        match checked {
            Some(config) if issues.is_empty() => Ok(config),
            _ => Err(ConfigError::Invalid { issues }),
        }
    }

    /// The space `id`.
    pub fn space(&self, id: &str) -> Option<&SpaceConfig> {
        self.spaces.iter().find(|s| s.id == id)
    }
}

/// The TOML error's message with its line and column, without the source excerpt the parser
/// adds (the offending line may hold a secret).
fn syntax_message(text: &str, e: &toml::de::Error) -> String {
    let message = e.message().trim_end();
    match e.span() {
        Some(span) => {
            let before = &text.as_bytes()[..span.start.min(text.len())];
            let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
            let column = before.iter().rev().take_while(|&&b| b != b'\n').count() + 1;
            format!("line {line}, column {column}: {message}")
        }
        None => message.to_owned(),
    }
}
