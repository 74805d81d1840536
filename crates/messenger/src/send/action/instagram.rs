//! Sender actions on Instagram: typing on, typing off, mark seen, and the reactions Messenger
//! does not have (`react` with `love`, `unreact`), each from the space's Instagram account that
//! can address the customer, through that account's transport (its page's token with Facebook
//! Login, its own token with Instagram Login).
//!
//! Instagram's window is 24 hours, as Messenger's, and an action carries no tag, so its
//! `HUMAN_AGENT` days do not apply. Instagram has no personas (`personaId` is refused, naming
//! it).

use messenger_model::graph::{GraphSendRequest, SenderAction};
use messenger_model::{Channel, Profile};
use messenger_validate::ViolationCode;

use super::{refused, short, window_refusal, ActionRequest, ActionSent};
use crate::addressing::{resolve_instagram, resolve_messenger};
use crate::{Error, Messenger, Space};

impl Messenger {
    /// [`Messenger::send_action`] on Instagram, from the account that addresses the customer
    /// ([`resolve_instagram`]).
    pub(super) async fn send_instagram_action(
        &self,
        space: &Space,
        req: &ActionRequest,
        profile_id: Option<&str>,
        profile: Option<&Profile>,
    ) -> Result<ActionSent, Error> {
        let action = req.action;
        let name = action.as_str();
        if space.instagram.is_empty() {
            let pointer = if req.to.instagram_id.is_some() {
                "/to/instagramId"
            } else {
                "/action"
            };
            return Err(refused(
                ViolationCode::ToUnaddressable,
                pointer,
                format!("this API space has no Instagram account connected, so {name} cannot be sent on Instagram"),
            ));
        }
        if req.persona_id.is_some() {
            return Err(refused(
                ViolationCode::ChannelUnsupported,
                "/personaId",
                "Instagram has no personas: drop personaId for an action on Instagram".to_owned(),
            ));
        }
        let accounts: Vec<&str> = space.instagram.iter().map(|a| a.id.as_str()).collect();
        let Some(address) = resolve_instagram(&req.to, profile, &accounts) else {
            return Err(unaddressable(space, req, profile_id, profile));
        };
        let Some(account) = space.instagram_account(&address.account_id) else {
            // resolve_instagram picks one of `accounts`, the space's own.
            return Err(refused(
                ViolationCode::ToUnaddressable,
                "/to",
                format!(
                    "Instagram account {:?} is not connected to this space",
                    short(&address.account_id)
                ),
            ));
        };
        if space.window_check {
            if let Some(igsid) = address.recipient.id.as_deref() {
                let last = self
                    .inner
                    .store
                    .last_inbound(&space.id, &account.id, igsid)
                    .await?;
                if let Some(refusal) = window_refusal(last, self.now(), "Instagram") {
                    return Err(refusal);
                }
            }
        }
        let recipient = address.recipient.clone();
        // `check` made sure a reaction has its message (and, to react, its reaction).
        let message_id = req.message_id.clone().unwrap_or_default();
        let request = match action {
            SenderAction::React => GraphSendRequest::react(
                recipient,
                message_id,
                req.reaction.clone().unwrap_or_default(),
            ),
            SenderAction::Unreact => GraphSendRequest::unreact(recipient, message_id),
            _ => GraphSendRequest::sender_action(recipient, action),
        };
        account.transport.send(&request).await?;
        Ok(ActionSent {
            action,
            source: address.source,
            channel: Channel::Instagram,
            sent_from: account.id.clone(),
        })
    }
}

/// Why Instagram cannot address `req.to` from `space`, naming the field: a reaction to a
/// customer Messenger alone reaches is refused at `/action` (Messenger takes no reactions).
fn unaddressable(
    space: &Space,
    req: &ActionRequest,
    profile_id: Option<&str>,
    profile: Option<&Profile>,
) -> Error {
    let name = req.action.as_str();
    if req.action.is_reaction()
        && resolve_messenger(&req.to, profile, space.customer_matching).is_some()
    {
        return refused(
            ViolationCode::ChannelUnsupported,
            "/action",
            format!(
                "the recipient has no Instagram ID for this space's accounts, only a Messenger \
                 recipient, and Messenger does not take {name}: reactions are Instagram's"
            ),
        );
    }
    let why = match (profile_id, profile) {
        (Some(id), None) => format!(
            "no Instagram ID: to.instagramId is not set and profile {:?} does not exist",
            short(id)
        ),
        (Some(id), Some(_)) => format!(
            "no Instagram ID: to.instagramId is not set and profile {:?} has none for this \
             space's accounts (the customer has not written on Instagram)",
            short(id)
        ),
        (None, _) => format!("no Instagram ID: {name} needs to.instagramId or to.profileId"),
    };
    refused(ViolationCode::ToUnaddressable, "/to", why)
}
