//! Lenient readers for the scalar fields of Meta's webhook bodies, used with
//! `#[serde(deserialize_with = ...)]`.
//!
//! - Milliseconds (`timestamp`, `watermark`, `time`): an integer, a float with no fraction, a
//!   string of ASCII digits, or `null` (read as 0). Anything else is an error.
//! - Ids and other short texts (`id`, `mid`, `user_ref`, `ref`, app ids): a string, or an integer
//!   kept exactly as its decimal text (serde_json reads integers up to `u64::MAX` exactly), or
//!   `null` (absent). A float is an error: its digits may already be lost.

use std::fmt;

use serde::de::{self, Deserializer, MapAccess, SeqAccess, Unexpected, Visitor};
use serde::Deserialize;
use serde_json::{Map, Value};

/// Reads milliseconds leniently (see the module doc); `null` is 0.
pub(crate) fn millis<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    d.deserialize_any(MillisVisitor)
}

/// Reads an optional id or text leniently (see the module doc); `null` is `None`.
pub(crate) fn opt_text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    d.deserialize_any(TextVisitor)
}

/// Reads an id or text leniently; `null` is the empty string.
pub(crate) fn text<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    opt_text(d).map(Option::unwrap_or_default)
}

/// Reads a list of ids leniently; `null` is the empty list and `null` elements are skipped.
pub(crate) fn text_list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    d.deserialize_any(TextListVisitor)
}

/// Reads a JSON object as a map of raw values (the last of duplicate keys wins); anything else
/// is an error saying it expected `expecting`.
pub(crate) fn object<'de, D: Deserializer<'de>>(
    d: D,
    expecting: &'static str,
) -> Result<Map<String, Value>, D::Error> {
    d.deserialize_map(ObjectVisitor(expecting))
}

/// serde's error for `value` found where `expecting` was wanted, as serde_json words it.
pub(crate) fn invalid_type(value: &Value, expecting: &'static str) -> String {
    let unexpected = match value {
        Value::Null => Unexpected::Unit,
        Value::Bool(b) => Unexpected::Bool(*b),
        Value::Number(n) => match (n.as_u64(), n.as_i64(), n.as_f64()) {
            (Some(u), _, _) => Unexpected::Unsigned(u),
            (_, Some(i), _) => Unexpected::Signed(i),
            (_, _, f) => Unexpected::Float(f.unwrap_or(f64::NAN)),
        },
        Value::String(s) => Unexpected::Str(s),
        Value::Array(_) => Unexpected::Seq,
        Value::Object(_) => Unexpected::Map,
    };
    <serde_json::Error as de::Error>::invalid_type(unexpected, &expecting).to_string()
}

struct ObjectVisitor(&'static str);

impl<'de> Visitor<'de> for ObjectVisitor {
    type Value = Map<String, Value>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Self::Value, A::Error> {
        let mut map = Map::new();
        while let Some((k, v)) = access.next_entry::<String, Value>()? {
            map.insert(k, v);
        }
        Ok(map)
    }
}

/// An id or text read by [`opt_text`], for use as a list element.
struct LenientText(Option<String>);

impl<'de> Deserialize<'de> for LenientText {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        opt_text(d).map(LenientText)
    }
}

struct MillisVisitor;

impl<'de> Visitor<'de> for MillisVisitor {
    type Value = i64;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(
            "milliseconds: an integer, a float with no fraction, a string of digits or null",
        )
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<i64, E> {
        Ok(v)
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<i64, E> {
        i64::try_from(v).map_err(|_| E::invalid_value(Unexpected::Unsigned(v), &self))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<i64, E> {
        // i64::MAX as f64 rounds up to 2^63, so the upper bound is exclusive.
        const LIMIT: f64 = 9_223_372_036_854_775_808.0;
        if v.is_finite() && v.fract() == 0.0 && (-LIMIT..LIMIT).contains(&v) {
            // Exact: an integral f64 within the range converts without loss of its value.
            Ok(v as i64)
        } else {
            Err(E::invalid_value(Unexpected::Float(v), &self))
        }
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<i64, E> {
        if v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit()) {
            return Err(E::invalid_value(Unexpected::Str(v), &self));
        }
        v.parse()
            .map_err(|_| E::invalid_value(Unexpected::Str(v), &self))
    }

    fn visit_unit<E: de::Error>(self) -> Result<i64, E> {
        Ok(0)
    }

    fn visit_none<E: de::Error>(self) -> Result<i64, E> {
        Ok(0)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<i64, D::Error> {
        d.deserialize_any(self)
    }
}

struct TextVisitor;

impl<'de> Visitor<'de> for TextVisitor {
    type Value = Option<String>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an id: a string, an integer or null")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Some(v.to_owned()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(Some(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Some(v.to_string()))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Some(v.to_string()))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

struct TextListVisitor;

impl<'de> Visitor<'de> for TextListVisitor {
    type Value = Vec<String>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a list of ids (strings or integers) or null")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1024));
        while let Some(LenientText(item)) = seq.next_element()? {
            out.extend(item);
        }
        Ok(out)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Vec::new())
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Vec::new())
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;
    use serde_json::json;

    #[derive(Debug, Deserialize)]
    struct Probe {
        #[serde(default, deserialize_with = "super::millis")]
        t: i64,
        #[serde(default, deserialize_with = "super::opt_text")]
        id: Option<String>,
        #[serde(default, deserialize_with = "super::text_list")]
        ids: Vec<String>,
    }

    fn probe(v: serde_json::Value) -> Result<Probe, serde_json::Error> {
        Probe::deserialize(&v)
    }

    #[test]
    fn millis_accepts_integers_integral_floats_digit_strings_and_null() {
        let t = |v| probe(json!({ "t": v })).map(|p| p.t);
        assert_eq!(t(json!(1_764_400_000_000_i64)).unwrap(), 1_764_400_000_000);
        assert_eq!(t(json!(-5)).unwrap(), -5);
        assert_eq!(t(json!(1_764_400_000_000.0)).unwrap(), 1_764_400_000_000);
        assert_eq!(t(json!("1764400000000")).unwrap(), 1_764_400_000_000);
        assert_eq!(t(json!(null)).unwrap(), 0);
        assert_eq!(probe(json!({})).unwrap().t, 0);
        for bad in [
            json!("abc"),
            json!(""),
            json!("-1"),
            json!(" 1"),
            json!("99999999999999999999"),
            json!(1.5),
            json!(u64::MAX),
            json!(1e300),
            json!(true),
            json!({ "ms": 1 }),
            json!([1]),
        ] {
            assert!(t(bad.clone()).is_err(), "{bad} should be rejected");
        }
    }

    #[test]
    fn millis_reads_from_bytes_too() {
        #[derive(Deserialize)]
        struct P {
            #[serde(deserialize_with = "super::millis")]
            t: i64,
        }
        let p: P = serde_json::from_str(r#"{"t":"1764400000001"}"#).unwrap();
        assert_eq!(p.t, 1_764_400_000_001);
        assert!(serde_json::from_str::<P>(r#"{"t":"yesterday"}"#).is_err());
    }

    #[test]
    fn ids_keep_big_integers_exact() {
        let id = |v| probe(json!({ "id": v })).map(|p| p.id);
        assert_eq!(
            id(json!(9_007_199_254_740_993_u64)).unwrap().as_deref(),
            Some("9007199254740993")
        );
        assert_eq!(id(json!(u64::MAX)).unwrap(), Some(u64::MAX.to_string()));
        assert_eq!(id(json!(-7)).unwrap().as_deref(), Some("-7"));
        assert_eq!(id(json!("m_abc")).unwrap().as_deref(), Some("m_abc"));
        assert_eq!(id(json!(null)).unwrap(), None);
        assert!(id(json!(1.5)).is_err());
        assert!(id(json!({})).is_err());
        assert!(id(json!(false)).is_err());
    }

    #[test]
    fn invalid_type_reads_like_serde_json() {
        assert_eq!(
            super::invalid_type(&json!("x"), "an entry (a JSON object)"),
            "invalid type: string \"x\", expected an entry (a JSON object)"
        );
        assert_eq!(
            super::invalid_type(&json!(7), "an array"),
            "invalid type: integer `7`, expected an array"
        );
        assert_eq!(
            super::invalid_type(&json!(null), "an array"),
            "invalid type: null, expected an array"
        );
    }

    #[test]
    fn id_lists_skip_nulls_and_accept_numbers() {
        let ids = |v| probe(json!({ "ids": v })).map(|p| p.ids);
        assert_eq!(
            ids(json!(["m_1", null, 24_012_345_678_901_234_u64])).unwrap(),
            vec!["m_1".to_owned(), "24012345678901234".to_owned()]
        );
        assert!(ids(json!(null)).unwrap().is_empty());
        assert!(ids(json!("m_1")).is_err());
        assert!(ids(json!([{}])).is_err());
    }
}
