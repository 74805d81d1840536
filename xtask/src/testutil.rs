//! Test support: small throwaway workspaces in temporary directories, so
//! tests never depend on the real crates (which may not compile while they
//! are being written).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use tempfile::TempDir;

use crate::workspace;

/// A temporary workspace, deleted on drop.
pub(crate) struct TestWorkspace {
    dir: TempDir,
}

impl TestWorkspace {
    /// An empty directory.
    pub(crate) fn empty() -> Self {
        Self {
            dir: tempfile::Builder::new()
                .prefix("xtask-test-")
                .tempdir()
                .expect("create a temporary directory"),
        }
    }

    /// A workspace with `alpha` 0.1.0 (with a changelog entry), `beta`
    /// 0.1.0 depending on alpha through `[workspace.dependencies]` and with a
    /// crate-level versioned path dev-dependency on it (empty changelog
    /// section), and `tool` with `publish = false`; committed to a fresh git
    /// repository with its lock file.
    pub(crate) fn two_crates() -> Self {
        let ws = Self::empty();
        ws.write(
            "Cargo.toml",
            r#"[workspace]
resolver = "2"
members = ["crates/alpha", "crates/beta", "crates/tool"]

[workspace.package]
edition = "2021"
license = "MIT OR Apache-2.0"

[workspace.dependencies]
# Workspace crates (path + version).
alpha = { path = "crates/alpha", version = "0.1.0" }
beta = { path = "crates/beta", version = "0.1.0" }
"#,
        );
        ws.write(
            "crates/alpha/Cargo.toml",
            "[package]\nname = \"alpha\"\nversion = \"0.1.0\"\ndescription = \"a\"\n\
             edition.workspace = true\nlicense.workspace = true\nreadme = \"README.md\"\ndocumentation = \"https://docs.rs/alpha\"\nkeywords = [\"test\"]\ncategories = [\"development-tools\"]\n\n[package.metadata.docs.rs]\nall-features = true\nrustdoc-args = [\"--cfg\", \"docsrs\"]\n",
        );
        ws.write(
            "crates/alpha/src/lib.rs",
            "//! Alpha.\n\n/// One.\npub fn one() -> u32 {\n    1\n}\n",
        );
        ws.write(
            "crates/alpha/CHANGELOG.md",
            "# Changelog\n\n## [Unreleased]\n\n- Added `one`.\n",
        );
        ws.write(
            "crates/beta/Cargo.toml",
            "[package]\nname = \"beta\"\nversion = \"0.1.0\"\ndescription = \"b\"\n\
             edition.workspace = true\nlicense.workspace = true\nreadme = \"README.md\"\ndocumentation = \"https://docs.rs/beta\"\nkeywords = [\"test\"]\ncategories = [\"development-tools\"]\n\n[package.metadata.docs.rs]\nall-features = true\nrustdoc-args = [\"--cfg\", \"docsrs\"]\n\n\
             [dependencies]\nalpha.workspace = true\n\n\
             [dev-dependencies]\nalpha = { path = \"../alpha\", version = \"0.1.0\" }\n",
        );
        ws.write(
            "crates/beta/src/lib.rs",
            "//! Beta.\n\n/// Two.\npub fn two() -> u32 {\n    alpha::one() + 1\n}\n",
        );
        ws.write(
            "crates/beta/CHANGELOG.md",
            "# Changelog\n\n## [Unreleased]\n\n## [0.1.0] - 2024-01-01\n\n- Initial release.\n",
        );
        ws.write(
            "crates/tool/Cargo.toml",
            "[package]\nname = \"tool\"\nversion = \"0.0.0\"\npublish = false\n\
             edition.workspace = true\n\n[dependencies]\nalpha.workspace = true\n",
        );
        ws.write("crates/tool/src/lib.rs", "//! Tool.\n");
        ws.write(
            "crates/tool/CHANGELOG.md",
            "# Changelog\n\n## [Unreleased]\n\n- Something.\n",
        );
        for krate in ["alpha", "beta"] {
            ws.write(
                &format!("crates/{krate}/README.md"),
                &format!("# {krate}\n"),
            );
            ws.write(&format!("crates/{krate}/LICENSE-MIT"), "MIT\n");
            ws.write(&format!("crates/{krate}/LICENSE-APACHE"), "Apache-2.0\n");
        }
        ws.commit_initial();
        ws
    }

    /// A workspace of three published crates at 0.1.0, each tagged
    /// `<crate>-v0.1.0` on the first commit: `a` (`pub fn one`), `b`
    /// depending on `a` through `[workspace.dependencies]` (`pub fn two`),
    /// and `c` on its own (`pub fn three`). Their changelogs have an empty
    /// `## [Unreleased]` section above `## [0.1.0]`.
    pub(crate) fn three_crates() -> Self {
        let ws = Self::empty();
        ws.write(
            "Cargo.toml",
            r#"[workspace]
resolver = "2"
members = ["crates/a", "crates/b", "crates/c"]

[workspace.package]
edition = "2021"
license = "MIT OR Apache-2.0"

[workspace.dependencies]
a = { path = "crates/a", version = "0.1.0" }
"#,
        );
        for (name, deps, body) in [
            ("a", "", "/// One.\npub fn one() -> u32 {\n    1\n}\n"),
            (
                "b",
                "\n[dependencies]\na.workspace = true\n",
                "/// Two.\npub fn two() -> u32 {\n    a::one() + 1\n}\n",
            ),
            ("c", "", "/// Three.\npub fn three() -> u32 {\n    3\n}\n"),
        ] {
            ws.write(
                &format!("crates/{name}/Cargo.toml"),
                &format!(
                    "[package]\nname = \"{name}\"\nversion = \"0.1.0\"\ndescription = \"{name}\"\n\
                     edition.workspace = true\nlicense.workspace = true\n{deps}"
                ),
            );
            ws.write(
                &format!("crates/{name}/src/lib.rs"),
                &format!("//! Crate {name}.\n\n{body}"),
            );
            ws.write(
                &format!("crates/{name}/CHANGELOG.md"),
                "# Changelog\n\n## [Unreleased]\n\n## [0.1.0] - 2024-01-01\n\n- Initial release.\n",
            );
        }
        ws.commit_initial();
        for name in ["a", "b", "c"] {
            let tag = format!("{name}-v0.1.0");
            ws.git(&["tag", "--annotate", &tag, "-m", &tag]);
        }
        ws
    }

    /// Ignores `/target`, writes the lock file, makes the directory a git
    /// repository and commits everything as `initial`.
    fn commit_initial(&self) {
        self.write(".gitignore", "/target\n");
        let status = workspace::cargo()
            .args(["generate-lockfile", "--offline", "--manifest-path"])
            .arg(self.path().join("Cargo.toml"))
            .status()
            .expect("run cargo generate-lockfile");
        assert!(status.success(), "cargo generate-lockfile failed");
        self.git(&["init", "--quiet"]);
        for (key, value) in [
            ("user.name", "xtask test"),
            ("user.email", "xtask@example.invalid"),
            ("commit.gpgsign", "false"),
            ("tag.gpgsign", "false"),
        ] {
            self.git(&["config", key, value]);
        }
        self.commit_all("initial");
    }

    /// The workspace root.
    pub(crate) fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Absolute path of `relative`.
    pub(crate) fn join(&self, relative: &str) -> PathBuf {
        self.path().join(relative)
    }

    /// Writes `contents` to `relative`, creating directories.
    pub(crate) fn write(&self, relative: &str, contents: &str) {
        let path = self.join(relative);
        fs::create_dir_all(path.parent().expect("a parent")).expect("create directories");
        fs::write(path, contents).expect("write a file");
    }

    /// Reads `relative`.
    pub(crate) fn read(&self, relative: &str) -> String {
        fs::read_to_string(self.join(relative)).expect("read a file")
    }

    /// Runs git in the workspace and returns its output; panics on failure.
    pub(crate) fn git(&self, args: &[&str]) -> String {
        let output = Command::new("git")
            .arg("-C")
            .arg(self.path())
            .args(args)
            .output()
            .expect("run git");
        assert!(
            output.status.success(),
            "git {args:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).expect("UTF-8 git output")
    }

    /// Every tracked file's contents, the `HEAD` commit and the tags: equal
    /// before and after something that must change nothing.
    pub(crate) fn snapshot(&self) -> (Vec<(String, String)>, String, String) {
        let files = self
            .git(&["ls-files"])
            .lines()
            .map(|path| (path.to_string(), self.read(path)))
            .collect();
        (
            files,
            self.git(&["rev-parse", "HEAD"]),
            self.git(&["tag", "--list"]),
        )
    }

    /// Stages and commits everything.
    pub(crate) fn commit_all(&self, message: &str) {
        self.git(&["add", "--all"]);
        self.git(&["commit", "--quiet", "-m", message]);
    }
}
