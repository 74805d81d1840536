//! End-to-end tests of the release of the changed crates, on a throwaway
//! workspace of three crates (`a`, `b` depending on `a`, `c`), each tagged
//! at 0.1.0.

use time::macros::date;

use super::*;
use crate::testutil::TestWorkspace;

fn options(execute: bool, check_api: bool, ws: &TestWorkspace) -> ChangedOptions {
    ChangedOptions {
        level: None,
        execute,
        date: date!(2024 - 05 - 01),
        check_api,
        api_target_dir: Some(ws.join("target/release-api")),
    }
}

fn versions(plan: &ChangedPlan) -> Vec<String> {
    plan.plan
        .crates
        .iter()
        .map(|r| format!("{} {} -> {}", r.name, r.old, r.new))
        .collect()
}

/// Commits a change to `a`'s library: `body` appended.
fn change_a(ws: &TestWorkspace, body: &str, message: &str) {
    let lib = ws.read("crates/a/src/lib.rs");
    ws.write("crates/a/src/lib.rs", &format!("{lib}{body}"));
    ws.commit_all(message);
}

#[test]
fn a_change_to_a_releases_a_and_its_dependent_b_but_not_c() {
    let ws = TestWorkspace::three_crates();
    change_a(
        &ws,
        "\n/// Four.\npub fn four() -> u32 {\n    4\n}\n",
        "a: four",
    );
    ws.write("README.md", "# Three crates\n");
    ws.commit_all("README: no crate touched");
    let before = ws.snapshot();

    let plan = run(ws.path(), &options(false, false, &ws)).unwrap();
    assert_eq!(ws.snapshot(), before, "a dry run changes nothing");
    assert_eq!(versions(&plan), ["a 0.1.0 -> 0.1.1", "b 0.1.0 -> 0.1.1"]);
    assert_eq!(
        plan.changes[0].reasons,
        ["1 commit since a-v0.1.0 (level: fix)"]
    );
    assert_eq!(plan.changes[1].reasons, ["depends on a (0.1.0 -> 0.1.1)"]);
    let files: Vec<String> = plan
        .plan
        .files
        .iter()
        .map(|f| f.path.display().to_string())
        .collect();
    assert_eq!(
        files,
        [
            "Cargo.toml",
            "crates/a/CHANGELOG.md",
            "crates/a/Cargo.toml",
            "crates/b/CHANGELOG.md",
            "crates/b/Cargo.toml",
        ]
    );
    assert_eq!(
        plan.plan.files[0].changes,
        ["[workspace.dependencies] a: \"0.1.0\" -> \"0.1.1\""]
    );
    let hash = ws.git(&["rev-parse", "--short=7", "HEAD~1"]);
    assert_eq!(
        plan.changes[0].section,
        format!(
            "## [0.1.1] - 2024-05-01\n\n### Commits\n\n- a: four ({})",
            hash.trim()
        )
    );
    assert_eq!(
        plan.changes[1].section,
        "## [0.1.1] - 2024-05-01\n\n### Dependencies\n\n- Requires `a` 0.1.1."
    );
    assert_eq!(plan.plan.commit_message, "release: a 0.1.1, b 0.1.1");
    assert!(plan.plan.notes.is_empty(), "{:?}", plan.plan.notes);
    assert!(plan.refusals().is_empty());
}

#[test]
fn execute_writes_the_changelogs_commits_tags_and_checks_the_api() {
    let ws = TestWorkspace::three_crates();
    ws.write(
        "crates/a/CHANGELOG.md",
        "# Changelog\n\n## [Unreleased]\n\n- Added `four`.\n\n## [0.1.0] - 2024-01-01\n\n- Initial release.\n",
    );
    // b's current API is built against the current a, which has `four`.
    ws.write(
        "crates/b/src/lib.rs",
        "//! Crate b.\n\n/// Two.\npub fn two() -> u32 {\n    a::four() - 2\n}\n",
    );
    change_a(
        &ws,
        "\n/// Four.\npub fn four() -> u32 {\n    4\n}\n",
        "a feat: four",
    );
    ws.write("crates/c/src/extra.txt", "not code\n");
    ws.commit_all("c!: a file");
    let hashes: Vec<String> = ws
        .git(&["log", "--format=%h", "--abbrev=7", "-2"])
        .lines()
        .map(str::to_string)
        .collect();
    let (c_hash, a_hash) = (&hashes[0], &hashes[1]);

    let plan = run(ws.path(), &options(true, true, &ws)).unwrap();
    assert_eq!(
        versions(&plan),
        ["a 0.1.0 -> 0.2.0", "c 0.1.0 -> 0.2.0", "b 0.1.0 -> 0.1.1"]
    );
    assert_eq!(
        plan.changes[0].api,
        Verdict::Compared {
            baseline: "a-v0.1.0".into(),
            breaking: vec![],
            added: vec!["function a::four".into()],
        }
    );
    assert!(
        matches!(&plan.changes[2].api, Verdict::Compared { breaking, .. } if breaking.is_empty())
    );

    assert_eq!(
        ws.read("crates/a/CHANGELOG.md"),
        format!(
            "# Changelog\n\n## [Unreleased]\n\n## [0.2.0] - 2024-05-01\n\n- Added `four`.\n\n\
             ### Commits\n\n- a feat: four ({a_hash})\n\n## [0.1.0] - 2024-01-01\n\n- Initial release.\n"
        )
    );
    assert_eq!(
        ws.read("crates/c/CHANGELOG.md"),
        format!(
            "# Changelog\n\n## [Unreleased]\n\n## [0.2.0] - 2024-05-01\n\n### Commits\n\n\
             - c!: a file ({c_hash})\n\n## [0.1.0] - 2024-01-01\n\n- Initial release.\n"
        )
    );
    assert!(ws.read("crates/b/CHANGELOG.md").contains(&format!(
        "## [0.1.1] - 2024-05-01\n\n### Commits\n\n- a feat: four ({a_hash})\n\n\
         ### Dependencies\n\n- Requires `a` 0.2.0.\n"
    )));
    assert_eq!(
        plan.changes[2].reasons,
        [
            "1 commit since b-v0.1.0 (level: fix)",
            "depends on a (0.1.0 -> 0.2.0)"
        ]
    );
    assert!(ws
        .read("Cargo.toml")
        .contains("a = { path = \"crates/a\", version = \"0.2.0\" }"));
    assert!(ws
        .read("Cargo.lock")
        .contains("name = \"b\"\nversion = \"0.1.1\"\n"));

    let git = Git::new(ws.path());
    assert_eq!(
        git.head_subject().unwrap(),
        "release: a 0.2.0, c 0.2.0, b 0.1.1"
    );
    assert_eq!(
        git.tags().unwrap(),
        ["a-v0.1.0", "a-v0.2.0", "b-v0.1.0", "b-v0.1.1", "c-v0.1.0", "c-v0.2.0"]
    );
    assert_eq!(ws.git(&["cat-file", "-t", "b-v0.1.1"]).trim(), "tag");
    assert_eq!(ws.git(&["status", "--porcelain"]), "");
    assert_eq!(ws.git(&["worktree", "list"]).lines().count(), 1);

    // Released: nothing has changed since the new tags.
    let again = run(ws.path(), &options(true, true, &ws)).unwrap();
    assert!(again.changes.is_empty());
    assert_eq!(git.tags().unwrap().len(), 6);
}

#[test]
fn a_removed_function_under_a_patch_bump_is_refused_naming_it() {
    let ws = TestWorkspace::three_crates();
    ws.write(
        "crates/a/src/lib.rs",
        "//! Crate a.\n\n/// Uno.\npub fn uno() -> u32 {\n    1\n}\n",
    );
    ws.write(
        "crates/b/src/lib.rs",
        "//! Crate b.\n\n/// Two.\npub fn two() -> u32 {\n    a::uno() + 1\n}\n",
    );
    ws.commit_all("a: one is called uno");
    let before = ws.snapshot();

    let err = run(ws.path(), &options(true, true, &ws)).expect_err("a breaking patch");
    let err = format!("{err:#}");
    assert!(
        err.contains("a 0.1.0 -> 0.1.1: removed function a::one"),
        "{err}"
    );
    assert!(!err.contains("b 0.1.0"), "{err}");
    assert_eq!(ws.snapshot(), before);
    assert_eq!(ws.git(&["worktree", "list"]).lines().count(), 1);

    // A level that allows it (0.x: minor) passes.
    let plan = run(
        ws.path(),
        &ChangedOptions {
            level: Some(Bump::Minor),
            ..options(false, true, &ws)
        },
    )
    .unwrap();
    assert_eq!(versions(&plan), ["a 0.1.0 -> 0.2.0", "b 0.1.0 -> 0.2.0"]);
    assert!(plan.refusals().is_empty());
    assert_eq!(ws.snapshot(), before);
}

#[test]
fn untagged_crates_are_released_at_their_version_and_a_dirty_tree_is_refused() {
    let ws = TestWorkspace::three_crates();
    ws.git(&["tag", "--delete", "c-v0.1.0"]);
    let plan = run(ws.path(), &options(false, false, &ws)).unwrap();
    assert_eq!(versions(&plan), ["c 0.1.0 -> 0.1.0"]);
    assert_eq!(plan.changes[0].reasons, ["no tag yet"]);
    assert_eq!(
        plan.changes[0].api,
        Verdict::NotChecked("not asked for".into())
    );
    assert!(plan.changes[0]
        .section
        .starts_with("## [0.1.0] - 2024-05-01\n\n### Commits\n\n- initial ("));

    // With hand-written entries, a first release does not list the history.
    ws.write(
        "crates/c/CHANGELOG.md",
        "# Changelog\n\n## [Unreleased]\n\n- Initial release.\n",
    );
    ws.commit_all("c: first entry");
    let plan = run(ws.path(), &options(false, false, &ws)).unwrap();
    assert_eq!(
        plan.changes[0].section,
        "## [0.1.0] - 2024-05-01\n\n- Initial release."
    );

    ws.write("crates/c/src/lib.rs", "//! Work in progress.\n");
    let err = run(ws.path(), &options(true, false, &ws)).unwrap_err();
    assert!(format!("{err:#}").contains("dirty"), "{err:#}");
}
