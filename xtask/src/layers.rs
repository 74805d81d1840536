//! `cargo xtask check-layers`: keeps the crate layering honest.
//!
//! Every workspace crate sits on a layer ([`LAYERS`]) and may depend only on
//! crates of its own layer or below; tools sit outside the layering and may
//! depend only on the crates listed for them. On top of that, the crates in
//! [`IO_FREE`] must not pull any of [`IO_CRATES`] into their normal
//! dependency closure.
//!
//! Inside the crates of [`modules::ACYCLIC_MODULES`], the top-level modules
//! must not import one another in a circle ([`modules`]).
//!
//! Only normal and build dependencies count: tests and benches may use any
//! crate as a dev-dependency. The closure comes from the `resolve` graph of
//! `cargo metadata`, where features are unified across the whole workspace,
//! so it can only over-approximate what a crate really pulls in, never
//! miss something.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fmt;
use std::path::Path;

use anyhow::{bail, Context, Result};
use cargo_metadata::{DependencyKind, Metadata};

use crate::workspace;

mod modules;

/// Where a crate sits in the layering.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    /// A layer: 0 is the bottom. A crate may depend on crates of its own
    /// layer or lower ones.
    Layer(u8),
    /// A tool outside the layering that may depend only on the listed
    /// workspace crates. Layered crates may use tools only as
    /// dev-dependencies.
    Tool(&'static [&'static str]),
}

/// The layer table: every workspace crate must be listed here.
pub(crate) const LAYERS: &[(&str, Role)] = &[
    ("messenger-model", Role::Layer(0)),
    ("messenger-validate", Role::Layer(1)),
    ("messenger-graph", Role::Layer(2)),
    ("messenger-store", Role::Layer(2)),
    ("messenger-store-sql", Role::Layer(3)),
    ("messenger", Role::Layer(4)),
    ("messenger-gateway", Role::Layer(5)),
    ("graph-sim", Role::Tool(&["messenger-model"])),
    // Dev-only: what the tests share (PostgreSQL test schemas, the skip rule outside CI);
    // depends on no workspace crate, and no crate may use it but as a dev-dependency.
    ("messenger-test-support", Role::Tool(&[])),
    ("xtask", Role::Tool(&[])),
];

/// Layered crates allowed to use a tool as a normal dependency, and why.
pub(crate) const TOOL_USES: &[(&str, &str, &str)] = &[(
    "messenger-gateway",
    "graph-sim",
    "the `demo` command (feature `demo`) runs the product against the simulator",
)];

/// Crates that do I/O or bring a runtime.
pub(crate) const IO_CRATES: &[&str] = &["tokio", "reqwest", "sqlx", "hyper", "axum"];

/// Crates whose normal dependency closure must contain none of
/// [`IO_CRATES`].
pub(crate) const IO_FREE: &[&str] = &["messenger-model", "messenger-validate"];

/// The rules to check, as data.
#[derive(Debug, Clone, Default)]
pub(crate) struct Rules {
    /// The role of each crate.
    pub roles: BTreeMap<String, Role>,
    /// For a crate, the packages its normal dependency closure must not
    /// contain.
    pub banned: BTreeMap<String, BTreeSet<String>>,
}

impl Rules {
    /// This workspace's rules: [`LAYERS`], [`IO_FREE`] and [`IO_CRATES`].
    pub(crate) fn workspace() -> Self {
        let roles = LAYERS
            .iter()
            .map(|(name, role)| (name.to_string(), *role))
            .collect();
        let io: BTreeSet<String> = IO_CRATES.iter().map(|s| s.to_string()).collect();
        let banned = IO_FREE
            .iter()
            .map(|name| (name.to_string(), io.clone()))
            .collect();
        Self { roles, banned }
    }
}

/// A resolved dependency graph, keyed by package id.
#[derive(Debug, Clone, Default)]
pub(crate) struct Graph {
    nodes: BTreeMap<String, Node>,
}

#[derive(Debug, Clone)]
struct Node {
    name: String,
    member: bool,
    /// Dependency ids, each with whether it is a dev-dependency only.
    deps: BTreeMap<String, bool>,
}

impl Graph {
    /// Adds a package; `member` marks workspace crates.
    pub(crate) fn add_package(&mut self, id: &str, name: &str, member: bool) {
        self.nodes.insert(
            id.to_string(),
            Node {
                name: name.to_string(),
                member,
                deps: BTreeMap::new(),
            },
        );
    }

    /// Adds an edge from `from` to `to` (both already added). `dev_only`
    /// marks a dependency used only by tests, examples and benches.
    pub(crate) fn add_dependency(&mut self, from: &str, to: &str, dev_only: bool) {
        if let Some(node) = self.nodes.get_mut(from) {
            let entry = node.deps.entry(to.to_string()).or_insert(dev_only);
            *entry &= dev_only;
        }
    }

    /// The graph `cargo metadata` resolved.
    pub(crate) fn from_metadata(metadata: &Metadata) -> Result<Self> {
        let resolve = metadata
            .resolve
            .as_ref()
            .context("`cargo metadata` returned no dependency graph")?;
        let members: BTreeSet<&str> = metadata
            .workspace_members
            .iter()
            .map(|id| id.repr.as_str())
            .collect();
        let mut graph = Graph::default();
        for package in &metadata.packages {
            let id = package.id.repr.as_str();
            graph.add_package(id, &package.name, members.contains(id));
        }
        for node in &resolve.nodes {
            for dep in &node.deps {
                let dev_only = dep
                    .dep_kinds
                    .iter()
                    .all(|k| k.kind == DependencyKind::Development);
                graph.add_dependency(&node.id.repr, &dep.pkg.repr, dev_only);
            }
        }
        Ok(graph)
    }

    fn name<'a>(&'a self, id: &'a str) -> &'a str {
        self.nodes.get(id).map_or(id, |n| n.name.as_str())
    }

    /// Non-dev dependencies of `id`.
    fn normal_deps<'a>(&'a self, id: &str) -> impl Iterator<Item = &'a str> + 'a {
        self.nodes
            .get(id)
            .into_iter()
            .flat_map(|node| node.deps.iter())
            .filter(|(_, dev_only)| !**dev_only)
            .map(|(dep, _)| dep.as_str())
    }

    /// For each package reachable from `start` through non-dev
    /// dependencies, the shortest chain of names leading to it.
    fn normal_closure(&self, start: &str) -> BTreeMap<&str, Vec<&str>> {
        let mut paths: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        let Some((start, _)) = self.nodes.get_key_value(start) else {
            return paths;
        };
        paths.insert(start, vec![self.name(start)]);
        let mut queue = VecDeque::from([start.as_str()]);
        while let Some(id) = queue.pop_front() {
            let path = paths[id].clone();
            for dep in self.normal_deps(id) {
                if !paths.contains_key(dep) {
                    let mut longer = path.clone();
                    longer.push(self.name(dep));
                    paths.insert(dep, longer);
                    queue.push_back(dep);
                }
            }
        }
        paths
    }
}

/// A broken rule: `krate` depends on `dependency`, and why that is wrong.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Violation {
    /// The crate that has the dependency.
    pub krate: String,
    /// The dependency it may not have.
    pub dependency: String,
    /// Which rule it breaks.
    pub why: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} -> {} ({})", self.krate, self.dependency, self.why)
    }
}

fn describe(role: Role) -> String {
    match role {
        Role::Layer(layer) => format!("layer {layer}"),
        Role::Tool(_) => "a tool".to_string(),
    }
}

/// Checks `graph` against `rules` and returns every violation, sorted.
pub(crate) fn check(graph: &Graph, rules: &Rules) -> Vec<Violation> {
    let mut violations = BTreeSet::new();
    let members: Vec<(&str, &Node)> = graph
        .nodes
        .iter()
        .filter(|(_, node)| node.member)
        .map(|(id, node)| (id.as_str(), node))
        .collect();

    for &(id, node) in &members {
        let Some(&role) = rules.roles.get(&node.name) else {
            violations.insert(Violation {
                krate: node.name.clone(),
                dependency: "*".to_string(),
                why: "not in the layer table in xtask/src/layers.rs; give it a layer".to_string(),
            });
            continue;
        };
        for dep_id in graph.normal_deps(id) {
            let Some(dep) = graph.nodes.get(dep_id).filter(|d| d.member) else {
                continue;
            };
            let Some(&dep_role) = rules.roles.get(&dep.name) else {
                continue; // reported for the dependency itself
            };
            let why = match (role, dep_role) {
                (Role::Layer(own), Role::Layer(other)) if other > own => Some(format!(
                    "layer {own} may not depend on layer {other}"
                )),
                (Role::Layer(_), Role::Tool(_))
                    if TOOL_USES
                        .iter()
                        .any(|(k, d, _)| *k == node.name && *d == dep.name) =>
                {
                    None
                }
                (Role::Layer(_), Role::Tool(_)) => Some(format!(
                    "{} is a tool outside the layering; layered crates may use it only as a dev-dependency",
                    dep.name
                )),
                (Role::Tool(allowed), _) if !allowed.contains(&dep.name.as_str()) => {
                    Some(if allowed.is_empty() {
                        "this tool may not depend on workspace crates".to_string()
                    } else {
                        format!(
                            "this tool may depend only on {} among workspace crates, not on {}",
                            allowed.join(", "),
                            describe(dep_role)
                        )
                    })
                }
                _ => None,
            };
            if let Some(why) = why {
                violations.insert(Violation {
                    krate: node.name.clone(),
                    dependency: dep.name.clone(),
                    why,
                });
            }
        }
    }

    for &(id, node) in &members {
        let Some(banned) = rules.banned.get(&node.name) else {
            continue;
        };
        for (reached, path) in graph.normal_closure(id) {
            let name = graph.name(reached);
            if reached != id && banned.contains(name) {
                violations.insert(Violation {
                    krate: node.name.clone(),
                    dependency: name.to_string(),
                    why: format!(
                        "{} must stay free of I/O crates; pulled in via {}",
                        node.name,
                        path.join(" -> ")
                    ),
                });
            }
        }
    }
    violations.into_iter().collect()
}

/// Checks the workspace at `root` and fails when any rule is broken,
/// printing each violation as `crate -> dependency (why)`.
pub(crate) fn run(root: &Path) -> Result<()> {
    let metadata = workspace::metadata(root)?;
    let graph = Graph::from_metadata(&metadata)?;
    let violations = check(&graph, &Rules::workspace());
    let members = workspace::members(&metadata).len();
    for violation in &violations {
        println!("{violation}");
    }
    let circles = module_circles(&metadata)?;
    for (krate, path) in &circles {
        println!(
            "{krate}: modules import each other in a circle: {}",
            path.join(" -> ")
        );
    }
    if !violations.is_empty() {
        bail!(
            "{} layering violation(s); the layer table is in xtask/src/layers.rs and docs/releasing.md",
            violations.len()
        );
    }
    if !circles.is_empty() {
        bail!(
            "{} circle(s) between top-level modules; move what both use into a module below them, \
             or invert the dependency",
            circles.len()
        );
    }
    println!(
        "check-layers: {members} workspace crates respect the layer table; no circles between the \
         top-level modules of {}",
        modules::ACYCLIC_MODULES.join(", ")
    );
    Ok(())
}

/// Each circle between the top-level modules of the crates of [`modules::ACYCLIC_MODULES`],
/// with its crate.
fn module_circles(metadata: &Metadata) -> Result<Vec<(String, Vec<String>)>> {
    let mut circles = Vec::new();
    for name in modules::ACYCLIC_MODULES {
        let package = workspace::member(metadata, name)?;
        let src = package
            .manifest_path
            .parent()
            .context("a manifest has a directory")?
            .join("src");
        let graph = modules::module_graph(src.as_std_path())?;
        for path in modules::cycles(&graph) {
            circles.push((name.to_string(), path));
        }
    }
    Ok(circles)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A graph of workspace crates (`members`) and third-party crates,
    /// using names as ids. Edges are `(from, to, dev_only)`.
    fn graph(members: &[&str], external: &[&str], edges: &[(&str, &str, bool)]) -> Graph {
        let mut graph = Graph::default();
        for name in members {
            graph.add_package(name, name, true);
        }
        for name in external {
            graph.add_package(name, name, false);
        }
        for (from, to, dev_only) in edges {
            graph.add_dependency(from, to, *dev_only);
        }
        graph
    }

    fn report(graph: &Graph) -> Vec<String> {
        check(graph, &Rules::workspace())
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    const MEMBERS: &[&str] = &[
        "messenger-model",
        "messenger-validate",
        "messenger-graph",
        "messenger-store",
        "messenger-store-sql",
        "graph-sim",
        "xtask",
    ];

    /// The real workspace, as `cargo metadata` sees it, breaks no rule.
    #[test]
    fn this_workspace_respects_the_layer_table() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .expect("xtask sits in the workspace root");
        let metadata = workspace::metadata(root).expect("cargo metadata");
        let graph = Graph::from_metadata(&metadata).expect("the dependency graph");
        let violations = check(&graph, &Rules::workspace());
        assert!(violations.is_empty(), "{violations:#?}");
        let names: BTreeSet<&str> = graph
            .nodes
            .values()
            .filter(|n| n.member)
            .map(|n| n.name.as_str())
            .collect();
        for (krate, _) in LAYERS {
            assert!(
                names.contains(krate),
                "{krate} is in the table but not in the workspace"
            );
        }
    }

    /// The crates that must have no module circles have none.
    #[test]
    fn this_workspace_has_no_module_circles() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .expect("xtask sits in the workspace root");
        let metadata = workspace::metadata(root).expect("cargo metadata");
        let circles = module_circles(&metadata).expect("the module graphs");
        assert!(circles.is_empty(), "{circles:#?}");
    }

    #[test]
    fn a_well_layered_workspace_passes() {
        let g = graph(
            MEMBERS,
            &["serde", "tokio", "reqwest", "mio"],
            &[
                ("messenger-model", "serde", false),
                ("messenger-validate", "messenger-model", false),
                ("messenger-graph", "messenger-model", false),
                ("messenger-graph", "reqwest", false),
                ("messenger-graph", "graph-sim", true),
                ("messenger-store", "messenger-model", false),
                ("messenger-store", "tokio", false),
                ("messenger-store-sql", "messenger-store", false),
                ("graph-sim", "messenger-model", false),
                ("graph-sim", "tokio", false),
                ("tokio", "mio", false),
                // Tests of the model may use upper layers and runtimes.
                ("messenger-model", "messenger-validate", true),
                ("messenger-model", "tokio", true),
            ],
        );
        assert_eq!(report(&g), Vec::<String>::new());
    }

    #[test]
    fn depending_on_an_upper_layer_is_reported() {
        let g = graph(
            MEMBERS,
            &[],
            &[
                ("messenger-validate", "messenger-model", false),
                ("messenger-model", "messenger-validate", false),
                ("messenger-store", "messenger-store-sql", false),
                // Same layer is allowed.
                ("messenger-graph", "messenger-store", false),
            ],
        );
        assert_eq!(
            report(&g),
            [
                "messenger-model -> messenger-validate (layer 0 may not depend on layer 1)",
                "messenger-store -> messenger-store-sql (layer 2 may not depend on layer 3)",
            ]
        );
    }

    #[test]
    fn tools_are_outside_the_layering() {
        let g = graph(
            MEMBERS,
            &[],
            &[
                ("messenger-store", "graph-sim", false),
                ("graph-sim", "messenger-validate", false),
                ("xtask", "messenger-model", false),
            ],
        );
        assert_eq!(
            report(&g),
            [
                "graph-sim -> messenger-validate (this tool may depend only on messenger-model among workspace crates, not on layer 1)",
                "messenger-store -> graph-sim (graph-sim is a tool outside the layering; layered crates may use it only as a dev-dependency)",
                "xtask -> messenger-model (this tool may not depend on workspace crates)",
            ]
        );
    }

    #[test]
    fn io_crates_in_the_model_closure_are_reported_with_the_path() {
        let g = graph(
            MEMBERS,
            &["serde", "helper", "hyper", "tokio"],
            &[
                ("messenger-model", "serde", false),
                ("serde", "helper", false),
                ("helper", "hyper", false),
                ("messenger-validate", "messenger-model", false),
                ("messenger-validate", "tokio", true),
            ],
        );
        assert_eq!(
            report(&g),
            [
                "messenger-model -> hyper (messenger-model must stay free of I/O crates; pulled in via messenger-model -> serde -> helper -> hyper)",
                "messenger-validate -> hyper (messenger-validate must stay free of I/O crates; pulled in via messenger-validate -> messenger-model -> serde -> helper -> hyper)",
            ]
        );
    }

    #[test]
    fn a_dependency_used_both_ways_counts_as_normal() {
        let mut g = graph(MEMBERS, &["tokio"], &[("messenger-model", "tokio", true)]);
        assert!(report(&g).is_empty());
        g.add_dependency("messenger-model", "tokio", false);
        assert_eq!(report(&g).len(), 1);
    }

    #[test]
    fn crates_missing_from_the_table_are_reported() {
        let g = graph(&["messenger-model", "new-crate"], &[], &[]);
        assert_eq!(
            report(&g),
            ["new-crate -> * (not in the layer table in xtask/src/layers.rs; give it a layer)"]
        );
    }
}
