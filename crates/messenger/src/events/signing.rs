//! Signatures on events to the business's webhook (docs/design.md §6).

use hmac::{Hmac, Mac};
use sha1::Sha1;
use sha2::Sha256;

/// The two signature headers of one delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventSignatures {
    /// `X-Comapi-Signature`: hex HMAC-SHA1 of the body (Comapi compatibility).
    pub comapi: String,
    /// `X-Webhook-Signature`: `t=<unix seconds>,v1=<hex HMAC-SHA256 of "t.body">` (replay-safe).
    pub webhook: String,
}

/// Signs a delivery's body at `unix_seconds` with the space's webhook secret.
///
/// ```
/// use messenger::events::sign_event;
/// let s = sign_event("secret", b"[]", 1_700_000_000);
/// assert!(s.webhook.starts_with("t=1700000000,v1="));
/// assert_eq!(s.comapi.len(), 40);
/// ```
pub fn sign_event(secret: &str, body: &[u8], unix_seconds: i64) -> EventSignatures {
    let mut sha1 = <Hmac<Sha1> as Mac>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any size"));
    sha1.update(body);
    let mut sha256 = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any size"));
    sha256.update(unix_seconds.to_string().as_bytes());
    sha256.update(b".");
    sha256.update(body);
    EventSignatures {
        comapi: hex::encode(sha1.finalize().into_bytes()),
        webhook: format!(
            "t={unix_seconds},v1={}",
            hex::encode(sha256.finalize().into_bytes())
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_vectors() {
        // printf %s 'The quick brown fox jumps over the lazy dog' | openssl dgst -sha1 -hmac key
        // SHA1(stdin)= de7c9b85b8b78aa6bc8a7a36f70a90701c9db4d9
        let s = sign_event("key", b"The quick brown fox jumps over the lazy dog", 0);
        assert_eq!(s.comapi, "de7c9b85b8b78aa6bc8a7a36f70a90701c9db4d9");
        let other_time = sign_event("key", b"The quick brown fox jumps over the lazy dog", 1);
        assert_ne!(s.webhook, other_time.webhook);
    }

    /// Both headers against openssl on the exact bytes signed: the body for
    /// `X-Comapi-Signature`, `<t>.<body>` for `X-Webhook-Signature`.
    #[test]
    fn known_answers_from_openssl() {
        let body = br#"[{"eventId":"e-1","name":"message.sent"}]"#;
        let s = sign_event("business-webhook-secret", body, 1_700_000_000);
        // printf %s '[{"eventId":"e-1","name":"message.sent"}]' \
        //   | openssl dgst -sha1 -hmac 'business-webhook-secret'
        // SHA1(stdin)= ddfd3e0c2a8fcba76c095259fca627d923ef2284
        assert_eq!(s.comapi, "ddfd3e0c2a8fcba76c095259fca627d923ef2284");
        // printf %s '1700000000.[{"eventId":"e-1","name":"message.sent"}]' \
        //   | openssl dgst -sha256 -hmac 'business-webhook-secret'
        // SHA2-256(stdin)= e96cbc2b809276a49c31e330e8e302f6a4d57085904dbc5e3dd92aae1ed2fc84
        assert_eq!(
            s.webhook,
            "t=1700000000,v1=e96cbc2b809276a49c31e330e8e302f6a4d57085904dbc5e3dd92aae1ed2fc84"
        );
    }
}
