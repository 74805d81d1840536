//! `cargo xtask`: this workspace's automation, written in Rust instead of
//! shell scripts (the rust-analyzer "xtask" pattern; `.cargo/config.toml`
//! aliases `cargo xtask` to `cargo run --package xtask --`).
//!
//! - `cargo xtask ci` runs the CI checks; `.ci/run` calls it, so it is the
//!   single definition of CI.
//! - `cargo xtask release <crate>... <major|minor|patch|X.Y.Z>` bumps
//!   versions, moves changelog entries, commits and tags.
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
    /// changelog entries, then commit and tag.
    Release {
        /// The crates to release.
        #[arg(required = true, num_args = 1.., value_name = "CRATE")]
        crates: Vec<String>,
        /// `major`, `minor`, `patch` or an exact version `X.Y.Z`.
        #[arg(required = true, value_name = "major|minor|patch|X.Y.Z")]
        bump: Bump,
        /// Print the plan and change nothing.
        #[arg(long)]
        dry_run: bool,
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
            crates,
            bump,
            dry_run,
        } => {
            let options = release::Options {
                crates,
                bump,
                dry_run,
                date: OffsetDateTime::now_utc().date(),
            };
            release::run(&root, &options).map(drop)
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn release_takes_crates_then_the_bump() {
        let cli =
            Cli::try_parse_from(["xtask", "release", "a", "b", "minor", "--dry-run"]).unwrap();
        match cli.command {
            Command::Release {
                crates,
                bump,
                dry_run,
            } => {
                assert_eq!(crates, ["a", "b"]);
                assert_eq!(bump, Bump::Minor);
                assert!(dry_run);
            }
            other => panic!("parsed as {other:?}"),
        }
        let cli = Cli::try_parse_from(["xtask", "release", "a", "1.2.3"]).unwrap();
        assert!(matches!(
            cli.command,
            Command::Release {
                bump: Bump::Exact(_),
                ..
            }
        ));
        assert!(Cli::try_parse_from(["xtask", "release", "minor"]).is_err());
        assert!(Cli::try_parse_from(["xtask", "release", "a", "sideways"]).is_err());
    }
}
