//! End-to-end tests of `release` on throwaway git workspaces.

use time::macros::date;

use super::*;
use crate::testutil::TestWorkspace;

fn options(crates: &[&str], bump: &str, dry_run: bool) -> Options {
    Options {
        crates: crates.iter().map(|s| s.to_string()).collect(),
        bump: bump.parse().unwrap(),
        dry_run,
        date: date!(2024 - 05 - 01),
    }
}

fn error_of(ws: &TestWorkspace, options: &Options) -> String {
    let err = run(ws.path(), options).expect_err("the release should be refused");
    format!("{err:#}")
}

#[test]
fn release_bumps_versions_moves_the_changelog_commits_and_tags() {
    let ws = TestWorkspace::two_crates();
    let plan = run(ws.path(), &options(&["alpha"], "minor", false)).unwrap();
    assert_eq!(
        plan.crates,
        [CrateRelease {
            name: "alpha".into(),
            old: Version::new(0, 1, 0),
            new: Version::new(0, 2, 0),
            tag: "alpha-v0.2.0".into(),
        }]
    );

    assert!(ws
        .read("crates/alpha/Cargo.toml")
        .contains("name = \"alpha\"\nversion = \"0.2.0\"\n"));
    assert!(ws
        .read("Cargo.toml")
        .contains("alpha = { path = \"crates/alpha\", version = \"0.2.0\" }\n"));
    assert!(ws
        .read("Cargo.toml")
        .contains("beta = { path = \"crates/beta\", version = \"0.1.0\" }\n"));
    assert!(ws
        .read("crates/beta/Cargo.toml")
        .contains("alpha = { path = \"../alpha\", version = \"0.2.0\" }\n"));
    assert!(ws
        .read("crates/beta/Cargo.toml")
        .contains("version = \"0.1.0\"\n"));
    assert_eq!(
        ws.read("crates/alpha/CHANGELOG.md"),
        "# Changelog\n\n## [Unreleased]\n\n## [0.2.0] - 2024-05-01\n\n- Added `one`.\n"
    );
    assert!(ws
        .read("Cargo.lock")
        .contains("name = \"alpha\"\nversion = \"0.2.0\"\n"));

    // One commit holding everything, the tree clean, one annotated tag.
    assert_eq!(ws.git(&["status", "--porcelain"]), "");
    let git = Git::new(ws.path());
    assert_eq!(git.head_subject().unwrap(), "release: alpha 0.2.0");
    let changed = ws.git(&["show", "--name-only", "--format=", "HEAD"]);
    let mut changed: Vec<&str> = changed.lines().collect();
    changed.sort_unstable();
    assert_eq!(
        changed,
        [
            "Cargo.lock",
            "Cargo.toml",
            "crates/alpha/CHANGELOG.md",
            "crates/alpha/Cargo.toml",
            "crates/beta/Cargo.toml",
        ]
    );
    assert_eq!(git.tags().unwrap(), ["alpha-v0.2.0"]);
    assert_eq!(ws.git(&["cat-file", "-t", "alpha-v0.2.0"]).trim(), "tag");
    assert_eq!(
        ws.git(&["rev-parse", "alpha-v0.2.0^{commit}"]),
        ws.git(&["rev-parse", "HEAD"])
    );

    // The same version cannot be released twice.
    ws.write("crates/alpha/CHANGELOG.md", "## [Unreleased]\n\n- More.\n");
    ws.commit_all("more");
    let err = error_of(&ws, &options(&["alpha"], "0.2.0", false));
    assert!(err.contains("not greater"), "{err}");
}

#[test]
fn the_first_release_keeps_the_current_version() {
    let ws = TestWorkspace::two_crates();
    let manifest = ws.read("crates/alpha/Cargo.toml");
    let root = ws.read("Cargo.toml");
    let plan = run(ws.path(), &options(&["alpha"], "0.1.0", false)).unwrap();
    assert_eq!(plan.crates[0].old, plan.crates[0].new);
    assert_eq!(ws.read("crates/alpha/Cargo.toml"), manifest);
    assert_eq!(ws.read("Cargo.toml"), root);
    assert_eq!(
        ws.read("crates/alpha/CHANGELOG.md"),
        "# Changelog\n\n## [Unreleased]\n\n## [0.1.0] - 2024-05-01\n\n- Added `one`.\n"
    );
    let git = Git::new(ws.path());
    assert_eq!(git.head_subject().unwrap(), "release: alpha 0.1.0");
    assert_eq!(git.tags().unwrap(), ["alpha-v0.1.0"]);
    assert_eq!(ws.git(&["status", "--porcelain"]), "");

    // Once tagged, the same version cannot be released again.
    ws.write("crates/alpha/CHANGELOG.md", "## [Unreleased]\n\n- More.\n");
    ws.commit_all("more");
    let err = error_of(&ws, &options(&["alpha"], "0.1.0", false));
    assert!(err.contains("not greater"), "{err}");
}

#[test]
fn several_crates_share_one_commit_and_get_one_tag_each() {
    let ws = TestWorkspace::two_crates();
    ws.write(
        "crates/beta/CHANGELOG.md",
        "# Changelog\n\n## [Unreleased]\n\n- Uses alpha 1.0.\n\n## [0.1.0] - 2024-01-01\n\n- Initial release.\n",
    );
    ws.commit_all("beta entry");
    run(ws.path(), &options(&["beta", "alpha"], "1.0.0", false)).unwrap();

    let git = Git::new(ws.path());
    assert_eq!(
        git.head_subject().unwrap(),
        "release: beta 1.0.0, alpha 1.0.0"
    );
    assert_eq!(git.tags().unwrap(), ["alpha-v1.0.0", "beta-v1.0.0"]);
    let root = ws.read("Cargo.toml");
    assert!(root.contains("alpha = { path = \"crates/alpha\", version = \"1.0.0\" }"));
    assert!(root.contains("beta = { path = \"crates/beta\", version = \"1.0.0\" }"));
    assert_eq!(
        ws.read("crates/beta/CHANGELOG.md"),
        "# Changelog\n\n## [Unreleased]\n\n## [1.0.0] - 2024-05-01\n\n- Uses alpha 1.0.\n\n\
         ## [0.1.0] - 2024-01-01\n\n- Initial release.\n"
    );
    assert_eq!(ws.git(&["status", "--porcelain"]), "");
}

#[test]
fn dry_run_changes_nothing() {
    let ws = TestWorkspace::two_crates();
    let before = ws.snapshot();
    let plan = run(ws.path(), &options(&["alpha"], "patch", true)).unwrap();
    assert_eq!(ws.snapshot(), before);
    assert_eq!(ws.git(&["status", "--porcelain"]), "");

    assert_eq!(plan.commit_message, "release: alpha 0.1.1");
    assert_eq!(plan.crates[0].tag, "alpha-v0.1.1");
    let files: Vec<String> = plan
        .files
        .iter()
        .map(|f| f.path.display().to_string())
        .collect();
    assert_eq!(
        files,
        [
            "Cargo.toml",
            "crates/alpha/CHANGELOG.md",
            "crates/alpha/Cargo.toml",
            "crates/beta/Cargo.toml",
        ]
    );
    let root = &plan.files[0];
    assert_eq!(
        root.changes,
        ["[workspace.dependencies] alpha: \"0.1.0\" -> \"0.1.1\""]
    );
    // beta and tool depend on alpha: beta is publishable and not released.
    assert_eq!(plan.notes.len(), 1, "{:?}", plan.notes);
    assert!(plan.notes[0].starts_with("beta depends on alpha"));
}

#[test]
fn a_dirty_tree_is_refused_but_can_be_previewed() {
    let ws = TestWorkspace::two_crates();
    ws.write("crates/alpha/src/extra.rs", "// work in progress\n");
    let before = ws.snapshot();
    let err = error_of(&ws, &options(&["alpha"], "minor", false));
    assert!(err.contains("dirty"), "{err}");
    assert!(err.contains("crates/alpha/src/extra.rs"), "{err}");
    assert_eq!(ws.snapshot(), before);

    run(ws.path(), &options(&["alpha"], "minor", true)).unwrap();
    assert_eq!(ws.snapshot(), before);
}

#[test]
fn a_crate_without_changelog_entries_is_refused() {
    let ws = TestWorkspace::two_crates();
    let before = ws.snapshot();
    // beta's Unreleased section is empty; alpha's entry must not be released
    // alone either.
    let err = error_of(&ws, &options(&["alpha", "beta"], "patch", false));
    assert!(err.contains("`beta` has no changelog entry"), "{err}");
    assert!(err.contains("crates/beta/CHANGELOG.md"), "{err}");
    assert_eq!(ws.snapshot(), before);

    // The dry run refuses too: it checks what the release would check.
    assert!(run(ws.path(), &options(&["beta"], "patch", true)).is_err());
}

#[test]
fn a_crate_without_a_changelog_is_refused() {
    let ws = TestWorkspace::two_crates();
    ws.git(&["rm", "--quiet", "crates/alpha/CHANGELOG.md"]);
    ws.commit_all("drop the changelog");
    let before = ws.snapshot();
    let err = error_of(&ws, &options(&["alpha"], "patch", false));
    assert!(err.contains("`alpha` has no changelog"), "{err}");
    assert_eq!(ws.snapshot(), before);
}

#[test]
fn unpublishable_unknown_and_repeated_crates_are_refused() {
    let ws = TestWorkspace::two_crates();
    let before = ws.snapshot();
    let err = error_of(&ws, &options(&["tool"], "patch", false));
    assert!(err.contains("`tool` has `publish = false`"), "{err}");
    let err = error_of(&ws, &options(&["gamma"], "patch", false));
    assert!(err.contains("`gamma` is not a workspace member"), "{err}");
    let err = error_of(&ws, &options(&["alpha", "alpha"], "patch", false));
    assert!(err.contains("named twice"), "{err}");
    assert_eq!(ws.snapshot(), before);
}

#[test]
fn an_existing_tag_is_refused() {
    let ws = TestWorkspace::two_crates();
    ws.git(&["tag", "alpha-v0.1.1"]);
    let before = ws.snapshot();
    let err = error_of(&ws, &options(&["alpha"], "patch", false));
    assert!(err.contains("tag alpha-v0.1.1 already exists"), "{err}");
    assert_eq!(ws.snapshot(), before);
}
