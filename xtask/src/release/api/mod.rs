//! API compatibility of a crate against its last release, compared by
//! xtask itself from rustdoc JSON (see `docs/releasing.md`, "API check").
//!
//! The current API is built from the working tree, the baseline from the
//! last release's tag checked out in a temporary `git worktree`, both with
//! every feature, into `<target>/release-api/current` and
//! `<target>/release-api/baseline` (a new checkout is newer than anything
//! built before, so the baseline is always rebuilt from it). [`diff::compare`] lists what
//! breaks; a breaking change under a bump that does not allow one refuses
//! the release.
//!
//! Not checked: sealed traits (a required item added to a sealed trait is
//! reported as breaking), changes in what a generic bound or a trait impl
//! allows beyond their text (any change of a signature's text counts, so
//! renaming a type parameter or loosening a bound is reported), items of
//! other crates re-exported here (only their path), constant values, macro
//! bodies, `#[doc(hidden)]` items, behaviour, and features one at a time.

mod diff;
mod render;
mod rustdoc;
mod surface;

use std::path::Path;

use anyhow::{Context, Result};
use cargo_metadata::Package;
use semver::Version;

use super::git::Git;
use super::history::LastRelease;

/// The outcome of a crate's API check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// No comparison was made, and why.
    NotChecked(String),
    /// Compared with the API of `baseline`.
    Compared {
        /// The tag compared with.
        baseline: String,
        /// What breaks, one line an item.
        breaking: Vec<String>,
        /// What was added, one line an item.
        added: Vec<String>,
    },
}

/// Whether going from `old` to `new` allows breaking changes: a new major
/// version, a new minor while the major is 0, any new version while both
/// are 0.
pub(crate) fn allows_breaking(old: &Version, new: &Version) -> bool {
    if old.major > 0 || new.major > 0 {
        new.major > old.major
    } else if old.minor > 0 || new.minor > 0 {
        new.minor > old.minor
    } else {
        new.patch > old.patch
    }
}

/// Compares the API of `package` in the workspace at `root` with its API at
/// `baseline`, building both under `target_dir`.
pub(crate) fn check(
    git: &Git,
    root: &Path,
    package: &Package,
    baseline: &LastRelease,
    target_dir: &Path,
) -> Result<Verdict> {
    let Some(lib) = package.targets.iter().find(|t| t.is_lib()) else {
        return Ok(Verdict::NotChecked("no library target".to_string()));
    };
    let name = package.name.as_str();
    let current = rustdoc::build(root, name, &lib.name, &target_dir.join("current"))
        .with_context(|| format!("building the API of {name} from the working tree"))?;
    let worktree = rustdoc::Worktree::check_out(
        git,
        &baseline.tag,
        target_dir.join("worktrees").join(&baseline.tag),
    )?;
    let old = rustdoc::build(
        worktree.path(),
        name,
        &lib.name,
        &target_dir.join("baseline"),
    )
    .with_context(|| format!("building the API of {name} at {}", baseline.tag))?;
    drop(worktree);
    let differences = diff::compare(&surface::read(&old)?, &surface::read(&current)?);
    Ok(Verdict::Compared {
        baseline: baseline.tag.clone(),
        breaking: differences.breaking,
        added: differences.added,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> Version {
        Version::parse(s).unwrap()
    }

    #[test]
    fn breaking_changes_need_the_leftmost_non_zero_part_to_move() {
        assert!(allows_breaking(&v("1.2.3"), &v("2.0.0")));
        assert!(!allows_breaking(&v("1.2.3"), &v("1.3.0")));
        assert!(allows_breaking(&v("0.2.3"), &v("0.3.0")));
        assert!(!allows_breaking(&v("0.2.3"), &v("0.2.4")));
        assert!(allows_breaking(&v("0.2.3"), &v("1.0.0")));
        assert!(allows_breaking(&v("0.0.3"), &v("0.0.4")));
        assert!(!allows_breaking(&v("0.1.0"), &v("0.1.0")));
    }
}
