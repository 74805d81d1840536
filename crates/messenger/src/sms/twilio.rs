//! Twilio's Messages API: `POST {base}/2010-04-01/Accounts/{sid}/Messages.json`, form-encoded,
//! HTTP Basic auth.

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use serde::Deserialize;

use super::{SmsError, SmsMessage, SmsProvider, SmsReceipt};

/// An [`SmsProvider`] for Twilio's Messages API.
///
/// ```no_run
/// # async fn f() -> Result<(), Box<dyn std::error::Error>> {
/// use messenger::sms::{SmsMessage, SmsProvider, TwilioSms};
/// let sms = TwilioSms::new("https://api.twilio.com", "AC123", "auth-token", Some("+15005550006".into()))?;
/// sms.send(&SmsMessage { to: "+447700900123".into(), from: None, body: "Hi".into() }).await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct TwilioSms {
    http: reqwest::Client,
    url: String,
    account_sid: String,
    auth_token: String,
    default_from: Option<String>,
}

impl fmt::Debug for TwilioSms {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TwilioSms")
            .field("url", &self.url)
            .field("account_sid", &self.account_sid)
            .field("auth_token", &"<redacted>")
            .finish()
    }
}

#[derive(Deserialize)]
struct Accepted {
    sid: String,
    #[serde(default)]
    num_segments: Option<String>,
}

#[derive(Deserialize)]
struct Refused {
    #[serde(default)]
    code: Option<i64>,
    #[serde(default)]
    message: String,
}

impl TwilioSms {
    /// An adapter for the account `account_sid` at `base_url` (`https://api.twilio.com`).
    pub fn new(
        base_url: &str,
        account_sid: impl Into<String>,
        auth_token: impl Into<String>,
        default_from: Option<String>,
    ) -> Result<Self, SmsError> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .connect_timeout(Duration::from_secs(5))
            .build()
            .map_err(|e| SmsError::transient("cannot build the HTTP client", e))?;
        let account_sid = account_sid.into();
        Ok(Self {
            http,
            url: format!(
                "{}/2010-04-01/Accounts/{}/Messages.json",
                base_url.trim_end_matches('/'),
                account_sid
            ),
            account_sid,
            auth_token: auth_token.into(),
            default_from,
        })
    }
}

#[async_trait]
impl SmsProvider for TwilioSms {
    async fn send(&self, message: &SmsMessage) -> Result<SmsReceipt, SmsError> {
        let from = message.from.as_ref().or(self.default_from.as_ref());
        let mut form: Vec<(&str, &str)> = vec![("To", &message.to), ("Body", &message.body)];
        if let Some(from) = from {
            form.push(("From", from));
        }
        let response = self
            .http
            .post(&self.url)
            .basic_auth(&self.account_sid, Some(&self.auth_token))
            .form(&form)
            .send()
            .await
            .map_err(|e| {
                SmsError::transient("request to the SMS provider failed", e.without_url())
            })?;
        let status = response.status();
        let retry_after = response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok())
            .map(Duration::from_secs);
        let body = response.bytes().await.map_err(|e| {
            SmsError::transient("reading the SMS provider's answer failed", e.without_url())
        })?;
        if status.is_success() {
            let ok: Accepted = serde_json::from_slice(&body).map_err(|e| SmsError::Transient {
                message: format!("unexpected answer from the SMS provider: {e}"),
                retry_after: None,
                source: None,
            })?;
            return Ok(SmsReceipt {
                provider_id: ok.sid,
                segments: ok.num_segments.and_then(|n| n.parse().ok()),
            });
        }
        let refused: Option<Refused> = serde_json::from_slice(&body).ok();
        let (code, text) = refused
            .map(|r| (r.code, r.message))
            .unwrap_or((None, String::new()));
        match status.as_u16() {
            401 | 403 => Err(SmsError::Unauthorized {
                status: status.as_u16(),
            }),
            429 | 500..=599 => Err(SmsError::Transient {
                message: format!("HTTP {}: {text}", status.as_u16()),
                retry_after,
                source: None,
            }),
            s => Err(SmsError::Rejected {
                status: s,
                code,
                message: text,
            }),
        }
    }
}
