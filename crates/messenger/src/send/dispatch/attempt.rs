//! One leased message's attempt: the checks before sending (space, expiry, an interrupted
//! earlier attempt), then each rule in order until one sends. Nothing is written here: the
//! attempt ends in an [`Outcome`] that [`super::record`] writes, with retries.

use messenger_model::{
    Channel, MessageError, MessageStatus, Profile, RuleCause, RuleOutcome, RuleTraceEntry,
    StatusChange, Timestamp,
};
use messenger_store::{MessageRecord, Retry, Settlement, StatusUpdate};

use super::channel::Attempt;
use crate::send::fallback::{self, Then, Turn};
use crate::send::outlet::Outlet;
use crate::send::page::Admission;
use crate::send::rules::RuleDecision;
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
        let space = &*space;
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
            let wait = RuleTraceEntry::new(
                Channel::FbMessenger,
                RuleOutcome::Skipped,
                RuleCause::EchoWait,
                "",
                now,
            );
            return Outcome::Release(Release {
                graph_message_ids: Vec::new(),
                retry: Retry::at(now.add_duration(self.inner.echo_grace), now)
                    .reason(wait.reason.clone()),
                rule_trace: vec![wait],
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

    /// Right after a wait for echoes ([`RuleCause::EchoWait`]): whether a webhook body received before
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
        let wait = record
            .status_history
            .last()
            .filter(|change| is_echo_wait(record, change))?;
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

    /// Each rule in order ([`fallback::rules_to_try`]), each turn's cause deciding what follows
    /// ([`fallback::after`]): the end (sent), the same rule later (released), or the next rule;
    /// when none is left the message fails. Only reads the store.
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
        for &channel in fallback::rules_to_try(&record.request.rules, &record.rule_trace) {
            let turn = match self
                .take_turn(space, record, profile.as_ref(), channel, tried, now)
                .await?
            {
                Attempt::Ended(turn) => turn,
                Attempt::Deferred(until) => return Ok(Outcome::Defer(until)),
            };
            tried.entries.push(turn.entry(channel, now));
            match fallback::after(turn.cause) {
                Then::Done => return Ok(sent(space, record, channel, turn, tried, now)),
                Then::Wait => return Ok(release(tried, turn, now)),
                Then::NextRule => last_error = turn.error.or(last_error),
            }
        }
        Ok(exhausted(record, tried, last_error, now))
    }

    /// One rule's turn: whether `channel` can take the message now, and the send when it can.
    /// Messenger's turn goes through the page's circuit and the outage rule.
    async fn take_turn(
        &self,
        space: &Space,
        record: &MessageRecord,
        profile: Option<&Profile>,
        channel: Channel,
        tried: &mut Tried,
        now: Timestamp,
    ) -> Result<Attempt, Error> {
        let decision = self
            .check_rule(space, &record.request, profile, channel, now)
            .await?;
        Ok(match decision {
            RuleDecision::Skip(v) => Turn::skipped(fallback::skip_cause(v.code), v.message).into(),
            RuleDecision::Messenger(address) => {
                let outlet = space.page_outlet();
                let mids = &mut tried.mids;
                let send = self.send_messenger(space, record, &address, mids, now);
                self.through_circuit(&outlet, send, now).await
            }
            RuleDecision::Instagram(address) => {
                let Some(account) = space.instagram_account(&address.account_id) else {
                    let why = "the Instagram account is no longer connected to the space";
                    return Ok(Turn::skipped(RuleCause::NotConfigured, why).into());
                };
                let outlet = space.instagram_outlet(account);
                let (recipient, mids) = (&address.recipient, &mut tried.mids);
                let send = self.send_instagram(space, account, record, recipient, mids, now);
                match self.through_circuit(&outlet, send, now).await {
                    Attempt::Ended(turn) => Attempt::Ended(turn.by_account(&account.id)),
                    deferred => deferred,
                }
            }
            RuleDecision::Sms(address, text) => {
                let turn = self.send_sms(space, record, &address.number, text, now);
                turn.await.into()
            }
        })
    }
}

impl Messenger {
    /// A Graph channel's turn through `outlet`'s circuit: `send` runs only when the circuit
    /// admits it; a turn that ends in the outlet's trouble goes through the outage rule.
    async fn through_circuit(
        &self,
        outlet: &Outlet<'_>,
        send: impl std::future::Future<Output = Attempt>,
        now: Timestamp,
    ) -> Attempt {
        let (attempt, sent) = match outlet.health.admit(now) {
            Admission::Go => (send.await, true),
            Admission::Wait { until, reason } => {
                let error = MessageError {
                    code: "page.paused".into(),
                    message: reason,
                };
                (Turn::trouble(until, error).into(), false)
            }
        };
        match attempt {
            Attempt::Ended(turn) => {
                let failing_for = outlet.health.failing_for(now);
                let outage = outlet.space.fallback_on_outage;
                fallback::after_page_trouble(turn, outage, failing_for, sent).into()
            }
            deferred => deferred,
        }
    }
}

/// The message went out on `channel` (to the turn's PSID on Messenger or IGSID on Instagram,
/// at the start of its last request): settled as sent with what this attempt did.
fn sent(
    space: &Space,
    record: &MessageRecord,
    channel: Channel,
    turn: Turn,
    tried: &mut Tried,
    now: Timestamp,
) -> Outcome {
    let at = turn.sent_at.unwrap_or(now);
    let mut update = StatusUpdate::new(MessageStatus::Sent, at).channel(channel);
    match (channel, turn.psid, turn.account) {
        (Channel::FbMessenger, Some(psid), _) => {
            update = update.sent_to(space.page_id.clone(), psid);
        }
        (Channel::Instagram, Some(igsid), Some(account)) => {
            update = update.sent_to(account, igsid);
        }
        _ => {}
    }
    Outcome::Settle(Box::new(
        Settlement::new(record.space.clone(), record.id.clone(), update)
            .graph_message_ids(std::mem::take(&mut tried.mids))
            .rule_trace(std::mem::take(&mut tried.entries)),
    ))
}

/// The same rule later: the message is given back with what this attempt did, due when `turn`
/// says.
fn release(tried: &mut Tried, turn: Turn, now: Timestamp) -> Outcome {
    let mut retry = Retry::at(turn.retry_at.unwrap_or(now), now);
    if let Some(error) = turn.error {
        retry = retry.reason(error.message.clone()).error(error);
    }
    Outcome::Release(Release {
        graph_message_ids: std::mem::take(&mut tried.mids),
        rule_trace: std::mem::take(&mut tried.entries),
        retry,
    })
}

/// No rule is left: the message fails with the last rule's error (or `rules.exhausted` when
/// every rule was skipped).
fn exhausted(
    record: &MessageRecord,
    tried: &mut Tried,
    last_error: Option<MessageError>,
    now: Timestamp,
) -> Outcome {
    let error = last_error.unwrap_or_else(|| MessageError {
        code: "rules.exhausted".into(),
        message:
            "no rule could deliver the message: every channel was skipped (see the rule trace)"
                .into(),
    });
    Outcome::Settle(Box::new(
        Settlement::new(
            record.space.clone(),
            record.id.clone(),
            StatusUpdate::new(MessageStatus::Failed, now).error(error),
        )
        .graph_message_ids(std::mem::take(&mut tried.mids))
        .rule_trace(std::mem::take(&mut tried.entries)),
    ))
}

/// A final status for `record`, with nothing sent.
fn settle(record: MessageRecord, update: StatusUpdate) -> Outcome {
    Outcome::Settle(Box::new(Settlement::new(record.space, record.id, update)))
}

/// Whether `change` is a release to wait for echoes ([`RuleCause::EchoWait`]): a `retrying`
/// status entered together with an echo-wait rule-trace entry (the release writes both with the
/// same time; a trace entry whose release was never recorded does not count).
fn is_echo_wait(record: &MessageRecord, change: &StatusChange) -> bool {
    change.status == MessageStatus::Retrying
        && record
            .rule_trace
            .iter()
            .any(|e| e.cause == RuleCause::EchoWait && e.at == change.at)
}

/// Whether an earlier lease of `record` ended without its holder recording anything (it died)
/// and that has not been waited for yet: every lease counts an attempt, every orderly release
/// records a `retrying` status, and every wait for echoes is such a release.
fn was_interrupted(record: &MessageRecord) -> bool {
    let retrying = record
        .status_history
        .iter()
        .filter(|c| c.status == MessageStatus::Retrying);
    let releases = retrying.clone().count();
    let waits = retrying.filter(|c| is_echo_wait(record, c)).count();
    let died = (record.attempts as usize).saturating_sub(1 + releases);
    died > waits
}
