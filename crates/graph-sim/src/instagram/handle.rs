//! Scripting Instagram on a running simulator: users, what they do (messages, reads,
//! comments), tokens and what the accounts sent. The control API ([`super::control`]) calls the
//! same functions.

use std::sync::Arc;
use std::time::Duration;

use messenger_model::Timestamp;

use crate::handle::GraphSim;
use crate::records::{InstagramAction, InstagramSend};
use crate::state::SimState;
use crate::sync::lock;
use crate::SimError;

use super::accounts::Account;
use super::webhook::{self, Field};
use super::{InstagramPost, InstagramShape, InstagramToken};

fn account(state: &SimState, account_id: &str) -> Result<Arc<Account>, SimError> {
    state
        .instagram
        .account(account_id)
        .ok_or_else(|| SimError::UnknownInstagram {
            kind: "account",
            id: account_id.to_owned(),
        })
}

/// `account_id`, when `igsid` is one of its users.
fn account_of_user(
    state: &SimState,
    account_id: &str,
    igsid: &str,
) -> Result<Arc<Account>, SimError> {
    let account = account(state, account_id)?;
    if !state.instagram.is_user_of(account_id, igsid) {
        return Err(SimError::UnknownInstagram {
            kind: "user",
            id: igsid.to_owned(),
        });
    }
    Ok(account)
}

pub(crate) fn new_user(state: &SimState, account_id: &str) -> Result<String, SimError> {
    account(state, account_id)?;
    let igsid = state.ids.new_numeric_id();
    state.instagram.add_user(account_id, igsid.clone());
    Ok(igsid)
}

pub(crate) async fn user_writes(
    state: &SimState,
    account_id: &str,
    igsid: &str,
    text: &str,
    shape: InstagramShape,
) -> Result<InstagramPost, SimError> {
    let account = account_of_user(state, account_id, igsid)?;
    if state.config.webhook_url.is_none() {
        return Err(SimError::NoWebhookUrl);
    }
    let mid = state.ids.new_instagram_mid();
    let event = webhook::event(
        igsid,
        account_id,
        "message",
        webhook::user_message(&mid, text),
    );
    state
        .window
        .note_inbound(account_id, igsid, Timestamp::now().millis());
    let status = webhook::post(state, &account, Field::Messages, event, shape).await?;
    Ok(InstagramPost { id: mid, status })
}

pub(crate) async fn user_reads(
    state: &SimState,
    account_id: &str,
    igsid: &str,
    mid: &str,
    shape: InstagramShape,
) -> Result<u16, SimError> {
    let account = account_of_user(state, account_id, igsid)?;
    let event = webhook::event(igsid, account_id, "read", webhook::read_of(mid));
    webhook::post(state, &account, Field::Seen, event, shape).await
}

pub(crate) async fn user_comments(
    state: &SimState,
    account_id: &str,
    igsid: &str,
    text: &str,
    media_id: Option<&str>,
) -> Result<InstagramPost, SimError> {
    let account = account_of_user(state, account_id, igsid)?;
    let id = state.ids.new_numeric_id();
    let media_id = media_id.map_or_else(|| state.ids.new_numeric_id(), str::to_owned);
    let username = super::profile::username_of(igsid);
    state
        .instagram
        .add_comment(id.clone(), account_id, igsid, Timestamp::now().millis());
    let value = webhook::comment(&id, igsid, &username, text, &media_id);
    let shape = InstagramShape::Changes;
    let status = webhook::post(state, &account, Field::Comments, value, shape).await?;
    Ok(InstagramPost { id, status })
}

pub(crate) fn sent_by(state: &SimState, account_id: &str) -> Vec<InstagramSend> {
    let all = lock(&state.instagram_sent);
    all.iter()
        .filter(|s| s.account_id == account_id)
        .cloned()
        .collect()
}

pub(crate) fn actions_of(state: &SimState, account_id: &str) -> Vec<InstagramAction> {
    let all = lock(&state.instagram_actions);
    all.iter()
        .filter(|a| a.account_id == account_id)
        .cloned()
        .collect()
}

/// Instagram, on the running simulator (see [`crate::instagram`]).
impl GraphSim {
    /// A new Instagram user of `account_id`: their IGSID, to which the account may send once
    /// they have written ([`GraphSim::post_instagram_message`]).
    pub fn new_instagram_user(&self, account_id: &str) -> Result<String, SimError> {
        new_user(&self.state, account_id)
    }

    /// `igsid` writes `text` to `account_id`: posts the `messages` event (in the current shape,
    /// [`GraphSim::set_instagram_shape`]), signed with the account's secret, and opens the
    /// window. Returns the message's `mid` and the receiver's status.
    pub async fn post_instagram_message(
        &self,
        account_id: &str,
        igsid: &str,
        text: &str,
    ) -> Result<InstagramPost, SimError> {
        let shape = self.state.instagram.shape();
        user_writes(&self.state, account_id, igsid, text, shape).await
    }

    /// [`GraphSim::post_instagram_message`] in the given shape (`messaging[]` or `changes[]`).
    pub async fn post_instagram_message_in(
        &self,
        account_id: &str,
        igsid: &str,
        text: &str,
        shape: InstagramShape,
    ) -> Result<InstagramPost, SimError> {
        user_writes(&self.state, account_id, igsid, text, shape).await
    }

    /// `igsid` reads the account's message `mid`: posts `messaging_seen` with `"read": {"mid"}`
    /// (in the current shape). Returns the receiver's status.
    pub async fn post_instagram_read(
        &self,
        account_id: &str,
        igsid: &str,
        mid: &str,
    ) -> Result<u16, SimError> {
        let shape = self.state.instagram.shape();
        user_reads(&self.state, account_id, igsid, mid, shape).await
    }

    /// `igsid` comments `text` on one of the account's posts (a fresh media id): posts the
    /// `comments` change (`value: {id, from: {id: igsid, username}, text, media}`). Returns the
    /// comment's id, to which the account may send one private reply within 7 days.
    pub async fn post_instagram_comment(
        &self,
        account_id: &str,
        igsid: &str,
        text: &str,
    ) -> Result<InstagramPost, SimError> {
        user_comments(&self.state, account_id, igsid, text, None).await
    }

    /// Sets when `comment_id` was made (milliseconds since the epoch), e.g. 8 days ago to test
    /// the private reply's 7 days. Returns whether the comment is known.
    pub fn set_instagram_comment_time(&self, comment_id: &str, at_millis: i64) -> bool {
        self.state.instagram.set_comment_time(comment_id, at_millis)
    }

    /// Ages an Instagram user token: its issue and expiry move `by` into the past, so a test can
    /// make it 25 hours old (refreshable) or 60 days old (expired: 190/463) without waiting.
    /// Returns the token as it now is, or `None` for a token the simulator does not know.
    pub fn age_instagram_token(&self, token: &str, by: Duration) -> Option<InstagramToken> {
        let by = i64::try_from(by.as_millis()).unwrap_or(i64::MAX / 2);
        self.state.instagram.age(token, by)
    }

    /// An Instagram user token (one configured, or one `refresh_access_token` issued).
    pub fn instagram_token(&self, token: &str) -> Option<InstagramToken> {
        self.state.instagram.token(token)
    }

    /// What `account_id` sent (direct messages and private replies, both hosts), in order.
    pub fn instagram_sent(&self, account_id: &str) -> Vec<InstagramSend> {
        sent_by(&self.state, account_id)
    }

    /// The sender actions `account_id` sent (typing, mark seen, react, unreact), in order.
    pub fn instagram_actions(&self, account_id: &str) -> Vec<InstagramAction> {
        actions_of(&self.state, account_id)
    }

    /// Where later direct-message events (messages, echoes, reads) go: `messaging[]` (the
    /// default) or `changes[]`. Comments always come in `changes[]`.
    pub fn set_instagram_shape(&self, shape: InstagramShape) {
        self.state.instagram.set_shape(shape);
    }
}
