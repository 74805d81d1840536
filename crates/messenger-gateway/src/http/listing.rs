//! `GET /apispaces/{space}/messages?status=&channel=&profileId=&fbMessengerId=&phoneNumber=
//! &since=&until=&cursor=&limit=`: a space's messages, newest first, paged by an opaque keyset
//! cursor (decision 0013).
//!
//! Each item is the message resource of `GET .../messages/{id}` with the request's `to` and,
//! once it went out on Messenger or Instagram, `sentTo`: the page or Instagram account that
//! sent it and the customer's id there ([`sent_to`]). `channel=instagram` lists what went out
//! on Instagram Direct (docs/design.md "Instagram Direct"). A full page carries `Next-Cursor`, to pass as `cursor` for the next one; messages accepted
//! meanwhile never shift the pages after a cursor. Every parameter is checked: an unknown or
//! repeated one, a bad value or a cursor this API did not make is a 400 naming it.

use std::collections::HashSet;

use axum::extract::{RawQuery, State};
use axum::http::HeaderValue;
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use messenger_model::{Channel, MessageStatus, RuleOutcome, Timestamp};
use messenger_store::{MessagePosition, MessageQuery, MessageRecord};
use serde_json::{json, Value};

use super::auth::SpaceRead;
use super::problem::{query_id_error, shorten, Problem, ProblemError};
use super::profiles::NEXT_CURSOR;
use super::AppState;

/// The query parameters the listing takes.
const PARAMETERS: &str =
    "status, channel, profileId, fbMessengerId, phoneNumber, since, until, cursor, limit";

/// The opaque cursor of the page after `last`: `<created_at millis>:<id>` in URL-safe base64.
pub(crate) fn cursor_after(last: &MessageRecord) -> String {
    URL_SAFE_NO_PAD.encode(format!("{}:{}", last.created_at.millis(), last.id))
}

/// The position a cursor names, or `None` when this API could not have made it.
fn position(cursor: &str) -> Option<MessagePosition> {
    let bytes = URL_SAFE_NO_PAD.decode(cursor).ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let (millis, id) = text.split_once(':')?;
    if id.is_empty() || !millis.bytes().all(|b| b.is_ascii_digit() || b == b'-') {
        return None;
    }
    Some(MessagePosition {
        created_at: Timestamp::from_millis(millis.parse().ok()?),
        id: id.to_owned(),
    })
}

fn bad(code: &str, detail: impl Into<String>) -> ProblemError {
    ProblemError::new("", code, detail)
}

/// The query of a listing request, or every problem with it.
fn parse(query: Option<&str>) -> Result<MessageQuery, Problem> {
    let mut q = MessageQuery::default();
    let mut errors = Vec::new();
    let mut seen = HashSet::new();
    let mut recipient: Option<(&'static str, String)> = None;
    for (name, value) in url::form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
        if !seen.insert(name.clone().into_owned()) {
            errors.push(bad(
                "query.repeated",
                format!("{:?} is given more than once", shorten(&name)),
            ));
            continue;
        }
        let time = |field: &str| {
            value.parse::<Timestamp>().map_err(|_| {
                bad(
                    &format!("query.{field}"),
                    format!(
                        "{field} must be an RFC 3339 time, e.g. 2026-01-06T09:00:00Z (got {:?})",
                        shorten(&value)
                    ),
                )
            })
        };
        let mut key = |kind: &'static str, prefix: &str| {
            if value.is_empty() {
                errors.push(bad(
                    &format!("query.{kind}"),
                    format!("{kind} must not be empty"),
                ));
            } else if let Some((other, _)) = &recipient {
                errors.push(bad(
                    "query.recipient",
                    format!("give one recipient filter, not both {other} and {kind}"),
                ));
            } else {
                recipient = Some((kind, format!("{prefix}{value}")));
            }
        };
        match name.as_ref() {
            "status" => match MessageStatus::parse(&value) {
                Some(s) => q.status = Some(s),
                None => errors.push(bad(
                    "query.status",
                    format!(
                        "status must be one of {} (got {:?})",
                        MessageStatus::ALL.map(MessageStatus::as_str).join(", "),
                        shorten(&value)
                    ),
                )),
            },
            "channel" => match Channel::ALL.into_iter().find(|c| c.as_str() == value) {
                Some(c) => q.channel = Some(c),
                None => errors.push(bad(
                    "query.channel",
                    format!(
                        "channel must be one of {} (got {:?})",
                        Channel::ALL.map(Channel::as_str).join(", "),
                        shorten(&value)
                    ),
                )),
            },
            "profileId" | "fbMessengerId" if query_id_error(&name, &value).is_some() => {
                errors.extend(query_id_error(&name, &value));
            }
            "profileId" => key("profileId", "profile:"),
            "fbMessengerId" => key("fbMessengerId", "fb:"),
            "phoneNumber" => key("phoneNumber", "tel:"),
            "since" => match time("since") {
                Ok(t) => q.since = Some(t),
                Err(e) => errors.push(e),
            },
            "until" => match time("until") {
                Ok(t) => q.until = Some(t),
                Err(e) => errors.push(e),
            },
            "limit" => match value.parse::<usize>() {
                Ok(n) if (1..=MessageQuery::MAX_LIMIT).contains(&n) => q.limit = n,
                _ => errors.push(bad(
                    "query.limit",
                    format!("limit must be 1 to {}", MessageQuery::MAX_LIMIT),
                )),
            },
            "cursor" => match position(&value) {
                Some(p) => q.after = Some(p),
                None => errors.push(bad(
                    "query.cursor",
                    "cursor is not one this API gave: pass the Next-Cursor header of the \
                     previous page as it is",
                )),
            },
            other => errors.push(bad(
                "query.unknown",
                format!(
                    "unknown query parameter {:?} (use {PARAMETERS})",
                    shorten(other)
                ),
            )),
        }
    }
    if let (Some(since), Some(until)) = (q.since, q.until) {
        if until <= since {
            errors.push(bad("query.until", "until must be after since"));
        }
    }
    if !errors.is_empty() {
        return Err(Problem::bad_request_entries(errors));
    }
    q.recipient_key = recipient.map(|(_, k)| k);
    Ok(q)
}

/// A listed message: its resource, the request's `to` and, once sent on a Meta channel,
/// `sentTo`.
fn listed(m: &MessageRecord) -> Value {
    let mut v = serde_json::to_value(m.to_resource()).unwrap_or(Value::Null);
    if let (Value::Object(map), Ok(to)) = (&mut v, serde_json::to_value(&m.request.to)) {
        map.insert("to".to_owned(), to);
        if let Some(sent_to) = sent_to(m) {
            map.insert("sentTo".to_owned(), sent_to);
        }
    }
    v
}

/// Where `m` last went out on a Meta channel, as `sentTo`: `{"channel": "fbMessenger",
/// "pageId", "fbMessengerId"}` (the page and the customer's PSID) or `{"channel": "instagram",
/// "accountId", "instagramId"}` (the Instagram professional account and the customer's IGSID).
/// `None` before it was sent there, and once its content was redacted.
///
/// The channel is the last Meta channel the rule trace used, not the message's `channel`: a
/// message that missed its delivery deadline on Messenger or Instagram and went out by SMS keeps
/// the Meta recipient its late receipts are matched to.
pub(crate) fn sent_to(m: &MessageRecord) -> Option<Value> {
    let to = m.sent_to.as_ref()?;
    let meta = |c: &Channel| matches!(c, Channel::FbMessenger | Channel::Instagram);
    let channel = m
        .rule_trace
        .iter()
        .rev()
        .find(|e| e.outcome == RuleOutcome::Used && meta(&e.channel))
        .map(|e| e.channel)
        .or(m.channel.filter(meta))?;
    Some(match channel {
        Channel::Instagram => json!({
            "channel": channel.as_str(),
            "accountId": to.page_id,
            "instagramId": to.psid,
        }),
        _ => json!({
            "channel": channel.as_str(),
            "pageId": to.page_id,
            "fbMessengerId": to.psid,
        }),
    })
}

/// `GET /apispaces/{space}/messages?...`: see the module's documentation.
pub(super) async fn list(
    State(state): State<AppState>,
    access: SpaceRead,
    RawQuery(query): RawQuery,
) -> Result<Response, Problem> {
    let q = parse(query.as_deref())?;
    let found = state
        .messenger
        .store()
        .list_messages(&access.space, &q)
        .await?;
    let next = (found.len() >= q.effective_limit())
        .then(|| found.last())
        .flatten()
        .and_then(|last| HeaderValue::from_str(&cursor_after(last)).ok());
    let mut response = Json(found.iter().map(listed).collect::<Vec<_>>()).into_response();
    if let Some(next) = next {
        response.headers_mut().insert(NEXT_CURSOR, next);
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;
    use messenger_model::{SendRequest, To};
    use messenger_store::NewMessage;

    #[test]
    fn cursors_round_trip_and_refuse_what_they_did_not_make() {
        let mut m = NewMessage::new(
            "a",
            "fb:1",
            SendRequest::new(To::fb_messenger_id("1")).body("hi"),
            Timestamp::from_millis(1_767_225_600_123),
        );
        m.id = "id:with:colons/é".into();
        let record = m.into_record();
        let p = position(&cursor_after(&record)).unwrap();
        assert_eq!(p, MessagePosition::of(&record));
        for bad in ["", "!!", "bm9jb2xvbg", "MTIzOg", "eDox", "%%%"] {
            assert_eq!(position(bad), None, "{bad}");
        }
    }

    #[test]
    fn sent_to_names_the_page_or_the_instagram_account_it_went_out_from() {
        use messenger_model::{RuleCause, RuleTraceEntry};
        use messenger_store::StatusUpdate;
        let at = Timestamp::from_millis(1_767_225_600_000);
        let used =
            |channel| RuleTraceEntry::new(channel, RuleOutcome::Used, RuleCause::Sent, "", at);
        let sent = |channel, trace: Vec<RuleTraceEntry>| {
            let mut r = NewMessage::new(
                "a",
                "profile:p",
                SendRequest::new(To::profile("p")).body("hi"),
                at,
            )
            .into_record();
            r.rule_trace = trace;
            assert!(r.apply_status(
                StatusUpdate::new(MessageStatus::Sent, at)
                    .channel(channel)
                    .sent_to("17841400000000001", "IGSID-1")
            ));
            r
        };
        let ig = sent(Channel::Instagram, vec![used(Channel::Instagram)]);
        assert_eq!(
            sent_to(&ig),
            Some(
                json!({"channel": "instagram", "accountId": "17841400000000001",
                        "instagramId": "IGSID-1"})
            )
        );
        assert_eq!(listed(&ig)["sentTo"]["accountId"], "17841400000000001");
        let fb = sent(Channel::FbMessenger, vec![]);
        assert_eq!(
            sent_to(&fb),
            Some(
                json!({"channel": "fbMessenger", "pageId": "17841400000000001",
                        "fbMessengerId": "IGSID-1"})
            )
        );
        // Sent on Instagram, then by SMS after its read deadline: sentTo stays Instagram's.
        let mut fell_back = ig.clone();
        fell_back.channel = Some(Channel::Sms);
        fell_back.rule_trace.push(used(Channel::Sms));
        assert_eq!(sent_to(&fell_back).unwrap()["channel"], "instagram");
        // Not sent, or redacted: no sentTo.
        let mut redacted = ig;
        redacted.redact(at);
        assert_eq!(sent_to(&redacted), None);
        assert!(listed(&redacted).get("sentTo").is_none());
    }

    #[test]
    fn every_bad_parameter_is_named() {
        let e = parse(Some(
            "status=lost&channel=fax&since=yesterday&limit=0&cursor=zz&color=red&profileId=a&phoneNumber=1",
        ))
        .unwrap_err();
        let codes: Vec<_> = e.errors.iter().map(|e| e.code.as_str()).collect();
        assert_eq!(
            codes,
            [
                "query.status",
                "query.channel",
                "query.since",
                "query.limit",
                "query.cursor",
                "query.unknown",
                "query.recipient"
            ]
        );
        assert_eq!(e.status, 400);
        let e = parse(Some("limit=5&limit=6")).unwrap_err();
        assert_eq!(e.errors[0].code, "query.repeated");
        let e = parse(Some(
            "since=2026-01-02T00:00:00Z&until=2026-01-01T00:00:00Z",
        ))
        .unwrap_err();
        assert_eq!(e.errors[0].code, "query.until");
        let q = parse(Some("channel=instagram&status=read")).unwrap();
        assert_eq!(q.channel, Some(Channel::Instagram));
        assert_eq!(q.status, Some(MessageStatus::Read));
        let q = parse(Some("status=failed&channel=sms&profileId=alice&limit=10")).unwrap();
        assert_eq!(q.status, Some(MessageStatus::Failed));
        assert_eq!(q.channel, Some(Channel::Sms));
        assert_eq!(q.recipient_key.as_deref(), Some("profile:alice"));
        assert_eq!(q.limit, 10);
        assert_eq!(parse(None).unwrap(), MessageQuery::default());
    }
}
