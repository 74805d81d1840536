//! Meta's message tag policy as data: every tag Meta has had, whether it is accepted today, since
//! when it is retired, and what to do instead.
//!
//! Sources (summarised in `docs/validation.md`, the product's account of Meta's rules): Meta's
//! Message Tags page and Send API reference; the 2020 and 2026 retirements as other Messenger
//! client libraries reported them when Graph began refusing the tags (2026-02-10 and
//! 2026-04-27 for the latest).

use crate::limits::DAY_MS;
use crate::report::truncate;
use crate::{Violation, ViolationCode};

/// Where the tag lives in a request.
pub(crate) const TAG_POINTER: &str = "/channelOptions/fbMessenger/messageTag";

/// `MESSAGE_TAG` without a tag.
pub(crate) fn tag_missing() -> Violation {
    Violation {
        code: ViolationCode::TagMissing,
        pointer: TAG_POINTER.to_owned(),
        message: "messagingType MESSAGE_TAG needs a messageTag (Meta accepts HUMAN_AGENT: a \
                  person replying within 7 days of the user's last message)"
            .to_owned(),
        value: None,
    }
}

/// Whether Meta accepts a tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TagStatus {
    /// Accepted today (within the tag's own limits, see [`TagInfo::max_days_after_inbound`]).
    Active,
    /// Refused by Graph (error 100) since `since`: an ISO date (`2020-03-04`), or a year
    /// (`2026`) where reports disagree on the day.
    Retired {
        /// When Meta stopped accepting it.
        since: &'static str,
    },
}

/// One message tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TagInfo {
    /// Graph's spelling (`HUMAN_AGENT`).
    pub name: &'static str,
    /// Accepted or retired.
    pub status: TagStatus,
    /// For active tags with their own window: days after the user's last message.
    pub max_days_after_inbound: Option<u32>,
    /// What to do instead (retired tags), or how to use it (active ones).
    pub replacement: &'static str,
}

impl TagInfo {
    /// Whether Meta accepts the tag today.
    pub const fn is_active(&self) -> bool {
        matches!(self.status, TagStatus::Active)
    }

    /// Milliseconds after the user's last message during which the tag may be used.
    pub fn max_age_ms(&self) -> Option<i64> {
        self.max_days_after_inbound
            .map(|d| i64::from(d).saturating_mul(DAY_MS))
    }
}

/// What to do instead of a retired tag.
pub const RETIRED_REPLACEMENT: &str = "send within 24 hours of the user's last message (no tag, \
messagingType RESPONSE or UPDATE), use MESSAGE_TAG with HUMAN_AGENT for a person replying within \
7 days, or fall back to SMS via rules";

const RETIRED_2020: TagStatus = TagStatus::Retired {
    since: "2020-03-04",
};
const RETIRED_2026: TagStatus = TagStatus::Retired { since: "2026" };

const fn retired(name: &'static str, status: TagStatus) -> TagInfo {
    TagInfo {
        name,
        status,
        max_days_after_inbound: None,
        replacement: RETIRED_REPLACEMENT,
    }
}

/// Every tag Meta has had. Change a tag's status here and nowhere else.
pub static TAGS: &[TagInfo] = &[
    TagInfo {
        name: "HUMAN_AGENT",
        status: TagStatus::Active,
        max_days_after_inbound: Some(7),
        replacement: "a person's reply up to 7 days after the user's last message; needs \
Meta's approval of the Human Agent feature for the app; no automated or promotional content",
    },
    TagInfo {
        name: "CUSTOMER_FEEDBACK",
        status: TagStatus::Active,
        max_days_after_inbound: Some(7),
        replacement: "only with Meta's customer feedback template (a beta feature), up to \
7 days after the user's last message",
    },
    retired("ACCOUNT_UPDATE", RETIRED_2026),
    retired("POST_PURCHASE_UPDATE", RETIRED_2026),
    retired("CONFIRMED_EVENT_UPDATE", RETIRED_2026),
    retired("NON_PROMOTIONAL_SUBSCRIPTION", RETIRED_2020),
    retired("SHIPPING_UPDATE", RETIRED_2020),
    retired("RESERVATION_UPDATE", RETIRED_2020),
    retired("ISSUE_RESOLUTION", RETIRED_2020),
    retired("APPOINTMENT_UPDATE", RETIRED_2020),
    retired("GAME_EVENT", RETIRED_2020),
    retired("TRANSPORTATION_UPDATE", RETIRED_2020),
    retired("FEATURE_FUNCTIONALITY_UPDATE", RETIRED_2020),
    retired("TICKET_UPDATE", RETIRED_2020),
    retired("PAYMENT_UPDATE", RETIRED_2020),
    retired("PERSONAL_FINANCE_UPDATE", RETIRED_2020),
    retired("COMMUNITY_ALERT", RETIRED_2020),
    retired("CONFIRMED_EVENT_REMINDER", RETIRED_2020),
    retired("BUSINESS_PRODUCTIVITY", RETIRED_2020),
    retired("PAIRING_UPDATE", RETIRED_2020),
    retired("APPLICATION_UPDATE", RETIRED_2020),
];

/// The tag named exactly `name` (Graph's tags are upper case).
pub fn lookup(name: &str) -> Option<&'static TagInfo> {
    TAGS.iter().find(|t| t.name == name)
}

/// The tags Meta accepts today.
pub fn active() -> impl Iterator<Item = &'static TagInfo> {
    TAGS.iter().filter(|t| t.is_active())
}

/// Checks a tag against Meta's policy: `Ok` with its entry when Meta accepts it, else a
/// `tag.retired` violation (naming the tag, when it was retired and what to do instead) or a
/// `tag.unknown` one. The pointer is `/channelOptions/fbMessenger/messageTag`.
///
/// ```
/// use messenger_validate::{check_tag, ViolationCode};
/// assert!(check_tag("HUMAN_AGENT").is_ok());
/// let v = check_tag("SHIPPING_UPDATE").unwrap_err();
/// assert_eq!(v.code, ViolationCode::TagRetired);
/// assert!(v.message.contains("2020-03-04"));
/// assert_eq!(check_tag("SOMETHING").unwrap_err().code, ViolationCode::TagUnknown);
/// ```
pub fn check_tag(tag: &str) -> Result<&'static TagInfo, Violation> {
    check_tag_at(tag, TAG_POINTER)
}

pub(crate) fn check_tag_at(tag: &str, pointer: &str) -> Result<&'static TagInfo, Violation> {
    let violation = |code, message: String| Violation {
        code,
        pointer: pointer.to_owned(),
        message,
        value: Some(truncate(tag)),
    };
    match lookup(tag) {
        Some(info) => match info.status {
            TagStatus::Active => Ok(info),
            TagStatus::Retired { since } => {
                let when = if since.len() == 4 { "in" } else { "on" };
                Err(violation(
                    ViolationCode::TagRetired,
                    format!(
                        "message tag {} was retired by Meta {when} {since} (Graph refuses it \
                         with error 100); instead {}",
                        info.name, info.replacement
                    ),
                ))
            }
        },
        None => {
            let accepted: Vec<&str> = active().map(|t| t.name).collect();
            let hint = match TAGS.iter().find(|t| t.name.eq_ignore_ascii_case(tag)) {
                Some(t) => format!(" (tags are upper case: {})", t.name),
                None => String::new(),
            };
            Err(violation(
                ViolationCode::TagUnknown,
                format!(
                    "unknown message tag{hint}; Meta accepts {}",
                    accepted.join(", ")
                ),
            ))
        }
    }
}

/// Where Instagram's tag lives in a request.
pub(crate) const INSTAGRAM_TAG_POINTER: &str = "/channelOptions/instagram/messageTag";

/// The tags Instagram accepts: only `HUMAN_AGENT` (Meta's Instagram send-message page). Every
/// other tag of [`TAGS`] is refused on Instagram, with its reason.
pub static INSTAGRAM_TAGS: &[&str] = &["HUMAN_AGENT"];

/// Checks a tag against Instagram's policy: `Ok` with its entry for `HUMAN_AGENT`; a tag
/// Messenger accepts but Instagram does not is `tag.not_for_channel`; a retired tag is
/// `tag.retired` and an unknown one `tag.unknown`, as on Messenger. The pointer is
/// `/channelOptions/instagram/messageTag`.
///
/// ```
/// use messenger_validate::{check_instagram_tag, ViolationCode};
/// assert!(check_instagram_tag("HUMAN_AGENT").is_ok());
/// let v = check_instagram_tag("CUSTOMER_FEEDBACK").unwrap_err();
/// assert_eq!(v.code, ViolationCode::TagNotForChannel);
/// assert_eq!(v.pointer, "/channelOptions/instagram/messageTag");
/// assert_eq!(check_instagram_tag("ACCOUNT_UPDATE").unwrap_err().code, ViolationCode::TagRetired);
/// assert_eq!(check_instagram_tag("SOMETHING").unwrap_err().code, ViolationCode::TagUnknown);
/// ```
pub fn check_instagram_tag(tag: &str) -> Result<&'static TagInfo, Violation> {
    check_instagram_tag_at(tag, INSTAGRAM_TAG_POINTER)
}

pub(crate) fn check_instagram_tag_at(
    tag: &str,
    pointer: &str,
) -> Result<&'static TagInfo, Violation> {
    let accepted = INSTAGRAM_TAGS.join(", ");
    match check_tag_at(tag, pointer) {
        Ok(info) if INSTAGRAM_TAGS.contains(&info.name) => Ok(info),
        Ok(info) => Err(Violation {
            code: ViolationCode::TagNotForChannel,
            pointer: pointer.to_owned(),
            message: format!(
                "message tag {} is Messenger's only; Instagram accepts {accepted} (a person's \
                 reply up to 7 days after the user's last message)",
                info.name
            ),
            value: Some(truncate(tag)),
        }),
        Err(mut v) if v.code == ViolationCode::TagUnknown => {
            let hint = match INSTAGRAM_TAGS.iter().find(|t| t.eq_ignore_ascii_case(tag)) {
                Some(t) => format!(" (tags are upper case: {t})"),
                None => String::new(),
            };
            v.message = format!("unknown message tag{hint}; Instagram accepts {accepted}");
            Err(v)
        }
        Err(v) => Err(v),
    }
}

/// A `messageTag` with `messagingType` RESPONSE or UPDATE (`kind`): the tag needs MESSAGE_TAG.
/// `pointer` is the channel's `messagingType`.
pub(crate) fn tag_needs_message_tag_type(
    report: &mut crate::report::Report,
    kind: messenger_model::graph::MessagingType,
    pointer: &str,
) {
    report.push(
        crate::ViolationCode::TagRequiresMessageTag,
        pointer,
        format!(
            "a messageTag needs messagingType MESSAGE_TAG, not {}: set MESSAGE_TAG, or drop the \
             tag",
            kind.as_str()
        ),
        Some(kind.as_str()),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_has_unique_upper_case_names() {
        let mut seen = std::collections::HashSet::new();
        for t in TAGS {
            assert!(seen.insert(t.name), "duplicate {}", t.name);
            assert!(t.name.bytes().all(|b| b.is_ascii_uppercase() || b == b'_'));
            assert!(!t.replacement.is_empty());
            if let TagStatus::Retired { since } = t.status {
                assert!(since.len() == 4 || since.len() == 10, "{since}");
                assert!(t.max_days_after_inbound.is_none());
            }
        }
        assert_eq!(TAGS.len(), 21);
    }

    #[test]
    fn retired_tags_name_the_date_and_the_replacement() {
        let v = check_tag("NON_PROMOTIONAL_SUBSCRIPTION").unwrap_err();
        assert_eq!(v.code, ViolationCode::TagRetired);
        assert_eq!(v.pointer, "/channelOptions/fbMessenger/messageTag");
        assert!(v.message.contains("on 2020-03-04"), "{}", v.message);
        assert!(v.message.contains("HUMAN_AGENT"));
        assert!(v.message.contains("SMS"));
        let v = check_tag("ACCOUNT_UPDATE").unwrap_err();
        assert!(v.message.contains("in 2026"), "{}", v.message);
        for name in ["POST_PURCHASE_UPDATE", "CONFIRMED_EVENT_UPDATE"] {
            assert_eq!(check_tag(name).unwrap_err().code, ViolationCode::TagRetired);
        }
    }

    #[test]
    fn active_tags_pass_and_carry_their_window() {
        let h = check_tag("HUMAN_AGENT").unwrap();
        assert_eq!(h.max_age_ms(), Some(7 * DAY_MS));
        assert!(check_tag("CUSTOMER_FEEDBACK").is_ok());
        assert_eq!(active().count(), 2);
    }

    #[test]
    fn instagram_takes_human_agent_and_refuses_every_other_tag_with_its_reason() {
        assert_eq!(
            check_instagram_tag("HUMAN_AGENT").unwrap().name,
            "HUMAN_AGENT"
        );
        for t in TAGS.iter().filter(|t| t.name != "HUMAN_AGENT") {
            let v = check_instagram_tag(t.name).unwrap_err();
            assert_eq!(v.pointer, INSTAGRAM_TAG_POINTER);
            let want = if t.is_active() {
                ViolationCode::TagNotForChannel
            } else {
                ViolationCode::TagRetired
            };
            assert_eq!(v.code, want, "{}", t.name);
            assert!(v.message.contains("HUMAN_AGENT"), "{}", v.message);
        }
        let v = check_instagram_tag("human_agent").unwrap_err();
        assert_eq!(v.code, ViolationCode::TagUnknown);
        assert!(
            v.message.contains("Instagram accepts HUMAN_AGENT"),
            "{}",
            v.message
        );
        assert!(!v.message.contains("CUSTOMER_FEEDBACK"), "{}", v.message);
    }

    #[test]
    fn unknown_tags_list_the_accepted_ones() {
        let v = check_tag("human_agent").unwrap_err();
        assert_eq!(v.code, ViolationCode::TagUnknown);
        assert!(
            v.message.contains("upper case: HUMAN_AGENT"),
            "{}",
            v.message
        );
        let v = check_tag("").unwrap_err();
        assert_eq!(v.code, ViolationCode::TagUnknown);
        assert!(v.message.contains("HUMAN_AGENT, CUSTOMER_FEEDBACK"));
    }
}
