//! [`WebhookTarget`]: one space's webhook, and what happens to events of spaces without one.

use std::fmt;
use std::time::Duration;

use reqwest::Url;

use super::ForwardError;

/// The largest `batch_size` a target may ask for (docs/design.md §6).
pub const MAX_BATCH_SIZE: usize = 500;

/// The longest `batch_window` a target may ask for (docs/design.md §6).
pub const MAX_BATCH_WINDOW: Duration = Duration::from_secs(60);

/// The longest per-request `timeout` a target may ask for.
pub const MAX_TIMEOUT: Duration = Duration::from_secs(60);

/// The most deliveries to one target at once (per forwarder) unless it sets its own. The
/// forwarder starts lower and grows toward it only while events wait and the receiver answers
/// (it halves on failures): enough for a page's three events a message at 250 messages a second
/// to a receiver that takes 100 ms.
pub const DEFAULT_MAX_IN_FLIGHT: usize = 128;

/// The most deliveries to one target at once a target may ask for.
pub const MAX_IN_FLIGHT: usize = 256;

/// The default retry schedule: 5 s, 5 s, 30 s, 30 s, 1 m, 2 m, 5 m, 10 m, 15 m, 30 m, 1 h, 2 h,
/// then 4 h five times (17 retries, so 18 attempts in all over about 24 hours).
///
/// ```
/// let s = messenger::events::default_retry_schedule();
/// assert_eq!(s.len(), 17);
/// assert_eq!(s[0].as_secs(), 5);
/// assert_eq!(s[16].as_secs(), 4 * 3600);
/// ```
pub fn default_retry_schedule() -> Vec<Duration> {
    const MIN: u64 = 60;
    const HOUR: u64 = 3600;
    let mut s: Vec<Duration> = [
        5,
        5,
        30,
        30,
        MIN,
        2 * MIN,
        5 * MIN,
        10 * MIN,
        15 * MIN,
        30 * MIN,
        HOUR,
        2 * HOUR,
    ]
    .into_iter()
    .map(Duration::from_secs)
    .collect();
    s.extend(std::iter::repeat_n(Duration::from_secs(4 * HOUR), 5));
    s
}

/// One API space's webhook: where its events are POSTed, how they are signed, batched and
/// retried.
///
/// The fields are public so a target can be read from configuration; [`Forwarder::new`]
/// (`super::Forwarder::new`) checks them. The secret is never shown by `Debug`.
///
/// ```
/// use std::time::Duration;
/// use messenger::events::WebhookTarget;
/// let t = WebhookTarget::new("https://example.com/hooks/comapi", "s3cret")
///     .batch(50, Duration::from_secs(5));
/// assert_eq!(t.batch_size, 50);
/// assert_eq!(t.timeout, Duration::from_secs(10));
/// assert!(!format!("{t:?}").contains("s3cret"));
/// ```
///
/// [`Forwarder::new`]: super::Forwarder::new
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookTarget {
    /// The business's endpoint (`http` or `https`).
    pub url: String,
    /// The shared secret both signature headers are computed with.
    pub secret: String,
    /// Events per POST, 1 to 500. With 1 the body is one envelope object; with more it is
    /// always a JSON array of envelopes (even when only one event is ready).
    pub batch_size: usize,
    /// How long a space's events may wait for a batch to fill (at most 60 s; zero: never wait).
    /// Only used when `batch_size > 1`.
    pub batch_window: Duration,
    /// The delays before each retry: the n-th failed attempt is tried again after
    /// `schedule[n - 1]`; a failure after the last entry makes the event dead. Empty: no retries.
    pub schedule: Vec<Duration>,
    /// The whole request's timeout (connect, send, answer); at most 60 s.
    pub timeout: Duration,
    /// The most requests to this target under way at once, 1 to [`MAX_IN_FLIGHT`] (default
    /// [`DEFAULT_MAX_IN_FLIGHT`]). The forwarder starts at 8 (or this, if lower), adds one for
    /// each request that succeeds while events are waiting and halves on each failure, so the
    /// number under way follows the receiver's speed up to this cap. The target has its own
    /// schedule: a slow or hanging receiver holds only its own requests and delays only its
    /// own events.
    pub max_in_flight: usize,
}

impl fmt::Debug for WebhookTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookTarget")
            .field("url", &redacted_url(&self.url))
            .field("secret", &"<redacted>")
            .field("batch_size", &self.batch_size)
            .field("batch_window", &self.batch_window)
            .field("schedule", &self.schedule)
            .field("timeout", &self.timeout)
            .field("max_in_flight", &self.max_in_flight)
            .finish()
    }
}

/// The URL without credentials, query or fragment (which may carry tokens), for `Debug`.
fn redacted_url(url: &str) -> String {
    match Url::parse(url) {
        Ok(u) => {
            let host = u.host_str().unwrap_or("");
            match u.port() {
                Some(p) => format!("{}://{host}:{p}{}", u.scheme(), u.path()),
                None => format!("{}://{host}{}", u.scheme(), u.path()),
            }
        }
        Err(_) => "<not a URL>".to_owned(),
    }
}

impl WebhookTarget {
    /// A target posting one event per request to `url`, signed with `secret`, retried on the
    /// [default schedule](default_retry_schedule) with a 10 s timeout.
    pub fn new(url: impl Into<String>, secret: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            secret: secret.into(),
            batch_size: 1,
            batch_window: Duration::ZERO,
            schedule: default_retry_schedule(),
            timeout: Duration::from_secs(10),
            max_in_flight: DEFAULT_MAX_IN_FLIGHT,
        }
    }

    /// Sends up to `size` events per POST, waiting at most `window` for a batch to fill.
    #[must_use = "a builder method returns the changed value and does nothing on its own"]
    pub fn batch(mut self, size: usize, window: Duration) -> Self {
        self.batch_size = size;
        self.batch_window = window;
        self
    }

    /// Sets the retry schedule.
    #[must_use = "a builder method returns the changed value and does nothing on its own"]
    pub fn schedule(mut self, schedule: Vec<Duration>) -> Self {
        self.schedule = schedule;
        self
    }

    /// Sets the per-request timeout.
    #[must_use = "a builder method returns the changed value and does nothing on its own"]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Sets how many requests to this target may be under way at once.
    #[must_use = "a builder method returns the changed value and does nothing on its own"]
    pub fn max_in_flight(mut self, requests: usize) -> Self {
        self.max_in_flight = requests;
        self
    }

    /// Checks the target and parses its URL. Reasons never repeat the URL or the secret.
    pub(super) fn check(&self, space: &str) -> Result<Url, ForwardError> {
        let bad = |reason: &str| ForwardError::InvalidTarget {
            space: space.chars().take(64).collect(),
            reason: reason.to_owned(),
        };
        if space.is_empty() {
            return Err(bad("the space id is empty"));
        }
        let url = Url::parse(&self.url).map_err(|_| bad("url is not a valid URL"))?;
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
            return Err(bad("url must be an http or https URL with a host"));
        }
        if self.secret.is_empty() {
            return Err(bad("secret is empty"));
        }
        if !(1..=MAX_BATCH_SIZE).contains(&self.batch_size) {
            return Err(bad("batch_size must be 1 to 500"));
        }
        if self.batch_window > MAX_BATCH_WINDOW {
            return Err(bad("batch_window must be at most 60 s"));
        }
        if self.timeout.is_zero() || self.timeout > MAX_TIMEOUT {
            return Err(bad("timeout must be more than 0 and at most 60 s"));
        }
        if !(1..=MAX_IN_FLIGHT).contains(&self.max_in_flight) {
            return Err(bad("max_in_flight must be 1 to 256"));
        }
        Ok(url)
    }

    /// Whether events wait for a batch to fill.
    pub(super) fn waits(&self) -> bool {
        self.batch_size > 1 && !self.batch_window.is_zero()
    }
}

/// What happens to an event whose space has no [`WebhookTarget`] (or that was queued for a
/// target name other than [`DEFAULT_EVENT_TARGET`](crate::DEFAULT_EVENT_TARGET)).
///
/// Events can be queued for a space whose webhook was later removed; nobody would ever lease
/// them, so the forwarder settles them rather than leave them pending.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Unrouted {
    /// Mark them delivered without sending (logged at `info`); `purge_delivered` removes them
    /// later. Right when "no webhook" means "the business wants no events" (the default).
    #[default]
    Drop,
    /// Make them dead at once with the reason `no webhook configured`, so they can be listed
    /// and redriven once the space has a webhook. Right when every instance must have the same
    /// webhook configuration and a missing one is a mistake.
    DeadLetter,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checks_limits_without_echoing_secrets() {
        let ok = WebhookTarget::new("https://user:pw@example.com/h?token=abc", "s3cret");
        assert!(ok.check("space-a").is_ok());
        let debug = format!("{ok:?}");
        assert!(!debug.contains("s3cret") && !debug.contains("pw") && !debug.contains("abc"));
        assert!(debug.contains("https://example.com/h"));

        let cases = [
            ok.clone().batch(0, Duration::ZERO),
            ok.clone().batch(501, Duration::ZERO),
            ok.clone().batch(10, Duration::from_secs(61)),
            ok.clone().timeout(Duration::ZERO),
            ok.clone().timeout(Duration::from_secs(61)),
            ok.clone().max_in_flight(0),
            ok.clone().max_in_flight(257),
            WebhookTarget::new("ftp://example.com/x", "s"),
            WebhookTarget::new("not a url s3cret", "s"),
            WebhookTarget::new("https://example.com/", ""),
        ];
        for t in cases {
            let e = t.check("space-a").unwrap_err().to_string();
            assert!(!e.contains("s3cret"), "{e}");
        }
        assert!(ok.check("").is_err());
        assert!(ok
            .clone()
            .batch(500, Duration::from_secs(60))
            .check("a")
            .is_ok());
    }

    #[test]
    fn default_schedule_matches_the_design() {
        let total: u64 = default_retry_schedule().iter().map(Duration::as_secs).sum();
        // 70 s + 63 min + 3 h + 20 h.
        assert_eq!(total, 70 + 63 * 60 + 3 * 3600 + 20 * 3600);
    }
}
