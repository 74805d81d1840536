//! One batch delivered: the signed POST, then its outcome recorded on each event.

use std::sync::Arc;
use std::time::Instant;

use messenger_model::{EventEnvelope, Timestamp};
use messenger_store::{EventFailure, Store, StoreError};
use reqwest::Client;

use super::batch::{Batch, Held};
use super::lane::Lane;
use super::post::{self, Outcome};
use super::{duration_millis, elapsed_millis, ForwardReport};

/// What one delivery did.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Delivery {
    /// Its counts (`posts` is 0 or 1).
    pub(super) report: ForwardReport,
    /// The receiver failed (an answer other than 2xx and 400, a timeout, no connection): the
    /// target's own pause grows.
    pub(super) failed: bool,
}

/// Posts one batch of `lane`'s target and records the outcome on each of its events. `now` is
/// the time of the step that took the batch, `started` the instant it began.
pub(super) async fn deliver(
    store: Arc<dyn Store>,
    client: Client,
    lane: Arc<Lane>,
    batch: Batch,
    now: Timestamp,
    started: Instant,
) -> Result<Delivery, StoreError> {
    let mut done = Delivery::default();
    let target = &lane.target;
    let space = batch.space.as_str();
    let sent_at = now.add_millis(elapsed_millis(started));
    // Post only events whose lease outlasts the request, so nobody else can have them.
    let must_hold_until = sent_at.add_millis(duration_millis(target.timeout));
    let (events, lapsing): (Vec<Held>, Vec<Held>) = batch
        .events
        .into_iter()
        .partition(|h| !h.lapsed(must_hold_until));
    if !lapsing.is_empty() {
        tracing::warn!(
            space,
            count = lapsing.len(),
            "leases run out before a webhook request could finish; left to be leased again"
        );
    }
    if events.is_empty() {
        return Ok(done);
    }
    let envelopes: Vec<&EventEnvelope> = events.iter().map(|h| &h.event.envelope).collect();
    let body = if target.batch_size == 1 && envelopes.len() == 1 {
        serde_json::to_vec(envelopes[0])
    } else {
        serde_json::to_vec(&envelopes)
    };
    let outcome = match body {
        Ok(body) => {
            done.report.posts = 1;
            let unix_seconds = sent_at.millis().div_euclid(1000);
            post::post(&client, &lane.url, target, body, unix_seconds).await
        }
        Err(e) => Outcome::Refused(format!("the event could not be serialized: {e}")),
    };
    let done_at = now.add_millis(elapsed_millis(started));
    let report = &mut done.report;
    match outcome {
        Outcome::Delivered => {
            let ids: Vec<i64> = events.iter().map(|h| h.event.id).collect();
            store.mark_delivered(&ids, done_at).await?;
            report.delivered = ids.len();
            tracing::debug!(space, count = ids.len(), "events delivered to the webhook");
        }
        Outcome::Refused(error) => {
            for h in &events {
                let applied = store
                    .mark_failed(h.event.id, &h.worker, &error, EventFailure::Dead)
                    .await?;
                report.dead += usize::from(applied);
            }
            tracing::warn!(space, count = events.len(), error = %error, "webhook refused events; dead-lettered");
        }
        Outcome::Failed(error) => {
            done.failed = true;
            for h in &events {
                let retry = usize::try_from(h.event.attempts.saturating_sub(1))
                    .ok()
                    .and_then(|i| target.schedule.get(i));
                let failure = match retry {
                    Some(delay) => {
                        EventFailure::RetryAt(done_at.add_millis(duration_millis(*delay)))
                    }
                    None => EventFailure::Dead,
                };
                let dead = failure == EventFailure::Dead;
                if store
                    .mark_failed(h.event.id, &h.worker, &error, failure)
                    .await?
                {
                    if dead {
                        report.dead += 1;
                    } else {
                        report.retried += 1;
                    }
                }
            }
            tracing::warn!(space, count = events.len(), error = %error, "webhook delivery failed");
        }
    }
    Ok(done)
}
