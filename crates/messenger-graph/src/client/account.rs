//! One account's credentials: a page token on graph.facebook.com, or an Instagram user token on
//! graph.instagram.com (Instagram Login), with everything derived from the token computed once,
//! and the token replaceable at run time ([`GraphClient::set_access_token`]).

use std::fmt;
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::Instant;

use hmac::Mac;
use reqwest::header::HeaderValue;
use reqwest::Url;

use super::{GraphClient, Shared};
use crate::{Error, Usage};

/// Which Graph host an account's token belongs to, and so where its calls go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum GraphHost {
    /// `graph.facebook.com` with a page access token: Messenger, and Instagram accounts
    /// connected through their Facebook page ([`GraphClientBuilder::base_url`]).
    ///
    /// [`GraphClientBuilder::base_url`]: crate::GraphClientBuilder::base_url
    Facebook,
    /// `graph.instagram.com` with an Instagram user token: Instagram accounts connected with
    /// Instagram Login ([`GraphClientBuilder::instagram_base_url`]).
    ///
    /// [`GraphClientBuilder::instagram_base_url`]: crate::GraphClientBuilder::instagram_base_url
    Instagram,
}

impl GraphHost {
    /// `facebook` or `instagram`, for logs and metric labels.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Facebook => "facebook",
            Self::Instagram => "instagram",
        }
    }

    /// What the token of this host is called, in configuration errors.
    const fn token_name(self) -> &'static str {
        match self {
            Self::Facebook => "page access token",
            Self::Instagram => "Instagram user token",
        }
    }
}

impl fmt::Display for GraphHost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An account of a client: its host, its current credentials and the usage Graph reported.
/// Clones of a client share it, so a token set on one is the token of all.
pub(super) struct Account {
    pub(super) host: GraphHost,
    /// The current credentials; a token change swaps the whole value, so a call in flight
    /// keeps the credentials it started with.
    auth: RwLock<Arc<PageAuth>>,
    /// The latest usage headers Graph sent for this account, and when.
    pub(super) usage: Mutex<Option<(Usage, Instant)>>,
}

impl Account {
    pub(super) fn new(shared: &Shared, host: GraphHost, token: &str) -> Result<Self, Error> {
        Ok(Self {
            host,
            auth: RwLock::new(Arc::new(PageAuth::new(shared, host, token)?)),
            usage: Mutex::new(None),
        })
    }

    /// The credentials calls use now.
    pub(super) fn current(&self) -> Arc<PageAuth> {
        Arc::clone(&self.auth.read().unwrap_or_else(PoisonError::into_inner))
    }

    pub(super) fn replace(&self, auth: PageAuth) {
        *self.auth.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(auth);
    }

    pub(super) fn record_usage(&self, usage: Usage) {
        *self.usage.lock().unwrap_or_else(PoisonError::into_inner) = Some((usage, Instant::now()));
    }
}

/// One token's credentials, with everything derived from them computed once.
pub(super) struct PageAuth {
    /// `Bearer <token>`, marked sensitive.
    pub(super) authorization: HeaderValue,
    /// The token itself, for `debug_token`'s `input_token` and Instagram's token refresh
    /// (never shown).
    pub(super) token: String,
    /// `{base}/{version}/` of the account's host.
    pub(super) api_root: Url,
    /// `.../me/messages[?appsecret_proof=...]`
    pub(super) messages_url: Url,
    /// `.../me/message_attachments[?appsecret_proof=...]`
    pub(super) attachments_url: Url,
    /// hex HMAC-SHA256(app secret, token), when the host's app secret is set.
    pub(super) proof: Option<String>,
}

impl PageAuth {
    pub(super) fn new(shared: &Shared, host: GraphHost, token: &str) -> Result<Self, Error> {
        let name = host.token_name();
        if token.is_empty() {
            return Err(Error::Config {
                reason: format!("the {name} is empty"),
            });
        }
        let mut authorization =
            HeaderValue::from_str(&format!("Bearer {token}")).map_err(|_| Error::Config {
                reason: format!("the {name} has characters not allowed in a header"),
            })?;
        authorization.set_sensitive(true);
        let (api_root, proof_key) = match host {
            GraphHost::Facebook => (&shared.api_root, shared.proof_key.as_ref()),
            GraphHost::Instagram => (
                &shared.instagram.api_root,
                shared.instagram.proof_key.as_ref(),
            ),
        };
        let proof = proof_key.map(|key| {
            let mut mac = key.clone();
            mac.update(token.as_bytes());
            hex::encode(mac.finalize().into_bytes())
        });
        let endpoint = |path: &str| -> Result<Url, Error> {
            let mut url = api_root.join(path).map_err(|e| Error::Config {
                reason: format!("endpoint {path}: {e}"),
            })?;
            if let Some(p) = &proof {
                url.query_pairs_mut().append_pair("appsecret_proof", p);
            }
            Ok(url)
        };
        Ok(Self {
            authorization,
            token: token.to_owned(),
            messages_url: endpoint("me/messages")?,
            attachments_url: endpoint("me/message_attachments")?,
            api_root: api_root.clone(),
            proof,
        })
    }
}

impl GraphClient {
    /// A client for an Instagram professional account connected with Instagram Login (its
    /// Instagram user token), sharing this client's connection pool, Instagram base URL,
    /// version and Instagram app secret. Its calls go to graph.instagram.com
    /// ([`GraphHost::Instagram`]); as a [`Transport`](crate::Transport), it sends to
    /// `POST /{version}/me/messages` there.
    pub fn for_instagram_account(
        &self,
        instagram_user_token: impl AsRef<str>,
    ) -> Result<GraphClient, Error> {
        self.for_account(GraphHost::Instagram, instagram_user_token.as_ref())
    }

    pub(super) fn for_account(&self, host: GraphHost, token: &str) -> Result<GraphClient, Error> {
        let account = Account::new(&self.shared, host, token)?;
        Ok(Self {
            shared: Arc::clone(&self.shared),
            page: Some(Arc::new(account)),
        })
    }

    /// The host this client's token belongs to; `None` for a client without a token.
    pub fn host(&self) -> Option<GraphHost> {
        self.page.as_ref().map(|a| a.host)
    }

    /// Replaces this client's token (after an Instagram token refresh, or a page token
    /// renewed), for every clone of the client: calls started after it use the new token
    /// (and its `appsecret_proof`), calls under way finish with the old one. The usage
    /// reported so far is kept.
    ///
    /// Fails with [`Error::Config`] (naming no token) when the client has no token to replace
    /// or the new one is empty or cannot travel in a header; the old token then stays.
    ///
    /// ```
    /// use messenger_graph::GraphClient;
    /// let client = GraphClient::builder().instagram_user_token("OLD").build().unwrap();
    /// let same = client.clone();
    /// client.set_access_token("NEW").unwrap();
    /// assert!(same.set_access_token("").is_err());
    /// ```
    pub fn set_access_token(&self, token: impl AsRef<str>) -> Result<(), Error> {
        let account = self.page.as_deref().ok_or_else(|| Error::Config {
            reason: "no token to replace: the client was built without one".into(),
        })?;
        let auth = PageAuth::new(&self.shared, account.host, token.as_ref())?;
        account.replace(auth);
        Ok(())
    }
}
