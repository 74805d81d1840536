//! Channels an API space has no account for: Instagram Direct in a space without
//! `[[spaces.instagram]]`. A send that names one is refused (422) before anything is stored,
//! naming each field that asks for it, rather than accepted and failed later (decision 0026).

use axum::http::StatusCode;
use serde_json::Value;

use super::problem::{Problem, ProblemError};

/// The code of each error: the request asks for a channel the space has no account for.
const CODE: &str = "channel.not_connected";

/// What is said at each field.
const MESSAGE: &str = "this API space has no Instagram account connected (the gateway's \
                       [[spaces.instagram]]); use fbMessenger or sms";

/// Which channels a space has an account for.
#[derive(Debug, Clone, Copy)]
pub(super) struct Connected {
    instagram: bool,
}

impl Connected {
    /// The channels of space `space` as configured now (an unknown space has none; its
    /// requests are refused by their key first).
    pub(super) fn of(messenger: &messenger::Messenger, space: &str) -> Self {
        let instagram = messenger
            .space(space)
            .is_ok_and(|s| !s.instagram.is_empty());
        Self { instagram }
    }

    /// The fields of one send request (raw JSON) that ask for a channel the space has no
    /// account for, each as an error whose path starts with `prefix` (`""`, or `/3` for the
    /// fourth request of a batch).
    pub(super) fn unconnected(self, request: &Value, prefix: &str) -> Vec<ProblemError> {
        if self.instagram {
            return Vec::new();
        }
        unconnected(request, prefix)
    }
}

impl Connected {
    /// The fields of a sender action request (raw JSON) that ask for a channel the space has no
    /// account for: `to.instagramId`, `to.commentId`, and `action` when it is Instagram's
    /// `react` or `unreact`.
    pub(super) fn unconnected_action(self, body: &Value) -> Vec<ProblemError> {
        if self.instagram {
            return Vec::new();
        }
        let mut errors = unconnected(body, "");
        if matches!(
            body.get("action").and_then(Value::as_str),
            Some("react" | "unreact")
        ) {
            errors.push(ProblemError::new(
                "/action",
                CODE,
                "react and unreact are Instagram's, and this API space has no Instagram account \
                 connected (the gateway's [[spaces.instagram]])",
            ));
        }
        errors
    }
}

/// The fields of one send request (raw JSON) that ask for Instagram, each as an error whose path
/// starts with `prefix`: every `rules` entry `"instagram"`, `to.instagramId`, `to.commentId`
/// and `to.instagramAccountId`. Requests of any other shape yield nothing here (the validator names what is
/// wrong with them).
fn unconnected(request: &Value, prefix: &str) -> Vec<ProblemError> {
    let mut errors = Vec::new();
    if let Some(Value::Array(rules)) = request.get("rules") {
        for (i, rule) in rules.iter().enumerate() {
            if rule.as_str() == Some("instagram") {
                errors.push(ProblemError::new(
                    format!("{prefix}/rules/{i}"),
                    CODE,
                    MESSAGE,
                ));
            }
        }
    }
    for field in ["instagramId", "commentId", "instagramAccountId"] {
        if request
            .get("to")
            .and_then(|to| to.get(field))
            .is_some_and(|id| !id.is_null())
        {
            errors.push(ProblemError::new(
                format!("{prefix}/to/{field}"),
                CODE,
                MESSAGE,
            ));
        }
    }
    errors
}

/// The 422 for `errors` (none: `Ok`).
pub(super) fn refuse(errors: Vec<ProblemError>) -> Result<(), Problem> {
    if errors.is_empty() {
        return Ok(());
    }
    Err(Problem::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "/problems/channel-not-connected",
        "A channel of the request is not connected",
        format!(
            "{MESSAGE}; nothing was stored (fields: {})",
            errors
                .iter()
                .map(|e| e.path.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    )
    .with_errors(errors))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn paths(v: Value, prefix: &str) -> Vec<String> {
        unconnected(&v, prefix)
            .into_iter()
            .map(|e| e.path)
            .collect()
    }

    #[test]
    fn names_every_field_that_asks_for_instagram() {
        let req = json!({"to": {"instagramId": "I"}, "rules": ["sms", "instagram"]});
        assert_eq!(paths(req, ""), ["/rules/1", "/to/instagramId"]);
        let req = json!({"to": {"profileId": "p"}, "rules": ["instagram"]});
        assert_eq!(paths(req, "/4"), ["/4/rules/0"]);
    }

    #[test]
    fn other_requests_and_shapes_pass() {
        for v in [
            json!({"to": {"fbMessengerId": "1"}, "rules": ["fbMessenger", "sms"]}),
            json!({"to": {"instagramId": null}, "rules": ["sms"]}),
            json!({"to": "x", "rules": "instagram"}),
            json!([1, 2]),
            json!(null),
        ] {
            assert!(unconnected(&v, "").is_empty(), "{v}");
        }
        assert!(refuse(Vec::new()).is_ok());
    }

    #[test]
    fn an_action_asks_for_instagram_by_its_recipient_or_a_reaction() {
        let none = Connected { instagram: false };
        let paths = |v: Value| -> Vec<String> {
            none.unconnected_action(&v)
                .into_iter()
                .map(|e| e.path)
                .collect()
        };
        let v = json!({"to": {"instagramId": "1"}, "action": "react", "messageId": "m"});
        assert_eq!(paths(v), ["/to/instagramId", "/action"]);
        assert_eq!(
            paths(json!({"to": {"profileId": "p"}, "action": "unreact"})),
            ["/action"]
        );
        assert!(paths(json!({"to": {"profileId": "p"}, "action": "typing_on"})).is_empty());
        let v = json!({"to": {"instagramId": "1"}, "action": "react"});
        assert!(Connected { instagram: true }
            .unconnected_action(&v)
            .is_empty());
    }
}
