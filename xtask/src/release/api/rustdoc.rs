//! Building a crate's rustdoc JSON with the stable toolchain
//! (`RUSTC_BOOTSTRAP=1 cargo rustdoc -p X --lib --all-features -- -Z
//! unstable-options --output-format json`), from the working tree or from a
//! tag checked out in a temporary `git worktree`.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use anyhow::{bail, Context, Result};
use serde_json::Value;

use crate::release::git::Git;
use crate::workspace;

/// Builds the rustdoc JSON of the package `package` (library target
/// `lib_name`) of the workspace at `workspace_dir`, into `target_dir`.
///
/// The JSON file is removed first, so cargo always writes it again.
///
/// Current and baseline builds need target directories of their own: cargo
/// names a workspace member's artefacts by its path relative to the
/// workspace root and judges them fresh by modification times, so a
/// dependency built from a worktree could pass for the working tree's.
pub(crate) fn build(
    workspace_dir: &Path,
    package: &str,
    lib_name: &str,
    target_dir: &Path,
) -> Result<Value> {
    let json = target_dir
        .join("doc")
        .join(format!("{}.json", lib_name.replace('-', "_")));
    if json.exists() {
        fs::remove_file(&json).with_context(|| format!("removing {}", json.display()))?;
    }
    let output = workspace::cargo()
        .current_dir(workspace_dir)
        .env("RUSTC_BOOTSTRAP", "1")
        .args(["rustdoc", "--quiet", "--lib", "--all-features", "--package"])
        .arg(package)
        .arg("--manifest-path")
        .arg(workspace_dir.join("Cargo.toml"))
        .arg("--target-dir")
        .arg(target_dir)
        .args(["--", "-Z", "unstable-options", "--output-format", "json"])
        .stdin(Stdio::null())
        .output()
        .context("could not run `cargo rustdoc`")?;
    if !output.status.success() {
        bail!(
            "`cargo rustdoc` of {package} in {} failed ({}):\n{}",
            workspace_dir.display(),
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    let text = fs::read_to_string(&json).with_context(|| format!("reading {}", json.display()))?;
    serde_json::from_str(&text).with_context(|| format!("parsing {}", json.display()))
}

/// A tag checked out in its own working tree, removed on drop.
pub(crate) struct Worktree<'a> {
    git: &'a Git,
    dir: PathBuf,
}

impl<'a> Worktree<'a> {
    /// Checks `tag` out at `dir`, replacing whatever an interrupted run
    /// left there.
    pub(crate) fn check_out(git: &'a Git, tag: &str, dir: PathBuf) -> Result<Self> {
        if dir.exists() {
            // Left by an interrupted run: neither step may succeed alone.
            let _ = git.remove_worktree(&dir);
            let _ = fs::remove_dir_all(&dir);
        }
        git.prune_worktrees()?;
        if let Some(parent) = dir.parent() {
            fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
        }
        git.add_worktree(&dir, tag)
            .with_context(|| format!("checking {tag} out at {}", dir.display()))?;
        Ok(Self { git, dir })
    }

    /// The working tree's root.
    pub(crate) fn path(&self) -> &Path {
        &self.dir
    }
}

impl Drop for Worktree<'_> {
    fn drop(&mut self) {
        if let Err(err) = self.git.remove_worktree(&self.dir) {
            eprintln!(
                "warning: could not remove the worktree {}: {err:#}",
                self.dir.display()
            );
        }
    }
}
