//! Editing versions in `Cargo.toml` files without reformatting them.
//!
//! The manifest is parsed with `toml`, asking for the byte span of each
//! version string (`toml::Spanned`); only those bytes are replaced, so
//! comments, ordering and layout survive. Every edit is checked by parsing
//! the result again.
//!
//! Dependencies are found in `[dependencies]`, `[dev-dependencies]`,
//! `[build-dependencies]`, their `[target.<cfg>.…]` forms and
//! `[workspace.dependencies]`, written inline (`a = { … }`), as a table
//! (`[dependencies.a]`) or with dotted keys (`a.version = …`).

use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;

use anyhow::{bail, Context, Result};
use semver::Version;
use serde::de::{self, IgnoredAny, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};
use toml::Spanned;

use super::version::updated_requirement;

/// A version string written in a manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct VersionSite {
    /// Where it is, for messages: `[package] version` or
    /// `[workspace.dependencies] messenger-model`.
    pub location: String,
    /// Byte range of the string literal, quotes included.
    pub span: Range<usize>,
    /// The string's value.
    pub value: String,
}

/// One version requirement changed by [`set_dependency_requirements`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RequirementChange {
    /// Where the requirement is, as in [`VersionSite::location`].
    pub location: String,
    /// The requirement before the change.
    pub old: String,
    /// The requirement after the change.
    pub new: String,
}

impl fmt::Display for RequirementChange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: \"{}\" -> \"{}\"", self.location, self.old, self.new)
    }
}

type DepTable = BTreeMap<String, DepDoc>;

/// `[package]` of a manifest, with the span of its version.
#[derive(Deserialize, Default)]
struct PackageManifestDoc {
    package: Option<PackageDoc>,
}

/// The dependency tables of a manifest, with spans.
#[derive(Deserialize, Default)]
struct ManifestDoc {
    // Spelled out rather than `#[serde(flatten)]`: flattening buffers the
    // values and loses their spans.
    #[serde(default)]
    dependencies: DepTable,
    #[serde(default, rename = "dev-dependencies")]
    dev_dependencies: DepTable,
    #[serde(default, rename = "dev_dependencies")]
    dev_dependencies_legacy: DepTable,
    #[serde(default, rename = "build-dependencies")]
    build_dependencies: DepTable,
    #[serde(default, rename = "build_dependencies")]
    build_dependencies_legacy: DepTable,
    #[serde(default)]
    target: BTreeMap<String, DepTables>,
    workspace: Option<WorkspaceDoc>,
}

#[derive(Deserialize, Default)]
struct PackageDoc {
    version: Option<Spanned<String>>,
}

#[derive(Deserialize, Default)]
struct WorkspaceDoc {
    #[serde(default)]
    dependencies: DepTable,
}

#[derive(Deserialize, Default)]
struct DepTables {
    #[serde(default)]
    dependencies: DepTable,
    #[serde(default, rename = "dev-dependencies")]
    dev_dependencies: DepTable,
    #[serde(default, rename = "dev_dependencies")]
    dev_dependencies_legacy: DepTable,
    #[serde(default, rename = "build-dependencies")]
    build_dependencies: DepTable,
    #[serde(default, rename = "build_dependencies")]
    build_dependencies_legacy: DepTable,
}

/// The dependency tables of a manifest or a target, by TOML name.
macro_rules! dep_tables {
    ($doc:expr) => {
        [
            ("dependencies", &$doc.dependencies),
            ("dev-dependencies", &$doc.dev_dependencies),
            ("dev_dependencies", &$doc.dev_dependencies_legacy),
            ("build-dependencies", &$doc.build_dependencies),
            ("build_dependencies", &$doc.build_dependencies_legacy),
        ]
    };
}

/// One dependency entry: a bare requirement string or a table.
#[derive(Default)]
struct DepDoc {
    version: Option<Spanned<String>>,
    path: Option<String>,
    package: Option<String>,
}

impl<'de> Deserialize<'de> for DepDoc {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct DepVisitor;

        impl<'de> Visitor<'de> for DepVisitor {
            type Value = DepDoc;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a version requirement or a dependency table")
            }

            fn visit_str<E: de::Error>(self, _: &str) -> Result<DepDoc, E> {
                // `name = "1"`: a registry dependency, never a path one.
                Ok(DepDoc::default())
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<DepDoc, A::Error> {
                let mut dep = DepDoc::default();
                while let Some(key) = map.next_key::<String>()? {
                    match key.as_str() {
                        "version" => dep.version = Some(map.next_value()?),
                        "path" => dep.path = Some(map.next_value()?),
                        "package" => dep.package = Some(map.next_value()?),
                        _ => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                Ok(dep)
            }
        }

        deserializer.deserialize_any(DepVisitor)
    }
}

fn parse<T: serde::de::DeserializeOwned>(text: &str) -> Result<T> {
    toml::from_str(text).context("not a valid Cargo.toml")
}

fn string_site(location: String, value: &Spanned<String>) -> VersionSite {
    VersionSite {
        location,
        span: value.span(),
        value: value.get_ref().clone(),
    }
}

/// The `version` of `[package]`.
///
/// Fails when there is none or it is inherited (`version.workspace = true`):
/// crates here are versioned one by one.
pub(crate) fn package_version(text: &str) -> Result<VersionSite> {
    // A first, span-free look: spans cannot be taken of dotted tables such
    // as `version.workspace = true`.
    let plain: toml::Table = parse(text)?;
    let package = plain
        .get("package")
        .and_then(toml::Value::as_table)
        .context("no [package] table")?;
    match package.get("version") {
        Some(toml::Value::String(_)) => {}
        Some(toml::Value::Table(_)) => bail!(
            "[package] version is inherited from the workspace; crates here are versioned one by one"
        ),
        Some(other) => bail!("[package] version is not a string: {other}"),
        None => bail!("[package] has no version"),
    }
    let doc: PackageManifestDoc = parse(text)?;
    let version = doc
        .package
        .and_then(|p| p.version)
        .context("[package] has no version")?;
    Ok(string_site("[package] version".to_string(), &version))
}

/// Every requirement on the package `crate_name` in a path dependency that
/// also carries a `version` (the ones cargo keeps when publishing).
pub(crate) fn dependency_requirements(text: &str, crate_name: &str) -> Result<Vec<VersionSite>> {
    let doc: ManifestDoc = parse(text)?;
    let mut tables: Vec<(String, &DepTable)> = Vec::new();
    if let Some(workspace) = &doc.workspace {
        tables.push((
            "workspace.dependencies".to_string(),
            &workspace.dependencies,
        ));
    }
    for (kind, table) in dep_tables!(doc) {
        tables.push((kind.to_string(), table));
    }
    for (cfg, target) in &doc.target {
        for (kind, table) in dep_tables!(target) {
            tables.push((format!("target.'{cfg}'.{kind}"), table));
        }
    }
    let mut sites = Vec::new();
    for (table_name, table) in tables {
        for (key, dep) in table {
            let name = dep.package.as_deref().unwrap_or(key);
            if name != crate_name || dep.path.is_none() {
                continue;
            }
            if let Some(version) = &dep.version {
                sites.push(string_site(format!("[{table_name}] {key}"), version));
            }
        }
    }
    sites.sort_by_key(|site| site.span.start);
    Ok(sites)
}

/// Replaces the contents of the string literals at `edits` (site, new
/// value), keeping their quote style.
fn apply(text: &str, edits: &[(&VersionSite, String)]) -> Result<String> {
    let mut ordered: Vec<&(&VersionSite, String)> = edits.iter().collect();
    ordered.sort_by_key(|(site, _)| std::cmp::Reverse(site.span.start));
    let mut out = text.to_string();
    let mut limit = text.len();
    for (site, new) in ordered {
        let span = site.span.clone();
        if span.end > limit {
            bail!("overlapping edits at {}", site.location);
        }
        let literal = text
            .get(span.clone())
            .context("span outside the manifest")?;
        let quote = &literal[..1];
        let expected = format!("{quote}{}{quote}", site.value);
        if !matches!(quote, "\"" | "'") || literal != expected {
            bail!(
                "{} is written as {literal}, which this tool does not rewrite; edit it by hand",
                site.location
            );
        }
        out.replace_range(span.clone(), &format!("{quote}{new}{quote}"));
        limit = span.start;
    }
    Ok(out)
}

/// Sets `[package] version` to `new`; returns the new text and the old
/// version.
pub(crate) fn set_package_version(text: &str, new: &Version) -> Result<(String, Version)> {
    let site = package_version(text)?;
    let old = Version::parse(&site.value)
        .with_context(|| format!("[package] version \"{}\" is not semver", site.value))?;
    let updated = apply(text, &[(&site, new.to_string())])?;
    let check = package_version(&updated)?;
    if check.value != new.to_string() {
        bail!(
            "internal error: [package] version reads {} after the edit",
            check.value
        );
    }
    Ok((updated, old))
}

/// Points every path dependency on `crate_name` that has a version
/// requirement at `new` (see [`updated_requirement`]). Returns the new text
/// and the changes; no changes means the text is returned unchanged.
pub(crate) fn set_dependency_requirements(
    text: &str,
    crate_name: &str,
    new: &Version,
) -> Result<(String, Vec<RequirementChange>)> {
    let sites = dependency_requirements(text, crate_name)?;
    let mut edits = Vec::with_capacity(sites.len());
    let mut changes = Vec::new();
    for site in &sites {
        let requirement = updated_requirement(&site.value, new)
            .with_context(|| format!("{} on {crate_name}", site.location))?;
        if requirement != site.value {
            changes.push(RequirementChange {
                location: site.location.clone(),
                old: site.value.clone(),
                new: requirement.clone(),
            });
            edits.push((site, requirement));
        }
    }
    if edits.is_empty() {
        return Ok((text.to_string(), changes));
    }
    let updated = apply(text, &edits)?;
    let after = dependency_requirements(&updated, crate_name)?;
    let expected: Vec<(&str, &str)> = edits
        .iter()
        .map(|(site, new)| (site.location.as_str(), new.as_str()))
        .collect();
    for (location, value) in expected {
        if !after
            .iter()
            .any(|site| site.location == location && site.value == value)
        {
            bail!("internal error: {location} does not read \"{value}\" after the edit");
        }
    }
    Ok((updated, changes))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> Version {
        Version::parse(s).unwrap()
    }

    const CRATE: &str = r#"[package]
name = "demo"   # the name
version = "0.1.0" # bumped by xtask
edition = "2021"

[dependencies]
messenger-model = { version = "0.1.0", path = "../messenger-model", features = ["x"] }
serde = "1"
renamed = { package = "messenger-model", path = "../messenger-model", version = '=0.1.0' }
from-registry = { package = "messenger-model", version = "0.1.0" }
inherited.workspace = true

[dev-dependencies.messenger-model]
path = "../messenger-model"
# keep this comment
version = "0.1"

[target.'cfg(unix)'.build-dependencies]
messenger-model.path = "../messenger-model"
messenger-model.version = "^0.1.0"
"#;

    #[test]
    fn package_version_is_replaced_in_place() {
        let (updated, old) = set_package_version(CRATE, &v("0.2.0")).unwrap();
        assert_eq!(old, v("0.1.0"));
        assert_eq!(
            updated,
            CRATE.replacen(
                "version = \"0.1.0\" # bumped",
                "version = \"0.2.0\" # bumped",
                1
            )
        );
    }

    #[test]
    fn inherited_package_versions_are_refused() {
        let text = "[package]\nname = \"x\"\nversion.workspace = true\n";
        let err = set_package_version(text, &v("0.2.0")).unwrap_err();
        assert!(err.to_string().contains("inherited"), "{err:#}");
    }

    #[test]
    fn every_form_of_path_dependency_is_updated() {
        let (updated, changes) =
            set_dependency_requirements(CRATE, "messenger-model", &v("0.2.0")).unwrap();
        let locations: Vec<String> = changes.iter().map(ToString::to_string).collect();
        assert_eq!(
            locations,
            [
                "[dependencies] messenger-model: \"0.1.0\" -> \"0.2.0\"",
                "[dependencies] renamed: \"=0.1.0\" -> \"=0.2.0\"",
                "[dev-dependencies] messenger-model: \"0.1\" -> \"0.2.0\"",
                "[target.'cfg(unix)'.build-dependencies] messenger-model: \"^0.1.0\" -> \"^0.2.0\"",
            ]
        );
        let expected = CRATE
            .replace(
                "messenger-model = { version = \"0.1.0\"",
                "messenger-model = { version = \"0.2.0\"",
            )
            .replace("version = '=0.1.0'", "version = '=0.2.0'")
            .replace("version = \"0.1\"\n", "version = \"0.2.0\"\n")
            .replace("version = \"^0.1.0\"", "version = \"^0.2.0\"");
        assert_eq!(updated, expected);
        // The registry dependency and the package version are untouched.
        assert!(updated
            .contains("from-registry = { package = \"messenger-model\", version = \"0.1.0\" }"));
        assert!(updated.contains("version = \"0.1.0\" # bumped"));
    }

    #[test]
    fn workspace_dependencies_are_updated() {
        let root = r#"[workspace]
members = ["crates/a"]

[workspace.dependencies]
# Workspace crates.
messenger-model = { path = "crates/messenger-model", version = "0.1.0" }
messenger-validate = { path = "crates/messenger-validate", version = "0.1.0" }
serde = { version = "1", features = ["derive"] }
"#;
        let (updated, changes) =
            set_dependency_requirements(root, "messenger-model", &v("0.1.1")).unwrap();
        assert_eq!(changes.len(), 1);
        assert_eq!(
            updated,
            root.replace(
                "crates/messenger-model\", version = \"0.1.0\"",
                "crates/messenger-model\", version = \"0.1.1\""
            )
        );
    }

    #[test]
    fn unrelated_manifests_are_left_alone() {
        let text = "[package]\nname = \"x\"\nversion = \"1.0.0\"\n[dependencies]\nserde = \"1\"\n";
        let (updated, changes) =
            set_dependency_requirements(text, "messenger-model", &v("0.2.0")).unwrap();
        assert!(changes.is_empty());
        assert_eq!(updated, text);
    }

    #[test]
    fn escaped_or_ranged_requirements_are_refused() {
        let ranged = "[dependencies]\nm = { path = \"m\", version = \">=0.1, <0.3\" }\n";
        assert!(set_dependency_requirements(ranged, "m", &v("0.2.0")).is_err());
        let escaped = "[dependencies]\nm = { path = \"m\", version = \"0.1\\u002E0\" }\n";
        assert!(set_dependency_requirements(escaped, "m", &v("0.2.0")).is_err());
    }
}
