//! What the simulator knows of Instagram: the professional accounts and how each is connected,
//! the Instagram user tokens (issued, refreshed, aged, expired), each account's users (IGSIDs)
//! and comments, and the private replies sent.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use crate::graph_api::{oauth_failure, GraphFailure, INSTAGRAM_ERROR_TYPE};
use crate::sync::lock;
use crate::SimError;

/// How an Instagram professional account is connected to the app.
#[derive(Clone, PartialEq, Eq)]
pub enum InstagramLogin {
    /// Facebook Login: linked to this page (which must be configured with
    /// [`GraphSimBuilder::page`](crate::GraphSimBuilder::page)); sends use the page's token on
    /// the Facebook host; webhooks are signed with the app secret.
    Page(String),
    /// Instagram Login: sends use `token` on the Instagram host; webhooks are signed with
    /// `app_secret` (the Instagram app's, not the Facebook app's).
    Instagram {
        /// The Instagram user access token (60 days, refreshable after 24 hours).
        token: String,
        /// The Instagram app's secret.
        app_secret: String,
        /// The app-scoped id `/me` answers as `id` (not the account id of webhooks).
        app_scoped_id: String,
        /// The account's username.
        username: String,
    },
}

impl InstagramLogin {
    /// [`InstagramLogin::Instagram`] from its four parts.
    pub fn instagram(
        token: impl Into<String>,
        app_secret: impl Into<String>,
        app_scoped_id: impl Into<String>,
        username: impl Into<String>,
    ) -> Self {
        Self::Instagram {
            token: token.into(),
            app_secret: app_secret.into(),
            app_scoped_id: app_scoped_id.into(),
            username: username.into(),
        }
    }
}

impl std::fmt::Debug for InstagramLogin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The token and the secret stay out of Debug output.
        match self {
            Self::Page(page) => f.debug_tuple("Page").field(page).finish(),
            Self::Instagram {
                app_scoped_id,
                username,
                ..
            } => f
                .debug_struct("Instagram")
                .field("app_scoped_id", app_scoped_id)
                .field("username", username)
                .finish_non_exhaustive(),
        }
    }
}

/// Where an Instagram webhook event goes in its entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum InstagramShape {
    /// `entry[].messaging[]`, as most direct messages come.
    #[default]
    Messaging,
    /// `entry[].changes[]` as `{"field": ..., "value": event}`, as dashboard test payloads and
    /// some real direct messages come.
    Changes,
}

/// Which host an Instagram send came through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InstagramHost {
    /// `graph.facebook.com`, with the linked page's token (Facebook Login).
    Facebook,
    /// `graph.instagram.com`, with the account's Instagram user token (Instagram Login).
    Instagram,
}

impl InstagramHost {
    /// `facebook` or `instagram`.
    pub fn as_str(self) -> &'static str {
        match self {
            InstagramHost::Facebook => "facebook",
            InstagramHost::Instagram => "instagram",
        }
    }
}

/// An Instagram user token, as the simulator keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstagramToken {
    /// The account it is for.
    pub account_id: String,
    /// When it was issued (milliseconds since the epoch, by the simulator's token clock).
    pub issued_at_millis: i64,
    /// When it expires: [`TOKEN_LIFETIME_MILLIS`] after its issue.
    pub expires_at_millis: i64,
}

/// Something an Instagram user did, posted as a webhook: its id (a message's `mid`, a comment's
/// id) and the receiver's HTTP status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstagramPost {
    /// The `mid` of a message, or the id of a comment.
    pub id: String,
    /// What the receiver answered.
    pub status: u16,
}

/// How long an Instagram user token lives: 60 days.
pub const TOKEN_LIFETIME_MILLIS: i64 = 60 * 24 * 60 * 60 * 1000;
/// How old a token must be before it can be refreshed: 24 hours.
pub const REFRESH_MIN_AGE_MILLIS: i64 = 24 * 60 * 60 * 1000;
/// How long after a comment a private reply may be sent: 7 days.
pub const PRIVATE_REPLY_WINDOW_MILLIS: i64 = 7 * 24 * 60 * 60 * 1000;
/// Private replies per account per hour (posts and reels).
pub const PRIVATE_REPLIES_PER_HOUR: usize = 750;

const HOUR_MILLIS: i64 = 60 * 60 * 1000;

/// An Instagram professional account.
#[derive(Debug)]
pub(crate) struct Account {
    /// Its id: the `user_id` of `/me`, the `entry.id` of its webhooks.
    pub(crate) id: String,
    pub(crate) login: InstagramLogin,
}

impl Account {
    /// The secret its webhooks are signed with: the app's for Facebook Login, its own
    /// Instagram app secret for Instagram Login.
    pub(crate) fn webhook_secret<'a>(&'a self, app_secret: Option<&'a str>) -> Option<&'a str> {
        match &self.login {
            InstagramLogin::Page(_) => app_secret,
            InstagramLogin::Instagram { app_secret, .. } => Some(app_secret),
        }
    }
}

/// A comment on one of an account's posts.
#[derive(Debug, Clone)]
struct Comment {
    account_id: String,
    igsid: String,
    at_millis: i64,
    replied: bool,
}

/// Everything Instagram.
#[derive(Debug, Default)]
pub(crate) struct InstagramBook {
    accounts: HashMap<String, Arc<Account>>,
    /// Page id -> the account linked to it.
    by_page: HashMap<String, Arc<Account>>,
    tokens: Mutex<HashMap<String, InstagramToken>>,
    /// Whether any account has a token (Instagram Login): when none has, no token is ever
    /// issued, and the Messenger hot path's token check takes no lock.
    any_tokens: bool,
    /// IGSID -> its account.
    users: Mutex<HashMap<String, String>>,
    comments: Mutex<HashMap<String, Comment>>,
    /// Account -> when its private replies of the last hour were sent.
    replies: Mutex<HashMap<String, VecDeque<i64>>>,
    shape: Mutex<InstagramShape>,
}

impl InstagramBook {
    /// The book of `accounts`, their tokens issued at `now_millis`.
    pub(crate) fn new(
        accounts: Vec<(String, InstagramLogin)>,
        shape: InstagramShape,
        now_millis: i64,
    ) -> Result<Self, SimError> {
        let mut book = Self {
            shape: Mutex::new(shape),
            ..Self::default()
        };
        for (id, login) in accounts {
            let account = Arc::new(Account {
                id: id.clone(),
                login,
            });
            if book.accounts.insert(id.clone(), account.clone()).is_some() {
                return Err(SimError::InstagramSetup(format!(
                    "account {id} is given twice"
                )));
            }
            match &account.login {
                InstagramLogin::Page(page) => {
                    if book.by_page.insert(page.clone(), account.clone()).is_some() {
                        return Err(SimError::InstagramSetup(format!(
                            "page {page} is linked to two accounts"
                        )));
                    }
                }
                InstagramLogin::Instagram { token, .. } => {
                    let issued = InstagramToken {
                        account_id: id.clone(),
                        issued_at_millis: now_millis,
                        expires_at_millis: now_millis + TOKEN_LIFETIME_MILLIS,
                    };
                    book.any_tokens = true;
                    if lock(&book.tokens).insert(token.clone(), issued).is_some() {
                        return Err(SimError::InstagramSetup(format!(
                            "account {id}'s token is another account's too"
                        )));
                    }
                }
            }
        }
        Ok(book)
    }

    pub(crate) fn account(&self, id: &str) -> Option<Arc<Account>> {
        self.accounts.get(id).cloned()
    }

    /// The account linked to `page_id`, if any.
    pub(crate) fn account_of_page(&self, page_id: &str) -> Option<Arc<Account>> {
        self.by_page.get(page_id).cloned()
    }

    pub(crate) fn is_token(&self, token: &str) -> bool {
        self.any_tokens && lock(&self.tokens).contains_key(token)
    }

    pub(crate) fn token(&self, token: &str) -> Option<InstagramToken> {
        lock(&self.tokens).get(token).cloned()
    }

    /// The account of a token that works at `now_millis`: `None` for a token the book does not
    /// know, Graph's 190/463 for an expired one.
    pub(crate) fn account_of_token(
        &self,
        token: &str,
        now_millis: i64,
    ) -> Option<Result<Arc<Account>, GraphFailure>> {
        let found = self.token(token)?;
        if now_millis >= found.expires_at_millis {
            return Some(Err(expired()));
        }
        Some(
            self.account(&found.account_id)
                .ok_or_else(|| oauth_failure("Invalid OAuth access token.")),
        )
    }

    /// `ig_refresh_token`: a new token for `token`'s account, issued at `now_millis`, if `token`
    /// works and is at least 24 hours old. The old token keeps working until its own expiry.
    pub(crate) fn refresh(
        &self,
        token: &str,
        new_token: String,
        now_millis: i64,
    ) -> Result<(String, InstagramToken), GraphFailure> {
        let mut tokens = lock(&self.tokens);
        let Some(old) = tokens.get(token).cloned() else {
            return Err(oauth_failure(
                "Invalid OAuth access token - Cannot parse access token",
            ));
        };
        if now_millis >= old.expires_at_millis {
            return Err(expired());
        }
        if now_millis - old.issued_at_millis < REFRESH_MIN_AGE_MILLIS {
            return Err(GraphFailure::new(
                100,
                INSTAGRAM_ERROR_TYPE,
                "(#100) The access token was issued less than 24 hours ago and cannot be \
                 refreshed yet",
            ));
        }
        let fresh = InstagramToken {
            account_id: old.account_id,
            issued_at_millis: now_millis,
            expires_at_millis: now_millis + TOKEN_LIFETIME_MILLIS,
        };
        tokens.insert(new_token.clone(), fresh.clone());
        Ok((new_token, fresh))
    }

    /// Moves `token`'s issue and expiry `by_millis` into the past (a token aged 25 hours can be
    /// refreshed; one aged 60 days has expired).
    pub(crate) fn age(&self, token: &str, by_millis: i64) -> Option<InstagramToken> {
        let mut tokens = lock(&self.tokens);
        let t = tokens.get_mut(token)?;
        t.issued_at_millis -= by_millis;
        t.expires_at_millis -= by_millis;
        Some(t.clone())
    }

    /// Files `igsid` as a user of `account_id`.
    pub(crate) fn add_user(&self, account_id: &str, igsid: String) {
        lock(&self.users).insert(igsid, account_id.to_owned());
    }

    /// Whether `igsid` is a user of `account_id`.
    pub(crate) fn is_user_of(&self, account_id: &str, igsid: &str) -> bool {
        lock(&self.users)
            .get(igsid)
            .is_some_and(|a| a == account_id)
    }

    /// Files a comment by `igsid` on one of `account_id`'s posts, made at `at_millis`.
    pub(crate) fn add_comment(&self, comment_id: String, account_id: &str, igsid: &str, at: i64) {
        lock(&self.comments).insert(
            comment_id,
            Comment {
                account_id: account_id.to_owned(),
                igsid: igsid.to_owned(),
                at_millis: at,
                replied: false,
            },
        );
    }

    /// Whether `comment_id` is a comment on one of `account_id`'s posts.
    pub(crate) fn is_comment_of(&self, account_id: &str, comment_id: &str) -> bool {
        lock(&self.comments)
            .get(comment_id)
            .is_some_and(|c| c.account_id == account_id)
    }

    /// Sets when `comment_id` was made. Returns whether it is known.
    pub(crate) fn set_comment_time(&self, comment_id: &str, at_millis: i64) -> bool {
        lock(&self.comments)
            .get_mut(comment_id)
            .map(|c| c.at_millis = at_millis)
            .is_some()
    }

    /// Checks a private reply of `account_id` to `comment_id` at `now_millis` and answers the
    /// commenter's IGSID: the comment must be the account's, not yet replied to, at most 7 days
    /// old, and the account under 750 private replies in the last hour. With `commit`, the
    /// reply is counted and the comment marked replied (checked and marked at once).
    pub(crate) fn private_reply(
        &self,
        account_id: &str,
        comment_id: &str,
        now_millis: i64,
        commit: bool,
    ) -> Result<String, GraphFailure> {
        let mut comments = lock(&self.comments);
        let Some(comment) = comments
            .get_mut(comment_id)
            .filter(|c| c.account_id == account_id)
        else {
            return Err(GraphFailure::param(format!(
                "(#100) Param recipient[comment_id]: {comment_id} is not a comment on this \
                 account's media"
            ))
            .subcode(2_534_014));
        };
        if comment.replied {
            return Err(GraphFailure::new(
                10,
                INSTAGRAM_ERROR_TYPE,
                "(#10) A private reply was already sent to this comment.",
            )
            .subcode(2_534_025));
        }
        if now_millis - comment.at_millis > PRIVATE_REPLY_WINDOW_MILLIS {
            return Err(GraphFailure::new(
                10,
                INSTAGRAM_ERROR_TYPE,
                "(#10) This message is sent outside of allowed window: a private reply must be \
                 sent within 7 days of the comment.",
            )
            .subcode(2_534_022));
        }
        let mut replies = lock(&self.replies);
        let recent = replies.entry(account_id.to_owned()).or_default();
        while recent
            .front()
            .is_some_and(|t| now_millis - t >= HOUR_MILLIS)
        {
            recent.pop_front();
        }
        if recent.len() >= PRIVATE_REPLIES_PER_HOUR {
            return Err(throttled(account_id));
        }
        if commit {
            recent.push_back(now_millis);
            comment.replied = true;
        }
        Ok(comment.igsid.clone())
    }

    pub(crate) fn shape(&self) -> InstagramShape {
        *lock(&self.shape)
    }

    pub(crate) fn set_shape(&self, shape: InstagramShape) {
        *lock(&self.shape) = shape;
    }
}

/// Graph's answer to an expired token: 190, subcode 463.
fn expired() -> GraphFailure {
    oauth_failure("Error validating access token: Session has expired.").subcode(463)
}

/// Instagram's throttle of an account (80002), with the business use case usage header.
pub(crate) fn throttled(account_id: &str) -> GraphFailure {
    GraphFailure::new(
        80002,
        INSTAGRAM_ERROR_TYPE,
        "(#80002) There have been too many calls to this Instagram account. Wait a bit and try \
         again.",
    )
    .transient(true)
    .header(
        "x-business-use-case-usage",
        format!(
            r#"{{"{account_id}":[{{"type":"instagram","call_count":100,"total_cputime":25,"total_time":33,"estimated_time_to_regain_access":60}}]}}"#
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn book() -> InstagramBook {
        let login = InstagramLogin::Instagram {
            token: "T".into(),
            app_secret: "S".into(),
            app_scoped_id: "9".into(),
            username: "shop".into(),
        };
        InstagramBook::new(vec![("A".into(), login)], InstagramShape::Messaging, 0).unwrap()
    }

    #[test]
    fn refresh_needs_a_day_and_keeps_the_old_token() {
        let b = book();
        assert!(b.refresh("T", "N".into(), 1000).is_err(), "too young");
        b.age("T", REFRESH_MIN_AGE_MILLIS);
        let (new, t) = b.refresh("T", "N".into(), 1000).unwrap();
        assert_eq!((new.as_str(), t.issued_at_millis), ("N", 1000));
        assert!(b.account_of_token("T", 1000).unwrap().is_ok());
        assert!(b.account_of_token("N", 1000).unwrap().is_ok());
        b.age("T", TOKEN_LIFETIME_MILLIS);
        assert!(b.account_of_token("T", 1000).unwrap().is_err(), "expired");
        assert!(b.refresh("T", "M".into(), 1000).is_err());
        assert!(b.account_of_token("X", 0).is_none());
    }

    #[test]
    fn one_private_reply_per_comment_within_seven_days() {
        let b = book();
        b.add_comment("C".into(), "A", "U", 0);
        assert_eq!(b.private_reply("A", "C", 5, false).unwrap(), "U");
        assert!(b.private_reply("B", "C", 5, true).is_err(), "other account");
        assert_eq!(b.private_reply("A", "C", 5, true).unwrap(), "U");
        assert!(b.private_reply("A", "C", 6, true).is_err(), "twice");
        b.add_comment("D".into(), "A", "U", 0);
        assert!(b
            .private_reply("A", "D", PRIVATE_REPLY_WINDOW_MILLIS + 1, true)
            .is_err());
    }

    #[test]
    fn private_replies_are_limited_per_hour() {
        let b = book();
        for i in 0..=PRIVATE_REPLIES_PER_HOUR {
            b.add_comment(format!("C{i}"), "A", "U", 0);
        }
        for i in 0..PRIVATE_REPLIES_PER_HOUR {
            b.private_reply("A", &format!("C{i}"), 10, true).unwrap();
        }
        let last = format!("C{PRIVATE_REPLIES_PER_HOUR}");
        assert!(b.private_reply("A", &last, 10, true).is_err());
        assert!(b.private_reply("A", &last, 10 + HOUR_MILLIS, true).is_ok());
    }
}
