//! The configuration as written: every field optional, so the file and the environment can each
//! supply part of it. [`super::check`] turns it into a [`super::Config`] or names what is wrong.

use serde::Deserialize;

/// The whole file.
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawConfig {
    #[serde(default)]
    pub server: RawServer,
    #[serde(default)]
    pub database: RawDatabase,
    #[serde(default)]
    pub facebook: RawFacebook,
    #[serde(default)]
    pub dispatch: RawDispatch,
    #[serde(default)]
    pub retention: RawRetention,
    #[serde(default)]
    pub spaces: Vec<RawSpace>,
}

/// `[retention]`, and a space's `[spaces.retention]` (which takes only the per-space keys).
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRetention {
    pub message_content_days: Option<u64>,
    pub messages_days: Option<u64>,
    pub idempotency_keys_days: Option<u64>,
    pub dead_letters_days: Option<u64>,
    pub quarantine_days: Option<u64>,
    pub delivered_events_days: Option<u64>,
    pub batch_size: Option<u64>,
}

/// `[server]`.
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawServer {
    pub listen: Option<String>,
    pub ops_listen: Option<String>,
    pub admin_keys: Option<Vec<String>>,
    pub admin_keys_sha256: Option<Vec<String>>,
    pub message_body_limit: Option<u64>,
    pub batch_body_limit: Option<u64>,
    pub profile_body_limit: Option<u64>,
    pub webhook_body_limit: Option<u64>,
    pub webhook_read_timeout_secs: Option<u64>,
    pub webhook_concurrent_reads: Option<u64>,
    pub webhook_reads_per_client: Option<u64>,
    pub webhook_first_byte_timeout_ms: Option<u64>,
    pub large_batches: Option<u64>,
    pub space_large_batches: Option<u64>,
    pub max_in_flight: Option<u64>,
    pub space_max_in_flight: Option<u64>,
    pub metrics_keys: Option<Vec<String>>,
    pub header_read_timeout_secs: Option<u64>,
    pub idle_timeout_secs: Option<u64>,
    pub http2_keep_alive_interval_secs: Option<u64>,
    pub http2_max_concurrent_streams: Option<u64>,
    pub max_connections: Option<u64>,
    pub max_connections_per_client: Option<u64>,
    pub trusted_proxies: Option<Vec<String>>,
    pub shutdown_grace_secs: Option<u64>,
    pub instance_id: Option<String>,
    pub state_dir: Option<String>,
}

/// `[database]`.
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawDatabase {
    pub url: Option<String>,
    pub schema: Option<String>,
    pub max_connections: Option<u64>,
}

/// `[facebook]`.
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawFacebook {
    pub app_secret: Option<String>,
    pub verify_token: Option<String>,
    pub graph_base_url: Option<String>,
    pub graph_version: Option<String>,
    pub graph_http2_prior_knowledge: Option<bool>,
    pub graph_connections: Option<u64>,
    pub token_key: Option<String>,
    pub token_ttl_days: Option<u64>,
    pub app_id: Option<String>,
    pub token_check_secs: Option<u64>,
    pub instagram_app_secret: Option<String>,
    pub instagram_graph_base_url: Option<String>,
    pub instagram_refresh_after_days: Option<u64>,
}

/// `[dispatch]`.
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawDispatch {
    pub workers: Option<u64>,
    pub batch_size: Option<u64>,
    pub poll_interval_ms: Option<u64>,
    pub lease_secs: Option<u64>,
    pub recover_interval_secs: Option<u64>,
    pub max_attempts: Option<u64>,
    pub retry_initial_ms: Option<u64>,
    pub retry_max_secs: Option<u64>,
    pub usage_pause_percent: Option<u64>,
}

/// `window_check = true | false | "on" | "off"`.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub(crate) enum RawSwitch {
    Bool(bool),
    Word(String),
}

/// `[[spaces]]`.
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawSpace {
    pub id: Option<String>,
    pub page_id: Option<String>,
    pub page_token: Option<String>,
    #[serde(default)]
    pub keys: Option<Vec<String>>,
    pub keys_sha256: Option<Vec<String>>,
    pub customer_matching: Option<bool>,
    pub window_check: Option<RawSwitch>,
    pub fallback_on_outage_secs: Option<u64>,
    pub api_rate: Option<u64>,
    pub api_burst: Option<u64>,
    pub send_rate: Option<i64>,
    pub media_send_rate: Option<i64>,
    pub max_backlog_secs: Option<u64>,
    pub retention: Option<RawRetention>,
    pub webhook: Option<RawWebhook>,
    pub sms: Option<RawSms>,
    pub instagram: Option<Vec<RawInstagramAccount>>,
}

/// `[[spaces.instagram]]`.
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawInstagramAccount {
    pub account_id: Option<String>,
    pub login: Option<String>,
    pub token: Option<String>,
    pub send_rate: Option<i64>,
    pub media_send_rate: Option<i64>,
    pub private_replies_per_hour: Option<u64>,
}

/// `[spaces.webhook]`.
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawWebhook {
    pub url: Option<String>,
    pub secret: Option<String>,
    pub subscriptions: Option<Vec<String>>,
    pub batch_size: Option<u64>,
    pub batch_window_ms: Option<u64>,
    pub retry_schedule_secs: Option<Vec<u64>>,
    pub timeout_secs: Option<u64>,
    pub max_in_flight: Option<u64>,
}

/// `[spaces.sms]`.
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawSms {
    pub provider: Option<String>,
    pub base_url: Option<String>,
    pub account_sid: Option<String>,
    pub auth_token: Option<String>,
    pub from: Option<String>,
}
