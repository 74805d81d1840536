//! `cargo xtask docs`: the documentation built as docs.rs builds it, warnings denied.
//!
//! docs.rs runs nightly rustdoc with each crate's `[package.metadata.docs.rs]`: every feature
//! on and `--cfg docsrs`, under which the crates enable `feature(doc_cfg)` so a feature-gated
//! item (the store's conformance kit, the Graph stub transport, each SQL backend) is shown with
//! the feature it needs. Here only a stable toolchain is installed, so the step lets those
//! crates, and only those, use the nightly feature (`RUSTC_BOOTSTRAP=<crate>,…`, the way the
//! Rust project builds its own docs); a dependency never sees it.
//!
//! Each publishable crate must ask docs.rs for all features and `--cfg docsrs` (checked by
//! `cargo xtask publish` too); the unpublished crates are documented in the same run.

use std::path::Path;

use anyhow::{bail, Context, Result};

use crate::workspace;

/// Runs the step from the workspace `root`.
pub(crate) fn run(root: &Path) -> Result<()> {
    let metadata = workspace::metadata(root)?;
    let members = workspace::members(&metadata);
    let mut rustdoc_args: Option<Vec<String>> = None;
    let mut problems = Vec::new();
    for package in members.iter().filter(|p| workspace::is_publishable(p)) {
        let docs_rs = &package.metadata["docs"]["rs"];
        if docs_rs["all-features"].as_bool() != Some(true) {
            problems.push(format!(
                "{}: [package.metadata.docs.rs] does not set all-features = true",
                package.name
            ));
        }
        let args: Vec<String> = docs_rs["rustdoc-args"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|arg| arg.as_str().map(str::to_owned))
            .collect();
        if !args.windows(2).any(|w| w == ["--cfg", "docsrs"]) {
            problems.push(format!(
                "{}: [package.metadata.docs.rs] does not pass rustdoc-args = [\"--cfg\", \"docsrs\"]",
                package.name
            ));
        }
        match &rustdoc_args {
            Some(first) if *first != args => problems.push(format!(
                "{}: rustdoc-args differ from the other crates' ({args:?}, not {first:?}); one \
                 cargo doc run cannot honour both",
                package.name
            )),
            Some(_) => {}
            None => rustdoc_args = Some(args),
        }
    }
    if !problems.is_empty() {
        bail!("{}", problems.join("\n"));
    }
    let rustdoc_args = rustdoc_args.context("no publishable crate")?;
    let mut flags = rustdoc_args;
    flags.extend(["-D".to_owned(), "warnings".to_owned()]);
    let crate_names: Vec<String> = members
        .iter()
        .flat_map(|p| p.targets.iter())
        .filter(|t| t.is_lib() || t.is_bin())
        .map(|t| t.name.replace('-', "_"))
        .collect();
    let flags = flags.join(" ");
    let bootstrap = crate_names.join(",");
    eprintln!(
        "    RUSTDOCFLAGS=\"{flags}\" RUSTC_BOOTSTRAP={bootstrap} cargo doc --workspace --no-deps --all-features"
    );
    let status = workspace::cargo()
        .current_dir(root)
        .args(["doc", "--workspace", "--no-deps", "--all-features"])
        .env("RUSTDOCFLAGS", &flags)
        .env("RUSTC_BOOTSTRAP", &bootstrap)
        .status()
        .context("could not run cargo doc")?;
    if !status.success() {
        bail!("cargo doc as docs.rs would run it failed ({status})");
    }
    Ok(())
}
