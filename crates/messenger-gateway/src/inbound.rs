//! Meta's webhook bodies after their signature is checked: stored durably (group commit), then
//! applied by a background task.
//!
//! `POST /webhooks/facebook` checks the signature on the raw bytes, checks that the body is a
//! webhook payload, and hands it to [`Ingest::enqueue`], which stores it in the store's webhook
//! queue: concurrent requests are committed together in one transaction, and each request is
//! answered 200 only once its body is committed. The [`run_applier`] task then applies the queued
//! bodies (opt-ins, inbound messages, receipts) through the facade, in arrival order.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use messenger::Messenger;
use messenger_model::Timestamp;
use messenger_store::{Store, StoreError};
use tokio::sync::{mpsc, oneshot, Notify};
use tokio_util::sync::CancellationToken;

use crate::metrics::Metrics;

/// Bodies committed in one transaction at most.
const MAX_GROUP: usize = 512;
/// Bodies applied per round of the applier.
const APPLY_BATCH: usize = 256;
/// After a round that was not full, how long the applier lets bodies gather before the next one:
/// fewer, larger rounds cost less per body (one lease, one seen check, one receipts transaction
/// and one delete each), which leaves the store and the CPU to the 200 path.
const APPLY_GATHER: Duration = Duration::from_millis(20);

type Pending = (Bytes, oneshot::Sender<Result<(), Arc<StoreError>>>);

/// Stores verified webhook bodies durably, committing concurrent ones together.
#[derive(Clone, Debug)]
pub struct Ingest {
    tx: mpsc::Sender<Pending>,
}

/// Why a body could not be queued.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IngestError {
    /// The store refused the write.
    #[error("storing the webhook body failed")]
    Store(#[source] Arc<StoreError>),
    /// The gateway is shutting down.
    #[error("the gateway is shutting down")]
    Closed,
}

impl Ingest {
    /// Starts the committer task; it ends when every [`Ingest`] handle is dropped.
    pub fn start(
        store: Arc<dyn Store>,
        applied: Arc<Notify>,
    ) -> (Self, tokio::task::JoinHandle<()>) {
        let (tx, rx) = mpsc::channel(4 * MAX_GROUP);
        let task = tokio::spawn(commit_loop(store, rx, applied));
        (Self { tx }, task)
    }

    /// Stores `body`; returns once it is committed.
    pub async fn enqueue(&self, body: Bytes) -> Result<(), IngestError> {
        let (done, committed) = oneshot::channel();
        self.tx
            .send((body, done))
            .await
            .map_err(|_| IngestError::Closed)?;
        match committed.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(IngestError::Store(e)),
            Err(_) => Err(IngestError::Closed),
        }
    }
}

async fn commit_loop(store: Arc<dyn Store>, mut rx: mpsc::Receiver<Pending>, applied: Arc<Notify>) {
    let mut group: Vec<Pending> = Vec::with_capacity(MAX_GROUP);
    while rx.recv_many(&mut group, MAX_GROUP).await > 0 {
        let (bodies, waiters): (Vec<Vec<u8>>, Vec<_>) = group
            .drain(..)
            .map(|(body, done)| (body.to_vec(), done))
            .unzip();
        let outcome = store
            .enqueue_webhooks(bodies, Timestamp::now())
            .await
            .map(|_| ())
            .map_err(Arc::new);
        if let Err(e) = &outcome {
            tracing::error!(error = %messenger::error_chain(e.as_ref()), "storing webhook bodies failed");
        }
        for done in waiters {
            // The request may have gone (client hung up); nothing to do then.
            let _ = done.send(outcome.clone());
        }
        applied.notify_one();
    }
}

/// Applies queued bodies until `cancel` fires: a round of up to 256 bodies; after a round that
/// was not full, a pause of 20 ms (`APPLY_GATHER`); when there was nothing to do, a wait for the next
/// commit (or 250 ms).
pub async fn run_applier(
    messenger: Messenger,
    metrics: Metrics,
    worker: String,
    wake: Arc<Notify>,
    cancel: CancellationToken,
) {
    let mut backoff = Duration::from_millis(250);
    while !cancel.is_cancelled() {
        match messenger.apply_queued_webhooks(&worker, APPLY_BATCH).await {
            Ok(report) => {
                backoff = Duration::from_millis(250);
                metrics.webhook_events(&report);
                let events = report.applied + report.duplicates + report.ignored;
                if events >= APPLY_BATCH {
                    continue;
                }
                if events > 0 {
                    tokio::select! {
                        () = cancel.cancelled() => break,
                        () = tokio::time::sleep(APPLY_GATHER) => continue,
                    }
                }
            }
            Err(e) => {
                tracing::warn!(error = %messenger::error_chain(&e), "applying queued webhook bodies failed");
                backoff = (backoff * 2).min(Duration::from_secs(30));
            }
        }
        tokio::select! {
            () = cancel.cancelled() => break,
            () = wake.notified() => {}
            () = tokio::time::sleep(backoff) => {}
        }
    }
}
