//! Instagram Login accounts' tokens in the running gateway: checked at start (and after a
//! reload), then refreshed before their 60 days end, from every instance
//! ([`messenger::instagram::tokens`]). Each outcome is logged; a refused token puts its account
//! in needs-reauthorisation, which `/readyz` and the doctor report like a page's.

use std::time::Duration;

use messenger::instagram::tokens::{TokenReport, TokenState};
use messenger::Messenger;
use tokio_util::sync::CancellationToken;

/// How often the tokens are looked at (a refresh is made only when one is due).
pub(crate) const CHECK_EVERY: Duration = Duration::from_secs(3_600);

/// Checks the Instagram Login tokens now, then every [`CHECK_EVERY`] refreshes those older
/// than `refresh_after`, until `cancel`.
pub(crate) async fn run(messenger: Messenger, refresh_after: Duration, cancel: CancellationToken) {
    log(&messenger.connect_instagram_logins().await);
    let mut every = tokio::time::interval(CHECK_EVERY);
    every.tick().await;
    loop {
        tokio::select! {
            () = cancel.cancelled() => return,
            _ = every.tick() => log(&messenger.refresh_instagram_tokens(refresh_after).await),
        }
    }
}

/// Checks the Instagram Login tokens of the spaces as they are now (after a reload), in the
/// background.
pub(crate) fn reconnect(messenger: &Messenger) {
    let messenger = messenger.clone();
    tokio::spawn(async move { log(&messenger.connect_instagram_logins().await) });
}

/// Logs what became of each token (never the token).
fn log(reports: &[TokenReport]) {
    for r in reports {
        let (space, account) = (&r.space, &r.account);
        match &r.state {
            TokenState::Valid { username, source } => tracing::info!(
                %space, %account, username = username.as_deref().unwrap_or(""), source,
                "Instagram Login token works"
            ),
            TokenState::Unchanged => {}
            TokenState::OtherAccount {
                user_id,
                app_scoped_id,
            } => tracing::error!(
                %space, %account, token_user_id = %user_id, app_scoped_id = %app_scoped_id,
                "the Instagram Login token belongs to another account: configure account_id = \
                 the user_id (not the app-scoped id); the account's messages wait"
            ),
            TokenState::Refused(why) => tracing::error!(
                %space, %account, error = %why,
                "Graph refused the Instagram Login token: give the account a new token; its \
                 messages wait (or fall back under fallback_on_outage_secs)"
            ),
            TokenState::RefreshFailed(why) => tracing::warn!(
                %space, %account, error = %why,
                "the Instagram Login token could not be refreshed; it works until it expires"
            ),
            TokenState::Unchecked(why) => tracing::warn!(
                %space, %account, error = %why,
                "the Instagram Login token could not be checked; trying again later"
            ),
            _ => tracing::info!(%space, %account, state = ?r.state, "Instagram Login token"),
        }
    }
}
