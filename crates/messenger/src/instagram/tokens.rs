//! The life of an Instagram Login token: checked at start, shared through the store, refreshed
//! before its 60 days end.
//!
//! An Instagram Login token lasts 60 days and Meta refreshes it once it is a day old. The
//! refreshed token goes to the store ([`messenger_store::InstagramTokens`]), so every instance
//! sharing it sends with the same, newest token; each instance adopts a token another one
//! saved. A token that cannot be refreshed is recorded beside it; one that Graph refuses (or
//! that expired) puts its account in *needs reauthorisation*, as a dead page token does
//! (decision 0022): its messages wait, or take their next rule under `fallback_on_outage`.
//!
//! ```no_run
//! # async fn f(messenger: messenger::Messenger) {
//! // At start, and after a configuration reload:
//! for report in messenger.connect_instagram_logins().await {
//!     println!("{} {}: {:?}", report.space, report.account, report.state);
//! }
//! // Then every hour or so, from each instance:
//! messenger.refresh_instagram_tokens(std::time::Duration::from_secs(30 * 86_400)).await;
//! # }
//! ```

use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use messenger_graph::{GraphClient, TokenProblem};

use super::InstagramAccount;
use crate::{Messenger, Space};

/// How long a long-lived Instagram Login token lasts (Meta: 60 days).
pub const TOKEN_LIFETIME: Duration = Duration::from_secs(60 * 86_400);

/// An Instagram Login account's client, the token it was configured with, and the token it
/// sends with now (a refreshed or adopted one). Clones share the token.
#[derive(Clone)]
pub struct LoginClient {
    client: GraphClient,
    configured: Arc<str>,
    current: Arc<Mutex<Arc<str>>>,
}

impl fmt::Debug for LoginClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoginClient")
            .field("token", &"[redacted]")
            .finish()
    }
}

impl LoginClient {
    /// A client of `base` for the Instagram user `token`.
    pub(crate) fn new(base: &GraphClient, token: &str) -> Result<Self, messenger_graph::Error> {
        Ok(Self {
            client: base.for_instagram_account(token)?,
            configured: token.into(),
            current: Arc::new(Mutex::new(token.into())),
        })
    }

    /// The client (its token changes when the facade refreshes or adopts one).
    pub fn client(&self) -> &GraphClient {
        &self.client
    }

    fn current(&self) -> Arc<str> {
        Arc::clone(&self.current.lock().unwrap_or_else(PoisonError::into_inner))
    }

    fn adopt(&self, token: &str) -> Result<(), messenger_graph::Error> {
        self.client.set_access_token(token)?;
        *self.current.lock().unwrap_or_else(PoisonError::into_inner) = token.into();
        Ok(())
    }
}

/// What became of an Instagram Login account's token.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TokenState {
    /// The token works and belongs to the account.
    Valid {
        /// The account's username, when Graph was asked.
        username: Option<String>,
        /// Where the token came from: `configured`, `store` (another instance's refresh, or
        /// an earlier run's), or `refreshed` (just now).
        source: &'static str,
    },
    /// Not due for a refresh; nothing was asked.
    Unchanged,
    /// The token belongs to another Instagram account: the configuration names the wrong
    /// account id (the app-scoped `id` is not what webhooks carry).
    OtherAccount {
        /// The `user_id` the token belongs to (what the configuration should name).
        user_id: String,
        /// The app-scoped id `/me` also answers, which must not be configured.
        app_scoped_id: String,
    },
    /// Graph refused the token: the account needs new credentials.
    Refused(String),
    /// The refresh failed; the token still works until it expires (recorded in the store).
    RefreshFailed(String),
    /// Graph could not be asked (unreachable, or the store failed); tried again later.
    Unchecked(String),
}

/// One Instagram Login account's token, as [`Messenger::connect_instagram_logins`] and
/// [`Messenger::refresh_instagram_tokens`] found it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenReport {
    /// The space.
    pub space: String,
    /// The Instagram account (`user_id`).
    pub account: String,
    /// What became of its token.
    pub state: TokenState,
}

impl Messenger {
    /// Checks each Instagram Login account's token at start (and after a reload): adopts the
    /// store's token when it is another one that works for the account (refreshed by another
    /// instance or an earlier run), else checks the configured one with
    /// `/me?fields=user_id,username`, which must answer the configured account as `user_id`.
    /// A configured token seen for the first time is refreshed at once when Meta allows it
    /// (so its 60 days are known), and saved either way. Never fails: each account's outcome is
    /// reported, logged, and a refused token puts its account in needs-reauthorisation.
    pub async fn connect_instagram_logins(&self) -> Vec<TokenReport> {
        let mut reports = Vec::new();
        for space in self.spaces() {
            for account in &space.instagram {
                let Some(login) = &account.login else {
                    continue;
                };
                let state = self.connect_login(&space, account, login).await;
                reports.push(report(&space, account, state));
            }
        }
        reports
    }

    /// Refreshes each Instagram Login token older than `refresh_after` (at most 59 days: Meta
    /// refreshes a token at least a day old and before its 60 days end), saves the new one for
    /// every instance, and adopts a newer token another instance saved. A failed refresh is
    /// recorded beside the token; a refused or expired token puts its account in
    /// needs-reauthorisation. Call it every hour or so from each instance.
    pub async fn refresh_instagram_tokens(&self, refresh_after: Duration) -> Vec<TokenReport> {
        let mut reports = Vec::new();
        for space in self.spaces() {
            for account in &space.instagram {
                let Some(login) = &account.login else {
                    continue;
                };
                let state = self
                    .refresh_login(&space, account, login, refresh_after)
                    .await;
                reports.push(report(&space, account, state));
            }
        }
        reports
    }

    async fn connect_login(
        &self,
        space: &Space,
        account: &InstagramAccount,
        login: &LoginClient,
    ) -> TokenState {
        let now = self.now();
        let store = &self.inner.store;
        let stored = match store.instagram_token(&account.id).await {
            Ok(stored) => stored,
            Err(e) => {
                return TokenState::Unchecked(format!("the store: {}", crate::error_chain(&e)))
            }
        };
        if let Some(stored) = stored.as_ref().filter(|s| s.expires_at > now) {
            if *stored.token != *login.configured {
                let candidate = login.client.for_instagram_account(&stored.token);
                if let Ok(me) = me_of(candidate).await {
                    if me.user_id == account.id && login.adopt(&stored.token).is_ok() {
                        account.health.token_valid();
                        return TokenState::Valid {
                            username: me.username,
                            source: "store",
                        };
                    }
                }
            }
        }
        let me = match login.client.instagram_me().await {
            Ok(me) => me,
            Err(e) => return self.refused(space, account, &e),
        };
        if me.user_id != account.id {
            let why = format!(
                "the Instagram Login token belongs to account {} (user_id), not the configured {}",
                me.user_id, account.id
            );
            space
                .instagram_outlet(account)
                .token_stopped(TokenProblem::Invalid, &why, now);
            return TokenState::OtherAccount {
                user_id: me.user_id,
                app_scoped_id: me.id,
            };
        }
        account.health.token_valid();
        let first_sight = stored
            .as_ref()
            .is_none_or(|s| *s.token != *login.configured);
        if first_sight && stored.as_ref().is_none_or(|s| s.expires_at <= now) {
            // Its issue date is unknown: a refresh (allowed once a day old) makes it known.
            let (token, expires) = match login.client.refresh_access_token().await {
                Ok(r) if login.adopt(&r.access_token).is_ok() => {
                    (r.access_token, Duration::from_secs(r.expires_in))
                }
                _ => (login.configured.to_string(), TOKEN_LIFETIME),
            };
            let saved = store
                .save_instagram_token(&account.id, &token, now, now.add_duration(expires))
                .await;
            if let Err(e) = saved {
                tracing::warn!(space = %space.id, account = %account.id, error = %crate::error_chain(&e), "could not keep the Instagram token in the store");
            }
        }
        TokenState::Valid {
            username: me.username,
            source: "configured",
        }
    }

    async fn refresh_login(
        &self,
        space: &Space,
        account: &InstagramAccount,
        login: &LoginClient,
        refresh_after: Duration,
    ) -> TokenState {
        let now = self.now();
        let store = &self.inner.store;
        let stored = match store.instagram_token(&account.id).await {
            Ok(Some(stored)) => stored,
            Ok(None) => return self.connect_login(space, account, login).await,
            Err(e) => {
                return TokenState::Unchecked(format!("the store: {}", crate::error_chain(&e)))
            }
        };
        if *stored.token != *login.current() && stored.expires_at > now {
            if let Err(e) = login.adopt(&stored.token) {
                return TokenState::Unchecked(e.to_string());
            }
            account.health.token_valid();
            tracing::info!(space = %space.id, account = %account.id, "adopted the Instagram token another instance refreshed");
        }
        if stored.expires_at <= now {
            let why = format!("the Instagram Login token expired at {}", stored.expires_at);
            space
                .instagram_outlet(account)
                .token_stopped(TokenProblem::Expired, &why, now);
            return TokenState::Refused(why);
        }
        let age = now.millis().saturating_sub(stored.issued_at.millis());
        let due = u128::try_from(age).unwrap_or(0) >= refresh_after.as_millis();
        if !due {
            return TokenState::Unchanged;
        }
        match login.client.refresh_access_token().await {
            Ok(r) => {
                let expires = now.add_duration(Duration::from_secs(r.expires_in));
                if let Err(e) = store
                    .save_instagram_token(&account.id, &r.access_token, now, expires)
                    .await
                {
                    // Not kept: the old token still works; the next round tries again.
                    return TokenState::Unchecked(format!("the store: {}", crate::error_chain(&e)));
                }
                if let Err(e) = login.adopt(&r.access_token) {
                    return TokenState::Unchecked(e.to_string());
                }
                tracing::info!(space = %space.id, account = %account.id, expires_at = %expires, "refreshed the Instagram Login token");
                TokenState::Valid {
                    username: None,
                    source: "refreshed",
                }
            }
            Err(e) => {
                let reason = e.to_string();
                let recorded = store
                    .record_instagram_refresh_failure(&account.id, &reason, now)
                    .await;
                if let Err(se) = recorded {
                    tracing::warn!(space = %space.id, account = %account.id, error = %crate::error_chain(&se), "could not record the failed Instagram token refresh");
                }
                if TokenProblem::of_error(&e).is_some() {
                    return self.refused(space, account, &e);
                }
                tracing::warn!(space = %space.id, account = %account.id, error = %reason, expires_at = %stored.expires_at, "the Instagram Login token could not be refreshed; it works until it expires");
                TokenState::RefreshFailed(reason)
            }
        }
    }

    /// Graph's answer to a token check or refresh failed: a refused token stops its account.
    fn refused(
        &self,
        space: &Space,
        account: &InstagramAccount,
        e: &messenger_graph::Error,
    ) -> TokenState {
        let reason = e.to_string();
        match TokenProblem::of_error(e) {
            Some(problem) => {
                space
                    .instagram_outlet(account)
                    .token_stopped(problem, &reason, self.now());
                TokenState::Refused(reason)
            }
            None => TokenState::Unchecked(reason),
        }
    }
}

/// `/me` of a client that may not have been made.
async fn me_of(
    client: Result<GraphClient, messenger_graph::Error>,
) -> Result<messenger_graph::InstagramMe, messenger_graph::Error> {
    client?.instagram_me().await
}

fn report(space: &Space, account: &InstagramAccount, state: TokenState) -> TokenReport {
    TokenReport {
        space: space.id.clone(),
        account: account.id.clone(),
        state,
    }
}
