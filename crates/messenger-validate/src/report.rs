//! Collecting violations: the cap, JSON pointers, value truncation.

use crate::limits::{MAX_VIOLATIONS, VALUE_MAX_CHARS};
use crate::{Violation, ViolationCode};

/// The violations found so far. Stops taking new ones after [`MAX_VIOLATIONS`] and remembers
/// that it did, so a huge bad input costs at most one pass and a bounded answer.
#[derive(Debug, Default)]
pub(crate) struct Report {
    list: Vec<Violation>,
    truncated: bool,
}

impl Report {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// Whether the cap is reached (callers stop walking long lists then).
    pub(crate) fn is_full(&self) -> bool {
        self.list.len() >= MAX_VIOLATIONS
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// Notes that walking stopped at the cap.
    pub(crate) fn mark_truncated(&mut self) {
        self.truncated = true;
    }

    /// Adds a violation (or notes the overflow).
    pub(crate) fn push(
        &mut self,
        code: ViolationCode,
        pointer: impl Into<String>,
        message: impl Into<String>,
        value: Option<&str>,
    ) {
        self.add(Violation {
            code,
            pointer: pointer.into(),
            message: message.into(),
            value: value.map(truncate),
        });
    }

    /// Adds a ready violation (or notes the overflow).
    pub(crate) fn add(&mut self, violation: Violation) {
        if self.is_full() {
            self.truncated = true;
        } else {
            self.list.push(violation);
        }
    }

    /// The list, with a final `violations.truncated` when some were dropped.
    pub(crate) fn finish(mut self) -> Vec<Violation> {
        if self.truncated {
            self.list.push(Violation {
                code: ViolationCode::ViolationsTruncated,
                pointer: String::new(),
                message: format!("stopped after {MAX_VIOLATIONS} violations; there may be more"),
                value: None,
            });
        }
        self.list
    }
}

/// `base` + `/` + the key escaped per RFC 6901 (`~` -> `~0`, `/` -> `~1`).
pub(crate) fn child(base: &str, key: &str) -> String {
    let mut s = String::with_capacity(base.len() + key.len() + 1);
    s.push_str(base);
    s.push('/');
    for c in key.chars() {
        match c {
            '~' => s.push_str("~0"),
            '/' => s.push_str("~1"),
            c => s.push(c),
        }
    }
    s
}

/// `base` + `/` + an array index.
pub(crate) fn index(base: &str, i: usize) -> String {
    format!("{base}/{i}")
}

/// A value cut to [`VALUE_MAX_CHARS`] characters, with `…` when cut.
pub(crate) fn truncate(s: &str) -> String {
    match s.char_indices().nth(VALUE_MAX_CHARS) {
        Some((cut, _)) => {
            let mut out = s[..cut].to_owned();
            out.push('…');
            out
        }
        None => s.to_owned(),
    }
}

/// Whether `s` has more than `max` characters, in O(len) and without counting past `max`.
pub(crate) fn longer_than(s: &str, max: usize) -> bool {
    // A char is at least one byte: a string of at most `max` bytes is short enough.
    s.len() > max && s.chars().nth(max).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pointers_escape_per_rfc_6901() {
        assert_eq!(child("", "a/b~c"), "/a~1b~0c");
        assert_eq!(index("/rules", 3), "/rules/3");
    }

    #[test]
    fn truncation_counts_characters() {
        assert_eq!(truncate("short"), "short");
        let long = "é".repeat(150);
        let t = truncate(&long);
        assert_eq!(t.chars().count(), VALUE_MAX_CHARS + 1);
        assert!(t.ends_with('…'));
    }

    #[test]
    fn length_is_in_characters() {
        assert!(!longer_than(&"é".repeat(20), 20));
        assert!(longer_than(&"é".repeat(21), 20));
        assert!(!longer_than("", 0));
        assert!(longer_than("a", 0));
    }

    #[test]
    fn the_cap_adds_one_marker() {
        let mut r = Report::new();
        for _ in 0..MAX_VIOLATIONS + 5 {
            r.push(ViolationCode::TextTooLong, "/x", "m", None);
        }
        let list = r.finish();
        assert_eq!(list.len(), MAX_VIOLATIONS + 1);
        assert_eq!(
            list[MAX_VIOLATIONS].code,
            ViolationCode::ViolationsTruncated
        );
    }
}
