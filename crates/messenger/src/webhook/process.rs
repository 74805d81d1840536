//! Processing Meta's webhook bodies: checks, deduplication, and receipts applied in groups.
//!
//! Receipts are most of what Meta sends (a delivery and a read for every message sent, and with
//! `message_echoes` an echo too), so they do not go through the store one at a time: consecutive
//! receipts, across events and bodies, are gathered into a run and applied with one
//! [`Store::apply_receipts`](messenger_store::Store::apply_receipts) call, which also queues
//! their `message.delivered`/`message.read` events and marks them seen, in one transaction.
//! Echoes of sends already recorded (the common case) join the run as keys to mark. Any other
//! event (an opt-in, an inbound message, a postback, a reaction, an edit, response feedback, a
//! referral, a handover, an echo that confirms an unrecorded send)
//! first applies the run gathered so far, so events still take effect in the order Meta sent
//! them.
//!
//! Instagram bodies (`"object":"instagram"`) take the same path, event by event, routed by the
//! account their entry names ([`super::instagram`]); their reads (by `mid`) join the runs as
//! read receipts.

use std::collections::HashSet;

use messenger_model::webhook::{
    EventKind, EventList, InstagramBody, InstagramComment, InstagramEvent, MessagingEvent,
    WebhookPayload,
};
use messenger_model::Timestamp;
use messenger_store::{MessengerRecipient, QuarantinedEvent, QueuedWebhook, Receipt};
use sha2::{Digest, Sha256};

use super::apply::Occurrence;
use super::horizon::{past_horizon, REPLAY_REASON};
use super::instagram::Step;
use super::{verify_signature, SignatureError};
use crate::{Error, Messenger, Space};

/// Why a webhook body was refused before anything was processed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WebhookError {
    /// The signature is missing or wrong (answer 401/403; Meta will redeliver).
    #[error(transparent)]
    Signature(#[from] SignatureError),
    /// The facade has no app secret to check signatures with.
    #[error("no Facebook app secret is configured: webhook signatures cannot be checked")]
    NoAppSecret,
    /// The body is not a webhook payload (400).
    #[error("malformed webhook body: {0}")]
    Malformed(#[from] messenger_model::ModelError),
    /// Processing failed (500: Meta redelivers, and what was applied is not applied twice).
    #[error(transparent)]
    Processing(#[from] Error),
}

/// What a webhook batch did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WebhookReport {
    /// Events applied.
    pub applied: usize,
    /// Events seen before (redeliveries), skipped.
    pub duplicates: usize,
    /// Events of pages no space owns, or events the product reads but does not act on (echoes
    /// of sends already recorded, events without the ids they need).
    pub ignored: usize,
    /// Events (or whole bodies) that could not be applied: kept in the store's quarantine
    /// ([`messenger_store::Quarantine`]).
    pub quarantined: usize,
}

impl WebhookReport {
    /// Counts an event that was applied (`true`) or read and left alone (`false`).
    fn count(&mut self, applied: bool) {
        if applied {
            self.applied += 1;
        } else {
            self.ignored += 1;
        }
    }

    fn add(&mut self, other: Self) {
        self.applied += other.applied;
        self.duplicates += other.duplicates;
        self.ignored += other.ignored;
        self.quarantined += other.quarantined;
    }
}

/// What one event to process is.
#[derive(Clone, Copy)]
pub(super) enum Subject<'a> {
    /// A Messenger event of the space's page.
    Page(&'a MessagingEvent),
    /// An Instagram direct-message event of one of the space's accounts.
    Instagram(&'a InstagramEvent),
    /// A comment on the media of one of the space's Instagram accounts.
    Comment(&'a InstagramComment),
}

/// One event to process, with its space, deduplication key and when it happened.
pub(super) struct Pending<'a> {
    /// The space as it was when the body was taken up (one configuration for all its events).
    pub(super) space: std::sync::Arc<Space>,
    pub(super) subject: Subject<'a>,
    pub(super) key: String,
    pub(super) seen: Occurrence,
}

impl Pending<'_> {
    /// The event as Meta sent it (as the model reads it), for the quarantine.
    fn raw(&self) -> Vec<u8> {
        match self.subject {
            Subject::Page(event) => serde_json::to_vec(event),
            Subject::Instagram(event) => serde_json::to_vec(&event.event),
            Subject::Comment(comment) => serde_json::to_vec(&comment.raw),
        }
        .unwrap_or_default()
    }

    /// The page or Instagram account the event is for.
    fn owner(&self) -> &str {
        match self.subject {
            Subject::Page(_) => &self.space.page_id,
            Subject::Instagram(event) => &event.account_id,
            Subject::Comment(comment) => &comment.account_id,
        }
    }
}

/// A queued body, read: a page's (Messenger) or an Instagram account's.
enum Parsed {
    Page(WebhookPayload),
    Instagram(InstagramBody),
}

impl Parsed {
    /// Reads a body: fails only when it is not a JSON object (see [`WebhookPayload::from_json`]);
    /// `"object":"instagram"` bodies are read by [`InstagramBody`].
    fn read(bytes: &[u8]) -> Result<Self, messenger_model::ModelError> {
        let payload = WebhookPayload::from_json(bytes)?;
        Ok(if payload.object == "instagram" {
            Self::Instagram(InstagramBody::parse(bytes))
        } else {
            Self::Page(payload)
        })
    }
}

/// Receipts gathered to be applied together, and the keys to mark seen with them.
#[derive(Default)]
struct Run {
    receipts: Vec<Receipt>,
    keys: Vec<String>,
}

/// A short stable digest of `bytes`, for quarantine keys.
pub(super) fn digest(bytes: &[u8]) -> String {
    hex::encode(&Sha256::digest(bytes)[..16])
}

/// A whole body that is not a webhook payload, for the quarantine.
fn quarantined_body(queued: &QueuedWebhook, reason: &str, now: Timestamp) -> QuarantinedEvent {
    QuarantinedEvent {
        key: format!("body:{}", digest(&queued.body)),
        reason: format!("the body is not a webhook payload: {reason}"),
        page_id: None,
        raw: queued.body.clone(),
        received_at: queued.received_at,
        quarantined_at: now,
    }
}

/// One event the product cannot apply, for the quarantine.
fn quarantined_event(p: &Pending<'_>, reason: &str, now: Timestamp) -> QuarantinedEvent {
    let raw = p.raw();
    QuarantinedEvent {
        key: format!("event:{}", digest(&raw)),
        reason: reason.to_owned(),
        page_id: Some(p.owner().to_owned()),
        raw,
        received_at: now,
        quarantined_at: now,
    }
}

/// The receipt a delivery or read event carries, if it names its sender.
fn receipt_of(space: &Space, event: &MessagingEvent, at: Timestamp) -> Option<Receipt> {
    let to = MessengerRecipient::new(space.page_id.clone(), event.sender_id()?);
    match event.kind() {
        EventKind::Delivery(d) => {
            let watermark = Timestamp::from_millis(d.watermark);
            Some(Receipt::delivered(space.id.clone(), to, watermark, at).mids(d.mids.iter()))
        }
        EventKind::Read(r) => {
            let watermark = Timestamp::from_millis(r.watermark);
            Some(Receipt::read(space.id.clone(), to, watermark, at))
        }
        _ => None,
    }
}

/// How long an applier holds the bodies it leased. Long, so that a slow round (profiles fetched
/// from Graph) is not applied twice; a holder that dies frees them only when this runs out (or
/// when its instance starts again, see `WebhookQueue::recover_webhook_leases_of`).
pub(crate) const WEBHOOK_LEASE: std::time::Duration = std::time::Duration::from_secs(60);

impl Messenger {
    /// Checks `X-Hub-Signature-256` on the raw body, parses it and processes it.
    pub async fn handle_webhook(
        &self,
        body: &[u8],
        signature: Option<&str>,
    ) -> Result<WebhookReport, WebhookError> {
        self.verify_webhook(body, signature)?;
        Ok(match Parsed::read(body)? {
            Parsed::Page(payload) => self.process_webhook(&payload).await?,
            Parsed::Instagram(body) => self.process_instagram_webhook(&body).await?,
        })
    }

    /// Checks `X-Hub-Signature-256` on the raw body (constant time): valid when it is the
    /// Facebook app's signature, or, for an Instagram body, the signature of the Instagram app of
    /// every account its entries name ([`InstagramAccount::app_secret`](crate::InstagramAccount),
    /// see the `webhook/instagram` module).
    pub fn verify_webhook(&self, body: &[u8], signature: Option<&str>) -> Result<(), WebhookError> {
        let by_app = self
            .inner
            .app_secret
            .as_deref()
            .map(|secret| verify_signature(secret, signature, body));
        match by_app {
            Some(Ok(())) => return Ok(()),
            Some(Err(e @ (SignatureError::Missing | SignatureError::Malformed))) => {
                return Err(e.into())
            }
            _ => {}
        }
        match self.instagram_signature(body, signature) {
            Some(verified) => Ok(verified?),
            None => Err(match by_app {
                Some(Err(e)) => e.into(),
                _ => WebhookError::NoAppSecret,
            }),
        }
    }

    /// Applies verified webhook bodies that the gateway queued (see
    /// `messenger_store::WebhookQueue`): leases up to `limit`, oldest first, applies their events
    /// together (receipts in groups, see the module docs) and removes them. When that fails, each
    /// body is applied alone, so one that cannot be applied does not hold back the others; a body
    /// that still fails (the store is down) is handed back and tried again in 5 s. A body that is
    /// not a JSON object goes to the quarantine whole (its signature was checked, so Meta sent it
    /// that way and a redelivery would not be better), as does each event that cannot be read
    /// or whose kind the product does not know. Events that took effect in a combined round that
    /// then failed are found seen by the one-by-one pass and reported as duplicates (the report
    /// is for metrics; every event takes effect once).
    pub async fn apply_queued_webhooks(
        &self,
        worker: &str,
        limit: usize,
    ) -> Result<WebhookReport, Error> {
        let store = &self.inner.store;
        let now = self.now();
        let leased = store
            .lease_webhooks(worker, now, limit, WEBHOOK_LEASE)
            .await?;
        let mut done = Vec::with_capacity(leased.len());
        let mut bodies: Vec<(&QueuedWebhook, Parsed)> = Vec::with_capacity(leased.len());
        let mut unreadable = Vec::new();
        for queued in &leased {
            match Parsed::read(&queued.body) {
                Ok(payload) => bodies.push((queued, payload)),
                Err(e) => {
                    unreadable.push(quarantined_body(queued, &e.to_string(), now));
                    done.push(queued.id);
                }
            }
        }
        let mut report = WebhookReport {
            quarantined: self.quarantine(unreadable).await?,
            ..WebhookReport::default()
        };
        for (queued, parsed) in &bodies {
            report.quarantined += match parsed {
                Parsed::Page(payload) => {
                    self.quarantine_unparsed(payload, queued.received_at)
                        .await?
                }
                Parsed::Instagram(body) => {
                    self.quarantine_instagram(body, queued.received_at).await?
                }
            };
        }
        // Events of pages no space owns, counted as ignored when the bodies are applied together.
        let mut unrouted = WebhookReport::default();
        let all: Vec<Pending<'_>> = bodies
            .iter()
            .flat_map(|(queued, parsed)| self.pending_of(parsed, queued.received_at, &mut unrouted))
            .collect();
        match self.process_events(all).await {
            Ok(r) => {
                report.add(r);
                report.add(unrouted);
                done.extend(bodies.iter().map(|(queued, _)| queued.id));
            }
            Err(e) if bodies.len() > 1 => {
                tracing::warn!(error = %e, bodies = bodies.len(), "applying webhook bodies together failed; applying them one by one");
                for (queued, parsed) in &bodies {
                    let mut alone = WebhookReport::default();
                    let pending = self.pending_of(parsed, queued.received_at, &mut alone);
                    match self.process_events(pending).await.map(|r| {
                        alone.add(r);
                        alone
                    }) {
                        Ok(r) => {
                            report.add(r);
                            done.push(queued.id);
                        }
                        Err(e) => self.retry_webhook_later(queued, worker, now, &e).await?,
                    }
                }
            }
            Err(e) => {
                for (queued, _) in &bodies {
                    self.retry_webhook_later(queued, worker, now, &e).await?;
                }
            }
        }
        store.complete_webhooks(&done).await?;
        Ok(report)
    }

    /// Hands a queued body that failed to apply back, to be tried again in 5 s.
    async fn retry_webhook_later(
        &self,
        queued: &QueuedWebhook,
        worker: &str,
        now: Timestamp,
        error: &Error,
    ) -> Result<(), Error> {
        tracing::warn!(id = queued.id, attempts = queued.attempts, error = %error, "applying a webhook body failed; will retry");
        self.inner
            .store
            .release_webhook(queued.id, worker, now.add_millis(5_000))
            .await?;
        Ok(())
    }

    /// Processes a parsed (and already verified) webhook payload. Every step is idempotent and
    /// each event is remembered once applied, so a redelivered batch changes nothing, and a
    /// batch that failed half-way can be processed again.
    pub async fn process_webhook(&self, payload: &WebhookPayload) -> Result<WebhookReport, Error> {
        let now = self.now();
        let mut report = WebhookReport {
            quarantined: self.quarantine_unparsed(payload, now).await?,
            ..WebhookReport::default()
        };
        let pending = self.pending(payload, now, &mut report);
        report.add(self.process_events(pending).await?);
        Ok(report)
    }

    /// [`Messenger::process_webhook`] for an Instagram body (already verified): its events for
    /// the spaces that own their accounts; what the model could not read is quarantined.
    pub async fn process_instagram_webhook(
        &self,
        body: &InstagramBody,
    ) -> Result<WebhookReport, Error> {
        let now = self.now();
        let mut report = WebhookReport {
            quarantined: self.quarantine_instagram(body, now).await?,
            ..WebhookReport::default()
        };
        let pending = self.instagram_pending(body, now, &mut report);
        report.add(self.process_events(pending).await?);
        Ok(report)
    }

    /// The events of a queued body (see [`Messenger::pending`]).
    fn pending_of<'a>(
        &'a self,
        parsed: &'a Parsed,
        now: Timestamp,
        report: &mut WebhookReport,
    ) -> Vec<Pending<'a>> {
        match parsed {
            Parsed::Page(payload) => self.pending(payload, now, report),
            Parsed::Instagram(body) => self.instagram_pending(body, now, report),
        }
    }

    /// The events of `payload` (its entries' `messaging` and `standby` events) for the spaces
    /// that own their pages; the others are counted in `report` as ignored. An event without a
    /// timestamp happened at its entry's `time`, or else `now`.
    fn pending<'a>(
        &'a self,
        payload: &'a WebhookPayload,
        now: Timestamp,
        report: &mut WebhookReport,
    ) -> Vec<Pending<'a>> {
        let mut pending = Vec::new();
        for entry in &payload.entry {
            let Some(space) = self.space_for_page(&entry.id) else {
                let events = entry.messaging.len() + entry.standby.len();
                tracing::warn!(page_id = %entry.id, events, "webhook entry for a page no space owns");
                report.ignored += events;
                continue;
            };
            let fallback = if entry.time > 0 {
                entry.time
            } else {
                now.millis()
            };
            pending.extend(entry.events().map(|(list, event)| Pending {
                space: std::sync::Arc::clone(&space),
                subject: Subject::Page(event),
                key: format!("{}:{}:{}", space.id, space.page_id, event.dedupe_key()),
                seen: Occurrence {
                    at: Timestamp::from_millis(event.occurred_at_or(fallback)),
                    standby: list == EventList::Standby,
                },
            }));
        }
        pending
    }

    /// Quarantines what `payload` holds that could not be read (events and entries); returns
    /// how many.
    pub(super) async fn quarantine_unparsed(
        &self,
        payload: &WebhookPayload,
        received_at: Timestamp,
    ) -> Result<usize, Error> {
        let now = self.now();
        let events = payload
            .unparsed_events()
            .map(|(entry, unparsed)| {
                let raw = serde_json::to_vec(&unparsed.raw).unwrap_or_default();
                QuarantinedEvent {
                    key: format!("event:{}", digest(&raw)),
                    reason: format!(
                        "{}[{}] cannot be read: {}",
                        unparsed.list.as_str(),
                        unparsed.index,
                        unparsed.error
                    ),
                    page_id: entry.map(|e| e.id.clone()).filter(|id| !id.is_empty()),
                    raw,
                    received_at,
                    quarantined_at: now,
                }
            })
            .collect();
        self.quarantine(events).await
    }

    /// Processes events in order: skips those seen before (one store query for all), quarantines
    /// those older than the [dedupe horizon](super::DEDUPE_HORIZON) (replays), gathers
    /// receipts and no-op echoes into runs, and applies anything else alone, after the run
    /// before it.
    pub(super) async fn process_events(
        &self,
        events: Vec<Pending<'_>>,
    ) -> Result<WebhookReport, Error> {
        let mut report = WebhookReport::default();
        let keys: Vec<String> = events.iter().map(|p| p.key.clone()).collect();
        let seen = self.inner.store.seen_among(&keys).await?;
        let mut taken: HashSet<&str> = HashSet::with_capacity(events.len());
        let mut run = Run::default();
        let now = self.now();
        for p in &events {
            if seen.contains(&p.key) || !taken.insert(p.key.as_str()) {
                report.duplicates += 1;
                continue;
            }
            if past_horizon(p.seen.at, now) {
                // Its id may have been forgotten: a captured body posted again.
                let entry = quarantined_event(p, REPLAY_REASON, now);
                report.quarantined += self.quarantine(vec![entry]).await?;
                run.keys.push(p.key.clone());
                continue;
            }
            let event = match p.subject {
                Subject::Page(event) => event,
                Subject::Instagram(event) => {
                    match self.instagram_step(&p.space, event, p.seen.at).await? {
                        Step::Receipt(receipt) => {
                            run.receipts.push(receipt);
                            run.keys.push(p.key.clone());
                            report.applied += 1;
                            continue;
                        }
                        Step::Ignore => {
                            run.keys.push(p.key.clone());
                            report.ignored += 1;
                            continue;
                        }
                        Step::Apply(target) => {
                            self.apply_run(&mut run).await?;
                            let applied = self
                                .apply_instagram(&p.space, event, p.seen, target)
                                .await?;
                            report.count(applied);
                        }
                    }
                    self.inner.store.mark_seen(&p.key, self.now()).await?;
                    continue;
                }
                Subject::Comment(comment) => {
                    self.apply_run(&mut run).await?;
                    let applied = self.apply_comment(&p.space, comment, p.seen).await?;
                    report.count(applied);
                    self.inner.store.mark_seen(&p.key, self.now()).await?;
                    continue;
                }
            };
            if let Some(receipt) = receipt_of(&p.space, event, p.seen.at) {
                run.receipts.push(receipt);
                run.keys.push(p.key.clone());
                report.applied += 1;
                continue;
            }
            if let EventKind::Unknown = event.kind() {
                let entry = quarantined_event(p, "unknown event kind", self.now());
                report.quarantined += self.quarantine(vec![entry]).await?;
                run.keys.push(p.key.clone());
                continue;
            }
            let echo = match event.kind() {
                EventKind::Echo(_) => Some(self.echo_target(&p.space, event).await?),
                _ => None,
            };
            let foreign = match event.kind() {
                EventKind::Echo(e) => self.sent_by_another(e).is_some(),
                _ => false,
            };
            if matches!(echo, Some(None)) && !foreign {
                // Nothing left to confirm: only remember it, with the run.
                run.keys.push(p.key.clone());
                report.ignored += 1;
                continue;
            }
            self.apply_run(&mut run).await?;
            let applied = match echo {
                Some(Some(target)) => self.apply_echo(&p.space, target).await?,
                _ => self.apply_event(&p.space, event, p.seen).await?,
            };
            report.count(applied);
            self.inner.store.mark_seen(&p.key, self.now()).await?;
        }
        self.apply_run(&mut run).await?;
        Ok(report)
    }

    /// Keeps `events` in the store's quarantine, logging each key; returns how many (a key
    /// quarantined before counts too: its redelivery was not applied either).
    pub(super) async fn quarantine(&self, events: Vec<QuarantinedEvent>) -> Result<usize, Error> {
        let n = events.len();
        for e in &events {
            tracing::warn!(key = %e.key, page_id = e.page_id.as_deref().unwrap_or("-"), reason = %e.reason, "a Meta webhook event was quarantined: see the quarantine route");
        }
        if n > 0 {
            self.inner.store.quarantine(events).await?;
        }
        Ok(n)
    }

    /// Applies the gathered receipts with their events and marks their keys seen, in one store
    /// call; empties the run.
    async fn apply_run(&self, run: &mut Run) -> Result<(), Error> {
        if run.receipts.is_empty() && run.keys.is_empty() {
            return Ok(());
        }
        let Run { receipts, keys } = std::mem::take(run);
        let events = |m: &messenger_store::MessageRecord| self.status_event(m);
        self.inner
            .store
            .apply_receipts(receipts, &events, &keys, self.now())
            .await?;
        Ok(())
    }
}
