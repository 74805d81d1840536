//! The stored message ([`MessageRecord`]) and the rules every store applies to it.
//!
//! The transition rules live here, as plain functions on the record, so the in-memory store and
//! the SQL stores (which load a row, apply them and write it back in one transaction) behave the
//! same.

use messenger_model::{
    Channel, MessageError, MessageResource, MessageStatus, RuleCause, RuleOutcome, RuleTraceEntry,
    SendRequest, StatusChange, Timestamp,
};
use serde::{Deserialize, Serialize};

/// Who holds a message (or an outbox event) for sending, and until when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lease {
    /// The worker's id (e.g. `gateway-1/dispatch-0`).
    pub holder: String,
    /// When the lease lapses; after this instant another worker may take the message.
    pub expires_at: Timestamp,
}

/// The Messenger user a message went to: Messenger's receipts name the page and the PSID, and
/// their watermarks apply to every message sent to that pair.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct MessengerRecipient {
    /// The page that sent.
    pub page_id: String,
    /// The recipient's page-scoped id.
    pub psid: String,
}

impl MessengerRecipient {
    /// The pair.
    pub fn new(page_id: impl Into<String>, psid: impl Into<String>) -> Self {
        Self {
            page_id: page_id.into(),
            psid: psid.into(),
        }
    }
}

/// An idempotency key and a hash of the request body it came with.
///
/// The key is unique per API space. A second insert with the same key returns the first message
/// with the first `request_hash`: the caller compares hashes and answers 409 when the bodies
/// differ.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdempotencyKey {
    /// The `Idempotency-Key` header's value.
    pub key: String,
    /// Any stable digest of the request body (e.g. hex SHA-256).
    pub request_hash: String,
}

/// A message as the store keeps it.
#[derive(Debug, Clone, PartialEq)]
pub struct MessageRecord {
    /// The message id (assigned on acceptance, unique across spaces).
    pub id: String,
    /// The API space.
    pub space: String,
    /// The key that orders sends: messages with the same `(space, recipient_key)` leave in the
    /// order they were accepted.
    pub recipient_key: String,
    /// The request as accepted.
    pub request: SendRequest,
    /// The idempotency key it was accepted with, if any.
    pub idempotency: Option<IdempotencyKey>,
    /// Current status.
    pub status: MessageStatus,
    /// Every status entered, oldest first (the first is `processing` at acceptance).
    pub status_history: Vec<StatusChange>,
    /// Every rule considered, in order.
    pub rule_trace: Vec<RuleTraceEntry>,
    /// Graph's message ids, one per Graph send, in order.
    pub graph_message_ids: Vec<String>,
    /// The channel it went out on, once known.
    pub channel: Option<Channel>,
    /// Why it failed (or why the last attempt failed, while retrying).
    pub error: Option<MessageError>,
    /// When it was accepted.
    pub created_at: Timestamp,
    /// When it entered `sent` (or a later status directly).
    pub sent_at: Option<Timestamp>,
    /// The Messenger user it was sent to, for receipts' watermarks.
    pub sent_to: Option<MessengerRecipient>,
    /// When it may next be leased for sending.
    pub next_attempt_at: Timestamp,
    /// How many times it has been leased for sending.
    pub attempts: u32,
    /// The current lease, if a worker holds it.
    pub lease: Option<Lease>,
    /// When Messenger's time to deliver runs out (`channelOptions.fbMessenger.deliveryTimeout`
    /// after the message was sent): set when a message with a delivery timeout and a later rule
    /// is sent on Messenger, cleared by a receipt that moves it to `delivered` or `read`, and
    /// claimed once when it passes ([`MessageRecord::miss_delivery_deadline`]).
    pub delivery_deadline: Option<Timestamp>,
    /// When its content was redacted after its retention ([`MessageRecord::redact`]); `None`
    /// while it is whole.
    pub redacted_at: Option<Timestamp>,
}

/// What a status change brings along.
///
/// ```
/// use messenger_model::{Channel, MessageStatus, Timestamp};
/// use messenger_store::StatusUpdate;
/// let sent = StatusUpdate::new(MessageStatus::Sent, Timestamp::from_millis(1_000))
///     .channel(Channel::FbMessenger)
///     .sent_to("page-1", "psid-1");
/// assert_eq!(sent.sent_to.unwrap().psid, "psid-1");
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct StatusUpdate {
    /// The status to enter.
    pub status: MessageStatus,
    /// When.
    pub at: Timestamp,
    /// Why (kept in the history entry).
    pub reason: Option<String>,
    /// The channel used (kept when set).
    pub channel: Option<Channel>,
    /// The error (kept when set).
    pub error: Option<MessageError>,
    /// The Messenger user it went to (kept when set; needed for watermarks).
    pub sent_to: Option<MessengerRecipient>,
}

impl StatusUpdate {
    /// A change to `status` at `at`, with nothing else.
    pub fn new(status: MessageStatus, at: Timestamp) -> Self {
        Self {
            status,
            at,
            reason: None,
            channel: None,
            error: None,
            sent_to: None,
        }
    }

    /// Sets the reason.
    #[must_use = "a builder method returns the changed value and does nothing on its own"]
    pub fn reason(mut self, reason: impl Into<String>) -> Self {
        self.reason = Some(reason.into());
        self
    }

    /// Sets the channel.
    #[must_use = "a builder method returns the changed value and does nothing on its own"]
    pub fn channel(mut self, channel: Channel) -> Self {
        self.channel = Some(channel);
        self
    }

    /// Sets the error.
    #[must_use = "a builder method returns the changed value and does nothing on its own"]
    pub fn error(mut self, error: MessageError) -> Self {
        self.error = Some(error);
        self
    }

    /// Sets the Messenger user the message went to.
    #[must_use = "a builder method returns the changed value and does nothing on its own"]
    pub fn sent_to(mut self, page_id: impl Into<String>, psid: impl Into<String>) -> Self {
        self.sent_to = Some(MessengerRecipient::new(page_id, psid));
        self
    }
}

/// A transient failure: the message goes back to the queue as `retrying`.
#[derive(Debug, Clone, PartialEq)]
pub struct Retry {
    /// When it may be leased again.
    pub at: Timestamp,
    /// Now (the time of the `retrying` history entry).
    pub now: Timestamp,
    /// Why (kept in the history entry).
    pub reason: Option<String>,
    /// The error of this attempt (kept on the message).
    pub error: Option<MessageError>,
}

impl Retry {
    /// Retry at `at`; the history entry is dated `now`.
    pub fn at(at: Timestamp, now: Timestamp) -> Self {
        Self {
            at,
            now,
            reason: None,
            error: None,
        }
    }

    /// Sets the reason.
    #[must_use = "a builder method returns the changed value and does nothing on its own"]
    pub fn reason(mut self, reason: impl Into<String>) -> Self {
        self.reason = Some(reason.into());
        self
    }

    /// Sets the error.
    #[must_use = "a builder method returns the changed value and does nothing on its own"]
    pub fn error(mut self, error: MessageError) -> Self {
        self.error = Some(error);
        self
    }
}

/// The result of a status change: whether it was applied, and the message as it now is.
#[derive(Debug, Clone, PartialEq)]
pub struct StatusOutcome {
    /// `false` when the change would have moved the status backwards (or out of a final
    /// status): nothing was changed. Late receipts are harmless this way.
    pub applied: bool,
    /// The message after the operation.
    pub message: MessageRecord,
}

impl MessageRecord {
    /// Whether the message still waits to be sent (`processing` or `retrying`).
    pub fn is_unsent(&self) -> bool {
        is_unsent(self.status)
    }

    /// The revision of the message: how many statuses it has entered (for event envelopes).
    pub fn revision(&self) -> u32 {
        u32::try_from(self.status_history.len()).unwrap_or(u32::MAX)
    }

    /// Whether `worker` holds an unexpired lease on the message at `now`.
    pub fn is_leased_by(&self, worker: &str, now: Timestamp) -> bool {
        self.lease
            .as_ref()
            .is_some_and(|l| l.holder == worker && l.expires_at > now)
    }

    /// Applies a status change if [`MessageStatus::can_become`] allows it. Leaving the unsent
    /// states ends the lease. Returns whether it was applied.
    pub fn apply_status(&mut self, update: StatusUpdate) -> bool {
        if !self.status.can_become(update.status) {
            return false;
        }
        let was_unsent = self.is_unsent();
        self.status = update.status;
        self.status_history.push(StatusChange {
            status: update.status,
            at: update.at,
            reason: update.reason,
        });
        if update.channel.is_some() {
            self.channel = update.channel;
        }
        if update.error.is_some() {
            self.error = update.error;
        }
        if update.sent_to.is_some() {
            self.sent_to = update.sent_to;
        }
        let now_sent = matches!(
            update.status,
            MessageStatus::Sent | MessageStatus::Delivered | MessageStatus::Read
        );
        if was_unsent && now_sent && self.sent_at.is_none() {
            self.sent_at = Some(update.at);
        }
        self.delivery_deadline = match (update.status, self.channel) {
            (MessageStatus::Sent, Some(channel)) if was_unsent => {
                self.deadline_from(channel, update.at)
            }
            _ => None,
        };
        if !self.is_unsent() {
            self.lease = None;
        }
        true
    }

    /// When `channel`'s time to deliver ends for a message sent on it at `sent_at`: its
    /// `deliveryTimeout` later (Messenger's, to a delivery or read; Instagram's, to a read), when
    /// it has one and a rule after `channel` to use then.
    fn deadline_from(&self, channel: Channel, sent_at: Timestamp) -> Option<Timestamp> {
        let secs = self.request.delivery_timeout_on(channel)?;
        let rules = &self.request.rules;
        let position = rules.iter().position(|c| *c == channel)?;
        if position + 1 >= rules.len() {
            return None;
        }
        let millis = i64::try_from(secs.saturating_mul(1_000)).unwrap_or(i64::MAX);
        Some(sent_at.add_millis(millis))
    }

    /// Claims a passed delivery deadline: a message still `sent` (no `delivery` or `read`
    /// receipt covered it) whose [`MessageRecord::delivery_deadline`] is at or before `now`
    /// goes back to the dispatch queue as `retrying`, due at once, with the reason in its status
    /// history ("no delivery receipt within N s") and a failed Messenger entry in its rule trace
    /// whose cause is [`RuleCause::DeliveryDeadlineMissed`], from which the facade starts its
    /// next attempt at the rule after Messenger. This is the one way a
    /// message leaves `sent` for an unsent status. The deadline is cleared either way once it
    /// has passed. Returns whether the message was reopened.
    pub fn miss_delivery_deadline(&mut self, now: Timestamp) -> bool {
        if self.delivery_deadline.is_none_or(|d| d > now) {
            return false;
        }
        self.delivery_deadline = None;
        let Some(channel) = self.channel.filter(|_| self.status == MessageStatus::Sent) else {
            return false;
        };
        let secs = self.request.delivery_timeout_on(channel).unwrap_or(0);
        self.status = MessageStatus::Retrying;
        self.status_history.push(StatusChange {
            status: MessageStatus::Retrying,
            at: now,
            reason: Some(missed_deadline_reason(channel, secs)),
        });
        // Instagram has no delivery receipts: what it missed is a read.
        let detail = match channel {
            Channel::Instagram => format!("{secs} s, not read"),
            _ => format!("{secs} s"),
        };
        self.rule_trace.push(RuleTraceEntry::new(
            channel,
            RuleOutcome::Failed,
            RuleCause::DeliveryDeadlineMissed,
            &detail,
            now,
        ));
        self.next_attempt_at = now;
        self.lease = None;
        true
    }

    /// Puts a leased message back as `retrying`, to be leased again at `retry.at`. Applies only
    /// when `worker` holds the lease (even an expired one nobody else took) and the message is
    /// unsent. Returns whether it was applied.
    pub fn release(&mut self, worker: &str, retry: Retry) -> bool {
        let held = self.lease.as_ref().is_some_and(|l| l.holder == worker);
        if !held || !self.is_unsent() {
            return false;
        }
        self.status = MessageStatus::Retrying;
        self.status_history.push(StatusChange {
            status: MessageStatus::Retrying,
            at: retry.now,
            reason: retry.reason,
        });
        if retry.error.is_some() {
            self.error = retry.error;
        }
        self.next_attempt_at = retry.at;
        self.lease = None;
        true
    }

    /// Gives a leased message back untouched, due at `until`: the lease is cleared and the
    /// attempt it counted is uncounted, so nothing about the message changes but when it is next
    /// leased (a send held back by its page's pace, [`crate::SendPacing`]). Applies only when
    /// `worker` holds the lease and the message is unsent. Returns whether it was applied.
    pub fn defer(&mut self, worker: &str, until: Timestamp) -> bool {
        let held = self.lease.as_ref().is_some_and(|l| l.holder == worker);
        if !held || !self.is_unsent() {
            return false;
        }
        self.attempts = self.attempts.saturating_sub(1);
        self.next_attempt_at = until;
        self.lease = None;
        true
    }

    /// Appends a Graph message id unless it is already there. Returns whether it was added.
    pub fn add_graph_message_id(&mut self, mid: &str) -> bool {
        if self.graph_message_ids.iter().any(|m| m == mid) {
            return false;
        }
        self.graph_message_ids.push(mid.to_owned());
        true
    }

    /// Whether a receipt watermark for `recipient` at `watermark` moves this message to
    /// `status` (`delivered` or `read`).
    pub fn watermark_applies(
        &self,
        recipient: &MessengerRecipient,
        status: MessageStatus,
        watermark: Timestamp,
    ) -> bool {
        self.sent_to.as_ref() == Some(recipient)
            && self.sent_at.is_some_and(|t| t <= watermark)
            && matches!(self.status, MessageStatus::Sent | MessageStatus::Delivered)
            && self.status.can_become(status)
    }

    /// When the message last changed status after it left the queue: the time its content
    /// retention runs from. `None` while it is unsent (`processing` or `retrying`).
    pub fn settled_at(&self) -> Option<Timestamp> {
        if self.is_unsent() {
            return None;
        }
        self.status_history.last().map(|c| c.at)
    }

    /// Redacts the message's content at `now`: the request keeps only its rules and
    /// `expiresOn` (body, title, parts, channel options, custom body, recipient, metadata and
    /// conversation id go), the recipient key becomes `redacted`, the Messenger user it went to
    /// and the error's text and the status history's reasons (which may quote Graph) are
    /// removed, and each rule-trace entry's reason is its cause's summary. The id, status,
    /// status history (each status and its time), rule trace entries (channel, outcome, cause,
    /// time), Graph message ids, channel, error code and times stay.
    /// Redacting twice changes nothing.
    pub fn redact(&mut self, now: Timestamp) {
        if self.redacted_at.is_some() {
            return;
        }
        self.request = SendRequest {
            rules: std::mem::take(&mut self.request.rules),
            expires_on: self.request.expires_on,
            ..SendRequest::default()
        };
        self.recipient_key = REDACTED.to_owned();
        self.sent_to = None;
        if let Some(error) = &mut self.error {
            error.message = REDACTED.to_owned();
        }
        // The trace keeps each entry's cause; its words lose their detail (which may quote
        // Graph or name the recipient).
        for entry in &mut self.rule_trace {
            entry.reason = entry.cause.reason("");
        }
        // A status's reason may quote Graph too (a retry's error): the status and its time stay.
        for change in &mut self.status_history {
            change.reason = None;
        }
        self.redacted_at = Some(now);
    }

    /// Erases the message for its customer (their data was erased on request): an unsent
    /// message first fails, with error code [`ERASED_CODE`](crate::ERASED_CODE), so that it is
    /// never sent; then its content is redacted ([`MessageRecord::redact`]) and its idempotency
    /// key and request hash (a hash of the customer's data) are forgotten. Returns whether it
    /// changed anything.
    pub fn erase(&mut self, now: Timestamp) -> bool {
        let mut changed = false;
        if self.is_unsent() {
            changed |= self.apply_status(StatusUpdate::new(MessageStatus::Failed, now).error(
                MessageError {
                    code: crate::ERASED_CODE.to_owned(),
                    message: "the customer's data was erased".to_owned(),
                },
            ));
        }
        if self.redacted_at.is_none() {
            self.redact(now);
            changed = true;
        }
        changed |= self.idempotency.take().is_some();
        changed
    }

    /// The API's view of the message (`GET /apispaces/{space}/messages/{id}`).
    pub fn to_resource(&self) -> MessageResource {
        MessageResource {
            id: self.id.clone(),
            status: self.status,
            channel: self.channel,
            status_history: self.status_history.clone(),
            rule_trace: self.rule_trace.clone(),
            graph_message_ids: self.graph_message_ids.clone(),
            error: self.error.clone(),
            metadata: self.request.metadata.clone(),
            conversation_id: self.request.conversation_id.clone(),
            created_at: self.created_at,
            redacted: self.redacted_at.is_some(),
        }
    }
}

/// What a redacted message's recipient key and error text say.
pub const REDACTED: &str = "redacted";

/// The reason a missed delivery deadline gives in the status history.
pub fn missed_deadline_reason(channel: Channel, timeout_secs: u64) -> String {
    match channel {
        // Instagram sends no delivery receipts: only a read ends its wait.
        Channel::Instagram => format!("not read on Instagram within {timeout_secs} s"),
        _ => format!("no delivery receipt within {timeout_secs} s"),
    }
}

/// Whether `status` is one of the unsent states (`processing`, `retrying`).
pub const fn is_unsent(status: MessageStatus) -> bool {
    matches!(status, MessageStatus::Processing | MessageStatus::Retrying)
}

/// The statuses a receipt watermark can set.
pub fn check_receipt_status(status: MessageStatus) -> Result<(), crate::StoreError> {
    match status {
        MessageStatus::Delivered | MessageStatus::Read => Ok(()),
        other => Err(crate::StoreError::invalid(format!(
            "a watermark sets delivered or read, not {other}"
        ))),
    }
}
