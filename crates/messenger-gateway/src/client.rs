//! Who a request comes from: the connection's peer address, or, when the peer is one of
//! `server.trusted_proxies`, the address the proxies say they forwarded for
//! (`X-Forwarded-For`). Per-client limits (webhook reads, connections) count by it.

use std::net::IpAddr;

use axum::http::HeaderMap;
use ipnet::IpNet;

/// The client address of a request, as a request extension. Absent when the router is driven
/// without the gateway's listener (a test calling the router directly).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ClientAddr(pub IpAddr);

/// The most `X-Forwarded-For` entries looked at: a longer chain is cut (from the left, the part
/// a client can write), so a header of any length costs the same.
pub const MAX_FORWARDED_HOPS: usize = 32;

/// The address as one client: an IPv4 address mapped into IPv6 counts as the IPv4 one.
pub fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    }
}

/// Whether `ip` is in one of `trusted`.
pub fn is_trusted(ip: IpAddr, trusted: &[IpNet]) -> bool {
    trusted.iter().any(|net| net.contains(&ip))
}

/// The client of a request that came from `peer`: the peer itself unless it is a trusted proxy;
/// then the rightmost `X-Forwarded-For` address that is not a trusted proxy (each proxy appends
/// the address it received from, so everything left of the first untrusted hop is the client's
/// own claim). An entry that is not an address ends the walk at the last trusted hop, and a
/// chain of only trusted hops names its leftmost.
///
/// ```
/// use messenger_gateway::client::client_of;
/// use axum::http::{HeaderMap, HeaderValue};
/// let proxies = ["10.0.0.0/8".parse().unwrap()];
/// let mut h = HeaderMap::new();
/// h.insert("x-forwarded-for", HeaderValue::from_static("1.1.1.1, 203.0.113.9, 10.0.0.2"));
/// let peer = "10.0.0.1".parse().unwrap();
/// assert_eq!(client_of(peer, &h, &proxies).to_string(), "203.0.113.9");
/// // Not from a proxy: the header is the client's own words, and ignored.
/// let peer = "198.51.100.4".parse().unwrap();
/// assert_eq!(client_of(peer, &h, &proxies).to_string(), "198.51.100.4");
/// ```
pub fn client_of(peer: IpAddr, headers: &HeaderMap, trusted: &[IpNet]) -> IpAddr {
    let peer = canonical(peer);
    if !is_trusted(peer, trusted) {
        return peer;
    }
    let mut client = peer;
    // Several X-Forwarded-For headers are one list, in order.
    let entries: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .collect();
    for entry in entries.iter().rev().take(MAX_FORWARDED_HOPS) {
        let Some(hop) = parse_hop(entry) else {
            return client;
        };
        client = hop;
        if !is_trusted(hop, trusted) {
            return hop;
        }
    }
    client
}

/// One `X-Forwarded-For` entry: an address, possibly with a port (`192.0.2.1:4711`,
/// `[2001:db8::1]:4711`).
fn parse_hop(entry: &str) -> Option<IpAddr> {
    let entry = entry.trim();
    if let Ok(ip) = entry.parse::<IpAddr>() {
        return Some(canonical(ip));
    }
    if let Ok(sock) = entry.parse::<std::net::SocketAddr>() {
        return Some(canonical(sock.ip()));
    }
    entry
        .strip_prefix('[')
        .and_then(|rest| rest.split_once(']'))
        .and_then(|(ip, _)| ip.parse::<IpAddr>().ok())
        .map(canonical)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;
    use proptest::prelude::*;

    fn xff(values: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append("x-forwarded-for", HeaderValue::from_str(v).unwrap());
        }
        h
    }

    fn nets(list: &[&str]) -> Vec<IpNet> {
        list.iter().map(|n| n.parse().unwrap()).collect()
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn the_rightmost_untrusted_hop_is_the_client() {
        let trusted = nets(&["10.0.0.0/8", "fd00::/8"]);
        let h = xff(&["6.6.6.6, 203.0.113.9", "10.1.1.1"]);
        assert_eq!(client_of(ip("10.0.0.1"), &h, &trusted), ip("203.0.113.9"));
        // Ports and brackets are read; an IPv4-mapped peer is the IPv4 address.
        let h = xff(&["[2001:db8::1]:4711, 192.0.2.1:80"]);
        assert_eq!(
            client_of(ip("::ffff:10.0.0.1"), &h, &trusted),
            ip("192.0.2.1")
        );
        // Garbage ends the walk at the last trusted hop.
        let h = xff(&["203.0.113.9, not-an-ip, 10.2.2.2"]);
        assert_eq!(client_of(ip("10.0.0.1"), &h, &trusted), ip("10.2.2.2"));
        // No header: the proxy itself.
        assert_eq!(
            client_of(ip("10.0.0.1"), &HeaderMap::new(), &trusted),
            ip("10.0.0.1")
        );
        // No trusted proxies: the header is ignored.
        assert_eq!(
            client_of(ip("10.0.0.1"), &xff(&["203.0.113.9"]), &[]),
            ip("10.0.0.1")
        );
    }

    proptest! {
        /// Whatever a client writes in the header, the answer is the peer or an address that
        /// appears in the header, and an untrusted peer is always itself.
        #[test]
        fn any_header_gives_the_peer_or_one_of_its_addresses(
            header in "[0-9a-f:.,\\[\\] ]{0,200}",
            peer_trusted in any::<bool>(),
        ) {
            let trusted = nets(&["10.0.0.0/8"]);
            let peer = if peer_trusted { ip("10.0.0.1") } else { ip("198.51.100.4") };
            let Ok(value) = HeaderValue::from_str(&header) else { return Ok(()) };
            let mut h = HeaderMap::new();
            h.insert("x-forwarded-for", value);
            let client = client_of(peer, &h, &trusted);
            if peer_trusted {
                let named = header.split(',').filter_map(parse_hop).any(|a| a == client);
                prop_assert!(client == peer || named);
            } else {
                prop_assert_eq!(client, peer);
            }
        }

        /// A chain of any length is cut to MAX_FORWARDED_HOPS hops from the right.
        #[test]
        fn a_long_chain_is_cut(hops in 0usize..200) {
            let trusted = nets(&["10.0.0.0/8"]);
            let chain: Vec<String> = std::iter::once("203.0.113.9".to_owned())
                .chain((0..hops).map(|i| format!("10.0.{}.{}", i / 250, i % 250 + 1)))
                .collect();
            let h = xff(&[&chain.join(",")]);
            let client = client_of(ip("10.0.0.1"), &h, &trusted);
            if hops < MAX_FORWARDED_HOPS {
                prop_assert_eq!(client, ip("203.0.113.9"));
            } else {
                prop_assert!(is_trusted(client, &trusted));
            }
        }
    }
}
