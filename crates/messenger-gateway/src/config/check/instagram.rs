//! Checking a space's `[[spaces.instagram]]` entries into [`InstagramAccountConfig`]s: the
//! account id, how it is connected (the space's page, or Instagram Login with its token) and
//! its rates; across spaces ([`Across`]), that no account is connected twice and that Instagram
//! Login has its app secret.

use std::collections::HashSet;

use messenger::InstagramLogin;
use messenger_graph::rates::{
    DEFAULT_INSTAGRAM_MEDIA_SEND_RATE, DEFAULT_INSTAGRAM_PRIVATE_REPLIES_PER_HOUR,
    DEFAULT_INSTAGRAM_SEND_RATE, META_INSTAGRAM_PRIVATE_REPLIES_PER_HOUR,
};

use super::space::page_rate;
use super::{to_u32, Checker};
use crate::config::raw::RawInstagramAccount;
use crate::config::{InstagramAccountConfig, Secret};

/// What the accounts of every space are checked against.
pub(in crate::config) struct Across {
    /// Whether `facebook.instagram_app_secret` is set (or `[facebook]` could not be read, when
    /// its own problems are reported instead).
    pub app_secret: bool,
    /// The accounts connected so far.
    pub accounts: HashSet<String>,
}

impl Across {
    /// The accounts of the space configured as `key` (`spaces[0]`); an account with a problem
    /// is left out (the problem is reported).
    pub(super) fn accounts(
        &mut self,
        c: &mut Checker<'_>,
        key: &str,
        raw: Vec<RawInstagramAccount>,
    ) -> Vec<InstagramAccountConfig> {
        let mut out = Vec::new();
        for (i, raw) in raw.into_iter().enumerate() {
            let key = format!("{key}.instagram[{i}]");
            let Some(account) = account(c, &key, raw) else {
                continue;
            };
            let id_key = format!("{key}.account_id");
            if !self.accounts.insert(account.account_id.clone()) {
                c.issue(
                    &id_key,
                    "the Instagram account is already connected (each account belongs to one space)",
                );
            }
            if account.login == InstagramLogin::Instagram && !self.app_secret {
                c.issue(
                    &id_key,
                    "uses Instagram Login: set facebook.instagram_app_secret (the Instagram app's \
                     secret checks its webhooks)",
                );
            }
            out.push(account);
        }
        out
    }
}

fn account(
    c: &mut Checker<'_>,
    key: &str,
    raw: RawInstagramAccount,
) -> Option<InstagramAccountConfig> {
    let k = |field: &str| format!("{key}.{field}");
    let account_id = c.required(&k("account_id"), raw.account_id);
    if let Some(id) = &account_id {
        if id.is_empty() || id.len() > 32 || !id.bytes().all(|b| b.is_ascii_digit()) {
            c.issue(
                &k("account_id"),
                format!(
                    "{:?} is not an Instagram account id (1 to 32 digits: the user_id webhooks carry)",
                    id.chars().take(40).collect::<String>()
                ),
            );
        }
    }
    let login = match raw.login.as_deref().map(str::trim) {
        None | Some("facebook") => Some(InstagramLogin::Facebook),
        Some("instagram") => Some(InstagramLogin::Instagram),
        Some(other) => {
            c.issue(
                &k("login"),
                format!(
                    "{:?} is not facebook (through the space's page) or instagram (Instagram Login)",
                    other.chars().take(40).collect::<String>()
                ),
            );
            None
        }
    };
    let token = match (login, raw.token) {
        (Some(InstagramLogin::Instagram), None) => {
            c.issue(
                &k("token"),
                "missing: an account with login = \"instagram\" needs its Instagram user token",
            );
            None
        }
        (Some(InstagramLogin::Facebook), Some(_)) => {
            c.issue(
                &k("token"),
                "is set with login = \"facebook\": such an account sends with the space's page \
                 token; set login = \"instagram\" for an Instagram Login token",
            );
            None
        }
        (_, token) => token.filter(|t| !t.trim().is_empty()).map(Secret::new),
    };
    let send_rate = page_rate(
        c,
        &k("send_rate"),
        raw.send_rate,
        DEFAULT_INSTAGRAM_SEND_RATE,
    );
    let media_send_rate = page_rate(
        c,
        &k("media_send_rate"),
        raw.media_send_rate,
        DEFAULT_INSTAGRAM_MEDIA_SEND_RATE,
    );
    let private_replies_per_hour = to_u32(c.range(
        &k("private_replies_per_hour"),
        raw.private_replies_per_hour,
        u64::from(DEFAULT_INSTAGRAM_PRIVATE_REPLIES_PER_HOUR),
        1,
        u64::from(META_INSTAGRAM_PRIVATE_REPLIES_PER_HOUR),
    ));
    let login = login?;
    if login == InstagramLogin::Instagram && token.is_none() {
        return None;
    }
    Some(InstagramAccountConfig {
        account_id: account_id?,
        login,
        token,
        send_rate,
        media_send_rate,
        private_replies_per_hour,
    })
}
