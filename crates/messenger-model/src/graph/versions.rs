//! The Graph API versions the product knows, as data: when each was introduced and until when
//! Meta serves it. Decision 0021 (docs/decisions) records why the default is what it is.
//!
//! Source: Meta's Graph API changelog ("Available Graph API Versions"). A version stops working
//! two years after the next one is introduced; calls to an expired version are answered by the
//! oldest one still served.

/// One Graph API version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GraphVersion {
    /// The path segment, `v27.0`.
    pub name: &'static str,
    /// When Meta introduced it (`YYYY-MM-DD`).
    pub introduced: &'static str,
    /// The last day Meta serves it (`YYYY-MM-DD`); `None` while Meta has not said (the newest
    /// versions: two years after the next one is introduced).
    pub available_until: Option<&'static str>,
}

/// Every version the product accepts, newest first: those Meta still served when the product
/// was released.
pub const GRAPH_VERSIONS: &[GraphVersion] = &[
    GraphVersion {
        name: "v27.0",
        introduced: "2026-11-04",
        available_until: None,
    },
    GraphVersion {
        name: "v26.0",
        introduced: "2026-07-29",
        available_until: Some("2028-11-04"),
    },
    GraphVersion {
        name: "v25.0",
        introduced: "2026-02-18",
        available_until: Some("2028-07-29"),
    },
    GraphVersion {
        name: "v24.0",
        introduced: "2025-10-08",
        available_until: Some("2028-02-18"),
    },
    GraphVersion {
        name: "v23.0",
        introduced: "2025-05-29",
        available_until: Some("2027-10-08"),
    },
    GraphVersion {
        name: "v22.0",
        introduced: "2025-01-21",
        available_until: Some("2027-05-20"),
    },
    GraphVersion {
        name: "v21.0",
        introduced: "2024-10-02",
        available_until: Some("2027-01-21"),
    },
];

/// The newest version the product knows.
pub const NEWEST_GRAPH_VERSION: &str = GRAPH_VERSIONS[0].name;

/// The version `name` (`v26.0`), if the product accepts it.
///
/// ```
/// use messenger_model::graph::{graph_version, NEWEST_GRAPH_VERSION};
/// assert_eq!(NEWEST_GRAPH_VERSION, "v27.0");
/// assert_eq!(graph_version("v27.0").map(|v| v.introduced), Some("2026-11-04"));
/// assert!(graph_version("v20.0").is_none());
/// ```
pub fn graph_version(name: &str) -> Option<&'static GraphVersion> {
    GRAPH_VERSIONS.iter().find(|v| v.name == name)
}

/// `vN.M` as numbers, when `name` has that form.
///
/// ```
/// use messenger_model::graph::parse_graph_version;
/// assert_eq!(parse_graph_version("v27.0"), Some((27, 0)));
/// assert_eq!(parse_graph_version("v2.11"), Some((2, 11)));
/// assert_eq!(parse_graph_version("27.0"), None);
/// ```
pub fn parse_graph_version(name: &str) -> Option<(u32, u32)> {
    let (major, minor) = name.strip_prefix('v')?.split_once('.')?;
    let number = |s: &str| {
        (!s.is_empty() && s.len() <= 4 && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse().ok())
            .flatten()
    };
    Some((number(major)?, number(minor)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn newest_first_and_well_formed() {
        let parsed: Vec<_> = GRAPH_VERSIONS
            .iter()
            .map(|v| parse_graph_version(v.name).expect(v.name))
            .collect();
        assert!(parsed.windows(2).all(|w| w[0] > w[1]), "{parsed:?}");
        assert!(GRAPH_VERSIONS[1..]
            .iter()
            .all(|v| v.available_until.is_some()));
    }
}
