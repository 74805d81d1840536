//! Listing a space's messages, newest first, by keyset cursor: [`MessageQuery`] and
//! [`MessagePosition`], for [`MessageStore::list_messages`](crate::MessageStore::list_messages).

use messenger_model::{Channel, MessageStatus, Timestamp};

use crate::MessageRecord;

/// Where a page of a listing ends: the `(created_at, id)` of its last message. The next page
/// holds the messages that sort after it, newest first: an earlier `created_at`, or the same
/// `created_at` and a smaller id (byte order of its UTF-8).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessagePosition {
    /// The last message's acceptance time.
    pub created_at: Timestamp,
    /// The last message's id.
    pub id: String,
}

impl MessagePosition {
    /// The position of `message` (to pass as [`MessageQuery::after`] for the next page).
    pub fn of(message: &MessageRecord) -> Self {
        Self {
            created_at: message.created_at,
            id: message.id.clone(),
        }
    }
}

/// Which messages of a space to list, newest first (by `created_at`, then id, both
/// descending). Every filter that is set must match.
///
/// ```
/// use messenger_model::{MessageStatus, Timestamp};
/// use messenger_store::MessageQuery;
/// let q = MessageQuery {
///     status: Some(MessageStatus::Failed),
///     since: Some(Timestamp::from_millis(0)),
///     limit: 20,
///     ..MessageQuery::default()
/// };
/// assert_eq!(q.effective_limit(), 20);
/// assert_eq!(MessageQuery::default().effective_limit(), 50);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MessageQuery {
    /// The current status.
    pub status: Option<MessageStatus>,
    /// The channel it went out on (a message not yet sent has none, and matches no channel).
    pub channel: Option<Channel>,
    /// The recipient key it was accepted for (`profile:<id>`, `fb:<psid>`, `tel:<number>`; see
    /// [`NewMessage::recipient_key`](crate::NewMessage::recipient_key)).
    pub recipient_key: Option<String>,
    /// Accepted at or after this instant.
    pub since: Option<Timestamp>,
    /// Accepted before this instant.
    pub until: Option<Timestamp>,
    /// Only messages after this position (the last one of the previous page).
    pub after: Option<MessagePosition>,
    /// At most this many messages; `0` means the default of 50, and never more than
    /// [`MessageQuery::MAX_LIMIT`].
    pub limit: usize,
}

impl MessageQuery {
    /// The largest page.
    pub const MAX_LIMIT: usize = 500;

    /// The default page.
    pub const DEFAULT_LIMIT: usize = 50;

    /// The number of messages to return.
    pub fn effective_limit(&self) -> usize {
        match self.limit {
            0 => Self::DEFAULT_LIMIT,
            n => n.min(Self::MAX_LIMIT),
        }
    }

    /// Whether `message` (of the space listed) matches, cursor included (for stores that
    /// filter in memory).
    pub fn matches(&self, message: &MessageRecord) -> bool {
        if let Some(after) = &self.after {
            let before_cursor = message.created_at < after.created_at
                || (message.created_at == after.created_at
                    && message.id.as_bytes() < after.id.as_bytes());
            if !before_cursor {
                return false;
            }
        }
        self.status.is_none_or(|s| message.status == s)
            && self.channel.is_none_or(|c| message.channel == Some(c))
            && self
                .recipient_key
                .as_deref()
                .is_none_or(|k| message.recipient_key == k)
            && self.since.is_none_or(|t| message.created_at >= t)
            && self.until.is_none_or(|t| message.created_at < t)
    }
}
