//! Scripting Instagram on a running simulator: users, what they do (messages, reads,
//! comments) and what the accounts sent. The control API ([`super::control`]) and the handle's
//! Instagram methods (`GraphSim::new_instagram_user`, ...) call these functions.

use std::sync::Arc;

use messenger_model::Timestamp;

use crate::records::{InstagramAction, InstagramSend};
use crate::state::SimState;
use crate::sync::lock;
use crate::SimError;

use super::accounts::Account;
use super::webhook::{self, Field};
use super::{InstagramPost, InstagramShape};

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
