//! What crates.io and docs.rs need of a published crate, checked before `cargo package`:
//! the fields a stranger reads (description, licence, readme, keywords, categories,
//! documentation), the licence texts and readme packaged with it, the docs.rs settings that show
//! feature-gated items, and no placeholder URL (a `repository` on `example.com` would send every
//! reader of crates.io nowhere).

use std::path::Path;

use anyhow::{bail, Context, Result};
use cargo_metadata::Package;

use crate::workspace;

/// The licence files every published crate carries (the root's, linked into each crate).
pub(crate) const LICENSE_FILES: &[&str] = &["LICENSE-MIT", "LICENSE-APACHE"];

/// The licence expression every published crate declares.
pub(crate) const LICENSE: &str = "MIT OR Apache-2.0";

/// Domains reserved for examples and tests (RFC 2606, RFC 6761): never a real home.
const RESERVED_DOMAINS: &[&str] = &["example.com", "example.org", "example.net"];
const RESERVED_SUFFIXES: &[&str] = &[".example", ".invalid", ".test", ".localhost"];

/// Owners that name no one on a forge (`github.com/example/…`).
const PLACEHOLDER_OWNERS: &[&str] = &[
    "example",
    "your-org",
    "yourorg",
    "your-name",
    "username",
    "user",
    "owner",
    "org",
    "todo",
    "changeme",
    "xxx",
];

/// Why `url` is a placeholder rather than a real address, if it is one.
pub(crate) fn placeholder(url: &str) -> Option<String> {
    let Some(rest) = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
    else {
        return Some("not an http(s) URL".to_owned());
    };
    let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
    let host = host.split(':').next().unwrap_or(host).to_ascii_lowercase();
    if host.is_empty() || host == "localhost" {
        return Some("no public host".to_owned());
    }
    let reserved = RESERVED_DOMAINS
        .iter()
        .any(|d| host == *d || host.ends_with(&format!(".{d}")))
        || RESERVED_SUFFIXES.iter().any(|s| host.ends_with(s));
    if reserved {
        return Some(format!("{host} is reserved for examples"));
    }
    let owner = path.split('/').next().unwrap_or("").to_ascii_lowercase();
    let forge =
        ["github.com", "gitlab.com", "codeberg.org", "bitbucket.org"].contains(&host.as_str());
    if forge && PLACEHOLDER_OWNERS.contains(&owner.as_str()) {
        return Some(format!("`{owner}` is a placeholder owner on {host}"));
    }
    if path.contains("TODO") || path.contains("CHANGEME") {
        return Some("the path is a placeholder".to_owned());
    }
    None
}

/// What is missing or wrong in `package`'s manifest for crates.io and docs.rs, one line each.
pub(crate) fn manifest_problems(package: &Package) -> Vec<String> {
    let mut problems = Vec::new();
    let mut missing = |field: &str| problems.push(format!("no `{field}`"));
    if package.description.as_deref().is_none_or(str::is_empty) {
        missing("description");
    }
    if package.keywords.is_empty() {
        missing("keywords");
    }
    if package.categories.is_empty() {
        missing("categories");
    }
    if package.documentation.is_none() {
        missing("documentation");
    }
    match &package.readme {
        None => missing("readme"),
        Some(readme) => {
            let path = package
                .manifest_path
                .parent()
                .map(|dir| dir.join(readme))
                .unwrap_or_else(|| readme.clone());
            if !path.is_file() {
                problems.push(format!("readme {readme} does not exist"));
            }
        }
    }
    if package.license.as_deref() != Some(LICENSE) {
        problems.push(format!(
            "license is {:?}, not \"{LICENSE}\"",
            package.license.as_deref().unwrap_or("absent")
        ));
    }
    if let Some(dir) = package.manifest_path.parent() {
        for file in LICENSE_FILES {
            if !dir.join(file).is_file() {
                problems.push(format!(
                    "no {file} in the crate (link it: `ln -s ../../{file} {}/{file}`)",
                    dir.file_name().unwrap_or("<crate>")
                ));
            }
        }
    }
    for (field, url) in [
        ("repository", &package.repository),
        ("homepage", &package.homepage),
        ("documentation", &package.documentation),
    ] {
        if let Some(why) = url.as_deref().and_then(placeholder) {
            problems.push(format!(
                "`{field}` {} is a placeholder ({why}): leave it out until the project has a \
                 public home",
                url.as_deref().unwrap_or_default()
            ));
        }
    }
    let docs_rs = &package.metadata["docs"]["rs"];
    if docs_rs["all-features"].as_bool() != Some(true) {
        problems.push("no `[package.metadata.docs.rs] all-features = true`".to_owned());
    }
    let cfg_docsrs = docs_rs["rustdoc-args"]
        .as_array()
        .is_some_and(|args| args.windows(2).any(|w| w[0] == "--cfg" && w[1] == "docsrs"));
    if !cfg_docsrs {
        problems.push(
            "no `rustdoc-args = [\"--cfg\", \"docsrs\"]` in [package.metadata.docs.rs]".to_owned(),
        );
    }
    problems
}

/// Fails unless `cargo package --list` of `name` holds the licence files and the readme.
pub(crate) fn check_packaged_files(root: &Path, package: &Package) -> Result<()> {
    let output = workspace::cargo()
        .current_dir(root)
        .args(["package", "--list", "--allow-dirty", "-p", &package.name])
        .output()
        .with_context(|| format!("could not run `cargo package --list -p {}`", package.name))?;
    if !output.status.success() {
        bail!(
            "`cargo package --list -p {}` failed: {}",
            package.name,
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    let listed = String::from_utf8_lossy(&output.stdout);
    let files: Vec<&str> = listed.lines().map(str::trim).collect();
    let readme = package
        .readme
        .as_ref()
        .map(|r| r.as_str().to_owned())
        .unwrap_or_else(|| "README.md".to_owned());
    let absent: Vec<&str> = LICENSE_FILES
        .iter()
        .copied()
        .chain([readme.as_str()])
        .filter(|wanted| !files.contains(wanted))
        .collect();
    if !absent.is_empty() {
        bail!(
            "the package of {} would not contain {}",
            package.name,
            absent.join(", ")
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_recognised() {
        for url in [
            "https://github.com/example/messenger-channel",
            "https://example.com/repo",
            "https://git.example.org/x",
            "http://localhost:8080/x",
            "https://code.invalid/x",
            "https://gitlab.com/your-org/x",
            "ftp://somewhere/x",
        ] {
            assert!(placeholder(url).is_some(), "{url}");
        }
        for url in [
            "https://docs.rs/messenger-model",
            "https://github.com/dotdigital/messenger-channel",
            "https://codeberg.org/messenger/channel",
        ] {
            assert_eq!(placeholder(url), None, "{url}");
        }
    }
}
