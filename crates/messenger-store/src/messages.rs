//! Accepted messages and their state: the [`MessageStore`] trait.

use async_trait::async_trait;
use messenger_model::{MessageStatus, RuleTraceEntry, SendRequest, StatusChange, Timestamp};

use crate::{
    IdempotencyKey, MessageQuery, MessageRecord, MessengerRecipient, StatusOutcome, StatusUpdate,
    StoreError,
};

/// A message to accept.
///
/// ```
/// use messenger_model::{SendRequest, Timestamp, To};
/// use messenger_store::NewMessage;
/// let msg = NewMessage::new(
///     "space-a",
///     "psid:1234",
///     SendRequest::new(To::fb_messenger_id("1234")).body("hi"),
///     Timestamp::from_millis(0),
/// )
/// .idempotency("key-1", "sha256-of-body");
/// assert_eq!(msg.id.len(), 36);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct NewMessage {
    /// The id to give it ([`new_message_id`] makes a time-ordered one).
    pub id: String,
    /// The API space.
    pub space: String,
    /// Orders sends: messages with the same `(space, recipient_key)` are sent one at a time, in
    /// the order they were accepted. Use the most stable recipient identity known at acceptance
    /// (`profile:<id>`, `psid:<id>`, `phone:<number>`).
    pub recipient_key: String,
    /// The request.
    pub request: SendRequest,
    /// The idempotency key, if the request came with one.
    pub idempotency: Option<IdempotencyKey>,
    /// When it was accepted (its first `processing` history entry).
    pub accepted_at: Timestamp,
    /// When it may first be leased for sending (normally `accepted_at`).
    pub not_before: Timestamp,
}

impl NewMessage {
    /// A message with a fresh time-ordered id, due at once.
    pub fn new(
        space: impl Into<String>,
        recipient_key: impl Into<String>,
        request: SendRequest,
        accepted_at: Timestamp,
    ) -> Self {
        Self {
            id: new_message_id(),
            space: space.into(),
            recipient_key: recipient_key.into(),
            request,
            idempotency: None,
            accepted_at,
            not_before: accepted_at,
        }
    }

    /// Sets the idempotency key and the hash of the request body.
    #[must_use = "a builder method returns the changed value and does nothing on its own"]
    pub fn idempotency(mut self, key: impl Into<String>, request_hash: impl Into<String>) -> Self {
        self.idempotency = Some(IdempotencyKey {
            key: key.into(),
            request_hash: request_hash.into(),
        });
        self
    }

    /// Checks what every store requires: non-empty id, space and recipient key.
    pub fn validate(&self) -> Result<(), StoreError> {
        if self.id.is_empty() || self.space.is_empty() || self.recipient_key.is_empty() {
            return Err(StoreError::invalid(
                "a message needs a non-empty id, space and recipient key",
            ));
        }
        if self.idempotency.as_ref().is_some_and(|k| k.key.is_empty()) {
            return Err(StoreError::invalid("an idempotency key must not be empty"));
        }
        Ok(())
    }

    /// The record as first stored: `processing`, one history entry, no lease.
    pub fn into_record(self) -> MessageRecord {
        MessageRecord {
            id: self.id,
            space: self.space,
            recipient_key: self.recipient_key,
            request: self.request,
            idempotency: self.idempotency,
            status: MessageStatus::Processing,
            status_history: vec![StatusChange {
                status: MessageStatus::Processing,
                at: self.accepted_at,
                reason: None,
            }],
            rule_trace: Vec::new(),
            graph_message_ids: Vec::new(),
            channel: None,
            error: None,
            created_at: self.accepted_at,
            sent_at: None,
            sent_to: None,
            next_attempt_at: self.not_before,
            attempts: 0,
            lease: None,
            delivery_deadline: None,
            redacted_at: None,
        }
    }
}

/// A fresh message id: a UUID v7 (time-ordered, random in its low bits) in its hyphenated form.
pub fn new_message_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// What inserting a message did.
#[derive(Debug, Clone, PartialEq)]
pub enum InsertOutcome {
    /// The message was stored under this id.
    Inserted {
        /// The message id.
        id: String,
    },
    /// A message with the same idempotency key already exists in the space; nothing was
    /// stored. Compare `existing.idempotency.request_hash` with the new request's hash to tell
    /// a replay (same body) from a conflict (another body).
    Existing(Box<MessageRecord>),
}

impl InsertOutcome {
    /// The id of the message the caller should answer with (the new one, or the first).
    pub fn id(&self) -> &str {
        match self {
            Self::Inserted { id } => id,
            Self::Existing(m) => &m.id,
        }
    }
}

/// The end of a send attempt of one message, for [`MessageStore::settle_messages`]: the Graph
/// message ids it got, the rule-trace entries it wrote, and the status it ends in.
///
/// ```
/// use messenger_model::{Channel, MessageStatus, Timestamp};
/// use messenger_store::{Settlement, StatusUpdate};
/// let now = Timestamp::from_millis(0);
/// let sent = Settlement::new("space-a", "message-id", StatusUpdate::new(MessageStatus::Sent, now))
///     .graph_message_ids(["m_1"]);
/// assert_eq!(sent.graph_message_ids, ["m_1"]);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Settlement {
    /// The API space.
    pub space: String,
    /// The message id.
    pub id: String,
    /// Graph message ids to record, in send order (as [`MessageStore::add_graph_message_id`]).
    pub graph_message_ids: Vec<String>,
    /// Rule-trace entries to append (as [`MessageStore::append_rule_trace`]).
    pub rule_trace: Vec<RuleTraceEntry>,
    /// The status change (as [`MessageStore::update_status`]).
    pub update: StatusUpdate,
}

impl Settlement {
    /// A settlement of message `id` with only a status change.
    pub fn new(space: impl Into<String>, id: impl Into<String>, update: StatusUpdate) -> Self {
        Self {
            space: space.into(),
            id: id.into(),
            graph_message_ids: Vec::new(),
            rule_trace: Vec::new(),
            update,
        }
    }

    /// Sets the Graph message ids to record.
    #[must_use = "a builder method returns the changed value and does nothing on its own"]
    pub fn graph_message_ids<I, S>(mut self, mids: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.graph_message_ids = mids.into_iter().map(Into::into).collect();
        self
    }

    /// Sets the rule-trace entries to append.
    #[must_use = "a builder method returns the changed value and does nothing on its own"]
    pub fn rule_trace(mut self, entries: Vec<RuleTraceEntry>) -> Self {
        self.rule_trace = entries;
        self
    }
}

/// Where accepted messages and their state live.
///
/// Every operation is scoped by API space: a message of another space is "not found".
#[async_trait]
pub trait MessageStore: Send + Sync {
    /// Stores an accepted message (status `processing`), atomically with its idempotency key:
    /// when the key is already used in the space, nothing is stored and the first message is
    /// returned. Durable when this returns `Ok`.
    async fn insert_message(&self, message: NewMessage) -> Result<InsertOutcome, StoreError>;

    /// Stores many messages in one transaction: all of them or none (an error stores nothing).
    /// Idempotency keys are honoured within the batch too. Outcomes are in input order.
    async fn insert_messages(
        &self,
        messages: Vec<NewMessage>,
    ) -> Result<Vec<InsertOutcome>, StoreError>;

    /// The message `id` of `space`.
    async fn get_message(&self, space: &str, id: &str)
        -> Result<Option<MessageRecord>, StoreError>;

    /// The messages of `space` that match `query`, newest first (by `created_at`, then id,
    /// both descending), at most [`MessageQuery::effective_limit`]. Paging with
    /// [`MessageQuery::after`] set to the last message's position is stable: a message accepted
    /// while a client pages sorts before the first page and never shifts later pages.
    async fn list_messages(
        &self,
        space: &str,
        query: &MessageQuery,
    ) -> Result<Vec<MessageRecord>, StoreError>;

    /// The message accepted with idempotency key `key` in `space`, if any.
    async fn find_by_idempotency_key(
        &self,
        space: &str,
        key: &str,
    ) -> Result<Option<MessageRecord>, StoreError>;

    /// The message of `space` one of whose Graph message ids is `mid`.
    async fn find_by_graph_message_id(
        &self,
        space: &str,
        mid: &str,
    ) -> Result<Option<MessageRecord>, StoreError>;

    /// Applies a status change ([`MessageRecord::apply_status`]): a move the status rules forbid
    /// (backwards, or out of a final status) changes nothing and says so
    /// (`applied: false`); it is not an error. Leaving `processing`/`retrying` ends the lease.
    /// Fails with [`StoreError::NotFound`] for an unknown message.
    async fn update_status(
        &self,
        space: &str,
        id: &str,
        update: StatusUpdate,
    ) -> Result<StatusOutcome, StoreError>;

    /// Appends entries to the message's rule trace.
    async fn append_rule_trace(
        &self,
        space: &str,
        id: &str,
        entries: Vec<RuleTraceEntry>,
    ) -> Result<(), StoreError>;

    /// Records a Graph message id (`mid`) of the message, in send order. Recording the same id
    /// again is a no-op; an id already recorded for another message of the space is a
    /// [`StoreError::Conflict`].
    async fn add_graph_message_id(
        &self,
        space: &str,
        id: &str,
        mid: &str,
    ) -> Result<(), StoreError>;

    /// Records the end of send attempts: for each settlement, in order, its Graph message ids,
    /// its rule-trace entries and its status change, with the rules of
    /// [`MessageStore::add_graph_message_id`], [`MessageStore::append_rule_trace`] and
    /// [`MessageStore::update_status`]. Returns each status outcome, in input order.
    ///
    /// The durable stores do it all in one transaction (all or nothing), which is what makes
    /// dispatch cheap; this default runs the three operations per settlement and stops at the
    /// first error.
    async fn settle_messages(
        &self,
        settlements: Vec<Settlement>,
    ) -> Result<Vec<StatusOutcome>, StoreError> {
        let mut outcomes = Vec::with_capacity(settlements.len());
        for s in settlements {
            for mid in &s.graph_message_ids {
                self.add_graph_message_id(&s.space, &s.id, mid).await?;
            }
            if !s.rule_trace.is_empty() {
                self.append_rule_trace(&s.space, &s.id, s.rule_trace)
                    .await?;
            }
            outcomes.push(self.update_status(&s.space, &s.id, s.update).await?);
        }
        Ok(outcomes)
    }

    /// Applies a Messenger receipt watermark: every message of `space` sent to `recipient` with
    /// `sent_at <= watermark` whose status can move to `status` (`delivered` or `read`) does,
    /// at `at`. Returns the messages changed, in acceptance order.
    async fn apply_watermark(
        &self,
        space: &str,
        recipient: &MessengerRecipient,
        status: MessageStatus,
        watermark: Timestamp,
        at: Timestamp,
    ) -> Result<Vec<MessageRecord>, StoreError>;
}
