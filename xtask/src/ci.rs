//! `cargo xtask ci`: the single definition of what CI checks.
//!
//! `.ci/run` calls `cargo xtask ci`, so the steps below are the whole CI
//! contract (formatting, the layer check, clippy, one-backend builds, the
//! tests, the examples, the OpenAPI fuzzer, the docs):
//! change them here and both CI and local runs follow.

use std::path::Path;
use std::time::Instant;

use anyhow::{bail, Context, Result};

use crate::workspace;

/// One CI step: a cargo invocation plus extra environment variables.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Step {
    /// Arguments passed to `cargo`.
    pub args: &'static [&'static str],
    /// Environment variables set for this step only.
    pub env: &'static [(&'static str, &'static str)],
}

impl Step {
    /// The step as a shell-like command line, for logs.
    pub(crate) fn display(&self) -> String {
        let mut line = String::new();
        for (key, value) in self.env {
            line.push_str(&format!("{key}=\"{value}\" "));
        }
        line.push_str("cargo ");
        line.push_str(&self.args.join(" "));
        line
    }
}

/// The clippy run of CI: every target, warnings denied, and the lint that holds the code to the
/// declared `rust-version` named explicitly (`check-msrv` runs the same, so it is a cache hit).
pub(crate) const CLIPPY: &[&str] = &[
    "clippy",
    "--workspace",
    "--all-targets",
    "--",
    "-D",
    "warnings",
    "-D",
    "clippy::incompatible_msrv",
];

/// The CI steps, in order. The first failure stops the run.
pub(crate) const STEPS: &[Step] = &[
    Step {
        args: &["fmt", "--all", "--check"],
        env: &[],
    },
    Step {
        args: &["xtask", "check-layers"],
        env: &[],
    },
    // Every file a document or doc comment cites is in the repository.
    Step {
        args: &["xtask", "check-links"],
        env: &[],
    },
    Step {
        args: CLIPPY,
        env: &[],
    },
    // The declared rust-version holds: no locked dependency needs a newer Rust, no std item
    // newer than it is used (clippy::incompatible_msrv; the same clippy run as above, so a cache hit).
    Step {
        args: &["xtask", "check-msrv"],
        env: &[],
    },
    // Each SQL backend alone (features of messenger-store-sql and the gateway), and no trace
    // of the other backend's driver in a one-backend build.
    Step {
        args: &[
            "check",
            "-p",
            "messenger-store-sql",
            "--no-default-features",
            "--features",
            "sqlite",
        ],
        env: &[],
    },
    Step {
        args: &[
            "check",
            "-p",
            "messenger-store-sql",
            "--no-default-features",
            "--features",
            "postgres",
        ],
        env: &[],
    },
    Step {
        args: &[
            "check",
            "-p",
            "messenger-gateway",
            "--no-default-features",
            "--features",
            "sqlite",
        ],
        env: &[],
    },
    Step {
        args: &["xtask", "check-backends"],
        env: &[],
    },
    // Headless Chromium for the console's browser test, installed when missing.
    Step {
        args: &["xtask", "browser"],
        env: &[],
    },
    Step {
        args: &["test", "--workspace"],
        env: &[],
    },
    // Every example runs (clippy --all-targets above has compiled them).
    Step {
        args: &["xtask", "examples"],
        env: &[],
    },
    Step {
        args: &["xtask", "schemathesis"],
        env: &[],
    },
    // The release archive: one `dist`-profile build, then unpacked in a fresh directory and
    // served with its example configuration until /readyz answers.
    Step {
        args: &["xtask", "dist", "--check"],
        env: &[],
    },
    // The documentation as docs.rs builds it (every feature, `--cfg docsrs`), warnings denied.
    Step {
        args: &["xtask", "docs"],
        env: &[],
    },
];

/// Runs every step of [`STEPS`] from the workspace `root`, printing each one,
/// and fails at the first step that does not succeed.
pub(crate) fn run(root: &Path) -> Result<()> {
    run_steps(root, STEPS)
}

/// Runs `steps` in order from `root`; stops at the first failure.
fn run_steps(root: &Path, steps: &[Step]) -> Result<()> {
    let total = Instant::now();
    for (index, step) in steps.iter().enumerate() {
        let line = step.display();
        eprintln!("==> [{}/{}] {line}", index + 1, steps.len());
        let started = Instant::now();
        let status = workspace::cargo()
            .args(step.args)
            .envs(step.env.iter().copied())
            .current_dir(root)
            .status()
            .with_context(|| format!("could not start `{line}`"))?;
        if !status.success() {
            bail!("CI step `{line}` failed ({status})");
        }
        eprintln!("    ok in {:.1}s", started.elapsed().as_secs_f64());
    }
    eprintln!(
        "==> CI passed: {} steps in {:.1}s",
        steps.len(),
        total.elapsed().as_secs_f64()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::TestWorkspace;

    #[test]
    fn the_first_failing_step_stops_the_run() {
        let ws = TestWorkspace::empty();
        let steps = [
            Step {
                args: &["--version"],
                env: &[],
            },
            Step {
                args: &["xtask-no-such-subcommand"],
                env: &[],
            },
            Step {
                args: &["new", "--vcs", "none", "--lib", "never-created"],
                env: &[],
            },
        ];
        let err = run_steps(ws.path(), &steps).unwrap_err().to_string();
        assert!(
            err.starts_with("CI step `cargo xtask-no-such-subcommand` failed"),
            "{err}"
        );
        assert!(!ws.join("never-created").exists());

        let env_step = [Step {
            args: &["new", "--vcs", "none", "--lib", "created"],
            env: &[("CARGO_NAME", "ci test")],
        }];
        run_steps(ws.path(), &env_step).unwrap();
        assert!(ws.join("created").join("Cargo.toml").exists());
    }

    #[test]
    fn steps_are_what_ci_runs() {
        let lines: Vec<String> = STEPS.iter().map(Step::display).collect();
        assert_eq!(
            lines,
            [
                "cargo fmt --all --check",
                "cargo xtask check-layers",
                "cargo xtask check-links",
                "cargo clippy --workspace --all-targets -- -D warnings -D clippy::incompatible_msrv",
                "cargo xtask check-msrv",
                "cargo check -p messenger-store-sql --no-default-features --features sqlite",
                "cargo check -p messenger-store-sql --no-default-features --features postgres",
                "cargo check -p messenger-gateway --no-default-features --features sqlite",
                "cargo xtask check-backends",
                "cargo xtask browser",
                "cargo test --workspace",
                "cargo xtask examples",
                "cargo xtask schemathesis",
                "cargo xtask dist --check",
                "cargo xtask docs",
            ]
        );
    }
}
