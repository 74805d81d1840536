//! A message's rule trace: each rule (channel) considered, what happened to it, and why, as a
//! stable code ([`RuleCause`]) and in words rendered from it.

use serde::{Deserialize, Serialize};

use crate::{Channel, Timestamp};

/// What happened to one rule (channel) of a send.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RuleOutcome {
    /// The channel could not be used (no address, policy forbids it now).
    Skipped,
    /// The channel refused the message, or could not take it now.
    Failed,
    /// The message went out on this channel.
    Used,
}

/// Why a rule was skipped, failed, handed the message over or was used: the machine-readable
/// side of a [`RuleTraceEntry`], serialised as its `cause` (`"window_closed"`).
///
/// Decisions read this, never the entry's `reason` (whose words may change). What each cause
/// leads to (the next rule, the same rule later, the end) is the facade's to decide.
///
/// ```
/// use messenger_model::RuleCause;
/// assert_eq!(RuleCause::WindowClosed.code(), "window_closed");
/// assert_eq!(
///     serde_json::to_string(&RuleCause::DeliveryDeadlineMissed).unwrap(),
///     r#""delivery_deadline_missed""#
/// );
/// // A code this version does not know (written by a newer one) reads as `unrecorded`.
/// let unknown: RuleCause = serde_json::from_str(r#""from_the_future""#).unwrap();
/// assert_eq!(unknown, RuleCause::Unrecorded);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RuleCause {
    /// The recipient has no address on the channel (no Messenger ID, no phone number).
    NoAddress,
    /// Messenger's 24-hour messaging window is closed, or the message tag's time has passed.
    WindowClosed,
    /// Another policy check of the request forbids the channel now.
    NotAllowed,
    /// The space has no provider for the channel (no SMS provider).
    NotConfigured,
    /// The message has nothing to send on the channel.
    NoContent,
    /// The channel refused the message because of the recipient or the request (an unavailable
    /// user, an invalid parameter, a provider's refusal).
    RecipientError,
    /// Messenger has been failing for the page for longer than the space's
    /// `fallback_on_outage_secs`.
    Outage,
    /// The channel's own trouble (throttled, its token, an outage not yet that long, a
    /// provider's passing error): the same rule is tried again later.
    ChannelTrouble,
    /// Messenger sent the message, but no delivery receipt came within its `deliveryTimeout`.
    DeliveryDeadlineMissed,
    /// An earlier attempt was interrupted; Meta's message echoes are waited for before sending
    /// again.
    EchoWait,
    /// The message went out on the channel.
    Sent,
    /// Meta's message echo showed that an interrupted attempt's send went out.
    EchoConfirmed,
    /// Not known: the entry was stored before causes were kept (only its `reason` says why), or
    /// by a newer version with a cause this one does not know.
    #[default]
    #[serde(other)]
    Unrecorded,
}

impl RuleCause {
    /// Every cause.
    pub const ALL: [RuleCause; 13] = [
        Self::NoAddress,
        Self::WindowClosed,
        Self::NotAllowed,
        Self::NotConfigured,
        Self::NoContent,
        Self::RecipientError,
        Self::Outage,
        Self::ChannelTrouble,
        Self::DeliveryDeadlineMissed,
        Self::EchoWait,
        Self::Sent,
        Self::EchoConfirmed,
        Self::Unrecorded,
    ];

    /// The stable code, as serialised (`"no_address"`).
    pub const fn code(self) -> &'static str {
        match self {
            Self::NoAddress => "no_address",
            Self::WindowClosed => "window_closed",
            Self::NotAllowed => "not_allowed",
            Self::NotConfigured => "not_configured",
            Self::NoContent => "no_content",
            Self::RecipientError => "recipient_error",
            Self::Outage => "outage",
            Self::ChannelTrouble => "channel_trouble",
            Self::DeliveryDeadlineMissed => "delivery_deadline_missed",
            Self::EchoWait => "echo_wait",
            Self::Sent => "sent",
            Self::EchoConfirmed => "echo_confirmed",
            Self::Unrecorded => "unrecorded",
        }
    }

    /// The cause in words: the start of every reason rendered from it.
    pub const fn summary(self) -> &'static str {
        match self {
            Self::NoAddress => "no address on the channel",
            Self::WindowClosed => "outside the messaging window",
            Self::NotAllowed => "the request may not use the channel now",
            Self::NotConfigured => "the channel is not set up for the space",
            Self::NoContent => "nothing to send on the channel",
            Self::RecipientError => "refused for the recipient or the request",
            Self::Outage => {
                "Messenger has been failing for the page for longer than fallback_on_outage_secs"
            }
            Self::ChannelTrouble => "the channel's own trouble; the same rule is tried later",
            Self::DeliveryDeadlineMissed => "no delivery receipt within the deliveryTimeout",
            Self::EchoWait => {
                "the previous attempt was interrupted; waiting for Meta's message echoes before \
                 sending again"
            }
            Self::Sent => "sent",
            Self::EchoConfirmed => "sent, confirmed by Meta's message echo",
            Self::Unrecorded => "cause not recorded",
        }
    }

    /// The human reason for this cause: its [`summary`](Self::summary), then `detail` (what the
    /// channel said, the numbers) when there is one.
    ///
    /// ```
    /// use messenger_model::RuleCause;
    /// assert_eq!(
    ///     RuleCause::DeliveryDeadlineMissed.reason("300 s"),
    ///     "no delivery receipt within the deliveryTimeout: 300 s"
    /// );
    /// assert_eq!(RuleCause::Sent.reason(""), "sent");
    /// ```
    pub fn reason(self, detail: &str) -> String {
        if detail.is_empty() {
            self.summary().to_owned()
        } else {
            format!("{}: {detail}", self.summary())
        }
    }
}

impl std::fmt::Display for RuleCause {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}

/// One step of a message's rule trace.
///
/// Entries stored before causes were kept have no `cause`: they load with
/// [`RuleCause::Unrecorded`] and their `reason` as it was written.
///
/// ```
/// use messenger_model::{Channel, RuleCause, RuleOutcome, RuleTraceEntry, Timestamp};
/// let at = Timestamp::from_millis(0);
/// let entry = RuleTraceEntry::new(Channel::Sms, RuleOutcome::Skipped, RuleCause::NoAddress, "no phone number", at);
/// assert_eq!(entry.reason, "no address on the channel: no phone number");
/// let json = serde_json::to_value(&entry).unwrap();
/// assert_eq!(json["cause"], "no_address");
///
/// let old = r#"{"channel":"sms","outcome":"used","reason":"sent (1 send)","at":"1970-01-01T00:00:00Z"}"#;
/// let old: RuleTraceEntry = serde_json::from_str(old).unwrap();
/// assert_eq!(old.cause, RuleCause::Unrecorded);
/// assert_eq!(old.reason, "sent (1 send)");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RuleTraceEntry {
    /// The channel considered.
    pub channel: Channel,
    /// What happened.
    pub outcome: RuleOutcome,
    /// Why, as a stable code: what decisions read.
    #[serde(default)]
    pub cause: RuleCause,
    /// Why, in words a developer can act on (rendered from `cause` by [`RuleCause::reason`]).
    pub reason: String,
    /// When.
    pub at: Timestamp,
}

impl RuleTraceEntry {
    /// An entry for `channel` whose reason is rendered from `cause` and `detail`
    /// ([`RuleCause::reason`]).
    pub fn new(
        channel: Channel,
        outcome: RuleOutcome,
        cause: RuleCause,
        detail: &str,
        at: Timestamp,
    ) -> Self {
        Self {
            channel,
            outcome,
            cause,
            reason: cause.reason(detail),
            at,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_round_trips_and_is_distinct() {
        let mut seen = std::collections::BTreeSet::new();
        for cause in RuleCause::ALL {
            let json = serde_json::to_string(&cause).unwrap();
            assert_eq!(json, format!("\"{}\"", cause.code()));
            assert_eq!(serde_json::from_str::<RuleCause>(&json).unwrap(), cause);
            assert!(seen.insert(cause.code()), "{} twice", cause.code());
        }
    }

    #[test]
    fn an_entry_serialises_its_cause_between_outcome_and_reason() {
        let entry = RuleTraceEntry::new(
            Channel::FbMessenger,
            RuleOutcome::Failed,
            RuleCause::DeliveryDeadlineMissed,
            "300 s",
            Timestamp::from_millis(1_000),
        );
        assert_eq!(
            serde_json::to_string(&entry).unwrap(),
            r#"{"channel":"fbMessenger","outcome":"failed","cause":"delivery_deadline_missed","reason":"no delivery receipt within the deliveryTimeout: 300 s","at":"1970-01-01T00:00:01.000Z"}"#
        );
    }
}
