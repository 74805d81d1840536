//! `cargo xtask check-links`: every file the repository cites is in the repository.
//!
//! It reads every tracked (or new, not ignored) Markdown file and the comments of every Rust
//! file, and resolves:
//!
//! - Markdown links `[text](target)` that are not URLs: relative to the file (`#anchors` cut);
//! - paths in backticks that start at a top-level directory of the repository (`docs/…`,
//!   `crates/…`, `reference/…`) or name a Markdown file: from the root, else from the file's
//!   crate, else from the file's directory.
//!
//! The code map, [`CODE_MAP`], is held to more: every path in backticks there (a word with a `/`
//! or a file name with an extension such as `attempt.rs`) must exist, resolved from the root,
//! else from the crate whose name heads its `###` section (the crate's directory or its `src/`), else,
//! outside a crate's section, as the end of some file's path.
//!
//! Paths holding a placeholder (`<crate>`, `*`, `{…}`, `…`) are skipped. The SQL migrations are
//! not read: an applied migration cannot change (sqlx checksums it), whatever its comments say.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};

/// Directories never read.
const SKIPPED: &[&str] = &["target/", "crates/messenger-store-sql/migrations/"];

/// Top-level directories whose names start a root-relative path in backticks.
const ROOTS: &[&str] = &[
    "docs/",
    "crates/",
    "xtask/",
    "fixtures/",
    "dist/",
    "reference/",
    ".ci/",
    "benches/",
    "examples/",
    "tests/",
    "src/",
    "migrations/",
];

/// The code map, whose every backticked path must exist ([`code_map_paths`]).
pub(crate) const CODE_MAP: &str = "docs/architecture.md";

/// The extensions that make a backticked word a file name in [`CODE_MAP`].
const FILE_EXTENSIONS: &[&str] = &[
    "rs", "toml", "json", "md", "sql", "sh", "js", "css", "html", "yml", "yaml", "png",
];

/// One citation that does not resolve.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Broken {
    /// The citing file, relative to the root.
    pub file: String,
    /// Its line (1-based).
    pub line: usize,
    /// The path cited.
    pub target: String,
}

/// Runs the check from the workspace `root`.
pub(crate) fn run(root: &Path) -> Result<()> {
    let files = repository_files(root)?;
    let present: BTreeSet<String> = files.iter().cloned().collect();
    let mut broken = Vec::new();
    for file in &files {
        if SKIPPED.iter().any(|s| file.starts_with(s)) {
            continue;
        }
        let kind = if file.ends_with(".md") {
            Kind::Markdown
        } else if file.ends_with(".rs") {
            Kind::Rust
        } else {
            continue;
        };
        let text =
            std::fs::read_to_string(root.join(file)).with_context(|| format!("reading {file}"))?;
        broken.extend(check_text(root, file, &text, kind, &present));
        if file == CODE_MAP {
            broken.extend(check_code_map(file, &text, &present));
        }
    }
    if !broken.is_empty() {
        for b in &broken {
            println!(
                "{}:{}: `{}` is not in the repository",
                b.file, b.line, b.target
            );
        }
        bail!("{} citation(s) point outside the repository", broken.len());
    }
    println!(
        "check-links: every cited path of {} files resolves",
        files.len()
    );
    Ok(())
}

/// What kind of text a file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Markdown: every line.
    Markdown,
    /// Rust: comment lines only.
    Rust,
}

/// The broken citations of `text`, the contents of `file` (relative to `root`).
pub(crate) fn check_text(
    root: &Path,
    file: &str,
    text: &str,
    kind: Kind,
    present: &BTreeSet<String>,
) -> Vec<Broken> {
    let mut broken = Vec::new();
    let dir = Path::new(file).parent().unwrap_or(Path::new(""));
    let krate = crate_dir(root, file);
    for (index, line) in text.lines().enumerate() {
        let line = match kind {
            Kind::Markdown => line,
            Kind::Rust => match line.trim_start().strip_prefix("//") {
                Some(comment) => comment,
                None => continue,
            },
        };
        let mut cited: Vec<(String, bool)> = Vec::new();
        if kind == Kind::Markdown {
            cited.extend(markdown_links(line).into_iter().map(|t| (t, true)));
        }
        cited.extend(backticked_paths(line).into_iter().map(|t| (t, false)));
        for (target, is_link) in cited {
            let clean = target.split('#').next().unwrap_or("").to_owned();
            if clean.is_empty() || placeholder(&clean) {
                continue;
            }
            let candidates: Vec<PathBuf> = if is_link {
                vec![dir.join(&clean)]
            } else {
                let mut c = vec![PathBuf::from(&clean)];
                if let Some(k) = &krate {
                    c.push(k.join(&clean));
                }
                c.push(dir.join(&clean));
                c
            };
            // A crate-relative path named in prose about a crate (`tests/api/…`, `CHANGELOG.md`):
            // it is fine when some crate has it.
            let in_some_crate = || {
                !is_link
                    && present.iter().any(|p| {
                        let crate_relative = p
                            .strip_prefix("crates/")
                            .and_then(|rest| rest.split_once('/'))
                            .map(|(_, inner)| inner)
                            .or_else(|| p.strip_prefix("xtask/"));
                        crate_relative.is_some_and(|inner| {
                            inner == clean.trim_end_matches('/')
                                || inner.starts_with(&format!("{}/", clean.trim_end_matches('/')))
                        })
                    })
            };
            let found = candidates.iter().any(|c| resolves(root, c, present)) || in_some_crate();
            if !found {
                broken.push(Broken {
                    file: file.to_owned(),
                    line: index + 1,
                    target,
                });
            }
        }
    }
    broken
}

/// The paths of the code map `text` (the contents of `file`) that are not in the repository:
/// each backticked path ([`code_map_paths`]) resolved from the root, else from the crate of the
/// `###` section it is in, headed by a crate's name in backticks (the crate's directory or its
/// `src/`; `xtask/`), else,
/// outside a crate's section, as the end of some file's path (`hostile.rs`).
pub(crate) fn check_code_map(file: &str, text: &str, present: &BTreeSet<String>) -> Vec<Broken> {
    let exists = |path: &str| {
        let path = path.trim_end_matches('/');
        present.contains(path)
            || present
                .range(format!("{path}/")..)
                .next()
                .is_some_and(|p| p.starts_with(&format!("{path}/")))
    };
    let mut broken = Vec::new();
    let mut section_crate: Option<String> = None;
    for (index, line) in text.lines().enumerate() {
        if line.starts_with("## ") {
            section_crate = None;
        }
        if let Some(heading) = line.strip_prefix("### ") {
            section_crate = heading
                .trim()
                .strip_prefix('`')
                .and_then(|h| h.strip_suffix('`'))
                .map(|name| {
                    if name == "xtask" {
                        "xtask".to_owned()
                    } else {
                        format!("crates/{name}")
                    }
                })
                .filter(|dir| exists(&format!("{dir}/Cargo.toml")));
        }
        for path in code_map_paths(line) {
            let found = exists(&path)
                || match &section_crate {
                    Some(dir) => {
                        exists(&format!("{dir}/{path}")) || exists(&format!("{dir}/src/{path}"))
                    }
                    None => {
                        let tail = format!("/{}", path.trim_end_matches('/'));
                        present
                            .iter()
                            .any(|p| p.ends_with(&tail) || p.contains(&format!("{tail}/")))
                    }
                };
            if !found {
                broken.push(Broken {
                    file: file.to_owned(),
                    line: index + 1,
                    target: path,
                });
            }
        }
    }
    broken
}

/// The words in backticks on `line` that name a file or directory: a relative path with a `/`
/// (`send/dispatch/`, `config/env.rs`) or a file name with a known extension (`attempt.rs`).
/// Route paths (`/metrics`), media types (`application/problem+json`), URLs and placeholders are
/// not paths.
pub(crate) fn code_map_paths(line: &str) -> Vec<String> {
    line.split('`')
        .skip(1)
        .step_by(2)
        .map(|s| s.trim().trim_end_matches([',', '.', ':', ';']))
        .filter(|s| !s.is_empty() && !s.contains("://") && !s.contains(char::is_whitespace))
        .filter(|s| !placeholder(s) && !s.contains(['(', ')', '+', '@', '"', '\'']))
        .filter(|s| {
            let name = s
                .trim_end_matches('/')
                .rsplit('/')
                .next()
                .unwrap_or_default();
            let file = name
                .rsplit_once('.')
                .is_some_and(|(stem, ext)| !stem.is_empty() && FILE_EXTENSIONS.contains(&ext));
            let dir = s.ends_with('/') && s.len() > 1;
            file || dir
        })
        .map(str::to_owned)
        .collect()
}

/// Whether `path` (relative to `root`, maybe with `..`) is a file or directory of the repository.
fn resolves(root: &Path, path: &Path, present: &BTreeSet<String>) -> bool {
    let mut parts: Vec<String> = Vec::new();
    for part in path.components() {
        match part {
            std::path::Component::ParentDir if parts.pop().is_none() => return false,
            std::path::Component::ParentDir => {}
            std::path::Component::Normal(p) => parts.push(p.to_string_lossy().into_owned()),
            _ => {}
        }
    }
    let joined = parts.join("/");
    let joined = joined.trim_end_matches('/');
    if joined.is_empty() {
        return true;
    }
    present.contains(joined)
        || present
            .range(format!("{joined}/")..)
            .next()
            .is_some_and(|p| p.starts_with(&format!("{joined}/")))
        || root.join(joined).exists() && !joined.starts_with("target")
}

/// The crate directory (`crates/<name>` or `xtask`) holding `file`, if any.
fn crate_dir(root: &Path, file: &str) -> Option<PathBuf> {
    let mut dir = Path::new(file).parent();
    while let Some(d) = dir {
        if d.as_os_str().is_empty() {
            return None;
        }
        if root.join(d).join("Cargo.toml").is_file() {
            return Some(d.to_path_buf());
        }
        dir = d.parent();
    }
    None
}

fn placeholder(path: &str) -> bool {
    path.contains(['<', '>', '*', '{', '}', '…', '$', ' ', '|', '='])
        || path.contains("...")
        || path.starts_with('/')
        || path.starts_with('~')
}

/// The targets of `[text](target)` on `line` that are not URLs.
pub(crate) fn markdown_links(line: &str) -> Vec<String> {
    let mut targets = Vec::new();
    let mut rest = line;
    while let Some(at) = rest.find("](") {
        let after = &rest[at + 2..];
        let Some(end) = after.find(')') else { break };
        let target = after[..end].trim();
        let target = target.split_whitespace().next().unwrap_or("");
        let url =
            target.contains("://") || target.starts_with("mailto:") || target.starts_with('#');
        if !url && !target.is_empty() {
            targets.push(target.to_owned());
        }
        rest = &after[end..];
    }
    targets
}

/// Paths in backticks on `line`: starting at a top-level directory, or ending in `.md`.
pub(crate) fn backticked_paths(line: &str) -> Vec<String> {
    line.split('`')
        .skip(1)
        .step_by(2)
        .map(str::trim)
        .filter(|s| !s.is_empty() && !s.contains("://") && !s.contains(char::is_whitespace))
        .filter(|s| {
            let rooted = ROOTS.iter().any(|r| s.starts_with(r)) && s.len() > 4;
            let markdown = s.ends_with(".md") && s.len() > 3 && !s.starts_with(['-', '.']);
            rooted || markdown
        })
        .map(|s| s.trim_end_matches([',', '.', ':', ';']).to_owned())
        .collect()
}

/// Tracked files plus new ones git does not ignore, relative to `root`.
fn repository_files(root: &Path) -> Result<Vec<String>> {
    let output = Command::new("git")
        .arg("-C")
        .arg(root)
        .args(["ls-files", "--cached", "--others", "--exclude-standard"])
        .output()
        .context("could not run git ls-files")?;
    if !output.status.success() {
        bail!(
            "git ls-files failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let mut files: Vec<String> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter(|f| root.join(f).exists())
        .map(str::to_owned)
        .collect();
    files.sort();
    files.dedup();
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::TestWorkspace;

    #[test]
    fn links_and_paths_are_found() {
        assert_eq!(
            markdown_links("see [a](docs/a.md#x), [b](https://x.org) and [c](#top)"),
            ["docs/a.md#x"]
        );
        assert_eq!(
            backticked_paths("in `docs/store.md`, `reference/x.md`, `Vec<u8>`, `a b`, `NOTES.md`."),
            ["docs/store.md", "reference/x.md", "NOTES.md"]
        );
    }

    #[test]
    fn a_missing_file_is_reported_with_its_line() {
        let ws = TestWorkspace::empty();
        ws.write("docs/a.md", "# A\n");
        ws.write("crates/k/Cargo.toml", "[package]\n");
        ws.write("crates/k/examples/e.rs", "");
        let present: BTreeSet<String> =
            ["docs/a.md", "crates/k/Cargo.toml", "crates/k/examples/e.rs"]
                .into_iter()
                .map(String::from)
                .collect();
        let md =
            "[a](a.md) and [up](../docs/a.md)\n`reference/platform.md` is cited\n[gone](b.md)\n";
        let broken = check_text(ws.path(), "docs/index.md", md, Kind::Markdown, &present);
        let targets: Vec<(usize, &str)> =
            broken.iter().map(|b| (b.line, b.target.as_str())).collect();
        assert_eq!(targets, [(2, "reference/platform.md"), (3, "b.md")]);

        let rs = "//! See `examples/e.rs` and `docs/a.md`.\nlet s = \"`docs/none.md`\";\n/// `docs/none.md`\n";
        let broken = check_text(ws.path(), "crates/k/src/lib.rs", rs, Kind::Rust, &present);
        assert_eq!(broken.len(), 1, "{broken:?}");
        assert_eq!(
            (broken[0].line, broken[0].target.as_str()),
            (3, "docs/none.md")
        );
    }

    #[test]
    fn code_map_paths_are_file_and_directory_names() {
        assert_eq!(
            code_map_paths(
                "`send/accept.rs`, `attempt.rs`, `send/dispatch/`, `/metrics`, \
                 `application/problem+json`, `Cargo.toml`, `Messenger::accept`, `a.b`, `<x>/y.rs`"
            ),
            [
                "send/accept.rs",
                "attempt.rs",
                "send/dispatch/",
                "Cargo.toml"
            ]
        );
    }

    #[test]
    fn code_map_paths_resolve_from_their_crate_section() {
        let present: BTreeSet<String> = [
            "crates/k/Cargo.toml",
            "crates/k/src/send/accept.rs",
            "crates/k/tests/api/main.rs",
            "crates/other/src/hostile.rs",
            "docs/a.md",
        ]
        .into_iter()
        .map(String::from)
        .collect();
        let map = "# Map\n`docs/a.md` and `hostile.rs`\n### `k`\n`send/accept.rs`, `tests/api/`, \
                   `send/gone.rs`\n`hostile.rs` is not in k\n## Testing\n`hostile.rs`, `nowhere.rs`\n";
        let broken: Vec<(usize, String)> = check_code_map("docs/architecture.md", map, &present)
            .into_iter()
            .map(|b| (b.line, b.target))
            .collect();
        assert_eq!(
            broken,
            [
                (4, "send/gone.rs".to_owned()),
                (5, "hostile.rs".to_owned()),
                (7, "nowhere.rs".to_owned())
            ]
        );
    }

    /// Every path the real code map names exists.
    #[test]
    fn the_code_map_names_only_existing_paths() {
        let root = crate::workspace::project_root();
        let present: BTreeSet<String> = repository_files(&root).unwrap().into_iter().collect();
        let text = std::fs::read_to_string(root.join(CODE_MAP)).unwrap();
        let broken = check_code_map(CODE_MAP, &text, &present);
        assert!(broken.is_empty(), "{broken:#?}");
    }

    #[test]
    fn decision_records_share_one_template() {
        let dir = crate::workspace::project_root().join("docs/decisions");
        let mut records = 0;
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if !name.starts_with(|c: char| c.is_ascii_digit()) {
                continue;
            }
            records += 1;
            let text = std::fs::read_to_string(&path).unwrap();
            let lines: Vec<&str> = text.lines().collect();
            assert!(
                lines[0].starts_with(&format!("# {}: ", &name[..4])),
                "{name}: title"
            );
            let status = lines[2];
            let date = status
                .strip_prefix("Status: accepted (")
                .and_then(|d| d.strip_suffix(')'))
                .unwrap_or_else(|| panic!("{name}: {status:?}"));
            assert!(
                date.len() == 10 && date.as_bytes()[4] == b'-' && date.as_bytes()[7] == b'-',
                "{name}: {date}"
            );
            let headings: Vec<&str> = lines
                .iter()
                .filter(|l| l.starts_with("## "))
                .copied()
                .collect();
            assert!(
                headings.starts_with(&["## Context", "## Decision", "## Consequences"]),
                "{name}: {headings:?}"
            );
            assert!(
                headings[3..].iter().all(|h| h.starts_with("## Addendum (")),
                "{name}: {headings:?}"
            );
        }
        assert!(records >= 16);
    }
}
