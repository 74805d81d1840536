//! Meta's webhook payload (`POST` to the page's callback URL): `object`, `entry[]`,
//! `messaging[]` events. Every field is optional or defaulted and unknown ones are kept, so an
//! event kind or field Meta adds later is tolerated, not fatal.

mod event;

pub use event::{
    DeliveryReceipt, EventKind, InboundAttachment, InboundMessage, MessagingEvent, Optin, Party,
    Postback, QuickReplyPayload, Reaction, ReadReceipt, Referral, ReplyTo,
};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::ModelError;

/// A webhook POST body.
///
/// ```
/// use messenger_model::webhook::{EventKind, WebhookPayload};
/// let body = br#"{"object":"page","entry":[{"id":"PAGE","time":1,"messaging":[
///   {"sender":{"id":"PSID"},"recipient":{"id":"PAGE"},"timestamp":2,
///    "delivery":{"mids":["m1"],"watermark":3}}]}]}"#;
/// let p = WebhookPayload::from_json(body).unwrap();
/// assert!(matches!(p.entry[0].messaging[0].kind(), EventKind::Delivery(d) if d.watermark == 3));
/// ```
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct WebhookPayload {
    /// `page` for Messenger.
    #[serde(default)]
    pub object: String,
    /// Entries, one per page (and batch of time).
    #[serde(default)]
    pub entry: Vec<Entry>,
}

impl WebhookPayload {
    /// Parses a webhook body. A syntax error says where (line and column).
    pub fn from_json(bytes: &[u8]) -> Result<Self, ModelError> {
        serde_json::from_slice(bytes).map_err(ModelError::from_json)
    }
}

/// One entry: the events of one page.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Entry {
    /// The page id.
    #[serde(default)]
    pub id: String,
    /// When Meta sent the entry (milliseconds).
    #[serde(default)]
    pub time: i64,
    /// The events.
    #[serde(default)]
    pub messaging: Vec<MessagingEvent>,
    /// Other fields (`standby`, `changes`, ...), kept.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}
