//! Comparing two public APIs: what a release breaks and what it adds.

use super::surface::{Item, Surface};

/// What changed between two APIs, one line an item.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Differences {
    /// Changes that break some user: `removed function a::one`.
    pub breaking: Vec<String>,
    /// Items added without breaking anyone.
    pub added: Vec<String>,
}

/// Compares the API `new` with the earlier `old`.
///
/// Breaking: an item removed (reported once, for the outermost removed
/// item), an item whose kind or signature changed, a struct, enum or variant
/// that stops being exhaustive, a trait item that loses its default, a field
/// or variant added to an exhaustive type, and a required item added to a
/// trait. Everything else that is new is an addition.
pub(crate) fn compare(old: &Surface, new: &Surface) -> Differences {
    let mut differences = Differences::default();
    let removed = |key: &str| old.contains_key(key) && !new.contains_key(key);
    for (key, before) in old {
        let Some(after) = new.get(key) else {
            if !before.parent.as_deref().is_some_and(removed) {
                differences
                    .breaking
                    .push(format!("removed {}", describe(key, before)));
            }
            continue;
        };
        if let Some(change) = changed(key, before, after) {
            differences.breaking.push(change);
        }
    }
    for (key, item) in new {
        if old.contains_key(key) {
            continue;
        }
        let parent = item
            .parent
            .as_deref()
            .and_then(|p| Some((p, old.get(p)?, new.get(p)?)));
        let breaks = match parent {
            Some((_, before, after)) if matches!(item.kind, "field" | "variant") => {
                before.exhaustive == Some(true) && after.exhaustive == Some(true)
            }
            Some(_) => item.required,
            None => false,
        };
        // The items of a new type are new with it.
        if item.parent.as_deref().is_some_and(|p| !old.contains_key(p)) {
            continue;
        }
        match parent {
            Some((name, parent_item, _)) if breaks => {
                let why = if item.required {
                    "required, added to"
                } else {
                    "added to exhaustive"
                };
                differences.breaking.push(format!(
                    "{} {key} ({why} {} {name})",
                    item.kind, parent_item.kind
                ));
            }
            _ => differences.added.push(describe(key, item)),
        }
    }
    differences
}

/// `function a::one`; a trait impl's key says what it is already.
fn describe(key: &str, item: &Item) -> String {
    if key.starts_with("impl ") {
        key.to_string()
    } else {
        format!("{} {key}", item.kind)
    }
}

/// What breaks when `before` becomes `after`, if anything.
fn changed(key: &str, before: &Item, after: &Item) -> Option<String> {
    if before.kind != after.kind {
        return Some(format!(
            "{key} was a {} and is now a {}",
            before.kind, after.kind
        ));
    }
    let kind = before.kind;
    if before.signature != after.signature {
        return Some(format!(
            "{kind} {key} changed: `{}` -> `{}`",
            before.signature, after.signature
        ));
    }
    if before.exhaustive == Some(true) && after.exhaustive == Some(false) {
        return Some(format!(
            "{kind} {key} is no longer exhaustive (#[non_exhaustive], or hidden fields or variants)"
        ));
    }
    if !before.required && after.required {
        return Some(format!("{kind} {key} lost its default"));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(kind: &'static str, signature: &str) -> Item {
        Item {
            kind,
            signature: signature.into(),
            exhaustive: None,
            required: false,
            parent: None,
        }
    }

    fn child(kind: &'static str, signature: &str, parent: &str) -> Item {
        Item {
            parent: Some(parent.into()),
            ..item(kind, signature)
        }
    }

    fn exhaustive(kind: &'static str, exhaustive: bool) -> Item {
        Item {
            exhaustive: Some(exhaustive),
            ..item(kind, "")
        }
    }

    fn surface(items: &[(&str, Item)]) -> Surface {
        items
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect()
    }

    #[test]
    fn removed_and_changed_items_break() {
        let old = surface(&[
            ("a::one", item("function", "fn() -> u32")),
            ("a::two", item("function", "fn(u32) -> u32")),
            ("a::S", exhaustive("struct", false)),
            ("a::S::new", child("method", "fn() -> Self", "a::S")),
            ("a::K", item("constant", "u32")),
        ]);
        let new = surface(&[
            ("a::two", item("function", "fn(u64) -> u32")),
            ("a::K", item("static", "u32")),
            ("a::three", item("function", "fn()")),
            ("a::U", exhaustive("struct", false)),
            ("a::U::new", child("method", "fn() -> Self", "a::U")),
            ("impl Clone for a::U", child("trait impl", "", "a::U")),
        ]);
        let differences = compare(&old, &new);
        assert_eq!(
            differences.breaking,
            [
                "a::K was a constant and is now a static",
                "removed struct a::S",
                "removed function a::one",
                "function a::two changed: `fn(u32) -> u32` -> `fn(u64) -> u32`",
            ]
        );
        assert_eq!(differences.added, ["struct a::U", "function a::three"]);
        let old = surface(&[("a::U", exhaustive("struct", false))]);
        let new = surface(&[
            ("a::U", exhaustive("struct", false)),
            ("impl Clone for a::U", child("trait impl", "", "a::U")),
        ]);
        assert_eq!(compare(&old, &new).added, ["impl Clone for a::U"]);
        assert_eq!(
            compare(&new, &old).breaking,
            ["removed impl Clone for a::U"]
        );
    }

    #[test]
    fn fields_and_variants_added_to_exhaustive_types_break() {
        let old = surface(&[
            ("a::S", exhaustive("struct", true)),
            ("a::S.x", child("field", "u32", "a::S")),
            ("a::N", exhaustive("struct", false)),
            ("a::E", exhaustive("enum", true)),
        ]);
        let new = surface(&[
            ("a::S", exhaustive("struct", true)),
            ("a::S.x", child("field", "u32", "a::S")),
            ("a::S.y", child("field", "u32", "a::S")),
            ("a::N", exhaustive("struct", false)),
            ("a::N.y", child("field", "u32", "a::N")),
            ("a::E", exhaustive("enum", false)),
            ("a::E::B", child("variant", "unit", "a::E")),
        ]);
        let differences = compare(&old, &new);
        assert_eq!(
            differences.breaking,
            [
                "enum a::E is no longer exhaustive (#[non_exhaustive], or hidden fields or variants)",
                "field a::S.y (added to exhaustive struct a::S)",
            ]
        );
        assert_eq!(differences.added, ["variant a::E::B", "field a::N.y"]);
    }

    #[test]
    fn required_trait_items_break_and_provided_ones_do_not() {
        let old = surface(&[
            ("a::T", item("trait", "trait")),
            ("a::T::f", child("trait method", "fn()", "a::T")),
        ]);
        let mut required = child("trait method", "fn()", "a::T");
        required.required = true;
        let new = surface(&[
            ("a::T", item("trait", "trait")),
            ("a::T::f", required.clone()),
            ("a::T::g", required),
            ("a::T::h", child("trait method", "fn()", "a::T")),
        ]);
        let differences = compare(&old, &new);
        assert_eq!(
            differences.breaking,
            [
                "trait method a::T::f lost its default",
                "trait method a::T::g (required, added to trait a::T)",
            ]
        );
        assert_eq!(differences.added, ["trait method a::T::h"]);
    }
}
