//! Instagram's webhooks: `{"object":"instagram","entry":[{"id":<account>,"time",...}]}` with the
//! event in `messaging[]` or, in the [`InstagramShape::Changes`] shape, in `changes[]` as
//! `{"field","value"}`; comments always in `changes[]` (field `comments`). Posted and signed by
//! [`crate::webhook`]'s machinery, with the account's secret (the app's for Facebook Login, the
//! Instagram app's for Instagram Login).

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use messenger_model::graph::GraphSendRequest;
use messenger_model::Timestamp;
use serde_json::{json, Value};

use crate::state::SimState;
use crate::webhook::{post_after, post_signed, redeliver};
use crate::SimError;

use super::accounts::Account;
use super::InstagramShape;

/// The webhook field of an event: `messages` (messages and echoes), `messaging_seen` (reads),
/// `comments`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Field {
    Messages,
    Seen,
    Comments,
}

impl Field {
    fn as_str(self) -> &'static str {
        match self {
            Field::Messages => "messages",
            Field::Seen => "messaging_seen",
            Field::Comments => "comments",
        }
    }
}

/// An event between `from` and `to`, now, with `kind: value` (`message`, `read`).
pub(crate) fn event(from: &str, to: &str, kind: &str, value: Value) -> Value {
    let mut event = json!({
        "sender": {"id": from},
        "recipient": {"id": to},
        "timestamp": Timestamp::now().millis(),
    });
    if let Value::Object(map) = &mut event {
        map.insert(kind.to_owned(), value);
    }
    event
}

/// The body of one event for `account_id`, in `shape` (comments always in `changes`).
pub(crate) fn body(account_id: &str, field: Field, value: Value, shape: InstagramShape) -> Bytes {
    let time = Timestamp::now().millis();
    let entry = match (shape, field) {
        (InstagramShape::Messaging, Field::Messages | Field::Seen) => {
            json!({"id": account_id, "time": time, "messaging": [value]})
        }
        _ => json!({
            "id": account_id,
            "time": time,
            "changes": [{"field": field.as_str(), "value": value}],
        }),
    };
    let payload = json!({"object": "instagram", "entry": [entry]});
    Bytes::from(serde_json::to_vec(&payload).unwrap_or_default())
}

/// Posts one event of `account`, signed with its secret; answers the receiver's status.
pub(crate) async fn post(
    state: &SimState,
    account: &Account,
    field: Field,
    value: Value,
    shape: InstagramShape,
) -> Result<u16, SimError> {
    let secret = account.webhook_secret(state.config.app_secret.as_deref());
    post_signed(state, body(&account.id, field, value, shape), secret).await
}

/// A user's message as Instagram posts it: `{mid, text}`.
pub(crate) fn user_message(mid: &str, text: &str) -> Value {
    json!({"mid": mid, "text": text})
}

/// A read of `mid` (`messaging_seen`): `{"mid": ...}`, no watermark.
pub(crate) fn read_of(mid: &str) -> Value {
    json!({"mid": mid})
}

/// A comment on one of the account's posts, as the `comments` field's value.
pub(crate) fn comment(id: &str, igsid: &str, username: &str, text: &str, media_id: &str) -> Value {
    json!({
        "id": id,
        "from": {"id": igsid, "username": username},
        "text": text,
        "media": {"id": media_id, "media_product_type": "FEED"},
    })
}

/// After a send: the echo in the `messages` field (`is_echo`, the send's `metadata`), sender the
/// account, recipient the IGSID; posted again until the receiver answers 2xx.
pub(crate) fn schedule_echo(
    state: &Arc<SimState>,
    account: &Account,
    igsid: &str,
    mid: &str,
    request: &GraphSendRequest,
) {
    if state.config.webhook_url.is_none() {
        return;
    }
    let mut message = json!({"mid": mid, "is_echo": true});
    if let (Value::Object(map), Some(sent)) = (&mut message, &request.message) {
        if let Some(text) = &sent.text {
            map.insert("text".to_owned(), Value::String(text.clone()));
        }
        if let Some(metadata) = &sent.metadata {
            map.insert("metadata".to_owned(), Value::String(metadata.clone()));
        }
        let attachments: Vec<Value> = sent
            .attachment
            .iter()
            .chain(&sent.attachments)
            .filter_map(|a| serde_json::to_value(a).ok())
            .collect();
        if !attachments.is_empty() {
            map.insert("attachments".to_owned(), Value::Array(attachments));
        }
    }
    let value = event(&account.id, igsid, "message", message);
    let body = body(&account.id, Field::Messages, value, state.instagram.shape());
    let secret = account
        .webhook_secret(state.config.app_secret.as_deref())
        .map(str::to_owned);
    redeliver(state.clone(), body, secret);
}

/// After a send: the user reads it `delay` later (`messaging_seen` with the `mid`).
pub(crate) fn schedule_read(
    state: &Arc<SimState>,
    account: &Arc<Account>,
    igsid: &str,
    mid: &str,
    delay: Duration,
) {
    if state.config.webhook_url.is_none() {
        return;
    }
    let (state, account) = (state.clone(), account.clone());
    let (igsid, mid) = (igsid.to_owned(), mid.to_owned());
    post_after(delay, "instagram read", async move {
        let value = event(&igsid, &account.id, "read", read_of(&mid));
        let shape = state.instagram.shape();
        post(&state, &account, Field::Seen, value, shape).await
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use messenger_model::webhook::{InstagramBody, InstagramKind, InstagramList};

    /// The product's parser reads what the simulator posts, in both shapes.
    #[test]
    fn the_model_reads_both_shapes() {
        for (shape, list) in [
            (InstagramShape::Messaging, InstagramList::Messaging),
            (InstagramShape::Changes, InstagramList::Changes),
        ] {
            let message = event("U", "A", "message", user_message("m1", "hi"));
            let parsed = InstagramBody::parse(&body("A", Field::Messages, message, shape));
            assert!(parsed.quarantined.is_empty(), "{parsed:?}");
            assert_eq!(parsed.events[0].account_id, "A");
            assert_eq!(parsed.events[0].list, list);
            assert_eq!(parsed.events[0].kind, InstagramKind::Message);

            let read = event("U", "A", "read", read_of("m1"));
            let parsed = InstagramBody::parse(&body("A", Field::Seen, read, shape));
            let mid = Some("m1".to_owned());
            assert_eq!(parsed.events[0].kind, InstagramKind::Seen { mid });
        }
        let c = comment("C", "U", "user", "nice", "M");
        let parsed =
            InstagramBody::parse(&body("A", Field::Comments, c, InstagramShape::Messaging));
        assert!(parsed.quarantined.is_empty(), "{parsed:?}");
        assert_eq!(parsed.comments[0].id, "C");
        assert_eq!(parsed.comments[0].from_id.as_deref(), Some("U"));
        assert_eq!(parsed.comments[0].from_username.as_deref(), Some("user"));
        assert_eq!(parsed.comments[0].media_id.as_deref(), Some("M"));
    }
}
