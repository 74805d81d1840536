//! Forwarding events to each space's webhook: the facade's [`Forwarder`], one task per target
//! (decision 0014), with what it does counted in the metrics.
//!
//! Several instances can forward from one store: the store's leases keep two of them from
//! sending the same event at once. On shutdown the requests under way finish and events waiting
//! for a batch are flushed.

use std::collections::HashMap;
use std::sync::Arc;

use messenger::events::{ForwardError, ForwardObserver, ForwardReport, Forwarder, WebhookTarget};
use messenger_store::Store;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::metrics::Metrics;

/// A forwarder for the spaces of `config` that have a webhook; `None` when none has.
pub(crate) fn forwarder(
    config: &Config,
    store: Arc<dyn Store>,
) -> Result<Option<Forwarder>, ForwardError> {
    let targets: HashMap<String, WebhookTarget> = config
        .spaces
        .iter()
        .filter_map(|s| {
            s.webhook.as_ref().map(|w| {
                let target = WebhookTarget::new(w.url.clone(), w.secret.expose())
                    .batch(w.batch_size, w.batch_window)
                    .schedule(w.retry_schedule.clone())
                    .timeout(w.timeout)
                    .max_in_flight(w.max_in_flight);
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

/// Runs the forwarder's targets until `cancel`, then finishes their requests and flushes
/// waiting batches. A forwarder arriving on `next` (a reload changed the webhooks; `None`: no
/// space has one now) replaces the running one: the running one stops the same way (its
/// deliveries under way finish on the old targets), then the new one starts.
pub(crate) async fn run(
    first: Option<Forwarder>,
    mut next: mpsc::Receiver<Option<Forwarder>>,
    worker: String,
    metrics: Metrics,
    cancel: CancellationToken,
) {
    let mut current = first;
    let mut replacements_open = true;
    loop {
        let stop = cancel.child_token();
        let running = current.take().map(|f| {
            tokio::spawn(
                f.observer(Arc::new(Counted(metrics.clone())))
                    .run(worker.clone(), stop.clone().cancelled_owned()),
            )
        });
        let replacement = tokio::select! {
            () = cancel.cancelled() => None,
            r = next.recv(), if replacements_open => match r {
                Some(f) => Some(f),
                None => {
                    // Nobody can reload any more: run this one until the end.
                    replacements_open = false;
                    cancel.cancelled().await;
                    None
                }
            },
        };
        stop.cancel();
        if let Some(task) = running {
            if let Err(e) = task.await {
                tracing::error!(error = %e, "the webhook forwarder stopped abnormally");
            }
        }
        match replacement {
            Some(f) => {
                tracing::info!(targets = f.is_some(), "webhook forwarder replaced");
                current = f;
            }
            None => return,
        }
    }
}

/// The metrics as the forwarder's observer.
struct Counted(Metrics);

impl ForwardObserver for Counted {
    fn report(&self, space: Option<&str>, report: &ForwardReport) {
        self.0.forward(report);
        if report.posts > 0 || report.dead > 0 || report.dropped > 0 {
            tracing::debug!(space, ?report, "webhook forwarding step");
        }
    }

    fn error(&self, _space: Option<&str>, _error: &ForwardError) {
        // The forwarder logs the error with its cause; here it is counted.
        self.0.forward_error();
    }

    fn in_flight(&self, space: &str, requests: usize) {
        self.0.forward_in_flight(space, requests);
    }
}
