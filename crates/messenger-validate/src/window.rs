//! The messaging window rule (docs/design.md §4): what the caller knows about the window, and
//! whether a Messenger send with given options goes through now.

use messenger_model::graph::MessagingType;
use messenger_model::{FbMessengerOptions, InstagramOptions, SendRequest, Timestamp};

use crate::limits::{DAY_MS, HOUR_MS, STANDARD_WINDOW_HOURS};
use crate::request::TYPE_POINTER;
use crate::tags::{check_tag_at, tag_missing, TAG_POINTER};
use crate::{Violation, ViolationCode};

/// What the caller knows about the recipient's standard messaging window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Window {
    /// The user wrote within the last 24 hours: anything may be sent.
    Open,
    /// The user's last message is older than 24 hours, or none is known.
    Closed {
        /// When the user last wrote to the page, if ever seen.
        last_inbound: Option<Timestamp>,
    },
    /// Not checked (a space with the window check `off`): Meta decides.
    #[default]
    Unchecked,
}

impl Window {
    /// The window given the user's last inbound message: open within 24 hours of it.
    ///
    /// ```
    /// use messenger_model::Timestamp;
    /// use messenger_validate::Window;
    /// let now: Timestamp = "2026-05-02T12:00:00Z".parse().unwrap();
    /// let yesterday_noon: Timestamp = "2026-05-01T12:00:01Z".parse().unwrap();
    /// assert_eq!(Window::from_last_inbound(Some(yesterday_noon), now), Window::Open);
    /// assert_eq!(Window::from_last_inbound(None, now), Window::Closed { last_inbound: None });
    /// ```
    pub fn from_last_inbound(last_inbound: Option<Timestamp>, now: Timestamp) -> Self {
        match last_inbound {
            Some(t)
                if now.millis().saturating_sub(t.millis()) < STANDARD_WINDOW_HOURS * HOUR_MS =>
            {
                Self::Open
            }
            last_inbound => Self::Closed { last_inbound },
        }
    }
}

/// What validation may assume about the space and the moment; the caller (the facade) supplies
/// it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// The recipient's messaging window (used by [`check_window`] and
    /// [`check_messenger_window`], not by [`crate::validate_request`]).
    pub window: Window,
    /// Whether the space has enabled Messenger customer matching (sending by phone number,
    /// suspended by Meta, so off unless a space turns it on).
    pub customer_matching: bool,
    /// The current time.
    pub now: Timestamp,
}

impl Default for Policy {
    /// Window unchecked (Meta decides), customer matching off, now = the system clock.
    fn default() -> Self {
        Self {
            window: Window::Unchecked,
            customer_matching: false,
            now: Timestamp::now(),
        }
    }
}

/// Whether a Messenger send with these options goes through now, given the window.
///
/// - [`Window::Open`] and [`Window::Unchecked`]: `Ok` (tag validity is
///   [`crate::validate_request`]'s business).
/// - [`Window::Closed`]: only `MESSAGE_TAG` with a tag Meta accepts, within that tag's own limit
///   (HUMAN_AGENT: 7 days after the user's last message). Otherwise `window.closed`,
///   `window.tag_expired`, `tag.missing`, `tag.retired` or `tag.unknown`.
///
/// The facade calls this per rule: a violation means "skip Messenger, try the next rule", or,
/// with no next rule, a 400 carrying this violation.
///
/// ```
/// use messenger_model::{FbMessengerOptions, Timestamp};
/// use messenger_model::graph::MessagingType;
/// use messenger_validate::{check_messenger_window, ViolationCode, Window};
///
/// let now: Timestamp = "2026-05-10T12:00:00Z".parse().unwrap();
/// let closed = Window::Closed { last_inbound: Some("2026-05-08T09:00:00Z".parse().unwrap()) };
/// let update = FbMessengerOptions {
///     messaging_type: Some(MessagingType::Update),
///     ..FbMessengerOptions::default()
/// };
/// let err = check_messenger_window(Some(&update), &closed, now).unwrap_err();
/// assert_eq!(err.code, ViolationCode::WindowClosed);
///
/// let agent = FbMessengerOptions {
///     messaging_type: Some(MessagingType::MessageTag),
///     message_tag: Some("HUMAN_AGENT".into()),
///     ..FbMessengerOptions::default()
/// };
/// assert!(check_messenger_window(Some(&agent), &closed, now).is_ok());
/// ```
pub fn check_messenger_window(
    opts: Option<&FbMessengerOptions>,
    window: &Window,
    now: Timestamp,
) -> Result<(), Violation> {
    let last_inbound = match window {
        Window::Open | Window::Unchecked => return Ok(()),
        Window::Closed { last_inbound } => *last_inbound,
    };
    let tag = opts.and_then(|o| o.message_tag.as_deref());
    let kind = opts
        .and_then(|o| o.messaging_type)
        .unwrap_or(if tag.is_some() {
            MessagingType::MessageTag
        } else {
            MessagingType::Response
        });
    let since = match last_inbound {
        Some(t) => format!("the user last wrote at {t}"),
        None => "no message from the user is known".to_owned(),
    };
    if kind != MessagingType::MessageTag {
        return Err(Violation {
            code: ViolationCode::WindowClosed,
            pointer: TYPE_POINTER.to_owned(),
            message: format!(
                "the 24-hour messaging window is closed ({since}): Meta refuses {} sends outside \
                 it; use MESSAGE_TAG with HUMAN_AGENT for a person replying within 7 days of the \
                 user's last message, or fall back to SMS via rules",
                if opts.and_then(|o| o.messaging_type).is_some() {
                    kind.as_str()
                } else {
                    "untagged"
                }
            ),
            value: Some(kind.as_str().to_owned()),
        });
    }
    let Some(tag) = tag.filter(|t| !t.is_empty()) else {
        return Err(tag_missing());
    };
    let info = check_tag_at(tag, TAG_POINTER)?;
    let Some(max_age) = info.max_age_ms() else {
        return Ok(());
    };
    let within = last_inbound.is_some_and(|t| now.millis().saturating_sub(t.millis()) <= max_age);
    if within {
        return Ok(());
    }
    let days = max_age / DAY_MS;
    Err(Violation {
        code: ViolationCode::WindowTagExpired,
        pointer: TAG_POINTER.to_owned(),
        message: format!(
            "{} may only be used within {days} days of the user's last message ({since}); fall \
             back to SMS via rules",
            info.name
        ),
        value: Some(info.name.to_owned()),
    })
}

/// The window rule on Instagram: the same 24 hours from the user's last message, and outside
/// them only `HUMAN_AGENT` up to 7 days (the only tag Instagram takes, checked when the request
/// was accepted). Violations point at `channelOptions.instagram`.
///
/// ```
/// use messenger_model::{InstagramOptions, Timestamp};
/// use messenger_validate::{check_instagram_window, Window};
/// let now: Timestamp = "2026-05-10T12:00:00Z".parse().unwrap();
/// let closed = Window::Closed { last_inbound: Some("2026-05-08T12:00:00Z".parse().unwrap()) };
/// let v = check_instagram_window(None, &closed, now).unwrap_err();
/// assert_eq!(v.pointer, "/channelOptions/instagram/messagingType");
/// let agent = InstagramOptions { message_tag: Some("HUMAN_AGENT".into()), ..Default::default() };
/// assert!(check_instagram_window(Some(&agent), &closed, now).is_ok());
/// ```
pub fn check_instagram_window(
    opts: Option<&InstagramOptions>,
    window: &Window,
    now: Timestamp,
) -> Result<(), Violation> {
    let as_messenger = opts.map(|o| FbMessengerOptions {
        messaging_type: o.messaging_type,
        message_tag: o.message_tag.clone(),
        ..FbMessengerOptions::default()
    });
    check_messenger_window(as_messenger.as_ref(), window, now).map_err(|mut v| {
        v.pointer = v.pointer.replacen(
            "/channelOptions/fbMessenger/",
            "/channelOptions/instagram/",
            1,
        );
        v
    })
}

/// [`check_messenger_window`] for a request, with the policy's window and clock.
pub fn check_window(req: &SendRequest, policy: &Policy) -> Result<(), Violation> {
    check_messenger_window(req.fb_messenger_options(), &policy.window, policy.now)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn opts(kind: Option<MessagingType>, tag: Option<&str>) -> FbMessengerOptions {
        FbMessengerOptions {
            messaging_type: kind,
            message_tag: tag.map(str::to_owned),
            persona_id: None,
            delivery_timeout: None,
        }
    }

    fn code(o: Option<&FbMessengerOptions>, w: Window) -> Option<&'static str> {
        check_messenger_window(o, &w, ts("2026-05-10T12:00:00Z"))
            .err()
            .map(|v| v.code.as_str())
    }

    #[test]
    fn open_and_unchecked_let_everything_through() {
        for w in [Window::Open, Window::Unchecked] {
            assert_eq!(code(None, w), None);
            let o = opts(Some(MessagingType::Update), None);
            assert_eq!(code(Some(&o), w), None);
        }
    }

    #[test]
    fn closed_refuses_untagged_response_and_update() {
        let w = Window::Closed {
            last_inbound: Some(ts("2026-05-08T12:00:00Z")),
        };
        assert_eq!(code(None, w), Some("window.closed"));
        for kind in [MessagingType::Response, MessagingType::Update] {
            assert_eq!(
                code(Some(&opts(Some(kind), None)), w),
                Some("window.closed")
            );
        }
        let v = check_messenger_window(None, &w, ts("2026-05-10T12:00:00Z")).unwrap_err();
        assert!(v.message.contains("untagged"), "{}", v.message);
        assert!(v.message.contains("2026-05-08T12:00:00.000Z"));
    }

    #[test]
    fn closed_takes_human_agent_for_seven_days() {
        let agent = opts(Some(MessagingType::MessageTag), Some("HUMAN_AGENT"));
        let at = |s| Window::Closed {
            last_inbound: Some(ts(s)),
        };
        assert_eq!(code(Some(&agent), at("2026-05-03T12:00:00Z")), None);
        assert_eq!(
            code(Some(&agent), at("2026-05-03T11:59:59Z")),
            Some("window.tag_expired")
        );
        assert_eq!(
            code(Some(&agent), Window::Closed { last_inbound: None }),
            Some("window.tag_expired")
        );
        // A tag without a type means MESSAGE_TAG.
        let bare = opts(None, Some("HUMAN_AGENT"));
        assert_eq!(code(Some(&bare), at("2026-05-09T12:00:00Z")), None);
    }

    #[test]
    fn closed_names_bad_tags() {
        let w = Window::Closed { last_inbound: None };
        let tagged = |t| opts(Some(MessagingType::MessageTag), Some(t));
        assert_eq!(
            code(Some(&tagged("SHIPPING_UPDATE")), w),
            Some("tag.retired")
        );
        assert_eq!(code(Some(&tagged("NOPE")), w), Some("tag.unknown"));
        assert_eq!(code(Some(&tagged("")), w), Some("tag.missing"));
        let untagged = opts(Some(MessagingType::MessageTag), None);
        assert_eq!(code(Some(&untagged), w), Some("tag.missing"));
    }

    #[test]
    fn window_from_last_inbound() {
        let now = ts("2026-05-10T12:00:00Z");
        assert_eq!(
            Window::from_last_inbound(Some(ts("2026-05-09T12:00:00.001Z")), now),
            Window::Open
        );
        assert_eq!(
            Window::from_last_inbound(Some(ts("2026-05-09T12:00:00Z")), now),
            Window::Closed {
                last_inbound: Some(ts("2026-05-09T12:00:00Z"))
            }
        );
        assert!(Policy::default().now.millis() > 0);
        assert_eq!(Policy::default().window, Window::Unchecked);
    }
}
