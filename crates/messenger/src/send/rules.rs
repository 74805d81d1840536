//! Channel rules: whether a channel can take a message now (what follows a rule's turn is
//! [`super::fallback`]'s to say).

use messenger_model::{Channel, Profile, SendRequest, Timestamp};
use messenger_validate::{
    check_instagram_window, check_messenger_window, Violation, ViolationCode, Window,
};

use crate::addressing::{
    resolve_instagram, resolve_messenger, resolve_sms, InstagramAddress, MessengerAddress,
    SmsAddress,
};
use crate::sms::sms_text;
use crate::{Error, Messenger, Space};

/// Whether a channel can take a message now.
#[derive(Debug, Clone, PartialEq)]
pub enum RuleDecision {
    /// Messenger can: send to this address.
    Messenger(MessengerAddress),
    /// Instagram can: send from this account to this address.
    Instagram(InstagramAddress),
    /// SMS can: send this text to this number.
    Sms(SmsAddress, String),
    /// The channel is skipped, and why.
    Skip(Violation),
}

fn skip(code: ViolationCode, pointer: &str, message: impl Into<String>) -> RuleDecision {
    RuleDecision::Skip(Violation {
        code,
        pointer: pointer.to_owned(),
        message: message.into(),
        value: None,
    })
}

impl Messenger {
    /// Decides whether `channel` can take `req` now, for `profile` (the stored profile named by
    /// `to.profileId`, if any).
    pub async fn check_rule(
        &self,
        space: &Space,
        req: &SendRequest,
        profile: Option<&Profile>,
        channel: Channel,
        now: Timestamp,
    ) -> Result<RuleDecision, Error> {
        match channel {
            Channel::FbMessenger => {
                let Some(address) = resolve_messenger(&req.to, profile, space.customer_matching)
                else {
                    let why = match (&req.to.profile_id, profile) {
                        (Some(id), None) => format!("no Messenger ID: to.fbMessengerId is not set and profile {id:?} does not exist"),
                        (Some(id), Some(_)) => format!("no Messenger ID: to.fbMessengerId is not set and profile {id:?} has none (the customer has not opted in)"),
                        (None, _) => "no Messenger ID: to.fbMessengerId is not set".to_owned(),
                    };
                    let why = if space.customer_matching {
                        why
                    } else {
                        format!("{why}; phone-number matching is off for this space")
                    };
                    return Ok(skip(ViolationCode::ToUnaddressable, "/to", why));
                };
                if space.window_check {
                    if let Some(psid) = address.recipient.id.as_deref() {
                        let last = self
                            .inner
                            .store
                            .last_inbound(&space.id, &space.page_id, psid)
                            .await?;
                        let window = Window::from_last_inbound(last, now);
                        if let Err(v) =
                            check_messenger_window(req.fb_messenger_options(), &window, now)
                        {
                            return Ok(RuleDecision::Skip(v));
                        }
                    }
                }
                Ok(RuleDecision::Messenger(address))
            }
            Channel::Sms => {
                if space.sms.is_none() {
                    return Ok(skip(
                        ViolationCode::RulesUnknown,
                        "/rules",
                        "the space has no SMS provider configured",
                    ));
                }
                let Some(address) = resolve_sms(&req.to, profile) else {
                    return Ok(skip(ViolationCode::ToUnaddressable, "/to", "no phone number: to.mobileNumber, to.phoneNumber and the profile's phoneNumber are all missing"));
                };
                let Some(text) = sms_text(req) else {
                    return Ok(skip(
                        ViolationCode::ContentMissingForChannel,
                        "",
                        "nothing to send by SMS: no body and no text or URL parts for sms",
                    ));
                };
                Ok(RuleDecision::Sms(address, text))
            }
            Channel::Instagram => self.check_instagram(space, req, profile, now).await,
        }
    }

    /// Whether Instagram can take `req` now: an account of the space that can address the
    /// recipient, and (for a direct message, not a private reply) the thread's window.
    async fn check_instagram(
        &self,
        space: &Space,
        req: &SendRequest,
        profile: Option<&Profile>,
        now: Timestamp,
    ) -> Result<RuleDecision, Error> {
        if space.instagram.is_empty() {
            return Ok(skip(
                ViolationCode::RulesUnknown,
                "/rules",
                "this API space has no Instagram account connected",
            ));
        }
        let accounts: Vec<&str> = space.instagram.iter().map(|a| a.id.as_str()).collect();
        if let Some(named) = req.to.instagram_account_id.as_deref().map(str::trim) {
            if !named.is_empty() && !accounts.contains(&named) {
                return Ok(skip(
                    ViolationCode::ToUnaddressable,
                    "/to/instagramAccountId",
                    format!(
                        "Instagram account {:?} is not connected to this API space",
                        named.chars().take(64).collect::<String>()
                    ),
                ));
            }
        }
        let Some(address) = resolve_instagram(&req.to, profile, &accounts) else {
            let why = match (&req.to.profile_id, profile) {
                (Some(id), None) => format!("no Instagram ID: to.instagramId is not set and profile {id:?} does not exist"),
                (Some(id), Some(_)) => format!("no Instagram ID: to.instagramId is not set and profile {id:?} has none for this space's accounts (the customer has not written on Instagram)"),
                (None, _) => "no Instagram ID: to.instagramId and to.commentId are not set".to_owned(),
            };
            return Ok(skip(ViolationCode::ToUnaddressable, "/to", why));
        };
        if let (true, Some(igsid)) = (space.window_check, address.recipient.id.as_deref()) {
            let last = self
                .inner
                .store
                .last_inbound(&space.id, &address.account_id, igsid)
                .await?;
            let window = Window::from_last_inbound(last, now);
            if let Err(v) = check_instagram_window(req.instagram_options(), &window, now) {
                return Ok(RuleDecision::Skip(v));
            }
        }
        Ok(RuleDecision::Instagram(address))
    }
}
