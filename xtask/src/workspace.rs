//! Facts about the workspace that several tasks share: where it lives, how to
//! run cargo, and what `cargo metadata` says about its members.

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};
use cargo_metadata::{DependencyKind, Metadata, MetadataCommand, Package, PackageId};

/// The root of this workspace (the directory above `xtask/`).
///
/// Taken from the compile-time location of the xtask crate, so `cargo xtask`
/// works from any directory inside the workspace.
pub(crate) fn project_root() -> PathBuf {
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest_dir
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| manifest_dir.to_path_buf())
}

/// A `cargo` command using the same cargo binary that runs xtask (`$CARGO`),
/// falling back to `cargo` on the `PATH`.
pub(crate) fn cargo() -> Command {
    Command::new(std::env::var_os("CARGO").unwrap_or_else(|| OsString::from("cargo")))
}

/// Runs `cargo metadata` (with the resolved dependency graph) for the
/// workspace whose root manifest is `root/Cargo.toml`.
///
/// Like any cargo command, this may refresh `Cargo.lock` when a member's
/// version changed.
pub(crate) fn metadata(root: &Path) -> Result<Metadata> {
    let manifest = root.join("Cargo.toml");
    MetadataCommand::new()
        .manifest_path(&manifest)
        .exec()
        .with_context(|| format!("`cargo metadata` failed for {}", manifest.display()))
}

/// The workspace members, in `cargo metadata` order.
pub(crate) fn members(metadata: &Metadata) -> Vec<&Package> {
    metadata.workspace_packages()
}

/// Finds the workspace member called `name`.
pub(crate) fn member<'a>(metadata: &'a Metadata, name: &str) -> Result<&'a Package> {
    let members = members(metadata);
    match members.iter().find(|p| p.name == name) {
        Some(package) => Ok(package),
        None => {
            let known: Vec<&str> = members.iter().map(|p| p.name.as_str()).collect();
            bail!(
                "`{name}` is not a workspace member (members: {})",
                known.join(", ")
            )
        }
    }
}

/// Whether cargo would publish `package` to crates.io (`publish = false`
/// shows up in metadata as an empty registry list).
pub(crate) fn is_publishable(package: &Package) -> bool {
    package
        .publish
        .as_ref()
        .is_none_or(|registries| !registries.is_empty())
}

/// The workspace-internal dependency graph between members, by name,
/// counting only non-dev (normal and build) dependencies, taken from the
/// resolved graph of `cargo metadata`.
pub(crate) fn member_graph(metadata: &Metadata) -> Result<BTreeMap<String, BTreeSet<String>>> {
    let resolve = metadata
        .resolve
        .as_ref()
        .context("`cargo metadata` returned no dependency graph")?;
    let names: BTreeMap<&PackageId, &str> = members(metadata)
        .into_iter()
        .map(|p| (&p.id, p.name.as_str()))
        .collect();
    let mut graph: BTreeMap<String, BTreeSet<String>> = names
        .values()
        .map(|name| (name.to_string(), BTreeSet::new()))
        .collect();
    for node in &resolve.nodes {
        let Some(from) = names.get(&node.id) else {
            continue;
        };
        for dep in &node.deps {
            let Some(to) = names.get(&dep.pkg) else {
                continue;
            };
            let non_dev = dep
                .dep_kinds
                .iter()
                .any(|k| k.kind != DependencyKind::Development);
            if non_dev {
                graph
                    .entry(from.to_string())
                    .or_default()
                    .insert(to.to_string());
            }
        }
    }
    Ok(graph)
}

/// [`member_graph`] restricted to the publishable members: each publishable
/// crate with the publishable crates it depends on (normal and build
/// dependencies).
pub(crate) fn publishable_graph(metadata: &Metadata) -> Result<BTreeMap<String, BTreeSet<String>>> {
    let publishable: BTreeSet<String> = members(metadata)
        .into_iter()
        .filter(|p| is_publishable(p))
        .map(|p| p.name.clone())
        .collect();
    Ok(member_graph(metadata)?
        .into_iter()
        .filter(|(name, _)| publishable.contains(name))
        .map(|(name, deps)| {
            let deps = deps.intersection(&publishable).cloned().collect();
            (name, deps)
        })
        .collect())
}

/// Orders `graph`'s nodes so every node comes after the nodes it depends on
/// (ties broken by name, so the order is stable). Fails on a cycle.
pub(crate) fn topological_order(graph: &BTreeMap<String, BTreeSet<String>>) -> Result<Vec<String>> {
    let mut remaining: BTreeMap<&str, BTreeSet<&str>> = graph
        .iter()
        .map(|(node, deps)| {
            let deps = deps
                .iter()
                .map(String::as_str)
                .filter(|d| graph.contains_key(*d) && *d != node)
                .collect();
            (node.as_str(), deps)
        })
        .collect();
    let mut order = Vec::with_capacity(remaining.len());
    while !remaining.is_empty() {
        let ready: Vec<&str> = remaining
            .iter()
            .filter(|(_, deps)| deps.is_empty())
            .map(|(node, _)| *node)
            .collect();
        if ready.is_empty() {
            let stuck: Vec<&str> = remaining.keys().copied().collect();
            bail!("dependency cycle among: {}", stuck.join(", "));
        }
        for node in ready {
            remaining.remove(node);
            for deps in remaining.values_mut() {
                deps.remove(node);
            }
            order.push(node.to_string());
        }
    }
    Ok(order)
}

/// `path` relative to `root` when it is inside it, for messages.
pub(crate) fn relative(root: &Path, path: &Path) -> PathBuf {
    path.strip_prefix(root).unwrap_or(path).to_path_buf()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn graph(edges: &[(&str, &[&str])]) -> BTreeMap<String, BTreeSet<String>> {
        edges
            .iter()
            .map(|(from, to)| (from.to_string(), to.iter().map(|s| s.to_string()).collect()))
            .collect()
    }

    #[test]
    fn topological_order_puts_dependencies_first() {
        let g = graph(&[
            ("store-sql", &["store", "model"]),
            ("store", &["model"]),
            ("model", &[]),
            ("validate", &["model"]),
        ]);
        let order = topological_order(&g).unwrap();
        assert_eq!(order, ["model", "store", "validate", "store-sql"]);
    }

    #[test]
    fn topological_order_reports_cycles() {
        let g = graph(&[("a", &["b"]), ("b", &["a"]), ("c", &[])]);
        let err = topological_order(&g).unwrap_err().to_string();
        assert!(err.contains("a, b"), "{err}");
    }

    #[test]
    fn project_root_is_the_workspace() {
        assert!(project_root().join("xtask").join("Cargo.toml").exists());
    }
}
