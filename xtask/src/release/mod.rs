//! `cargo xtask release <crate>... <major|minor|patch|X.Y.Z> [--dry-run]`;
//! with no crate named, the release of every changed crate ([`changed`]).
//!
//! A release of named crates, for each of them:
//!
//! 1. bumps `version` in `[package]` of its `Cargo.toml`;
//! 2. points every path dependency on it that carries a version requirement
//!    at the new version (the root `[workspace.dependencies]` entry, and any
//!    crate-level `{ path = …, version = … }`);
//! 3. moves its `CHANGELOG.md` entries from `## [Unreleased]` to
//!    `## [X.Y.Z] - YYYY-MM-DD` (UTC), leaving `## [Unreleased]` empty;
//!
//! then refreshes `Cargo.lock`, makes one commit
//! (`release: a 0.2.0, b 0.1.1`) and one annotated tag per crate
//! (`a-v0.2.0`). It refuses to run on a dirty tree, for crates with
//! `publish = false`, for crates without a changelog entry and when a tag
//! already exists. Everything is checked before any file is written.
//!
//! The first release of a crate names its current version exactly
//! (`cargo xtask release messenger-model 0.1.0`): the version stays, the
//! changelog moves and the tag is created.

mod api;
pub(crate) mod changed;
pub(crate) mod changelog;
mod drafts;
pub(crate) mod git;
mod history;
pub(crate) mod manifest;
pub(crate) mod version;

#[cfg(test)]
mod tests;

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use cargo_metadata::{Metadata, Package};
use semver::Version;
use time::Date;

use crate::workspace;
use drafts::Drafts;
use git::Git;
use version::Bump;

/// What to release.
#[derive(Debug, Clone)]
pub(crate) struct Options {
    /// Names of the workspace crates to release.
    pub crates: Vec<String>,
    /// How each crate's version moves.
    pub bump: Bump,
    /// Print the plan and change nothing.
    pub dry_run: bool,
    /// The release date written in the changelogs.
    pub date: Date,
}

/// One crate in a release.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CrateRelease {
    /// The crate name.
    pub name: String,
    /// Its version before the release.
    pub old: Version,
    /// Its version after the release.
    pub new: Version,
    /// The tag created for it.
    pub tag: String,
}

/// Name of the tag for `crate_name` at `version`: `messenger-model-v0.2.0`.
pub(crate) fn tag_name(crate_name: &str, version: &Version) -> String {
    format!("{crate_name}-v{version}")
}

/// A file the release rewrites.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FileChange {
    /// Path relative to the workspace root.
    pub path: PathBuf,
    /// The new contents.
    pub contents: String,
    /// What changes in it, one line each.
    pub changes: Vec<String>,
}

/// Everything a release will do, computed without touching anything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Plan {
    /// The crates released, in the order given.
    pub crates: Vec<CrateRelease>,
    /// The files rewritten, sorted by path.
    pub files: Vec<FileChange>,
    /// The commit message.
    pub commit_message: String,
    /// Advice that does not stop the release.
    pub notes: Vec<String>,
}

impl Plan {
    /// Prints the plan: versions, files, commit and tags.
    pub(crate) fn print(&self, dry_run: bool) {
        if dry_run {
            println!("release plan (dry run: nothing is changed)");
        } else {
            println!("release plan");
        }
        println!("versions:");
        for release in &self.crates {
            if release.old == release.new {
                println!(
                    "  {} {} (first release: version unchanged)",
                    release.name, release.new
                );
            } else {
                println!("  {} {} -> {}", release.name, release.old, release.new);
            }
        }
        println!("files:");
        for file in &self.files {
            println!("  {}", file.path.display());
            for change in &file.changes {
                println!("    {change}");
            }
        }
        println!("  Cargo.lock (refreshed by cargo; committed if tracked)");
        println!("commit: {}", self.commit_message);
        println!("tags:");
        for release in &self.crates {
            println!("  {} (annotated)", release.tag);
        }
        for note in &self.notes {
            println!("note: {note}");
        }
    }
}

/// Computes the release of `options.crates` in the workspace described by
/// `metadata`, reading the files but writing nothing.
///
/// `tag_exists` says whether a tag exists: an exact version equal to a
/// crate's current version is accepted only while that version has no tag
/// (the crate's first release).
pub(crate) fn plan(
    metadata: &Metadata,
    options: &Options,
    tag_exists: impl Fn(&str) -> Result<bool>,
) -> Result<Plan> {
    let mut seen = BTreeSet::new();
    for name in &options.crates {
        if !seen.insert(name.as_str()) {
            bail!("`{name}` is named twice");
        }
    }
    if options.crates.is_empty() {
        bail!("name at least one crate to release");
    }

    let mut drafts = Drafts::load(metadata)?;
    let mut crates = Vec::new();
    for name in &options.crates {
        let package = releasable(metadata, name)?;
        let new = match &options.bump {
            // The first release of a crate ships the version it already has.
            Bump::Exact(version)
                if *version == package.version && !tag_exists(&tag_name(name, version))? =>
            {
                version.clone()
            }
            bump => bump
                .apply(&package.version)
                .with_context(|| format!("cannot bump `{name}`"))?,
        };
        let old = drafts.set_package_version(package, &new)?;

        let changelog_path = changelog_path(package);
        let text = read_changelog(&drafts, name, &changelog_path)?;
        let relative_changelog = workspace::relative(drafts.root(), &changelog_path);
        let released = changelog::release(&text, &new, options.date).with_context(|| {
            format!(
                "`{name}` has no changelog entry in {}",
                relative_changelog.display()
            )
        })?;
        let heading = changelog::release_heading(&new, options.date)?;
        let mut changes = vec![format!("[Unreleased] entries moved under `{heading}`:")];
        changes.extend(
            changelog::unreleased_entries(&text)?
                .lines()
                .map(|line| format!("| {line}")),
        );
        drafts.replace(changelog_path, released, changes);

        crates.push(CrateRelease {
            name: name.clone(),
            tag: tag_name(name, &new),
            old,
            new,
        });
    }
    drafts.update_requirements(&crates)?;
    finish_plan(metadata, crates, drafts)
}

/// The workspace member `name`, refused when it has `publish = false`.
pub(crate) fn releasable<'a>(metadata: &'a Metadata, name: &str) -> Result<&'a Package> {
    let package = workspace::member(metadata, name)?;
    if !workspace::is_publishable(package) {
        bail!(
            "`{name}` has `publish = false` in {} and cannot be released",
            workspace::relative(
                metadata.workspace_root.as_std_path(),
                package.manifest_path.as_std_path()
            )
            .display()
        );
    }
    Ok(package)
}

/// Where `package`'s changelog is: `CHANGELOG.md` beside its manifest.
pub(crate) fn changelog_path(package: &Package) -> PathBuf {
    package
        .manifest_path
        .as_std_path()
        .with_file_name("CHANGELOG.md")
}

/// Reads the changelog of the crate `name` at `path`, with a message saying
/// how to create one when it is missing.
pub(crate) fn read_changelog(drafts: &Drafts, name: &str, path: &Path) -> Result<String> {
    fs::read_to_string(path).with_context(|| {
        format!(
            "`{name}` has no changelog at {}: create it with a `{}` section",
            workspace::relative(drafts.root(), path).display(),
            changelog::UNRELEASED_HEADING
        )
    })
}

/// The plan of releasing `crates` once `drafts` hold every edit: the files,
/// the commit message and the notes on dependents left behind.
pub(crate) fn finish_plan(
    metadata: &Metadata,
    crates: Vec<CrateRelease>,
    drafts: Drafts,
) -> Result<Plan> {
    let files = drafts.into_files();
    let commit_message = format!(
        "release: {}",
        crates
            .iter()
            .map(|r| format!("{} {}", r.name, r.new))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let notes = dependents_left_behind(metadata, &crates)?;
    Ok(Plan {
        crates,
        files,
        commit_message,
        notes,
    })
}

/// Publishable crates that depend on a released crate but are not released
/// with it: their next publish needs the new version on crates.io.
fn dependents_left_behind(metadata: &Metadata, crates: &[CrateRelease]) -> Result<Vec<String>> {
    let graph = workspace::member_graph(metadata)?;
    let released: BTreeSet<&str> = crates.iter().map(|r| r.name.as_str()).collect();
    let mut notes = Vec::new();
    for package in workspace::members(metadata) {
        if released.contains(package.name.as_str()) || !workspace::is_publishable(package) {
            continue;
        }
        let deps = graph.get(&package.name).cloned().unwrap_or_default();
        for release in crates {
            if deps.contains(&release.name) {
                notes.push(format!(
                    "{} depends on {} and now requires {}; release it too if it must ship against the new version",
                    package.name, release.name, release.new
                ));
            }
        }
    }
    Ok(notes)
}

/// Runs a release in the workspace at `root` (see the module docs) and
/// returns what it did (or, with `dry_run`, would do).
pub(crate) fn run(root: &Path, options: &Options) -> Result<Plan> {
    let (root, git) = open(root, !options.dry_run)?;
    let metadata = workspace::metadata(&root)?;
    let workspace_root = metadata.workspace_root.clone().into_std_path_buf();
    let plan = plan(&metadata, options, |tag| git.tag_exists(tag))?;
    for release in &plan.crates {
        if git.tag_exists(&release.tag)? {
            bail!("tag {} already exists", release.tag);
        }
    }
    plan.print(options.dry_run);
    if options.dry_run {
        return Ok(plan);
    }

    apply(&workspace_root, &git, &plan)?;
    Ok(plan)
}

/// The git working tree of the workspace at `root` (canonical), refused when
/// it is dirty and `refuse_dirty`; a dirty tree is otherwise only a warning,
/// as a plan that changes nothing may be computed from it.
pub(crate) fn open(root: &Path, refuse_dirty: bool) -> Result<(PathBuf, Git)> {
    let root = root
        .canonicalize()
        .with_context(|| format!("no workspace at {}", root.display()))?;
    let git = Git::new(&root);
    git.ensure_repository()?;
    if let Err(dirty) = git.ensure_clean() {
        if refuse_dirty {
            return Err(dirty.context("refusing to release"));
        }
        eprintln!("warning: {dirty:#}\n(a real release would refuse to run)");
    }
    Ok((root, git))
}

/// Carries out `plan` in the workspace at `root`: writes the files, lets
/// cargo refresh `Cargo.lock`, commits and tags.
pub(crate) fn apply(root: &Path, git: &Git, plan: &Plan) -> Result<()> {
    for file in &plan.files {
        let path = root.join(&file.path);
        fs::write(&path, &file.contents).with_context(|| format!("writing {}", path.display()))?;
    }
    // Any cargo command that resolves the workspace rewrites the lock file
    // with the new member versions.
    workspace::metadata(root).context(
        "the edited workspace does not load; undo with `git checkout -- .` and report this",
    )?;
    let mut paths: Vec<PathBuf> = plan.files.iter().map(|f| f.path.clone()).collect();
    let lock = PathBuf::from("Cargo.lock");
    if root.join(&lock).exists() && git.is_tracked(&lock)? {
        paths.push(lock);
    }
    git.add(&paths)?;
    git.commit(&plan.commit_message)?;
    for release in &plan.crates {
        git.tag(&release.tag, &format!("{} {}", release.name, release.new))?;
    }
    println!(
        "released: committed \"{}\" and tagged {}",
        plan.commit_message,
        plan.crates
            .iter()
            .map(|r| r.tag.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!("next: `cargo xtask publish --dry-run`, then push with `git push --follow-tags`");
    Ok(())
}
