//! Where a profile picture may come from: Meta's picture hosts.
//!
//! Graph's `profile_pic` is an `https://platform-lookaside.fbsbx.com/platform/profilepic/...`
//! address (older ones and the images behind it are on `*.fbcdn.net`), and the console shows a
//! profile's `facebook.profilePic`. So the API takes a `profilePic` only on those hosts
//! ([`is_meta_picture_url`]), and the console's Content-Security-Policy lets images come from
//! its own origin and those hosts only ([`img_src`]): an admin's browser never calls a server a
//! tenant named.

/// Meta's host for profile pictures (Graph's `profile_pic`).
pub const LOOKASIDE_HOST: &str = "platform-lookaside.fbsbx.com";

/// Meta's domains whose subdomains serve pictures (`scontent-*.fbcdn.net`, `*.fbsbx.com`).
pub const PICTURE_DOMAINS: [&str; 2] = ["fbcdn.net", "fbsbx.com"];

/// The longest `profilePic` taken, in characters (Graph's addresses are a few hundred).
pub const MAX_PICTURE_URL_CHARS: usize = 2048;

/// Why a `profilePic` is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PictureRefusal {
    /// Not an `https://` URL (or not a URL at all).
    Scheme,
    /// Over [`MAX_PICTURE_URL_CHARS`].
    TooLong,
    /// Not on Meta's picture hosts, or with credentials or a port.
    Host,
}

/// Checks a `profilePic`: an `https` URL on [`LOOKASIDE_HOST`] or a subdomain of one of
/// [`PICTURE_DOMAINS`], without credentials or a port other than 443.
///
/// ```
/// use messenger_gateway::picture::{check_picture_url, PictureRefusal};
///
/// assert_eq!(check_picture_url("https://platform-lookaside.fbsbx.com/platform/profilepic/?psid=1"), Ok(()));
/// assert_eq!(check_picture_url("https://scontent-lhr8-1.xx.fbcdn.net/v/t1.jpg"), Ok(()));
/// assert_eq!(check_picture_url("http://platform-lookaside.fbsbx.com/p"), Err(PictureRefusal::Scheme));
/// assert_eq!(check_picture_url("https://tenant.example/p.png"), Err(PictureRefusal::Host));
/// assert_eq!(check_picture_url("https://fbcdn.net.tenant.example/p.png"), Err(PictureRefusal::Host));
/// ```
pub fn check_picture_url(url: &str) -> Result<(), PictureRefusal> {
    if url.len() > MAX_PICTURE_URL_CHARS && url.chars().nth(MAX_PICTURE_URL_CHARS).is_some() {
        return Err(PictureRefusal::TooLong);
    }
    let Ok(parsed) = url::Url::parse(url) else {
        return Err(PictureRefusal::Scheme);
    };
    if parsed.scheme() != "https" {
        return Err(PictureRefusal::Scheme);
    }
    let host = match parsed.host() {
        Some(url::Host::Domain(d)) => d,
        _ => return Err(PictureRefusal::Host),
    };
    let on_meta = host == LOOKASIDE_HOST
        || PICTURE_DOMAINS.iter().any(|d| {
            host.strip_suffix(d)
                .is_some_and(|sub| sub.len() > 1 && sub.ends_with('.'))
        });
    if !on_meta
        || !parsed.username().is_empty()
        || parsed.password().is_some()
        || parsed.port().is_some()
    {
        return Err(PictureRefusal::Host);
    }
    Ok(())
}

/// Whether `url` is a picture on Meta's hosts ([`check_picture_url`] takes it).
pub fn is_meta_picture_url(url: &str) -> bool {
    check_picture_url(url).is_ok()
}

/// The sources of the console's `img-src`: its own origin and Meta's picture hosts.
///
/// ```
/// let src = messenger_gateway::picture::img_src();
/// assert_eq!(src, "'self' https://platform-lookaside.fbsbx.com https://*.fbcdn.net https://*.fbsbx.com");
/// ```
pub fn img_src() -> String {
    let mut src = format!("'self' https://{LOOKASIDE_HOST}");
    for d in PICTURE_DOMAINS {
        src.push_str(&format!(" https://*.{d}"));
    }
    src
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_https_on_meta_hosts() {
        for ok in [
            "https://platform-lookaside.fbsbx.com/platform/profilepic/?psid=24000&width=1024",
            "https://PLATFORM-LOOKASIDE.FBSBX.COM/p",
            "https://scontent.xx.fbcdn.net/v/t1.30497-1/p.jpg?oh=1&oe=2",
            "https://lookaside.fbsbx.com/x",
            "https://platform-lookaside.fbsbx.com:443/p",
        ] {
            assert_eq!(check_picture_url(ok), Ok(()), "{ok}");
        }
        for (bad, why) in [
            (
                "http://platform-lookaside.fbsbx.com/p",
                PictureRefusal::Scheme,
            ),
            ("javascript:alert(1)", PictureRefusal::Scheme),
            ("data:image/png;base64,AAAA", PictureRefusal::Scheme),
            ("//platform-lookaside.fbsbx.com/p", PictureRefusal::Scheme),
            ("not a url", PictureRefusal::Scheme),
            ("https://tenant.example/p.png", PictureRefusal::Host),
            ("https://fbcdn.net/p.png", PictureRefusal::Host),
            ("https://fbsbx.com/p.png", PictureRefusal::Host),
            ("https://evilfbcdn.net/p.png", PictureRefusal::Host),
            ("https://fbcdn.net.evil.example/p.png", PictureRefusal::Host),
            (
                "https://user:pw@scontent.xx.fbcdn.net/p",
                PictureRefusal::Host,
            ),
            ("https://scontent.xx.fbcdn.net:8443/p", PictureRefusal::Host),
            ("https://157.240.1.1/p", PictureRefusal::Host),
        ] {
            assert_eq!(check_picture_url(bad), Err(why), "{bad}");
        }
        let long = format!(
            "https://scontent.xx.fbcdn.net/{}",
            "a".repeat(MAX_PICTURE_URL_CHARS)
        );
        assert_eq!(check_picture_url(&long), Err(PictureRefusal::TooLong));
    }
}
