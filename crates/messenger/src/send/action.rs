//! Sender actions (typing on, typing off, mark seen; on Instagram also react and unreact):
//! addressed like a send, checked against the 24-hour window, handed to Graph at once and never
//! stored.
//!
//! Meta wants each action in a request of its own with only the recipient (and, for Messenger's
//! typing actions, optionally a persona), and refuses actions outside the standard 24-hour
//! window: a sender action has no message tag, so the 7-day `HUMAN_AGENT` window does not apply.
//! Instagram's actions go from one of the space's Instagram accounts ([`instagram`]).

mod instagram;

use messenger_model::graph::{GraphSendRequest, SenderAction, INSTAGRAM_REACTIONS};
use messenger_model::{Channel, Profile, Timestamp, To};
use messenger_validate::{Violation, ViolationCode, Window};

use crate::addressing::{resolve_instagram, resolve_messenger, AddressSource};
use crate::{Error, Messenger, Space};

/// The longest `messageId` taken: a `mid` is an opaque string, far shorter than this.
pub const MESSAGE_ID_MAX_CHARS: usize = 1024;

/// A sender action to send: to whom, which, and what it needs (a persona for Messenger's typing
/// actions; the customer's message and the reaction for Instagram's `react` and `unreact`).
///
/// ```
/// use messenger::send::ActionRequest;
/// use messenger_model::graph::SenderAction;
/// use messenger_model::To;
/// let react = ActionRequest::react(To::instagram_id("IGSID-1"), "m_1", "love");
/// assert_eq!(react.action, SenderAction::React);
/// assert!(react.check().is_ok());
/// let typing = ActionRequest::new(To::fb_messenger_id("24000000000001"), SenderAction::TypingOn)
///     .persona("1234567890");
/// assert!(typing.check().is_ok());
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ActionRequest {
    /// Who it is for (resolved as a send's `to` is).
    pub to: To,
    /// The action.
    pub action: SenderAction,
    /// A persona to show the typing bubble as (Messenger's typing actions only).
    pub persona_id: Option<String>,
    /// The `mid` of the customer's message (`react` and `unreact` only).
    pub message_id: Option<String>,
    /// The reaction (`react` only; Meta documents [`INSTAGRAM_REACTIONS`]).
    pub reaction: Option<String>,
}

impl ActionRequest {
    /// `action` to `to`.
    pub fn new(to: To, action: SenderAction) -> Self {
        Self {
            to,
            action,
            persona_id: None,
            message_id: None,
            reaction: None,
        }
    }

    /// Instagram's `react` with `reaction` to the customer's message `message_id`.
    pub fn react(to: To, message_id: impl Into<String>, reaction: impl Into<String>) -> Self {
        Self {
            message_id: Some(message_id.into()),
            reaction: Some(reaction.into()),
            ..Self::new(to, SenderAction::React)
        }
    }

    /// Instagram's `unreact`: removes the reaction to the customer's message `message_id`.
    pub fn unreact(to: To, message_id: impl Into<String>) -> Self {
        Self {
            message_id: Some(message_id.into()),
            ..Self::new(to, SenderAction::Unreact)
        }
    }

    /// Shows the typing bubble as persona `id`.
    #[must_use = "a builder method returns the changed value and does nothing on its own"]
    pub fn persona(mut self, id: impl Into<String>) -> Self {
        self.persona_id = Some(id.into());
        self
    }

    /// The rules the request breaks on its own, before any space or profile is read, each
    /// naming its field as the HTTP body spells it (`/messageId`, `/reaction`, `/personaId`,
    /// `/action`, `/to/...`): a reaction needs the message and (to react) a documented
    /// reaction, `messageId` and `reaction` belong to reactions only, a reaction is Instagram's
    /// (no persona, no `to.fbMessengerId`), and an action goes to one channel's thread, not to
    /// a comment.
    pub fn check(&self) -> Result<(), Vec<Violation>> {
        let mut out = Vec::new();
        let mut refuse = |code, pointer: &str, message: String| {
            out.push(violation(code, pointer, message));
        };
        let name = self.action.as_str();
        let message_id = self.message_id.as_deref();
        let reaction = self.reaction.as_deref();
        if self.action.is_reaction() {
            match message_id {
                None => refuse(
                    ViolationCode::FieldRequired,
                    "/messageId",
                    format!("{name} needs messageId: the mid of the customer's message"),
                ),
                Some(id) if id.trim().is_empty() => refuse(
                    ViolationCode::FieldRequired,
                    "/messageId",
                    format!("messageId is empty: {name} needs the mid of the customer's message"),
                ),
                Some(id) if id.chars().count() > MESSAGE_ID_MAX_CHARS => refuse(
                    ViolationCode::FieldLength,
                    "/messageId",
                    format!("messageId is longer than {MESSAGE_ID_MAX_CHARS} characters"),
                ),
                Some(id) if !id.chars().all(|c| c.is_ascii_graphic()) => refuse(
                    ViolationCode::JsonShape,
                    "/messageId",
                    "messageId must be a mid as webhooks carry it: printable ASCII, no spaces"
                        .to_owned(),
                ),
                Some(_) => {}
            }
            let documented = INSTAGRAM_REACTIONS.join(", ");
            match (self.action, reaction) {
                (SenderAction::React, None) => refuse(
                    ViolationCode::FieldRequired,
                    "/reaction",
                    format!("react needs a reaction: Meta documents {documented}"),
                ),
                (SenderAction::React, Some(r)) if !INSTAGRAM_REACTIONS.contains(&r) => refuse(
                    ViolationCode::FieldEnum,
                    "/reaction",
                    format!(
                        "unknown reaction {:?}: Meta documents only {documented} for Instagram, \
                         and nothing else is sent",
                        short(r)
                    ),
                ),
                (SenderAction::Unreact, Some(_)) => refuse(
                    ViolationCode::FieldUnknown,
                    "/reaction",
                    "unreact removes the reaction to messageId: Meta takes no reaction with it"
                        .to_owned(),
                ),
                _ => {}
            }
            if self.persona_id.is_some() {
                refuse(
                    ViolationCode::ChannelUnsupported,
                    "/personaId",
                    format!("{name} is Instagram's, and Instagram has no personas: drop personaId"),
                );
            }
            if non_empty(&self.to.fb_messenger_id).is_some() {
                refuse(
                    ViolationCode::ChannelUnsupported,
                    "/action",
                    format!(
                        "Messenger does not take {name} (to.fbMessengerId is a Messenger \
                         recipient): reactions are Instagram's, to.instagramId or a profile's \
                         IGSID"
                    ),
                );
            }
        } else {
            for (value, pointer, field) in [
                (message_id, "/messageId", "messageId"),
                (reaction, "/reaction", "reaction"),
            ] {
                if value.is_some() {
                    refuse(
                        ViolationCode::FieldUnknown,
                        pointer,
                        format!("{field} belongs to react and unreact, not to {name}"),
                    );
                }
            }
        }
        if self.to.comment_id.is_some() {
            refuse(
                ViolationCode::FieldUnknown,
                "/to/commentId",
                "a sender action goes to the customer's thread (to.instagramId or to.profileId), \
                 not to a comment"
                    .to_owned(),
            );
        }
        if non_empty(&self.to.fb_messenger_id).is_some()
            && non_empty(&self.to.instagram_id).is_some()
        {
            refuse(
                ViolationCode::JsonShape,
                "/to/instagramId",
                "to.fbMessengerId and to.instagramId name two channels: an action goes to one, \
                 give one of them"
                    .to_owned(),
            );
        }
        if out.is_empty() {
            Ok(())
        } else {
            Err(out)
        }
    }
}

/// A sender action Graph accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ActionSent {
    /// The action.
    pub action: SenderAction,
    /// Where the recipient came from (`to.fbMessengerId`, `to.instagramId`, the profile, ...).
    pub source: AddressSource,
    /// The channel it went out on: [`Channel::FbMessenger`] or [`Channel::Instagram`].
    pub channel: Channel,
    /// What sent it: the space's page, or the Instagram account (its id).
    pub sent_from: String,
}

/// Graph's spelling of an action (`typing_on`, `react`): [`SenderAction::as_str`].
pub const fn action_name(action: SenderAction) -> &'static str {
    action.as_str()
}

/// Parses Graph's spelling of an action: [`SenderAction::parse`].
///
/// ```
/// use messenger::send::parse_action;
/// use messenger_model::graph::SenderAction;
/// assert_eq!(parse_action("typing_on"), Some(SenderAction::TypingOn));
/// assert_eq!(parse_action("react"), Some(SenderAction::React));
/// assert_eq!(parse_action("typing"), None);
/// ```
pub fn parse_action(name: &str) -> Option<SenderAction> {
    SenderAction::parse(name)
}

fn violation(code: ViolationCode, pointer: &str, message: String) -> Violation {
    Violation {
        code,
        pointer: pointer.to_owned(),
        message,
        value: None,
    }
}

fn refused(code: ViolationCode, pointer: &str, message: String) -> Error {
    Error::ActionRefused(vec![violation(code, pointer, message)])
}

fn non_empty(s: &Option<String>) -> Option<&str> {
    s.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// The refusal of an action whose thread's 24-hour window is closed at `now` (the user last
/// wrote at `last`, if ever), on `channel` (`Messenger`, `Instagram`).
fn window_refusal(last: Option<Timestamp>, now: Timestamp, channel: &str) -> Option<Error> {
    let Window::Closed { last_inbound } = Window::from_last_inbound(last, now) else {
        return None;
    };
    let since = match last_inbound {
        Some(t) => format!("the user last wrote at {t}"),
        None => "no message from the user is known".to_owned(),
    };
    Some(refused(
        ViolationCode::WindowClosed,
        "/action",
        format!(
            "{channel}'s 24-hour messaging window is closed ({since}): Meta refuses sender \
             actions outside it, and an action cannot carry a message tag"
        ),
    ))
}

/// Which channel an action goes out on.
enum Route {
    Messenger,
    Instagram,
}

/// The channel of `req`: Instagram for `to.instagramId`, for a reaction (Instagram's alone), and
/// for a profile with an IGSID of one of the space's accounts that Messenger cannot address;
/// Messenger otherwise.
fn route(space: &Space, req: &ActionRequest, profile: Option<&Profile>) -> Route {
    if non_empty(&req.to.instagram_id).is_some() || req.action.is_reaction() {
        return Route::Instagram;
    }
    if resolve_messenger(&req.to, profile, space.customer_matching).is_some() {
        return Route::Messenger;
    }
    let accounts: Vec<&str> = space.instagram.iter().map(|a| a.id.as_str()).collect();
    match resolve_instagram(&req.to, profile, &accounts) {
        Some(_) => Route::Instagram,
        None => Route::Messenger,
    }
}

impl Messenger {
    /// Sends the sender action `req` (its `to` resolved as a send's is), on Messenger from the
    /// space's page or on Instagram from one of its Instagram accounts: Instagram for
    /// `to.instagramId`, for `react` and `unreact`, and for a profile whose only ID for this
    /// space is an IGSID of one of its accounts. A persona (`persona_id`) only with Messenger's
    /// typing actions.
    ///
    /// Nothing is stored. Refused with [`Error::ActionRefused`] (each violation naming its
    /// field) when the request breaks a rule of its own ([`ActionRequest::check`]), the
    /// recipient cannot be addressed on the channel (`to.unaddressable`), a reaction would go to
    /// a Messenger recipient or a persona to Instagram (`channel.unsupported`), or the 24-hour
    /// window is known to be closed (`window.closed`); Graph's refusals come back as
    /// [`Error::Graph`].
    ///
    /// ```no_run
    /// # async fn f(messenger: messenger::Messenger) -> Result<(), messenger::Error> {
    /// use messenger::send::ActionRequest;
    /// use messenger_model::graph::SenderAction;
    /// use messenger_model::To;
    /// let to = To::fb_messenger_id("24000000000001");
    /// messenger.send_action("default", &ActionRequest::new(to, SenderAction::TypingOn)).await?;
    /// let to = To::instagram_id("IGSID-1");
    /// messenger.send_action("default", &ActionRequest::react(to, "m_1", "love")).await?;
    /// # Ok(()) }
    /// ```
    pub async fn send_action(
        &self,
        space_id: &str,
        req: &ActionRequest,
    ) -> Result<ActionSent, Error> {
        let space = self.space(space_id)?;
        let space = &*space;
        req.check().map_err(Error::ActionRefused)?;
        let profile_id = req
            .to
            .profile_id
            .as_deref()
            .filter(|id| !id.trim().is_empty());
        let profile: Option<Profile> = match profile_id {
            Some(id) => self.inner.store.get_profile(&space.id, id).await?,
            None => None,
        };
        match route(space, req, profile.as_ref()) {
            Route::Instagram => {
                self.send_instagram_action(space, req, profile_id, profile.as_ref())
                    .await
            }
            Route::Messenger => {
                self.send_messenger_action(space, req, profile_id, profile.as_ref())
                    .await
            }
        }
    }

    /// [`Messenger::send_action`] on Messenger, from the space's page.
    async fn send_messenger_action(
        &self,
        space: &Space,
        req: &ActionRequest,
        profile_id: Option<&str>,
        profile: Option<&Profile>,
    ) -> Result<ActionSent, Error> {
        let action = req.action;
        let persona_id = req.persona_id.as_deref();
        if persona_id.is_some() && action == SenderAction::MarkSeen {
            return Err(refused(
                ViolationCode::FieldUnknown,
                "/personaId",
                "Meta takes a persona only with typing_on and typing_off, not with mark_seen"
                    .to_owned(),
            ));
        }
        let Some(address) = resolve_messenger(&req.to, profile, space.customer_matching) else {
            let why = match (profile_id, profile) {
                (Some(id), None) => format!(
                    "no Messenger ID: to.fbMessengerId is not set and profile {:?} does not exist",
                    short(id)
                ),
                (Some(id), Some(_)) => format!(
                    "no Messenger ID: to.fbMessengerId is not set and profile {:?} has none (the \
                     customer has not opted in) and no Instagram ID for this space's accounts",
                    short(id)
                ),
                (None, _) => {
                    "no recipient: give to.fbMessengerId, to.instagramId or to.profileId".to_owned()
                }
            };
            return Err(refused(ViolationCode::ToUnaddressable, "/to", why));
        };
        if space.window_check {
            if let Some(psid) = address.recipient.id.as_deref() {
                let last = self
                    .inner
                    .store
                    .last_inbound(&space.id, &space.page_id, psid)
                    .await?;
                if let Some(refusal) = window_refusal(last, self.now(), "Messenger") {
                    return Err(refusal);
                }
            }
        }
        let mut request = GraphSendRequest::sender_action(address.recipient.clone(), action);
        request.persona_id = persona_id.map(str::to_owned);
        match persona_id {
            // The trait's sender_action takes no persona: send the request as built.
            Some(_) => space.transport.send(&request).await.map(|_| ())?,
            None => {
                space
                    .transport
                    .sender_action(&address.recipient, action)
                    .await?
            }
        }
        Ok(ActionSent {
            action,
            source: address.source,
            channel: Channel::FbMessenger,
            sent_from: space.page_id.clone(),
        })
    }
}

fn short(s: &str) -> String {
    s.chars().take(64).collect()
}
