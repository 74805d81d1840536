//! `cargo xtask`: this workspace's automation, written in Rust instead of
//! shell scripts (the rust-analyzer "xtask" pattern; `.cargo/config.toml`
//! aliases `cargo xtask` to `cargo run --package xtask --`).
//!
//! - `cargo xtask ci` runs the CI checks; `.ci/run` calls it, so it is the
//!   single definition of CI.
//! - `cargo xtask release <crate>... <major|minor|patch|X.Y.Z>` bumps
//!   versions, moves changelog entries, commits and tags; with no crate
//!   named, it plans the release of every crate changed since its last tag
//!   and its dependents (API checked), carried out with `--execute`.
//! - `cargo xtask publish --dry-run` packages and verifies every publishable
//!   crate in dependency order.
//! - `cargo xtask check-layers` fails when a crate depends on a layer above
//!   it or an I/O-free crate pulls in an I/O crate.
//! - `cargo xtask check-links` fails when a document or doc comment cites a
//!   path that is not in the repository (part of `ci`).
//! - `cargo xtask check-msrv` fails when a locked dependency declares a
//!   `rust-version` above the workspace's, or clippy's `incompatible_msrv`
//!   finds a std item stabilised after it (part of `ci`).
//! - `cargo xtask check-backends` fails when a one-backend build of
//!   `messenger-store-sql` compiles the other backend's driver.
//! - `cargo xtask examples` runs every example (none needs the network) and
//!   fails when one exits non-zero; `ci` calls it.
//! - `cargo xtask schemathesis` runs a pinned schemathesis against the
//!   gateway with `docs/openapi.json` (part of `ci`).
//! - `cargo xtask dist [--check]` builds the gateway's release archive under
//!   `target/artefacts` (and with `--check` serves from it unpacked; part of `ci`).
//! - `cargo xtask docs` builds the documentation as docs.rs would (every
//!   feature, `--cfg docsrs`), warnings denied (part of `ci`).
//! - `cargo xtask browser` installs Debian's `chromium` and `chromium-driver`
//!   when `/usr/bin/chromedriver` is missing, for the console's browser test
//!   (part of `ci`, before the tests).
//!
//! The process is documented in `docs/releasing.md`.

mod backends;
mod browser;
mod ci;
mod crates_io;
mod dist;
mod docs;
mod examples;
mod layers;
mod links;
mod msrv;
mod publish;
mod release;
mod schemathesis;
mod server;
#[cfg(test)]
mod testutil;
mod workspace;

use anyhow::Result;
use clap::{Parser, Subcommand};
use time::OffsetDateTime;

use release::version::Bump;

/// Workspace automation: CI, releases, publish dry runs and layering checks.
#[derive(Debug, Parser)]
#[command(name = "xtask", bin_name = "cargo xtask", long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the CI checks: fmt, layers, clippy, one-backend builds, test,
    /// examples, schemathesis and doc, stopping at the first failure.
    Ci,
    /// Bump crate versions, update the requirements on them, move their
    /// changelog entries, then commit and tag. With no crate named: plan the
    /// release of every crate changed since its last tag and of its
    /// dependents, check their APIs, and with `--execute` carry it out.
    Release {
        /// The crates to release, then `major`, `minor`, `patch` or an exact
        /// version `X.Y.Z`; nothing for the changed crates.
        #[arg(value_name = "CRATE... BUMP")]
        args: Vec<String>,
        /// With no crate named: the bump of every crate released, instead of
        /// the level read from its commits.
        #[arg(long, value_name = "LEVEL", value_parser = ["patch", "minor", "major"])]
        level: Option<String>,
        /// With crates named: print the plan and change nothing (a release
        /// of the changed crates only prints its plan unless `--execute`).
        #[arg(long, conflicts_with = "execute")]
        dry_run: bool,
        /// With no crate named: carry the plan out (commit and tags).
        #[arg(long)]
        execute: bool,
    },
    /// Package and verify every publishable crate in dependency order
    /// (only `--dry-run` is automated).
    Publish {
        /// Package and verify without publishing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Fail when a crate depends on a layer above it, or an I/O-free crate
    /// pulls in an I/O crate.
    CheckLayers,
    /// Fail when a document or doc comment cites a file that is not in the repository.
    CheckLinks,
    /// Fail when a dependency in Cargo.lock needs a newer Rust than the workspace's
    /// `rust-version`, or the code uses a std item stabilised after it.
    CheckMsrv,
    /// Fail when a `messenger-store-sql` build with one backend feature
    /// compiles the other backend's database driver.
    CheckBackends,
    /// Run every example of the workspace (graph-sim on loopback, no
    /// network), failing when one exits non-zero.
    Examples,
    /// Start the gateway on a temporary database and fuzz it with a pinned
    /// schemathesis against docs/openapi.json (every check, stateful links).
    Schemathesis,
    /// Build the gateway's release archive (binary without debug information, example
    /// configuration, systemd unit, operator README, licences) under target/artefacts.
    Dist {
        /// Then unpack it in a fresh directory, serve with the example configuration and
        /// wait for /readyz.
        #[arg(long)]
        check: bool,
    },
    /// Build the documentation as docs.rs would (every feature, `--cfg docsrs`), warnings
    /// denied.
    Docs,
    /// Install headless Chromium and chromedriver (Debian packages) when
    /// /usr/bin/chromedriver is missing, for the console's browser test.
    Browser,
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    let root = workspace::project_root();
    match cli.command {
        Command::Ci => ci::run(&root),
        Command::Release {
            args,
            level,
            dry_run,
            execute,
        } => match release_request(args, level, execute)? {
            ReleaseRequest::Named { crates, bump } => {
                let options = release::Options {
                    crates,
                    bump,
                    dry_run,
                    date: OffsetDateTime::now_utc().date(),
                };
                release::run(&root, &options).map(drop)
            }
            ReleaseRequest::Changed { level } => {
                let options = release::changed::ChangedOptions {
                    level,
                    execute,
                    date: OffsetDateTime::now_utc().date(),
                    check_api: true,
                    api_target_dir: None,
                };
                release::changed::run(&root, &options).map(drop)
            }
        },
        Command::Publish { dry_run } => publish::run(&root, dry_run),
        Command::CheckLayers => layers::run(&root),
        Command::CheckMsrv => msrv::run(&root),
        Command::CheckLinks => links::run(&root),
        Command::CheckBackends => backends::run(&root),
        Command::Examples => examples::run(&root),
        Command::Schemathesis => schemathesis::run(&root),
        Command::Browser => browser::run(),
        Command::Docs => docs::run(&root),
        Command::Dist { check } => dist::run(&root, check),
    }
}

/// What `cargo xtask release` was asked to do.
#[derive(Debug, PartialEq, Eq)]
enum ReleaseRequest {
    /// Release these crates with this bump.
    Named { crates: Vec<String>, bump: Bump },
    /// Release the changed crates, at `level` when given.
    Changed { level: Option<Bump> },
}

/// Reads the release arguments: crates then a bump, or nothing (with
/// `--level` and `--execute` only then).
fn release_request(
    args: Vec<String>,
    level: Option<String>,
    execute: bool,
) -> Result<ReleaseRequest> {
    let Some((bump, crates)) = args.split_last() else {
        let level = level.map(|l| l.parse()).transpose()?;
        return Ok(ReleaseRequest::Changed { level });
    };
    if crates.is_empty() {
        anyhow::bail!(
            "name the crates, then the bump (`cargo xtask release a b minor`), or nothing to release the changed crates"
        );
    }
    if level.is_some() || execute {
        anyhow::bail!(
            "--level and --execute go with a release of the changed crates (no crate named); \
             a release of named crates takes its bump after them and runs unless --dry-run"
        );
    }
    Ok(ReleaseRequest::Named {
        crates: crates.to_vec(),
        bump: bump.parse()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_well_formed() {
        Cli::command().debug_assert();
    }

    fn request(argv: &[&str]) -> Result<ReleaseRequest> {
        let cli = Cli::try_parse_from(argv)?;
        match cli.command {
            Command::Release {
                args,
                level,
                execute,
                ..
            } => release_request(args, level, execute),
            other => panic!("parsed as {other:?}"),
        }
    }

    #[test]
    fn release_takes_crates_then_the_bump() {
        let cli =
            Cli::try_parse_from(["xtask", "release", "a", "b", "minor", "--dry-run"]).unwrap();
        assert!(matches!(
            cli.command,
            Command::Release { dry_run: true, .. }
        ));
        assert_eq!(
            request(&["xtask", "release", "a", "b", "minor", "--dry-run"]).unwrap(),
            ReleaseRequest::Named {
                crates: vec!["a".into(), "b".into()],
                bump: Bump::Minor
            }
        );
        assert!(matches!(
            request(&["xtask", "release", "a", "1.2.3"]).unwrap(),
            ReleaseRequest::Named {
                bump: Bump::Exact(_),
                ..
            }
        ));
        assert!(request(&["xtask", "release", "minor"]).is_err());
        assert!(request(&["xtask", "release", "a", "sideways"]).is_err());
        assert!(request(&["xtask", "release", "a", "minor", "--execute"]).is_err());
        assert!(request(&["xtask", "release", "a", "minor", "--level", "major"]).is_err());
    }

    #[test]
    fn release_without_crates_releases_the_changed_ones() {
        assert_eq!(
            request(&["xtask", "release"]).unwrap(),
            ReleaseRequest::Changed { level: None }
        );
        assert_eq!(
            request(&["xtask", "release", "--level", "major", "--execute"]).unwrap(),
            ReleaseRequest::Changed {
                level: Some(Bump::Major)
            }
        );
        assert!(request(&["xtask", "release", "--level", "1.2.3"]).is_err());
        assert!(request(&["xtask", "release", "--execute", "--dry-run"]).is_err());
    }
}
