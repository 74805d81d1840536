//! Checking a [`RawConfig`] into a [`Config`]: defaults, ranges, required values, uniqueness.
//! Every problem is collected (not just the first), each naming its key. One space's own
//! settings are checked in [`space`]; whether spaces clash with each other, here.

use std::collections::HashSet;
use std::time::Duration;

use super::raw::RawConfig;
use super::{
    Config, ConfigIssue, DatabaseConfig, DatabaseUrl, DispatchConfig, KeyDigest, Secret,
    DEFAULT_DATABASE_URL,
};

mod facebook;
mod instagram;
mod server;
mod space;

/// The smallest API or admin key.
pub(crate) const MIN_API_KEY_CHARS: usize = 16;

pub(crate) struct Checker<'a> {
    issues: &'a mut Vec<ConfigIssue>,
}

impl Checker<'_> {
    pub(crate) fn issue(&mut self, key: &str, problem: impl Into<String>) {
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
    pub(crate) fn range(
        &mut self,
        key: &str,
        value: Option<u64>,
        default: u64,
        min: u64,
        max: u64,
    ) -> u64 {
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

pub(crate) fn to_u32(n: u64) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// Checks everything; `None` when something required could not be made.
pub(crate) fn check(raw: RawConfig, issues: &mut Vec<ConfigIssue>) -> Option<Config> {
    let mut c = Checker { issues };
    let server = server::server(&mut c, raw.server);
    let database = database(&mut c, raw.database);
    let facebook = facebook::facebook(&mut c, raw.facebook);
    let dispatch = dispatch(&mut c, raw.dispatch);
    let retention = super::retention::retention(&mut c, raw.retention);
    if raw.spaces.is_empty() {
        c.issue("spaces", "missing: configure at least one [[spaces]]");
    }
    let mut spaces = Vec::new();
    let (mut ids, mut pages, mut keys) = (HashSet::new(), HashSet::new(), HashSet::new());
    let mut instagram = instagram::Across {
        app_secret: facebook
            .as_ref()
            .is_none_or(|f| f.instagram_app_secret.is_some()),
        accounts: HashSet::new(),
    };
    for (i, raw_space) in raw.spaces.into_iter().enumerate() {
        let key = format!("spaces[{i}]");
        if let Some(s) = space::check(&mut c, &key, raw_space, &retention.defaults, &mut instagram)
        {
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
        retention,
    })
}

fn database(c: &mut Checker<'_>, raw: super::raw::RawDatabase) -> DatabaseConfig {
    let url = DatabaseUrl::new(raw.url.unwrap_or_else(|| DEFAULT_DATABASE_URL.to_owned()));
    if let Err(problem) = super::check_backend(url.expose()) {
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
