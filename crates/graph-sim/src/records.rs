//! What the simulator keeps for inspection: requests, accepted sends and uploads, SMS and
//! webhook posts.

use bytes::Bytes;
use messenger_model::graph::{GraphSendRequest, Recipient, SenderAction};
use messenger_model::webhook::WebhookPayload;
use messenger_model::Timestamp;

/// One HTTP request the simulator received, kept for inspection.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedRequest {
    /// `POST`, `GET`, ...
    pub method: String,
    /// The path (`/v21.0/me/messages`).
    pub path: String,
    /// The raw query string, if any.
    pub query: Option<String>,
    /// The headers, names lowercased, in the order received (values not UTF-8 are replaced
    /// lossily).
    pub headers: Vec<(String, String)>,
    /// The raw body.
    pub body: Bytes,
    /// When it arrived.
    pub timestamp: Timestamp,
}

impl RecordedRequest {
    /// The first value of header `name` (any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body parsed as JSON, if it is JSON.
    pub fn json(&self) -> Option<serde_json::Value> {
        serde_json::from_slice(&self.body).ok()
    }
}

/// A message the Send API accepted.
#[derive(Debug, Clone, PartialEq)]
pub struct SentMessage {
    /// The `message_id` answered (`m_...`).
    pub mid: String,
    /// The page that sent it.
    pub page_id: String,
    /// The recipient as given in the request.
    pub recipient: Recipient,
    /// The PSID answered as `recipient_id` (synthetic for phone and `user_ref` recipients).
    pub recipient_id: String,
    /// The request as parsed.
    pub request: GraphSendRequest,
    /// When it was accepted (milliseconds since the epoch).
    pub at_millis: i64,
}

/// A sender action (typing on/off, mark seen) the Send API accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentAction {
    /// The page that sent it.
    pub page_id: String,
    /// The PSID answered as `recipient_id`.
    pub recipient_id: String,
    /// The action.
    pub action: SenderAction,
    /// The persona it was sent as, if any.
    pub persona_id: Option<String>,
    /// When it was accepted (milliseconds since the epoch).
    pub at_millis: i64,
}

/// A message the Send API accepted for an Instagram account (a direct message or a private
/// reply), through either host.
#[derive(Debug, Clone, PartialEq)]
pub struct InstagramSend {
    /// The `message_id` answered.
    pub mid: String,
    /// The Instagram account that sent it.
    pub account_id: String,
    /// The host it came through (which login).
    pub host: crate::InstagramHost,
    /// The IGSID answered as `recipient_id` (the commenter's, for a private reply).
    pub recipient_id: String,
    /// The comment replied to privately (`recipient.comment_id`), if it was a private reply.
    pub comment_id: Option<String>,
    /// The request as parsed (text, attachment, quick replies, `tag`, `metadata`, ...); its
    /// `recipient` has no id for a private reply.
    pub request: GraphSendRequest,
    /// When it was accepted (milliseconds since the epoch).
    pub at_millis: i64,
}

/// A sender action the Send API accepted for an Instagram account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstagramAction {
    /// The Instagram account that sent it.
    pub account_id: String,
    /// The host it came through.
    pub host: crate::InstagramHost,
    /// The IGSID.
    pub recipient_id: String,
    /// `typing_on`, `typing_off`, `mark_seen`, `react` or `unreact`.
    pub action: String,
    /// The message reacted to (`react`, `unreact`).
    pub message_id: Option<String>,
    /// The reaction (`love`), for `react`.
    pub reaction: Option<String>,
    /// When it was accepted (milliseconds since the epoch).
    pub at_millis: i64,
}

/// An attachment uploaded through `POST /me/message_attachments`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upload {
    /// The `attachment_id` answered.
    pub attachment_id: String,
    /// The page that uploaded it.
    pub page_id: String,
    /// `image`, `audio`, `video` or `file` (Graph's `type`).
    pub kind: String,
    /// The file part's file name.
    pub filename: Option<String>,
    /// The file part's content type.
    pub content_type: Option<String>,
    /// The file's size in bytes (0 for an upload by URL).
    pub len: usize,
    /// The URL Graph was asked to fetch, for an upload by URL.
    pub url: Option<String>,
    /// Whether `is_reusable` was set.
    pub is_reusable: bool,
}

/// An SMS the Messages API accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmsMessage {
    /// `SM` and 32 hex digits.
    pub sid: String,
    /// The account that sent it.
    pub account_sid: String,
    /// The recipient, as given.
    pub to: String,
    /// The sender number or alphanumeric ID, if given.
    pub from: Option<String>,
    /// The messaging service, if given instead of (or with) `From`.
    pub messaging_service_sid: Option<String>,
    /// The text.
    pub body: String,
    /// How many SMS segments the text takes (GSM-7 or UCS-2).
    pub num_segments: u32,
    /// Where status callbacks go, if asked for.
    pub status_callback: Option<String>,
    /// When it was accepted (milliseconds since the epoch).
    pub at_millis: i64,
}

/// One webhook post the simulator made, and what the receiver answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookPost {
    /// The raw body posted.
    pub body: Bytes,
    /// The receiver's HTTP status; `None` when it could not be reached.
    pub status: Option<u16>,
    /// When it was posted (milliseconds since the epoch).
    pub at_millis: i64,
}

impl WebhookPost {
    /// The body parsed as Meta's payload.
    pub fn payload(&self) -> Option<WebhookPayload> {
        WebhookPayload::from_json(&self.body).ok()
    }
}

/// Connections accepted and requests being answered: see
/// [`GraphSim::connections_accepted`](crate::GraphSim::connections_accepted).
#[derive(Debug, Default)]
pub(crate) struct ConnectionStats {
    accepted: std::sync::atomic::AtomicU64,
    in_flight: std::sync::atomic::AtomicU64,
    max_in_flight: std::sync::atomic::AtomicU64,
}

impl ConnectionStats {
    /// Counts an accepted connection.
    pub(crate) fn accepted(&self) {
        self.accepted
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }

    pub(crate) fn accepted_count(&self) -> u64 {
        self.accepted.load(std::sync::atomic::Ordering::Relaxed)
    }

    pub(crate) fn max_in_flight(&self) -> u64 {
        self.max_in_flight
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Counts a request being answered until the guard is dropped.
    pub(crate) fn request(&self) -> Answering<'_> {
        use std::sync::atomic::Ordering::Relaxed;
        let now = self.in_flight.fetch_add(1, Relaxed) + 1;
        self.max_in_flight.fetch_max(now, Relaxed);
        Answering(self)
    }
}

/// A request being answered: see [`ConnectionStats::request`].
pub(crate) struct Answering<'a>(&'a ConnectionStats);

impl Drop for Answering<'_> {
    fn drop(&mut self) {
        self.0
            .in_flight
            .fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
    }
}
