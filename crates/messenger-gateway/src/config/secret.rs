//! Values that must never reach a log line, a `Debug` dump or an error message.

use std::fmt;

/// A secret string (a token, a key, a password). Its `Debug` output is `<redacted>`, and it has
/// no `Display`: reading it takes an explicit [`Secret::expose`].
///
/// ```
/// use messenger_gateway::config::Secret;
/// let s = Secret::new("EAAB-page-token");
/// assert_eq!(format!("{s:?}"), "<redacted>");
/// assert_eq!(s.expose(), "EAAB-page-token");
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself, for the one place that needs it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// A database URL: its password (if any) is redacted in `Debug` and in [`DatabaseUrl::redacted`].
#[derive(Clone, PartialEq, Eq)]
pub struct DatabaseUrl(String);

impl DatabaseUrl {
    /// Wraps a URL.
    pub fn new(url: impl Into<String>) -> Self {
        Self(url.into())
    }

    /// The URL with its password, to connect with.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The URL without its password, for logs.
    pub fn redacted(&self) -> String {
        match url::Url::parse(&self.0) {
            Ok(mut u) if u.password().is_some() => {
                if u.set_password(Some("redacted")).is_ok() {
                    u.to_string()
                } else {
                    "<unprintable database url>".to_owned()
                }
            }
            Ok(u) => u.to_string(),
            // Not parseable: print only the scheme, in case the rest holds a secret.
            Err(_) => match self.0.split_once(':') {
                Some((scheme, _)) => format!("{scheme}:<redacted>"),
                None => "<redacted>".to_owned(),
            },
        }
    }

    /// The scheme (`sqlite`, `postgres`, `postgresql`, `memory`), lowercased.
    pub fn scheme(&self) -> Option<String> {
        self.0.split_once(':').map(|(s, _)| s.to_ascii_lowercase())
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_passwords_are_redacted() {
        let u = DatabaseUrl::new("postgres://app:hunter2@db:5432/messenger");
        assert!(!format!("{u:?}").contains("hunter2"));
        assert!(u.redacted().contains("app:redacted@db"));
        assert_eq!(u.scheme().as_deref(), Some("postgres"));
        let s = DatabaseUrl::new("sqlite://./data/messenger.db?mode=rwc");
        assert_eq!(s.scheme().as_deref(), Some("sqlite"));
        assert!(!format!("{:?}", DatabaseUrl::new("garbage hunter2")).contains("hunter2"));
    }
}
