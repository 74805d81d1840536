//! One leased message's attempt: the checks before sending (space, expiry, an interrupted
//! earlier attempt), then each rule in order until one sends. Nothing is written here: the
//! attempt ends in an [`Outcome`] that [`super::record`] writes, with retries.

use messenger_model::{
    Channel, MessageError, MessageStatus, Profile, RuleOutcome, RuleTraceEntry, Timestamp,
};
use messenger_store::{MessageRecord, Retry, Settlement, StatusUpdate};

use super::channel::Attempt;
use crate::send::page::Admission;
use crate::send::rules::{trace, RuleDecision};
use crate::webhook::WEBHOOK_LEASE;
use crate::{Error, Messenger, Space};

/// How long a message waits before it is tried again after the store failed during its
/// attempt (before anything was sent, or with what was sent recorded on the release).
const STORE_RETRY_MILLIS: i64 = 1_000;

/// How soon a message whose echoes may still be queued ([`Messenger::echoes_may_be_queued`])
/// is looked at again.
const ECHO_QUEUE_POLL_MILLIS: i64 = 250;

/// How one leased message's attempt ended, before anything is recorded.
pub(crate) enum Outcome {
    /// A final status (sent, failed, expired) with the Graph message ids of the sends and the
    /// rule trace, settled together with its event.
    Settle(Box<Settlement>),
    /// Give the message back, to be tried again later.
    Release(Release),
    /// Give the message back untouched, due at this time: its page's pace could not take it
    /// soon (nothing was sent, no status changes).
    Defer(Timestamp),
}

/// A message given back: what this attempt did is recorded first, then the lease is released.
pub(crate) struct Release {
    /// Graph message ids of sends this attempt made (the next attempt does not repeat them).
    pub graph_message_ids: Vec<String>,
    /// The rule trace entries of this attempt.
    pub rule_trace: Vec<RuleTraceEntry>,
    /// When, and why.
    pub retry: Retry,
}

/// What the rules have done so far in one attempt (kept when the store fails half-way).
#[derive(Default)]
struct Tried {
    entries: Vec<RuleTraceEntry>,
    /// Graph message ids of this attempt's sends.
    mids: Vec<String>,
}

impl Messenger {
    /// Sends one leased message, rule by rule, and says how it ended.
    pub(super) async fn attempt(&self, record: MessageRecord) -> Outcome {
        let now = self.now();
        let Ok(space) = self.space(&record.space) else {
            let error = MessageError {
                code: "space.unknown".into(),
                message: format!("API space {:?} is no longer configured", record.space),
            };
            return settle(
                record,
                StatusUpdate::new(MessageStatus::Failed, now).error(error),
            );
        };
        if record.request.expires_on.is_some_and(|at| at <= now) {
            return settle(
                record,
                StatusUpdate::new(MessageStatus::Expired, now)
                    .reason("expiresOn passed before the message could be sent"),
            );
        }
        if was_interrupted(&record) && !self.inner.echo_grace.is_zero() {
            // The previous holder died mid-attempt: a send may have reached Meta without being
            // recorded. Give Meta's echoes (which carry our send tags) time to confirm it before
            // sending again.
            return Outcome::Release(Release {
                graph_message_ids: Vec::new(),
                rule_trace: vec![trace(
                    Channel::FbMessenger,
                    RuleOutcome::Skipped,
                    ECHO_WAIT,
                    now,
                )],
                retry: Retry::at(now.add_duration(self.inner.echo_grace), now).reason(ECHO_WAIT),
            });
        }
        if let Some(until) = self.echoes_may_be_queued(&record, now).await {
            return Outcome::Defer(until);
        }
        let mut tried = Tried::default();
        match self.try_rules(space, &record, &mut tried, now).await {
            Ok(outcome) => outcome,
            Err(e) => {
                // The store failed while the rules were checked (the profile, the 24-hour
                // window): give the message back at once, with whatever it sent.
                tracing::warn!(
                    space = %space.id,
                    message = %record.id,
                    error = %crate::error::chain(&e),
                    "a send attempt could not read the store; giving the message back"
                );
                let reason = format!("the store failed during the attempt: {e}");
                Outcome::Release(Release {
                    graph_message_ids: tried.mids,
                    rule_trace: tried.entries,
                    retry: Retry::at(now.add_millis(STORE_RETRY_MILLIS), now).reason(reason),
                })
            }
        }
    }

    /// Right after a wait for echoes ([`ECHO_WAIT`]): whether a webhook body received before
    /// the wait ended and naming this message (an echo carries the send tag) is still queued,
    /// unapplied. An instance that died while applying it holds it for [`WEBHOOK_LEASE`]; rather
    /// than send again, the message is given back untouched for a moment ([`Outcome::Defer`]).
    /// Bounded: once the wait ended more than a webhook lease and a grace ago, the message is
    /// sent even if such a body remains (one that cannot be applied is retried for ever and
    /// must not hold its message back for ever).
    async fn echoes_may_be_queued(
        &self,
        record: &MessageRecord,
        now: Timestamp,
    ) -> Option<Timestamp> {
        let wait = record.status_history.last().filter(|c| {
            c.status == MessageStatus::Retrying && c.reason.as_deref() == Some(ECHO_WAIT)
        })?;
        let grace = self.inner.echo_grace;
        let wait_ended = wait.at.add_duration(grace);
        if now >= wait_ended.add_duration(WEBHOOK_LEASE).add_duration(grace) {
            return None;
        }
        let queued = self
            .inner
            .store
            .webhook_queued_mentioning(record.id.as_bytes(), wait_ended)
            .await;
        match queued {
            Ok(true) => Some(now.add_millis(ECHO_QUEUE_POLL_MILLIS)),
            Ok(false) => None,
            Err(e) => {
                tracing::warn!(
                    message = %record.id,
                    error = %crate::error::chain(&e),
                    "could not search the webhook queue after a wait for echoes; trying again shortly"
                );
                Some(now.add_millis(STORE_RETRY_MILLIS))
            }
        }
    }

    /// Each rule in order: skipped, sent (the end), rejected (the next rule), or to be retried
    /// (the end, for now). Only reads the store.
    async fn try_rules(
        &self,
        space: &Space,
        record: &MessageRecord,
        tried: &mut Tried,
        now: Timestamp,
    ) -> Result<Outcome, Error> {
        let profile: Option<Profile> = match &record.request.to.profile_id {
            Some(id) => self.inner.store.get_profile(&space.id, id).await?,
            None => None,
        };
        let mut last_error = None;
        // After Messenger missed its delivery deadline, the attempt starts at the rule after it.
        let start = if record.missed_delivery_deadline() {
            record
                .request
                .rules
                .iter()
                .position(|c| *c == Channel::FbMessenger)
                .map_or(0, |i| i + 1)
        } else {
            0
        };
        for &channel in record.request.rules.iter().skip(start) {
            let decision = self
                .check_rule(space, &record.request, profile.as_ref(), channel, now)
                .await?;
            let attempt = match decision {
                RuleDecision::Skip(v) => {
                    tried
                        .entries
                        .push(trace(channel, RuleOutcome::Skipped, v.message, now));
                    continue;
                }
                RuleDecision::Messenger(address) => match space.health.admit(now) {
                    Admission::Go => {
                        self.send_messenger(space, record, &address, &mut tried.mids, now)
                            .await
                    }
                    Admission::Wait { until, reason } => {
                        let outage = space
                            .fallback_on_outage
                            .zip(space.health.failing_for(now))
                            .filter(|(after, failing)| failing >= after);
                        if let Some((after, _)) = outage {
                            tried.entries.push(trace(
                                channel,
                                RuleOutcome::Skipped,
                                format!(
                                    "Messenger has been failing for the page for over {} s: {reason}",
                                    after.as_secs()
                                ),
                                now,
                            ));
                            continue;
                        }
                        Attempt::Retry {
                            at: until,
                            error: MessageError {
                                code: "page.paused".into(),
                                message: reason,
                            },
                        }
                    }
                },
                RuleDecision::Sms(address, text) => {
                    self.send_sms(space, record, &address.number, text, now)
                        .await
                }
            };
            match attempt {
                Attempt::Deferred(until) => return Ok(Outcome::Defer(until)),
                Attempt::Sent {
                    sends,
                    psid,
                    provider_id,
                    at,
                } => {
                    let by = provider_id
                        .map(|id| format!("; provider message id {id}"))
                        .unwrap_or_default();
                    let plural = if sends > 1 { "s" } else { "" };
                    tried.entries.push(trace(
                        channel,
                        RuleOutcome::Used,
                        format!("sent ({} send{plural}{by})", sends.max(1)),
                        now,
                    ));
                    let mut update = StatusUpdate::new(MessageStatus::Sent, at).channel(channel);
                    if let (Channel::FbMessenger, Some(psid)) = (channel, psid) {
                        update = update.sent_to(space.page_id.clone(), psid);
                    }
                    return Ok(Outcome::Settle(Box::new(
                        Settlement::new(record.space.clone(), record.id.clone(), update)
                            .graph_message_ids(std::mem::take(&mut tried.mids))
                            .rule_trace(std::mem::take(&mut tried.entries)),
                    )));
                }
                Attempt::Rejected(error) => {
                    tried.entries.push(trace(
                        channel,
                        RuleOutcome::Failed,
                        format!("{}: {}", error.code, error.message),
                        now,
                    ));
                    last_error = Some(error);
                }
                Attempt::Retry { at, error } => {
                    tried.entries.push(trace(
                        channel,
                        RuleOutcome::Failed,
                        format!("{} (will retry at {at})", error.code),
                        now,
                    ));
                    let retry = Retry::at(at, now)
                        .reason(error.message.clone())
                        .error(error);
                    return Ok(Outcome::Release(Release {
                        graph_message_ids: std::mem::take(&mut tried.mids),
                        rule_trace: std::mem::take(&mut tried.entries),
                        retry,
                    }));
                }
            }
        }
        let error = last_error.unwrap_or_else(|| MessageError {
            code: "rules.exhausted".into(),
            message:
                "no rule could deliver the message: every channel was skipped (see the rule trace)"
                    .into(),
        });
        Ok(Outcome::Settle(Box::new(
            Settlement::new(
                record.space.clone(),
                record.id.clone(),
                StatusUpdate::new(MessageStatus::Failed, now).error(error),
            )
            .graph_message_ids(std::mem::take(&mut tried.mids))
            .rule_trace(std::mem::take(&mut tried.entries)),
        )))
    }
}

/// A final status for `record`, with nothing sent.
fn settle(record: MessageRecord, update: StatusUpdate) -> Outcome {
    Outcome::Settle(Box::new(Settlement::new(record.space, record.id, update)))
}

/// Why a message waits after an interrupted attempt (also how such waits are counted).
const ECHO_WAIT: &str =
    "the previous attempt was interrupted; waiting for Meta's message echoes before sending again";

/// Whether an earlier lease of `record` ended without its holder recording anything (it died)
/// and that has not been waited for yet: every lease counts an attempt, every orderly release
/// records a `retrying` status, and every wait for echoes is such a release.
fn was_interrupted(record: &MessageRecord) -> bool {
    let retrying = record
        .status_history
        .iter()
        .filter(|c| c.status == MessageStatus::Retrying);
    let releases = retrying.clone().count();
    let waits = retrying
        .filter(|c| c.reason.as_deref() == Some(ECHO_WAIT))
        .count();
    let died = (record.attempts as usize).saturating_sub(1 + releases);
    died > waits
}
