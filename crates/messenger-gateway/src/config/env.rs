//! Environment overrides: `MESSENGER__SECTION__KEY=value`, a double underscore for each level of
//! nesting, `MESSENGER__SPACES__<index>__...` for a space (an index past the end adds one).
//! Lists (`keys`, `subscriptions`) are comma-separated. The full list is in
//! `docs/configuration.md`; an unknown `MESSENGER__` variable is an error, so a typo does not
//! pass silently.

use super::raw::{
    RawConfig, RawInstagramAccount, RawRetention, RawSms, RawSpace, RawSwitch, RawWebhook,
};
use super::ConfigIssue;

/// The prefix of every override.
pub const ENV_PREFIX: &str = "MESSENGER__";

/// The most spaces an override may address (a guard against `SPACES__99999999`).
const MAX_SPACE_INDEX: usize = 1000;

/// Applies every `MESSENGER__*` variable of `vars` to `raw`. Returns the problems found (an
/// unknown variable, a value of the wrong type), each naming the variable.
pub(crate) fn apply_env<I>(raw: &mut RawConfig, vars: I) -> Vec<ConfigIssue>
where
    I: IntoIterator<Item = (String, String)>,
{
    let mut issues = Vec::new();
    let mut vars: Vec<(String, String)> = vars
        .into_iter()
        .filter(|(k, _)| k.starts_with(ENV_PREFIX))
        .collect();
    // Deterministic order, so errors are too.
    vars.sort();
    for (name, value) in vars {
        let path: Vec<String> = name[ENV_PREFIX.len()..]
            .split("__")
            .map(str::to_ascii_lowercase)
            .collect();
        let path: Vec<&str> = path.iter().map(String::as_str).collect();
        if let Err(problem) = apply_one(raw, &path, &value) {
            issues.push(ConfigIssue::new(name, problem));
        }
    }
    issues
}

fn apply_one(raw: &mut RawConfig, path: &[&str], value: &str) -> Result<(), String> {
    let v = value.to_owned();
    match path {
        ["server", key] => {
            let s = &mut raw.server;
            match *key {
                "listen" => s.listen = Some(v),
                "ops_listen" => s.ops_listen = Some(v),
                "admin_keys" => s.admin_keys = Some(list(value)),
                "admin_keys_sha256" => s.admin_keys_sha256 = Some(list(value)),
                "message_body_limit" => s.message_body_limit = Some(number(value)?),
                "batch_body_limit" => s.batch_body_limit = Some(number(value)?),
                "profile_body_limit" => s.profile_body_limit = Some(number(value)?),
                "webhook_body_limit" => s.webhook_body_limit = Some(number(value)?),
                "webhook_read_timeout_secs" => s.webhook_read_timeout_secs = Some(number(value)?),
                "webhook_concurrent_reads" => s.webhook_concurrent_reads = Some(number(value)?),
                "webhook_reads_per_client" => s.webhook_reads_per_client = Some(number(value)?),
                "webhook_first_byte_timeout_ms" => {
                    s.webhook_first_byte_timeout_ms = Some(number(value)?);
                }
                "large_batches" => s.large_batches = Some(number(value)?),
                "space_large_batches" => s.space_large_batches = Some(number(value)?),
                "max_in_flight" => s.max_in_flight = Some(number(value)?),
                "space_max_in_flight" => s.space_max_in_flight = Some(number(value)?),
                "metrics_keys" => s.metrics_keys = Some(list(value)),
                "header_read_timeout_secs" => s.header_read_timeout_secs = Some(number(value)?),
                "idle_timeout_secs" => s.idle_timeout_secs = Some(number(value)?),
                "http2_keep_alive_interval_secs" => {
                    s.http2_keep_alive_interval_secs = Some(number(value)?);
                }
                "http2_max_concurrent_streams" => {
                    s.http2_max_concurrent_streams = Some(number(value)?);
                }
                "max_connections" => s.max_connections = Some(number(value)?),
                "max_connections_per_client" => {
                    s.max_connections_per_client = Some(number(value)?);
                }
                "trusted_proxies" => s.trusted_proxies = Some(list(value)),
                "shutdown_grace_secs" => s.shutdown_grace_secs = Some(number(value)?),
                "instance_id" => s.instance_id = Some(v),
                "state_dir" => s.state_dir = Some(v),
                _ => return Err(unknown()),
            }
        }
        ["database", "url"] => raw.database.url = Some(v),
        ["database", "schema"] => raw.database.schema = Some(v),
        ["database", "max_connections"] => raw.database.max_connections = Some(number(value)?),
        ["facebook", key] => {
            let f = &mut raw.facebook;
            match *key {
                "app_secret" => f.app_secret = Some(v),
                "verify_token" => f.verify_token = Some(v),
                "graph_base_url" => f.graph_base_url = Some(v),
                "graph_version" => f.graph_version = Some(v),
                "graph_connections" => f.graph_connections = Some(number(value)?),
                "graph_http2_prior_knowledge" => {
                    f.graph_http2_prior_knowledge = Some(boolean(value)?);
                }
                "token_key" => f.token_key = Some(v),
                "token_ttl_days" => f.token_ttl_days = Some(number(value)?),
                "app_id" => f.app_id = Some(v),
                "token_check_secs" => f.token_check_secs = Some(number(value)?),
                "instagram_app_secret" => f.instagram_app_secret = Some(v),
                "instagram_graph_base_url" => f.instagram_graph_base_url = Some(v),
                "instagram_refresh_after_days" => {
                    f.instagram_refresh_after_days = Some(number(value)?);
                }
                _ => return Err(unknown()),
            }
        }
        ["dispatch", key] => {
            let d = &mut raw.dispatch;
            let n = || number(value);
            match *key {
                "workers" => d.workers = Some(n()?),
                "batch_size" => d.batch_size = Some(n()?),
                "poll_interval_ms" => d.poll_interval_ms = Some(n()?),
                "lease_secs" => d.lease_secs = Some(n()?),
                "recover_interval_secs" => d.recover_interval_secs = Some(n()?),
                "max_attempts" => d.max_attempts = Some(n()?),
                "retry_initial_ms" => d.retry_initial_ms = Some(n()?),
                "retry_max_secs" => d.retry_max_secs = Some(n()?),
                "usage_pause_percent" => d.usage_pause_percent = Some(n()?),
                _ => return Err(unknown()),
            }
        }
        ["retention", key] => retention_key(&mut raw.retention, key, value)?,
        ["spaces", index, rest @ ..] => {
            let index: usize = index
                .parse()
                .map_err(|_| format!("{index:?} is not a space index (0, 1, ...)"))?;
            if index > MAX_SPACE_INDEX {
                return Err(format!("space index {index} is over {MAX_SPACE_INDEX}"));
            }
            if raw.spaces.len() <= index {
                raw.spaces.resize_with(index + 1, RawSpace::default);
            }
            apply_space(&mut raw.spaces[index], rest, value)?;
        }
        _ => return Err(unknown()),
    }
    Ok(())
}

fn apply_space(space: &mut RawSpace, path: &[&str], value: &str) -> Result<(), String> {
    let v = value.to_owned();
    match path {
        [key] => match *key {
            "id" => space.id = Some(v),
            "page_id" => space.page_id = Some(v),
            "page_token" => space.page_token = Some(v),
            "keys" => space.keys = Some(list(value)),
            "keys_sha256" => space.keys_sha256 = Some(list(value)),
            "customer_matching" => space.customer_matching = Some(boolean(value)?),
            "window_check" => space.window_check = Some(RawSwitch::Word(v)),
            "fallback_on_outage_secs" => space.fallback_on_outage_secs = Some(number(value)?),
            "api_rate" => space.api_rate = Some(number(value)?),
            "api_burst" => space.api_burst = Some(number(value)?),
            "send_rate" => space.send_rate = Some(signed(value)?),
            "media_send_rate" => space.media_send_rate = Some(signed(value)?),
            "max_backlog_secs" => space.max_backlog_secs = Some(number(value)?),
            _ => return Err(unknown()),
        },
        ["retention", key] => {
            let r = space.retention.get_or_insert_with(RawRetention::default);
            retention_key(r, key, value)?;
        }
        ["webhook", key] => {
            let w = space.webhook.get_or_insert_with(RawWebhook::default);
            match *key {
                "url" => w.url = Some(v),
                "secret" => w.secret = Some(v),
                "subscriptions" => w.subscriptions = Some(list(value)),
                "batch_size" => w.batch_size = Some(number(value)?),
                "batch_window_ms" => w.batch_window_ms = Some(number(value)?),
                "retry_schedule_secs" => {
                    w.retry_schedule_secs = Some(
                        list(value)
                            .iter()
                            .map(|s| number(s))
                            .collect::<Result<_, _>>()?,
                    );
                }
                "timeout_secs" => w.timeout_secs = Some(number(value)?),
                "max_in_flight" => w.max_in_flight = Some(number(value)?),
                _ => return Err(unknown()),
            }
        }
        ["sms", key] => {
            let s = space.sms.get_or_insert_with(RawSms::default);
            match *key {
                "provider" => s.provider = Some(v),
                "base_url" => s.base_url = Some(v),
                "account_sid" => s.account_sid = Some(v),
                "auth_token" => s.auth_token = Some(v),
                "from" => s.from = Some(v),
                _ => return Err(unknown()),
            }
        }
        ["instagram", index, key] => {
            let index: usize = index
                .parse()
                .map_err(|_| format!("{index:?} is not an account index (0, 1, ...)"))?;
            if index > MAX_SPACE_INDEX {
                return Err(format!("account index {index} is over {MAX_SPACE_INDEX}"));
            }
            let accounts = space.instagram.get_or_insert_with(Vec::new);
            if accounts.len() <= index {
                accounts.resize_with(index + 1, RawInstagramAccount::default);
            }
            let a = &mut accounts[index];
            match *key {
                "account_id" => a.account_id = Some(v),
                "login" => a.login = Some(v),
                "token" => a.token = Some(v),
                "send_rate" => a.send_rate = Some(signed(value)?),
                "media_send_rate" => a.media_send_rate = Some(signed(value)?),
                "private_replies_per_hour" => a.private_replies_per_hour = Some(number(value)?),
                _ => return Err(unknown()),
            }
        }
        _ => return Err(unknown()),
    }
    Ok(())
}

/// A key of `[retention]` or `[spaces.retention]` (which of them a space may set is checked
/// with the rest of the configuration).
fn retention_key(r: &mut RawRetention, key: &str, value: &str) -> Result<(), String> {
    let field = match key {
        "message_content_days" => &mut r.message_content_days,
        "messages_days" => &mut r.messages_days,
        "idempotency_keys_days" => &mut r.idempotency_keys_days,
        "dead_letters_days" => &mut r.dead_letters_days,
        "quarantine_days" => &mut r.quarantine_days,
        "delivered_events_days" => &mut r.delivered_events_days,
        "batch_size" => &mut r.batch_size,
        _ => return Err(unknown()),
    };
    *field = Some(number(value)?);
    Ok(())
}

fn unknown() -> String {
    "not a configuration setting (see docs/configuration.md for the list)".to_owned()
}

fn number(value: &str) -> Result<u64, String> {
    value
        .trim()
        .parse()
        .map_err(|_| format!("{:?} is not a whole number", shorten(value)))
}

fn signed(value: &str) -> Result<i64, String> {
    value
        .trim()
        .parse()
        .map_err(|_| format!("{:?} is not a whole number", shorten(value)))
}

fn boolean(value: &str) -> Result<bool, String> {
    match value.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Ok(true),
        "false" | "0" | "no" | "off" => Ok(false),
        _ => Err(format!("{:?} is not true or false", shorten(value))),
    }
}

fn list(value: &str) -> Vec<String> {
    value
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Values in error messages are cut short (they are not secrets: only numbers and booleans
/// are echoed).
fn shorten(value: &str) -> String {
    value.chars().take(40).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn overrides_nest_by_double_underscore() {
        let mut raw = RawConfig::default();
        let issues = apply_env(
            &mut raw,
            vars(&[
                ("MESSENGER__DATABASE__URL", "postgres://db/m"),
                ("MESSENGER__DISPATCH__WORKERS", "4"),
                ("MESSENGER__SPACES__1__PAGE_ID", "123"),
                ("MESSENGER__SPACES__1__KEYS", "a, b,,c"),
                ("MESSENGER__SPACES__1__KEYS_SHA256", "d1,d2"),
                ("MESSENGER__SERVER__OPS_LISTEN", "127.0.0.1:9090"),
                ("MESSENGER__SERVER__ADMIN_KEYS_SHA256", "d3"),
                ("MESSENGER__SERVER__WEBHOOK_CONCURRENT_READS", "8"),
                ("MESSENGER__SPACES__1__WEBHOOK__BATCH_SIZE", "50"),
                ("OTHER", "ignored"),
            ]),
        );
        assert!(issues.is_empty(), "{issues:?}");
        assert_eq!(raw.database.url.as_deref(), Some("postgres://db/m"));
        assert_eq!(raw.dispatch.workers, Some(4));
        assert_eq!(raw.spaces.len(), 2);
        assert_eq!(raw.spaces[1].page_id.as_deref(), Some("123"));
        assert_eq!(
            raw.spaces[1].keys.as_deref(),
            Some(&["a".to_owned(), "b".to_owned(), "c".to_owned()][..])
        );
        assert_eq!(
            raw.spaces[1].keys_sha256.as_deref(),
            Some(&["d1".to_owned(), "d2".to_owned()][..])
        );
        assert_eq!(raw.server.ops_listen.as_deref(), Some("127.0.0.1:9090"));
        assert_eq!(
            raw.server.admin_keys_sha256.as_deref(),
            Some(&["d3".to_owned()][..])
        );
        assert_eq!(raw.server.webhook_concurrent_reads, Some(8));
        assert_eq!(
            raw.spaces[1].webhook.as_ref().and_then(|w| w.batch_size),
            Some(50)
        );
    }

    #[test]
    fn bad_overrides_name_the_variable() {
        let mut raw = RawConfig::default();
        let issues = apply_env(
            &mut raw,
            vars(&[
                ("MESSENGER__DISPATCH__WORKERS", "many"),
                ("MESSENGER__DATABSE__URL", "x"),
                ("MESSENGER__SPACES__X__ID", "x"),
                ("MESSENGER__SPACES__5000__ID", "x"),
            ]),
        );
        let text: Vec<String> = issues.iter().map(ToString::to_string).collect();
        assert_eq!(text.len(), 4, "{text:?}");
        assert!(text[0].starts_with("MESSENGER__DATABSE__URL: not a configuration setting"));
        assert!(text[1].starts_with("MESSENGER__DISPATCH__WORKERS: \"many\" is not a whole"));
        assert!(text[2].contains("over 1000"));
        assert!(text[3].contains("not a space index"));
    }
}
