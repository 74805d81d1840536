//! What every handler shares: the configuration the builder fixed, the books (faults, the
//! messaging window, personas), the ids and what the simulator records.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use axum::http::{HeaderMap, Method, Uri};
use bytes::Bytes;
use messenger_model::{Timestamp, UserProfile};

use crate::faults::FaultBook;
use crate::graph_api::PageAuth;
use crate::ids::Ids;
use crate::instagram_accounts::InstagramBook;
use crate::personas::PersonaBook;
use crate::records::{
    InstagramAction, InstagramSend, RecordedRequest, SentAction, SentMessage, SmsMessage, Upload,
    WebhookPost,
};
use crate::sync::lock;
use crate::window::WindowBook;

/// Receipts the simulated user's phone sends after each successful send.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AutoReceipts {
    /// Post a delivery event (watermark = the time it is posted, `mids` = the message) this long
    /// after the send.
    pub delivery: Option<Duration>,
    /// Post a read event (watermark = the time it is posted) this long after the send.
    pub read: Option<Duration>,
}

/// What the builder fixed; never changes while running.
pub(crate) struct Config {
    /// Token -> page.
    pub(crate) tokens: HashMap<String, PageAuth>,
    pub(crate) app_secret: Option<String>,
    /// The app's id: `debug_token`'s app token is `{app_id}|{app_secret}`.
    pub(crate) app_id: String,
    pub(crate) webhook_url: Option<String>,
    pub(crate) auto_receipts: Option<AutoReceipts>,
    /// Post a message echo (`is_echo`, with the message's `metadata`) after each send.
    pub(crate) echoes: bool,
    pub(crate) record_requests: bool,
    /// Account SID -> auth token.
    pub(crate) sms_accounts: HashMap<String, String>,
    /// The tags the Send API accepts.
    pub(crate) accepted_tags: Vec<String>,
}

/// Everything the handlers share.
pub(crate) struct SimState {
    pub(crate) config: Config,
    /// Where its ids come from.
    pub(crate) ids: Ids,
    pub(crate) sent_count: AtomicU64,
    /// Connections accepted, and requests being answered now and at most at once: how a client
    /// spreads its requests over connections (HTTP/1.1: one each; HTTP/2: many per connection).
    pub(crate) connections: super::records::ConnectionStats,
    pub(crate) faults: FaultBook,
    pub(crate) window: WindowBook,
    pub(crate) requests: Mutex<Vec<RecordedRequest>>,
    pub(crate) sent: Mutex<Vec<SentMessage>>,
    /// Sender actions accepted (kept when recording is on).
    pub(crate) actions: Mutex<Vec<SentAction>>,
    /// Every page's personas.
    pub(crate) personas: PersonaBook,
    /// Which app owns each conversation (thread control).
    pub(crate) threads: crate::thread_owners::ThreadBook,
    pub(crate) profiles: Mutex<HashMap<String, UserProfile>>,
    pub(crate) uploads: Mutex<Vec<Upload>>,
    /// Attachment ids Graph knows (uploads and reusable sends).
    pub(crate) attachment_ids: Mutex<HashSet<String>>,
    pub(crate) sms: Mutex<Vec<SmsMessage>>,
    pub(crate) webhook_posts: Mutex<Vec<WebhookPost>>,
    /// PSIDs whose phone never reports a delivery or read (auto receipts skip them): a customer
    /// who does not open Messenger.
    pub(crate) never_delivered: Mutex<HashSet<String>>,
    /// Each page's webhook fields the app is subscribed to.
    pub(crate) subscriptions: Subscriptions,
    /// Instagram's accounts, tokens, users and comments.
    pub(crate) instagram: InstagramBook,
    /// Instagram sends accepted (kept when recording is on).
    pub(crate) instagram_sent: Mutex<Vec<InstagramSend>>,
    /// Instagram sender actions accepted (kept when recording is on).
    pub(crate) instagram_actions: Mutex<Vec<InstagramAction>>,
    pub(crate) http: reqwest::Client,
}

impl SimState {
    /// Keeps a request, if recording is on.
    pub(crate) fn record(&self, method: &Method, uri: &Uri, headers: &HeaderMap, body: &Bytes) {
        if !self.config.record_requests {
            return;
        }
        let recorded = RecordedRequest {
            method: method.as_str().to_owned(),
            path: uri.path().to_owned(),
            query: uri.query().map(str::to_owned),
            headers: headers
                .iter()
                .map(|(n, v)| {
                    (
                        n.as_str().to_ascii_lowercase(),
                        String::from_utf8_lossy(v.as_bytes()).into_owned(),
                    )
                })
                .collect(),
            body: body.clone(),
            timestamp: Timestamp::now(),
        };
        lock(&self.requests).push(recorded);
    }

    /// A copy of the accepted sends.
    pub(crate) fn sent_snapshot(&self) -> Vec<SentMessage> {
        lock(&self.sent).clone()
    }

    /// Keeps an accepted sender action, if recording is on.
    pub(crate) fn record_action(&self, make: impl FnOnce() -> SentAction) {
        if self.config.record_requests {
            let action = make();
            lock(&self.actions).push(action);
        }
    }

    /// Counts a sent message and keeps it, if recording is on.
    pub(crate) fn record_sent(&self, make: impl FnOnce() -> SentMessage) {
        self.sent_count.fetch_add(1, Ordering::Relaxed);
        if self.config.record_requests {
            let sent = make();
            lock(&self.sent).push(sent);
        }
    }
}

impl SimState {
    /// Counts an Instagram send and keeps it, if recording is on.
    pub(crate) fn record_instagram_sent(&self, make: impl FnOnce() -> InstagramSend) {
        self.sent_count.fetch_add(1, Ordering::Relaxed);
        if self.config.record_requests {
            let sent = make();
            lock(&self.instagram_sent).push(sent);
        }
    }

    /// Keeps an Instagram sender action, if recording is on.
    pub(crate) fn record_instagram_action(&self, make: impl FnOnce() -> InstagramAction) {
        if self.config.record_requests {
            let action = make();
            lock(&self.instagram_actions).push(action);
        }
    }
}

/// Each page's webhook fields the app is subscribed to.
#[derive(Debug, Default)]
pub(crate) struct Subscriptions {
    fields: Mutex<HashMap<String, Vec<String>>>,
}

impl Subscriptions {
    pub(crate) fn of(&self, page_id: &str) -> Vec<String> {
        lock(&self.fields).get(page_id).cloned().unwrap_or_default()
    }

    pub(crate) fn set(&self, page_id: &str, fields: Vec<String>) {
        lock(&self.fields).insert(page_id.to_owned(), fields);
    }
}
