//! The last signed delivery of Meta's webhook seen per page and per field, recorded as each
//! verified body arrives (per instance, in memory; the connection doctor reports it).

use std::collections::HashMap;
use std::sync::Mutex;

use messenger_model::Timestamp;
use serde::de::IgnoredAny;
use serde::Deserialize;

use super::fields::field_of;

/// When each `(page, field)` last arrived, for the configured pages only.
#[derive(Debug, Default)]
pub struct WebhookSightings {
    pages: Vec<String>,
    seen: Mutex<HashMap<(String, &'static str), Timestamp>>,
}

#[derive(Deserialize)]
struct Body {
    #[serde(default)]
    entry: Vec<Entry>,
}

#[derive(Deserialize)]
struct Entry {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    messaging: Vec<Event>,
    #[serde(default)]
    standby: Vec<IgnoredAny>,
}

/// One event of `messaging`: its `message` (for `is_echo`) and the names of its other keys.
#[derive(Deserialize)]
struct Event {
    #[serde(default)]
    message: Option<Message>,
    #[serde(flatten)]
    other: HashMap<String, IgnoredAny>,
}

#[derive(Deserialize)]
struct Message {
    #[serde(default)]
    is_echo: bool,
}

impl WebhookSightings {
    /// Sightings of `pages` (others are not kept).
    pub fn new(pages: impl IntoIterator<Item = String>) -> Self {
        Self {
            pages: pages.into_iter().collect(),
            seen: Mutex::default(),
        }
    }

    /// Records the pages and fields of a verified body that arrived `at`. A body that is not
    /// Meta's shape records nothing (the applier deals with it).
    pub fn record(&self, body: &[u8], at: Timestamp) {
        let Ok(body) = serde_json::from_slice::<Body>(body) else {
            return;
        };
        let mut seen = self
            .seen
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        for entry in body.entry {
            let Some(page) = entry.id.filter(|id| self.pages.contains(id)) else {
                continue;
            };
            let mut mark = |field: &'static str| {
                seen.insert((page.clone(), field), at);
            };
            if !entry.standby.is_empty() {
                mark("standby");
            }
            for event in &entry.messaging {
                if let Some(message) = &event.message {
                    mark(if message.is_echo {
                        "message_echoes"
                    } else {
                        "messages"
                    });
                }
                for key in event.other.keys() {
                    if let Some(field) = field_of(key, false) {
                        mark(field);
                    }
                }
            }
        }
    }

    /// When `field` of `page` last arrived.
    pub fn last(&self, page: &str, field: &str) -> Option<Timestamp> {
        let seen = self
            .seen
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        seen.iter()
            .find(|((p, f), _)| p == page && *f == field)
            .map(|(_, at)| *at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_each_field_of_configured_pages_only() {
        let s = WebhookSightings::new(["P1".to_owned()]);
        let t = Timestamp::from_millis(1_000);
        let body = br#"{"object":"page","entry":[
            {"id":"P1","time":1,"messaging":[
                {"sender":{"id":"1"},"message":{"mid":"m","text":"hi"}},
                {"sender":{"id":"P1"},"message":{"mid":"e","is_echo":true}},
                {"sender":{"id":"1"},"delivery":{"watermark":1}}]},
            {"id":"P1","standby":[{"sender":{"id":"1"}}]},
            {"id":"P2","messaging":[{"read":{"watermark":1}}]}]}"#;
        s.record(body, t);
        for field in [
            "messages",
            "message_echoes",
            "message_deliveries",
            "standby",
        ] {
            assert_eq!(s.last("P1", field), Some(t), "{field}");
        }
        assert_eq!(s.last("P1", "message_reads"), None);
        assert_eq!(s.last("P2", "message_reads"), None);
        s.record(b"not json", t);
    }
}
