//! The signatures Meta computes: `appsecret_proof` on Graph calls and `X-Hub-Signature(-256)` on
//! webhook posts. Public so tests can compute the values a client must send.

use hmac::{Hmac, Mac};

/// Hex HMAC-SHA256 of `token` keyed with `app_secret`: Graph's `appsecret_proof`.
///
/// ```
/// let proof = graph_sim::appsecret_proof("APP_SECRET", "PAGE_TOKEN");
/// assert_eq!(proof.len(), 64);
/// ```
pub fn appsecret_proof(app_secret: &str, token: &str) -> String {
    hex::encode(hmac_sha256(app_secret.as_bytes(), token.as_bytes()))
}

/// The `X-Hub-Signature-256` header value Meta sends: `sha256=<hex HMAC-SHA256(app secret, body)>`.
///
/// ```
/// let sig = graph_sim::hub_signature_256("APP_SECRET", b"{}");
/// assert!(sig.starts_with("sha256=") && sig.len() == 7 + 64);
/// ```
pub fn hub_signature_256(app_secret: &str, body: &[u8]) -> String {
    format!(
        "sha256={}",
        hex::encode(hmac_sha256(app_secret.as_bytes(), body))
    )
}

/// The legacy `X-Hub-Signature` header value: `sha1=<hex HMAC-SHA1(app secret, body)>`.
pub fn hub_signature_sha1(app_secret: &str, body: &[u8]) -> String {
    let bytes = match <Hmac<sha1::Sha1> as Mac>::new_from_slice(app_secret.as_bytes()) {
        Ok(mut mac) => {
            mac.update(body);
            mac.finalize().into_bytes().to_vec()
        }
        // HMAC takes keys of any length: this branch cannot be taken.
        Err(_) => Vec::new(),
    };
    format!("sha1={}", hex::encode(bytes))
}

/// HMAC-SHA256 of `msg` keyed with `key`.
pub(crate) fn hmac_sha256(key: &[u8], msg: &[u8]) -> Vec<u8> {
    match <Hmac<sha2::Sha256> as Mac>::new_from_slice(key) {
        Ok(mut mac) => {
            mac.update(msg);
            mac.finalize().into_bytes().to_vec()
        }
        // HMAC takes keys of any length: this branch cannot be taken.
        Err(_) => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc4231_test_case_2() {
        // RFC 4231, test case 2: key "Jefe", data "what do ya want for nothing?".
        assert_eq!(
            hex::encode(hmac_sha256(b"Jefe", b"what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn sha1_signature_rfc2202_case_2() {
        assert_eq!(
            hub_signature_sha1("Jefe", b"what do ya want for nothing?"),
            "sha1=effcdf6ae5eb2fa2d27416d5f184df9c259a7c79"
        );
    }
}
