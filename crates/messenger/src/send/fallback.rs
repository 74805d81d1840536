//! Which rule next, and why: how a rule's turn ended ([`Turn`], with its [`RuleCause`]), what
//! follows from that cause ([`after`]), where an attempt starts ([`rules_to_try`]) and the one
//! outage rule ([`outage_hands_over`]).
//!
//! Every decision here reads the typed cause, never a trace entry's words: rewording a reason
//! cannot change which rule a message goes to (docs/decisions/0010 and 0012 say which troubles
//! are the recipient's and when Messenger's missed deadline hands a message on).

use std::time::Duration;

use messenger_model::{Channel, MessageError, RuleCause, RuleOutcome, RuleTraceEntry, Timestamp};
use messenger_validate::ViolationCode;

/// What follows a rule's turn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Then {
    /// The message went out: the attempt ends.
    Done,
    /// The same rule, later: the message is given back to be tried again.
    Wait,
    /// The next rule of the message (the message fails when none is left).
    NextRule,
}

/// What follows a turn that ended for `cause`.
pub(crate) const fn after(cause: RuleCause) -> Then {
    match cause {
        RuleCause::Sent | RuleCause::EchoConfirmed => Then::Done,
        RuleCause::ChannelTrouble | RuleCause::EchoWait => Then::Wait,
        RuleCause::NoAddress
        | RuleCause::WindowClosed
        | RuleCause::NotAllowed
        | RuleCause::NotConfigured
        | RuleCause::NoContent
        | RuleCause::RecipientError
        | RuleCause::Outage
        | RuleCause::DeliveryDeadlineMissed
        | RuleCause::Unrecorded => Then::NextRule,
    }
}

/// The rules an attempt tries, in order: all of `rules`, or only those after the channel that
/// missed the message's delivery deadline, once the trace says one did (Messenger's delivery
/// or Instagram's read, decision 0012).
pub(crate) fn rules_to_try<'a>(rules: &'a [Channel], trace: &[RuleTraceEntry]) -> &'a [Channel] {
    let missed = trace
        .iter()
        .rev()
        .find(|e| e.cause == RuleCause::DeliveryDeadlineMissed)
        .and_then(|e| rules.iter().position(|c| *c == e.channel));
    match missed {
        Some(position) => &rules[position + 1..],
        None => rules,
    }
}

/// The outage rule: Messenger's trouble on a page (throttled, its token, Meta down) is the
/// page's, not the message's, so the message waits for the page; unless the space sets
/// `fallback_on_outage` and the page has been failing for at least that long, when the message
/// goes to its next rule. Returns the setting when the message goes on.
pub(crate) fn outage_hands_over(
    fallback_on_outage: Option<Duration>,
    failing_for: Option<Duration>,
) -> Option<Duration> {
    let (after, failing) = fallback_on_outage.zip(failing_for)?;
    (failing >= after).then_some(after)
}

/// A Messenger turn that ended in the page's trouble ([`RuleCause::ChannelTrouble`]), after the
/// outage rule ([`outage_hands_over`]): the same turn (the message waits for the page) or an
/// [`RuleCause::Outage`] that hands the message to its next rule. `sent` says whether the turn
/// tried Graph. Any other turn is returned as it is.
pub(crate) fn after_page_trouble(
    turn: Turn,
    fallback_on_outage: Option<Duration>,
    failing_for: Option<Duration>,
    sent: bool,
) -> Turn {
    if turn.cause != RuleCause::ChannelTrouble {
        return turn;
    }
    match (
        outage_hands_over(fallback_on_outage, failing_for),
        turn.error,
    ) {
        (Some(after), Some(error)) => Turn::outage(after, error, sent),
        (_, error) => Turn { error, ..turn },
    }
}

/// The cause of a rule skipped because [`check_rule`](crate::Messenger::check_rule) found a
/// violation with `code`.
pub(crate) fn skip_cause(code: ViolationCode) -> RuleCause {
    match code {
        ViolationCode::ToUnaddressable => RuleCause::NoAddress,
        ViolationCode::WindowClosed | ViolationCode::WindowTagExpired => RuleCause::WindowClosed,
        ViolationCode::RulesUnknown => RuleCause::NotConfigured,
        ViolationCode::ContentMissingForChannel => RuleCause::NoContent,
        _ => RuleCause::NotAllowed,
    }
}

/// How one rule's turn ended: its cause (which decides what follows, [`after`]), the trace's
/// outcome and detail, and what the ending carries.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Turn {
    /// Why it ended so.
    pub cause: RuleCause,
    /// The trace entry's outcome.
    pub outcome: RuleOutcome,
    /// What the channel said, the numbers: rendered after the cause's words in the trace.
    pub detail: String,
    /// The error it ended with: the last one is the message's when no rule is left, and a
    /// retried message keeps it.
    pub error: Option<MessageError>,
    /// When to try the same rule again ([`Then::Wait`]).
    pub retry_at: Option<Timestamp>,
    /// The PSID a Messenger send went to (the IGSID on Instagram).
    pub psid: Option<String>,
    /// The Instagram account an Instagram send went out from.
    pub account: Option<String>,
    /// When the message was sent: the start of its last request (Meta may post a receipt
    /// covering the send before its answer reaches us, and a watermark is never earlier than
    /// the request).
    pub sent_at: Option<Timestamp>,
}

impl Turn {
    fn new(cause: RuleCause, outcome: RuleOutcome, detail: String) -> Self {
        Self {
            cause,
            outcome,
            detail,
            error: None,
            retry_at: None,
            psid: None,
            account: None,
            sent_at: None,
        }
    }

    /// The message went out in `sends` sends (to `psid` on Messenger; `provider_id` names an
    /// SMS provider's message, kept for reconciliation), the last request starting `at`.
    pub(crate) fn sent(
        sends: usize,
        psid: Option<String>,
        provider_id: Option<String>,
        at: Timestamp,
    ) -> Self {
        let sends = sends.max(1);
        let plural = if sends > 1 { "s" } else { "" };
        let by = provider_id
            .map(|id| format!("; provider message id {id}"))
            .unwrap_or_default();
        Self {
            psid,
            sent_at: Some(at),
            ..Self::new(
                RuleCause::Sent,
                RuleOutcome::Used,
                format!("{sends} send{plural}{by}"),
            )
        }
    }

    /// The rule could not be used, for `cause`.
    pub(crate) fn skipped(cause: RuleCause, detail: impl Into<String>) -> Self {
        Self::new(cause, RuleOutcome::Skipped, detail.into())
    }

    /// The turn was Instagram account `account`'s.
    pub(crate) fn by_account(mut self, account: &str) -> Self {
        self.account = Some(account.to_owned());
        self
    }

    /// The channel refused the message, for `cause` (the recipient, the request, the space's
    /// setup).
    pub(crate) fn refused(cause: RuleCause, error: MessageError) -> Self {
        Self::new(
            cause,
            RuleOutcome::Failed,
            format!("{}: {}", error.code, error.message),
        )
        .with_error(error)
    }

    /// The channel's own trouble: the same rule again at `at`.
    pub(crate) fn trouble(at: Timestamp, error: MessageError) -> Self {
        Self {
            retry_at: Some(at),
            ..Self::new(
                RuleCause::ChannelTrouble,
                RuleOutcome::Failed,
                format!("{} (will retry at {at})", error.code),
            )
            .with_error(error)
        }
    }

    /// The page's trouble has lasted `after` or more ([`outage_hands_over`]): the next rule.
    /// `sent` says whether this turn tried Graph (then it failed, and its error is kept) or the
    /// page's circuit kept it from trying (skipped).
    pub(crate) fn outage(after: Duration, error: MessageError, sent: bool) -> Self {
        let detail = format!(
            "for over {} s ({}: {})",
            after.as_secs(),
            error.code,
            error.message
        );
        if sent {
            Self::new(RuleCause::Outage, RuleOutcome::Failed, detail).with_error(error)
        } else {
            Self::new(RuleCause::Outage, RuleOutcome::Skipped, detail)
        }
    }

    fn with_error(mut self, error: MessageError) -> Self {
        self.error = Some(error);
        self
    }

    /// The turn's rule-trace entry for `channel`.
    pub(crate) fn entry(&self, channel: Channel, at: Timestamp) -> RuleTraceEntry {
        RuleTraceEntry::new(channel, self.outcome, self.cause, &self.detail, at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Channel::{FbMessenger as Fb, Sms};

    /// The rule orders a message can have: both of `[fbMessenger, sms]`'s permutations and each
    /// single rule.
    const ORDERS: [&[Channel]; 4] = [&[Fb, Sms], &[Sms, Fb], &[Fb], &[Sms]];

    /// An attempt over `rules` (after `trace`) whose first turn ends for `first` and every later
    /// one is sent: the turns as `channel:cause`, then `sent`, `wait` or `failed`.
    fn walk(rules: &[Channel], trace: &[RuleTraceEntry], first: RuleCause) -> String {
        let mut steps = Vec::new();
        let mut cause = first;
        for channel in rules_to_try(rules, trace) {
            steps.push(format!("{}:{}", channel.as_str(), cause.code()));
            match after(cause) {
                Then::Done => return format!("{} sent", steps.join(" ")),
                Then::Wait => return format!("{} wait", steps.join(" ")),
                Then::NextRule => cause = RuleCause::Sent,
            }
        }
        steps.push("failed".to_owned());
        steps.join(" ")
    }

    /// Every cause with every rule order: where the message goes next. One row per cause, one
    /// column per order of [`ORDERS`].
    #[test]
    fn every_cause_with_every_rule_order() {
        let table: [(RuleCause, [&str; 4]); 13] = [
            (
                RuleCause::NoAddress,
                [
                    "fbMessenger:no_address sms:sent sent",
                    "sms:no_address fbMessenger:sent sent",
                    "fbMessenger:no_address failed",
                    "sms:no_address failed",
                ],
            ),
            (
                RuleCause::WindowClosed,
                [
                    "fbMessenger:window_closed sms:sent sent",
                    "sms:window_closed fbMessenger:sent sent",
                    "fbMessenger:window_closed failed",
                    "sms:window_closed failed",
                ],
            ),
            (
                RuleCause::NotAllowed,
                [
                    "fbMessenger:not_allowed sms:sent sent",
                    "sms:not_allowed fbMessenger:sent sent",
                    "fbMessenger:not_allowed failed",
                    "sms:not_allowed failed",
                ],
            ),
            (
                RuleCause::NotConfigured,
                [
                    "fbMessenger:not_configured sms:sent sent",
                    "sms:not_configured fbMessenger:sent sent",
                    "fbMessenger:not_configured failed",
                    "sms:not_configured failed",
                ],
            ),
            (
                RuleCause::NoContent,
                [
                    "fbMessenger:no_content sms:sent sent",
                    "sms:no_content fbMessenger:sent sent",
                    "fbMessenger:no_content failed",
                    "sms:no_content failed",
                ],
            ),
            (
                RuleCause::RecipientError,
                [
                    "fbMessenger:recipient_error sms:sent sent",
                    "sms:recipient_error fbMessenger:sent sent",
                    "fbMessenger:recipient_error failed",
                    "sms:recipient_error failed",
                ],
            ),
            (
                RuleCause::Outage,
                [
                    "fbMessenger:outage sms:sent sent",
                    "sms:outage fbMessenger:sent sent",
                    "fbMessenger:outage failed",
                    "sms:outage failed",
                ],
            ),
            (
                RuleCause::DeliveryDeadlineMissed,
                [
                    "fbMessenger:delivery_deadline_missed sms:sent sent",
                    "sms:delivery_deadline_missed fbMessenger:sent sent",
                    "fbMessenger:delivery_deadline_missed failed",
                    "sms:delivery_deadline_missed failed",
                ],
            ),
            (
                RuleCause::Unrecorded,
                [
                    "fbMessenger:unrecorded sms:sent sent",
                    "sms:unrecorded fbMessenger:sent sent",
                    "fbMessenger:unrecorded failed",
                    "sms:unrecorded failed",
                ],
            ),
            (
                RuleCause::ChannelTrouble,
                [
                    "fbMessenger:channel_trouble wait",
                    "sms:channel_trouble wait",
                    "fbMessenger:channel_trouble wait",
                    "sms:channel_trouble wait",
                ],
            ),
            (
                RuleCause::EchoWait,
                [
                    "fbMessenger:echo_wait wait",
                    "sms:echo_wait wait",
                    "fbMessenger:echo_wait wait",
                    "sms:echo_wait wait",
                ],
            ),
            (
                RuleCause::Sent,
                [
                    "fbMessenger:sent sent",
                    "sms:sent sent",
                    "fbMessenger:sent sent",
                    "sms:sent sent",
                ],
            ),
            (
                RuleCause::EchoConfirmed,
                [
                    "fbMessenger:echo_confirmed sent",
                    "sms:echo_confirmed sent",
                    "fbMessenger:echo_confirmed sent",
                    "sms:echo_confirmed sent",
                ],
            ),
        ];
        let covered: Vec<RuleCause> = table.iter().map(|(cause, _)| *cause).collect();
        for cause in RuleCause::ALL {
            assert!(covered.contains(&cause), "{cause} has no row");
        }
        for (cause, expected) in table {
            for (rules, want) in ORDERS.into_iter().zip(expected) {
                assert_eq!(walk(rules, &[], cause), want, "{cause} with {rules:?}");
            }
        }
    }

    fn entry(channel: Channel, cause: RuleCause, reason: &str) -> RuleTraceEntry {
        RuleTraceEntry {
            reason: reason.to_owned(),
            ..RuleTraceEntry::new(
                channel,
                RuleOutcome::Failed,
                cause,
                "",
                Timestamp::from_millis(0),
            )
        }
    }

    /// After a missed delivery deadline an attempt starts after the channel that missed it
    /// (`fbMessenger` here), whatever the entry's words; the same words without the cause (an
    /// entry stored before causes were kept), or a miss by a channel not among the rules,
    /// change nothing.
    #[test]
    fn a_missed_deadline_starts_after_messenger_by_its_cause_alone() {
        let missed = [entry(Fb, RuleCause::DeliveryDeadlineMissed, "reworded")];
        let words_only = [entry(
            Fb,
            RuleCause::Unrecorded,
            "no delivery receipt within 300 s",
        )];
        let on_sms = [entry(
            Channel::Instagram,
            RuleCause::DeliveryDeadlineMissed,
            "",
        )];
        let expected: [(&[RuleTraceEntry], [&str; 4]); 3] = [
            (
                &missed,
                ["sms:sent sent", "failed", "failed", "sms:sent sent"],
            ),
            (
                &words_only,
                [
                    "fbMessenger:sent sent",
                    "sms:sent sent",
                    "fbMessenger:sent sent",
                    "sms:sent sent",
                ],
            ),
            (
                &on_sms,
                [
                    "fbMessenger:sent sent",
                    "sms:sent sent",
                    "fbMessenger:sent sent",
                    "sms:sent sent",
                ],
            ),
        ];
        for (trace, want) in expected {
            for (rules, want) in ORDERS.into_iter().zip(want) {
                assert_eq!(
                    walk(rules, trace, RuleCause::Sent),
                    want,
                    "{trace:?} with {rules:?}"
                );
            }
        }
    }

    /// Instagram's missed read deadline starts the next attempt after `instagram`, wherever it
    /// stands in the rules.
    #[test]
    fn a_missed_instagram_deadline_starts_after_instagram() {
        let missed = [entry(
            Channel::Instagram,
            RuleCause::DeliveryDeadlineMissed,
            "",
        )];
        let ig = Channel::Instagram;
        assert_eq!(rules_to_try(&[ig, Sms], &missed), &[Sms]);
        assert_eq!(rules_to_try(&[Fb, ig, Sms], &missed), &[Sms]);
        assert_eq!(rules_to_try(&[ig, Fb, Sms], &missed), &[Fb, Sms]);
        assert!(rules_to_try(&[ig], &missed).is_empty());
    }

    #[test]
    fn the_outage_rule_hands_over_once_the_page_has_failed_long_enough() {
        let secs = Duration::from_secs;
        let cases = [
            (None, None, None),
            (None, Some(secs(3_600)), None),
            (Some(secs(300)), None, None),
            (Some(secs(300)), Some(secs(299)), None),
            (Some(secs(300)), Some(secs(300)), Some(secs(300))),
            (Some(secs(300)), Some(secs(301)), Some(secs(300))),
            (Some(secs(0)), Some(secs(0)), Some(secs(0))),
        ];
        for (setting, failing, want) in cases {
            assert_eq!(
                outage_hands_over(setting, failing),
                want,
                "{setting:?} {failing:?}"
            );
        }
    }

    #[test]
    fn page_trouble_becomes_an_outage_only_past_the_setting() {
        let secs = Duration::from_secs;
        let error = MessageError {
            code: "page.paused".into(),
            message: "the circuit is open".into(),
        };
        let trouble = || Turn::trouble(Timestamp::from_millis(5_000), error.clone());
        let waits = after_page_trouble(trouble(), Some(secs(300)), Some(secs(10)), false);
        assert_eq!(waits, trouble());
        let skipped = after_page_trouble(trouble(), Some(secs(300)), Some(secs(300)), false);
        assert_eq!(
            (skipped.cause, skipped.outcome, skipped.error),
            (RuleCause::Outage, RuleOutcome::Skipped, None)
        );
        let failed = after_page_trouble(trouble(), Some(secs(300)), Some(secs(301)), true);
        assert_eq!(
            (failed.cause, failed.outcome, failed.error),
            (RuleCause::Outage, RuleOutcome::Failed, Some(error.clone()))
        );
        let refused = Turn::refused(RuleCause::RecipientError, error);
        assert_eq!(
            after_page_trouble(refused.clone(), Some(secs(0)), Some(secs(1)), true),
            refused
        );
    }

    #[test]
    fn violations_map_to_causes() {
        let cases = [
            (ViolationCode::ToUnaddressable, RuleCause::NoAddress),
            (ViolationCode::WindowClosed, RuleCause::WindowClosed),
            (ViolationCode::WindowTagExpired, RuleCause::WindowClosed),
            (ViolationCode::RulesUnknown, RuleCause::NotConfigured),
            (
                ViolationCode::ContentMissingForChannel,
                RuleCause::NoContent,
            ),
            (ViolationCode::TagMissing, RuleCause::NotAllowed),
        ];
        for (code, cause) in cases {
            assert_eq!(skip_cause(code), cause, "{code:?}");
        }
    }

    #[test]
    fn turns_render_their_reasons_from_the_cause() {
        let at = Timestamp::from_millis(0);
        let error = MessageError {
            code: "graph.transient".into(),
            message: "Meta is down".into(),
        };
        let cases = [
            (
                Turn::sent(2, None, None, at),
                RuleOutcome::Used,
                "sent: 2 sends",
            ),
            (
                Turn::sent(1, None, Some("SM1".into()), at),
                RuleOutcome::Used,
                "sent: 1 send; provider message id SM1",
            ),
            (
                Turn::outage(Duration::from_secs(300), error.clone(), false),
                RuleOutcome::Skipped,
                "Messenger has been failing for the page for longer than fallback_on_outage_secs: \
                 for over 300 s (graph.transient: Meta is down)",
            ),
            (
                Turn::refused(RuleCause::RecipientError, error.clone()),
                RuleOutcome::Failed,
                "refused for the recipient or the request: graph.transient: Meta is down",
            ),
        ];
        for (turn, outcome, reason) in cases {
            let entry = turn.entry(Fb, at);
            assert_eq!((entry.outcome, entry.reason.as_str()), (outcome, reason));
            assert_eq!(entry.cause, turn.cause);
        }
        assert_eq!(
            Turn::outage(Duration::from_secs(1), error.clone(), true).error,
            Some(error)
        );
    }
}
