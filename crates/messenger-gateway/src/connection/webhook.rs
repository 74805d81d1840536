//! The last signed delivery of Meta's webhook seen per page and per field: recorded in memory as
//! each verified body arrives, and written to the store
//! ([`messenger_store::PageConnectionRecord`]) rarely, so that every instance's doctor, and the
//! `doctor` command, see what any instance saw. A page and field is written at most once per
//! [`WRITE_EVERY`] by an instance (the first sighting at once, later ones within
//! [`WRITE_EVERY`]), never once per webhook.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use messenger_model::Timestamp;
use messenger_store::{Store, WebhookSighting};
use serde::de::IgnoredAny;
use serde::Deserialize;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use super::fields::field_of;

/// The shortest time between two writes of one page and field by one instance.
pub const WRITE_EVERY: Duration = Duration::from_secs(60);

/// One page and field as this instance saw it.
#[derive(Debug, Clone, Copy)]
struct Seen {
    /// The last delivery.
    at: Timestamp,
    /// The delivery time last written to the store, and when it was written.
    written: Option<(Timestamp, Timestamp)>,
}

impl Seen {
    /// Whether the store lacks `at` and may be written at `now`.
    fn due(&self, now: Timestamp) -> bool {
        match self.written {
            None => true,
            Some((at, when)) => self.at > at && now.millis() - when.millis() >= every_millis(),
        }
    }
}

fn every_millis() -> i64 {
    i64::try_from(WRITE_EVERY.as_millis()).unwrap_or(i64::MAX)
}

/// When each `(page, field)` last arrived, for the configured pages only.
#[derive(Debug, Default)]
pub struct WebhookSightings {
    pages: Vec<String>,
    seen: Mutex<HashMap<(String, &'static str), Seen>>,
    /// A sighting is due to be written.
    due: Notify,
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
            due: Notify::new(),
        }
    }

    /// Records the pages and fields of a verified body that arrived `at`. A body that is not
    /// Meta's shape records nothing (the applier deals with it).
    pub fn record(&self, body: &[u8], at: Timestamp) {
        let Ok(body) = serde_json::from_slice::<Body>(body) else {
            return;
        };
        let mut seen = self.seen.lock().unwrap_or_else(PoisonError::into_inner);
        let mut due = false;
        for entry in body.entry {
            let Some(page) = entry.id.filter(|id| self.pages.contains(id)) else {
                continue;
            };
            let mut mark = |field: &'static str| {
                let s = seen
                    .entry((page.clone(), field))
                    .or_insert(Seen { at, written: None });
                s.at = s.at.max(at);
                due |= s.due(at);
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
        drop(seen);
        if due {
            self.due.notify_one();
        }
    }

    /// When `field` of `page` last arrived at this instance.
    pub fn last(&self, page: &str, field: &str) -> Option<Timestamp> {
        let seen = self.seen.lock().unwrap_or_else(PoisonError::into_inner);
        seen.iter()
            .find(|((p, f), _)| p == page && *f == field)
            .map(|(_, s)| s.at)
    }

    /// The sightings the store lacks that may be written at `now` (every one the store lacks
    /// when `all`), marked written.
    fn take_due(&self, now: Timestamp, all: bool) -> Vec<WebhookSighting> {
        let mut seen = self.seen.lock().unwrap_or_else(PoisonError::into_inner);
        seen.iter_mut()
            .filter(|(_, s)| s.due(now) || (all && s.written.is_none_or(|(at, _)| s.at > at)))
            .map(|((page, field), s)| {
                s.written = Some((s.at, now));
                WebhookSighting::new(page.clone(), *field, s.at)
            })
            .collect()
    }

    /// Sightings whose write failed are written again on the next round.
    fn unwritten(&self, failed: &[WebhookSighting]) {
        let mut seen = self.seen.lock().unwrap_or_else(PoisonError::into_inner);
        for f in failed {
            if let Some(s) = seen
                .iter_mut()
                .find(|((p, field), _)| *p == f.page_id && *field == f.field)
                .map(|(_, s)| s)
            {
                s.written = None;
            }
        }
    }

    /// Writes what is due to `store`; returns how many sightings were written.
    pub async fn write_due(&self, store: &dyn Store, now: Timestamp, all: bool) -> usize {
        let due = self.take_due(now, all);
        if due.is_empty() {
            return 0;
        }
        match store.record_webhook_sightings(&due).await {
            Ok(()) => due.len(),
            Err(e) => {
                tracing::warn!(
                    error = %messenger::error_chain(&e),
                    "the webhook's last deliveries could not be recorded in the store; tried again later"
                );
                self.unwritten(&due);
                0
            }
        }
    }

    /// Writes sightings to `store` as they become due (a new page and field at once, later
    /// deliveries at most once per [`WRITE_EVERY`]), and everything unwritten at `cancel`.
    pub async fn run(self: Arc<Self>, store: Arc<dyn Store>, cancel: CancellationToken) {
        loop {
            tokio::select! {
                () = cancel.cancelled() => break,
                () = self.due.notified() => {}
                () = tokio::time::sleep(WRITE_EVERY) => {}
            }
            self.write_due(store.as_ref(), Timestamp::now(), false)
                .await;
        }
        self.write_due(store.as_ref(), Timestamp::now(), true).await;
    }
}

#[cfg(test)]
mod tests {
    use messenger_store::PageConnectionRecord;

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

    #[tokio::test]
    async fn each_page_and_field_is_written_at_most_once_a_minute() {
        let store = messenger_store::MemoryStore::new();
        let s = WebhookSightings::new(["P1".to_owned()]);
        let body = |mid: &str| {
            format!(r#"{{"entry":[{{"id":"P1","messaging":[{{"message":{{"mid":"{mid}"}}}}]}}]}}"#)
        };
        let t0 = Timestamp::from_millis(1_000_000);
        s.record(body("a").as_bytes(), t0);
        assert_eq!(s.write_due(&store, t0, false).await, 1);
        // Later deliveries within the minute: nothing to write.
        let t1 = t0.add_millis(10_000);
        s.record(body("b").as_bytes(), t1);
        assert_eq!(s.write_due(&store, t1, false).await, 0);
        let stored = store.webhook_sightings("P1").await.unwrap();
        assert_eq!(stored, vec![WebhookSighting::new("P1", "messages", t0)]);
        // A minute after the write, the latest delivery goes.
        let t2 = t0.add_millis(60_000);
        assert_eq!(s.write_due(&store, t2, false).await, 1);
        assert_eq!(s.write_due(&store, t2, false).await, 0);
        let stored = store.webhook_sightings("P1").await.unwrap();
        assert_eq!(stored, vec![WebhookSighting::new("P1", "messages", t1)]);
        // At shutdown whatever is unwritten goes, whenever the last write was.
        let t3 = t2.add_millis(1_000);
        s.record(body("c").as_bytes(), t3);
        assert_eq!(s.write_due(&store, t3, false).await, 0);
        assert_eq!(s.write_due(&store, t3, true).await, 1);
        assert_eq!(s.write_due(&store, t3, true).await, 0);
    }
}
