//! The delivery deadline rule (`channelOptions.{fbMessenger,instagram}.deliveryTimeout`): a
//! time in range, and a rule after the channel to send the message by when it passes.

use messenger_model::{Channel, SendRequest};

use crate::limits::{DELIVERY_TIMEOUT_MAX_SECS, DELIVERY_TIMEOUT_MIN_SECS};
use crate::report::Report;
use crate::ViolationCode;

/// `deliveryTimeout` of `channel`'s options: within range, and only with a rule after
/// `channel` to use when it passes.
pub(crate) fn check_delivery_timeout(
    report: &mut Report,
    req: &SendRequest,
    channel: Channel,
    secs: u64,
) {
    let pointer = format!("/channelOptions/{}/deliveryTimeout", channel.as_str());
    if !(DELIVERY_TIMEOUT_MIN_SECS..=DELIVERY_TIMEOUT_MAX_SECS).contains(&secs) {
        report.push(
            ViolationCode::DeliveryTimeoutRange,
            pointer.clone(),
            format!(
                "deliveryTimeout is {secs} s; it must be from {DELIVERY_TIMEOUT_MIN_SECS} to \
                 {DELIVERY_TIMEOUT_MAX_SECS} seconds (7 days)"
            ),
            Some(&secs.to_string()),
        );
    }
    let later_rule = req
        .rules
        .iter()
        .position(|c| *c == channel)
        .is_some_and(|i| i + 1 < req.rules.len());
    if !later_rule && !req.rules.is_empty() {
        let (name, what) = match channel {
            Channel::Instagram => ("instagram", "Instagram has not reported it read"),
            _ => ("fbMessenger", "Messenger has not delivered it"),
        };
        report.push(
            ViolationCode::DeliveryTimeoutNoNextRule,
            pointer,
            format!(
                "deliveryTimeout needs a rule after {name} to send the message when {what} in \
                 time, e.g. rules [\"{name}\", \"sms\"]"
            ),
            Some(&secs.to_string()),
        );
    }
}
