//! Twilio's Messages API, so the product's SMS channel can be tested against the simulator:
//! `POST /2010-04-01/Accounts/{AccountSid}/Messages.json` (form-encoded `To`, `From` or
//! `MessagingServiceSid`, `Body`, optional `StatusCallback`) with HTTP Basic auth, and
//! `GET /2010-04-01/Accounts/{AccountSid}/Messages/{Sid}.json`.
//!
//! Answers and errors have Twilio's shapes (`{"code","message","more_info","status"}`). Faults
//! apply by `To` number and are translated to Twilio's nearest error. With a `StatusCallback`,
//! the simulator posts `sent` and then `delivered` (after the auto-receipt delivery delay, if
//! any) to it, signed with `X-Twilio-Signature` as Twilio signs.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, Method, StatusCode, Uri};
use axum::response::Response;
use base64::Engine as _;
use bytes::Bytes;
use messenger_model::Timestamp;
use serde_json::{json, Value};

use crate::faults::Fault;
use crate::graph_api::{self, constant_time_eq};
pub use crate::records::SmsMessage;
use crate::state::SimState;
use crate::sync::lock;

/// Twilio's limit on a message body (characters).
pub const MAX_SMS_BODY_CHARS: usize = 1600;

/// A Twilio error answer.
fn twilio_error(status: StatusCode, code: u32, message: impl Into<String>) -> Response {
    let body = json!({
        "code": code,
        "message": message.into(),
        "more_info": format!("https://www.twilio.com/docs/errors/{code}"),
        "status": status.as_u16(),
    });
    graph_api::json_with_status(status, serde_json::to_vec(&body).unwrap_or_default())
}

fn unauthenticated() -> Response {
    twilio_error(StatusCode::UNAUTHORIZED, 20003, "Authenticate")
}

/// The account SID of a request whose Basic credentials are right for `account`.
fn authenticate(state: &SimState, account: &str, headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let encoded = value
        .strip_prefix("Basic ")
        .or_else(|| value.strip_prefix("basic "))?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let decoded = String::from_utf8(decoded).ok()?;
    let (sid, token) = decoded.split_once(':')?;
    let expected = state.config.sms_accounts.get(sid)?;
    (constant_time_eq(token.as_bytes(), expected.as_bytes()) && sid == account)
        .then(|| sid.to_owned())
}

/// Whether `s` is a phone number Twilio would accept (E.164, separators allowed).
fn is_phone(s: &str) -> bool {
    let digits: String = s.chars().filter(char::is_ascii_digit).collect();
    let allowed = s
        .chars()
        .all(|c| c.is_ascii_digit() || matches!(c, '+' | ' ' | '-' | '(' | ')' | '.'));
    allowed && (7..=15).contains(&digits.len()) && !digits.starts_with('0')
}

/// Whether `s` is a valid sender: a phone number, a short code, or an alphanumeric sender ID.
fn is_sender(s: &str) -> bool {
    let short_code = (5..=6).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit());
    let alnum = (1..=11).contains(&s.chars().count())
        && s.chars().any(|c| c.is_ascii_alphabetic())
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == ' ');
    is_phone(s) || short_code || alnum
}

/// The GSM 03.38 basic character set.
const GSM_BASIC: &str = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
/// The GSM 03.38 extension table (two septets each).
const GSM_EXTENDED: &str = "^{}\\[~]|€\u{c}";

/// How many segments `body` takes: GSM-7 (160 alone, 153 per part) or UCS-2 (70 alone, 67 per
/// part).
pub fn sms_segments(body: &str) -> u32 {
    let mut septets = 0usize;
    let mut gsm = true;
    for c in body.chars() {
        if GSM_BASIC.contains(c) {
            septets += 1;
        } else if GSM_EXTENDED.contains(c) {
            septets += 2;
        } else {
            gsm = false;
            break;
        }
    }
    let (units, single, part) = if gsm {
        (septets, 160, 153)
    } else {
        (body.encode_utf16().count(), 70, 67)
    };
    let n = if units <= single {
        1
    } else {
        units.div_ceil(part)
    };
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// RFC 2822 date as Twilio writes it: `Wed, 25 Nov 2026 14:47:28 +0000`.
fn rfc2822(millis: i64) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    // Timestamp's RFC 3339 form gives the civil date: YYYY-MM-DDTHH:MM:SS.mmmZ.
    let iso = Timestamp::from_millis(millis).to_string();
    let day_index = millis.div_euclid(86_400_000).rem_euclid(7) as usize;
    let month: usize = iso.get(5..7).and_then(|m| m.parse().ok()).unwrap_or(1);
    format!(
        "{}, {} {} {} {} +0000",
        DAYS[day_index],
        iso.get(8..10).unwrap_or("01"),
        MONTHS[month.clamp(1, 12) - 1],
        iso.get(0..4).unwrap_or("1970"),
        iso.get(11..19).unwrap_or("00:00:00"),
    )
}

/// The JSON Twilio answers for a message.
fn message_json(m: &SmsMessage, status: &str) -> Value {
    let date = rfc2822(m.at_millis);
    let uri = format!(
        "/2010-04-01/Accounts/{}/Messages/{}.json",
        m.account_sid, m.sid
    );
    json!({
        "account_sid": m.account_sid,
        "api_version": "2010-04-01",
        "body": m.body,
        "date_created": date,
        "date_sent": null,
        "date_updated": date,
        "direction": "outbound-api",
        "error_code": null,
        "error_message": null,
        "from": m.from,
        "messaging_service_sid": m.messaging_service_sid,
        "num_media": "0",
        "num_segments": m.num_segments.to_string(),
        "price": null,
        "price_unit": "USD",
        "sid": m.sid,
        "status": status,
        "subresource_uris": {
            "media": format!("/2010-04-01/Accounts/{}/Messages/{}/Media.json", m.account_sid, m.sid)
        },
        "to": m.to,
        "uri": uri,
    })
}

/// Twilio's answer for a scripted fault; `None` for [`Fault::Slow`].
fn fault_response(fault: &Fault, to: &str) -> Option<Response> {
    let r = match fault {
        Fault::Slow { .. } => return None,
        Fault::RateLimit { .. } => {
            twilio_error(StatusCode::TOO_MANY_REQUESTS, 20429, "Too Many Requests")
        }
        Fault::ServerError { status } => twilio_error(
            StatusCode::from_u16(*status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            20500,
            "An internal server error has occurred",
        ),
        Fault::UserUnavailable => twilio_error(
            StatusCode::BAD_REQUEST,
            21610,
            "Attempt to send to unsubscribed recipient",
        ),
        Fault::OutsideWindow => twilio_error(
            StatusCode::BAD_REQUEST,
            21408,
            format!(
                "Permission to send an SMS has not been enabled for the region indicated by the \
                 'To' number: {to}"
            ),
        ),
        Fault::InvalidRecipient => invalid_to(to),
        Fault::TokenExpired => unauthenticated(),
        Fault::Custom {
            status,
            body,
            headers,
        } => {
            let mut r = graph_api::json_with_status(
                StatusCode::from_u16(*status).unwrap_or(StatusCode::BAD_REQUEST),
                serde_json::to_vec(body).unwrap_or_default(),
            );
            for (n, v) in headers {
                if let (Ok(n), Ok(v)) = (
                    header::HeaderName::from_bytes(n.as_bytes()),
                    header::HeaderValue::from_str(v),
                ) {
                    r.headers_mut().append(n, v);
                }
            }
            r
        }
    };
    Some(r)
}

fn invalid_to(to: &str) -> Response {
    twilio_error(
        StatusCode::BAD_REQUEST,
        21211,
        format!("The 'To' number {to} is not a valid phone number."),
    )
}

/// `POST /2010-04-01/Accounts/{account}/Messages.json`.
pub(crate) async fn create_message(
    State(state): State<Arc<SimState>>,
    Path(account): Path<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    state.record(&method, &uri, &headers, &body);
    let Some(account_sid) = authenticate(&state, &account, &headers) else {
        return unauthenticated();
    };
    let mut to = None;
    let mut from = None;
    let mut service = None;
    let mut text = None;
    let mut media = false;
    let mut callback = None;
    for (k, v) in url::form_urlencoded::parse(&body) {
        let v = Some(v.into_owned()).filter(|v| !v.is_empty());
        match k.as_ref() {
            "To" => to = v,
            "From" => from = v,
            "MessagingServiceSid" => service = v,
            "Body" => text = v,
            "MediaUrl" => media |= v.is_some(),
            "StatusCallback" => callback = v,
            _ => {}
        }
    }
    let Some(to) = to else {
        return twilio_error(
            StatusCode::BAD_REQUEST,
            21604,
            "A 'To' phone number is required.",
        );
    };
    if from.is_none() && service.is_none() {
        return twilio_error(
            StatusCode::BAD_REQUEST,
            21603,
            "A 'From' or 'MessagingServiceSid' parameter is required to send a message",
        );
    }
    if text.is_none() && !media {
        return twilio_error(StatusCode::BAD_REQUEST, 21602, "Message body is required.");
    }
    if !is_phone(&to) {
        return invalid_to(&to);
    }
    if let Some(f) = from.as_deref().filter(|f| !is_sender(f)) {
        return twilio_error(
            StatusCode::BAD_REQUEST,
            21212,
            format!(
                "The 'From' number {f} is not a valid phone number, shortcode, or alphanumeric \
                 sender ID."
            ),
        );
    }
    let text = text.unwrap_or_default();
    if text.chars().count() > MAX_SMS_BODY_CHARS {
        return twilio_error(
            StatusCode::BAD_REQUEST,
            21617,
            "The concatenated message body exceeds the 1600 character limit.",
        );
    }

    let normalized = crate::send::normalize_phone(&to);
    let triggered = state.faults.take(&[&to, &normalized]);
    triggered.wait().await;
    if let Some(r) = triggered
        .fault
        .as_ref()
        .and_then(|f| fault_response(f, &to))
    {
        return r;
    }

    let message = SmsMessage {
        sid: format!("SM{}", state.ids.new_hex32()),
        account_sid,
        to,
        from: from.clone(),
        messaging_service_sid: service,
        num_segments: sms_segments(&text),
        body: text,
        status_callback: callback,
        at_millis: Timestamp::now().millis(),
    };
    let status = if from.is_some() { "queued" } else { "accepted" };
    let answer = message_json(&message, status);
    if message.status_callback.is_some() {
        schedule_status_callbacks(state.clone(), message.clone());
    }
    lock(&state.sms).push(message);
    graph_api::json_with_status(
        StatusCode::CREATED,
        serde_json::to_vec(&answer).unwrap_or_default(),
    )
}

/// `GET /2010-04-01/Accounts/{account}/Messages/{sid}.json`.
pub(crate) async fn fetch_message(
    State(state): State<Arc<SimState>>,
    Path((account, file)): Path<(String, String)>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    state.record(&method, &uri, &headers, &Bytes::new());
    if authenticate(&state, &account, &headers).is_none() {
        return unauthenticated();
    }
    let sid = file.strip_suffix(".json").unwrap_or(&file);
    let found = lock(&state.sms)
        .iter()
        .find(|m| m.sid == sid && m.account_sid == account)
        .cloned();
    match found {
        Some(m) => graph_api::json_ok(
            serde_json::to_vec(&message_json(&m, "delivered")).unwrap_or_default(),
        ),
        None => twilio_error(
            StatusCode::NOT_FOUND,
            20404,
            format!("The requested resource {} was not found", uri.path()),
        ),
    }
}

/// Twilio's request signature: base64 HMAC-SHA1 (key = auth token) of the URL followed by each
/// POST parameter's name and value, sorted by name.
pub fn twilio_signature(auth_token: &str, url: &str, params: &[(&str, &str)]) -> String {
    use hmac::{Hmac, Mac};
    let mut sorted: Vec<_> = params.to_vec();
    sorted.sort();
    let mut data = url.to_owned();
    for (k, v) in sorted {
        data.push_str(k);
        data.push_str(v);
    }
    let digest = match <Hmac<sha1::Sha1> as Mac>::new_from_slice(auth_token.as_bytes()) {
        Ok(mut mac) => {
            mac.update(data.as_bytes());
            mac.finalize().into_bytes().to_vec()
        }
        // HMAC takes keys of any length: this branch cannot be taken.
        Err(_) => Vec::new(),
    };
    base64::engine::general_purpose::STANDARD.encode(digest)
}

/// Posts `sent`, then `delivered`, to the message's status callback.
fn schedule_status_callbacks(state: Arc<SimState>, m: SmsMessage) {
    let Some(url) = m.status_callback.clone() else {
        return;
    };
    let Some(token) = state.config.sms_accounts.get(&m.account_sid).cloned() else {
        return;
    };
    let delay = state
        .config
        .auto_receipts
        .and_then(|r| r.delivery)
        .unwrap_or_default();
    tokio::spawn(async move {
        for (status, wait) in [("sent", std::time::Duration::ZERO), ("delivered", delay)] {
            tokio::time::sleep(wait).await;
            let from = m.from.clone().unwrap_or_default();
            let params = [
                ("AccountSid", m.account_sid.as_str()),
                ("ApiVersion", "2010-04-01"),
                ("From", from.as_str()),
                ("MessageSid", m.sid.as_str()),
                ("MessageStatus", status),
                ("SmsSid", m.sid.as_str()),
                ("SmsStatus", status),
                ("To", m.to.as_str()),
            ];
            let signature = twilio_signature(&token, &url, &params);
            let body: String = url::form_urlencoded::Serializer::new(String::new())
                .extend_pairs(params.iter())
                .finish();
            let sent = state
                .http
                .post(&url)
                .header("content-type", "application/x-www-form-urlencoded")
                .header("x-twilio-signature", signature)
                .body(body)
                .send()
                .await;
            if let Err(e) = sent {
                tracing::debug!(error = %e, "SMS status callback not posted");
                return;
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments() {
        assert_eq!(sms_segments("hello"), 1);
        assert_eq!(sms_segments(&"a".repeat(160)), 1);
        assert_eq!(sms_segments(&"a".repeat(161)), 2);
        assert_eq!(sms_segments(&"a".repeat(306)), 2);
        assert_eq!(sms_segments(&"a".repeat(307)), 3);
        assert_eq!(sms_segments(&"€".repeat(80)), 1);
        assert_eq!(sms_segments(&"€".repeat(81)), 2);
        assert_eq!(sms_segments(&"😀".repeat(35)), 1);
        assert_eq!(sms_segments(&"ж".repeat(71)), 2);
    }

    #[test]
    fn dates_in_rfc2822() {
        assert_eq!(rfc2822(0), "Thu, 01 Jan 1970 00:00:00 +0000");
        let t: Timestamp = "2026-11-25T14:47:28Z".parse().unwrap();
        assert_eq!(rfc2822(t.millis()), "Wed, 25 Nov 2026 14:47:28 +0000");
    }

    #[test]
    fn numbers_and_senders() {
        assert!(is_phone("+447700900123"));
        assert!(is_phone("+1 (415) 555-0100"));
        assert!(!is_phone("12"));
        assert!(!is_phone("+44abc"));
        assert!(is_sender("ACME"));
        assert!(is_sender("12345"));
        assert!(!is_sender("A name far too long"));
    }

    #[test]
    fn twilio_signature_matches_twilios_documented_example() {
        // Twilio's security docs example.
        let params = [
            ("CallSid", "CA1234567890ABCDE"),
            ("Caller", "+12349013030"),
            ("Digits", "1234"),
            ("From", "+12349013030"),
            ("To", "+18005551212"),
        ];
        assert_eq!(
            twilio_signature(
                "12345",
                "https://mycompany.com/myapp.php?foo=1&bar=2",
                &params
            ),
            "0/KCTR6DLpKmkAf8muzZqo1nDgQ="
        );
    }
}
