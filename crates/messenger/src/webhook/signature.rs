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

    /// Expected values from openssl on the exact bytes, never from this module.
    #[test]
    fn known_answers_from_openssl() {
        let cases: [(&[u8], &str); 3] = [
            // printf %s '{"object":"page","entry":[]}' | openssl dgst -sha256 -hmac 'app-secret'
            // SHA2-256(stdin)= e6e9d7a842a48e17f43a34d6125d0d933e2aab92ee37f0993a4d493b50e3d438
            (
                br#"{"object":"page","entry":[]}"#,
                "e6e9d7a842a48e17f43a34d6125d0d933e2aab92ee37f0993a4d493b50e3d438",
            ),
            // printf '{"text":"h\xc3\xa9llo"}' | openssl dgst -sha256 -hmac 'app-secret'
            // SHA2-256(stdin)= 21ef3bbd7f42ee13ab8ac1dea5ee6ceb37dcf694beeaeb1e5da41438d43776c2
            (
                b"{\"text\":\"h\xc3\xa9llo\"}",
                "21ef3bbd7f42ee13ab8ac1dea5ee6ceb37dcf694beeaeb1e5da41438d43776c2",
            ),
            // printf %s '' | openssl dgst -sha256 -hmac 'app-secret'
            // SHA2-256(stdin)= f685db4c946698bf105ff5b62e30bc1f78216f3914b12bb750f8992aa6748824
            (
                b"",
                "f685db4c946698bf105ff5b62e30bc1f78216f3914b12bb750f8992aa6748824",
            ),
        ];
        for (body, hex_digest) in cases {
            let header = format!("sha256={hex_digest}");
            assert_eq!(verify_signature("app-secret", Some(&header), body), Ok(()));
            // Meta writes lowercase hex; an uppercase header is the same signature.
            let upper = format!("sha256={}", hex_digest.to_uppercase());
            assert_eq!(verify_signature("app-secret", Some(&upper), body), Ok(()));
            assert_eq!(sign_body("app-secret", body), header);
            assert_eq!(
                verify_signature("app-secreT", Some(&header), body),
                Err(SignatureError::Mismatch)
            );
        }
        // Meta's legacy SHA-1 header (`X-Hub-Signature: sha1=...`) is not accepted here.
        // printf %s '{"object":"page","entry":[]}' | openssl dgst -sha1 -hmac 'app-secret'
        // SHA1(stdin)= 4c9d46957740c5094758b258e24de20040cdea53
        let sha1 = "sha1=4c9d46957740c5094758b258e24de20040cdea53";
        assert_eq!(
            verify_signature("app-secret", Some(sha1), br#"{"object":"page","entry":[]}"#),
            Err(SignatureError::Malformed)
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
