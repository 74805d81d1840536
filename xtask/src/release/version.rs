//! Version bumps: `major`, `minor`, `patch` or an explicit `X.Y.Z`, and how
//! a dependency's version requirement follows a bump.

use std::fmt;
use std::str::FromStr;

use anyhow::{bail, Context, Result};
use semver::Version;

/// How to compute a crate's next version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Bump {
    /// `X.Y.Z` -> `(X+1).0.0`.
    Major,
    /// `X.Y.Z` -> `X.(Y+1).0`; the breaking bump while `X` is 0.
    Minor,
    /// `X.Y.Z` -> `X.Y.(Z+1)`.
    Patch,
    /// Exactly this version, which must be greater than the current one.
    Exact(Version),
}

impl Bump {
    /// The version after applying this bump to `current`.
    ///
    /// Pre-release and build metadata are dropped by the named bumps. An
    /// exact version must be greater than `current`.
    pub(crate) fn apply(&self, current: &Version) -> Result<Version> {
        let next = match self {
            Bump::Major => Version::new(current.major + 1, 0, 0),
            Bump::Minor => Version::new(current.major, current.minor + 1, 0),
            Bump::Patch => Version::new(current.major, current.minor, current.patch + 1),
            Bump::Exact(version) => {
                if version <= current {
                    bail!(
                        "new version {version} is not greater than the current version {current}"
                    );
                }
                version.clone()
            }
        };
        Ok(next)
    }
}

impl FromStr for Bump {
    type Err = anyhow::Error;

    fn from_str(s: &str) -> Result<Self> {
        match s {
            "major" => Ok(Bump::Major),
            "minor" => Ok(Bump::Minor),
            "patch" => Ok(Bump::Patch),
            other => {
                let version = Version::parse(other).with_context(|| {
                    format!("`{other}` is neither major, minor, patch nor a version X.Y.Z")
                })?;
                Ok(Bump::Exact(version))
            }
        }
    }
}

impl fmt::Display for Bump {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Bump::Major => f.write_str("major"),
            Bump::Minor => f.write_str("minor"),
            Bump::Patch => f.write_str("patch"),
            Bump::Exact(version) => write!(f, "{version}"),
        }
    }
}

/// The requirement string that replaces `old` once the dependency is at
/// `new`: the same operator (none, `^`, `~` or `=`) followed by the full new
/// version, so `"0.1.0"` becomes `"0.2.0"` and `"=0.1.0"` becomes `"=0.2.0"`.
///
/// Ranges (`>=0.1, <0.3`), wildcards and comparison operators are refused:
/// they need a human decision.
pub(crate) fn updated_requirement(old: &str, new: &Version) -> Result<String> {
    let trimmed = old.trim();
    let (operator, rest) = match trimmed.chars().next() {
        Some(op @ ('^' | '~' | '=')) => (op.to_string(), trimmed[1..].trim_start()),
        _ => (String::new(), trimmed),
    };
    let plain = !rest.is_empty()
        && rest
            .split('.')
            .all(|part| !part.is_empty() && part.chars().all(|c| c.is_ascii_digit()))
        && rest.split('.').count() <= 3;
    if !plain {
        bail!("version requirement \"{old}\" is not a plain version; update it by hand");
    }
    semver::VersionReq::parse(trimmed)
        .with_context(|| format!("invalid version requirement \"{old}\""))?;
    Ok(format!("{operator}{new}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> Version {
        Version::parse(s).unwrap()
    }

    #[test]
    fn named_bumps() {
        let current = v("0.1.3");
        assert_eq!(Bump::Major.apply(&current).unwrap(), v("1.0.0"));
        assert_eq!(Bump::Minor.apply(&current).unwrap(), v("0.2.0"));
        assert_eq!(Bump::Patch.apply(&current).unwrap(), v("0.1.4"));
        assert_eq!(Bump::Patch.apply(&v("1.0.0-rc.1")).unwrap(), v("1.0.1"));
    }

    #[test]
    fn exact_versions_must_move_forward() {
        let current = v("0.2.0");
        assert_eq!(
            Bump::Exact(v("0.3.0-alpha.1")).apply(&current).unwrap(),
            v("0.3.0-alpha.1")
        );
        assert!(Bump::Exact(v("0.2.0")).apply(&current).is_err());
        assert!(Bump::Exact(v("0.1.9")).apply(&current).is_err());
    }

    #[test]
    fn parses_bumps() {
        assert_eq!("major".parse::<Bump>().unwrap(), Bump::Major);
        assert_eq!("minor".parse::<Bump>().unwrap(), Bump::Minor);
        assert_eq!("patch".parse::<Bump>().unwrap(), Bump::Patch);
        assert_eq!("1.2.3".parse::<Bump>().unwrap(), Bump::Exact(v("1.2.3")));
        assert!("1.2".parse::<Bump>().is_err());
        assert!("huge".parse::<Bump>().is_err());
    }

    #[test]
    fn requirements_keep_their_operator() {
        let new = v("0.2.0");
        assert_eq!(updated_requirement("0.1.0", &new).unwrap(), "0.2.0");
        assert_eq!(updated_requirement("0.1", &new).unwrap(), "0.2.0");
        assert_eq!(updated_requirement("^0.1.0", &new).unwrap(), "^0.2.0");
        assert_eq!(updated_requirement("=0.1.0", &new).unwrap(), "=0.2.0");
        assert_eq!(updated_requirement("~0.1", &new).unwrap(), "~0.2.0");
        assert!(updated_requirement(">=0.1, <0.3", &new).is_err());
        assert!(updated_requirement("0.1.*", &new).is_err());
        assert!(updated_requirement("*", &new).is_err());
    }
}
