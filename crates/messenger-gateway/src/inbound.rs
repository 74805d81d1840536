//! Applying Meta's webhook events once their signature is checked: opt-ins, inbound messages,
//! receipts (the facade's [`Messenger::process_webhook`]), counted in the metrics.
//!
//! This is the one step of `POST /webhooks/facebook` after "signature, parse": today the handler
//! awaits it before answering 200. When the store gains a queue of raw webhook bodies, the
//! handler will store the verified body, answer 200, and a worker will call this function.

use messenger::webhook::WebhookReport;
use messenger::Messenger;
use messenger_model::webhook::WebhookPayload;

use crate::metrics::Metrics;

/// Applies a verified payload: every event is applied once (redeliveries are recognised by the
/// store), and the result is counted.
pub async fn apply_meta_webhook(
    messenger: &Messenger,
    metrics: &Metrics,
    payload: &WebhookPayload,
) -> Result<WebhookReport, messenger::Error> {
    let report = messenger.process_webhook(payload).await?;
    metrics.webhook_events(&report);
    tracing::debug!(
        applied = report.applied,
        duplicates = report.duplicates,
        ignored = report.ignored,
        "webhook processed"
    );
    Ok(report)
}
