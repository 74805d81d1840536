//! No circles between a crate's top-level modules.
//!
//! Module `a` imports module `b` when a file of `a` (`a.rs` in the crate's `src`, or any file
//! under its directory `a`) names `crate::b` (`use crate::b::...`, `use crate::{b, ...}`, a `crate::b::` path) or reaches
//! it through `super::` from the crate root. Comments do not count. The crate root (`lib.rs`,
//! `main.rs`) is not a module: it declares them all, and a name it re-exports
//! (`crate::Messenger`) is no module edge.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

/// The crates whose top-level modules must not import each other in a circle.
pub(crate) const ACYCLIC_MODULES: &[&str] = &[
    "messenger",
    "messenger-validate",
    "messenger-gateway",
    "graph-sim",
];

/// Which top-level modules each top-level module imports.
pub(crate) type ModuleGraph = BTreeMap<String, BTreeSet<String>>;

/// The module graph of the crate whose sources are in `src`.
pub(crate) fn module_graph(src: &Path) -> Result<ModuleGraph> {
    let mut graph = ModuleGraph::new();
    let mut files = Vec::new();
    for entry in fs::read_dir(src).with_context(|| format!("reading {}", src.display()))? {
        let path = entry?.path();
        let name = path
            .file_stem()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_owned();
        if path.is_dir() {
            collect_rs(&path, &mut files, &name)?;
            graph.entry(name).or_default();
        } else if path.extension().is_some_and(|e| e == "rs") && !is_root(&name) {
            files.push((path, name.clone()));
            graph.entry(name).or_default();
        }
    }
    let modules: BTreeSet<String> = graph.keys().cloned().collect();
    for (file, module) in files {
        let text =
            fs::read_to_string(&file).with_context(|| format!("reading {}", file.display()))?;
        let depth = depth_below_root(src, &file);
        for imported in imports(&text, depth) {
            if imported != module && modules.contains(&imported) {
                graph.entry(module.clone()).or_default().insert(imported);
            }
        }
    }
    Ok(graph)
}

fn is_root(stem: &str) -> bool {
    stem == "lib" || stem == "main"
}

/// Every `.rs` file under `dir`, each with its top-level module `module`.
fn collect_rs(dir: &Path, files: &mut Vec<(PathBuf, String)>, module: &str) -> Result<()> {
    for entry in fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let path = entry?.path();
        if path.is_dir() {
            collect_rs(&path, files, module)?;
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push((path, module.to_owned()));
        }
    }
    Ok(())
}

/// How many modules deep the file's own module is below the crate root: `a.rs` and `a/mod.rs`
/// in `src` are 1, `a/b.rs` is 2 (how many `super::` reach the root).
fn depth_below_root(src: &Path, file: &Path) -> usize {
    let relative = file.strip_prefix(src).unwrap_or(file);
    let parts = relative.components().count();
    let is_mod = file.file_name().is_some_and(|n| n == "mod.rs");
    if is_mod {
        parts - 1
    } else {
        parts
    }
}

/// The top-level modules `text` names, for a file `depth` modules below the crate root.
pub(crate) fn imports(text: &str, depth: usize) -> BTreeSet<String> {
    let code = without_comments(text);
    let mut found = BTreeSet::new();
    let mut rest = code.as_str();
    while let Some(at) = next_path_start(rest) {
        let (head, after) = rest[at..].split_at(path_head_len(&rest[at..]));
        rest = after;
        let supers = head.matches("super::").count();
        let from_root = head.ends_with("crate::") || (supers > 0 && supers == depth);
        if !from_root {
            continue;
        }
        if let Some(group) = after.strip_prefix('{') {
            found.extend(group_heads(group));
        } else if let Some(name) = identifier(after) {
            found.insert(name.to_owned());
        }
    }
    found
}

/// Where the next `crate::` or chain of `super::` starts (not inside an identifier such as
/// `my_crate::`).
fn next_path_start(text: &str) -> Option<usize> {
    let mut from = 0;
    loop {
        let crate_at = text[from..].find("crate::").map(|i| i + from);
        let super_at = text[from..].find("super::").map(|i| i + from);
        let at = match (crate_at, super_at) {
            (Some(a), Some(b)) => a.min(b),
            (a, b) => a.or(b)?,
        };
        let before = text[..at].chars().next_back();
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            from = at + 1;
            continue;
        }
        return Some(at);
    }
}

/// The length of `crate::` or of a chain `super::super::...` at the start of `text`.
fn path_head_len(text: &str) -> usize {
    if text.starts_with("crate::") {
        return "crate::".len();
    }
    let mut len = 0;
    while text[len..].starts_with("super::") {
        len += "super::".len();
    }
    len
}

fn identifier(text: &str) -> Option<&str> {
    let end = text
        .find(|c: char| !(c.is_alphanumeric() || c == '_'))
        .unwrap_or(text.len());
    (end > 0).then(|| &text[..end])
}

/// The first name of each item of a `{a::X, b, c::{d, e}}` group (`group` starts after `{`).
fn group_heads(group: &str) -> Vec<String> {
    let mut heads = Vec::new();
    let mut depth = 0;
    let mut item_start = true;
    for (i, c) in group.char_indices() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => break,
            '}' => depth -= 1,
            ',' if depth == 0 => item_start = true,
            c if item_start && !c.is_whitespace() => {
                item_start = false;
                if let Some(name) = identifier(&group[i..]) {
                    if name != "self" {
                        heads.push(name.to_owned());
                    }
                }
            }
            _ => {}
        }
    }
    heads
}

/// `text` without `//` comments (line, doc and inner doc comments) and `/* */` blocks.
fn without_comments(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        let code = line
            .match_indices("//")
            .find(|(at, _)| !in_string(&line[..*at]))
            .map_or(line, |(at, _)| &line[..at]);
        out.push_str(code);
        out.push('\n');
    }
    while let Some(start) = out.find("/*") {
        let end = out[start..].find("*/").map_or(out.len(), |e| start + e + 2);
        out.replace_range(start..end, " ");
    }
    out
}

/// Whether a `//` after `before` is inside a string literal (an odd number of unescaped quotes).
fn in_string(before: &str) -> bool {
    before.replace("\\\"", "").matches('"').count() % 2 == 1
}

/// Each circle of `graph`: for every group of modules that reach one another, one shortest
/// path from its first module back to itself (`["a", "b", "a"]`).
pub(crate) fn cycles(graph: &ModuleGraph) -> Vec<Vec<String>> {
    let mut seen: BTreeSet<&str> = BTreeSet::new();
    let mut found = Vec::new();
    for start in graph.keys() {
        if seen.contains(start.as_str()) {
            continue;
        }
        let Some(path) = shortest_cycle(graph, start) else {
            continue;
        };
        // Every module that both reaches `start` and is reached from it is in the same circle.
        let from = reachable(graph, start);
        for module in &from {
            if reachable(graph, module).contains(start.as_str()) {
                seen.insert(module);
            }
        }
        found.push(path);
    }
    found
}

fn reachable<'a>(graph: &'a ModuleGraph, start: &str) -> BTreeSet<&'a str> {
    let mut reached = BTreeSet::new();
    let mut queue: VecDeque<&str> = graph
        .get(start)
        .into_iter()
        .flatten()
        .map(String::as_str)
        .collect();
    while let Some(module) = queue.pop_front() {
        if let Some((key, next)) = graph.get_key_value(module) {
            if reached.insert(key.as_str()) {
                queue.extend(next.iter().map(String::as_str));
            }
        }
    }
    reached
}

/// The shortest path from `start` back to itself, if there is one.
fn shortest_cycle(graph: &ModuleGraph, start: &str) -> Option<Vec<String>> {
    let mut came_from: BTreeMap<&str, &str> = BTreeMap::new();
    let mut queue = VecDeque::from([start]);
    while let Some(module) = queue.pop_front() {
        for next in graph.get(module).into_iter().flatten() {
            if next == start {
                let mut path = vec![module.to_owned()];
                let mut at = module;
                while at != start {
                    at = came_from[at];
                    path.push(at.to_owned());
                }
                path.reverse();
                path.push(start.to_owned());
                return Some(path);
            }
            if !came_from.contains_key(next.as_str()) && next != start {
                came_from.insert(next, module);
                queue.push_back(next);
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn graph(edges: &[(&str, &str)]) -> ModuleGraph {
        let mut g = ModuleGraph::new();
        for (from, to) in edges {
            g.entry(from.to_string())
                .or_default()
                .insert(to.to_string());
            g.entry(to.to_string()).or_default();
        }
        g
    }

    fn names(set: BTreeSet<String>) -> Vec<String> {
        set.into_iter().collect()
    }

    #[test]
    fn imports_are_read_from_use_items_and_paths() {
        let text = r#"
//! Links to [`crate::docs_only`] do not count.
use crate::send::{Accepted, Idempotency};
use crate::{error::Error, space, webhook::{apply, horizon}};
use super::sibling::Thing; // one level down: the root's `sibling`
use my_crate::not_ours;
fn f() -> crate::facade::Messenger { crate::sms::send(); todo!() }
pub(super) fn g() {}
const URL: &str = "http://example.com"; // crate::commented
/* crate::blocked */
"#;
        assert_eq!(
            names(imports(text, 1)),
            ["error", "facade", "send", "sibling", "sms", "space", "webhook"]
        );
        // Two levels down, one `super::` stays inside the module.
        assert_eq!(
            names(imports("use super::sibling::Thing;", 2)),
            Vec::<String>::new()
        );
        assert_eq!(
            names(imports("use super::super::other::Thing;", 2)),
            ["other"]
        );
    }

    #[test]
    fn a_circle_is_reported_with_its_path() {
        let g = graph(&[
            ("send", "webhook"),
            ("webhook", "apply"),
            ("apply", "send"),
            ("send", "error"),
            ("facade", "send"),
        ]);
        assert_eq!(cycles(&g), [["apply", "send", "webhook", "apply"]]);
    }

    #[test]
    fn two_modules_importing_each_other_are_a_circle() {
        let g = graph(&[("request", "tags"), ("tags", "request"), ("lib", "tags")]);
        assert_eq!(cycles(&g), [["request", "tags", "request"]]);
    }

    #[test]
    fn a_graph_without_circles_passes() {
        let g = graph(&[
            ("facade", "send"),
            ("send", "error"),
            ("webhook", "error"),
            ("facade", "webhook"),
        ]);
        assert!(cycles(&g).is_empty());
    }

    #[test]
    fn a_module_graph_is_built_from_a_source_tree() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path();
        fs::write(src.join("lib.rs"), "mod a;\nmod b;\nuse crate::a::X;\n").unwrap();
        fs::write(src.join("a.rs"), "use crate::b::Y;\n").unwrap();
        fs::create_dir(src.join("b")).unwrap();
        fs::write(src.join("b/mod.rs"), "mod inner;\n").unwrap();
        fs::write(src.join("b/inner.rs"), "use super::super::a::X;\n").unwrap();
        let g = module_graph(src).unwrap();
        assert_eq!(g, graph(&[("a", "b"), ("b", "a")]));
        assert_eq!(cycles(&g), [["a", "b", "a"]]);
    }
}
