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

/// The SHA-256 digest of a key (`keys_sha256`, `admin_keys_sha256`): what the gateway compares
/// a presented key against, so a configuration file need not hold the key itself. Its `Debug`
/// output is redacted too (a digest of a weak key can be reversed by guessing).
///
/// ```
/// use messenger_gateway::config::KeyDigest;
/// // printf %s 'acme-key-0123456789abcdef' | openssl dgst -sha256
/// let hex = "8d1fde3e812f6f2e7da16e8dbbe290a806f4608424c237f78886b81304c4c234";
/// let d = KeyDigest::from_hex(hex).unwrap();
/// assert_eq!(d, KeyDigest::of("acme-key-0123456789abcdef"));
/// assert_eq!(d.to_hex(), hex);
/// assert_eq!(format!("{d:?}"), "<redacted sha256>");
/// assert!(KeyDigest::from_hex("not hex").is_none());
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct KeyDigest([u8; 32]);

impl KeyDigest {
    /// The digest of `key`.
    pub fn of(key: &str) -> Self {
        use sha2::{Digest, Sha256};
        Self(Sha256::digest(key.as_bytes()).into())
    }

    /// A digest written as 64 hex digits (either case); `None` for anything else.
    pub fn from_hex(hex_digits: &str) -> Option<Self> {
        let mut out = [0u8; 32];
        if hex_digits.len() != 64 {
            return None;
        }
        hex::decode_to_slice(hex_digits, &mut out).ok()?;
        Some(Self(out))
    }

    /// The digest as 64 lowercase hex digits.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// The digest's bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Debug for KeyDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted sha256>")
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
