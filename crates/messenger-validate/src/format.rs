//! Formats of single values: URLs, MIME types, phone numbers, base64. Each check is one linear
//! pass over the string and never allocates unless it reports.

use crate::limits::{PHONE_MAX_DIGITS, PHONE_MIN_DIGITS, URL_SCHEMES};
use crate::report::{truncate, Report};
use crate::ViolationCode;

/// Checks an absolute http(s) URL: `url.invalid` when it is not `scheme://host...` or holds
/// spaces or control characters, `url.scheme` when the scheme is not http or https.
pub(crate) fn check_url(report: &mut Report, pointer: impl Into<String>, url: &str) {
    let invalid = |report: &mut Report, pointer: String, why: &str| {
        report.push(
            ViolationCode::UrlInvalid,
            pointer,
            format!("not an absolute http(s) URL: {why}"),
            Some(url),
        );
    };
    let pointer = pointer.into();
    let Some((scheme, rest)) = url.split_once(':') else {
        return invalid(report, pointer, "no scheme (expected https://...)");
    };
    let scheme_ok = scheme
        .bytes()
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic())
        && scheme
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'));
    if !scheme_ok {
        return invalid(report, pointer, "no scheme (expected https://...)");
    }
    if !URL_SCHEMES.iter().any(|s| s.eq_ignore_ascii_case(scheme)) {
        return report.push(
            ViolationCode::UrlScheme,
            pointer,
            format!(
                "URL scheme {:?} is not allowed: Meta fetches and opens only {} URLs",
                truncate(scheme),
                URL_SCHEMES.join(" and ")
            ),
            Some(url),
        );
    }
    let Some(after) = rest.strip_prefix("//") else {
        return invalid(report, pointer, "expected // after the scheme");
    };
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return invalid(report, pointer, "it contains spaces or control characters");
    }
    let authority = after.split(['/', '?', '#']).next().unwrap_or("");
    let host_port = authority.rsplit('@').next().unwrap_or("");
    let host = if host_port.starts_with('[') {
        host_port
    } else {
        host_port.split(':').next().unwrap_or("")
    };
    if host.is_empty() {
        invalid(report, pointer, "no host");
    }
}

/// RFC 6838 `restricted-name`: a letter or digit, then up to 126 of letters, digits and
/// `!#$&-^_.+`.
fn is_restricted_name(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= 127
        && b[0].is_ascii_alphanumeric()
        && b.iter().all(|c| {
            c.is_ascii_alphanumeric()
                || matches!(
                    c,
                    b'!' | b'#' | b'$' | b'&' | b'-' | b'^' | b'_' | b'.' | b'+'
                )
        })
}

/// Whether a MIME type is well formed: `type/subtype`, then optional `; name=value` parameters.
pub(crate) fn is_mime_type(s: &str) -> bool {
    let mut segments = s.split(';');
    let essence = segments.next().unwrap_or("").trim();
    let Some((top, sub)) = essence.split_once('/') else {
        return false;
    };
    is_restricted_name(top)
        && is_restricted_name(sub)
        && segments.all(|p| {
            p.trim()
                .split_once('=')
                .is_some_and(|(name, value)| is_restricted_name(name.trim()) && !value.is_empty())
        })
}

/// Checks a phone number in international format: an optional `+` (required when
/// `plus_required`), then 8 to 15 digits and nothing else.
pub(crate) fn check_phone(
    report: &mut Report,
    pointer: impl Into<String>,
    number: &str,
    plus_required: bool,
) {
    let digits = number.strip_prefix('+');
    let ok = match digits {
        None if plus_required => false,
        _ => {
            let d = digits.unwrap_or(number);
            (PHONE_MIN_DIGITS..=PHONE_MAX_DIGITS).contains(&d.len())
                && d.bytes().all(|b| b.is_ascii_digit())
        }
    };
    if !ok {
        let plus = if plus_required { "+" } else { "an optional +" };
        report.push(
            ViolationCode::PhoneInvalid,
            pointer,
            format!(
                "not a phone number in international format: {plus}, country code and number, \
                 {PHONE_MIN_DIGITS} to {PHONE_MAX_DIGITS} digits in all, no spaces (e.g. \
                 447123123123)"
            ),
            Some(number),
        );
    }
}

/// The decoded size of canonical base64 (RFC 4648 §4: standard alphabet, padded to a multiple
/// of 4, no whitespace), or `None` when `s` is not that.
pub(crate) fn base64_decoded_len(s: &str) -> Option<u64> {
    let b = s.as_bytes();
    if !b.len().is_multiple_of(4) {
        return None;
    }
    let pad = b.iter().rev().take_while(|&&c| c == b'=').count();
    if pad > 2 {
        return None;
    }
    let body = &b[..b.len() - pad];
    if !body
        .iter()
        .all(|c| c.is_ascii_alphanumeric() || *c == b'+' || *c == b'/')
    {
        return None;
    }
    let len = b.len() as u64;
    Some(len / 4 * 3 - pad as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn codes(f: impl FnOnce(&mut Report)) -> Vec<&'static str> {
        let mut r = Report::new();
        f(&mut r);
        r.finish().into_iter().map(|v| v.code.as_str()).collect()
    }

    #[test]
    fn urls() {
        for ok in [
            "https://example.com",
            "HTTP://example.com:8080/a?b#c",
            "https://user@[::1]:443/x",
        ] {
            assert!(codes(|r| check_url(r, "", ok)).is_empty(), "{ok}");
        }
        for (bad, code) in [
            ("ftp://example.com/a", "url.scheme"),
            ("javascript:alert(1)", "url.scheme"),
            ("data:image/png;base64,AAAA", "url.scheme"),
            ("example.com/a.png", "url.invalid"),
            ("https:example.com", "url.invalid"),
            ("https:///path", "url.invalid"),
            ("https://exa mple.com", "url.invalid"),
            ("", "url.invalid"),
            ("://x", "url.invalid"),
        ] {
            assert_eq!(codes(|r| check_url(r, "", bad)), [code], "{bad}");
        }
    }

    #[test]
    fn mime_types() {
        for ok in [
            "text/plain",
            "image/png",
            "application/vnd.ms-excel",
            "text/plain; charset=utf-8",
            "image/svg+xml",
        ] {
            assert!(is_mime_type(ok), "{ok}");
        }
        for bad in [
            "",
            "image",
            "image/",
            "/png",
            "image/png/x",
            "ima ge/png",
            "text/plain; charset",
            "é/x",
        ] {
            assert!(!is_mime_type(bad), "{bad}");
        }
    }

    #[test]
    fn phones() {
        for ok in [
            "447123123123",
            "+447123123123",
            "12345678",
            "123456789012345",
        ] {
            assert!(codes(|r| check_phone(r, "", ok, false)).is_empty(), "{ok}");
        }
        for bad in [
            "1234567",
            "1234567890123456",
            "+44 7123 123123",
            "",
            "+",
            "44-71",
        ] {
            assert_eq!(codes(|r| check_phone(r, "", bad, false)), ["phone.invalid"]);
        }
        assert_eq!(
            codes(|r| check_phone(r, "", "447123123123", true)),
            ["phone.invalid"]
        );
    }

    #[test]
    fn base64() {
        assert_eq!(base64_decoded_len(""), Some(0));
        assert_eq!(base64_decoded_len("aGk="), Some(2));
        assert_eq!(base64_decoded_len("aGVsbG8h"), Some(6));
        assert_eq!(base64_decoded_len("aGVsbA=="), Some(4));
        for bad in [
            "aGk",
            "aG k=",
            "a===",
            "aGk*",
            "aG=k",
            "data:image/png;base64,aGk=",
        ] {
            assert_eq!(base64_decoded_len(bad), None, "{bad}");
        }
    }
}
