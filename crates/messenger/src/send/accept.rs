//! Accepting a request: validate, resolve, check that some rule can deliver it, store it.

use messenger_model::{MessageStatus, Profile, SendRequest, Timestamp};
use messenger_store::{InsertOutcome, MessageRecord, NewMessage};
use messenger_validate::{validate_json, validate_request, Policy, Violations, Window};
use serde_json::Value;

use super::rules::RuleDecision;
use crate::addressing::profile_update_from_to;
use crate::{Error, Messenger, Space};

/// An accepted message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accepted {
    /// The message id.
    pub id: String,
    /// Its status (`processing` when new; the stored one on a replay).
    pub status: MessageStatus,
    /// True when the idempotency key was seen before and this is the first message.
    pub replayed: bool,
}

/// An accepted batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcceptedBatch {
    /// The message ids, in the order of the batch.
    pub ids: Vec<String>,
    /// True when the idempotency key was seen before: these are the first batch's ids.
    pub replayed: bool,
}

/// An `Idempotency-Key` and a hash of the request body it came with.
#[derive(Debug, Clone, Copy)]
pub struct Idempotency<'a> {
    /// The key.
    pub key: &'a str,
    /// A hash of the body (the same key with another body is a conflict).
    pub body_hash: &'a str,
}

struct Prepared {
    message: NewMessage,
    profile_update: Option<Profile>,
}

impl Messenger {
    fn policy(&self, space: &Space, now: Timestamp) -> Policy {
        Policy {
            window: Window::Unchecked,
            customer_matching: space.customer_matching,
            now,
        }
    }

    /// Validates a JSON send request and stores it for dispatch.
    ///
    /// Refused with [`Error::Invalid`] when it breaks a rule, and with [`Error::Refused`] when no
    /// channel of its `rules` can deliver it now (nothing is stored then).
    pub async fn accept(
        &self,
        space_id: &str,
        body: &Value,
        idempotency: Option<Idempotency<'_>>,
    ) -> Result<Accepted, Error> {
        let space = self.space(space_id)?;
        let space = &*space;
        let now = self.now();
        let req = validate_json(body, &self.policy(space, now))?;
        self.accept_valid(space, req, idempotency, now).await
    }

    /// Validates a typed send request and stores it for dispatch.
    pub async fn accept_request(
        &self,
        space_id: &str,
        req: SendRequest,
        idempotency: Option<Idempotency<'_>>,
    ) -> Result<Accepted, Error> {
        let space = self.space(space_id)?;
        let space = &*space;
        let now = self.now();
        validate_request(&req, &self.policy(space, now))?;
        self.accept_valid(space, req, idempotency, now).await
    }

    /// Validates every request of a batch; stores all of them in one transaction, or none when
    /// any is invalid ([`Error::InvalidBatch`] names each index). Returns the message ids in order.
    ///
    /// With `idempotency`, a replay (the same key and body hash) answers the first batch's ids
    /// again (`replayed`), even if the rules would refuse it now; the same key with another body
    /// is [`Error::IdempotencyConflict`]. Each message of the batch carries the key with its
    /// index, `"<key> #<index>"` (a space cannot occur in an `Idempotency-Key`, so a batch's keys
    /// never collide with a single send's).
    pub async fn accept_batch(
        &self,
        space_id: &str,
        bodies: &[Value],
        idempotency: Option<Idempotency<'_>>,
    ) -> Result<AcceptedBatch, Error> {
        let space = self.space(space_id)?;
        let space = &*space;
        if let Some(idem) = idempotency {
            if let Some(replay) = self.replay_batch(space, idem, bodies.len()).await? {
                return Ok(replay);
            }
        }
        let now = self.now();
        let policy = self.policy(space, now);
        let mut invalid = Vec::new();
        let mut prepared = Vec::with_capacity(bodies.len());
        for (index, body) in bodies.iter().enumerate() {
            let outcome = match validate_json(body, &policy) {
                Ok(req) => self.prepare(space, req, now).await,
                Err(e) => Err(e.into()),
            };
            match outcome {
                Ok(p) => prepared.push(p),
                Err(Error::Invalid(v)) => invalid.push((index, v)),
                Err(Error::Refused(v)) => invalid.push((index, Violations::from(v))),
                Err(other) => return Err(other),
            }
        }
        if !invalid.is_empty() {
            return Err(Error::InvalidBatch(invalid));
        }
        let (messages, updates): (Vec<_>, Vec<_>) = prepared
            .into_iter()
            .enumerate()
            .map(|(index, p)| {
                let message = match idempotency {
                    Some(idem) => p
                        .message
                        .idempotency(batch_key(idem.key, index), idem.body_hash),
                    None => p.message,
                };
                (message, p.profile_update)
            })
            .unzip();
        let outcomes = self.inner.store.insert_messages(messages).await?;
        // Another request with the same key may have won the race: answer as a replay.
        if let (Some(idem), Some(InsertOutcome::Existing(first))) = (idempotency, outcomes.first())
        {
            replay(first, idem)?;
            return Ok(AcceptedBatch {
                ids: outcomes.iter().map(|o| o.id().to_owned()).collect(),
                replayed: true,
            });
        }
        for update in updates.into_iter().flatten() {
            self.merge_after_insert(space, update).await?;
        }
        Ok(AcceptedBatch {
            ids: outcomes.iter().map(|o| o.id().to_owned()).collect(),
            replayed: false,
        })
    }

    /// The first answer to a batch's idempotency key, if the key was used: the ids of its
    /// messages in order, or a conflict when it came with another body or another length.
    async fn replay_batch(
        &self,
        space: &Space,
        idem: Idempotency<'_>,
        len: usize,
    ) -> Result<Option<AcceptedBatch>, Error> {
        let store = &self.inner.store;
        let Some(first) = store
            .find_by_idempotency_key(&space.id, &batch_key(idem.key, 0))
            .await?
        else {
            return Ok(None);
        };
        replay(&first, idem)?;
        let mut ids = Vec::with_capacity(len);
        ids.push(first.id);
        for index in 1..len {
            match store
                .find_by_idempotency_key(&space.id, &batch_key(idem.key, index))
                .await?
            {
                Some(m) => ids.push(m.id),
                // The same hash with another length cannot happen; a purged message can.
                None => {
                    return Err(Error::IdempotencyConflict {
                        message_id: ids[0].clone(),
                    })
                }
            }
        }
        Ok(Some(AcceptedBatch {
            ids,
            replayed: true,
        }))
    }

    /// Merges the profile update a stored send implies. A `fbMessengerId` that another profile
    /// holds is left out of the update (and logged): the send goes to that Messenger ID as asked,
    /// but the profile named in `to` does not take it over (the rule `PUT /profiles` applies).
    async fn merge_after_insert(&self, space: &Space, mut update: Profile) -> Result<(), Error> {
        let store = &self.inner.store;
        match store.merge_profile(&space.id, update.clone()).await {
            Ok(_) => Ok(()),
            Err(messenger_store::StoreError::MessengerIdTaken { profile_id }) => {
                tracing::warn!(space = %space.id, profile = %update.id, holder = %profile_id, "a send's fbMessengerId belongs to another profile: not copied to the profile in `to`");
                update.fb_messenger_id = None;
                store.merge_profile(&space.id, update).await?;
                Ok(())
            }
            Err(e) => Err(e.into()),
        }
    }

    async fn accept_valid(
        &self,
        space: &Space,
        req: SendRequest,
        idempotency: Option<Idempotency<'_>>,
        now: Timestamp,
    ) -> Result<Accepted, Error> {
        // A replay answers like the first time, even if the rules would refuse it now.
        if let Some(idem) = idempotency {
            if let Some(first) = self
                .inner
                .store
                .find_by_idempotency_key(&space.id, idem.key)
                .await?
            {
                return replay(&first, idem);
            }
        }
        let mut prepared = self.prepare(space, req, now).await?;
        if let Some(idem) = idempotency {
            prepared.message = prepared.message.idempotency(idem.key, idem.body_hash);
        }
        match self.inner.store.insert_message(prepared.message).await? {
            InsertOutcome::Inserted { id } => {
                if let Some(update) = prepared.profile_update {
                    self.merge_after_insert(space, update).await?;
                }
                Ok(Accepted {
                    id,
                    status: MessageStatus::Processing,
                    replayed: false,
                })
            }
            // Another request with the same key won the race.
            InsertOutcome::Existing(first) => match idempotency {
                Some(idem) => replay(&first, idem),
                None => Ok(Accepted {
                    id: first.id,
                    status: first.status,
                    replayed: true,
                }),
            },
        }
    }

    /// Resolves the recipient and checks that some rule can deliver the message now.
    async fn prepare(
        &self,
        space: &Space,
        req: SendRequest,
        now: Timestamp,
    ) -> Result<Prepared, Error> {
        let update = profile_update_from_to(&req.to);
        let profile = match &update {
            Some(u) => {
                let mut stored = self
                    .inner
                    .store
                    .get_profile(&space.id, &u.id)
                    .await?
                    .unwrap_or_else(|| Profile::new(u.id.clone()));
                stored.merge(u.clone());
                Some(stored)
            }
            None => None,
        };
        let mut skipped = Vec::new();
        let mut usable = None;
        for &channel in &req.rules {
            match self
                .check_rule(space, &req, profile.as_ref(), channel, now)
                .await?
            {
                RuleDecision::Skip(v) => skipped.push(v),
                decision => {
                    usable = Some(decision);
                    break;
                }
            }
        }
        let Some(decision) = usable else {
            return Err(Error::Refused(skipped));
        };
        let recipient_key = match (&profile, &decision) {
            (Some(p), _) => format!("profile:{}", p.id),
            (None, RuleDecision::Messenger(a)) => {
                match (&a.recipient.id, &a.recipient.phone_number) {
                    (Some(psid), _) => format!("fb:{psid}"),
                    (None, Some(phone)) => format!("tel:{phone}"),
                    _ => "unknown".to_owned(),
                }
            }
            (None, RuleDecision::Instagram(a)) => {
                match (&a.recipient.id, &a.recipient.comment_id) {
                    (Some(igsid), _) => format!("ig:{}:{igsid}", a.account_id),
                    (None, Some(comment)) => format!("igc:{}:{comment}", a.account_id),
                    _ => "unknown".to_owned(),
                }
            }
            (None, RuleDecision::Sms(a, _)) => format!("tel:{}", a.number),
            (None, RuleDecision::Skip(_)) => "unknown".to_owned(),
        };
        Ok(Prepared {
            message: NewMessage::new(space.id.clone(), recipient_key, req, now),
            profile_update: update,
        })
    }
}

/// The idempotency key of a batch's message `index`.
fn batch_key(key: &str, index: usize) -> String {
    format!("{key} #{index}")
}

/// The answer to a replayed idempotency key: the first message, or a conflict when the body
/// differs.
fn replay(first: &MessageRecord, idem: Idempotency<'_>) -> Result<Accepted, Error> {
    let same = first
        .idempotency
        .as_ref()
        .is_none_or(|stored| stored.request_hash == idem.body_hash);
    if !same {
        return Err(Error::IdempotencyConflict {
            message_id: first.id.clone(),
        });
    }
    Ok(Accepted {
        id: first.id.clone(),
        status: first.status,
        replayed: true,
    })
}
