//! Forwarding events to each space's webhook: the facade's [`Forwarder`] run by one task per
//! instance, with each round counted in the metrics.
//!
//! Several instances can forward from one store: the store's leases keep two of them from
//! sending the same event at once. On shutdown the round in progress finishes and events waiting
//! for a batch are flushed.

use std::collections::HashMap;
use std::time::Duration;

use messenger::events::{ForwardError, Forwarder, WebhookTarget};
use messenger_model::Timestamp;
use messenger_store::Store;
use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::metrics::Metrics;

/// The longest pause after failing rounds.
const MAX_ERROR_PAUSE: Duration = Duration::from_secs(30);

/// A forwarder for the spaces of `config` that have a webhook; `None` when none has.
pub(crate) fn forwarder(
    config: &Config,
    store: std::sync::Arc<dyn Store>,
) -> Result<Option<Forwarder>, ForwardError> {
    let targets: HashMap<String, WebhookTarget> = config
        .spaces
        .iter()
        .filter_map(|s| {
            s.webhook.as_ref().map(|w| {
                let target = WebhookTarget::new(w.url.clone(), w.secret.expose())
                    .batch(w.batch_size, w.batch_window)
                    .schedule(w.retry_schedule.clone())
                    .timeout(w.timeout);
                (s.id.clone(), target)
            })
        })
        .collect();
    if targets.is_empty() {
        return Ok(None);
    }
    Ok(Some(
        Forwarder::new(store, targets)?.poll_interval(config.dispatch.poll_interval),
    ))
}

/// Runs forwarding rounds until `cancel`, then flushes waiting batches.
pub(crate) async fn run(
    forwarder: Forwarder,
    worker: String,
    metrics: Metrics,
    poll: Duration,
    cancel: CancellationToken,
) {
    let mut failures = 0u32;
    while !cancel.is_cancelled() {
        let pause = match forwarder.run_once(&worker, Timestamp::now()).await {
            Ok(report) => {
                failures = 0;
                metrics.forward(&report);
                if report.posts > 0 || report.dead > 0 {
                    tracing::debug!(worker = %worker, ?report, "forwarding round");
                }
                if report.leased > 0 {
                    Duration::ZERO
                } else {
                    poll
                }
            }
            Err(e) => {
                failures = failures.saturating_add(1);
                metrics.forward_error();
                tracing::warn!(worker = %worker, error = %messenger::error_chain(&e), "webhook forwarding round failed");
                poll.saturating_mul(1 << failures.min(6))
                    .clamp(poll, MAX_ERROR_PAUSE.max(poll))
            }
        };
        if pause.is_zero() {
            tokio::task::yield_now().await;
            continue;
        }
        tokio::select! {
            () = cancel.cancelled() => {}
            () = tokio::time::sleep(pause) => {}
        }
    }
    match forwarder.flush(Timestamp::now()).await {
        Ok(report) => metrics.forward(&report),
        Err(e) => {
            tracing::warn!(worker = %worker, error = %messenger::error_chain(&e), "flushing webhook batches failed")
        }
    }
}
