//! `cargo xtask examples`: runs every example of the workspace that needs no network, and fails
//! when one exits non-zero.
//!
//! Each example is listed in [`EXAMPLES`] with the features it needs; the ones that talk to
//! Graph start graph-sim in-process on loopback, so all of them run anywhere. A test checks
//! that the list and the `examples/` directories agree, so a new example is never forgotten.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use anyhow::{bail, Context, Result};

use crate::workspace;

/// One runnable example.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Example {
    /// The package it belongs to.
    pub package: &'static str,
    /// The example's name (its file in `examples/`).
    pub name: &'static str,
    /// Features of the package it needs.
    pub features: &'static [&'static str],
}

impl Example {
    /// The `--features` entry that enables what it needs in a workspace build
    /// (`package/feature`).
    pub(crate) fn workspace_features(&self) -> impl Iterator<Item = String> + '_ {
        self.features
            .iter()
            .map(move |f| format!("{}/{f}", self.package))
    }
}

/// Every example, in layer order.
pub(crate) const EXAMPLES: &[Example] = &[
    Example {
        package: "messenger-model",
        name: "payloads",
        features: &[],
    },
    Example {
        package: "messenger-graph",
        name: "custom_transport",
        features: &[],
    },
    Example {
        package: "messenger-store",
        name: "custom_store",
        features: &["conformance"],
    },
    Example {
        package: "messenger",
        name: "embedded",
        features: &[],
    },
];

/// Builds every example of [`EXAMPLES`] with one workspace build (after `cargo test
/// --workspace`, which builds the examples too, it has nothing left to do), then runs each
/// binary from the workspace `root`; fails at the first that does not exit successfully.
pub(crate) fn run(root: &Path) -> Result<()> {
    let total = Instant::now();
    let features: Vec<String> = EXAMPLES
        .iter()
        .flat_map(Example::workspace_features)
        .collect();
    let mut build = workspace::cargo();
    build.args(["build", "--quiet", "--workspace", "--examples"]);
    if !features.is_empty() {
        build.args(["--features", &features.join(",")]);
    }
    let status = build
        .current_dir(root)
        .status()
        .context("could not run cargo build --examples")?;
    if !status.success() {
        bail!("building the examples failed ({status})");
    }
    let metadata = workspace::metadata(root)?;
    let dir = metadata.target_directory.join("debug").join("examples");
    for example in EXAMPLES {
        let binary = dir.join(format!("{}{}", example.name, std::env::consts::EXE_SUFFIX));
        eprintln!("==> {} (example of {})", binary, example.package);
        let started = Instant::now();
        let status = Command::new(&binary)
            .current_dir(root)
            .status()
            .with_context(|| format!("could not start {binary}"))?;
        if !status.success() {
            bail!(
                "example `{}` of {} failed ({status})",
                example.name,
                example.package
            );
        }
        eprintln!("    ok in {:.1}s", started.elapsed().as_secs_f64());
    }
    eprintln!(
        "==> {} examples built and ran in {:.1}s",
        EXAMPLES.len(),
        total.elapsed().as_secs_f64()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn every_example_file_is_listed_and_every_listed_one_exists() {
        let root = workspace::project_root();
        let metadata = workspace::metadata(&root).expect("cargo metadata");
        let mut on_disk = BTreeSet::new();
        for package in workspace::members(&metadata) {
            for target in &package.targets {
                if target.is_example() {
                    on_disk.insert((package.name.to_string(), target.name.clone()));
                }
            }
        }
        let listed: BTreeSet<(String, String)> = EXAMPLES
            .iter()
            .map(|e| (e.package.to_owned(), e.name.to_owned()))
            .collect();
        assert_eq!(listed, on_disk);
    }

    #[test]
    fn features_are_named_for_a_workspace_build() {
        let store = EXAMPLES
            .iter()
            .find(|e| e.name == "custom_store")
            .expect("listed");
        let features: Vec<String> = store.workspace_features().collect();
        assert_eq!(features, ["messenger-store/conformance"]);
    }
}
