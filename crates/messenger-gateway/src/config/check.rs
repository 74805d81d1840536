//! Checking a [`RawConfig`] into a [`Config`]: defaults, ranges, required values, uniqueness.
//! Every problem is collected (not just the first), each naming its key. One space's own
//! settings are checked in [`space`]; whether spaces clash with each other, here.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::time::Duration;

use super::raw::RawConfig;
use super::{
    BodyLimits, Config, ConfigIssue, DatabaseConfig, DatabaseUrl, DispatchConfig, KeyDigest,
    Secret, ServerConfig, DEFAULT_DATABASE_URL,
};

mod facebook;
mod space;

/// The smallest API or admin key.
pub(crate) const MIN_API_KEY_CHARS: usize = 16;

struct Checker<'a> {
    issues: &'a mut Vec<ConfigIssue>,
}

impl Checker<'_> {
    fn issue(&mut self, key: &str, problem: impl Into<String>) {
        self.issues.push(ConfigIssue::new(key, problem));
    }

    /// A required, non-blank string.
    fn required(&mut self, key: &str, value: Option<String>) -> Option<String> {
        match value {
            Some(v) if !v.trim().is_empty() => Some(v),
            Some(_) => {
                self.issue(key, "is empty");
                None
            }
            None => {
                self.issue(key, "missing");
                None
            }
        }
    }

    /// A number in `min..=max`, or `default`.
    fn range(&mut self, key: &str, value: Option<u64>, default: u64, min: u64, max: u64) -> u64 {
        match value {
            None => default,
            Some(v) if v < min => {
                self.issue(key, format!("{v} is under {min}"));
                default
            }
            Some(v) if v > max => {
                self.issue(key, format!("{v} is over {max}"));
                default
            }
            Some(v) => v,
        }
    }

    /// Keys given as they are (`keys`, `admin_keys`): each at least [`MIN_API_KEY_CHARS`]
    /// visible ASCII characters.
    fn plain_keys(&mut self, key: &str, what: &str, list: Vec<String>) -> Vec<Secret> {
        for (i, k) in list.iter().enumerate() {
            if !super::key_is_acceptable(k) {
                self.issue(
                    &format!("{key}[{i}]"),
                    format!("{what} must be at least {MIN_API_KEY_CHARS} visible ASCII characters"),
                );
            }
        }
        list.into_iter().map(Secret::new).collect()
    }

    /// Keys given as SHA-256 digests (`keys_sha256`, `admin_keys_sha256`): 64 hex digits each.
    fn key_digests(&mut self, key: &str, list: Vec<String>) -> Vec<KeyDigest> {
        let mut out = Vec::new();
        for (i, hex_digits) in list.iter().enumerate() {
            match KeyDigest::from_hex(hex_digits.trim()) {
                Some(d) => out.push(d),
                None => self.issue(
                    &format!("{key}[{i}]"),
                    format!(
                        "is not a SHA-256 digest: give 64 hex digits (got {} characters); \
                         make one with `messenger-gateway hash-key`",
                        hex_digits.trim().len()
                    ),
                ),
            }
        }
        out
    }

    fn http_url(&mut self, key: &str, value: &str) -> bool {
        match url::Url::parse(value) {
            Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => true,
            _ => {
                self.issue(key, "is not an http(s) URL");
                false
            }
        }
    }
}

fn to_usize(n: u64) -> usize {
    usize::try_from(n).unwrap_or(usize::MAX)
}

fn to_u32(n: u64) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// Checks everything; `None` when something required could not be made.
pub(crate) fn check(raw: RawConfig, issues: &mut Vec<ConfigIssue>) -> Option<Config> {
    let mut c = Checker { issues };
    let server = server(&mut c, raw.server);
    let database = database(&mut c, raw.database);
    let facebook = facebook::facebook(&mut c, raw.facebook);
    let dispatch = dispatch(&mut c, raw.dispatch);
    if raw.spaces.is_empty() {
        c.issue("spaces", "missing: configure at least one [[spaces]]");
    }
    let mut spaces = Vec::new();
    let (mut ids, mut pages, mut keys) = (HashSet::new(), HashSet::new(), HashSet::new());
    for (i, raw_space) in raw.spaces.into_iter().enumerate() {
        let key = format!("spaces[{i}]");
        if let Some(s) = space::check(&mut c, &key, raw_space) {
            if !ids.insert(s.id.clone()) {
                c.issue(
                    &format!("{key}.id"),
                    format!("{:?} is used by another space", s.id),
                );
            }
            if !pages.insert(s.page_id.clone()) {
                c.issue(
                    &format!("{key}.page_id"),
                    "the page is already in another space",
                );
            }
            let digests = s.keys.iter().map(|k| KeyDigest::of(k.expose()));
            let named = (0..s.keys.len()).map(|k| format!("{key}.keys[{k}]"));
            let hashed = (0..s.keys_sha256.len()).map(|k| format!("{key}.keys_sha256[{k}]"));
            for (name, digest) in named
                .chain(hashed)
                .zip(digests.chain(s.keys_sha256.iter().copied()))
            {
                if !keys.insert(digest) {
                    c.issue(
                        &name,
                        "the key is used twice (each key belongs to one space)",
                    );
                }
            }
            spaces.push(s);
        }
    }
    if let Some(server) = &server {
        let digests = server.admin_keys.iter().map(|k| KeyDigest::of(k.expose()));
        let named = (0..server.admin_keys.len()).map(|k| format!("server.admin_keys[{k}]"));
        let hashed =
            (0..server.admin_keys_sha256.len()).map(|k| format!("server.admin_keys_sha256[{k}]"));
        for (name, digest) in named
            .chain(hashed)
            .zip(digests.chain(server.admin_keys_sha256.iter().copied()))
        {
            if !keys.insert(digest) {
                c.issue(
                    &name,
                    "the key is used twice (an admin key must not be an API key or repeated)",
                );
            }
        }
    }
    Some(Config {
        server: server?,
        database,
        facebook: facebook?,
        dispatch,
        spaces,
    })
}

fn server(c: &mut Checker<'_>, raw: super::raw::RawServer) -> Option<ServerConfig> {
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
        raw.admin_keys.unwrap_or_default(),
    );
    let admin_keys_sha256 = c.key_digests(
        "server.admin_keys_sha256",
        raw.admin_keys_sha256.unwrap_or_default(),
    );
    let d = BodyLimits::default();
    let max = 1 << 30;
    let limits = BodyLimits {
        message: to_usize(c.range(
            "server.message_body_limit",
            raw.message_body_limit,
            d.message as u64,
            1024,
            max,
        )),
        batch: to_usize(c.range(
            "server.batch_body_limit",
            raw.batch_body_limit,
            d.batch as u64,
            1024,
            max,
        )),
        profile: to_usize(c.range(
            "server.profile_body_limit",
            raw.profile_body_limit,
            d.profile as u64,
            1024,
            max,
        )),
        webhook: to_usize(c.range(
            "server.webhook_body_limit",
            raw.webhook_body_limit,
            d.webhook as u64,
            1024,
            max,
        )),
        webhook_read_timeout: Duration::from_secs(c.range(
            "server.webhook_read_timeout_secs",
            raw.webhook_read_timeout_secs,
            d.webhook_read_timeout.as_secs(),
            1,
            300,
        )),
        webhook_concurrent_reads: to_usize(c.range(
            "server.webhook_concurrent_reads",
            raw.webhook_concurrent_reads,
            d.webhook_concurrent_reads as u64,
            1,
            10_000,
        )),
        large_batches: to_usize(c.range(
            "server.large_batches",
            raw.large_batches,
            d.large_batches as u64,
            1,
            1_000,
        )),
    };
    let grace = c.range(
        "server.shutdown_grace_secs",
        raw.shutdown_grace_secs,
        30,
        0,
        3600,
    );
    let instance_id = match raw.instance_id {
        Some(id) if id.trim().is_empty() || id.len() > 64 => {
            c.issue("server.instance_id", "must be 1 to 64 characters");
            random_instance_id()
        }
        Some(id) => id,
        None => random_instance_id(),
    };
    Some(ServerConfig {
        listen: listen?,
        ops_listen,
        admin_keys,
        admin_keys_sha256,
        limits,
        max_in_flight: to_usize(c.range(
            "server.max_in_flight",
            raw.max_in_flight,
            1024,
            1,
            1_000_000,
        )),
        shutdown_grace: Duration::from_secs(grace),
        instance_id,
    })
}

/// `gw-` and 8 hex digits from the clock and the process id: distinct enough for lease holders.
fn random_instance_id() -> String {
    use sha2::{Digest, Sha256};
    let seed = format!("{:?}:{}", std::time::SystemTime::now(), std::process::id());
    format!("gw-{}", &hex::encode(Sha256::digest(seed.as_bytes()))[..8])
}

fn database(c: &mut Checker<'_>, raw: super::raw::RawDatabase) -> DatabaseConfig {
    let url = DatabaseUrl::new(raw.url.unwrap_or_else(|| DEFAULT_DATABASE_URL.to_owned()));
    if let Err(problem) = crate::database::check_backend(url.expose()) {
        c.issue("database.url", problem);
    }
    if let Some(schema) = &raw.schema {
        let ok = !schema.is_empty()
            && schema.len() <= 63
            && schema
                .chars()
                .all(|ch| ch.is_ascii_alphanumeric() || ch == '_')
            && !schema.starts_with(|ch: char| ch.is_ascii_digit());
        if !ok {
            c.issue(
                "database.schema",
                "use 1 to 63 letters, digits and _, not starting with a digit",
            );
        }
        if url
            .scheme()
            .as_deref()
            .is_some_and(|s| !s.starts_with("postgres"))
        {
            c.issue("database.schema", "is only for PostgreSQL");
        }
    }
    let max_connections = raw.max_connections.unwrap_or(4);
    if max_connections == 0 || max_connections > 256 {
        c.issue(
            "database.max_connections",
            format!("{max_connections} is not within 1..=256"),
        );
    }
    let max_connections = u32::try_from(max_connections.clamp(1, 256)).unwrap_or(4);
    DatabaseConfig {
        url,
        schema: raw.schema,
        max_connections,
    }
}

fn dispatch(c: &mut Checker<'_>, raw: super::raw::RawDispatch) -> DispatchConfig {
    DispatchConfig {
        workers: to_usize(c.range("dispatch.workers", raw.workers, 4, 1, 64)),
        batch_size: to_usize(c.range("dispatch.batch_size", raw.batch_size, 64, 1, 1000)),
        poll_interval: Duration::from_millis(c.range(
            "dispatch.poll_interval_ms",
            raw.poll_interval_ms,
            500,
            10,
            60_000,
        )),
        lease: Duration::from_secs(c.range("dispatch.lease_secs", raw.lease_secs, 60, 5, 3600)),
        recover_interval: Duration::from_secs(c.range(
            "dispatch.recover_interval_secs",
            raw.recover_interval_secs,
            30,
            1,
            3600,
        )),
        max_attempts: to_u32(c.range("dispatch.max_attempts", raw.max_attempts, 10, 1, 100)),
        retry_initial: Duration::from_millis(c.range(
            "dispatch.retry_initial_ms",
            raw.retry_initial_ms,
            1000,
            1,
            3_600_000,
        )),
        retry_max: Duration::from_secs(c.range(
            "dispatch.retry_max_secs",
            raw.retry_max_secs,
            300,
            1,
            86_400,
        )),
        usage_pause_percent: to_u32(c.range(
            "dispatch.usage_pause_percent",
            raw.usage_pause_percent,
            90,
            1,
            100,
        )),
    }
}
