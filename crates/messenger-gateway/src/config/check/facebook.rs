//! Checking `[facebook]`: the app secret and id, the webhook verify token, the opt-in token key,
//! the Graph address and version (one of those the gateway accepts), the token checks, and
//! Instagram Login's app secret, address and token refresh. A problem names the key, never the value.

use std::time::Duration;

use super::super::{FacebookConfig, Secret};
use super::{to_usize, Checker};

/// The smallest opt-in token key.
const MIN_TOKEN_KEY_BYTES: usize = 32;

/// The length of an app secret as Meta issues them: 32 hex digits.
pub(crate) const APP_SECRET_HEX_DIGITS: usize = 32;

/// The shortest webhook verify token: anyone who guesses it can answer Meta's handshake for
/// the URL.
pub(crate) const MIN_VERIFY_TOKEN_CHARS: usize = 16;

/// Checks `[facebook]`; `None` when something required is missing.
pub(super) fn facebook(
    c: &mut Checker<'_>,
    raw: super::super::raw::RawFacebook,
) -> Option<FacebookConfig> {
    let app_secret = c.required("facebook.app_secret", raw.app_secret);
    if let Some(s) = &app_secret {
        if !is_app_secret(s) {
            c.issue(
                "facebook.app_secret",
                format!(
                    "is not an app secret as Meta issues them ({APP_SECRET_HEX_DIGITS} hex digits; \
                     found {} characters{})",
                    s.chars().count(),
                    if s.bytes().all(|b| b.is_ascii_hexdigit()) {
                        ""
                    } else {
                        ", not all hex digits"
                    }
                ),
            );
        }
    }
    let verify_token = c.required("facebook.verify_token", raw.verify_token);
    if let Some(t) = &verify_token {
        let n = t.chars().count();
        if n < MIN_VERIFY_TOKEN_CHARS {
            c.issue(
                "facebook.verify_token",
                format!("is {n} characters; use at least {MIN_VERIFY_TOKEN_CHARS} (random ones)"),
            );
        }
    }
    let token_key = c.required("facebook.token_key", raw.token_key);
    if let Some(k) = &token_key {
        if k.len() < MIN_TOKEN_KEY_BYTES {
            c.issue(
                "facebook.token_key",
                format!(
                    "is {} bytes; use at least {MIN_TOKEN_KEY_BYTES} random bytes",
                    k.len()
                ),
            );
        }
    }
    let graph_base_url = raw
        .graph_base_url
        .unwrap_or_else(|| messenger_graph::DEFAULT_BASE_URL.to_owned());
    c.http_url("facebook.graph_base_url", &graph_base_url);
    let graph_version = raw
        .graph_version
        .unwrap_or_else(|| messenger_graph::DEFAULT_GRAPH_VERSION.to_owned());
    if messenger_model::graph::graph_version(&graph_version).is_none() {
        let accepted: Vec<&str> = messenger_model::graph::GRAPH_VERSIONS
            .iter()
            .map(|v| v.name)
            .collect();
        c.issue(
            "facebook.graph_version",
            format!(
                "{graph_version:?} is not a Graph version this gateway accepts ({})",
                accepted.join(", ")
            ),
        );
    }
    if let Some(id) = &raw.app_id {
        if id.is_empty() || id.len() > 32 || !id.bytes().all(|b| b.is_ascii_digit()) {
            c.issue("facebook.app_id", "is not an app id (1 to 32 digits)");
        }
    }
    let token_check = c.range(
        "facebook.token_check_secs",
        raw.token_check_secs,
        3_600,
        1,
        86_400,
    );
    let ttl_days = c.range("facebook.token_ttl_days", raw.token_ttl_days, 30, 1, 365);
    if let Some(s) = &raw.instagram_app_secret {
        if !is_app_secret(s) {
            c.issue(
                "facebook.instagram_app_secret",
                format!(
                    "is not an app secret as Meta issues them ({APP_SECRET_HEX_DIGITS} hex digits)"
                ),
            );
        }
    }
    let instagram_graph_base_url = raw
        .instagram_graph_base_url
        .unwrap_or_else(|| messenger_graph::DEFAULT_INSTAGRAM_BASE_URL.to_owned());
    c.http_url(
        "facebook.instagram_graph_base_url",
        &instagram_graph_base_url,
    );
    let refresh_days = c.range(
        "facebook.instagram_refresh_after_days",
        raw.instagram_refresh_after_days,
        30,
        1,
        50,
    );
    Some(FacebookConfig {
        app_secret: Secret::new(app_secret?),
        verify_token: Secret::new(verify_token?),
        graph_base_url,
        graph_version,
        graph_http2_prior_knowledge: raw.graph_http2_prior_knowledge.unwrap_or(false),
        graph_connections: to_usize(c.range(
            "facebook.graph_connections",
            raw.graph_connections,
            messenger_graph::DEFAULT_CONNECTIONS as u64,
            1,
            messenger_graph::MAX_CONNECTIONS as u64,
        )),
        token_key: Secret::new(token_key?),
        token_ttl: Duration::from_secs(ttl_days * 24 * 3600),
        app_id: raw.app_id,
        token_check: Duration::from_secs(token_check),
        instagram_app_secret: raw.instagram_app_secret.map(Secret::new),
        instagram_graph_base_url,
        instagram_refresh_after: Duration::from_secs(refresh_days * 24 * 3600),
    })
}

/// Whether `s` is 32 hex digits, as Meta's app secrets are.
fn is_app_secret(s: &str) -> bool {
    s.len() == APP_SECRET_HEX_DIGITS && s.bytes().all(|b| b.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    use super::is_app_secret;

    #[test]
    fn app_secrets_are_32_hex_digits() {
        assert!(is_app_secret("0123456789abcdef0123456789ABCDEF"));
        assert!(!is_app_secret("s"));
        assert!(!is_app_secret("0123456789abcdef0123456789abcdef0"));
        assert!(!is_app_secret("0123456789abcdef0123456789abcdeg"));
        assert!(!is_app_secret("0123456789abcdef0123456789abcde\u{e9}"));
    }
}
