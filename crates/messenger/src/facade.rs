//! [`Messenger`]: the facade, and its builder.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use messenger_graph::{RetryPolicy, Transport};
use messenger_model::{EventEnvelope, EventName, MessageResource, Timestamp};
use messenger_store::{QueuedEvent, Store};
use serde_json::Value;

use crate::optin::OptinTokens;
use crate::sms::SmsProvider;
use crate::{Error, Space};

/// Where events for the business's webhook are queued in the store's outbox.
pub const DEFAULT_EVENT_TARGET: &str = "default";

/// A clock, so tests can control time.
pub type Clock = Arc<dyn Fn() -> Timestamp + Send + Sync>;

/// The Messenger channel in-process: accept messages, dispatch them, process Meta's webhooks.
/// Cheap to clone (shared state behind an `Arc`).
///
/// ```no_run
/// # async fn f(transport: std::sync::Arc<dyn messenger_graph::Transport>) -> Result<(), Box<dyn std::error::Error>> {
/// use std::sync::Arc;
/// use messenger::Messenger;
/// use messenger_model::{SendRequest, To};
/// use messenger_store::MemoryStore;
///
/// let messenger = Messenger::builder()
///     .transport(transport)
///     .page_id("PAGE_ID")
///     .store(Arc::new(MemoryStore::new()))
///     .build()?;
/// let req = SendRequest::new(To::fb_messenger_id("PSID")).body("Hello");
/// let accepted = messenger.accept_request("default", req, None).await?;
/// messenger.dispatch_due("worker-1", 32).await?;
/// println!("{:?}", messenger.message("default", &accepted.id).await?);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Messenger {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) store: Arc<dyn Store>,
    /// The spaces, replaced whole by [`Messenger::replace_spaces`]; each use takes the table
    /// of the moment, so work under way keeps the space it started with.
    spaces: RwLock<Arc<SpaceTable>>,
    pub(crate) tokens: OptinTokens,
    pub(crate) app_secret: Option<String>,
    /// The Facebook app the gateway sends as: echoes of its sends are its own.
    pub(crate) app_id: Option<String>,
    pub(crate) retry: RetryPolicy,
    pub(crate) clock: Clock,
    pub(crate) lease_for: Duration,
    pub(crate) token_ttl: Duration,
    pub(crate) echo_grace: Duration,
    /// Status changes counted per space (for live figures).
    pub(crate) status_counts: crate::activity::StatusCounters,
}

impl fmt::Debug for Messenger {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Messenger")
            .field("spaces", &self.spaces().collect::<Vec<_>>())
            .field("store", &self.inner.store.backend())
            .finish()
    }
}

impl Messenger {
    /// Starts a builder.
    pub fn builder() -> MessengerBuilder {
        MessengerBuilder::default()
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.inner.store
    }

    /// The spaces as they are now.
    fn table(&self) -> Arc<SpaceTable> {
        Arc::clone(
            &self
                .inner
                .spaces
                .read()
                .unwrap_or_else(PoisonError::into_inner),
        )
    }

    /// The configured space `id`, as it is now: a later [`Messenger::replace_spaces`] does not
    /// change the space returned, so whatever is done with it is done with one configuration.
    pub fn space(&self, id: &str) -> Result<Arc<Space>, Error> {
        self.table()
            .by_id
            .get(id)
            .cloned()
            .ok_or_else(|| Error::UnknownSpace(id.chars().take(64).collect()))
    }

    /// The space that owns Facebook page `page_id`.
    pub fn space_for_page(&self, page_id: &str) -> Option<Arc<Space>> {
        let table = self.table();
        table
            .pages
            .get(page_id)
            .and_then(|id| table.by_id.get(id))
            .cloned()
    }

    /// The space that owns Instagram professional account `account_id` (the `user_id` webhooks
    /// carry as `entry.id`).
    pub fn space_for_instagram(&self, account_id: &str) -> Option<Arc<Space>> {
        let table = self.table();
        table
            .instagram
            .get(account_id)
            .and_then(|id| table.by_id.get(id))
            .cloned()
    }

    /// Every configured space, as they are now (in no particular order).
    pub fn spaces(&self) -> std::vec::IntoIter<Arc<Space>> {
        let all: Vec<Arc<Space>> = self.table().by_id.values().cloned().collect();
        all.into_iter()
    }

    /// Replaces the spaces (a configuration reloaded: new page tokens, rates, SMS, policies).
    /// Checked like the builder's spaces (no id or page twice); on an error nothing changes.
    /// Work under way keeps the spaces it started with; everything that starts afterwards sees
    /// these. A space's page circuit ([`Space::health`]) and pacing ([`Space::pacing`]) are the
    /// caller's to carry over (clone the old `Arc`s) or replace.
    pub fn replace_spaces(&self, spaces: Vec<Space>) -> Result<(), BuildError> {
        let table = SpaceTable::new(spaces)?;
        *self
            .inner
            .spaces
            .write()
            .unwrap_or_else(PoisonError::into_inner) = Arc::new(table);
        Ok(())
    }

    /// How many messages of space `space_id` entered `sent`, `delivered`, `read`, `failed` and
    /// `expired` since this process started (zeros for a space that is not configured).
    pub fn status_counts(&self, space_id: &str) -> crate::StatusCounts {
        self.inner.status_counts.of(space_id)
    }

    /// The message resource `id` of space `space_id` (status, history, trace, Graph ids).
    pub async fn message(
        &self,
        space_id: &str,
        id: &str,
    ) -> Result<Option<MessageResource>, Error> {
        let space = self.space(space_id)?;
        let space = &*space;
        Ok(self
            .inner
            .store
            .get_message(&space.id, id)
            .await?
            .map(|m| m.to_resource()))
    }

    /// The time by the facade's clock ([`MessengerBuilder::clock`]; the system clock by
    /// default): what every decision of dispatch, pacing and webhooks is taken at, so a tool
    /// built around the facade asks it rather than the system clock.
    pub fn now(&self) -> Timestamp {
        (self.inner.clock)()
    }

    /// Queues an event for the business's webhook, if the space subscribes to it. The event id is
    /// stable, so the same event derived twice is queued once.
    pub(crate) async fn emit(
        &self,
        space: &Space,
        event_id: String,
        name: EventName,
        payload: Value,
        revision: u32,
    ) -> Result<(), Error> {
        if let Some(QueuedEvent { target, envelope }) =
            self.event(space, event_id, name, payload, revision)
        {
            let now = envelope.timestamp;
            self.inner
                .store
                .enqueue_event(&target, envelope, now)
                .await?;
        }
        Ok(())
    }

    /// The event to queue for the business's webhook (`None` when the space does not subscribe
    /// to `name`), stamped now.
    pub(crate) fn event(
        &self,
        space: &Space,
        event_id: String,
        name: EventName,
        payload: Value,
        revision: u32,
    ) -> Option<QueuedEvent> {
        space.wants(name).then(|| QueuedEvent {
            target: DEFAULT_EVENT_TARGET.to_owned(),
            envelope: EventEnvelope {
                event_id,
                api_space_id: space.id.clone(),
                name,
                payload,
                revision,
                timestamp: self.now(),
            },
        })
    }
}

/// Builds a [`Messenger`].
///
/// For one page: `.transport(..).page_id(..)` (and `.sms(..)`) configure a space named
/// `"default"`; for several, add each with [`MessengerBuilder::space`].
#[derive(Default)]
pub struct MessengerBuilder {
    store: Option<Arc<dyn Store>>,
    transport: Option<Arc<dyn Transport>>,
    page_id: Option<String>,
    sms: Option<Arc<dyn SmsProvider>>,
    spaces: Vec<Space>,
    token_key: Option<Vec<u8>>,
    app_secret: Option<String>,
    app_id: Option<String>,
    retry: Option<RetryPolicy>,
    clock: Option<Clock>,
    lease_for: Option<Duration>,
    token_ttl: Option<Duration>,
    echo_grace: Option<Duration>,
}

/// Why a builder could not build.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// A required part is missing.
    #[error("Messenger::builder(): {0} is required")]
    Missing(&'static str),
    /// Two spaces share an id, a page or an Instagram account.
    #[error("Messenger::builder(): {0}")]
    Conflict(String),
}

impl MessengerBuilder {
    /// The store (required).
    #[must_use = "a builder method returns the changed value and does nothing on its own"]
    pub fn store(mut self, store: Arc<dyn Store>) -> Self {
        self.store = Some(store);
        self
    }

    /// The Graph transport of the default space.
    #[must_use = "a builder method returns the changed value and does nothing on its own"]
    pub fn transport(mut self, transport: Arc<dyn Transport>) -> Self {
        self.transport = Some(transport);
        self
    }

    /// The page id of the default space.
    #[must_use = "a builder method returns the changed value and does nothing on its own"]
    pub fn page_id(mut self, page_id: impl Into<String>) -> Self {
        self.page_id = Some(page_id.into());
        self
    }

    /// The SMS provider of the default space.
    #[must_use = "a builder method returns the changed value and does nothing on its own"]
    pub fn sms(mut self, sms: Arc<dyn SmsProvider>) -> Self {
        self.sms = Some(sms);
        self
    }

    /// Adds a space.
    #[must_use = "a builder method returns the changed value and does nothing on its own"]
    pub fn space(mut self, space: Space) -> Self {
        self.spaces.push(space);
        self
    }

    /// The key opt-in tokens are signed with; every instance sharing a store needs the same one.
    /// Without it, a random key is made (tokens then only work on this process).
    #[must_use = "a builder method returns the changed value and does nothing on its own"]
    pub fn token_key(mut self, key: impl Into<Vec<u8>>) -> Self {
        self.token_key = Some(key.into());
        self
    }

    /// How long an opt-in token stays valid (default 30 days).
    #[must_use = "a builder method returns the changed value and does nothing on its own"]
    pub fn token_ttl(mut self, ttl: Duration) -> Self {
        self.token_ttl = Some(ttl);
        self
    }

    /// The Facebook app secret (webhook signatures).
    #[must_use = "a builder method returns the changed value and does nothing on its own"]
    pub fn app_secret(mut self, secret: impl Into<String>) -> Self {
        self.app_secret = Some(secret.into());
        self
    }

    /// The id of the Facebook app the sends are made as: a message echo naming it is one of
    /// ours even without our send tag (a custom body with metadata of its own), so it is not
    /// forwarded as `message.echo`.
    #[must_use = "a builder method returns the changed value and does nothing on its own"]
    pub fn app_id(mut self, app_id: impl Into<String>) -> Self {
        self.app_id = Some(app_id.into());
        self
    }

    /// The retry policy of durable dispatch (default: 10 attempts, 1 s doubling up to 5 min).
    #[must_use = "a builder method returns the changed value and does nothing on its own"]
    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = Some(policy);
        self
    }

    /// The clock (default: the system clock). Tests give one they move, so that what waits
    /// for time (retries, a page's circuit, the outage rule, deadlines) runs at once.
    #[must_use = "a builder method returns the changed value and does nothing on its own"]
    pub fn clock(mut self, clock: Clock) -> Self {
        self.clock = Some(clock);
        self
    }

    /// How long a worker holds a leased message (default 60 s).
    #[must_use = "a builder method returns the changed value and does nothing on its own"]
    pub fn lease_for(mut self, lease: Duration) -> Self {
        self.lease_for = Some(lease);
        self
    }

    /// How long a message whose previous attempt was interrupted (its worker died) waits for
    /// Meta's message echoes before it is sent again (default 10 s; zero: resend at once). Needs
    /// the app subscribed to `message_echoes`.
    #[must_use = "a builder method returns the changed value and does nothing on its own"]
    pub fn echo_grace(mut self, grace: Duration) -> Self {
        self.echo_grace = Some(grace);
        self
    }

    /// Builds the facade.
    pub fn build(self) -> Result<Messenger, BuildError> {
        let store = self.store.ok_or(BuildError::Missing("store"))?;
        let mut spaces = self.spaces;
        if let Some(transport) = self.transport {
            let page_id = self
                .page_id
                .ok_or(BuildError::Missing("page_id (with transport)"))?;
            let mut space = Space::new("default", page_id, transport);
            space.sms = self.sms;
            spaces.push(space);
        }
        if spaces.is_empty() {
            return Err(BuildError::Missing("a transport or a space"));
        }
        let table = SpaceTable::new(spaces)?;
        let key = self.token_key.unwrap_or_else(|| {
            use rand::RngCore;
            let mut k = vec![0u8; 32];
            rand::thread_rng().fill_bytes(&mut k);
            k
        });
        let status_counts =
            crate::activity::StatusCounters::new(table.by_id.keys().map(String::as_str));
        Ok(Messenger {
            inner: Arc::new(Inner {
                store,
                status_counts,
                spaces: RwLock::new(Arc::new(table)),
                tokens: OptinTokens::new(&key),
                app_secret: self.app_secret,
                app_id: self.app_id,
                retry: self.retry.unwrap_or(RetryPolicy {
                    max_attempts: 10,
                    initial_backoff: Duration::from_secs(1),
                    max_backoff: Duration::from_secs(300),
                    deadline: None,
                    ..RetryPolicy::default()
                }),
                clock: self.clock.unwrap_or_else(|| Arc::new(Timestamp::now)),
                lease_for: self.lease_for.unwrap_or(Duration::from_secs(60)),
                token_ttl: self
                    .token_ttl
                    .unwrap_or(Duration::from_secs(30 * 24 * 3600)),
                echo_grace: self.echo_grace.unwrap_or(Duration::from_secs(10)),
            }),
        })
    }
}

/// The spaces by id, and the space of each page and Instagram account.
struct SpaceTable {
    by_id: HashMap<String, Arc<Space>>,
    pages: HashMap<String, String>,
    instagram: HashMap<String, String>,
}

impl SpaceTable {
    fn new(spaces: Vec<Space>) -> Result<Self, BuildError> {
        let mut by_id = HashMap::new();
        let mut pages = HashMap::new();
        let mut instagram = HashMap::new();
        for space in spaces {
            for account in &space.instagram {
                if instagram
                    .insert(account.id.clone(), space.id.clone())
                    .is_some()
                {
                    return Err(BuildError::Conflict(format!(
                        "Instagram account {} is connected twice",
                        account.id
                    )));
                }
            }
            if pages
                .insert(space.page_id.clone(), space.id.clone())
                .is_some()
            {
                return Err(BuildError::Conflict(format!(
                    "page {} is in two spaces",
                    space.page_id
                )));
            }
            let id = space.id.clone();
            if by_id.insert(id.clone(), Arc::new(space)).is_some() {
                return Err(BuildError::Conflict(format!(
                    "space {id} is configured twice"
                )));
            }
        }
        Ok(Self {
            by_id,
            pages,
            instagram,
        })
    }
}
