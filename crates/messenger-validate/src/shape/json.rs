//! Field accessors of the structural pass: each reads one field and reports a wrong type.

use serde_json::{Map, Value};

use crate::report::{child, truncate, Report};
use crate::ViolationCode;

/// `a string`, `an object`, ... for messages.
pub(super) fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Reports `field.type`: `at` must be `expected`.
pub(super) fn type_error(report: &mut Report, at: &str, expected: &str, got: &Value) {
    let value = match got {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    };
    report.push(
        ViolationCode::FieldType,
        at,
        format!("must be {expected}, not {}", kind(got)),
        value.as_deref(),
    );
}

/// Reports `field.required`.
pub(super) fn required(report: &mut Report, at: &str, key: &str) {
    report.push(
        ViolationCode::FieldRequired,
        child(at, key),
        format!("{key} is required"),
        None,
    );
}

/// Reports every key of `map` not in `known`.
pub(super) fn unknown_keys(
    report: &mut Report,
    map: &Map<String, Value>,
    at: &str,
    known: &[&str],
    what: &str,
) {
    for key in map.keys() {
        if report.is_full() {
            return report.mark_truncated();
        }
        if !known.contains(&key.as_str()) {
            let hint = match known.iter().find(|k| k.eq_ignore_ascii_case(key)) {
                Some(k) => format!(" (did you mean {k}?)"),
                None => String::new(),
            };
            report.push(
                ViolationCode::FieldUnknown,
                child(at, key),
                format!(
                    "unknown field {:?}{hint}; {what} takes {}",
                    truncate(key),
                    known.join(", ")
                ),
                Some(key),
            );
        }
    }
}

/// A string field: absent or null is `None` (or `field.required` when `required`).
pub(super) fn string<'v>(
    report: &mut Report,
    map: &'v Map<String, Value>,
    at: &str,
    key: &str,
    required_field: bool,
) -> Option<&'v str> {
    match map.get(key) {
        None if required_field => {
            required(report, at, key);
            None
        }
        None => None,
        Some(Value::Null) if !required_field => None,
        Some(Value::String(s)) => Some(s),
        Some(other) => {
            type_error(report, &child(at, key), "a string", other);
            None
        }
    }
}

/// A number field (any JSON number).
pub(super) fn number(
    report: &mut Report,
    map: &Map<String, Value>,
    at: &str,
    key: &str,
    required_field: bool,
) {
    match map.get(key) {
        None if required_field => required(report, at, key),
        None | Some(Value::Number(_)) => {}
        Some(Value::Null) if !required_field => {}
        Some(other) => type_error(report, &child(at, key), "a number", other),
    }
}

/// An optional non-negative integer field.
pub(super) fn u64_field(
    report: &mut Report,
    map: &Map<String, Value>,
    at: &str,
    key: &str,
    expected: &str,
) {
    match map.get(key) {
        None | Some(Value::Null) => {}
        Some(Value::Number(n)) if n.is_u64() => {}
        Some(other) => type_error(report, &child(at, key), expected, other),
    }
}

/// An optional boolean field.
pub(super) fn boolean(report: &mut Report, map: &Map<String, Value>, at: &str, key: &str) {
    match map.get(key) {
        None | Some(Value::Null | Value::Bool(_)) => {}
        Some(other) => type_error(report, &child(at, key), "true or false", other),
    }
}

/// An optional array field (a list: null is not accepted, leave it out instead).
pub(super) fn array<'v>(
    report: &mut Report,
    map: &'v Map<String, Value>,
    at: &str,
    key: &str,
) -> Option<&'v [Value]> {
    match map.get(key) {
        None => None,
        Some(Value::Array(a)) => Some(a),
        Some(other) => {
            type_error(report, &child(at, key), "an array (or left out)", other);
            None
        }
    }
}

/// A required array field.
pub(super) fn required_array<'v>(
    report: &mut Report,
    map: &'v Map<String, Value>,
    at: &str,
    key: &str,
) -> Option<&'v [Value]> {
    if map.contains_key(key) {
        array(report, map, at, key)
    } else {
        required(report, at, key);
        None
    }
}

/// Reports `field.enum` unless `value` is one of `allowed`.
pub(super) fn one_of(report: &mut Report, at: &str, value: &str, allowed: &[&str], what: &str) {
    if !allowed.contains(&value) {
        report.push(
            ViolationCode::FieldEnum,
            at,
            format!("{what} must be one of {}", allowed.join(", ")),
            Some(value),
        );
    }
}
