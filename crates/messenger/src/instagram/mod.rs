//! Instagram professional accounts connected to a space (docs/design.md "Instagram Direct",
//! decision 0026): how each is reached, the circuit and pacing of its sending, and the life of
//! an Instagram Login token ([`tokens`]).

pub mod tokens;

use std::fmt;
use std::sync::Arc;

use messenger_graph::rates::{
    DEFAULT_INSTAGRAM_MEDIA_SEND_RATE, DEFAULT_INSTAGRAM_PRIVATE_REPLIES_PER_HOUR,
    DEFAULT_INSTAGRAM_SEND_RATE,
};
use messenger_graph::{GraphClient, Transport};

use messenger_store::Pace;

use crate::send::pacing::PagePacing;
use crate::send::page::PageHealth;

/// How an Instagram account is connected to its space.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum InstagramLogin {
    /// Through the space's Facebook page: its page token on `graph.facebook.com`, and the
    /// Facebook app's secret on webhooks.
    Facebook,
    /// With Instagram Login: an Instagram user token on `graph.instagram.com`, refreshed before
    /// its 60 days end, and the Instagram app's own secret on webhooks.
    Instagram,
}

impl InstagramLogin {
    /// `facebook` or `instagram`, as configuration and reports name it.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Facebook => "facebook",
            Self::Instagram => "instagram",
        }
    }
}

/// One Instagram professional account of a space: the id webhooks carry (`user_id`, the
/// `entry.id` of `object: "instagram"` bodies), the transport its Send API calls go through,
/// and its own circuit and pacing (Instagram's limits are per account, not per page).
///
/// ```
/// use std::sync::Arc;
/// use messenger::{InstagramAccount, InstagramLogin, Space};
/// use messenger_graph::GraphClient;
/// let page = Arc::new(GraphClient::builder().page_access_token("PAGE_TOKEN").build().unwrap());
/// let account = InstagramAccount::new("17841400000000001", InstagramLogin::Facebook, page.clone());
/// let space = Space::new("space-a", "PAGE_ID", page).connect_instagram(account);
/// let account = space.instagram_account("17841400000000001").unwrap();
/// assert_eq!(account.connected_by, InstagramLogin::Facebook);
/// ```
#[derive(Clone)]
pub struct InstagramAccount {
    /// The professional account's id as webhooks carry it (`user_id`, not the app-scoped `id`
    /// that Instagram Login's `/me` also returns).
    pub id: String,
    /// How it is connected.
    pub connected_by: InstagramLogin,
    /// Graph for this account: the page's client (Facebook Login) or an Instagram Login client.
    pub transport: Arc<dyn Transport>,
    /// The secret of the app whose webhooks carry this account (Instagram Login's own app);
    /// `None`: the Facebook app's.
    pub app_secret: Option<String>,
    /// The account's circuit breaker (shared by clones of the space).
    pub health: Arc<PageHealth>,
    /// The account's send rates and pacing counters (shared by clones of the space).
    pub pacing: Arc<PagePacing>,
    /// The account's pace of private replies to comments.
    pub private_replies: Pace,
    /// Instagram Login's client and the token it was configured with, which the facade
    /// refreshes before its 60 days end and keeps in the store ([`tokens`]); `None` for an
    /// account reached through its page (the page's token is the page's business).
    pub login: Option<tokens::LoginClient>,
}

impl fmt::Debug for InstagramAccount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InstagramAccount")
            .field("id", &self.id)
            .field("connected_by", &self.connected_by)
            .field(
                "app_secret",
                &self.app_secret.as_ref().map(|_| "[redacted]"),
            )
            .field("pacing", &self.pacing)
            .finish()
    }
}

impl InstagramAccount {
    /// Account `id` connected by `login`, sending through `transport`, paced at Instagram's
    /// defaults ([`messenger_graph::rates`]).
    pub fn new(
        id: impl Into<String>,
        connected_by: InstagramLogin,
        transport: Arc<dyn Transport>,
    ) -> Self {
        Self {
            id: id.into(),
            connected_by,
            transport,
            app_secret: None,
            health: Arc::default(),
            pacing: Arc::new(PagePacing::new(
                Pace::per_second(DEFAULT_INSTAGRAM_SEND_RATE),
                Pace::per_second(DEFAULT_INSTAGRAM_MEDIA_SEND_RATE),
            )),
            private_replies: Pace::per_hour(DEFAULT_INSTAGRAM_PRIVATE_REPLIES_PER_HOUR),
            login: None,
        }
    }

    /// Account `id` connected with Instagram Login and its user `token`: a client of `base`
    /// (its connections, Instagram address and app secret:
    /// [`GraphClient::for_instagram_account`]) sends with it, and the token is refreshed and
    /// shared through the store ([`tokens`]).
    pub fn instagram_login(
        id: impl Into<String>,
        base: &GraphClient,
        token: &str,
    ) -> Result<Self, messenger_graph::Error> {
        let login = tokens::LoginClient::new(base, token)?;
        let transport: Arc<dyn Transport> = Arc::new(login.client().clone());
        Ok(Self {
            login: Some(login),
            ..Self::new(id, InstagramLogin::Instagram, transport)
        })
    }

    /// Paces the account's private replies at `per_hour` an hour.
    #[must_use = "a builder method returns the changed value and does nothing on its own"]
    pub fn private_replies_per_hour(mut self, per_hour: u32) -> Self {
        self.private_replies = Pace::per_hour(per_hour);
        self
    }

    /// The secret of the app whose webhooks carry this account (Instagram Login).
    #[must_use = "a builder method returns the changed value and does nothing on its own"]
    pub fn app_secret(mut self, secret: impl Into<String>) -> Self {
        self.app_secret = Some(secret.into());
        self
    }

    /// Paces the account's sends at `send_rate` a second (text, templates, images, files) and
    /// `media_send_rate` a second (audio and video), across every instance sharing the store.
    #[must_use = "a builder method returns the changed value and does nothing on its own"]
    pub fn send_rates(mut self, send_rate: Pace, media_send_rate: Pace) -> Self {
        self.pacing = Arc::new(PagePacing::new(send_rate, media_send_rate));
        self
    }
}
