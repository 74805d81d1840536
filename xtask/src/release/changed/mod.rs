//! `cargo xtask release [--level patch|minor|major] [--execute]` with no
//! crate named: releases every publishable crate changed since its last tag,
//! with every publishable crate that depends on one (see
//! `docs/releasing.md`, "Releasing the changed crates").
//!
//! 1. A crate has changed when it has no tag yet or a commit since its last
//!    tag (`<crate>-v<version>`, the highest one `HEAD` contains) touched its
//!    directory.
//! 2. Its level comes from those commits (the rule in [`super::history`]) or
//!    from `--level`; a crate whose normal or build dependency is bumped is
//!    bumped too, at least a patch, and its requirement follows. A crate
//!    whose current version has no tag yet (a first release, or a version
//!    set by hand) is released at that version.
//! 3. Its changelog section holds its `## [Unreleased]` entries, the
//!    commits and the dependencies released with it; before a crate's first
//!    tag, its commits are listed only when it has no such entries.
//! 4. Its public API is compared with its last release ([`super::api`]); a
//!    breaking change under a bump that does not allow one is refused,
//!    naming the item.
//! 5. Without `--execute` the plan is printed and nothing changes; with it,
//!    one commit and one tag a crate, as a release of named crates makes.

#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use cargo_metadata::{Metadata, Package};
use semver::Version;
use time::Date;

use super::api::{self, Verdict};
use super::drafts::Drafts;
use super::git::{Commit, Git};
use super::history::{self, LastRelease, Level, Scopes};
use super::version::Bump;
use super::{changelog, CrateRelease, Plan};
use crate::workspace;

/// How to release the changed crates.
#[derive(Debug, Clone)]
pub(crate) struct ChangedOptions {
    /// The bump of every crate in the plan, instead of its commits' level.
    pub level: Option<Bump>,
    /// Carry the plan out; without it, print it and change nothing.
    pub execute: bool,
    /// The release date written in the changelogs.
    pub date: Date,
    /// Compare each crate's API with its last release.
    pub check_api: bool,
    /// Where the API check builds; `<cargo target directory>/release-api`
    /// when `None`.
    pub api_target_dir: Option<PathBuf>,
}

/// One crate of the plan, with why it is there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CrateChange {
    /// The crate name.
    pub name: String,
    /// Why it is released, one line each.
    pub reasons: Vec<String>,
    /// Its last release, if any.
    pub last: Option<LastRelease>,
    /// The changelog section written for it, heading included.
    pub section: String,
    /// Its API check.
    pub api: Verdict,
}

/// The release of the changed crates: why each crate is in it, and the
/// plan of files, commit and tags.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ChangedPlan {
    /// The crates, dependencies first, with the reasons.
    pub changes: Vec<CrateChange>,
    /// The files, commit and tags.
    pub plan: Plan,
}

impl ChangedPlan {
    /// The breaking changes the bumps do not allow, one line an item:
    /// `a 0.1.0 -> 0.1.1: removed function a::one`.
    pub(crate) fn refusals(&self) -> Vec<String> {
        let mut refusals = Vec::new();
        for (change, release) in self.changes.iter().zip(&self.plan.crates) {
            let (Verdict::Compared { breaking, .. }, Some(last)) = (&change.api, &change.last)
            else {
                continue;
            };
            if api::allows_breaking(&last.version, &release.new) {
                continue;
            }
            for item in breaking {
                refusals.push(format!(
                    "{} {} -> {}: {item}",
                    release.name, last.version, release.new
                ));
            }
        }
        refusals
    }

    /// Prints each crate (versions, reasons, changelog section, API check),
    /// then the files, commit and tags.
    pub(crate) fn print(&self, execute: bool) {
        if execute {
            println!("release of the changed crates");
        } else {
            println!(
                "release of the changed crates (dry run: nothing is changed; `--execute` releases)"
            );
        }
        for (change, release) in self.changes.iter().zip(&self.plan.crates) {
            if release.old == release.new {
                println!("{} {} (version unchanged)", release.name, release.new);
            } else {
                println!("{} {} -> {}", release.name, release.old, release.new);
            }
            for reason in &change.reasons {
                println!("  why: {reason}");
            }
            println!("  changelog:");
            for line in change.section.lines() {
                println!("    | {line}");
            }
            match &change.api {
                Verdict::NotChecked(why) => println!("  API: not checked ({why})"),
                Verdict::Compared {
                    baseline,
                    breaking,
                    added,
                } => {
                    println!(
                        "  API against {baseline}: {} breaking, {} added",
                        breaking.len(),
                        added.len()
                    );
                    for item in breaking {
                        println!("    breaking: {item}");
                    }
                    for item in added {
                        println!("    added: {item}");
                    }
                }
            }
        }
        self.plan.print(!execute);
    }
}

/// A crate of the plan while it is being worked out.
struct Candidate<'a> {
    package: &'a Package,
    last: Option<LastRelease>,
    commits: Vec<Commit>,
    level: Option<Level>,
    reasons: Vec<String>,
}

/// Works out the release of the changed crates of the workspace described
/// by `metadata`, reading files and git but writing nothing (the API check
/// builds under the target directory).
pub(crate) fn plan(
    metadata: &Metadata,
    git: &Git,
    options: &ChangedOptions,
) -> Result<ChangedPlan> {
    let root = metadata.workspace_root.clone().into_std_path_buf();
    let members = workspace::members(metadata);
    let dirs: BTreeMap<&str, PathBuf> = members
        .iter()
        .map(|p| {
            let dir = p
                .manifest_path
                .parent()
                .map(|d| d.as_std_path())
                .unwrap_or(&root);
            (p.name.as_str(), workspace::relative(&root, dir))
        })
        .collect();
    let graph = workspace::publishable_graph(metadata)?;

    let mut drafts = Drafts::load(metadata)?;
    let mut candidates: Vec<Candidate<'_>> = Vec::new();
    let mut crates: Vec<CrateRelease> = Vec::new();
    for name in workspace::topological_order(&graph)? {
        let package = workspace::member(metadata, &name)?;
        let last = history::last_release(git, &name)?;
        let commits = git.log(
            last.as_ref().map(|l| l.tag.as_str()),
            &pathspecs(&name, &dirs),
        )?;
        let scopes = scopes(&name, &dirs);
        let mut candidate = Candidate {
            package,
            level: commits.iter().map(|c| history::level_of(c, &scopes)).max(),
            last,
            commits,
            reasons: Vec::new(),
        };
        match &candidate.last {
            None => candidate.reasons.push("no tag yet".to_string()),
            Some(_) if candidate.commits.is_empty() => {}
            Some(last) => candidate.reasons.push(format!(
                "{} since {} (level: {})",
                count(candidate.commits.len(), "commit"),
                last.tag,
                candidate.level.unwrap_or(Level::Fix)
            )),
        }
        for dep in graph.get(&name).into_iter().flatten() {
            if let Some(release) = crates.iter().find(|r| r.name == *dep && r.old != r.new) {
                candidate.reasons.push(format!(
                    "depends on {} ({} -> {})",
                    release.name, release.old, release.new
                ));
                candidate.level = candidate.level.max(Some(Level::Fix));
            }
        }
        if candidate.reasons.is_empty() {
            continue;
        }
        let new = next_version(git, &candidate, options)?;
        let old = drafts.set_package_version(package, &new)?;
        crates.push(CrateRelease {
            tag: super::tag_name(&name, &new),
            name,
            old,
            new,
        });
        candidates.push(candidate);
    }

    let mut changes = Vec::new();
    for (candidate, release) in candidates.iter().zip(&crates) {
        let dependencies: Vec<(String, Version)> = graph
            .get(&release.name)
            .into_iter()
            .flatten()
            .filter_map(|dep| crates.iter().find(|r| r.name == *dep && r.old != r.new))
            .map(|r| (r.name.clone(), r.new.clone()))
            .collect();
        let path = super::changelog_path(candidate.package);
        let text = super::read_changelog(&drafts, &release.name, &path)?;
        let hand_written = changelog::unreleased_entries(&text)
            .with_context(|| format!("reading {}", path.display()))?;
        // Before the first tag, the whole history is not news: the
        // hand-written entries speak for it when there are any.
        let commits = match &candidate.last {
            None if !hand_written.is_empty() => &[][..],
            _ => &candidate.commits[..],
        };
        let entries = changelog::generated_entries(hand_written, commits, &dependencies);
        if entries.is_empty() {
            bail!("`{}` has nothing to write in its changelog", release.name);
        }
        let heading = changelog::release_heading(&release.new, options.date)?;
        let released = changelog::release_with(&text, &release.new, options.date, &entries)?;
        drafts.replace(
            path,
            released,
            vec![format!("section `{heading}` written (shown above)")],
        );
        let api = match &candidate.last {
            _ if !options.check_api => Verdict::NotChecked("not asked for".to_string()),
            None => Verdict::NotChecked("no earlier release".to_string()),
            Some(last) => api::check(
                git,
                &root,
                candidate.package,
                last,
                &options
                    .api_target_dir
                    .clone()
                    .unwrap_or_else(|| metadata.target_directory.as_std_path().join("release-api")),
            )?,
        };
        changes.push(CrateChange {
            name: release.name.clone(),
            reasons: candidate.reasons.clone(),
            last: candidate.last.clone(),
            section: format!("{heading}\n\n{entries}"),
            api,
        });
    }
    drafts.update_requirements(&crates)?;
    let plan = super::finish_plan(metadata, crates, drafts)?;
    Ok(ChangedPlan { changes, plan })
}

/// The version `candidate` is released at: its current one while that has
/// no tag, otherwise the bump of `--level` or of its level.
fn next_version(git: &Git, candidate: &Candidate<'_>, options: &ChangedOptions) -> Result<Version> {
    let name = candidate.package.name.as_str();
    let current = &candidate.package.version;
    if !git.tag_exists(&super::tag_name(name, current))? {
        return Ok(current.clone());
    }
    let bump = match &options.level {
        Some(bump) => bump.clone(),
        None => candidate.level.unwrap_or(Level::Fix).bump(current),
    };
    bump.apply(current)
        .with_context(|| format!("cannot bump `{name}`"))
}

/// The git pathspecs of a crate's directory, without the directories of
/// crates nested in it.
fn pathspecs(name: &str, dirs: &BTreeMap<&str, PathBuf>) -> Vec<String> {
    let own = &dirs[name];
    let mut specs = vec![format!(":(top){}", spec_path(own))];
    for (other, dir) in dirs {
        if *other != name && dir.starts_with(own) && dir != own {
            specs.push(format!(":(top,exclude){}", spec_path(dir)));
        }
    }
    specs
}

/// A directory as a pathspec: `.` for the workspace root.
fn spec_path(dir: &Path) -> String {
    let text = dir.to_string_lossy().replace('\\', "/");
    if text.is_empty() {
        ".".to_string()
    } else {
        text
    }
}

/// The scopes that speak for `name` and for the other crates.
fn scopes(name: &str, dirs: &BTreeMap<&str, PathBuf>) -> Scopes {
    let mut scopes = Scopes {
        own: BTreeSet::new(),
        others: BTreeSet::new(),
    };
    for (crate_name, dir) in dirs {
        let set = if *crate_name == name {
            &mut scopes.own
        } else {
            &mut scopes.others
        };
        set.insert(crate_name.to_string());
        set.insert(spec_path(dir));
    }
    scopes
}

fn count(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

/// Releases the changed crates of the workspace at `root` (see the module
/// docs) and returns the plan carried out (or, without `execute`, printed).
pub(crate) fn run(root: &Path, options: &ChangedOptions) -> Result<ChangedPlan> {
    let (root, git) = super::open(root, options.execute)?;
    let metadata = workspace::metadata(&root)?;
    let workspace_root = metadata.workspace_root.clone().into_std_path_buf();
    let plan = plan(&metadata, &git, options)?;
    if plan.changes.is_empty() {
        println!("nothing to release: no publishable crate changed since its last tag");
        return Ok(plan);
    }
    for release in &plan.plan.crates {
        if git.tag_exists(&release.tag)? {
            bail!("tag {} already exists", release.tag);
        }
    }
    plan.print(options.execute);
    let refusals = plan.refusals();
    if !refusals.is_empty() {
        bail!(
            "refusing to release: breaking changes under a bump that does not allow them \
             (give a higher --level, or mark a commit as breaking):\n  {}",
            refusals.join("\n  ")
        );
    }
    if options.execute {
        super::apply(&workspace_root, &git, &plan.plan)?;
    }
    Ok(plan)
}
