//! Changelog handling, in the Keep a Changelog style every crate uses: new
//! entries go under `## [Unreleased]`; a release moves them under
//! `## [X.Y.Z] - YYYY-MM-DD` and leaves an empty `## [Unreleased]` on top.

use anyhow::{bail, Result};
use semver::Version;
use time::macros::format_description;
use time::Date;

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
    let section = find_unreleased(text)?;
    let entries = text[section.body_start..section.body_end].trim();
    if entries.is_empty() {
        bail!("the `{UNRELEASED_HEADING}` section is empty: add a changelog entry first");
    }
    let rest = &text[section.body_end..];
    let mut out = String::with_capacity(text.len() + 64);
    out.push_str(&text[..section.heading_start]);
    out.push_str(UNRELEASED_HEADING);
    out.push_str("\n\n");
    out.push_str(&release_heading(version, date)?);
    out.push_str("\n\n");
    out.push_str(entries);
    out.push('\n');
    if !rest.is_empty() {
        out.push('\n');
        out.push_str(rest);
    }
    Ok(out)
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
    fn subsections_stay_in_the_release() {
        let text = "## [Unreleased]\n\n### Added\n\n- A thing.\n";
        let released = release(text, &v("1.0.0"), date!(2025 - 02 - 03)).unwrap();
        assert_eq!(
            released,
            "## [Unreleased]\n\n## [1.0.0] - 2025-02-03\n\n### Added\n\n- A thing.\n"
        );
    }
}
