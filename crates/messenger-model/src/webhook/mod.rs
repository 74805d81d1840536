//! Meta's webhook payload (`POST` to the page's callback URL): `object`, `entry[]`, and each
//! entry's `messaging[]` and `standby[]` events.
//!
//! Parsing is lenient and isolated, because a body Meta signed must not be refused (a webhook
//! that keeps failing gets the app unsubscribed):
//!
//! - [`WebhookPayload::from_json`] fails only when the bytes are not JSON or not a JSON object;
//! - each event is read on its own: one the model cannot read becomes an [`UnparsedEvent`] (its
//!   raw JSON and serde's error) and its neighbours parse;
//! - numbers of milliseconds may come as integers, integral floats, digit strings or `null`, ids
//!   as strings or integers (kept exactly as text, also above 2^53);
//! - unknown event kinds and fields are kept (`extra`), so what Meta adds later is tolerated.
//!
//! Instagram Direct bodies (`"object":"instagram"`) are read by [`InstagramBody`] (direct
//! messages, and comments on the account's media as [`InstagramComment`]).

mod comment;
mod edit;
mod entry;
mod event;
mod handover;
mod instagram;
pub(crate) mod lenient;

pub use comment::{InstagramComment, INSTAGRAM_COMMENT_FIELDS};
pub use edit::{MessageEdit, ResponseFeedback};
pub use entry::{Entry, EventList, UnparsedEvent};
pub use event::{
    DeliveryReceipt, EventKind, InboundAttachment, InboundMessage, MessagingEvent, Optin, Party,
    Postback, QuickReplyPayload, Reaction, ReadReceipt, Referral, ReplyTo,
};
pub use handover::{Handover, HandoverKind};
pub use instagram::{
    InstagramBody, InstagramEvent, InstagramKind, InstagramList, InstagramQuarantine,
    INSTAGRAM_MESSAGE_FIELDS,
};

use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

use crate::ModelError;
use entry::Merged;

/// A webhook POST body.
///
/// ```
/// use messenger_model::webhook::{EventKind, EventList, WebhookPayload};
/// let body = br#"{"object":"page","entry":[{"id":9007199254740993,"time":"1764400000100",
///   "messaging":[
///     {"sender":{"id":"24012345678901234"},"recipient":{"id":"9007199254740993"},
///      "timestamp":1764400000000,"delivery":{"mids":["m_1"],"watermark":1764399999000}},
///     {"sender":{"id":"24012345678901234"},"timestamp":"yesterday","read":{}}]}]}"#;
/// let p = WebhookPayload::from_json(body).unwrap();
/// let entry = &p.entry[0];
/// assert_eq!(entry.id, "9007199254740993");
/// assert!(matches!(entry.messaging[0].kind(), EventKind::Delivery(d) if d.mids == ["m_1"]));
/// assert_eq!(entry.unparsed[0].list, EventList::Messaging);
/// assert_eq!(entry.unparsed[0].index, 1);
/// ```
///
/// Serializing writes unparsed entries and events back where they were, and unknown top-level
/// fields after `object` and `entry`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct WebhookPayload {
    /// `page` for Messenger (`""` when absent; a non-string value is kept in `extra`).
    pub object: String,
    /// Entries, one per page (and batch of time).
    pub entry: Vec<Entry>,
    /// Elements of `entry` that are not JSON objects (list [`EventList::Entry`]), or the whole
    /// `entry` value when it is not an array.
    pub unparsed: Vec<UnparsedEvent>,
    /// Other top-level fields, kept.
    pub extra: Map<String, Value>,
}

impl WebhookPayload {
    /// Parses a webhook body. Fails only when the bytes are not JSON (a syntax error says where:
    /// line and column) or not a JSON object; everything else is tolerated (see the module doc).
    ///
    /// ```
    /// use messenger_model::webhook::WebhookPayload;
    /// assert!(WebhookPayload::from_json(b"{\"entry\":\"nope\"}").is_ok());
    /// assert!(WebhookPayload::from_json(b"[1]").is_err());
    /// assert!(WebhookPayload::from_json(b"{\"entry\":").is_err());
    /// ```
    pub fn from_json(bytes: &[u8]) -> Result<Self, ModelError> {
        serde_json::from_slice(bytes).map_err(ModelError::from_json)
    }

    /// Reads a body from its JSON object; never fails.
    fn from_object(mut map: Map<String, Value>) -> Self {
        let object = map.remove("object");
        let entries = map.remove("entry");
        let mut payload = WebhookPayload {
            extra: map,
            ..WebhookPayload::default()
        };
        match object {
            None | Some(Value::Null) => {}
            Some(Value::String(s)) => payload.object = s,
            Some(other) => {
                payload.extra.insert("object".to_owned(), other);
            }
        }
        match entries {
            None | Some(Value::Null) => {}
            Some(Value::Array(items)) => {
                for (index, raw) in items.into_iter().enumerate() {
                    match raw {
                        Value::Object(map) => payload.entry.push(Entry::from_object(map)),
                        raw => payload.unparsed.push(UnparsedEvent {
                            list: EventList::Entry,
                            index,
                            error: lenient::invalid_type(&raw, "an entry (a JSON object)"),
                            raw,
                        }),
                    }
                }
            }
            Some(raw) => payload.unparsed.push(UnparsedEvent {
                list: EventList::Entry,
                index: 0,
                error: lenient::invalid_type(&raw, "an array of entries"),
                raw,
            }),
        }
        payload
    }

    /// Every event read, with its entry and list, in body order (each entry's `messaging`, then
    /// its `standby`).
    pub fn events(&self) -> impl Iterator<Item = (&Entry, EventList, &MessagingEvent)> {
        self.entry
            .iter()
            .flat_map(|e| e.events().map(move |(list, event)| (e, list, event)))
    }

    /// Every element that could not be read: the body's own (no entry), then each entry's.
    pub fn unparsed_events(&self) -> impl Iterator<Item = (Option<&Entry>, &UnparsedEvent)> {
        let own = self.unparsed.iter().map(|u| (None, u));
        let entries = self
            .entry
            .iter()
            .flat_map(|e| e.unparsed.iter().map(move |u| (Some(e), u)));
        own.chain(entries)
    }
}

impl<'de> Deserialize<'de> for WebhookPayload {
    /// Fails only when the value is not a JSON object.
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        lenient::object(d, "a webhook body (a JSON object)").map(WebhookPayload::from_object)
    }
}

impl Serialize for WebhookPayload {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        if !self.extra.contains_key("object") {
            map.serialize_entry("object", &self.object)?;
        }
        map.serialize_entry(
            "entry",
            &Merged::new(&self.entry, &self.unparsed, EventList::Entry),
        )?;
        for (k, v) in &self.extra {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}
