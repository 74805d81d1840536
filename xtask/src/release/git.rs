//! The few git operations a release needs, run through the `git` binary.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use anyhow::{bail, Context, Result};

/// One commit, as a release reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Commit {
    /// The full hash.
    pub hash: String,
    /// The first line of the message.
    pub subject: String,
    /// The rest of the message, trimmed.
    pub body: String,
}

impl Commit {
    /// The hash abbreviated to seven characters.
    pub(crate) fn short_hash(&self) -> &str {
        &self.hash[..self.hash.len().min(7)]
    }
}

/// A git working tree.
#[derive(Debug, Clone)]
pub(crate) struct Git {
    dir: PathBuf,
}

impl Git {
    /// The working tree containing `dir`.
    pub(crate) fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new("git");
        command.arg("-C").arg(&self.dir).args(args);
        command
    }

    fn output(&self, args: &[&str]) -> Result<Output> {
        self.command(args)
            .output()
            .with_context(|| format!("could not run `git {}`", args.join(" ")))
    }

    /// Runs git and returns its standard output; fails with git's message
    /// when it exits unsuccessfully.
    fn run(&self, args: &[&str]) -> Result<String> {
        let output = self.output(args)?;
        if !output.status.success() {
            bail!(
                "`git {}` failed ({}): {}",
                args.join(" "),
                output.status,
                String::from_utf8_lossy(&output.stderr).trim()
            );
        }
        String::from_utf8(output.stdout).context("git printed non-UTF-8 output")
    }

    /// Fails unless the directory is inside a git working tree.
    pub(crate) fn ensure_repository(&self) -> Result<()> {
        let inside = self
            .run(&["rev-parse", "--is-inside-work-tree"])
            .with_context(|| format!("{} is not a git working tree", self.dir.display()))?;
        if inside.trim() != "true" {
            bail!("{} is not a git working tree", self.dir.display());
        }
        Ok(())
    }

    /// `git status --porcelain`: empty when the tree is clean (untracked
    /// files count as dirty; ignored ones do not).
    pub(crate) fn status(&self) -> Result<String> {
        self.run(&["status", "--porcelain"])
    }

    /// Fails, listing the changes, when the working tree is not clean.
    pub(crate) fn ensure_clean(&self) -> Result<()> {
        let status = self.status()?;
        let lines: Vec<&str> = status.lines().filter(|l| !l.trim().is_empty()).collect();
        if !lines.is_empty() {
            const SHOWN: usize = 15;
            let mut listing = lines[..lines.len().min(SHOWN)].join("\n");
            if lines.len() > SHOWN {
                listing.push_str(&format!("\n… and {} more", lines.len() - SHOWN));
            }
            bail!("the git working tree is dirty; commit or stash these first:\n{listing}");
        }
        Ok(())
    }

    /// Whether git tracks `path` (relative to the working tree).
    pub(crate) fn is_tracked(&self, path: &Path) -> Result<bool> {
        let path = path.to_str().context("non-UTF-8 path")?;
        Ok(!self.run(&["ls-files", "--", path])?.trim().is_empty())
    }

    /// Whether the tag `name` exists.
    pub(crate) fn tag_exists(&self, name: &str) -> Result<bool> {
        let reference = format!("refs/tags/{name}");
        let output = self.output(&["rev-parse", "--verify", "--quiet", &reference])?;
        Ok(output.status.success())
    }

    /// Stages `paths` (relative to the working tree).
    pub(crate) fn add(&self, paths: &[PathBuf]) -> Result<()> {
        let mut args = vec!["add", "--"];
        for path in paths {
            args.push(path.to_str().context("non-UTF-8 path")?);
        }
        self.run(&args).map(drop)
    }

    /// Commits what is staged with `message`.
    pub(crate) fn commit(&self, message: &str) -> Result<()> {
        self.run(&["commit", "--quiet", "-m", message]).map(drop)
    }

    /// Creates the annotated tag `name` on `HEAD`.
    pub(crate) fn tag(&self, name: &str, message: &str) -> Result<()> {
        self.run(&["tag", "--annotate", name, "-m", message])
            .map(drop)
    }

    /// The tags matching the glob `pattern` that `HEAD` contains.
    pub(crate) fn merged_tags(&self, pattern: &str) -> Result<Vec<String>> {
        Ok(self
            .run(&["tag", "--list", "--merged", "HEAD", pattern])?
            .lines()
            .map(str::to_string)
            .collect())
    }

    /// The commits after `since` (a tag; every commit when `None`) up to
    /// `HEAD` that touch `pathspecs`, oldest first.
    pub(crate) fn log(&self, since: Option<&str>, pathspecs: &[String]) -> Result<Vec<Commit>> {
        let range = match since {
            Some(since) => format!("{since}..HEAD"),
            None => "HEAD".to_string(),
        };
        let mut args = vec![
            "log",
            "--reverse",
            "--format=%H%x1f%s%x1f%b%x1e",
            range.as_str(),
            "--",
        ];
        args.extend(pathspecs.iter().map(String::as_str));
        let out = self.run(&args)?;
        let mut commits = Vec::new();
        for record in out.split('\x1e') {
            let record = record.trim_start_matches('\n');
            if record.trim().is_empty() {
                continue;
            }
            let mut fields = record.splitn(3, '\x1f');
            let (Some(hash), Some(subject)) = (fields.next(), fields.next()) else {
                bail!("unexpected `git log` output: {record:?}");
            };
            commits.push(Commit {
                hash: hash.to_string(),
                subject: subject.to_string(),
                body: fields.next().unwrap_or_default().trim().to_string(),
            });
        }
        Ok(commits)
    }

    /// Checks `rev` out, detached, in a new working tree at `dir`.
    pub(crate) fn add_worktree(&self, dir: &Path, rev: &str) -> Result<()> {
        let dir = dir.to_str().context("non-UTF-8 path")?;
        self.run(&["worktree", "add", "--quiet", "--detach", dir, rev])
            .map(drop)
    }

    /// Removes the working tree at `dir` made by [`Git::add_worktree`].
    pub(crate) fn remove_worktree(&self, dir: &Path) -> Result<()> {
        let dir = dir.to_str().context("non-UTF-8 path")?;
        self.run(&["worktree", "remove", "--force", dir]).map(drop)
    }

    /// Forgets working trees whose directory is gone.
    pub(crate) fn prune_worktrees(&self) -> Result<()> {
        self.run(&["worktree", "prune"]).map(drop)
    }

    /// The subject line of the `HEAD` commit.
    #[cfg(test)]
    pub(crate) fn head_subject(&self) -> Result<String> {
        Ok(self.run(&["log", "-1", "--format=%s"])?.trim().to_string())
    }

    /// The names of all tags, sorted.
    #[cfg(test)]
    pub(crate) fn tags(&self) -> Result<Vec<String>> {
        Ok(self
            .run(&["tag", "--list"])?
            .lines()
            .map(str::to_string)
            .collect())
    }
}
