//! `cargo xtask publish --dry-run`: proves every publishable crate builds
//! from its own package, in dependency order.
//!
//! It runs one `cargo package -p a -p b …` over all crates without
//! `publish = false`. Since Cargo 1.90 (multi-package packaging and
//! publishing, rust-lang/cargo#15636), cargo then verifies each `.crate` by
//! building it against crates.io plus a temporary local registry holding the
//! other packages just made, so a crate that silently relies on a workspace
//! path, a file outside its package or an unpublished crate fails here
//! rather than on crates.io.
//!
//! Before packaging, xtask checks what would make cargo fail in a confusing
//! way (see [`problems`]), what crates.io and docs.rs need of each manifest
//! (see `crates_io`: no placeholder `repository`, readme, keywords, …) and
//! that each package holds the licence texts and its readme. Real publishing is not automated: it is
//! irreversible, so xtask prints the order and the `cargo publish` command to
//! run by hand.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::Stdio;

use anyhow::{bail, Context, Result};
use cargo_metadata::{DependencyKind, Metadata};
use semver::VersionReq;

use crate::{crates_io, workspace};

/// The publishable workspace crates, each after the crates it depends on
/// (normal and build dependencies; dev-dependencies do not order).
pub(crate) fn order(metadata: &Metadata) -> Result<Vec<String>> {
    workspace::topological_order(&workspace::publishable_graph(metadata)?)
}

/// Dependency declarations between workspace crates that would make
/// packaging or publishing fail, as `crate -> dependency (why)`:
///
/// - a normal or build dependency on a `publish = false` crate;
/// - a normal or build path dependency without a `version`;
/// - a dev-dependency with a `version` on a `publish = false` crate: cargo
///   keeps versioned dev-dependencies in the packaged manifest, where this
///   one cannot resolve (path-only dev-dependencies are stripped instead);
/// - a dev-dependency with a `version` on a crate that itself depends on the
///   dependent: cargo orders packages by all dependencies, so the cycle
///   makes it package the dependency first and fail to find the dependent.
pub(crate) fn problems(metadata: &Metadata) -> Result<Vec<String>> {
    let members = workspace::members(metadata);
    let publishable: BTreeMap<&str, bool> = members
        .iter()
        .map(|p| (p.name.as_str(), workspace::is_publishable(p)))
        .collect();
    let graph = workspace::member_graph(metadata)?;
    let mut problems = Vec::new();
    for package in members.iter().filter(|p| workspace::is_publishable(p)) {
        for dep in &package.dependencies {
            let Some(&dep_publishable) = publishable.get(dep.name.as_str()) else {
                continue;
            };
            if dep.path.is_none() {
                continue;
            }
            let versioned = dep.req != VersionReq::STAR;
            let dev = dep.kind == DependencyKind::Development;
            let why = if !dep_publishable && !dev {
                Some("it has publish = false, so a published crate cannot depend on it".to_string())
            } else if !dev && !versioned {
                Some("path dependency without a version; cargo cannot publish it".to_string())
            } else if !dep_publishable && versioned {
                Some(format!(
                    "dev-dependency on a publish = false crate with version requirement \"{}\": \
                     cargo keeps it in the package, where it cannot resolve; make it path-only so \
                     cargo strips it: drop `version` from its [workspace.dependencies] entry or \
                     write `{{ path = \"…\" }}` here",
                    dep.req
                ))
            } else if dev && versioned && depends_on(&graph, &dep.name, &package.name) {
                Some(format!(
                    "versioned dev-dependency closes a cycle ({} depends on {}), so cargo cannot \
                     order the packages; declare it path-only (`{{ path = \"…\" }}`, not \
                     `.workspace = true`) so cargo strips it",
                    dep.name, package.name
                ))
            } else {
                None
            };
            if let Some(why) = why {
                let problem = format!("{} -> {} ({why})", package.name, dep.name);
                if !problems.contains(&problem) {
                    problems.push(problem);
                }
            }
        }
    }
    Ok(problems)
}

/// Whether `from` reaches `to` through non-dev dependencies.
fn depends_on(graph: &BTreeMap<String, BTreeSet<String>>, from: &str, to: &str) -> bool {
    let mut stack = vec![from];
    let mut seen = BTreeSet::new();
    while let Some(name) = stack.pop() {
        if name == to {
            return true;
        }
        if seen.insert(name) {
            stack.extend(graph.get(name).into_iter().flatten().map(String::as_str));
        }
    }
    false
}

/// Runs `cargo xtask publish` in the workspace at `root`.
///
/// With `dry_run`, packages and verifies every publishable crate. Without
/// it, refuses and prints how to publish by hand.
pub(crate) fn run(root: &Path, dry_run: bool) -> Result<()> {
    let metadata = workspace::metadata(root)?;
    let order = order(&metadata)?;
    let skipped: Vec<&str> = workspace::members(&metadata)
        .into_iter()
        .filter(|p| !workspace::is_publishable(p))
        .map(|p| p.name.as_str())
        .collect();
    println!("publish order:");
    for (index, name) in order.iter().enumerate() {
        println!("  {}. {name}", index + 1);
    }
    if !skipped.is_empty() {
        println!("skipped (publish = false): {}", skipped.join(", "));
    }
    if order.is_empty() {
        bail!("no workspace crate is publishable");
    }

    let problems = problems(&metadata)?;
    if !problems.is_empty() {
        for problem in &problems {
            println!("{problem}");
        }
        bail!(
            "{} dependency declaration(s) would make packaging fail; fix them first",
            problems.len()
        );
    }

    let mut unready = Vec::new();
    for name in &order {
        let package = workspace::member(&metadata, name)?;
        for problem in crates_io::manifest_problems(package) {
            unready.push(format!("{name}: {problem}"));
        }
    }
    if !unready.is_empty() {
        for problem in &unready {
            println!("{problem}");
        }
        bail!(
            "{} problem(s) in the manifests of publishable crates (crates.io and docs.rs need \
             these); fix them first",
            unready.len()
        );
    }

    let packages: Vec<String> = order.iter().map(|name| format!("-p {name}")).collect();
    if !dry_run {
        bail!(
            "xtask does not publish for real (publishing cannot be undone). After \
             `cargo xtask publish --dry-run` passes on the release commit, run:\n    \
             cargo publish {}\n\
             (Cargo 1.90+ publishes them in dependency order and waits for each to reach the \
             index), or `cargo publish -p <crate>` one at a time in the order above.",
            packages.join(" ")
        );
    }
    for name in &order {
        crates_io::check_packaged_files(root, workspace::member(&metadata, name)?)?;
    }
    println!(
        "every package holds {} and its readme",
        crates_io::LICENSE_FILES.join(", ")
    );
    package_all(root, &order, &[])
}

/// `cargo package --allow-dirty -p a -p b …` (plus `extra_args`),
/// reporting which crate failed.
///
/// `--allow-dirty` because a dry run is also useful before committing;
/// `cargo publish` itself still refuses a dirty tree.
fn package_all(root: &Path, order: &[String], extra_args: &[&str]) -> Result<()> {
    let mut command = workspace::cargo();
    command
        .current_dir(root)
        .args(["package", "--allow-dirty"])
        .args(extra_args);
    for name in order {
        command.args(["-p", name]);
    }
    eprintln!(
        "==> cargo package --allow-dirty {}",
        order
            .iter()
            .map(|name| format!("-p {name}"))
            .collect::<Vec<_>>()
            .join(" ")
    );
    let mut child = command
        .stderr(Stdio::piped())
        .spawn()
        .context("could not start `cargo package`")?;
    let stderr = child.stderr.take().context("no stderr from cargo")?;
    let mut tracker = Tracker::default();
    for line in BufReader::new(stderr).lines() {
        let line = line.context("reading cargo's output")?;
        eprintln!("{line}");
        tracker.observe(&line);
    }
    let status = child.wait().context("waiting for `cargo package`")?;
    if status.success() {
        println!(
            "publish dry run passed: {} crate(s) packaged and verified in order",
            order.len()
        );
        return Ok(());
    }
    match &tracker.current {
        Some((step, krate)) => bail!(
            "{step} {krate} failed ({status}): {}",
            tracker.errors_or_default()
        ),
        None => bail!(
            "`cargo package` failed ({status}): {}",
            tracker.errors_or_default()
        ),
    }
}

/// Follows cargo's progress lines to know which crate a failure is about.
#[derive(Debug, Default)]
struct Tracker {
    /// The last `Packaging`/`Verifying` step and its crate.
    current: Option<(String, String)>,
    /// `error…` lines seen since that step started.
    errors: Vec<String>,
}

impl Tracker {
    fn observe(&mut self, line: &str) {
        let trimmed = line.trim_start();
        for step in ["Packaging", "Verifying"] {
            if let Some(rest) = trimmed.strip_prefix(step).and_then(|r| r.strip_prefix(' ')) {
                let krate = rest.split_whitespace().next().unwrap_or(rest);
                let verb = if step == "Packaging" {
                    "packaging"
                } else {
                    "verifying"
                };
                self.current = Some((verb.to_string(), krate.to_string()));
                self.errors.clear();
                return;
            }
        }
        if trimmed.starts_with("error") {
            self.errors.push(trimmed.to_string());
        }
    }

    fn errors_or_default(&self) -> String {
        if self.errors.is_empty() {
            "see cargo's output above".to_string()
        } else {
            self.errors.join("; ")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::TestWorkspace;

    #[test]
    fn order_and_problems_of_a_workspace() {
        let ws = TestWorkspace::two_crates();
        let metadata = workspace::metadata(ws.path()).unwrap();
        // beta depends on alpha; tool is not publishable.
        assert_eq!(order(&metadata).unwrap(), ["alpha", "beta"]);
        assert_eq!(problems(&metadata).unwrap(), Vec::<String>::new());

        ws.write(
            "crates/alpha/Cargo.toml",
            "[package]\nname = \"alpha\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n\
             [dev-dependencies]\n\
             beta.workspace = true\n\
             tool = { path = \"../tool\", version = \"0.0.0\" }\n",
        );
        ws.write(
            "crates/beta/Cargo.toml",
            "[package]\nname = \"beta\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n\
             [dependencies]\nalpha.workspace = true\ntool = { path = \"../tool\" }\n\n\
             [dev-dependencies]\ntool = { path = \"../tool\" }\n",
        );
        let metadata = workspace::metadata(ws.path()).unwrap();
        assert_eq!(order(&metadata).unwrap(), ["alpha", "beta"]);
        let problems = problems(&metadata).unwrap();
        assert_eq!(problems.len(), 3, "{problems:#?}");
        assert!(problems[0].starts_with(
            "alpha -> beta (versioned dev-dependency closes a cycle (beta depends on alpha)"
        ));
        assert!(problems[1].starts_with("alpha -> tool (dev-dependency on a publish = false crate with version requirement \"^0.0.0\""));
        assert_eq!(
            problems[2],
            "beta -> tool (it has publish = false, so a published crate cannot depend on it)"
        );
    }

    #[test]
    fn packaging_verifies_each_crate_and_names_the_one_that_fails() {
        let ws = TestWorkspace::two_crates();
        let metadata = workspace::metadata(ws.path()).unwrap();
        let order = order(&metadata).unwrap();
        let target = ws.join("target");
        let args = ["--offline", "--target-dir", target.to_str().unwrap()];
        package_all(ws.path(), &order, &args).unwrap();

        // beta now reads a file outside its package: it builds in the
        // workspace but not from its .crate.
        ws.write(
            "crates/beta/src/lib.rs",
            "//! Beta.\n\n/// The workspace manifest.\npub const ROOT: &str = include_str!(\"../../../Cargo.toml\");\n",
        );
        let err = package_all(ws.path(), &order, &args).unwrap_err();
        let err = format!("{err:#}");
        assert!(err.starts_with("verifying beta failed"), "{err}");
        assert!(err.contains("Cargo.toml"), "{err}");
    }

    #[test]
    fn real_publishing_is_refused_with_the_command_to_run() {
        let ws = TestWorkspace::two_crates();
        let err = run(ws.path(), false).unwrap_err().to_string();
        assert!(err.contains("cargo publish -p alpha -p beta\n"), "{err}");
    }

    #[test]
    fn a_placeholder_repository_or_a_missing_readme_is_refused() {
        let ws = TestWorkspace::two_crates();
        let manifest = ws.read("crates/alpha/Cargo.toml").replace(
            "description = \"a\"\n",
            "description = \"a\"\nrepository = \"https://github.com/example/alpha\"\n",
        );
        ws.write("crates/alpha/Cargo.toml", &manifest);
        std::fs::remove_file(ws.join("crates/beta/README.md")).unwrap();
        for dry_run in [true, false] {
            let err = run(ws.path(), dry_run).unwrap_err().to_string();
            assert!(err.contains("2 problem(s) in the manifests"), "{err}");
        }
    }

    #[test]
    fn tracker_names_the_failing_crate() {
        let mut tracker = Tracker::default();
        for line in [
            "   Packaging messenger-model v0.1.0 (/w/crates/messenger-model)",
            "    Packaged 10 files",
            "   Verifying messenger-model v0.1.0 (/w/crates/messenger-model)",
            "error: unrelated earlier noise",
            "   Verifying messenger-graph v0.1.0 (/w/crates/messenger-graph)",
            "   Compiling messenger-graph v0.1.0",
            "error[E0425]: cannot find function `x`",
            "error: failed to verify package tarball",
        ] {
            tracker.observe(line);
        }
        assert_eq!(
            tracker.current,
            Some(("verifying".to_string(), "messenger-graph".to_string()))
        );
        assert_eq!(
            tracker.errors_or_default(),
            "error[E0425]: cannot find function `x`; error: failed to verify package tarball"
        );
    }

    #[test]
    fn cycles_are_found_through_the_graph() {
        let graph: BTreeMap<String, BTreeSet<String>> = [
            ("validate", vec!["model"]),
            ("model", vec![]),
            ("graph", vec!["model"]),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.into_iter().map(String::from).collect()))
        .collect();
        assert!(depends_on(&graph, "validate", "model"));
        assert!(!depends_on(&graph, "model", "validate"));
        assert!(!depends_on(&graph, "graph", "validate"));
    }
}
