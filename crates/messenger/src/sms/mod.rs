//! SMS: the [`SmsProvider`] trait the fallback sends through, and [`TwilioSms`], an adapter for
//! Twilio's Messages API (any service speaking that API works, with its base URL configured).

mod twilio;

pub use twilio::TwilioSms;

use std::time::Duration;

use async_trait::async_trait;

/// One SMS to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmsMessage {
    /// The recipient, international format.
    pub to: String,
    /// Sender id or number; the provider's default when `None`.
    pub from: Option<String>,
    /// The text.
    pub body: String,
}

/// What the provider said when it accepted an SMS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmsReceipt {
    /// The provider's message id.
    pub provider_id: String,
    /// Number of segments billed, when the provider says.
    pub segments: Option<u32>,
}

/// Why an SMS was not accepted.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SmsError {
    /// The provider refused this message; retrying will not help (bad number, blocked, ...).
    #[error("SMS provider refused the message (HTTP {status}, code {code:?}): {message}")]
    Rejected {
        /// HTTP status.
        status: u16,
        /// The provider's error code.
        code: Option<i64>,
        /// The provider's message.
        message: String,
    },
    /// The provider refused our credentials.
    #[error("SMS provider refused the credentials (HTTP {status})")]
    Unauthorized {
        /// HTTP status.
        status: u16,
    },
    /// A failure that may pass: 429, 5xx, timeouts, connection errors.
    #[error("SMS provider unavailable: {message}")]
    Transient {
        /// What happened.
        message: String,
        /// When to try again, if the provider said.
        retry_after: Option<Duration>,
        /// The underlying HTTP error.
        #[source]
        source: Option<reqwest::Error>,
    },
}

impl SmsError {
    /// Whether a later attempt can succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::Transient { .. })
    }
}

/// Sends SMS. Object-safe: the facade holds an `Arc<dyn SmsProvider>`.
#[async_trait]
pub trait SmsProvider: Send + Sync {
    /// Sends one SMS.
    async fn send(&self, message: &SmsMessage) -> Result<SmsReceipt, SmsError>;
}

/// The SMS text for a request: `body`, else the text parts and the URLs of media parts meant for
/// SMS, one per line. `None` when there is nothing to say.
pub fn sms_text(req: &messenger_model::SendRequest) -> Option<String> {
    use messenger_model::{is_text_mime, part_is_for, Channel};
    if let Some(body) = req.body.as_deref().filter(|b| !b.trim().is_empty()) {
        return Some(body.to_owned());
    }
    let lines: Vec<&str> = req
        .message_parts
        .iter()
        .filter(|p| part_is_for(p, Channel::Sms))
        .filter_map(|p| match (&p.url, &p.data) {
            (Some(url), _) => Some(url.as_str()),
            (None, Some(data)) if is_text_mime(&p.mime_type) => Some(data.as_str()),
            _ => None,
        })
        .collect();
    (!lines.is_empty()).then(|| lines.join("\n"))
}
