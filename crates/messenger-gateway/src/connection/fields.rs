//! Which of Messenger's webhook fields a space's features need, and which field each event of
//! Meta's webhook arrives on.

use messenger_model::EventName;

use crate::config::SpaceConfig;

/// Fields every space needs, whatever it forwards: inbound messages, postbacks and opt-ins
/// (profiles are linked from them), receipts (statuses) and echoes (a send confirmed after a
/// crash, decision 0005).
const ALWAYS: &[&str] = &[
    "messages",
    "messaging_postbacks",
    "messaging_optins",
    "message_deliveries",
    "message_reads",
    "message_echoes",
];

/// Fields needed only when the business receives the event they carry.
const BY_EVENT: &[(EventName, &[&str])] = &[
    (EventName::FacebookReferral, &["messaging_referrals"]),
    (EventName::MessageReaction, &["message_reactions"]),
    (EventName::MessageEdited, &["message_edits"]),
    (
        EventName::FacebookHandover,
        &["messaging_handovers", "standby"],
    ),
];

/// The webhook fields `space` needs, in Meta's order, without repeats.
///
/// `response_feedback` is never needed: subscribing to it shows thumbs buttons under every
/// message the app sends, a choice for the business to make in the App Dashboard.
pub fn needed_fields(space: &SpaceConfig) -> Vec<&'static str> {
    let forwards = |name: EventName| {
        space
            .webhook
            .as_ref()
            .is_some_and(|w| w.subscriptions.contains(&name))
    };
    let mut fields: Vec<&'static str> = ALWAYS.to_vec();
    for (name, more) in BY_EVENT {
        if forwards(*name) {
            fields.extend_from_slice(more);
        }
    }
    let order = |f: &&str| {
        messenger_model::graph::MESSENGER_WEBHOOK_FIELDS
            .iter()
            .position(|x| x == f)
            .unwrap_or(usize::MAX)
    };
    fields.sort_by_key(order);
    fields.dedup();
    fields
}

/// The webhook field of one event of an entry's `messaging` array, from the event's keys
/// (`message` with `is_echo`: `message_echoes`).
pub(crate) fn field_of(key: &str, is_echo: bool) -> Option<&'static str> {
    Some(match key {
        "message" if is_echo => "message_echoes",
        "message" => "messages",
        "delivery" => "message_deliveries",
        "read" => "message_reads",
        "postback" => "messaging_postbacks",
        "optin" => "messaging_optins",
        "referral" => "messaging_referrals",
        "reaction" => "message_reactions",
        "message_edit" => "message_edits",
        "pass_thread_control" | "take_thread_control" | "request_thread_control" | "app_roles" => {
            "messaging_handovers"
        }
        "response_feedback" => "response_feedback",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn space(webhook: &str) -> SpaceConfig {
        let toml = format!(
            r#"
[facebook]
app_secret = "0123456789abcdef0123456789abcdef"
verify_token = "a verify token of 16 or more"
token_key = "a key of at least thirty-two bytes, shared"
[[spaces]]
id = "a"
page_id = "1"
page_token = "t"
keys = ["key-a-0123456789abcdef"]
{webhook}
"#
        );
        Config::from_toml_str(&toml, std::iter::empty())
            .unwrap()
            .spaces
            .remove(0)
    }

    #[test]
    fn the_fields_follow_the_events_forwarded() {
        let base = [
            "messages",
            "messaging_postbacks",
            "messaging_optins",
            "message_deliveries",
            "message_reads",
            "message_echoes",
        ];
        assert_eq!(needed_fields(&space("")), base);
        let all = needed_fields(&space(
            "[spaces.webhook]\nurl = \"https://example.com/h\"\nsecret = \"a webhook secret of some length\"",
        ));
        for f in [
            "messaging_referrals",
            "message_reactions",
            "message_edits",
            "messaging_handovers",
            "standby",
        ] {
            assert!(all.contains(&f), "{f} in {all:?}");
        }
        assert!(!all.contains(&"response_feedback"));
        let some = needed_fields(&space(
            "[spaces.webhook]\nurl = \"https://example.com/h\"\nsecret = \"a webhook secret of some length\"\nsubscriptions = [\"message.reaction\"]",
        ));
        assert_eq!(some.len(), base.len() + 1, "{some:?}");
        assert!(some.contains(&"message_reactions"));
        assert_eq!(field_of("message", true), Some("message_echoes"));
        assert_eq!(
            field_of("pass_thread_control", false),
            Some("messaging_handovers")
        );
    }
}
