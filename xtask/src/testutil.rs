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
        ws.write(".gitignore", "/target\n");
        let status = workspace::cargo()
            .args(["generate-lockfile", "--offline", "--manifest-path"])
            .arg(ws.path().join("Cargo.toml"))
            .status()
            .expect("run cargo generate-lockfile");
        assert!(status.success(), "cargo generate-lockfile failed");
        ws.git(&["init", "--quiet"]);
        for (key, value) in [
            ("user.name", "xtask test"),
            ("user.email", "xtask@example.invalid"),
            ("commit.gpgsign", "false"),
            ("tag.gpgsign", "false"),
        ] {
            ws.git(&["config", key, value]);
        }
        ws.commit_all("initial");
        ws
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

    /// Stages and commits everything.
    pub(crate) fn commit_all(&self, message: &str) {
        self.git(&["add", "--all"]);
        self.git(&["commit", "--quiet", "-m", message]);
    }
}
