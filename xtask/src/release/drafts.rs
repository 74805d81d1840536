//! The files a release rewrites, edited in memory while a plan is computed:
//! every workspace manifest (package versions, requirements on released
//! crates) and the released crates' changelogs. Nothing is written here;
//! [`Drafts::into_files`] hands the edits to the plan.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use cargo_metadata::{Metadata, Package};
use semver::Version;

use super::{manifest, CrateRelease, FileChange};
use crate::workspace;

/// A file being edited during planning.
struct Draft {
    contents: String,
    changes: Vec<String>,
}

/// The files of a workspace being edited for a release.
pub(crate) struct Drafts {
    root: PathBuf,
    files: BTreeMap<PathBuf, Draft>,
}

impl Drafts {
    /// Reads the root manifest and every member's manifest: the files that
    /// may name a released crate.
    pub(crate) fn load(metadata: &Metadata) -> Result<Self> {
        let root = metadata.workspace_root.clone().into_std_path_buf();
        let mut files = BTreeMap::new();
        let mut manifests: Vec<PathBuf> = vec![root.join("Cargo.toml")];
        manifests.extend(
            workspace::members(metadata)
                .iter()
                .map(|p| p.manifest_path.clone().into_std_path_buf()),
        );
        for path in manifests {
            if files.contains_key(&path) {
                continue;
            }
            let contents =
                fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
            files.insert(
                path,
                Draft {
                    contents,
                    changes: Vec::new(),
                },
            );
        }
        Ok(Self { root, files })
    }

    /// The workspace root.
    pub(crate) fn root(&self) -> &Path {
        &self.root
    }

    /// Sets `[package] version` of `package` to `new` and returns the
    /// version it had. Fails when the manifest and `cargo metadata`
    /// disagree. No change is recorded when the version stays.
    pub(crate) fn set_package_version(
        &mut self,
        package: &Package,
        new: &Version,
    ) -> Result<Version> {
        let manifest_path = package.manifest_path.clone().into_std_path_buf();
        let draft = self
            .files
            .get_mut(&manifest_path)
            .context("internal error: member manifest not loaded")?;
        let (contents, old) = manifest::set_package_version(&draft.contents, new)
            .with_context(|| format!("updating {}", manifest_path.display()))?;
        if old != package.version {
            bail!(
                "{} says version {old} but cargo metadata says {}",
                manifest_path.display(),
                package.version
            );
        }
        if old != *new {
            draft.contents = contents;
            draft
                .changes
                .push(format!("[package] version: \"{old}\" -> \"{new}\""));
        }
        Ok(old)
    }

    /// Replaces the whole of the file at `path` (absolute), describing the
    /// edit with `changes`.
    pub(crate) fn replace(&mut self, path: PathBuf, contents: String, changes: Vec<String>) {
        self.files.insert(path, Draft { contents, changes });
    }

    /// Points every versioned path dependency on a released crate, in every
    /// loaded manifest, at its new version.
    pub(crate) fn update_requirements(&mut self, crates: &[CrateRelease]) -> Result<()> {
        for release in crates {
            for (path, draft) in self.files.iter_mut() {
                if path.extension().is_none_or(|ext| ext != "toml") {
                    continue;
                }
                let (contents, changes) = manifest::set_dependency_requirements(
                    &draft.contents,
                    &release.name,
                    &release.new,
                )
                .with_context(|| format!("updating {}", path.display()))?;
                draft.contents = contents;
                draft
                    .changes
                    .extend(changes.iter().map(ToString::to_string));
            }
        }
        Ok(())
    }

    /// The edited files, sorted by path relative to the workspace root.
    pub(crate) fn into_files(self) -> Vec<FileChange> {
        let root = self.root;
        self.files
            .into_iter()
            .filter(|(_, draft)| !draft.changes.is_empty())
            .map(|(path, draft)| FileChange {
                path: workspace::relative(&root, &path),
                contents: draft.contents,
                changes: draft.changes,
            })
            .collect()
    }
}
