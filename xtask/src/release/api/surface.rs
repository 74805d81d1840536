//! A crate's public API read from its rustdoc JSON: every item a user can
//! name, keyed by the path they name it by, with what a change to it would
//! break.
//!
//! The JSON is read loosely (`serde_json::Value`, not a crate pinned to one
//! format version), walking from the crate root through public modules and
//! re-exports, so an item reachable by two paths is listed under both.
//! Signatures are rendered by [`super::render`].

use std::collections::{BTreeMap, BTreeSet};

use anyhow::{Context, Result};
use serde_json::{Map, Value};

use super::render::{
    canonical, entry, function, generics, render_bounds, render_path, render_type,
};

/// One public item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Item {
    /// What it is, for messages: `function`, `struct`, `field`, `method`,
    /// `trait impl`, ….
    pub kind: &'static str,
    /// Its signature; any difference is a change.
    pub signature: String,
    /// For structs, enums and variants: whether a user may build it with a
    /// literal or match it exhaustively (no `#[non_exhaustive]`, no hidden
    /// fields or variants). Adding a field or variant to such a type breaks
    /// those users.
    pub exhaustive: Option<bool>,
    /// For trait items: whether an implementor must write it (no default).
    pub required: bool,
    /// The key of the item it belongs to (a field's struct, a method's type,
    /// a trait item's trait).
    pub parent: Option<String>,
}

/// A crate's public items by path: `a::one`, `a::S`, `a::S.field`,
/// `a::E::Variant`, `a::S::method`, `impl Clone for a::S`.
pub(crate) type Surface = BTreeMap<String, Item>;

/// The auto traits whose loss breaks users; rustdoc lists a few more
/// internal ones, which are not compared.
const AUTO_TRAITS: [&str; 5] = ["Send", "Sync", "Unpin", "UnwindSafe", "RefUnwindSafe"];

/// Reads the public API out of a rustdoc JSON document.
pub(crate) fn read(doc: &Value) -> Result<Surface> {
    let index = doc
        .get("index")
        .and_then(Value::as_object)
        .context("rustdoc JSON has no index")?;
    let root = doc
        .get("root")
        .and_then(id_of)
        .context("rustdoc JSON has no root")?;
    let name = index
        .get(&root)
        .and_then(|item| item.get("name"))
        .and_then(Value::as_str)
        .context("rustdoc JSON's root has no name")?
        .to_string();
    let mut reader = Reader {
        index,
        surface: Surface::new(),
        open: BTreeSet::new(),
    };
    reader.visit(&root, name);
    Ok(reader.surface)
}

/// An item id: a number in recent formats, a string in older ones.
fn id_of(value: &Value) -> Option<String> {
    match value {
        Value::Number(n) => Some(n.to_string()),
        Value::String(s) => Some(s.clone()),
        _ => None,
    }
}

/// The kind and body of an item's `inner`: `("function", {...})`.
fn inner(item: &Value) -> Option<(&str, &Value)> {
    match item.get("inner")? {
        Value::String(kind) => Some((kind.as_str(), &Value::Null)),
        other => entry(other),
    }
}

fn has_attr(item: &Value, attr: &str) -> bool {
    item.get("attrs")
        .and_then(Value::as_array)
        .is_some_and(|attrs| attrs.iter().any(|a| a.to_string().contains(attr)))
}

/// The shape of a struct or variant (`unit`, `( .. )`, `{ .. }`), its
/// fields (`None` for a hidden positional one) and whether any is hidden.
fn shape(kind: Option<&Value>) -> (&'static str, Vec<Option<String>>, bool) {
    let stripped = |body: &Value| {
        ["has_stripped_fields", "fields_stripped"]
            .iter()
            .any(|k| body.get(*k).and_then(Value::as_bool) == Some(true))
    };
    match kind.and_then(entry) {
        Some(("plain" | "struct", body)) => ("{ .. }", ids(body.get("fields")), stripped(body)),
        Some(("tuple", fields)) => {
            let fields = ids(Some(fields));
            let stripped = fields.iter().any(Option::is_none);
            ("( .. )", fields, stripped)
        }
        _ => ("unit", Vec::new(), false),
    }
}

fn ids(value: Option<&Value>) -> Vec<Option<String>> {
    value
        .and_then(Value::as_array)
        .map(|list| list.iter().map(id_of).collect())
        .unwrap_or_default()
}

struct Reader<'a> {
    index: &'a Map<String, Value>,
    surface: Surface,
    /// Modules being walked, against re-export cycles.
    open: BTreeSet<String>,
}

impl Reader<'_> {
    fn add(&mut self, path: String, kind: &'static str, signature: String) -> &mut Item {
        self.surface.entry(path).or_insert(Item {
            kind,
            signature,
            exhaustive: None,
            required: false,
            parent: None,
        })
    }

    fn add_child(&mut self, parent: &str, path: String, kind: &'static str, signature: String) {
        self.add(path, kind, signature).parent = Some(parent.to_string());
    }

    /// A module member: an item, or a `use` naming one or a glob of them.
    fn member(&mut self, id: &str, module: &str) {
        let Some(item) = self.index.get(id) else {
            return;
        };
        let Some((kind, body)) = inner(item) else {
            return;
        };
        if kind != "use" && kind != "import" {
            if let Some(name) = item.get("name").and_then(Value::as_str) {
                self.visit(id, format!("{module}::{name}"));
            }
            return;
        }
        let name = body.get("name").and_then(Value::as_str).unwrap_or("_");
        let source = body.get("source").and_then(Value::as_str).unwrap_or(name);
        let glob = [body.get("is_glob"), body.get("glob")]
            .into_iter()
            .any(|g| g.and_then(Value::as_bool) == Some(true));
        let target = body
            .get("id")
            .and_then(id_of)
            .filter(|t| self.index.contains_key(t));
        match (target, glob) {
            (Some(target), true) => {
                let target_item = &self.index[&target];
                match inner(target_item) {
                    Some(("module", module_body)) if self.open.insert(target.clone()) => {
                        for child in ids(module_body.get("items")).into_iter().flatten() {
                            self.member(&child, module);
                        }
                        self.open.remove(&target);
                    }
                    _ => {
                        self.add(
                            format!("{module}::{source}::*"),
                            "glob re-export",
                            String::new(),
                        );
                    }
                }
            }
            (Some(target), false) => self.visit(&target, format!("{module}::{name}")),
            (None, _) => {
                let path = if glob {
                    format!("{module}::{source}::*")
                } else {
                    format!("{module}::{name}")
                };
                self.add(path, "re-export", source.to_string());
            }
        }
    }

    fn visit(&mut self, id: &str, path: String) {
        let Some(item) = self.index.get(id) else {
            return;
        };
        let Some((kind, body)) = inner(item) else {
            return;
        };
        match kind {
            "module" => {
                if !self.open.insert(id.to_string()) {
                    return;
                }
                self.add(path.clone(), "module", String::new());
                for child in ids(body.get("items")).into_iter().flatten() {
                    self.member(&child, &path);
                }
                self.open.remove(id);
            }
            "function" => {
                self.add(path, "function", function(body));
            }
            "struct" => self.structure(item, body, path),
            "union" => {
                let signature = format!("union{}", generics(body.get("generics")));
                self.add(path.clone(), "union", signature).exhaustive = Some(false);
                self.fields(&path, &ids(body.get("fields")));
                self.impls(&path, body.get("impls"));
            }
            "enum" => self.enumeration(item, body, path),
            "trait" => self.trait_(body, path),
            "constant" => {
                let ty = body.get("type").map(render_type).unwrap_or_default();
                self.add(path, "constant", ty);
            }
            "static" => {
                let mutable = body.get("is_mutable").and_then(Value::as_bool) == Some(true);
                let ty = body.get("type").map(render_type).unwrap_or_default();
                let signature = format!("{}{ty}", if mutable { "mut " } else { "" });
                self.add(path, "static", signature);
            }
            "type_alias" | "typedef" => {
                let ty = body.get("type").map(render_type).unwrap_or_default();
                let signature = format!("type{} = {ty}", generics(body.get("generics")));
                self.add(path, "type alias", signature);
            }
            "macro" | "proc_macro" => {
                self.add(path, "macro", String::new());
            }
            "trait_alias" => {
                self.add(path, "trait alias", canonical(body));
            }
            _ => {}
        }
    }

    fn structure(&mut self, item: &Value, body: &Value, path: String) {
        let (shape, fields, stripped) = shape(body.get("kind"));
        let signature = format!("struct{} {shape}", generics(body.get("generics")));
        let exhaustive = !stripped && !has_attr(item, "non_exhaustive");
        self.add(path.clone(), "struct", signature).exhaustive = Some(exhaustive);
        self.fields(&path, &fields);
        self.impls(&path, body.get("impls"));
    }

    /// Fields of `parent`, named `parent.name` (`parent.0` when the name is
    /// a position).
    fn fields(&mut self, parent: &str, fields: &[Option<String>]) {
        for (position, field) in fields.iter().enumerate() {
            let Some(item) = field.as_ref().and_then(|id| self.index.get(id)) else {
                continue;
            };
            let name = item
                .get("name")
                .and_then(Value::as_str)
                .map(str::to_string)
                .unwrap_or_else(|| position.to_string());
            let ty = match inner(item) {
                Some((_, ty)) => render_type(ty),
                None => String::new(),
            };
            self.add_child(parent, format!("{parent}.{name}"), "field", ty);
        }
    }

    fn enumeration(&mut self, item: &Value, body: &Value, path: String) {
        let stripped = ["has_stripped_variants", "variants_stripped"]
            .iter()
            .any(|k| body.get(*k).and_then(Value::as_bool) == Some(true));
        let exhaustive = !stripped && !has_attr(item, "non_exhaustive");
        let signature = format!("enum{}", generics(body.get("generics")));
        self.add(path.clone(), "enum", signature).exhaustive = Some(exhaustive);
        for variant_id in ids(body.get("variants")).into_iter().flatten() {
            let Some(variant) = self.index.get(&variant_id) else {
                continue;
            };
            let name = variant.get("name").and_then(Value::as_str).unwrap_or("_");
            let variant_path = format!("{path}::{name}");
            let (shape, fields, stripped) = shape(inner(variant).and_then(|(_, v)| v.get("kind")));
            let exhaustive = !stripped && !has_attr(variant, "non_exhaustive");
            let entry = self.add(variant_path.clone(), "variant", shape.to_string());
            entry.exhaustive = Some(exhaustive);
            entry.parent = Some(path.clone());
            self.fields(&variant_path, &fields);
        }
        self.impls(&path, body.get("impls"));
    }

    fn trait_(&mut self, body: &Value, path: String) {
        let unsafe_ = body.get("is_unsafe").and_then(Value::as_bool) == Some(true);
        let bounds = render_bounds(body.get("bounds"));
        let signature = format!(
            "{}trait{}{}",
            if unsafe_ { "unsafe " } else { "" },
            generics(body.get("generics")),
            if bounds.is_empty() {
                String::new()
            } else {
                format!(": {bounds}")
            }
        );
        self.add(path.clone(), "trait", signature);
        for id in ids(body.get("items")).into_iter().flatten() {
            let Some(item) = self.index.get(&id) else {
                continue;
            };
            let name = item.get("name").and_then(Value::as_str).unwrap_or("_");
            let (kind, signature, required) = match inner(item) {
                Some(("function", f)) => {
                    let has_body = f.get("has_body").and_then(Value::as_bool) == Some(true);
                    ("trait method", function(f), !has_body)
                }
                Some(("assoc_type", t)) => {
                    let bounds = render_bounds(t.get("bounds"));
                    let required = t.get("type").is_none_or(Value::is_null);
                    ("associated type", bounds, required)
                }
                Some(("assoc_const", c)) => {
                    let ty = c.get("type").map(render_type).unwrap_or_default();
                    let required = c.get("value").is_none_or(Value::is_null);
                    ("associated const", ty, required)
                }
                _ => continue,
            };
            let key = format!("{path}::{name}");
            let entry = self.add(key, kind, signature);
            entry.required = required;
            entry.parent = Some(path.clone());
        }
    }

    /// Inherent methods and constants, and trait impls (auto traits
    /// included, blanket impls left out) of the type at `path`.
    fn impls(&mut self, path: &str, impls: Option<&Value>) {
        for id in ids(impls).into_iter().flatten() {
            let Some(Some(("impl", body))) = self.index.get(&id).map(inner) else {
                continue;
            };
            if body.get("blanket_impl").is_some_and(|b| !b.is_null()) {
                continue;
            }
            match body.get("trait").filter(|t| !t.is_null()) {
                None => self.inherent(path, body),
                Some(trait_path) => {
                    let name = render_path(trait_path);
                    let synthetic = ["is_synthetic", "synthetic"]
                        .iter()
                        .any(|k| body.get(*k).and_then(Value::as_bool) == Some(true));
                    if synthetic && !AUTO_TRAITS.iter().any(|t| name == *t) {
                        continue;
                    }
                    let negative = body.get("is_negative").and_then(Value::as_bool) == Some(true);
                    let key = format!("impl {}{name} for {path}", if negative { "!" } else { "" });
                    let signature = generics(body.get("generics"));
                    self.add_child(path, key, "trait impl", signature);
                }
            }
        }
    }

    fn inherent(&mut self, path: &str, body: &Value) {
        for id in ids(body.get("items")).into_iter().flatten() {
            let Some(item) = self.index.get(&id) else {
                continue;
            };
            if item.get("visibility").and_then(Value::as_str) != Some("public") {
                continue;
            }
            let name = item.get("name").and_then(Value::as_str).unwrap_or("_");
            let (kind, signature) = match inner(item) {
                Some(("function", f)) => ("method", function(f)),
                Some(("assoc_const", c)) => (
                    "associated const",
                    c.get("type").map(render_type).unwrap_or_default(),
                ),
                _ => continue,
            };
            self.add_child(path, format!("{path}::{name}"), kind, signature);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::TestWorkspace;

    /// The surface of a one-crate workspace whose library is `lib`.
    fn surface_of(lib: &str) -> Surface {
        let ws = TestWorkspace::empty();
        ws.write(
            "Cargo.toml",
            "[package]\nname = \"shapes\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[workspace]\n",
        );
        ws.write("src/lib.rs", lib);
        let doc = super::super::rustdoc::build(ws.path(), "shapes", "shapes", &ws.join("target"))
            .unwrap();
        read(&doc).unwrap()
    }

    #[test]
    fn every_kind_of_public_item_is_read_with_its_signature() {
        let surface = surface_of(
            r#"//! Shapes.
#![allow(missing_docs, dead_code)]
pub mod inner {
    pub fn f<T: Clone>(a: &str, b: Vec<T>) -> Option<crate::S> { None }
    pub struct Hidden;
    mod private { pub struct Unreachable; }
}
pub use inner::f as g;
pub use inner::*;
#[non_exhaustive]
pub struct S { pub a: u32, b: u8 }
pub struct T(pub u32);
pub enum E { A, B { x: u32 }, C(u8) }
impl S { pub fn new() -> Self { S { a: 1, b: 2 } } fn private(&self) {} pub const K: u32 = 1; }
impl Clone for S { fn clone(&self) -> Self { S { a: 1, b: 2 } } }
pub trait Tr { fn req(&self); fn def(&self) {} type A; const C: u32 = 1; }
pub const K: &[u8] = b"k";
pub static ST: u32 = 1;
pub type Al = Vec<u8>;
#[macro_export] macro_rules! mac { () => {} }
"#,
        );
        let shown: Vec<String> = surface
            .iter()
            .filter(|(key, _)| !key.starts_with("impl "))
            .map(|(key, item)| {
                let mut line = format!("{} {key}: {}", item.kind, item.signature);
                if let Some(exhaustive) = item.exhaustive {
                    line.push_str(if exhaustive {
                        " [exhaustive]"
                    } else {
                        " [open]"
                    });
                }
                if item.required {
                    line.push_str(" [required]");
                }
                line
            })
            .collect();
        assert_eq!(
            shown,
            [
                "module shapes: ",
                "type alias shapes::Al: type = Vec<u8>",
                "enum shapes::E: enum [exhaustive]",
                "variant shapes::E::A: unit [exhaustive]",
                "variant shapes::E::B: { .. } [exhaustive]",
                "field shapes::E::B.x: u32",
                "variant shapes::E::C: ( .. ) [exhaustive]",
                "field shapes::E::C.0: u8",
                "struct shapes::Hidden: struct unit [exhaustive]",
                "constant shapes::K: &[u8]",
                "struct shapes::S: struct { .. } [open]",
                "field shapes::S.a: u32",
                "associated const shapes::S::K: u32",
                "method shapes::S::new: fn() -> Self",
                "static shapes::ST: u32",
                "struct shapes::T: struct ( .. ) [exhaustive]",
                "field shapes::T.0: u32",
                "trait shapes::Tr: trait",
                "associated type shapes::Tr::A:  [required]",
                "associated const shapes::Tr::C: u32",
                "trait method shapes::Tr::def: fn(&Self) -> ()",
                "trait method shapes::Tr::req: fn(&Self) -> () [required]",
                "function shapes::f: fn<T: Clone>(&str, Vec<T>) -> Option<S>",
                "function shapes::g: fn<T: Clone>(&str, Vec<T>) -> Option<S>",
                "module shapes::inner: ",
                "struct shapes::inner::Hidden: struct unit [exhaustive]",
                "function shapes::inner::f: fn<T: Clone>(&str, Vec<T>) -> Option<S>",
                "macro shapes::mac: ",
            ]
        );
        assert!(surface.contains_key("impl Clone for shapes::S"));
        assert!(surface.contains_key("impl Send for shapes::S"));
        assert!(!surface
            .keys()
            .any(|k| k.contains("Freeze") || k.contains("Into")));
    }
}
