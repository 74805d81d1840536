//! Meta's side of the webhook contract: the verification handshake and `X-Hub-Signature-256`.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Why a webhook request is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SignatureError {
    /// No `X-Hub-Signature-256` header.
    #[error("missing X-Hub-Signature-256 header")]
    Missing,
    /// The header is not `sha256=<64 hex digits>`.
    #[error("malformed X-Hub-Signature-256 header")]
    Malformed,
    /// The signature does not match the body.
    #[error("X-Hub-Signature-256 does not match the body")]
    Mismatch,
}

/// Checks `X-Hub-Signature-256: sha256=<hex HMAC-SHA256(app secret, raw body)>` on the raw
/// bytes, comparing in constant time.
///
/// ```
/// use messenger::webhook::verify_signature;
/// let body = br#"{"object":"page","entry":[]}"#;
/// let header = messenger::webhook::sign_body("app-secret", body);
/// assert!(verify_signature("app-secret", Some(&header), body).is_ok());
/// assert!(verify_signature("other", Some(&header), body).is_err());
/// ```
pub fn verify_signature(
    app_secret: &str,
    header: Option<&str>,
    body: &[u8],
) -> Result<(), SignatureError> {
    let header = header.ok_or(SignatureError::Missing)?.trim();
    let hex_sig = header
        .strip_prefix("sha256=")
        .ok_or(SignatureError::Malformed)?;
    if hex_sig.len() != 64 {
        return Err(SignatureError::Malformed);
    }
    let expected = hex::decode(hex_sig).map_err(|_| SignatureError::Malformed)?;
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(app_secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any size"));
    mac.update(body);
    mac.verify_slice(&expected)
        .map_err(|_| SignatureError::Mismatch)
}

/// The `X-Hub-Signature-256` value Meta sends for `body` (for tests and simulators).
pub fn sign_body(app_secret: &str, body: &[u8]) -> String {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(app_secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any size"));
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// The verification handshake (`GET` with `hub.mode`, `hub.verify_token`, `hub.challenge`):
/// the challenge to answer with when the mode is `subscribe` and the token matches.
pub fn verify_subscription<'a>(
    mode: Option<&str>,
    token: Option<&str>,
    challenge: Option<&'a str>,
    expected_token: &str,
) -> Option<&'a str> {
    use subtle::ConstantTimeEq;
    let token_ok = token.is_some_and(|t| bool::from(t.as_bytes().ct_eq(expected_token.as_bytes())));
    (mode == Some("subscribe") && token_ok).then_some(challenge?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures() {
        let body = b"{}";
        let good = sign_body("s", body);
        assert_eq!(verify_signature("s", Some(&good), body), Ok(()));
        assert_eq!(
            verify_signature("s", None, body),
            Err(SignatureError::Missing)
        );
        assert_eq!(
            verify_signature("s", Some("sha1=abc"), body),
            Err(SignatureError::Malformed)
        );
        assert_eq!(
            verify_signature("s", Some("sha256=zz"), body),
            Err(SignatureError::Malformed)
        );
        assert_eq!(
            verify_signature("s", Some(&good), b"{ }"),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn handshake() {
        assert_eq!(
            verify_subscription(Some("subscribe"), Some("t"), Some("42"), "t"),
            Some("42")
        );
        assert_eq!(
            verify_subscription(Some("subscribe"), Some("x"), Some("42"), "t"),
            None
        );
        assert_eq!(
            verify_subscription(Some("unsubscribe"), Some("t"), Some("42"), "t"),
            None
        );
        assert_eq!(
            verify_subscription(Some("subscribe"), Some("t"), None, "t"),
            None
        );
    }
}
