//! Signatures of rustdoc JSON items as short Rust-like text, for comparing
//! two builds and for messages. Type paths are cut to their last segment
//! (`Vec<u8>`, not `alloc::vec::Vec<u8>`), so moving a type between modules
//! does not read as a change; shapes not known here are written as their
//! JSON without ids, which still compares exactly.

use serde_json::Value;

/// `const unsafe fn<T: Bound>(&T, u32) -> Option<T>`.
pub(super) fn function(body: &Value) -> String {
    let sig = body.get("sig").or_else(|| body.get("decl"));
    let inputs: Vec<String> = sig
        .and_then(|s| s.get("inputs"))
        .and_then(Value::as_array)
        .map(|inputs| {
            inputs
                .iter()
                .map(|pair| pair.get(1).map(render_type).unwrap_or_default())
                .collect()
        })
        .unwrap_or_default();
    let output = sig
        .and_then(|s| s.get("output"))
        .filter(|o| !o.is_null())
        .map(render_type)
        .unwrap_or_else(|| "()".to_string());
    let header = body.get("header");
    let mut words = String::new();
    for (flag, word) in [
        ("is_const", "const "),
        ("is_async", "async "),
        ("is_unsafe", "unsafe "),
    ] {
        if header.and_then(|h| h.get(flag)).and_then(Value::as_bool) == Some(true) {
            words.push_str(word);
        }
    }
    if let Some(abi) = header.and_then(|h| h.get("abi")) {
        if abi.as_str() != Some("Rust") {
            words.push_str(&format!("extern {} ", canonical(abi)));
        }
    }
    format!(
        "{words}fn{}({}) -> {output}",
        generics(body.get("generics")),
        inputs.join(", ")
    )
}

/// `<'a, T: Clone, const N: usize> where T: Send`; empty without generics.
pub(super) fn generics(value: Option<&Value>) -> String {
    let Some(value) = value else {
        return String::new();
    };
    let params: Vec<String> = value
        .get("params")
        .and_then(Value::as_array)
        .map(|params| params.iter().map(generic_param).collect())
        .unwrap_or_default();
    let predicates: Vec<String> = value
        .get("where_predicates")
        .and_then(Value::as_array)
        .map(|preds| {
            preds
                .iter()
                .map(|p| match p.get("bound_predicate") {
                    Some(b) => format!(
                        "{}: {}",
                        b.get("type").map(render_type).unwrap_or_default(),
                        render_bounds(b.get("bounds"))
                    ),
                    None => canonical(p),
                })
                .collect()
        })
        .unwrap_or_default();
    let mut out = String::new();
    if !params.is_empty() {
        out = format!("<{}>", params.join(", "));
    }
    if !predicates.is_empty() {
        out.push_str(&format!(" where {}", predicates.join(", ")));
    }
    out
}

fn generic_param(param: &Value) -> String {
    let name = param.get("name").and_then(Value::as_str).unwrap_or("_");
    match param.get("kind").and_then(entry) {
        Some(("type", t)) => {
            let bounds = render_bounds(t.get("bounds"));
            if bounds.is_empty() {
                name.to_string()
            } else {
                format!("{name}: {bounds}")
            }
        }
        Some(("const", c)) => format!(
            "const {name}: {}",
            c.get("type").map(render_type).unwrap_or_default()
        ),
        _ => name.to_string(),
    }
}

pub(super) fn render_bounds(bounds: Option<&Value>) -> String {
    let Some(bounds) = bounds.and_then(Value::as_array) else {
        return String::new();
    };
    bounds
        .iter()
        .map(|bound| {
            if let Some(t) = bound.get("trait_bound") {
                let maybe = t.get("modifier").and_then(Value::as_str) == Some("maybe");
                let path = t.get("trait").map(render_path).unwrap_or_default();
                format!("{}{path}", if maybe { "?" } else { "" })
            } else if let Some(lifetime) = bound.get("outlives").and_then(Value::as_str) {
                lifetime.to_string()
            } else {
                canonical(bound)
            }
        })
        .collect::<Vec<_>>()
        .join(" + ")
}

/// A path's last segment and its generic arguments: `Option<T>`,
/// `Fn(u32) -> bool`.
pub(super) fn render_path(path: &Value) -> String {
    let name = path
        .get("path")
        .or_else(|| path.get("name"))
        .and_then(Value::as_str)
        .unwrap_or("_");
    let name = name.rsplit("::").next().unwrap_or(name);
    match path.get("args").filter(|a| !a.is_null()) {
        None => name.to_string(),
        Some(args) => format!("{name}{}", render_args(args)),
    }
}

fn render_args(args: &Value) -> String {
    if let Some(angle) = args.get("angle_bracketed") {
        let mut parts: Vec<String> = angle
            .get("args")
            .and_then(Value::as_array)
            .map(|list| {
                list.iter()
                    .map(|arg| match arg {
                        Value::Object(_) => match entry(arg) {
                            Some(("type", t)) => render_type(t),
                            Some(("lifetime", l)) => l.as_str().unwrap_or("'_").to_string(),
                            _ => canonical(arg),
                        },
                        other => canonical(other),
                    })
                    .collect()
            })
            .unwrap_or_default();
        let constraints = angle
            .get("constraints")
            .or_else(|| angle.get("bindings"))
            .and_then(Value::as_array);
        for constraint in constraints.into_iter().flatten() {
            let name = constraint
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or("_");
            let binding = constraint.get("binding");
            let value = match binding.and_then(|b| b.get("equality")) {
                Some(eq) => format!(" = {}", render_type(eq.get("type").unwrap_or(eq))),
                None => format!(
                    ": {}",
                    render_bounds(binding.and_then(|b| b.get("constraint")))
                ),
            };
            parts.push(format!("{name}{value}"));
        }
        if parts.is_empty() {
            String::new()
        } else {
            format!("<{}>", parts.join(", "))
        }
    } else if let Some(paren) = args.get("parenthesized") {
        let inputs: Vec<String> = paren
            .get("inputs")
            .and_then(Value::as_array)
            .map(|list| list.iter().map(render_type).collect())
            .unwrap_or_default();
        let output = paren
            .get("output")
            .filter(|o| !o.is_null())
            .map(|o| format!(" -> {}", render_type(o)))
            .unwrap_or_default();
        format!("({}){output}", inputs.join(", "))
    } else {
        canonical(args)
    }
}

/// A type as Rust-like text; shapes it does not know are written as their
/// JSON without ids, which still compares exactly.
pub(super) fn render_type(ty: &Value) -> String {
    let Some((kind, body)) = entry(ty) else {
        return canonical(ty);
    };
    let inner_type = |key: &str| body.get(key).map(render_type).unwrap_or_default();
    match kind {
        "primitive" | "generic" => body.as_str().unwrap_or("_").to_string(),
        "resolved_path" => render_path(body),
        "borrowed_ref" => {
            let lifetime = body
                .get("lifetime")
                .and_then(Value::as_str)
                .map(|l| format!("{l} "))
                .unwrap_or_default();
            let mutable = body.get("is_mutable").or_else(|| body.get("mutable"));
            let mutable = if mutable.and_then(Value::as_bool) == Some(true) {
                "mut "
            } else {
                ""
            };
            format!("&{lifetime}{mutable}{}", inner_type("type"))
        }
        "raw_pointer" => {
            let mutable = body.get("is_mutable").or_else(|| body.get("mutable"));
            let mutable = if mutable.and_then(Value::as_bool) == Some(true) {
                "mut"
            } else {
                "const"
            };
            format!("*{mutable} {}", inner_type("type"))
        }
        "slice" => format!("[{}]", render_type(body)),
        "array" => format!(
            "[{}; {}]",
            inner_type("type"),
            body.get("len").and_then(Value::as_str).unwrap_or("_")
        ),
        "tuple" => {
            let parts: Vec<String> = body
                .as_array()
                .map(|list| list.iter().map(render_type).collect())
                .unwrap_or_default();
            format!("({})", parts.join(", "))
        }
        "impl_trait" => format!("impl {}", render_bounds(Some(body))),
        "dyn_trait" => {
            let traits: Vec<String> = body
                .get("traits")
                .and_then(Value::as_array)
                .map(|list| {
                    list.iter()
                        .map(|t| t.get("trait").map(render_path).unwrap_or_default())
                        .collect()
                })
                .unwrap_or_default();
            let lifetime = body
                .get("lifetime")
                .and_then(Value::as_str)
                .map(|l| format!(" + {l}"))
                .unwrap_or_default();
            format!("dyn {}{lifetime}", traits.join(" + "))
        }
        "qualified_path" => {
            let name = body.get("name").and_then(Value::as_str).unwrap_or("_");
            let self_type = inner_type("self_type");
            match body.get("trait").filter(|t| !t.is_null()) {
                Some(t) => format!("<{self_type} as {}>::{name}", render_path(t)),
                None => format!("{self_type}::{name}"),
            }
        }
        "infer" => "_".to_string(),
        _ => canonical(ty),
    }
}

/// The one key of an object such as `{"primitive": "u32"}`, with its value.
pub(super) fn entry(value: &Value) -> Option<(&str, &Value)> {
    let (key, value) = value.as_object()?.iter().next()?;
    Some((key.as_str(), value))
}

/// `value` as compact JSON without `id` fields (ids differ between builds).
pub(super) fn canonical(value: &Value) -> String {
    fn strip(value: &Value) -> Value {
        match value {
            Value::Object(map) => Value::Object(
                map.iter()
                    .filter(|(k, _)| k.as_str() != "id")
                    .map(|(k, v)| (k.clone(), strip(v)))
                    .collect(),
            ),
            Value::Array(list) => Value::Array(list.iter().map(strip).collect()),
            other => other.clone(),
        }
    }
    strip(value).to_string()
}
