//! An Instagram send, once its host has told which account sends it: Instagram's rules, the
//! recipient (an IGSID of the account, or a comment for a private reply), the window, faults,
//! then the answer, the echo, the automatic read and the record. Every refusal is typed
//! `IGApiException`.

use std::sync::Arc;

use axum::response::Response;
use messenger_model::Timestamp;

use crate::faults::{graph_failure, Fault};
use crate::graph_api::{self, GraphFailure};
use crate::graph_rules::{self, CheckedSend, Platform, WireSend};
use crate::records::{InstagramAction, InstagramSend};
use crate::send_api::{check_attachment_id, reusable_attachment_id, SendAnswer};
use crate::state::SimState;
use crate::sync::lock;
use crate::InstagramHost;

use super::accounts::Account;

/// The Instagram account a Facebook-host send of `page_id` is for: the account linked to the
/// page, when the recipient is one of its users (IGSID) or comments.
pub(crate) fn account_for_page_send(
    state: &SimState,
    page_id: &str,
    wire: &WireSend,
) -> Option<Arc<Account>> {
    let account = state.instagram.account_of_page(page_id)?;
    let recipient = wire.recipient.as_ref()?;
    let ours = match (&recipient.base.id, &recipient.comment_id) {
        (Some(id), _) => state.instagram.is_user_of(&account.id, id),
        (None, Some(comment)) => state.instagram.is_comment_of(&account.id, comment),
        (None, None) => false,
    };
    ours.then_some(account)
}

/// Sends `wire` as `account`, which `host` authenticated.
pub(crate) async fn send(
    state: &Arc<SimState>,
    account: &Arc<Account>,
    host: InstagramHost,
    wire: WireSend,
) -> Result<Response, GraphFailure> {
    send_checked(state, account, host, wire)
        .await
        .map_err(GraphFailure::instagram)
}

async fn send_checked(
    state: &Arc<SimState>,
    account: &Arc<Account>,
    host: InstagramHost,
    wire: WireSend,
) -> Result<Response, GraphFailure> {
    let checked = graph_rules::check_send(wire, &state.config.accepted_tags, Platform::Instagram)?;
    check_attachment_id(state, &checked.request)?;
    let now = Timestamp::now().millis();
    let is_action = checked.request.sender_action.is_some() || checked.reaction.is_some();
    let igsid = match (&checked.comment_id, &checked.request.recipient.id) {
        (Some(_), _) if is_action => {
            return Err(GraphFailure::param(
                "(#100) A sender_action goes to recipient[id], not to a comment",
            ))
        }
        (Some(comment), _) => state
            .instagram
            .private_reply(&account.id, comment, now, false)?,
        (None, Some(id)) if state.instagram.is_user_of(&account.id, id) => id.clone(),
        (None, _) => {
            return Err(GraphFailure::param("(#100) No matching user found").subcode(2_018_001))
        }
    };
    if checked.comment_id.is_none() {
        let window = &state.window;
        window.check(&account.id, &checked.request, Platform::Instagram, now)?;
    }

    let keys = [igsid.as_str(), checked.comment_id.as_deref().unwrap_or("")];
    let triggered = state.faults.take(&keys);
    triggered.wait().await;
    if let Some(f) = triggered
        .fault
        .as_ref()
        .and_then(|f| fault_failure(f, &account.id))
    {
        return Err(f);
    }

    if is_action {
        record_action(state, account, host, &igsid, &checked);
        let answer = SendAnswer {
            recipient_id: &igsid,
            message_id: None,
            attachment_id: None,
        };
        return Ok(graph_api::json_ok(
            serde_json::to_vec(&answer).unwrap_or_default(),
        ));
    }
    if let Some(comment) = &checked.comment_id {
        state
            .instagram
            .private_reply(&account.id, comment, Timestamp::now().millis(), true)?;
    }

    let mid = state.ids.new_instagram_mid();
    let attachment_id = reusable_attachment_id(state, &checked.request);
    let answer = SendAnswer {
        recipient_id: &igsid,
        message_id: Some(&mid),
        attachment_id: attachment_id.as_deref(),
    };
    let out = serde_json::to_vec(&answer).unwrap_or_default();
    if state.config.echoes {
        super::webhook::schedule_echo(state, account, &igsid, &mid, &checked.request);
    }
    let reads = !lock(&state.never_delivered).contains(&igsid);
    if let Some(delay) = state
        .config
        .auto_receipts
        .and_then(|r| r.read)
        .filter(|_| reads)
    {
        super::webhook::schedule_read(state, account, &igsid, &mid, delay);
    }
    state.record_instagram_sent(|| InstagramSend {
        mid,
        account_id: account.id.clone(),
        host,
        recipient_id: igsid,
        comment_id: checked.comment_id,
        request: checked.request,
        at_millis: Timestamp::now().millis(),
    });
    Ok(graph_api::json_ok(out))
}

fn record_action(
    state: &SimState,
    account: &Account,
    host: InstagramHost,
    igsid: &str,
    checked: &CheckedSend,
) {
    state.record_instagram_action(|| {
        let (action, message_id, reaction) =
            match (&checked.reaction, checked.request.sender_action) {
                (Some(r), _) => (
                    if r.react { "react" } else { "unreact" },
                    Some(r.message_id.clone()),
                    r.reaction.clone(),
                ),
                (None, Some(a)) => (a.as_str(), None, None),
                (None, None) => ("", None, None),
            };
        InstagramAction {
            account_id: account.id.clone(),
            host,
            recipient_id: igsid.to_owned(),
            action: action.to_owned(),
            message_id,
            reaction,
            at_millis: Timestamp::now().millis(),
        }
    });
}

/// What a fault answers for an Instagram send: the window fault is Instagram's 10/2534022, the
/// others as for Messenger (typed `IGApiException` by the caller).
fn fault_failure(fault: &Fault, account_id: &str) -> Option<GraphFailure> {
    match fault {
        Fault::OutsideWindow => Some(crate::window::instagram_outside_window()),
        other => graph_failure(other, account_id),
    }
}
