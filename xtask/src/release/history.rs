//! What happened to a crate since its last release: the last tag, the
//! commits that touched the crate's directory since, and the level of change
//! those commits call for.
//!
//! # The level rule
//!
//! Commit subjects here read `<scope>: <what changed>`, the scope being a
//! crate, a module or a topic (`messenger-gateway changelog: …`,
//! `load harness: …`, `xtask: …`). The scope is the text before the first
//! `": "`. A commit calls for
//!
//! - a **breaking** release when its scope ends in `!` (`messenger-model!:
//!   …`, `feat!: …`) or its message holds `BREAKING CHANGE` (or
//!   `BREAKING-CHANGE`);
//! - a **feature** release when a word of its scope is `feat`
//!   (`messenger-model feat: …`, `feat(model): …`);
//! - a **fix** (patch) release otherwise.
//!
//! A scope that names another workspace crate (its name or its directory)
//! speaks for that crate only: `b!: …` in a commit that also touches `a`
//! counts as a fix for `a`. A crate takes the highest level of its commits.

use std::collections::BTreeSet;
use std::fmt;

use anyhow::Result;
use semver::Version;

use super::git::{Commit, Git};
use super::tag_name;
use super::version::Bump;

/// A crate's last release: its highest `<crate>-v<version>` tag that `HEAD`
/// contains.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LastRelease {
    /// The tag, `a-v0.1.0`.
    pub tag: String,
    /// The version it names.
    pub version: Version,
}

/// The last release of `crate_name`, or `None` when it has no tag yet.
/// Tags whose suffix is not a version are ignored.
pub(crate) fn last_release(git: &Git, crate_name: &str) -> Result<Option<LastRelease>> {
    // The tags `tag_name` makes: `<crate>-v<version>`.
    let prefix = tag_name(crate_name, &Version::new(0, 0, 0));
    let prefix = prefix.strip_suffix("0.0.0").unwrap_or(&prefix);
    let last = git
        .merged_tags(&format!("{prefix}*"))?
        .into_iter()
        .filter_map(|tag| {
            let version = Version::parse(tag.strip_prefix(prefix)?).ok()?;
            Some(LastRelease { tag, version })
        })
        .max_by(|x, y| x.version.cmp(&y.version));
    Ok(last)
}

/// The level of change a commit calls for; ordered, so a crate takes the
/// highest of its commits'.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Level {
    /// Nothing a user can rely on changed: a patch release.
    Fix,
    /// Something was added: a minor release.
    Feature,
    /// Something a user relied on changed: a major release (a minor one while
    /// the version is `0.x`).
    Breaking,
}

impl Level {
    /// The bump this level calls for from `current`.
    pub(crate) fn bump(self, current: &Version) -> Bump {
        match self {
            Level::Fix => Bump::Patch,
            Level::Feature => Bump::Minor,
            Level::Breaking if current.major == 0 => Bump::Minor,
            Level::Breaking => Bump::Major,
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Level::Fix => "fix",
            Level::Feature => "feature",
            Level::Breaking => "breaking",
        })
    }
}

/// Who a commit's scope may speak for: the crate being released and the
/// names and directories of the other workspace crates.
#[derive(Debug, Clone)]
pub(crate) struct Scopes {
    /// The crate's own name and directory (relative to the workspace root).
    pub own: BTreeSet<String>,
    /// The other crates' names and directories.
    pub others: BTreeSet<String>,
}

/// The level `commit` calls for in the crate described by `scopes` (see the
/// module docs for the rule).
pub(crate) fn level_of(commit: &Commit, scopes: &Scopes) -> Level {
    let marked = ["BREAKING CHANGE", "BREAKING-CHANGE"]
        .iter()
        .any(|mark| commit.subject.contains(mark) || commit.body.contains(mark));
    if marked {
        return Level::Breaking;
    }
    let Some((scope, _)) = commit.subject.split_once(": ") else {
        return Level::Fix;
    };
    let scope = scope.trim();
    let bang = scope.ends_with('!');
    let scope = scope.trim_end_matches('!');
    // Each word without a `(detail)` suffix: `feat(model)` is `feat`.
    let words: Vec<&str> = scope
        .split_whitespace()
        .map(|word| word.split('(').next().unwrap_or(word))
        .collect();
    let names_other = words
        .iter()
        .any(|w| scopes.others.contains(*w) && !scopes.own.contains(*w));
    if names_other {
        return Level::Fix;
    }
    if bang {
        Level::Breaking
    } else if words.contains(&"feat") {
        Level::Feature
    } else {
        Level::Fix
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn commit(subject: &str, body: &str) -> Commit {
        Commit {
            hash: "0123456789abcdef".into(),
            subject: subject.into(),
            body: body.into(),
        }
    }

    fn scopes() -> Scopes {
        Scopes {
            own: ["a".to_string(), "crates/a".to_string()].into(),
            others: ["b".to_string(), "crates/b".to_string()].into(),
        }
    }

    fn level(subject: &str, body: &str) -> Level {
        level_of(&commit(subject, body), &scopes())
    }

    #[test]
    fn the_repository_style_is_a_fix() {
        assert_eq!(
            level("messenger-gateway changelog: the cap", ""),
            Level::Fix
        );
        assert_eq!(level("load harness: one template", ""), Level::Fix);
        assert_eq!(level("no scope at all", ""), Level::Fix);
        assert_eq!(level("a: defeat the bug", ""), Level::Fix);
    }

    #[test]
    fn feat_in_the_scope_is_a_feature() {
        assert_eq!(level("a feat: two", ""), Level::Feature);
        assert_eq!(level("feat(a): two", ""), Level::Feature);
        assert_eq!(level("feat: two", ""), Level::Feature);
    }

    #[test]
    fn a_bang_or_a_breaking_change_note_is_breaking() {
        assert_eq!(level("a!: one removed", ""), Level::Breaking);
        assert_eq!(level("crates/a!: one removed", ""), Level::Breaking);
        assert_eq!(level("feat!: two", ""), Level::Breaking);
        assert_eq!(
            level("a: one", "Why.\n\nBREAKING CHANGE: one is gone"),
            Level::Breaking
        );
    }

    #[test]
    fn a_scope_naming_another_crate_speaks_for_it_only() {
        assert_eq!(level("b!: gone", ""), Level::Fix);
        assert_eq!(level("crates/b feat: new", ""), Level::Fix);
    }

    #[test]
    fn breaking_is_minor_while_zero() {
        assert_eq!(Level::Breaking.bump(&Version::new(0, 3, 1)), Bump::Minor);
        assert_eq!(Level::Breaking.bump(&Version::new(1, 3, 1)), Bump::Major);
        assert_eq!(Level::Feature.bump(&Version::new(0, 3, 1)), Bump::Minor);
        assert_eq!(Level::Fix.bump(&Version::new(1, 3, 1)), Bump::Patch);
        assert!(Level::Fix < Level::Feature && Level::Feature < Level::Breaking);
    }
}
