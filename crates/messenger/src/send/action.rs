//! Sender actions (typing on, typing off, mark seen): addressed like a send, checked against the
//! 24-hour window, handed to Graph at once and never stored.
//!
//! Meta wants each action in a request of its own with only the recipient (and, for the typing
//! actions, optionally a persona), and refuses actions outside the standard 24-hour window: a
//! sender action has no message tag, so the 7-day `HUMAN_AGENT` window does not apply.

use messenger_model::graph::{GraphSendRequest, SenderAction};
use messenger_model::{Profile, To};
use messenger_validate::{Violation, ViolationCode, Window};

use crate::addressing::{resolve_messenger, AddressSource};
use crate::{Error, Messenger};

/// A sender action Graph accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ActionSent {
    /// The action.
    pub action: SenderAction,
    /// Where the recipient came from (`to.fbMessengerId`, the profile, ...).
    pub source: AddressSource,
}

/// Graph's spelling of an action (`typing_on`, `typing_off`, `mark_seen`).
pub const fn action_name(action: SenderAction) -> &'static str {
    match action {
        SenderAction::TypingOn => "typing_on",
        SenderAction::TypingOff => "typing_off",
        SenderAction::MarkSeen => "mark_seen",
    }
}

/// Parses Graph's spelling of an action.
///
/// ```
/// use messenger::send::parse_action;
/// use messenger_model::graph::SenderAction;
/// assert_eq!(parse_action("typing_on"), Some(SenderAction::TypingOn));
/// assert_eq!(parse_action("typing"), None);
/// ```
pub fn parse_action(name: &str) -> Option<SenderAction> {
    [
        SenderAction::TypingOn,
        SenderAction::TypingOff,
        SenderAction::MarkSeen,
    ]
    .into_iter()
    .find(|a| action_name(*a) == name)
}

fn refused(code: ViolationCode, pointer: &str, message: String) -> Error {
    Error::ActionRefused(vec![Violation {
        code,
        pointer: pointer.to_owned(),
        message,
        value: None,
    }])
}

impl Messenger {
    /// Sends a sender action to `to` (resolved as a send's `to` is: `fbMessengerId`, the
    /// profile named by `profileId`, a phone number when customer matching is on), as
    /// `persona_id` when given (typing actions only; Meta takes nothing else with `mark_seen`).
    ///
    /// Nothing is stored. Refused with [`Error::ActionRefused`] when the recipient cannot be
    /// addressed on Messenger (`to.unaddressable`) or the 24-hour window is known to be closed
    /// (`window.closed`); Graph's refusals come back as [`Error::Graph`].
    ///
    /// ```no_run
    /// # async fn f(messenger: messenger::Messenger) -> Result<(), messenger::Error> {
    /// use messenger_model::graph::SenderAction;
    /// use messenger_model::To;
    /// messenger
    ///     .send_action("default", &To::fb_messenger_id("24000000000001"), SenderAction::TypingOn, None)
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub async fn send_action(
        &self,
        space_id: &str,
        to: &To,
        action: SenderAction,
        persona_id: Option<&str>,
    ) -> Result<ActionSent, Error> {
        let space = self.space(space_id)?;
        let space = &*space;
        if persona_id.is_some() && action == SenderAction::MarkSeen {
            return Err(refused(
                ViolationCode::FieldUnknown,
                "/personaId",
                "Meta takes a persona only with typing_on and typing_off, not with mark_seen"
                    .to_owned(),
            ));
        }
        let profile_id = to.profile_id.as_deref().filter(|id| !id.trim().is_empty());
        let profile: Option<Profile> = match profile_id {
            Some(id) => self.inner.store.get_profile(&space.id, id).await?,
            None => None,
        };
        let Some(address) = resolve_messenger(to, profile.as_ref(), space.customer_matching) else {
            let why = match (profile_id, &profile) {
                (Some(id), None) => format!(
                    "no Messenger ID: to.fbMessengerId is not set and profile {:?} does not exist",
                    short(id)
                ),
                (Some(id), Some(_)) => format!(
                    "no Messenger ID: to.fbMessengerId is not set and profile {:?} has none (the \
                     customer has not opted in)",
                    short(id)
                ),
                (None, _) => "no Messenger ID: give to.fbMessengerId or to.profileId".to_owned(),
            };
            return Err(refused(ViolationCode::ToUnaddressable, "/to", why));
        };
        if space.window_check {
            if let Some(psid) = address.recipient.id.as_deref() {
                let now = self.now();
                let last = self
                    .inner
                    .store
                    .last_inbound(&space.id, &space.page_id, psid)
                    .await?;
                if let Window::Closed { last_inbound } = Window::from_last_inbound(last, now) {
                    let since = match last_inbound {
                        Some(t) => format!("the user last wrote at {t}"),
                        None => "no message from the user is known".to_owned(),
                    };
                    return Err(refused(
                        ViolationCode::WindowClosed,
                        "/action",
                        format!(
                            "the 24-hour messaging window is closed ({since}): Meta refuses \
                             sender actions outside it, and an action cannot carry a message tag"
                        ),
                    ));
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
        })
    }
}

fn short(s: &str) -> String {
    s.chars().take(64).collect()
}
