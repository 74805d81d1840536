//! `cargo xtask check-backends`: a one-backend build of `messenger-store-sql` carries no trace
//! of the other backend's driver.
//!
//! The crate's `sqlite` and `postgres` features each enable one sqlx driver. For each feature
//! alone, `cargo tree -e normal` lists the packages such a build compiles (proc-macros and
//! their dependencies included); the other driver's packages must not be among them.

use std::collections::BTreeSet;
use std::path::Path;

use anyhow::{bail, Context, Result};

use crate::workspace;

/// The crate whose backends are features.
pub(crate) const CRATE: &str = "messenger-store-sql";

/// Each backend feature and the packages its build alone must not contain.
pub(crate) const BACKENDS: &[(&str, &[&str])] = &[
    ("sqlite", &["sqlx-postgres"]),
    ("postgres", &["sqlx-sqlite", "libsqlite3-sys"]),
];

/// The package names in `cargo tree --prefix none --format {p}` output (`name vX.Y.Z ...`).
fn package_names(tree: &str) -> BTreeSet<&str> {
    tree.lines()
        .filter_map(|line| line.split_whitespace().next())
        .collect()
}

/// The `banned` packages that appear in `tree`.
pub(crate) fn banned_found<'a>(tree: &str, banned: &[&'a str]) -> Vec<&'a str> {
    let names = package_names(tree);
    banned
        .iter()
        .copied()
        .filter(|b| names.contains(b))
        .collect()
}

/// Checks every entry of [`BACKENDS`] from the workspace `root`.
pub(crate) fn run(root: &Path) -> Result<()> {
    let mut problems = Vec::new();
    for (feature, banned) in BACKENDS {
        let output = workspace::cargo()
            .args([
                "tree",
                "--package",
                CRATE,
                "--no-default-features",
                "--features",
                feature,
                "--edges",
                "normal",
                "--prefix",
                "none",
                "--format",
                "{p}",
            ])
            .current_dir(root)
            .output()
            .context("could not start `cargo tree`")?;
        if !output.status.success() {
            bail!(
                "`cargo tree -p {CRATE} --features {feature}` failed: {}",
                String::from_utf8_lossy(&output.stderr)
            );
        }
        let tree = String::from_utf8_lossy(&output.stdout);
        let found = banned_found(&tree, banned);
        if found.is_empty() {
            println!(
                "check-backends: {CRATE} with only `{feature}` has none of {}",
                banned.join(", ")
            );
        } else {
            problems.push(format!(
                "{CRATE} with only `{feature}` still compiles {}",
                found.join(", ")
            ));
        }
    }
    if problems.is_empty() {
        return Ok(());
    }
    for problem in &problems {
        println!("{problem}");
    }
    bail!(
        "a one-backend build pulls in the other driver; check the sqlx features in the root \
         Cargo.toml (no driver there) and in {CRATE}'s [features]"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const SQLITE_ONLY: &str = "messenger-store-sql v0.1.0 (/w/crates/messenger-store-sql)\n\
        sqlx v0.8.6\n\
        sqlx-core v0.8.6\n\
        sqlx-macros v0.8.6 (proc-macro)\n\
        sqlx-sqlite v0.8.6\n\
        libsqlite3-sys v0.30.1\n\
        sqlx-core v0.8.6 (*)\n";

    #[test]
    fn finds_banned_packages_by_exact_name() {
        assert_eq!(
            banned_found(SQLITE_ONLY, &["sqlx-sqlite", "libsqlite3-sys"]),
            ["sqlx-sqlite", "libsqlite3-sys"]
        );
        assert!(banned_found(SQLITE_ONLY, &["sqlx-postgres"]).is_empty());
        // A prefix of a name is not the name.
        assert!(banned_found(SQLITE_ONLY, &["sqlx-sql"]).is_empty());
        assert!(banned_found("", &["sqlx-postgres"]).is_empty());
    }

    /// The real crate, as cargo resolves it now.
    #[test]
    fn this_workspace_keeps_backends_apart() {
        run(&workspace::project_root()).unwrap();
    }
}
