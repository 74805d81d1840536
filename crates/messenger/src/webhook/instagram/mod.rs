//! Instagram Direct webhooks (`"object":"instagram"`, docs/design.md "Instagram Direct"):
//! signatures per account, routing by account, and what each event does.
//!
//! - **Signatures.** A body is valid when `X-Hub-Signature-256` is the Facebook app's
//!   ([`Messenger::verify_webhook`]), or else the Instagram app's of the accounts its entries
//!   name: every entry naming a connected account must verify with that account's own secret
//!   ([`InstagramAccount::app_secret`](crate::InstagramAccount); a Facebook Login account has
//!   none, its webhooks carry the Facebook app's signature). So a body signed with one account's
//!   secret is never taken for another account's entries. Secrets are never logged.
//! - **Routing.** Each entry goes to the space that connected its account
//!   ([`Messenger::space_for_instagram`]); entries of accounts no space has are ignored, as
//!   Messenger's unknown pages are.
//! - **Events.** Processed in body order with Messenger's ([`super::process`]): deduplicated by
//!   their key (`{space}:ig:{account}:` and Meta's event key), refused past the dedupe horizon,
//!   reads (`messaging_seen`, by `mid`) applied as read receipts in groups, the rest one by one
//!   ([`events`]).

mod events;

use messenger_model::webhook::{EventKind, InstagramBody, InstagramEvent, InstagramKind};
use messenger_model::Timestamp;
use messenger_store::{MessengerRecipient, QuarantinedEvent, Receipt};
use serde_json::Value;

use super::apply::{EchoTarget, Occurrence};
use super::process::{digest, Pending, Subject};
use super::{verify_signature, SignatureError, WebhookReport};
use crate::{Error, Messenger, Space};

/// What the processing loop does with one Instagram event.
pub(super) enum Step {
    /// A read: applied with the run of receipts.
    Receipt(Receipt),
    /// Read and left alone (remembered with the run): an echo of a send already recorded, a
    /// read of a message that is not ours.
    Ignore,
    /// Applied on its own ([`Messenger::apply_instagram`]), with the send an echo confirms.
    Apply(Option<Box<EchoTarget>>),
}

/// The account ids a body's entries name (`entry[].id`), when it is an Instagram body.
fn named_accounts(body: &[u8]) -> Option<Vec<String>> {
    let value: Value = serde_json::from_slice(body).ok()?;
    if value.get("object").and_then(Value::as_str) != Some("instagram") {
        return None;
    }
    let entries = value.get("entry")?.as_array()?;
    Some(
        entries
            .iter()
            .filter_map(|e| match e.get("id")? {
                Value::String(s) => Some(s.clone()),
                Value::Number(n) => Some(n.to_string()),
                _ => None,
            })
            .collect(),
    )
}

impl Messenger {
    /// The signature check of an Instagram body the Facebook app's secret did not verify:
    /// `None` when the body is not an Instagram body or names no account with a secret of its
    /// own (the Facebook app's verdict stands), else whether every entry naming a connected
    /// account verifies with that account's secret.
    pub(super) fn instagram_signature(
        &self,
        body: &[u8],
        signature: Option<&str>,
    ) -> Option<Result<(), SignatureError>> {
        let accounts = named_accounts(body)?;
        let secrets: Vec<Option<String>> = accounts
            .iter()
            .filter_map(|id| {
                let space = self.space_for_instagram(id)?;
                Some(space.instagram_account(id)?.app_secret.clone())
            })
            .collect();
        if !secrets.iter().any(Option::is_some) {
            return None;
        }
        for secret in &secrets {
            // An account without a secret of its own is the Facebook app's, which did not match.
            let Some(secret) = secret else {
                return Some(Err(SignatureError::Mismatch));
            };
            if let Err(e) = verify_signature(secret, signature, body) {
                return Some(Err(e));
            }
        }
        Some(Ok(()))
    }

    /// The events and comments of `body` for the spaces that own their accounts; the others are
    /// counted in `report` as ignored. An event without a timestamp happened at `now`, a
    /// comment at its entry's `time` (or `now`).
    pub(super) fn instagram_pending<'a>(
        &'a self,
        body: &'a InstagramBody,
        now: Timestamp,
        report: &mut WebhookReport,
    ) -> Vec<Pending<'a>> {
        let mut pending = Vec::with_capacity(body.events.len() + body.comments.len());
        let route = |account_id: &str, report: &mut WebhookReport| {
            let space = self.space_for_instagram(account_id);
            if space.is_none() {
                tracing::warn!(
                    account_id,
                    "Instagram webhook event for an account no space has"
                );
                report.ignored += 1;
            }
            space
        };
        for event in &body.events {
            let Some(space) = route(&event.account_id, report) else {
                continue;
            };
            let key = format!(
                "{}:ig:{}:{}",
                space.id,
                event.account_id,
                event.dedupe_key()
            );
            let seen = Occurrence {
                at: Timestamp::from_millis(event.event.occurred_at_or(now.millis())),
                standby: event.list == messenger_model::webhook::InstagramList::Standby,
            };
            pending.push(Pending {
                space,
                subject: Subject::Instagram(event),
                key,
                seen,
            });
        }
        for comment in &body.comments {
            let Some(space) = route(&comment.account_id, report) else {
                continue;
            };
            let key = format!(
                "{}:ig:{}:{}",
                space.id,
                comment.account_id,
                comment.dedupe_key()
            );
            let at = if comment.time > 0 {
                comment.time
            } else {
                now.millis()
            };
            pending.push(Pending {
                space,
                subject: Subject::Comment(comment),
                key,
                seen: Occurrence {
                    at: Timestamp::from_millis(at),
                    standby: false,
                },
            });
        }
        pending
    }

    /// Quarantines what `body` holds that could not be read; returns how many.
    pub(super) async fn quarantine_instagram(
        &self,
        body: &InstagramBody,
        received_at: Timestamp,
    ) -> Result<usize, Error> {
        let now = self.now();
        let entries = body
            .quarantined
            .iter()
            .map(|q| {
                let raw = serde_json::to_vec(&q.raw).unwrap_or_default();
                QuarantinedEvent {
                    key: format!("event:{}", digest(&raw)),
                    reason: format!(
                        "instagram {}[{}] cannot be read: {}",
                        q.list.as_str(),
                        q.index,
                        q.reason
                    ),
                    page_id: q.account_id.clone(),
                    raw,
                    received_at,
                    quarantined_at: now,
                }
            })
            .collect();
        self.quarantine(entries).await
    }

    /// How the processing loop takes `event`: a read of one of our messages becomes a read
    /// receipt for the messages sent to the reader from the account up to that message's send
    /// (a read means the user saw the thread up to there); an echo confirms an unrecorded send,
    /// is forwarded when someone else sent it, or is left alone.
    pub(super) async fn instagram_step(
        &self,
        space: &Space,
        event: &InstagramEvent,
        at: Timestamp,
    ) -> Result<Step, Error> {
        match &event.kind {
            InstagramKind::Seen { mid } => {
                let (Some(mid), Some(igsid)) = (mid.as_deref(), event.event.sender_id()) else {
                    return Ok(Step::Ignore);
                };
                let Some(message) = self
                    .inner
                    .store
                    .find_by_graph_message_id(&space.id, mid)
                    .await?
                else {
                    return Ok(Step::Ignore);
                };
                let to = MessengerRecipient::new(event.account_id.clone(), igsid);
                if message.sent_to.as_ref().is_some_and(|sent| *sent != to) {
                    // Our message, but to someone else: not this reader's to mark.
                    return Ok(Step::Ignore);
                }
                let watermark = message.sent_at.unwrap_or(at);
                Ok(Step::Receipt(Receipt::read(
                    space.id.clone(),
                    to,
                    watermark,
                    at,
                )))
            }
            InstagramKind::Echo => {
                let EventKind::Echo(echo) = event.event.kind() else {
                    return Ok(Step::Ignore);
                };
                if let Some(target) = self.echo_target(space, &event.event).await? {
                    return Ok(Step::Apply(Some(Box::new(
                        target.on_instagram(&event.account_id),
                    ))));
                }
                Ok(match self.sent_by_another(echo) {
                    Some(_) => Step::Apply(None),
                    None => Step::Ignore,
                })
            }
            _ => Ok(Step::Apply(None)),
        }
    }
}
