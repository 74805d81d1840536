//! Checking `[server]`: the listeners, admin and metrics keys, body limits, how many requests
//! are served at once (in all, per space, for Meta's webhook) and the connection settings.

use std::net::SocketAddr;
use std::time::Duration;

use super::{to_u32, to_usize, Checker};
use crate::config::raw::RawServer;
use crate::config::{BodyLimits, ConnectionLimits, ServerConfig};

/// Checks `[server]`; `None` when `listen` is not an address.
pub(super) fn server(c: &mut Checker<'_>, mut raw: RawServer) -> Option<ServerConfig> {
    let listen = match raw
        .listen
        .as_deref()
        .unwrap_or("0.0.0.0:8080")
        .parse::<SocketAddr>()
    {
        Ok(a) => Some(a),
        Err(_) => {
            c.issue(
                "server.listen",
                "is not an address and port like 0.0.0.0:8080",
            );
            None
        }
    };
    let ops_listen = match raw.ops_listen.as_deref().map(str::parse::<SocketAddr>) {
        None => None,
        Some(Ok(a)) => {
            if listen == Some(a) && a.port() != 0 {
                c.issue("server.ops_listen", "is the same address as server.listen");
            }
            Some(a)
        }
        Some(Err(_)) => {
            c.issue(
                "server.ops_listen",
                "is not an address and port like 127.0.0.1:9090",
            );
            None
        }
    };
    let admin_keys = c.plain_keys(
        "server.admin_keys",
        "an admin key",
        raw.admin_keys.take().unwrap_or_default(),
    );
    let admin_keys_sha256 = c.key_digests(
        "server.admin_keys_sha256",
        raw.admin_keys_sha256.take().unwrap_or_default(),
    );
    let metrics_keys = c.plain_keys(
        "server.metrics_keys",
        "a metrics key",
        raw.metrics_keys.take().unwrap_or_default(),
    );
    let limits = body_limits(c, &raw);
    let grace = c.range(
        "server.shutdown_grace_secs",
        raw.shutdown_grace_secs,
        30,
        0,
        3600,
    );
    let instance_id = match raw.instance_id.take() {
        Some(id) if id.trim().is_empty() || id.len() > 64 => {
            c.issue("server.instance_id", "must be 1 to 64 characters");
            None
        }
        other => other,
    };
    let state_dir = match raw.state_dir.take() {
        Some(dir) if dir.trim().is_empty() => {
            c.issue("server.state_dir", "must be a directory path");
            std::path::PathBuf::from("./data")
        }
        Some(dir) => std::path::PathBuf::from(dir),
        None => std::path::PathBuf::from("./data"),
    };
    let max_in_flight = to_usize(c.range(
        "server.max_in_flight",
        raw.max_in_flight,
        1024,
        1,
        1_000_000,
    ));
    let space_max_in_flight = share(
        c,
        ("server.space_max_in_flight", raw.space_max_in_flight, 256),
        ("server.max_in_flight", max_in_flight),
    );
    let connections = connection_limits(c, &mut raw);
    Some(ServerConfig {
        listen: listen?,
        ops_listen,
        admin_keys,
        admin_keys_sha256,
        metrics_keys,
        limits,
        max_in_flight,
        space_max_in_flight,
        connections,
        shutdown_grace: Duration::from_secs(grace),
        instance_id,
        state_dir,
    })
}

fn body_limits(c: &mut Checker<'_>, raw: &RawServer) -> BodyLimits {
    let d = BodyLimits::default();
    let max = 1 << 30;
    let mut size = |key: &str, value: Option<u64>, default: usize| {
        to_usize(c.range(key, value, default as u64, 1024, max))
    };
    let message = size(
        "server.message_body_limit",
        raw.message_body_limit,
        d.message,
    );
    let batch = size("server.batch_body_limit", raw.batch_body_limit, d.batch);
    let profile = size(
        "server.profile_body_limit",
        raw.profile_body_limit,
        d.profile,
    );
    let webhook = size(
        "server.webhook_body_limit",
        raw.webhook_body_limit,
        d.webhook,
    );
    let webhook_concurrent_reads = to_usize(c.range(
        "server.webhook_concurrent_reads",
        raw.webhook_concurrent_reads,
        d.webhook_concurrent_reads as u64,
        1,
        10_000,
    ));
    let webhook_reads_per_client = share(
        c,
        (
            "server.webhook_reads_per_client",
            raw.webhook_reads_per_client,
            d.webhook_reads_per_client,
        ),
        ("server.webhook_concurrent_reads", webhook_concurrent_reads),
    );
    let large_batches = to_usize(c.range(
        "server.large_batches",
        raw.large_batches,
        d.large_batches as u64,
        1,
        1_000,
    ));
    let space_large_batches = share(
        c,
        (
            "server.space_large_batches",
            raw.space_large_batches,
            d.space_large_batches,
        ),
        ("server.large_batches", large_batches),
    );
    BodyLimits {
        message,
        batch,
        profile,
        webhook,
        webhook_read_timeout: Duration::from_secs(c.range(
            "server.webhook_read_timeout_secs",
            raw.webhook_read_timeout_secs,
            d.webhook_read_timeout.as_secs(),
            1,
            300,
        )),
        webhook_concurrent_reads,
        webhook_reads_per_client,
        webhook_first_byte_timeout: Duration::from_millis(c.range(
            "server.webhook_first_byte_timeout_ms",
            raw.webhook_first_byte_timeout_ms,
            millis(d.webhook_first_byte_timeout),
            100,
            60_000,
        )),
        large_batches,
        space_large_batches,
    }
}

/// A share of a whole (one space's, one address's): `(key, value, default)`, at least 1 and at
/// most the whole `(key, value)`; the default is cut to the whole.
fn share(
    c: &mut Checker<'_>,
    (key, value, default): (&str, Option<u64>, usize),
    (whole_key, whole): (&str, usize),
) -> usize {
    let n = to_usize(c.range(key, value, default.min(whole) as u64, 1, 1_000_000));
    if n > whole {
        c.issue(
            key,
            format!("{n} is over {whole_key} ({whole}): a share cannot be more than the whole"),
        );
    }
    n
}

fn connection_limits(c: &mut Checker<'_>, raw: &mut RawServer) -> ConnectionLimits {
    let d = ConnectionLimits::default();
    let mut trusted_proxies = Vec::new();
    for (i, text) in raw
        .trusted_proxies
        .take()
        .unwrap_or_default()
        .iter()
        .enumerate()
    {
        match parse_network(text.trim()) {
            Some(net) => trusted_proxies.push(net),
            None => c.issue(
                &format!("server.trusted_proxies[{i}]"),
                "is not an address or a network like 10.0.0.0/8 or fd00::/8",
            ),
        }
    }
    ConnectionLimits {
        header_read_timeout: Duration::from_secs(c.range(
            "server.header_read_timeout_secs",
            raw.header_read_timeout_secs,
            d.header_read_timeout.as_secs(),
            1,
            300,
        )),
        idle_timeout: Duration::from_secs(c.range(
            "server.idle_timeout_secs",
            raw.idle_timeout_secs,
            d.idle_timeout.as_secs(),
            1,
            3600,
        )),
        http2_keep_alive_interval: Duration::from_secs(c.range(
            "server.http2_keep_alive_interval_secs",
            raw.http2_keep_alive_interval_secs,
            d.http2_keep_alive_interval.as_secs(),
            1,
            3600,
        )),
        http2_max_concurrent_streams: to_u32(c.range(
            "server.http2_max_concurrent_streams",
            raw.http2_max_concurrent_streams,
            u64::from(d.http2_max_concurrent_streams),
            1,
            10_000,
        )),
        max_connections: to_usize(c.range(
            "server.max_connections",
            raw.max_connections,
            d.max_connections as u64,
            1,
            1_000_000,
        )),
        max_connections_per_client: to_usize(c.range(
            "server.max_connections_per_client",
            raw.max_connections_per_client,
            d.max_connections_per_client as u64,
            1,
            1_000_000,
        )),
        trusted_proxies,
    }
}

/// `10.0.0.0/8`, `fd00::/8`, or a single address (`192.0.2.7`: a /32).
fn parse_network(text: &str) -> Option<ipnet::IpNet> {
    text.parse::<ipnet::IpNet>()
        .ok()
        .or_else(|| {
            text.parse::<std::net::IpAddr>()
                .ok()
                .map(ipnet::IpNet::from)
        })
        .map(|n| n.trunc())
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::parse_network;

    #[test]
    fn networks_and_single_addresses() {
        assert_eq!(
            parse_network("10.1.2.3/8").unwrap().to_string(),
            "10.0.0.0/8"
        );
        assert_eq!(
            parse_network("192.0.2.7").unwrap().to_string(),
            "192.0.2.7/32"
        );
        assert_eq!(parse_network("fd00::/8").unwrap().to_string(), "fd00::/8");
        assert!(parse_network("10.0.0.0/33").is_none());
        assert!(parse_network("proxy.internal").is_none());
    }
}
