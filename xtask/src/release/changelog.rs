//! Changelog handling, in the Keep a Changelog style every crate uses: new
//! entries go under `## [Unreleased]`; a release moves them under
//! `## [X.Y.Z] - YYYY-MM-DD` and leaves an empty `## [Unreleased]` on top.

use anyhow::{bail, Result};
use semver::Version;
use time::macros::format_description;
use time::Date;

use super::git::Commit;

/// The heading under which unreleased changes are collected.
pub(crate) const UNRELEASED_HEADING: &str = "## [Unreleased]";

/// Byte ranges of the unreleased section in a changelog.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Unreleased {
    /// Start of the `## [Unreleased]` line.
    heading_start: usize,
    /// Start of the line after the heading.
    body_start: usize,
    /// End of the section: start of the next `##` heading, of the link
    /// reference definitions at the bottom, or the end of the text.
    body_end: usize,
}

fn is_unreleased_heading(line: &str) -> bool {
    line.trim_end().eq_ignore_ascii_case(UNRELEASED_HEADING)
}

/// A line that ends a section: a heading of level 1 or 2, or a Markdown link
/// reference definition such as `[0.1.0]: https://...`.
fn ends_section(line: &str) -> bool {
    line.starts_with("# ")
        || line.starts_with("## ")
        || (line.starts_with('[') && line.contains("]: "))
}

fn find_unreleased(text: &str) -> Result<Unreleased> {
    let mut offset = 0;
    let mut found: Option<(usize, usize)> = None;
    for line in text.split_inclusive('\n') {
        let start = offset;
        offset += line.len();
        match found {
            None if is_unreleased_heading(line) => found = Some((start, offset)),
            Some((heading_start, body_start)) if ends_section(line) => {
                return Ok(Unreleased {
                    heading_start,
                    body_start,
                    body_end: start,
                })
            }
            _ => {}
        }
    }
    match found {
        Some((heading_start, body_start)) => Ok(Unreleased {
            heading_start,
            body_start,
            body_end: text.len(),
        }),
        None => bail!("no `{UNRELEASED_HEADING}` section"),
    }
}

/// The entries under `## [Unreleased]`, without surrounding blank lines.
/// Empty when there are none.
pub(crate) fn unreleased_entries(text: &str) -> Result<&str> {
    let section = find_unreleased(text)?;
    Ok(text[section.body_start..section.body_end].trim())
}

/// The heading of a released version: `## [0.2.0] - 2024-05-01`.
pub(crate) fn release_heading(version: &Version, date: Date) -> Result<String> {
    let date = date.format(format_description!("[year]-[month]-[day]"))?;
    Ok(format!("## [{version}] - {date}"))
}

/// Moves the unreleased entries of `text` under a heading for `version`
/// released on `date`, leaving an empty `## [Unreleased]` above it.
///
/// Fails when there is no unreleased section or it has no entries: a release
/// without a changelog entry is refused.
pub(crate) fn release(text: &str, version: &Version, date: Date) -> Result<String> {
    let entries = unreleased_entries(text)?;
    if entries.is_empty() {
        bail!("the `{UNRELEASED_HEADING}` section is empty: add a changelog entry first");
    }
    release_with(text, version, date, entries)
}

/// Replaces the unreleased entries of `text` with a section for `version`
/// released on `date` holding `entries`, leaving an empty
/// `## [Unreleased]` above it.
pub(crate) fn release_with(
    text: &str,
    version: &Version,
    date: Date,
    entries: &str,
) -> Result<String> {
    let section = find_unreleased(text)?;
    let rest = &text[section.body_end..];
    let mut out = String::with_capacity(text.len() + entries.len() + 64);
    out.push_str(&text[..section.heading_start]);
    out.push_str(UNRELEASED_HEADING);
    out.push_str("\n\n");
    out.push_str(&release_heading(version, date)?);
    out.push_str("\n\n");
    out.push_str(entries.trim());
    out.push('\n');
    if !rest.is_empty() {
        out.push('\n');
        out.push_str(rest);
    }
    Ok(out)
}

/// The entries of a section written by a release of the changed crates:
/// the hand-written unreleased entries as they are, then `### Commits` (one
/// line a commit that touched the crate: its subject and short hash, oldest
/// first), then `### Dependencies` (one line a workspace dependency released
/// with it). Subsections without lines are left out.
pub(crate) fn generated_entries(
    hand_written: &str,
    commits: &[Commit],
    dependencies: &[(String, Version)],
) -> String {
    let mut parts = Vec::new();
    let hand_written = hand_written.trim();
    if !hand_written.is_empty() {
        parts.push(hand_written.to_string());
    }
    if !commits.is_empty() {
        let mut part = String::from("### Commits\n");
        for commit in commits {
            part.push_str(&format!(
                "\n- {} ({})",
                commit.subject.trim(),
                commit.short_hash()
            ));
        }
        parts.push(part);
    }
    if !dependencies.is_empty() {
        let mut part = String::from("### Dependencies\n");
        for (name, version) in dependencies {
            part.push_str(&format!("\n- Requires `{name}` {version}."));
        }
        parts.push(part);
    }
    parts.join("\n\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    fn v(s: &str) -> Version {
        Version::parse(s).unwrap()
    }

    #[test]
    fn release_moves_entries_under_a_dated_heading() {
        let text = "# Changelog\n\nIntro.\n\n## [Unreleased]\n\n- Added b.\n- Fixed c.\n\n\
                    ## [0.1.0] - 2024-01-02\n\n- Initial release.\n";
        let released = release(text, &v("0.2.0"), date!(2024 - 05 - 01)).unwrap();
        assert_eq!(
            released,
            "# Changelog\n\nIntro.\n\n## [Unreleased]\n\n## [0.2.0] - 2024-05-01\n\n\
             - Added b.\n- Fixed c.\n\n## [0.1.0] - 2024-01-02\n\n- Initial release.\n"
        );
        assert_eq!(unreleased_entries(&released).unwrap(), "");
        assert_eq!(unreleased_entries(text).unwrap(), "- Added b.\n- Fixed c.");
    }

    #[test]
    fn release_of_the_last_section_keeps_link_references_at_the_bottom() {
        let text = "## [Unreleased]\n- First.\n\n[Unreleased]: https://example.com\n";
        let released = release(text, &v("0.1.0"), date!(2024 - 12 - 31)).unwrap();
        assert_eq!(
            released,
            "## [Unreleased]\n\n## [0.1.0] - 2024-12-31\n\n- First.\n\n[Unreleased]: https://example.com\n"
        );
    }

    #[test]
    fn empty_or_missing_sections_are_refused() {
        let empty = "# Changelog\n\n## [Unreleased]\n\n\n## [0.1.0] - 2024-01-02\n- x\n";
        let err = release(empty, &v("0.2.0"), date!(2024 - 05 - 01)).unwrap_err();
        assert!(err.to_string().contains("empty"), "{err}");
        let missing = "# Changelog\n\n## [0.1.0] - 2024-01-02\n- x\n";
        assert!(release(missing, &v("0.2.0"), date!(2024 - 05 - 01)).is_err());
    }

    #[test]
    fn generated_entries_keep_the_hand_written_ones_then_list_commits_and_dependencies() {
        let commits = [
            Commit {
                hash: "1234567890".into(),
                subject: "a: two ".into(),
                body: String::new(),
            },
            Commit {
                hash: "abcdef0123".into(),
                subject: "a feat: three".into(),
                body: "why".into(),
            },
        ];
        let entries = generated_entries(
            "\n- Added `two`.\n",
            &commits,
            &[("alpha".into(), v("0.2.0"))],
        );
        assert_eq!(
            entries,
            "- Added `two`.\n\n### Commits\n\n- a: two (1234567)\n- a feat: three (abcdef0)\n\n\
             ### Dependencies\n\n- Requires `alpha` 0.2.0."
        );
        assert_eq!(generated_entries("", &[], &[]), "");
        let text = "# Changelog\n\n## [Unreleased]\n\n- Added `two`.\n\n## [0.1.0] - 2024-01-02\n\n- Initial.\n";
        let released = release_with(text, &v("0.1.1"), date!(2024 - 05 - 01), &entries).unwrap();
        assert_eq!(
            released,
            format!(
                "# Changelog\n\n## [Unreleased]\n\n## [0.1.1] - 2024-05-01\n\n{entries}\n\n\
                 ## [0.1.0] - 2024-01-02\n\n- Initial.\n"
            )
        );
    }

    #[test]
    fn subsections_stay_in_the_release() {
        let text = "## [Unreleased]\n\n### Added\n\n- A thing.\n";
        let released = release(text, &v("1.0.0"), date!(2025 - 02 - 03)).unwrap();
        assert_eq!(
            released,
            "## [Unreleased]\n\n## [1.0.0] - 2025-02-03\n\n### Added\n\n- A thing.\n"
        );
    }
}
