//! An API space: one business's page, credentials and channel settings.

use std::fmt;
use std::sync::Arc;

use messenger_graph::Transport;
use messenger_model::EventName;
use messenger_store::Pace;

use crate::instagram::InstagramAccount;
use crate::send::pacing::PagePacing;
use crate::send::page::PageHealth;
use crate::sms::SmsProvider;

/// One API space as the facade sees it: the Facebook page it sends from, the transport to Graph
/// for that page, the SMS provider, and the space's policies.
///
/// ```
/// use std::sync::Arc;
/// use messenger::Space;
/// use messenger_graph::GraphClient;
/// let graph = GraphClient::builder().page_access_token("PAGE_TOKEN").build().unwrap();
/// let space = Space::new("space-a", "PAGE_ID", Arc::new(graph)).customer_matching(true);
/// assert_eq!(space.page_id, "PAGE_ID");
/// ```
#[derive(Clone)]
pub struct Space {
    /// The space id (the `{space}` of the HTTP paths).
    pub id: String,
    /// The Facebook page the space sends from; webhook entries are routed by it.
    pub page_id: String,
    /// Graph for this page.
    pub transport: Arc<dyn Transport>,
    /// The SMS provider, if the space has one.
    pub sms: Option<Arc<dyn SmsProvider>>,
    /// Default SMS sender.
    pub sms_from: Option<String>,
    /// Whether Messenger may address by phone number (customer matching; Meta has suspended it,
    /// so it is off unless the space enables it).
    pub customer_matching: bool,
    /// Whether the 24-hour window is checked before sending (`false`: Meta decides, for a page
    /// whose earlier history the product never saw).
    pub window_check: bool,
    /// Event names forwarded to the business (`None`: all).
    pub subscriptions: Option<Vec<EventName>>,
    /// When the page's Messenger sending has been failing (throttled, its token, Meta down) for
    /// longer than this, messages use their next rule instead of waiting (`None`: they wait).
    pub fallback_on_outage: Option<std::time::Duration>,
    /// The page's circuit breaker (shared by clones of the space).
    pub health: Arc<PageHealth>,
    /// The page's send rates and pacing counters (shared by clones of the space); by default
    /// [`messenger_graph::rates::DEFAULT_SEND_RATE`] and
    /// [`messenger_graph::rates::DEFAULT_MEDIA_SEND_RATE`].
    pub pacing: Arc<PagePacing>,
    /// The Instagram professional accounts the space sends from (the `instagram` rule); the
    /// first is the one a bare `to.instagramId` is sent from.
    pub instagram: Vec<InstagramAccount>,
}

impl fmt::Debug for Space {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Space")
            .field("id", &self.id)
            .field("page_id", &self.page_id)
            .field("sms", &self.sms.is_some())
            .field("customer_matching", &self.customer_matching)
            .field("window_check", &self.window_check)
            .field("fallback_on_outage", &self.fallback_on_outage)
            .field("pacing", &self.pacing)
            .field("instagram", &self.instagram)
            .finish()
    }
}

impl Space {
    /// A space sending from `page_id` through `transport`, with the window check on, customer
    /// matching off, no SMS and every event forwarded.
    pub fn new(
        id: impl Into<String>,
        page_id: impl Into<String>,
        transport: Arc<dyn Transport>,
    ) -> Self {
        Self {
            id: id.into(),
            page_id: page_id.into(),
            transport,
            sms: None,
            sms_from: None,
            customer_matching: false,
            window_check: true,
            subscriptions: None,
            fallback_on_outage: None,
            health: Arc::default(),
            pacing: Arc::default(),
            instagram: Vec::new(),
        }
    }

    /// Connects an Instagram professional account to the space.
    #[must_use = "a builder method returns the changed value and does nothing on its own"]
    pub fn connect_instagram(mut self, account: InstagramAccount) -> Self {
        self.instagram.push(account);
        self
    }

    /// The space's Instagram account `id` (the `user_id` webhooks carry), if connected.
    pub fn instagram_account(&self, id: &str) -> Option<&InstagramAccount> {
        self.instagram.iter().find(|a| a.id == id)
    }

    /// Paces the page's Graph sends at `send_rate` a second (text, templates, images, files) and
    /// `media_send_rate` a second (audio and video), across every instance sharing the store.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use messenger::Space;
    /// use messenger_graph::{rates::SendKind, GraphClient};
    /// use messenger_store::Pace;
    /// let graph = GraphClient::builder().page_access_token("PAGE_TOKEN").build().unwrap();
    /// let space = Space::new("space-a", "PAGE_ID", Arc::new(graph))
    ///     .send_rates(Pace::per_second(100), Pace::per_second(5));
    /// assert_eq!(space.pacing.pace(SendKind::Standard).rate(), 100);
    /// ```
    #[must_use = "a builder method returns the changed value and does nothing on its own"]
    pub fn send_rates(mut self, send_rate: Pace, media_send_rate: Pace) -> Self {
        self.pacing = Arc::new(PagePacing::new(send_rate, media_send_rate));
        self
    }

    /// Lets messages use their next rule once the page's sending has been failing for `after`
    /// (throttled, its token, Meta down); by default they wait for the page to recover.
    #[must_use = "a builder method returns the changed value and does nothing on its own"]
    pub fn fallback_on_outage(mut self, after: std::time::Duration) -> Self {
        self.fallback_on_outage = Some(after);
        self
    }

    /// Sets the SMS provider and default sender.
    #[must_use = "a builder method returns the changed value and does nothing on its own"]
    pub fn sms(mut self, provider: Arc<dyn SmsProvider>, from: Option<String>) -> Self {
        self.sms = Some(provider);
        self.sms_from = from;
        self
    }

    /// Enables or disables customer matching.
    #[must_use = "a builder method returns the changed value and does nothing on its own"]
    pub fn customer_matching(mut self, on: bool) -> Self {
        self.customer_matching = on;
        self
    }

    /// Turns the window check on or off.
    #[must_use = "a builder method returns the changed value and does nothing on its own"]
    pub fn window_check(mut self, on: bool) -> Self {
        self.window_check = on;
        self
    }

    /// Forwards only these events.
    #[must_use = "a builder method returns the changed value and does nothing on its own"]
    pub fn subscriptions(mut self, names: Vec<EventName>) -> Self {
        self.subscriptions = Some(names);
        self
    }

    /// The page's token stopped working (`problem`, as Graph or a token check said in
    /// `reason`): the page waits for new credentials
    /// ([`PageHealth::needs_reauth`](crate::send::page::PageHealth::needs_reauth)); the
    /// transition is logged once, with what to do.
    pub fn token_stopped(
        &self,
        problem: messenger_graph::TokenProblem,
        reason: &str,
        now: messenger_model::Timestamp,
    ) {
        if self.health.needs_reauth(problem, reason, now) {
            tracing::warn!(
                space = %self.id,
                page = %self.page_id,
                problem = problem.as_str(),
                remedy = problem.remedy(),
                "the page's token stopped working: its messages wait for new credentials"
            );
        }
    }

    /// Whether the business wants `name`.
    pub fn wants(&self, name: EventName) -> bool {
        self.subscriptions
            .as_ref()
            .is_none_or(|s| s.contains(&name))
    }
}
