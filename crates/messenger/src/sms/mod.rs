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

/// The cause of a failed SMS, as any error, so a custom [`SmsProvider`] can attach its own.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Why an SMS was not accepted. The variant is the classification: [`SmsError::Rejected`] and
/// [`SmsError::Unauthorized`] are final, [`SmsError::Transient`] is retried.
///
/// A custom [`SmsProvider`] builds its failures with [`SmsError::rejected`],
/// [`SmsError::unauthorized`] and [`SmsError::transient`] (plus
/// [`with_retry_after`](SmsError::with_retry_after)):
///
/// ```
/// use std::time::Duration;
/// use messenger::sms::SmsError;
/// let io = std::io::Error::new(std::io::ErrorKind::TimedOut, "no answer in 10 s");
/// let e = SmsError::transient("the SMS gateway did not answer", io)
///     .with_retry_after(Duration::from_secs(30));
/// assert!(e.is_retryable());
/// assert_eq!(e.retry_after(), Some(Duration::from_secs(30)));
/// assert_eq!(std::error::Error::source(&e).unwrap().to_string(), "no answer in 10 s");
/// assert!(!SmsError::rejected(400, Some(21211), "invalid 'To' number").is_retryable());
/// ```
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
        /// The cause (for [`TwilioSms`]: the HTTP client's error, without the URL).
        #[source]
        source: Option<BoxError>,
    },
}

impl SmsError {
    /// The provider refused this message for good (HTTP `status`, its error `code`).
    pub fn rejected(status: u16, code: Option<i64>, message: impl Into<String>) -> Self {
        Self::Rejected {
            status,
            code,
            message: message.into(),
        }
    }

    /// The provider refused the credentials (HTTP `status`).
    pub fn unauthorized(status: u16) -> Self {
        Self::Unauthorized { status }
    }

    /// A failure that may pass (retried), with its cause. `message` and `cause` must not carry
    /// a credential.
    pub fn transient(message: impl Into<String>, cause: impl Into<BoxError>) -> Self {
        Self::Transient {
            message: message.into(),
            retry_after: None,
            source: Some(cause.into()),
        }
    }

    /// Sets when to try again, on a [`SmsError::Transient`] (other variants are returned as
    /// they are).
    #[must_use]
    pub fn with_retry_after(mut self, after: Duration) -> Self {
        if let Self::Transient { retry_after, .. } = &mut self {
            *retry_after = Some(after);
        }
        self
    }

    /// When to try again, if the provider said.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::Transient { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

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
