//! Checking one `[[spaces]]` entry into a [`SpaceConfig`]: its id, page, keys, window check and
//! rates, and its webhook, SMS and Instagram sections. Whether spaces clash with each other (ids, pages,
//! keys) is checked over all of them, in the parent module.

use std::time::Duration;

use messenger_model::EventName;

use super::{to_u32, to_usize, Checker};
use crate::config::raw::{RawSms, RawSpace, RawSwitch, RawWebhook};
use crate::config::{Secret, SmsConfig, SmsProviderKind, SpaceConfig, WebhookConfig};

/// The highest `send_rate` and `media_send_rate` (Graph sends a second): far above what Meta
/// allows a page, for tests and simulators.
const MAX_SEND_RATE: u64 = 1_000_000;
/// Webhook batches: 1 to 500 events.
const MAX_WEBHOOK_BATCH: u64 = 500;
/// Webhook batch window: at most 60 s.
const MAX_WEBHOOK_WINDOW_MS: u64 = 60_000;
/// The longest retry schedule of a webhook.
const MAX_WEBHOOK_RETRIES: usize = 100;

/// A page's send rate (`send_rate`, `media_send_rate`): 1 to [`MAX_SEND_RATE`] sends a second.
pub(super) fn page_rate(c: &mut Checker<'_>, key: &str, value: Option<i64>, default: u32) -> u32 {
    match value {
        None => default,
        Some(v) if v < 1 => {
            c.issue(
                key,
                format!("{v} is under 1: a page's rate is at least 1 send a second"),
            );
            default
        }
        Some(v) => match u64::try_from(v) {
            Ok(v) if v <= MAX_SEND_RATE => to_u32(v),
            _ => {
                c.issue(key, format!("{v} is over {MAX_SEND_RATE}"));
                default
            }
        },
    }
}

/// Checks the space `raw` (configured as `key`, e.g. `spaces[0]`), its webhook and SMS
/// included; `None` when something required could not be made.
pub(super) fn check(
    c: &mut Checker<'_>,
    key: &str,
    raw: RawSpace,
    retention: &crate::config::SpaceRetention,
    instagram: &mut super::instagram::Across,
) -> Option<SpaceConfig> {
    let k = |field: &str| format!("{key}.{field}");
    let id = c.required(&k("id"), raw.id);
    if let Some(id) = &id {
        let ok = id.len() <= 64
            && id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
        if !ok {
            c.issue(
                &k("id"),
                format!("{id:?} must be 1 to 64 of A-Z a-z 0-9 - _ ."),
            );
        }
    }
    let page_id = c.required(&k("page_id"), raw.page_id);
    let page_token = c.required(&k("page_token"), raw.page_token);
    let no_keys = raw.keys.as_ref().is_none_or(Vec::is_empty)
        && raw.keys_sha256.as_ref().is_none_or(Vec::is_empty);
    if no_keys {
        let problem = match raw.keys {
            None => "missing: give the space at least one API key (keys or keys_sha256)",
            Some(_) => "is empty: give the space at least one API key (keys or keys_sha256)",
        };
        c.issue(&k("keys"), problem);
    }
    let keys = c.plain_keys(&k("keys"), "an API key", raw.keys.unwrap_or_default());
    let keys_sha256 = c.key_digests(&k("keys_sha256"), raw.keys_sha256.unwrap_or_default());
    let window_check = match raw.window_check {
        None | Some(RawSwitch::Bool(true)) => true,
        Some(RawSwitch::Bool(false)) => false,
        Some(RawSwitch::Word(w)) => match w.trim().to_ascii_lowercase().as_str() {
            "on" | "true" => true,
            "off" | "false" => false,
            _ => {
                c.issue(&k("window_check"), format!("{w:?} is not on or off"));
                true
            }
        },
    };
    let fallback_on_outage = raw.fallback_on_outage_secs.map(|secs| {
        Duration::from_secs(c.range(&k("fallback_on_outage_secs"), Some(secs), 60, 1, 7 * 86_400))
    });
    let api_rate = raw
        .api_rate
        .map(|r| to_u32(c.range(&k("api_rate"), Some(r), 100, 1, 1_000_000)));
    let api_burst = raw
        .api_burst
        .map(|b| to_u32(c.range(&k("api_burst"), Some(b), 100, 1, 1_000_000)));
    if api_burst.is_some() && api_rate.is_none() {
        c.issue(&k("api_burst"), "is set without api_rate: set the rate too");
    }
    let send_rate = page_rate(
        c,
        &k("send_rate"),
        raw.send_rate,
        messenger_graph::rates::DEFAULT_SEND_RATE,
    );
    let media_send_rate = page_rate(
        c,
        &k("media_send_rate"),
        raw.media_send_rate,
        messenger_graph::rates::DEFAULT_MEDIA_SEND_RATE,
    );
    let max_backlog = Duration::from_secs(c.range(
        &k("max_backlog_secs"),
        raw.max_backlog_secs,
        crate::config::DEFAULT_MAX_BACKLOG_SECS,
        1,
        86_400,
    ));
    let retention =
        crate::config::retention::space_section(c, &k("retention"), raw.retention, retention);
    let webhook = raw.webhook.and_then(|w| webhook(c, &k("webhook"), w));
    let sms = raw.sms.and_then(|s| sms(c, &k("sms"), s));
    let instagram = instagram.accounts(c, key, raw.instagram.unwrap_or_default());
    Some(SpaceConfig {
        id: id?,
        page_id: page_id?,
        page_token: Secret::new(page_token?),
        keys,
        keys_sha256,
        customer_matching: raw.customer_matching.unwrap_or(false),
        window_check,
        fallback_on_outage,
        api_rate,
        api_burst,
        send_rate,
        media_send_rate,
        max_backlog,
        retention,
        webhook,
        sms,
        instagram,
    })
}

/// A space's `[spaces.webhook]`: the business's webhook for its events.
fn webhook(c: &mut Checker<'_>, key: &str, raw: RawWebhook) -> Option<WebhookConfig> {
    let k = |field: &str| format!("{key}.{field}");
    let url = c.required(&k("url"), raw.url);
    let url_ok = url.as_deref().is_some_and(|u| c.http_url(&k("url"), u));
    let secret = c.required(&k("secret"), raw.secret);
    let subscriptions = match raw.subscriptions {
        None => EventName::ALL.to_vec(),
        Some(names) => {
            let mut out = Vec::new();
            for (i, name) in names.iter().enumerate() {
                match EventName::parse(name) {
                    Some(n) => out.push(n),
                    None => c.issue(
                        &format!("{key}.subscriptions[{i}]"),
                        format!(
                            "{name:?} is not an event name (one of {})",
                            EventName::ALL.map(EventName::as_str).join(", ")
                        ),
                    ),
                }
            }
            out
        }
    };
    let batch_size = c.range(&k("batch_size"), raw.batch_size, 1, 1, MAX_WEBHOOK_BATCH);
    let window = c.range(
        &k("batch_window_ms"),
        raw.batch_window_ms,
        0,
        0,
        MAX_WEBHOOK_WINDOW_MS,
    );
    let schedule = match raw.retry_schedule_secs {
        None => messenger::events::default_retry_schedule(),
        Some(list) => {
            if list.len() > MAX_WEBHOOK_RETRIES {
                c.issue(
                    &k("retry_schedule_secs"),
                    format!("{} retries is over {MAX_WEBHOOK_RETRIES}", list.len()),
                );
            }
            if let Some((i, d)) = list.iter().enumerate().find(|(_, d)| **d > 86_400) {
                c.issue(
                    &format!("{key}.retry_schedule_secs[{i}]"),
                    format!("{d} is over 86400 (a day)"),
                );
            }
            list.into_iter().map(Duration::from_secs).collect()
        }
    };
    let timeout = c.range(&k("timeout_secs"), raw.timeout_secs, 10, 1, 60);
    let max_in_flight = c.range(
        &k("max_in_flight"),
        raw.max_in_flight,
        messenger::events::DEFAULT_MAX_IN_FLIGHT as u64,
        1,
        messenger::events::MAX_IN_FLIGHT as u64,
    );
    if !url_ok {
        return None;
    }
    Some(WebhookConfig {
        url: url?,
        secret: Secret::new(secret?),
        subscriptions,
        batch_size: to_usize(batch_size),
        batch_window: Duration::from_millis(window),
        retry_schedule: schedule,
        timeout: Duration::from_secs(timeout),
        max_in_flight: to_usize(max_in_flight),
    })
}

/// A space's `[spaces.sms]`: the SMS provider of its fallback.
fn sms(c: &mut Checker<'_>, key: &str, raw: RawSms) -> Option<SmsConfig> {
    let k = |field: &str| format!("{key}.{field}");
    let provider = match raw.provider.as_deref().unwrap_or("twilio") {
        "twilio" => Some(SmsProviderKind::Twilio),
        other => {
            c.issue(
                &k("provider"),
                format!("{other:?} is not a supported provider (twilio)"),
            );
            None
        }
    };
    let base_url = raw
        .base_url
        .unwrap_or_else(|| "https://api.twilio.com".to_owned());
    let url_ok = c.http_url(&k("base_url"), &base_url);
    let account_sid = c.required(&k("account_sid"), raw.account_sid);
    let auth_token = c.required(&k("auth_token"), raw.auth_token);
    if !url_ok {
        return None;
    }
    Some(SmsConfig {
        provider: provider?,
        base_url,
        account_sid: account_sid?,
        auth_token: Secret::new(auth_token?),
        from: raw.from.filter(|f| !f.trim().is_empty()),
    })
}
