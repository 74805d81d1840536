//! What differs between the running configuration and a reloaded file, key by key, and which
//! of those differences a running gateway can take (`live`) and which need a restart.
//!
//! Live: each space's page token, keys, webhook, SMS, rates (`send_rate`, `media_send_rate`,
//! `api_rate`, `api_burst`, `max_backlog_secs`), `customer_matching`, `window_check`,
//! `fallback_on_outage_secs`; `server.admin_keys`, `server.admin_keys_sha256` and
//! `server.metrics_keys`. Everything else (the listeners, the database, `[facebook]`,
//! `[dispatch]`, `[retention]`, a space's `page_id` or retention, spaces added, removed or
//! renamed) needs a restart.

use std::fmt::Debug;

use crate::config::{Config, ServerConfig, SpaceConfig};

/// The keys that differ, each named as in the file (`spaces[0].page_token`).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Changes {
    /// Differences the running gateway takes at once.
    pub live: Vec<String>,
    /// Differences that take effect only after a restart.
    pub restart: Vec<String>,
}

impl Changes {
    fn live_if(&mut self, changed: bool, key: impl Into<String>) {
        if changed {
            self.live.push(key.into());
        }
    }

    fn restart_if(&mut self, changed: bool, key: impl Into<String>) {
        if changed {
            self.restart.push(key.into());
        }
    }
}

/// Whether two values of a type without secrets differ (compared as their `Debug` text, which
/// every configuration type has).
fn differs<T: Debug>(a: &T, b: &T) -> bool {
    format!("{a:?}") != format!("{b:?}")
}

/// What differs between `running` and `next`.
pub fn changes(running: &Config, next: &Config) -> Changes {
    let mut c = Changes::default();
    server(&mut c, &running.server, &next.server);
    let (a, b) = (&running.database, &next.database);
    c.restart_if(a.url != b.url, "database.url");
    c.restart_if(a.schema != b.schema, "database.schema");
    c.restart_if(
        a.max_connections != b.max_connections,
        "database.max_connections",
    );
    let (a, b) = (&running.facebook, &next.facebook);
    c.restart_if(a.app_secret != b.app_secret, "facebook.app_secret");
    c.restart_if(a.verify_token != b.verify_token, "facebook.verify_token");
    c.restart_if(a.token_key != b.token_key, "facebook.token_key");
    c.restart_if(
        a.graph_base_url != b.graph_base_url,
        "facebook.graph_base_url",
    );
    c.restart_if(a.graph_version != b.graph_version, "facebook.graph_version");
    c.restart_if(
        a.graph_http2_prior_knowledge != b.graph_http2_prior_knowledge,
        "facebook.graph_http2_prior_knowledge",
    );
    c.restart_if(
        a.graph_connections != b.graph_connections,
        "facebook.graph_connections",
    );
    c.restart_if(a.token_ttl != b.token_ttl, "facebook.token_ttl_days");
    c.restart_if(a.app_id != b.app_id, "facebook.app_id");
    c.restart_if(a.token_check != b.token_check, "facebook.token_check_secs");
    c.restart_if(
        a.instagram_app_secret != b.instagram_app_secret,
        "facebook.instagram_app_secret",
    );
    c.restart_if(
        a.instagram_graph_base_url != b.instagram_graph_base_url,
        "facebook.instagram_graph_base_url",
    );
    c.restart_if(
        a.instagram_refresh_after != b.instagram_refresh_after,
        "facebook.instagram_refresh_after_days",
    );
    // A key added to [facebook] later is still reported, if not by name.
    let named = c.restart.iter().any(|k| k.starts_with("facebook."));
    c.restart_if(!named && differs(a, b), "facebook");
    c.restart_if(differs(&running.dispatch, &next.dispatch), "dispatch");
    c.restart_if(differs(&running.retention, &next.retention), "retention");
    spaces(&mut c, &running.spaces, &next.spaces);
    c
}

fn server(c: &mut Changes, a: &ServerConfig, b: &ServerConfig) {
    c.live_if(a.admin_keys != b.admin_keys, "server.admin_keys");
    c.live_if(
        a.admin_keys_sha256 != b.admin_keys_sha256,
        "server.admin_keys_sha256",
    );
    c.live_if(a.metrics_keys != b.metrics_keys, "server.metrics_keys");
    c.restart_if(a.listen != b.listen, "server.listen");
    c.restart_if(a.ops_listen != b.ops_listen, "server.ops_listen");
    c.restart_if(a.limits != b.limits, "server (body limits)");
    c.restart_if(a.max_in_flight != b.max_in_flight, "server.max_in_flight");
    c.restart_if(
        a.space_max_in_flight != b.space_max_in_flight,
        "server.space_max_in_flight",
    );
    c.restart_if(a.connections != b.connections, "server (connections)");
    c.restart_if(
        a.shutdown_grace != b.shutdown_grace,
        "server.shutdown_grace_secs",
    );
    c.restart_if(a.instance_id != b.instance_id, "server.instance_id");
    c.restart_if(a.state_dir != b.state_dir, "server.state_dir");
    // A key added to [server] later is still reported, if not by name.
    let named = c.restart.iter().any(|k| k.starts_with("server"));
    let without_keys = |s: &ServerConfig| {
        let mut s = s.clone();
        s.admin_keys.clear();
        s.admin_keys_sha256.clear();
        s.metrics_keys.clear();
        format!("{s:?}")
    };
    c.restart_if(!named && without_keys(a) != without_keys(b), "server");
}

fn spaces(c: &mut Changes, running: &[SpaceConfig], next: &[SpaceConfig]) {
    let ids = |list: &[SpaceConfig]| list.iter().map(|s| s.id.clone()).collect::<Vec<_>>();
    if ids(running) != ids(next) {
        // The set of spaces is part of what every per-space structure was built for.
        c.restart.push(format!(
            "spaces (running {:?}, the file has {:?})",
            ids(running),
            ids(next)
        ));
        return;
    }
    for (i, (a, b)) in running.iter().zip(next).enumerate() {
        let k = |field: &str| format!("spaces[{i}].{field}");
        c.restart_if(a.page_id != b.page_id, k("page_id"));
        c.restart_if(differs(&a.retention, &b.retention), k("retention"));
        c.live_if(a.page_token != b.page_token, k("page_token"));
        c.live_if(a.keys != b.keys, k("keys"));
        c.live_if(a.keys_sha256 != b.keys_sha256, k("keys_sha256"));
        c.live_if(
            a.customer_matching != b.customer_matching,
            k("customer_matching"),
        );
        c.live_if(a.window_check != b.window_check, k("window_check"));
        c.live_if(
            a.fallback_on_outage != b.fallback_on_outage,
            k("fallback_on_outage_secs"),
        );
        c.live_if(a.api_rate != b.api_rate, k("api_rate"));
        c.live_if(a.api_burst != b.api_burst, k("api_burst"));
        c.live_if(a.send_rate != b.send_rate, k("send_rate"));
        c.live_if(a.media_send_rate != b.media_send_rate, k("media_send_rate"));
        c.live_if(a.max_backlog != b.max_backlog, k("max_backlog_secs"));
        c.live_if(webhook_differs(a, b), k("webhook"));
        c.live_if(sms_differs(a, b), k("sms"));
        c.live_if(instagram_differs(a, b), k("instagram"));
    }
}

/// Whether the spaces' Instagram accounts differ (their tokens included).
fn instagram_differs(a: &SpaceConfig, b: &SpaceConfig) -> bool {
    a.instagram.len() != b.instagram.len()
        || a.instagram
            .iter()
            .zip(&b.instagram)
            .any(|(x, y)| x.token != y.token || differs(x, y))
}

/// Whether the spaces' webhooks differ (the secret included).
pub(crate) fn webhook_differs(a: &SpaceConfig, b: &SpaceConfig) -> bool {
    match (&a.webhook, &b.webhook) {
        (None, None) => false,
        (Some(x), Some(y)) => x.secret != y.secret || differs(x, y),
        _ => true,
    }
}

fn sms_differs(a: &SpaceConfig, b: &SpaceConfig) -> bool {
    match (&a.sms, &b.sms) {
        (None, None) => false,
        (Some(x), Some(y)) => x.auth_token != y.auth_token || differs(x, y),
        _ => true,
    }
}
