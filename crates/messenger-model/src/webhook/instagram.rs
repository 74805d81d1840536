//! Instagram Direct webhook bodies (`"object":"instagram"`), parsed into typed events. No I/O:
//! this reads a body, the facade decides what to do with it.
//!
//! - `entry[].id` is the Instagram professional account the events are for.
//! - Events come in `messaging[]` (and `standby[]`), or in `changes[]` as
//!   `{"field":"messages","value":{sender,recipient,timestamp,message}}` (dashboard test payloads
//!   and some real direct messages): both shapes give the same [`InstagramEvent`].
//! - Comments on the account's media come in `changes[]` with `field: "comments"` (or
//!   `"live_comments"`): each is an [`InstagramComment`].
//! - Echoes are `messages` with `is_echo`; reads (`messaging_seen`) carry the `mid` read, not a
//!   watermark; Instagram has no delivery receipts.
//! - Nothing here fails: a body that is not JSON, an entry or event of a shape the model cannot
//!   read, a Messenger-only kind (delivery, opt-in, edit) or a `changes[]` field that is neither
//!   a direct message nor a comment is an [`InstagramQuarantine`] with its reason and raw JSON, so a gateway never
//!   answers Meta with a 4xx for a body Meta signed.

use serde::Deserialize;
use serde_json::Value;

use super::comment::{text, INSTAGRAM_COMMENT_FIELDS};
use super::{InboundMessage, InstagramComment, MessagingEvent};

/// The `changes[].field` values that carry a direct-message event in `value`.
pub const INSTAGRAM_MESSAGE_FIELDS: [&str; 6] = [
    "messages",
    "messaging_postbacks",
    "message_reactions",
    "messaging_seen",
    "messaging_referral",
    "messaging_handover",
];

/// Where in an entry an event was.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum InstagramList {
    /// `entry[].messaging[]`.
    Messaging,
    /// `entry[].standby[]` (another app owns the thread).
    Standby,
    /// `entry[].changes[].value`.
    Changes,
    /// `entry[]` itself, or the whole body.
    Entry,
}

impl InstagramList {
    /// The body's field name: `messaging`, `standby`, `changes` or `entry`.
    pub fn as_str(self) -> &'static str {
        match self {
            InstagramList::Messaging => "messaging",
            InstagramList::Standby => "standby",
            InstagramList::Changes => "changes",
            InstagramList::Entry => "entry",
        }
    }
}

/// What an Instagram event is.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum InstagramKind {
    /// A message from the user (text, media, quick-reply tap; a `reply_to.mid` reply too).
    Message,
    /// A message the account sent (`is_echo`), from any app or the Instagram app itself.
    Echo,
    /// A reply to the account's story (`reply_to.story`): the story's CDN URL and id.
    StoryReply {
        /// The story's CDN URL (it expires).
        url: Option<String>,
        /// The story's id.
        story_id: Option<String>,
    },
    /// The user mentioned the account in their story: forward the URL, never store the media.
    StoryMention {
        /// The story's CDN URL (it expires).
        url: Option<String>,
    },
    /// A shared post, story or reel (`ig_post`, `ig_story`, `ig_reel`; `share` / `reel` before
    /// 2026-04-27).
    Share {
        /// The attachment type, as sent.
        share_kind: String,
        /// `payload.url`, when given.
        url: Option<String>,
    },
    /// A message Instagram cannot show through the API (`is_unsupported`).
    Unsupported,
    /// The user unsent a message (`is_deleted`).
    Deleted,
    /// A reaction or its removal.
    Reaction,
    /// A postback: a button or an ice breaker tapped.
    Postback,
    /// A referral: an `ig.me` link with `ref`, or an ad.
    Referral,
    /// The user saw the message `mid` (`messaging_seen`).
    Seen {
        /// The message seen.
        mid: Option<String>,
    },
    /// A handover (thread control).
    Handover,
}

impl InstagramKind {
    /// A short stable name (`message`, `echo`, `story_reply`, ...), for logs and tests.
    pub fn name(&self) -> &'static str {
        match self {
            InstagramKind::Message => "message",
            InstagramKind::Echo => "echo",
            InstagramKind::StoryReply { .. } => "story_reply",
            InstagramKind::StoryMention { .. } => "story_mention",
            InstagramKind::Share { .. } => "share",
            InstagramKind::Unsupported => "unsupported",
            InstagramKind::Deleted => "deleted",
            InstagramKind::Reaction => "reaction",
            InstagramKind::Postback => "postback",
            InstagramKind::Referral => "referral",
            InstagramKind::Seen { .. } => "seen",
            InstagramKind::Handover => "handover",
        }
    }
}

/// One Instagram event read from a body.
#[derive(Debug, Clone, PartialEq)]
pub struct InstagramEvent {
    /// The Instagram professional account (`entry[].id`).
    pub account_id: String,
    /// Where it was.
    pub list: InstagramList,
    /// Its position in that list.
    pub index: usize,
    /// What it is.
    pub kind: InstagramKind,
    /// The event, read as Messenger's are (sender IGSID, recipient, timestamp, kind fields).
    pub event: MessagingEvent,
}

impl InstagramEvent {
    /// A key that is the same for every redelivery of this event and differs between events:
    /// Messenger's ([`MessagingEvent::dedupe_key`]), except for reads, which have no watermark
    /// and are keyed by the reader and the `mid` read, and for unsent messages, which carry the
    /// `mid` of the message they take back (`deleted:` and that message's key).
    ///
    /// ```
    /// use messenger_model::webhook::InstagramBody;
    /// let body = br#"{"object":"instagram","entry":[{"id":"A","messaging":[
    ///   {"sender":{"id":"U"},"recipient":{"id":"A"},"timestamp":5,"read":{"mid":"m1"}},
    ///   {"sender":{"id":"U"},"recipient":{"id":"A"},"timestamp":5,"read":{"mid":"m2"}}]}]}"#;
    /// let b = InstagramBody::parse(body);
    /// assert_eq!(b.events[0].dedupe_key(), "seen:U:m1");
    /// assert_ne!(b.events[0].dedupe_key(), b.events[1].dedupe_key());
    ///
    /// let body = br#"{"object":"instagram","entry":[{"id":"A","messaging":[
    ///   {"sender":{"id":"U"},"recipient":{"id":"A"},"timestamp":5,"message":{"mid":"m1"}},
    ///   {"sender":{"id":"U"},"recipient":{"id":"A"},"timestamp":6,
    ///    "message":{"mid":"m1","is_deleted":true}}]}]}"#;
    /// let b = InstagramBody::parse(body);
    /// assert_eq!(b.events[0].dedupe_key(), "mid:m1");
    /// assert_eq!(b.events[1].dedupe_key(), "deleted:mid:m1");
    /// ```
    pub fn dedupe_key(&self) -> String {
        match &self.kind {
            InstagramKind::Seen { mid: Some(mid) } => {
                format!("seen:{}:{mid}", self.event.sender_id().unwrap_or("-"))
            }
            InstagramKind::Deleted => format!("deleted:{}", self.event.dedupe_key()),
            _ => self.event.dedupe_key(),
        }
    }
}

/// Part of a body that was not read, with why; kept as Meta sent it.
#[derive(Debug, Clone, PartialEq)]
pub struct InstagramQuarantine {
    /// The account of its entry, when known.
    pub account_id: Option<String>,
    /// Where it was.
    pub list: InstagramList,
    /// Its position in that list.
    pub index: usize,
    /// Why it was not read.
    pub reason: String,
    /// The element, as Meta sent it.
    pub raw: Value,
}

/// An Instagram webhook body read: its events, and what was quarantined.
///
/// ```
/// use messenger_model::webhook::{InstagramBody, InstagramKind};
/// let body = br#"{"object":"instagram","entry":[{"id":"17841400000000001","time":1764400000100,
///   "messaging":[{"sender":{"id":"IGSID-1"},"recipient":{"id":"17841400000000001"},
///     "timestamp":1764400000000,"read":{"mid":"aWdfZA"}}],
///   "changes":[{"field":"comments","value":{"id":"1","text":"hi"}}]}]}"#;
/// let b = InstagramBody::parse(body);
/// assert_eq!(b.events[0].account_id, "17841400000000001");
/// assert_eq!(b.events[0].kind, InstagramKind::Seen { mid: Some("aWdfZA".into()) });
/// assert_eq!(b.comments[0].text.as_deref(), Some("hi"));
/// assert!(!InstagramBody::parse(b"{").quarantined.is_empty());
/// ```
#[derive(Debug, Clone, PartialEq, Default)]
pub struct InstagramBody {
    /// The events, in body order (per entry: `messaging`, `standby`, then `changes`).
    pub events: Vec<InstagramEvent>,
    /// The comments (`changes[]` of the fields [`INSTAGRAM_COMMENT_FIELDS`]), in body order.
    pub comments: Vec<InstagramComment>,
    /// What was not read. Never empty when `events` and `comments` both are.
    pub quarantined: Vec<InstagramQuarantine>,
}

impl InstagramBody {
    /// Reads a body; never fails and never panics (see the module doc).
    pub fn parse(bytes: &[u8]) -> Self {
        match serde_json::from_slice::<Value>(bytes) {
            Ok(value) => Self::from_value(value),
            Err(e) => Self::whole(Value::Null, format!("the body is not JSON: {e}")),
        }
    }

    /// Reads a body already parsed as JSON; never fails.
    pub fn from_value(value: Value) -> Self {
        let Value::Object(mut map) = value else {
            return Self::whole(value, "the body is not a JSON object".to_owned());
        };
        match map.get("object") {
            Some(Value::String(o)) if o == "instagram" => {}
            other => {
                let reason = match other {
                    Some(Value::String(o)) => format!("object is \"{o}\", not \"instagram\""),
                    _ => "object is not \"instagram\"".to_owned(),
                };
                return Self::whole(Value::Object(map), reason);
            }
        }
        let mut body = InstagramBody::default();
        match map.remove("entry") {
            Some(Value::Array(entries)) => {
                for (index, entry) in entries.into_iter().enumerate() {
                    body.read_entry(index, entry);
                }
            }
            Some(other) => body.quarantine(
                None,
                InstagramList::Entry,
                0,
                "entry is not an array",
                other,
            ),
            None => {}
        }
        if body.events.is_empty() && body.comments.is_empty() && body.quarantined.is_empty() {
            map.insert("object".to_owned(), Value::String("instagram".to_owned()));
            return Self::whole(Value::Object(map), "the body holds no events".to_owned());
        }
        body
    }

    fn whole(raw: Value, reason: String) -> Self {
        let mut body = InstagramBody::default();
        body.quarantine(None, InstagramList::Entry, 0, reason, raw);
        body
    }

    fn quarantine(
        &mut self,
        account_id: Option<&str>,
        list: InstagramList,
        index: usize,
        reason: impl Into<String>,
        raw: Value,
    ) {
        self.quarantined.push(InstagramQuarantine {
            account_id: account_id.map(str::to_owned),
            list,
            index,
            reason: reason.into(),
            raw,
        });
    }

    fn read_entry(&mut self, index: usize, entry: Value) {
        let Value::Object(mut map) = entry else {
            return self.quarantine(
                None,
                InstagramList::Entry,
                index,
                "the entry is not a JSON object",
                entry,
            );
        };
        let account = match map.get("id") {
            Some(Value::String(s)) if !s.is_empty() => s.clone(),
            Some(Value::Number(n)) if n.is_u64() => n.to_string(),
            _ => {
                return self.quarantine(
                    None,
                    InstagramList::Entry,
                    index,
                    "the entry has no account id (entry[].id)",
                    Value::Object(map),
                )
            }
        };
        let time = map.get("time").and_then(Value::as_i64).unwrap_or(0);
        for list in [InstagramList::Messaging, InstagramList::Standby] {
            match map.remove(list.as_str()) {
                None | Some(Value::Null) => {}
                Some(Value::Array(items)) => {
                    for (i, raw) in items.into_iter().enumerate() {
                        self.read_event(&account, list, i, raw);
                    }
                }
                Some(other) => {
                    self.quarantine(Some(&account), list, 0, "not an array of events", other)
                }
            }
        }
        match map.remove("changes") {
            None | Some(Value::Null) => {}
            Some(Value::Array(items)) => {
                for (i, change) in items.into_iter().enumerate() {
                    self.read_change(&account, time, i, change);
                }
            }
            Some(other) => self.quarantine(
                Some(&account),
                InstagramList::Changes,
                0,
                "not an array of changes",
                other,
            ),
        }
    }

    fn read_change(&mut self, account: &str, time: i64, index: usize, change: Value) {
        let list = InstagramList::Changes;
        let field = change
            .get("field")
            .and_then(Value::as_str)
            .map(str::to_owned);
        match (field, change.get("value")) {
            (Some(f), Some(value)) if INSTAGRAM_MESSAGE_FIELDS.contains(&f.as_str()) => {
                let value = value.clone();
                self.read_event(account, list, index, value);
            }
            (Some(f), Some(value)) if INSTAGRAM_COMMENT_FIELDS.contains(&f.as_str()) => {
                match InstagramComment::read(account, &f, index, time, value) {
                    Ok(comment) => self.comments.push(comment),
                    Err(reason) => self.quarantine(Some(account), list, index, reason, change),
                }
            }
            (Some(f), _)
                if INSTAGRAM_MESSAGE_FIELDS.contains(&f.as_str())
                    || INSTAGRAM_COMMENT_FIELDS.contains(&f.as_str()) =>
            {
                self.quarantine(
                    Some(account),
                    list,
                    index,
                    format!("change `{f}` has no value"),
                    change,
                );
            }
            (Some(f), _) => self.quarantine(
                Some(account),
                list,
                index,
                format!("change `{f}` is neither a direct-message field nor a comment"),
                change,
            ),
            (None, _) => self.quarantine(Some(account), list, index, "change has no field", change),
        }
    }

    fn read_event(&mut self, account: &str, list: InstagramList, index: usize, raw: Value) {
        let event = match MessagingEvent::deserialize(&raw) {
            Ok(event) => event,
            Err(e) => return self.quarantine(Some(account), list, index, e.to_string(), raw),
        };
        match classify(&event, &raw) {
            Ok(kind) => self.events.push(InstagramEvent {
                account_id: account.to_owned(),
                list,
                index,
                kind,
                event,
            }),
            Err(reason) => self.quarantine(Some(account), list, index, reason, raw),
        }
    }
}

/// The kind of an event, or why it is not an Instagram event.
fn classify(event: &MessagingEvent, raw: &Value) -> Result<InstagramKind, String> {
    if let Some(m) = &event.message {
        return Ok(message_kind(m, raw.get("message")));
    }
    if event.postback.is_some() {
        return Ok(InstagramKind::Postback);
    }
    if event.reaction.is_some() {
        return Ok(InstagramKind::Reaction);
    }
    if event.referral.is_some() {
        return Ok(InstagramKind::Referral);
    }
    if event.read.is_some() {
        let mid = raw.pointer("/read/mid").and_then(text);
        return Ok(InstagramKind::Seen { mid });
    }
    if event.handover.is_some() {
        return Ok(InstagramKind::Handover);
    }
    if event.delivery.is_some() {
        return Err("Instagram has no delivery receipts (a Messenger-only kind)".to_owned());
    }
    if event.optin.is_some() || event.message_edit.is_some() || event.response_feedback.is_some() {
        return Err("a Messenger-only kind, not sent for Instagram".to_owned());
    }
    let keys: Vec<&str> = event.extra.keys().map(String::as_str).collect();
    Err(format!(
        "an event of no known kind (fields: {})",
        keys.join(", ")
    ))
}

fn message_kind(m: &InboundMessage, raw: Option<&Value>) -> InstagramKind {
    if m.is_echo {
        return InstagramKind::Echo;
    }
    let flag = |name: &str| m.extra.get(name).and_then(Value::as_bool) == Some(true);
    if flag("is_deleted") {
        return InstagramKind::Deleted;
    }
    if flag("is_unsupported") {
        return InstagramKind::Unsupported;
    }
    if let Some(story) = raw.and_then(|r| r.pointer("/reply_to/story")) {
        return InstagramKind::StoryReply {
            url: story.get("url").and_then(text),
            story_id: story.get("id").and_then(text),
        };
    }
    for a in &m.attachments {
        let url = a.payload.get("url").and_then(text);
        match a.kind.as_str() {
            "story_mention" => return InstagramKind::StoryMention { url },
            "ig_post" | "ig_story" | "ig_reel" | "share" | "reel" => {
                return InstagramKind::Share {
                    share_kind: a.kind.clone(),
                    url,
                }
            }
            _ => {}
        }
    }
    InstagramKind::Message
}
