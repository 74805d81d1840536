//! Rows as both backends store them, and their conversion to and from the store's types.
//!
//! Times are `BIGINT`/`INTEGER` milliseconds since the Unix epoch; structured values (the
//! request, status history, rule trace, Graph ids, errors, profiles, event envelopes) are JSON
//! text, so both backends store exactly the same bytes.

use messenger_model::{
    Channel, EventEnvelope, MessageError, MessageStatus, Profile, RuleTraceEntry, SendRequest,
    StatusChange, Timestamp,
};
use messenger_store::{
    EventState, IdempotencyKey, Lease, MessageRecord, MessengerRecipient, OptinToken, OutboxEvent,
    StoreError, TokenBinding,
};
use serde::de::DeserializeOwned;
use serde::Serialize;

/// The columns of `messages` that [`MessageRow`] reads, as a literal for `concat!`.
macro_rules! message_columns {
    () => {
        "seq, id, space, recipient_key, request, idempotency_key, request_hash, status, \
         status_history, rule_trace, graph_message_ids, channel, error, created_at, sent_at, \
         sent_page_id, sent_psid, next_attempt_at, attempts, lease_holder, lease_expires_at, \
         delivery_deadline, redacted_at"
    };
}
pub(crate) use message_columns;

/// The columns of `outbox` that [`EventRow`] reads, as a literal for `concat!`.
macro_rules! event_columns {
    () => {
        "id, space, target, envelope, state, attempts, next_attempt_at, last_error, created_at, \
         lease_holder, lease_expires_at"
    };
}
pub(crate) use event_columns;

pub(crate) fn to_json<T: Serialize>(what: &str, value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|e| StoreError::Invalid {
        message: format!("{what} cannot be written as JSON: {e}"),
    })
}

pub(crate) fn from_json<T: DeserializeOwned>(what: &str, text: &str) -> Result<T, StoreError> {
    serde_json::from_str(text).map_err(|e| StoreError::corrupt_json(what, e))
}

fn corrupt(what: String) -> StoreError {
    StoreError::Corrupt { what, source: None }
}

fn to_u32(n: i64) -> u32 {
    u32::try_from(n.max(0)).unwrap_or(u32::MAX)
}

fn lease(holder: Option<String>, expires_at: Option<i64>) -> Option<Lease> {
    Some(Lease {
        holder: holder?,
        expires_at: Timestamp::from_millis(expires_at?),
    })
}

/// A row of `messages`.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct MessageRow {
    pub seq: i64,
    pub id: String,
    pub space: String,
    pub recipient_key: String,
    pub request: String,
    pub idempotency_key: Option<String>,
    pub request_hash: Option<String>,
    pub status: String,
    pub status_history: String,
    pub rule_trace: String,
    pub graph_message_ids: String,
    pub channel: Option<String>,
    pub error: Option<String>,
    pub created_at: i64,
    pub sent_at: Option<i64>,
    pub sent_page_id: Option<String>,
    pub sent_psid: Option<String>,
    pub next_attempt_at: i64,
    pub attempts: i64,
    pub lease_holder: Option<String>,
    pub lease_expires_at: Option<i64>,
    pub delivery_deadline: Option<i64>,
    pub redacted_at: Option<i64>,
}

impl MessageRow {
    /// The record this row holds.
    pub(crate) fn into_record(self) -> Result<MessageRecord, StoreError> {
        let status = MessageStatus::parse(&self.status)
            .ok_or_else(|| corrupt(format!("status {:?} of message {}", self.status, self.id)))?;
        let channel = match self.channel.as_deref() {
            None => None,
            Some(c) => Some(
                Channel::parse(c)
                    .ok_or_else(|| corrupt(format!("channel {c:?} of message {}", self.id)))?,
            ),
        };
        let error: Option<MessageError> = match self.error.as_deref() {
            None => None,
            Some(text) => Some(from_json("message error", text)?),
        };
        let idempotency = match (self.idempotency_key, self.request_hash) {
            (Some(key), hash) => Some(IdempotencyKey {
                key,
                request_hash: hash.unwrap_or_default(),
            }),
            (None, _) => None,
        };
        let sent_to = match (self.sent_page_id, self.sent_psid) {
            (Some(page_id), Some(psid)) => Some(MessengerRecipient { page_id, psid }),
            _ => None,
        };
        Ok(MessageRecord {
            request: from_json::<SendRequest>("message request", &self.request)?,
            status_history: from_json::<Vec<StatusChange>>("status history", &self.status_history)?,
            rule_trace: from_json::<Vec<RuleTraceEntry>>("rule trace", &self.rule_trace)?,
            graph_message_ids: from_json::<Vec<String>>("graph ids", &self.graph_message_ids)?,
            id: self.id,
            space: self.space,
            recipient_key: self.recipient_key,
            idempotency,
            status,
            channel,
            error,
            created_at: Timestamp::from_millis(self.created_at),
            sent_at: self.sent_at.map(Timestamp::from_millis),
            sent_to,
            next_attempt_at: Timestamp::from_millis(self.next_attempt_at),
            attempts: to_u32(self.attempts),
            lease: lease(self.lease_holder, self.lease_expires_at),
            delivery_deadline: self.delivery_deadline.map(Timestamp::from_millis),
            redacted_at: self.redacted_at.map(Timestamp::from_millis),
        })
    }
}

/// The mutable part of a message, encoded for an `UPDATE` (see [`UPDATE_MESSAGE_STATE`]).
pub(crate) struct MessageState {
    pub status: &'static str,
    pub status_history: String,
    pub rule_trace: String,
    pub graph_message_ids: String,
    pub channel: Option<&'static str>,
    pub error: Option<String>,
    pub sent_at: Option<i64>,
    pub sent_page_id: Option<String>,
    pub sent_psid: Option<String>,
    pub next_attempt_at: i64,
    pub attempts: i64,
    pub lease_holder: Option<String>,
    pub lease_expires_at: Option<i64>,
    pub delivery_deadline: Option<i64>,
    /// [`MessageRecord::settled_at`]: what content and row retention run from.
    pub settled_at: Option<i64>,
}

/// Writes a [`MessageState`]: binds `$1..$15` in field order, `$16` the id.
pub(crate) const UPDATE_MESSAGE_STATE: &str = "UPDATE messages SET status = $1, \
     status_history = $2, rule_trace = $3, graph_message_ids = $4, channel = $5, error = $6, \
     sent_at = $7, sent_page_id = $8, sent_psid = $9, next_attempt_at = $10, attempts = $11, \
     lease_holder = $12, lease_expires_at = $13, delivery_deadline = $14, settled_at = $15 \
     WHERE id = $16";

impl MessageState {
    pub(crate) fn of(m: &MessageRecord) -> Result<Self, StoreError> {
        Ok(Self {
            status: m.status.as_str(),
            status_history: to_json("status history", &m.status_history)?,
            rule_trace: to_json("rule trace", &m.rule_trace)?,
            graph_message_ids: to_json("graph ids", &m.graph_message_ids)?,
            channel: m.channel.map(Channel::as_str),
            error: m
                .error
                .as_ref()
                .map(|e| to_json("message error", e))
                .transpose()?,
            sent_at: m.sent_at.map(Timestamp::millis),
            sent_page_id: m.sent_to.as_ref().map(|r| r.page_id.clone()),
            sent_psid: m.sent_to.as_ref().map(|r| r.psid.clone()),
            next_attempt_at: m.next_attempt_at.millis(),
            attempts: i64::from(m.attempts),
            lease_holder: m.lease.as_ref().map(|l| l.holder.clone()),
            lease_expires_at: m.lease.as_ref().map(|l| l.expires_at.millis()),
            delivery_deadline: m.delivery_deadline.map(Timestamp::millis),
            settled_at: m.settled_at().map(Timestamp::millis),
        })
    }
}

/// Inserts a new message: binds `$1..$13` as [`NewMessageRow`]'s fields; does nothing when the
/// idempotency key is taken.
pub(crate) const INSERT_MESSAGE: &str = "INSERT INTO messages (id, space, recipient_key, \
     request, idempotency_key, request_hash, status, status_history, rule_trace, \
     graph_message_ids, created_at, next_attempt_at, attempts) \
     VALUES ($1, $2, $3, $4, $5, $6, 'processing', $7, '[]', '[]', $8, $9, 0) \
     ON CONFLICT (space, idempotency_key) DO NOTHING";

/// Rows per multi-row `INSERT` of a batch (9 binds each: well under both backends' limits).
pub(crate) const INSERT_CHUNK: usize = 100;

/// The head of a multi-row insert; `VALUES` rows follow in [`INSERT_MESSAGE`]'s column order.
pub(crate) const INSERT_MANY_HEAD: &str = "INSERT INTO messages (id, space, recipient_key, \
     request, idempotency_key, request_hash, status, status_history, rule_trace, \
     graph_message_ids, created_at, next_attempt_at, attempts) ";

/// The tail of a multi-row insert: skip taken idempotency keys, return the ids stored.
pub(crate) const INSERT_MANY_TAIL: &str =
    " ON CONFLICT (space, idempotency_key) DO NOTHING RETURNING id";

/// A new message, encoded for [`INSERT_MESSAGE`].
#[derive(Clone)]
pub(crate) struct NewMessageRow {
    pub id: String,
    pub space: String,
    pub recipient_key: String,
    pub request: String,
    pub idempotency_key: Option<String>,
    pub request_hash: Option<String>,
    pub status_history: String,
    pub created_at: i64,
    pub next_attempt_at: i64,
}

impl NewMessageRow {
    pub(crate) fn of(m: messenger_store::NewMessage) -> Result<Self, StoreError> {
        m.validate()?;
        let record = m.into_record();
        let (idempotency_key, request_hash) = match record.idempotency {
            Some(k) => (Some(k.key), Some(k.request_hash)),
            None => (None, None),
        };
        Ok(Self {
            request: to_json("message request", &record.request)?,
            status_history: to_json("status history", &record.status_history)?,
            id: record.id,
            space: record.space,
            recipient_key: record.recipient_key,
            idempotency_key,
            request_hash,
            created_at: record.created_at.millis(),
            next_attempt_at: record.next_attempt_at.millis(),
        })
    }
}

/// A row of `outbox`.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct EventRow {
    pub id: i64,
    pub space: String,
    pub target: String,
    pub envelope: String,
    pub state: String,
    pub attempts: i64,
    pub next_attempt_at: i64,
    pub last_error: Option<String>,
    pub created_at: i64,
    pub lease_holder: Option<String>,
    pub lease_expires_at: Option<i64>,
}

impl EventRow {
    pub(crate) fn into_event(self) -> Result<OutboxEvent, StoreError> {
        let state = EventState::parse(&self.state).ok_or_else(|| {
            corrupt(format!(
                "state {:?} of outbox event {}",
                self.state, self.id
            ))
        })?;
        Ok(OutboxEvent {
            envelope: from_json::<EventEnvelope>("event envelope", &self.envelope)?,
            id: self.id,
            space: self.space,
            target: self.target,
            state,
            attempts: to_u32(self.attempts),
            next_attempt_at: Timestamp::from_millis(self.next_attempt_at),
            last_error: self.last_error,
            created_at: Timestamp::from_millis(self.created_at),
            lease: lease(self.lease_holder, self.lease_expires_at),
        })
    }
}

/// A row of `optin_tokens`.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct TokenRow {
    pub token: String,
    pub space: String,
    pub profile_id: String,
    pub data: Option<String>,
    pub created_at: i64,
    pub expires_at: i64,
    pub bound_page_id: Option<String>,
    pub bound_psid: Option<String>,
    pub bound_at: Option<i64>,
}

impl TokenRow {
    /// The columns a `TokenRow` is read from.
    pub(crate) const COLUMNS: &'static str =
        "token, space, profile_id, data, created_at, expires_at, \
                                       bound_page_id, bound_psid, bound_at";

    pub(crate) fn into_token(self) -> Result<OptinToken, StoreError> {
        Ok(OptinToken {
            data: self
                .data
                .as_deref()
                .map(|d| from_json("opt-in token data", d))
                .transpose()?,
            token: self.token,
            space: self.space,
            profile_id: self.profile_id,
            created_at: Timestamp::from_millis(self.created_at),
            expires_at: Timestamp::from_millis(self.expires_at),
            bound_to: match (self.bound_page_id, self.bound_psid, self.bound_at) {
                (Some(page_id), Some(psid), Some(at)) => Some(TokenBinding {
                    page_id,
                    psid,
                    at: Timestamp::from_millis(at),
                }),
                _ => None,
            },
        })
    }
}

/// A profile's stored JSON.
pub(crate) fn profile_from_json(text: &str) -> Result<Profile, StoreError> {
    from_json("profile", text)
}

/// Converts a count or limit to the `BIGINT` both backends bind.
pub(crate) fn to_i64(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}
