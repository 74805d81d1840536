//! One signed POST to a webhook, and how its answer is classified.

use std::error::Error as StdError;

use reqwest::header::{HeaderValue, CONTENT_TYPE};
use reqwest::{Client, Response, StatusCode, Url};

use super::target::WebhookTarget;
use crate::events::sign_event;

/// How much of a failed answer's body is kept in the event's `last_error`.
const KEPT_BODY: usize = 200;
/// How much of an answer's body is read (so the connection can be reused) before giving up.
const DRAINED_BODY: usize = 64 * 1024;
/// The longest `last_error` written.
const MAX_ERROR: usize = 400;

/// How one POST ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Outcome {
    /// 2xx: delivered.
    Delivered,
    /// 400: the receiver refuses the content for good; never retried.
    Refused(String),
    /// Anything else (other statuses, timeout, connection failure): retried on the schedule.
    Failed(String),
}

/// POSTs `body` to `url`, signed with the target's secret at `unix_seconds`.
pub(super) async fn post(
    client: &Client,
    url: &Url,
    target: &WebhookTarget,
    body: Vec<u8>,
    unix_seconds: i64,
) -> Outcome {
    let signatures = sign_event(&target.secret, &body, unix_seconds);
    let request = client
        .post(url.clone())
        .timeout(target.timeout)
        .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
        .header("X-Comapi-Signature", signatures.comapi)
        .header("X-Webhook-Signature", signatures.webhook)
        .body(body);
    let response = match request.send().await {
        Ok(r) => r,
        Err(e) => return Outcome::Failed(describe(&e, target)),
    };
    let status = response.status();
    let text = read_body(response).await;
    if status.is_success() {
        Outcome::Delivered
    } else if status == StatusCode::BAD_REQUEST {
        Outcome::Refused(clip(format!("HTTP 400 (not retried){}", suffix(&text))))
    } else {
        Outcome::Failed(clip(format!("HTTP {}{}", status.as_u16(), suffix(&text))))
    }
}

fn suffix(text: &str) -> String {
    if text.is_empty() {
        String::new()
    } else {
        format!(": {text}")
    }
}

/// A transport failure in words, without the URL (it may carry tokens).
fn describe(e: &reqwest::Error, target: &WebhookTarget) -> String {
    if e.is_timeout() {
        return format!("timed out after {:?}", target.timeout);
    }
    let kind = if e.is_connect() {
        "connection failed"
    } else {
        "request failed"
    };
    let mut text = kind.to_owned();
    let mut source: Option<&(dyn StdError + 'static)> = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    clip(text)
}

/// Reads the answer's body (up to a limit, so the pooled connection can be reused) and keeps
/// its start as one printable line. Errors while reading end the reading; the status stands.
async fn read_body(mut response: Response) -> String {
    let mut kept = Vec::new();
    let mut read = 0usize;
    while let Ok(Some(chunk)) = response.chunk().await {
        read = read.saturating_add(chunk.len());
        let room = KEPT_BODY.saturating_sub(kept.len());
        kept.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if read > DRAINED_BODY {
            break;
        }
    }
    String::from_utf8_lossy(&kept)
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .trim()
        .to_owned()
}

/// Cuts `text` to [`MAX_ERROR`] bytes on a character boundary.
fn clip(mut text: String) -> String {
    if text.len() > MAX_ERROR {
        let mut end = MAX_ERROR;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clip_respects_char_boundaries() {
        let s = "é".repeat(300);
        let c = clip(s);
        assert!(c.len() <= MAX_ERROR);
        assert!(c.chars().all(|ch| ch == 'é'));
        assert_eq!(clip("short".into()), "short");
    }
}
