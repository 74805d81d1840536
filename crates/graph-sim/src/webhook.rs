//! Meta's side of webhooks: events posted to the product's callback URL, signed exactly as Meta
//! signs them (`X-Hub-Signature-256: sha256=<hex HMAC-SHA256(app secret, raw body)>` and the
//! legacy `X-Hub-Signature: sha1=...`).
//!
//! Without an app secret the posts go out unsigned (a receiver should refuse them).

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use messenger_model::webhook::{
    DeliveryReceipt, Entry, EventKind, MessagingEvent, Party, ReadReceipt, WebhookPayload,
};
use messenger_model::Timestamp;

use crate::records::WebhookPost;
use crate::signature::{hub_signature_256, hub_signature_sha1};
use crate::state::{AutoReceipts, SimState};
use crate::sync::lock;
use crate::SimError;

/// An event from `psid` to `page_id`, now.
pub(crate) fn event_from_user(page_id: &str, psid: &str) -> MessagingEvent {
    MessagingEvent {
        sender: Some(Party {
            id: Some(psid.to_owned()),
            user_ref: None,
        }),
        recipient: Some(Party {
            id: Some(page_id.to_owned()),
            user_ref: None,
        }),
        timestamp: Timestamp::now().millis(),
        ..MessagingEvent::default()
    }
}

/// `{"object":"page","entry":[{"id":page,"time":now,"messaging":[event]}]}`.
pub(crate) fn payload_of(page_id: &str, event: MessagingEvent) -> WebhookPayload {
    WebhookPayload {
        object: "page".to_owned(),
        entry: vec![Entry {
            id: page_id.to_owned(),
            time: Timestamp::now().millis(),
            messaging: vec![event],
            ..Entry::default()
        }],
        ..WebhookPayload::default()
    }
}

/// Posts `body` to the webhook URL, signed with `secret` (if any), and records the post.
pub(crate) async fn post_signed(
    state: &SimState,
    body: Bytes,
    secret: Option<&str>,
) -> Result<u16, SimError> {
    let url = state
        .config
        .webhook_url
        .as_deref()
        .ok_or(SimError::NoWebhookUrl)?;
    let mut request = state
        .http
        .post(url)
        .header("content-type", "application/json");
    if let Some(secret) = secret {
        request = request
            .header("x-hub-signature-256", hub_signature_256(secret, &body))
            .header("x-hub-signature", hub_signature_sha1(secret, &body));
    }
    let at_millis = Timestamp::now().millis();
    let result = request.body(body.clone()).send().await;
    let status = result.as_ref().ok().map(|r| r.status().as_u16());
    if state.config.record_requests {
        lock(&state.webhook_posts).push(WebhookPost {
            body,
            status,
            at_millis,
        });
    }
    let response = result.map_err(SimError::WebhookPost)?;
    tracing::debug!(status = response.status().as_u16(), "webhook posted");
    Ok(response.status().as_u16())
}

pub(crate) async fn post_payload(
    state: &SimState,
    payload: &WebhookPayload,
) -> Result<u16, SimError> {
    note_user_activity(state, payload);
    let body = serde_json::to_vec(payload).map_err(SimError::Json)?;
    post_signed(state, Bytes::from(body), state.config.app_secret.as_deref()).await
}

/// Opens the messaging window for users who acted in `payload` (in `messaging` or `standby`):
/// a message, a postback, an opt-in, a referral, or a reaction (not its removal), the actions
/// Meta lists as opening the standard messaging window.
fn note_user_activity(state: &SimState, payload: &WebhookPayload) {
    for entry in &payload.entry {
        for (_, event) in entry.events() {
            let wrote = match event.kind() {
                EventKind::Message(_)
                | EventKind::Postback(_)
                | EventKind::Optin(_)
                | EventKind::Referral(_) => true,
                EventKind::Reaction(r) => r.action.as_deref() != Some("unreact"),
                _ => false,
            };
            if let (true, Some(psid)) = (wrote, event.sender_id()) {
                state.window.note_inbound(&entry.id, psid, event.timestamp);
            }
        }
    }
}

pub(crate) async fn post_delivery(
    state: &SimState,
    page_id: &str,
    psid: &str,
    watermark: i64,
    mids: Vec<String>,
) -> Result<u16, SimError> {
    let mut event = event_from_user(page_id, psid);
    event.delivery = Some(DeliveryReceipt { mids, watermark });
    post_payload(state, &payload_of(page_id, event)).await
}

pub(crate) async fn post_read(
    state: &SimState,
    page_id: &str,
    psid: &str,
    watermark: i64,
) -> Result<u16, SimError> {
    let mut event = event_from_user(page_id, psid);
    event.read = Some(ReadReceipt { watermark });
    post_payload(state, &payload_of(page_id, event)).await
}

/// After a successful send: posts the message echo, again and again (backing off, for up to two
/// minutes) until the receiver answers 2xx, as Meta redelivers.
pub(crate) fn schedule_echo(
    state: Arc<SimState>,
    page_id: String,
    psid: String,
    mid: String,
    request: &messenger_model::graph::GraphSendRequest,
) {
    if state.config.webhook_url.is_none() {
        return;
    }
    let message = request.message.clone().unwrap_or_default();
    let echo = messenger_model::webhook::InboundMessage {
        mid: Some(mid),
        text: message.text,
        is_echo: true,
        app_id: Some(serde_json::json!(1_000_000_000_001_u64)),
        metadata: message.metadata,
        ..Default::default()
    };
    let event = MessagingEvent {
        sender: Some(Party {
            id: Some(page_id.clone()),
            user_ref: None,
        }),
        recipient: Some(Party {
            id: Some(psid),
            user_ref: None,
        }),
        timestamp: Timestamp::now().millis(),
        message: Some(echo),
        ..MessagingEvent::default()
    };
    let Ok(body) = serde_json::to_vec(&payload_of(&page_id, event)) else {
        return;
    };
    let secret = state.config.app_secret.clone();
    redeliver(state, Bytes::from(body), secret);
}

/// Posts `body` (signed with `secret`) again and again, backing off, for up to two minutes,
/// until the receiver answers 2xx, as Meta redelivers an echo.
pub(crate) fn redeliver(state: Arc<SimState>, body: Bytes, secret: Option<String>) {
    tokio::spawn(async move {
        let give_up = tokio::time::Instant::now() + Duration::from_secs(120);
        let mut delay = Duration::from_millis(100);
        loop {
            match post_signed(&state, body.clone(), secret.as_deref()).await {
                Ok(status) if (200..300).contains(&status) => return,
                Ok(status) => tracing::debug!(status, "echo refused; will post again"),
                Err(e) => tracing::debug!(error = %e, "echo not posted; will post again"),
            }
            if tokio::time::Instant::now() + delay > give_up {
                return;
            }
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(Duration::from_secs(5));
        }
    });
}

/// Runs `post` (a webhook post) `delay` from now, on its own task: what `post` reads of the
/// clock (a watermark, a timestamp) is read when it is posted.
pub(crate) fn post_after<F>(delay: Duration, what: &'static str, post: F)
where
    F: std::future::Future<Output = Result<u16, SimError>> + Send + 'static,
{
    tokio::spawn(async move {
        tokio::time::sleep(delay).await;
        if let Err(e) = post.await {
            tracing::debug!(error = %e, what, "automatic webhook not posted");
        }
    });
}

/// After a successful send: posts the delivery and read receipts the configuration asks for,
/// each with a watermark taken when it is posted (so never before the send).
pub(crate) fn schedule_receipts(
    state: Arc<SimState>,
    receipts: AutoReceipts,
    page_id: String,
    psid: String,
    mid: String,
) {
    if state.config.webhook_url.is_none() {
        return;
    }
    if let Some(delay) = receipts.delivery {
        let (state, page_id, psid) = (state.clone(), page_id.clone(), psid.clone());
        post_after(delay, "delivery receipt", async move {
            let watermark = Timestamp::now().millis();
            post_delivery(&state, &page_id, &psid, watermark, vec![mid]).await
        });
    }
    if let Some(delay) = receipts.read {
        post_after(delay, "read receipt", async move {
            let watermark = Timestamp::now().millis();
            post_read(&state, &page_id, &psid, watermark).await
        });
    }
}
