//! `cargo xtask examples`: runs every example of the workspace that needs no network, and fails
//! when one exits non-zero.
//!
//! Each example is listed in [`EXAMPLES`] with the features it needs; the ones that talk to
//! Graph start graph-sim in-process on loopback, so all of them run anywhere. A test checks
//! that the list and the `examples/` directories agree, so a new example is never forgotten.

use std::path::Path;
use std::time::Instant;

use anyhow::{bail, Context, Result};

use crate::workspace;

/// One runnable example.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Example {
    /// The package it belongs to.
    pub package: &'static str,
    /// The example's name (its file in `examples/`).
    pub name: &'static str,
    /// Features of the package it needs.
    pub features: &'static [&'static str],
}

impl Example {
    /// The cargo arguments that run it.
    pub fn args(&self) -> Vec<String> {
        let mut args: Vec<String> = ["run", "--quiet", "-p", self.package, "--example", self.name]
            .map(str::to_owned)
            .into();
        if !self.features.is_empty() {
            args.push("--features".to_owned());
            args.push(self.features.join(","));
        }
        args
    }
}

/// Every example, in layer order.
pub const EXAMPLES: &[Example] = &[
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

/// Runs every example of [`EXAMPLES`] from the workspace `root`; fails at the first that does
/// not exit successfully.
pub fn run(root: &Path) -> Result<()> {
    let total = Instant::now();
    for example in EXAMPLES {
        let args = example.args();
        let line = format!("cargo {}", args.join(" "));
        eprintln!("==> {line}");
        let started = Instant::now();
        let status = workspace::cargo()
            .args(&args)
            .current_dir(root)
            .status()
            .with_context(|| format!("could not start `{line}`"))?;
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
        "==> {} examples ran in {:.1}s",
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
    fn features_are_passed() {
        let store = EXAMPLES
            .iter()
            .find(|e| e.name == "custom_store")
            .expect("listed");
        assert_eq!(
            store.args(),
            [
                "run",
                "--quiet",
                "-p",
                "messenger-store",
                "--example",
                "custom_store",
                "--features",
                "conformance"
            ]
        );
    }
}
