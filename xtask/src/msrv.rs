//! `cargo xtask check-msrv`: the workspace's `rust-version` is one it can be built with, as far
//! as one installed toolchain can tell.
//!
//! Two checks, both against the `rust-version` the members declare (read from `cargo metadata`,
//! where `rust-version.workspace = true` is resolved):
//!
//! 1. every package in `Cargo.lock` (as `cargo metadata` resolves it: every dependency of every
//!    member, dev-dependencies included, for every platform) declares a `rust-version` no newer
//!    than the workspace's;
//! 2. clippy's `incompatible_msrv` lint, denied: no use of a std item stabilised after the
//!    workspace's `rust-version` (clippy reads it from the manifests). The step runs the CI
//!    clippy step itself (`ci::CLIPPY`, which names the lint), so in CI it is a cache hit.
//!
//! What it cannot see without the old toolchain itself: language features (syntax) stabilised
//! later, and Cargo features of the manifests. The edition (2021) bounds the former.

use std::fmt;
use std::path::Path;

use anyhow::{bail, Context, Result};
use cargo_metadata::Metadata;

use crate::workspace;

/// A Rust release, `major.minor[.patch]` (a missing patch is 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct RustVersion {
    major: u64,
    minor: u64,
    patch: u64,
}

impl RustVersion {
    /// Parses `1.85` or `1.85.1`.
    pub(crate) fn parse(text: &str) -> Result<Self> {
        let mut parts = text.trim().split('.').map(str::parse::<u64>);
        let mut next = |what: &str| -> Result<Option<u64>> {
            parts
                .next()
                .transpose()
                .with_context(|| format!("rust-version `{text}`: bad {what}"))
        };
        let major = next("major")?.context("empty rust-version")?;
        let minor = next("minor")?.unwrap_or(0);
        let patch = next("patch")?.unwrap_or(0);
        if next("component")?.is_some() {
            bail!("rust-version `{text}` has more than three components");
        }
        Ok(Self {
            major,
            minor,
            patch,
        })
    }
}

impl fmt::Display for RustVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)?;
        if self.patch != 0 {
            write!(f, ".{}", self.patch)?;
        }
        Ok(())
    }
}

/// The workspace's `rust-version`: the one every member declares. Fails when a member declares
/// none or when they differ.
pub(crate) fn workspace_msrv(metadata: &Metadata) -> Result<RustVersion> {
    let mut found: Option<(RustVersion, String)> = None;
    for package in workspace::members(metadata) {
        let Some(declared) = &package.rust_version else {
            bail!(
                "{} declares no rust-version (add `rust-version.workspace = true`)",
                package.name
            );
        };
        let version = RustVersion::parse(&declared.to_string())?;
        match &found {
            Some((first, name)) if *first != version => bail!(
                "{} declares rust-version {version} but {name} declares {first}",
                package.name
            ),
            Some(_) => {}
            None => found = Some((version, package.name.clone())),
        }
    }
    found
        .map(|(version, _)| version)
        .context("the workspace has no members")
}

/// Packages of the lock (not workspace members) that declare a `rust-version` above `msrv`, as
/// `name version (rust-version X)`, newest requirement first.
pub(crate) fn dependencies_above(metadata: &Metadata, msrv: RustVersion) -> Result<Vec<String>> {
    let members: Vec<_> = workspace::members(metadata)
        .into_iter()
        .map(|p| &p.id)
        .collect();
    let mut above = Vec::new();
    for package in &metadata.packages {
        if members.contains(&&package.id) {
            continue;
        }
        let Some(declared) = &package.rust_version else {
            continue;
        };
        let needs = RustVersion::parse(&declared.to_string())?;
        if needs > msrv {
            above.push((
                needs,
                format!(
                    "{} {} (rust-version {needs})",
                    package.name, package.version
                ),
            ));
        }
    }
    above.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
    Ok(above.into_iter().map(|(_, line)| line).collect())
}

/// Runs both checks from the workspace `root`.
pub(crate) fn run(root: &Path) -> Result<()> {
    let metadata = workspace::metadata(root)?;
    let msrv = workspace_msrv(&metadata)?;
    let above = dependencies_above(&metadata, msrv)?;
    if !above.is_empty() {
        for line in &above {
            println!("{line}");
        }
        bail!(
            "{} package(s) in Cargo.lock need a newer Rust than the workspace's rust-version \
             {msrv}: raise rust-version, or pin older releases (`cargo update -p <name> \
             --precise <version>`)",
            above.len()
        );
    }
    println!(
        "rust-version {msrv}: all {} locked packages declare it or less",
        metadata.packages.len()
    );
    eprintln!("    cargo {}", crate::ci::CLIPPY.join(" "));
    let status = workspace::cargo()
        .current_dir(root)
        .args(crate::ci::CLIPPY)
        .status()
        .context("could not run cargo clippy")?;
    if !status.success() {
        bail!("the workspace uses std items stabilised after rust-version {msrv} (clippy::incompatible_msrv), or clippy failed ({status})");
    }
    println!("rust-version {msrv}: no std item newer than it is used");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::TestWorkspace;

    #[test]
    fn versions_compare_by_component() {
        let v = |s| RustVersion::parse(s).unwrap();
        assert!(v("1.88") > v("1.85"));
        assert!(v("1.88.0") == v("1.88"));
        assert!(v("1.100") > v("1.99.9"));
        assert_eq!(v("1.85").to_string(), "1.85");
        assert!(RustVersion::parse("1.x").is_err());
        assert!(RustVersion::parse("1.2.3.4").is_err());
    }

    #[test]
    fn a_locked_package_newer_than_the_workspace_is_named() {
        let ws = TestWorkspace::two_crates();
        let root = ws.read("Cargo.toml").replace(
            "license = \"MIT OR Apache-2.0\"\n",
            "license = \"MIT OR Apache-2.0\"\nrust-version = \"1.80\"\n",
        );
        ws.write("Cargo.toml", &root);
        for krate in ["alpha", "beta", "tool"] {
            let path = format!("crates/{krate}/Cargo.toml");
            let manifest = ws.read(&path).replace(
                "edition.workspace = true\n",
                "edition.workspace = true\nrust-version.workspace = true\n",
            );
            ws.write(&path, &manifest);
        }
        // A dependency that is not a member: a path crate outside the workspace.
        let outside = TestWorkspace::empty();
        outside.write(
            "Cargo.toml",
            "[package]\nname = \"newer\"\nversion = \"1.0.0\"\nedition = \"2021\"\nrust-version = \"1.99\"\n",
        );
        outside.write("src/lib.rs", "");
        let beta = ws.read("crates/beta/Cargo.toml").replace(
            "[dependencies]\n",
            &format!(
                "[dependencies]\nnewer = {{ path = \"{}\" }}\n",
                outside.path().display()
            ),
        );
        ws.write("crates/beta/Cargo.toml", &beta);
        let metadata = workspace::metadata(ws.path()).unwrap();
        let msrv = workspace_msrv(&metadata).unwrap();
        assert_eq!(msrv.to_string(), "1.80");
        assert_eq!(
            dependencies_above(&metadata, msrv).unwrap(),
            ["newer 1.0.0 (rust-version 1.99)"]
        );
        assert!(
            dependencies_above(&metadata, RustVersion::parse("1.99").unwrap())
                .unwrap()
                .is_empty()
        );
    }
}
