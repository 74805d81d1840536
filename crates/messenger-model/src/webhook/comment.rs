//! Comments on an Instagram account's media (`changes[]` with `field: "comments"` or
//! `"live_comments"`): who commented (IGSID and username), the text and the media, so the
//! business can answer privately (`to.commentId`).

use serde_json::Value;

/// The `changes[].field` values that carry a comment in `value`.
pub const INSTAGRAM_COMMENT_FIELDS: [&str; 2] = ["comments", "live_comments"];

/// One comment on the account's media, read from a `comments` (or `live_comments`) change.
///
/// ```
/// use messenger_model::webhook::InstagramBody;
/// let body = br#"{"object":"instagram","entry":[{"id":"17841400000000001","time":1764400000,
///   "changes":[{"field":"comments","value":{"id":"1790","text":"How much?",
///     "from":{"id":"IGSID-1","username":"a_customer"},
///     "media":{"id":"1789","media_product_type":"FEED"}}}]}]}"#;
/// let c = &InstagramBody::parse(body).comments[0];
/// assert_eq!((c.id.as_str(), c.from_id.as_deref()), ("1790", Some("IGSID-1")));
/// assert_eq!(c.media_product_type.as_deref(), Some("FEED"));
/// assert_eq!(c.time, 1_764_400_000_000, "an entry time in seconds is read as milliseconds");
/// assert_eq!(c.dedupe_key(), "comment:1790");
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct InstagramComment {
    /// The Instagram professional account whose media was commented on (`entry[].id`).
    pub account_id: String,
    /// `comments` or `live_comments`.
    pub field: String,
    /// Its position in the entry's `changes`.
    pub index: usize,
    /// The comment's id (what a private reply's `recipient.comment_id` names).
    pub id: String,
    /// The commenter's IGSID (`from.id`).
    pub from_id: Option<String>,
    /// The commenter's username (`from.username`).
    pub from_username: Option<String>,
    /// The comment's text.
    pub text: Option<String>,
    /// The media commented on (`media.id`).
    pub media_id: Option<String>,
    /// Its type (`media.media_product_type`: `FEED`, `REELS`, `AD`, ...).
    pub media_product_type: Option<String>,
    /// The comment this one answers, for a reply in a thread (`parent_id`).
    pub parent_id: Option<String>,
    /// When it happened, in milliseconds: the entry's `time` (Meta gives seconds on `changes`
    /// entries, read as milliseconds), 0 when absent.
    pub time: i64,
    /// The change's `value`, as Meta sent it.
    pub raw: Value,
}

impl InstagramComment {
    /// Reads the `value` of a comment change; the reason when it names no comment.
    pub(super) fn read(
        account_id: &str,
        field: &str,
        index: usize,
        entry_time: i64,
        value: &Value,
    ) -> Result<Self, String> {
        let Value::Object(map) = value else {
            return Err(format!("change `{field}`: the value is not a JSON object"));
        };
        let id = map
            .get("id")
            .and_then(text)
            .filter(|id| !id.is_empty())
            .ok_or_else(|| format!("change `{field}`: the comment has no id"))?;
        let at = |pointer: &str| value.pointer(pointer).and_then(text);
        Ok(Self {
            account_id: account_id.to_owned(),
            field: field.to_owned(),
            index,
            id,
            from_id: at("/from/id"),
            from_username: at("/from/username"),
            text: at("/text"),
            media_id: at("/media/id"),
            media_product_type: at("/media/media_product_type"),
            parent_id: at("/parent_id"),
            time: millis(entry_time),
            raw: value.clone(),
        })
    }

    /// A key that is the same for every redelivery of this comment: `comment:` and its id.
    pub fn dedupe_key(&self) -> String {
        format!("comment:{}", self.id)
    }
}

/// An entry's `time` in milliseconds: `changes` entries give seconds (below 10^11), `messaging`
/// entries milliseconds.
fn millis(time: i64) -> i64 {
    if time > 0 && time < 100_000_000_000 {
        time.saturating_mul(1000)
    } else {
        time.max(0)
    }
}

/// A string, or an integer as its text.
pub(super) fn text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) if n.is_u64() || n.is_i64() => Some(n.to_string()),
        _ => None,
    }
}
